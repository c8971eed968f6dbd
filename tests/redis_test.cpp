// The Redis mirror against a real redis-server (tests/redis_server.hpp).
#include <jwtguard/redis.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "test_tokens.hpp"

namespace jwtguard {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using test::id;

/// Polls `done` every millisecond for up to `limit`; returns how long it took,
/// or nullopt.
std::optional<std::chrono::microseconds> wait_for(const std::function<bool()>& done,
                                                  std::chrono::milliseconds limit = 5000ms) {
    const auto start = Clock::now();
    while (!done()) {
        if (Clock::now() - start > limit) return std::nullopt;
        std::this_thread::sleep_for(1ms);
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

/// Runs one command on a test connection and returns its reply (owned).
detail::Reply command(redisContext* c, std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string_view a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    return detail::Reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

long long integer(redisContext* c, std::initializer_list<std::string_view> args) {
    const detail::Reply r = command(c, args);
    return r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

DenylistOptions denylist_options() {
    DenylistOptions o;
    o.bucket_width = 10;
    o.horizon = 3600;
    o.max_token_lifetime = 3600;
    return o;
}

/// A token with jti, iat and exp (the denylists enforce a maximum lifetime).
std::string token_for(std::string_view jti, std::int64_t now) {
    return test::make_token(test::hs256_header, R"({"jti":")" + std::string(jti) + R"(","iat":)" +
                                                    std::to_string(now - 10) + R"(,"exp":)" +
                                                    std::to_string(now + 600) + "}");
}

/// A validator reading `denylist`, with the lifetime limit it asks for.
Validator validator_for(const Denylist& denylist) {
    Validator::Options vo;
    vo.denylist = &denylist;
    vo.max_lifetime = denylist.options().max_token_lifetime;
    return Validator(Hs256Key(test::secret), vo);
}

/// One server instance: its Denylist and its mirror, with warnings kept.
struct Instance {
    Instance(int port, std::int64_t now, RedisSyncOptions extra = {})
        : denylist(denylist_options(), now) {
        extra.port = port;
        // Quick retries, unless the test asked for its own.
        const RedisSyncOptions defaults;
        if (extra.backoff_min == defaults.backoff_min) extra.backoff_min = 10ms;
        if (extra.backoff_max == defaults.backoff_max) extra.backoff_max = 100ms;
        extra.read_block = 50ms;
        extra.warn = [this](std::string_view m) {
            std::lock_guard lock(mutex);
            warnings.emplace_back(m);
        };
        sync = std::make_unique<RedisDenylistSync>(denylist, std::move(extra));
    }
    [[nodiscard]] std::string all_warnings() {
        std::lock_guard lock(mutex);
        std::string all;
        for (const std::string& w : warnings)
            all += w + "\n";
        return all;
    }
    [[nodiscard]] bool warned(std::string_view part) {
        std::lock_guard lock(mutex);
        for (const std::string& w : warnings)
            if (w.find(part) != std::string::npos) return true;
        return false;
    }
    Denylist denylist;
    std::mutex mutex;
    std::vector<std::string> warnings;
    std::unique_ptr<RedisDenylistSync> sync;
};

/// True when every instance has loaded what Redis holds (within 5 s each).
bool all_ready(std::initializer_list<Instance*> instances) {
    for (Instance* i : instances)
        if (!i->sync->wait_ready(5000ms)) return false;
    return true;
}

TEST(RedisText, EveryKindRoundTrips) {
    const std::string token = test::make_token(test::hs256_header, R"({"sub":"x"})");
    Revocation from_token;
    ASSERT_EQ(Denylist::token_revocation(token, from_token), Error::ok);
    for (const Revocation& r :
         {Denylist::jti_revocation("a", 1'700'000'000), Denylist::jti_revocation("b", std::nullopt),
          Denylist::jti_revocation("c", 0), Denylist::subject_revocation("alice", 12345),
          from_token, Revocation{RevocationKind::revoked, 100, 200, {1, 2}}}) {
        const std::string text = detail::format_revocation(r);
        Revocation back;
        ASSERT_TRUE(detail::parse_revocation(text, back)) << text;
        EXPECT_EQ(back.kind, r.kind);
        EXPECT_EQ(back.first, r.first);
        EXPECT_EQ(back.last, r.last);
        EXPECT_EQ(back.fp, r.fp);
    }
    EXPECT_EQ(detail::format_revocation({RevocationKind::revoked, 100, 200, {1, 0xabc}}),
              "token 100 200 00000000000000010000000000000abc");
    EXPECT_EQ(detail::format_revocation({RevocationKind::subject, 7, 7, {1, 2}}),
              "subject 7 00000000000000010000000000000002");
}

TEST(RedisText, AnythingElseIsRefused) {
    const std::string fp = "00000000000000010000000000000002";
    Revocation r;
    for (const std::string& text : std::vector<std::string>{
             std::string(),
             "token 1 2",
             "token 1 2 " + fp + " x",
             "token 1 2  " + fp,
             " token 1 2 " + fp,
             "token 1 2 " + fp + " ",
             "Token 1 2 " + fp,
             "token 2 1 " + fp,                             // empty range
             "token none 5 " + fp,                          // no exp first, a date last
             "token 5 none " + fp,                          // a date first, no exp last
             "token 0 9007199254740992 " + fp,              // a range of more than a year
             "token 0 31536000 " + fp,                      //
             "token 01 2 " + fp,                            // leading zero
             "token -1 2 " + fp,                            // negative
             "token +1 2 " + fp,                            //
             "token 1 9007199254740993 " + fp,              // beyond 2^53
             "token 1 2 00000000000000010000000000000000",  // hi 0: the empty marker
             "token 1 2 0000000000000001000000000000000G",
             "token 1 2 0000000000000001000000000000000A",  // uppercase
             "token 1 2 000000000000000100000000000000022",
             "subject 5 6 " + fp,
             "subject none " + fp,
             "subject 5",
             "jti 5 5 " + fp,
         })
        EXPECT_FALSE(detail::parse_revocation(text, r)) << '"' << text << '"';
    EXPECT_TRUE(detail::parse_revocation("token none none " + fp, r));
    EXPECT_TRUE(detail::parse_revocation("token 0 31535999 " + fp, r));  // a year, the widest
    EXPECT_TRUE(detail::parse_revocation("token 9007199254740992 9007199254740992 " + fp, r));
}

TEST(RedisSync, BadOptionsAreRefused) {
    Denylist d(denylist_options(), test::now);
    const auto refused = [&](auto change) {
        RedisSyncOptions o;
        change(o);
        EXPECT_THROW(RedisDenylistSync(d, o), SetupError);
    };
    refused([](RedisSyncOptions& o) { o.port = 0; });
    refused([](RedisSyncOptions& o) { o.port = 70000; });
    refused([](RedisSyncOptions& o) { o.stream_name.clear(); });
    refused([](RedisSyncOptions& o) { o.stream_name = "live"; });
    refused([](RedisSyncOptions& o) { o.stream_name = "generation"; });
    refused([](RedisSyncOptions& o) { o.command_timeout = 0ms; });
    refused([](RedisSyncOptions& o) { o.read_block = 0ms; });
    refused([](RedisSyncOptions& o) { o.backoff_max = o.backoff_min / 2; });
    refused([](RedisSyncOptions& o) { o.clock_slack = -1; });
    // Every duration has an upper bound too: no sum with a date overflows.
    refused([](RedisSyncOptions& o) { o.clock_slack = INT64_MAX; });
    refused([](RedisSyncOptions& o) { o.clock_slack = max_leeway + 1; });
    refused([](RedisSyncOptions& o) { o.stream_retention = INT64_MAX; });
    refused([](RedisSyncOptions& o) { o.stream_retention = -1; });
    refused([](RedisSyncOptions& o) { o.command_timeout = std::chrono::milliseconds::max(); });
    refused([](RedisSyncOptions& o) { o.trim_interval = std::chrono::hours(25); });
    refused([](RedisSyncOptions& o) { o.backoff_max = std::chrono::hours(25); });
    refused([](RedisSyncOptions& o) { o.stream_name = "ack-probe"; });
    refused([](RedisSyncOptions& o) { o.stream_name = "claim:x"; });
    // Sentinels and a master name go together; every Sentinel is an address.
    refused([](RedisSyncOptions& o) { o.sentinels = {{"127.0.0.1", 26379}}; });
    refused([](RedisSyncOptions& o) { o.master_name = "m"; });
    refused([](RedisSyncOptions& o) {
        o.master_name = "m";
        o.sentinels = {{"127.0.0.1", 26379}, {"127.0.0.1", 0}};
    });
    refused([](RedisSyncOptions& o) {
        o.master_name = "m";
        o.sentinels = {{"", 26379}};
    });
    refused([](RedisSyncOptions& o) { o.sentinel_check_interval = 0ms; });
    refused([](RedisSyncOptions& o) { o.min_replicas_acked = -1; });
    refused([](RedisSyncOptions& o) { o.min_replicas_acked = 65; });
    refused([](RedisSyncOptions& o) { o.replica_ack_timeout = 0ms; });
    refused([](RedisSyncOptions& o) { o.replica_ack_timeout = std::chrono::hours(25); });
}

TEST(RedisSync, ABrokenClockTrimsNothing) {
    // A clock outside [0, 2^53] (time.hpp) would have made the trim bound
    // anything; it is read as 0, which drops nothing from Redis.
    test::RedisServer server;
    std::atomic<std::int64_t> clock{detail::unix_seconds()};
    RedisSyncOptions o;
    o.clock = [&] { return clock.load(); };
    o.trim_interval = 20ms;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now, o);
    ASSERT_TRUE(all_ready({&a}));
    ASSERT_TRUE(a.sync->revoke_jti("kept", now + 3000).shared);
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(integer(c, {"ZCARD", "jwtguard:live"}), 1);
    clock = INT64_MAX;
    EXPECT_TRUE(wait_for([&] {
        std::lock_guard lock(a.mutex);
        return std::count_if(a.warnings.begin(), a.warnings.end(), [](const std::string& w) {
                   return w.find("the clock gave") != std::string::npos;
               }) >= 3;
    }));
    EXPECT_EQ(integer(c, {"ZCARD", "jwtguard:live"}), 1);
    EXPECT_EQ(integer(c, {"XLEN", "jwtguard:revocations"}), 1);
    redisFree(c);
}

TEST(RedisSync, WithoutRedisRevocationsAreLocalAndQueued) {
    test::RedisServer server;
    const int port = server.port();
    server.stop();
    Instance a(port, detail::unix_seconds());
    EXPECT_FALSE(a.sync->wait_ready(200ms));
    const SyncedRevocation r = a.sync->revoke_jti("j", detail::unix_seconds() + 600);
    EXPECT_FALSE(r.shared);
    EXPECT_FALSE(r.redis_error.empty());
    EXPECT_EQ(r.local, RevokeResult::added);
    EXPECT_TRUE(a.denylist.is_revoked("j", detail::unix_seconds() + 600));
    EXPECT_EQ(a.sync->queued(), 1u);
    EXPECT_TRUE(wait_for([&] { return a.warned("Redis unavailable"); }));
    // Redis comes: the instance becomes ready and sends what it queued.
    server.start();
    EXPECT_TRUE(a.sync->wait_ready(5000ms));
    EXPECT_TRUE(wait_for([&] { return a.sync->queued() == 0; }));
    EXPECT_EQ(a.sync->stats().replayed, 1u);
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(integer(c, {"ZCARD", "jwtguard:live"}), 1);
    EXPECT_EQ(integer(c, {"XLEN", "jwtguard:revocations"}), 1);
    redisFree(c);
}

TEST(RedisSync, QueuedRevocationsSurviveARestartOfTheInstance) {
    test::RedisServer server;
    const int port = server.port();
    server.stop();
    const auto dir =
        std::filesystem::temp_directory_path() / ("jwtguard-outbox-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    DenylistOptions journaled = denylist_options();
    journaled.journal_path = (dir / "journal").string();
    const std::int64_t now = detail::unix_seconds();
    RedisSyncOptions o;
    o.port = port;
    o.backoff_min = 10ms;
    o.backoff_max = 50ms;
    o.warn = [](std::string_view) {};
    {
        Denylist d(journaled, now);
        RedisDenylistSync sync(d, o);
        for (int i = 0; i < 5; ++i)
            EXPECT_FALSE(sync.revoke_jti(id("offline-", i), now + 600).shared);
        EXPECT_EQ(sync.queued(), 5u);
    }  // the instance stops before Redis comes back
    EXPECT_EQ(std::filesystem::file_size(journaled.journal_path + ".redis-outbox"),
              detail::magic_size + 5 * detail::record_size);
    // A torn last record (a crash mid-write) is dropped; the rest is kept.
    { std::ofstream(journaled.journal_path + ".redis-outbox", std::ios::app) << "torn"; }
    server.start();
    std::vector<std::string> warnings;
    std::mutex mutex;
    o.warn = [&](std::string_view m) {
        std::lock_guard lock(mutex);
        warnings.emplace_back(m);
    };
    Denylist d(journaled, now);
    RedisDenylistSync sync(d, o);
    EXPECT_EQ(sync.stats().queued, 5u);
    ASSERT_TRUE(sync.wait_ready(5000ms));
    EXPECT_TRUE(wait_for([&] { return sync.queued() == 0; }));
    EXPECT_EQ(sync.stats().replayed, 5u);
    EXPECT_EQ(std::filesystem::file_size(journaled.journal_path + ".redis-outbox"),
              detail::magic_size);
    Instance other(port, now);
    ASSERT_TRUE(all_ready({&other}));
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(other.denylist.is_revoked(id("offline-", i), now + 600)) << i;
    {
        std::lock_guard lock(mutex);
        ASSERT_GE(warnings.size(), 2u);
        EXPECT_NE(warnings[0].find("4 bytes of a torn tail"), std::string::npos) << warnings[0];
        EXPECT_NE(warnings[1].find("5 revocations queued by a previous run"), std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST(RedisSync, RefusesAFileThatIsNotAnOutbox) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("jwtguard-not-outbox-" + std::to_string(::getpid()));
    { std::ofstream(path) << "something else entirely"; }
    Denylist d(denylist_options(), detail::unix_seconds());
    RedisSyncOptions o;
    o.outbox_path = path.string();
    EXPECT_THROW(RedisDenylistSync(d, o), SetupError);
    std::filesystem::remove(path);
}

TEST(RedisSync, ARevocationOnOneInstanceIsInForceOnTheOthersWithinMilliseconds) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now);
    Instance b(server.port(), now);
    Instance c(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b, &c}));

    std::chrono::microseconds slowest{0};
    for (int i = 0; i < 50; ++i) {
        const std::string jti = id("jti-", i);
        const SyncedRevocation r = a.sync->revoke_jti(jti, now + 600);
        ASSERT_TRUE(r.shared) << r.redis_error;
        EXPECT_EQ(r.local, RevokeResult::added);
        EXPECT_TRUE(a.denylist.is_revoked(jti, now + 600));
        for (Instance* other : {&b, &c}) {
            const auto took = wait_for([&] { return other->denylist.is_revoked(jti, now + 600); });
            ASSERT_TRUE(took) << jti << " never arrived";
            slowest = std::max(slowest, *took);
        }
    }
    // Generous: a loaded CI machine; the benchmark measures the real figure.
    EXPECT_LT(slowest, 500ms);
    RecordProperty("slowest_arrival_us", static_cast<int>(slowest.count()));

    // The other two kinds travel the same way, and the validator of another
    // instance rejects with the right error.
    const Validator v = validator_for(b.denylist);
    auto claims = test::new_claims();
    const std::string payload = R"({"sub":"bob","iat":)" + std::to_string(now - 10) + R"(,"exp":)" +
                                std::to_string(now + 600) + "}";
    const std::string token = test::make_token(test::hs256_header, payload);
    ASSERT_EQ(v.validate(token, now, *claims), Error::ok);
    SyncedRevocation r;
    ASSERT_EQ(c.sync->revoke_token(token, &r), Error::ok);
    EXPECT_TRUE(r.shared);
    EXPECT_TRUE(wait_for([&] { return v.validate(token, now, *claims) == Error::revoked; }));
    const std::string later =
        test::make_token(test::hs256_header, R"({"sub":"carol","iat":)" + std::to_string(now - 10) +
                                                 R"(,"exp":)" + std::to_string(now + 600) + "}");
    ASSERT_EQ(v.validate(later, now, *claims), Error::ok);
    EXPECT_TRUE(c.sync->revoke_subject("carol", now).shared);
    EXPECT_TRUE(
        wait_for([&] { return v.validate(later, now, *claims) == Error::subject_revoked; }));
    EXPECT_EQ(c.sync->revoke_token("a.b"), Error::token_malformed);
    EXPECT_EQ(a.sync->stats().malformed, 0u);
}

TEST(RedisSync, AnOutageLosesNothingAndValidationGoesOn) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now);
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b}));
    ASSERT_TRUE(a.sync->revoke_jti("before", now + 600).shared);
    ASSERT_TRUE(wait_for([&] { return b.denylist.is_revoked("before", now + 600); }));

    const Validator v = validator_for(a.denylist);
    const std::string valid = token_for("kept", now);

    server.stop();  // Redis restarts empty: no persistence
    std::atomic<bool> validating{true};
    std::atomic<long> failures{0};
    std::atomic<long> validations{0};
    std::thread validator([&] {
        auto claims = test::new_claims();
        while (validating.load()) {
            if (v.validate(valid, now, *claims) != Error::ok) ++failures;
            ++validations;
        }
    });
    for (int i = 0; i < 20; ++i) {
        const SyncedRevocation r = a.sync->revoke_jti(id("during-", i), now + 600);
        EXPECT_FALSE(r.shared);
        EXPECT_EQ(r.local, RevokeResult::added);
    }
    EXPECT_EQ(a.sync->queued(), 20u);
    std::this_thread::sleep_for(200ms);  // a few reconnection attempts
    server.start();
    EXPECT_TRUE(wait_for([&] { return a.sync->queued() == 0; }));
    for (int i = 0; i < 20; ++i) {
        const std::string jti = id("during-", i);
        EXPECT_TRUE(wait_for([&] { return b.denylist.is_revoked(jti, now + 600); })) << jti;
    }
    validating = false;
    validator.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GT(validations.load(), 0);
    EXPECT_TRUE(b.denylist.is_revoked("before", now + 600));
    EXPECT_GE(b.sync->stats().connection_failures, 1u);
    EXPECT_TRUE(b.warned("Redis available again"));
    // What was queued is in Redis too: a new instance gets it.
    Instance c(server.port(), now);
    ASSERT_TRUE(all_ready({&c}));
    for (int i = 0; i < 20; ++i)
        EXPECT_TRUE(c.denylist.is_revoked(id("during-", i), now + 600));
}

TEST(RedisSync, AnInstanceThatMissedTrimmedEntriesReloadsTheSet) {
    // Redis restarts empty while B sleeps in a long backoff; before B is
    // back, a revocation reaches the set but its stream entry is gone (here:
    // written without one). B must notice that the stream no longer reaches
    // back to the last entry it saw, and reload the set.
    for (const bool newer_entry : {false, true}) {
        SCOPED_TRACE(newer_entry ? "the stream restarted with a newer entry" : "empty stream");
        test::RedisServer server;
        const std::int64_t now = detail::unix_seconds();
        RedisSyncOptions slow;
        Instance a(server.port(), now);
        Instance b(server.port(), now);
        b.sync = nullptr;
        slow.port = server.port();
        slow.backoff_min = slow.backoff_max = 1500ms;
        slow.read_block = 50ms;
        slow.warn = [](std::string_view) {};
        b.sync = std::make_unique<RedisDenylistSync>(b.denylist, slow);
        ASSERT_TRUE(all_ready({&a, &b}));
        ASSERT_TRUE(a.sync->revoke_jti("seen", now + 600).shared);
        ASSERT_TRUE(wait_for([&] { return b.denylist.is_revoked("seen", now + 600); }));
        server.stop();
        std::this_thread::sleep_for(100ms);  // B notices and starts its backoff
        server.start();
        redisContext* c = server.connect();
        ASSERT_NE(c, nullptr);
        const std::string missed =
            detail::format_revocation(Denylist::jti_revocation("missed", now + 600));
        ASSERT_EQ(integer(c, {"ZADD", "jwtguard:live", "+inf", missed}), 1);
        if (newer_entry) {
            const std::string other =
                detail::format_revocation(Denylist::jti_revocation("newer", now + 600));
            ASSERT_EQ(integer(c, {"ZADD", "jwtguard:live", "+inf", other}), 1);
            ASSERT_NE(command(c, {"XADD", "jwtguard:revocations", "*", "r", other}), nullptr);
        }
        redisFree(c);
        EXPECT_EQ(b.sync->stats().full_loads, 1u) << "B came back too early for this test";
        EXPECT_TRUE(wait_for([&] { return b.denylist.is_revoked("missed", now + 600); }));
        EXPECT_EQ(b.sync->stats().full_loads, 2u);
        if (newer_entry) {
            EXPECT_TRUE(b.denylist.is_revoked("newer", now + 600));
        }
    }
}

TEST(RedisSync, ARedisRestartedEmptyGetsEveryLiveRevocationBack) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now);
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b}));
    ASSERT_TRUE(a.sync->revoke_jti("old", now + 600).shared);
    ASSERT_TRUE(a.sync->revoke_subject("frank", now).shared);
    ASSERT_TRUE(wait_for([&] { return b.denylist.is_revoked("old", now + 600); }));
    server.stop();
    server.start();  // no persistence: Redis comes back empty
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(wait_for([&] { return integer(c, {"ZCARD", "jwtguard:live"}) >= 2; }));
    redisFree(c);
    EXPECT_TRUE(wait_for([&] { return a.warned("Redis lost the revocations it held"); }));
    // A new instance starts from what the others published again.
    Instance fresh(server.port(), now);
    ASSERT_TRUE(all_ready({&fresh}));
    EXPECT_TRUE(fresh.denylist.is_revoked("old", now + 600));
    EXPECT_EQ(fresh.denylist.subject_cutoff("frank"), now);
    // Whichever put them back first counts them once its answers are read.
    EXPECT_TRUE(
        wait_for([&] { return a.sync->stats().republished + b.sync->stats().republished >= 2; }));
}

TEST(RedisSync, ARestartedInstanceHasEveryLiveRevocationWhenReady) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    constexpr int count = 2000;
    {
        Instance a(server.port(), now);
        ASSERT_TRUE(all_ready({&a}));
        for (int i = 0; i < count; ++i)
            ASSERT_TRUE(a.sync->revoke_jti(id("r-", i), now + 60 + i).shared);
        ASSERT_TRUE(a.sync->revoke_subject("dave", now).shared);
        ASSERT_TRUE(a.sync->revoke_jti("no-exp", std::nullopt).shared);
    }
    Instance restarted(server.port(), now);
    ASSERT_TRUE(all_ready({&restarted}));
    // Checked at once, no waiting: ready means loaded.
    for (int i = 0; i < count; ++i)
        ASSERT_TRUE(restarted.denylist.is_revoked(id("r-", i), now + 60 + i)) << i;
    EXPECT_EQ(restarted.denylist.subject_cutoff("dave"), now);
    EXPECT_TRUE(restarted.denylist.is_revoked("no-exp", std::nullopt));
    EXPECT_EQ(restarted.sync->stats().full_loads, 1u);
    EXPECT_EQ(restarted.sync->stats().applied, count + 2u);
}

TEST(RedisSync, ExpiredRevocationsVanishFromRedisAndFromEveryInstance) {
    test::RedisServer server;
    std::atomic<std::int64_t> skew{0};
    RedisSyncOptions o;
    o.clock = [&] { return detail::unix_seconds() + skew.load(); };
    o.clock_slack = 0;
    o.trim_interval = 20ms;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now, o);
    Instance b(server.port(), now, o);
    ASSERT_TRUE(all_ready({&a, &b}));
    ASSERT_TRUE(a.sync->revoke_jti("short", now + 5).shared);
    ASSERT_TRUE(a.sync->revoke_jti("long", now + 3000).shared);
    ASSERT_TRUE(a.sync->revoke_subject("erin", now).shared);
    ASSERT_TRUE(wait_for([&] { return b.denylist.subject_cutoff("erin").has_value(); }));
    ASSERT_TRUE(b.denylist.is_revoked("short", now + 5));
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(integer(c, {"ZCARD", "jwtguard:live"}), 3);

    // The short token has expired: only its revocation goes.
    skew = 100;
    EXPECT_TRUE(wait_for([&] { return integer(c, {"ZCARD", "jwtguard:live"}) == 2; }));
    for (Instance* i : {&a, &b}) {
        i->denylist.advance(now + 100);
        EXPECT_FALSE(i->denylist.is_revoked("short", now + 5));
        EXPECT_TRUE(i->denylist.is_revoked("long", now + 3000));
    }
    // Past every lifetime: the set and the stream are empty, so are the instances.
    skew = 3600 + 3001;
    EXPECT_TRUE(wait_for([&] {
        return integer(c, {"ZCARD", "jwtguard:live"}) == 0 &&
               integer(c, {"XLEN", "jwtguard:revocations"}) == 0;
    }));
    for (Instance* i : {&a, &b}) {
        i->denylist.advance(now + 3600 + 3001);
        EXPECT_FALSE(i->denylist.is_revoked("long", now + 3000));
        EXPECT_FALSE(i->denylist.subject_cutoff("erin").has_value());
        EXPECT_EQ(i->denylist.size(), 0u);
    }
    redisFree(c);
}

TEST(RedisSync, MalformedEntriesAreSkippedWithAWarning) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    // A malformed member of the set, met by the initial load.
    ASSERT_EQ(integer(c, {"ZADD", "jwtguard:live", "+inf", "token soon"}), 1);
    Instance a(server.port(), now);
    ASSERT_TRUE(all_ready({&a}));
    EXPECT_TRUE(a.warned("token soon"));
    EXPECT_EQ(a.sync->stats().malformed, 1u);

    // Malformed stream entries written by hand, then a good one.
    const std::string fp = "00000000000000010000000000000002";
    const std::string empty_range = "token 5 4 " + fp;
    for (const std::string_view value : {std::string_view("garbage"), std::string_view(empty_range),
                                         std::string_view("token\0", 6)}) {
        const detail::Reply r = command(c, {"XADD", "jwtguard:revocations", "*", "r", value});
        ASSERT_TRUE(r != nullptr && r->type == REDIS_REPLY_STRING);
    }
    ASSERT_NE(command(c, {"XADD", "jwtguard:revocations", "*", "x", "y"}), nullptr);
    const Revocation good = Denylist::jti_revocation("good", now + 600);
    const std::string text = detail::format_revocation(good);
    ASSERT_NE(command(c, {"XADD", "jwtguard:revocations", "*", "r", text}), nullptr);
    EXPECT_TRUE(wait_for([&] { return a.denylist.is_revoked("good", now + 600); }));
    EXPECT_EQ(a.sync->stats().malformed, 5u);
    EXPECT_TRUE(a.warned("garbage"));
    EXPECT_TRUE(a.warned("without an \"r\" field"));
    EXPECT_TRUE(a.warned("token 5 4"));
    // The instance still follows the stream.
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&b}));
    ASSERT_TRUE(b.sync->revoke_jti("after", now + 600).shared);
    EXPECT_TRUE(wait_for([&] { return a.denylist.is_revoked("after", now + 600); }));
    redisFree(c);
}

TEST(RedisSync, PasswordIsSentAndAWrongOneReported) {
    test::RedisServer server({"--requirepass", "s3cret"});
    const std::int64_t now = detail::unix_seconds();
    RedisSyncOptions wrong;
    wrong.password = "nope";
    Instance refused(server.port(), now, wrong);
    EXPECT_FALSE(refused.sync->wait_ready(300ms));
    EXPECT_TRUE(wait_for([&] { return refused.warned("AUTH refused"); }));
    RedisSyncOptions right;
    right.password = "s3cret";
    Instance a(server.port(), now, right);
    Instance b(server.port(), now, right);
    ASSERT_TRUE(all_ready({&a, &b}));
    ASSERT_TRUE(a.sync->revoke_jti("p", now + 600).shared);
    EXPECT_TRUE(wait_for([&] { return b.denylist.is_revoked("p", now + 600); }));
}

TEST(RedisSync, KeyPrefixSeparatesDeployments) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    RedisSyncOptions blue;
    blue.key_prefix = "blue:";
    RedisSyncOptions green;
    green.key_prefix = "green:";
    Instance a(server.port(), now, blue);
    Instance b(server.port(), now, green);
    Instance c(server.port(), now, green);
    ASSERT_TRUE(all_ready({&a, &b, &c}));
    ASSERT_TRUE(a.sync->revoke_jti("blue-only", now + 600).shared);
    ASSERT_TRUE(b.sync->revoke_jti("green-only", now + 600).shared);
    EXPECT_TRUE(wait_for([&] { return c.denylist.is_revoked("green-only", now + 600); }));
    EXPECT_FALSE(c.denylist.is_revoked("blue-only", now + 600));
    EXPECT_FALSE(a.denylist.is_revoked("green-only", now + 600));
}

TEST(RedisSyncConcurrency, ValidatorsAndRevokersOnTwoInstances) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now);
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b}));
    const Validator v = validator_for(b.denylist);
    std::vector<std::string> tokens;
    for (int i = 0; i < 8; ++i)
        tokens.push_back(token_for(id("t", i), now));
    std::atomic<bool> done{false};
    std::atomic<long> bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t)
        readers.emplace_back([&] {
            auto claims = test::new_claims();
            while (!done.load())
                for (const std::string& token : tokens) {
                    const Error e = v.validate(token, now, *claims);
                    if (e != Error::ok && e != Error::revoked) ++bad;
                }
        });
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t)
        writers.emplace_back([&, t] {
            for (int i = t; i < 8; i += 2)
                EXPECT_TRUE(a.sync->revoke_jti(id("t", i), now + 600).shared);
        });
    for (std::thread& w : writers)
        w.join();
    auto claims = test::new_claims();
    for (const std::string& token : tokens)
        EXPECT_TRUE(wait_for([&] { return v.validate(token, now, *claims) == Error::revoked; }));
    done = true;
    for (std::thread& r : readers)
        r.join();
    EXPECT_EQ(bad.load(), 0);
}

TEST(RedisSync, ClaimOnceHasExactlyOneWinnerAcrossInstances) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now);
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b}));
    std::atomic<int> won{0}, lost{0}, unavailable{0};
    std::vector<std::thread> callers;
    for (int i = 0; i < 16; ++i)
        callers.emplace_back([&, i] {
            Instance& on = i % 2 == 0 ? a : b;
            switch (on.sync->claim_once("refresh:one", now + 600)) {
                case RedisDenylistSync::Claim::won:
                    ++won;
                    break;
                case RedisDenylistSync::Claim::lost:
                    ++lost;
                    break;
                case RedisDenylistSync::Claim::unavailable:
                    ++unavailable;
                    break;
            }
        });
    for (std::thread& c : callers)
        c.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(lost.load(), 15);
    EXPECT_EQ(unavailable.load(), 0);
    // The claim lives as long as what it names (plus the clock slack).
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    const long long ttl = integer(c, {"TTL", "jwtguard:claim:refresh:one"});
    EXPECT_GT(ttl, 600);
    EXPECT_LE(ttl, 600 + 60 + 1 + 2);
    redisFree(c);
    EXPECT_EQ(a.sync->claim_once("refresh:two", now + 600), RedisDenylistSync::Claim::won);
    std::string why;
    EXPECT_EQ(a.sync->claim_once("", now + 600, &why), RedisDenylistSync::Claim::unavailable);
    EXPECT_EQ(why, "an empty name");
    // Redis away: no one can decide, so no one wins.
    server.stop();
    EXPECT_EQ(b.sync->claim_once("refresh:three", now + 600, &why),
              RedisDenylistSync::Claim::unavailable);
    EXPECT_FALSE(why.empty());
}

// A claim whose answer is lost (the server froze past command_timeout,
// then ran the SET it had been sent) is held by no caller: its maker gives
// it back once it reaches the primary again, so that a later call can win.
TEST(RedisSync, AClaimWhoseAnswerWasLostIsGivenBackOnTheNextConnection) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    RedisSyncOptions quick;
    quick.command_timeout = 200ms;
    Instance a(server.port(), now, quick);
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b}));
    server.pause(true);
    std::string why;
    const RedisDenylistSync::Claim frozen = a.sync->claim_once("refresh:frozen", now + 600, &why);
    server.pause(false);
    EXPECT_EQ(frozen, RedisDenylistSync::Claim::unavailable);
    EXPECT_FALSE(why.empty());
    // Without the give-back, the claim would hold for 660 s.
    EXPECT_TRUE(wait_for([&] { return a.sync->stats().claims_given_back == 1; }, 5000ms));
    EXPECT_TRUE(wait_for(
        [&] {
            return b.sync->claim_once("refresh:frozen", now + 600) == RedisDenylistSync::Claim::won;
        },
        5000ms));
    // A won claim is never given back, by either.
    EXPECT_EQ(a.sync->claim_once("refresh:frozen", now + 600), RedisDenylistSync::Claim::lost);
    EXPECT_EQ(a.sync->stats().claims_given_back, 1u);
    EXPECT_EQ(b.sync->stats().claims_given_back, 0u);
}

/// Leaves in `server` a claim of `a` whose answer was lost and whose
/// give-back is still to come: the server freezes past a's command_timeout
/// (a must retry its connection after about a second: slow_to_reconnect),
/// then runs the SET; the value is hidden while a reconnects and gives back
/// (nothing), then put back. Returns the claim's value ("" on failure).
std::string leave_a_lost_answer_claim(test::RedisServer& server, Instance& a, redisContext* c,
                                      const std::string& name, std::int64_t now) {
    server.pause(true);
    EXPECT_EQ(a.sync->claim_once(name, now + 600), RedisDenylistSync::Claim::unavailable);
    server.pause(false);
    const std::string key = "jwtguard:claim:" + name;
    std::string value;
    if (!wait_for([&] {
            const detail::Reply r = command(c, {"GET", key});
            value =
                r != nullptr && r->type == REDIS_REPLY_STRING ? detail::reply_text(r.get()) : "";
            return !value.empty();
        })) {
        ADD_FAILURE() << "the claim's SET never ran";
        return {};
    }
    EXPECT_EQ(command(c, {"SET", key, "hidden"})->type, REDIS_REPLY_STATUS);
    // a reconnects (its give-back finds another value and deletes nothing).
    EXPECT_TRUE(wait_for(
        [&] {
            return a.sync->claim_once(name + "-probe", now + 600) !=
                   RedisDenylistSync::Claim::unavailable;
        },
        5000ms));
    EXPECT_EQ(a.sync->stats().claims_given_back, 0u);
    EXPECT_EQ(command(c, {"SET", key, value})->type, REDIS_REPLY_STATUS);
    return value;
}

/// Options for leave_a_lost_answer_claim's instance.
RedisSyncOptions slow_to_reconnect(RedisSyncOptions o = {}) {
    o.command_timeout = 200ms;
    o.backoff_min = 1000ms;  // time to hide the claim from the give-back
    o.backoff_max = 1000ms;
    return o;
}

// Until its give-back runs, such a claim would make every call of the farm
// lose, and nobody win (a refresh storm through a failover ended so): a
// later call on the instance that made it takes it over and wins, once.
TEST(RedisSync, AClaimWhoseAnswerWasLostIsTakenOverByTheNextCallOfItsMaker) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now, slow_to_reconnect());
    Instance b(server.port(), now);
    ASSERT_TRUE(all_ready({&a, &b}));
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    const std::string key = "jwtguard:claim:refresh:lost-answer";
    const std::string value = leave_a_lost_answer_claim(server, a, c, "refresh:lost-answer", now);
    ASSERT_FALSE(value.empty());
    // Another instance loses to it; its maker takes it over, once.
    EXPECT_EQ(b.sync->claim_once("refresh:lost-answer", now + 600), RedisDenylistSync::Claim::lost);
    EXPECT_EQ(a.sync->claim_once("refresh:lost-answer", now + 600), RedisDenylistSync::Claim::won);
    EXPECT_EQ(a.sync->stats().claims_adopted, 1u);
    EXPECT_EQ(a.sync->claim_once("refresh:lost-answer", now + 600), RedisDenylistSync::Claim::lost);
    EXPECT_EQ(b.sync->claim_once("refresh:lost-answer", now + 600), RedisDenylistSync::Claim::lost);
    // Taken over, it is given back no more: a new connection leaves it.
    redisFree(c);
    server.stop();
    server.start();
    c = server.connect();
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(command(c, {"SET", key, value, "EX", "600"})->type, REDIS_REPLY_STATUS);
    ASSERT_TRUE(wait_for(
        [&] {
            return a.sync->claim_once("refresh:probe-2", now + 600) !=
                   RedisDenylistSync::Claim::unavailable;
        },
        5000ms));
    EXPECT_EQ(detail::reply_text(command(c, {"GET", key}).get()), value);
    EXPECT_EQ(a.sync->stats().claims_given_back, 0u);
    redisFree(c);
}

/// Mirror options that find the primary through `farm`'s Sentinels.
RedisSyncOptions through_sentinels(const test::SentinelFarm& farm, int acks = 0) {
    RedisSyncOptions o;
    for (const int port : farm.sentinel_ports())
        o.sentinels.push_back({"127.0.0.1", port});
    o.master_name = test::SentinelFarm::master_name;
    o.sentinel_check_interval = 100ms;
    o.connect_timeout = 200ms;
    o.command_timeout = 500ms;
    o.min_replicas_acked = acks;
    o.replica_ack_timeout = 1000ms;
    return o;
}

/// A primary and one replica, without Sentinel, and mirror options that
/// want the replica's acknowledgement within 100 ms.
struct PrimaryAndReplica {
    test::RedisServer primary;
    test::RedisServer replica{{"--replicaof", "127.0.0.1", std::to_string(primary.port())}};
    [[nodiscard]] static RedisSyncOptions acked() {
        RedisSyncOptions o;
        o.min_replicas_acked = 1;
        o.replica_ack_timeout = 100ms;
        return o;
    }
    [[nodiscard]] bool in_sync() const {
        return wait_for([&] { return test::SentinelFarm::in_sync(replica); }, 10000ms).has_value();
    }
};

// With min_replicas_acked, a claim no replica acknowledged is given back
// at once: the next call can win as soon as the replicas keep up.
TEST(RedisFailover, AnUnacknowledgedClaimIsGivenBackAtOnce) {
    PrimaryAndReplica servers;
    test::RedisServer& primary = servers.primary;
    test::RedisServer& replica = servers.replica;
    const std::int64_t now = detail::unix_seconds();
    ASSERT_TRUE(servers.in_sync());
    Instance a(primary.port(), now, PrimaryAndReplica::acked());
    ASSERT_TRUE(all_ready({&a}));
    replica.pause(true);
    std::string why;
    EXPECT_EQ(a.sync->claim_once("refresh:unacked", now + 600, &why),
              RedisDenylistSync::Claim::unavailable);
    EXPECT_EQ(why, "only 0 of the 1 replicas asked for acknowledged it within 100 ms");
    EXPECT_EQ(a.sync->stats().claims_given_back, 1u);
    redisContext* c = primary.connect();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(integer(c, {"EXISTS", "jwtguard:claim:refresh:unacked"}), 0);
    redisFree(c);
    replica.pause(false);
    EXPECT_TRUE(wait_for([&] {
        return a.sync->claim_once("refresh:unacked", now + 600) == RedisDenylistSync::Claim::won;
    }));
}

// With min_replicas_acked, a revocation the replica does not take in time
// stays queued, is not published again while the writer lasts (one stream
// entry), and leaves the queue once the replica holds it.
// With min_replicas_acked, a take-over counts only once a replica holds the
// claim; until then it is `unavailable`, and given back at once, as a new
// claim would be.
TEST(RedisFailover, AClaimTakenOverWithoutAcknowledgementIsGivenBack) {
    PrimaryAndReplica servers;
    const std::int64_t now = detail::unix_seconds();
    ASSERT_TRUE(servers.in_sync());
    Instance a(servers.primary.port(), now, slow_to_reconnect(PrimaryAndReplica::acked()));
    ASSERT_TRUE(all_ready({&a}));
    redisContext* c = servers.primary.connect();
    ASSERT_NE(c, nullptr);
    ASSERT_FALSE(
        leave_a_lost_answer_claim(servers.primary, a, c, "refresh:unacked-take-over", now).empty());
    servers.replica.pause(true);
    std::string why;
    EXPECT_EQ(a.sync->claim_once("refresh:unacked-take-over", now + 600, &why),
              RedisDenylistSync::Claim::unavailable);
    EXPECT_EQ(why, "only 0 of the 1 replicas asked for acknowledged it within 100 ms");
    EXPECT_EQ(a.sync->stats().claims_adopted, 0u);
    EXPECT_EQ(a.sync->stats().claims_given_back, 1u);
    EXPECT_EQ(integer(c, {"EXISTS", "jwtguard:claim:refresh:unacked-take-over"}), 0);
    servers.replica.pause(false);
    redisFree(c);
}

TEST(RedisFailover, AShortfallOfReplicasKeepsARevocationQueuedUntilOneHoldsIt) {
    PrimaryAndReplica servers;
    test::RedisServer& replica = servers.replica;
    const std::int64_t now = detail::unix_seconds();
    ASSERT_TRUE(servers.in_sync());
    Instance a(servers.primary.port(), now, PrimaryAndReplica::acked());
    ASSERT_TRUE(all_ready({&a}));
    // Acknowledged once the replica keeps up (at once, unless the machine
    // is busy).
    (void)a.sync->revoke_jti("held", now + 600);
    ASSERT_TRUE(wait_for([&] { return a.sync->queued() == 0; }, 5000ms));
    const RedisDenylistSync::Stats before = a.sync->stats();
    replica.pause(true);
    const SyncedRevocation lagging = a.sync->revoke_jti("lagging", now + 600);
    EXPECT_FALSE(lagging.shared);
    EXPECT_NE(lagging.redis_error.find("only 0 of the 1 replicas asked for acknowledged"),
              std::string::npos)
        << lagging.redis_error;
    EXPECT_EQ(lagging.local, RevokeResult::added);
    EXPECT_TRUE(a.denylist.is_revoked("lagging", now + 600));
    std::this_thread::sleep_for(400ms);  // the background thread asks again, and again
    EXPECT_EQ(a.sync->queued(), 1u);
    EXPECT_GE(a.sync->stats().replica_shortfalls, before.replica_shortfalls + 2);
    replica.pause(false);
    EXPECT_TRUE(wait_for([&] { return a.sync->queued() == 0; }, 5000ms));
    EXPECT_EQ(a.sync->stats().replayed, before.replayed + 1);
    redisContext* c = replica.connect();
    ASSERT_NE(c, nullptr);
    const std::string text =
        detail::format_revocation(Denylist::jti_revocation("lagging", now + 600));
    EXPECT_TRUE(wait_for([&] { return integer(c, {"ZSCORE", "jwtguard:live", text}) != -2; }));
    const detail::Reply entries = command(c, {"XRANGE", "jwtguard:revocations", "-", "+"});
    ASSERT_NE(entries, nullptr);
    std::size_t copies = 0;
    for (std::size_t i = 0; i < entries->elements; ++i)
        copies += detail::reply_text(entries->element[i]->element[1]->element[1]) == text ? 1 : 0;
    EXPECT_EQ(copies, 1u);
    redisFree(c);
}

// Two instances revoke continuously while the primary is killed; Sentinel
// promotes a replica and the old primary comes back as a replica. Without
// min_replicas_acked (parameter 0), what the new primary lacks is what
// replication had not copied when the primary died; each instance puts back
// what it holds, so a revocation is lost only if every instance that held it
// is gone too. Here both makers live: the bound is zero. With it (parameter
// 1, two replicas so that one is left), nothing shared can be lost at all.
// Either way every revocation made anywhere is in force everywhere, also in
// an instance started after the failover.
class RedisFailoverMidStream : public ::testing::TestWithParam<int> {};

TEST_P(RedisFailoverMidStream, EveryRevocationSurvivesAPrimaryKilledMidStream) {
    const int acks = GetParam();
    test::SentinelFarm farm(acks + 1);
    const std::int64_t now = detail::unix_seconds();
    Instance a(farm.first_primary().port(), now, through_sentinels(farm, acks));
    Instance b(farm.first_primary().port(), now, through_sentinels(farm, acks));
    ASSERT_TRUE(all_ready({&a, &b}));
    std::atomic<bool> stop{false};
    std::vector<std::string> made[2];
    std::atomic<int> queued{0};
    std::vector<std::thread> revokers;
    for (int k = 0; k < 2; ++k)
        revokers.emplace_back([&, k] {
            Instance& on = k == 0 ? a : b;
            for (int i = 0; !stop.load(); ++i) {
                made[k].push_back(id(k == 0 ? "a" : "b", i));
                if (!on.sync->revoke_jti(made[k].back(), now + 600).shared) ++queued;
                std::this_thread::sleep_for(2ms);
            }
        });
    std::this_thread::sleep_for(300ms);
    const auto killed = Clock::now();
    farm.first_primary().stop();
    const int new_primary = farm.wait_for_new_primary(farm.first_primary().port(), 20000ms);
    ASSERT_NE(new_primary, 0);
    const auto promoted = Clock::now();
    farm.first_primary().start();  // empty, as a replica once the Sentinels say so
    std::this_thread::sleep_for(500ms);
    stop = true;
    for (std::thread& r : revokers)
        r.join();
    EXPECT_TRUE(wait_for([&] { return a.sync->queued() == 0 && b.sync->queued() == 0; }, 10000ms));
    Instance later(farm.first_primary().port(), now, through_sentinels(farm, acks));
    ASSERT_TRUE(all_ready({&later}));
    for (Instance* i : {&a, &b, &later})
        for (const auto& list : made)
            for (const std::string& jti : list)
                EXPECT_TRUE(wait_for([&] { return i->denylist.is_revoked(jti, now + 600); }))
                    << jti;
    EXPECT_TRUE(wait_for([&] {
        return a.warned("the primary is now 127.0.0.1:" + std::to_string(new_primary));
    })) << a.all_warnings();
    EXPECT_GT(made[0].size() + made[1].size(), 100u);
    EXPECT_GT(queued.load(), 0);  // the outage was seen
    // The old primary came back empty; the Sentinels make it a replica
    // (after watching it for 8 s, Sentinel's fixed wait), and no instance
    // wrote to it. A Sentinel starved of CPU (a loaded CI machine, TSan)
    // enters TILT and acts 30 s later: the wait allows for one TILT.
    EXPECT_TRUE(wait_for(
        [&] { return test::SentinelFarm::role(farm.first_primary().port()) == "slave"; }, 45000ms))
        << "its role: " << test::SentinelFarm::role(farm.first_primary().port()) << "; "
        << farm.tilt_flags();
    std::printf(
        "failover (acks %d): promoted %lld ms after the kill; %d of %zu revocations queued, "
        "%llu put back; %s\n",
        acks,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(promoted - killed).count()),
        queued.load(), made[0].size() + made[1].size(),
        static_cast<unsigned long long>(a.sync->stats().republished + b.sync->stats().republished),
        farm.tilt_flags().c_str());
}

INSTANTIATE_TEST_SUITE_P(RedisFailover, RedisFailoverMidStream, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                             return "acks" + std::to_string(info.param);
                         });

// With min_replicas_acked, a revocation that returned `shared` is in a
// replica: it survives the primary's death even when the instance that made
// it is gone as well and kept no journal or outbox. Two replicas: after the
// failover the new primary has one, so revocations are shared again.
TEST(RedisFailover, AcknowledgedRevocationsOutliveTheirMakerAndThePrimary) {
    test::SentinelFarm farm(2);
    const std::int64_t now = detail::unix_seconds();
    constexpr int count = 200;
    {
        Instance maker(farm.first_primary().port(), now, through_sentinels(farm, 1));
        ASSERT_TRUE(all_ready({&maker}));
        for (int i = 0; i < count; ++i)
            ASSERT_TRUE(maker.sync->revoke_jti(id("acked", i), now + 600).shared) << i;
    }
    farm.first_primary().stop();  // at once: nothing else will put them back
    ASSERT_NE(farm.wait_for_new_primary(farm.first_primary().port(), 20000ms), 0);
    Instance later(farm.first_primary().port(), now, through_sentinels(farm, 1));
    ASSERT_TRUE(all_ready({&later}));
    for (int i = 0; i < count; ++i)
        EXPECT_TRUE(later.denylist.is_revoked(id("acked", i), now + 600)) << i;
    // Once the other replica follows the new primary, revocations are
    // acknowledged again.
    EXPECT_TRUE(
        wait_for([&] { return later.sync->revoke_jti("after", now + 600).shared; }, 10000ms));
}

// A server that holds the generation but lacks the tail, as a promoted
// replica would: another run_id is enough for every instance to put back
// what it holds (to the set, and to the stream for instances that never saw
// it), without the generation saying that Redis lost its data.
TEST(RedisFailover, AnotherServerWithoutTheTailGetsItBackFromTheInstances) {
    test::RedisServer server;
    const std::int64_t now = detail::unix_seconds();
    RedisSyncOptions slow;
    slow.backoff_min = 700ms;  // time to set the server up as a promoted replica would be
    slow.backoff_max = 700ms;
    Instance a(server.port(), now, slow);
    ASSERT_TRUE(all_ready({&a}));
    ASSERT_TRUE(a.sync->revoke_jti("tail", now + 600).shared);
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    const detail::Reply generation = command(c, {"GET", "jwtguard:generation"});
    ASSERT_NE(generation, nullptr);
    const std::string kept(detail::reply_text(generation.get()));
    ASSERT_FALSE(kept.empty());
    redisFree(c);
    server.stop();
    server.start();
    c = server.connect();
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(command(c, {"SET", "jwtguard:generation", kept})->type, REDIS_REPLY_STATUS);
    EXPECT_TRUE(wait_for([&] { return integer(c, {"ZCARD", "jwtguard:live"}) == 1; }));
    EXPECT_EQ(integer(c, {"XLEN", "jwtguard:revocations"}), 1);
    redisFree(c);
    // The warning comes once the put-back's answers are read, after Redis
    // applied it.
    EXPECT_TRUE(wait_for([&] {
        return a.warned("the primary is now 127.0.0.1:" + std::to_string(server.port()));
    })) << a.all_warnings();
    EXPECT_FALSE(a.warned("Redis lost the revocations it held"));
    EXPECT_EQ(a.sync->stats().republished, 1u);
    Instance later(server.port(), now);
    ASSERT_TRUE(all_ready({&later}));
    EXPECT_TRUE(later.denylist.is_revoked("tail", now + 600));
}

// A primary demoted under the mirror (REPLICAOF, as a failover does):
// writes are told READONLY, the revocation is queued, and the mirror will
// not follow a server whose ROLE is not master; once it is one again, the
// queue goes out.
TEST(RedisFailover, ADemotedPrimaryIsLeftAndTheRevocationQueued) {
    test::RedisServer server;
    test::RedisServer other;
    const std::int64_t now = detail::unix_seconds();
    Instance a(server.port(), now);
    ASSERT_TRUE(all_ready({&a}));
    redisContext* c = server.connect();
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(command(c, {"REPLICAOF", "127.0.0.1", std::to_string(other.port())})->type,
              REDIS_REPLY_STATUS);
    const SyncedRevocation demoted = a.sync->revoke_jti("demoted", now + 600);
    EXPECT_FALSE(demoted.shared);
    EXPECT_NE(demoted.redis_error.find("READONLY"), std::string::npos) << demoted.redis_error;
    EXPECT_TRUE(a.denylist.is_revoked("demoted", now + 600));
    // The session ends (the writer's READONLY, or the reader's XREAD
    // unblocked by the demotion, whichever comes first).
    EXPECT_TRUE(wait_for([&] { return a.warned("Redis unavailable"); }));
    EXPECT_EQ(a.sync->queued(), 1u);
    // An instance starting now will not take the replica for its Redis.
    Instance b(server.port(), now);
    EXPECT_FALSE(b.sync->wait_ready(500ms));
    EXPECT_TRUE(wait_for([&] { return b.warned("is not a primary (ROLE: slave)"); }))
        << b.all_warnings();
    ASSERT_EQ(command(c, {"REPLICAOF", "NO", "ONE"})->type, REDIS_REPLY_STATUS);
    EXPECT_TRUE(wait_for([&] { return a.sync->queued() == 0; }));
    const std::string text =
        detail::format_revocation(Denylist::jti_revocation("demoted", now + 600));
    EXPECT_NE(integer(c, {"ZRANK", "jwtguard:live", text}), -1);
    redisFree(c);
}

// With every Sentinel gone, the primary is still there: a mirror whose
// connections drop stays with the last primary the Sentinels named.
TEST(RedisFailover, WithoutSentinelsTheLastPrimaryIsKept) {
    test::SentinelFarm farm;
    const std::int64_t now = detail::unix_seconds();
    Instance a(farm.first_primary().port(), now, through_sentinels(farm));
    Instance b(farm.first_primary().port(), now, through_sentinels(farm));
    ASSERT_TRUE(all_ready({&a, &b}));
    farm.stop_sentinels();
    redisContext* c = farm.first_primary().connect();
    ASSERT_NE(c, nullptr);
    EXPECT_GE(integer(c, {"CLIENT", "KILL", "TYPE", "normal"}), 2);  // both mirrors' connections
    redisFree(c);
    EXPECT_TRUE(
        wait_for([&] { return a.warned("no Sentinel answers") && b.warned("staying with"); }));
    ASSERT_TRUE(
        wait_for([&] { return a.sync->revoke_jti("no-sentinels", now + 600).shared; }, 5000ms));
    EXPECT_TRUE(wait_for([&] { return b.denylist.is_revoked("no-sentinels", now + 600); }));
}

// A failover the Sentinels make while the old primary stays up (SENTINEL
// FAILOVER): the instances leave it for the one the Sentinels name.
TEST(RedisFailover, InstancesFollowTheSentinelsToANewPrimary) {
    test::SentinelFarm farm;
    const std::int64_t now = detail::unix_seconds();
    Instance a(farm.first_primary().port(), now, through_sentinels(farm));
    Instance b(farm.first_primary().port(), now, through_sentinels(farm));
    ASSERT_TRUE(all_ready({&a, &b}));
    ASSERT_TRUE(a.sync->revoke_jti("before", now + 600).shared);
    redisContext* sentinel = test::RedisServer::connect_port(farm.sentinel_ports()[0]);
    ASSERT_NE(sentinel, nullptr);
    const detail::Reply r = command(sentinel, {"SENTINEL", "FAILOVER", "jwtguard"});
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(detail::reply_text(r.get()), "OK");
    redisFree(sentinel);
    ASSERT_TRUE(farm.wait_for_primary(farm.first_replica().port(), 20000ms));
    // Revocations made from now on reach the new primary and the other
    // instance (a few may be queued while the instances move).
    ASSERT_TRUE(
        wait_for([&] { return a.sync->revoke_jti(id("after", 0), now + 600).shared; }, 10000ms));
    EXPECT_TRUE(wait_for([&] { return b.denylist.is_revoked(id("after", 0), now + 600); }));
    // b moves on its own schedule (its Sentinel check, or READONLY): until
    // then the revocation may be queued.
    (void)b.sync->revoke_jti("from-b", now + 600);
    ASSERT_TRUE(wait_for([&] { return b.sync->queued() == 0; }, 10000ms));
    EXPECT_TRUE(wait_for([&] { return a.denylist.is_revoked("from-b", now + 600); }));
    // Whatever reached the old primary between the promotion and its
    // demotion was wiped with it; its makers put it back (in the form their
    // denylist keeps: the exp range of its bucket). Three revocations, each
    // under one or two names.
    redisContext* c = farm.first_replica().connect();
    ASSERT_NE(c, nullptr);
    const auto fingerprints = [&] {
        std::set<std::string> seen;
        const detail::Reply all = command(c, {"ZRANGE", "jwtguard:live", "0", "-1"});
        for (std::size_t i = 0; all != nullptr && i < all->elements; ++i) {
            const std::string_view text = detail::reply_text(all->element[i]);
            seen.emplace(text.substr(text.rfind(' ') + 1));
        }
        return seen.size();
    };
    EXPECT_TRUE(wait_for([&] { return fingerprints() == 3; }));
    redisFree(c);
}

}  // namespace
}  // namespace jwtguard
