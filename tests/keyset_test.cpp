#include <jwtguard/keyset.hpp>

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace jwtguard
