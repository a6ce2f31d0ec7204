#!/usr/bin/env bash
# Side-by-side throughput of ferry against nginx and HAProxy, all in front of the same nginx
# backend on loopback, plus ferry's peak RSS during a 20 MiB slow-client download.
#
#   bash bench/run.sh            # about 2.5 min (3 rounds of 6 targets × 6 s, then 3 slow downloads)
#   ROUNDS=5 DURATION=10s bash bench/run.sh

#
# Needs wrk, nginx, haproxy, curl (installed with apt-get when missing), node (to pick free
# ports) and the repo's npm install (deno, bun). Every process it starts is killed by PID on
# exit. Loopback only. Not part of CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-3}
SLOW_RATE=${SLOW_RATE:-4M}          # curl --limit-rate for the slow client (20 MiB → ~5 s)
DENO=$ROOT/node_modules/.bin/deno
BUN=$ROOT/node_modules/.bin/bun

need=()
for tool in wrk nginx haproxy curl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$DENO" ] && [ -x "$BUN" ] || { echo "run npm install first (needs node_modules/.bin/deno and bun)"; exit 1; }

WORK=$(mktemp -d /tmp/ferry-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits (bounded) until something accepts connections on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2
  return 1
}

# ---------------------------------------------------------------- backend: nginx
BACKEND_PORT=$(free_port)
mkdir -p "$WORK/www" "$WORK/nginx-tmp"
head -c $((20 * 1024 * 1024)) /dev/urandom > "$WORK/www/big.bin"
BIG_SHA=$(sha256sum "$WORK/www/big.bin" | cut -d' ' -f1)

nginx_conf() { # $1 = name, $2 = server block body
  cat > "$WORK/$1.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/$1.pid;
error_log $WORK/$1.error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-tmp/$1-body;
  proxy_temp_path $WORK/nginx-tmp/$1-proxy;
  fastcgi_temp_path $WORK/nginx-tmp/$1-fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/$1-uwsgi;
  scgi_temp_path $WORK/nginx-tmp/$1-scgi;
  keepalive_requests 10000000;
  $2
}
EOF
}

nginx_conf backend "
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location = / { default_type text/plain; return 200 'hello world\n'; }
    location = /big { alias $WORK/www/big.bin; default_type application/octet-stream; }
  }"
"$NGINX" -c "$WORK/backend.conf" -e "$WORK/backend.stderr.log" & PIDS+=($!)
wait_port "$BACKEND_PORT"

# ---------------------------------------------------------------- proxies
NGINX_PORT=$(free_port)
nginx_conf proxy "
  upstream app { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
  }"
"$NGINX" -c "$WORK/proxy.conf" -e "$WORK/proxy.stderr.log" & PIDS+=($!)

HAPROXY_PORT=$(free_port)
cat > "$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend web
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend app
backend app
  server s1 127.0.0.1:$BACKEND_PORT
EOF
"$HAPROXY" -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 & PIDS+=($!)

cat > "$WORK/ferry.yaml" <<EOF
log: { access: "off" }
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: app
backends:
  app:
    servers: [ "127.0.0.1:$BACKEND_PORT" ]
EOF

if [ ! -x dist/ferry ] || [ -n "$(find main.ts lib -newer dist/ferry -name '*.ts' | head -1)" ]; then
  echo "building dist/ferry"
  "$BUN" build --compile --minify --bytecode --format=esm main.ts --outfile dist/ferry >/dev/null
fi

declare -A FERRY_PID FERRY_PORT
start_ferry() { # $1 = label, rest = command
  local label=$1; shift
  "$@" --config "$WORK/ferry.yaml" > "$WORK/ferry-$label.out" 2> "$WORK/ferry-$label.err" & local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    local port
    port=$(sed -n 's/^ferry: listener "web" (http) listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/ferry-$label.out")
    if [ -n "$port" ]; then FERRY_PID[$label]=$pid; FERRY_PORT[$label]=$port; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "ferry ($label) did not start:"; cat "$WORK/ferry-$label.out" "$WORK/ferry-$label.err"; exit 1
}
start_ferry deno "$DENO" run -A main.ts
start_ferry bun "$BUN" main.ts
start_ferry binary "$ROOT/dist/ferry"
wait_port "$NGINX_PORT"; wait_port "$HAPROXY_PORT"

# ---------------------------------------------------------------- wrk
rps() { # $1 = port → requests/sec (after a 1 s warm-up)
  wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$1/" >/dev/null 2>&1 || true
  wrk -t1 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$1/" > "$WORK/wrk.out" 2>&1
  local errors
  errors=$(grep -E "Non-2xx|Socket errors" "$WORK/wrk.out" || true)
  [ -z "$errors" ] || echo "  ($errors)" >&2
  awk '/^Requests\/sec:/ { printf "%d", $2 }' "$WORK/wrk.out"
}

echo
echo "wrk -t1 -c$CONNS -d$DURATION, 12-byte body, loopback, $(nproc) CPUs shared by wrk, proxy and backend"
echo "median of $ROUNDS interleaved rounds (this VM's neighbours make single runs vary by ±30 %)"
TARGETS=("direct:$BACKEND_PORT" "nginx proxy:$NGINX_PORT" "haproxy:$HAPROXY_PORT" "ferry deno:${FERRY_PORT[deno]}"
  "ferry bun:${FERRY_PORT[bun]}" "ferry binary:${FERRY_PORT[binary]}")
declare -A SAMPLES
for round in $(seq 1 "$ROUNDS"); do
  for target in "${TARGETS[@]}"; do
    SAMPLES[${target%:*}]+="$(rps "${target##*:}") "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
DIRECT=$(echo "${SAMPLES[direct]}" | median)
printf '%-22s %10s %10s   %s\n' target rps "vs direct" "all rounds"
for target in "${TARGETS[@]}"; do
  name=${target%:*}
  r=$(echo "${SAMPLES[$name]}" | median)
  printf '%-22s %10s %10s   %s\n' "$name" "$r" "$(awk -v a="$r" -v b="$DIRECT" 'BEGIN { printf "%.2f", a / b }')" "${SAMPLES[$name]}"
done

# ---------------------------------------------------------------- slow client
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

echo
echo "20 MiB through a slow client (curl --limit-rate $SLOW_RATE), ferry VmRSS sampled every 0.1 s"
printf '%-14s %10s %10s %10s  %s\n' ferry "base MB" "peak MB" "time s" "sha256"
for label in deno bun binary; do
  pid=${FERRY_PID[$label]}; port=${FERRY_PORT[$label]}
  base=$(rss_kb "$pid"); peak=$base
  start=$(date +%s.%N)
  curl -s --max-time 60 --limit-rate "$SLOW_RATE" -o "$WORK/slow.bin" "http://127.0.0.1:$port/big" & curl_pid=$!
  PIDS+=("$curl_pid")
  while kill -0 "$curl_pid" 2>/dev/null; do
    now=$(rss_kb "$pid"); [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.1
  done
  wait "$curl_pid" || true
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  ok=$([ "$(sha256sum "$WORK/slow.bin" | cut -d' ' -f1)" = "$BIG_SHA" ] && echo identical || echo DIFFERS)
  printf '%-14s %10.1f %10.1f %10s  %s\n' "$label" "$(awk -v k="$base" 'BEGIN { print k / 1024 }')" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$secs" "$ok"
done
