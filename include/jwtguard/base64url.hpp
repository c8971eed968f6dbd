// Strict base64url (RFC 4648 section 5) as JWS compact serialization uses it.
//
// Strict means one spelling per byte string: alphabet A-Z a-z 0-9 - _ only, no
// '=' padding, no whitespace, no impossible length (4n+1), and the unused low
// bits of the last character must be zero. A decoder that tolerated any of
// these would accept several spellings of one signed token, which breaks
// token-keyed caches and denylists and invites parser differentials.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jwtguard {

/// Outcome of a strict base64url decode.
enum class Base64Status : std::uint8_t {
    ok,
    invalid,        ///< bad character, padding, whitespace or impossible length
    non_canonical,  ///< non-zero trailing bits in the last character
};

/// Bytes that decoding `encoded_size` characters produces (for valid input).
[[nodiscard]] constexpr std::size_t base64url_decoded_size(std::size_t encoded_size) noexcept {
    return encoded_size / 4 * 3 + (encoded_size % 4 == 0 ? 0 : encoded_size % 4 - 1);
}

/// Characters that encoding `size` bytes produces (no padding).
[[nodiscard]] constexpr std::size_t base64url_encoded_size(std::size_t size) noexcept {
    return size / 3 * 4 + (size % 3 == 0 ? 0 : size % 3 + 1);
}

namespace detail {
// Four lookup tables, one per position in a 4-character group, each holding
// the character's 6 bits already shifted into place, so a group decodes with
// four loads and three ORs. Characters outside the alphabet carry bit 24,
// which no valid group sets.
inline constexpr std::uint32_t base64url_bad = 1u << 24;
inline constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct Base64urlTables {
    std::uint32_t at[4][256];
};

consteval Base64urlTables make_base64url_tables() {
    Base64urlTables t{};
    for (int position = 0; position < 4; ++position) {
        for (auto& v : t.at[position])
            v = base64url_bad;
        for (int i = 0; i < 64; ++i)
            t.at[position][static_cast<unsigned char>(base64url_alphabet[i])] =
                static_cast<std::uint32_t>(i) << (18 - 6 * position);
    }
    return t;
}
inline constexpr Base64urlTables base64url_tables = make_base64url_tables();
}  // namespace detail

/// Decodes `in` into `out`, which must hold `base64url_decoded_size(in.size())`
/// bytes; `out_size` receives the decoded length. `out` may be written to even
/// when the input is then refused.
[[nodiscard]] inline Base64Status base64url_decode(std::string_view in, unsigned char* out,
                                                   std::size_t& out_size) noexcept {
    const auto& t = detail::base64url_tables.at;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t full = in.size() / 4;
    const std::size_t rest = in.size() % 4;
    out_size = 0;
    if (rest == 1) return Base64Status::invalid;

    // Invalid characters carry bit 24; OR everything together and branch once
    // at the end, so the loop has no data-dependent branch.
    std::uint32_t bad = 0;
    unsigned char* o = out;
    for (std::size_t i = 0; i < full; ++i, p += 4, o += 3) {
        const std::uint32_t v = t[0][p[0]] | t[1][p[1]] | t[2][p[2]] | t[3][p[3]];
        bad |= v;
        o[0] = static_cast<unsigned char>(v >> 16);
        o[1] = static_cast<unsigned char>(v >> 8);
        o[2] = static_cast<unsigned char>(v);
    }
    std::uint32_t trailing = 0;
    if (rest == 2) {
        const std::uint32_t v = t[0][p[0]] | t[1][p[1]];
        bad |= v;
        *o++ = static_cast<unsigned char>(v >> 16);
        trailing = v & 0xffff;  // the 4 low bits of the second character
    } else if (rest == 3) {
        const std::uint32_t v = t[0][p[0]] | t[1][p[1]] | t[2][p[2]];
        bad |= v;
        *o++ = static_cast<unsigned char>(v >> 16);
        *o++ = static_cast<unsigned char>(v >> 8);
        trailing = v & 0xff;  // the 2 low bits of the third character
    }
    if (bad & detail::base64url_bad) return Base64Status::invalid;
    if (trailing != 0) return Base64Status::non_canonical;
    out_size = static_cast<std::size_t>(o - out);
    return Base64Status::ok;
}

/// Appends the unpadded base64url encoding of `data` to `out`.
inline void base64url_encode(std::string_view data, std::string& out) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t n = data.size();
    const std::size_t start = out.size();
    out.resize(start + base64url_encoded_size(n));
    char* o = out.data() + start;
    const auto* alphabet = detail::base64url_alphabet;
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const std::uint32_t v = std::uint32_t{p[i]} << 16 | std::uint32_t{p[i + 1]} << 8 | p[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        const std::uint32_t v = std::uint32_t{p[i]} << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        const std::uint32_t v = std::uint32_t{p[i]} << 16 | std::uint32_t{p[i + 1]} << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
    }
}

/// The unpadded base64url encoding of `data`.
[[nodiscard]] inline std::string base64url_encode(std::string_view data) {
    std::string out;
    base64url_encode(data, out);
    return out;
}

}  // namespace jwtguard
