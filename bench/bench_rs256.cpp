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

struct Fixture {
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    std::string pem;
    std::string token;
    std::string signing_input;
    std::string signature;

    Fixture() {
        OSSL_ENCODER_CTX* ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM",
                                                              "SubjectPublicKeyInfo", nullptr);
        unsigned char* data = nullptr;
        std::size_t size = 0;
        OSSL_ENCODER_to_data(ctx, &data, &size);
        OSSL_ENCODER_CTX_free(ctx);
        pem.assign(reinterpret_cast<char*>(data), size);
        OPENSSL_free(data);
        // The same realistic claims as the HS256 benchmark.
        signing_input =
            jwtguard::base64url_encode(R"({"alg":"RS256","typ":"JWT","kid":"2026-11-rsa"})");
        signing_input += '.';
        signing_input += jwtguard::base64url_encode(
            R"({"iss":"https://auth.example.com/","sub":"user-8f14e45f-ceea-467f-a8f0-2c7d9a1b3e5c","aud":["https://api.example.com","https://admin.example.com"],"exp":1700003600,"nbf":1699999990,"iat":1700000000,"jti":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","email":"alice.liddell@example.com","roles":["reader","writer","billing-admin"],"scope":"openid profile email"})");
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        std::size_t length = 0;
        EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, pkey);
        EVP_DigestSign(md, nullptr, &length,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size());
        signature.resize(length);
        EVP_DigestSign(md, reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size());
        EVP_MD_CTX_free(md);
        token = signing_input + "." + jwtguard::base64url_encode(signature);
    }
};

const Fixture& fixture() {
    static const Fixture f;
    return f;
}

void report(benchmark::State& state, std::size_t checksum, std::size_t bytes) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["checksum"] = static_cast<double>(checksum % 1000);
}

void BM_floor_evp_digest_verify(benchmark::State& state) {
    const Fixture& f = fixture();
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
    const Fixture& f = fixture();
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

void BM_validate_rs256(benchmark::State& state) {
    const Fixture& f = fixture();
    jwtguard::KeySet keys;
    keys.add(jwtguard::Rs256Key::from_pem(f.pem), "2026-11-rsa");
    jwtguard::Validator::Options options;
    options.issuers = {"https://auth.example.com/"};
    options.audiences = {"https://api.example.com"};
    const jwtguard::Validator validator(std::move(keys), options);
    auto claims = std::make_unique<jwtguard::Claims>();
    std::size_t checksum = 0, wrong = 0;
    for (auto _ : state) {
        const jwtguard::Error e = validator.validate(f.token, bench::now, *claims);
        wrong += e != jwtguard::Error::ok;
        checksum += claims->sub->size();
    }
    if (wrong != 0) state.SkipWithError("the token does not validate");
    report(state, checksum, f.token.size());
}
BENCHMARK(BM_validate_rs256);

}  // namespace
