#include <jwtguard/denylist.hpp>
#include <jwtguard/validator.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using test::now;

using test::id;

DenylistOptions small_options() {
    DenylistOptions o;
    o.bucket_width = 60;
    o.horizon = 3600;
    o.shards = 4;
    return o;
}

TEST(Denylist, RevokedJtiIsFoundOnlyWithItsExp) {
    Denylist d(small_options(), now);
    EXPECT_FALSE(d.is_revoked("a", now + 100));
    EXPECT_EQ(d.revoke_jti("a", now + 100), RevokeResult::added);
    EXPECT_TRUE(d.is_revoked("a", now + 100));
    EXPECT_EQ(d.revoke_jti("a", now + 100), RevokeResult::already_revoked);
    EXPECT_FALSE(d.is_revoked("a", now + 101));  // another token
    EXPECT_FALSE(d.is_revoked("b", now + 100));
    EXPECT_FALSE(d.is_revoked("a", std::nullopt));
    EXPECT_EQ(d.size(), 1u);
}

TEST(Denylist, NamesAreComparedByteForByte) {
    Denylist d(small_options(), now);
    const std::string with_nul("a\0b", 3);
    ASSERT_EQ(d.revoke_jti(with_nul, now + 100), RevokeResult::added);
    EXPECT_TRUE(d.is_revoked(with_nul, now + 100));
    EXPECT_FALSE(d.is_revoked("a", now + 100));
    EXPECT_FALSE(d.is_revoked(std::string("A\0b", 3), now + 100));
    // A jti and a signature with the same bytes are different names.
    EXPECT_FALSE(d.contains(d.signature_key(
        "HS256", {reinterpret_cast<const unsigned char*>(with_nul.data()), with_nul.size()},
        now + 100)));
}

TEST(Denylist, TokenWithoutExpIsRevokedForEver) {
    Denylist d(small_options(), now);
    EXPECT_EQ(d.revoke_jti("forever", std::nullopt), RevokeResult::added);
    EXPECT_TRUE(d.is_revoked("forever", std::nullopt));
    d.advance(now + 100 * 365 * 86400LL);
    EXPECT_TRUE(d.is_revoked("forever", std::nullopt));
    EXPECT_EQ(d.size(), 1u);
}

TEST(Denylist, EntryLivesUntilExpPlusLeewayAndGoesOneBucketLater) {
    // Guarantee: present while now < exp + leeway + w; gone (memory freed)
    // once now >= exp + leeway + 2w. Checked for every exp of one bucket.
    for (std::int64_t offset = 0; offset < 60; offset += 7) {
        DenylistOptions o = small_options();
        o.leeway = 30;
        Denylist d(o, now);
        const std::int64_t exp = now + 600 + offset;
        ASSERT_EQ(d.revoke_jti("x", exp), RevokeResult::added);
        d.advance(exp + o.leeway + o.bucket_width - 1);
        EXPECT_TRUE(d.is_revoked("x", exp)) << offset;
        EXPECT_EQ(d.size(), 1u);
        d.advance(exp + o.leeway + 2 * o.bucket_width);
        EXPECT_FALSE(d.is_revoked("x", exp)) << offset;
        EXPECT_EQ(d.size(), 0u);
    }
}

TEST(Denylist, ExpiredRevocationIsNotKept) {
    DenylistOptions o = small_options();
    Denylist d(o, now);
    EXPECT_EQ(d.revoke_jti("old", now - 3 * o.bucket_width), RevokeResult::already_expired);
    EXPECT_EQ(d.size(), 0u);
    // Just expired tokens are kept a little (a lagging validator may still
    // accept them); that is the slack, never less.
    EXPECT_EQ(d.revoke_jti("recent", now - 1), RevokeResult::added);
}

TEST(Denylist, RejectsExpOutsideNumericDates) {
    Denylist d(small_options(), now);
    EXPECT_THROW(d.revoke_jti("x", -1), SetupError);
    EXPECT_THROW(d.revoke_jti("x", (std::int64_t{1} << 53) + 1), SetupError);
    EXPECT_THROW(d.revoke_subject("x", -1), SetupError);
}

TEST(Denylist, NowIsANumericDate) {
    // time.hpp's one range, at construction and at every advance: a `now`
    // near INT64_MIN once overflowed `now - leeway + 1` (UBSan, reachable
    // from the CLI's --now).
    DenylistOptions o = small_options();
    o.leeway = 5;
    for (const std::int64_t bad : {INT64_MIN, std::int64_t{-1}, max_numeric_date + 1, INT64_MAX}) {
        EXPECT_THROW(Denylist(o, bad), SetupError) << bad;
        Denylist d(o, now);
        EXPECT_THROW(d.advance(bad), SetupError) << bad;
        EXPECT_EQ(d.now(), now);
    }
    for (const std::int64_t good : {std::int64_t{0}, max_numeric_date}) {
        Denylist d(o, good);
        EXPECT_EQ(d.revoke_jti("x", std::nullopt), RevokeResult::added);
        EXPECT_TRUE(d.is_revoked("x", std::nullopt));
    }
}

TEST(Denylist, RejectsBadOptions) {
    auto with = [](auto change) {
        DenylistOptions o;
        change(o);
        return o;
    };
    EXPECT_THROW(Denylist(with([](auto& o) { o.bucket_width = 0; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) { o.horizon = -1; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) { o.leeway = -1; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) { o.shards = 3; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) { o.shards = 0; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) { o.bloom_bits_per_key = 1; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) { o.max_token_lifetime = -5; }), now), SetupError);
    EXPECT_THROW(Denylist(with([](auto& o) {
                              o.bucket_width = 1;
                              o.horizon = 86400 * 3000;
                          }),
                          now),
                 SetupError);
}

TEST(Denylist, BeyondTheHorizonGoesToOverflowAndIsRebucketed) {
    DenylistOptions o = small_options();  // ring reaches about an hour ahead
    Denylist d(o, now);
    const std::int64_t far = now + 10 * 86400;
    ASSERT_EQ(d.revoke_jti("far", far), RevokeResult::added);
    ASSERT_EQ(d.revoke_jti("near", now + 60), RevokeResult::added);
    EXPECT_TRUE(d.is_revoked("far", far));
    // Walk time forward in steps: the entry moves into the ring when the
    // ring reaches it, and is never missing on the way.
    for (std::int64_t t = now; t < far + o.bucket_width - 1; t += 1800) {
        d.advance(t);
        ASSERT_TRUE(d.is_revoked("far", far)) << t - now;
    }
    d.advance(far + o.leeway + 2 * o.bucket_width);
    EXPECT_FALSE(d.is_revoked("far", far));
    EXPECT_EQ(d.size(), 0u);
}

TEST(Denylist, ManyRevocationsInOneBucketGrowItsCells) {
    DenylistOptions o = small_options();
    Denylist d(o, now);
    const std::int64_t exp = now + 900;  // all in one bucket
    constexpr int count = 200'000;
    for (int i = 0; i < count; ++i)
        ASSERT_EQ(d.revoke_jti(id("jti-", i), exp), RevokeResult::added);
    for (int i = 0; i < count; ++i)
        ASSERT_TRUE(d.is_revoked(id("jti-", i), exp)) << i;
    int false_hits = 0;
    for (int i = count; i < 2 * count; ++i)
        false_hits += d.is_revoked(id("jti-", i), exp);
    EXPECT_EQ(false_hits, 0);  // the exact set removes every bloom false positive
    EXPECT_EQ(d.size(), static_cast<std::size_t>(count));
    // Memory per live revocation, everything included, even though all of
    // them crowd into one bucket.
    EXPECT_LE(static_cast<double>(d.memory_bytes()) / count, 40.0);
}

TEST(Denylist, PrefetchChangesNoAnswer) {
    Denylist d(small_options(), now);
    ASSERT_EQ(d.revoke_jti("p", now + 100), RevokeResult::added);
    const auto hit = d.jti_key("p", now + 100);
    const auto miss = d.jti_key("q", now + 100);
    d.prefetch(hit);
    d.prefetch(miss);
    d.prefetch(d.jti_key("r", std::nullopt));
    EXPECT_TRUE(d.contains(hit));
    EXPECT_FALSE(d.contains(miss));
}

/// Random revoke / lookup / advance sequences against a plain std::map.
TEST(Denylist, MatchesAReferenceModel) {
    for (unsigned seed = 1; seed <= 6; ++seed) {
        std::mt19937_64 rng(seed);
        DenylistOptions o;
        o.bucket_width = 1 + static_cast<std::int64_t>(rng() % 90);
        o.horizon = static_cast<std::int64_t>(rng() % 2000);
        o.leeway = static_cast<std::int64_t>(rng() % 120);
        o.shards = std::size_t{1} << (rng() % 4);
        std::int64_t t = now;
        Denylist d(o, t);
        // (jti, exp) -> revoked; exp -1 stands for "no exp".
        std::map<std::pair<std::string, std::int64_t>, bool> model;
        auto exp_of = [](std::int64_t e) {
            return e < 0 ? std::optional<std::int64_t>() : std::optional<std::int64_t>(e);
        };
        auto random_exp = [&]() -> std::int64_t {
            switch (rng() % 8) {
                case 0:
                    return -1;
                case 1:  // an exact bucket edge near now
                    return (t / o.bucket_width + static_cast<std::int64_t>(rng() % 5) - 2) *
                               o.bucket_width +
                           static_cast<std::int64_t>(rng() % 2) * (o.bucket_width - 1);
                case 2:  // far beyond the horizon
                    return t + o.horizon + static_cast<std::int64_t>(rng() % 20000);
                default:
                    return t - 200 + static_cast<std::int64_t>(rng() % (o.horizon + 600));
            }
        };
        for (int step = 0; step < 20'000; ++step) {
            const unsigned op = rng() % 10;
            const std::string jti = id("j", rng() % 400);
            if (op < 4) {
                const std::int64_t e = std::max<std::int64_t>(random_exp(), -1);
                const RevokeResult r = d.revoke_jti(jti, exp_of(e));
                const bool live = e < 0 || t < e + o.leeway + o.bucket_width;
                if (r == RevokeResult::already_expired) {
                    // Only a token that has expired, slack included, may be refused.
                    ASSERT_FALSE(live) << "seed " << seed << " step " << step;
                } else {
                    const bool had = model.count({jti, e}) > 0;
                    ASSERT_EQ(r, had ? RevokeResult::already_revoked : RevokeResult::added)
                        << "seed " << seed << " step " << step;
                    model[{jti, e}] = true;
                }
            } else if (op < 9) {
                const std::int64_t e = std::max<std::int64_t>(random_exp(), -1);
                const bool got = d.is_revoked(jti, exp_of(e));
                const bool revoked = model.count({jti, e}) > 0;
                const bool live = e < 0 || t < e + o.leeway + o.bucket_width;
                const bool gone = e >= 0 && t >= e + o.leeway + 2 * o.bucket_width;
                if (!revoked) {
                    ASSERT_FALSE(got) << "false positive, seed " << seed << " step " << step;
                }
                if (revoked && live) {
                    ASSERT_TRUE(got) << "lost, seed " << seed << " step " << step;
                }
                if (revoked && gone) {
                    ASSERT_FALSE(got) << "kept, seed " << seed << " step " << step;
                }
            } else {
                t += static_cast<std::int64_t>(
                    rng() % (3 * static_cast<std::uint64_t>(o.bucket_width) + 1));
                d.advance(t);
                for (auto it = model.begin(); it != model.end();) {
                    const std::int64_t e = it->first.second;
                    if (e >= 0 && t >= e + o.leeway + 2 * o.bucket_width)
                        it = model.erase(it);
                    else
                        ++it;
                }
            }
        }
        // What is left in memory is what the model still holds, give or
        // take entries within their slack.
        std::size_t must_be_there = 0;
        for (const auto& [k, v] : model)
            must_be_there += k.second < 0 || t < k.second + o.leeway + o.bucket_width;
        EXPECT_GE(d.size(), must_be_there);
        EXPECT_LE(d.size(), model.size());
    }
}

// --- subjects ----------------------------------------------------------------

class DenylistValidation : public ::testing::Test {
  protected:
    Error validate(const Denylist& d, std::string_view payload) {
        Validator::Options options;
        options.denylist = &d;
        options.max_lifetime = d.options().max_token_lifetime;
        const Validator v(Hs256Key(test::secret), options);
        return v.validate(test::make_token(test::hs256_header, payload), now, *claims);
    }
    std::unique_ptr<Claims> claims = test::new_claims();
};

/// The hint's jti and exp as prefetch_hint finds them when it scans.
bool scan_jti_and_exp(std::string_view json, std::string_view& jti, std::int64_t& exp) {
    std::string_view jti_text, exp_text;
    detail::scan_jti_and_exp_members(json, jti_text, exp_text);
    return detail::read_jti_and_exp(jti_text, exp_text, jti, exp);
}

TEST(DenylistHint, ScansAJtiWithoutEscapesAndAnIntegerExp) {
    std::string_view jti;
    std::int64_t exp = 0;
    ASSERT_TRUE(scan_jti_and_exp(R"({"sub":"x", "jti" : "id-1" ,"exp": 1700000600})", jti, exp));
    EXPECT_EQ(jti, "id-1");
    EXPECT_EQ(exp, 1700000600);
    // Escapes, fractions, exponents, huge or missing values: no hint.
    for (const char* payload :
         {R"({"jti":"a\"b","exp":1})", R"({"jti":"a","exp":1.5})", R"({"jti":"a","exp":1e9})",
          R"({"jti":"a","exp":12345678901234567})", R"({"jti":"a"})", R"({"exp":1})",
          R"({"jti":7,"exp":1})", R"({"jti":"a","exp":"1"})", R"({"jti":"unterminated)", ""})
        EXPECT_FALSE(scan_jti_and_exp(payload, jti, exp)) << payload;
    // A nested member is taken: a hint may be wrong (see below).
    ASSERT_TRUE(scan_jti_and_exp(R"({"x":{"jti":"inner"},"jti":"outer","exp":5})", jti, exp));
    EXPECT_EQ(jti, "inner");
}

TEST(DenylistHint, FindsTheMembersAtEveryOffsetOnce) {
    // The scan takes 16 bytes per step, then the tail byte by byte: both
    // names at every offset from the start (and so from the end), the
    // first occurrence with a colon winning, a three-letter value or name
    // that only looks alike passed over.
    for (std::size_t pad = 0; pad < 40; ++pad) {
        const std::string filler(pad, 'f');
        const std::string payload =
            R"({"a":")" + filler +
            R"(","b":"jti","jtx":1,"jti":"first","jti":"second","exp":17,"exp":18})";
        std::string_view jti;
        std::int64_t exp = 0;
        ASSERT_TRUE(scan_jti_and_exp(payload, jti, exp)) << pad;
        EXPECT_EQ(jti, "first") << pad;
        EXPECT_EQ(exp, 17) << pad;
        // The same members last, ending the text.
        const std::string last = R"({"a":")" + filler + R"(","jti":"x","exp":9)";
        ASSERT_TRUE(scan_jti_and_exp(last, jti, exp)) << pad;
        EXPECT_EQ(jti, "x") << pad;
        EXPECT_EQ(exp, 9) << pad;
    }
    // A jti of every length up to three 16-byte steps ends at its quote; a
    // backslash anywhere in it, or no closing quote, leaves no hint.
    for (std::size_t size = 0; size < 48; ++size) {
        const std::string id(size, 'i');
        std::string_view jti;
        std::int64_t exp = 0;
        const std::string payload = R"({"exp":3,"jti":")" + id + R"("})";  // jti views it
        ASSERT_TRUE(scan_jti_and_exp(payload, jti, exp));
        EXPECT_EQ(jti, id);
        for (std::size_t at = 0; at < size; ++at) {
            std::string escaped = id;
            escaped[at] = '\\';
            EXPECT_FALSE(scan_jti_and_exp(R"({"exp":3,"jti":")" + escaped + R"("})", jti, exp))
                << size << " " << at;
        }
        EXPECT_FALSE(scan_jti_and_exp(R"({"exp":3,"jti":")" + id, jti, exp)) << size;
    }
}

TEST(DenylistHint, TriesTheLastLayoutBeforeScanning) {
    // The layout the last scan found: `"jti":` ends at 12, `"exp":` at 28.
    const std::string first = R"({"":1,"jti":"abcdefg","exp":1700000600})";
    detail::HintLayout layout;
    std::string_view jti_text, exp_text;
    EXPECT_FALSE(layout.recall(first, jti_text, exp_text));  // nothing remembered yet
    detail::scan_jti_and_exp_members(first, jti_text, exp_text);
    layout.remember(first, jti_text, exp_text);
    // Both names at those places: the texts from there, nested or not.
    const std::string nested =
        R"({"x":{"jti":"revoked","exp":1700000600},"jti":"fine","exp":1700000600})";
    ASSERT_TRUE(layout.recall(nested, jti_text, exp_text));
    EXPECT_EQ(jti_text.data(), nested.data() + 12);
    EXPECT_EQ(exp_text.data(), nested.data() + 28);
    // Either name elsewhere, or the text too short: not recalled.
    for (const char* other :
         {R"({"":12,"jti":"abcdefg","exp":1700000600})", R"({"":1,"jti":"abcdefgh","exp":1})",
          R"({"":1,"jtx":"abcdefg","exp":1700000600})", R"({"":1,"jti":"abcdefg","exp":)",
          R"({"":1,"jti":)"})
        EXPECT_FALSE(layout.recall(other, jti_text, exp_text)) << other;
    // A scan that found its values after whitespace leaves the layout as it
    // was: recall checks the six bytes before each value only.
    const std::string spaced = R"({"jti": "a","exp": 1})";
    detail::scan_jti_and_exp_members(spaced, jti_text, exp_text);
    layout.remember(spaced, jti_text, exp_text);
    EXPECT_TRUE(layout.recall(nested, jti_text, exp_text));
    EXPECT_FALSE(layout.recall(spaced, jti_text, exp_text));
}

TEST(DenylistHint, CheckTakesTheHintsKeyOnlyForTheSameJtiAndExp) {
    Denylist d(small_options(), now);
    ASSERT_EQ(d.revoke_jti("revoked", now + 100), RevokeResult::added);
    const std::string payload = R"({"jti":"revoked","exp":)" + std::to_string(now + 100) + "}";
    Denylist::Hint hint;
    d.prefetch_hint(payload, hint);
    ASSERT_TRUE(hint.usable);
    ASSERT_EQ(std::string_view(hint.jti, hint.jti_size), "revoked");
    EXPECT_EQ(hint.exp, now + 100);
    auto claims = test::new_claims();
    claims->exp = now + 100;
    // The same bytes (anywhere: the hint keeps a copy) and exp: taken.
    const std::string elsewhere = "revoked";
    claims->jti = elsewhere;
    EXPECT_EQ(d.check(*claims, {}, hint), Error::revoked);
    // Taken, not recomputed: a hint whose copy says "fine" with the key of
    // "revoked" is believed for the jti "fine" (which is why the copy must
    // be of the bytes hashed), and refused for anything else.
    Denylist::Hint misleading = hint;
    std::memcpy(misleading.jti, "fine", 4);
    misleading.jti_size = 4;
    claims->jti = "fine";
    EXPECT_EQ(d.check(*claims, {}, misleading), Error::revoked);
    EXPECT_EQ(d.check(*claims, {}), Error::ok);
    claims->jti = "fink";
    EXPECT_EQ(d.check(*claims, {}, misleading), Error::ok);
    claims->jti = "fin";
    EXPECT_EQ(d.check(*claims, {}, misleading), Error::ok);
    claims->jti = "fine";
    Denylist::Hint other_exp = misleading;
    other_exp.exp = now + 101;
    EXPECT_EQ(d.check(*claims, {}, other_exp), Error::ok);
    claims->exp.reset();
    EXPECT_EQ(d.check(*claims, {}, misleading), Error::ok);
    // A jti longer than the copy: the hint prefetches, its key is not usable.
    const std::string long_id(Denylist::Hint::max_jti + 1, 'r');
    ASSERT_EQ(d.revoke_jti(long_id, now + 100), RevokeResult::added);
    Denylist::Hint long_hint;
    d.prefetch_hint(R"({"jti":")" + long_id + R"(","exp":)" + std::to_string(now + 100) + "}",
                    long_hint);
    EXPECT_FALSE(long_hint.usable);
    claims->exp = now + 100;
    claims->jti = long_id;
    EXPECT_EQ(d.check(*claims, {}, long_hint), Error::revoked);
    long_hint.key = d.jti_key("fine", now + 100);  // not taken: still the jti's own verdict
    EXPECT_EQ(d.check(*claims, {}, long_hint), Error::revoked);
}

TEST_F(DenylistValidation, AWrongOrHostileHintChangesNoVerdict) {
    // The same tokens through a validator with the prefetch hint and one
    // without: the verdicts and claims must be the same, whatever the hint
    // finds (a revoked jti in a nested object, an escaped jti, a string
    // that looks like a member, a payload that is not base64url).
    Denylist d(small_options(), now);
    ASSERT_EQ(d.revoke_jti("revoked", 1700000600), RevokeResult::added);
    ASSERT_EQ(d.revoke_jti("a\"b", 1700000600), RevokeResult::added);
    Validator::Options with_hint;
    with_hint.denylist = &d;
    with_hint.denylist_prefetch = true;
    Validator::Options without_hint = with_hint;
    without_hint.denylist_prefetch = false;
    const Validator hinted(Hs256Key(test::secret), with_hint);
    const Validator plain(Hs256Key(test::secret), without_hint);
    const std::vector<std::pair<std::string, Error>> cases = {
        {test::make_token(test::hs256_header, R"({"jti":"revoked","exp":1700000600})"),
         Error::revoked},
        {test::make_token(test::hs256_header, R"({"jti":"fine","exp":1700000600})"), Error::ok},
        // The hint sees the nested "revoked"; the token's jti is "fine".
        {test::make_token(test::hs256_header,
                          R"({"x":{"jti":"revoked"},"jti":"fine","exp":1700000600})"),
         Error::ok},
        // The hint sees "fine" first; the token's jti is "revoked".
        {test::make_token(test::hs256_header,
                          R"({"note":"\"jti\":\"fine\"","jti":"revoked","exp":1700000600})"),
         Error::revoked},
        // Escaped: no hint; still revoked.
        {test::make_token(test::hs256_header, R"({"jti":"revoked","exp":1700000600})"),
         Error::revoked},
        {test::make_token(test::hs256_header, R"({"jti":"a\"b","exp":1700000600})"),
         Error::revoked},
        // An exp the hint reads differently (a fraction): the verdict is the
        // claims parser's.
        {test::make_token(test::hs256_header, R"({"jti":"revoked","exp":1700000599.5})"),
         Error::revoked},
        // The thread's hint layout (HintLayout) set by the first token:
        // the next finds a nested jti where the first had its own, and its
        // verdict is still its own jti's.
        {test::make_token(test::hs256_header, R"({"":1,"jti":"abcdefg","exp":1700000600})"),
         Error::ok},
        {test::make_token(
             test::hs256_header,
             R"({"x":{"jti":"revoked","exp":1700000600},"jti":"fine","exp":1700000600})"),
         Error::ok},
        {test::make_token(test::hs256_header, R"({"":1,"jti":"abcdefg","exp":1700000600})"),
         Error::ok},
        {test::make_token(
             test::hs256_header,
             R"({"x":{"jti":"fine-id","exp":1700000600},"jti":"revoked","exp":1700000600})"),
         Error::revoked},
        // A payload that is not base64url: reported after the signature.
        {test::make_token(test::hs256_header, R"({"jti":"revoked","exp":1700000600})")
             .replace(40, 1, "!"),
         Error::signature_invalid},
        {test::sign_segments(base64url_encode(test::hs256_header), "e30!", Hs256Key(test::secret)),
         Error::payload_base64_invalid},
    };
    auto a = test::new_claims();
    auto b = test::new_claims();
    for (const auto& [token, expected] : cases) {
        const Error with = hinted.validate(token, now, *a);
        EXPECT_EQ(with, expected) << token;
        EXPECT_EQ(plain.validate(token, now, *b), with) << token;
        if (with == Error::ok) {
            EXPECT_EQ(a->payload_json(), b->payload_json());
        }
    }
}

TEST_F(DenylistValidation, SubjectCutoffRejectsTokensIssuedBefore) {
    Denylist d(small_options(), now);
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999000,"exp":1700000600})"), Error::ok);
    EXPECT_EQ(d.revoke_subject("alice", 1699999500), RevokeResult::added);
    EXPECT_EQ(d.subjects(), 1u);
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999000,"exp":1700000600})"),
              Error::subject_revoked);
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999499,"exp":1700000600})"),
              Error::subject_revoked);
    // Issued at the cut-off or later: a new login, accepted.
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999500,"exp":1700000600})"), Error::ok);
    // A fraction before the cut-off is before it (iat is rounded up elsewhere).
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999499.5,"exp":1700000600})"),
              Error::subject_revoked);
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999500.5,"exp":1700000600})"), Error::ok);
    // No iat: cannot tell, so rejected.
    EXPECT_EQ(validate(d, R"({"sub":"alice","exp":1700000600})"), Error::subject_revoked);
    // Other subjects and tokens without sub are untouched.
    EXPECT_EQ(validate(d, R"({"sub":"bob","iat":1699999000,"exp":1700000600})"), Error::ok);
    EXPECT_EQ(validate(d, R"({"iat":1699999000,"exp":1700000600})"), Error::ok);
    EXPECT_EQ(validate(d, R"({"sub":"alicE","iat":1699999000,"exp":1700000600})"), Error::ok);
}

TEST_F(DenylistValidation, LogOutAllTwiceInOneSecondEndsTheSessionBetween) {
    // Whole-second iat: a session started after a log-out-all is dated at
    // its cut-off; a second log-out-all in the same second must still end
    // it, so its cut-off moves past the first one.
    DenylistOptions o = small_options();
    o.leeway = 5;  // a token dated at a cut-off may lie a few seconds ahead
    Denylist d(o, now);
    Validator::Options options;
    options.denylist = &d;
    options.leeway = 5;
    const Validator v(Hs256Key(test::secret), options);
    const auto token_at = [&](std::int64_t iat) {
        return test::make_token(test::hs256_header, R"({"sub":"ada","iat":)" + std::to_string(iat) +
                                                        R"(,"exp":)" + std::to_string(now + 600) +
                                                        "}");
    };
    const auto validate = [&](const std::string& token, const Denylist&) {
        return v.validate(token, now, *claims);
    };
    const std::string before = token_at(d.issue_date_for("ada", now));
    EXPECT_EQ(d.issue_date_for("ada", now), now);
    const std::int64_t first = d.cutoff_after("ada", now);
    EXPECT_EQ(first, now + 1);
    d.revoke_subject("ada", first);
    EXPECT_EQ(validate(before, d), Error::subject_revoked);
    const std::string between = token_at(d.issue_date_for("ada", now));  // same second
    EXPECT_EQ(d.issue_date_for("ada", now), first);
    EXPECT_EQ(validate(between, d), Error::ok);
    const std::int64_t second = d.cutoff_after("ada", now);  // same second again
    EXPECT_EQ(second, first + 1);
    EXPECT_EQ(d.revoke_subject("ada", second), RevokeResult::added);
    EXPECT_EQ(validate(between, d), Error::subject_revoked);
    EXPECT_EQ(validate(token_at(d.issue_date_for("ada", now)), d), Error::ok);
    // A later second needs no step: now + 1 is past both.
    EXPECT_EQ(d.cutoff_after("ada", now + 10), now + 11);
    EXPECT_EQ(d.issue_date_for("bob", now), now);  // nobody else's
    EXPECT_THROW((void)d.cutoff_after("ada", -1), SetupError);
}

TEST_F(DenylistValidation, LaterCutoffWinsEarlierChangesNothing) {
    Denylist d(small_options(), now);
    EXPECT_EQ(d.revoke_subject("alice", 1699999500), RevokeResult::added);
    EXPECT_EQ(d.revoke_subject("alice", 1699999000), RevokeResult::already_revoked);
    EXPECT_EQ(d.subject_cutoff("alice"), 1699999500);
    EXPECT_EQ(d.revoke_subject("alice", 1699999800), RevokeResult::added);
    EXPECT_EQ(d.subject_cutoff("alice"), 1699999800);
    EXPECT_EQ(validate(d, R"({"sub":"alice","iat":1699999600,"exp":1700000600})"),
              Error::subject_revoked);
    EXPECT_FALSE(d.subject_cutoff("bob"));
}

TEST_F(DenylistValidation, CutoffIsDroppedAfterTheMaximumLifetime) {
    DenylistOptions o = small_options();
    o.max_token_lifetime = 3600;
    Denylist d(o, now);
    ASSERT_EQ(d.revoke_subject("alice", now), RevokeResult::added);
    ASSERT_EQ(d.revoke_subject("bob", now + 1000), RevokeResult::added);
    d.advance(now + 3600 + o.bucket_width - 1);
    EXPECT_TRUE(d.subject_cutoff("alice"));
    d.advance(now + 3600 + o.bucket_width);
    EXPECT_FALSE(d.subject_cutoff("alice"));
    EXPECT_TRUE(d.subject_cutoff("bob"));
    EXPECT_EQ(d.subjects(), 1u);
    EXPECT_EQ(d.revoke_subject("carol", now), RevokeResult::already_expired);
}

TEST_F(DenylistValidation, ManySubjects) {
    Denylist d(small_options(), now);
    for (int i = 0; i < 5000; ++i)
        d.revoke_subject(id("user-", i), now);
    for (int i = 0; i < 5000; ++i)
        ASSERT_EQ(d.subject_cutoff(id("user-", i)), now);
    EXPECT_FALSE(d.subject_cutoff("user-5000"));
    EXPECT_EQ(d.subjects(), 5000u);
}

TEST_F(DenylistValidation, RevokedJtiIsRejectedAfterSignatureAndClaims) {
    Denylist d(small_options(), now);
    const std::string payload = R"({"jti":"id-7","iat":1699999000,"exp":1700000600})";
    EXPECT_EQ(validate(d, payload), Error::ok);
    d.revoke_jti("id-7", 1700000600);
    EXPECT_EQ(validate(d, payload), Error::revoked);
    // An expired revoked token reports expiry (the claims come first).
    EXPECT_EQ(validate(d, R"({"jti":"id-7","exp":1600000000})"), Error::expired);
    // A bad signature is reported as such, revoked or not.
    std::string token = test::make_token(test::hs256_header, payload);
    token[token.size() - 3] ^= 1;
    Validator::Options options;
    options.denylist = &d;
    EXPECT_EQ(Validator(Hs256Key(test::secret), options).validate(token, now, *claims),
              Error::signature_invalid);
}

TEST_F(DenylistValidation, RevokeTokenUsesJtiOrElseTheSignature) {
    Denylist d(small_options(), now);
    const std::string with_jti =
        test::make_token(test::hs256_header, R"({"jti":"id-9","exp":1700000600})");
    const std::string without_jti =
        test::make_token(test::hs256_header, R"({"sub":"x","exp":1700000600})");
    const std::string other =
        test::make_token(test::hs256_header, R"({"sub":"y","exp":1700000600})");
    RevokeResult r{};
    ASSERT_EQ(d.revoke_token(with_jti, &r), Error::ok);
    EXPECT_EQ(r, RevokeResult::added);
    EXPECT_TRUE(d.is_revoked("id-9", 1700000600));
    ASSERT_EQ(d.revoke_token(without_jti, &r), Error::ok);
    EXPECT_EQ(r, RevokeResult::added);
    ASSERT_EQ(d.revoke_token(without_jti, &r), Error::ok);
    EXPECT_EQ(r, RevokeResult::already_revoked);

    Validator::Options options;
    options.denylist = &d;
    const Validator v(Hs256Key(test::secret), options);
    EXPECT_EQ(v.validate(with_jti, now, *claims), Error::revoked);
    EXPECT_EQ(v.validate(without_jti, now, *claims), Error::revoked);
    EXPECT_EQ(v.validate(other, now, *claims), Error::ok);
    // The same token under another key (same payload, another signature) is
    // another token.
    const std::string resigned = test::make_token(
        test::hs256_header, R"({"sub":"x","exp":1700000600})", Hs256Key(test::other_secret));
    EXPECT_EQ(Validator(Hs256Key(test::other_secret), options).validate(resigned, now, *claims),
              Error::ok);
}

TEST_F(DenylistValidation, RevokeTokenRefusesMalformedTokens) {
    Denylist d(small_options(), now);
    EXPECT_EQ(d.revoke_token("a.b"), Error::token_malformed);
    EXPECT_EQ(d.revoke_token("!!.e30.c2ln"), Error::header_base64_invalid);
    EXPECT_EQ(d.revoke_token(base64url_encode("{}") + ".e30.c2ln"), Error::ok);
    EXPECT_EQ(d.revoke_token(base64url_encode("{}") + ".e30."), Error::signature_length);
    EXPECT_EQ(d.revoke_token(base64url_encode("{}") + "." + base64url_encode("[1]") + ".c2ln"),
              Error::payload_not_object);
    EXPECT_EQ(
        d.revoke_token(base64url_encode("{}") + "." + base64url_encode(R"({"exp":"x"})") + ".c2ln"),
        Error::exp_invalid);
    EXPECT_EQ(d.revoke_token(std::string(max_token_size_limit + 1, 'a')), Error::token_too_large);
    EXPECT_EQ(d.size(), 1u);  // only the well-formed one (no jti, no exp)
}

TEST_F(DenylistValidation, RevocationValuesCarryEachKindToAnotherDenylist) {
    DenylistOptions options = small_options();
    options.max_token_lifetime = 3600;
    Denylist here(options, now);
    Denylist there(options, now);
    const std::string token =
        test::make_token(test::hs256_header, R"({"sub":"x","iat":1700000000,"exp":1700000600})");
    Revocation from_token;
    ASSERT_EQ(Denylist::token_revocation(token, from_token), Error::ok);
    for (const Revocation& r : {Denylist::jti_revocation("id-1", now + 100), from_token,
                                Denylist::subject_revocation("alice", now)}) {
        EXPECT_EQ(there.apply(r), RevokeResult::added);
        EXPECT_EQ(there.apply(r), RevokeResult::already_revoked);
    }
    EXPECT_TRUE(there.is_revoked("id-1", now + 100));
    EXPECT_EQ(there.subject_cutoff("alice"), now);
    // The values are exactly what the revoke_* functions put in force.
    EXPECT_EQ(here.revoke_jti("id-1", now + 100), RevokeResult::added);
    EXPECT_EQ(here.revoke_token(token), Error::ok);
    EXPECT_EQ(here.revoke_subject("alice", now), RevokeResult::added);
    EXPECT_EQ(there.apply(Denylist::jti_revocation("id-1", now + 100)),
              RevokeResult::already_revoked);
    Validator::Options validator_options;
    validator_options.denylist = &there;
    validator_options.max_lifetime = 3600;
    EXPECT_EQ(Validator(Hs256Key(test::secret), validator_options).validate(token, now, *claims),
              Error::revoked);
    EXPECT_EQ(Denylist::token_revocation("a.b", from_token), Error::token_malformed);
}

TEST(DenylistSetup, LiveRevocationsRebuildTheSameDenylist) {
    DenylistOptions options = small_options();
    options.max_token_lifetime = 3600;
    Denylist d(options, now);
    d.revoke_jti("ring", now + 100);
    d.revoke_jti("far", now + 30 * 86400);  // beyond the horizon: overflow
    d.revoke_jti("forever", std::nullopt);
    d.revoke_subject("alice", now);
    d.revoke_jti("gone", now + 5);
    d.advance(now + 200);  // "gone" expires with its bucket
    Denylist copy(options, now + 200);
    for (const Revocation& r : d.live_revocations())
        copy.apply(r);
    EXPECT_TRUE(copy.is_revoked("ring", now + 100));
    EXPECT_TRUE(copy.is_revoked("far", now + 30 * 86400));
    EXPECT_TRUE(copy.is_revoked("forever", std::nullopt));
    EXPECT_EQ(copy.subject_cutoff("alice"), now);
    EXPECT_FALSE(copy.is_revoked("gone", now + 5));
    EXPECT_EQ(d.live_revocations().size(), 4u);
}

TEST(DenylistSetup, ApplyRefusesARevocationOutOfRange) {
    Denylist d(small_options(), now);
    Revocation r = Denylist::jti_revocation("a", now + 100);
    EXPECT_THROW((void)Denylist::jti_revocation("a", -1), SetupError);
    EXPECT_THROW((void)Denylist::subject_revocation("a", max_numeric_date + 1), SetupError);
    Revocation bad = r;
    bad.first = bad.last + 1;  // an empty range
    EXPECT_THROW(d.apply(bad), SetupError);
    bad = r;
    bad.fp.hi = 0;  // the empty-slot marker
    EXPECT_THROW(d.apply(bad), SetupError);
    bad = Denylist::subject_revocation("a", now);
    bad.last = now + 1;
    EXPECT_THROW(d.apply(bad), SetupError);
    bad.kind = static_cast<RevocationKind>(7);
    EXPECT_THROW(d.apply(bad), SetupError);
    // An exp range no writer makes: from a date to "no exp", or wider than
    // one bucket of the widest width (what a snapshot records).
    bad = r;
    bad.first = 0;
    bad.last = detail::no_exp;
    EXPECT_THROW(d.apply(bad), SetupError);
    bad = r;
    bad.first = detail::no_exp;
    EXPECT_THROW(d.apply(bad), SetupError);
    bad = r;
    bad.first = bad.last - detail::max_record_span;
    EXPECT_THROW(d.apply(bad), SetupError);
    EXPECT_EQ(d.size(), 0u);
    EXPECT_EQ(d.apply(r), RevokeResult::added);
}

TEST(DenylistSetup, ValidatorRefusesADenylistThatForgetsTooEarly) {
    DenylistOptions o = small_options();
    o.leeway = 10;
    Denylist d(o, now);
    Validator::Options options;
    options.denylist = &d;
    options.leeway = 11;
    EXPECT_THROW(Validator(Hs256Key(test::secret), options), SetupError);
    options.leeway = 10;
    EXPECT_NO_THROW(Validator(Hs256Key(test::secret), options));

    o.max_token_lifetime = 3600;
    Denylist bounded(o, now);
    options.denylist = &bounded;
    options.max_lifetime = 0;
    EXPECT_THROW(Validator(Hs256Key(test::secret), options), SetupError);
    options.max_lifetime = 7200;
    EXPECT_THROW(Validator(Hs256Key(test::secret), options), SetupError);
    options.max_lifetime = 3600;
    EXPECT_NO_THROW(Validator(Hs256Key(test::secret), options));
}

// --- concurrency -------------------------------------------------------------

TEST(DenylistConcurrency, ReadersAndValidatorsSeeEveryRevocationWhileWritersGrowAndTimeAdvances) {
    DenylistOptions o = small_options();
    o.bucket_width = 10;
    o.horizon = 600;
    Denylist d(o, now);
    std::atomic<std::int64_t> clock{now};
    const std::int64_t exp = now + 100000;  // starts in the overflow, moves into the ring
    constexpr int revoked_before = 2000;
    for (int i = 0; i < revoked_before; ++i)
        d.revoke_jti(id("old-", i), exp);

    std::atomic<int> published{0};  // writer: "new-0" .. "new-(published-1)" are revoked
    std::atomic<bool> stop{false};
    std::atomic<long> checks{0};
    std::atomic<bool> failed{false};
    auto reader = [&] {
        std::mt19937 rng(std::random_device{}());
        while (!stop.load()) {
            const int seen = published.load();
            const int i = static_cast<int>(rng() % revoked_before);
            if (!d.is_revoked(id("old-", i), exp)) failed = true;
            if (seen > 0 && !d.is_revoked(id("new-", rng() % seen), exp)) failed = true;
            if (d.is_revoked(id("never-", rng() % 1000), exp)) failed = true;
            ++checks;
        }
    };
    // Validator threads too: whole tokens through Validator::validate, with
    // the denylist's prefetch hint (which reads the tables before the
    // signature is checked) and without.
    Validator::Options options;
    options.denylist = &d;
    options.denylist_prefetch = true;
    const Validator with_hint(Hs256Key(test::secret), options);
    options.denylist_prefetch = false;
    const Validator without_hint(Hs256Key(test::secret), options);
    const std::string exp_text = std::to_string(exp);
    const std::string revoked_token =
        test::make_token(test::hs256_header, R"({"jti":"old-7","exp":)" + exp_text + "}");
    const std::string fresh_token =
        test::make_token(test::hs256_header, R"({"jti":"never","exp":)" + exp_text + "}");
    auto validating = [&](const Validator& validator) {
        auto claims = test::new_claims();
        while (!stop.load()) {
            if (validator.validate(revoked_token, now, *claims) != Error::revoked) failed = true;
            if (validator.validate(fresh_token, now, *claims) != Error::ok) failed = true;
            ++checks;
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back(reader);
    threads.emplace_back(validating, std::cref(with_hint));
    threads.emplace_back(validating, std::cref(without_hint));
    std::thread writer([&] {
        for (int i = 0; i < 30000; ++i) {
            d.revoke_jti(id("new-", i), exp);
            published.store(i + 1);
        }
    });
    std::thread ticker([&] {
        // Time runs towards exp: the overflow is re-bucketed into the ring,
        // buckets before now are dropped; none of the revocations expires.
        while (!stop.load()) {
            const std::int64_t t = clock.fetch_add(997) + 997;
            if (t < exp - 10) d.advance(t);
            std::this_thread::yield();
        }
    });
    writer.join();
    while (checks.load() < 20000)
        std::this_thread::yield();
    stop = true;
    for (auto& t : threads)
        t.join();
    ticker.join();
    EXPECT_FALSE(failed.load());
    EXPECT_EQ(d.size(), static_cast<std::size_t>(revoked_before + 30000));
}

// --- durability --------------------------------------------------------------

class DenylistJournal : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = std::filesystem::temp_directory_path() /
              (id("jwtguard-journal-", ::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        options = small_options();
        options.journal_path = (dir / "revoked.journal").string();
        options.journal_sync = JournalSync::none;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::uintmax_t journal_size() const { return std::filesystem::file_size(options.journal_path); }

    std::filesystem::path dir;
    DenylistOptions options;
};

TEST_F(DenylistJournal, RevocationsSurviveARestart) {
    {
        Denylist d(options, now);
        EXPECT_TRUE(d.journal_report().clean());
        d.revoke_jti("a", now + 100);
        d.revoke_jti("b", std::nullopt);
        d.revoke_jti("far", now + 30 * 86400);
        d.revoke_subject("alice", now - 5);
        ASSERT_EQ(d.revoke_token(test::make_token(test::hs256_header, R"({"exp":1700000600})")),
                  Error::ok);
    }
    EXPECT_EQ(journal_size(), detail::magic_size + 5 * detail::record_size);
    Denylist d(options, now);
    EXPECT_EQ(d.journal_report().journal_records, 5u);
    EXPECT_TRUE(d.journal_report().clean());
    EXPECT_TRUE(d.is_revoked("a", now + 100));
    EXPECT_TRUE(d.is_revoked("b", std::nullopt));
    EXPECT_TRUE(d.is_revoked("far", now + 30 * 86400));
    EXPECT_EQ(d.subject_cutoff("alice"), now - 5);
    EXPECT_FALSE(d.is_revoked("c", now + 100));
    EXPECT_EQ(d.size(), 4u);
}

TEST_F(DenylistJournal, ABatchIsJournaledWholeAndReportsEachResult) {
    options.journal_sync = JournalSync::each_record;
    std::vector<Revocation> batch;
    {
        Denylist d(options, now);
        EXPECT_EQ(d.revoke_jti("old", now + 100), RevokeResult::added);
        batch = {Denylist::jti_revocation("old", now + 100),
                 Denylist::jti_revocation("new", now + 200),
                 Denylist::jti_revocation("gone", now - 1000),
                 Denylist::subject_revocation("alice", now)};
        RevokeResult results[4];
        EXPECT_EQ(d.apply_all(batch, results), 2u);
        EXPECT_EQ(results[0], RevokeResult::already_revoked);
        EXPECT_EQ(results[1], RevokeResult::added);
        EXPECT_EQ(results[2], RevokeResult::already_expired);
        EXPECT_EQ(results[3], RevokeResult::added);
        // One bad revocation refuses the batch before any of it is applied.
        Revocation bad = Denylist::jti_revocation("x", now + 100);
        bad.fp.hi = 0;
        const std::vector<Revocation> spoiled = {Denylist::jti_revocation("y", now + 100), bad};
        EXPECT_THROW(d.apply_all(spoiled), SetupError);
        EXPECT_FALSE(d.is_revoked("y", now + 100));
    }
    EXPECT_EQ(journal_size(), detail::magic_size + 3 * detail::record_size);
    Denylist d(options, now);
    EXPECT_TRUE(d.is_revoked("new", now + 200));
    EXPECT_EQ(d.subject_cutoff("alice"), now);
    EXPECT_EQ(d.apply_all(batch), 0u);
}

TEST_F(DenylistJournal, RestartLeavesOutWhatExpiredMeanwhile) {
    {
        Denylist d(options, now);
        d.revoke_jti("short", now + 10);
        d.revoke_jti("long", now + 3000);
    }
    Denylist d(options, now + 1000);
    EXPECT_EQ(d.journal_report().expired_records, 1u);
    EXPECT_FALSE(d.is_revoked("short", now + 10));
    EXPECT_TRUE(d.is_revoked("long", now + 3000));
}

TEST_F(DenylistJournal, CompactWritesASnapshotAndEmptiesTheJournal) {
    {
        Denylist d(options, now);
        for (int i = 0; i < 100; ++i)
            d.revoke_jti(id("j", i), now + 60 * i);
        d.revoke_jti("far", now + 90 * 86400);
        d.revoke_subject("alice", now);
        d.advance(now + 2000);  // the first ~30 have expired
        d.compact();
        EXPECT_EQ(journal_size(), detail::magic_size);
        d.revoke_jti("after", now + 3000);  // journaled after the snapshot
    }
    Denylist d(options, now + 2000);
    const JournalReport& r = d.journal_report();
    EXPECT_TRUE(r.clean());
    EXPECT_EQ(r.journal_records, 1u);
    EXPECT_LT(r.snapshot_records, 80u);  // expired entries were left out
    EXPECT_TRUE(d.is_revoked("after", now + 3000));
    EXPECT_TRUE(d.is_revoked("far", now + 90 * 86400));
    EXPECT_EQ(d.subject_cutoff("alice"), now);
    for (int i = 0; i < 100; ++i) {
        const std::int64_t exp = now + 60 * i;
        if (2000 < exp + options.leeway + options.bucket_width - now) {
            EXPECT_TRUE(d.is_revoked(id("j", i), exp)) << i;
        }
        EXPECT_FALSE(d.is_revoked(id("x", i), exp));
    }
}

TEST_F(DenylistJournal, SnapshotRestoresEntriesUnderAnotherBucketWidth) {
    {
        Denylist d(options, now);
        for (int i = 0; i < 50; ++i)
            d.revoke_jti(id("j", i), now + 37 * i);
        d.compact();
    }
    options.bucket_width = 7;  // the snapshot recorded 60-second ranges
    Denylist d(options, now);
    for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(d.is_revoked(id("j", i), now + 37 * i)) << i;
}

TEST_F(DenylistJournal, AWideRecordTakesOneOverflowEntryNotABucketPerSlot) {
    // A record may span up to a year of exp (a snapshot of a coarser width
    // spans one of its buckets). Under a one-second bucket width that is
    // every slot of the ring: it stays one overflow entry instead, found by
    // every lookup of its range, and dropped when it expires.
    options.bucket_width = 1;
    options.horizon = 3 * 86400;  // a ring of 2^18 one-second buckets
    Revocation wide = Denylist::jti_revocation("w", now + 100);
    wide.first = now;
    wide.last = now + 86400;
    {
        Denylist d(options, now);
        const std::size_t empty = d.memory_bytes();
        EXPECT_EQ(d.apply(wide), RevokeResult::added);
        EXPECT_LT(d.memory_bytes() - empty, std::size_t{1} << 20);
        EXPECT_TRUE(d.is_revoked("w", now + 100));  // its fingerprint names this exp
        for (std::int64_t t = now; t < now + 86400; t += 3600) {
            d.advance(t);
            ASSERT_TRUE(d.is_revoked("w", now + 100)) << t - now;
            EXPECT_LT(d.memory_bytes() - empty, std::size_t{1} << 20) << t - now;
        }
        d.advance(now + 86400 + 2);
        EXPECT_FALSE(d.is_revoked("w", now + 100));
        EXPECT_EQ(d.size(), 0u);
    }
    // From a journal, on start-up: the same, and the bounds count as corrupt.
    {
        Denylist d(options, now);
        d.revoke_jti("plain", now + 100);
    }
    Revocation hostile = wide;
    hostile.first = 0;
    hostile.last = detail::no_exp;  // once a bucket for every slot: many GB
    for (const Revocation& r : {wide, hostile}) {
        unsigned char bytes[detail::record_size];
        detail::encode_record(r, bytes);
        std::ofstream(options.journal_path, std::ios::binary | std::ios::app)
            .write(reinterpret_cast<const char*>(bytes), sizeof bytes);
    }
    Denylist d(options, now);
    EXPECT_EQ(d.journal_report().corrupt_records, 1u);
    EXPECT_EQ(d.journal_report().journal_records, 3u);  // wide (applied above), plain, wide
    EXPECT_TRUE(d.is_revoked("plain", now + 100));
    EXPECT_TRUE(d.is_revoked("w", now + 100));
    EXPECT_LT(d.memory_bytes(), std::size_t{16} << 20);
}

TEST_F(DenylistJournal, CompactWhileOthersRevokeLosesNothing) {
    std::atomic<int> acknowledged{0};
    {
        Denylist d(options, now);
        std::atomic<bool> stop{false};
        std::thread writer([&] {
            for (int i = 0; i < 20000; ++i) {
                d.revoke_jti(id("w", i), now + 100 + i % 600);
                acknowledged.store(i + 1);
            }
            stop = true;
        });
        std::thread reader([&] {
            while (!stop.load()) {
                const int n = acknowledged.load();
                if (n > 0 && !d.is_revoked(id("w", n - 1), now + 100 + (n - 1) % 600))
                    ADD_FAILURE() << n - 1;
            }
        });
        while (!stop.load()) {
            d.compact();
            d.advance(now + 1);
        }
        writer.join();
        reader.join();
    }
    Denylist d(options, now);
    EXPECT_TRUE(d.journal_report().clean());
    for (int i = 0; i < 20000; ++i)
        ASSERT_TRUE(d.is_revoked(id("w", i), now + 100 + i % 600)) << i;
    EXPECT_EQ(d.size(), 20000u);
}

TEST_F(DenylistJournal, TornTailIsCutAndEarlierRecordsKept) {
    {
        Denylist d(options, now);
        d.revoke_jti("a", now + 100);
        d.revoke_jti("b", now + 100);
    }
    std::filesystem::resize_file(options.journal_path, journal_size() - 5);
    {
        Denylist d(options, now);
        EXPECT_EQ(d.journal_report().torn_tail_bytes, detail::record_size - 5);
        EXPECT_EQ(d.journal_report().journal_records, 1u);
        EXPECT_TRUE(d.is_revoked("a", now + 100));
        EXPECT_FALSE(d.is_revoked("b", now + 100));
        d.revoke_jti("c", now + 100);  // appended on a record boundary
    }
    Denylist d(options, now);
    EXPECT_TRUE(d.journal_report().clean());
    EXPECT_TRUE(d.is_revoked("a", now + 100));
    EXPECT_TRUE(d.is_revoked("c", now + 100));
}

TEST_F(DenylistJournal, CorruptRecordIsSkippedAndTheRestLoaded) {
    {
        Denylist d(options, now);
        d.revoke_jti("a", now + 100);
        d.revoke_jti("b", now + 100);
        d.revoke_jti("c", now + 100);
    }
    for (std::size_t byte : {0ul, 3ul, 9ul, 20ul, 30ul, 44ul}) {
        std::fstream f(options.journal_path, std::ios::in | std::ios::out | std::ios::binary);
        const auto at =
            static_cast<std::streamoff>(detail::magic_size + detail::record_size + byte);
        f.seekg(at);
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x10);
        f.seekp(at);
        f.write(&c, 1);
        f.close();
        Denylist d(options, now);
        EXPECT_EQ(d.journal_report().corrupt_records, 1u) << byte;
        EXPECT_TRUE(d.is_revoked("a", now + 100));
        EXPECT_FALSE(d.is_revoked("b", now + 100));
        EXPECT_TRUE(d.is_revoked("c", now + 100));
        // Put the byte back for the next round.
        std::fstream g(options.journal_path, std::ios::in | std::ios::out | std::ios::binary);
        c = static_cast<char>(c ^ 0x10);
        g.seekp(at);
        g.write(&c, 1);
    }
}

TEST_F(DenylistJournal, RandomDamageNeverYieldsAnEntryThatWasNotWritten) {
    constexpr int records = 200;
    {
        Denylist d(options, now);
        for (int i = 0; i < records; ++i)
            d.revoke_jti(id("r", i), now + 100 + i);
    }
    std::ifstream in(options.journal_path, std::ios::binary);
    const std::string pristine((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    std::mt19937_64 rng(11);
    for (int round = 0; round < 200; ++round) {
        std::string image = pristine;
        std::set<std::size_t> damaged;  // record indexes touched
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int f = 0; f < flips; ++f) {
            const std::size_t at = detail::magic_size + rng() % (image.size() - detail::magic_size);
            image[at] = static_cast<char>(image[at] ^ (1 + rng() % 255));
            damaged.insert((at - detail::magic_size) / detail::record_size);
        }
        // Sometimes also tear the tail.
        if (rng() % 3 == 0) image.resize(image.size() - 1 - rng() % (detail::record_size - 1));
        const std::size_t whole = (image.size() - detail::magic_size) / detail::record_size;
        std::ofstream(options.journal_path, std::ios::binary | std::ios::trunc) << image;

        Denylist d(options, now);
        const JournalReport& r = d.journal_report();
        std::size_t present = 0;
        for (int i = 0; i < records; ++i) {
            const bool got = d.is_revoked(id("r", i), now + 100 + i);
            const bool intact = static_cast<std::size_t>(i) < whole && damaged.count(i) == 0;
            if (intact) {
                ASSERT_TRUE(got) << "round " << round << " lost record " << i;
            }
            present += got;
        }
        // Every damaged record is refused (its checksum fails), none is
        // turned into another entry, and the count says how many.
        EXPECT_EQ(d.size(), present) << round;
        std::size_t damaged_whole = 0;
        for (std::size_t k : damaged)
            damaged_whole += k < whole;
        EXPECT_EQ(r.corrupt_records, damaged_whole) << round;
        EXPECT_EQ(present + damaged_whole, whole) << round;
    }
}

TEST_F(DenylistJournal, RefusesAFileThatIsNotAJournal) {
    {
        std::ofstream f(options.journal_path);
        f << "important data, not ours";
    }
    EXPECT_THROW(Denylist(options, now), SetupError);
    std::ifstream f(options.journal_path);
    std::string content;
    std::getline(f, content);
    EXPECT_EQ(content, "important data, not ours");  // untouched
}

TEST_F(DenylistJournal, UnwritableJournalIsASetupError) {
    options.journal_path = (dir / "missing-dir" / "journal").string();
    EXPECT_THROW(Denylist(options, now), std::system_error);
}

TEST_F(DenylistJournal, EveryAcknowledgedRevocationSurvivesSigkill) {
    int ack[2];
    ASSERT_EQ(::pipe(ack), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(ack[0]);
        DenylistOptions o = options;
        o.journal_sync = JournalSync::each_record;
        Denylist d(o, now);
        for (std::uint32_t i = 0;; ++i) {
            d.revoke_jti(id("k", i), now + 600 + i % 3000);
            // Acknowledge only after revoke_jti returned.
            if (::write(ack[1], &i, sizeof i) != sizeof i) ::_exit(1);
        }
    }
    ::close(ack[1]);
    std::uint32_t last = 0;
    std::uint32_t value = 0;
    bool any = false;
    while (!any || last < 300) {
        ASSERT_EQ(::read(ack[0], &value, sizeof value), static_cast<ssize_t>(sizeof value));
        last = value;
        any = true;
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    // Drain acknowledgements written before the kill.
    while (::read(ack[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value))
        last = value;
    ::close(ack[0]);
    ASSERT_TRUE(WIFSIGNALED(status));

    Denylist d(options, now);
    for (std::uint32_t i = 0; i <= last; ++i)
        ASSERT_TRUE(d.is_revoked(id("k", i), now + 600 + i % 3000)) << i;
    // At most one record was being written when the process died.
    EXPECT_LE(d.journal_report().torn_tail_bytes, detail::record_size);
    EXPECT_EQ(d.journal_report().corrupt_records, 0u);
}

}  // namespace
}  // namespace jwtguard

namespace jwtguard {
namespace {

TEST(Divider, EqualsHardwareDivisionOnEveryNumericDate) {
    std::mt19937_64 rng(7);
    const std::uint64_t max = std::uint64_t{1} << 53;
    using u64 = std::uint64_t;
    for (u64 divisor : std::vector<u64>{1, 2, 3, 7, 59, 60, 61, 3600, 86399, 86400, 31'536'000,
                                        (u64{1} << 25) - 1}) {
        const detail::Divider divide(divisor);
        for (u64 x : std::vector<u64>{0, 1, divisor - 1, divisor, divisor + 1, max - 1, max,
                                      max / divisor * divisor, max / divisor * divisor - 1})
            ASSERT_EQ(divide(x), x / divisor) << x << " / " << divisor;
        for (int i = 0; i < 200'000; ++i) {
            const std::uint64_t x = rng() % (max + 1);
            ASSERT_EQ(divide(x), x / divisor) << x << " / " << divisor;
        }
    }
}

}  // namespace
}  // namespace jwtguard
