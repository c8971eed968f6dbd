#include <jwtguard/error.hpp>

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace jwtguard {
namespace {

TEST(Error, EveryValueHasAUniqueSnakeCaseNameAndAMessage) {
    const std::regex snake_case("[a-z][a-z0-9]*(_[a-z0-9]+)*");
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < error_count; ++i) {
        const auto e = static_cast<Error>(i);
        const std::string name(to_string(e));
        EXPECT_TRUE(std::regex_match(name, snake_case)) << name;
        EXPECT_TRUE(names.insert(to_string(e)).second) << "duplicate name " << name;
        EXPECT_FALSE(message(e).empty()) << name;
        EXPECT_NE(name, "unknown_error");
    }
    EXPECT_EQ(names.size(), error_count);
}

TEST(Error, NamesAreStable) {
    // Scripts match on these: a rename is a breaking change.
    EXPECT_EQ(to_string(Error::ok), "ok");
    EXPECT_EQ(to_string(Error::expired), "expired");
    EXPECT_EQ(to_string(Error::alg_none), "alg_none");
    EXPECT_EQ(to_string(Error::signature_invalid), "signature_invalid");
    EXPECT_EQ(to_string(Error::token_too_large), "token_too_large");
}

TEST(Error, OutOfRangeValuesAreNamedUnknown) {
    EXPECT_EQ(to_string(static_cast<Error>(error_count)), "unknown_error");
    EXPECT_EQ(message(static_cast<Error>(255)), "unknown error");
}

TEST(Error, TravelsAsStdErrorCode) {
    const std::error_code code = Error::expired;
    EXPECT_STREQ(code.category().name(), "jwtguard");
    EXPECT_EQ(code.message(), std::string(message(Error::expired)));
    EXPECT_EQ(code, make_error_code(Error::expired));
    EXPECT_NE(code, make_error_code(Error::not_yet_valid));
}

TEST(Error, SetupErrorCarriesItsCode) {
    const SetupError e(Error::key_too_short, "short");
    EXPECT_EQ(e.code(), Error::key_too_short);
    EXPECT_STREQ(e.what(), "short");
}

}  // namespace
}  // namespace jwtguard
