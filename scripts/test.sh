#!/usr/bin/env bash
# The first look (README's test command): installs what the test suites need
# (Debian packages, only those missing), builds once with g++ 12 (Release,
# -Wall -Wextra -Wpedantic -Werror) and runs every test suite: the unit
# tests (both epoch paths), the zero-allocation test, the CLI contract, every
# header compiled alone, the Redis mirror against a real redis-server, the
# example server end to end, the nginx module in Debian's stock nginx, the
# find_package/add_subdirectory consumers, the
# optional-part logic, and the replay of every fuzz corpus file. The
# benchmarks are built by scripts/bench.sh, not here.
#
# The full matrix (clang 14, ASan+UBSan, TSan, fuzz campaigns) is
# scripts/test-matrix.sh; .ci/run runs this script and then that one.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh libcpp-httplib-dev libhiredis-dev redis-server nginx-dev nginx-core
start=$SECONDS
cmake --preset release -DJWTGUARD_BUILD_BENCH=OFF
cmake --build --preset release
built=$SECONDS
mkdir -p build/release
# (pipefail: ctest's status, kept so that the summary is still printed)
status=0
ctest --preset release 2>&1 | tee build/release/ctest.log || status=$?
echo "test: built in $((built - start)) s, tested in $((SECONDS - built)) s"
scripts/summary.sh build/release build/release/ctest.log
exit "$status"
