// HS256's floor, in one run with the key's own verify (the machine is
// shared: compare ratios, not absolute times).
//
//   floor: OpenSSL's HMAC-SHA256 of the bench token's signing input with the
//          pads precomputed, plus the constant-time compare
//          (bench::OpensslHmacFloor): what any HS256 validation must at
//          least spend through OpenSSL's interface.
//   one-shot: OpenSSL's HMAC(), what popular libraries call per token.
//   verify: Hs256Key::verify on the same input, which ends each hash run
//          with its own padding instead of SHA256_Final (hmac.hpp) and so
//          runs a little below the floor.
#include <jwtguard/hmac.hpp>

#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>
#include <string>

#include "bench_data.hpp"

namespace {

constexpr std::string_view secret = bench::hs256_secret;

std::string_view signing_input() {
    const std::string& token = bench::hs256_token();
    return std::string_view(token).substr(0, token.rfind('.'));
}

void report(benchmark::State& state, std::size_t checksum) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * signing_input().size()));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
}

void BM_floor_hmac_precomputed(benchmark::State& state) {
    const bench::OpensslHmacFloor floor(secret);
    const std::string_view input = signing_input();
    unsigned char expected[32];
    floor.mac(input, expected);
    std::size_t checksum = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(input.data());
        checksum += floor.verify(input, expected);
    }
    if (checksum != static_cast<std::size_t>(state.iterations()))
        state.SkipWithError("did not verify");
    report(state, checksum);
}
BENCHMARK(BM_floor_hmac_precomputed);

void BM_openssl_hmac_oneshot(benchmark::State& state) {
    const std::string_view input = signing_input();
    std::size_t checksum = 0;
    for (auto _ : state) {
        unsigned char out[32];
        unsigned int size = 0;
        HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &size);
        checksum += out[0];
        benchmark::DoNotOptimize(out);
    }
    report(state, checksum);
}
BENCHMARK(BM_openssl_hmac_oneshot);

void BM_hs256_verify(benchmark::State& state) {
    const jwtguard::Hs256Key key(secret);
    const std::string_view input = signing_input();
    const std::string mac = key.sign(input);
    std::size_t ok = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(input.data());
        ok += key.verify(input, reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
    }
    if (ok != static_cast<std::size_t>(state.iterations())) state.SkipWithError("did not verify");
    report(state, ok);
}
BENCHMARK(BM_hs256_verify);

}  // namespace
