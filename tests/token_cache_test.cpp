// The verified-token cache (token_cache.hpp) through the Validator: a hit
// gives exactly the verdict and the Claims of a full validation, and
// everything time- or state-dependent is checked again on every hit.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "jwtguard/jwtguard.hpp"
#include "test_keys.hpp"
#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using test::now;

Validator::Options cached(std::size_t entries = 64) {
    Validator::Options o;
    o.issuers = {"https://issuer.example"};
    o.audiences = {"api"};
    o.token_cache.entries = entries;
    return o;
}

std::string payload(std::string_view jti, std::int64_t exp = now + 600, std::string extra = "") {
    return R"({"iss":"https://issuer.example","sub":"alice","aud":["web","api"],"iat":)" +
           std::to_string(now - 100) + R"(,"exp":)" + std::to_string(exp) +
           (jti.empty() ? std::string() : R"(,"jti":")" + std::string(jti) + "\"") + extra + "}";
}

/// Every field a caller can read, compared.
void expect_same(const Claims& a, const Claims& b) {
    EXPECT_EQ(a.header.alg, b.header.alg);
    EXPECT_EQ(a.header.kid, b.header.kid);
    EXPECT_EQ(a.header.typ, b.header.typ);
    EXPECT_EQ(a.header.cty, b.header.cty);
    EXPECT_EQ(a.iss, b.iss);
    EXPECT_EQ(a.sub, b.sub);
    EXPECT_EQ(a.jti, b.jti);
    EXPECT_EQ(a.exp, b.exp);
    EXPECT_EQ(a.nbf, b.nbf);
    EXPECT_EQ(a.iat, b.iat);
    EXPECT_EQ(a.has_aud(), b.has_aud());
    ASSERT_EQ(a.aud().size(), b.aud().size());
    for (std::size_t i = 0; i < a.aud().size(); ++i)
        EXPECT_EQ(a.aud()[i], b.aud()[i]);
    EXPECT_EQ(a.payload_json(), b.payload_json());
}

TEST(TokenCache, AHitGivesTheVerdictAndClaimsOfAFullValidation) {
    // Tokens valid and not, some with escapes, many audiences, fractional
    // dates, no jti; each validated by an uncached validator and twice by a
    // cached one (the second time from the cache when it was verified).
    KeySet keys;
    keys.add(Hs256Key(test::secret), "k1");
    keys.add(Hs256Key(test::other_secret), "k2");
    Validator::Options options = cached(16);  // small: evictions too
    const Validator with_cache(keys, options);
    options.token_cache.entries = 0;
    const Validator without(keys, options);
    std::mt19937 rng(5);
    const std::vector<std::string> extras = {
        "",
        R"(,"nbf":1699999000.5)",
        R"(,"email":"a\u00e9b@example.com","roles":["r\"1","r2"])",
        R"(,"aud":["a","b","c","d","e","f","api"])",
        R"(,"nbf":1800000000)",
        R"(,"iss":"https://elsewhere.example")",
    };
    const auto fresh = test::new_claims();
    const auto first = test::new_claims();
    const auto second = test::new_claims();
    int hits = 0;
    for (int round = 0; round < 400; ++round) {
        const std::string kid = rng() % 2 ? "k1" : "k2";
        const std::string header = R"({"alg":"HS256","typ":"JWT","kid":")" + kid + "\"}";
        std::string token =
            test::make_token(header,
                             payload(rng() % 3 ? "id-" + std::to_string(rng() % 50) : "",
                                     now + static_cast<std::int64_t>(rng() % 1200) - 300,
                                     extras[rng() % extras.size()]),
                             Hs256Key(rng() % 8 ? (kid == "k1" ? test::secret : test::other_secret)
                                                : test::other_secret));
        if (rng() % 10 == 0) token[token.size() - 3] ^= 1;  // a forged byte
        const std::int64_t at = now + static_cast<std::int64_t>(rng() % 600);
        const Error expected = without.validate(token, at, *fresh);
        const Error e1 = with_cache.validate(token, at, *first);
        const bool was_cached = with_cache.is_cached(token);
        const Error e2 = with_cache.validate(token, at, *second);
        ASSERT_EQ(e1, expected) << token;
        ASSERT_EQ(e2, expected) << token;
        if (expected == Error::ok) {
            expect_same(*first, *fresh);
            expect_same(*second, *fresh);
        }
        hits += was_cached;
    }
    EXPECT_GT(hits, 100);  // the second validations were mostly hits
}

TEST(TokenCache, Rs256TokensHitToo) {
    EVP_PKEY* pkey = test::rsa_key(2048);
    const Validator v(KeySet(Rs256Key::from_pem(test::public_pem(pkey, "SubjectPublicKeyInfo"))),
                      cached());
    const std::string token =
        test::rs256_token(pkey, R"({"alg":"RS256","typ":"JWT"})", payload("r-1"));
    auto claims = test::new_claims();
    ASSERT_EQ(v.validate(token, now, *claims), Error::ok);
    EXPECT_TRUE(v.is_cached(token));
    ASSERT_EQ(v.validate(token, now, *claims), Error::ok);
    EXPECT_EQ(claims->jti, "r-1");
    std::string forged = token;
    forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(v.validate(forged, now, *claims), Error::signature_invalid);
}

TEST(TokenCache, OnlyVerifiedTokensAreCached) {
    const Validator v(Hs256Key(test::secret), cached());
    auto claims = test::new_claims();
    const std::string forged =
        test::make_token(test::hs256_header, payload("x"), Hs256Key(test::other_secret));
    EXPECT_EQ(v.validate(forged, now, *claims), Error::signature_invalid);
    EXPECT_FALSE(v.is_cached(forged));
    const std::string bad_claims = test::make_token(test::hs256_header, R"({"exp":"soon"})");
    EXPECT_EQ(v.validate(bad_claims, now, *claims), Error::exp_invalid);
    EXPECT_FALSE(v.is_cached(bad_claims));
    // Verified but expired at this `now`: cached (it is the same token at
    // any time), and judged at every use.
    const std::string expired = test::make_token(test::hs256_header, payload("e", now - 10));
    EXPECT_EQ(v.validate(expired, now, *claims), Error::expired);
    EXPECT_TRUE(v.is_cached(expired));
    EXPECT_EQ(v.validate(expired, now, *claims), Error::expired);
    EXPECT_EQ(v.validate(expired, now - 20, *claims), Error::ok);
}

TEST(TokenCache, AHitKeepsTheDatesAsWritten) {
    // A maximum lifetime is compared on the exact dates (claims.hpp): the
    // fractions must come back from the cache too, or a hit would judge a
    // 100.5 s lifetime as 100.
    Validator::Options options = cached();
    options.max_lifetime = 100;
    const Validator v(Hs256Key(test::secret), options);
    auto claims = test::new_claims();
    const auto token_with = [&](std::string_view iat, std::string_view exp) {
        return test::make_token(test::hs256_header,
                                R"({"iss":"https://issuer.example","aud":"api","iat":)" +
                                    std::string(iat) + R"(,"exp":)" + std::string(exp) + "}");
    };
    const std::string iat = std::to_string(now - 1);  // plus a fraction
    for (const auto& [iat_fraction, exp, verdict] :
         {std::tuple{".5", std::to_string(now + 100), Error::lifetime_exceeded},
          std::tuple{".5", std::to_string(now + 99) + ".5", Error::ok},
          std::tuple{".5", std::to_string(now + 99) + ".50000000000000000001",
                     Error::lifetime_exceeded},
          std::tuple{".50000000000000000001", std::to_string(now + 99) + ".5", Error::ok}}) {
        const std::string token = token_with(iat + iat_fraction, exp);
        EXPECT_EQ(v.validate(token, now, *claims), verdict) << iat_fraction << " " << exp;
        ASSERT_TRUE(v.is_cached(token));
        EXPECT_EQ(v.validate(token, now, *claims), verdict)
            << "hit: " << iat_fraction << " " << exp;
    }
}

TEST(TokenCache, TimeIsJudgedAtEveryHit) {
    const Validator v(Hs256Key(test::secret), cached());
    auto claims = test::new_claims();
    const std::string token =
        test::make_token(test::hs256_header, payload("t", now + 60, R"(,"nbf":1700000010)"));
    ASSERT_EQ(v.validate(token, now + 30, *claims), Error::ok);
    ASSERT_TRUE(v.is_cached(token));
    EXPECT_EQ(v.validate(token, now + 59, *claims), Error::ok);
    EXPECT_EQ(v.validate(token, now + 60, *claims), Error::expired);
    EXPECT_EQ(v.validate(token, now + 9, *claims), Error::not_yet_valid);
    EXPECT_EQ(v.validate(token, now + 10, *claims), Error::ok);
}

TEST(TokenCache, ARevocationAfterCachingRejectsTheNextUse) {
    DenylistOptions d;
    d.bucket_width = 60;
    d.horizon = 3600;
    Denylist denylist(d, now);
    Validator::Options options = cached();
    options.denylist = &denylist;
    const Validator v(Hs256Key(test::secret), options);
    auto claims = test::new_claims();
    const std::string with_jti = test::make_token(test::hs256_header, payload("j-1"));
    const std::string without_jti = test::make_token(test::hs256_header, payload(""));
    for (const std::string* t : {&with_jti, &without_jti}) {
        ASSERT_EQ(v.validate(*t, now, *claims), Error::ok);
        ASSERT_TRUE(v.is_cached(*t));
    }
    denylist.revoke_jti("j-1", now + 600);
    EXPECT_EQ(v.validate(with_jti, now, *claims), Error::revoked);
    // No jti: revoked by its signature, which a hit decodes again.
    ASSERT_EQ(denylist.revoke_token(without_jti), Error::ok);
    EXPECT_EQ(v.validate(without_jti, now, *claims), Error::revoked);
    // A subject cut-off reaches cached tokens too.
    const std::string carol = test::make_token(
        test::hs256_header, R"({"iss":"https://issuer.example","sub":"carol","aud":"api","iat":)" +
                                std::to_string(now - 100) + R"(,"exp":)" +
                                std::to_string(now + 600) + "}");
    ASSERT_EQ(v.validate(carol, now, *claims), Error::ok);
    ASSERT_TRUE(v.is_cached(carol));
    denylist.revoke_subject("carol", now);
    EXPECT_EQ(v.validate(carol, now, *claims), Error::subject_revoked);
}

TEST(TokenCache, ARemovedOrReplacedKeyEndsItsCachedTokensAtOnce) {
    KeySet keys;
    keys.add(Hs256Key(test::secret), "k1");
    keys.add(Hs256Key(test::other_secret), "k2");
    Validator v(keys, cached());
    auto claims = test::new_claims();
    const std::string token = test::make_token(R"({"alg":"HS256","typ":"JWT","kid":"k1"})",
                                               payload("k"), Hs256Key(test::secret));
    ASSERT_EQ(v.validate(token, now, *claims), Error::ok);
    ASSERT_TRUE(v.is_cached(token));

    EXPECT_TRUE(v.remove_key("k1"));
    EXPECT_EQ(v.validate(token, now, *claims), Error::kid_unknown);
    // k1 back with other material: the cached verification was not made
    // with it, so the token is checked again, and fails.
    v.add_key(Hs256Key(test::other_secret), "k1");
    EXPECT_EQ(v.validate(token, now, *claims), Error::signature_invalid);
    // A whole new set (a JWKS reload) with the right material again.
    KeySet reloaded;
    reloaded.add(Hs256Key(test::secret), "k1");
    v.replace_keys(reloaded);
    EXPECT_EQ(v.validate(token, now, *claims), Error::ok);
    EXPECT_TRUE(v.is_cached(token));
    // Unrelated rotation (adding k3) leaves the entry usable.
    v.add_key(Hs256Key(std::string(40, 'z')), "k3");
    EXPECT_EQ(v.validate(token, now, *claims), Error::ok);
}

TEST(TokenCache, KeysAreNamedByTheirMaterial) {
    // The same key loaded twice has one id; another key, or the same bytes
    // under another algorithm's rules, has another.
    EVP_PKEY* pkey = test::rsa_key(2048);
    const std::string pem = test::public_pem(pkey, "SubjectPublicKeyInfo");
    KeySet one;
    one.add(Hs256Key(test::secret), "h");
    one.add(Rs256Key::from_pem(pem), "r");
    KeySet two;
    two.add(Rs256Key::from_pem(test::public_pem(pkey, "type-specific")), "r");
    two.add(Hs256Key(test::secret), "h");
    KeySet other;
    other.add(Hs256Key(test::other_secret), "h");
    other.add(Rs256Key::from_pem(test::public_pem(test::rsa_key(3072), "SubjectPublicKeyInfo")),
              "r");
    for (const char* kid : {"h", "r"}) {
        const std::string_view alg = kid[0] == 'h' ? "HS256" : "RS256";
        EXPECT_EQ(one.find(kid, alg).key_id, two.find(kid, alg).key_id) << kid;
        EXPECT_NE(one.find(kid, alg).key_id, other.find(kid, alg).key_id) << kid;
    }
    EXPECT_NE(one.find("h", "HS256").key_id, one.find("r", "RS256").key_id);
}

std::uint64_t constant_hash(std::string_view) {
    return 7;
}

TEST(TokenCache, CollidingHashesCannotMakeAForgedTokenHit) {
    // Every token has the same hash: only the full comparison of the bytes
    // tells them apart.
    Validator::Options options = cached(2);
    options.token_cache.hash_for_testing = constant_hash;
    const Validator v(Hs256Key(test::secret), options);
    auto claims = test::new_claims();
    const std::string token = test::make_token(test::hs256_header, payload("real"));
    ASSERT_EQ(v.validate(token, now, *claims), Error::ok);
    ASSERT_TRUE(v.is_cached(token));
    // Same length, same hash, one byte different: in the signature, the
    // payload, the header.
    for (const std::size_t at : {token.size() - 2, token.find('.') + 5, std::size_t{3}}) {
        std::string forged = token;
        forged[at] = forged[at] == 'A' ? 'B' : 'A';
        EXPECT_NE(v.validate(forged, now, *claims), Error::ok) << at;
        EXPECT_FALSE(v.is_cached(forged));
    }
    // Another genuine token shares the set and is told apart too.
    const std::string other = test::make_token(test::hs256_header, payload("othr"));
    ASSERT_EQ(v.validate(other, now, *claims), Error::ok);
    EXPECT_EQ(claims->jti, "othr");
    ASSERT_EQ(v.validate(token, now, *claims), Error::ok);
    EXPECT_EQ(claims->jti, "real");
}

TEST(TokenCache, TokensTooBigForAnEntryAreNotCached) {
    Validator::Options options = cached();
    options.token_cache.entry_bytes = 512;
    const Validator v(Hs256Key(test::secret), options);
    auto claims = test::new_claims();
    const std::string small = test::make_token(
        test::hs256_header, R"({"iss":"https://issuer.example","aud":"api","exp":1700000600})");
    const std::string big =
        test::make_token(test::hs256_header,
                         payload("big", now + 600, R"(,"pad":")" + std::string(300, 'x') + "\""));
    EXPECT_EQ(v.validate(small, now, *claims), Error::ok);
    EXPECT_TRUE(v.is_cached(small));
    EXPECT_EQ(v.validate(big, now, *claims), Error::ok);
    EXPECT_FALSE(v.is_cached(big));
    EXPECT_EQ(v.validate(big, now, *claims), Error::ok);
}

TEST(TokenCache, BadOptionsAreRefused) {
    for (const std::size_t bytes : {std::size_t{100}, std::size_t{2047}, std::size_t{1} << 21}) {
        Validator::Options options = cached();
        options.token_cache.entry_bytes = bytes;
        EXPECT_THROW(Validator(Hs256Key(test::secret), options), SetupError) << bytes;
    }
    // Every count: overflowing slot arithmetic once read outside the cache
    // (ASan: SEGV in TokenCache::read); now refused before any of it.
    using Cache = detail::TokenCache;
    for (const std::size_t entries : {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 2048 + 1,
                                      Cache::max_entries + 1, Cache::max_bytes / 2048 + 2}) {
        Validator::Options options = cached(entries);
        try {
            const Validator v(Hs256Key(test::secret), options);
            ADD_FAILURE() << entries << " entries accepted";
        } catch (const SetupError& e) {
            EXPECT_EQ(e.code(), Error::option_invalid);
            EXPECT_NE(std::string(e.what()).find("token cache entries"), std::string::npos)
                << e.what();
        }
    }
    // The limits themselves are accepted (checked without allocating them).
    Validator::Options most = cached(Cache::max_entries);
    most.token_cache.entry_bytes = Cache::max_bytes / Cache::max_entries;
    EXPECT_NO_THROW((void)Cache::checked(most.token_cache));
    Validator::Options largest = cached(Cache::max_bytes / 4096);
    largest.token_cache.entry_bytes = 4096;
    EXPECT_NO_THROW((void)Cache::checked(largest.token_cache));
    largest.token_cache.entries += 2;
    EXPECT_THROW((void)Cache::checked(largest.token_cache), SetupError);

    const Validator off(Hs256Key(test::secret), cached(0));
    auto claims = test::new_claims();
    const std::string token = test::make_token(test::hs256_header, payload("x"));
    EXPECT_EQ(off.validate(token, now, *claims), Error::ok);
    EXPECT_FALSE(off.is_cached(token));
}

TEST(TokenCacheConcurrency, ValidatorsInsertAndHitWhileKeysRotate) {
    // A tiny cache, many tokens: entries are rewritten while others read
    // them. Every verdict must be the one a full validation gives.
    KeySet keys;
    keys.add(Hs256Key(test::secret), "k1");
    Validator v(keys, cached(4));
    std::vector<std::string> tokens;
    for (int i = 0; i < 12; ++i)
        tokens.push_back(
            test::make_token(R"({"alg":"HS256","kid":"k1"})", payload("c-" + std::to_string(i))));
    std::atomic<bool> done{false};
    std::atomic<long> wrong{0};
    std::atomic<long> validations{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&, t] {
            auto claims = test::new_claims();
            std::size_t i = static_cast<std::size_t>(t);
            while (!done.load()) {
                const std::string& token = tokens[i++ % tokens.size()];
                const Error e = v.validate(token, now, *claims);
                // k1 is only ever swapped for an equal key or briefly absent.
                if (e == Error::ok) {
                    if (claims->jti != "c-" + std::to_string((i - 1) % tokens.size()) ||
                        claims->payload_json() !=
                            test::decoded(token.substr(token.find('.') + 1,
                                                       token.rfind('.') - token.find('.') - 1)))
                        ++wrong;
                } else if (e != Error::kid_unknown) {
                    ++wrong;
                }
                ++validations;
            }
        });
    for (int round = 0; round < 200; ++round) {
        v.remove_key("k1");
        v.add_key(Hs256Key(test::secret), "k1");
    }
    while (validations.load() < 20000)
        std::this_thread::yield();
    done = true;
    for (std::thread& r : readers)
        r.join();
    EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace jwtguard
