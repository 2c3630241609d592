#!/usr/bin/env bash
# Runs the whole benchmark matrix of BENCHMARKS.md with `netipc bench` and
# writes bench/results/results.csv, results.md and throughput.svg.
#
# Usage: bash bench/run.sh [-d SECONDS] [-r REPEATS] [-o DIR] [SCENARIO...]
#   -d SECONDS   measured duration per scenario (default: $BENCH_DURATION or 2)
#   -r REPEATS   runs of every row, interleaved across the rows of a
#                scenario; the row reports the run of median throughput
#                (default: $BENCH_REPEATS or 1)
#   -o DIR       output directory (default: bench/results)
#   SCENARIO...  only these scenarios (default: every one, `netipc bench list`)
#
# Each server scenario: start `netipc bench server`, wait for its READY
# line, run `netipc bench client` for the duration, stop the server with
# SIGTERM, and merge the server's SERVER_CPU_PCT into the client's CSV line
# (server_cpu_pct, and total_cpu_pct = client + server). In-process
# scenarios (`lookup`, `*-lookup-*`) run the client alone. Right after the
# Rust pair of a server scenario come its Go pairs, for every scenario
# go/cmd/netipc-bench lists (all of them): Go client -> Rust server, Rust
# client -> Go server and Go -> Go, labeled in the client and server
# columns (`netipc` is the Rust CLI, `go` the Go program); right after the
# Rust row of an in-process scenario comes the Go program's row (client
# and server `go`). BENCH_GO=0 skips the Go rows. Then the C API client's
# pair (uds-ping-pong, shm-ping-pong, snapshot-baseline, snapshot-shm;
# BENCH_C=0 skips it).
#
# BENCH_WINE=1: the same scenarios with the Windows build of `netipc`
# (x86_64-pc-windows-gnu) under Wine, over Named Pipes and Win SHM, into
# bench/results-wine by default (no Go or C pairs). Needs what
# scripts/windows-tests.sh installs; run that once first. Wine's timings
# are functional evidence, not Windows performance.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${BENCH_DURATION:-2}"
repeats="${BENCH_REPEATS:-1}"
wine_mode="${BENCH_WINE:-0}"
out_dir="bench/results"
[ "$wine_mode" = 1 ] && out_dir="bench/results-wine"
while getopts "d:r:o:h" opt; do
  case "$opt" in
    d) duration="$OPTARG" ;;
    r) repeats="$OPTARG" ;;
    o) out_dir="$OPTARG" ;;
    *) sed -n '2,25p' "$0"; exit 2 ;;
  esac
done
case "$repeats" in ''|*[!0-9]*|0*) echo "-r takes a positive count" >&2; exit 2 ;; esac
shift $((OPTIND - 1))

stop_signal=TERM
if [ "$wine_mode" = 1 ]; then
  target=x86_64-pc-windows-gnu
  shim="$PWD/target/wine-shim/bcryptprimitives.dll"
  [ -f "$shim" ] || { echo "run scripts/windows-tests.sh once first (Wine shim missing)" >&2; exit 2; }
  # TMPDIR: MinGW's dlltool (run by rustc) leaves empty ccXXXXXX files in it.
  mkdir -p target/tmp-windows
  TMPDIR="$PWD/target/tmp-windows" CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    cargo build --release --locked -p netipc-cli --target "$target" >&2
  cp "$shim" "target/$target/release/"
  export WINEPREFIX="${WINEPREFIX:-$PWD/target/wine-prefix}" WINEDEBUG="${WINEDEBUG:--all}"
  netipc=("${NETIPC_WINE:-/usr/lib/wine/wine64}" "$PWD/target/$target/release/netipc.exe")
  # The Windows build stops on Ctrl-C (SetConsoleCtrlHandler).
  stop_signal=INT
  BENCH_GO=0 BENCH_C=0
else
  cargo build --release --locked -p netipc-cli >&2
  netipc=("$PWD/target/release/netipc")
fi
mkdir -p "$out_dir"
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/netipc-bench-run.XXXXXX")"
pending="$run_dir/rows"
mkdir -p "$pending"
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
  mapfile -t scenarios < <("${netipc[@]}" bench list | awk '{print $1}')
fi

# The CPU model too: ratios between implementations differ from one CPU to
# another (a matrix only compares with one from the same kind of machine).
cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
note="$(nproc) cores${cpu_model:+ ($cpu_model)}, load average $(cut -d' ' -f1-3 /proc/loadavg) when the run started"
[ "$repeats" -gt 1 ] && note="$note; each row the median of $repeats interleaved runs"
csv="$out_dir/results.csv"
echo "scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct" >"$csv.tmp"
failed=0

# record LINE: keeps a measured CSV line of the current row ($row) and
# shows it; flush_rows then appends each row's median run to the results.
row=0
record() {
  echo "$1" >>"$pending/$row"
  echo "$1" | awk -F, '{printf "%14.0f/s  p50 %8.3f us  cpu %5.1f%%\n", $4, $5, $10}' >&2
}

# flush_rows: appends the run of median throughput of each row of the
# scenario just measured, in row order.
flush_rows() {
  local f n
  for f in $(ls "$pending" | sort -n); do
    n="$(wc -l <"$pending/$f")"
    sort -t, -k4,4g "$pending/$f" | sed -n "$(((n + 1) / 2))p" >>"$csv.tmp"
  done
  rm -f "$pending"/*
}

# run_pair SCENARIO CLIENT_LABEL SERVER_LABEL: starts "${srv_cmd[@]}", waits
# for its READY line, runs "${cli_cmd[@]}", stops the server with SIGTERM
# and appends the client's CSV line (relabeled, with the server CPU merged).
run_pair() {
  local s="$1" client_label="$2" server_label="$3" line ready cpu_line server_cpu srv
  row=$((row + 1))
  printf '%-28s %-12s ' "$s" "$client_label->$server_label" >&2
  exec {srv}< <(exec "${srv_cmd[@]}" 2>>"$log")
  srv_pid=$!
  ready=""
  read -r -t 60 -u "$srv" ready || true
  if [ "$ready" != "READY" ]; then
    echo "FAILED: server not ready (see $log)" >&2
    kill -TERM "$srv_pid" 2>/dev/null || true; exec {srv}<&-; srv_pid=""; failed=1; return
  fi
  if ! line="$("${cli_cmd[@]}" 2>>"$log")"; then
    line=""
  fi
  kill -"$stop_signal" "$srv_pid"
  cpu_line=""
  read -r -t 60 -u "$srv" cpu_line || true
  exec {srv}<&-
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
  if [ -z "$line" ]; then echo "FAILED (see $log)" >&2; failed=1; return; fi
  server_cpu="${cpu_line#SERVER_CPU_PCT=}"
  case "$server_cpu" in ''|*[!0-9.]*) server_cpu="0.0" ;; esac
  line="$(awk -F, -v OFS=, -v sc="$server_cpu" -v cl="$client_label" -v sl="$server_label" \
    '{ $2 = cl; $3 = sl; $9 = sprintf("%.1f", sc); $10 = sprintf("%.1f", $8 + sc); print }' <<<"$line")"
  record "$line"
}

# run_alone SCENARIO LABEL CMD...: runs an in-process client alone and
# appends its CSV line as printed.
run_alone() {
  local s="$1" label="$2" line
  shift 2
  row=$((row + 1))
  printf '%-28s %-12s ' "$s" "$label" >&2
  if ! line="$("$@" 2>>"$log")"; then
    echo "FAILED (see $log)" >&2; failed=1; return
  fi
  record "$line"
}

# The other languages' bench programs, built up front so that their pairs
# run right after the Rust pair of the same scenario: this VM's speed
# drifts over minutes, and pairs measured far apart do not compare.
# Go rows: the Go bench program (go/cmd/netipc-bench) against the Rust
# one, both ways, and against itself, or alone in process, for the
# scenarios `netipc-bench list` names (BENCH_GO=0 skips them; skipped when
# Go is not installed). C pairs: the C API client (libnetipc,
# bench/c/netipc_bench_c.c) against the Rust bench servers (BENCH_C=0
# skips them; skipped without a C compiler).
go_scenarios=()
if [ "${BENCH_GO:-1}" != "0" ] && command -v go >/dev/null 2>&1; then
  gobench="$PWD/target/netipc-bench-go"
  if (cd go && CGO_ENABLED=0 go build -o "$gobench" ./cmd/netipc-bench) >>"$log" 2>&1; then
    mapfile -t go_scenarios < <("$gobench" list | awk '{print $1}')
  else
    echo "go pairs: building go/cmd/netipc-bench failed (see $log)" >&2; failed=1
  fi
fi
c_scenarios=()
if [ "${BENCH_C:-1}" != "0" ] && command -v cc >/dev/null 2>&1; then
  c_bench="$PWD/target/netipc-bench-c"
  if cargo build --release --locked -p netipc-c --lib >>"$log" 2>&1 \
    && cc -O2 -std=c11 -Wall -Wextra -I crates/netipc-c/include bench/c/netipc_bench_c.c \
      target/release/libnetipc.a -lpthread -ldl -lm -o "$c_bench" >>"$log" 2>&1; then
    c_scenarios=(uds-ping-pong shm-ping-pong snapshot-baseline snapshot-shm)
  else
    echo "c pairs: building bench/c/netipc_bench_c.c failed (see $log)" >&2; failed=1
  fi
fi

# run_scenario SCENARIO KIND: one run of each row of the scenario.
run_scenario() {
  local s="$1" kind="$2"
  row=0
  if [ "$kind" = "in-process" ]; then
    run_alone "$s" in-process "${netipc[@]}" bench client "$s" --duration "$duration"
    case " ${go_scenarios[*]} " in
      *" $s "*) run_alone "$s" "go in-proc" "$gobench" client "$s" --duration "$duration" ;;
    esac
    return
  fi
  rs_srv=("${netipc[@]}" bench server "$s" --run-dir "$run_dir" --service "$s" --duration 3600)
  rs_cli=("${netipc[@]}" bench client "$s" --run-dir "$run_dir" --service "$s" --duration "$duration")
  srv_cmd=("${rs_srv[@]}"); cli_cmd=("${rs_cli[@]}"); run_pair "$s" netipc netipc
  case " ${go_scenarios[*]} " in
    *" $s "*)
      go_srv=("$gobench" server "$s" --run-dir "$run_dir" --service "$s" --duration 0)
      go_cli=("$gobench" client "$s" --run-dir "$run_dir" --service "$s" --duration "$duration")
      srv_cmd=("${rs_srv[@]}"); cli_cmd=("${go_cli[@]}"); run_pair "$s" go netipc
      srv_cmd=("${go_srv[@]}"); cli_cmd=("${rs_cli[@]}"); run_pair "$s" netipc go
      srv_cmd=("${go_srv[@]}"); cli_cmd=("${go_cli[@]}"); run_pair "$s" go go
      ;;
  esac
  case " ${c_scenarios[*]} " in
    *" $s "*)
      srv_cmd=("${rs_srv[@]}"); cli_cmd=("$c_bench" "$s" "$run_dir" "$s" "$duration")
      run_pair "$s" c netipc
      ;;
  esac
}

for s in "${scenarios[@]}"; do
  kind="$("${netipc[@]}" bench list | awk -v s="$s" '$1 == s {print $2}')"
  if [ -z "$kind" ]; then echo "unknown scenario $s" >&2; exit 2; fi
  for ((round = 1; round <= repeats; round++)); do
    run_scenario "$s" "$kind"
  done
  flush_rows
done

mv "$csv.tmp" "$csv"
python3 bench/report.py "$csv" "$out_dir/results.md" "$out_dir/throughput.svg" "$duration" "$note"
echo "wrote $csv, $out_dir/results.md, $out_dir/throughput.svg" >&2
exit "$failed"
