// HS256's floor, in one run with the key's own verify (the machine is
// shared: compare ratios, not absolute times).
//
//   floor: HMAC-SHA256 of the bench token's signing input with the pads
//          precomputed (SHA256_CTX copied), plus the constant-time compare:
//          what any HS256 validation must at least spend.
//   one-shot: OpenSSL's HMAC(), what popular libraries call per token.
//   verify: Hs256Key::verify on the same input.
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

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
void BM_floor_hmac_precomputed(benchmark::State& state) {
    unsigned char block[SHA256_CBLOCK] = {}, pad[SHA256_CBLOCK];
    std::memcpy(block, secret.data(), secret.size());
    SHA256_CTX inner, outer;
    for (int i = 0; i < SHA256_CBLOCK; ++i)
        pad[i] = block[i] ^ 0x36;
    SHA256_Init(&inner);
    SHA256_Update(&inner, pad, sizeof pad);
    for (int i = 0; i < SHA256_CBLOCK; ++i)
        pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&outer);
    SHA256_Update(&outer, pad, sizeof pad);
    const std::string_view input = signing_input();
    unsigned char expected[32];
    std::size_t checksum = 0;
    for (auto _ : state) {
        unsigned char mid[32];
        SHA256_CTX ctx = inner;
        SHA256_Update(&ctx, input.data(), input.size());
        SHA256_Final(mid, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, mid, sizeof mid);
        SHA256_Final(expected, &ctx);
        checksum += static_cast<std::size_t>(CRYPTO_memcmp(expected, mid, 32) != 0) + expected[0];
        benchmark::DoNotOptimize(expected);
    }
    report(state, checksum);
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
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
