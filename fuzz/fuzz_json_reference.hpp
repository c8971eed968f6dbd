// Reference verdicts for the header and payload SAX handlers, read from
// rapidjson's DOM instead: the structure rules of DESIGN.md (strict JSON, an
// object, depth, member count, unique top-level names, no lone surrogate)
// applied in document order, and NumericDates read exactly from the
// number's text with string arithmetic.
#pragma once

#include "fuzz_support.hpp"  // first: rapidjson built as the library builds it

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "jwtguard/config.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/json.hpp"

namespace fuzz {

using jwtguard::detail::JsonFault;

/// One document parsed twice: with typed values, and with numbers kept as
/// their text (the DOM has no node that holds both).
struct Dom {
    rapidjson::Document typed;
    rapidjson::Document text;
    bool ok = false;
};

/// Parses `json` into `doc` with rapidjson's own encoding check (not the
/// library's, which is under test); false if it is not strict JSON.
template <unsigned extra_flags = 0>
bool parse_reference(std::string_view json, rapidjson::Document& doc) {
    // NUL-terminated, through rapidjson's plain string stream: the
    // length-taking Parse would skip UTF-8 BOM bytes at the start. Padded:
    // the SIMD scanning reads whole 16-byte blocks, and the encoding check
    // up to three bytes past the end of a truncated sequence.
    jwtguard::detail::JsonBuffer copy(json);
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag | extra_flags>(
        copy.data());
    // The stream reads a NUL byte as the end of input; JSON allows none
    // outside strings and none raw inside them.
    return !doc.HasParseError() && json.find('\0') == std::string_view::npos;
}

inline void parse_dom(std::string_view json, Dom& dom) {
    dom.ok = parse_reference(json, dom.typed) &&
             parse_reference<rapidjson::kParseNumbersAsStringsFlag>(json, dom.text);
}

inline std::string_view string_of(const rapidjson::Value& v) {
    return {v.GetString(), v.GetStringLength()};
}

/// True if a string anywhere (names included) holds a UTF-16 surrogate,
/// which only an unpaired \u escape can put there (UTF-8 input with one is
/// refused by the encoding check).
inline bool has_surrogate(const rapidjson::Value& v) {
    auto holds = [](std::string_view s) {
        for (std::size_t i = 0; i + 1 < s.size(); ++i)
            if (static_cast<unsigned char>(s[i]) == 0xed &&
                static_cast<unsigned char>(s[i + 1]) >= 0xa0)
                return true;
        return false;
    };
    if (v.IsString()) return holds(string_of(v));
    if (v.IsArray()) {
        for (const auto& e : v.GetArray())
            if (has_surrogate(e)) return true;
    }
    if (v.IsObject()) {
        for (const auto& m : v.GetObject())
            if (holds(string_of(m.name)) || has_surrogate(m.value)) return true;
    }
    return false;
}

/// The first fault of the members of `v` (at nesting `level`, the root
/// being 1) and below, in the order a streaming reader meets them: a
/// container deeper than the limit when it opens, then for each member the
/// count over the whole document (`count`), a duplicate name in its object,
/// and its value.
inline JsonFault walk_fault(const rapidjson::Value& v, int level, std::size_t& count) {
    if (!v.IsArray() && !v.IsObject()) return JsonFault::none;
    if (level > jwtguard::max_json_depth) return JsonFault::too_deep;
    if (v.IsArray()) {
        for (const auto& e : v.GetArray())
            if (const JsonFault f = walk_fault(e, level + 1, count); f != JsonFault::none) return f;
        return JsonFault::none;
    }
    std::set<std::string, std::less<>> names;
    for (const auto& m : v.GetObject()) {
        if (++count > jwtguard::max_members) return JsonFault::too_many_members;
        if (!names.emplace(string_of(m.name)).second) return JsonFault::duplicate_member;
        if (const JsonFault f = walk_fault(m.value, level + 1, count); f != JsonFault::none)
            return f;
    }
    return JsonFault::none;
}

/// The first structural fault of a document the DOM accepted, in the order
/// a streaming reader meets them.
inline JsonFault reference_fault(const rapidjson::Value& root) {
    if (has_surrogate(root)) return JsonFault::invalid_utf8;
    if (!root.IsObject()) return JsonFault::not_object;
    std::size_t count = 0;
    return walk_fault(root, 1, count);
}

/// True if `e` is the error of some structural fault (header or payload).
inline bool is_structural(jwtguard::Error e, bool payload) {
    for (const auto f :
         {JsonFault::syntax, JsonFault::not_object, JsonFault::invalid_utf8, JsonFault::too_deep,
          JsonFault::too_many_members, JsonFault::duplicate_member})
        if (e == jwtguard::detail::json_fault_error(f, payload)) return true;
    return false;
}

/// Parses `json` into `dom` and checks the structural verdict `got` the
/// library gave it (`payload`: as a payload, else as a header). True when
/// the reference finds the structure sound, so that the caller goes on to
/// compare members; `got` is then still to be checked.
inline bool structure_agrees(std::string_view json, jwtguard::Error got, bool payload, Dom& dom) {
    parse_dom(json, dom);
    if (!dom.ok) {
        FUZZ_CHECK(is_structural(got, payload));
        return false;
    }
    if (const JsonFault fault = reference_fault(dom.typed); fault != JsonFault::none) {
        FUZZ_CHECK(got == jwtguard::detail::json_fault_error(fault, payload));
        return false;
    }
    return true;
}

struct Date {
    std::int64_t seconds;
    /// The first 19 digits of the fraction, and whether a non-zero digit
    /// follows them (claims.hpp, DateFraction).
    std::uint64_t fraction_digits;
    bool fraction_more;
};

/// A NumericDate from a JSON number's text, exactly: rounded up to whole
/// seconds, with its fraction; nullopt outside [0, 2^53] (negative zero is
/// zero).
inline std::optional<Date> reference_date(std::string_view text) {
    std::size_t i = 0;
    const bool negative = i < text.size() && text[i] == '-';
    if (negative) ++i;
    auto digit = [&] { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
    std::string digits;      // every mantissa digit
    std::int64_t point = 0;  // how many of them stand before the decimal point
    for (; digit(); ++i, ++point)
        digits += text[i];
    if (i < text.size() && text[i] == '.')
        for (++i; digit(); ++i)
            digits += text[i];
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        const bool down = i < text.size() && text[i] == '-';
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
        std::int64_t exponent = 0;
        for (; digit(); ++i)
            exponent = std::min<std::int64_t>(exponent * 10 + (text[i] - '0'), 1'000'000'000'000);
        point += down ? -exponent : exponent;
    }
    const std::size_t lead = digits.find_first_not_of('0');
    if (lead == std::string::npos) return Date{0, 0, false};
    digits.erase(0, lead);
    point -= static_cast<std::int64_t>(lead);
    if (negative || point > 16) return std::nullopt;  // 10^16 > 2^53
    std::uint64_t integer = 0;
    for (std::int64_t k = 0; k < point; ++k)
        integer = integer * 10 + (k < static_cast<std::int64_t>(digits.size())
                                      ? static_cast<std::uint64_t>(digits[k] - '0')
                                      : 0);
    // The fraction's digits as a string: zeros for a point before the
    // mantissa, then the mantissa's digits after the point.
    std::string fraction;
    if (point < 0) {
        fraction.assign(static_cast<std::size_t>(std::min<std::int64_t>(-point, 40)), '0');
        fraction += digits;
    } else if (point < static_cast<std::int64_t>(digits.size())) {
        fraction = digits.substr(static_cast<std::size_t>(point));
    }
    const bool nonzero = fraction.find_first_not_of('0') != std::string::npos;
    std::uint64_t first = 0;
    for (std::size_t k = 0; k < 19; ++k)
        first =
            first * 10 + (k < fraction.size() ? static_cast<std::uint64_t>(fraction[k] - '0') : 0);
    const bool more =
        fraction.size() > 19 && fraction.find_first_not_of('0', 19) != std::string::npos;
    constexpr std::uint64_t max_date = std::uint64_t{1} << 53;
    if (!nonzero)
        return integer <= max_date
                   ? std::optional<Date>(Date{static_cast<std::int64_t>(integer), 0, false})
                   : std::nullopt;
    return integer < max_date
               ? std::optional<Date>(Date{static_cast<std::int64_t>(integer + 1), first, more})
               : std::nullopt;
}

}  // namespace fuzz
