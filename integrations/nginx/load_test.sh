#!/usr/bin/env bash
# Load figures of the nginx module, loopback only, bounded in time: wrk
# against one nginx (Debian's stock binary, one worker) whose locations all
# answer with empty_gif (a content handler, so that the access phase runs):
#   floor          no authentication
#   hs256          auth_jwt, HS256 (JWKS)
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
#   integrations/nginx/load_test.sh [SECONDS per run (default 10)] [CONNECTIONS (default 32)]
#
# On a 2-core machine wrk (one thread) and nginx (one worker) share the
# cores with the example server: compare the rows of one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-32}

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
"$build/examples/jwtguard_example_server" --port 0 --pbkdf2-iterations 1000 \
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
  upstream example { server 127.0.0.1:$example_port; keepalive 32; }
  server {
    listen 127.0.0.1:$port;
    location = /floor { empty_gif; }
    location = /hs256 { $common auth_jwt_key_file $work/hs.jwks; empty_gif; }
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
declare -A token=([floor]=$hs_token [hs256]=$hs_token [rs256]=$rs_token [rs256-cache]=$rs_token
                  [hs256-1m]=$hs_token [auth-request]=$hs_token [njs]=$hs_token)
rows=(floor hs256 rs256 rs256-cache hs256-1m auth-request njs)
for row in "${rows[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token[$row]}" \
    "http://127.0.0.1:$port/$row")
  [ "$code" = 200 ] || { echo "load_test: /$row answered $code"; cat "$work/error.log"; exit 1; }
done

declare -A rps p99 errors
for row in "${rows[@]}"; do
  out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer ${token[$row]}" "http://127.0.0.1:$port/$row")
  rps[$row]=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99[$row]=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors[$row]=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "load_test: /$row: ${rps[$row]} requests/s, p99 ${p99[$row]}"
done

echo
echo "| location | requests/s | of the floor | p99 latency | non-2xx |"
echo "| --- | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
  share=$(awk -v a="${rps[$row]}" -v b="${rps[floor]}" 'BEGIN {printf "%.1f%%", 100 * a / b}')
  echo "| /$row | ${rps[$row]} | $share | ${p99[$row]} | ${errors[$row]:-0} |"
done
echo
awk -v hs="${rps[hs256]}" -v ar="${rps[auth-request]}" -v njs="${rps[njs]}" 'BEGIN {
  printf "auth_jwt HS256 against auth_request: %.2fx; against njs: %.2fx\n", hs / ar, hs / njs }'
echo "($connections connections, ${seconds} s per row, wrk -t1, nginx worker_processes 1, $(nproc) cores)"
