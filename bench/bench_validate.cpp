// HS256 validation against its floor, in one run (the machine is shared:
// compare ratios, not absolute times).
//
//   floor: HMAC-SHA256 of the same signing input with the pads precomputed
//          (SHA256_CTX copied), plus the constant-time compare: what any
//          HS256 validation must at least spend.
//   one-shot: OpenSSL's HMAC(), what popular libraries call per token.
//   validate: jwtguard's whole pipeline on a realistic token.
#include <jwtguard/jwtguard.hpp>

#include "bench_data.hpp"

#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>
#include <string>

namespace {

using bench::hs256_secret;
constexpr std::string_view secret = hs256_secret;
constexpr std::int64_t now = bench::now;

const std::string& token() {
    return bench::hs256_token();
}

std::string_view signing_input() {
    return std::string_view(token()).substr(0, token().rfind('.'));
}

void report(benchmark::State& state, std::size_t checksum) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * token().size()));
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

void BM_validate_hs256(benchmark::State& state) {
    jwtguard::KeySet keys;
    keys.add(jwtguard::Hs256Key(secret), "2026-11-key-1");
    jwtguard::Validator::Options options;
    options.issuers = {"https://auth.example.com/"};
    options.audiences = {"https://api.example.com"};
    const jwtguard::Validator validator(std::move(keys), options);
    auto claims = std::make_unique<jwtguard::Claims>();
    if (validator.validate(token(), now, *claims) != jwtguard::Error::ok) {
        state.SkipWithError("the bench token does not validate");
        return;
    }
    std::size_t checksum = 0;
    for (auto _ : state) {
        const jwtguard::Error e = validator.validate(token(), now, *claims);
        checksum += static_cast<std::size_t>(e) + claims->sub->size();
        benchmark::DoNotOptimize(claims.get());
    }
    report(state, checksum);
}
BENCHMARK(BM_validate_hs256);

/// 4096 realistic tokens that differ in jti and exp (as a server sees them),
/// the first 64 of them revoked in every denylist below, plus `live` other
/// revocations (range(0)); 0 means no denylist at all.
void BM_validate_hs256_denylist(benchmark::State& state) {
    constexpr std::size_t pool = 4096, revoked = 64;
    const auto live = static_cast<std::size_t>(state.range(0));
    const bool want_revoked = state.range(1) != 0;
    static const std::vector<std::string> tokens = [] {
        std::vector<std::string> out;
        jwtguard::SignOptions options;
        options.kid = "2026-11-key-1";
        bench::JtiMaker jti(7);
        for (std::uint64_t i = 0; i < pool; ++i) {
            std::string id(jti(i));
            for (char& c : id)  // printable, as a real jti
                c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
            std::string claims =
                R"({"iss":"https://auth.example.com/","sub":"user-8f14e45f-ceea-467f-a8f0-2c7d9a1b3e5c","aud":["https://api.example.com","https://admin.example.com"],"exp":)";
            claims += std::to_string(bench::JtiMaker::exp(i));
            claims += R"(,"nbf":1699999990,"iat":1700000000,"jti":")";
            claims += id;
            claims +=
                R"(","email":"alice.liddell@example.com","roles":["reader","writer","billing-admin"],"scope":"openid profile email"})";
            out.push_back(jwtguard::sign(jwtguard::Hs256Key(secret), claims, options));
        }
        return out;
    }();
    jwtguard::KeySet keys;
    keys.add(jwtguard::Hs256Key(secret), "2026-11-key-1");
    jwtguard::Validator::Options options;
    options.issuers = {"https://auth.example.com/"};
    options.audiences = {"https://api.example.com"};
    jwtguard::Denylist* denylist = nullptr;
    if (live > 0) {
        denylist = &bench::denylist_with(live, bench::Use::validate);
        auto claims = std::make_unique<jwtguard::Claims>();
        const jwtguard::Validator plain(keys, options);
        for (std::size_t i = 0; i < revoked; ++i) {
            if (plain.validate(tokens[i], now, *claims) != jwtguard::Error::ok) {
                state.SkipWithError("a pool token does not validate");
                return;
            }
            (void)denylist->revoke_jti(*claims->jti, claims->exp);
        }
        options.denylist = denylist;
    }
    const jwtguard::Validator validator(std::move(keys), options);
    auto claims = std::make_unique<jwtguard::Claims>();
    const jwtguard::Error expected = want_revoked ? jwtguard::Error::revoked : jwtguard::Error::ok;
    const std::size_t first = want_revoked ? 0 : revoked;
    const std::size_t count = want_revoked ? revoked : pool - revoked;
    std::size_t i = 0, checksum = 0, wrong = 0;
    for (auto _ : state) {
        const std::string& token = tokens[first + i];
        const jwtguard::Error e = validator.validate(token, now, *claims);
        wrong += e != expected;
        checksum += static_cast<std::size_t>(e) + token.size();
        if (++i == count) i = 0;
    }
    if (wrong != 0) state.SkipWithError("a token got an unexpected verdict");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
}
BENCHMARK(BM_validate_hs256_denylist)
    ->ArgNames({"live", "revoked"})
    ->Args({0, 0})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Args({10'000'000, 0});

}  // namespace
