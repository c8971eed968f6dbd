// The one range rule for time (DESIGN.md, "NumericDate").
//
// Every instant jwtguard is handed or reads is a NumericDate in
// [0, 2^53] seconds since the epoch: a token's exp, nbf and iat, the `now`
// of a validation, of a Denylist and of its advance, a subject's cut-off,
// the dates of a journal or snapshot record and of a Redis entry, the CLI's
// --now, --exp and --before. Each boundary checks it with is_numeric_date
// and refuses anything else (a setup error, or Error::now_invalid from
// validate), so that no sum behind it can overflow: dates are below 2^53,
// durations below 2^53 too (leeway below 2^31), and int64 holds 2^63.
//
// The README's rules table lists every time and size setting with its range.
#pragma once

#include <cstdint>

namespace jwtguard {

/// The latest NumericDate jwtguard accepts: 2^53 seconds (beyond it a
/// double, which most issuers use, no longer holds every whole second).
inline constexpr std::int64_t max_numeric_date = std::int64_t{1} << 53;

/// The largest leeway (clock skew allowance) a Validator or Denylist takes.
inline constexpr std::int64_t max_leeway = std::int64_t{1} << 31;

/// True when `t` lies in [0, 2^53]: the range of every instant (see above).
[[nodiscard]] constexpr bool is_numeric_date(std::int64_t t) noexcept {
    return t >= 0 && t <= max_numeric_date;
}

}  // namespace jwtguard
