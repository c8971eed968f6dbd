// Minting compact tokens (RFC 7515 section 7.1), for issuers, tests and the
// CLI. Setup-side code: it allocates and throws SetupError; it refuses any
// claims set that the validator would refuse for its shape (invalid JSON,
// duplicate members, wrong claim types), so jwtguard never mints a token it
// would not accept.
#pragma once

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "jwtguard/config.hpp"  // before rapidjson: JWTGUARD_RAPIDJSON_SIMD

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "jwtguard/base64url.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/ecdsa.hpp"
#include "jwtguard/ed25519.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/hmac.hpp"
#include "jwtguard/json.hpp"
#include "jwtguard/rsa.hpp"

namespace jwtguard {

/// Header parameters of a token to sign.
struct SignOptions {
    std::optional<std::string> kid;
    std::string typ = "JWT";  ///< empty: no typ parameter
};

namespace detail {
/// A rapidjson Writer that copies number text verbatim (rapidjson 1.1's own
/// RawNumber would quote it).
class CompactWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
  public:
    using Writer::Writer;
    bool RawNumber(const Ch* text, rapidjson::SizeType length, bool) {
        return RawValue(text, length, rapidjson::kNumberType);
    }
};

/// `json` re-spelled compactly (member order and number spellings kept).
/// `json` must already have passed one of the strict parsers, so it holds no
/// raw NUL and parses.
[[nodiscard]] inline std::string compact_json(std::string_view json) {
    JsonBuffer text(json);  // NUL-terminated and padded for rapidjson
    rapidjson::StringBuffer buffer;
    CompactWriter writer(buffer);
    rapidjson::Reader reader;
    rapidjson::StringStream stream(text.data());
    if (reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, writer).IsError())
        throw SetupError(Error::payload_json_invalid, "cannot re-serialize JSON");
    return std::string(buffer.GetString(), buffer.GetSize());
}

/// `claims_json` checked as the validator checks a payload, then compacted.
[[nodiscard]] inline std::string compact_claims(std::string_view claims_json) {
    JsonBuffer text(claims_json);  // unescaped in place by the check
    auto claims = std::make_unique<Claims>();
    if (const Error e = detail::parse_claims(text.data(), text.size(), *claims); e != Error::ok)
        throw SetupError(e,
                         "claims: " + std::string(to_string(e)) + ": " + std::string(message(e)));
    return compact_json(claims_json);
}

[[nodiscard]] inline std::string header_json(std::string_view alg, const SignOptions& options) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    writer.Key("alg");
    writer.String(alg.data(), static_cast<rapidjson::SizeType>(alg.size()));
    if (!options.typ.empty()) {
        writer.Key("typ");
        writer.String(options.typ.data(), static_cast<rapidjson::SizeType>(options.typ.size()));
    }
    if (options.kid) {
        writer.Key("kid");
        writer.String(options.kid->data(), static_cast<rapidjson::SizeType>(options.kid->size()));
    }
    writer.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
}
}  // namespace detail

/// A key that can sign: an HMAC key, or the private key of an RSA, ECDSA or
/// Ed25519 algorithm.
template <class Key>
concept SigningKey = requires(const Key& key, std::string_view input) {
    { Key::algorithm } -> std::convertible_to<std::string_view>;
    { key.sign(input) } -> std::convertible_to<std::string>;
};

/// A compact token carrying `claims_json` (a JSON object), signed with the
/// key's algorithm.
template <SigningKey Key>
[[nodiscard]] std::string sign(const Key& key, std::string_view claims_json,
                               const SignOptions& options = {}) {
    std::string token = base64url_encode(detail::header_json(Key::algorithm, options));
    token += '.';
    base64url_encode(detail::compact_claims(claims_json), token);
    const std::string signature = key.sign(token);
    token += '.';
    base64url_encode(signature, token);
    return token;
}

/// Any signing key, one per JWS signature algorithm (for callers that
/// choose the algorithm at run time, as the CLI does).
using AnySigningKey =
    std::variant<Hs256Key, Hs384Key, Hs512Key, Rs256PrivateKey, Rs384PrivateKey, Rs512PrivateKey,
                 Ps256PrivateKey, Ps384PrivateKey, Ps512PrivateKey, Es256PrivateKey,
                 Es384PrivateKey, Es512PrivateKey, Ed25519PrivateKey>;

namespace detail {
template <std::size_t I = 0>
[[nodiscard]] AnySigningKey signing_key_for(std::string_view alg, std::string_view material) {
    if constexpr (I == std::variant_size_v<AnySigningKey>) {
        throw SetupError(Error::key_invalid,
                         "\"" + std::string(alg) + "\" is not a JWS signature algorithm");
    } else {
        using K = std::variant_alternative_t<I, AnySigningKey>;
        if (alg == K::algorithm) {
            if constexpr (requires { K::mac_size; })
                return K(material);
            else
                return K::from_pem(material);
        }
        return signing_key_for<I + 1>(alg, material);
    }
}
}  // namespace detail

/// The signing key of algorithm `alg` from `material`: the raw secret for
/// HS*, an unencrypted private key PEM for the others ("Ed25519" is signed
/// as "EdDSA"). Throws SetupError with the reason.
[[nodiscard]] inline AnySigningKey make_signing_key(std::string_view alg,
                                                    std::string_view material) {
    return detail::signing_key_for(
        alg == Ed25519Key::fully_specified_algorithm ? Ed25519Key::algorithm : alg, material);
}

/// A compact token signed with whichever key `key` holds.
[[nodiscard]] inline std::string sign(const AnySigningKey& key, std::string_view claims_json,
                                      const SignOptions& options = {}) {
    return std::visit([&](const auto& k) { return sign(k, claims_json, options); }, key);
}

}  // namespace jwtguard
