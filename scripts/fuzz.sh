#!/usr/bin/env bash
# Fuzz campaign: builds the libFuzzer targets (preset "fuzz": clang 14,
# ASan + UBSan), runs one target or all of them for SECONDS each, two at a
# time (this machine has 2 cores; set FUZZ_JOBS), and prints per target:
# executions, executions/s, coverage (cov: edges, ft: features) and corpus
# growth. Exits non-zero if any target found a crash, leak, timeout or OOM.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      e.g. scripts/fuzz.sh all 600
#
# Each target starts from the seeds in fuzz/corpus/<target> (which a
# campaign never writes) plus its working corpus build/fuzz/corpus/<target>,
# which keeps growing across runs. Findings land in
# build/fuzz/findings/<target>/ with the full log in
# build/fuzz/logs/<target>.log. With FUZZ_MERGE=1, after the campaign, the
# inputs of the working corpus that add coverage are merged into
# fuzz/corpus/<target>, to commit.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(base64url json_reader header claims validate signature_differential jwks denylist journal redis)
which=${1:-all}
seconds=${2:-60}
jobs=${FUZZ_JOBS:-2}
# libFuzzer reads -max_total_time=0 as "no limit": refuse it.
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive integer" >&2; exit 2; }
if [ "$which" != all ]; then
  [[ " ${targets[*]} " == *" $which "* ]] || { echo "fuzz: unknown target '$which' (${targets[*]})" >&2; exit 2; }
  targets=("$which")
fi

scripts/deps.sh clang-14 libclang-rt-14-dev libhiredis-dev
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz >/dev/null

out=build/fuzz
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
# halt_on_error: the one recoverable check (see fuzz/CMakeLists.txt) still
# stops the run unless fuzz/ubsan.supp names it.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan.supp

run_one() {
  local t=$1 seconds=$2 out=$3
  local corpus=$out/corpus/$t findings=$out/findings/$t log=$out/logs/$t.log
  mkdir -p "$corpus" "$findings" "$out/logs"
  local args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
              -max_len=9000 -artifact_prefix="$findings/")
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  rm -f "$out/logs/$t.result"
  local before; before=$(find "$corpus" fuzz/corpus/"$t" -type f | wc -l)
  local rc=0
  "$out/fuzz/fuzz_$t" "${args[@]}" "$corpus" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  local after; after=$(find "$corpus" fuzz/corpus/"$t" -type f | wc -l)
  echo "$rc $before $after" >"$out/logs/$t.result"
}
export -f run_one

printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$out"

status=0
printf '\n%-20s %12s %9s %7s %7s %15s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
  rc=1 before=? after=?
  [ -f "$out/logs/$t.result" ] && read -r rc before after <"$out/logs/$t.result"
  log=$out/logs/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  line=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov:' | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$line")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$line")
  rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$line")
  found=$(find "$out/findings/$t" -type f | wc -l)
  result=ok
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    result="FAILED (rc $rc, $found finding(s) in $out/findings/$t, log $log)"
    status=1
  fi
  printf '%-20s %12s %9s %7s %7s %15s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$before -> $after" "$result"
done

if [ "${FUZZ_MERGE:-0}" = 1 ]; then
  for t in "${targets[@]}"; do
    "$out/fuzz/fuzz_$t" -merge=1 -max_len=9000 "fuzz/corpus/$t" "$out/corpus/$t" >>"$out/logs/$t.log" 2>&1
    echo "merged $t: $(find fuzz/corpus/"$t" -type f | wc -l) files in fuzz/corpus/$t"
  done
fi
exit $status
