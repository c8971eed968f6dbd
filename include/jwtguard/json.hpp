// Strict, allocation-free parsing of the JOSE header and the JWT claims set.
//
// The reader (json_reader.hpp) runs in place (strings are unescaped inside
// the caller's buffer, so every string handed out is a view into it), with
// numbers delivered as their source text. The handlers below bound the
// recursion (they refuse depth > max_json_depth before the reader
// descends), count and deduplicate members at every depth in a fixed table, and
// pick out the members jwtguard reads. Nothing here allocates.
//
// What the reader does not check by itself is checked before it runs, on
// the raw bytes:
//   - UTF-8 well-formedness (no overlong forms, no surrogates, <= U+10FFFF);
//   - `\uDC00`-`\uDFFF` escapes that do not follow a high surrogate (a high
//     surrogate without its low half is refused by the reader itself).
// And after it runs: that it consumed every byte (a raw NUL would otherwise
// end the document early).
//
// Numbers are judged exactly, from their decimal text (see
// `parse_numeric_date`): no rounding through a double can move a date.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "jwtguard/json_reader.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if JWTGUARD_AVX2
#include <immintrin.h>
#endif

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "jwtguard/claims.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/time.hpp"

namespace jwtguard::detail {

/// Why a JSON document was refused, before the caller names the segment.
enum class JsonFault : std::uint8_t {
    none,
    syntax,
    not_object,
    invalid_utf8,
    too_deep,
    too_many_members,
    duplicate_member,
};

#if JWTGUARD_AVX2
/// The length of the whole 32-byte blocks at the start of `data` that hold
/// only printable ASCII (0x20-0x7f), up to the first block that does not;
/// sets `backslash` when they hold a '\\'. raw_text_fault's fast part on
/// CPUs with AVX2: twice the bytes per step of the 16-byte loop, and the
/// backslashes gathered in a register rather than tested per step.
[[gnu::target("avx2")]] [[nodiscard]] inline std::size_t printable_blocks_avx2(
    const unsigned char* data, std::size_t size, bool& backslash) noexcept {
    const __m256i control_max = _mm256_set1_epi8(0x1f);
    const __m256i backslashes = _mm256_set1_epi8('\\');
    __m256i seen = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 <= size; i += 32) {
        const __m256i block = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + i));
        // 0xff for a byte <= 0x1f (unsigned: max(b, 0x1f) == 0x1f); its high
        // bit, like a byte >= 0x80's own, stops the run.
        const __m256i control = _mm256_cmpeq_epi8(_mm256_max_epu8(block, control_max), control_max);
        if (_mm256_movemask_epi8(_mm256_or_si256(block, control)) != 0) break;
        seen = _mm256_or_si256(seen, _mm256_cmpeq_epi8(block, backslashes));
    }
    backslash |= _mm256_movemask_epi8(seen) != 0;
    return i;
}
#endif

/// What the text pass found besides faults: whether escapes need a look
/// (nearly no token has a backslash) and whether the reader may end strings
/// at their first quote.
struct JsonTextFacts {
    bool backslash = false;           // a '\\' somewhere
    bool whitespace_control = false;  // a raw tab, LF or CR (tokens hold none)
    /// No backslash and no byte below 0x20: read_json's `plain`.
    [[nodiscard]] constexpr bool plain() const noexcept {
        return !backslash && !whitespace_control;
    }
};

/// The first fault of raw JSON text among those the reader must not be left
/// to find: ill-formed UTF-8 (RFC 3629; Unicode table 3-7), and a raw
/// control character other than JSON whitespace (tab, LF, CR), which JSON
/// allows nowhere (`syntax`). Both are found here, in byte order, before the
/// reader runs, so that which one is reported does not depend on where the
/// reader would stop. `facts`, if given, says what else the pass saw.
[[nodiscard]] inline JsonFault raw_text_fault(const unsigned char* data, std::size_t size,
                                              JsonTextFacts* facts = nullptr) noexcept {
    std::size_t i = 0;
    bool backslash = false, whitespace_control = false;
#if JWTGUARD_AVX2
    const bool avx2 = size >= 32 && cpu_has_avx2();
#endif
    while (i < size) {
        // Printable ASCII runs, 32 (AVX2), 16 (SSE2) or 8 bytes at a time:
        // tokens are nearly all that.
#if JWTGUARD_AVX2
        if (avx2 && size - i >= 32) i += printable_blocks_avx2(data + i, size - i, backslash);
#endif
#if defined(__SSE2__)
        const __m128i printable_min = _mm_set1_epi8(0x20);
        const __m128i backslashes = _mm_set1_epi8('\\');
        while (i + 16 <= size) {
            const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
            // High bit set, or below 0x20 (unsigned: max(b, 0x20) != b).
            const __m128i low = _mm_cmpeq_epi8(_mm_max_epu8(block, printable_min), block);
            if (_mm_movemask_epi8(block) != 0 || _mm_movemask_epi8(low) != 0xffff) break;
            backslash |= _mm_movemask_epi8(_mm_cmpeq_epi8(block, backslashes)) != 0;
            i += 16;
        }
#endif
        // A byte below 0x20 sets its high bit in (w - 0x20..) & ~w.
        while (i + 8 <= size) {
            std::uint64_t word;
            std::memcpy(&word, data + i, 8);
            constexpr std::uint64_t high = 0x8080808080808080ull;
            if ((word & high) | ((word - 0x2020202020202020ull) & ~word & high)) break;
            // A zero byte of word ^ 0x5c.. is a backslash (0x5c).
            const std::uint64_t x = word ^ 0x5c5c5c5c5c5c5c5cull;
            backslash |= ((x - 0x0101010101010101ull) & ~x & high) != 0;
            i += 8;
        }
        if (i >= size) break;
        const unsigned char c = data[i];
        if (c < 0x80) {
            if (c < 0x20) {
                if (c != '\t' && c != '\n' && c != '\r') return JsonFault::syntax;
                whitespace_control = true;
            }
            backslash |= c == '\\';
            ++i;
            continue;
        }
        std::size_t length;
        unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
        if (c >= 0xc2 && c <= 0xdf) {
            length = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            length = 3;
            if (c == 0xe0) lo = 0xa0;  // no overlong forms
            if (c == 0xed) hi = 0x9f;  // no UTF-16 surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            length = 4;
            if (c == 0xf0) lo = 0x90;  // no overlong forms
            if (c == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
        } else {
            return JsonFault::invalid_utf8;  // continuation byte, C0, C1, F5..FF
        }
        if (size - i < length) return JsonFault::invalid_utf8;
        if (data[i + 1] < lo || data[i + 1] > hi) return JsonFault::invalid_utf8;
        for (std::size_t k = 2; k < length; ++k)
            if ((data[i + k] & 0xc0) != 0x80) return JsonFault::invalid_utf8;
        i += length;
    }
    if (facts != nullptr) *facts = JsonTextFacts{backslash, whitespace_control};
    return JsonFault::none;
}

/// True when `json` escapes a low surrogate (`\uDC00`-`\uDFFF`) that does not
/// directly follow an escaped high surrogate. Malformed escapes are left to
/// the parser, which refuses them.
[[nodiscard]] inline bool has_lone_low_surrogate(const char* json, std::size_t size) noexcept {
    const char* p = json;
    const char* const end = json + size;
    bool after_high = false;  // the previous escape was a high surrogate
    while (true) {
        const auto* slash =
            static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p)));
        if (slash == nullptr) return false;
        if (slash != p) after_high = false;
        if (end - slash < 2) return false;
        if (slash[1] != 'u' || end - slash < 6) {
            after_high = false;
            p = slash + 2;
            continue;
        }
        int code = 0;
        for (int k = 2; k < 6; ++k) {
            const int v = hex_value(slash[k]);
            if (v < 0) return false;  // the parser refuses the escape
            code = code << 4 | v;
        }
        if (code >= 0xdc00 && code <= 0xdfff) {
            if (!after_high) return true;
            after_high = false;
        } else {
            after_high = code >= 0xd800 && code <= 0xdbff;
        }
        p = slash + 6;
    }
}

/// The fault of `json` that the reader, parsing it afterwards without an
/// encoding check, would miss: raw_text_fault, then an escaped lone low
/// surrogate (the reader refuses a lone high one itself). `facts`: see
/// raw_text_fault.
[[nodiscard]] inline JsonFault json_text_fault(const char* json, std::size_t size,
                                               JsonTextFacts* facts = nullptr) noexcept {
    JsonTextFacts seen;
    if (const JsonFault f =
            raw_text_fault(reinterpret_cast<const unsigned char*>(json), size, &seen);
        f != JsonFault::none)
        return f;
    if (facts != nullptr) *facts = seen;
    return seen.backslash && has_lone_low_surrogate(json, size) ? JsonFault::invalid_utf8
                                                                : JsonFault::none;
}

/// The value of the eight ASCII digits at `p`, or false if one of the eight
/// bytes is not a digit: one word, three multiplications (each step joins
/// neighbouring groups of digits, 1 -> 2 -> 4 -> 8; no step carries into
/// the next group). Dates are ten digits, and this is most of them.
[[nodiscard]] inline bool eight_digits(const char* p, std::uint64_t& out) noexcept {
    if constexpr (std::endian::native != std::endian::little) return false;  // the loop reads them
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    constexpr std::uint64_t high_nibbles = 0xf0f0f0f0f0f0f0f0ull, zeros = 0x3030303030303030ull;
    // Each byte in 0x30..0x39: high nibble 3, and still so after adding 6.
    if ((v & high_nibbles) != zeros || ((v + 0x0606060606060606ull) & high_nibbles) != zeros)
        return false;
    v -= zeros;  // the first digit in the lowest byte (little-endian load)
    v = (v * 10 + (v >> 8)) & 0x00ff00ff00ff00ffull;
    v = (v * 100 + (v >> 16)) & 0x0000ffff0000ffffull;
    out = (v * 10000 + (v >> 32)) & 0xffffffffull;
    return true;
}

/// parse_numeric_date for every text but ten digits.
[[gnu::noinline]] [[nodiscard]] inline bool parse_numeric_date_general(
    std::string_view text, std::int64_t& out, DateFraction* fraction) noexcept {
    if (fraction != nullptr) *fraction = DateFraction{};
    // Nearly every date is a plain integer of at most 15 digits (< 2^53):
    // read it directly. (A leading zero is only "0" itself: the grammar.)
    if (!text.empty() && text.size() <= 15) {
        std::uint64_t value = 0;
        std::size_t k = 0;
        if (text.size() >= 8 && eight_digits(text.data(), value)) k = 8;
        for (; k < text.size(); ++k) {
            const auto digit = static_cast<unsigned>(text[k] - '0');
            if (digit > 9) break;
            value = value * 10 + digit;
        }
        if (k == text.size()) {
            out = static_cast<std::int64_t>(value);
            return true;
        }
    }
    // The mantissa's digits M (integer digits, then fraction digits) and the
    // number of them that stand before the decimal point once the exponent
    // is applied (negative or beyond M: zeros fill in).
    auto is_digit = [&](std::size_t k) {
        return k < text.size() && text[k] >= '0' && text[k] <= '9';
    };
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) ++i;
    const std::size_t integer_begin = i;
    while (is_digit(i))
        ++i;
    const std::size_t integer_end = i;
    std::size_t fraction_begin = i, fraction_end = i;
    if (i < text.size() && text[i] == '.') {
        fraction_begin = ++i;
        while (is_digit(i))
            ++i;
        fraction_end = i;
    }
    std::int64_t exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool exponent_negative = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-'))
            exponent_negative = text[i++] == '-';
        // Beyond 10^6 every exponent reads the same: the text is far shorter.
        for (; is_digit(i); ++i)
            exponent = std::min<std::int64_t>(exponent * 10 + (text[i] - '0'), 1'000'000);
        if (exponent_negative) exponent = -exponent;
    }
    const auto integer_digits = static_cast<std::int64_t>(integer_end - integer_begin);
    const auto digits = integer_digits + static_cast<std::int64_t>(fraction_end - fraction_begin);
    auto digit_at = [&](std::int64_t k) -> std::uint64_t {
        if (k < 0 || k >= digits) return 0;
        const char c = k < integer_digits
                           ? text[integer_begin + static_cast<std::size_t>(k)]
                           : text[fraction_begin + static_cast<std::size_t>(k - integer_digits)];
        return static_cast<std::uint64_t>(c - '0');
    };
    const std::int64_t point = integer_digits + exponent;
    // Integer part: M[0, point), then zeros. More than 16 significant
    // digits is at least 10^16 > 2^53: out of range, and the loop stays short.
    std::uint64_t integer = 0;
    int significant = 0;
    for (std::int64_t k = 0; k < point; ++k) {
        if (k >= digits && significant == 0) break;  // only zeros were and will be
        const std::uint64_t d = digit_at(k);
        if (significant == 0 && d == 0) continue;
        if (++significant > 16) return false;
        integer = integer * 10 + d;
    }
    // Fraction: its first 19 digits, and whether a non-zero one follows.
    DateFraction f;
    for (std::int64_t k = point; k < point + DateFraction::digit_count; ++k)
        f.digits = f.digits * 10 + digit_at(k);
    for (std::int64_t k = std::max<std::int64_t>(point + DateFraction::digit_count, 0);
         k < digits && !f.more; ++k)
        f.more = digit_at(k) != 0;
    const bool has_fraction = f.nonzero();
    if (negative && (integer != 0 || has_fraction)) return false;  // -0 is 0
    const auto max_date = static_cast<std::uint64_t>(max_numeric_date);
    if (integer > max_date || (has_fraction && integer == max_date)) return false;
    out = static_cast<std::int64_t>(integer + (has_fraction ? 1 : 0));
    if (fraction != nullptr) *fraction = f;
    return true;
}

/// Reads a JSON number's text as a NumericDate: a value in [0, 2^53], rounded
/// up to whole seconds; `fraction`, if given, receives its fractional part
/// exactly enough to order two dates (claims.hpp, DateFraction). Returns
/// false for anything outside that range. The text has already passed the
/// JSON number grammar.
[[nodiscard]] inline bool parse_numeric_date(std::string_view text, std::int64_t& out,
                                             DateFraction* fraction = nullptr) noexcept {
    // Ten digits: every date from 2001-09-09 to 2286-11-20, nearly every
    // token's. One word and two bytes, inline in the claims handler (the
    // grammar allows no leading zero: ten digits are a plain integer).
    if (std::uint64_t high; text.size() == 10 && eight_digits(text.data(), high)) {
        const auto tens = static_cast<unsigned>(text[8] - '0');
        const auto ones = static_cast<unsigned>(text[9] - '0');
        if (tens <= 9 && ones <= 9) {
            out = static_cast<std::int64_t>(high * 100 + tens * 10 + ones);
            if (fraction != nullptr) *fraction = DateFraction{};
            return true;
        }
    }
    return parse_numeric_date_general(text, out, fraction);
}

/// Member names seen so far in one document, each with the object it
/// belongs to (objects are numbered as they open): open addressing over a
/// fixed table, so detection stays linear and allocation-free at every
/// depth. Names are compared only when their 64-bit hashes (of the name,
/// mixed with the object's number) are equal. Names of up to 16 bytes
/// (nearly all) hash from their length and bytes directly, which determine
/// them: equal hashes there cost one comparison of at most 16 bytes. Longer
/// names hash with XXH3, so an attacker cannot make long names be compared
/// without finding full 64-bit collisions. Keyed by nothing: colliding slots
/// cost at most max_members^2 / 2 hash comparisons per document.
///
/// The first linear_names names are only listed, each new one's hash
/// compared with theirs: a token's claims have few names beside the
/// registered ones (which TopLevelHandler checks by their own bits), and
/// a table zeroed for every document cost more than those comparisons
/// (the compiler zeroes it with `rep stos`: parse_claims went from
/// 150-159 to 132-137 ns without it, alternated runs). The table is built
/// when the list is full.
class MemberSet {
  public:
    /// Adds `name` as a member of object number `object`; false if that
    /// object already has it. At most max_members calls per document.
    /// (Inlined: most documents never fill the list.)
    [[nodiscard]] [[gnu::always_inline]] bool insert(std::uint32_t object,
                                                     std::string_view name) noexcept {
        // The object's number times an odd constant, xor'ed in: for one name,
        // different objects always give different hashes (multiplying by an
        // odd number is a bijection), so equal hashes and equal names mean
        // the same object, and the object need not be stored.
        const std::uint64_t hash = hash_of(name) ^ (object * 0xd6e8feb86659fd93ull);
        if (m_count >= linear_names) return insert_in_table(name, hash);
        for (std::size_t i = 0; i < m_count; ++i)
            if (m_names[i].hash == hash && m_names[i].view() == name) return false;
        m_names[m_count++] = Name{name.data(), name.size(), hash};
        if (m_count == linear_names) build_table();
        return true;
    }

  private:
    /// insert() once the list is full.
    [[gnu::noinline]] bool insert_in_table(std::string_view name, std::uint64_t hash) noexcept {
        std::size_t slot = slot_of(hash);
        while (m_slots[slot] != 0) {
            const Name& seen = m_names[m_slots[slot] - 1];
            if (seen.hash == hash && seen.view() == name) return false;
            slot = (slot + 1) & (table_size - 1);
        }
        m_names[m_count] = Name{name.data(), name.size(), hash};
        m_slots[slot] = static_cast<Slot>(++m_count);
        return true;
    }

    [[nodiscard]] [[gnu::always_inline]] static std::uint64_t hash_of(
        std::string_view name) noexcept {
        const std::size_t n = name.size();
        if (n > 16) return XXH3_64bits(name.data(), n);
        const auto* p = reinterpret_cast<const unsigned char*>(name.data());
        std::uint64_t first = 0, last = 0;
        if (n >= 8) {
            std::memcpy(&first, p, 8);
            std::memcpy(&last, p + n - 8, 8);
        } else if (n >= 4) {
            std::uint32_t a, b;
            std::memcpy(&a, p, 4);
            std::memcpy(&b, p + n - 4, 4);
            first = a;
            last = b;
        } else if (n > 0) {
            first =
                std::uint64_t{p[0]} | std::uint64_t{p[n / 2]} << 8 | std::uint64_t{p[n - 1]} << 16;
        }
        std::uint64_t h = (first ^ n) * 0x9e3779b97f4a7c15ull ^ last * 0xc2b2ae3d27d4eb4full;
        return h ^ (h >> 29);
    }

    // Trivial on purpose: nothing of it is written before it is used.
    struct Name {
        const char* data;
        std::size_t size;
        std::uint64_t hash;
        [[nodiscard]] std::string_view view() const noexcept { return {data, size}; }
    };
    static constexpr std::size_t linear_names = 8;

    [[nodiscard]] static std::size_t slot_of(std::uint64_t hash) noexcept {
        return static_cast<std::size_t>(hash >> 32) & (table_size - 1);
    }
    /// The table of the names listed so far (all distinct).
    void build_table() noexcept {
        std::memset(m_slots, 0, sizeof m_slots);
        for (std::size_t i = 0; i < m_count; ++i) {
            std::size_t slot = slot_of(m_names[i].hash);
            while (m_slots[slot] != 0)
                slot = (slot + 1) & (table_size - 1);
            m_slots[slot] = static_cast<Slot>(i + 1);
        }
    }
    static constexpr std::size_t table_size = std::bit_ceil(max_members * 2);
    // 1 + the index of a name, 0 for none: one byte while that fits, so the
    // table stays small (256 bytes by default). Written by build_table.
    using Slot = std::conditional_t<(max_members < 256), std::uint8_t, std::uint16_t>;
    static_assert(linear_names < max_members && linear_names < table_size);
    Slot m_slots[table_size];
    Name m_names[max_members];
    std::size_t m_count = 0;
};

/// A three-byte name as one integer (its bytes in memory order, the first
/// lowest), 0 for any other length: registered header parameters and claims
/// are all three letters, so one switch on this replaces a chain of string
/// comparisons.
[[nodiscard]] constexpr std::uint32_t three_letters(std::string_view name) noexcept {
    if (name.size() != 3) return 0;
    return static_cast<unsigned char>(name[0]) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[1])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[2])) << 16;
}

/// three_letters of a member name the reader reported, with one 4-byte load
/// from its start: the name lies in a document that the terminating NUL and
/// json_padding bytes follow, so those 4 bytes are readable at any length
/// (after a 3-byte name, the 4th is its closing quote or what unescaping
/// left there). The length decides before any byte does.
[[nodiscard]] inline std::uint32_t three_letters_of_member(std::string_view name) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        std::uint32_t word;
        std::memcpy(&word, name.data(), 4);
        return name.size() == 3 ? word & 0xffffff : 0;
    } else {
        return three_letters(name);
    }
}

/// What a top-level value is, as the member handlers need to know it.
enum class ValueKind : std::uint8_t { string, number, other, array, object };

/// The SAX handler shared by header and claims: depth, member count and
/// duplicate names; `Derived` sees top-level members and the values under
/// them through `on_key`, `on_value(depth, kind, text)` and `on_end_array`.
/// `on_key` returns a bit of its own for each name it acts on (a registered
/// claim or header parameter), 0 for any other name: a top-level name with
/// a bit is checked for a duplicate by that bit, every other name in the
/// MemberSet (two equal names always get the same answer, so the two never
/// need to meet).
template <class Derived>
class TopLevelHandler {
  public:
    using Ch = char;

    // The events are inlined into the reader's walk: a call per value cost
    // more than the handler's work on it (in validate(), where the
    // compiler's own budget for inlining runs out).
    [[gnu::always_inline]] bool Null() { return value(ValueKind::other, {}); }
    [[gnu::always_inline]] bool Bool(bool) { return value(ValueKind::other, {}); }
    [[gnu::always_inline]] bool RawNumber(const Ch* s, rapidjson::SizeType n, bool) {
        return value(ValueKind::number, {s, n});
    }
    [[gnu::always_inline]] bool String(const Ch* s, rapidjson::SizeType n, bool) {
        return value(ValueKind::string, {s, n});
    }
    bool StartObject() {
        if (m_depth == 0) {
            m_depth = 1;
            m_object_at[1] = 0;
            return true;
        }
        if (!open(ValueKind::object)) return false;
        m_object_at[m_depth] = ++m_objects;
        return true;
    }
    // Every member at every depth is counted and checked for a duplicate
    // name in its object (DESIGN.md: no other parser reading these bytes,
    // first-wins or last-wins, may see other claims at any depth).
    [[gnu::always_inline]] bool Key(const Ch* s, rapidjson::SizeType n, bool) {
        const std::string_view name(s, n);
        if (++m_members > max_members) return stop(JsonFault::too_many_members);
        if (m_depth == 1) {
            if (const std::uint32_t bit = derived().on_key(name); bit != 0) {
                if ((m_known_names & bit) != 0) return stop(JsonFault::duplicate_member);
                m_known_names |= bit;
                return true;
            }
        }
        if (!m_names.insert(m_object_at[m_depth], name)) return stop(JsonFault::duplicate_member);
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        --m_depth;
        return true;
    }
    bool StartArray() { return open(ValueKind::array); }
    bool EndArray(rapidjson::SizeType) {
        derived().on_end_array(m_depth);
        --m_depth;
        return true;
    }

    [[nodiscard]] JsonFault fault() const noexcept { return m_fault; }

    /// Parses the `size` bytes at `json` in place. `json[size]` must be NUL,
    /// followed by `json_padding` readable bytes. The reader writes only to
    /// unescape; with `escaped_copy`, `json` stays as it is: a text with a
    /// backslash is copied there (size + 1 bytes, followed by json_padding
    /// readable ones) and parsed in the copy.
    [[nodiscard]] JsonFault parse(char* json, std::size_t size,
                                  char* escaped_copy = nullptr) noexcept {
#if JWTGUARD_AVX2
        // A plain text (nearly every token's) is read with its quotes
        // indexed (json_reader.hpp, read_plain_json); the pass that indexes
        // them also finds whether the text is plain, and ASCII (then no
        // UTF-8 check is left to do).
        if (size <= plain_json_max && cpu_has_avx2_pclmul()) {
            QuoteBits quotes;
            if (const QuoteScan scan = quote_bits(json, size, quotes);
                scan != QuoteScan::not_plain) {
                if (scan == QuoteScan::non_ascii) {
                    if (const JsonFault f =
                            raw_text_fault(reinterpret_cast<const unsigned char*>(json), size);
                        f != JsonFault::none)
                        return f;
                }
                return verdict(read_plain_json(json, quotes, *this), size);
            }
        }
#endif
        JsonTextFacts facts;
        if (const JsonFault f = json_text_fault(json, size, &facts); f != JsonFault::none) return f;
        if (facts.backslash && escaped_copy != nullptr) {
            std::memcpy(escaped_copy, json, size + 1);
            json = escaped_copy;
        }
        return verdict(read_json(json, *this, facts.plain()), size);
    }

  protected:
    Derived& derived() noexcept {
        return static_cast<Derived&>(*this);
    }

  private:
    /// The fault of a document of `size` bytes a reader read `read` of (-1:
    /// refused): the handler's own first, else a syntax error unless every
    /// byte was read (a raw NUL would otherwise end it early).
    [[nodiscard]] JsonFault verdict(std::ptrdiff_t read, std::size_t size) const noexcept {
        if (m_fault != JsonFault::none) return m_fault;
        if (read != static_cast<std::ptrdiff_t>(size)) return JsonFault::syntax;
        return JsonFault::none;
    }
    bool stop(JsonFault fault) {
        m_fault = fault;
        return false;
    }
    [[gnu::always_inline]] bool value(ValueKind kind, std::string_view text) {
        // Most values are members' own: with the depth a constant there,
        // the handler's tests of it fold away.
        if (m_depth == 1) {
            derived().on_value(1, kind, text);
            return true;
        }
        if (m_depth == 0) return stop(JsonFault::not_object);
        derived().on_value(m_depth, kind, text);
        return true;
    }
    bool open(ValueKind kind) {
        if (m_depth == 0) return stop(JsonFault::not_object);
        derived().on_value(m_depth, kind, {});
        // Refused before the reader recurses: the C++ stack stays bounded.
        if (++m_depth > max_json_depth) return stop(JsonFault::too_deep);
        return true;
    }

    int m_depth = 0;
    std::size_t m_members = 0;
    std::uint32_t m_objects = 0;  // objects opened below the top level
    // The number of the object open at each depth (arrays leave theirs unset:
    // no Key comes at an array's depth).
    std::uint32_t m_object_at[max_json_depth + 1];
    JsonFault m_fault = JsonFault::none;
    std::uint32_t m_known_names = 0;  // the bits of the top-level names on_key knows
    MemberSet m_names;
};

/// A writable, NUL-terminated and padded copy of a JSON text, for the in-situ
/// parsers outside the request path (signing, tools, tests); the validator
/// parses inside `Claims`' scratch, which is laid out for the same reads.
class JsonBuffer {
  public:
    explicit JsonBuffer(std::string_view text)
        : m_bytes(text.begin(), text.end()), m_size(text.size()) {
        m_bytes.resize(m_size + 1 + json_padding, '\0');
    }
    [[nodiscard]] char* data() noexcept { return m_bytes.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return m_size; }

  private:
    std::vector<char> m_bytes;
    std::size_t m_size;
};

/// Reads the JOSE header parameters jwtguard acts on. A wrong type is
/// recorded as the first semantic error; parsing goes on so a syntax error
/// later in the document still wins.
class HeaderHandler final : public TopLevelHandler<HeaderHandler> {
  public:
    explicit HeaderHandler(Header& header) noexcept : m_header(header) { m_header = Header{}; }

    std::uint32_t on_key(std::string_view name) noexcept {
        m_member = Member::other;
        if (name.size() == 4) {
            if (name == "crit") fail(Error::crit_unsupported);
            return 0;
        }
        switch (three_letters_of_member(name)) {
            case three_letters("alg"):
                m_member = Member::alg;
                break;
            case three_letters("kid"):
                m_member = Member::kid;
                break;
            case three_letters("typ"):
                m_member = Member::typ;
                break;
            case three_letters("cty"):
                m_member = Member::cty;
                break;
            default:
                return 0;
        }
        return 1u << static_cast<unsigned>(m_member);
    }
    void on_value(int depth, ValueKind kind, std::string_view text) noexcept {
        if (depth != 1) return;
        const bool is_string = kind == ValueKind::string;
        switch (m_member) {
            case Member::alg:
                is_string ? void(m_header.alg = text) : fail(Error::alg_invalid);
                break;
            case Member::kid:
                is_string ? void(m_header.kid = text) : fail(Error::kid_invalid);
                break;
            case Member::typ:
                is_string ? void(m_header.typ = text) : fail(Error::typ_invalid);
                break;
            case Member::cty:
                is_string ? void(m_header.cty = text) : fail(Error::cty_invalid);
                break;
            case Member::other:
                break;
        }
    }
    void on_end_array(int) noexcept {}

    [[nodiscard]] Error error() const noexcept { return m_error; }

  private:
    enum class Member : std::uint8_t { other, alg, kid, typ, cty };
    void fail(Error e) noexcept {
        if (m_error == Error::ok) m_error = e;
    }
    Header& m_header;
    Member m_member = Member::other;
    Error m_error = Error::ok;
};

/// Reads the registered claims into a `Claims`.
class ClaimsHandler final : public TopLevelHandler<ClaimsHandler> {
  public:
    explicit ClaimsHandler(Claims& claims) noexcept : m_claims(claims) {
        m_claims.reset_registered();
    }

    std::uint32_t on_key(std::string_view name) noexcept {
        switch (three_letters_of_member(name)) {
            case three_letters("exp"):
                m_member = Member::exp;
                break;
            case three_letters("iss"):
                m_member = Member::iss;
                break;
            case three_letters("aud"):
                m_member = Member::aud;
                break;
            case three_letters("sub"):
                m_member = Member::sub;
                break;
            case three_letters("jti"):
                m_member = Member::jti;
                break;
            case three_letters("iat"):
                m_member = Member::iat;
                break;
            case three_letters("nbf"):
                m_member = Member::nbf;
                break;
            default:
                m_member = Member::other;
                return 0;
        }
        return 1u << static_cast<unsigned>(m_member);
    }
    // Inlined where the reader reports a value: most values need no more
    // than the first two tests.
    [[gnu::always_inline]] void on_value(int depth, ValueKind kind,
                                         std::string_view text) noexcept {
        if (m_in_aud && depth == 2) return audience(kind, text);
        if (depth != 1) return;
        const bool is_string = kind == ValueKind::string;
        switch (m_member) {
            case Member::iss:
                is_string ? void(m_claims.iss.emplace(text)) : fail(Error::iss_invalid);
                break;
            case Member::sub:
                is_string ? void(m_claims.sub.emplace(text)) : fail(Error::sub_invalid);
                break;
            case Member::jti:
                is_string ? void(m_claims.jti.emplace(text)) : fail(Error::jti_invalid);
                break;
            case Member::exp:
                date(kind, text, m_claims.exp, Error::exp_invalid, &m_claims.m_exp_fraction);
                break;
            case Member::nbf:
                date(kind, text, m_claims.nbf, Error::nbf_invalid);
                break;
            case Member::iat:
                date(kind, text, m_claims.iat, Error::iat_invalid, &m_claims.m_iat_fraction);
                break;
            case Member::aud:
                m_claims.m_has_aud = true;
                if (kind == ValueKind::array)
                    m_in_aud = true;
                else
                    audience(kind, text);
                break;
            case Member::other:
                break;
        }
    }
    void on_end_array(int depth) noexcept {
        if (m_in_aud && depth == 2) {
            m_in_aud = false;
            if (m_claims.m_aud_count == 0) fail(Error::aud_invalid);
        }
    }

    [[nodiscard]] Error error() const noexcept { return m_error; }

  private:
    enum class Member : std::uint8_t { other, iss, sub, aud, exp, nbf, iat, jti };
    void fail(Error e) noexcept {
        if (m_error == Error::ok) m_error = e;
    }
    void date(ValueKind kind, std::string_view text, std::optional<std::int64_t>& out,
              Error invalid, DateFraction* fraction = nullptr) noexcept {
        std::int64_t value;
        if (kind == ValueKind::number && parse_numeric_date(text, value, fraction))
            out = value;
        else
            fail(invalid);
    }
    void audience(ValueKind kind, std::string_view text) noexcept {
        if (kind != ValueKind::string) return fail(Error::aud_invalid);
        if (m_claims.m_aud_count == max_audiences) return fail(Error::aud_too_many);
        m_claims.m_aud[m_claims.m_aud_count++] = text;
    }

    Claims& m_claims;
    Member m_member = Member::other;
    bool m_in_aud = false;
    Error m_error = Error::ok;
};

/// Reads nothing: checks only what every header and payload must be (strict
/// JSON, an object, depth, member count, no duplicate names).
class StructureHandler final : public TopLevelHandler<StructureHandler> {
  public:
    std::uint32_t on_key(std::string_view) noexcept { return 0; }
    void on_value(int, ValueKind, std::string_view) noexcept {}
    void on_end_array(int) noexcept {}
};

/// The Error for a JSON fault in the header (first) or payload (second).
[[nodiscard]] constexpr Error json_fault_error(JsonFault fault, bool payload) noexcept {
    switch (fault) {
        case JsonFault::none:
            return Error::ok;
        case JsonFault::syntax:
            return payload ? Error::payload_json_invalid : Error::header_json_invalid;
        case JsonFault::not_object:
            return payload ? Error::payload_not_object : Error::header_not_object;
        case JsonFault::invalid_utf8:
            return payload ? Error::payload_invalid_utf8 : Error::header_invalid_utf8;
        case JsonFault::too_deep:
            return payload ? Error::payload_too_deep : Error::header_too_deep;
        case JsonFault::too_many_members:
            return payload ? Error::payload_too_many_members : Error::header_too_many_members;
        case JsonFault::duplicate_member:
            return payload ? Error::payload_duplicate_member : Error::header_duplicate_member;
    }
    return payload ? Error::payload_json_invalid : Error::header_json_invalid;
}

/// Parses a decoded header in place (`json[size]` must be NUL, followed by
/// `json_padding` readable bytes).
[[nodiscard]] inline Error parse_header(char* json, std::size_t size, Header& header) noexcept {
    HeaderHandler handler(header);
    const JsonFault fault = handler.parse(json, size);
    if (fault != JsonFault::none) return json_fault_error(fault, false);
    return handler.error();
}

/// Checks the structure of a decoded header or payload in place (`json[size]`
/// must be NUL, followed by `json_padding` readable bytes), without reading
/// any member.
[[nodiscard]] inline Error check_json_structure(char* json, std::size_t size,
                                                bool payload) noexcept {
    StructureHandler handler;
    return json_fault_error(handler.parse(json, size), payload);
}

/// Parses a decoded payload in place (`json[size]` must be NUL, followed by
/// `json_padding` readable bytes); with `escaped_copy`, leaves it as it is
/// (TopLevelHandler::parse), so that the claims and the signed bytes can
/// share it: nearly no payload needs unescaping.
[[nodiscard]] inline Error parse_claims(char* json, std::size_t size, Claims& claims,
                                        char* escaped_copy = nullptr) noexcept {
    ClaimsHandler handler(claims);
    const JsonFault fault = handler.parse(json, size, escaped_copy);
    if (fault != JsonFault::none) return json_fault_error(fault, true);
    return handler.error();
}

}  // namespace jwtguard::detail
