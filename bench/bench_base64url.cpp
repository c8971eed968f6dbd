// base64url decoding of the HS256 bench token's three segments, as the
// validator decodes them (strict: alphabet, length and trailing bits checked).
#include <jwtguard/base64url.hpp>
#include <jwtguard/segments.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>

#include "bench_data.hpp"

namespace {

void BM_base64url_decode(benchmark::State& state) {
    jwtguard::detail::Segments parts;
    if (!jwtguard::detail::split_token(bench::hs256_token(), parts)) {
        state.SkipWithError("the bench token does not split");
        return;
    }
    const std::string_view segment = state.range(0) == 0   ? parts.header
                                     : state.range(0) == 1 ? parts.payload
                                                           : parts.signature;
    alignas(64) unsigned char out[jwtguard::max_token_size_limit];
    std::size_t size = 0, checksum = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(segment.data());
        checksum += static_cast<std::size_t>(jwtguard::base64url_decode(segment, out, size)) +
                    size + out[size / 2];
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * segment.size()));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
    state.counters["chars"] = static_cast<double>(segment.size());
}
BENCHMARK(BM_base64url_decode)->ArgName("segment")->Arg(0)->Arg(1)->Arg(2);

void BM_split_token(benchmark::State& state) {
    const std::string_view token = bench::hs256_token();
    std::size_t checksum = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(token.data());
        jwtguard::detail::Segments parts;
        checksum += jwtguard::detail::split_token(token, parts) + parts.payload.size();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * token.size()));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
}
BENCHMARK(BM_split_token);

}  // namespace
