// jwtguard: validate JWT bearer tokens and check them against revocations,
// without a heap allocation or a lock on the request path.
//
// The umbrella header: each header below also compiles alone.
#pragma once

#include "jwtguard/base64url.hpp"
#include "jwtguard/bloom.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/config.hpp"
#include "jwtguard/denylist.hpp"
#include "jwtguard/ecdsa.hpp"
#include "jwtguard/ed25519.hpp"
#include "jwtguard/epoch.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/header_memo.hpp"
#include "jwtguard/hmac.hpp"
#include "jwtguard/journal.hpp"
#include "jwtguard/json.hpp"
#include "jwtguard/json_reader.hpp"
#include "jwtguard/jwks_refresh.hpp"
#include "jwtguard/keyset.hpp"
#include "jwtguard/pem.hpp"
#include "jwtguard/rsa.hpp"
#include "jwtguard/segments.hpp"
#include "jwtguard/sha.hpp"
#include "jwtguard/sign.hpp"
#include "jwtguard/time.hpp"
#include "jwtguard/token_cache.hpp"
#include "jwtguard/validator.hpp"
