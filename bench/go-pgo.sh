#!/usr/bin/env bash
# Regenerates go/cmd/netipc-bench/default.pgo, the CPU profile `go build`
# uses for profile-guided optimization of the Go bench program (Go's
# -pgo=auto: a default.pgo in the main package's directory applies to the
# whole build, the netipc packages included).
#
# Usage: bash bench/go-pgo.sh [-d SECONDS]
#   -d SECONDS   profiled duration per scenario (default 2)
#
# The profile merges the Go program's own runs of every scenario it
# lists: client and server of each server scenario (Go -> Go), and each
# in-process scenario. Regenerate it after changing hot code paths; a
# stale profile only optimizes less (the build never fails because of it).
# Programs that use the Go module get the same benefit by building with a
# profile of their own workload (`go build -pgo=FILE`).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=2
while getopts "d:h" opt; do
  case "$opt" in
    d) duration="$OPTARG" ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done

work="$(mktemp -d "${TMPDIR:-/tmp}/netipc-pgo.XXXXXX")"
srv_pid=""
cleanup() {
  if [ -n "$srv_pid" ]; then kill -TERM "$srv_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bench="$work/netipc-bench"
# Built without a profile: the runs must not depend on the old one.
(cd go && CGO_ENABLED=0 go build -pgo=off -o "$bench" ./cmd/netipc-bench)

mkdir -p "$work/profiles"
while read -r scenario kind; do
  prefix="$work/profiles/$scenario"
  if [ "$kind" = server ]; then
    run="$work/run-$scenario"
    mkdir -p "$run"
    NETIPC_BENCH_CPUPROFILE="$prefix" "$bench" server "$scenario" --run-dir "$run" --service pgo \
      --duration 0 >"$run/server.out" 2>&1 &
    srv_pid=$!
    for _ in $(seq 1000); do
      grep -q READY "$run/server.out" 2>/dev/null && break
      kill -0 "$srv_pid" 2>/dev/null || { cat "$run/server.out" >&2; exit 1; }
      sleep 0.01
    done
    NETIPC_BENCH_CPUPROFILE="$prefix" "$bench" client "$scenario" --run-dir "$run" --service pgo \
      --duration "$duration" >/dev/null
    kill -TERM "$srv_pid"
    wait "$srv_pid" || true
    srv_pid=""
  else
    NETIPC_BENCH_CPUPROFILE="$prefix" "$bench" client "$scenario" --duration "$duration" >/dev/null
  fi
  echo "profiled $scenario" >&2
done < <("$bench" list)

(cd go && go tool pprof -proto "$work"/profiles/*.pprof >"$work/default.pgo")
mv "$work/default.pgo" go/cmd/netipc-bench/default.pgo
echo "wrote go/cmd/netipc-bench/default.pgo ($(wc -c <go/cmd/netipc-bench/default.pgo) bytes)" >&2
