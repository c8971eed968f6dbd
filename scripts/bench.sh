#!/usr/bin/env bash
# Builds and runs the benchmark suite (Release), 5 repetitions, medians only,
# repetitions of different benchmarks interleaved at random so that a noisy
# moment of the shared machine does not land on one benchmark only.
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=validate).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target jwtguard_bench
build/release/bench/jwtguard_bench --benchmark_repetitions=5 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true "$@"
