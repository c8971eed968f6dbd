// The JSON reader of the request path: a strict RFC 8259 SAX reader, in
// place, for the token's header and payload.
//
// Why not rapidjson's Reader, the project's JSON library (JWKS, tools, and
// the reference this reader is fuzzed against): on a realistic 330-byte
// claims set it spends as much as the token's whole HMAC, most of it in
// per-string and per-number bookkeeping a JWT never needs (numbers are
// converted even when delivered as text). This reader does only what the
// token needs and nothing else:
//   - a plain text (no backslash, no byte below 0x20: nearly every token's)
//     has its closing quotes indexed by one AVX2 pass, and read_plain_json
//     takes each string's end from that index (see below);
//   - other texts have their strings scanned 16 bytes at a time for '"',
//     '\\' or a control byte (JsonReader), and unescaped in place only when
//     they hold a backslash: that is the only write the reader makes.
//     Strings are delivered as pointer and length, not NUL-terminated as
//     rapidjson's in-situ Reader leaves them;
//   - numbers are checked against the grammar and delivered as their text
//     (the claims handler reads NumericDates exactly from it);
//   - events are rapidjson's SAX calls (`Key`, `String`, `RawNumber`,
//     `StartObject`, ...), so one handler serves every reader.
//
// Contract, checked by the differential fuzz target fuzz_json_reader: on any
// input without a raw control byte, this reader accepts exactly what
// rapidjson 1.1's Reader accepts with kParseInsituFlag |
// kParseNumbersAsStringsFlag, emits the same events in the same order with
// the same (unescaped) text, up to the same point when it refuses. So no
// parser differential opens between the token path and the rest of the
// project. Two rapidjson rules are reproduced on purpose:
//   - a number whose magnitude rapidjson cannot hold in a double is refused
//     (kParseErrorNumberTooBig). Only numbers with 300 or more integer
//     digits, or a positive exponent of 300 or more, can be; those rare
//     ones are handed to rapidjson itself, so the rule is its own, exactly;
//   - an escaped low surrogate without its high half is unescaped as is (the
//     caller refuses it before: see json_text_fault in json.hpp).
// One is not: a raw control byte inside a string is refused, where
// rapidjson's SIMD scan lets 0x1A-0x1F through (json.hpp refuses those
// before either reader runs).
//
// Recursion: one call per nesting level, bounded by the handler (json.hpp's
// handlers refuse depth > max_json_depth in StartObject/StartArray, before
// the reader descends).
//
// Input: `json` is NUL-terminated, holds no other NUL, and is followed by
// json_padding readable bytes (16-byte loads may reach up to 15 bytes past
// the NUL; the NUL stops every scan).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "jwtguard/config.hpp"  // JWTGUARD_RAPIDJSON_SIMD selects rapidjson's SIMD scanning

#include <rapidjson/reader.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if JWTGUARD_AVX2
#include <immintrin.h>
#endif

namespace jwtguard::detail {

/// Bytes a JSON reader may read past a document's terminating NUL.
inline constexpr std::size_t json_padding = 16;

/// The value of a hex digit, -1 for any other byte.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// True when the number at `text` (already checked against the grammar)
/// is one rapidjson refuses as too big for a double. Cold: only numbers of
/// 300 digits or exponents of 300 get here.
[[gnu::cold, gnu::noinline]] inline bool rapidjson_refuses_number(char* text) noexcept {
    // In place with numbers as strings, rapidjson neither writes nor
    // allocates while it reads a lone number; it stops after it.
    rapidjson::InsituStringStream stream(text);
    rapidjson::BaseReaderHandler<> ignore;
    rapidjson::Reader reader;
    constexpr unsigned flags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                               rapidjson::kParseStopWhenDoneFlag;
    (void)reader.Parse<flags>(stream, ignore);
    return reader.GetParseErrorCode() == rapidjson::kParseErrorNumberTooBig;
}

/// The first byte at or after `p` that is not a digit (the terminating NUL
/// is one), eight bytes per step: dates are ten digits.
[[nodiscard]] inline char* after_digits(char* p) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        for (;; p += 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);  // within the NUL's padding
            // A byte's high bit set unless it is '0'..'9': b ^ '0' is
            // below 10 exactly for digits, and b ^ '0' + 0x76 carries
            // into bit 7 from 10 up (bytes of 0x80 and more have it).
            const std::uint64_t x = word ^ 0x3030303030303030ull;
            const std::uint64_t not_digit =
                (((x & 0x7f7f7f7f7f7f7f7full) + 0x7676767676767676ull) | x) & 0x8080808080808080ull;
            if (not_digit != 0) return p + std::countr_zero(not_digit) / 8;
        }
    } else {
        while (*p >= '0' && *p <= '9')
            ++p;
        return p;
    }
}

/// The end of the JSON number that starts at `start` (RFC 8259's grammar:
/// the longest prefix of the text that is one), or nullptr when none
/// starts there or rapidjson would refuse it as too big (see the top of
/// this file). Reads up to the terminating NUL. Inlined: in validate() a
/// call per number cost more than the scan of a date.
[[nodiscard]] [[gnu::always_inline]] inline char* scan_json_number(char* start) noexcept {
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    char* p = start;
    if (*p == '-') ++p;
    const char* const integer = p;
    if (*p == '0') {
        ++p;
    } else if (*p >= '1' && *p <= '9') {
        p = after_digits(p + 1);
    } else {
        return nullptr;
    }
    bool maybe_too_big = p - integer >= 300;
    if (*p == '.') {
        if (!is_digit(*++p)) return nullptr;
        while (is_digit(*++p)) {
        }
    }
    if (*p == 'e' || *p == 'E') {
        ++p;
        bool negative = false;
        if (*p == '+' || *p == '-') negative = *p++ == '-';
        if (!is_digit(*p)) return nullptr;
        int exponent = 0;
        for (; is_digit(*p); ++p)
            exponent = exponent >= 300 ? 300 : exponent * 10 + (*p - '0');
        maybe_too_big |= !negative && exponent >= 300;
    }
    if (maybe_too_big && rapidjson_refuses_number(start)) return nullptr;
    return p;
}

/// True when the text at `p` starts with `word` (its N - 1 letters),
/// compared byte by byte: the NUL ends the document before any byte past
/// the padding could be read.
template <std::size_t N>
[[nodiscard]] bool json_literal_at(const char* p, const char (&word)[N]) noexcept {
    for (std::size_t i = 0; i + 1 < N; ++i)
        if (p[i] != word[i]) return false;
    return true;
}

/// Reads one JSON document in place and reports it to `Handler` (see the
/// top of this file).
template <class Handler>
class JsonReader {
  public:
    using SizeType = rapidjson::SizeType;

    JsonReader(char* json, Handler& handler, bool plain) noexcept
        : m_p(json), m_handler(handler), m_plain(plain) {}

    /// Reads the whole document; false on a syntax error or when the handler
    /// stopped. position() then says where reading ended.
    [[nodiscard]] bool parse() {
        skip_whitespace();
        if (*m_p == '\0') return false;
        if (!value()) return false;
        skip_whitespace();
        return *m_p == '\0';
    }

    /// Where reading ended: the terminating NUL after a document read whole.
    [[nodiscard]] const char* position() const noexcept { return m_p; }

  private:
    static constexpr bool is_whitespace(char c) noexcept {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }

    void skip_whitespace() noexcept {
        // One comparison in the usual case (tokens carry no whitespace):
        // every JSON whitespace byte is <= ' ', and so is the ending NUL.
        if (static_cast<unsigned char>(*m_p) > ' ') return;
        while (is_whitespace(*m_p))
            ++m_p;
    }

    bool value() {
        switch (*m_p) {
            case '"':
                return string_value();
            case '{':
                return object();
            case '[':
                return array();
            case 't':
                return literal("true") && m_handler.Bool(true);
            case 'f':
                return literal("false") && m_handler.Bool(false);
            case 'n':
                return literal("null") && m_handler.Null();
            default:
                return number();
        }
    }

    /// The string value at m_p (its quote), reported to the handler;
    /// inlined where strings are likely, so that they take no call.
    [[gnu::always_inline]] bool string_value() {
        char* text;
        SizeType size;
        return string(text, size) && m_handler.String(text, size, false);
    }

    template <std::size_t N>
    bool literal(const char (&word)[N]) noexcept {
        if (!json_literal_at(m_p, word)) return false;
        m_p += N - 1;
        return true;
    }

    bool object() {
        ++m_p;
        if (!m_handler.StartObject()) return false;
        skip_whitespace();
        if (*m_p == '}') {
            ++m_p;
            return m_handler.EndObject(0);
        }
        for (SizeType members = 1;; ++members) {
            if (*m_p != '"') return false;
            char* name;
            SizeType size;
            if (!string(name, size) || !m_handler.Key(name, size, false)) return false;
            // Tokens hold no whitespace: ':' then the value's first byte,
            // tested as one pair before any whitespace is looked for.
            if (m_p[0] == ':' && m_p[1] > ' ') {
                ++m_p;
            } else {
                skip_whitespace();
                if (*m_p != ':') return false;
                ++m_p;
                skip_whitespace();
            }
            // Most member values are strings: no call for them.
            if (!(*m_p == '"' ? string_value() : value())) return false;
            if (m_p[0] == ',' && m_p[1] > ' ') {  // the next member, as above
                ++m_p;
                continue;
            }
            skip_whitespace();
            if (*m_p == ',') {
                ++m_p;
                skip_whitespace();
            } else if (*m_p == '}') {
                ++m_p;
                return m_handler.EndObject(members);
            } else {
                return false;
            }
        }
    }

    bool array() {
        ++m_p;
        if (!m_handler.StartArray()) return false;
        skip_whitespace();
        if (*m_p == ']') {
            ++m_p;
            return m_handler.EndArray(0);
        }
        for (SizeType elements = 1;; ++elements) {
            // Arrays in tokens hold strings (aud, roles, scopes): no call.
            if (!(*m_p == '"' ? string_value() : value())) return false;
            if (m_p[0] == ',' && m_p[1] > ' ') {  // the next element, as in object()
                ++m_p;
                continue;
            }
            skip_whitespace();
            if (*m_p == ',') {
                ++m_p;
                skip_whitespace();
            } else if (*m_p == ']') {
                ++m_p;
                return m_handler.EndArray(elements);
            } else {
                return false;
            }
        }
    }

    /// The first byte at or after `p` that is '"' or the terminating NUL, in
    /// a plain text (read_json), where no other byte ends a string.
    static char* find_quote(char* p) noexcept {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        for (;; p += 16) {
            const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(block, quote),
                                                 _mm_cmpeq_epi8(block, _mm_setzero_si128()));
            if (const int mask = _mm_movemask_epi8(special); mask != 0)
                return p + std::countr_zero(static_cast<unsigned>(mask));
        }
#else
        while (*p != '"' && *p != '\0')
            ++p;
        return p;
#endif
    }

    /// The first byte at or after `p` that is '"', '\\' or below 0x20 (the
    /// terminating NUL is one).
    static char* find_special(char* p) noexcept {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i backslash = _mm_set1_epi8('\\');
        const __m128i control_max = _mm_set1_epi8(0x1f);
        for (;; p += 16) {
            const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            const __m128i special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)),
                _mm_cmpeq_epi8(_mm_max_epu8(block, control_max), control_max));
            if (const int mask = _mm_movemask_epi8(special); mask != 0)
                return p + std::countr_zero(static_cast<unsigned>(mask));
        }
#else
        while (*p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20)
            ++p;
        return p;
#endif
    }

    /// The four hex digits at `p` as a number, -1 if one is not a digit.
    static int hex4(const char* p) noexcept {
        int code = 0;
        for (int i = 0; i < 4; ++i) {
            const int v = hex_value(p[i]);  // -1 for the NUL too: no read past it
            if (v < 0) return -1;
            code = code << 4 | v;
        }
        return code;
    }

    static char* put_utf8(char* out, unsigned code) noexcept {
        if (code < 0x80) {
            *out++ = static_cast<char>(code);
        } else if (code < 0x800) {
            *out++ = static_cast<char>(0xc0 | code >> 6);
            *out++ = static_cast<char>(0x80 | (code & 0x3f));
        } else if (code < 0x10000) {
            *out++ = static_cast<char>(0xe0 | code >> 12);
            *out++ = static_cast<char>(0x80 | (code >> 6 & 0x3f));
            *out++ = static_cast<char>(0x80 | (code & 0x3f));
        } else {
            *out++ = static_cast<char>(0xf0 | code >> 18);
            *out++ = static_cast<char>(0x80 | (code >> 12 & 0x3f));
            *out++ = static_cast<char>(0x80 | (code >> 6 & 0x3f));
            *out++ = static_cast<char>(0x80 | (code & 0x3f));
        }
        return out;
    }

    /// The string at m_p (its opening quote), unescaped in place (the only
    /// write the reader makes: a text without a backslash is left as it
    /// was); m_p moves past the closing quote.
    bool string(char*& text, SizeType& size) noexcept {
        char* const start = m_p + 1;
        char* p = m_plain ? find_quote(start) : find_special(start);
        if (*p == '"') return finish_string(start, p, p, text, size);
        if (*p != '\\') return false;  // a control byte, or the end
        // Escapes: from here on the text moves left as it is unescaped
        // (every escape is longer than what it stands for).
        char* out = p;
        for (;;) {
            const char c = *p;
            if (c == '"') return finish_string(start, out, p, text, size);
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                *out++ = c;
                ++p;
                continue;
            }
            switch (p[1]) {
                case '"':
                case '\\':
                case '/':
                    *out++ = p[1];
                    break;
                case 'b':
                    *out++ = '\b';
                    break;
                case 'f':
                    *out++ = '\f';
                    break;
                case 'n':
                    *out++ = '\n';
                    break;
                case 'r':
                    *out++ = '\r';
                    break;
                case 't':
                    *out++ = '\t';
                    break;
                case 'u': {
                    int code = hex4(p + 2);
                    if (code < 0) return false;
                    if (code >= 0xd800 && code <= 0xdbff) {
                        // A high surrogate must be followed by its low half.
                        if (p[6] != '\\' || p[7] != 'u') return false;
                        const int low = hex4(p + 8);
                        if (low < 0xdc00 || low > 0xdfff) return false;
                        code = ((code - 0xd800) << 10 | (low - 0xdc00)) + 0x10000;
                        p += 6;
                    }
                    out = put_utf8(out, static_cast<unsigned>(code));
                    p += 6;
                    continue;
                }
                default:
                    return false;
            }
            p += 2;
        }
    }

    bool finish_string(char* start, char* out, char* quote, char*& text, SizeType& size) noexcept {
        text = start;
        size = static_cast<SizeType>(out - start);
        m_p = quote + 1;
        return true;
    }

    bool number() {
        char* const start = m_p;
        char* const end = scan_json_number(start);
        if (end == nullptr) return false;
        m_p = end;
        return m_handler.RawNumber(start, static_cast<SizeType>(end - start), false);
    }

    char* m_p;
    Handler& m_handler;
    const bool m_plain;  // see read_json
};

#if JWTGUARD_AVX2
// --- Plain texts: every string ended by a quote index -----------------------
//
// In a plain text (no backslash, no byte below 0x20: nearly every token's)
// every quote opens or closes a string. One AVX2 pass, the one that finds
// whether the text is plain (and ASCII), also records where its strings
// close; read_plain_json then takes each string's end from that index (two
// bit operations) instead of scanning for it, and needs no escape
// handling. It is the JsonReader walk otherwise: the same events, in the
// same order, refused at the same event, at the same byte, except that it
// refuses nesting deeper than max_json_depth (fuzz_json_reader checks it
// against rapidjson as it checks JsonReader). It is one function
// with its own stack of open arrays and objects instead of a call per
// level, so that the walk's state stays in registers.

/// The longest text read_plain_json takes (its index lives on the stack:
/// one bit per byte, 1 KiB); longer ones are read by JsonReader.
inline constexpr std::size_t plain_json_max = 8192;

/// One bit per byte of a text, one for its terminating NUL, and a guard.
/// (On the stack: quote_bits writes every word a walk reads.)
using QuoteBits = std::uint64_t[plain_json_max / 64 + 2];

/// What quote_bits found in the text.
enum class QuoteScan : std::uint8_t {
    ascii,      // plain, every byte below 0x80
    non_ascii,  // plain, but the UTF-8 is still to be checked
    not_plain,  // a backslash or a byte below 0x20
};

// GCC and Clang: a lambda always inlined, so that what it captures stays in
// registers.
#define JWTGUARD_LAMBDA_INLINE __attribute__((always_inline))

/// Bit i set when an odd number of the bits 0..i of `x` are.
[[gnu::target("pclmul")]] [[gnu::always_inline]] inline std::uint64_t prefix_xor(
    std::uint64_t x) noexcept {
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(
        _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(x)), _mm_set1_epi8(-1), 0)));
}

/// Of the quotes of 64 bytes, those that close a string: those outside
/// the string their opening one starts. Inside = the prefix XOR of the
/// quotes (set from an opening quote up to, not including, its closing
/// one); `inside` says, before and after, whether a string spans the
/// border to the next 64 bytes (all ones) or not (0).
[[gnu::target("pclmul")]] [[gnu::always_inline]] inline std::uint64_t closing_quotes(
    std::uint64_t& inside, std::uint64_t quote) noexcept {
    const std::uint64_t in_string = prefix_xor(quote) ^ inside;
    inside = static_cast<std::uint64_t>(static_cast<std::int64_t>(in_string) >> 63);
    return quote & ~in_string;
}

/// quote_bits for 64 bytes at `p`: their quotes' bits; or's into `refused`
/// 0xff for each byte that is a backslash or below 0x20, and into `high`
/// every byte (its high bit: not ASCII).
[[gnu::target("avx2")]] [[gnu::always_inline]] inline std::uint64_t quote_block(
    const char* p, __m256i& refused, __m256i& high) noexcept {
    const __m256i control_max = _mm256_set1_epi8(0x1f);
    std::uint64_t quote = 0;
    for (int half = 0; half < 2; ++half) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * half));
        // 0xff for a byte <= 0x1f (unsigned: max(b, 0x1f) == 0x1f).
        const __m256i control = _mm256_cmpeq_epi8(_mm256_max_epu8(b, control_max), control_max);
        refused = _mm256_or_si256(
            refused, _mm256_or_si256(control, _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\\'))));
        high = _mm256_or_si256(high, b);
        quote |= std::uint64_t{static_cast<std::uint32_t>(
                     _mm256_movemask_epi8(_mm256_cmpeq_epi8(b, _mm256_set1_epi8('"'))))}
                 << (32 * half);
    }
    return quote;
}

/// The closing quotes of `json` (`size` <= plain_json_max bytes, then its
/// NUL): sets in `bits` the bit of each quote that closes a string, and of
/// the NUL, at `size`, and all the
/// bits of the word after it (a guard: a cursor that has taken the NUL's
/// bit stops there). Says whether the text is plain: if not, the bits are
/// meaningless.
[[gnu::target("avx2,pclmul")]] [[nodiscard]] inline QuoteScan quote_bits(const char* json,
                                                                         std::size_t size,
                                                                         QuoteBits& bits) noexcept {
    __m256i refused = _mm256_setzero_si256(), high = _mm256_setzero_si256();
    std::uint64_t inside = 0;  // all ones while a string spans the blocks' border
    std::size_t i = 0;
    for (; i + 64 <= size; i += 64)
        bits[i / 64] = closing_quotes(inside, quote_block(json + i, refused, high));
    if (i < size) {
        if (size >= 64) {
            // The 64 bytes that end the text, shifted down to start at i:
            // no copy, whose narrow stores would stall the wide loads.
            bits[i / 64] = closing_quotes(
                inside, quote_block(json + size - 64, refused, high) >> (64 - (size - i)));
        } else {
            alignas(32) char copy[64];
            std::memset(copy, ' ', sizeof copy);  // plain, and no quote
            std::memcpy(copy, json, size);
            bits[0] = closing_quotes(inside, quote_block(copy, refused, high));
        }
    }
    if (size % 64 == 0) bits[size / 64] = 0;
    bits[size / 64] |= std::uint64_t{1} << (size % 64);
    bits[size / 64 + 1] = ~std::uint64_t{0};
    if (!_mm256_testz_si256(refused, refused)) return QuoteScan::not_plain;
    return _mm256_movemask_epi8(high) == 0 ? QuoteScan::ascii : QuoteScan::non_ascii;
}

/// Two bytes as the integer they make in memory (loaded with memcpy).
[[nodiscard]] constexpr std::uint16_t byte_pair(char first, char second) noexcept {
    const auto a = static_cast<unsigned char>(first), b = static_cast<unsigned char>(second);
    return static_cast<std::uint16_t>(std::endian::native == std::endian::little ? a | b << 8
                                                                                 : a << 8 | b);
}

/// Where a walk stands among a text's closing quotes (quote_bits): their
/// positions in order. A value the walk keeps in registers (every call
/// inlined).
class QuoteCursor {
  public:
    explicit QuoteCursor(const QuoteBits& bits) noexcept : m_at(bits), m_word(bits[0]) {}

    /// The next closing quote's position, or the NUL's after the last one.
    [[gnu::always_inline]] std::size_t next() noexcept {
        while (m_word == 0) {  // ends at the NUL's bit, or at the guard past it
            m_word = *++m_at;
            m_base += 64;
        }
        const std::size_t at = m_base + static_cast<std::size_t>(std::countr_zero(m_word));
        m_word &= m_word - 1;
        return at;
    }

  private:
    const std::uint64_t* m_at;  // the word being walked
    std::uint64_t m_word;       // its quotes not yet taken
    std::size_t m_base = 0;     // the position of its bit 0
};

/// Reads a plain text (see above) indexed by quote_bits in place into
/// `handler`, as read_json does: the number of bytes read when the whole
/// document was read, else -1. Never writes (a plain text has nothing to
/// unescape). Refuses nesting deeper than max_json_depth, where every
/// handler of this project has already refused.
///
/// The closing quotes are taken in order, one per string the walk meets:
/// the walk passes no byte without looking at it (spaces, separators,
/// numbers and literals hold no quote), and a string is read from its
/// opening quote to the next quote, so the cursor's next closing quote is
/// always the one of the string at hand.
template <class Handler>
[[nodiscard]] std::ptrdiff_t read_plain_json(char* json, const QuoteBits& bits, Handler& handler) {
    using SizeType = rapidjson::SizeType;
    QuoteCursor quotes(bits);
    char* p = json;
    // The string at p (its opening quote) as a member's name or a value.
    auto string = [&](bool name) JWTGUARD_LAMBDA_INLINE {
        char* const end = json + quotes.next();
        if (*end != '"') return false;  // the NUL: not terminated
        char* const text = p + 1;
        const auto size = static_cast<SizeType>(end - text);
        p = end + 1;
        return name ? handler.Key(text, size, false) : handler.String(text, size, false);
    };
    // The two bytes at a position as one integer (p[1] is readable: the
    // NUL and its padding follow the last byte).
    auto byte_pair_at = [](const char* at) JWTGUARD_LAMBDA_INLINE {
        std::uint16_t pair;
        std::memcpy(&pair, at, 2);
        return pair;
    };
    // A plain text's only whitespace is the space; tokens hold none, so
    // this is one comparison.
    auto skip_spaces = [&]() JWTGUARD_LAMBDA_INLINE {
        while (*p == ' ')
            ++p;
    };

    // After a member or an element: true past a ',' and the spaces after
    // it (the next one is at p), false at the first other byte that is not
    // a space. Tokens hold no whitespace: ',' then a byte above ' ' is
    // tested as one pair before any space is looked for.
    auto separator = [&]() JWTGUARD_LAMBDA_INLINE {
        if (p[0] == ',' && p[1] > ' ') {
            ++p;
            return true;
        }
        skip_spaces();
        if (*p != ',') return false;
        ++p;
        skip_spaces();
        return true;
    };

    bool in_array[max_json_depth + 1];
    SizeType count[max_json_depth + 1];
    int depth = 0;
    // After the Start event of the '{' or '[' at p: its End event if it is
    // empty, else a level opened for its first member or element, at p
    // (`depth_opened`). False where the walk refuses.
    bool depth_opened = false;
    auto open_level = [&](bool array) JWTGUARD_LAMBDA_INLINE {
        ++p;
        skip_spaces();
        depth_opened = *p != (array ? ']' : '}');
        if (!depth_opened) {
            ++p;
            return array ? handler.EndArray(0) : handler.EndObject(0);
        }
        if (depth == max_json_depth) return false;
        ++depth;
        in_array[depth] = array;
        count[depth] = 1;
        return true;
    };
    skip_spaces();
    if (*p == '\0') return -1;

value:  // the value at p
    switch (*p) {
        case '"':
            if (!string(false)) return -1;
            goto after_value;
        case '{':
            if (!handler.StartObject() || !open_level(false)) return -1;
            if (depth_opened) goto member;
            goto after_value;
        case '[':
            if (!handler.StartArray() || !open_level(true)) return -1;
            if (depth_opened) goto element;
            goto after_value;
        case 't':
            if (!json_literal_at(p, "true")) return -1;
            p += 4;
            if (!handler.Bool(true)) return -1;
            goto after_value;
        case 'f':
            if (!json_literal_at(p, "false")) return -1;
            p += 5;
            if (!handler.Bool(false)) return -1;
            goto after_value;
        case 'n':
            if (!json_literal_at(p, "null")) return -1;
            p += 4;
            if (!handler.Null()) return -1;
            goto after_value;
        default: {
            char* const start = p;
            char* const end = scan_json_number(start);
            if (end == nullptr) return -1;
            p = end;
            if (!handler.RawNumber(start, static_cast<SizeType>(end - start), false)) return -1;
            goto after_value;
        }
    }

member:  // the member whose name should be at p
    if (*p != '"') return -1;
member_name:  // the same, p at its opening quote
    if (!string(true)) return -1;
    // Most member values are strings, and tokens hold no whitespace: the
    // two bytes after a name are most often ':' and a quote, one compare.
    if (byte_pair_at(p) == byte_pair(':', '"')) {
        ++p;
        if (!string(false)) return -1;
        goto after_member;
    }
    if (p[0] == ':' && p[1] > ' ') {
        ++p;
    } else {
        skip_spaces();
        if (*p != ':') return -1;
        ++p;
        skip_spaces();
    }
    if (*p != '"') goto value;
    if (!string(false)) return -1;
after_member:  // a member's value ended at p, in the object open at `depth`
    // Most often a ',' and the next name's quote.
    if (byte_pair_at(p) == byte_pair(',', '"')) {
        ++p;
        ++count[depth];
        goto member_name;
    }
    if (separator()) {
        ++count[depth];
        goto member;
    }
    if (*p != '}' || !handler.EndObject(count[depth])) return -1;
    ++p;
    --depth;
    goto after_value;

element:  // an array's element at p: in tokens, most are strings
    if (*p != '"') goto value;
element_string:  // the same, p at its opening quote
    if (!string(false)) return -1;
after_element:  // an element ended at p, in the array open at `depth`
    if (byte_pair_at(p) == byte_pair(',', '"')) {
        ++p;
        ++count[depth];
        goto element_string;
    }
    if (separator()) {
        ++count[depth];
        goto element;
    }
    if (*p != ']' || !handler.EndArray(count[depth])) return -1;
    ++p;
    --depth;
    // Then as after any value.

after_value:  // a value read by `value` (or an array or object) ended at p
    if (depth == 0) {
        skip_spaces();
        return *p == '\0' ? p - json : -1;
    }
    if (in_array[depth]) goto after_element;
    goto after_member;
}
#endif  // JWTGUARD_AVX2

/// Reads `json` (see the top of this file) into `handler`; returns the
/// number of bytes read when the whole document was read, else -1. `plain`
/// says the caller checked that the text holds no backslash and no byte
/// below 0x20 (json_text_fault): a string then ends at its first quote, and
/// only '"' and the NUL are looked for (half the work per 16 bytes).
template <class Handler>
[[nodiscard]] std::ptrdiff_t read_json(char* json, Handler& handler, bool plain = false) {
    JsonReader<Handler> reader(json, handler, plain);
    if (!reader.parse()) return -1;
    return reader.position() - json;
}

}  // namespace jwtguard::detail
