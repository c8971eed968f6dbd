// What a validated token says, and the policy its claims are checked against.
//
// `Claims` is filled by `Validator::validate`. Every string in it is a view
// into the `Claims` object's own scratch buffer (the decoded header and
// payload), so it is valid as long as that object lives and is not reused;
// `Claims` is neither copyable nor movable for that reason. Strings are
// unescaped JSON strings: compare them length-aware (they may hold U+0000).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jwtguard/config.hpp"
#include "jwtguard/error.hpp"

namespace jwtguard {

class Validator;
class Denylist;
namespace detail {
class ClaimsHandler;
class TokenCache;
}  // namespace detail

/// The JOSE header parameters jwtguard reads (RFC 7515 section 4.1).
/// `jwk`, `jku`, `x5u` and `x5c` are deliberately not read: a token never
/// supplies or selects its own key material.
struct Header {
    std::optional<std::string_view> alg;
    std::optional<std::string_view> kid;
    std::optional<std::string_view> typ;
    std::optional<std::string_view> cty;
};

/// The registered claims of a token (RFC 7519 section 4.1) plus access to the
/// whole decoded payload for application claims.
class Claims {
  public:
    Claims() = default;
    Claims(const Claims&) = delete;
    Claims& operator=(const Claims&) = delete;

    Header header;
    std::optional<std::string_view> iss;
    std::optional<std::string_view> sub;
    std::optional<std::string_view> jti;
    /// NumericDates in whole seconds. A fractional date is rounded up, which
    /// keeps every comparison with an integral `now` exact.
    std::optional<std::int64_t> exp;
    std::optional<std::int64_t> nbf;
    std::optional<std::int64_t> iat;

    /// True when the token has `aud` (a string counts as a one-entry array).
    [[nodiscard]] bool has_aud() const noexcept { return m_has_aud; }
    /// The `aud` entries, in token order.
    [[nodiscard]] std::span<const std::string_view> aud() const noexcept {
        return {m_aud.data(), m_aud_count};
    }
    /// The decoded payload JSON exactly as signed (not unescaped), for reading
    /// application claims (roles, email) without decoding the token again.
    [[nodiscard]] std::string_view payload_json() const noexcept { return m_payload_json; }

  private:
    friend class Validator;
    friend class Denylist;
    friend class detail::ClaimsHandler;
    friend class detail::TokenCache;

    /// floor(iat): `iat` holds the date rounded up, which keeps comparisons
    /// with `now` exact; "issued before a cut-off" needs the other rounding.
    [[nodiscard]] std::int64_t iat_floor() const noexcept {
        return *iat - (m_iat_rounded_up ? 1 : 0);
    }

    void reset_registered() noexcept {
        iss.reset();
        sub.reset();
        jti.reset();
        exp.reset();
        nbf.reset();
        iat.reset();
        m_has_aud = false;
        m_aud_count = 0;
        m_iat_rounded_up = false;
    }

    // Header (unescaped in place by the parser), payload as signed, payload
    // unescaped in place; each region ends with the NUL the in-situ parser
    // needs. Header and payload together decode to at most 3/4 of the token.
    // A multiple of 16 and aligned: the parser's aligned 16-byte reads past a
    // region's NUL stay inside the array.
    static constexpr std::size_t scratch_size =
        (max_token_size_limit * 3 / 4 + 8) * 2 / 16 * 16 + 16;
    static_assert(scratch_size % 16 == 0);

    std::array<std::string_view, max_audiences> m_aud{};
    std::size_t m_aud_count = 0;
    bool m_has_aud = false;
    bool m_iat_rounded_up = false;
    std::string_view m_payload_json;
    alignas(64) char m_scratch[scratch_size];
};

/// How claims are judged once the signature holds. Time is an input: `now`
/// comes with each call, never from a clock here.
struct ClaimPolicy {
    /// Seconds of clock skew tolerated on exp, nbf and iat; in [0, 2^31].
    std::int64_t leeway = 0;
    /// Refuse tokens without `exp` (default: yes; tokens that never expire
    /// cannot be revoked by expiry).
    bool require_exp = true;
    /// If not empty, `iss` must equal one of these.
    std::vector<std::string> issuers;
    /// Audiences this service answers to. A token with `aud` must name one of
    /// them (RFC 7519 4.1.3: a token whose `aud` does not name the recipient
    /// MUST be rejected, so with this list empty every token with `aud` is
    /// refused). If `require_aud`, a token without `aud` is refused too.
    std::vector<std::string> audiences;
    bool require_aud = false;
    /// If not empty, the header `typ` must be this type, compared
    /// case-insensitively and ignoring an `application/` prefix on either side.
    std::string typ;
    /// If positive, `exp - iat` must not exceed it (and both must be present).
    std::int64_t max_lifetime = 0;
};

namespace detail {
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] constexpr bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

/// A media type without its optional `application/` prefix (RFC 7515 4.1.9).
[[nodiscard]] constexpr std::string_view strip_application_prefix(std::string_view type) noexcept {
    constexpr std::string_view prefix = "application/";
    if (type.size() >= prefix.size() && iequals_ascii(type.substr(0, prefix.size()), prefix))
        type.remove_prefix(prefix.size());
    return type;
}

[[nodiscard]] inline bool contains(const std::vector<std::string>& set,
                                   std::string_view value) noexcept {
    return std::any_of(set.begin(), set.end(), [&](const std::string& s) { return s == value; });
}
}  // namespace detail

/// True when the header type `typ` names the media type `required`.
[[nodiscard]] constexpr bool typ_matches(std::string_view typ, std::string_view required) noexcept {
    return detail::iequals_ascii(detail::strip_application_prefix(typ),
                                 detail::strip_application_prefix(required));
}

/// Checks the claims of a token whose signature already holds, in a fixed
/// order: typ, exp, nbf, iat, lifetime, iss, aud.
[[nodiscard]] inline Error check_claims(const Claims& claims, const ClaimPolicy& policy,
                                        std::int64_t now) noexcept {
    const std::int64_t leeway = policy.leeway;
    if (!policy.typ.empty()) {
        if (!claims.header.typ) return Error::typ_missing;
        if (!typ_matches(*claims.header.typ, policy.typ)) return Error::typ_mismatch;
    }
    // Dates are in [0, 2^53] and leeway in [0, 2^31]: no sum below overflows,
    // and `now` is never added to (it is the caller's and may be anything).
    if (claims.exp) {
        if (now >= *claims.exp + leeway) return Error::expired;
    } else if (policy.require_exp || policy.max_lifetime > 0) {
        return Error::exp_missing;
    }
    if (claims.nbf && now < *claims.nbf - leeway) return Error::not_yet_valid;
    if (claims.iat && *claims.iat - leeway > now) return Error::iat_in_future;
    if (policy.max_lifetime > 0) {
        if (!claims.iat) return Error::iat_missing;
        if (*claims.exp - *claims.iat > policy.max_lifetime) return Error::lifetime_exceeded;
    }
    if (!policy.issuers.empty()) {
        if (!claims.iss) return Error::iss_missing;
        if (!detail::contains(policy.issuers, *claims.iss)) return Error::iss_mismatch;
    }
    if (claims.has_aud()) {
        const auto aud = claims.aud();
        const bool named = std::any_of(aud.begin(), aud.end(), [&](std::string_view a) {
            return detail::contains(policy.audiences, a);
        });
        if (!named) return Error::aud_mismatch;
    } else if (policy.require_aud) {
        return Error::aud_missing;
    }
    return Error::ok;
}

}  // namespace jwtguard
