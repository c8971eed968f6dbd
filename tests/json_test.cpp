#include <jwtguard/json.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using namespace std::literals;

Error parse_payload(std::string_view json, Claims& claims) {
    static std::unique_ptr<detail::JsonBuffer> keep;  // views in `claims` point into it
    keep = std::make_unique<detail::JsonBuffer>(json);
    return detail::parse_claims(keep->data(), keep->size(), claims);
}

Error payload_error(std::string_view json) {
    auto claims = test::new_claims();
    return parse_payload(json, *claims);
}

Error header_error(std::string_view json) {
    detail::JsonBuffer text(json);
    Header header;
    return detail::parse_header(text.data(), text.size(), header);
}

std::string nested(int depth) {
    // depth 1 is the top-level object itself
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i)
        s += (i % 2 ? "[" : "{\"b\":");
    s += "0";
    for (int i = depth - 1; i >= 1; --i)
        s += (i % 2 ? "]" : "}");
    return s + "}";
}

std::string members(std::size_t count) {
    std::string s = "{";
    for (std::size_t i = 0; i < count; ++i)
        s.append(i ? ",\"m" : "\"m").append(std::to_string(i)).append("\":1");
    return s + "}";
}

TEST(Json, AcceptsAPlainPayload) {
    auto claims = test::new_claims();
    ASSERT_EQ(parse_payload(test::good_payload, *claims), Error::ok);
    EXPECT_EQ(claims->iss, "https://issuer.example");
    EXPECT_EQ(claims->sub, "alice");
    EXPECT_EQ(claims->jti, "id-1");
    EXPECT_EQ(claims->exp, 1700000600);
    EXPECT_EQ(claims->iat, 1699999900);
    EXPECT_FALSE(claims->nbf);
    EXPECT_FALSE(claims->has_aud());
}

TEST(Json, DepthLimitCountsTheTopLevelObject) {
    EXPECT_EQ(payload_error(nested(max_json_depth)), Error::ok);
    EXPECT_EQ(payload_error(nested(max_json_depth + 1)), Error::payload_too_deep);
    EXPECT_EQ(header_error(nested(max_json_depth + 1)), Error::header_too_deep);
    // Far deeper than the limit: refused, never a stack overflow.
    EXPECT_EQ(payload_error(std::string(100000, '[')), Error::payload_not_object);
    EXPECT_EQ(payload_error("{\"a\":" + std::string(100000, '[')), Error::payload_too_deep);
}

TEST(Json, MemberLimit) {
    EXPECT_EQ(payload_error(members(max_members)), Error::ok);
    EXPECT_EQ(payload_error(members(max_members + 1)), Error::payload_too_many_members);
    EXPECT_EQ(header_error(members(max_members + 1)), Error::header_too_many_members);
}

TEST(Json, MemberLimitCountsEveryDepth) {
    // The duplicate table holds every member of the document, so the limit
    // counts them all: max_members - 1 nested under one top-level member.
    const std::string inner = members(max_members - 1);
    EXPECT_EQ(payload_error(R"({"o":)" + inner + "}"), Error::ok);
    EXPECT_EQ(payload_error(R"({"o":)" + inner + R"(,"p":1})"), Error::payload_too_many_members);
    EXPECT_EQ(payload_error(R"({"o":[)" + inner + "," + inner + "]}"),
              Error::payload_too_many_members);
    EXPECT_EQ(header_error(R"({"o":{"x":)" + inner + "}}"), Error::header_too_many_members);
}

TEST(Json, DuplicateTopLevelMembersAfterUnescaping) {
    EXPECT_EQ(payload_error(R"({"a":1,"a":2})"), Error::payload_duplicate_member);
    EXPECT_EQ(payload_error(R"({"exp":1,"\u0065xp":2})"), Error::payload_duplicate_member);
    EXPECT_EQ(header_error(R"({"alg":"HS256","alg":"none"})"), Error::header_duplicate_member);
    // Names differing only after a NUL are different names.
    EXPECT_EQ(payload_error(R"({"a":1,"a\u0000":2})"), Error::ok);
    // The same name in different objects is no duplicate.
    EXPECT_EQ(payload_error(R"({"a":{"a":1},"y":{"a":2},"z":[{"a":3},{"a":{"a":4}}]})"), Error::ok);
}

TEST(Json, RegisteredNamesAreCheckedForDuplicatesByTheirBitAtTheTopLevelOnly) {
    // The names the handlers act on skip the MemberSet at the top level
    // (TopLevelHandler::Key): each one twice, with other names between, is
    // still a duplicate, and the same names inside nested objects belong to
    // those objects.
    for (const char* name : {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}) {
        const std::string n = name;
        EXPECT_EQ(payload_error("{\"" + n + "\":1,\"x\":2,\"" + n + "\":3}"),
                  Error::payload_duplicate_member)
            << n;
        EXPECT_EQ(payload_error("{\"" + n + "\":1,\"o\":{\"" + n + "\":2},\"" + n + "\":3}"),
                  Error::payload_duplicate_member)
            << n;
        EXPECT_EQ(payload_error("{\"o\":{\"" + n + "\":1,\"" + n + "\":2}}"),
                  Error::payload_duplicate_member)
            << n;
        const std::string value = n == "exp" || n == "nbf" || n == "iat" ? "1" : "\"a\"";
        EXPECT_EQ(payload_error("{\"" + n + "\":" + value + ",\"o\":{\"" + n + "\":2,\"p\":[{\"" +
                                n + "\":3}]}}"),
                  Error::ok)
            << n;
    }
    for (const char* name : {"alg", "kid", "typ", "cty"}) {
        const std::string n = name;
        EXPECT_EQ(header_error("{\"" + n + "\":\"a\",\"x\":1,\"" + n + "\":\"a\"}"),
                  Error::header_duplicate_member)
            << n;
        EXPECT_EQ(header_error(R"({"alg":"HS256","o":{")" + n + R"(":1,")" + n + R"(":2}})"),
                  Error::header_duplicate_member)
            << n;
    }
}

TEST(Json, DuplicateMembersAreRefusedAtEveryDepth) {
    // A last-wins parser reading payload_json() would see admin: true where
    // a first-wins one sees false: the differential the rule exists for.
    EXPECT_EQ(payload_error(R"({"roles":{"admin":false,"admin":true},"exp":1})"),
              Error::payload_duplicate_member);
    EXPECT_EQ(payload_error(R"({"a":{"b":{"c":1,"\u0063":2}}})"), Error::payload_duplicate_member);
    EXPECT_EQ(payload_error(R"({"a":[1,{"x":1,"y":2,"x":3}]})"), Error::payload_duplicate_member);
    EXPECT_EQ(header_error(R"({"alg":"HS256","ext":{"k":1,"k":1}})"),
              Error::header_duplicate_member);
    // An object closed and another opened at the same depth: a new object.
    EXPECT_EQ(payload_error(R"({"a":{"k":1},"b":{"k":1}})"), Error::ok);
    // The object's members, not its parent's: "k" at two depths is fine,
    // and after the inner object closes the outer one still knows its own.
    EXPECT_EQ(payload_error(R"({"k":{"k":{"k":1}}})"), Error::ok);
    EXPECT_EQ(payload_error(R"({"k":{"x":1},"x":2,"k":3})"), Error::payload_duplicate_member);
    EXPECT_EQ(payload_error(R"({"o":{"k":{"x":1},"x":2,"k":3}})"), Error::payload_duplicate_member);
    // At the deepest level allowed.
    std::string deep = R"({"d":1,"d":2})";
    for (int level = 1; level < max_json_depth; ++level)
        deep = R"({"n":)" + deep + "}";
    EXPECT_EQ(payload_error(deep), Error::payload_duplicate_member);
}

TEST(Json, DuplicateDetectionAtEveryNameLength) {
    // Names up to 16 bytes hash from their bytes by length band (1-3, 4-7,
    // 8-16), longer ones with XXH3: at every length, a name equal to an
    // earlier one is a duplicate and one differing in any single byte is not.
    for (std::size_t n = 1; n <= 40; ++n) {
        const std::string name(n, 'n');
        EXPECT_EQ(payload_error("{\"" + name + "\":1,\"" + name + "\":2}"),
                  Error::payload_duplicate_member)
            << n;
        for (std::size_t at = 0; at < n; ++at) {
            std::string other = name;
            other[at] = 'm';
            EXPECT_EQ(payload_error("{\"" + name + "\":1,\"" + other + "\":2}"), Error::ok)
                << n << " " << at;
        }
    }
}

TEST(Json, DuplicateDetectionBeforeAndAfterTheTableIsBuilt) {
    // MemberSet lists its first names and builds its table when the list is
    // full: with 1 to 20 other names before it, a repeat of any one of them
    // is a duplicate, in the top-level object and in a nested one, and a
    // name that only looks alike is not.
    for (std::size_t count = 1; count <= 20; ++count) {
        std::string names;
        for (std::size_t i = 0; i < count; ++i)
            names += "\"name" + std::to_string(i) + "\":" + std::to_string(i) + ",";
        for (std::size_t repeat = 0; repeat < count; ++repeat) {
            const std::string again = "\"name" + std::to_string(repeat) + "\":0";
            EXPECT_EQ(payload_error("{" + names + again + "}"), Error::payload_duplicate_member)
                << count << " " << repeat;
            EXPECT_EQ(payload_error(R"({"o":{)" + names + again + "}}"),
                      Error::payload_duplicate_member)
                << count << " " << repeat;
        }
        EXPECT_EQ(payload_error("{" + names + "\"name" + std::to_string(count) + "\":0}"),
                  Error::ok)
            << count;
        // The same names in two objects belong to each.
        EXPECT_EQ(payload_error(R"({"o":{)" + names + R"("z":0},"p":{)" + names + R"("z":0}})"),
                  Error::ok)
            << count;
    }
}

TEST(Json, DuplicateDetectionScalesToTheLimit) {
    // Every name distinct but sharing a long prefix: still linear.
    std::string s = "{";
    for (std::size_t i = 0; i < max_members; ++i)
        s.append(i ? ",\"" : "\"").append(200, 'p').append(std::to_string(i)).append("\":0");
    EXPECT_EQ(payload_error(s + "}"), Error::ok);
}

TEST(Json, RootMustBeOneObject) {
    for (std::string_view bad : {"[]", "\"x\"", "1", "null", "true"})
        EXPECT_EQ(payload_error(bad), Error::payload_not_object) << bad;
    EXPECT_EQ(header_error("[]"), Error::header_not_object);
    EXPECT_EQ(payload_error(""), Error::payload_json_invalid);
    EXPECT_EQ(payload_error(R"({"a":1}{})"), Error::payload_json_invalid);
    EXPECT_EQ(payload_error(R"({"a":1}x)"), Error::payload_json_invalid);
    EXPECT_EQ(payload_error("{\"a\":1} \r\n\t"), Error::ok);
}

TEST(Json, RawNulEndsNothing) {
    EXPECT_EQ(payload_error("{\"a\":1}\0{}"sv), Error::payload_json_invalid);
    EXPECT_EQ(payload_error("{\"a\":1}\0"sv), Error::payload_json_invalid);
    EXPECT_EQ(payload_error("{\"a\":\"x\0y\"}"sv), Error::payload_json_invalid);
}

TEST(Json, StrictGrammar) {
    for (std::string_view bad :
         {R"({"a":1,})", R"({'a':1})", R"({"a":01})", R"({"a":1.})", R"({"a":NaN})",
          R"({"a":Infinity})", R"({a:1})", "{\"a\":1 /* c */}", R"({"a":"\x"})", R"({"a":+1})"})
        EXPECT_EQ(payload_error(bad), Error::payload_json_invalid) << bad;
}

TEST(Json, InvalidUtf8) {
    const std::string_view bad[] = {
        "{\"a\":\"\xc0\x80\"}",          // overlong NUL
        "{\"a\":\"\xe0\x80\xaf\"}",      // overlong '/'
        "{\"a\":\"\xed\xa0\x80\"}",      // encoded surrogate
        "{\"a\":\"\xf4\x90\x80\x80\"}",  // above U+10FFFF
        "{\"a\":\"\xf5\x80\x80\x80\"}",  // F5 lead byte
        "{\"a\":\"\x80\"}",              // lone continuation
        "{\"a\":\"\xc3\"}",              // truncated
        "{\"a\":\"\xe2\x82\"}",          // truncated
        "{\"a\":1}\xff",                 // after the document
    };
    for (std::string_view b : bad)
        EXPECT_EQ(payload_error(b), Error::payload_invalid_utf8) << b;
    EXPECT_EQ(header_error(bad[0]), Error::header_invalid_utf8);
    EXPECT_EQ(payload_error("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}"),
              Error::ok);
}

TEST(Json, ByteOrderMarkIsRefused) {
    EXPECT_EQ(payload_error("\xef\xbb\xbf{\"a\":1}"), Error::payload_json_invalid);
}

TEST(Json, LoneSurrogateEscapes) {
    EXPECT_EQ(payload_error(R"({"a":"\udc00"})"), Error::payload_invalid_utf8);
    EXPECT_EQ(payload_error(R"({"a":"x\uDFFFy"})"), Error::payload_invalid_utf8);
    EXPECT_EQ(payload_error(R"({"a":"\ud83d\ude00\udc00"})"), Error::payload_invalid_utf8);
    EXPECT_EQ(payload_error(R"({"a":"\ud800"})"), Error::payload_json_invalid);
    EXPECT_EQ(payload_error(R"({"a":"\ud800x"})"), Error::payload_json_invalid);
    EXPECT_EQ(payload_error(R"({"a":"\ud83d\ude00"})"), Error::ok);
    EXPECT_EQ(payload_error(R"({"a":"\\udc00"})"), Error::ok);  // an escaped backslash
    EXPECT_EQ(payload_error(R"({"\udc00":1})"), Error::payload_invalid_utf8);
}

TEST(Json, LoneSurrogateIsFoundWhereverItsBackslashLies) {
    // The raw-text scan notes backslashes 16, 8 and 1 bytes at a time, and
    // looks at escapes only if it saw one: every position and length.
    for (std::size_t pad = 0; pad < 40; ++pad) {
        for (std::size_t tail = 0; tail < 20; ++tail) {
            std::string json = R"({"a":")";
            json.append(pad, 'x');
            json += R"(\udc00)";
            json.append(tail, 'y');
            json += R"("})";
            ASSERT_EQ(payload_error(json), Error::payload_invalid_utf8) << json;
        }
    }
}

TEST(Json, StringsAreUnescapedAndLengthAware) {
    auto claims = test::new_claims();
    ASSERT_EQ(parse_payload(R"({"sub":"a\u0000b","iss":"\u00e9\"\\\/","exp":1})", *claims),
              Error::ok);
    EXPECT_EQ(*claims->sub, "a\0b"sv);
    EXPECT_EQ(*claims->iss, "\xc3\xa9\"\\/"sv);
}

TEST(Json, RegisteredClaimTypes) {
    EXPECT_EQ(payload_error(R"({"iss":1})"), Error::iss_invalid);
    EXPECT_EQ(payload_error(R"({"iss":null})"), Error::iss_invalid);
    EXPECT_EQ(payload_error(R"({"sub":["a"]})"), Error::sub_invalid);
    EXPECT_EQ(payload_error(R"({"jti":{}})"), Error::jti_invalid);
    EXPECT_EQ(payload_error(R"({"exp":"1"})"), Error::exp_invalid);
    EXPECT_EQ(payload_error(R"({"exp":true})"), Error::exp_invalid);
    EXPECT_EQ(payload_error(R"({"nbf":[1]})"), Error::nbf_invalid);
    EXPECT_EQ(payload_error(R"({"iat":null})"), Error::iat_invalid);
    EXPECT_EQ(payload_error(R"({"exp":-1})"), Error::exp_invalid);
    EXPECT_EQ(payload_error(R"({"nbf":9007199254740993})"), Error::nbf_invalid);
    // Unregistered members may be anything.
    EXPECT_EQ(payload_error(R"({"roles":["a",{"b":[null,true,1.5e3]}],"n":-7})"), Error::ok);
    // A nested "exp" is not the claim.
    EXPECT_EQ(payload_error(R"({"x":{"exp":"soon"}})"), Error::ok);
}

TEST(Json, RegisteredNamesAreMatchedWhole) {
    // The handlers read a name's first three bytes with one load: a longer
    // or shorter name that shares them is another member, with any value.
    auto claims = test::new_claims();
    ASSERT_EQ(parse_payload(
                  R"({"issuer":1,"subject":[],"audience":7,"expires":"x","nbfx":{},"iatx":null,)"
                  R"("jtis":2,"ex":3,"i":4,"":5,"sub":"alice"})",
                  *claims),
              Error::ok);
    EXPECT_FALSE(claims->iss);
    EXPECT_EQ(claims->sub, "alice");
    EXPECT_FALSE(claims->exp);
    EXPECT_FALSE(claims->nbf);
    EXPECT_FALSE(claims->iat);
    EXPECT_FALSE(claims->jti);
    EXPECT_FALSE(claims->has_aud());
    detail::JsonBuffer text(R"({"algorithm":1,"kids":2,"types":3,"ctype":4,"al":5,"alg":"HS256"})");
    Header header;
    ASSERT_EQ(detail::parse_header(text.data(), text.size(), header), Error::ok);
    EXPECT_EQ(header.alg, "HS256");
    EXPECT_FALSE(header.kid);
    EXPECT_FALSE(header.typ);
    EXPECT_FALSE(header.cty);
    // The one load gives three_letters' value at every length.
    for (std::string_view name : {"", "e", "ex", "exp", "expi", "expir", "n\xff", "\xff\x01\x80"}) {
        detail::JsonBuffer buffer(name);
        EXPECT_EQ(detail::three_letters_of_member({buffer.data(), name.size()}),
                  detail::three_letters(name))
            << name;
    }
}

TEST(Json, Audience) {
    auto claims = test::new_claims();
    ASSERT_EQ(parse_payload(R"({"aud":"api"})", *claims), Error::ok);
    ASSERT_TRUE(claims->has_aud());
    ASSERT_EQ(claims->aud().size(), 1u);
    EXPECT_EQ(claims->aud()[0], "api");
    ASSERT_EQ(parse_payload(R"({"aud":["a","b","c"],"x":["d"]})", *claims), Error::ok);
    ASSERT_EQ(claims->aud().size(), 3u);
    EXPECT_EQ(claims->aud()[2], "c");

    EXPECT_EQ(payload_error(R"({"aud":[]})"), Error::aud_invalid);
    EXPECT_EQ(payload_error(R"({"aud":1})"), Error::aud_invalid);
    EXPECT_EQ(payload_error(R"({"aud":{}})"), Error::aud_invalid);
    EXPECT_EQ(payload_error(R"({"aud":["a",1]})"), Error::aud_invalid);
    EXPECT_EQ(payload_error(R"({"aud":["a",["b"]]})"), Error::aud_invalid);
    EXPECT_EQ(payload_error(R"({"aud":["a",{"b":"c"}]})"), Error::aud_invalid);
    EXPECT_EQ(payload_error(R"({"aud":null})"), Error::aud_invalid);

    std::string many = R"({"aud":[)";
    for (std::size_t i = 0; i <= max_audiences; ++i)
        many.append(i ? ",\"a" : "\"a").append(std::to_string(i)).append("\"");
    EXPECT_EQ(payload_error(many + "]}"), Error::aud_too_many);
}

TEST(Json, SyntaxErrorWinsOverAnEarlierTypeError) {
    EXPECT_EQ(payload_error(R"({"iss":1,"x":})"), Error::payload_json_invalid);
    EXPECT_EQ(header_error(R"({"alg":1,"x":})"), Error::header_json_invalid);
}

TEST(Json, HeaderParameters) {
    detail::JsonBuffer text(
        R"({"alg":"HS256","kid":"k\u0031","typ":"at+jwt","cty":"x","jwk":{"kty":"oct"},"x5c":["a"]})");
    Header header;
    ASSERT_EQ(detail::parse_header(text.data(), text.size(), header), Error::ok);
    EXPECT_EQ(header.alg, "HS256");
    EXPECT_EQ(header.kid, "k1");
    EXPECT_EQ(header.typ, "at+jwt");
    EXPECT_EQ(header.cty, "x");

    EXPECT_EQ(header_error(R"({"alg":1})"), Error::alg_invalid);
    EXPECT_EQ(header_error(R"({"alg":null})"), Error::alg_invalid);
    EXPECT_EQ(header_error(R"({"alg":"HS256","kid":7})"), Error::kid_invalid);
    EXPECT_EQ(header_error(R"({"alg":"HS256","typ":["JWT"]})"), Error::typ_invalid);
    EXPECT_EQ(header_error(R"({"alg":"HS256","cty":{}})"), Error::cty_invalid);
    EXPECT_EQ(header_error(R"({"alg":"HS256","crit":["exp"],"exp":1})"), Error::crit_unsupported);
    EXPECT_EQ(header_error(R"({"alg":"HS256","crit":[]})"), Error::crit_unsupported);
    EXPECT_EQ(header_error(R"({"crit":null,"alg":"HS256"})"), Error::crit_unsupported);
}

// The word-at-a-time read of eight digits (the fast path of ten-digit
// dates) against a byte loop: every byte value in every position.
TEST(NumericDate, EightDigitsAtOnceMatchTheByteLoop) {
    const auto by_bytes = [](const char* p, std::uint64_t& out) {
        out = 0;
        for (int i = 0; i < 8; ++i) {
            if (p[i] < '0' || p[i] > '9') return false;
            out = out * 10 + static_cast<std::uint64_t>(p[i] - '0');
        }
        return true;
    };
    const std::string bases[] = {"17000000", "99999999", "00000000", "12345678", "90817263"};
    int accepted = 0;
    for (const std::string& base : bases)
        for (int at = 0; at < 8; ++at)
            for (int byte = 0; byte < 256; ++byte) {
                std::string text = base;
                text[static_cast<std::size_t>(at)] = static_cast<char>(byte);
                std::uint64_t fast = 0, slow = 0;
                const bool ok = by_bytes(text.data(), slow);
                ASSERT_EQ(detail::eight_digits(text.data(), fast), ok) << at << " " << byte;
                if (ok) {
                    ASSERT_EQ(fast, slow) << text;
                    ++accepted;
                }
            }
    EXPECT_EQ(accepted, 5 * 8 * 10);
}

TEST(NumericDate, ExactFromTheDecimalText) {
    auto date = [](std::string_view text) -> std::optional<std::int64_t> {
        std::int64_t v;
        if (!detail::parse_numeric_date(text, v)) return std::nullopt;
        return v;
    };
    EXPECT_EQ(date("0"), 0);
    EXPECT_EQ(date("-0"), 0);
    EXPECT_EQ(date("-0.0e5"), 0);
    EXPECT_EQ(date("1700000000"), 1700000000);
    EXPECT_EQ(date("1700000000.0"), 1700000000);
    EXPECT_EQ(date("1700000000.000000000000000000001"), 1700000001);  // rounded up
    EXPECT_EQ(date("1699999999.5"), 1700000000);
    EXPECT_EQ(date("0.0000001"), 1);
    EXPECT_EQ(date("1.7e9"), 1700000000);
    EXPECT_EQ(date("17E+8"), 1700000000);
    EXPECT_EQ(date("17000000000e-1"), 1700000000);
    EXPECT_EQ(date("17000000001e-1"), 1700000001);
    EXPECT_EQ(date("9007199254740992"), 9007199254740992);  // 2^53, inclusive
    EXPECT_EQ(date("9007199254740991.5"), 9007199254740992);
    EXPECT_EQ(date("0.9007199254740992e16"), 9007199254740992);
    EXPECT_EQ(date("9007199254740992.0000"), 9007199254740992);
    EXPECT_FALSE(date("9007199254740992.5"));
    EXPECT_FALSE(date("9007199254740993"));
    EXPECT_FALSE(date("90071992547409920"));
    EXPECT_FALSE(date("1e16"));
    EXPECT_FALSE(date("1e999999999999999999"));
    EXPECT_EQ(date("1e-999999999999999999"), 1);
    EXPECT_FALSE(date("-1"));
    EXPECT_FALSE(date("-0.5"));
    EXPECT_FALSE(date("123456789012345678901234567890"));
    EXPECT_EQ(date("0000000000000000000000000012"), 12);
}

// Ten characters take the inline path only when all ten are digits; it
// must give what the general path gives, fraction included.
TEST(NumericDate, TenDigitsReadInlineAsTheGeneralPathReadsThem) {
    const auto both_agree = [](std::string_view text) {
        std::int64_t fast = -1, general = -1;
        detail::DateFraction fast_fraction{1, true}, general_fraction{};
        const bool fast_ok = detail::parse_numeric_date(text, fast, &fast_fraction);
        const bool general_ok =
            detail::parse_numeric_date_general(text, general, &general_fraction);
        EXPECT_EQ(fast_ok, general_ok) << text;
        if (fast_ok && general_ok) {
            EXPECT_EQ(fast, general) << text;
            EXPECT_EQ(fast_fraction.digits, general_fraction.digits) << text;
            EXPECT_EQ(fast_fraction.more, general_fraction.more) << text;
        }
        return fast;
    };
    EXPECT_EQ(both_agree("1000000000"), 1000000000);
    EXPECT_EQ(both_agree("9999999999"), 9999999999);
    EXPECT_EQ(both_agree("17000000.5"), 17000001);  // a point in the last two
    EXPECT_EQ(both_agree("170000000.5"), 170000001);
    EXPECT_EQ(both_agree("1.70000e+9"), 1700000000);
    EXPECT_EQ(both_agree("17000000e2"), 1700000000);
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 10000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const std::string text = std::to_string(1000000000 + x % 9000000000);
        ASSERT_EQ(both_agree(text), std::stoll(text));
    }
}

TEST(Json, ClaimsAreParsedInTheTextUnlessItNeedsUnescaping) {
    // parse_claims with an escaped copy leaves the text as it was: claims
    // point into it when it has no backslash, into the copy when it has.
    for (const std::string_view text :
         {R"({"iss":"joe","aud":["a","b"],"exp":1700000000})"sv,
          R"({"iss":"j\u006fe","aud":["a","b"],"exp":1700000000})"sv}) {
        std::vector<char> buffer(2 * (text.size() + 1) + detail::json_padding, '\0');
        std::memcpy(buffer.data(), text.data(), text.size());
        char* const copy = buffer.data() + text.size() + 1;
        auto claims = test::new_claims();
        ASSERT_EQ(detail::parse_claims(buffer.data(), text.size(), *claims, copy), Error::ok)
            << text;
        EXPECT_EQ(std::string_view(buffer.data(), text.size()), text);
        EXPECT_EQ(buffer[text.size()], '\0');
        EXPECT_EQ(claims->iss, "joe");
        EXPECT_EQ(claims->aud()[1], "b");
        const bool escaped = text.find('\\') != std::string_view::npos;
        EXPECT_EQ(claims->iss->data() >= copy, escaped) << text;
        EXPECT_EQ(claims->aud()[1].data() >= copy, escaped) << text;
    }
}

TEST(Json, PlainOnlyWithoutABackslashOrAControlByte) {
    // json_text_fault's `plain` lets the reader end strings at their first
    // quote: a raw tab, LF or CR (allowed between tokens, refused inside a
    // string) or a backslash must turn it off.
    auto plain = [](std::string_view json) {
        detail::JsonTextFacts facts{true, true};
        EXPECT_EQ(detail::json_text_fault(json.data(), json.size(), &facts),
                  detail::JsonFault::none)
            << json;
        return facts.plain();
    };
    EXPECT_TRUE(plain("{\"a\":\"b\",\"c\":[1,\"\xc3\xa9\"]}"));
    EXPECT_FALSE(plain(R"({"a":"b\n"})"));
    for (const char c : {'\t', '\n', '\r'}) {
        const std::string between = std::string("{\"a\":") + c + "\"b\"}";
        const std::string inside = std::string("{\"a\":\"b") + c + "\"}";
        EXPECT_FALSE(plain(between)) << int{c};
        EXPECT_FALSE(plain(inside)) << int{c};
        EXPECT_EQ(payload_error(between), Error::ok) << int{c};
        EXPECT_EQ(payload_error(inside), Error::payload_json_invalid) << int{c};
    }
}

TEST(Utf8, Validator) {
    auto valid = [](std::string_view s) {
        return detail::raw_text_fault(reinterpret_cast<const unsigned char*>(s.data()), s.size()) ==
               detail::JsonFault::none;
    };
    EXPECT_TRUE(valid(""));
    EXPECT_TRUE(valid("plain ascii that is longer than eight bytes"));
    EXPECT_TRUE(valid("\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
    EXPECT_TRUE(valid("\xed\x9f\xbf\xee\x80\x80"));  // around the surrogates
    EXPECT_FALSE(valid("\xc1\xbf"));
    EXPECT_FALSE(valid("\xed\xbf\xbf"));
    EXPECT_FALSE(valid("\xf0\x8f\xbf\xbf"));
    EXPECT_FALSE(valid("aaaaaaaaaaaaaaa\xf0\x90\x80"));
    EXPECT_FALSE(valid("\xe0\xa0\x7f"));
}

// The text check's verdict and backslash report, whichever of its paths
// (32-byte AVX2 blocks, 16-byte SSE2 blocks, words, bytes) meets a byte:
// every byte value at every position of texts of 1 to 3 AVX2 blocks and
// their neighbours, against a byte loop.
TEST(Utf8, TheTextCheckAgreesWithAByteLoopAtEveryPosition) {
    const auto by_bytes = [](std::string_view s, bool& backslash) {
        backslash = false;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x80) return detail::JsonFault::invalid_utf8;  // lone bytes here
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return detail::JsonFault::syntax;
            backslash |= c == '\\';
        }
        return detail::JsonFault::none;
    };
    int checked = 0;
    for (const std::size_t size : {31u, 32u, 33u, 63u, 64u, 65u, 96u, 97u})
        for (std::size_t at = 0; at < size; ++at)
            for (int byte = 0; byte < 256; ++byte) {
                std::string text(size, 'a');
                text[at] = static_cast<char>(byte);
                // A backslash before the byte's block, or none at all.
                if (at >= 40 && byte == 'b') text[3] = '\\';
                bool expected_backslash = false;
                detail::JsonTextFacts facts{true, true};
                const detail::JsonFault expected = by_bytes(text, expected_backslash);
                const detail::JsonFault got = detail::raw_text_fault(
                    reinterpret_cast<const unsigned char*>(text.data()), text.size(), &facts);
                const bool backslash = facts.backslash;
                ASSERT_EQ(got, expected) << size << " " << at << " " << byte;
                if (got == detail::JsonFault::none) {
                    ASSERT_EQ(backslash, expected_backslash) << size << " " << at << " " << byte;
                    ASSERT_EQ(facts.whitespace_control,
                              byte == '\t' || byte == '\n' || byte == '\r')
                        << size << " " << at << " " << byte;
                }
                ++checked;
            }
    EXPECT_GT(checked, 100'000);
#if JWTGUARD_AVX2
    if (detail::cpu_has_avx2()) {
        // The AVX2 run stops at the block of the first non-printable byte.
        std::string text(100, 'x');
        text[70] = '\n';
        text[10] = '\\';
        bool backslash = false;
        EXPECT_EQ(detail::printable_blocks_avx2(reinterpret_cast<const unsigned char*>(text.data()),
                                                text.size(), backslash),
                  64u);
        EXPECT_TRUE(backslash);
    }
#endif
}

TEST(Json, RawControlCharactersInStringsAreRefused) {
    // rapidjson 1.1's SIMD string scanning lets 0x1A-0x1F through (found by
    // fuzz_header): every control character, at every position of names and
    // values long enough to reach its 16-byte blocks, in header and payload.
    for (int c = 0; c < 0x20; ++c) {
        for (std::size_t at = 0; at < 40; ++at) {
            std::string text(40, 'a');
            text[at] = static_cast<char>(c);
            detail::JsonBuffer name("{\"" + text + "\":1}");
            detail::JsonBuffer value(R"({"sub":")" + text + "\"}");
            Header header;
            auto claims = std::make_unique<Claims>();
            ASSERT_EQ(detail::parse_header(name.data(), name.size(), header),
                      Error::header_json_invalid)
                << c << " at " << at;
            ASSERT_EQ(detail::parse_claims(value.data(), value.size(), *claims),
                      Error::payload_json_invalid)
                << c << " at " << at;
        }
    }
    // JSON whitespace between tokens stays fine.
    detail::JsonBuffer spaced("{\t\"alg\" :\r\n \"HS256\"\n}");
    Header header;
    EXPECT_EQ(detail::parse_header(spaced.data(), spaced.size(), header), Error::ok);
    EXPECT_EQ(header.alg, "HS256");
}

}  // namespace
}  // namespace jwtguard
