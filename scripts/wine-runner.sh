#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu binaries under Wine.
#
# Cargo calls it as: wine-runner.sh path/to/test.exe [args...]
# It copies the bcryptprimitives.dll shim (see tools/wine-shim/) next to
# the .exe, then runs it with wine64. Set by scripts/windows-tests.sh via
# CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER; NETIPC_WINE_SHIM names the DLL.
set -euo pipefail

exe="$1"
shift
shim="${NETIPC_WINE_SHIM:?NETIPC_WINE_SHIM must name the built bcryptprimitives.dll}"
dir="$(dirname "$exe")"
if ! cmp -s "$shim" "$dir/bcryptprimitives.dll"; then
    cp "$shim" "$dir/bcryptprimitives.dll"
fi
export WINEDEBUG="${WINEDEBUG:--all}"
exec "${NETIPC_WINE:-/usr/lib/wine/wine64}" "$exe" "$@"
