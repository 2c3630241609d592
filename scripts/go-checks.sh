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
  pkg="./$(dirname "$f")"
  for target in $(grep -Eo '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "== go fuzz $pkg $target: ${SECS}s"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${SECS}s" "$pkg" 2>&1 | tail -n 2
  done
done
echo "go checks: passed"
