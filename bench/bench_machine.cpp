// What the machine under the other benchmarks is like, for the report's
// machine line (scripts/bench_report.py): the latency of one random cache
// line in a region of 1.5 MB (the filter of 1M live revocations) and of
// 160 MB (the fingerprint sets of 10M), measured by chasing pointers
// through a random cycle over the region's lines, so that every load
// depends on the one before (no overlap, no prefetch).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr std::size_t line = 64;

void BM_machine_random_line(benchmark::State& state) {
    const auto bytes = static_cast<std::size_t>(state.range(0));
    const std::size_t lines = bytes / line;
    // One pointer per line, the lines visited in a random cycle.
    std::vector<std::size_t> order(lines);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::shuffle(order.begin() + 1, order.end(), std::mt19937_64(42));
    std::vector<std::uintptr_t> memory(lines * (line / sizeof(std::uintptr_t)));
    auto* base = reinterpret_cast<unsigned char*>(memory.data());
    for (std::size_t i = 0; i < lines; ++i) {
        const std::size_t from = order[i], to = order[(i + 1) % lines];
        *reinterpret_cast<std::uintptr_t*>(base + from * line) =
            reinterpret_cast<std::uintptr_t>(base + to * line);
    }
    auto* p = reinterpret_cast<std::uintptr_t*>(base);
    for (std::size_t i = 0; i < lines; ++i)  // warm: the region as a lookup finds it
        p = reinterpret_cast<std::uintptr_t*>(*p);
    constexpr int hops = 256;
    for (auto _ : state) {
        for (int i = 0; i < hops; ++i)
            p = reinterpret_cast<std::uintptr_t*>(*p);
        benchmark::DoNotOptimize(p);
    }
    // Lines per second: the report turns it into ns per line.
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * hops);
}
BENCHMARK(BM_machine_random_line)->ArgName("bytes")->Arg(1'500'000)->Arg(160'000'000);

}  // namespace
