#include <jwtguard/denylist.hpp>
#include <jwtguard/ecdsa.hpp>
#include <jwtguard/keyset.hpp>
#include <jwtguard/sign.hpp>
#include <jwtguard/validator.hpp>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <random>
#include <string>

#include "test_keys.hpp"
#include "test_tokens.hpp"
#include "wycheproof.hpp"

namespace jwtguard {
namespace {

using test::ec_jwk;
using test::ec_key;

const std::string claims_json = R"({"sub":"ec","exp":1800000000})";

template <class Key>
bool verify(const Key& key, std::string_view input, std::string_view signature) {
    return key.verify(input, reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size());
}

/// The twin (r, n - s) of the r || s signature `rs` of `Curve`, computed
/// with OpenSSL's BN, not with jwtguard.
template <class Curve>
std::string twin_of(const std::string& rs) {
    BIGNUM* n = BN_bin2bn(Curve::order, Curve::size, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data()) + Curve::size,
                          Curve::size, nullptr);
    BN_sub(s, n, s);
    std::string twin = rs;
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(twin.data()) + Curve::size, Curve::size);
    BN_free(n);
    BN_free(s);
    return twin;
}

/// The three ES algorithms, each with its curve's names.
template <class Key, class PrivateKey>
struct Family {
    using key = Key;
    using private_key = PrivateKey;
    static constexpr std::size_t size = Key::coordinate_size;
    static std::string crv() { return std::string(Key::curve_type::crv); }
    static EVP_PKEY* pkey() { return ec_key(crv()); }
};
using Es256 = Family<Es256Key, Es256PrivateKey>;
using Es384 = Family<Es384Key, Es384PrivateKey>;
using Es512 = Family<Es512Key, Es512PrivateKey>;

template <class F>
class Ecdsa : public ::testing::Test {};
using Families = ::testing::Types<Es256, Es384, Es512>;
TYPED_TEST_SUITE(Ecdsa, Families);

template <class Key>
void check_ecdsa_wycheproof(const char* name) {
    int jwk_groups = 0;
    const test::VerdictCount count = test::match_verdicts(
        name,
        [&](const rapidjson::Value& group, const std::string& message,
            const std::string& signature) {
            const Key key = Key::from_pem(group["publicKeyPem"].GetString());
            const bool verdict = verify(key, message, signature);
            // The same key through its JWK: the same verdict, the same key.
            if (group.HasMember("publicKeyJwk")) {
                const Key jwk =
                    std::get<Key>(load_jwk(test::json_text(group["publicKeyJwk"]), Key::algorithm));
                EXPECT_EQ(verify(jwk, message, signature), verdict) << name;
                EXPECT_EQ(jwk.material_id(), key.material_id()) << name;
                ++jwk_groups;
            }
            return verdict;
        },
        false);
    // Every verdict matched, these included: a valid signature whose
    // verification meets u1*G == u2*Q (Nettle alone refuses it; see
    // detail::verify_point_duplication), and invalid ones around it.
    const auto duplication = count.flags.find("PointDuplication");
    ASSERT_NE(duplication, count.flags.end()) << name;
    EXPECT_GE(duplication->second, 2) << name;
    EXPECT_GT(count.valid, 50) << name;
    EXPECT_GT(count.invalid, 50) << name;
    EXPECT_GT(jwk_groups, 0) << name;
}

TEST(EcdsaWycheproof, Es256) {
    check_ecdsa_wycheproof<Es256Key>("ecdsa_secp256r1_sha256_p1363_test.json");
}
TEST(EcdsaWycheproof, Es384) {
    check_ecdsa_wycheproof<Es384Key>("ecdsa_secp384r1_sha384_p1363_test.json");
}
TEST(EcdsaWycheproof, Es512) {
    check_ecdsa_wycheproof<Es512Key>("ecdsa_secp521r1_sha512_p1363_test.json");
}

TYPED_TEST(Ecdsa, PointDuplicationIsDecidedExactly) {
    // Nettle alone refuses every valid signature whose verification adds a
    // point to itself; detail::verify_point_duplication decides them.
    using Key = typename TypeParam::key;
    const std::string message = "header.payload";
    for (int round = 0; round < 8; ++round) {
        // u1*G == u2*Q: valid, and so is its twin (r, n - s).
        const test::CraftedEcdsa valid =
            test::point_duplication_signature(TypeParam::crv(), message, 1, 1);
        const Key key = valid.key<Key>();
        EXPECT_TRUE(verify(key, message, valid.signature));
        EXPECT_TRUE(verify(key, message, twin_of<typename Key::curve_type>(valid.signature)));
        // The same key and signature, another message: refused; the same
        // key, message and r with another s (u1*G == u2*Q still, as it
        // depends on r alone): refused.
        EXPECT_FALSE(verify(key, "header.payloaD", valid.signature));
        std::string other_s = valid.signature;
        other_s.back() = static_cast<char>(other_s.back() ^ 1);
        EXPECT_FALSE(verify(key, message, other_s));
        // u1*G == -u2*Q: R is the point at infinity.
        const test::CraftedEcdsa infinity =
            test::point_duplication_signature(TypeParam::crv(), message, -1, 1);
        EXPECT_FALSE(verify(infinity.key<Key>(), message, infinity.signature));
        // 3*u2*Q == u1*G: -c*G + 2*Q == Q holds (3*Q == c*G), but
        // x(c*G) != x(Q), and R == (4/3)*u1*G, not 2*u1*G.
        const test::CraftedEcdsa third =
            test::point_duplication_signature(TypeParam::crv(), message, 1, 3);
        EXPECT_FALSE(verify(third.key<Key>(), message, third.signature));
    }
}

TYPED_TEST(Ecdsa, TheCurveOrderIsOpenSsls) {
    using Curve = typename TypeParam::key::curve_type;
    const std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
        EC_GROUP_new_by_curve_name(OBJ_sn2nid(std::string(Curve::group).c_str())), &EC_GROUP_free);
    ASSERT_TRUE(group);
    std::string order(Curve::size, '\0');
    BN_bn2binpad(EC_GROUP_get0_order(group.get()), reinterpret_cast<unsigned char*>(order.data()),
                 static_cast<int>(order.size()));
    EXPECT_EQ(order, std::string(reinterpret_cast<const char*>(Curve::order), Curve::size));
}

TYPED_TEST(Ecdsa, SignsAndVerifiesThroughPemJwkAndTheValidator) {
    using Key = typename TypeParam::key;
    EVP_PKEY* pkey = TypeParam::pkey();
    const auto signer = TypeParam::private_key::from_pem(test::private_pem(pkey));
    const std::string token = sign(signer, claims_json);
    const std::string pem = test::public_pem(pkey, "SubjectPublicKeyInfo");
    auto claims = test::new_claims();
    for (const Key& key :
         {Key::from_pem(pem), std::get<Key>(load_pem_public_key(pem)),
          std::get<Key>(load_jwk(ec_jwk(pkey, TypeParam::crv(), TypeParam::size,
                                        R"(,"alg":")" + std::string(Key::algorithm) + "\"")))}) {
        const Validator v(key);
        EXPECT_EQ(v.validate(token, test::now, *claims), Error::ok);
        EXPECT_EQ(claims->header.alg, Key::algorithm);
    }
    // Each signature is fresh (random k), each verifies.
    const std::string again = sign(signer, claims_json);
    EXPECT_NE(again, token);
    EXPECT_EQ(Validator(Key::from_pem(pem)).validate(again, test::now, *claims), Error::ok);
}

TYPED_TEST(Ecdsa, DerAndEveryOtherLengthIsRefused) {
    using Key = typename TypeParam::key;
    EVP_PKEY* pkey = TypeParam::pkey();
    const Key key = Key::from_pem(test::public_pem(pkey, "SubjectPublicKeyInfo"));
    const std::string header =
        base64url_encode(R"({"alg":")" + std::string(Key::algorithm) + "\"}");
    const std::string input = header + "." + base64url_encode(claims_json);
    // OpenSSL's own signature is DER: the same (r, s), the wrong form.
    std::string der;
    {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        std::size_t size = 0;
        EVP_DigestSignInit(ctx, nullptr, Key::curve_type::Hash::evp(), nullptr, pkey);
        EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size());
        der.resize(size);
        EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &size,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
        der.resize(size);
        EVP_MD_CTX_free(ctx);
    }
    const Validator v(key);
    auto claims = test::new_claims();
    EXPECT_EQ(v.validate(input + "." + base64url_encode(der), test::now, *claims),
              Error::signature_length);
    // r || s from the DER verifies; one byte more or less is refused.
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    ASSERT_NE(sig, nullptr);
    std::string rs(2 * TypeParam::size, '\0');
    auto* out = reinterpret_cast<unsigned char*>(rs.data());
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, TypeParam::size);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + TypeParam::size, TypeParam::size);
    ECDSA_SIG_free(sig);
    EXPECT_EQ(v.validate(input + "." + base64url_encode(rs), test::now, *claims), Error::ok);
    EXPECT_EQ(v.validate(input + "." + base64url_encode(rs + '\0'), test::now, *claims),
              Error::signature_length);
    EXPECT_EQ(v.validate(input + "." + base64url_encode(rs.substr(1)), test::now, *claims),
              Error::signature_length);
    // r or s of zero, or of n: refused before any arithmetic.
    using Curve = typename Key::curve_type;
    const std::string order(reinterpret_cast<const char*>(Curve::order), Curve::size);
    const std::string zero(Curve::size, '\0');
    for (const std::string& bad :
         {zero + rs.substr(Curve::size), rs.substr(0, Curve::size) + zero,
          order + rs.substr(Curve::size), rs.substr(0, Curve::size) + order})
        EXPECT_EQ(v.validate(input + "." + base64url_encode(bad), test::now, *claims),
                  Error::signature_invalid);
}

TYPED_TEST(Ecdsa, TheTwinOfARevokedTokenIsRevokedToo) {
    using Key = typename TypeParam::key;
    using Curve = typename Key::curve_type;
    EVP_PKEY* pkey = TypeParam::pkey();
    const Key key = Key::from_pem(test::public_pem(pkey, "SubjectPublicKeyInfo"));
    const auto signer = TypeParam::private_key::from_pem(test::private_pem(pkey));
    // A token without jti: revoked by its signature.
    const std::string token = sign(signer, R"({"sub":"twin","exp":1800000000})");
    const std::size_t dot = token.rfind('.');
    const std::string rs = test::decoded(token.substr(dot + 1));
    const std::string twin_rs = twin_of<Curve>(rs);
    ASSERT_NE(twin_rs, rs);
    const std::string twin = token.substr(0, dot + 1) + base64url_encode(twin_rs);
    ASSERT_TRUE(verify(key, token.substr(0, dot), twin_rs)) << "the twin is a valid signature";

    for (const bool revoke_the_twin : {false, true}) {
        Denylist::Options options;
        Denylist denylist(options, test::now);
        ValidatorOptions vo;
        vo.denylist = &denylist;
        const Validator v(key, vo);
        auto claims = test::new_claims();
        ASSERT_EQ(v.validate(token, test::now, *claims), Error::ok);
        ASSERT_EQ(v.validate(twin, test::now, *claims), Error::ok);
        ASSERT_EQ(denylist.revoke_token(revoke_the_twin ? twin : token), Error::ok);
        EXPECT_EQ(v.validate(token, test::now, *claims), Error::revoked) << revoke_the_twin;
        EXPECT_EQ(v.validate(twin, test::now, *claims), Error::revoked) << revoke_the_twin;
    }
}

TYPED_TEST(Ecdsa, CanonicalFormIsTheSmallerOfSAndNMinusS) {
    using Curve = typename TypeParam::key::curve_type;
    std::mt19937_64 rng(3);
    for (int round = 0; round < 200; ++round) {
        std::string sig(2 * Curve::size, '\0');
        for (auto& c : sig)
            c = static_cast<char>(rng());
        sig[Curve::size] = static_cast<char>(sig[Curve::size] & Curve::order[0]);  // mostly < n
        std::string canonical = sig;
        canonicalize_ecdsa_signature<Curve>(reinterpret_cast<unsigned char*>(canonical.data()),
                                            canonical.size());
        EXPECT_EQ(canonical.substr(0, Curve::size), sig.substr(0, Curve::size));
        BIGNUM* n = BN_bin2bn(Curve::order, Curve::size, nullptr);
        BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + Curve::size,
                              Curve::size, nullptr);
        BIGNUM* c =
            BN_bin2bn(reinterpret_cast<const unsigned char*>(canonical.data()) + Curve::size,
                      Curve::size, nullptr);
        BIGNUM* twin = BN_new();
        BN_sub(twin, n, s);
        if (BN_is_zero(s) || BN_cmp(s, n) >= 0) {
            EXPECT_EQ(canonical, sig) << "out of range: left as it is";
        } else {
            EXPECT_EQ(BN_cmp(c, BN_cmp(s, twin) <= 0 ? s : twin), 0) << round;
        }
        BN_free(n);
        BN_free(s);
        BN_free(c);
        BN_free(twin);
    }
}

TYPED_TEST(Ecdsa, KeysAreCheckedOnTheCurveWithCoordinatesOfExactlyTheCurvesSize) {
    using Key = typename TypeParam::key;
    EVP_PKEY* pkey = TypeParam::pkey();
    const std::string alg = R"(,"alg":")" + std::string(Key::algorithm) + "\"";
    const std::string good = ec_jwk(pkey, TypeParam::crv(), TypeParam::size, alg);
    EXPECT_NO_THROW((void)load_jwk(good));
    auto expect_refused = [](const std::string& jwk, const std::string& reason) {
        try {
            (void)load_jwk(jwk);
            ADD_FAILURE() << "accepted: " << jwk;
        } catch (const SetupError& e) {
            EXPECT_EQ(e.code(), Error::key_invalid);
            EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
        }
    };
    // One byte more (a leading zero) and one byte less.
    const std::string x = test::bn_param_bytes(pkey, OSSL_PKEY_PARAM_EC_PUB_X, TypeParam::size);
    const std::string y = test::bn_param_bytes(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, TypeParam::size);
    auto jwk_of = [&](const std::string& xb, const std::string& yb, const std::string& crv) {
        return R"({"kty":"EC","crv":")" + crv + R"(","x":")" + base64url_encode(xb) + R"(","y":")" +
               base64url_encode(yb) + "\"" + alg + "}";
    };
    expect_refused(jwk_of('\0' + x, y, TypeParam::crv()), "bytes each");
    expect_refused(jwk_of(x.substr(1), y, TypeParam::crv()), "bytes each");
    // A point off the curve: y + 1.
    std::string y1 = y;
    y1.back() = static_cast<char>(y1.back() + 1);
    expect_refused(jwk_of(x, y1, TypeParam::crv()), "not on");
    // Coordinates of all ones: not below the field prime.
    expect_refused(jwk_of(std::string(x.size(), '\xff'), y, TypeParam::crv()), "not on");
    // The wrong curve name, a private key, the wrong kty.
    expect_refused(jwk_of(x, y, TypeParam::crv() == "P-256" ? "P-384" : "P-256"), "crv");
    expect_refused(jwk_of(x, y, "secp256k1"), "crv");
    expect_refused(ec_jwk(pkey, TypeParam::crv(), TypeParam::size, alg + R"(,"d":"AAAA")"),
                   "private");
    expect_refused(test::oct_jwk(std::string(64, 'k'), alg), "kty");
    // An EC PEM of another curve is not this algorithm's key.
    EVP_PKEY* other = ec_key(TypeParam::crv() == "P-256" ? "P-384" : "P-256");
    EXPECT_THROW((void)Key::from_pem(test::public_pem(other, "SubjectPublicKeyInfo")), SetupError);
    EXPECT_THROW((void)load_pem_public_key(test::public_pem(pkey, "SubjectPublicKeyInfo"),
                                           TypeParam::crv() == "P-256" ? "ES384" : "ES256"),
                 SetupError);
    // A private key PEM is not a public key.
    EXPECT_THROW((void)Key::from_pem(test::private_pem(pkey)), SetupError);
}

TYPED_TEST(Ecdsa, AnotherAlgorithmsTokenIsAlgMismatch) {
    using Key = typename TypeParam::key;
    EVP_PKEY* pkey = TypeParam::pkey();
    const Validator v(Key::from_pem(test::public_pem(pkey, "SubjectPublicKeyInfo")));
    auto claims = test::new_claims();
    const std::string hs = sign(Hs512Key(std::string(64, 'k')), claims_json);
    EXPECT_EQ(v.validate(hs, test::now, *claims), Error::alg_mismatch);
    // The token's own signature under another ES name.
    const std::string token =
        sign(TypeParam::private_key::from_pem(test::private_pem(pkey)), claims_json);
    const std::string other_alg = Key::algorithm == "ES256" ? "ES384" : "ES256";
    const std::string relabelled =
        base64url_encode(R"({"alg":")" + other_alg + "\"}") + token.substr(token.find('.'));
    EXPECT_EQ(v.validate(relabelled, test::now, *claims), Error::alg_mismatch);
}

}  // namespace
}  // namespace jwtguard
