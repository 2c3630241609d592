#!/usr/bin/env bash
# Runs the whole test suite:
#  - every Rust crate of the workspace (unit tests, end-to-end tests over
#    real sockets and shared memory, the C API suite, doc tests);
#  - the pure-Go module, once as shipped (CGO_ENABLED=0) and once under the
#    race detector;
# then prints one summary line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0

cargo test --workspace --locked 2>&1 | tee -a "$log" || status=1

if command -v go >/dev/null 2>&1; then
  golog="$(mktemp)"
  (cd go && CGO_ENABLED=0 go test -count=1 -p 2 -v ./...) >"$golog" 2>&1 || status=1
  cat "$golog" >>"$log"
  # The verbose log is long: show package results and failures only,
  # with the failing tests' messages (file.go:line: lines).
  grep -E '^(ok|FAIL|--- FAIL|panic)|^\s+--- FAIL|^\s+[A-Za-z0-9_]+\.go:[0-9]+: ' "$golog" || true
  rm -f "$golog"
  echo "== go test -race"
  (cd go && CGO_ENABLED=1 go test -count=1 -race -p 2 ./... 2>&1) || status=1
else
  echo "go: not installed, Go tests skipped" >&2
  status=1
fi

rust_passed=$(grep -Eo '^test result: .* [0-9]+ passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
rust_failed=$(grep -Eo '^test result: .* [0-9]+ failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
go_passed=$(grep -Ec '^\s*--- PASS' "$log")
go_failed=$(grep -Ec '^\s*--- FAIL' "$log")
summary="tests: $((rust_passed + go_passed)) passed, $((rust_failed + go_failed)) failed"
echo "$summary"
if [ -n "${NETIPC_TEST_SUMMARY:-}" ]; then echo "$summary" > "$NETIPC_TEST_SUMMARY"; fi
exit "$status"
