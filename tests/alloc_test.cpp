// The zero-allocation contract of Validator::validate, checked by counting
// every heap allocation of the validating thread (alloc_counter.hpp: operator
// new, rapidjson and OpenSSL are all seen).
#include <jwtguard/jwtguard.hpp>

#include <gmp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "test_keys.hpp"
#include "test_tokens.hpp"

namespace jwtguard {
namespace {

/// Allocations this thread made while `work` ran.
template <class Work>
std::size_t allocations_during(Work&& work) {
    const std::size_t before = alloc_counter::thread_allocations();
    work();
    return alloc_counter::thread_allocations() - before;
}

/// Validates each token once (warm-up: the first call may set up per-thread
/// state), then `rounds` times while counting: each must give its expected
/// verdict and allocate nothing.
void expect_no_allocations(const Validator& validator,
                           const std::vector<std::pair<std::string, Error>>& tokens, int rounds) {
    auto claims = test::new_claims();
    for (const auto& [token, expected] : tokens)
        ASSERT_EQ(validator.validate(token, test::now, *claims), expected) << token;
    for (const auto& entry : tokens) {
        Error got = Error::ok;
        const std::size_t count = allocations_during([&] {
            for (int i = 0; i < rounds; ++i)
                got = validator.validate(entry.first, test::now, *claims);
        });
        EXPECT_EQ(got, entry.second);
        EXPECT_EQ(count, 0u) << "allocations while validating a token giving "
                             << to_string(entry.second);
    }
}

TEST(Allocations, TheCounterSeesNewAndOpenSsl) {
    // Without these, a zero below would prove nothing.
    EXPECT_GT(allocations_during([] {
                  auto* p = new std::string(100, 'x');
                  delete p;
              }),
              0u);
    EXPECT_GT(allocations_during([] {
                  unsigned char out[32];
                  unsigned int size = 0;
                  const std::string key(32, 'k');
                  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                       reinterpret_cast<const unsigned char*>("x"), 1, out, &size);
              }),
              0u);
    // Any C library's malloc is seen: GMP's (under Nettle's ECDSA) here.
    EXPECT_GT(allocations_during([] {
                  mpz_t x;
                  mpz_init_set_str(x, "123456789012345678901234567890", 10);
                  mpz_clear(x);
              }),
              0u);
}

TEST(Allocations, ValidateAllocatesNothing) {
    const Hs256Key key(test::secret);
    const Hs256Key other(test::other_secret);
    KeySet keys;
    keys.add(key, "k1");
    keys.add(other, "k2");
    Validator::Options options;
    options.issuers = {"https://issuer.example"};
    options.audiences = {"api"};
    options.typ = "JWT";
    options.max_lifetime = 3600;
    const Validator validator(std::move(keys), options);

    const std::string header = R"({"alg":"HS256","typ":"JWT","kid":"k1"})";
    const std::string payload =
        R"({"iss":"https://issuer.example","sub":"alice","aud":["web","api"],"exp":1700000600,"nbf":1699999000,"iat":1699999900,"jti":"5f0c1a2e-4b7d-4c8e-9f00-1a2b3c4d5e6f","email":"alice@example.com","roles":["admin","user"]})";
    const std::string good = test::make_token(header, payload, key);
    std::string bad_signature = good;
    bad_signature[bad_signature.size() - 5] ^= 1;

    // One token per major path; each must give its error, with no allocation.
    const std::vector<std::pair<std::string, Error>> tokens = {
        {good, Error::ok},
        {bad_signature, Error::signature_invalid},
        {test::make_token(
             header,
             R"({"iss":"https://issuer.example","aud":"api","exp":1600000000,"iat":1599999000})",
             key),
         Error::expired},
        {test::make_token(header, R"({"aud":"api","exp":1700000600,"iat":1699999900})", key),
         Error::iss_missing},
        {test::make_token(R"({"alg":"none"})", payload, key), Error::alg_none},
        {test::make_token(R"({"alg":"HS256","kid":"nope"})", payload, key), Error::kid_unknown},
        {test::make_token(header, "{\"exp\":1,\"exp\":2}", key), Error::payload_duplicate_member},
        {test::make_token(header, "{\"x\":\"\xff\"}", key), Error::payload_invalid_utf8},
        {test::make_token(header, "{\"x\":" + std::string(64, '[') + "}", key),
         Error::payload_too_deep},
        {test::make_token(header, "not json", key), Error::payload_json_invalid},
        {"a.b", Error::token_malformed},
        {std::string(9000, 'a'), Error::token_too_large},
        {"e30=.e30.", Error::header_base64_invalid},
    };
    expect_no_allocations(validator, tokens, 2000);
}

TEST(Allocations, Rs256ValidateAllocatesNothing) {
    // Keys of every supported size in one set: a thread's scratch grows to
    // the largest, then nothing is allocated again.
    KeySet keys;
    for (unsigned bits : {2048u, 3072u, 4096u})
        keys.add(Rs256Key::from_pem(test::public_pem(test::rsa_key(bits), "SubjectPublicKeyInfo")),
                 std::to_string(bits));
    const Validator validator(std::move(keys));
    std::vector<std::pair<std::string, Error>> tokens;
    for (unsigned bits : {2048u, 4096u, 3072u}) {
        std::string header = R"({"alg":"RS256","kid":")";
        header += std::to_string(bits);
        header += R"("})";
        const std::string good =
            test::rs256_token(test::rsa_key(bits), header, R"({"sub":"a","exp":1700000600})");
        std::string bad = good;
        bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
        tokens.emplace_back(good, Error::ok);
        tokens.emplace_back(bad, Error::signature_invalid);
        tokens.emplace_back(
            good.substr(0, good.rfind('.') + 1) + base64url_encode(std::string(250, 'x')),
            Error::signature_length);
    }
    expect_no_allocations(validator, tokens, 200);
}

TEST(Allocations, EveryAlgorithmValidatesWithoutAllocating) {
    // One key per algorithm (each with its kid), in one set; a good token,
    // a bad signature, a signature of the wrong size, and (ES*) the twin
    // of a token revoked by its signature: the denylist's canonical name
    // of an ECDSA signature allocates nothing either.
    const std::string secret(64, 's');
    const std::string claims_json = R"({"sub":"a","exp":1700000600})";
    Denylist denylist(DenylistOptions{}, test::now);
    ValidatorOptions options;
    options.denylist = &denylist;
    KeySet keys;
    std::vector<std::pair<std::string, Error>> tokens;
    for (const std::string_view alg : all_algorithms) {
        const std::string curve = alg == "ES256" ? "P-256" : alg == "ES384" ? "P-384" : "P-521";
        EVP_PKEY* pkey = alg.starts_with("HS")   ? nullptr
                         : alg.starts_with("ES") ? test::ec_key(curve)
                         : alg.starts_with("Ed")
                             ? test::ed25519_key()
                             : test::rsa_key(alg.ends_with("512") ? 4096 : 2048);
        const std::string kid(alg);
        keys.add(pkey == nullptr
                     ? load_secret_key(secret, alg)
                     : load_pem_public_key(test::public_pem(pkey, "SubjectPublicKeyInfo"), alg),
                 kid);
        SignOptions with_kid;
        with_kid.kid = kid;
        const AnySigningKey signer =
            make_signing_key(alg, pkey == nullptr ? secret : test::private_pem(pkey));
        // A fresh claims set per algorithm: revoking one token by its
        // signature must not touch another's.
        const std::string good =
            sign(signer, R"({"sub":")" + kid + R"(","exp":1700000600})", with_kid);
        std::string bad = good;
        bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
        tokens.emplace_back(good, Error::ok);
        tokens.emplace_back(bad, Error::signature_invalid);
        tokens.emplace_back(good.substr(0, good.rfind('.') + 1) + base64url_encode("short"),
                            Error::signature_length);
        if (alg.starts_with("ES")) {
            const std::string revoked = sign(signer, claims_json, with_kid);
            ASSERT_EQ(denylist.revoke_token(revoked), Error::ok);
            tokens.emplace_back(revoked, Error::revoked);
            // Signatures whose verification doubles a point (u1*G == +-u2*Q),
            // each under its own key: the whole of
            // detail::verify_point_duplication runs, accepting and refusing.
            for (const long ratio : {1L, -1L}) {
                const std::string doubling_kid = kid + "-doubling" + std::to_string(ratio);
                const std::string input =
                    base64url_encode(R"({"alg":")" + kid + R"(","kid":")" + doubling_kid + "\"}") +
                    "." + base64url_encode(claims_json);
                const test::CraftedEcdsa crafted =
                    test::point_duplication_signature(curve, input, ratio, 1);
                keys.add(alg == "ES256"   ? Key(crafted.key<Es256Key>())
                         : alg == "ES384" ? Key(crafted.key<Es384Key>())
                                          : Key(crafted.key<Es512Key>()),
                         doubling_kid);
                tokens.emplace_back(input + "." + base64url_encode(crafted.signature),
                                    ratio == 1 ? Error::ok : Error::signature_invalid);
            }
        }
    }
    const Validator validator(std::move(keys), options);
    expect_no_allocations(validator, tokens, 20);
}

TEST(Allocations, CachedValidateAllocatesNothing) {
    // Hits (each token repeated), and misses that insert (tokens cycling
    // through a cache of two entries), with a denylist behind.
    DenylistOptions d;
    Denylist denylist(d, test::now);
    denylist.revoke_jti("revoked", 1700000600);
    Validator::Options options;
    options.token_cache.entries = 2;
    options.denylist = &denylist;
    const Validator validator(Hs256Key(test::secret), options);
    std::vector<std::pair<std::string, Error>> tokens;
    for (int i = 0; i < 6; ++i)
        tokens.emplace_back(
            test::make_token(test::hs256_header,
                             R"({"jti":"j)" + std::to_string(i) + R"(","exp":1700000600})"),
            Error::ok);
    tokens.emplace_back(
        test::make_token(test::hs256_header, R"({"jti":"revoked","exp":1700000600})"),
        Error::revoked);
    tokens.emplace_back(
        test::make_token(test::hs256_header, R"({"sub":"no-jti","exp":1700000600})"), Error::ok);
    expect_no_allocations(validator, tokens, 50);
    auto claims = test::new_claims();
    std::size_t wrong = 0;
    const std::size_t count = allocations_during([&] {
        for (int round = 0; round < 50; ++round)
            for (const auto& [token, expected] : tokens)
                wrong += validator.validate(token, test::now, *claims) != expected;
    });
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(count, 0u) << "allocations while missing and inserting";
}

TEST(Allocations, DenylistChecksAllocateNothing) {
    DenylistOptions denylist_options;
    denylist_options.horizon = 3600;
    Denylist denylist(denylist_options, test::now);
    // Enough revocations to have grown cells and an overflow bucket.
    for (int i = 0; i < 20'000; ++i) {
        std::string jti = "revoked-";
        jti += std::to_string(i);
        denylist.revoke_jti(jti, test::now + 600 + i % 1200);
    }
    denylist.revoke_jti("far", test::now + 90 * 86400);
    denylist.revoke_jti("id-revoked", 1700000600);
    denylist.revoke_subject("mallory", test::now - 10);
    const std::string no_jti =
        test::make_token(test::hs256_header, R"({"sub":"x","exp":1700000600})");
    ASSERT_EQ(denylist.revoke_token(no_jti), Error::ok);

    Validator::Options options;
    options.denylist = &denylist;
    const std::vector<std::pair<std::string, Error>> tokens = {
        {test::make_token(test::hs256_header, test::good_payload), Error::ok},
        {test::make_token(test::hs256_header, R"({"jti":"id-revoked","exp":1700000600})"),
         Error::revoked},
        {no_jti, Error::revoked},
        {test::make_token(test::hs256_header, R"({"sub":"y","exp":1700000600})"), Error::ok},
        {test::make_token(test::hs256_header,
                          R"({"sub":"mallory","iat":1699999000,"exp":1700000600})"),
         Error::subject_revoked},
        {test::make_token(test::hs256_header, R"({"jti":"far","exp":1707776000})"), Error::revoked},
        {test::make_token(test::hs256_header, R"({"jti":"far","exp":1707776001})"), Error::ok},
    };
    for (const bool hint : {true, false}) {  // the prefetch hint, and without
        options.denylist_prefetch = hint;
        const Validator validator(Hs256Key(test::secret), options);
        expect_no_allocations(validator, tokens, 2000);
    }
    // Direct lookups, prefetch included.
    bool hit = false;
    const std::size_t count = allocations_during([&] {
        for (int i = 0; i < 2000; ++i) {
            const auto key = denylist.jti_key("id-revoked", 1700000600);
            denylist.prefetch(key);
            hit = denylist.contains(key) && !denylist.is_revoked("nope", 1700000600) &&
                  denylist.subject_cutoff("mallory").has_value();
        }
    });
    EXPECT_TRUE(hit);
    EXPECT_EQ(count, 0u);
}

}  // namespace
}  // namespace jwtguard

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
