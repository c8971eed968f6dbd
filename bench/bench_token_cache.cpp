// The verified-token cache (token_cache.hpp) on RS256, in one run:
// - a repeated token with and without the cache (the ratio is the point);
// - the cost of a miss: every token new to the cache, against the same
//   tokens uncached;
// - Zipf-distributed popularity over 100,000 distinct tokens, caches of
//   several sizes: hit rate and throughput;
// - hits on 1 and 2 threads.
#include <jwtguard/jwtguard.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_data.hpp"

namespace {

jwtguard::Validator::Options with_cache(std::size_t entries) {
    jwtguard::Validator::Options o;
    o.token_cache.entries = entries;
    return o;
}

void report(benchmark::State& state, std::size_t wrong, std::size_t checksum) {
    if (wrong != 0) state.SkipWithError("a token did not validate");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
}

/// Arg 0: no cache; 1: a cache (every iteration after the first is a hit).
void BM_rs256_repeated_token(benchmark::State& state) {
    const bench::Rs256Fixture& f = bench::rs256_fixture();
    const jwtguard::Validator validator = f.validator(with_cache(state.range(0) ? 1024 : 0));
    auto claims = std::make_unique<jwtguard::Claims>();
    std::size_t wrong = 0, checksum = 0;
    for (auto _ : state) {
        wrong += validator.validate(f.token, bench::now, *claims) != jwtguard::Error::ok;
        checksum += claims->sub->size();
    }
    report(state, wrong, checksum);
}
BENCHMARK(BM_rs256_repeated_token)->ArgName("cache")->Arg(0)->Arg(1);
BENCHMARK(BM_rs256_repeated_token)->ArgName("cache")->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

/// Distinct tokens, signed once for the run (2 threads; ~15 s for 100,000).
const std::vector<std::string>& distinct_tokens(std::size_t count) {
    static std::vector<std::string> tokens;
    if (tokens.size() < count) {
        const std::size_t from = tokens.size();
        tokens.resize(count);
        const auto sign = [&](std::size_t begin, std::size_t step) {
            for (std::size_t i = begin; i < count; i += step)
                tokens[i] = bench::rs256_fixture().sign(
                    bench::realistic_payload("jti-" + std::to_string(i)));
        };
        std::thread other(sign, from + 1, 2);
        sign(from, 2);
        other.join();
    }
    return tokens;
}

/// Validates `tokens` one after the other, round and round.
void cycle(benchmark::State& state, const jwtguard::Validator& validator,
           const std::vector<std::string>& tokens) {
    auto claims = std::make_unique<jwtguard::Claims>();
    std::size_t wrong = 0, checksum = 0, i = 0;
    for (auto _ : state) {
        wrong += validator.validate(tokens[i++ % tokens.size()], bench::now, *claims) !=
                 jwtguard::Error::ok;
        checksum += claims->jti->size();
    }
    report(state, wrong, checksum);
}

/// Arg 0: no cache; 1: a cache of 2 entries that every token misses (the
/// tokens cycle through 4096). The difference is the cost of a miss:
/// hashing, probing and inserting.
void BM_rs256_distinct_tokens(benchmark::State& state) {
    const auto& tokens = distinct_tokens(4096);
    const jwtguard::Validator validator =
        bench::rs256_fixture().validator(with_cache(state.range(0) ? 2 : 0));
    cycle(state, validator, tokens);
}
BENCHMARK(BM_rs256_distinct_tokens)->ArgName("cache")->Arg(0)->Arg(1);

/// The same on HS256, whose validation is ~60 times cheaper, so that the
/// miss's own cost (hashing, probing, inserting ~1.4 KB) shows above noise.
void BM_hs256_distinct_tokens(benchmark::State& state) {
    static const std::string secret(32, 's');
    static const std::vector<std::string> tokens = [] {
        std::vector<std::string> t;
        const jwtguard::Hs256Key key(secret);
        for (int i = 0; i < 4096; ++i)
            t.push_back(jwtguard::sign(key, bench::realistic_payload("jti-" + std::to_string(i)),
                                       {.kid = std::string(bench::Rs256Fixture::kid)}));
        return t;
    }();
    jwtguard::KeySet keys;
    keys.add(jwtguard::Hs256Key(secret), std::string(bench::Rs256Fixture::kid));
    jwtguard::Validator::Options options = with_cache(state.range(0) ? 2 : 0);
    options.issuers = {"https://auth.example.com/"};
    options.audiences = {"https://api.example.com"};
    const jwtguard::Validator validator(std::move(keys), options);
    cycle(state, validator, tokens);
}
BENCHMARK(BM_hs256_distinct_tokens)->ArgName("cache")->Arg(0)->Arg(1);

/// Token indices drawn from a Zipf distribution (s = 1) over `count`
/// tokens: rank k is presented with probability proportional to 1/k.
const std::vector<std::uint32_t>& zipf_sequence(std::size_t count) {
    static std::vector<std::uint32_t> sequence;
    if (sequence.empty()) {
        std::vector<double> cumulative(count);
        double sum = 0;
        for (std::size_t k = 0; k < count; ++k)
            cumulative[k] = sum += 1.0 / static_cast<double>(k + 1);
        std::mt19937_64 rng(42);
        std::uniform_real_distribution<double> u(0, sum);
        sequence.resize(1 << 20);
        for (auto& s : sequence)
            s = static_cast<std::uint32_t>(
                std::lower_bound(cumulative.begin(), cumulative.end(), u(rng)) -
                cumulative.begin());
    }
    return sequence;
}

/// Zipf popularity over 100,000 tokens; Arg: cache entries (0: none).
void BM_rs256_zipf(benchmark::State& state) {
    constexpr std::size_t count = 100'000;
    const auto& tokens = distinct_tokens(count);
    const auto& sequence = zipf_sequence(count);
    const auto entries = static_cast<std::size_t>(state.range(0));
    const jwtguard::Validator validator = bench::rs256_fixture().validator(with_cache(entries));
    auto claims = std::make_unique<jwtguard::Claims>();
    // Warm the cache with one pass, as a server that has run a while.
    for (std::size_t i = 0; i < sequence.size() / 4 && entries > 0; ++i)
        (void)validator.validate(tokens[sequence[i]], bench::now, *claims);
    std::size_t wrong = 0, checksum = 0, i = 0;
    for (auto _ : state) {
        wrong += validator.validate(tokens[sequence[i++ % sequence.size()]], bench::now, *claims) !=
                 jwtguard::Error::ok;
        checksum += claims->jti->size();
    }
    report(state, wrong, checksum);
    // The hit rate of the same traffic, measured outside the timed loop.
    std::size_t hits = 0;
    constexpr std::size_t sample = 100'000;
    for (std::size_t k = 0; k < sample; ++k) {
        const std::string& token = tokens[sequence[i++ % sequence.size()]];
        hits += validator.is_cached(token);
        (void)validator.validate(token, bench::now, *claims);
    }
    state.counters["hit_rate"] = static_cast<double>(hits) / sample;
}
BENCHMARK(BM_rs256_zipf)
    ->ArgName("entries")
    ->Arg(0)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
