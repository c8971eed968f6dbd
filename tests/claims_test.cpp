#include <jwtguard/claims.hpp>
#include <jwtguard/json.hpp>

#include <gtest/gtest.h>

#include <string>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using namespace std::literals;

/// Claims parsed from header and payload text, kept alive with their text.
struct Parsed {
    detail::JsonBuffer header_text;
    detail::JsonBuffer payload_text;
    std::unique_ptr<Claims> claims = test::new_claims();

    Parsed(std::string_view payload, std::string_view header = R"({"alg":"HS256"})")
        : header_text(header), payload_text(payload) {
        EXPECT_EQ(detail::parse_header(header_text.data(), header_text.size(), claims->header),
                  Error::ok);
        EXPECT_EQ(detail::parse_claims(payload_text.data(), payload_text.size(), *claims),
                  Error::ok);
    }
    Error check(const ClaimPolicy& policy, std::int64_t now) const {
        return check_claims(*claims, policy, now);
    }
};

TEST(Claims, ExpiryIsExclusiveAndLeewayExtendsIt) {
    const Parsed p(R"({"exp":1000})");
    ClaimPolicy policy;
    EXPECT_EQ(p.check(policy, 999), Error::ok);
    EXPECT_EQ(p.check(policy, 1000), Error::expired);
    policy.leeway = 30;
    EXPECT_EQ(p.check(policy, 1029), Error::ok);
    EXPECT_EQ(p.check(policy, 1030), Error::expired);
}

TEST(Claims, FractionalExpiryIsExact) {
    const Parsed p(R"({"exp":1000.5})");
    EXPECT_EQ(p.check({}, 1000), Error::ok);
    EXPECT_EQ(p.check({}, 1001), Error::expired);
}

TEST(Claims, ExpIsRequiredByDefault) {
    const Parsed p(R"({"sub":"a"})");
    ClaimPolicy policy;
    EXPECT_EQ(p.check(policy, 0), Error::exp_missing);
    policy.require_exp = false;
    EXPECT_EQ(p.check(policy, 0), Error::ok);
}

TEST(Claims, NotBefore) {
    const Parsed p(R"({"exp":2000,"nbf":1000})");
    ClaimPolicy policy;
    EXPECT_EQ(p.check(policy, 999), Error::not_yet_valid);
    EXPECT_EQ(p.check(policy, 1000), Error::ok);
    policy.leeway = 10;
    EXPECT_EQ(p.check(policy, 990), Error::ok);
    EXPECT_EQ(p.check(policy, 989), Error::not_yet_valid);
}

TEST(Claims, IssuedInTheFuture) {
    const Parsed p(R"({"exp":2000,"iat":1000})");
    ClaimPolicy policy;
    EXPECT_EQ(p.check(policy, 999), Error::iat_in_future);
    EXPECT_EQ(p.check(policy, 1000), Error::ok);
    policy.leeway = 5;
    EXPECT_EQ(p.check(policy, 995), Error::ok);
    EXPECT_EQ(p.check(policy, 994), Error::iat_in_future);
}

TEST(Claims, ExtremeNowNeverOverflows) {
    const Parsed p(R"({"exp":9007199254740992,"nbf":0,"iat":0})");
    ClaimPolicy policy;
    policy.leeway = std::int64_t{1} << 31;
    EXPECT_EQ(p.check(policy, INT64_MIN), Error::not_yet_valid);
    EXPECT_EQ(p.check(policy, INT64_MAX), Error::expired);
}

TEST(Claims, MaximumLifetime) {
    ClaimPolicy policy;
    policy.max_lifetime = 3600;
    EXPECT_EQ(Parsed(R"({"iat":1000,"exp":4600})").check(policy, 1000), Error::ok);
    EXPECT_EQ(Parsed(R"({"iat":1000,"exp":4601})").check(policy, 1000), Error::lifetime_exceeded);
    EXPECT_EQ(Parsed(R"({"exp":4600})").check(policy, 1000), Error::iat_missing);
    policy.require_exp = false;
    EXPECT_EQ(Parsed(R"({"iat":1000})").check(policy, 1000), Error::exp_missing);
    policy.max_lifetime = 0;  // off
    EXPECT_EQ(Parsed(R"({"iat":1000,"exp":999999})").check(policy, 1000), Error::ok);
}

TEST(Claims, Issuer) {
    ClaimPolicy policy;
    EXPECT_EQ(Parsed(R"({"exp":9,"iss":"anyone"})").check(policy, 0), Error::ok);
    policy.issuers = {"https://a.example", "https://b.example"};
    EXPECT_EQ(Parsed(R"({"exp":9,"iss":"https://b.example"})").check(policy, 0), Error::ok);
    EXPECT_EQ(Parsed(R"({"exp":9,"iss":"https://c.example"})").check(policy, 0),
              Error::iss_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9,"iss":"https://A.example"})").check(policy, 0),
              Error::iss_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::iss_missing);
    // Length-aware: an escaped NUL does not end the string.
    EXPECT_EQ(Parsed(R"({"exp":9,"iss":"https://a.example\u0000x"})").check(policy, 0),
              Error::iss_mismatch);
}

TEST(Claims, Audience) {
    ClaimPolicy policy;
    policy.audiences = {"api", "admin"};
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":"api"})").check(policy, 0), Error::ok);
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":["web","admin"]})").check(policy, 0), Error::ok);
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":["web","mobile"]})").check(policy, 0), Error::aud_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":"API"})").check(policy, 0), Error::aud_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::ok);
    policy.require_aud = true;
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::aud_missing);
}

TEST(Claims, AudienceNamingSomeoneElseIsRefusedEvenWithoutPolicy) {
    // RFC 7519 4.1.3: a recipient that does not identify itself with a value
    // in aud MUST reject the token.
    const ClaimPolicy policy;
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":"api"})").check(policy, 0), Error::aud_mismatch);
}

TEST(Claims, Type) {
    ClaimPolicy policy;
    EXPECT_EQ(Parsed(R"({"exp":9})", R"({"alg":"HS256","typ":"whatever"})").check(policy, 0),
              Error::ok);
    policy.typ = "at+jwt";
    EXPECT_EQ(Parsed(R"({"exp":9})", R"({"alg":"HS256","typ":"at+jwt"})").check(policy, 0),
              Error::ok);
    EXPECT_EQ(
        Parsed(R"({"exp":9})", R"({"alg":"HS256","typ":"application/AT+JWT"})").check(policy, 0),
        Error::ok);
    EXPECT_EQ(Parsed(R"({"exp":9})", R"({"alg":"HS256","typ":"JWT"})").check(policy, 0),
              Error::typ_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9})", R"({"alg":"HS256","typ":"application/"})").check(policy, 0),
              Error::typ_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::typ_missing);
    policy.typ = "application/at+jwt";
    EXPECT_EQ(Parsed(R"({"exp":9})", R"({"alg":"HS256","typ":"AT+jwt"})").check(policy, 0),
              Error::ok);
}

TEST(Claims, TypMatching) {
    EXPECT_TRUE(typ_matches("JWT", "jwt"));
    EXPECT_TRUE(typ_matches("application/jwt", "JWT"));
    EXPECT_TRUE(typ_matches("APPLICATION/jwt", "application/JWT"));
    EXPECT_FALSE(typ_matches("application/jwt+x", "jwt"));
    EXPECT_FALSE(typ_matches("text/jwt", "jwt"));
    EXPECT_FALSE(typ_matches("jwt\0"sv, "jwt"));
}

TEST(Claims, ChecksRunInAFixedOrder) {
    ClaimPolicy policy;
    policy.issuers = {"good"};
    policy.audiences = {"good"};
    const Parsed p(R"({"exp":10,"nbf":100,"iss":"bad","aud":"bad"})");
    EXPECT_EQ(p.check(policy, 50), Error::expired);
    EXPECT_EQ(p.check(policy, 5), Error::not_yet_valid);
    const Parsed q(R"({"exp":10,"iss":"bad","aud":"bad"})");
    EXPECT_EQ(q.check(policy, 5), Error::iss_mismatch);
}

}  // namespace
}  // namespace jwtguard
