#!/usr/bin/env bash
# Cross-builds the pure-Go module for Windows (GOOS=windows GOARCH=amd64
# CGO_ENABLED=0), vets it, and runs the test binaries of every
# Windows-relevant package under Wine, from Linux.
#
#   scripts/go-windows-tests.sh                 # every package below
#   scripts/go-windows-tests.sh ./transport/npipe -test.run TestSessionShared/Batches
#
# The Go runtime loads bcryptprimitives.dll (ProcessPrng) from System32,
# which Wine 8.0 lacks: the shim of tools/wine-shim/ is built with MinGW
# and copied into the private Wine prefix's system32.
#
# NETIPC_WINDOWS_TOOLS_OPTIONAL=1 (CI): when Wine, MinGW or the Go
# toolchain is missing, say so loudly and skip; test failures still fail.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
wine="${NETIPC_WINE:-/usr/lib/wine/wine64}"

tools_unavailable() {
    if [ "${NETIPC_WINDOWS_TOOLS_OPTIONAL:-0}" = 1 ]; then
        echo "go-windows-tests: SKIPPED, missing: $*" >&2
        exit 0
    fi
    echo "go-windows-tests: missing: $*" >&2
    exit 1
}

command -v go >/dev/null || tools_unavailable "the Go toolchain"
[ -x "$wine" ] || tools_unavailable "wine64 ($wine)"
command -v x86_64-w64-mingw32-gcc >/dev/null || tools_unavailable "x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64)"

out="$root/target/wine-shim"
mkdir -p "$out"
shim="$out/bcryptprimitives.dll"
src="$root/tools/wine-shim/bcryptprimitives.c"
def="$root/tools/wine-shim/bcryptprimitives.def"
if [ ! -f "$shim" ] || [ "$src" -nt "$shim" ] || [ "$def" -nt "$shim" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" "$src" "$def" -lbcrypt
fi

# Wine's server folder (and the test binaries) under target/, not /tmp.
export TMPDIR="$root/target/tmp-windows"
mkdir -p "$TMPDIR"

# A private Wine prefix, so the tests never touch the user's ~/.wine.
export WINEPREFIX="${NETIPC_GO_WINEPREFIX:-$root/target/wine-prefix-go}"
export WINEDEBUG="${WINEDEBUG:--all}"
# shellcheck source=scripts/wine-prefix.sh
. "$root/scripts/wine-prefix.sh"
wine_prefix_ready "$wine" "$WINEPREFIX" go-windows-tests
sys32="$WINEPREFIX/drive_c/windows/system32"
cmp -s "$shim" "$sys32/bcryptprimitives.dll" || cp "$shim" "$sys32/bcryptprimitives.dll"

export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
cd "$root/go"
echo "go-windows-tests: go vet (GOOS=windows)"
go vet ./...

bin="$(mktemp -d "${TMPDIR:-/tmp}/netipc-gowin.XXXXXX")"
trap 'rm -rf "$bin"' EXIT

packages=(. ./wire ./codec ./transport ./transport/internal/session ./transport/internal/shmturn ./transport/npipe ./transport/winshm ./service ./cache)
args=()
if [ "$#" -gt 0 ]; then
    packages=("$1")
    shift
    args=("$@")
fi

status=0
for pkg in "${packages[@]}"; do
    name="$(echo "$pkg" | tr -c 'a-zA-Z0-9\n' '_')"
    exe="$bin/$name.test.exe"
    go test -c -o "$exe" "$pkg"
    if [ ! -f "$exe" ]; then
        echo "go-windows-tests: $pkg has no tests" >&2
        continue
    fi
    echo "go-windows-tests: $pkg under Wine"
    # Run from the package directory: tests read ../testdata by relative path.
    if ! (cd "$pkg" && "$wine" "$exe" -test.timeout 600s "${args[@]}"); then
        echo "go-windows-tests: FAILED: $pkg" >&2
        status=1
    fi
done
exit "$status"
