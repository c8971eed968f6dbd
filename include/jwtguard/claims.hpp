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
#include "jwtguard/time.hpp"

namespace jwtguard {

class Validator;
class Denylist;
struct ClaimPolicy;
class Claims;
namespace detail {
class ClaimsHandler;
class TokenCache;

/// The fractional part of a NumericDate, kept exactly enough to order two
/// of them: its first 19 decimal digits (as the integer they spell) and
/// whether a non-zero digit follows them.
struct DateFraction {
    static constexpr int digit_count = 19;  // 10^19 - 1 fits in 64 bits
    std::uint64_t digits = 0;
    bool more = false;
    [[nodiscard]] constexpr bool nonzero() const noexcept { return digits != 0 || more; }
};

/// Whether the token lives longer than `seconds` (exp - iat > seconds),
/// compared exactly; both dates present.
[[nodiscard]] bool lives_longer_than(const Claims& claims, std::int64_t seconds) noexcept;
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
    /// keeps every comparison with an integral `now` exact (a maximum
    /// lifetime is compared on the dates as written).
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
    friend bool detail::lives_longer_than(const Claims&, std::int64_t) noexcept;

    /// floor(iat): `iat` holds the date rounded up, which keeps comparisons
    /// with `now` exact; "issued before a cut-off" needs the other rounding.
    [[nodiscard]] std::int64_t iat_floor() const noexcept {
        return *iat - (m_iat_fraction.nonzero() ? 1 : 0);
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
        m_exp_fraction = {};
        m_iat_fraction = {};
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
    // What rounding exp and iat up to whole seconds took away: a maximum
    // lifetime is compared on the exact dates.
    detail::DateFraction m_exp_fraction;
    detail::DateFraction m_iat_fraction;
    std::string_view m_payload_json;
    alignas(64) char m_scratch[scratch_size];
};

/// How claims are judged once the signature holds. Time is an input: `now`
/// comes with each call, never from a clock here.
struct ClaimPolicy {
    /// Seconds of clock skew tolerated on exp, nbf and iat; in [0, 2^31]
    /// (max_leeway).
    std::int64_t leeway = 0;
    /// Refuse tokens without `exp` (default: yes; tokens that never expire
    /// cannot be revoked by expiry).
    bool require_exp = true;
    /// If not empty, `iss` must equal one of these.
    std::vector<std::string> issuers;
    /// Audiences this service answers to. A token with `aud` must name one of
    /// them (RFC 7519 4.1.3: a token whose `aud` does not name the recipient
    /// MUST be rejected, so with this list empty every token with `aud` is
    /// refused). With this list set, a token without `aud` is refused too
    /// (aud_missing; RFC 8725 3.9: a token minted for another service or
    /// purpose must not pass for lacking an audience).
    std::vector<std::string> audiences;
    /// Legacy issuers that mint no `aud`: accept their tokens although
    /// `audiences` is set (a token that has `aud` must still name one).
    /// Off by default; prefer asking the issuer for an audience.
    bool allow_missing_aud = false;
    /// If not empty, the header `typ` must be this type, compared
    /// case-insensitively and ignoring an `application/` prefix on either side.
    std::string typ;
    /// If positive, `exp - iat` must not exceed it (and both must be
    /// present), compared on the dates as written (fractions included); in
    /// [0, 2^53].
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

/// Whether `set` holds `value`. Inlined, a plain loop: as std::any_of with
/// a lambda the compiler called a clone of the lambda for each of the
/// policy's two lookups (-44 instructions per validation, callgrind).
[[nodiscard]] [[gnu::always_inline]] inline bool contains(const std::vector<std::string>& set,
                                                          std::string_view value) noexcept {
    for (const std::string& s : set)
        if (s == value) return true;
    return false;
}
}  // namespace detail

/// True when the header type `typ` names the media type `required`.
[[nodiscard]] constexpr bool typ_matches(std::string_view typ, std::string_view required) noexcept {
    return detail::iequals_ascii(detail::strip_application_prefix(typ),
                                 detail::strip_application_prefix(required));
}

namespace detail {
inline bool lives_longer_than(const Claims& claims, std::int64_t seconds) noexcept {
    // exp - iat = D + (exp's fraction - iat's fraction), with D the
    // difference of the whole seconds below each date; a fraction lies in
    // [0, 1), so only D = seconds needs the fractions compared.
    const DateFraction& e = claims.m_exp_fraction;
    const DateFraction& i = claims.m_iat_fraction;
    const std::int64_t whole = (*claims.exp - (e.nonzero() ? 1 : 0)) - claims.iat_floor();
    if (whole != seconds) return whole > seconds;
    if (e.digits != i.digits) return e.digits > i.digits;
    // Equal in 19 digits: the one with more non-zero digits is larger. Both
    // with more cannot be told apart here: refused (the stricter reading).
    return e.more;
}
}  // namespace detail

namespace detail {
/// check_claims for a policy already known to be in range (a Validator
/// checks its own at setup): `now`, then the claims.
[[nodiscard]] inline Error check_claims_in_range(const Claims& claims, const ClaimPolicy& policy,
                                                 std::int64_t now) noexcept {
    if (!is_numeric_date(now)) return Error::now_invalid;
    const std::int64_t leeway = policy.leeway;
    if (!policy.typ.empty()) {
        if (!claims.header.typ) return Error::typ_missing;
        if (!typ_matches(*claims.header.typ, policy.typ)) return Error::typ_mismatch;
    }
    // Dates and `now` are in [0, 2^53] and leeway in [0, 2^31]: no sum or
    // difference below overflows.
    if (claims.exp) {
        if (now >= *claims.exp + leeway) return Error::expired;
    } else if (policy.require_exp || policy.max_lifetime > 0) {
        return Error::exp_missing;
    }
    if (claims.nbf && now < *claims.nbf - leeway) return Error::not_yet_valid;
    if (claims.iat && *claims.iat - leeway > now) return Error::iat_in_future;
    if (policy.max_lifetime > 0) {
        if (!claims.iat) return Error::iat_missing;
        if (detail::lives_longer_than(claims, policy.max_lifetime)) return Error::lifetime_exceeded;
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
    } else if (!policy.audiences.empty() && !policy.allow_missing_aud) {
        return Error::aud_missing;
    }
    return Error::ok;
}
}  // namespace detail

/// Checks the claims of a token whose signature already holds, in a fixed
/// order: policy ranges, now, typ, exp, nbf, iat, lifetime, iss, aud. A
/// policy out of range (the Validator refuses one at setup) gives
/// option_invalid; `now` must be a NumericDate (time.hpp), else now_invalid.
[[nodiscard]] inline Error check_claims(const Claims& claims, const ClaimPolicy& policy,
                                        std::int64_t now) noexcept {
    if (policy.leeway < 0 || policy.leeway > max_leeway || policy.max_lifetime < 0 ||
        policy.max_lifetime > max_numeric_date)
        return Error::option_invalid;
    return detail::check_claims_in_range(claims, policy, now);
}

}  // namespace jwtguard
