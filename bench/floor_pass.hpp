// The claims stage's floor (issue 22, item 2), shared by bench_claims.cpp
// (BM_floor_claims_structural) and bench_algorithms.cpp (the physical floor
// of an HMAC validation).
//
// What any JSON parser must at least do with the payload's bytes, done the
// fastest way this machine offers and nothing else: one AVX2 pass over
// 64-byte blocks that finds the quotes outside escapes, the inside of
// strings (a carry-less multiply as prefix XOR), the structural characters
// and whitespace outside strings (two nibble lookups) and the starts of
// scalars, checks the bytes are UTF-8 (ASCII blocks, as in every bench
// token, by their high bits; any other block by the library's exact
// check), and writes the position of every structural character, as a
// structural index a parser would then walk. No member is named, no value
// read, no duplicate looked for: a parser within 1.5x of this is near the
// machine's limit for these bytes.
#pragma once

#include <jwtguard/json.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <immintrin.h>

namespace floor_pass {

/// Two 32-bit masks as one of 64 bytes.
inline std::uint64_t both(std::uint32_t low, std::uint32_t high) {
    return std::uint64_t{low} | std::uint64_t{high} << 32;
}

/// Bit i set for each byte i of the block (32 bytes) equal to `c`.
[[gnu::target("avx2")]] inline std::uint32_t equal_bits(__m256i block, char c) {
    return static_cast<std::uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(block, _mm256_set1_epi8(c))));
}

/// Bit i set for each byte i of the block (32 bytes) whose class (see
/// structural_index) shares a bit with `mask`.
[[gnu::target("avx2")]] inline std::uint32_t class_bits(__m256i block, __m256i mask) {
    // class = low[byte & 15] & high[byte >> 4]: bits 0-3 for { } [ ] : ,
    // (by high nibble 7, 5, 3, 2), bit 4 for space, bit 5 for tab, LF, CR.
    const __m256i low = _mm256_setr_epi8(16, 0, 0, 0, 0, 0, 0, 0, 0, 32, 36, 3, 8, 35, 0, 0, 16, 0,
                                         0, 0, 0, 0, 0, 0, 0, 32, 36, 3, 8, 35, 0, 0);
    const __m256i high = _mm256_setr_epi8(32, 0, 24, 4, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0,
                                          24, 4, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const __m256i c = _mm256_and_si256(
        _mm256_shuffle_epi8(low, _mm256_and_si256(block, nibble)),
        _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16(block, 4), nibble)));
    return static_cast<std::uint32_t>(~_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(c, mask), _mm256_setzero_si256())));
}

/// Bits of the bytes a backslash escapes (the one after an odd run), given
/// whether the previous block ended inside an odd run. Blocks without a
/// backslash (every bench token's) take the first line.
inline std::uint64_t escaped_bits(std::uint64_t backslash, bool& carry) {
    if (backslash == 0 && !carry) return 0;
    std::uint64_t escaped = 0;
    for (int i = 0; i < 64; ++i) {
        if (carry) {
            escaped |= std::uint64_t{1} << i;
            carry = false;
        } else if (backslash >> i & 1) {
            carry = true;
        }
    }
    return escaped;
}

/// The structural index of `json` (`size` bytes, followed by 64 readable
/// bytes): writes the positions to `index`, returns how many, or -1 when
/// the bytes are not UTF-8.
[[gnu::target("avx2,pclmul")]] inline int structural_index(const char* json, std::size_t size,
                                                           std::uint32_t* index) {
    const __m256i ops = _mm256_set1_epi8(0x0f), spaces = _mm256_set1_epi8(0x30);
    __m256i high_bits = _mm256_setzero_si256();
    std::uint64_t in_string_carry = 0, scalar_carry = 0;
    bool escape_carry = false;
    int count = 0;
    for (std::size_t at = 0; at < size; at += 64) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(json + at));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(json + at + 32));
        high_bits = _mm256_or_si256(high_bits, _mm256_or_si256(a, b));
        const std::uint64_t valid =
            size - at >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << (size - at)) - 1;
        const std::uint64_t backslash = both(equal_bits(a, '\\'), equal_bits(b, '\\')) & valid;
        const std::uint64_t quotes = both(equal_bits(a, '"'), equal_bits(b, '"')) & valid &
                                     ~escaped_bits(backslash, escape_carry);
        // Prefix XOR: bit i is the parity of the quotes at or before i.
        const std::uint64_t in_string =
            static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_clmulepi64_si128(
                _mm_set_epi64x(0, static_cast<long long>(quotes)), _mm_set1_epi8(-1), 0))) ^
            in_string_carry;
        in_string_carry = static_cast<std::uint64_t>(static_cast<std::int64_t>(in_string) >> 63);
        const std::uint64_t op = both(class_bits(a, ops), class_bits(b, ops)) & valid;
        const std::uint64_t space = both(class_bits(a, spaces), class_bits(b, spaces));
        const std::uint64_t scalar = ~(op | space) & valid;
        const std::uint64_t string_tail = in_string ^ quotes;
        const std::uint64_t nonquote_scalar = scalar & ~quotes;
        const std::uint64_t follows = nonquote_scalar << 1 | scalar_carry;
        scalar_carry = nonquote_scalar >> 63;
        std::uint64_t structurals = (op | (scalar & ~follows)) & ~string_tail;
        for (; structurals != 0; structurals &= structurals - 1)
            index[count++] = static_cast<std::uint32_t>(at) +
                             static_cast<std::uint32_t>(std::countr_zero(structurals));
    }
    if (_mm256_movemask_epi8(high_bits) != 0 &&
        jwtguard::detail::raw_text_fault(reinterpret_cast<const unsigned char*>(json), size) ==
            jwtguard::detail::JsonFault::invalid_utf8)
        return -1;
    return count;
}

/// The same positions by a plain byte loop (no escapes in the bench
/// payloads beyond what it handles), to check the pass above.
inline int structural_count_reference(std::string_view json) {
    int count = 0;
    bool in_string = false, escaped = false, in_scalar = false;
    for (const char c : json) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        const bool op = std::strchr("{}[]:,", c) != nullptr && c != '\0';
        const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (c == '"') {
            ++count;
            in_string = true;
            in_scalar = false;
        } else if (op || space) {
            count += op ? 1 : 0;
            in_scalar = false;
        } else if (!in_scalar) {
            ++count;
            in_scalar = true;
        }
    }
    return count;
}

}  // namespace floor_pass
