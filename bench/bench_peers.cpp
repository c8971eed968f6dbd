// Peers, on the very tokens of BM_validate_hs256 and BM_validate_rs256:
// libjwt (Debian's libjwt-dev, 1.10), the C library a C/C++ user would most
// likely take from the distribution. Per token, what its user must do:
// jwt_decode with the key (which checks the signature and parses the JSON
// with jansson), check that the algorithm is the expected one (libjwt takes
// it from the token), and compare exp with now. Built when libjwt is found
// (CMake option JWTGUARD_BENCH_LIBJWT).
#include <jwt.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "bench_data.hpp"

namespace {

void run_libjwt(benchmark::State& state, const std::string& token, const std::string& key,
                jwt_alg_t alg) {
    std::size_t ok = 0;
    for (auto _ : state) {
        jwt_t* jwt = nullptr;
        if (jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                       static_cast<int>(key.size())) == 0) {
            ok += jwt_get_alg(jwt) == alg && jwt_get_grant_int(jwt, "exp") > bench::now;
            jwt_free(jwt);
        }
    }
    if (ok != static_cast<std::size_t>(state.iterations()))
        state.SkipWithError("libjwt did not accept the token");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * token.size()));
    state.counters["checksum"] = static_cast<double>(ok % 1000);
}

void BM_peer_libjwt_hs256(benchmark::State& state) {
    run_libjwt(state, bench::hs256_token(), std::string(bench::hs256_secret), JWT_ALG_HS256);
}
BENCHMARK(BM_peer_libjwt_hs256);

void BM_peer_libjwt_rs256(benchmark::State& state) {
    const bench::Rs256Fixture& f = bench::rs256_fixture();
    run_libjwt(state, f.token, f.pem, JWT_ALG_RS256);
}
BENCHMARK(BM_peer_libjwt_rs256);

}  // namespace
