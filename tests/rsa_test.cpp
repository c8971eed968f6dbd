#include <jwtguard/keyset.hpp>
#include <jwtguard/rsa.hpp>
#include <jwtguard/sign.hpp>
#include <jwtguard/validator.hpp>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <rapidjson/document.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_keys.hpp"
#include "test_tokens.hpp"
#include "wycheproof.hpp"

namespace jwtguard {
namespace {

using test::from_hex;
using test::openssl_sign;
using test::Pkey;
using test::private_pem;
using test::public_pem;
using test::rs256_token;
using test::rsa_key;

using test::openssl_verify;

bool verify(const Rs256Key& key, std::string_view input, std::string_view signature) {
    return key.verify(input, reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size());
}

// RFC 7515 appendix A.2: the RS256 example and its public key.
constexpr std::string_view a2_token =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
    "O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQ"
    "BMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
    "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9"
    "QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr std::string_view a2_n =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4"
    "QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
    "bSf63kpaSHSXndS5z5rexMdbB"
    "YUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-"
    "DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

Rs256Key a2_key() {
    const std::string n = test::decoded(a2_n);
    const std::string e = test::decoded("AQAB");
    return Rs256Key::from_components({reinterpret_cast<const unsigned char*>(n.data()), n.size()},
                                     {reinterpret_cast<const unsigned char*>(e.data()), e.size()});
}

TEST(Rs256, Rfc7515AppendixA2Verifies) {
    const Rs256Key key = a2_key();
    EXPECT_EQ(key.modulus_bits(), 2048);
    EXPECT_EQ(key.signature_size(), 256u);
    Validator::Options options;
    options.issuers = {"joe"};
    const Validator validator(key, options);
    auto claims = test::new_claims();
    ASSERT_EQ(validator.validate(a2_token, 1300819379, *claims), Error::ok);
    EXPECT_EQ(claims->iss, "joe");
    EXPECT_EQ(claims->exp, 1300819380);
    EXPECT_EQ(validator.validate(a2_token, 1300819380, *claims), Error::expired);
    // One bit of the signature, of the payload, of the header.
    for (std::size_t at : {a2_token.size() - 10, std::size_t{40}, std::size_t{5}}) {
        std::string bad(a2_token);
        bad[at] = bad[at] == 'A' ? 'B' : 'A';
        EXPECT_NE(validator.validate(bad, 1300819379, *claims), Error::ok) << at;
    }
}

template <class Key>
void check_rsa_wycheproof(const char* name, bool also_jwk = false) {
    int jwk_groups = 0;
    const test::VerdictCount count = test::match_verdicts(
        name,
        [&](const rapidjson::Value& group, const std::string& message,
            const std::string& signature) {
            const Key key = Key::from_pem(group["publicKeyPem"].GetString());
            const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
            const bool verdict = key.verify(message, sig, signature.size());
            if (also_jwk && group.HasMember("publicKeyJwk")) {
                // The same key through its JWK gives the same verdict.
                const Key jwk = std::get<Key>(load_jwk(test::json_text(group["publicKeyJwk"])));
                EXPECT_EQ(jwk.verify(message, sig, signature.size()), verdict) << name;
                EXPECT_EQ(jwk.material_id(), key.material_id()) << name;
                ++jwk_groups;
            }
            return verdict;
        },
        // Acceptable here: a DigestInfo without the NULL parameters (RFC 8017
        // 9.2 note 1 allows it to be recognised). jwtguard builds the one
        // encoding with NULL and compares every byte: refused.
        false);
    EXPECT_GT(count.valid, 0) << name;
    EXPECT_GT(count.invalid, 0) << name;
    EXPECT_GT(count.valid + count.invalid, 50) << name;
    if (also_jwk) {
        EXPECT_GT(jwk_groups, 0) << name;
    }
}

TEST(Rsa, WycheproofVectorsRs256) {
    check_rsa_wycheproof<Rs256Key>("rsa_signature_2048_sha256_test.json");
    check_rsa_wycheproof<Rs256Key>("rsa_signature_3072_sha256_test.json");
    check_rsa_wycheproof<Rs256Key>("rsa_signature_4096_sha256_test.json");
}
TEST(Rsa, WycheproofVectorsRs384) {
    check_rsa_wycheproof<Rs384Key>("rsa_signature_2048_sha384_test.json");
    check_rsa_wycheproof<Rs384Key>("rsa_signature_3072_sha384_test.json");
}
TEST(Rsa, WycheproofVectorsRs512) {
    check_rsa_wycheproof<Rs512Key>("rsa_signature_2048_sha512_test.json");
    check_rsa_wycheproof<Rs512Key>("rsa_signature_4096_sha512_test.json");
}
TEST(Rsa, WycheproofVectorsPs256) {
    check_rsa_wycheproof<Ps256Key>("rsa_pss_2048_sha256_mgf1_32_test.json", true);
}
TEST(Rsa, WycheproofVectorsPs384) {
    check_rsa_wycheproof<Ps384Key>("rsa_pss_2048_sha384_mgf1_48_test.json", true);
}
TEST(Rsa, WycheproofVectorsPs512) {
    check_rsa_wycheproof<Ps512Key>("rsa_pss_4096_sha512_mgf1_64_test.json", true);
}

/// A PSS signature by OpenSSL with the given hash, MGF1 hash and salt length.
std::string openssl_pss_sign(EVP_PKEY* key, const EVP_MD* md, const EVP_MD* mgf, int salt,
                             std::string_view input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    std::size_t size = 0;
    std::string signature;
    if (EVP_DigestSignInit(ctx, &pctx, md, nullptr, key) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) == 1 &&
        EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
        signature.resize(size);
        if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
            signature.clear();
    }
    EVP_MD_CTX_free(ctx);
    return signature;
}

TEST(Rsa, PssAcceptsOnlyASaltAsLongAsTheHashAndMgf1OfTheSameHash) {
    const std::string input = "eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ4In0";
    for (unsigned bits : {2048u, 2049u, 3072u}) {  // 2049: emLen < k, a leading zero byte
        EVP_PKEY* pkey = bits == 2049 ? EVP_RSA_gen(bits) : rsa_key(bits);
        const Ps256Key key = Ps256Key::from_pem(public_pem(pkey, "SubjectPublicKeyInfo"));
        auto verify_ps = [&](const std::string& sig) {
            return key.verify(input, reinterpret_cast<const unsigned char*>(sig.data()),
                              sig.size());
        };
        EXPECT_TRUE(verify_ps(openssl_pss_sign(pkey, EVP_sha256(), EVP_sha256(), 32, input)))
            << bits;
        for (int salt : {0, 20, 31, 33, 64}) {
            const std::string other =
                openssl_pss_sign(pkey, EVP_sha256(), EVP_sha256(), salt, input);
            ASSERT_FALSE(other.empty());
            EXPECT_FALSE(verify_ps(other)) << bits << " salt " << salt;
        }
        for (const EVP_MD* mgf : {EVP_sha1(), EVP_sha384(), EVP_sha512()})
            EXPECT_FALSE(verify_ps(openssl_pss_sign(pkey, EVP_sha256(), mgf, 32, input))) << bits;
        // The PKCS#1 v1.5 signature of the same key and input is not PS256.
        EXPECT_FALSE(verify_ps(openssl_sign(pkey, input))) << bits;
        if (bits == 2049) EVP_PKEY_free(pkey);
    }
}

TEST(Rsa, OneRsaKeyIsOneAlgorithm) {
    EVP_PKEY* pkey = rsa_key(2048);
    const std::string pem = public_pem(pkey, "SubjectPublicKeyInfo");
    const std::string claims = R"({"sub":"x","exp":1800000000})";
    const std::string ps_token = sign(Ps256PrivateKey::from_pem(private_pem(pkey)), claims);
    const std::string rs_token = sign(Rs256PrivateKey::from_pem(private_pem(pkey)), claims);
    auto claims_out = test::new_claims();
    const Validator rs(Rs256Key::from_pem(pem));
    const Validator ps(Ps256Key::from_pem(pem));
    EXPECT_EQ(rs.validate(rs_token, test::now, *claims_out), Error::ok);
    EXPECT_EQ(ps.validate(ps_token, test::now, *claims_out), Error::ok);
    EXPECT_EQ(rs.validate(ps_token, test::now, *claims_out), Error::alg_mismatch);
    EXPECT_EQ(ps.validate(rs_token, test::now, *claims_out), Error::alg_mismatch);
    // The same modulus as two algorithms is two keys to the cache.
    EXPECT_NE(Rs256Key::from_pem(pem).material_id(), Ps256Key::from_pem(pem).material_id());
    // Signing and verifying with every RSA algorithm, through the PEM loader.
    for (std::string_view alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
        const std::string token = sign(make_signing_key(alg, private_pem(pkey)), claims);
        const Validator v(load_pem_public_key(pem, alg));
        EXPECT_EQ(v.validate(token, test::now, *claims_out), Error::ok) << alg;
        EXPECT_EQ(claims_out->header.alg, alg);
    }
    EXPECT_THROW((void)load_pem_public_key(pem, "ES256"), SetupError);
    EXPECT_THROW((void)load_pem_public_key(pem, "HS256"), SetupError);
}

TEST(Rs256, AgreesWithOpenSslOnMutatedSignatures) {
    EVP_PKEY* pkey = rsa_key(2048);
    const Rs256Key key = Rs256Key::from_pem(public_pem(pkey, "SubjectPublicKeyInfo"));
    std::mt19937_64 rng(5);
    const std::string input = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";
    const std::string good = openssl_sign(pkey, input);
    ASSERT_TRUE(verify(key, input, good));
    for (int round = 0; round < 300; ++round) {
        std::string signature = good;
        std::string message = input;
        switch (round % 3) {
            case 0:
                signature[rng() % signature.size()] ^= static_cast<char>(1 + rng() % 255);
                break;
            case 1:
                message[rng() % message.size()] ^= static_cast<char>(1 + rng() % 127);
                break;
            default:
                for (auto& c : signature)
                    c = static_cast<char>(rng());
        }
        EXPECT_EQ(verify(key, message, signature), openssl_verify(pkey, message, signature))
            << round;
    }
}

TEST(Rs256, SignatureOfTheWrongSizeOrNotBelowTheModulusIsRefused) {
    EVP_PKEY* pkey = rsa_key(2048);
    const Rs256Key key = Rs256Key::from_pem(public_pem(pkey, "SubjectPublicKeyInfo"));
    const std::string input = "a.b";
    const std::string good = openssl_sign(pkey, input);
    EXPECT_FALSE(verify(key, input, good.substr(1)));
    EXPECT_FALSE(verify(key, input, std::string(1, '\0') + good));
    EXPECT_FALSE(verify(key, input, std::string(256, '\xff')));  // >= n
    EXPECT_FALSE(verify(key, input, std::string(256, '\0')));
    // The validator reports a wrong length as such.
    const Validator validator(key);
    auto claims = test::new_claims();
    const std::string token = rs256_token(pkey, R"({"alg":"RS256"})", R"({"exp":1700000600})");
    ASSERT_EQ(validator.validate(token, test::now, *claims), Error::ok);
    const std::string header_payload = token.substr(0, token.rfind('.') + 1);
    EXPECT_EQ(
        validator.validate(header_payload + base64url_encode(good.substr(1)), test::now, *claims),
        Error::signature_length);
}

TEST(Rs256, SignaturePlusModulusIsRefused) {
    // s + n is congruent to s: without the "representative < n" rule it
    // would verify too, a second spelling of the same signature. s + n fits
    // in 256 bytes only when s < 2^2048 - n, so use a key whose n is below
    // 3/4 of 2^2048: then over a third of all signatures qualify.
    BIGNUM* limit = BN_new();
    BN_set_bit(limit, 2048);
    BIGNUM* small = BN_new();
    BN_set_bit(small, 2046);
    BN_mul_word(small, 3);  // 3 * 2^2046
    Pkey pkey;
    BIGNUM* n = nullptr;
    for (int attempt = 0; attempt < 40 && !pkey; ++attempt) {
        Pkey candidate(EVP_RSA_gen(2048));
        BN_free(n);
        n = nullptr;
        ASSERT_EQ(EVP_PKEY_get_bn_param(candidate.get(), "n", &n), 1);
        if (BN_cmp(n, small) < 0) pkey = std::move(candidate);
    }
    ASSERT_TRUE(pkey) << "no 2048-bit key with n < 3 * 2^2046 in 40 attempts";
    const Rs256Key key = Rs256Key::from_pem(public_pem(pkey.get(), "SubjectPublicKeyInfo"));
    int checked = 0;
    for (int i = 0; i < 200 && checked < 3; ++i) {
        std::string input = "message.";
        input += std::to_string(i);
        const std::string good = openssl_sign(pkey.get(), input);
        BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(good.data()),
                              static_cast<int>(good.size()), nullptr);
        BN_add(s, s, n);
        if (BN_cmp(s, limit) < 0) {
            std::string shifted(256, '\0');
            BN_bn2binpad(s, reinterpret_cast<unsigned char*>(shifted.data()), 256);
            EXPECT_TRUE(verify(key, input, good));
            EXPECT_FALSE(verify(key, input, shifted)) << i;
            ++checked;
        }
        BN_free(s);
    }
    BN_free(small);
    BN_free(limit);
    BN_free(n);
    EXPECT_EQ(checked, 3);
}

TEST(Rs256, LoadsSpkiAndPkcs1PemOfTheSameKey) {
    EVP_PKEY* pkey = rsa_key(3072);
    const std::string spki = public_pem(pkey, "SubjectPublicKeyInfo");
    const std::string pkcs1 = public_pem(pkey, "type-specific");
    ASSERT_NE(spki.find("BEGIN PUBLIC KEY"), std::string::npos);
    ASSERT_NE(pkcs1.find("BEGIN RSA PUBLIC KEY"), std::string::npos);
    const std::string input = "x.y";
    const std::string signature = openssl_sign(pkey, input);
    for (const std::string& pem : {spki, pkcs1}) {
        const Rs256Key key = Rs256Key::from_pem(pem);
        EXPECT_EQ(key.modulus_bits(), 3072);
        EXPECT_TRUE(verify(key, input, signature));
        EXPECT_FALSE(verify(key, "x.z", signature));
    }
}

TEST(Rs256, RefusesWeakAndUnusableKeys) {
    auto code_of = [](auto load) {
        try {
            load();
        } catch (const SetupError& e) {
            return e.code();
        }
        return Error::ok;
    };
    // 1024-bit: a clear error, never a silent accept.
    EVP_PKEY* weak = EVP_RSA_gen(1024);
    const std::string weak_pem = public_pem(weak, "SubjectPublicKeyInfo");
    EVP_PKEY_free(weak);
    EXPECT_EQ(code_of([&] { (void)Rs256Key::from_pem(weak_pem); }), Error::key_too_short);
    // A private key, an EC key, garbage, two PEM kinds at once.
    EXPECT_EQ(code_of([&] { (void)Rs256Key::from_pem(private_pem(rsa_key(2048))); }),
              Error::key_invalid);
    Pkey ec(EVP_EC_gen("P-256"));
    EXPECT_EQ(
        code_of([&] { (void)Rs256Key::from_pem(public_pem(ec.get(), "SubjectPublicKeyInfo")); }),
        Error::key_invalid);
    EXPECT_EQ(code_of([] {
                  (void)Rs256Key::from_pem(
                      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
              }),
              Error::key_invalid);
    EXPECT_EQ(code_of([] { (void)Rs256Key::from_pem("not pem"); }), Error::key_invalid);
    const std::string spki = public_pem(rsa_key(2048), "SubjectPublicKeyInfo");
    const std::string pkcs1 = public_pem(rsa_key(2048), "type-specific");
    EXPECT_EQ(code_of([&] { (void)Rs256Key::from_pem(spki + pkcs1); }), Error::key_invalid);
    // Exponents: even, 1, too large; an even modulus.
    const std::string n = test::decoded(a2_n);
    auto with = [&](std::string modulus, std::string exponent) {
        return [=] {
            (void)Rs256Key::from_components(
                {reinterpret_cast<const unsigned char*>(modulus.data()), modulus.size()},
                {reinterpret_cast<const unsigned char*>(exponent.data()), exponent.size()});
        };
    };
    EXPECT_EQ(code_of(with(n, std::string("\x01\x00\x01", 3))), Error::ok);
    EXPECT_EQ(code_of(with(n, "\x03")), Error::ok);
    EXPECT_EQ(code_of(with(n, std::string(1, '\x01'))), Error::key_invalid);
    EXPECT_EQ(code_of(with(n, std::string(1, '\x02'))), Error::key_invalid);
    EXPECT_EQ(code_of(with(n, std::string(1, '\0'))), Error::key_invalid);
    EXPECT_EQ(code_of(with(n, std::string("\x01\x00\x00\x00\x01", 5))),
              Error::key_invalid);  // 2^32 + 1
    std::string even = n;
    even.back() = static_cast<char>(even.back() & ~1);
    EXPECT_EQ(code_of(with(even, std::string("\x01\x00\x01", 3))), Error::key_invalid);
    EXPECT_EQ(code_of(with(n.substr(1), std::string("\x01\x00\x01", 3))), Error::key_too_short);
    EXPECT_EQ(code_of(with(n + n + n, std::string("\x01\x00\x01", 3))),
              Error::key_invalid);  // 6144 bits
}

TEST(Rs256, AlgorithmConfusionIsImpossible) {
    // The classic attack: an HS256 token whose HMAC key is the RSA public
    // key's PEM text, sent to a server that trusts that RSA key.
    EVP_PKEY* pkey = rsa_key(2048);
    const std::string pem = public_pem(pkey, "SubjectPublicKeyInfo");
    const Rs256Key key = Rs256Key::from_pem(pem);
    auto claims = test::new_claims();
    const std::string forged =
        test::make_token(R"({"alg":"HS256"})", R"({"exp":1700000600})", Hs256Key(pem));
    EXPECT_EQ(Validator(key).validate(forged, test::now, *claims), Error::alg_mismatch);
    KeySet keys;
    keys.add(key, "rsa-1");
    const std::string forged_with_kid = test::make_token(R"({"alg":"HS256","kid":"rsa-1"})",
                                                         R"({"exp":1700000600})", Hs256Key(pem));
    EXPECT_EQ(Validator(std::move(keys)).validate(forged_with_kid, test::now, *claims),
              Error::alg_mismatch);
    // And the other way round: an RS256 token to an HS256 key.
    const std::string rs = rs256_token(pkey, R"({"alg":"RS256"})", R"({"exp":1700000600})");
    EXPECT_EQ(Validator(Hs256Key(test::secret)).validate(rs, test::now, *claims),
              Error::alg_mismatch);
}

TEST(Rs256, KeySetWithBothAlgorithmsSelectsByKid) {
    EVP_PKEY* pkey = rsa_key(2048);
    KeySet keys;
    keys.add(Hs256Key(test::secret), "h");
    keys.add(Rs256Key::from_pem(public_pem(pkey, "SubjectPublicKeyInfo")), "r");
    const Validator validator(std::move(keys));
    auto claims = test::new_claims();
    EXPECT_EQ(validator.validate(
                  rs256_token(pkey, R"({"alg":"RS256","kid":"r"})", R"({"exp":1700000600})"),
                  test::now, *claims),
              Error::ok);
    EXPECT_EQ(validator.validate(
                  test::make_token(R"({"alg":"HS256","kid":"h"})", R"({"exp":1700000600})"),
                  test::now, *claims),
              Error::ok);
    EXPECT_EQ(validator.validate(
                  rs256_token(pkey, R"({"alg":"RS256","kid":"h"})", R"({"exp":1700000600})"),
                  test::now, *claims),
              Error::alg_mismatch);
    // Without kid, exactly one key per alg: each finds its own.
    EXPECT_EQ(validator.validate(rs256_token(pkey, R"({"alg":"RS256"})", R"({"exp":1700000600})"),
                                 test::now, *claims),
              Error::ok);
}

TEST(Rs256, SignaturesOfEveryKeySizeVerifyAcrossThreads) {
    // Each thread's scratch grows to the largest key it has seen.
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    EVP_PKEY* const pkeys[] = {rsa_key(4096), rsa_key(2048), rsa_key(3072)};  // up front
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            for (EVP_PKEY* pkey : pkeys) {
                const Rs256Key key = Rs256Key::from_pem(public_pem(pkey, "SubjectPublicKeyInfo"));
                std::string input = "thread.";
                input += std::to_string(t);
                const std::string signature = openssl_sign(pkey, input);
                for (int i = 0; i < 20; ++i) {
                    if (!verify(key, input, signature)) ++failures;
                    if (verify(key, input + "x", signature)) ++failures;
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    EXPECT_EQ(failures.load(), 0);
}

TEST(Rs256, SignsWhatOpenSslAndTheValidatorAccept) {
    EVP_PKEY* pkey = rsa_key(2048);
    const Rs256PrivateKey key = Rs256PrivateKey::from_pem(private_pem(pkey));
    // PKCS#1 v1.5 signatures are deterministic: the same bytes as OpenSSL's.
    EXPECT_EQ(key.sign("a.b"), openssl_sign(pkey, "a.b"));
    EXPECT_TRUE(test::openssl_verify(pkey, "a.b", key.sign("a.b")));

    SignOptions options;
    options.kid = "rsa-1";
    const std::string token = sign(key, R"({"sub":"x","exp":1700000600})", options);
    KeySet keys;
    keys.add(key.public_key(), "rsa-1");
    auto claims = test::new_claims();
    ASSERT_EQ(Validator(std::move(keys)).validate(token, test::now, *claims), Error::ok);
    EXPECT_EQ(claims->header.alg, "RS256");
    EXPECT_EQ(claims->header.kid, "rsa-1");
    EXPECT_EQ(claims->sub, "x");
    // The public key from the private one equals the one OpenSSL exports.
    EXPECT_TRUE(verify(Rs256Key::from_pem(public_pem(pkey, "SubjectPublicKeyInfo")), "a.b",
                       key.sign("a.b")));
    // Claims the validator would refuse are refused when signing too.
    EXPECT_THROW((void)sign(key, R"({"exp":"soon"})"), SetupError);
}

TEST(Rs256, PrivateKeyLoadingRefusesWeakEncryptedAndPublicKeys) {
    auto code_of = [](const std::string& pem) {
        try {
            (void)Rs256PrivateKey::from_pem(pem);
        } catch (const SetupError& e) {
            return e.code();
        }
        return Error::ok;
    };
    EXPECT_EQ(code_of(private_pem(rsa_key(2048))), Error::ok);
    EXPECT_EQ(code_of(test::pem_of(rsa_key(2048), EVP_PKEY_KEYPAIR, "type-specific")), Error::ok);
    Pkey weak(EVP_RSA_gen(1024));
    EXPECT_EQ(code_of(private_pem(weak.get())), Error::key_too_short);
    EXPECT_EQ(code_of(public_pem(rsa_key(2048), "SubjectPublicKeyInfo")), Error::key_invalid);
    EXPECT_EQ(code_of("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE "
                      "KEY-----\n"),
              Error::key_invalid);
    EXPECT_EQ(code_of("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
              Error::key_invalid);
}

}  // namespace
}  // namespace jwtguard
