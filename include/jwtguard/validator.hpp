// The validation pipeline (DESIGN.md, "Data flow of one validation"):
//
//   size -> three segments -> header (strict base64url, strict JSON)
//   -> alg: present, not "none" -> key by kid; its algorithm must be alg
//   -> signature over the token's own prefix -> only now the payload
//   -> registered claims -> claim policy -> ok
//
// `validate` is const, thread-safe, noexcept and allocation-free: every byte
// it writes goes to the caller's `Claims` or the stack.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "jwtguard/base64url.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/config.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/json.hpp"
#include "jwtguard/keyset.hpp"

namespace jwtguard {

namespace detail {
/// The Error for a base64url failure in segment 0 (header), 1 (payload) or
/// 2 (signature).
[[nodiscard]] constexpr Error base64_error(Base64Status status, int segment) noexcept {
    constexpr Error invalid[] = {Error::header_base64_invalid, Error::payload_base64_invalid,
                                 Error::signature_base64_invalid};
    constexpr Error non_canonical[] = {Error::header_base64_non_canonical,
                                       Error::payload_base64_non_canonical,
                                       Error::signature_base64_non_canonical};
    return status == Base64Status::invalid ? invalid[segment] : non_canonical[segment];
}

/// The three segments of a compact JWS and its signing input.
struct Segments {
    std::string_view header;
    std::string_view payload;
    std::string_view signature;
    /// header '.' payload: a prefix of the token, never a copy.
    std::string_view signing_input;
};

/// Splits `token` at its two dots; false unless there are exactly two.
[[nodiscard]] inline bool split_token(std::string_view token, Segments& out) noexcept {
    const std::size_t dot1 = token.find('.');
    if (dot1 == std::string_view::npos) return false;
    const std::size_t dot2 = token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return false;
    out.header = token.substr(0, dot1);
    out.payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
    out.signature = token.substr(dot2 + 1);
    out.signing_input = token.substr(0, dot2);
    return true;
}

/// Largest signature of any supported algorithm (an RSA-4096 signature is 512).
inline constexpr std::size_t max_signature_size = 512;
}  // namespace detail

/// Everything a Validator is told besides its keys.
struct ValidatorOptions : ClaimPolicy {
    /// Longest token accepted, in bytes (inclusive), checked before any
    /// decoding; at most JWTGUARD_MAX_TOKEN_SIZE.
    std::size_t max_token_size = max_token_size_limit;
};

/// Validates bearer tokens against a key set and a claim policy.
class Validator {
  public:
    using Options = ValidatorOptions;

    /// Throws SetupError(option_invalid) for out-of-range options and
    /// SetupError(key_invalid) for an empty key set.
    explicit Validator(KeySet keys, Options options = {})
        : m_keys(std::move(keys)), m_options(std::move(options)) {
        if (m_keys.empty()) throw SetupError(Error::key_invalid, "the key set is empty");
        if (m_options.max_token_size == 0 || m_options.max_token_size > max_token_size_limit)
            throw SetupError(Error::option_invalid,
                             "max_token_size must lie in [1, " +
                                 std::to_string(max_token_size_limit) +
                                 "] (raise JWTGUARD_MAX_TOKEN_SIZE for more)");
        if (m_options.leeway < 0 || m_options.leeway > max_leeway)
            throw SetupError(Error::option_invalid,
                             "leeway must lie in [0, " + std::to_string(max_leeway) + "] seconds");
        if (m_options.max_lifetime < 0)
            throw SetupError(Error::option_invalid, "max_lifetime must not be negative");
    }

    /// A validator trusting one key, without kid.
    explicit Validator(Key key, Options options = {})
        : Validator(KeySet(std::move(key)), std::move(options)) {}

    [[nodiscard]] const Options& options() const noexcept { return m_options; }

    /// Validates `token` at time `now` (seconds since the epoch). On `ok`,
    /// `claims` describes the token; on any other value its content is
    /// unspecified. Never throws, never allocates.
    [[nodiscard]] Error validate(std::string_view token, std::int64_t now,
                                 Claims& claims) const noexcept {
        if (token.size() > m_options.max_token_size) return Error::token_too_large;

        detail::Segments parts;
        if (!detail::split_token(token, parts)) return Error::token_malformed;

        // Header.
        char* scratch = claims.m_scratch;
        std::size_t header_size;
        if (const auto s = base64url_decode(parts.header, reinterpret_cast<unsigned char*>(scratch),
                                            header_size);
            s != Base64Status::ok)
            return detail::base64_error(s, 0);
        scratch[header_size] = '\0';
        if (const Error e = detail::parse_header(scratch, header_size, claims.header);
            e != Error::ok)
            return e;

        // Key and algorithm: the key decides, the token only names it.
        const Header& header = claims.header;
        if (!header.alg) return Error::alg_missing;
        if (detail::iequals_ascii(*header.alg, "none")) return Error::alg_none;
        // A nested JWT would need a second validation nobody asked for.
        if (header.cty && typ_matches(*header.cty, "JWT")) return Error::cty_nested_jwt;
        const KeySet::Lookup found = m_keys.find(header.kid, *header.alg);
        if (found.error != Error::ok) return found.error;
        if (algorithm_of(*found.key) != *header.alg) return Error::alg_mismatch;

        // Signature, before a byte of the payload is decoded.
        if (parts.signature.size() > base64url_encoded_size(detail::max_signature_size))
            return Error::signature_length;
        unsigned char signature[detail::max_signature_size];
        std::size_t signature_size;
        if (const auto s = base64url_decode(parts.signature, signature, signature_size);
            s != Base64Status::ok)
            return detail::base64_error(s, 2);
        if (const Error e =
                verify_signature(*found.key, parts.signing_input, signature, signature_size);
            e != Error::ok)
            return e;

        // Payload: keep the bytes as signed for the caller, parse a copy.
        char* const payload = scratch + header_size + 1;
        std::size_t payload_size;
        if (const auto s = base64url_decode(
                parts.payload, reinterpret_cast<unsigned char*>(payload), payload_size);
            s != Base64Status::ok)
            return detail::base64_error(s, 1);
        payload[payload_size] = '\0';
        char* const parsed = payload + payload_size + 1;
        std::memcpy(parsed, payload, payload_size + 1);
        claims.m_payload_json = std::string_view(payload, payload_size);
        if (const Error e = detail::parse_claims(parsed, payload_size, claims); e != Error::ok)
            return e;

        return check_claims(claims, m_options, now);
    }

  private:
    static constexpr std::int64_t max_leeway = std::int64_t{1} << 31;

    [[nodiscard]] static Error verify_signature(const Key& key, std::string_view input,
                                                const unsigned char* signature,
                                                std::size_t size) noexcept {
        return std::visit(
            [&](const auto& k) {
                if (size != k.mac_size) return Error::signature_length;
                return k.verify(input, signature, size) ? Error::ok : Error::signature_invalid;
            },
            key);
    }

    KeySet m_keys;
    Options m_options;
};

}  // namespace jwtguard
