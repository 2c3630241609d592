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
# With no arguments it then runs the netipc tool end to end under Wine:
# `netipc serve --data FILE` servers, then `netipc call`, `snapshot`,
# `lookup` against them, `netipc host` failing with its clear error, and a
# Ctrl-C stop (SIGINT, delivered by Wine as a console control event).
#
# What runs on Windows: the pure-bytes layers (wire, codec, conformance,
# golden, zero-allocation decode), the Named Pipe transport with the Win
# SHM data plane (transport::windows), and Level 2 / Level 3 over Named
# Pipes and Win SHM (l2_client, l2_server, l2_e2e, l3_cache,
# l2_client_alloc, l3_lookup_alloc) and the session controls over the
# transport seam (session_control). Unix-only: the UDS/SHM transport tests
# (uds, shm, uds_shm are #![cfg(unix)]) and the Level 2 cases that need a
# raw SEQPACKET peer or POSIX SHM files (#[cfg(unix)] per test).
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

# rustc runs MinGW's dlltool for the raw-dylib imports of windows-sys, and
# dlltool leaves empty /tmp/ccXXXXXX files behind: its temporaries (and
# everything else this script makes, Wine's server folder included) go to a
# folder under target/ instead, where the previous run's are removed.
export TMPDIR="$root/target/tmp-windows"
mkdir -p "$TMPDIR"
find "$TMPDIR" -maxdepth 1 -type f -name 'cc*' -delete

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
# shellcheck source=scripts/wine-prefix.sh
. "$root/scripts/wine-prefix.sh"
# shellcheck source=scripts/wine-exit.sh
. "$root/scripts/wine-exit.sh"
wine_prefix_ready "$wine" "$WINEPREFIX" windows-tests
export NETIPC_WINE="$wine"
export NETIPC_WINE_SHIM="$shim"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$root/scripts/wine-runner.sh"

cd "$root"
# Lint the Windows build too (the library, its tests, benches and examples,
# and the netipc tool; the C API crate is Unix-only), on full runs only.
if [ "$#" -eq 0 ]; then
    cargo clippy -p netipc -p netipc-cli --all-targets --target "$target" --locked -- -D warnings
fi
# --lib --tests: the examples and benches are built above, not run here.
cargo test -p netipc --target "$target" --lib --tests "$@"

# The netipc tool end to end (only on a full run, not with a test filter):
# `netipc serve --data FILE` servers and the client commands, as Windows
# programs under Wine, over Named Pipes.
cli_e2e() {
    cargo build -p netipc-cli --target "$target"
    local exe="$root/target/$target/debug/netipc.exe"
    cp "$shim" "$(dirname "$exe")/bcryptprimitives.dll"
    # Globals: the EXIT trap needs them after this function returned.
    cli_tmp="$(mktemp -d "${TMPDIR:-/tmp}/netipc-wine-cli.XXXXXX")"
    cli_pids=()
    cli_kinds=()
    local tmp="$cli_tmp"
    # shellcheck disable=SC2317 # called by the trap
    cleanup() {
        local p
        for p in "${cli_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        rm -rf "$cli_tmp"
    }
    trap cleanup EXIT
    fail() {
        echo "windows-tests: CLI: $*" >&2
        local f
        for f in "$tmp"/*.err; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2; done
        exit 1
    }
    # One client command; its stdout without CRs (stderr kept for fail).
    # Each prints its whole result at its end: one that printed something
    # had finished (scripts/wine-exit.sh); the callers check the result.
    netipc() {
        local o rc=0
        o="$("$wine" "$exe" "$@" --run-dir "$tmp/run" 2>>"$tmp/client.err")" || rc=$?
        wine_exit "$rc" "$([ -n "$o" ] && echo 1)" "windows-tests: CLI: netipc $*" ||
            fail "netipc $*: exit status $rc"
        printf '%s\n' "${o//$'\r'/}"
    }

    cat >"$tmp/snapshot.json" <<'JSON'
{"generation": 77, "systemd_enabled": 1, "items": [
  {"hash": 2406077274, "options": 6, "enabled": 1, "name": "ssh.service", "path": "/system.slice/ssh.service"},
  {"options": 4, "enabled": 0, "name": "web", "path": "/docker/abc"}]}
JSON
    cat >"$tmp/cgroups.json" <<'JSON'
{"generation": 100, "items": [
  {"path": "/docker/abc", "status": "KNOWN", "orchestrator": "DOCKER", "name": "web",
   "labels": [["image", "nginx"]]}]}
JSON
    cat >"$tmp/apps.json" <<'JSON'
{"generation": 200, "items": [
  {"pid": 1234, "status": "KNOWN", "cgroup_status": "KNOWN", "orchestrator": "DOCKER",
   "ppid": 1, "uid": 1000, "starttime": 123456, "comm": "nginx",
   "cgroup_path": "/docker/abc", "cgroup_name": "web", "labels": [["tier", "front"]]}]}
JSON

    # Starts `netipc serve KIND ARGS...` and waits for its READY line.
    serve() {
        local kind="$1"
        shift
        mkfifo "$tmp/$kind.out"
        "$wine" "$exe" serve "$kind" "$@" --run-dir "$tmp/run" >"$tmp/$kind.out" 2>"$tmp/$kind.err" &
        cli_pids+=("$!")
        cli_kinds+=("$kind")
        local fd line
        exec {fd}<"$tmp/$kind.out"
        read -r -t 60 -u "$fd" line || fail "$kind: no READY line"
        case "$line" in 'READY \\.\pipe\netipc-'*) ;; *) fail "$kind: got '$line'" ;; esac
    }
    serve increment
    serve cgroups-snapshot --data "$tmp/snapshot.json"
    serve cgroups-lookup --data "$tmp/cgroups.json"
    serve apps-lookup --data "$tmp/apps.json"

    local out
    out="$(netipc call increment 41)"
    [ "$out" = "41 -> 42" ] || fail "call increment: '$out'"
    out="$(netipc snapshot)"
    case "$out" in "generation 77 systemd_enabled 1 items 2"*ssh.service*) ;; *) fail "snapshot: '$out'" ;; esac
    out="$(netipc lookup cgroups /docker/abc /nope)"
    case "$out" in *DOCKER*) ;; *) fail "lookup cgroups: '$out'" ;; esac
    out="$(netipc lookup apps 1234 --json)"
    case "$out" in *nginx*front*) ;; *) fail "lookup apps: '$out'" ;; esac
    if out="$("$wine" "$exe" host snapshot 2>&1)"; then fail "host succeeded: '$out'"; fi
    case "$out" in *"needs Linux"*) ;; *) fail "host: '$out'" ;; esac

    # Ctrl-C (SIGINT to the Wine process) stops every server cleanly; a
    # server's last line is its stop report.
    local p i rc
    for p in "${cli_pids[@]}"; do kill -INT "$p"; done
    for i in "${!cli_pids[@]}"; do
        rc=0
        wait "${cli_pids[$i]}" || rc=$?
        grep -q "netipc serve: stopped" "$tmp/${cli_kinds[$i]}.err" ||
            fail "the ${cli_kinds[$i]} server did not report its stop (exit status $rc)"
        wine_exit "$rc" 1 "windows-tests: CLI: the ${cli_kinds[$i]} server" ||
            fail "the ${cli_kinds[$i]} server exited with status $rc"
    done
    cli_pids=()
    cleanup
    trap - EXIT
    echo "windows-tests: CLI end to end under Wine: ok"
}
if [ "$#" -eq 0 ]; then
    cli_e2e
fi
