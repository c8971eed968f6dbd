#!/usr/bin/env bash
# Says, at the end of a run, what did not run and why: every optional part a
# build tree left out (its optional-parts.txt, written at configure) and every
# test ctest skipped (from the ctest logs given).
#
#   scripts/summary.sh BUILD_DIR [CTEST_LOG...]
set -uo pipefail
dir=$1
shift
parts="$dir/optional-parts.txt"
lines=()
if [ -f "$parts" ]; then
  while IFS= read -r line; do
    case "$line" in
      *": not built: "*) lines+=("${line/: not built: /: not run: }") ;;
    esac
  done <"$parts"
fi
for log in "$@"; do
  [ -f "$log" ] || continue
  while IFS= read -r line; do
    lines+=("test skipped: $line")
  done < <(grep -E '\*\*\*Skipped|Skipped ' "$log" | sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: //; s/ *\.+ *\*\*\*Skipped.*//' | sort -u)
done
if [ ${#lines[@]} -eq 0 ]; then
  echo "summary ($dir): every optional part was built and nothing was skipped"
else
  echo "summary ($dir): not everything ran:"
  printf '  - %s\n' "${lines[@]}"
fi
