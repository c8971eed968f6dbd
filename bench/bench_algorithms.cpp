// Every JWS signature algorithm in one run, each against its floors on the
// same signing input:
//   BM_evp_verify/<alg>       OpenSSL's EVP_DigestVerify (allocating): the
//                             call an OpenSSL user makes, every family's peer;
//   BM_bare_verify/<alg>      the implementation jwtguard uses, called
//                             directly (ES*: Nettle's ecc_ecdsa_verify after
//                             the hash; EdDSA: libsodium; HS*/RS*/PS*:
//                             jwtguard's own key, which is that floor);
//   BM_key_verify/<alg>       jwtguard's key.verify;
//   BM_validate/<alg>         the whole validation of the bench token;
//   BM_validate_paired/<alg>  validate and the bare verify timed in turns in
//                             one loop: their ratio, robust to a neighbour
//                             that comes and goes (the issue 19 figure);
//                             HS* also against its physical floor (the
//                             HMAC, the segments' decoding and a structural
//                             pass over the claims: HmacValidationFloor);
//   BM_validate_cached/<alg>  the same token again with the verified-token
//                             cache (a hit: no signature check).
// And the candidates measured to choose ES* and EdDSA (bench/README.md):
//   BM_candidate_openssl_ecdsa_do_verify/<alg>: a prepared EC_KEY, digest given;
//   BM_candidate_nettle_ed25519: Nettle's ed25519_sha512_verify.
// Ratios of one run are the figures: this machine is shared and noisy.
#include <jwtguard/jwtguard.hpp>

#include <benchmark/benchmark.h>
#include <nettle/eddsa.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_data.hpp"
#include "floor_pass.hpp"
#include "test_keys.hpp"
#include "test_tokens.hpp"

namespace {

namespace t = jwtguard::test;

/// One algorithm's keys, token and signing input.
struct AlgorithmFixture {
    std::string alg;
    EVP_PKEY* pkey = nullptr;  // null: HMAC
    std::string secret;
    std::string token;
    std::string input;
    std::string signature;
    std::unique_ptr<jwtguard::Key> key;

    explicit AlgorithmFixture(std::string name) : alg(std::move(name)) {
        pkey = alg.starts_with("HS")   ? nullptr
               : alg.starts_with("ES") ? t::ec_key(alg == "ES256"   ? "P-256"
                                                   : alg == "ES384" ? "P-384"
                                                                    : "P-521")
               : alg.starts_with("Ed") ? t::ed25519_key()
                                       : t::rsa_key(2048);
        secret.assign(64, 's');
        const jwtguard::AnySigningKey signer =
            jwtguard::make_signing_key(alg, pkey == nullptr ? secret : t::private_pem(pkey));
        token = jwtguard::sign(signer, bench::realistic_payload());
        input = token.substr(0, token.rfind('.'));
        signature = t::decoded(token.substr(token.rfind('.') + 1));
        key = std::make_unique<jwtguard::Key>(
            pkey == nullptr
                ? jwtguard::load_secret_key(secret, alg)
                : jwtguard::load_pem_public_key(t::public_pem(pkey, "SubjectPublicKeyInfo"), alg));
    }
    [[nodiscard]] const unsigned char* sig() const {
        return reinterpret_cast<const unsigned char*>(signature.data());
    }
    [[nodiscard]] const EVP_MD* md() const {
        if (alg.starts_with("Ed")) return nullptr;
        return alg.ends_with("256")   ? EVP_sha256()
               : alg.ends_with("384") ? EVP_sha384()
                                      : EVP_sha512();
    }
};

const AlgorithmFixture& fixture(const std::string& alg) {
    static std::map<std::string, std::unique_ptr<AlgorithmFixture>> all;
    auto& f = all[alg];
    if (!f) f = std::make_unique<AlgorithmFixture>(alg);
    return *f;
}

void report(benchmark::State& state, std::size_t ok) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    if (ok != static_cast<std::size_t>(state.iterations())) state.SkipWithError("did not verify");
}

/// The DER form of an r || s signature, for OpenSSL's ECDSA.
std::string der_of(const std::string& rs) {
    const std::size_t half = rs.size() / 2;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig,
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data()),
                             static_cast<int>(half), nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data()) + half,
                             static_cast<int>(half), nullptr));
    unsigned char* der = nullptr;
    const int size = i2d_ECDSA_SIG(sig, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(size));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return out;
}

void BM_evp_verify(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    std::string signature = alg.starts_with("ES") ? der_of(f.signature) : f.signature;
    const bool hmac = f.pkey == nullptr;
    EVP_PKEY* mac_key =
        hmac ? EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, nullptr,
                                            reinterpret_cast<const unsigned char*>(f.secret.data()),
                                            f.secret.size())
             : nullptr;
    const bool pss = alg.starts_with("PS");
    std::size_t ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        if (hmac) {
            // HMAC through EVP: sign and compare, as an EVP user does.
            unsigned char mac[EVP_MAX_MD_SIZE];
            std::size_t size = sizeof mac;
            ok += EVP_DigestSignInit(ctx, nullptr, f.md(), nullptr, mac_key) == 1 &&
                  EVP_DigestSign(ctx, mac, &size,
                                 reinterpret_cast<const unsigned char*>(f.input.data()),
                                 f.input.size()) == 1 &&
                  size == signature.size() && CRYPTO_memcmp(mac, signature.data(), size) == 0;
        } else {
            EVP_PKEY_CTX* pctx = nullptr;
            ok += EVP_DigestVerifyInit(ctx, &pctx, f.md(), nullptr, f.pkey) == 1 &&
                  (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                                   signature.size(),
                                   reinterpret_cast<const unsigned char*>(f.input.data()),
                                   f.input.size()) == 1;
        }
        EVP_MD_CTX_free(ctx);
    }
    meter.report(state);
    EVP_PKEY_free(mac_key);
    report(state, ok);
}

template <class Key>
bool nettle_verify(const Key& key, const AlgorithmFixture& f) {
    using Curve = typename Key::curve_type;
    constexpr std::size_t limbs = jwtguard::detail::limbs_for(Curve::size);
    static thread_local std::vector<mp_limb_t> scratch(
        static_cast<std::size_t>(ecc_ecdsa_verify_itch(Curve::curve())));
    static thread_local ecc_point point = [&] {
        ecc_point p;
        ecc_point_init(&p, Curve::curve());
        mpz_t x, y;
        mpz_init(x);
        mpz_init(y);
        mpz_import(x, Curve::size, 1, 1, 1, 0, key.x().data());
        mpz_import(y, Curve::size, 1, 1, 1, 0, key.y().data());
        ecc_point_set(&p, x, y);
        mpz_clear(x);
        mpz_clear(y);
        return p;
    }();
    mp_limb_t r[limbs], s[limbs];
    jwtguard::detail::bytes_to_limbs(f.sig(), Curve::size, r, limbs);
    jwtguard::detail::bytes_to_limbs(f.sig() + Curve::size, Curve::size, s, limbs);
    unsigned char digest[Curve::Hash::digest_size];
    jwtguard::detail::digest<typename Curve::Hash>(f.input.data(), f.input.size(), digest);
    return ecc_ecdsa_verify(Curve::curve(), point.p, sizeof digest, digest, r, s, scratch.data()) ==
           1;
}

/// One verification of `f`'s signature by the implementation jwtguard uses
/// for it, called directly.
using BareVerify = bool (*)(const AlgorithmFixture& f);

BareVerify bare_verify_of(const std::string& alg) {
    if (alg == "ES256")
        return [](const AlgorithmFixture& f) {
            return nettle_verify(std::get<jwtguard::Es256Key>(*f.key), f);
        };
    if (alg == "ES384")
        return [](const AlgorithmFixture& f) {
            return nettle_verify(std::get<jwtguard::Es384Key>(*f.key), f);
        };
    if (alg == "ES512")
        return [](const AlgorithmFixture& f) {
            return nettle_verify(std::get<jwtguard::Es512Key>(*f.key), f);
        };
    if (alg == "EdDSA")
        return [](const AlgorithmFixture& f) {
            return crypto_sign_verify_detached(
                       f.sig(), reinterpret_cast<const unsigned char*>(f.input.data()),
                       f.input.size(), std::get<jwtguard::Ed25519Key>(*f.key).bytes().data()) == 0;
        };
    // HS*, RS*, PS*: jwtguard's key is the bare implementation.
    return [](const AlgorithmFixture& f) {
        return std::visit(
            [&](const auto& k) { return k.verify(f.input, f.sig(), f.signature.size()); }, *f.key);
    };
}

void BM_bare_verify(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    const BareVerify bare = bare_verify_of(alg);
    std::size_t ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state)
        ok += bare(f);
    meter.report(state);
    report(state, ok);
}

void BM_key_verify(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    std::size_t ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state)
        ok += std::visit(
            [&](const auto& k) { return k.verify(f.input, f.sig(), f.signature.size()); }, *f.key);
    meter.report(state);
    report(state, ok);
}

/// key.verify refusing a signature with its last bit flipped: what an
/// attacker's forged token costs. For ES* it includes the point-duplication
/// test that follows Nettle's refusal (detail::verify_point_duplication),
/// so set it beside BM_key_verify.
void BM_key_verify_refused(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    std::string forged = f.signature;
    forged.back() = static_cast<char>(forged.back() ^ 1);
    const auto* sig = reinterpret_cast<const unsigned char*>(forged.data());
    std::size_t refused = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state)
        refused += !std::visit([&](const auto& k) { return k.verify(f.input, sig, forged.size()); },
                               *f.key);
    meter.report(state);
    report(state, refused);
}

void BM_validate(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    const jwtguard::Validator validator(*f.key, bench::policy());
    auto claims = std::make_unique<jwtguard::Claims>();
    if (const jwtguard::Error e = validator.validate(f.token, bench::now, *claims);
        e != jwtguard::Error::ok) {
        state.SkipWithError(std::string(jwtguard::to_string(e)).c_str());
        return;
    }
    std::size_t ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state)
        ok += validator.validate(f.token, bench::now, *claims) == jwtguard::Error::ok;
    meter.report(state);
    report(state, ok);
}

/// HS*'s physical floor: what any validation of an HMAC token must do, each
/// step the fastest way this machine offers and nothing else around it:
/// base64url-decode the payload and signature segments, one structural
/// pass over the decoded claims (floor_pass::structural_index, the claims
/// stage's floor of bench_claims.cpp) and the bare HMAC verify on the
/// decoded signature. True when all three hold.
struct HmacValidationFloor {
    alignas(64) char payload[2048 + 64] = {};
    unsigned char signature[128] = {};
    alignas(64) std::uint32_t index[2048] = {};
    int expected = 0;
    std::string_view payload_segment, signature_segment;

    explicit HmacValidationFloor(const AlgorithmFixture& f) {
        const std::string_view token = f.token;
        const std::size_t first = token.find('.'), last = token.rfind('.');
        payload_segment = token.substr(first + 1, last - first - 1);
        signature_segment = token.substr(last + 1);
        expected = floor_pass::structural_count_reference(t::decoded(payload_segment));
    }
    bool operator()(const AlgorithmFixture& f) {
        std::size_t payload_size = 0, signature_size = 0;
        if (jwtguard::base64url_decode(payload_segment, reinterpret_cast<unsigned char*>(payload),
                                       payload_size) != jwtguard::Base64Status::ok ||
            jwtguard::base64url_decode(signature_segment, signature, signature_size) !=
                jwtguard::Base64Status::ok)
            return false;
        const bool structure =
            floor_pass::structural_index(payload, payload_size, index) == expected;
        return std::visit(
                   [&](const auto& k) { return k.verify(f.input, signature, signature_size); },
                   *f.key) &&
               structure;
    }
};

/// validate and the bare verify of the same algorithm, timed in turns
/// within each iteration (batches of ~20 us, the order rotated every
/// iteration): a neighbour that slows the machine for a while slows both
/// sides alike, which separate rows measured seconds apart cannot promise
/// for the slow algorithms (an ES512 row is ~5 s of 0.8 ms calls).
/// Counters: `ratio` (validate time / bare time over the iteration's
/// batches; its median over the repetitions is the report's figure),
/// `validate_ns` and `bare_ns` per call. HS* also times its physical floor
/// (HmacValidationFloor) in the same turns: `floor_ns`, `floor_ratio`
/// (validate / floor) and `floor_over_bare` (floor / bare HMAC).
void BM_validate_paired(benchmark::State& state, const std::string& alg) {
    using Clock = std::chrono::steady_clock;
    const AlgorithmFixture& f = fixture(alg);
    const BareVerify bare = bare_verify_of(alg);
    const jwtguard::Validator validator(*f.key, bench::policy());
    auto claims = std::make_unique<jwtguard::Claims>();
    const bool hmac = alg.starts_with("HS");
    std::unique_ptr<HmacValidationFloor> floor;
    if (hmac) {
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("pclmul")) {
            state.SkipWithError("the HS* floor needs AVX2 and PCLMUL");
            return;
        }
        floor = std::make_unique<HmacValidationFloor>(f);
    }
    // Batch size: enough calls that reading the clock costs nothing.
    const auto start = Clock::now();
    std::size_t ok = bare(f);
    const double one = std::chrono::duration<double>(Clock::now() - start).count();
    const auto batch = static_cast<std::size_t>(std::clamp(20e-6 / one, 1.0, 4096.0));
    const int sides = hmac ? 3 : 2;
    double spent[3] = {};
    std::size_t wrong = 0, round = 0;
    for (auto _ : state) {
        for (int turn = 0; turn < sides; ++turn) {
            const int side = static_cast<int>((static_cast<std::size_t>(turn) + round) %
                                              static_cast<std::size_t>(sides));
            const auto t0 = Clock::now();
            if (side == 0) {
                for (std::size_t i = 0; i < batch; ++i)
                    wrong +=
                        validator.validate(f.token, bench::now, *claims) != jwtguard::Error::ok;
            } else if (side == 1) {
                for (std::size_t i = 0; i < batch; ++i)
                    ok += bare(f);
            } else {
                for (std::size_t i = 0; i < batch; ++i)
                    wrong += !(*floor)(f);
            }
            spent[side] += std::chrono::duration<double>(Clock::now() - t0).count();
        }
        ++round;
    }
    if (wrong != 0 || ok != 1 + round * batch) {
        state.SkipWithError("did not verify");
        return;
    }
    const double calls = static_cast<double>(round * batch);
    state.counters["ratio"] = spent[0] / spent[1];
    state.counters["validate_ns"] = spent[0] * 1e9 / calls;
    state.counters["bare_ns"] = spent[1] * 1e9 / calls;
    state.counters["batch"] = static_cast<double>(batch);
    if (hmac) {
        state.counters["floor_ns"] = spent[2] * 1e9 / calls;
        state.counters["floor_ratio"] = spent[0] / spent[2];
        state.counters["floor_over_bare"] = spent[2] / spent[1];
    }
}

/// The same token again and again with the verified-token cache: every
/// call after the first is a hit, which checks no signature.
void BM_validate_cached(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    jwtguard::ValidatorOptions options = bench::policy();
    options.token_cache.entries = 1024;
    const jwtguard::Validator validator(*f.key, options);
    auto claims = std::make_unique<jwtguard::Claims>();
    std::size_t ok = validator.validate(f.token, bench::now, *claims) == jwtguard::Error::ok;
    if (ok == 0 || !validator.is_cached(f.token)) {
        state.SkipWithError("not cached");
        return;
    }
    ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state)
        ok += validator.validate(f.token, bench::now, *claims) == jwtguard::Error::ok;
    meter.report(state);
    report(state, ok);
}

void BM_candidate_openssl_ecdsa_do_verify(benchmark::State& state, const std::string& alg) {
    const AlgorithmFixture& f = fixture(alg);
    // A prepared EC_KEY (deprecated API, the fastest OpenSSL path), and the
    // digest computed in the loop like every other row.
    const std::string der = der_of(f.signature);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
    EC_KEY* ec = EVP_PKEY_get1_EC_KEY(f.pkey);
    std::size_t ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned size = 0;
        EVP_Digest(f.input.data(), f.input.size(), digest, &size, f.md(), nullptr);
        ok += ECDSA_do_verify(digest, static_cast<int>(size), sig, ec) == 1;
    }
    meter.report(state);
    EC_KEY_free(ec);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    ECDSA_SIG_free(sig);
    report(state, ok);
}

void BM_candidate_nettle_ed25519(benchmark::State& state) {
    const AlgorithmFixture& f = fixture("EdDSA");
    const auto& key = std::get<jwtguard::Ed25519Key>(*f.key);
    std::size_t ok = 0;
    const bench::AllocationMeter meter;
    for (auto _ : state)
        ok += ed25519_sha512_verify(key.bytes().data(), f.input.size(),
                                    reinterpret_cast<const uint8_t*>(f.input.data()), f.sig()) == 1;
    meter.report(state);
    report(state, ok);
}
BENCHMARK(BM_candidate_nettle_ed25519);

const int registered = [] {
    for (const std::string alg : {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                  "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}) {
        benchmark::RegisterBenchmark(("BM_evp_verify/" + alg).c_str(), BM_evp_verify, alg);
        benchmark::RegisterBenchmark(("BM_bare_verify/" + alg).c_str(), BM_bare_verify, alg);
        benchmark::RegisterBenchmark(("BM_key_verify/" + alg).c_str(), BM_key_verify, alg);
        benchmark::RegisterBenchmark(("BM_key_verify_refused/" + alg).c_str(),
                                     BM_key_verify_refused, alg);
        benchmark::RegisterBenchmark(("BM_validate/" + alg).c_str(), BM_validate, alg);
        benchmark::RegisterBenchmark(("BM_validate_paired/" + alg).c_str(), BM_validate_paired,
                                     alg);
        benchmark::RegisterBenchmark(("BM_validate_cached/" + alg).c_str(), BM_validate_cached,
                                     alg);
        if (alg.starts_with("ES"))
            benchmark::RegisterBenchmark(("BM_candidate_openssl_ecdsa_do_verify/" + alg).c_str(),
                                         BM_candidate_openssl_ecdsa_do_verify, alg);
    }
    return 0;
}();

}  // namespace
