// RS256 verification against its floor, in one run: the bare OpenSSL call an
// OpenSSL user makes (EVP_DigestVerifyInit + EVP_DigestVerify, allocating on
// every call) on the same signing input, against jwtguard's Rs256Key::verify
// (BN Montgomery, zero allocations) and the whole validation.
#include <jwtguard/jwtguard.hpp>

#include <benchmark/benchmark.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "bench_data.hpp"

namespace {

using bench::Rs256Fixture;

const Rs256Fixture& fixture() {
    return bench::rs256_fixture();
}

void report(benchmark::State& state, std::size_t checksum, std::size_t bytes) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
}

void BM_floor_evp_digest_verify(benchmark::State& state) {
    const Rs256Fixture& f = fixture();
    std::size_t ok = 0;
    for (auto _ : state) {
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        ok += EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, f.pkey) == 1 &&
              EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(f.signature.data()),
                               f.signature.size(),
                               reinterpret_cast<const unsigned char*>(f.signing_input.data()),
                               f.signing_input.size()) == 1;
        EVP_MD_CTX_free(md);
    }
    if (ok != static_cast<std::size_t>(state.iterations())) state.SkipWithError("did not verify");
    report(state, ok, f.signing_input.size());
}
BENCHMARK(BM_floor_evp_digest_verify);

void BM_rs256_verify(benchmark::State& state) {
    const Rs256Fixture& f = fixture();
    const jwtguard::Rs256Key key = jwtguard::Rs256Key::from_pem(f.pem);
    std::size_t ok = 0;
    for (auto _ : state)
        ok +=
            key.verify(f.signing_input, reinterpret_cast<const unsigned char*>(f.signature.data()),
                       f.signature.size());
    if (ok != static_cast<std::size_t>(state.iterations())) state.SkipWithError("did not verify");
    report(state, ok, f.signing_input.size());
}
BENCHMARK(BM_rs256_verify);

/// The whole validation of the bench token (live = 0: no denylist; else
/// that many live revocations), or of a forgery of it (forged = 1: the
/// signature's first character changed).
void BM_validate_rs256(benchmark::State& state) {
    const Rs256Fixture& f = fixture();
    const auto live = static_cast<std::size_t>(state.range(0));
    const bool forged = state.range(1) != 0;
    jwtguard::Validator::Options options;
    if (live > 0) options.denylist = &bench::denylist_with(live, bench::Use::validate);
    const jwtguard::Validator validator = f.validator(options);
    std::string token = f.token;
    if (forged) {
        char& first = token[token.rfind('.') + 1];
        first = first == 'A' ? 'B' : 'A';
    }
    const jwtguard::Error expected =
        forged ? jwtguard::Error::signature_invalid : jwtguard::Error::ok;
    auto claims = std::make_unique<jwtguard::Claims>();
    std::size_t checksum = 0, wrong = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state) {
        const jwtguard::Error e = validator.validate(token, bench::now, *claims);
        wrong += e != expected;
        checksum += static_cast<std::size_t>(e);
    }
    meter.report(state);
    if (wrong != 0) state.SkipWithError("a validation gave an unexpected verdict");
    report(state, checksum, token.size());
}
BENCHMARK(BM_validate_rs256)
    ->ArgNames({"live", "forged"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1'000'000, 0})
    ->Args({10'000'000, 0});

}  // namespace
