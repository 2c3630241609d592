#!/usr/bin/env bash
# Runs the whole test suite: every Rust crate of the workspace (unit tests,
# end-to-end tests over real sockets and shared memory, doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
