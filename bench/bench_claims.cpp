// The token's JSON: the JOSE header and the realistic claims set parsed as
// the validator parses them (strict, in place, allocation-free), and the
// claim policy checked on the result.
#include <jwtguard/claims.hpp>
#include <jwtguard/json.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "bench_data.hpp"
#include "floor_pass.hpp"

namespace {

constexpr std::string_view header_json = R"({"alg":"HS256","typ":"JWT","kid":"2026-11-key-1"})";

/// Parses `json` in place from a fresh copy each time (the parser unescapes
/// in place), as validate does from its decoded bytes.
template <class Parse>
void run_parse(benchmark::State& state, std::string_view json, Parse parse) {
    alignas(64) char buffer[1024 + jwtguard::detail::json_padding] = {};
    std::size_t checksum = 0;
    for (auto _ : state) {
        std::memcpy(buffer, json.data(), json.size());
        buffer[json.size()] = '\0';
        checksum += static_cast<std::size_t>(parse(buffer, json.size()));
        benchmark::ClobberMemory();
    }
    if (checksum != 0) state.SkipWithError("the bench JSON does not parse");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

void BM_parse_header(benchmark::State& state) {
    jwtguard::Header header;
    run_parse(state, header_json, [&](char* json, std::size_t size) {
        return jwtguard::detail::parse_header(json, size, header);
    });
}
BENCHMARK(BM_parse_header);

void BM_parse_claims(benchmark::State& state) {
    const std::string payload = bench::realistic_payload();
    auto claims = std::make_unique<jwtguard::Claims>();
    run_parse(state, payload, [&](char* json, std::size_t size) {
        return jwtguard::detail::parse_claims(json, size, *claims);
    });
}
BENCHMARK(BM_parse_claims);

/// Claims with nested objects, as Keycloak issues them (realm_access,
/// resource_access): every member at every depth goes through the
/// duplicate check.
void BM_parse_claims_nested(benchmark::State& state) {
    const std::string payload = bench::nested_payload();
    auto claims = std::make_unique<jwtguard::Claims>();
    run_parse(state, payload, [&](char* json, std::size_t size) {
        return jwtguard::detail::parse_claims(json, size, *claims);
    });
}
BENCHMARK(BM_parse_claims_nested);

// --- the claims stage's floor (issue 22, item 2): floor_pass.hpp -------------

/// The floor of BM_parse_claims: the structural pass (floor_pass.hpp) over the same
/// payload, from the same fresh copy.
void BM_floor_claims_structural(benchmark::State& state) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("pclmul")) {
        state.SkipWithError("needs AVX2 and PCLMUL");
        return;
    }
    const std::string payload = bench::realistic_payload();
    const int expected = floor_pass::structural_count_reference(payload);
    alignas(64) std::uint32_t index[1024];
    run_parse(state, payload, [&](char* json, std::size_t size) {
        const int found = floor_pass::structural_index(json, size, index);
        benchmark::DoNotOptimize(index);
        return found != expected;
    });
}
BENCHMARK(BM_floor_claims_structural);

/// The claim policy of every validation benchmark, on parsed claims.
void BM_check_claims(benchmark::State& state) {
    const std::string payload = bench::realistic_payload();
    auto claims = std::make_unique<jwtguard::Claims>();
    jwtguard::detail::JsonBuffer buffer(payload);
    if (jwtguard::detail::parse_claims(buffer.data(), buffer.size(), *claims) !=
        jwtguard::Error::ok) {
        state.SkipWithError("the bench payload does not parse");
        return;
    }
    jwtguard::ClaimPolicy policy;
    policy.issuers = {"https://auth.example.com/"};
    policy.audiences = {"https://api.example.com"};
    std::size_t checksum = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(claims.get());
        checksum += static_cast<std::size_t>(jwtguard::check_claims(*claims, policy, bench::now));
    }
    if (checksum != 0) state.SkipWithError("the bench claims are refused");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_check_claims);

}  // namespace
