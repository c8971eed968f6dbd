#include <jwtguard/validator.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using test::make_token;
using test::sign_segments;

using test::decoded;

class ValidatorTest : public ::testing::Test {
  protected:
    Hs256Key key{test::secret};
    Validator validator{key};
    std::unique_ptr<Claims> claims = test::new_claims();

    Error validate(std::string_view token, std::int64_t now = test::now) {
        return validator.validate(token, now, *claims);
    }
    Error validate_payload(std::string_view payload) {
        return validate(make_token(test::hs256_header, payload, key));
    }
    Error validate_header(std::string_view header) {
        return validate(make_token(header, test::good_payload, key));
    }
};

static_assert(noexcept(std::declval<const Validator&>().validate({}, 0, std::declval<Claims&>())));

TEST(Rfc7515, AppendixA1VerifiesWithItsOwnKey) {
    const Hs256Key key(decoded(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"));
    const std::string token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0c"
        "nVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const Validator validator(key);
    auto claims = test::new_claims();
    ASSERT_EQ(validator.validate(token, 1300819379, *claims), Error::ok);
    EXPECT_EQ(claims->iss, "joe");
    EXPECT_EQ(claims->exp, 1300819380);
    EXPECT_EQ(claims->header.typ, "JWT");
    EXPECT_EQ(claims->payload_json(),
              "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
    EXPECT_EQ(validator.validate(token, 1300819380, *claims), Error::expired);
    const Validator other{Hs256Key(test::secret)};
    EXPECT_EQ(other.validate(token, 1300819379, *claims), Error::signature_invalid);
}

TEST_F(ValidatorTest, AcceptsAGoodTokenAndFillsClaims) {
    const std::string token = make_token(
        R"({"alg":"HS256","typ":"JWT","kid":"k1"})",
        R"({"iss":"i","sub":"s","aud":["x","api"],"exp":1700000600,"nbf":1699999000,"iat":1699999900,"jti":"j","roles":["r"]})",
        key);
    Validator::Options options;
    options.audiences = {"api"};
    const Validator v(key, options);
    ASSERT_EQ(v.validate(token, test::now, *claims), Error::ok);
    EXPECT_EQ(claims->header.alg, "HS256");
    EXPECT_EQ(claims->header.kid, "k1");
    EXPECT_EQ(claims->iss, "i");
    EXPECT_EQ(claims->sub, "s");
    EXPECT_EQ(claims->jti, "j");
    ASSERT_EQ(claims->aud().size(), 2u);
    EXPECT_EQ(claims->aud()[1], "api");
    EXPECT_EQ(claims->exp, 1700000600);
    EXPECT_EQ(claims->nbf, 1699999000);
    EXPECT_EQ(claims->iat, 1699999900);
    EXPECT_NE(claims->payload_json().find(R"("roles":["r"])"), std::string_view::npos);
}

TEST_F(ValidatorTest, PayloadJsonKeepsTheSignedBytesWhetherOrNotTheyAreEscaped) {
    // Claims are parsed in the signed bytes themselves unless they need
    // unescaping, which happens in a copy: payload_json() is the signed
    // text either way, and the claims are the unescaped values.
    for (const std::string_view payload :
         {std::string_view(R"({"iss":"joe","sub":"s","exp":1700000600,"x":["a"]})"),
          std::string_view(
              R"({"iss":"j\u006fe","sub":"\"s\"","exp":1700000600,"x":["\u0061"]})")}) {
        const Validator v(key);
        ASSERT_EQ(v.validate(make_token(test::hs256_header, payload, key), test::now, *claims),
                  Error::ok)
            << payload;
        EXPECT_EQ(claims->payload_json(), payload);
        EXPECT_EQ(claims->iss, "joe");
        EXPECT_EQ(claims->sub, payload.find('\\') == std::string_view::npos ? "s" : "\"s\"");
    }
}

TEST_F(ValidatorTest, ClaimsObjectCanBeReused) {
    ASSERT_EQ(validate_payload(R"({"exp":1700000600,"sub":"a","aud":"x"})"), Error::aud_mismatch);
    ASSERT_EQ(validate_payload(R"({"exp":1700000600})"), Error::ok);
    EXPECT_FALSE(claims->sub);
    EXPECT_FALSE(claims->has_aud());
    EXPECT_TRUE(claims->aud().empty());
}

TEST_F(ValidatorTest, SizeLimitIsInclusiveAndComesFirst) {
    const std::string token = make_token(test::hs256_header, test::good_payload, key);
    Validator::Options options;
    options.max_token_size = token.size();
    const Validator exact(key, options);
    EXPECT_EQ(exact.validate(token, test::now, *claims), Error::ok);
    options.max_token_size = token.size() - 1;
    const Validator smaller(key, options);
    EXPECT_EQ(smaller.validate(token, test::now, *claims), Error::token_too_large);
    // Checked before anything else: garbage of the wrong size says so.
    EXPECT_EQ(validate(std::string(max_token_size_limit + 1, '!')), Error::token_too_large);
    EXPECT_EQ(validate(std::string(max_token_size_limit, '!')), Error::token_malformed);
}

TEST_F(ValidatorTest, LargestTokenFitsTheScratch) {
    // A payload that fills the size limit exactly.
    const std::string header = test::hs256_header.data();
    std::string filler;
    std::string token;
    for (std::size_t n = max_token_size_limit / 4 * 3;; --n) {
        filler.assign(n, 'x');
        token = make_token(header, R"({"exp":1700000600,"f":")" + filler + "\"}", key);
        if (token.size() <= max_token_size_limit) break;
    }
    EXPECT_GE(token.size(), max_token_size_limit - 3);
    EXPECT_EQ(validate(token), Error::ok);
}

TEST_F(ValidatorTest, ExactlyThreeSegments) {
    const std::string good = make_token(test::hs256_header, test::good_payload, key);
    EXPECT_EQ(validate(""), Error::token_malformed);
    EXPECT_EQ(validate("abc"), Error::token_malformed);
    EXPECT_EQ(validate("a.b"), Error::token_malformed);
    EXPECT_EQ(validate(good + "."), Error::token_malformed);
    EXPECT_EQ(validate(good + ".x"), Error::token_malformed);
    EXPECT_EQ(validate(std::string(".") + good), Error::token_malformed);
    EXPECT_EQ(validate(".."), Error::header_json_invalid);
}

TEST_F(ValidatorTest, StrictBase64urlInEverySegment) {
    const std::string h = base64url_encode(test::hs256_header);
    const std::string p = base64url_encode(test::good_payload);
    const std::string good = sign_segments(h, p, key);
    const std::string sig = good.substr(good.rfind('.') + 1);

    EXPECT_EQ(validate(sign_segments(h + "=", p, key)), Error::header_base64_invalid);
    EXPECT_EQ(validate(sign_segments(std::string(" ") + h, p, key)), Error::header_base64_invalid);
    // {"alg":"HS256","typ":"JWT"} encodes to 36 characters: no spare bits.
    // Append one byte so the last character has spare bits, then set them.
    const std::string h2 = base64url_encode(std::string(test::hs256_header) + " ");
    std::string h2_bad = h2;
    h2_bad.back() = static_cast<char>(h2_bad.back() + 1);
    EXPECT_EQ(validate(sign_segments(h2, p, key)), Error::ok);
    EXPECT_EQ(validate(sign_segments(h2_bad, p, key)), Error::header_base64_non_canonical);

    EXPECT_EQ(validate(sign_segments(h, p + "=", key)), Error::payload_base64_invalid);
    EXPECT_EQ(validate(sign_segments(h, std::string("+") + p.substr(1), key)),
              Error::payload_base64_invalid);
    const std::string p2 = base64url_encode(std::string(test::good_payload) + " ");
    std::string p2_bad = p2;
    p2_bad.back() = static_cast<char>(p2_bad.back() + 1);
    ASSERT_EQ(validate(sign_segments(h, p2, key)), Error::ok);
    EXPECT_EQ(validate(sign_segments(h, p2_bad, key)), Error::payload_base64_non_canonical);

    const std::string signing_input = h + "." + p + ".";
    EXPECT_EQ(validate(signing_input + sig + "="), Error::signature_base64_invalid);
    EXPECT_EQ(validate(signing_input + sig.substr(0, 42) + "+"), Error::signature_base64_invalid);
    // 43 characters carry 258 bits: the last two must be zero.
    std::string sig_bad = sig;
    sig_bad.back() = static_cast<char>(sig_bad.back() ^ 1);
    EXPECT_EQ(validate(signing_input + sig_bad), Error::signature_base64_non_canonical);
}

TEST_F(ValidatorTest, PayloadIsUntouchedUntilTheSignatureHolds) {
    const std::string h = base64url_encode(test::hs256_header);
    const Hs256Key other(test::other_secret);
    // Bad base64, bad JSON, bad claims: with a wrong signature, only the
    // signature is reported.
    for (const std::string& payload :
         {std::string("!!not-base64!!"), base64url_encode("{not json"),
          base64url_encode(R"({"exp":"x","exp":1})"), base64url_encode(R"({"exp":1})")}) {
        EXPECT_EQ(validate(sign_segments(h, payload, other)), Error::signature_invalid) << payload;
    }
    // With the right signature, the payload's own fault.
    EXPECT_EQ(validate(sign_segments(h, "!!not-base64!!", key)), Error::payload_base64_invalid);
    EXPECT_EQ(validate(sign_segments(h, base64url_encode("{not json"), key)),
              Error::payload_json_invalid);
}

TEST_F(ValidatorTest, HeaderJsonFaults) {
    EXPECT_EQ(validate_header("{"), Error::header_json_invalid);
    EXPECT_EQ(validate_header("[\"HS256\"]"), Error::header_not_object);
    EXPECT_EQ(validate_header("{\"alg\":\"HS256\",\"x\":\"\xff\"}"), Error::header_invalid_utf8);
    EXPECT_EQ(validate_header(R"({"alg":"HS256","alg":"HS256"})"), Error::header_duplicate_member);
    EXPECT_EQ(validate_header("\xef\xbb\xbf{\"alg\":\"HS256\"}"), Error::header_json_invalid);
}

TEST_F(ValidatorTest, PayloadJsonFaults) {
    EXPECT_EQ(validate_payload("{"), Error::payload_json_invalid);
    EXPECT_EQ(validate_payload("[]"), Error::payload_not_object);
    EXPECT_EQ(validate_payload("{\"exp\":1700000600,\"x\":\"\xc0\x80\"}"),
              Error::payload_invalid_utf8);
    EXPECT_EQ(validate_payload(R"({"exp":1700000600,"exp":1})"), Error::payload_duplicate_member);
    EXPECT_EQ(validate_payload(R"({"exp":1700000600,"roles":{"admin":false,"admin":true}})"),
              Error::payload_duplicate_member);
    EXPECT_EQ(validate_payload(R"({"exp":1700000600,"x":"\udc00"})"), Error::payload_invalid_utf8);
    EXPECT_EQ(validate_payload(R"({"exp":1700000600} {})"), Error::payload_json_invalid);
    std::string deep =
        R"({"exp":1700000600,"x":)" + std::string(40, '[') + std::string(40, ']') + "}";
    EXPECT_EQ(validate_payload(deep), Error::payload_too_deep);
}

TEST_F(ValidatorTest, AlgNoneIsAlwaysRefused) {
    for (std::string_view alg : {"none", "None", "NONE", "nOnE"}) {
        const std::string header = std::string(R"({"alg":")") + std::string(alg) + "\"}";
        EXPECT_EQ(validate_header(header), Error::alg_none) << alg;
        // An unsigned token as attackers send it.
        const std::string unsigned_token =
            base64url_encode(header) + "." + base64url_encode(test::good_payload) + ".";
        EXPECT_EQ(validate(unsigned_token), Error::alg_none) << alg;
    }
    EXPECT_EQ(validate_header(R"({"alg":"\u006eone"})"), Error::alg_none);  // escaped
}

TEST_F(ValidatorTest, AlgIsTheKeysAndCaseSensitive) {
    EXPECT_EQ(validate_header(R"({"typ":"JWT"})"), Error::alg_missing);
    EXPECT_EQ(validate_header(R"({"alg":256})"), Error::alg_invalid);
    EXPECT_EQ(validate_header(R"({"alg":"hs256"})"), Error::alg_mismatch);
    EXPECT_EQ(validate_header(R"({"alg":"HS384"})"), Error::alg_mismatch);
    EXPECT_EQ(validate_header(R"({"alg":"RS256"})"), Error::alg_mismatch);
    EXPECT_EQ(validate_header(R"({"alg":"HS256\u0000"})"), Error::alg_mismatch);
    EXPECT_EQ(validate_header(R"({"alg":"HS256"})"), Error::ok);
    // Found by kid, the key still decides the algorithm.
    KeySet keys;
    keys.add(key, "k");
    const Validator by_kid(std::move(keys));
    EXPECT_EQ(by_kid.validate(make_token(R"({"alg":"HS512","kid":"k"})", test::good_payload, key),
                              test::now, *claims),
              Error::alg_mismatch);
}

TEST_F(ValidatorTest, EmbeddedKeysNeverSupplyTheKey) {
    // An attacker signs with their own secret and ships it in the header.
    const std::string attacker_secret(32, 'A');
    const Hs256Key attacker(attacker_secret);
    const std::string k = base64url_encode(attacker_secret);
    for (const std::string& header :
         {R"({"alg":"HS256","jwk":{"kty":"oct","k":")" + k + R"("}})",
          std::string(R"({"alg":"HS256","jku":"https://evil.example/jwks"})"),
          std::string(R"({"alg":"HS256","x5u":"https://evil.example/cert"})"),
          std::string(R"({"alg":"HS256","x5c":["MIIB"]})")}) {
        EXPECT_EQ(validate(make_token(header, test::good_payload, attacker)),
                  Error::signature_invalid)
            << header;
        // Present but ignored when the trusted key signed.
        EXPECT_EQ(validate(make_token(header, test::good_payload, key)), Error::ok) << header;
    }
}

TEST_F(ValidatorTest, CritIsRefused) {
    EXPECT_EQ(validate_header(R"({"alg":"HS256","crit":["b64"],"b64":false})"),
              Error::crit_unsupported);
}

TEST_F(ValidatorTest, NestedJwtIsRefused) {
    EXPECT_EQ(validate_header(R"({"alg":"HS256","cty":"JWT"})"), Error::cty_nested_jwt);
    EXPECT_EQ(validate_header(R"({"alg":"HS256","cty":"application/jwt"})"), Error::cty_nested_jwt);
    EXPECT_EQ(validate_header(R"({"alg":"HS256","cty":"json"})"), Error::ok);
    EXPECT_EQ(validate_header(R"({"alg":"HS256","cty":5})"), Error::cty_invalid);
}

TEST_F(ValidatorTest, SignatureLengthAndValue) {
    const std::string good = make_token(test::hs256_header, test::good_payload, key);
    const std::string input = good.substr(0, good.rfind('.') + 1);
    const std::string sig = good.substr(good.rfind('.') + 1);
    EXPECT_EQ(validate(input), Error::signature_length);
    EXPECT_EQ(validate(input + sig.substr(0, 40)), Error::signature_length);  // 30 bytes
    EXPECT_EQ(validate(input + sig + "A"), Error::signature_length);          // 33 bytes
    EXPECT_EQ(validate(input + std::string(4000, 'A')), Error::signature_length);
    std::string flipped = sig;
    flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
    EXPECT_EQ(validate(input + flipped), Error::signature_invalid);
    // Any change to the signed prefix breaks the signature.
    std::string changed = good;
    changed[5] = changed[5] == 'J' ? 'K' : 'J';
    EXPECT_NE(validate(changed), Error::ok);
}

TEST_F(ValidatorTest, ClaimPolicyIsApplied) {
    Validator::Options options;
    options.issuers = {"https://issuer.example"};
    options.leeway = 60;
    const Validator v(key, options);
    const std::string token = make_token(test::hs256_header, test::good_payload, key);
    EXPECT_EQ(v.validate(token, 1700000600 + 59, *claims), Error::ok);
    EXPECT_EQ(v.validate(token, 1700000600 + 60, *claims), Error::expired);
    options.issuers = {"https://other.example"};
    const Validator w(key, options);
    EXPECT_EQ(w.validate(token, test::now, *claims), Error::iss_mismatch);
    EXPECT_EQ(validate_payload(R"({"exp":1700000600,"iss":7})"), Error::iss_invalid);
    EXPECT_EQ(validate_payload(R"({"sub":"a"})"), Error::exp_missing);
}

TEST_F(ValidatorTest, NowOutsideNumericDatesIsRefused) {
    const std::string token = make_token(test::hs256_header, test::good_payload, key);
    for (const std::int64_t now : {INT64_MIN, std::int64_t{-1}, max_numeric_date + 1, INT64_MAX})
        EXPECT_EQ(validate(token, now), Error::now_invalid) << now;
    // The range's ends are times like any other.
    EXPECT_EQ(validate(token, 0), Error::iat_in_future);
    EXPECT_EQ(validate(token, max_numeric_date), Error::expired);
}

TEST_F(ValidatorTest, AConfiguredAudienceRefusesATokenWithoutAud) {
    Validator::Options options;
    options.audiences = {"api"};
    const std::string without = make_token(test::hs256_header, test::good_payload, key);
    EXPECT_EQ(Validator(key, options).validate(without, test::now, *claims), Error::aud_missing);
    options.allow_missing_aud = true;
    EXPECT_EQ(Validator(key, options).validate(without, test::now, *claims), Error::ok);
}

TEST_F(ValidatorTest, KeySelectionByKid) {
    const Hs256Key other(test::other_secret);
    KeySet keys;
    keys.add(key, "one");
    keys.add(other, "two");
    const Validator v(std::move(keys));
    auto token_for = [&](std::string_view kid, const Hs256Key& signer) {
        return make_token(R"({"alg":"HS256","kid":")" + std::string(kid) + "\"}",
                          test::good_payload, signer);
    };
    EXPECT_EQ(v.validate(token_for("one", key), test::now, *claims), Error::ok);
    EXPECT_EQ(v.validate(token_for("two", other), test::now, *claims), Error::ok);
    EXPECT_EQ(v.validate(token_for("two", key), test::now, *claims), Error::signature_invalid);
    EXPECT_EQ(v.validate(token_for("three", key), test::now, *claims), Error::kid_unknown);
    EXPECT_EQ(
        v.validate(make_token(test::hs256_header, test::good_payload, key), test::now, *claims),
        Error::kid_missing);
    EXPECT_EQ(v.validate(make_token(R"({"alg":"HS256","kid":1})", test::good_payload, key),
                         test::now, *claims),
              Error::kid_invalid);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool built_with_asan_or_tsan = true;
#elif defined(__has_feature)
constexpr bool built_with_asan_or_tsan =
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer);
#else
constexpr bool built_with_asan_or_tsan = false;
#endif

/// Whether the upper halves of the vector registers (YMM bits 128-255, ZMM
/// bits 256-511) may hold something: XINUSE (XGETBV with ECX = 1), bits 2
/// and 6. nullopt where the CPU cannot say.
std::optional<bool> wide_vector_state_in_use() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0), "c"(0));
    if (eax < 0xd) return std::nullopt;
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
    if ((ecx & (1u << 27)) == 0) return std::nullopt;  // no OSXSAVE: no XGETBV
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0xd), "c"(1));
    if ((eax & (1u << 2)) == 0) return std::nullopt;  // no XGETBV with ECX = 1
    unsigned low = 0, high = 0;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(1));
    return (low & 0x44u) != 0;
}

// OpenSSL's SHA-NI code (every HMAC, and the hashes of RS*, PS*, ES*) has
// only legacy SSE encodings; run while the upper halves of the vector
// registers are dirty, it is charged a state transition per instruction
// (measured on a 2-vCPU Xeon VM: 305 ns per pair of sha256rnds2 instead of
// 3.7, an HMAC ~100x slower). So every AVX2 stage before the signature must
// return with them clean, as the compilers' vzeroupper at the end of a
// target("avx2") function makes them: a stage inlined or compiled without
// it would pass every other test and fail this one.
TEST_F(ValidatorTest, SimdStagesReturnWithTheUpperVectorStateClean) {
    if (built_with_asan_or_tsan)
        GTEST_SKIP() << "a sanitizer's runtime, called from inside the stages, may leave the state "
                        "in use (seen with ASan); the optimized builds check it";
    const auto clean_at_start = wide_vector_state_in_use();
    if (!clean_at_start) GTEST_SKIP() << "this CPU cannot report its vector state (XGETBV 1)";
    if (*clean_at_start) GTEST_SKIP() << "the upper vector state is in use before the test";
    const std::string text(200, 'A');  // the AVX2 path: 32 characters per step
    std::vector<unsigned char> out(base64url_decoded_size(text.size()));
    std::size_t size = 0;
    ASSERT_EQ(base64url_decode(text, out.data(), size), Base64Status::ok);
    EXPECT_EQ(wide_vector_state_in_use(), false) << "after base64url_decode";
    // A whole validation: the header decoded and parsed (the memo emptied),
    // the signature and payload decoded, the payload's quotes indexed.
    detail::HeaderMemo::local().clear();
    ASSERT_EQ(validate(make_token(test::hs256_header, test::good_payload, key)), Error::ok);
    EXPECT_EQ(wide_vector_state_in_use(), false) << "after validate";
    detail::JsonBuffer payload(test::good_payload);
    ASSERT_EQ(detail::parse_claims(payload.data(), payload.size(), *claims), Error::ok);
    EXPECT_EQ(wide_vector_state_in_use(), false) << "after parse_claims";
}
#endif

TEST(ValidatorSetup, RefusesBadOptions) {
    const Hs256Key key(test::secret);
    auto code_of = [&](auto&& make) {
        try {
            make();
        } catch (const SetupError& e) {
            return e.code();
        }
        return Error::ok;
    };
    Validator::Options options;
    options.max_token_size = 0;
    EXPECT_EQ(code_of([&] { Validator v(key, options); }), Error::option_invalid);
    options.max_token_size = max_token_size_limit + 1;
    EXPECT_EQ(code_of([&] { Validator v(key, options); }), Error::option_invalid);
    options = {};
    options.leeway = -1;
    EXPECT_EQ(code_of([&] { Validator v(key, options); }), Error::option_invalid);
    options = {};
    options.max_lifetime = -5;
    EXPECT_EQ(code_of([&] { Validator v(key, options); }), Error::option_invalid);
    options.max_lifetime = max_numeric_date + 1;
    EXPECT_EQ(code_of([&] { Validator v(key, options); }), Error::option_invalid);
    options = {};
    options.leeway = max_leeway + 1;
    EXPECT_EQ(code_of([&] { Validator v(key, options); }), Error::option_invalid);
    EXPECT_EQ(code_of([&] { Validator v{KeySet{}}; }), Error::key_invalid);
    EXPECT_EQ(code_of([&] { Validator v(key); }), Error::ok);
}

}  // namespace
}  // namespace jwtguard
