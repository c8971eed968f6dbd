#!/usr/bin/env bash
# Builds and runs the benchmark suite (Release), 5 repetitions, medians only,
# repetitions of different benchmarks interleaved at random so that a noisy
# moment of the shared machine does not land on one benchmark only; then
# prints the summary table (stage, ns/op, ratio to its floor, speedup over
# libjwt, allocations/op) and the issue's targets, and writes the raw JSON,
# the table and a chart under build/release/bench-report/.
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=validate).
# Without extra arguments the Redis mirror's benchmark runs too (its own
# redis-server on a loopback port; the propagation percentiles come from
# 2000 revocations per repetition).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh libhiredis-dev redis-server libjwt-dev python3 gnuplot-nox
cmake --preset release -DJWTGUARD_BUILD_BENCH=ON >/dev/null
cmake --build --preset release --target jwtguard_bench
report=build/release/bench-report
mkdir -p "$report"
build/release/bench/jwtguard_bench --benchmark_repetitions=5 \
  --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="$report/jwtguard_bench.json" --benchmark_out_format=json "$@"
echo
parts=build/release/optional-parts.txt
python3 scripts/bench_report.py "$report/jwtguard_bench.json" "$report" "$parts"
redis_part="Redis mirror (tests, benchmark, example's --redis)"
if [ $# -eq 0 ]; then
  if grep -qF "$redis_part: built" "$parts"; then
    cmake --build --preset release --target jwtguard_bench_redis
    build/release/bench/jwtguard_bench_redis --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true \
      --benchmark_out="$report/jwtguard_bench_redis.json" --benchmark_out_format=json
  else
    echo "Redis mirror benchmark: not measured: $(grep -F "$redis_part" "$parts" | sed 's/.*not built: //')"
  fi
fi
scripts/summary.sh build/release
