#!/usr/bin/env bash
# Load figures of the nginx module, loopback only, bounded in time: wrk
# against one nginx (Debian's stock binary, one worker) whose locations all
# answer with empty_gif (a content handler, so that the access phase runs):
#   floor          no authentication
#   hs256          auth_jwt, HS256 (JWKS)
#   hs256-cache    the same with auth_jwt_cache (the verified-token cache)
#   rs256          auth_jwt, RS256 (PEM), no cache
#   rs256-cache    the same with auth_jwt_cache
#   hs256-1m       HS256, the journal holding 1,000,000 live revocations
#   auth-request   what open-source nginx users do today: auth_request to a
#                  validating upstream (jwtguard's example server, /me),
#                  with keep-alive upstream connections
#   njs            the other way: an njs script (libnginx-mod-http-js) that
#                  checks the HS256 MAC and exp
# Every location gets the same valid token (the example server's own access
# token for the HS256 ones), so each refusal would show as non-2xx.
#
#   integrations/nginx/load_test.sh [SECONDS per run (default 5)] [ROUNDS (default 5)]
#                                   [CONNECTIONS (default 32)]
#
# This machine is shared and noisy (the same row varies by 10-15% from one
# run to the next), so every row runs once per round, the rows of a round
# in a random order, and the table gives each row's median over the
# rounds. On a 2-core machine wrk (one thread) and nginx (one worker) share
# the cores with the example server: compare the rows of one invocation.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}
rounds=${2:-5}
connections=${3:-32}

scripts/deps.sh nginx-dev nginx-core libnginx-mod-http-js libcpp-httplib-dev wrk curl openssl python3
cmake --preset release >/dev/null
cmake --build --preset release --target jwtguard_nginx_module jwtguard_example_server \
  jwtguard_cli jwtguard_nginx_make_journal >/dev/null
build=build/release
module=$PWD/$build/integrations/nginx/ngx_http_jwtguard_module.so
cli=$build/tools/jwtguard

work=$(mktemp -d)
server_pid=
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The example server, sharing its access-token secret with nginx.
head -c 32 /dev/urandom >"$work/secret"
"$build/examples/jwtguard_example_server" --port 0 --pbkdf2-iterations 1000 --access-ttl 7200 \
  --secret-file "$work/secret" >"$work/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
  grep -q 'listening on' "$work/server.out" && break
  sleep 0.1
done
example_port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.out")
[ -n "$example_port" ] || { cat "$work/server.out"; echo "load_test: example server did not start" >&2; exit 1; }
hs_token=$(curl -sf -X POST "http://127.0.0.1:$example_port/login" \
  -d '{"username":"ada","password":"lovelace"}' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$hs_token" ] || { echo "load_test: login failed" >&2; exit 1; }

# Keys: the secret as a JWKS (kid access-1, as the example server signs),
# and an RSA key pair for an RS256 token with the same claims.
k=$(base64 -w0 <"$work/secret" | tr '+/' '-_' | tr -d '=')
printf '{"keys":[{"kty":"oct","kid":"access-1","alg":"HS256","k":"%s"}]}' "$k" >"$work/hs.jwks"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rsa.pem" 2>/dev/null
openssl pkey -in "$work/rsa.pem" -pubout -out "$work/rsa.pub.pem"
now=$(date +%s)
rs_token=$("$cli" sign --alg RS256 --key-file "$work/rsa.pem" --claims \
  "{\"iss\":\"jwtguard-example\",\"aud\":\"jwtguard-example-api\",\"sub\":\"ada\",\"jti\":\"rs-1\",\"iat\":$now,\"exp\":$((now + 3600))}")

echo "load_test: writing a journal of 1,000,000 live revocations"
"$build/integrations/nginx/jwtguard_nginx_make_journal" "$work/revoked.journal" 1000000

# The njs way: MAC and exp, nothing else (no alg, aud or iss checks).
secret_hex=$(od -An -tx1 -v "$work/secret" | tr -d ' \n')
cat >"$work/jwt.js" <<EOF
const crypto = require('crypto');
const key = Buffer.from('$secret_hex', 'hex');
function check(r) {
    const h = r.headersIn['Authorization'] || '';
    if (!h.startsWith('Bearer ')) return '0';
    const p = h.slice(7).split('.');
    if (p.length !== 3) return '0';
    const mac = crypto.createHmac('sha256', key).update(p[0] + '.' + p[1]).digest('base64url');
    if (mac !== p[2]) return '0';
    const claims = JSON.parse(Buffer.from(p[1], 'base64url').toString());
    if (typeof claims.exp !== 'number' || claims.exp <= Date.now() / 1000) return '0';
    return '1';
}
export default { check };
EOF

port=$(free_port)
common="auth_jwt api; auth_jwt_issuer jwtguard-example; auth_jwt_audience jwtguard-example-api;"
cat >"$work/nginx.conf" <<EOF
load_module $module;
load_module /usr/lib/nginx/modules/ngx_http_js_module.so;
daemon off;
worker_processes 1;
# nginx on the last core, wrk on the first: no migrations between runs.
worker_cpu_affinity $(printf '1%0*d' $(( $(nproc) - 1 )) 0);
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
error_log $work/error.log warn;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  js_import main from $work/jwt.js;
  js_set \$jwt_ok main.check;
  # cpp-httplib serves one keep-alive connection per pool thread (8).
  upstream example { server 127.0.0.1:$example_port; keepalive 8; }
  server {
    listen 127.0.0.1:$port;
    location = /floor { empty_gif; }
    location = /hs256 { $common auth_jwt_key_file $work/hs.jwks; empty_gif; }
    location = /hs256-cache { $common auth_jwt_key_file $work/hs.jwks; auth_jwt_cache 10000; empty_gif; }
    location = /rs256 { $common auth_jwt_key_file $work/rsa.pub.pem; empty_gif; }
    location = /rs256-cache { $common auth_jwt_key_file $work/rsa.pub.pem; auth_jwt_cache 10000; empty_gif; }
    location = /hs256-1m { $common auth_jwt_key_file $work/hs.jwks;
                           auth_jwt_revocation_journal $work/revoked.journal; empty_gif; }
    location = /auth-request { auth_request /_validate; empty_gif; }
    location = /_validate {
      internal;
      proxy_pass http://example/me;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }
    location = /njs { if (\$jwt_ok != "1") { return 401; } empty_gif; }
  }
}
EOF
/usr/sbin/nginx -p "$work" -c "$work/nginx.conf" &
nginx_pid=$!
for _ in $(seq 600); do
  curl -s -o /dev/null "http://127.0.0.1:$port/floor" && break
  sleep 0.1
done

# Every location accepts its token before anything is measured.
declare -A token=([floor]=$hs_token [hs256]=$hs_token [hs256-cache]=$hs_token [rs256]=$rs_token [rs256-cache]=$rs_token
                  [hs256-1m]=$hs_token [auth-request]=$hs_token [njs]=$hs_token)
rows=(floor hs256 hs256-cache rs256 rs256-cache hs256-1m auth-request njs)
# LOAD_ROWS="hs256 njs" measures only those (and the floor).
[ -n "${LOAD_ROWS:-}" ] && read -r -a rows <<<"floor $LOAD_ROWS"
for row in "${rows[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token[$row]}" \
    "http://127.0.0.1:$port/$row")
  [ "$code" = 200 ] || { echo "load_test: /$row answered $code"; cat "$work/error.log"; exit 1; }
done

# The worker's CPU time (user + system, in clock ticks) is read around each
# run: microseconds of worker CPU per request is what a row costs nginx, and
# it varies far less from run to run than requests/s do here.
worker_pid=$(pgrep -P "$nginx_pid" | head -1)
ticks=$(getconf CLK_TCK)
worker_ticks() { awk '{print $14 + $15}' "/proc/$worker_pid/stat"; }
declare -A rps p99 errors cpu ratio cpu_ratio
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# wrk's latency with its unit, in milliseconds.
to_ms() { awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v = v; else if ($1 ~ /s$/) v *= 1000; print v}'; }
# One wrk run of a row; sets last_rps and last_cpu (us of worker CPU per request).
run() {  # row
  local row=$1 before after out requests
  before=$(worker_ticks)
  out=$(taskset -c 0 wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer ${token[$row]}" "http://127.0.0.1:$port/$row")
  after=$(worker_ticks)
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  last_rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  last_cpu=$(awk -v t=$((after - before)) -v hz="$ticks" -v n="$requests" \
    'BEGIN {printf "%.3f", t * 1e6 / hz / n}')
  rps[$row]+="$last_rps "
  cpu[$row]+="$last_cpu "
  p99[$row]+="$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms) "
  errors[$row]=$(( ${errors[$row]:-0} + $(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0) ))
}
# Each row runs right after a floor run, and is compared with it: the load
# of the machine's neighbours changes slowly next to a few seconds.
for round in $(seq "$rounds"); do
  for row in $(printf '%s\n' "${rows[@]:1}" | shuf); do
    run floor
    floor_rps=$last_rps
    floor_cpu=$last_cpu
    run "$row"
    ratio[$row]+="$(awk -v a="$last_rps" -v b="$floor_rps" 'BEGIN {print a / b}') "
    cpu_ratio[$row]+="$(awk -v a="$last_cpu" -v b="$floor_cpu" 'BEGIN {print b / a}') "
  done
  echo "load_test: round $round of $rounds done"
done
ratio[floor]=1
cpu_ratio[floor]=1

declare -A rps_median p99_median cpu_median ratio_median cpu_ratio_median
for row in "${rows[@]}"; do
  for v in rps cpu p99 ratio cpu_ratio; do
    declare -n values=$v
    declare -n out=${v}_median
    out[$row]=$(tr ' ' '\n' <<<"${values[$row]}" | grep . | median)
    unset -n values out
  done
done
echo
echo "| location | requests/s (median) | of the floor (paired, median) | p99 latency (median) | worker CPU per request (median) | floor's CPU / this row's (paired, median) | non-2xx |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
  printf '| /%s | %.0f | %.1f%% | %.2f ms | %.2f us | %.1f%% | %s |\n' "$row" "${rps_median[$row]}" \
    "$(awk -v r="${ratio_median[$row]}" 'BEGIN {print 100 * r}')" "${p99_median[$row]}" \
    "${cpu_median[$row]}" "$(awk -v r="${cpu_ratio_median[$row]}" 'BEGIN {print 100 * r}')" \
    "${errors[$row]}"
done
echo
[ -n "${rps_median[auth-request]:-}" ] && [ -n "${rps_median[njs]:-}" ] &&
awk -v hs="${rps_median[hs256]}" -v ar="${rps_median[auth-request]}" -v njs="${rps_median[njs]}" \
  -v rs="${rps_median[rs256-cache]}" 'BEGIN {
  printf "auth_jwt HS256 against auth_request: %.2fx; against njs: %.2fx (RS256 cached: %.2fx, %.2fx)\n",
    hs / ar, hs / njs, rs / ar, rs / njs }'
echo "($connections connections; $rounds rounds, each row ${seconds} s right after ${seconds} s of the floor; wrk -t1 on core 0; nginx worker_processes 1 on the last core; $(nproc) cores)"
echo "(the worker CPU of /auth-request leaves out the example server's, which validates)"
