// JwksRefresher (jwks_refresh.hpp) with a fetch function the test scripts:
// what the identity provider publishes changes, fails, or is garbage.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "jwtguard/jwtguard.hpp"
#include "test_keys.hpp"
#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using namespace std::chrono_literals;
using test::now;

const std::string secret_a(40, 'a');
const std::string secret_b(40, 'b');

std::string jwk(const std::string& secret, const std::string& kid) {
    return test::oct_jwk(secret, R"(,"kid":")" + kid + R"(","alg":"HS256")");
}

std::string token(const std::string& secret, const std::string& kid, const std::string& jti = "t") {
    return test::make_token(R"({"alg":"HS256","kid":")" + kid + "\"}",
                            R"({"jti":")" + jti + R"(","exp":1700000600})", Hs256Key(secret));
}

/// An identity provider the test controls: what it publishes, and how
/// often it was asked.
struct Provider {
    std::string fetch() {
        std::chrono::milliseconds wait;
        {
            std::lock_guard lock(mutex);
            wait = delay;
        }
        std::this_thread::sleep_for(wait);  // a slow provider
        std::lock_guard lock(mutex);
        ++fetches;
        if (failing) throw std::runtime_error("connection refused");
        return document;
    }
    void publish(std::string doc) {
        std::lock_guard lock(mutex);
        document = std::move(doc);
    }
    int count() {
        std::lock_guard lock(mutex);
        return fetches;
    }
    std::mutex mutex;
    std::string document = test::jwks({jwk(secret_a, "a")});
    bool failing = false;
    int fetches = 0;
    std::chrono::milliseconds delay{0};
};

struct Fixture {
    explicit Fixture(JwksRefreshOptions o = {})
        : validator(KeySet(Hs256Key(std::string(40, 'x')))) {
        o.fetch = [this] { return provider.fetch(); };
        o.warn = [this](std::string_view m) {
            std::lock_guard lock(mutex);
            warnings.emplace_back(m);
        };
        refresher = std::make_unique<JwksRefresher>(validator, o);
    }
    bool warned(std::string_view part) {
        std::lock_guard lock(mutex);
        for (const std::string& w : warnings)
            if (w.find(part) != std::string::npos) return true;
        return false;
    }
    Error check(const std::string& t) { return validator.validate(t, now, *claims); }

    Provider provider;
    Validator validator;
    std::mutex mutex;
    std::vector<std::string> warnings;
    std::unique_ptr<Claims> claims = test::new_claims();
    std::unique_ptr<JwksRefresher> refresher;  // last: stopped first
};

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(JwksRefresh, TheFirstFetchInstallsTheKeys) {
    Fixture f;
    EXPECT_TRUE(f.refresher->loaded());
    EXPECT_EQ(f.check(token(secret_a, "a")), Error::ok);
    EXPECT_EQ(f.refresher->stats().keys, 1u);
    EXPECT_EQ(f.provider.count(), 1);
}

TEST(JwksRefresh, AnUnknownKidRefreshesAfterTheCooldown) {
    JwksRefreshOptions o;
    o.unknown_kid_cooldown = 300ms;
    Fixture f(o);
    {
        // Requests keep naming the new kid while the fetch runs.
        std::lock_guard lock(f.provider.mutex);
        f.provider.delay = 50ms;
    }
    const auto start = std::chrono::steady_clock::now();
    f.provider.publish(test::jwks({jwk(secret_a, "a"), jwk(secret_b, "b")}));  // rotation
    const std::string new_token = token(secret_b, "b");
    EXPECT_EQ(f.check(new_token), Error::kid_unknown);  // refused, never waits
    ASSERT_TRUE(eventually([&] { return f.check(new_token) == Error::ok; }));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 290ms) << "the first fetch was just now: the cooldown applies";
    EXPECT_EQ(f.refresher->stats().unknown_kid_refreshes, 1u);
    EXPECT_EQ(f.provider.count(), 2);
    // Once the cooldown is over, an unknown kid refreshes at once.
    std::this_thread::sleep_for(350ms);
    EXPECT_EQ(f.provider.count(), 2) << "the refresh covered the raises made while it ran";
    const std::string c = test::jwks({jwk(secret_a, "c")});
    f.provider.publish(c);
    const auto again = std::chrono::steady_clock::now();
    EXPECT_EQ(f.check(token(secret_a, "c")), Error::kid_unknown);
    ASSERT_TRUE(eventually([&] { return f.check(token(secret_a, "c")) == Error::ok; }));
    EXPECT_LT(std::chrono::steady_clock::now() - again, 250ms);  // 50 ms of it the fetch
    // "b" left the published set: its tokens fail from that refresh on.
    EXPECT_EQ(f.check(new_token), Error::kid_unknown);
}

TEST(JwksRefresh, AFloodOfBogusKidsFetchesOncePerCooldown) {
    JwksRefreshOptions o;
    o.unknown_kid_cooldown = 200ms;
    Fixture f(o);
    const auto start = std::chrono::steady_clock::now();
    long refused = 0;
    for (int i = 0; std::chrono::steady_clock::now() - start < 1000ms; ++i)
        refused +=
            f.check(token(secret_a, "bogus-" + std::to_string(i % 1000))) == Error::kid_unknown;
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GT(refused, 1000);
    // One fetch at construction, then at most one per cooldown (+1 for the
    // one the end of the flood may still be waiting for).
    const int allowed = 1 + static_cast<int>(elapsed / 200ms) + 1;
    EXPECT_LE(f.provider.count(), allowed);
    EXPECT_GE(f.provider.count(), 3);
}

TEST(JwksRefresh, AFailedOrGarbageFetchKeepsTheKeysInUse) {
    JwksRefreshOptions o;
    o.unknown_kid_cooldown = 0ms;
    o.retry_after_failure = 50ms;
    Fixture f(o);
    const std::string good = token(secret_a, "a");
    ASSERT_EQ(f.check(good), Error::ok);
    {
        std::lock_guard lock(f.provider.mutex);
        f.provider.failing = true;
    }
    ASSERT_FALSE(f.refresher->refresh_now());
    EXPECT_TRUE(f.warned("connection refused"));
    EXPECT_EQ(f.check(good), Error::ok);
    {
        std::lock_guard lock(f.provider.mutex);
        f.provider.failing = false;
    }
    for (const std::string& garbage :
         {std::string("<html>502 Bad Gateway</html>"), std::string(R"({"keys":[]})"),
          test::jwks({test::oct_jwk("short", R"(,"kid":"a","alg":"HS256")")}),
          std::string(R"({"keys":"none"})")}) {
        f.provider.publish(garbage);
        EXPECT_FALSE(f.refresher->refresh_now()) << garbage;
        EXPECT_EQ(f.check(good), Error::ok) << garbage;
    }
    EXPECT_TRUE(f.warned("no usable key"));
    EXPECT_TRUE(f.warned("key_too_short"));
    EXPECT_EQ(f.refresher->stats().failures, 5u);
    // A failed periodic refresh is retried soon: the provider recovers.
    f.provider.publish(test::jwks({jwk(secret_b, "a")}));
    EXPECT_TRUE(f.refresher->refresh_now());
    EXPECT_EQ(f.check(good), Error::signature_invalid);
}

TEST(JwksRefresh, RefusedKeysAreReportedAndTheOthersUsed) {
    Fixture f;
    f.provider.publish(test::jwks(
        {jwk(secret_a, "a"), test::oct_jwk(secret_b, R"(,"kid":"b")"), jwk(secret_b, "c")}));
    ASSERT_TRUE(f.refresher->refresh_now());
    EXPECT_TRUE(f.warned("JWK #1 (kid \"b\") refused"));
    EXPECT_EQ(f.refresher->stats().keys, 2u);
    EXPECT_EQ(f.check(token(secret_b, "c")), Error::ok);
}

TEST(JwksRefresh, PeriodicRefreshFollowsThePublishedSet) {
    JwksRefreshOptions o;
    o.interval = 30ms;
    Fixture f(o);
    ASSERT_TRUE(eventually([&] { return f.provider.count() >= 3; }));
    f.provider.publish(test::jwks({jwk(secret_b, "b")}));
    EXPECT_TRUE(eventually([&] { return f.check(token(secret_b, "b")) == Error::ok; }));
    EXPECT_EQ(f.check(token(secret_a, "a")), Error::kid_unknown);
}

TEST(JwksRefresh, CachedTokensOfAWithdrawnKeyFailAtTheRefresh) {
    Validator::Options vo;
    vo.token_cache.entries = 16;
    Validator validator(KeySet(Hs256Key(std::string(40, 'x'))), vo);
    Provider provider;
    JwksRefreshOptions o;
    o.fetch = [&] { return provider.fetch(); };
    o.warn = [](std::string_view) {};
    JwksRefresher refresher(validator, o);
    auto claims = test::new_claims();
    const std::string t = token(secret_a, "a");
    ASSERT_EQ(validator.validate(t, now, *claims), Error::ok);
    ASSERT_TRUE(validator.is_cached(t));
    provider.publish(test::jwks({jwk(secret_b, "b")}));
    ASSERT_TRUE(refresher.refresh_now());
    EXPECT_EQ(validator.validate(t, now, *claims), Error::kid_unknown);
}

TEST(JwksRefresh, BadOptionsAndASecondRefresherAreRefused) {
    Validator validator(KeySet(Hs256Key(std::string(40, 'x'))));
    JwksRefreshOptions none;
    EXPECT_THROW(JwksRefresher(validator, none), SetupError);
    JwksRefreshOptions o;
    o.fetch = [] { return test::jwks({jwk(secret_a, "a")}); };
    JwksRefreshOptions zero = o;
    zero.interval = 0ms;
    EXPECT_THROW(JwksRefresher(validator, zero), SetupError);
    // Bounded above: each is added to the steady clock.
    for (auto huge : {&JwksRefreshOptions::interval, &JwksRefreshOptions::unknown_kid_cooldown,
                      &JwksRefreshOptions::retry_after_failure}) {
        JwksRefreshOptions big = o;
        big.*huge = std::chrono::milliseconds::max();
        EXPECT_THROW(JwksRefresher(validator, big), SetupError);
    }
    JwksRefresher first(validator, o);
    EXPECT_THROW(JwksRefresher(validator, o), SetupError);
}

TEST(JwksRefreshConcurrency, ValidatorsRunWhileKeysAreRefreshed) {
    JwksRefreshOptions o;
    o.interval = 2ms;
    o.unknown_kid_cooldown = 0ms;
    Fixture f(o);
    f.provider.publish(test::jwks({jwk(secret_a, "a"), jwk(secret_b, "b")}));
    ASSERT_TRUE(f.refresher->refresh_now());
    std::atomic<bool> done{false};
    std::atomic<long> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            auto claims = test::new_claims();
            const std::string mine = t == 0 ? token(secret_a, "a") : token(secret_b, "b");
            // Appended, not `"z" + std::to_string(t)`: g++ 12 -O2 warns
            // falsely (-Wrestrict, GCC PR 105651) on that operator+ here.
            std::string bogus_kid = "z";
            bogus_kid += std::to_string(t);
            const std::string bogus = token(secret_a, bogus_kid);
            while (!done.load()) {
                if (f.validator.validate(mine, now, *claims) != Error::ok) ++wrong;
                if (f.validator.validate(bogus, now, *claims) != Error::kid_unknown) ++wrong;
            }
        });
    EXPECT_TRUE(eventually([&] { return f.provider.count() > 50; }));
    done = true;
    for (std::thread& t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace jwtguard
