#!/usr/bin/env bash
# The rest of the test matrix, after scripts/test.sh (which .ci/run runs
# first): every test again with clang 14 (Release), with g++ under
# AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency-related
# tests under clang's ThreadSanitizer (CMakePresets.json's test presets
# leave out what another configuration already runs and no compiler or
# sanitizer changes: the consumer builds everywhere but Release, the Redis
# Sentinel failover scenarios under clang, the longest of them under ASan,
# the fuzz corpus replays under both, since the campaign runs them), then a
# short bounded campaign of every libFuzzer target (FUZZ_SECONDS each,
# default 10), so that a regression any of them can find fails CI. All with
# -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh clang-14 libclang-rt-14-dev libcpp-httplib-dev libhiredis-dev redis-server
logs=()
for preset in clang sanitize tsan; do
  start=$SECONDS
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  built=$SECONDS
  mkdir -p "build/$preset"
  status=0
  ctest --preset "$preset" 2>&1 | tee "build/$preset/ctest.log" || status=$?
  echo "matrix: $preset built in $((built - start)) s, tested in $((SECONDS - built)) s"
  [ "$status" -eq 0 ] || exit "$status"
  logs+=("$preset")
done
start=$SECONDS
scripts/fuzz.sh all "${FUZZ_SECONDS:-10}"
echo "matrix: fuzz campaigns took $((SECONDS - start)) s"
for preset in "${logs[@]}"; do
  scripts/summary.sh "build/$preset" "build/$preset/ctest.log"
done
