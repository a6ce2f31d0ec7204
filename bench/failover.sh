#!/usr/bin/env bash
# Failover under load: three backends (A, B, C) behind ferry (round_robin, passive
# fail_timeout 2s), `wrk -t2 -c50 -d20s` through ferry; 5 s in, backend B is SIGKILLed, 12 s in
# it is started again on the same port. Reports per run: requests, errors the clients saw
# (wrk socket errors + non-2xx responses), the time from the kill to ferry's first log line
# marking B down (detect), and the time from B listening again to B serving its first proxied
# request (recover).
#
#   bash bench/failover.sh                      # deno; health passive and active; retries 2 and 0: 4 runs, ~1.5 min
#   RUNTIMES="deno bun binary" bash bench/failover.sh   # ferry on each (binary = dist/ferry, rebuilt when stale): 12 runs
#   HEALTH=passive RETRIES=0 bash bench/failover.sh     # a single run
#
# Knobs (environment):
#   RUNTIMES         ferry to run: deno (deno run -A main.ts), bun (bun main.ts), binary (dist/ferry). Default: deno
#   HEALTH           passive = passive checks only; active = also `health: { type: http, path: /__health,
#                    interval: 500ms, timeout: 500ms, fall: 1, rise: 2 }`. Default: "passive active"
#   RETRIES          "default" (key omitted: servers - 1 = 2) and/or numbers. Default: "default 0"
#   DURATION         wrk run, seconds (default 20); KILL_AT (5) and RESTART_AT (12) are seconds after wrk starts
#   BACKEND_RUNTIME  bun (default) or deno, for bench/failover_backend.ts
#   KEEP=1           keep the temp dir (configs, stamped ferry stderr, wrk output) and print its path
#
# Needs wrk (with LuaJIT; bench/failover.lua counts non-2xx responses and their times), node (to
# pick free ports) and the repo's npm install. Loopback only. Every process it starts is recorded
# by PID and stopped on exit (SIGTERM, SIGKILL after 5 s), on Ctrl-C and on failure too.
# Not part of CI: the figures depend on the machine's load.
set -euo pipefail
export LC_ALL=C  # EPOCHREALTIME must use a "." decimal separator
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

RUNTIMES=${RUNTIMES:-deno}
HEALTH=${HEALTH:-passive active}
RETRIES=${RETRIES:-default 0}
DURATION=${DURATION:-20}
KILL_AT=${KILL_AT:-5}
RESTART_AT=${RESTART_AT:-12}
BACKEND_RUNTIME=${BACKEND_RUNTIME:-bun}
THREADS=2
CONNS=50
DENO=$ROOT/node_modules/.bin/deno
BUN=$ROOT/node_modules/.bin/bun

die() { echo "failover.sh: $*" >&2; exit 1; }

command -v wrk >/dev/null 2>&1 || die "cannot find wrk on PATH: install it (apt-get install wrk) and run again"
command -v node >/dev/null 2>&1 || die "cannot find node on PATH (used to pick free ports)"
command -v curl >/dev/null 2>&1 || die "cannot find curl on PATH (used to read the backends' request counters)"
[ -x "$DENO" ] && [ -x "$BUN" ] || die "cannot find node_modules/.bin/deno and bun: run npm install first"
[[ "$DURATION" =~ ^[0-9]+$ && "$KILL_AT" =~ ^[0-9]+$ && "$RESTART_AT" =~ ^[0-9]+$ ]] || die "DURATION, KILL_AT and RESTART_AT must be whole seconds"
(( KILL_AT < RESTART_AT && RESTART_AT < DURATION )) || die "need KILL_AT < RESTART_AT < DURATION, got $KILL_AT, $RESTART_AT, $DURATION"
for rt in $RUNTIMES; do [[ "$rt" =~ ^(deno|bun|binary)$ ]] || die "unknown runtime \"$rt\" in RUNTIMES (use deno, bun, binary)"; done
for h in $HEALTH; do [[ "$h" =~ ^(passive|active)$ ]] || die "unknown health mode \"$h\" in HEALTH (use passive, active)"; done
for r in $RETRIES; do [[ "$r" =~ ^(default|[0-9]+)$ ]] || die "unknown retries \"$r\" in RETRIES (use default or a number)"; done
case $BACKEND_RUNTIME in
  bun) BACKEND_CMD=("$BUN" bench/failover_backend.ts) ;;
  deno) BACKEND_CMD=("$DENO" run -A bench/failover_backend.ts) ;;
  *) die "unknown BACKEND_RUNTIME \"$BACKEND_RUNTIME\" (use bun or deno)" ;;
esac

WORK=$(mktemp -d /tmp/ferry-failover.XXXXXX)
# PID -> label of every process started and not yet reaped. A reaped PID is removed at once, so
# that a later kill can never hit an unrelated process that got the same number.
declare -A LIVE=()

stop_pid() { # $1 = pid: SIGTERM, up to 5 s, then SIGKILL; reaps it
  local pid=$1
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "LIVE[$pid]"
}

cleanup() {
  local pid
  for pid in "${!LIVE[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${!LIVE[@]}"; do stop_pid "$pid"; done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# NOW = wall clock in epoch milliseconds (no fork: EPOCHREALTIME is "seconds.microseconds").
now_ms() { local t=${EPOCHREALTIME/./}; NOW=$((10#$t / 1000)); }

sleep_until() { # $1 = epoch ms
  now_ms
  local left=$(($1 - NOW))
  if ((left > 0)); then sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"; fi
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_line() { # $1 = file, $2 = extended regex, $3 = pid that must stay alive, $4 = what; waits up to 20 s
  for _ in $(seq 1 200); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "failover.sh: $4 did not start; its output:" >&2
  cat "$1" "${1%.out}.err" 2>/dev/null >&2 || true
  exit 1
}

# Prefixes each line of stdin with the epoch ms it was read at (ferry's log lines carry no time).
stamp() {
  local line t
  while IFS= read -r line; do t=${EPOCHREALTIME/./}; printf '%d %s\n' $((10#$t / 1000)) "$line"; done
}

start_backend() { # $1 = name, $2 = port, $3 = output file stem; sets BPID
  "${BACKEND_CMD[@]}" "$1" "$2" > "$3.out" 2> "$3.err" & BPID=$!
  LIVE[$BPID]="backend $1"
  wait_line "$3.out" '^listening [0-9]+$' "$BPID" "backend $1 (port $2)"
}

ferry_cmd() { # $1 = runtime
  case $1 in
    deno) FERRY_CMD=("$DENO" run -A main.ts) ;;
    bun) FERRY_CMD=("$BUN" main.ts) ;;
    binary)
      if [ ! -x dist/ferry ] || [ -n "$(find main.ts lib -newer dist/ferry -name '*.ts' | head -1)" ]; then
        echo "building dist/ferry (missing or older than the sources)"
        "$BUN" build --compile --minify --bytecode --format=esm main.ts --outfile dist/ferry >/dev/null
      fi
      FERRY_CMD=("$ROOT/dist/ferry") ;;
  esac
}

field() { # $1 = key, $2 = FAILOVER line
  sed -n "s/.* $1=\([0-9-]*\).*/\1/p" <<<"$2"
}

ROWS=()
DETAILS=()

run_one() { # $1 = runtime, $2 = passive|active, $3 = retries ("default" or a number)
  local rt=$1 health=$2 retries=$3
  local dir="$WORK/$rt-$health-$retries"
  mkdir -p "$dir"
  local -A bport=() bpid=()
  local name
  for name in a b c; do bport[$name]=$(free_port); done
  local pa=${bport[a]} pb=${bport[b]} pc=${bport[c]}
  start_backend a "$pa" "$dir/a"; bpid[a]=$BPID
  start_backend b "$pb" "$dir/b1"; bpid[b]=$BPID
  start_backend c "$pc" "$dir/c"; bpid[c]=$BPID

  {
    echo 'log: { access: "off" }'
    echo 'listeners:'
    echo '  - name: web'
    echo '    listen: "127.0.0.1:0"'
    echo '    backend: app'
    echo 'backends:'
    echo '  app:'
    echo '    balance: round_robin'
    [ "$retries" = default ] || echo "    retries: $retries"
    echo '    passive: { max_fails: 1, fail_timeout: 2s }'
    [ "$health" = passive ] || echo '    health: { type: http, path: /__health, interval: 500ms, timeout: 500ms, fall: 1, rise: 2 }'
    echo "    servers: [ \"127.0.0.1:$pa\", \"127.0.0.1:$pb\", \"127.0.0.1:$pc\" ]"
  } > "$dir/ferry.yaml"

  # ferry's stderr goes through a FIFO to the stamper, so both have their own PID to stop.
  mkfifo "$dir/ferry.fifo"
  stamp < "$dir/ferry.fifo" > "$dir/ferry.err" & local spid=$!
  LIVE[$spid]="stderr stamper"
  ferry_cmd "$rt"
  "${FERRY_CMD[@]}" --config "$dir/ferry.yaml" > "$dir/ferry.out" 2> "$dir/ferry.fifo" & local fpid=$!
  LIVE[$fpid]="ferry ($rt)"
  wait_line "$dir/ferry.out" '^ferry: listener "web" \(http\) listening on 127\.0\.0\.1:[0-9]+$' "$fpid" "ferry ($rt)"
  local port
  port=$(sed -n 's/^ferry: listener "web" (http) listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/ferry.out")

  now_ms; local t0=$NOW
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s bench/failover.lua "http://127.0.0.1:$port/" > "$dir/wrk.out" 2>&1 & local wpid=$!
  LIVE[$wpid]="wrk"

  sleep_until $((t0 + KILL_AT * 1000))
  now_ms; local kill_ms=$NOW
  kill -9 "${bpid[b]}"
  wait "${bpid[b]}" 2>/dev/null || true
  unset "LIVE[${bpid[b]}]"

  sleep_until $((t0 + RESTART_AT * 1000))
  now_ms; local restart_ms=$NOW
  start_backend b "$pb" "$dir/b2"; bpid[b]=$BPID

  # wrk stops by itself after DURATION (plus its 2 s request timeout); bound the wait anyway.
  # Meanwhile, once B has served again, snapshot A's and C's counters: B's share of the
  # requests from then on shows whether round robin gives it its third again.
  local deadline=$((t0 + (DURATION + 15) * 1000)) a_back="" c_back=""
  while kill -0 "$wpid" 2>/dev/null; do
    now_ms; ((NOW < deadline)) || { echo "failover.sh: wrk did not finish, stopping it" >&2; break; }
    if [ -z "$a_back" ] && grep -q '^first ' "$dir/b2.out"; then
      a_back=$(curl -s --max-time 2 "http://127.0.0.1:$pa/__count" || echo "?")
      c_back=$(curl -s --max-time 2 "http://127.0.0.1:$pc/__count" || echo "?")
    fi
    sleep 0.05
  done
  stop_pid "$wpid"

  local -A count=()
  for name in a b c; do count[$name]=$(curl -s --max-time 5 "http://127.0.0.1:${bport[$name]}/__count" || echo "?"); done
  stop_pid "$fpid"
  stop_pid "$spid"
  for name in a b c; do stop_pid "${bpid[$name]}"; done

  local summary
  summary=$(grep '^FAILOVER ' "$dir/wrk.out" || true)
  if [ -z "$summary" ]; then
    echo "failover.sh: wrk printed no summary; its output:" >&2; cat "$dir/wrk.out" >&2; exit 1
  fi
  local requests non2xx sock first_err last_err
  requests=$(field requests "$summary"); non2xx=$(field non2xx "$summary")
  sock=$(($(field connect "$summary") + $(field read "$summary") + $(field write "$summary") + $(field timeout "$summary")))
  first_err=$(field first_err_ms "$summary"); last_err=$(field last_err_ms "$summary")

  # detect: first stamped stderr line after the kill that marks B down (passive or active).
  local down_line detect="-" how="-"
  down_line=$(awk -v k="$kill_ms" -v s="server \"127.0.0.1:$pb\"" \
    '$1 >= k && index($0, s) && ($0 ~ / marked down for / || $0 ~ / is down: /) { print; exit }' "$dir/ferry.err")
  if [ -n "$down_line" ]; then
    detect=$((${down_line%% *} - kill_ms))
    if [[ "$down_line" == *" is down: "* ]]; then how="active"; else how="passive"; fi
  fi
  # recover: from B listening again to B serving its first proxied request.
  local listen2 first2 recover="never"
  listen2=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$dir/b2.out")
  first2=$(sed -n 's/^first \([0-9]*\)$/\1/p' "$dir/b2.out")
  [ -z "$first2" ] || recover=$((first2 - listen2))
  local active_down="-"
  if [ "$health" = active ]; then
    active_down=$(awk -v k="$kill_ms" -v s="server \"127.0.0.1:$pb\" is down" '$1 >= k && index($0, s) { print $1 - k; exit }' "$dir/ferry.err")
    active_down="${active_down:-never} ms after the kill"
  fi
  local up_line up="-"
  up_line=$(awk -v k="$restart_ms" -v s="server \"127.0.0.1:$pb\" is up: health check" '$1 >= k && index($0, s) { print; exit }' "$dir/ferry.err")
  [ -z "$up_line" ] || up=$((${up_line%% *} - listen2))
  # Every request ferry fails is logged as "web: ...": grouped into bursts (a gap of 500 ms
  # starts a new one), as "ms after the kill:count", they show when clients got errors.
  local failed_logged bursts
  failed_logged=$(grep -c '^[0-9]* ferry: web: ' "$dir/ferry.err" || true)
  bursts=$(awk -v k="$kill_ms" '$2 == "ferry:" && $3 == "web:" {
      if (n == 0 || $1 - last > 500) { if (n) printf "%s ", out; out = "+" ($1 - k) ":"; c = 0 }
      c++; n++; last = $1; sub(/:[0-9]*$/, ":" c, out) }
    END { if (n) print out; else print "none" }' "$dir/ferry.err")
  local share="-"
  if [ -n "$a_back" ] && [[ "${count[a]}${count[b]}${count[c]}$a_back$c_back" =~ ^[0-9]+$ ]]; then
    share=$(awk -v a=$((count[a] - a_back)) -v b="${count[b]}" -v c=$((count[c] - c_back)) \
      'BEGIN { if (a + b + c > 0) printf "%.0f %%", 100 * b / (a + b + c); else print "-" }')
  fi
  local window="-"
  ((first_err == 0)) || window="$((first_err - kill_ms))..$((last_err - kill_ms))"

  local rlabel=$retries
  [ "$retries" != default ] || rlabel="2 (default)"
  ROWS+=("$(printf '%-7s %-8s %-12s %9s %7s %10s %10s %14s' "$rt" "$health" "$rlabel" "$requests" $((sock + non2xx)) "$detect" "$recover" "$window")")
  DETAILS+=("$rt/$health/retries $rlabel: non-2xx $non2xx ($(field s502 "$summary")×502 $(field s503 "$summary")×503 $(field s504 "$summary")×504 $(field sother "$summary") other), socket errors $sock [$(sed -n 's/.* \(connect=[0-9]* read=[0-9]* write=[0-9]* timeout=[0-9]*\).*/\1/p' <<<"$summary")]; B down first by the $how check (active check's 'is down': $active_down); "\
"B restart took $((listen2 - restart_ms)) ms; 'is up' logged ${up} ms after B listened; served: A ${count[a]}, C ${count[c]}, B after its restart ${count[b]} ($share of all requests since B was back); "\
"ferry logged $failed_logged failed requests, bursts (ms after kill:count): $bursts")
  printf '%s\n' "${ROWS[-1]}"
}

echo "wrk -t$THREADS -c$CONNS -d${DURATION}s through ferry to 3 backends ($BACKEND_RUNTIME node:http); B SIGKILLed at ${KILL_AT}s, restarted at ${RESTART_AT}s"
echo "passive: { max_fails: 1, fail_timeout: 2s }; active adds health { interval: 500ms, timeout: 500ms, fall: 1, rise: 2 }; $(nproc) CPUs shared by everything"
HEADER=$(printf '%-7s %-8s %-12s %9s %7s %10s %10s %14s' runtime health retries requests errors "detect ms" "recover ms" "errors at ms")
echo
echo "$HEADER"
for rt in $RUNTIMES; do
  for health in $HEALTH; do
    for retries in $RETRIES; do
      run_one "$rt" "$health" "$retries"
    done
  done
done
echo
echo "errors = wrk socket errors + non-2xx responses; detect = kill -> ferry's first \"marked down\"/\"is down\" line for B;"
echo "recover = B listening again -> B serving its first proxied request; errors at = first..last non-2xx, ms after the kill"
echo
printf '%s\n' "${DETAILS[@]}"
