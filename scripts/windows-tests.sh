#!/usr/bin/env bash
# Builds the netipc crate for Windows (x86_64-pc-windows-gnu) and runs its
# tests under Wine, from Linux.
#
#   scripts/windows-tests.sh [extra cargo test args...]
#   scripts/windows-tests.sh windows::      # only the Named Pipe tests
#
# Installs what is missing (rustup target, MinGW-w64 gcc, wine64; apt-get
# needs root), builds the bcryptprimitives.dll shim Wine 8.0 lacks (see
# tools/wine-shim/bcryptprimitives.c), then runs
# `cargo test -p netipc --target x86_64-pc-windows-gnu` with the MinGW
# linker and scripts/wine-runner.sh as the cargo runner.
#
# What runs on Windows: the pure-bytes layers (wire, codec, conformance,
# golden, zero-allocation decode) and the Named Pipe transport with the
# Win SHM data plane (transport::windows). The UDS/SHM transports, Level 2 and Level 3 are
# Unix-only for now (their tests are #![cfg(unix)]).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target=x86_64-pc-windows-gnu
wine="${NETIPC_WINE:-/usr/lib/wine/wine64}"

# NETIPC_WINDOWS_TOOLS_OPTIONAL=1 (CI): when the toolchain pieces cannot be
# installed, say so loudly and skip instead of failing; test failures still
# fail.
tools_unavailable() {
    if [ "${NETIPC_WINDOWS_TOOLS_OPTIONAL:-0}" = 1 ]; then
        echo "windows-tests: SKIPPED, could not install: $*" >&2
        exit 0
    fi
    echo "windows-tests: could not install: $*" >&2
    exit 1
}

need_apt=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
[ -x "$wine" ] || need_apt+=(wine64)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "windows-tests: installing ${need_apt[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null ||
        { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null; } ||
        tools_unavailable "${need_apt[*]}"
fi
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target" || tools_unavailable "rust target $target"
fi

out="$root/target/wine-shim"
mkdir -p "$out"
shim="$out/bcryptprimitives.dll"
src="$root/tools/wine-shim/bcryptprimitives.c"
def="$root/tools/wine-shim/bcryptprimitives.def"
if [ ! -f "$shim" ] || [ "$src" -nt "$shim" ] || [ "$def" -nt "$shim" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" "$src" "$def" -lbcrypt
fi

# A private Wine prefix, so the tests never touch the user's ~/.wine.
export WINEPREFIX="${WINEPREFIX:-$root/target/wine-prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export NETIPC_WINE="$wine"
export NETIPC_WINE_SHIM="$shim"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$root/scripts/wine-runner.sh"

cd "$root"
# --lib --tests: the examples are Unix programs (UDS/L2/L3).
cargo test -p netipc --target "$target" --lib --tests "$@"
