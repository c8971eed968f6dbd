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

TEST(Claims, NowIsANumericDate) {
    // time.hpp: every instant is in [0, 2^53]; a `now` outside is the
    // caller's error, refused before any arithmetic with it.
    const Parsed p(R"({"exp":9007199254740992,"nbf":0,"iat":0})");
    ClaimPolicy policy;
    EXPECT_EQ(p.check(policy, 0), Error::ok);
    EXPECT_EQ(p.check(policy, max_numeric_date - 1), Error::ok);
    EXPECT_EQ(p.check(policy, max_numeric_date), Error::expired);
    policy.leeway = max_leeway;
    EXPECT_EQ(p.check(policy, max_numeric_date), Error::ok);
    for (const std::int64_t now : {INT64_MIN, std::int64_t{-1}, max_numeric_date + 1, INT64_MAX})
        EXPECT_EQ(p.check(policy, now), Error::now_invalid) << now;
}

TEST(Claims, APolicyOutOfRangeIsRefusedNotComputedWith) {
    // check_claims is public: a policy the Validator would refuse at setup
    // must not overflow here either.
    const Parsed p(R"({"exp":9007199254740992,"iat":0})");
    for (const std::int64_t leeway : {INT64_MIN, std::int64_t{-1}, max_leeway + 1, INT64_MAX}) {
        ClaimPolicy policy;
        policy.leeway = leeway;
        EXPECT_EQ(p.check(policy, 0), Error::option_invalid) << leeway;
    }
    for (const std::int64_t lifetime : {INT64_MIN, max_numeric_date + 1, INT64_MAX}) {
        ClaimPolicy policy;
        policy.max_lifetime = lifetime;
        EXPECT_EQ(p.check(policy, 0), Error::option_invalid) << lifetime;
    }
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

TEST(Claims, MaximumLifetimeIsComparedOnTheDatesAsWritten) {
    // Rounded up to whole seconds, iat 1699999899.5 reads 1699999900 and a
    // 100.5 s lifetime would pass a 100 s limit: the fractions count.
    ClaimPolicy policy;
    policy.max_lifetime = 100;
    const auto check = [&](std::string_view iat, std::string_view exp) {
        return Parsed(std::string(R"({"iat":)") + std::string(iat) + R"(,"exp":)" +
                      std::string(exp) + "}")
            .check(policy, 1699999950);
    };
    EXPECT_EQ(check("1699999899.5", "1700000000"), Error::lifetime_exceeded);
    EXPECT_EQ(check("1699999900", "1700000000"), Error::ok);
    EXPECT_EQ(check("1699999900", "1700000000.5"), Error::lifetime_exceeded);
    EXPECT_EQ(check("1699999899.5", "1699999999.5"), Error::ok);  // exactly 100
    EXPECT_EQ(check("1699999899.25", "1699999999.5"), Error::lifetime_exceeded);
    EXPECT_EQ(check("1699999899.5", "1699999999.25"), Error::ok);
    EXPECT_EQ(check("1699999899.5", "1699999999.4"), Error::ok);                 // 99.9
    EXPECT_EQ(check("1699999899.5", "1699999999.6"), Error::lifetime_exceeded);  // 100.1
    // Exponents and long fractions are read exactly too.
    EXPECT_EQ(check("16999998995e-1", "1.6999999995e9"), Error::ok);
    EXPECT_EQ(check("1699999899.0000000000000000001", "1699999999.0000000000000000001"), Error::ok);
    EXPECT_EQ(check("1699999899.0000000000000000001", "1699999999.0000000000000000002"),
              Error::lifetime_exceeded);
    EXPECT_EQ(check("1699999899.00000000000000000001", "1699999999.1"), Error::lifetime_exceeded);
    EXPECT_EQ(check("1699999899.1", "1699999999.00000000000000000001"), Error::ok);
    // Equal in their first 19 fraction digits and both longer: they cannot
    // be told apart here, and are refused (the stricter reading).
    EXPECT_EQ(check("1699999899.00000000000000000001", "1699999999.00000000000000000001"),
              Error::lifetime_exceeded);
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
}

TEST(Claims, AConfiguredAudienceRequiresAud) {
    // RFC 8725 3.9: a token without aud may have been minted for another
    // service; with an audience configured it is refused, as a configured
    // issuer refuses a token without iss.
    ClaimPolicy policy;
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::ok);
    policy.audiences = {"api"};
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::aud_missing);
    // The deliberate opt-out for legacy issuers, and only for a missing aud.
    policy.allow_missing_aud = true;
    EXPECT_EQ(Parsed(R"({"exp":9})").check(policy, 0), Error::ok);
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":"web"})").check(policy, 0), Error::aud_mismatch);
    EXPECT_EQ(Parsed(R"({"exp":9,"aud":"api"})").check(policy, 0), Error::ok);
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
