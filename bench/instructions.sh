#!/usr/bin/env bash
# Counts the instructions one operation of a benchmark scenario executes,
# in the Rust (`netipc bench client`) and the Go (`netipc-bench client`)
# programs, with Valgrind's callgrind: the inclusive instruction count of
# the workload's step (one call, one lookup pass, ...) divided by the number
# of steps. Unlike throughput, the count does not depend on the machine's
# load, so it compares the two implementations' work on a noisy host; it
# says nothing about instructions per cycle.
#
# Usage: bash bench/instructions.sh [SCENARIO...]
#   default: the in-process 1- and 16-key lookup scenarios and `lookup`.
# The in-process scenarios (no server) are the ones this fits; a client of
# a server scenario would count its side only.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
  echo "instructions.sh: valgrind is needed (apt-get install valgrind)" >&2
  exit 1
fi
if [ "$#" -eq 0 ]; then
  set -- cgroups-lookup-{known,unknown,mixed}-{1,16} apps-lookup-{known,unknown,mixed}-{1,16} lookup
fi

cargo build --release --locked -p netipc-cli >&2
(cd go && go build -o ../target/netipc-bench-go ./cmd/netipc-bench)
rust=target/release/netipc
go=target/netipc-bench-go

work="$(mktemp -d "${TMPDIR:-/tmp}/netipc-instructions.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# per_step OUT PATTERN: inclusive instructions per call of the step
# function whose callgrind name matches PATTERN.
per_step() {
  callgrind_annotate --inclusive=yes --tree=caller "$1" 2>/dev/null |
    grep -E "=> .*$2 \(" | head -1 |
    awk '{c = $1; gsub(",", "", c); n = $NF; gsub("[(),x]", "", n); if (n > 0) printf "%.0f", c / n}'
}

printf "%-28s %12s %12s %8s\n" scenario rust go go/rust
for sc in "$@"; do
  valgrind --tool=callgrind --callgrind-out-file="$work/rust.out" \
    "$rust" bench client "$sc" --duration 1 >/dev/null 2>"$work/rust.err" ||
    { cat "$work/rust.err" >&2; exit 1; }
  # No asynchronous preemption: callgrind aborts on the runtime's
  # preemption signals (an assertion in its signal tracking). One P: the
  # in-process scenarios run one goroutine, and with the runtime's other
  # threads active on a loaded machine callgrind sometimes attributes
  # instructions to the wrong function (a step count off by hundreds).
  GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$work/go.out" \
    "$go" client "$sc" --duration 1 >/dev/null 2>"$work/go.err" ||
    { cat "$work/go.err" >&2; exit 1; }
  r="$(per_step "$work/rust.out" 'Workload>::step')"
  g="$(per_step "$work/go.out" '\)\.step')"
  if [ -z "$r" ] || [ -z "$g" ]; then
    echo "instructions.sh: no step function found for $sc" >&2
    exit 1
  fi
  printf "%-28s %12s %12s %8s\n" "$sc" "$r" "$g" "$(awk -v r="$r" -v g="$g" 'BEGIN {printf "%.2f", g / r}')"
done
