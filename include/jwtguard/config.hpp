// Build-time settings of jwtguard, each with its default and its trade-off.
//
// Define any of these before including a jwtguard header (or with -D on the
// command line) to change it. Every translation unit of a program must see the
// same values: they size types.
#pragma once

#include <cstddef>

/// Largest token (in bytes, inclusive) that any Validator can accept.
///
/// `Validator::Options::max_token_size` picks the limit at run time, up to
/// this value. It also sizes the scratch space inside `Claims` (about 1.5x this
/// many bytes: the decoded header, the decoded payload as the caller sees it,
/// and the copy the parser unescapes in place), which callers usually keep on
/// the stack. Default 8 KiB: bigger than any sane bearer token, small enough
/// for a stack frame.
#ifndef JWTGUARD_MAX_TOKEN_SIZE
#define JWTGUARD_MAX_TOKEN_SIZE 8192
#endif

/// Deepest JSON nesting accepted in header and payload; the top-level object
/// counts as 1. Bounds the recursion of the parser (one C++ stack frame per
/// level). Default 32, as decided in DESIGN.md.
#ifndef JWTGUARD_MAX_JSON_DEPTH
#define JWTGUARD_MAX_JSON_DEPTH 32
#endif

/// Most members allowed in a header or payload, counted over every object at
/// every depth (duplicate names are refused at every depth). Duplicate
/// detection uses a fixed table twice this size on the stack, so it stays
/// linear and allocation-free. Also the most members of one JWK. Default
/// 128: registered claims plus plenty of application claims, nested ones
/// (Keycloak's realm_access and resource_access) included.
#ifndef JWTGUARD_MAX_MEMBERS
#define JWTGUARD_MAX_MEMBERS 128
#endif

/// Most entries of an `aud` array. `Claims` keeps a view of each, so this
/// sizes `Claims`. Default 16.
#ifndef JWTGUARD_MAX_AUDIENCES
#define JWTGUARD_MAX_AUDIENCES 16
#endif

/// Whether jwtguard turns on rapidjson's SIMD string and whitespace scanning
/// (RAPIDJSON_SSE42 with SSE4.2, else RAPIDJSON_SSE2 on any x86-64) when the
/// including code has not chosen itself. rapidjson copies string bytes one at
/// a time otherwise. The token path has its own reader (json_reader.hpp);
/// this speeds up what still uses rapidjson: key documents (JWK, JWKS),
/// signing, the CLI, and the fuzz targets' reference parses, which
/// must see the rapidjson the library builds.
/// It only takes effect if no rapidjson header was included before the first
/// jwtguard header; every translation unit should agree (define RAPIDJSON_SSE2
/// project-wide to be sure). The SIMD loops read aligned 16-byte blocks past
/// the end of a string but never past its block; jwtguard's buffers allow it.
/// Default 1; 0 leaves rapidjson as configured.
#ifndef JWTGUARD_RAPIDJSON_SIMD
#define JWTGUARD_RAPIDJSON_SIMD 1
#endif
#if JWTGUARD_RAPIDJSON_SIMD && !defined(RAPIDJSON_SSE2) && !defined(RAPIDJSON_SSE42) && \
    !defined(RAPIDJSON_NEON) && !defined(RAPIDJSON_READER_H_)
#if defined(__SSE4_2__)
#define RAPIDJSON_SSE42
#elif defined(__SSE2__)
#define RAPIDJSON_SSE2
#endif
#endif

/// Whether the byte-crunching stages use AVX2 on x86-64 CPUs that have it,
/// chosen at run time (detail::cpu_has_avx2), or always when compiled with
/// -mavx2: base64url decoding (32 characters per step, about four times the
/// table-driven loop on a token's payload) and the JSON text check (32
/// bytes per step). GCC and Clang only. Default 1 where available; 0 keeps
/// the portable loops (tests build both and compare them).
#ifndef JWTGUARD_AVX2
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JWTGUARD_AVX2 1
#else
#define JWTGUARD_AVX2 0
#endif
#endif

#if JWTGUARD_AVX2
namespace jwtguard::detail {
/// Whether this CPU runs the AVX2 paths.
[[nodiscard]] inline bool cpu_has_avx2() noexcept {
#if defined(__AVX2__)
    return true;
#else
    return __builtin_cpu_supports("avx2");
#endif
}
/// Whether this CPU runs the AVX2 paths that also multiply without carries
/// (the JSON reader's quote index: json_reader.hpp).
[[nodiscard]] inline bool cpu_has_avx2_pclmul() noexcept {
#if defined(__AVX2__) && defined(__PCLMUL__)
    return true;
#else
    return cpu_has_avx2() && __builtin_cpu_supports("pclmul");
#endif
}
}  // namespace jwtguard::detail
#endif

/// Whether epoch-based reclamation (epoch.hpp: denylist lookups) may use
/// Linux's membarrier(2), so that a reader announces itself with a plain
/// store instead of a locked instruction. Used only if the kernel accepts
/// it at run time; 0 always uses the locked store (and lets tests cover that
/// path). Default 1.
#ifndef JWTGUARD_EPOCH_MEMBARRIER
#define JWTGUARD_EPOCH_MEMBARRIER 1
#endif

namespace jwtguard {
inline constexpr std::size_t max_token_size_limit = JWTGUARD_MAX_TOKEN_SIZE;
inline constexpr int max_json_depth = JWTGUARD_MAX_JSON_DEPTH;
inline constexpr std::size_t max_members = JWTGUARD_MAX_MEMBERS;
inline constexpr std::size_t max_audiences = JWTGUARD_MAX_AUDIENCES;

static_assert(max_token_size_limit >= 64 && max_token_size_limit <= (1u << 24),
              "JWTGUARD_MAX_TOKEN_SIZE must lie in [64, 16 MiB]");
static_assert(max_json_depth >= 1 && max_json_depth <= 256,
              "JWTGUARD_MAX_JSON_DEPTH must lie in [1, 256]");
static_assert(max_members >= 8 && max_members <= 4096,
              "JWTGUARD_MAX_MEMBERS must lie in [8, 4096]");
static_assert(max_audiences >= 1 && max_audiences <= 1024,
              "JWTGUARD_MAX_AUDIENCES must lie in [1, 1024]");
}  // namespace jwtguard
