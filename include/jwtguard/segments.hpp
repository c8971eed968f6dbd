// The compact serialization of a JWS (RFC 7515 section 7.1): three
// base64url segments separated by dots, the first two forming the signing
// input. Shared by the validator and by revocation by token.
#pragma once

#include <cstddef>
#include <string_view>

#include "jwtguard/base64url.hpp"
#include "jwtguard/error.hpp"

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

}  // namespace jwtguard
