// The Redis mirror (redis.hpp), on a private redis-server over loopback:
// - how long a revocation made on instance A takes to be in force on
//   instance B (p50/p99 over every iteration, as counters);
// - what one request's revocation check costs in process (the local
//   Denylist, 1M live revocations) next to the naive design's Redis EXISTS
//   round trip per request.
#include <jwtguard/redis.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_data.hpp"
#include "redis_server.hpp"

namespace {

using namespace std::chrono_literals;

/// Two instances on one redis-server, made once for the whole run.
struct Farm {
    Farm()
        : now(jwtguard::detail::unix_seconds()),
          a_list(options(), now),
          b_list(options(), now),
          a(a_list, sync_options(server.port())),
          b(b_list, sync_options(server.port())) {
        if (!a.wait_ready(10s) || !b.wait_ready(10s)) throw std::runtime_error("Redis not ready");
        raw = server.connect();
        if (raw == nullptr) throw std::runtime_error("cannot connect to redis-server");
    }
    ~Farm() { redisFree(raw); }

    static jwtguard::DenylistOptions options() {
        jwtguard::DenylistOptions o;
        o.max_token_lifetime = bench::lifetime;
        return o;
    }
    static jwtguard::RedisSyncOptions sync_options(int port) {
        jwtguard::RedisSyncOptions o;
        o.port = port;
        return o;
    }

    jwtguard::test::RedisServer server;
    std::int64_t now;
    jwtguard::Denylist a_list;
    jwtguard::Denylist b_list;
    jwtguard::RedisDenylistSync a;
    jwtguard::RedisDenylistSync b;
    redisContext* raw = nullptr;
};

Farm& farm() {
    static Farm f;
    return f;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

/// Revoke on A, then wait until B's local denylist has it. The iteration's
/// time is that whole span: A's round trip to Redis, the stream, B's XREAD
/// and B's apply.
void BM_redis_propagation(benchmark::State& state) {
    Farm& f = farm();
    static std::uint64_t next = 0;  // fresh jtis across repetitions
    std::vector<double> total_us;
    std::vector<double> revoke_us;
    for (auto _ : state) {
        const std::string jti = "propagation-" + std::to_string(next++);
        const std::int64_t exp = f.now + 600;
        const auto start = std::chrono::steady_clock::now();
        const jwtguard::SyncedRevocation r = f.a.revoke_jti(jti, exp);
        const auto returned = std::chrono::steady_clock::now();
        if (!r.shared) {
            state.SkipWithError(r.redis_error.c_str());
            break;
        }
        while (!f.b_list.is_revoked(jti, exp))
            std::this_thread::yield();
        const auto seen = std::chrono::steady_clock::now();
        const std::chrono::duration<double> span = seen - start;
        state.SetIterationTime(span.count());
        total_us.push_back(span.count() * 1e6);
        revoke_us.push_back(std::chrono::duration<double>(returned - start).count() * 1e6);
    }
    if (total_us.empty()) return;
    state.counters["p50_us"] = percentile(total_us, 0.50);
    state.counters["p99_us"] = percentile(total_us, 0.99);
    state.counters["revoke_call_p50_us"] = percentile(revoke_us, 0.50);
}
BENCHMARK(BM_redis_propagation)->UseManualTime()->Iterations(2000)->Unit(benchmark::kMicrosecond);

/// One request's check in process: a lookup that misses, 1M live revocations.
void BM_in_process_check(benchmark::State& state) {
    const jwtguard::Denylist& d = bench::denylist_with(1'000'000);
    bench::JtiStream jtis(bench::fresh_family, bench::sequential());
    std::uint64_t hits = 0;
    for (auto _ : state) {
        const auto jti = jtis();
        hits += d.is_revoked(jti.text, jti.exp) ? 1 : 0;
    }
    benchmark::DoNotOptimize(hits);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_in_process_check);

/// The naive design: one Redis key per revoked jti, EXISTS on every request
/// (a miss), over loopback with a blocking hiredis connection.
void BM_redis_exists_round_trip(benchmark::State& state) {
    Farm& f = farm();
    bench::JtiMaker jti(bench::fresh_family);
    std::uint64_t i = 0;
    long long found = 0;
    for (auto _ : state) {
        const std::string_view name = jti(i++);
        auto* reply = static_cast<redisReply*>(
            redisCommand(f.raw, "EXISTS jwtguard-naive:%b", name.data(), name.size()));
        if (reply == nullptr) {
            state.SkipWithError("EXISTS failed");
            break;
        }
        found += reply->integer;
        freeReplyObject(reply);
    }
    benchmark::DoNotOptimize(found);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_redis_exists_round_trip)->UseRealTime();

/// A primary with one replica (no Sentinel), made once: what one revoke()
/// costs with and without min_replicas_acked = 1 (WAIT for the replica).
struct ReplicatedPair {
    ReplicatedPair()
        : replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())}),
          now(jwtguard::detail::unix_seconds()),
          list(Farm::options(), now) {
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!jwtguard::test::SentinelFarm::in_sync(replica))
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("the replica did not sync");
            else
                std::this_thread::sleep_for(10ms);
    }
    jwtguard::test::RedisServer primary;
    jwtguard::test::RedisServer replica;
    std::int64_t now;
    jwtguard::Denylist list;
};

/// The p50 and p99 of one repetition's times, as counters.
void set_percentiles(benchmark::State& state, const std::vector<double>& us) {
    if (us.empty()) return;
    state.counters["p50_us"] = percentile(us, 0.50);
    state.counters["p99_us"] = percentile(us, 0.99);
}

/// acks:0 and acks:1, 2000 timed revocations each.
void with_and_without_acks(benchmark::internal::Benchmark* b) {
    b->ArgName("acks")->Arg(0)->Arg(1)->UseManualTime()->Iterations(2000)->Unit(
        benchmark::kMicrosecond);
}

ReplicatedPair& replicated_pair() {
    static ReplicatedPair pair;
    return pair;
}

/// revoke() on an instance whose primary has one replica: the call's time
/// (MULTI/ZADD/XADD/EXEC, then WAIT 1 when acks:1), p50 and p99.
void BM_redis_revoke(benchmark::State& state) {
    ReplicatedPair& pair = replicated_pair();
    jwtguard::RedisSyncOptions o = Farm::sync_options(pair.primary.port());
    o.min_replicas_acked = static_cast<int>(state.range(0));
    jwtguard::RedisDenylistSync sync(pair.list, o);
    if (!sync.wait_ready(10s)) {
        state.SkipWithError("Redis not ready");
        return;
    }
    static std::uint64_t next = 0;
    std::vector<double> us;
    for (auto _ : state) {
        const std::string jti = "acked-" + std::to_string(next++);
        const auto start = std::chrono::steady_clock::now();
        const jwtguard::SyncedRevocation r = sync.revoke_jti(jti, pair.now + 600);
        const std::chrono::duration<double> span = std::chrono::steady_clock::now() - start;
        if (!r.shared) {
            state.SkipWithError(r.redis_error.c_str());
            break;
        }
        state.SetIterationTime(span.count());
        us.push_back(span.count() * 1e6);
    }
    set_percentiles(state, us);
}
BENCHMARK(BM_redis_revoke)->Apply(with_and_without_acks);

/// The floor of BM_redis_revoke: the same writes from bare hiredis (one
/// pipelined MULTI/ZADD/XADD/EXEC, then WAIT 1 with acks:1) on the same
/// primary, without the mirror around them.
void BM_redis_bare_publish(benchmark::State& state) {
    ReplicatedPair& pair = replicated_pair();
    redisContext* c = pair.primary.connect();
    if (c == nullptr) {
        state.SkipWithError("cannot connect");
        return;
    }
    const bool wait = state.range(0) != 0;
    static std::uint64_t next = 0;
    std::vector<double> us;
    for (auto _ : state) {
        const std::string member = "token 1 1 bare-" + std::to_string(next++);
        const auto start = std::chrono::steady_clock::now();
        redisAppendCommand(c, "MULTI");
        redisAppendCommand(c, "ZADD bare:live 1 %s", member.c_str());
        redisAppendCommand(c, "XADD bare:revocations * r %s o bench", member.c_str());
        redisAppendCommand(c, "EXEC");
        if (wait) redisAppendCommand(c, "WAIT 1 500");
        bool ok = true;
        for (int i = 0; i < (wait ? 5 : 4); ++i) {
            void* reply = nullptr;
            ok = ok && redisGetReply(c, &reply) == REDIS_OK;
            if (reply != nullptr) {
                auto* r = static_cast<redisReply*>(reply);
                if (i == 4 && r->integer < 1) ok = false;
                freeReplyObject(r);
            }
        }
        const std::chrono::duration<double> span = std::chrono::steady_clock::now() - start;
        if (!ok) {
            state.SkipWithError("the writes failed or no replica acknowledged");
            break;
        }
        state.SetIterationTime(span.count());
        us.push_back(span.count() * 1e6);
    }
    redisFree(c);
    set_percentiles(state, us);
}
BENCHMARK(BM_redis_bare_publish)->Apply(with_and_without_acks);

/// A failover (one per iteration, a new Sentinel farm each): instance A
/// revokes every millisecond; the primary is killed; the iteration's time
/// runs from the kill to the first revocation after it that is shared and
/// in force in instance B. Counters: when the Sentinels had promoted the
/// replica (their part, set by down-after-milliseconds 1000), and the
/// mirrors' part after that.
void BM_redis_failover(benchmark::State& state) {
    std::vector<double> promoted_ms, flowing_ms;
    for (auto _ : state) {
        jwtguard::test::SentinelFarm sentinels;
        const std::int64_t now = jwtguard::detail::unix_seconds();
        jwtguard::Denylist a_list(Farm::options(), now), b_list(Farm::options(), now);
        jwtguard::RedisSyncOptions o;
        for (const int port : sentinels.sentinel_ports())
            o.sentinels.push_back({"127.0.0.1", port});
        o.master_name = jwtguard::test::SentinelFarm::master_name;
        o.sentinel_check_interval = 100ms;
        o.connect_timeout = 200ms;
        o.backoff_max = 100ms;
        o.warn = [](std::string_view) {};
        jwtguard::RedisDenylistSync a(a_list, o), b(b_list, o);
        if (!a.wait_ready(10s) || !b.wait_ready(10s)) {
            state.SkipWithError("Redis not ready");
            return;
        }
        const auto killed = std::chrono::steady_clock::now();
        sentinels.first_primary().stop();
        std::atomic<bool> done{false};
        std::chrono::steady_clock::time_point promoted{};
        std::thread watcher([&] {
            if (sentinels.wait_for_new_primary(sentinels.first_primary().port(), 30s) != 0)
                promoted = std::chrono::steady_clock::now();
            done = true;
        });
        std::chrono::steady_clock::time_point flowing{};
        for (int i = 0; flowing == std::chrono::steady_clock::time_point{}; ++i) {
            const std::string jti = "failover-" + std::to_string(i);
            if (a.revoke_jti(jti, now + 600).shared) {
                const auto deadline = std::chrono::steady_clock::now() + 5s;
                while (!b_list.is_revoked(jti, now + 600) &&
                       std::chrono::steady_clock::now() < deadline)
                    std::this_thread::yield();
                if (b_list.is_revoked(jti, now + 600)) flowing = std::chrono::steady_clock::now();
            }
            if (std::chrono::steady_clock::now() - killed > 30s) break;
            std::this_thread::sleep_for(1ms);
        }
        watcher.join();
        if (flowing == std::chrono::steady_clock::time_point{} ||
            promoted == std::chrono::steady_clock::time_point{}) {
            state.SkipWithError("no failover within 30 s");
            return;
        }
        state.SetIterationTime(std::chrono::duration<double>(flowing - killed).count());
        promoted_ms.push_back(std::chrono::duration<double, std::milli>(promoted - killed).count());
        flowing_ms.push_back(std::chrono::duration<double, std::milli>(flowing - killed).count());
    }
    if (flowing_ms.empty()) return;
    state.counters["promoted_ms"] = percentile(promoted_ms, 0.5);
    state.counters["flowing_ms"] = percentile(flowing_ms, 0.5);
    state.counters["mirror_ms"] = percentile(flowing_ms, 0.5) - percentile(promoted_ms, 0.5);
}
BENCHMARK(BM_redis_failover)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
