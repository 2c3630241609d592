#!/usr/bin/env bash
# Static checks of the Go module and a bounded smoke run of every Go fuzz
# target (seeded by the conformance vectors through f.Add in each target).
set -euo pipefail
cd "$(dirname "$0")/../go"
SECS="${GO_FUZZ_SECONDS:-5}"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:"; echo "$unformatted"; exit 1
fi
CGO_ENABLED=0 go vet ./...
CGO_ENABLED=0 go build ./...
for f in $(grep -rl --include='*_test.go' '^func Fuzz' .); do
  # Windows-only targets run their seeds under Wine (go-windows-tests.sh).
  if grep -q '^//go:build windows' "$f"; then continue; fi
  pkg="./$(dirname "$f")"
  for target in $(grep -Eo '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== go fuzz $pkg $target: ${SECS}s"
    log="$(mktemp)"
    if go test -run='^$' -fuzz="^${target}\$" -fuzztime="${SECS}s" "$pkg" >"$log" 2>&1; then
      tail -n 2 "$log"
    elif grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
      # A real finding (a reproducer was written) or an unknown failure.
      cat "$log"; rm -f "$log"; exit 1
    else
      # The Go engine can report "context deadline exceeded" when
      # -fuzztime expires while a worker is mid-input (golang/go#51484);
      # no input failed and no reproducer was written.
      echo "go fuzz $target: engine deadline at -fuzztime, no failing input (golang/go#51484)"
    fi
    rm -f "$log"
  done
done
echo "go checks: passed"
