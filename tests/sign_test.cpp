#include <jwtguard/sign.hpp>
#include <jwtguard/validator.hpp>

#include <gtest/gtest.h>

#include <string>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

// sign.hpp is this file's first include: it must still configure rapidjson
// (config.hpp before any rapidjson header), or this translation unit would
// compile rapidjson's scalar scanning next to the others' SIMD one.
#if JWTGUARD_RAPIDJSON_SIMD && defined(__SSE2__)
static_assert(
#if defined(RAPIDJSON_SSE2) || defined(RAPIDJSON_SSE42)
    true,
#else
    false,
#endif
    "a jwtguard header included rapidjson before config.hpp");
#endif

using test::decoded;

TEST(Sign, RoundTripsThroughTheValidator) {
    const Hs256Key key(test::secret);
    SignOptions options;
    options.kid = "k\"1";
    const std::string token = sign(key, test::good_payload, options);
    KeySet keys;
    keys.add(key, "k\"1");
    const Validator validator(std::move(keys));
    auto claims = test::new_claims();
    ASSERT_EQ(validator.validate(token, test::now, *claims), Error::ok);
    EXPECT_EQ(claims->header.kid, "k\"1");
    EXPECT_EQ(claims->header.typ, "JWT");
    EXPECT_EQ(claims->sub, "alice");
    EXPECT_EQ(claims->payload_json(), test::good_payload);
}

TEST(Sign, CompactsTheClaimsAndKeepsNumbers) {
    const Hs256Key key(test::secret);
    const std::string token = sign(key, "{ \"exp\" : 1.50e9 ,\n \"n\": -0.0, \"s\":\"\\u00e9\" }");
    const auto dot = token.find('.');
    const auto dot2 = token.find('.', dot + 1);
    EXPECT_EQ(decoded(token.substr(0, dot)), R"({"alg":"HS256","typ":"JWT"})");
    EXPECT_EQ(decoded(token.substr(dot + 1, dot2 - dot - 1)),
              "{\"exp\":1.50e9,\"n\":-0.0,\"s\":\"\xc3\xa9\"}");
}

TEST(Sign, RefusesClaimsTheValidatorWouldRefuse) {
    const Hs256Key key(test::secret);
    const std::pair<std::string_view, Error> cases[] = {
        {R"({"a":1,"a":2})", Error::payload_duplicate_member},
        {R"({"exp":"tomorrow"})", Error::exp_invalid},
        {R"([1])", Error::payload_not_object},
        {R"({"a":1)", Error::payload_json_invalid},
        {"{\"a\":\"\xff\"}", Error::payload_invalid_utf8},
    };
    for (const auto& [claims, error] : cases) {
        try {
            (void)sign(key, claims);
            ADD_FAILURE() << "signed " << claims;
        } catch (const SetupError& e) {
            EXPECT_EQ(e.code(), error) << claims;
        }
    }
}

TEST(Sign, OmitsTypWhenAskedTo) {
    SignOptions options;
    options.typ.clear();
    const std::string token = sign(Hs256Key(test::secret), R"({"exp":1})", options);
    EXPECT_EQ(decoded(token.substr(0, token.find('.'))), R"({"alg":"HS256"})");
}

}  // namespace
}  // namespace jwtguard
