#!/usr/bin/env bash
# The rest of the test matrix, after scripts/test.sh (which .ci/run runs
# first): every test again with clang 14 (Release), with g++ under
# AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency-related
# tests under clang's ThreadSanitizer (CMakePresets.json's test presets
# leave out what another configuration already runs and no compiler or
# sanitizer changes: the consumer builds everywhere but Release, the Redis
# Sentinel failover scenarios under clang), then a short bounded campaign of
# every libFuzzer target (FUZZ_SECONDS each, default 20), so that a
# regression any of them can find fails CI. All with -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh clang-14 libclang-rt-14-dev libcpp-httplib-dev libhiredis-dev redis-server
logs=()
for preset in clang sanitize tsan; do
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  mkdir -p "build/$preset"
  ctest --preset "$preset" 2>&1 | tee "build/$preset/ctest.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  logs+=("$preset")
done
scripts/fuzz.sh all "${FUZZ_SECONDS:-20}"
for preset in "${logs[@]}"; do
  scripts/summary.sh "build/$preset" "build/$preset/ctest.log"
done
