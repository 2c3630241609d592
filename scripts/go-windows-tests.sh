#!/usr/bin/env bash
# Cross-builds the pure-Go module for Windows (GOOS=windows GOARCH=amd64
# CGO_ENABLED=0), vets it, and runs the test binaries of every
# Windows-relevant package under Wine, from Linux.
#
#   scripts/go-windows-tests.sh                 # every package below
#   scripts/go-windows-tests.sh ./transport/npipe -test.run TestSessionShared/Batches
#
# With no arguments it then pairs the Go bench program (cmd/netipc-bench)
# with the Rust `netipc bench` (netipc.exe, built for x86_64-pc-windows-gnu
# as scripts/windows-tests.sh builds it), both Windows programs under the
# same Wine prefix: a Go client against a Rust server and a Rust client
# against a Go server, for every server scenario (Named Pipe baseline and
# Win SHM), every answer checked by the client.
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
# shellcheck source=scripts/wine-exit.sh
. "$root/scripts/wine-exit.sh"
wine_prefix_ready "$wine" "$WINEPREFIX" go-windows-tests
sys32="$WINEPREFIX/drive_c/windows/system32"
cmp -s "$shim" "$sys32/bcryptprimitives.dll" || cp "$shim" "$sys32/bcryptprimitives.dll"

export GOOS=windows GOARCH=amd64 CGO_ENABLED=0
cd "$root/go"
echo "go-windows-tests: go vet (GOOS=windows)"
go vet ./...

bin="$(mktemp -d "${TMPDIR:-/tmp}/netipc-gowin.XXXXXX")"
# The Wine processes the bench pairs start (killed by PID on exit).
bench_pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local p
    for p in "${bench_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$bin"
}
trap cleanup EXIT

packages=(. ./wire ./codec ./transport ./transport/internal/session ./transport/internal/shmturn ./transport/npipe ./transport/winshm ./service ./cache ./cmd/netipc-bench)
args=()
full_run=1
if [ "$#" -gt 0 ]; then
    full_run=0
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
    # Run from the package directory: tests read ../testdata by relative
    # path. The output is kept to see the binary's last line: a test
    # binary that printed PASS has finished (see scripts/wine-exit.sh).
    log="$bin/$name.log"
    rc=0
    (cd "$pkg" && "$wine" "$exe" -test.timeout 600s "${args[@]}") 2>&1 | tee "$log" || rc="${PIPESTATUS[0]}"
    finished=0
    [ "$(tail -n 1 "$log" | tr -d '\r')" = PASS ] && finished=1
    if ! wine_exit "$rc" "$finished" "go-windows-tests: $pkg"; then
        echo "go-windows-tests: FAILED: $pkg (exit status $rc)" >&2
        status=1
    fi
done

# Go <-> Rust bench pairs under Wine (only on a full run, not with a test
# filter): per server scenario, a Rust `netipc bench server` and a Go
# `netipc-bench server` (each in its own run directory), then the Go
# client against the Rust server and the Rust client against the Go
# server (0.3 s each; a wrong answer fails the client), then Ctrl-C
# (SIGINT, a console control event under Wine) stops both servers, which
# must exit 0 after serving exactly one session (a second would be a
# client's reconnect, e.g. a fallback from Win SHM to the pipe).
bench_pairs() {
    local target=x86_64-pc-windows-gnu
    if ! command -v cargo >/dev/null || ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        if [ "${NETIPC_WINDOWS_TOOLS_OPTIONAL:-0}" = 1 ]; then
            echo "go-windows-tests: bench pairs SKIPPED, missing: cargo with the $target target" >&2
            return 0
        fi
        echo "go-windows-tests: missing: cargo with the $target target (rustup target add $target)" >&2
        exit 1
    fi
    local t0=$SECONDS
    # The same build as scripts/windows-tests.sh's cli_e2e (and its
    # linker), so a CI run reuses that build. GOOS etc. mean nothing to
    # cargo; dlltool's empty temporaries left in TMPDIR are removed.
    (cd "$root" && CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
        cargo build -p netipc-cli --target "$target")
    find "$TMPDIR" -maxdepth 1 -type f -name 'cc*' -delete
    local rust="$root/target/$target/debug/netipc.exe"
    local gob="$bin/netipc-bench.exe"
    go build -o "$gob" ./cmd/netipc-bench
    local exe
    for exe in "$rust" "$gob"; do
        cmp -s "$shim" "$(dirname "$exe")/bcryptprimitives.dll" || cp "$shim" "$(dirname "$exe")/bcryptprimitives.dll"
    done

    local tmp="$bin/pairs"
    mkdir -p "$tmp"
    fail() {
        echo "go-windows-tests: bench pairs: $*" >&2
        local f
        for f in "$tmp"/*.out "$tmp"/*.err; do
            [ -s "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2
        done
        exit 1
    }

    # Both programs list the same scenarios; the server ones are paired.
    # Each program writes its list in one piece: one that names an
    # in-process scenario is there whole (the lists are compared below).
    local rust_list go_list rc
    rc=0
    rust_list="$("$wine" "$rust" bench list 2>"$tmp/list.err")" || rc=$?
    rust_list="${rust_list//$'\r'/}"
    wine_exit "$rc" "$([[ "$rust_list" == *in-process* ]] && echo 1)" "netipc.exe bench list" ||
        fail "netipc.exe bench list: exit status $rc"
    rc=0
    go_list="$("$wine" "$gob" list 2>>"$tmp/list.err")" || rc=$?
    go_list="${go_list//$'\r'/}"
    wine_exit "$rc" "$([[ "$go_list" == *in-process* ]] && echo 1)" "netipc-bench.exe list" ||
        fail "netipc-bench.exe list: exit status $rc"
    [ "$rust_list" = "$go_list" ] || fail "the scenario lists differ:"$'\n'"$(diff <(echo "$rust_list") <(echo "$go_list"))"
    local scenarios=()
    mapfile -t scenarios < <(awk '$2 == "server" { print $1 }' <<<"$rust_list")
    [ "${#scenarios[@]}" -eq 8 ] || fail "${#scenarios[@]} server scenarios, expected 8: ${scenarios[*]}"

    # server SIDE SCENARIO: starts a bench server (--duration 120 only
    # bounds a stray one) and waits for its READY line; sets server_pid.
    local server_pid
    server() {
        local side="$1" sc="$2" cmd
        if [ "$side" = rust ]; then cmd=("$rust" bench server); else cmd=("$gob" server); fi
        "$wine" "${cmd[@]}" "$sc" --run-dir "$tmp/$side-run" --duration 120 \
            >"$tmp/$side-server.out" 2>"$tmp/$side-server.err" &
        server_pid=$!
        bench_pids+=("$server_pid")
        local i
        for ((i = 0; i < 600; i++)); do
            grep -qs '^READY' "$tmp/$side-server.out" && return 0
            kill -0 "$server_pid" 2>/dev/null || fail "$sc: the $side server exited before READY"
            sleep 0.1
        done
        fail "$sc: no READY line from the $side server"
    }
    # client SIDE SCENARIO SERVER_SIDE: one client run; checks its CSV line.
    client() {
        local side="$1" sc="$2" peer="$3" cmd line rc=0 finished=0
        if [ "$side" = rust ]; then cmd=("$rust" bench client); else cmd=("$gob" client); fi
        line="$("$wine" "${cmd[@]}" "$sc" --run-dir "$tmp/$peer-run" --duration 0.3 2>"$tmp/$side-client.err")" ||
            rc=$?
        line="${line//$'\r'/}"
        [[ "$line" =~ ^$sc,[a-z]+,[a-z]+,[1-9][0-9]*(,[0-9.]+){6}$ ]] && finished=1
        wine_exit "$rc" "$finished" "$sc: $side client" ||
            fail "$sc: $side client against the $peer server: exit status $rc"
        [ "$finished" = 1 ] || fail "$sc: $side client against the $peer server printed '$line'"
    }
    # stop SIDE SCENARIO PID: Ctrl-C; the server must exit 0 within 20 s
    # and report one session with requests.
    stop() {
        local side="$1" sc="$2" pid="$3" i rc=0 finished=0
        kill -INT "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && fail "$sc: the $side server did not stop on Ctrl-C"
        wait "$pid" || rc=$?
        # SERVER_CPU_PCT is the last thing a server prints.
        grep -q '^SERVER_CPU_PCT=' "$tmp/$side-server.out" && finished=1
        wine_exit "$rc" "$finished" "$sc: $side server" || fail "$sc: the $side server exited with status $rc"
        [ "$finished" = 1 ] || fail "$sc: the $side server printed no SERVER_CPU_PCT"
        grep -Eq ": [1-9][0-9]* requests in 1 sessions," "$tmp/$side-server.err" ||
            fail "$sc: the $side server did not serve exactly one session"
    }

    local sc rust_pid go_pid
    for sc in "${scenarios[@]}"; do
        rm -f "$tmp"/*.out "$tmp"/*.err
        server rust "$sc"
        rust_pid=$server_pid
        server go "$sc"
        go_pid=$server_pid
        client go "$sc" rust
        client rust "$sc" go
        stop rust "$sc" "$rust_pid"
        stop go "$sc" "$go_pid"
        bench_pids=()
    done
    rm -rf "$tmp"
    echo "go-windows-tests: Go <-> Rust bench pairs under Wine (${#scenarios[@]} scenarios, both ways): ok ($((SECONDS - t0)) s)"
}
if [ "$full_run" = 1 ]; then
    bench_pairs
fi
exit "$status"
