// The request path's JSON reader: events, strings and escapes, numbers,
// whitespace, refusals, and a handler that stops. (fuzz_json_reader checks
// it against rapidjson's Reader on arbitrary input.)
#include <jwtguard/json.hpp>
#include <jwtguard/json_reader.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace jwtguard::detail {
namespace {

using rapidjson::SizeType;

/// Concatenation (g++ 12 warns falsely on chains of operator+ here).
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const std::string_view p : parts)
        out += p;
    return out;
}

/// Records events as a readable string: kinds, and text between '|'.
struct Recorder {
    using Ch = char;
    std::string events;
    std::size_t count = 0;
    std::size_t stop_at = 0;  // refuse this event (from 1); 0: none

    bool put(std::string_view kind, std::string_view text = {}) {
        events += kind;
        if (!text.empty() || kind == "s" || kind == "k") (events += '|').append(text) += '|';
        events += ' ';
        return ++count != stop_at;
    }
    bool Null() { return put("null"); }
    bool Bool(bool b) { return put(b ? "true" : "false"); }
    bool RawNumber(const Ch* s, SizeType n, bool) { return put("#", {s, n}); }
    bool String(const Ch* s, SizeType n, bool) { return put("s", {s, n}); }
    bool Key(const Ch* s, SizeType n, bool) { return put("k", {s, n}); }
    bool StartObject() { return put("{"); }
    bool EndObject(SizeType n) { return put(cat({"}", std::to_string(n)})); }
    bool StartArray() { return put("["); }
    bool EndArray(SizeType n) { return put(cat({"]", std::to_string(n)})); }
};

struct Read {
    std::ptrdiff_t result;
    std::string events;
};

Read read_as(std::string_view json, bool plain, std::size_t stop_at = 0) {
    JsonBuffer buffer(json);
    Recorder recorder;
    recorder.stop_at = stop_at;
    const std::ptrdiff_t result = read_json(buffer.data(), recorder, plain);
    return {result, recorder.events};
}

/// A text without a backslash or a byte below 0x20 (json_text_fault's
/// `plain`), which the reader may also read looking only for quotes.
bool is_plain(std::string_view json) {
    for (const char c : json)
        if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
    return true;
}

#if JWTGUARD_AVX2
/// Whether read_plain_json can read `json` on this machine.
bool indexable(std::string_view json) {
    return is_plain(json) && json.size() <= plain_json_max && cpu_has_avx2_pclmul();
}

/// `json` read by read_plain_json over its quote index (json.hpp's path for
/// nearly every token).
Read read_indexed(std::string_view json, std::size_t stop_at = 0) {
    JsonBuffer buffer(json);
    QuoteBits quotes;
    EXPECT_NE(quote_bits(buffer.data(), json.size(), quotes), QuoteScan::not_plain) << json;
    Recorder recorder;
    recorder.stop_at = stop_at;
    const std::ptrdiff_t result = read_plain_json(buffer.data(), quotes, recorder);
    return {result, recorder.events};
}
#endif

/// Every text read every way allowed for it: the same events, the same
/// verdict, at the same place.
Read read(std::string_view json, std::size_t stop_at = 0) {
    const Read general = read_as(json, false, stop_at);
    if (is_plain(json)) {
        const Read plain = read_as(json, true, stop_at);
        EXPECT_EQ(plain.result, general.result) << json;
        EXPECT_EQ(plain.events, general.events) << json;
    }
#if JWTGUARD_AVX2
    if (indexable(json)) {
        const Read indexed = read_indexed(json, stop_at);
        EXPECT_EQ(indexed.result, general.result) << json;
        EXPECT_EQ(indexed.events, general.events) << json;
    }
#endif
    return general;
}

bool accepts(std::string_view json) {
    return read(json).result == static_cast<std::ptrdiff_t>(json.size());
}

TEST(JsonReader, ReportsEveryKindOfValueInOrder) {
    const Read r = read(R"({"a":"x","b":[1,-2.5e+3,true,false,null],"c":{},"d":[]})");
    EXPECT_EQ(r.events,
              "{ k|a| s|x| k|b| [ #|1| #|-2.5e+3| true false null ]5 k|c| { }0 k|d| [ ]0 }4 ");
}

TEST(JsonReader, ReturnsTheBytesRead) {
    EXPECT_EQ(read(" {} ").result, 4);
    EXPECT_EQ(read("{}").result, 2);
}

TEST(JsonReader, UnescapesInPlace) {
    EXPECT_EQ(read(R"(["\"\\\/\b\f\n\r\t"])").events, "[ s|\"\\/\b\f\n\r\t| ]1 ");
    EXPECT_EQ(read(R"(["\u0041\u00e9\u20ac"])").events, "[ s|A\xc3\xa9\xe2\x82\xac| ]1 ");
    // A surrogate pair is one 4-byte character; upper-case hex too.
    EXPECT_EQ(read(R"(["\uD83D\uDE00!"])").events, "[ s|\xf0\x9f\x98\x80!| ]1 ");
    // U+0000 is a byte of the string, which is length-aware.
    const Read nul = read(R"(["a\u0000b"])");
    EXPECT_EQ(nul.events, std::string("[ s|a\0b| ]1 ", 12));
    // Escapes in names, and text after an escape.
    EXPECT_EQ(read(R"({"k\u0031ey":"v"})").events, "{ k|k1ey| s|v| }1 ");
}

TEST(JsonReader, RefusesBadEscapes) {
    for (std::string_view bad : {R"(["\x"])", R"(["\u12"])", R"(["\u12G4"])", R"(["\U0041"])",
                                 R"(["\'"])", R"(["\)", R"(["\uD800"])", R"(["\uD800x"])",
                                 R"(["\uD800\n"])", R"(["\uD800\u0041"])", R"(["\uDBFF\uE000"])"})
        EXPECT_LT(read(bad).result, 0) << bad;
    // A lone low surrogate is unescaped as rapidjson does (json.hpp refuses
    // it before the reader runs).
    EXPECT_EQ(read(R"(["\uDC00"])").events, "[ s|\xed\xb0\x80| ]1 ");
}

TEST(JsonReader, FindsTheEndOfStringsOfEveryLength) {
    // The quote, a backslash or a refused byte at every position of the
    // first three 16-byte blocks.
    for (std::size_t n = 0; n < 48; ++n) {
        const std::string text(n, 'a');
        EXPECT_EQ(read(cat({"[\"", text, "\"]"})).events, cat({"[ s|", text, "| ]1 "})) << n;
        EXPECT_EQ(read(cat({"[\"", text, "\\n\"]"})).events, cat({"[ s|", text, "\n| ]1 "})) << n;
        EXPECT_LT(read(cat({"[\"", text, "\x1f\"]"})).result, 0) << n;
        EXPECT_LT(read(cat({"[\"", text})).result, 0) << n;
    }
}

TEST(JsonReader, PlainTextsEndStringsAtTheirQuoteOrTheEnd) {
    // (FindsTheEndOfStringsOfEveryLength reads its plain texts both ways.)
    // An unterminated string is stopped by the NUL at every position of the
    // first three 16-byte blocks, not by a quote in the bytes after it.
    for (std::size_t n = 0; n < 48; ++n) {
        const std::string text(n, 'a');
        JsonBuffer buffer(cat({"[\"", text}));
        // Past the NUL, bytes that would close the string and the array.
        buffer.data()[buffer.size() + 1] = '"';
        buffer.data()[buffer.size() + 2] = ']';
        Recorder recorder;
        EXPECT_LT(read_json(buffer.data(), recorder, true), 0) << n;
    }
}

TEST(JsonReader, RefusesRawControlBytesInStrings) {
    // Including 0x1A-0x1F, which rapidjson's SIMD scanning lets through.
    for (int c = 1; c < 0x20; ++c) {
        std::string json = "[\"a";
        json += static_cast<char>(c);
        json += "b\"]";
        EXPECT_LT(read(json).result, 0) << c;
    }
    // Bytes >= 0x80 are copied (UTF-8 is checked before the reader runs).
    EXPECT_EQ(read("[\"\xc3\xa9\"]").events, "[ s|\xc3\xa9| ]1 ");
}

TEST(JsonReader, NumbersFollowTheGrammar) {
    for (std::string_view good : {"0", "-0", "1", "-1", "10", "1.5", "0.25", "1e5", "1E5", "1e+5",
                                  "1e-5", "-0.0e-0", "123456789012345678901234567890"})
        EXPECT_EQ(read(cat({"[", good, "]"})).events, cat({"[ #|", good, "| ]1 "})) << good;
    for (std::string_view bad : {"-", "+1", ".5", "1.", "1.e5", "1e", "1e+", "-a", "0x1", "NaN",
                                 "Infinity", "-Infinity", "--1"})
        EXPECT_LT(read(cat({"[", bad, "]"})).result, 0) << bad;
    // A leading zero ends the number: "01" is 0 followed by a stray digit.
    const Read leading_zero = read("[01]");
    EXPECT_LT(leading_zero.result, 0);
    EXPECT_EQ(leading_zero.events, "[ #|0| ");
}

TEST(JsonReader, FindsTheEndOfIntegersOfEveryLengthBeforeEveryByte) {
    // The integer part is scanned eight bytes per step: a run of 1-24
    // digits, then every byte value, as the byte-by-byte grammar reads it.
    for (std::size_t n = 1; n <= 24; ++n) {
        std::string digits;
        for (std::size_t i = 0; i < n; ++i)
            digits += static_cast<char>('1' + i % 9);
        for (int c = 1; c < 256; ++c) {
            const std::string json = cat({"[", digits, std::string(1, static_cast<char>(c)), "]"});
            const Read r = read(json);
            if (c >= '0' && c <= '9') {  // one number, one digit longer
                EXPECT_EQ(r.events,
                          cat({"[ #|", digits, std::string(1, static_cast<char>(c)), "| ]1 "}))
                    << n << " " << c;
            } else if (c == '.' || c == 'e' || c == 'E') {  // a fraction or exponent, cut
                EXPECT_LT(r.result, 0) << n << " " << c;
                EXPECT_EQ(r.events, "[ ") << n << " " << c;
            } else {  // the number ends before the byte
                EXPECT_EQ(r.events.rfind(cat({"[ #|", digits, "| "}), 0), 0u) << n << " " << c;
            }
        }
    }
}

TEST(JsonReader, RefusesNumbersTooBigForADouble) {
    // rapidjson's rule (kParseErrorNumberTooBig), so that both agree.
    EXPECT_TRUE(accepts("[1e308]"));
    EXPECT_FALSE(accepts("[1e309]"));
    EXPECT_FALSE(accepts("[-1e400]"));
    EXPECT_FALSE(accepts("[1e0000000400]"));
    EXPECT_TRUE(accepts("[1e-400]"));
    EXPECT_TRUE(accepts(cat({"[", std::string(300, '9'), "]"})));
    EXPECT_FALSE(accepts(cat({"[", std::string(310, '9'), "]"})));
    EXPECT_TRUE(accepts(cat({"[0.", std::string(400, '9'), "]"})));
}

TEST(JsonReader, Whitespace) {
    EXPECT_TRUE(accepts(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n} \t\r\n"));
    for (std::string_view bad : {"{\f}", "{\v}", "{\xc2\xa0}"})
        EXPECT_FALSE(accepts(bad)) << bad;
}

TEST(JsonReader, RefusesWhatIsNotOneJsonValue) {
    for (std::string_view bad : {"",
                                 " ",
                                 "{",
                                 "}",
                                 "{}}",
                                 "{} {}",
                                 "{},",
                                 "[1,]",
                                 "[,1]",
                                 "{\"a\":1,}",
                                 "{\"a\" 1}",
                                 "{\"a\":}",
                                 "{a:1}",
                                 "{'a':1}",
                                 "{\"a\":1 /* c */}",
                                 "// c\n{}",
                                 "tru",
                                 "nul",
                                 "falsey",
                                 "[1 2]",
                                 "{\"a\":1 \"b\":2}",
                                 "[\"a\" \"b\"]"})
        EXPECT_FALSE(accepts(bad)) << bad;
    // Any value may be the root; the handlers refuse non-objects.
    for (std::string_view good : {"1", "\"s\"", "[]", "null", "true", "false"})
        EXPECT_TRUE(accepts(good)) << good;
}

TEST(JsonReader, StopsWhenTheHandlerSaysSo) {
    const Read r = read(R"({"a":[1,2,3],"b":2})", 4);  // { k [ #1 <- refused
    EXPECT_LT(r.result, 0);
    EXPECT_EQ(r.events, "{ k|a| [ #|1| ");
    for (std::size_t stop = 1; stop <= 7; ++stop)
        EXPECT_LT(read(R"({"a":[true],"b":{}})", stop).result, 0) << stop;
}

#if JWTGUARD_AVX2
TEST(JsonReader, QuoteIndexFindsPlainTexts) {
    if (!cpu_has_avx2_pclmul()) GTEST_SKIP() << "no AVX2 and PCLMUL here";
    // A backslash or a byte below 0x20 at every position of texts of every
    // length up to three 64-byte blocks: not plain. A byte from 0x80:
    // plain, but its UTF-8 still to be checked.
    for (std::size_t size = 1; size <= 192; ++size) {
        for (std::size_t at = 0; at < size; ++at) {
            for (const char c : {'\\', '\0', '\x1f', '\n', '\x80', '\xff', 'a'}) {
                std::string text(size, 'a');
                text[at] = c;
                JsonBuffer buffer(text);
                QuoteBits quotes;
                const QuoteScan scan = quote_bits(buffer.data(), size, quotes);
                const QuoteScan expected = c == 'a' ? QuoteScan::ascii
                                           : static_cast<unsigned char>(c) >= 0x80
                                               ? QuoteScan::non_ascii
                                               : QuoteScan::not_plain;
                ASSERT_EQ(scan, expected) << size << " " << at << " " << int{c};
            }
        }
    }
}

TEST(JsonReader, QuoteIndexEndsStringsAcrossEveryBlockBorder) {
    if (!cpu_has_avx2_pclmul()) GTEST_SKIP() << "no AVX2 and PCLMUL here";
    // Texts of every length around one, two and three 64-byte blocks (the
    // last block is read from the text's end, or copied under 64 bytes),
    // with strings that open, close or span every border; read() checks
    // the indexed walk against JsonReader on each.
    for (std::size_t n = 0; n < 200; ++n) {
        const std::string a(n, 'a'), b(n % 67, 'b');
        const std::string json =
            cat({R"({"k":")", a, R"(","l":[")", b, R"(",1,"",true],"m":{"n":")", b, R"("}})"});
        EXPECT_EQ(read(json).events, cat({"{ k|k| s|", a, "| k|l| [ s|", b,
                                          "| #|1| s|| true ]4 k|m| { k|n| s|", b, "| }1 }3 "}))
            << n;
        // Unterminated at every length: the NUL, not a quote past it, ends it.
        EXPECT_LT(read(cat({R"({"k":")", a})).result, 0) << n;
        EXPECT_LT(read(cat({R"({"k":")", a, R"(","l)"})).result, 0) << n;
    }
}

TEST(JsonReader, QuoteIndexWalkTakesQuotedPairsAsTheOtherReadersDo) {
    if (!cpu_has_avx2_pclmul()) GTEST_SKIP() << "no AVX2 and PCLMUL here";
    // The walk compares the two bytes after a name with ':"' and after a
    // member or an element with ',"' at once, and falls back to its byte
    // by byte path otherwise: each pair, each near miss of it, and each
    // text it ends too early, read the same as by JsonReader (read()).
    EXPECT_EQ(read(R"({"a":"b","c":"d","e":["f","g"],"h":"i"})").events,
              "{ k|a| s|b| k|c| s|d| k|e| [ s|f| s|g| ]2 k|h| s|i| }4 ");
    for (std::string_view good : {R"({"a":"b" ,"c":"d"})", R"({"a" :"b"})", R"({"a": "b"})",
                                  R"({"a":"b", "c":1})", R"(["a", "b"])", R"(["a" ,"b"])",
                                  R"({"a":"","":""})", R"(["",""])", R"({"a":["b"],"c":"d"})"})
        EXPECT_TRUE(accepts(good)) << good;
    for (std::string_view bad :
         {R"({"a":"b","c"})", R"({"a":"b",""})", R"({"a":"b","c":})", R"({"a":"b",})", R"({"a":")",
          R"({"a":"b",")", R"({"a":"b","c)", R"(["a","b")", R"(["a","b",])", R"(["a",")",
          R"({"a":"b":"c"})", R"({"a","b"})", R"(["a":"b"])", R"({"a":"b"],"c":"d"})"})
        EXPECT_FALSE(accepts(bad)) << bad;
}

TEST(JsonReader, QuoteIndexWalkRefusesNestingDeeperThanTheLimit) {
    if (!cpu_has_avx2_pclmul()) GTEST_SKIP() << "no AVX2 and PCLMUL here";
    // The walk's own stack holds max_json_depth levels (every handler of
    // this project refuses deeper ones first); JsonReader has no such limit.
    const auto nested = [](int depth) {
        return cat({std::string(static_cast<std::size_t>(depth), '['), "1",
                    std::string(static_cast<std::size_t>(depth), ']')});
    };
    EXPECT_EQ(read(nested(max_json_depth)).result, 2 * max_json_depth + 1);
    const std::string deep = nested(max_json_depth + 1);
    EXPECT_EQ(read_as(deep, false).result, 2 * (max_json_depth + 1) + 1);
    const Read indexed = read_indexed(deep);
    EXPECT_LT(indexed.result, 0);
    std::string starts;  // every level's start, the refused one's too
    for (int i = 0; i <= max_json_depth; ++i)
        starts += "[ ";
    EXPECT_EQ(indexed.events, starts);
}
#endif

}  // namespace
}  // namespace jwtguard::detail
