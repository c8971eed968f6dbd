#include <jwtguard/ed25519.hpp>
#include <jwtguard/keyset.hpp>
#include <jwtguard/sign.hpp>
#include <jwtguard/validator.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "test_keys.hpp"
#include "test_tokens.hpp"
#include "wycheproof.hpp"

namespace jwtguard {
namespace {

using test::from_hex;

bool verify(const Ed25519Key& key, std::string_view input, std::string_view signature) {
    return key.verify(input, reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size());
}

Ed25519Key key_of_hex(std::string_view hex) {
    const std::string bytes = from_hex(hex);
    return Ed25519Key(std::span<const unsigned char>(
        reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

TEST(Ed25519, WycheproofVectors) {
    int jwk_groups = 0;
    const test::VerdictCount count = test::match_verdicts(
        "ed25519_test.json", [&](const rapidjson::Value& group, const std::string& message,
                                 const std::string& signature) {
            const Ed25519Key key = Ed25519Key::from_pem(group["publicKeyPem"].GetString());
            const bool verdict = verify(key, message, signature);
            const Ed25519Key jwk =
                std::get<Ed25519Key>(load_jwk(test::json_text(group["publicKeyJwk"]), "EdDSA"));
            EXPECT_EQ(verify(jwk, message, signature), verdict);
            EXPECT_EQ(jwk.material_id(), key.material_id());
            ++jwk_groups;
            return verdict;
        });
    EXPECT_GT(count.valid, 50);
    EXPECT_GT(count.invalid, 50);
    EXPECT_GT(jwk_groups, 0);
}

TEST(Ed25519, Rfc8032Test1AndRfc8037AppendixA4) {
    // RFC 8032 section 7.1, TEST 1 (empty message).
    const Ed25519Key key =
        key_of_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const std::string signature = from_hex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b");
    EXPECT_TRUE(verify(key, "", signature));
    EXPECT_FALSE(verify(key, "x", signature));
    // RFC 8037 appendix A.4: the JWS over "Example of Ed25519 signing".
    const Ed25519Key a4 = std::get<Ed25519Key>(load_jwk(
        R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
        "EdDSA"));
    const Validator v(a4);
    auto claims = test::new_claims();
    // The A.4 payload is not a JSON object: the signature holds, the claims
    // do not (payload_json_invalid comes only after the signature check).
    EXPECT_EQ(
        v.validate("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
                   "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sV"
                   "vpAr_MuM0KAg",
                   test::now, *claims),
        Error::payload_json_invalid);
}

TEST(Ed25519, SAtLeastLIsRefused) {
    // RFC 8032 5.1.7: S must be below L. S + L verifies for a lax verifier.
    const Ed25519Key key =
        key_of_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    std::string signature = from_hex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b");
    // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    const std::string l =
        from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    unsigned carry = 0;
    for (std::size_t i = 0; i < 32; ++i) {
        const unsigned sum = static_cast<unsigned char>(signature[32 + i]) +
                             static_cast<unsigned char>(l[i]) + carry;
        signature[32 + i] = static_cast<char>(sum);
        carry = sum >> 8;
    }
    ASSERT_EQ(carry, 0u);
    EXPECT_FALSE(verify(key, "", signature));
}

TEST(Ed25519, BothAlgorithmNamesUseTheSameKeys) {
    EVP_PKEY* pkey = test::ed25519_key();
    const std::string pem = test::public_pem(pkey, "SubjectPublicKeyInfo");
    const Ed25519PrivateKey signer = Ed25519PrivateKey::from_pem(test::private_pem(pkey));
    const std::string claims_json = R"({"sub":"ed","exp":1800000000})";
    const std::string eddsa = sign(signer, claims_json);
    // RFC 9864's "Ed25519": the same signature over a header naming it.
    const std::string input =
        base64url_encode(R"({"alg":"Ed25519"})") + "." + base64url_encode(claims_json);
    const std::string ed25519 = input + "." + base64url_encode(signer.sign(input));
    auto claims = test::new_claims();
    for (const Key& key :
         {Key(Ed25519Key::from_pem(pem)), load_pem_public_key(pem),
          load_pem_public_key(pem, "Ed25519"), load_jwk(test::okp_jwk(pkey, R"(,"alg":"EdDSA")")),
          load_jwk(test::okp_jwk(pkey, R"(,"alg":"Ed25519")"))}) {
        const Validator v(key);
        EXPECT_EQ(v.validate(eddsa, test::now, *claims), Error::ok);
        EXPECT_EQ(claims->header.alg, "EdDSA");
        EXPECT_EQ(v.validate(ed25519, test::now, *claims), Error::ok);
        EXPECT_EQ(claims->header.alg, "Ed25519");
    }
    // make_signing_key("Ed25519") signs as EdDSA.
    EXPECT_EQ(jwtguard::sign(make_signing_key("Ed25519", test::private_pem(pkey)), claims_json),
              eddsa);
    // A kid-less token finds its key under either name.
    KeySet set;
    set.add(Ed25519Key::from_pem(pem));
    EXPECT_EQ(set.find(std::nullopt, "Ed25519").error, Error::ok);
    EXPECT_EQ(set.find(std::nullopt, "EdDSA").error, Error::ok);
    EXPECT_EQ(set.find(std::nullopt, "Ed448").error, Error::alg_mismatch);
    // Another algorithm's token is alg_mismatch.
    const Validator v(Ed25519Key::from_pem(pem));
    EXPECT_EQ(v.validate(sign(Hs256Key(std::string(32, 'k')), claims_json), test::now, *claims),
              Error::alg_mismatch);
}

TEST(Ed25519, UnusableKeysAreRefusedAtLoad) {
    auto expect_refused = [](const std::string& jwk, const std::string& reason) {
        try {
            (void)load_jwk(jwk, "EdDSA");
            ADD_FAILURE() << "accepted: " << jwk;
        } catch (const SetupError& e) {
            EXPECT_EQ(e.code(), Error::key_invalid);
            EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
        }
    };
    auto okp = [](const std::string& crv, const std::string& x_hex) {
        return R"({"kty":"OKP","crv":")" + crv + R"(","x":")" + base64url_encode(from_hex(x_hex)) +
               "\"}";
    };
    // The identity point (small order) and a point of order 8.
    expect_refused(
        okp("Ed25519", "0100000000000000000000000000000000000000000000000000000000000000"),
        "small order");
    expect_refused(
        okp("Ed25519", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        "small order");
    // A non-canonical encoding (y >= p).
    expect_refused(
        okp("Ed25519", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        "canonical");
    expect_refused(okp("Ed25519", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f7075"),
                   "32 bytes");
    expect_refused(okp("Ed448", std::string(114, 'a')), "Ed448");
    expect_refused(okp("X25519", std::string(64, 'a')), "X25519");
    EVP_PKEY* pkey = test::ed25519_key();
    expect_refused(test::okp_jwk(pkey, R"(,"d":"AAAA")"), "private");
    EXPECT_THROW((void)Ed25519Key::from_pem(test::private_pem(pkey)), SetupError);
    EXPECT_THROW((void)load_pem_public_key(test::public_pem(pkey, "SubjectPublicKeyInfo"), "ES256"),
                 SetupError);
}

}  // namespace
}  // namespace jwtguard
