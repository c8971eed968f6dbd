#!/usr/bin/env bash
# Builds and runs the benchmark suite (Release), 5 repetitions, medians only.
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=validate).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target jwtguard_bench
build/release/bench/jwtguard_bench --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true "$@"
