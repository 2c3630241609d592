#!/usr/bin/env bash
# Runs the whole test suite: every Rust crate of the workspace (unit tests,
# end-to-end tests over real sockets and shared memory, doc tests), then
# prints one summary line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
summary="tests: ${passed} passed, ${failed} failed"
echo "$summary"
if [ -n "${NETIPC_TEST_SUMMARY:-}" ]; then echo "$summary" > "$NETIPC_TEST_SUMMARY"; fi
exit "$status"
