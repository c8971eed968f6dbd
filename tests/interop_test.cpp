// Interoperability: keys and tokens made by an independent implementation
// (the `jose` package, by tests/fixtures/interop/make_fixtures.mjs), with the
// verdict jwtguard must give on each; and tokens made by jwtguard's own CLI
// that jose verified when the fixtures were made. No node at test time.
#include <jwtguard/jwtguard.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

rapidjson::Document fixtures() {
    const std::filesystem::path file =
        std::filesystem::path(JWTGUARD_FIXTURES_DIR) / "interop" / "fixtures.json";
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document doc;
    detail::JsonBuffer padded(text.str());  // rapidjson's SIMD reads 16-byte blocks
    doc.Parse(padded.data());
    if (doc.HasParseError() || !doc.IsObject())
        throw std::runtime_error("cannot read " + file.string());
    return doc;
}

std::string jwks_text(const rapidjson::Value& jwks) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    jwks.Accept(writer);
    return buffer.GetString();
}

TEST(Interop, JoseKeysAndTokensGiveTheExpectedVerdicts) {
    const rapidjson::Document doc = fixtures();
    const JwksLoad load = load_jwks(jwks_text(doc["jwks"]));
    EXPECT_TRUE(load.rejected.empty());
    EXPECT_EQ(load.keys.size(), doc["jwks"]["keys"].Size());
    Validator::Options options;
    options.issuers = {doc["issuer"].GetString()};
    options.audiences = {doc["audience"].GetString()};
    options.typ = "JWT";
    const Validator validator(load.keys, options);
    const std::int64_t now = doc["now"].GetInt64();
    auto claims = test::new_claims();
    std::set<std::string> verdicts;
    for (const auto& entry : doc["tokens"].GetArray()) {
        const std::string name = entry["name"].GetString();
        const std::string expect = entry["expect"].GetString();
        const Error e = validator.validate(entry["token"].GetString(), now, *claims);
        EXPECT_EQ(to_string(e), expect) << name;
        verdicts.insert(expect);
        if (e == Error::ok) {
            EXPECT_EQ(claims->iss, doc["issuer"].GetString()) << name;
            EXPECT_EQ(claims->sub, "user-1") << name;
        }
    }
    // Every kind of verdict the fixtures were made for is really exercised.
    for (const char* v :
         {"ok", "signature_invalid", "expired", "aud_mismatch", "kid_unknown", "alg_mismatch"})
        EXPECT_EQ(verdicts.count(v), 1u) << v;
}

TEST(Interop, JoseVerifiedTheTokensJwtguardSigned) {
    const rapidjson::Document doc = fixtures();
    int ours = 0;
    for (const auto& entry : doc["tokens"].GetArray()) {
        if (!entry.HasMember("jose_verified")) continue;
        EXPECT_TRUE(entry["jose_verified"].GetBool()) << entry["name"].GetString();
        ++ours;
    }
    EXPECT_EQ(ours, 13);  // one per algorithm (Ed25519 is signed as EdDSA)
}

TEST(Interop, EveryAlgorithmIsCoveredBothWays) {
    const rapidjson::Document doc = fixtures();
    const JwksLoad load = load_jwks(jwks_text(doc["jwks"]));
    Validator::Options options;
    options.issuers = {doc["issuer"].GetString()};
    options.audiences = {doc["audience"].GetString()};
    const Validator validator(load.keys, options);
    auto claims = test::new_claims();
    std::set<std::string> jose_signed, jwtguard_signed;
    for (const auto& entry : doc["tokens"].GetArray()) {
        if (std::string_view(entry["expect"].GetString()) != "ok") continue;
        // The algorithm as the token's verified header names it.
        ASSERT_EQ(validator.validate(entry["token"].GetString(), doc["now"].GetInt64(), *claims),
                  Error::ok)
            << entry["name"].GetString();
        (entry.HasMember("jose_verified") ? jwtguard_signed : jose_signed)
            .insert(std::string(*claims->header.alg));
    }
    const std::set<std::string> all = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                       "RS512", "PS256", "PS384", "PS512", "ES256",
                                       "ES384", "ES512", "EdDSA"};
    EXPECT_EQ(jose_signed, all);
    EXPECT_EQ(jwtguard_signed, all);
}

TEST(Interop, EveryKeySizeIsCovered) {
    const rapidjson::Document doc = fixtures();
    std::set<int> sizes;
    for (const auto& key : doc["jwks"]["keys"].GetArray()) {
        if (std::string_view(key["alg"].GetString()) != "RS256") continue;
        const Key k = load_jwk(jwks_text(key));
        sizes.insert(std::get<Rs256Key>(k).modulus_bits());
    }
    EXPECT_EQ(sizes, (std::set<int>{2048, 3072, 4096}));
}

}  // namespace
}  // namespace jwtguard
