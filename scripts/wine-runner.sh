#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu binaries under Wine.
#
# Cargo calls it as: wine-runner.sh path/to/test.exe [args...]
# It copies the bcryptprimitives.dll shim (see tools/wine-shim/) next to
# the .exe, then runs it with wine64 and passes on its exit status. Set
# by scripts/windows-tests.sh via CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER;
# NETIPC_WINE_SHIM names the DLL.
set -euo pipefail

exe="$1"
shift
shim="${NETIPC_WINE_SHIM:?NETIPC_WINE_SHIM must name the built bcryptprimitives.dll}"
dir="$(dirname "$exe")"
if ! cmp -s "$shim" "$dir/bcryptprimitives.dll"; then
    cp "$shim" "$dir/bcryptprimitives.dll"
fi
export WINEDEBUG="${WINEDEBUG:--all}"

# The output is kept to see the test binary's last line: one whose last
# line is libtest's "test result: ok." had finished (scripts/wine-exit.sh).
log="$(mktemp "${TMPDIR:-/tmp}/netipc-wine-run.XXXXXX")"
trap 'rm -f "$log"' EXIT
rc=0
"${NETIPC_WINE:-/usr/lib/wine/wine64}" "$exe" "$@" | tee "$log" || rc="${PIPESTATUS[0]}"
finished=0
last="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | tr -d '\r')" || true
[[ "$last" == "test result: ok."* ]] && finished=1
# shellcheck source=scripts/wine-exit.sh
. "$(dirname "$0")/wine-exit.sh"
wine_exit "$rc" "$finished" "wine-runner: $(basename "$exe")" || exit "$rc"
