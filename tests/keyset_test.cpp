#include <jwtguard/keyset.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_keys.hpp"
#include "test_tokens.hpp"

namespace jwtguard {
namespace {

const Hs256Key key_a(test::secret);
const Hs256Key key_b(test::other_secret);

TEST(KeySet, KidSelectsItsKey) {
    KeySet keys;
    keys.add(key_a, "a");
    keys.add(key_b, "b");
    const auto found = keys.find("b", "HS256");
    ASSERT_EQ(found.error, Error::ok);
    EXPECT_EQ(found.key, keys.find("b", "RS256").key);  // alg is the caller's check
    EXPECT_NE(found.key, keys.find("a", "HS256").key);
    EXPECT_EQ(keys.find("c", "HS256").error, Error::kid_unknown);
    EXPECT_EQ(keys.find("", "HS256").error, Error::kid_unknown);
    EXPECT_EQ(keys.find("A", "HS256").error, Error::kid_unknown);
}

TEST(KeySet, NoKidNeedsExactlyOneKeyForTheAlg) {
    KeySet one;
    one.add(key_a, "a");
    EXPECT_EQ(one.find(std::nullopt, "HS256").error, Error::ok);
    EXPECT_EQ(one.find(std::nullopt, "RS256").error, Error::alg_mismatch);
    KeySet two;
    two.add(key_a, "a");
    two.add(key_b);
    EXPECT_EQ(two.find(std::nullopt, "HS256").error, Error::kid_missing);
}

TEST(KeySet, KeyWithoutKidChecksTokensNamingAnUnknownKid) {
    KeySet keys;
    keys.add(key_a);
    const auto found = keys.find("whatever", "HS256");
    ASSERT_EQ(found.error, Error::ok);
    // A key with a kid never checks another kid.
    keys.add(key_b, "b");
    ASSERT_EQ(keys.find("whatever", "HS256").error, Error::ok);
    EXPECT_NE(keys.find("whatever", "HS256").key, keys.find("b", "HS256").key);
    KeySet keyed;
    keyed.add(key_b, "b");
    EXPECT_EQ(keyed.find("whatever", "HS256").error, Error::kid_unknown);
    // Two bare keys: ambiguous.
    keys.add(key_b);
    EXPECT_EQ(keys.find("whatever", "HS256").error, Error::kid_unknown);
}

TEST(KeySet, DuplicateKidIsASetupError) {
    KeySet keys;
    keys.add(key_a, "a");
    try {
        keys.add(key_b, "a");
        FAIL() << "duplicate kid accepted";
    } catch (const SetupError& e) {
        EXPECT_EQ(e.code(), Error::key_invalid);
    }
    EXPECT_EQ(keys.size(), 1u);
}

TEST(KeySet, MergeAddsEveryKeyOrNoneWhenAKidRepeats) {
    KeySet keys;
    keys.add(key_a, "a");
    KeySet more;
    more.add(key_b, "b");
    more.add(key_a, "d");
    keys.merge(more);
    EXPECT_EQ(keys.size(), 3u);
    EXPECT_EQ(keys.find("b", "HS256").error, Error::ok);
    KeySet clash;
    clash.add(key_b, "c");
    clash.add(key_b, "a");
    EXPECT_THROW(keys.merge(clash), SetupError);
    EXPECT_EQ(keys.size(), 3u);
    EXPECT_EQ(keys.find("c", "HS256").error, Error::kid_unknown);
}

TEST(KeySet, RemoveByKid) {
    KeySet keys;
    keys.add(key_a, "a");
    keys.add(key_b, "b");
    EXPECT_TRUE(keys.remove("a"));
    EXPECT_FALSE(keys.remove("a"));
    EXPECT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys.find("a", "HS256").error, Error::kid_unknown);
    EXPECT_EQ(keys.find("b", "HS256").error, Error::ok);
}

using test::jwks;
using test::oct_jwk;
using test::rsa_jwk;

TEST(Jwks, LoadsGoodKeysAndReportsEachBadOneWithItsReason) {
    EVP_PKEY* rsa = test::rsa_key(2048);
    EVP_PKEY* weak = EVP_RSA_gen(1024);
    const std::string doc = jwks({
        rsa_jwk(rsa, R"(,"kid":"r1","alg":"RS256","use":"sig")"),             // 0 ok
        oct_jwk(test::secret, R"(,"kid":"h1","alg":"HS256")"),                // 1 ok
        rsa_jwk(rsa, R"(,"kid":"enc","alg":"RS256","use":"enc")"),            // 2 use
        rsa_jwk(weak, R"(,"kid":"weak","alg":"RS256")"),                      // 3 short
        rsa_jwk(rsa, R"(,"kid":"xs","alg":"XS256")"),                         // 4 alg
        oct_jwk("short", R"(,"kid":"hs","alg":"HS256")"),                     // 5 short secret
        R"({"kty":"EC","kid":"ec","alg":"ES256","crv":"P-256"})",             // 6 no x, y
        rsa_jwk(rsa, R"(,"kid":"priv","alg":"RS256","d":"AQAB")"),            // 7 private
        rsa_jwk(rsa, R"(,"kid":"r1","alg":"RS256")"),                         // 8 duplicate kid
        R"({"kty":"RSA","kid":"pad","alg":"RS256","n":"AQAB=","e":"AQAB"})",  // 9 padding
        rsa_jwk(rsa, R"(,"kid":"noalg")"),                                 // 10 no alg, no default
        rsa_jwk(rsa, R"(,"kid":"ops","alg":"RS256","key_ops":["sign"])"),  // 11 key_ops
        R"("not an object")",                                              // 12
        rsa_jwk(rsa, R"(,"kid":7,"alg":"RS256")"),                         // 13 kid type
    });
    EVP_PKEY_free(weak);
    const JwksLoad load = load_jwks(doc);
    EXPECT_EQ(load.keys.size(), 2u);
    EXPECT_EQ(load.keys.find("r1", "RS256").error, Error::ok);
    EXPECT_EQ(load.keys.find("h1", "HS256").error, Error::ok);
    ASSERT_EQ(load.rejected.size(), 12u);
    std::vector<std::size_t> indexes;
    for (const JwkRejection& r : load.rejected) {
        indexes.push_back(r.index);
        EXPECT_FALSE(r.reason.empty()) << r.index;
    }
    EXPECT_EQ(indexes, (std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
    EXPECT_EQ(load.rejected[0].kid, "enc");
    EXPECT_NE(load.rejected[0].reason.find("use"), std::string::npos);
    EXPECT_EQ(load.rejected[1].code, Error::key_too_short);
    EXPECT_EQ(load.rejected[3].code, Error::key_too_short);
    EXPECT_NE(load.rejected[2].reason.find("XS256"), std::string::npos);
    EXPECT_NE(load.rejected[4].reason.find("\"x\""), std::string::npos);
    EXPECT_NE(load.rejected[5].reason.find("private"), std::string::npos);
    EXPECT_NE(load.rejected[8].reason.find("alg"), std::string::npos);
}

TEST(Jwks, ModulusWithALeadingZeroOctetIsRefused) {
    EVP_PKEY* rsa = test::rsa_key(2048);
    const std::string jwk = rsa_jwk(rsa, R"(,"alg":"RS256")");
    // Re-encode n with a zero octet in front: the same number, not minimal.
    const auto n_at = jwk.find(R"("n":")") + 5;
    const std::string n = test::decoded(jwk.substr(n_at, jwk.find('"', n_at) - n_at));
    std::string padded = jwk;
    padded.replace(n_at, jwk.find('"', n_at) - n_at, base64url_encode(std::string(1, '\0') + n));
    EXPECT_NO_THROW((void)load_jwk(jwk));
    EXPECT_THROW((void)load_jwk(padded), SetupError);
}

TEST(Jwks, KeyWithoutAlgTakesTheCallersAlgorithm) {
    EVP_PKEY* rsa = test::rsa_key(2048);
    const std::string doc =
        jwks({rsa_jwk(rsa, R"(,"kid":"r")"), oct_jwk(test::secret, R"(,"kid":"h")")});
    const JwksLoad as_rs = load_jwks(doc, "RS256");
    EXPECT_EQ(as_rs.keys.size(), 1u);  // the oct key cannot be RS256
    EXPECT_EQ(as_rs.keys.find("r", "RS256").error, Error::ok);
    const JwksLoad as_hs = load_jwks(doc, "HS256");
    EXPECT_EQ(as_hs.keys.size(), 1u);
    EXPECT_EQ(as_hs.keys.find("h", "HS256").error, Error::ok);
    // A JWK's own alg wins over the caller's.
    const JwksLoad pinned = load_jwks(jwks({rsa_jwk(rsa, R"(,"kid":"r","alg":"RS256")")}), "HS256");
    EXPECT_EQ(pinned.keys.size(), 1u);
}

TEST(Jwks, TokensVerifyWithTheKeyTheirKidNames) {
    EVP_PKEY* r1 = test::rsa_key(2048);
    EVP_PKEY* r2 = test::rsa_key(3072);
    const JwksLoad load = load_jwks(jwks({rsa_jwk(r1, R"(,"kid":"one","alg":"RS256")"),
                                          rsa_jwk(r2, R"(,"kid":"two","alg":"RS256")")}));
    ASSERT_TRUE(load.rejected.empty());
    const Validator validator(load.keys);
    auto claims = test::new_claims();
    EXPECT_EQ(validator.validate(
                  test::rs256_token(r2, R"({"alg":"RS256","kid":"two"})", R"({"exp":1700000600})"),
                  test::now, *claims),
              Error::ok);
    EXPECT_EQ(validator.validate(
                  test::rs256_token(r2, R"({"alg":"RS256","kid":"one"})", R"({"exp":1700000600})"),
                  test::now, *claims),
              Error::signature_length);
    EXPECT_EQ(
        validator.validate(test::rs256_token(r1, R"({"alg":"RS256"})", R"({"exp":1700000600})"),
                           test::now, *claims),
        Error::kid_missing);  // two RS256 keys: a kid-less token is ambiguous
}

TEST(Jwks, UnusableDocumentsAreSetupErrors) {
    EXPECT_THROW((void)load_jwks("not json"), SetupError);
    EXPECT_THROW((void)load_jwks(R"({"keys":{}})"), SetupError);
    EXPECT_THROW((void)load_jwks(R"([])"), SetupError);
    EXPECT_THROW((void)load_jwks(R"({"keys":[]} trailing)"), SetupError);
    EXPECT_EQ(load_jwks(R"({"keys":[]})").keys.size(), 0u);
    EXPECT_THROW((void)load_jwk(R"({"kty":"oct","k":"c2hvcnQ","alg":"HS256"})"), SetupError);
    EXPECT_NO_THROW((void)load_jwk(oct_jwk(test::secret, R"(,"alg":"HS256")")));
}

TEST(Jwks, MemberNamedTwiceIsRefusedNotResolved) {
    // RFC 7517 section 4: refuse, or keep the last. rapidjson would find the
    // first "alg" (HS256) here, so a silent load would pick the wrong one.
    const std::string twice = oct_jwk(test::secret, R"(,"kid":"h","alg":"HS256","alg":"RS256")");
    EXPECT_THROW((void)load_jwk(twice), SetupError);
    const JwksLoad load = load_jwks(jwks({twice, oct_jwk(test::secret, R"(,"kid":"g")")}), "HS256");
    EXPECT_EQ(load.keys.size(), 1u);
    ASSERT_EQ(load.rejected.size(), 1u);
    EXPECT_EQ(load.rejected[0].index, 0u);
    EXPECT_NE(load.rejected[0].reason.find("\"alg\" twice"), std::string::npos);
    // The document's own members too.
    EXPECT_THROW((void)load_jwks(R"({"keys":[],"keys":[]})"), SetupError);
    // And at every depth of a JWK (as in a token), refusing that JWK alone.
    const std::string nested =
        oct_jwk(test::secret, R"(,"kid":"n","alg":"HS256","ext":{"a":[{"b":1,"b":2}]})");
    EXPECT_THROW((void)load_jwk(nested), SetupError);
    const JwksLoad partly =
        load_jwks(jwks({nested, oct_jwk(test::secret, R"(,"kid":"g")")}), "HS256");
    EXPECT_EQ(partly.keys.size(), 1u);
    ASSERT_EQ(partly.rejected.size(), 1u);
    EXPECT_NE(partly.rejected[0].reason.find("\"b\" twice"), std::string::npos);
    std::string deep = "1";
    for (int level = 0; level < max_json_depth; ++level)
        deep = "[" + deep + "]";
    EXPECT_THROW((void)load_jwk(oct_jwk(test::secret, R"(,"alg":"HS256","x":)" + deep)),
                 SetupError);
    // No JWK has more members than a token header may.
    std::string wide = oct_jwk(test::secret, R"(,"alg":"HS256")");
    wide.pop_back();
    for (std::size_t i = 0; i < max_members; ++i) {
        wide += ",\"x";
        wide += std::to_string(i);
        wide += "\":0";
    }
    EXPECT_THROW((void)load_jwk(wide + "}"), SetupError);
}

TEST(Jwks, DocumentMustBeStrictJson) {
    // The reason each refusal gives.
    auto refusal = [](const std::string& doc) -> std::string {
        try {
            (void)load_jwks(doc);
        } catch (const SetupError& e) {
            EXPECT_EQ(e.code(), Error::key_invalid);
            return e.what();
        }
        return "loaded";
    };
    auto says = [](const std::string& reason, std::string_view part) {
        return reason.find(part) != std::string::npos;
    };
    const std::string good = jwks({oct_jwk(test::secret, R"(,"kid":"h","alg":"HS256")")});
    ASSERT_EQ(load_jwks(good).keys.size(), 1u);
    // rapidjson would stop at the NUL and accept what came before.
    EXPECT_PRED2(says, refusal(good + std::string(1, '\0') + "junk"), "raw control character");
    std::string bad_utf8 = good;
    bad_utf8.replace(bad_utf8.find("\"h\""), 3, "\"\xff\"");
    EXPECT_PRED2(says, refusal(bad_utf8), "not valid UTF-8");
    // A truncated sequence at the very end (rapidjson's own check would read
    // past the end of the text here; ASan builds catch that).
    EXPECT_PRED2(says, refusal(R"({"keys":[],"x":")" + std::string("\xea")), "not valid UTF-8");
    EXPECT_PRED2(says, refusal(R"({"keys":[],"kid":"\udc00"})"), "lone surrogate");
    // A raw control character in a string (rapidjson's SIMD scanning
    // misses 0x1A-0x1F; found by fuzz_jwks).
    std::string control = good;
    control.replace(control.find("\"h\""), 3, "\"h01234567890123456789012345678901234\x1b\"");
    EXPECT_PRED2(says, refusal(control), "raw control character");
    // rapidjson's length-taking Parse skips BOM bytes, even one alone.
    EXPECT_PRED2(says, refusal("\xbf" + good), "not valid UTF-8");
    EXPECT_PRED2(says, refusal("\xef\xbb\xbf" + good), "not valid JSON");
    // Nesting deep enough to exhaust a recursive parser's stack.
    EXPECT_PRED2(says, refusal(std::string(1'000'000, '[')), "not valid JSON");
}

TEST(KeySet, RequireKidRefusesKidlessTokensEvenWithOneKey) {
    const std::string kidless =
        test::make_token(R"({"alg":"HS256"})", R"({"exp":1700000600})", key_a);
    auto claims = test::new_claims();
    EXPECT_EQ(Validator(key_a).validate(kidless, test::now, *claims), Error::ok);
    Validator::Options options;
    options.require_kid = true;
    EXPECT_EQ(Validator(key_a, options).validate(kidless, test::now, *claims), Error::kid_missing);
    KeySet keys;
    keys.add(key_a, "a");
    const std::string with_kid =
        test::make_token(R"({"alg":"HS256","kid":"a"})", R"({"exp":1700000600})", key_a);
    EXPECT_EQ(Validator(keys, options).validate(with_kid, test::now, *claims), Error::ok);
}

TEST(Rotation, RemovedKeyFailsAtOnceAndAddedKeyWorks) {
    Validator validator{KeySet(key_a)};
    auto claims = test::new_claims();
    const std::string by_a =
        test::make_token(R"({"alg":"HS256","kid":"a"})", R"({"exp":1700000600})", key_a);
    const std::string by_b =
        test::make_token(R"({"alg":"HS256","kid":"b"})", R"({"exp":1700000600})", key_b);
    KeySet start;
    start.add(key_a, "a");
    validator.replace_keys(start);
    EXPECT_EQ(validator.validate(by_a, test::now, *claims), Error::ok);
    EXPECT_EQ(validator.validate(by_b, test::now, *claims), Error::kid_unknown);
    validator.add_key(key_b, "b");
    EXPECT_EQ(validator.validate(by_b, test::now, *claims), Error::ok);
    EXPECT_THROW(validator.add_key(key_b, "b"), SetupError);
    EXPECT_TRUE(validator.remove_key("a"));
    EXPECT_EQ(validator.validate(by_a, test::now, *claims), Error::kid_unknown);
    EXPECT_FALSE(validator.remove_key("a"));
    EXPECT_EQ(validator.keys().size(), 1u);
}

TEST(Rotation, ValidatorsKeepRunningWhileKeysChange) {
    // Readers validate tokens of a key that is always present and of one
    // that comes and goes; a writer rotates and reloads meanwhile.
    KeySet start;
    start.add(key_a, "stable");
    Validator validator(start);
    const std::string stable =
        test::make_token(R"({"alg":"HS256","kid":"stable"})", R"({"exp":1700000600})", key_a);
    const std::string coming =
        test::make_token(R"({"alg":"HS256","kid":"coming"})", R"({"exp":1700000600})", key_b);
    std::atomic<bool> stop{false};
    std::atomic<int> wrong{0};
    std::atomic<long> seen_present{0}, seen_absent{0};
    auto reader = [&] {
        auto claims = test::new_claims();
        while (!stop.load()) {
            if (validator.validate(stable, test::now, *claims) != Error::ok) ++wrong;
            const Error e = validator.validate(coming, test::now, *claims);
            if (e == Error::ok)
                ++seen_present;
            else if (e == Error::kid_unknown)
                ++seen_absent;
            else
                ++wrong;
        }
    };
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i)
        readers.emplace_back(reader);
    // At least 2000 changes, and on until the readers have validated a while
    // (on a busy 2-core machine they may start only after 2000 are done).
    for (int round = 0; round < 2000 || seen_present.load() + seen_absent.load() < 2000; ++round) {
        switch (round % 3) {
            case 0:
                validator.add_key(key_b, "coming");
                break;
            case 1:
                validator.remove_key("coming");
                break;
            default: {
                KeySet reload;
                reload.add(key_a, "stable");
                if (round % 2 == 0) reload.add(key_b, "coming");
                validator.replace_keys(std::move(reload));
                if (round % 2 == 0) validator.remove_key("coming");
            }
        }
        // After each change the writer itself sees exactly its effect.
        auto claims = test::new_claims();
        const bool present = validator.keys().find("coming", "HS256").error == Error::ok;
        EXPECT_EQ(validator.validate(coming, test::now, *claims) == Error::ok, present);
    }
    stop = true;
    for (auto& t : readers)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(seen_present.load() + seen_absent.load(), 0);
}

}  // namespace
}  // namespace jwtguard
