#!/usr/bin/env bash
# Builds and runs every test three times: g++ 12 (Release), clang 14
# (Release), and g++ with AddressSanitizer + UndefinedBehaviorSanitizer; then
# the concurrency-related tests (denylist, epochs) under clang's
# ThreadSanitizer. All with -Wall -Wextra -Wpedantic -Werror. The suites include the zero-allocation
# test, the CLI contract, the find_package/add_subdirectory consumer checks and
# the replay of every fuzz corpus file. Last, every libFuzzer target runs a
# short bounded campaign (FUZZ_SECONDS each, default 20), so that a
# regression any of them can find fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh clang-14 libclang-rt-14-dev libcpp-httplib-dev libhiredis-dev redis-server
cmake --workflow --preset test
cmake --workflow --preset test-clang
cmake --workflow --preset test-sanitize
cmake --workflow --preset test-tsan
scripts/fuzz.sh all "${FUZZ_SECONDS:-20}"
