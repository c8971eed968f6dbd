#include <jwtguard/hmac.hpp>

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
#include "wycheproof.hpp"

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

template <class Key>
void check_hmac_wycheproof(const char* name) {
    const rapidjson::Document doc = test::wycheproof(name);
    int verified = 0, refused_keys = 0, full_valid = 0;
    for (const auto& group : doc["testGroups"].GetArray()) {
        const int key_bits = group["keySize"].GetInt();
        const int tag_bits = group["tagSize"].GetInt();
        for (const auto& test : group["tests"].GetArray()) {
            const std::string key_bytes = from_hex(test["key"].GetString());
            const std::string message = from_hex(test["msg"].GetString());
            const std::string tag = from_hex(test["tag"].GetString());
            const std::string_view result = test["result"].GetString();
            ASSERT_NE(result, "acceptable") << name;
            const bool valid = result == "valid";
            const int id = test["tcId"].GetInt();
            if (static_cast<std::size_t>(key_bits) < 8 * Key::min_secret_size) {
                EXPECT_THROW(Key{key_bytes}, SetupError) << name << " " << id;
                ++refused_keys;
                continue;
            }
            const Key key(key_bytes);
            // A JWS verifies full-length tags only: truncated tags never pass.
            const bool full = static_cast<std::size_t>(tag_bits) == 8 * Key::mac_size;
            EXPECT_EQ(
                key.verify(message, reinterpret_cast<const unsigned char*>(tag.data()), tag.size()),
                valid && full)
                << name << " tcId " << id;
            if (valid && full) {
                EXPECT_EQ(key.sign(message), tag) << id;
                ++full_valid;
            }
            ++verified;
        }
    }
    EXPECT_GT(verified, 100) << name;
    EXPECT_GT(full_valid, 10) << name;
    EXPECT_GT(refused_keys, 0) << name;
}

TEST(Hmac, WycheproofVectorsHs256) {
    check_hmac_wycheproof<Hs256Key>("hmac_sha256_test.json");
}
TEST(Hmac, WycheproofVectorsHs384) {
    check_hmac_wycheproof<Hs384Key>("hmac_sha384_test.json");
}
TEST(Hmac, WycheproofVectorsHs512) {
    check_hmac_wycheproof<Hs512Key>("hmac_sha512_test.json");
}

TEST(Hmac, EachAlgorithmNeedsASecretAsLongAsItsHash) {
    EXPECT_THROW(Hs384Key(std::string(47, 'k')), SetupError);
    EXPECT_NO_THROW(Hs384Key(std::string(48, 'k')));
    EXPECT_THROW(Hs512Key(std::string(63, 'k')), SetupError);
    EXPECT_NO_THROW(Hs512Key(std::string(64, 'k')));
    try {
        Hs512Key(std::string(48, 'k'));
        ADD_FAILURE() << "a 48-byte HS512 secret was accepted";
    } catch (const SetupError& e) {
        EXPECT_EQ(e.code(), Error::key_too_short);
        EXPECT_NE(std::string(e.what()).find("HS512"), std::string::npos) << e.what();
    }
}

TEST(Hmac, AgreesWithOpenSslForEveryHashAndKeySize) {
    std::mt19937_64 rng(7);
    auto check = [&]<class Key>(const EVP_MD* md) {
        for (std::size_t key_size :
             {Key::min_secret_size, std::size_t{100}, std::size_t{129}, std::size_t{200}}) {
            std::string secret(key_size, '\0'), message(rng() % 300, '\0');
            for (auto& c : secret)
                c = static_cast<char>(rng());
            for (auto& c : message)
                c = static_cast<char>(rng());
            unsigned char expected[EVP_MAX_MD_SIZE];
            unsigned size = 0;
            HMAC(md, secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(message.data()), message.size(), expected,
                 &size);
            EXPECT_EQ(Key(secret).sign(message),
                      std::string(reinterpret_cast<const char*>(expected), size))
                << Key::algorithm << " key " << key_size;
        }
    };
    check.template operator()<Hs256Key>(EVP_sha256());
    check.template operator()<Hs384Key>(EVP_sha384());
    check.template operator()<Hs512Key>(EVP_sha512());
}

TEST(Hmac, AgreesWithOpenSslAtEveryMessageLength) {
    // HmacKey pads the last block itself (detail::finish_blocks): every
    // length up to three SHA-512 blocks puts the tail, the 0x80 and the
    // length field at every offset, on both sides of each one-or-two-block
    // boundary (55/56 and 63/64 bytes for SHA-256, 111/112 and 127/128 for
    // SHA-384 and SHA-512).
    std::mt19937_64 rng(11);
    std::string message(3 * 128 + 1, '\0');
    for (auto& c : message)
        c = static_cast<char>(rng());
    auto check = [&]<class Key>(const EVP_MD* md) {
        const std::string secret(Key::min_secret_size + 3, 's');
        const Key key(secret);
        for (std::size_t size = 0; size <= message.size(); ++size) {
            unsigned char expected[EVP_MAX_MD_SIZE];
            unsigned expected_size = 0;
            HMAC(md, secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(message.data()), size, expected,
                 &expected_size);
            ASSERT_EQ(key.sign(std::string_view(message).substr(0, size)),
                      std::string(reinterpret_cast<const char*>(expected), expected_size))
                << Key::algorithm << ", " << size << " bytes";
        }
    };
    check.template operator()<Hs256Key>(EVP_sha256());
    check.template operator()<Hs384Key>(EVP_sha384());
    check.template operator()<Hs512Key>(EVP_sha512());
}

TEST(Hmac, WorkAlongsideRunsOnceAndChangesNoMac) {
    // verify() and mac() may run the validator's work in the middle of the
    // compressions (after the first half of the whole blocks): at every
    // length, the split must leave the MAC as it was, and the work must run
    // exactly once, and not at all for a signature of the wrong size.
    std::mt19937_64 rng(12);
    std::string message(3 * 128 + 1, '\0');
    for (auto& c : message)
        c = static_cast<char>(rng());
    auto check = [&]<class Key>() {
        const Key key(std::string(Key::min_secret_size, 'k'));
        for (std::size_t size = 0; size <= message.size(); ++size) {
            const std::string_view input = std::string_view(message).substr(0, size);
            const std::string expected = key.sign(input);
            int calls = 0;
            unsigned char out[Key::mac_size];
            key.mac(input, out, [&] { ++calls; });
            ASSERT_EQ(std::string(reinterpret_cast<const char*>(out), sizeof out), expected)
                << Key::algorithm << ", " << size << " bytes";
            ASSERT_EQ(calls, 1);
            const auto* tag = reinterpret_cast<const unsigned char*>(expected.data());
            ASSERT_TRUE(key.verify(input, tag, expected.size(), [&] { ++calls; }));
            ASSERT_EQ(calls, 2);
            ASSERT_FALSE(key.verify(input, tag, expected.size() - 1, [&] { ++calls; }));
            ASSERT_EQ(calls, 2);
        }
    };
    check.template operator()<Hs256Key>();
    check.template operator()<Hs384Key>();
    check.template operator()<Hs512Key>();
}

}  // namespace
}  // namespace jwtguard
