// HS256 validation against its floor, in one run (the machine is shared:
// compare ratios, not absolute times).
//
//   floor: HMAC-SHA256 of the same signing input with the pads precomputed
//          (SHA256_CTX copied), plus the constant-time compare: what any
//          HS256 validation must at least spend.
//   one-shot: OpenSSL's HMAC(), what popular libraries call per token.
//   validate: jwtguard's whole pipeline on a realistic token.
#include <jwtguard/jwtguard.hpp>

#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>
#include <string>

namespace {

constexpr std::string_view secret = "0123456789abcdef0123456789abcdef:bench-secret";
constexpr std::int64_t now = 1'700'000'000;

// A realistic access token: alg/typ/kid header; iss, sub, aud, exp, nbf, iat,
// a UUID jti, email and roles (about 300 bytes of payload).
const std::string& token() {
    static const std::string t = [] {
        jwtguard::SignOptions options;
        options.kid = "2026-11-key-1";
        return jwtguard::sign(
            jwtguard::Hs256Key(secret),
            R"({"iss":"https://auth.example.com/","sub":"user-8f14e45f-ceea-467f-a8f0-2c7d9a1b3e5c","aud":["https://api.example.com","https://admin.example.com"],"exp":1700003600,"nbf":1699999990,"iat":1700000000,"jti":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","email":"alice.liddell@example.com","roles":["reader","writer","billing-admin"],"scope":"openid profile email"})",
            options);
    }();
    return t;
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

}  // namespace
