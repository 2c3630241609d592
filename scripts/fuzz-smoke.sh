#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each for a bounded number of
# inputs. Only the stable toolchain exists here: RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the unstable sanitizer flags it needs, for this command only.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
RUNS="${FUZZ_RUNS:-20000}"
SECS="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in $(cargo fuzz list); do
  echo "== fuzz $target: up to $RUNS runs / ${SECS}s"
  mkdir -p "corpus/$target"
  # Seeds: every conformance vector and golden vector (all message shapes).
  cargo fuzz run -O "$target" "corpus/$target" ../testdata/conformance/vectors ../testdata/vectors \
    -- -runs="$RUNS" -max_total_time="$SECS" -max_len=65536 2>&1 | tail -n 3
  # A crash makes cargo fuzz exit non-zero; pipefail propagates it.
done
echo "fuzz smoke: all targets passed"
