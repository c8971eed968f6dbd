#include <jwtguard/hs256.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using test::from_hex;

std::string hmac_of(const Hs256Key& key, std::string_view message) {
    return key.sign(message);
}

bool verify(const Hs256Key& key, std::string_view message, std::string_view tag) {
    return key.verify(message, reinterpret_cast<const unsigned char*>(tag.data()), tag.size());
}

TEST(Hs256, Rfc4231KeysLongerThanTheBlock) {
    // RFC 4231 test cases 6 and 7: a 131-byte key is hashed first.
    const Hs256Key key(std::string(131, '\xaa'));
    EXPECT_EQ(hmac_of(key, "Test Using Larger Than Block-Size Key - Hash Key First"),
              from_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
    EXPECT_EQ(hmac_of(key,
                      "This is a test using a larger than block-size key and a larger than "
                      "block-size data. The key needs to be hashed before being used by the "
                      "HMAC algorithm."),
              from_hex("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
}

TEST(Hs256, Rfc4231ShortKeysAreRefused) {
    // Test cases 1-5 use keys of 4 to 25 bytes: below RFC 7518's minimum.
    for (std::size_t size : {4u, 20u, 25u, 31u}) {
        try {
            const Hs256Key key(std::string(size, 'k'));
            ADD_FAILURE() << "a " << size << "-byte key was accepted";
        } catch (const SetupError& e) {
            EXPECT_EQ(e.code(), Error::key_too_short);
            EXPECT_NE(std::string(e.what()).find("32"), std::string::npos);
        }
    }
    EXPECT_NO_THROW(Hs256Key(std::string(32, 'k')));
}

TEST(Hs256, MatchesOpenSslOneShotHmac) {
    std::mt19937 rng(7);
    for (std::size_t key_size : {32u, 33u, 63u, 64u, 65u, 100u, 200u}) {
        for (std::size_t size : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 400u, 1000u}) {
            std::string key_bytes(key_size, '\0'), message(size, '\0');
            for (auto& c : key_bytes)
                c = static_cast<char>(rng());
            for (auto& c : message)
                c = static_cast<char>(rng());
            unsigned char expected[32];
            unsigned int expected_size = 0;
            HMAC(EVP_sha256(), key_bytes.data(), static_cast<int>(key_bytes.size()),
                 reinterpret_cast<const unsigned char*>(message.data()), message.size(), expected,
                 &expected_size);
            const Hs256Key key(key_bytes);
            EXPECT_EQ(hmac_of(key, message),
                      std::string(reinterpret_cast<const char*>(expected), expected_size))
                << key_size << " " << size;
        }
    }
}

TEST(Hs256, EveryBitOfTheTagMatters) {
    const Hs256Key key(std::string(32, 's'));
    const std::string message = "header.payload";
    const std::string tag = hmac_of(key, message);
    ASSERT_TRUE(verify(key, message, tag));
    for (std::size_t bit = 0; bit < tag.size() * 8; ++bit) {
        std::string bad = tag;
        bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
        EXPECT_FALSE(verify(key, message, bad)) << bit;
    }
    EXPECT_FALSE(verify(key, message, tag.substr(0, 16)));  // truncated
    EXPECT_FALSE(verify(key, message, tag + "x"));
    EXPECT_FALSE(verify(key, message, ""));
    EXPECT_FALSE(verify(key, message + "x", tag));
    EXPECT_FALSE(verify(Hs256Key(std::string(32, 't')), message, tag));
}

TEST(Hs256, WycheproofVectors) {
    const std::filesystem::path file =
        std::filesystem::path(JWTGUARD_WYCHEPROOF_DIR) / "hmac_sha256_test.json";
    ASSERT_TRUE(std::filesystem::exists(file)) << "Wycheproof vectors not found at " << file;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document doc;
    ASSERT_FALSE(doc.Parse(text.str().c_str()).HasParseError());
    int verified = 0, refused_keys = 0;
    for (const auto& group : doc["testGroups"].GetArray()) {
        const int key_bits = group["keySize"].GetInt();
        const int tag_bits = group["tagSize"].GetInt();
        for (const auto& test : group["tests"].GetArray()) {
            const std::string key_bytes = from_hex(test["key"].GetString());
            const std::string message = from_hex(test["msg"].GetString());
            const std::string tag = from_hex(test["tag"].GetString());
            const bool valid = std::string_view(test["result"].GetString()) == "valid";
            const int id = test["tcId"].GetInt();
            if (key_bits < 256) {
                EXPECT_THROW(Hs256Key{key_bytes}, SetupError) << id;
                ++refused_keys;
                continue;
            }
            const Hs256Key key(key_bytes);
            // jwtguard verifies full 32-byte tags only: truncated tags never pass.
            EXPECT_EQ(verify(key, message, tag), valid && tag_bits == 256) << "tcId " << id;
            if (valid && tag_bits == 256) {
                EXPECT_EQ(hmac_of(key, message), tag) << id;
            }
            ++verified;
        }
    }
    EXPECT_GT(verified, 150);
    EXPECT_GT(refused_keys, 0);
}

}  // namespace
}  // namespace jwtguard
