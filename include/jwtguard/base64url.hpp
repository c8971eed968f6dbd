// Strict base64url (RFC 4648 section 5) as JWS compact serialization uses it.
//
// Strict means one spelling per byte string: alphabet A-Z a-z 0-9 - _ only, no
// '=' padding, no whitespace, no impossible length (4n+1), and the unused low
// bits of the last character must be zero. A decoder that tolerated any of
// these would accept several spellings of one signed token, which breaks
// token-keyed caches and denylists and invites parser differentials.
#pragma once

#include <array>
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
inline constexpr std::uint8_t base64url_bad = 0x80;

consteval std::array<std::uint8_t, 256> make_base64url_table() {
    std::array<std::uint8_t, 256> table{};
    for (auto& v : table) v = base64url_bad;
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    return table;
}
inline constexpr std::array<std::uint8_t, 256> base64url_table = make_base64url_table();
inline constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}  // namespace detail

/// Decodes `in` into `out`, which must hold `base64url_decoded_size(in.size())`
/// bytes; `out_size` receives the decoded length. `out` may be written to even
/// when the input is then refused.
[[nodiscard]] inline Base64Status base64url_decode(std::string_view in, unsigned char* out,
                                                   std::size_t& out_size) noexcept {
    const auto& table = detail::base64url_table;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t full = in.size() / 4;
    const std::size_t rest = in.size() % 4;
    out_size = 0;
    if (rest == 1) return Base64Status::invalid;

    // Invalid characters carry bit 7; OR them all together and branch once at
    // the end, so the loop has no data-dependent branch.
    std::uint32_t bad = 0;
    unsigned char* o = out;
    for (std::size_t i = 0; i < full; ++i, p += 4, o += 3) {
        const std::uint32_t a = table[p[0]], b = table[p[1]], c = table[p[2]], d = table[p[3]];
        bad |= a | b | c | d;
        const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
        o[0] = static_cast<unsigned char>(v >> 16);
        o[1] = static_cast<unsigned char>(v >> 8);
        o[2] = static_cast<unsigned char>(v);
    }
    std::uint32_t trailing = 0;
    if (rest == 2) {
        const std::uint32_t a = table[p[0]], b = table[p[1]];
        bad |= a | b;
        *o++ = static_cast<unsigned char>(a << 2 | b >> 4);
        trailing = b & 0x0f;
    } else if (rest == 3) {
        const std::uint32_t a = table[p[0]], b = table[p[1]], c = table[p[2]];
        bad |= a | b | c;
        *o++ = static_cast<unsigned char>(a << 2 | b >> 4);
        *o++ = static_cast<unsigned char>(b << 4 | c >> 2);
        trailing = c & 0x03;
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
