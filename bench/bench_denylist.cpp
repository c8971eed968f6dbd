// Denylist lookups and inserts (issue 4's budget). Every lookup starts from
// the jti string (hash included; its bytes in L1, see bench::JtiStream) and
// probes a different place: keys are distinct, so caches do not flatter the
// figures. Live revocations: 1M
// (filters mostly in cache) and 10M (in DRAM on this VM: ~4-5 MiB of
// effective last-level cache); their exps crowd into 15 one-minute buckets.
//
//   one_at_a_time: each lookup completes before the next starts (an lfence
//                  after each), as inside one validation;
//   batched:       independent lookups back to back (the CPU overlaps them);
//   prefetched:    batches of 16: keys, prefetch, then lookups.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "bench_data.hpp"

namespace {

using bench::JtiMaker;
using bench::JtiStream;

/// Indices 0, 7919, 2 * 7919, ... modulo `count`: every revoked jti in turn,
/// with a prime stride, so that no lookup shares a cache line with the last.
auto strided(std::size_t count) {
    return [i = std::uint64_t{0}, count]() mutable {
        const std::uint64_t at = i;
        i += 7919;
        if (i >= count) i -= count;
        return at;
    };
}

void report(benchmark::State& state, std::size_t checksum, const jwtguard::Denylist& d) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
    state.counters["live"] = static_cast<double>(d.size());
}

std::size_t live(const benchmark::State& state) {
    return static_cast<std::size_t>(state.range(0));
}

/// The floors of a lookup (bench::LookupFloor), one jti after another.
template <bool WithSet>
void floor_lookups(benchmark::State& state, std::uint64_t family) {
    const auto keys = static_cast<std::size_t>(state.range(0));
    const bool one_at_a_time = state.range(1) != 0;
    const bench::LookupFloor floor(keys, WithSet);
    JtiStream jtis(family, bench::sequential());
    std::uint64_t checksum = 0;
    for (auto _ : state) {
        const auto jti = jtis();
        checksum += floor.probe(jti.text, jti.exp) == 0;
        if (one_at_a_time) _mm_lfence();
    }
    benchmark::DoNotOptimize(checksum);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_floor_denylist_miss(benchmark::State& state) {
    floor_lookups<false>(state, bench::fresh_family);
}
BENCHMARK(BM_floor_denylist_miss)
    ->ArgNames({"keys", "one_at_a_time"})
    ->Args({10'000, 1})
    ->Args({1'000'000, 1})
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1});

void BM_floor_denylist_hit(benchmark::State& state) {
    floor_lookups<true>(state, bench::revoked_family);
}
BENCHMARK(BM_floor_denylist_hit)
    ->ArgNames({"keys", "one_at_a_time"})
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1});

void BM_denylist_miss_one_at_a_time(benchmark::State& state) {
    const jwtguard::Denylist& d = bench::denylist_with(live(state));
    JtiStream jtis(bench::fresh_family, bench::sequential());
    std::size_t checksum = 0;
    for (auto _ : state) {
        const auto jti = jtis();
        checksum += d.is_revoked(jti.text, jti.exp);
        _mm_lfence();  // the next lookup starts only when this one is done
    }
    if (checksum != 0) state.SkipWithError("a fresh jti was reported revoked");
    report(state, checksum, d);
}
BENCHMARK(BM_denylist_miss_one_at_a_time)->Arg(10'000)->Arg(1'000'000)->Arg(10'000'000);

void BM_denylist_miss_batched(benchmark::State& state) {
    const jwtguard::Denylist& d = bench::denylist_with(live(state));
    // Threads walk different keys.
    JtiStream jtis(bench::fresh_family,
                   bench::sequential(static_cast<std::uint64_t>(state.thread_index()) << 40));
    std::size_t checksum = 0;
    for (auto _ : state) {
        const auto jti = jtis();
        checksum += d.is_revoked(jti.text, jti.exp);
    }
    if (checksum != 0) state.SkipWithError("a fresh jti was reported revoked");
    report(state, checksum, d);
}
BENCHMARK(BM_denylist_miss_batched)->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(BM_denylist_miss_batched)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();

constexpr std::size_t prefetch_batch = 16;

/// Lookups in batches of 16: every key's cache line is requested before the
/// first is probed, so that the batch's memory latencies overlap. `next()`
/// gives the index of the next jti to look up. Returns how many were found.
template <class Next>
std::size_t prefetched_batches(benchmark::State& state, const jwtguard::Denylist& d,
                               JtiStream<Next>& jtis) {
    constexpr std::size_t batch = prefetch_batch;
    std::size_t found = 0;
    jwtguard::Denylist::Key keys[batch];
    for (auto _ : state) {
        for (std::size_t k = 0; k < batch; ++k) {
            const auto jti = jtis();
            keys[k] = d.jti_key(jti.text, jti.exp);
            d.prefetch(keys[k]);
        }
        for (std::size_t k = 0; k < batch; ++k)
            found += d.contains(keys[k]);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    state.counters["live"] = static_cast<double>(d.size());
    return found;
}

void BM_denylist_miss_prefetched(benchmark::State& state) {
    const jwtguard::Denylist& d = bench::denylist_with(live(state));
    JtiStream jtis(bench::fresh_family, bench::sequential());
    if (prefetched_batches(state, d, jtis) != 0)
        state.SkipWithError("a fresh jti was reported revoked");
}
BENCHMARK(BM_denylist_miss_prefetched)->Arg(1'000'000)->Arg(10'000'000);

/// Revoked tokens: the bloom hit is confirmed by the exact set.
void BM_denylist_hit(benchmark::State& state) {
    const std::size_t count = live(state);
    const jwtguard::Denylist& d = bench::denylist_with(count);
    JtiStream jtis(bench::revoked_family, strided(count));
    const bool one_at_a_time = state.range(1) != 0;
    std::size_t checksum = 0;
    for (auto _ : state) {
        const auto jti = jtis();
        checksum += d.is_revoked(jti.text, jti.exp);
        if (one_at_a_time) _mm_lfence();
    }
    if (checksum != static_cast<std::size_t>(state.iterations()))
        state.SkipWithError("a revoked jti was missed");
    report(state, checksum, d);
}
BENCHMARK(BM_denylist_hit)
    ->ArgNames({"live", "one_at_a_time"})
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1});

/// Revoked tokens in prefetched batches of 16, spread over the whole set.
void BM_denylist_hit_prefetched(benchmark::State& state) {
    const std::size_t count = live(state);
    const jwtguard::Denylist& d = bench::denylist_with(count);
    JtiStream jtis(bench::revoked_family, strided(count));
    const std::size_t found = prefetched_batches(state, d, jtis);
    if (found != static_cast<std::size_t>(state.iterations()) * prefetch_batch)
        state.SkipWithError("a revoked jti was missed");
}
BENCHMARK(BM_denylist_hit_prefetched)->Arg(10'000'000);

/// Bloom stage false positives and memory per revocation, measured.
void BM_denylist_filter_quality(benchmark::State& state) {
    const jwtguard::Denylist& d = bench::denylist_with(live(state));
    JtiStream jtis(bench::fresh_family, bench::sequential());
    std::size_t hits = 0;
    for (auto _ : state) {
        const auto jti = jtis();
        hits += d.filter_may_contain(d.jti_key(jti.text, jti.exp));
    }
    state.counters["false_positive_pct"] =
        100.0 * static_cast<double>(hits) / static_cast<double>(state.iterations());
    state.counters["bytes_per_revocation"] =
        static_cast<double>(d.memory_bytes()) / static_cast<double>(d.size());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_denylist_filter_quality)->Arg(1'000'000)->Arg(10'000'000);

/// One thread revoking 1M tokens into an empty denylist (growth included).
void BM_denylist_insert(benchmark::State& state) {
    constexpr std::uint64_t count = 1'000'000;
    JtiMaker jti(bench::revoked_family);
    for (auto _ : state) {
        state.PauseTiming();
        auto d = std::make_unique<jwtguard::Denylist>(jwtguard::DenylistOptions{}, bench::now);
        state.ResumeTiming();
        for (std::uint64_t i = 0; i < count; ++i)
            d->revoke_jti(jti(i), JtiMaker::exp(i));
        benchmark::DoNotOptimize(d->size());
        state.PauseTiming();
        d.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
BENCHMARK(BM_denylist_insert)->Unit(benchmark::kMillisecond)->Iterations(3);

/// advance() dropping one expired bucket per call: the bucket is unlinked
/// with one store and its cells freed once no reader can still see them (a
/// membarrier, then the unmapping: included here). Readers take no part.
/// The revocations' exps spread over 15 one-minute buckets, as everywhere;
/// each call moves the clock one bucket width on, dropping a fifteenth.
void BM_denylist_advance(benchmark::State& state) {
    const std::size_t count = live(state);
    auto d = std::make_unique<jwtguard::Denylist>(jwtguard::DenylistOptions{}, bench::now);
    JtiMaker jti(bench::revoked_family);
    for (std::uint64_t i = 0; i < count; ++i)
        d->revoke_jti(jti(i), JtiMaker::exp(i));
    const std::int64_t width = d->options().bucket_width;
    std::int64_t t = bench::now + width;  // nothing expired yet
    d->advance(t);
    std::size_t dropped = 0;
    for (auto _ : state) {
        const std::size_t before = d->size();
        t += width;
        d->advance(t);
        dropped += before - d->size();
    }
    if (dropped == 0) state.SkipWithError("no bucket was dropped");
    state.counters["dropped_per_call"] =
        static_cast<double>(dropped) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_denylist_advance)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Iterations(10)
    ->Unit(benchmark::kMicrosecond);

/// Lookups (1 thread) while another thread revokes 100,000 tokens per second
/// into the same denylist.
void BM_denylist_miss_with_writer(benchmark::State& state) {
    jwtguard::Denylist& d = bench::denylist_with(live(state), bench::Use::writer);
    JtiStream jtis(bench::fresh_family, bench::sequential());
    std::size_t checksum = 0;
    {
        const bench::RevocationWriter writer(d);
        for (auto _ : state) {
            const auto jti = jtis();
            checksum += d.is_revoked(jti.text, jti.exp);
        }
    }
    report(state, checksum, d);
}
BENCHMARK(BM_denylist_miss_with_writer)->Arg(1'000'000);

}  // namespace
