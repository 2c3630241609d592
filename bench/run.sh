#!/usr/bin/env bash
# Runs the whole benchmark matrix of BENCHMARKS.md with `netipc bench` and
# writes bench/results/results.csv, results.md and throughput.svg.
#
# Usage: bash bench/run.sh [-d SECONDS] [-o DIR] [SCENARIO...]
#   -d SECONDS   measured duration per scenario (default: $BENCH_DURATION or 2)
#   -o DIR       output directory (default: bench/results)
#   SCENARIO...  only these scenarios (default: every one, `netipc bench list`)
#
# Each server scenario: start `netipc bench server`, wait for its READY
# line, run `netipc bench client` for the duration, stop the server with
# SIGTERM, and merge the server's SERVER_CPU_PCT into the client's CSV line
# (server_cpu_pct, and total_cpu_pct = client + server). In-process
# scenarios run the client alone.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${BENCH_DURATION:-2}"
out_dir="bench/results"
while getopts "d:o:h" opt; do
  case "$opt" in
    d) duration="$OPTARG" ;;
    o) out_dir="$OPTARG" ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

cargo build --release --locked -p netipc-cli >&2
netipc="$PWD/target/release/netipc"
mkdir -p "$out_dir"
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/netipc-bench-run.XXXXXX")"
mkdir -p target
log="$PWD/target/bench-run.log"
: >"$log"
srv_pid=""
cleanup() {
  if [ -n "$srv_pid" ]; then kill -TERM "$srv_pid" 2>/dev/null || true; fi
  rm -rf "$run_dir"
}
trap cleanup EXIT

if [ "$#" -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <("$netipc" bench list | awk '{print $1}')
fi

note="$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) when the run started"
csv="$out_dir/results.csv"
echo "scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct" >"$csv.tmp"
failed=0

# run_with_server SCENARIO CLIENT_CMD...: starts `netipc bench server
# SCENARIO`, waits for READY, runs the client command (which prints one CSV
# line), stops the server with SIGTERM and merges its SERVER_CPU_PCT into
# the line (server_cpu_pct, and total_cpu_pct = client + server). Prints
# the merged line; returns non-zero on failure.
run_with_server() {
  local s="$1"; shift
  local srv ready cpu_line line server_cpu
  exec {srv}< <(exec "$netipc" bench server "$s" --run-dir "$run_dir" --service "$s" --duration 3600 2>>"$log")
  srv_pid=$!
  ready=""
  read -r -t 60 -u "$srv" ready || true
  if [ "$ready" != "READY" ]; then
    kill -TERM "$srv_pid" 2>/dev/null || true; exec {srv}<&-; srv_pid=""
    echo "server not ready" >>"$log"; return 1
  fi
  if ! line="$("$@" 2>>"$log")"; then
    line=""
  fi
  kill -TERM "$srv_pid"
  cpu_line=""
  read -r -t 60 -u "$srv" cpu_line || true
  exec {srv}<&-
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
  [ -n "$line" ] || return 1
  server_cpu="${cpu_line#SERVER_CPU_PCT=}"
  case "$server_cpu" in ''|*[!0-9.]*) server_cpu="0.0" ;; esac
  awk -F, -v OFS=, -v sc="$server_cpu" '{ $9 = sprintf("%.1f", sc); $10 = sprintf("%.1f", $8 + sc); print }' <<<"$line"
}

record() {
  echo "$1" >>"$csv.tmp"
  echo "$1" | awk -F, '{printf "%14.0f/s  p50 %8.3f us  cpu %5.1f%%\n", $4, $5, $10}' >&2
}

for s in "${scenarios[@]}"; do
  kind="$("$netipc" bench list | awk -v s="$s" '$1 == s {print $2}')"
  if [ -z "$kind" ]; then echo "unknown scenario $s" >&2; exit 2; fi
  printf '%-28s ' "$s" >&2
  if [ "$kind" = "in-process" ]; then
    if ! line="$("$netipc" bench client "$s" --duration "$duration" 2>>"$log")"; then
      echo "FAILED (see $log)" >&2; failed=1; continue
    fi
  elif ! line="$(run_with_server "$s" "$netipc" bench client "$s" --run-dir "$run_dir" --service "$s" --duration "$duration")"; then
    echo "FAILED (see $log)" >&2; failed=1; continue
  fi
  record "$line"
done

# The C API client (libnetipc) against the same Rust bench servers, so the
# matrix shows the c/netipc pairs beside netipc/netipc.
if [ "${BENCH_SKIP_C:-0}" != 1 ] && command -v cc >/dev/null 2>&1; then
  cargo build --release --locked -p netipc-c --lib >&2
  c_bench="$PWD/target/release/netipc_bench_c"
  cc -O2 -std=c11 -Wall -Wextra -I crates/netipc-c/include bench/c/netipc_bench_c.c \
    target/release/libnetipc.a -lpthread -ldl -lm -o "$c_bench"
  for s in uds-ping-pong shm-ping-pong snapshot-baseline snapshot-shm; do
    if [ "${#scenarios[@]}" -gt 0 ] && [[ " ${scenarios[*]} " != *" $s "* ]]; then continue; fi
    printf '%-28s ' "$s (c)" >&2
    if ! line="$(run_with_server "$s" "$c_bench" "$s" "$run_dir" "$s" "$duration")"; then
      echo "FAILED (see $log)" >&2; failed=1; continue
    fi
    record "$line"
  done
fi

mv "$csv.tmp" "$csv"
python3 bench/report.py "$csv" "$out_dir/results.md" "$out_dir/throughput.svg" "$duration" "$note"
echo "wrote $csv, $out_dir/results.md, $out_dir/throughput.svg" >&2
exit "$failed"
