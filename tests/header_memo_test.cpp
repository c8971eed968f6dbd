// The per-thread memo of the last verified header: a hit gives exactly what
// decoding and parsing give; only headers of tokens whose signature held are
// remembered; anything else is parsed afresh.
#include <jwtguard/header_memo.hpp>
#include <jwtguard/jwtguard.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using detail::HeaderMemo;

/// The header segment of a token.
std::string_view header_segment(std::string_view token) {
    return token.substr(0, token.find('.'));
}

/// Whether the calling thread's memo would recall this token's header.
bool recalls(std::string_view token) {
    static char scratch[HeaderMemo::max_decoded + 1];
    std::size_t size = 0;
    Header header;
    return HeaderMemo::local().recall(header_segment(token), scratch, size, header);
}

bool same_header(const Header& a, const Header& b) {
    return a.alg == b.alg && a.kid == b.kid && a.typ == b.typ && a.cty == b.cty;
}

TEST(HeaderMemo, AVerifiedHeaderIsRecalledWithTheSameHeader) {
    // Escapes in the header: the memo must give the unescaped views parsing
    // gives, pointing into the caller's own scratch.
    const std::string token = test::make_token(
        R"({"alg":"HS256","typ":"J\u0057T","kid":"k\u0031","x":[1,{"y":"\"z\""}]})",
        test::good_payload);
    KeySet keys;
    keys.add(Hs256Key(test::secret), "k1");
    const Validator validator(std::move(keys));
    HeaderMemo::local().clear();
    auto parsed = test::new_claims();
    ASSERT_EQ(validator.validate(token, test::now, *parsed), Error::ok);
    ASSERT_TRUE(recalls(token));
    auto recalled = test::new_claims();
    ASSERT_EQ(validator.validate(token, test::now, *recalled), Error::ok);
    EXPECT_TRUE(same_header(parsed->header, recalled->header));
    EXPECT_EQ(*recalled->header.kid, "k1");
    EXPECT_EQ(*recalled->header.typ, "JWT");
    EXPECT_FALSE(recalled->header.cty.has_value());
    // The views are into the second Claims, not the memo or the first.
    const char* begin = reinterpret_cast<const char*>(recalled.get());
    EXPECT_GE(recalled->header.kid->data(), begin);
    EXPECT_LT(recalled->header.kid->data(), begin + sizeof(Claims));
}

TEST(HeaderMemo, AForgedTokenIsNotRemembered) {
    const Validator validator{Hs256Key(test::secret)};
    HeaderMemo::local().clear();
    const std::string forged =
        test::make_token(test::hs256_header, test::good_payload, Hs256Key(test::other_secret));
    auto claims = test::new_claims();
    ASSERT_EQ(validator.validate(forged, test::now, *claims), Error::signature_invalid);
    EXPECT_FALSE(recalls(forged));
    // Nor does it evict a good header.
    const std::string good = test::make_token(test::hs256_header, test::good_payload);
    ASSERT_EQ(validator.validate(good, test::now, *claims), Error::ok);
    ASSERT_TRUE(recalls(good));
    const std::string other_header = test::make_token(
        R"({"alg":"HS256","typ":"JWT","x":1})", test::good_payload, Hs256Key(test::other_secret));
    ASSERT_EQ(validator.validate(other_header, test::now, *claims), Error::signature_invalid);
    EXPECT_TRUE(recalls(good));
}

TEST(HeaderMemo, AnyOtherHeaderIsParsedAfresh) {
    const Validator validator{Hs256Key(test::secret)};
    const std::string good = test::make_token(test::hs256_header, test::good_payload);
    auto claims = test::new_claims();
    ASSERT_EQ(validator.validate(good, test::now, *claims), Error::ok);
    ASSERT_TRUE(recalls(good));
    // One byte apart: the verdicts of their own headers.
    EXPECT_EQ(
        validator.validate(test::make_token(R"({"alg":"none","typ":"JWT"})", test::good_payload),
                           test::now, *claims),
        Error::alg_none);
    EXPECT_EQ(validator.validate(test::make_token(R"({"alg":"HS256","typ":"JWT","crit":["b64"]})",
                                                  test::good_payload),
                                 test::now, *claims),
              Error::crit_unsupported);
    EXPECT_EQ(
        validator.validate(test::make_token(R"({"alg":"HS256","alg":"HS256"})", test::good_payload),
                           test::now, *claims),
        Error::header_duplicate_member);
}

TEST(HeaderMemo, LongHeadersAreNotRemembered) {
    const Validator validator{Hs256Key(test::secret)};
    HeaderMemo::local().clear();
    const std::string header =
        R"({"alg":"HS256","typ":"JWT","note":")" + std::string(200, 'n') + R"("})";
    const std::string token = test::make_token(header, test::good_payload);
    ASSERT_GT(header_segment(token).size(), HeaderMemo::max_segment);
    auto claims = test::new_claims();
    EXPECT_EQ(validator.validate(token, test::now, *claims), Error::ok);
    EXPECT_FALSE(recalls(token));
    EXPECT_EQ(validator.validate(token, test::now, *claims), Error::ok);
}

TEST(HeaderMemo, EachThreadHasItsOwn) {
    const Validator validator{Hs256Key(test::secret)};
    const std::string good = test::make_token(test::hs256_header, test::good_payload);
    auto claims = test::new_claims();
    ASSERT_EQ(validator.validate(good, test::now, *claims), Error::ok);
    ASSERT_TRUE(recalls(good));
    bool other_thread_recalls = true;
    std::thread([&] { other_thread_recalls = recalls(good); }).join();
    EXPECT_FALSE(other_thread_recalls);
}

}  // namespace
}  // namespace jwtguard
