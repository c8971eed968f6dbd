#!/usr/bin/env bash
# Load test of the example server with wrk, loopback only, bounded in time:
# GET /public (no validation) against GET /me (validate a Bearer token from a
# pool of 64 valid ones, then answer its claims), first with an empty
# denylist, then with 1,000,000 live revocations. Prints requests/s of each
# and the cost jwtguard adds per request.
#
#   examples/http_server/load_test.sh [SECONDS per run (default 10)] [CONNECTIONS (default 4)]
#
# cpp-httplib serves one keep-alive connection per pool thread (8), so keep
# CONNECTIONS at most 8. On a 2-core machine wrk and the server share the
# cores: compare the runs of one invocation, not absolute figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-4}

scripts/deps.sh libcpp-httplib-dev wrk curl
cmake --preset release >/dev/null
cmake --build --preset release --target jwtguard_example_server >/dev/null
server_bin=build/release/examples/jwtguard_example_server

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {  # extra args...
  "$server_bin" --port 0 --pbkdf2-iterations 1000 "$@" >"$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    grep -q 'listening on' "$work/server.out" && break
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.out")
  [ -n "$port" ] || { cat "$work/server.out"; echo "load_test: server did not start" >&2; exit 1; }
  : >"$work/tokens"
  for i in $(seq 64); do
    users=(ada:lovelace alan:turing grace:hopper)
    IFS=: read -r user password <<<"${users[$((i % 3))]}"
    # The reply has no final newline, nor then does sed's output.
    { curl -sf -X POST "http://127.0.0.1:$port/login" \
        -d "{\"username\":\"$user\",\"password\":\"$password\"}" |
        sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'; echo; } >>"$work/tokens"
  done
  [ "$(wc -l <"$work/tokens")" -eq 64 ] || { echo "load_test: login failed" >&2; exit 1; }
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=
}

cat >"$work/tokens.lua" <<'EOF'
local tokens = {}
for line in io.lines(os.getenv("JWTGUARD_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
done = function(summary)
  io.write(string.format("RESULT %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
    summary.errors.status, summary.requests))
end
EOF

run() {  # label path
  local out
  out=$(JWTGUARD_TOKENS=$work/tokens wrk -t1 -c"$connections" -d"${seconds}s" \
    -s "$work/tokens.lua" "http://127.0.0.1:$port$2")
  read -r _ rps non2xx total <<<"$(grep '^RESULT' <<<"$out")"
  if [ "$non2xx" -ne 0 ]; then
    echo "load_test: $non2xx of $total responses to $2 were not 2xx" >&2
    exit 1
  fi
  printf '%-44s %10.0f req/s  (%d requests)\n' "$1" "$rps" "$total"
  eval "rps_$3=$rps"
}

echo "wrk: 1 thread, $connections connections, ${seconds}s per run, loopback"
start_server
run "GET /public (no validation)" /public public
run "GET /me (validate, empty denylist)" /me me
stop_server
start_server --revoked 1000000
run "GET /me (validate, 1,000,000 revoked)" /me me_1m
run "GET /public (no validation, 1M loaded)" /public public_1m
stop_server

awk -v p="$rps_public" -v m="$rps_me" -v pm="$rps_public_1m" -v m1="$rps_me_1m" 'BEGIN {
  printf "per-request cost of jwtguard (1/rps difference): %.2f us empty, %.2f us with 1M revoked\n",
    1e6 / m - 1e6 / p, 1e6 / m1 - 1e6 / pm
}'
