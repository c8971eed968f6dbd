// Shared by the fuzz targets: a check that aborts (so libFuzzer records the
// input), an allocation counter, and the fuzz-only keys.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwtguard/config.hpp"  // before rapidjson, as in the library

#include <rapidjson/rapidjson.h>

// A target that includes rapidjson before jwtguard's config would fuzz a
// rapidjson without the SIMD scanning the library uses (and misses its
// bugs): refuse to build it. Include this header first.
#if JWTGUARD_RAPIDJSON_SIMD && defined(__SSE2__) && !defined(RAPIDJSON_SSE2) && \
    !defined(RAPIDJSON_SSE42)
#error "rapidjson was included before jwtguard/config.hpp: include fuzz_support.hpp first"
#endif

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Unlike assert(), stays on in every build: a fuzz check is the oracle.
#define FUZZ_CHECK(condition)                                                             \
    do {                                                                                  \
        if (!(condition)) {                                                               \
            std::fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #condition, __FILE__, \
                         __LINE__);                                                       \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)

// Provided by ASan (clang and g++): calls back on every malloc in the
// process, OpenSSL's included. Absent in builds without a sanitizer. Both
// hooks must be given, or it installs neither.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void*))
    __attribute__((weak));

namespace fuzz {

inline std::atomic<std::size_t> allocations{0};

inline void count_allocation(const volatile void*, std::size_t) {
    allocations.fetch_add(1, std::memory_order_relaxed);
}
inline void ignore_free(const volatile void*) {}

/// Starts counting allocations; false where the sanitizer runtime that can
/// count them is absent (the plain corpus replay; tests/alloc_test.cpp
/// checks zero allocation there).
inline bool count_allocations() {
    static const bool installed =
        __sanitizer_install_malloc_and_free_hooks != nullptr &&
        __sanitizer_install_malloc_and_free_hooks(count_allocation, ignore_free) != 0;
    return installed;
}

/// The HS256 secret of fuzz_validate and of the seed tokens.
inline constexpr std::string_view hs256_secret = "fuzz-only secret: 32 bytes long!";

/// A 2048-bit RSA key for fuzzing only (PKCS#8): seed tokens signed with it
/// stay valid across runs. It protects nothing.
inline constexpr std::string_view rs256_private_pem = R"(-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCmCQdABdyQppYu
t82bbSylpH1mhqrODMa9xQELJVOawqcDj6DKiebkmzUilL7lEsLAMyqMAH63O/ns
jIcaAPwEcAvPHuyoxkewSjsg3D/TEdnIX4ERdy2Ia+CqvO+OlAtNlsT17kA+YJ1/
X+fQ8KjphsTYoJqfiYT8mnecwXA3m8XfuvLemR4Cx2jbvPedIPZLnNheFqjh869o
t+38K9+S5JnoTH7hMAN4rYQP72g7Mq48L6AhuWCrploYJ7RErKdLuoi5RI26hyAC
fFVHuEeGH+Cg2Mn5IZRyl8LFYhhlyyetlb41gat14oXw+kLalQH+10Y1GM0MdpaC
kR6eTJQ3AgMBAAECggEAMd0QQlgAT6jX/ZvRsdXtzKlDx+C1tz/7B878az6Ahz/i
LJ2b6nfT0eAS6xnE4sLpnhM/ueAELj9i5XmmsVaOWT7VLRTaei1iJj2E2G+M83Su
9RBJkNc743aSeHRZdXZclqaq7DjrLlCRvEkvM36zG78PqwdAqJ0CRWKWfYtSikBP
tJEloFTJ6TFCStTQjLQvz5eHW44il7SISM8xvg+gksjPcQnNFc9NK/nCGhAj9nTe
UfK0P/PPfLjZ2NzCRKltM4vEzDmafmkxXGb6AL3JIk4RhsIjLk2z9fKSkOcrDGeC
eWyhC7wBEAdiKLfYpWs/vWNu3nWI5W1qaAQIflahoQKBgQDg9wHP2oKyAIlVDR1B
Df6MHIHecAGIXHw8TmdRvvTqwFI5hBuuqX0+TgghBOXrzumTsTivN9msr2SQHy6k
Fq3K1PrLVuId6CYPHP6DKD0aPRMYM/z99h4PpQv5KtkwqhEXVBltt0Nek895Y+HG
5xSnov9205pCU81rj0ug+0fMjwKBgQC88NQO8LO5HQVz0nxKZph74Eru3DEW+feK
chDKruBZSCKlJbdAB3bLyJAHWPHW3VR2JvR3moFpNx8UUrzuV+73+T8mZr/k9f7y
E1le1ZRIGq2TRMamDVsNF8GGZCt3BZklLJ+v1Axyp4m4f/VtFLjdkCrKSJgR0tOS
d0JCKjJh2QKBgG26TVnyvNjRxiqD8QbwKn5w0S+L9lNquPY5T8/hkliGYhTHyTDS
XtJrATAJ0ZPJIsj1Ii7k0PmXuzdI3lkO7soGRCW2RShNOXMZs1KJ5/PKYmvlv7qn
t1XuLP7l1XYVHa0BSj3nq6aP9hzBiTiZMcvqhyyQXaeIdKPICx2EMyslAoGBAIfN
TY5Dgdo+usmJ854Caf03tIREreAG4N6Yp+sWkNh7WbN8DV+vPbqxOJyfWIwIX4ng
6/v/iJ6YaPVRlsx1VaTUeIhgd/LYwVs7fxQDzWWaD0J3v5Rgqx4ZAhdXbkpJMs8e
aNSXRC8wrnN3PW8e4tUVpzvnu62r7DgtEem+rKHZAoGBAMcZa4IZmnmx6g5MqiKI
cezChloZiXz4Lcsu+LDQPGHMYbNK5Y56VZnrZsOWgK/lJV6y/JRHDFZpewjKzjys
Hp6nEnlTm4ImlgPZ2AEtWh/aarXDQacFRVIqFY22xszdiZ6MJdsOItoHYqtzlHT/
YDaQ/gT/NxqxZDv4UCF/C4AQ
-----END PRIVATE KEY-----
)";

/// Fixed keys of the other asymmetric families (fuzz-only, generated once
/// with `openssl genpkey`): a crash found with them replays.
inline constexpr std::string_view es256_private_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfHFK5TteEWJHGvht
HjSfjKFLv32qHd642LJk0NCOstihRANCAATOUt8q+y2Goh3UM2LPH9r1GHgY3vVg
efEOJqdzU9F+R9GvAbA1o2JIvyB3Paxo7I43p+MJIegI6KKP9RB5qW8H
-----END PRIVATE KEY-----
)";
inline constexpr std::string_view es384_private_pem = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCrAD1bzLk5ldhj1UPx
bTP9+ZdqN6K8V5m4pVtEG0nL6FkZBKH9H0u5TQaUL8QvviuhZANiAARBFyAXMyav
JFzyRFa5msYlIjmnzUEoZqGCzwBDVyrSi+Pu2JVVrzQs+UJW7hd/xhf4O7B0P/g4
swv7R0FU0Vq3EF1F9CFUZZIlaq1VhswxkmOP0Qjt+n1KU23TRTXjXWc=
-----END PRIVATE KEY-----
)";
inline constexpr std::string_view es512_private_pem = R"(-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIAAiPMbkgNviBv/TVU
oWSPX1m6mMzeg8VQXxI0JPohvVsGGKRxkIiCE+yLPB46N6/F41ric5D3MCZDj3wt
tnVUYCqhgYkDgYYABADwWdZqAIvo7aVdxu3Swi6XURmkcu+o7E9ETGFfmCoVakEx
oZyJ0TxmfrISrmLzwwZcuPsAbOwrT9A1Ew9TGRG/QwDTj5Ue4PCPhQ9Uet+ZitoY
+dVJ3g1wt5Z6G5vTscdT+m+tKfiv3e6F8ME7tBd2z7WPmdcg2PpKSrY/CTGRAqLz
Lw==
-----END PRIVATE KEY-----
)";
inline constexpr std::string_view ed25519_private_pem = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPfE1Fwg6OJs8rvO0sMd9CcQKG5pSECs9StVSvzmTd0a
-----END PRIVATE KEY-----
)";

/// A PEM private key as OpenSSL's own object, for oracles.
inline EVP_PKEY* openssl_private_key(std::string_view pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    FUZZ_CHECK(k != nullptr);
    return k;
}

/// The fuzz key as OpenSSL's own object, for oracles (loaded once).
inline EVP_PKEY* openssl_rs256_key() {
    static EVP_PKEY* const key = openssl_private_key(rs256_private_pem);
    return key;
}

/// `now` of the targets that validate: seed tokens are valid at this time.
inline constexpr std::int64_t now = 1'700'000'000;

}  // namespace fuzz
