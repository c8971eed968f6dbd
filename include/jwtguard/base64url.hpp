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
#include <cstring>
#include <string>
#include <string_view>

#include "jwtguard/config.hpp"  // JWTGUARD_AVX2

#if JWTGUARD_AVX2
#include <immintrin.h>
#endif

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

/// base64url_decode, one 4-character group at a time (any CPU; the tail of
/// the AVX2 path).
[[nodiscard]] inline Base64Status base64url_decode_scalar(std::string_view in, unsigned char* out,
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

#if JWTGUARD_AVX2
/// 32 characters at `at` decoded with AVX2: their 24 bytes in the low 24 of
/// the result, the characters outside the alphabet or'ed into `refused`
/// (non-zero bytes). With three 16-entry tables indexed by each character's
/// high or low nibble:
///   - validity: each high nibble names a class (2: '-' only, 3: digits, 4
///     and 6: letters but not 0x40/0x60, 5: 'P'-'Z' and '_', 7: 'p'-'z');
///     the low-nibble table holds the classes for which that low nibble is
///     not in the alphabet. A character is refused when the two meet (high
///     nibbles 0, 1 and 8-15 are a class every low nibble refuses);
///   - 6-bit value: the character plus its high nibble's offset ('_', the
///     one character whose offset differs from its nibble's, is corrected);
///   - 4 x 6 bits into 24 with two multiply-adds, 3 bytes of each 4 kept
///     with a shuffle.
[[gnu::target("avx2")]] [[gnu::always_inline]] inline __m256i base64url_block_avx2(
    const char* at, __m256i& refused) noexcept {
    // Classes: 0x01 '-', 0x02 digits, 0x04 A-O a-o, 0x08 P-Z _, 0x10 p-z,
    // 0x80 no character of the alphabet.
    const __m256i class_of_high =
        _mm256_setr_epi8(-128, -128, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, -128, -128, -128, -128,
                         -128, -128, -128, -128, -128, -128, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10,
                         -128, -128, -128, -128, -128, -128, -128, -128);
    // For each low nibble, the classes that do not hold it.
    const __m256i refused_by_low = _mm256_setr_epi8(
        -128 | 0x01 | 0x04, -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01,
        -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01 | 0x02,
        -128 | 0x01 | 0x02 | 0x08 | 0x10, -128 | 0x01 | 0x02 | 0x08 | 0x10,
        -128 | 0x02 | 0x08 | 0x10, -128 | 0x01 | 0x02 | 0x08 | 0x10, -128 | 0x01 | 0x02 | 0x10,
        -128 | 0x01 | 0x04, -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01,
        -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01, -128 | 0x01 | 0x02,
        -128 | 0x01 | 0x02 | 0x08 | 0x10, -128 | 0x01 | 0x02 | 0x08 | 0x10,
        -128 | 0x02 | 0x08 | 0x10, -128 | 0x01 | 0x02 | 0x08 | 0x10, -128 | 0x01 | 0x02 | 0x10);
    // '-' + 17 = 62, '0' + 4 = 52, 'A' - 65 = 0, 'a' - 71 = 26.
    const __m256i offset_of_high =
        _mm256_setr_epi8(0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,  //
                         0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const __m256i underscore = _mm256_set1_epi8('_');
    const __m256i underscore_fix = _mm256_set1_epi8(33);  // '_' - 32 = 63, not '_' - 65
    const __m256i keep_3_of_4 =
        _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,  //
                         2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
    const __m256i high = _mm256_and_si256(_mm256_srli_epi32(c, 4), nibble);
    const __m256i low = _mm256_and_si256(c, nibble);
    refused = _mm256_or_si256(refused, _mm256_and_si256(_mm256_shuffle_epi8(class_of_high, high),
                                                        _mm256_shuffle_epi8(refused_by_low, low)));
    const __m256i offset =
        _mm256_add_epi8(_mm256_shuffle_epi8(offset_of_high, high),
                        _mm256_and_si256(_mm256_cmpeq_epi8(c, underscore), underscore_fix));
    const __m256i sextets = _mm256_add_epi8(c, offset);
    // a b c d -> a*64 + b, c*64 + d -> (a*64 + b)*4096 + c*64 + d.
    const __m256i pairs = _mm256_maddubs_epi16(sextets, _mm256_set1_epi32(0x01400140));
    const __m256i groups = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
    // 12 bytes at the start of each 128-bit half, then the halves' 12 side
    // by side.
    return _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(groups, keep_3_of_4),
                                       _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
}

/// base64url_decode, 32 characters at a time with AVX2 while 32 remain, the
/// rest by base64url_decode_scalar (so only the scalar path judges the
/// trailing bits, and the verdicts are the same); the blocks' characters
/// are judged once, after the last block.
[[gnu::target("avx2")]] [[nodiscard]] inline Base64Status base64url_decode_avx2(
    std::string_view in, unsigned char* out, std::size_t& out_size) noexcept {
    const char* p = in.data();
    std::size_t left = in.size();
    unsigned char* o = out;
    out_size = 0;
    if (left % 4 == 1) return Base64Status::invalid;
    __m256i refused = _mm256_setzero_si256();
    // While another block follows, all 32 bytes are stored: the 8 past the
    // block's 24 are the next block's to overwrite.
    for (; left >= 64; p += 32, left -= 32, o += 24)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), base64url_block_avx2(p, refused));
    if (left >= 32) {
        // The last block: its 24 bytes and nothing past them.
        const __m256i bytes = base64url_block_avx2(p, refused);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm256_castsi256_si128(bytes));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 16), _mm256_extracti128_si256(bytes, 1));
        p += 32;
        left -= 32;
        o += 24;
    }
    if (!_mm256_testz_si256(refused, refused)) return Base64Status::invalid;
    std::size_t tail_size = 0;
    const Base64Status s = base64url_decode_scalar({p, left}, o, tail_size);
    if (s == Base64Status::ok) out_size = static_cast<std::size_t>(o - out) + tail_size;
    return s;
}
#endif
}  // namespace detail

/// Decodes `in` into `out`, which must hold `base64url_decoded_size(in.size())`
/// bytes; `out_size` receives the decoded length. `out` may be written to even
/// when the input is then refused.
[[nodiscard]] inline Base64Status base64url_decode(std::string_view in, unsigned char* out,
                                                   std::size_t& out_size) noexcept {
#if JWTGUARD_AVX2
    if (in.size() >= 32 && detail::cpu_has_avx2())
        return detail::base64url_decode_avx2(in, out, out_size);
#endif
    return detail::base64url_decode_scalar(in, out, out_size);
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
