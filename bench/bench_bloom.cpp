// The split-block bloom filter alone: one probe per lookup, in cache (1 MiB)
// and in DRAM (64 MiB).
#include <jwtguard/bloom.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>

#include "bench_data.hpp"

namespace {

void BM_bloom_probe(benchmark::State& state) {
    const auto bytes = static_cast<std::size_t>(state.range(0));
    jwtguard::SplitBlockBloom bloom(bytes / jwtguard::SplitBlockBloom::block_bytes);
    const std::size_t keys = bytes * 8 / 12;  // 12 bits per key
    for (std::uint64_t i = 0; i < keys; ++i)
        bloom.insert(XXH3_64bits_withSeed(&i, sizeof i, 1));
    std::uint64_t i = 0, hits = 0;
    for (auto _ : state) {
        hits += bloom.may_contain(XXH3_64bits_withSeed(&i, sizeof i, 2));
        ++i;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["false_positive_pct"] =
        100.0 * static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_bloom_probe)->Arg(1 << 20)->Arg(64 << 20);

}  // namespace
