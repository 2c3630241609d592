#!/usr/bin/env bash
# Runs the C API's test programs and the `netipc` tool under Valgrind's
# memcheck: reads of uninitialised memory, invalid reads and writes, and
# leaks (definite or indirect) on the C side of the ABI, which the
# AddressSanitizer builds of the C suite do not all catch.
#
#  - the self-contained C programs (C client and C server in one process,
#    UDS and SHM; the Level 3 cache; every bad-argument path);
#  - c_server in one process and c_client in another, over UDS and SHM,
#    both under memcheck;
#  - `netipc serve increment` under memcheck answering the minimal C
#    client (UDS and SHM), and an in-process `netipc bench` lookup run;
#  - the Rust transport tests (unit tests of `transport::`, tests/uds.rs,
#    tests/shm.rs): the crate's unsafe code (mappings, futexes, sockets,
#    the SIGBUS handler) under memcheck.
#
# NETIPC_VALGRIND_OPTIONAL=1 (CI): when valgrind cannot be installed, say so
# loudly and skip; a memcheck error always fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind-tests: installing valgrind" >&2
  if ! { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }; then
    if [ "${NETIPC_VALGRIND_OPTIONAL:-0}" = 1 ]; then
      echo "valgrind-tests: SKIPPED, could not install valgrind" >&2
      exit 0
    fi
    echo "valgrind-tests: could not install valgrind" >&2
    exit 1
  fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/netipc-valgrind.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The C programs are built the way the README tells a C user to: the
# library installed by build-c.sh (here into a private prefix) and
# pkg-config's flags, so the shared library is the one under memcheck.
bash crates/netipc-c/build-c.sh --install "$work/prefix" >/dev/null
cargo build --release --locked -p netipc-cli
netipc="$repo/target/release/netipc"
read -r -a c_flags <<<"$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs netipc)"
build_c() { # NAME SOURCE
  cc -std=c11 -Wall -Wextra -Werror -g -O1 -pthread -I crates/netipc-c/tests/c \
    "$2" -o "$work/$1" "${c_flags[@]}" -Wl,-rpath,"$work/prefix/lib"
}

# Precise registers at every memory access: the SIGBUS repair of a
# truncated region re-executes the faulting instruction, which memcheck
# otherwise resumes with stale registers (false invalid writes).
precise=--vex-iropt-register-updates=allregs-at-mem-access
memcheck=(valgrind -q --error-exitcode=99 "$precise" --leak-check=full
  --errors-for-leak-kinds=definite,indirect --track-origins=yes)
failed=0
fail() { echo "valgrind-tests: FAILED: $*" >&2; failed=1; }

# Waits (up to 5 minutes: memcheck is slow on a loaded machine) for a line
# starting with $2 in file $1, written by the process $3.
wait_for_line() {
  local deadline=$((SECONDS + 300))
  until grep -q "^$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then return 1; fi
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.1
  done
}

echo "== self-contained C programs"
for t in c_e2e c_cache c_bad_args; do
  build_c "$t" "crates/netipc-c/tests/c/$t.c"
  if out="$("${memcheck[@]}" "$work/$t" 2>&1)" && grep -q " 0 failed" <<<"$out"; then
    grep -E "passed, 0 failed" <<<"$out"
  else
    fail "$t"; echo "$out" >&2
  fi
done

echo "== c_server <-> c_client (two processes)"
build_c c_server crates/netipc-c/tests/c/c_server.c
build_c c_client crates/netipc-c/tests/c/c_client.c
mkdir -m 0700 "$work/run-c"
mkfifo "$work/server-stdin"
"${memcheck[@]}" "$work/c_server" "$work/run-c" <"$work/server-stdin" >"$work/server.out" 2>&1 &
server_pid=$!
exec {hold}>"$work/server-stdin" # c_server serves until its stdin closes
if wait_for_line "$work/server.out" READY "$server_pid"; then
  for plane in uds shm; do
    if out="$("${memcheck[@]}" "$work/c_client" "$work/run-c" "$plane" 2>&1)" && grep -q " 0 failed" <<<"$out"; then
      echo "$plane: $(grep -E "passed, 0 failed" <<<"$out")"
    else
      fail "c_client $plane"; echo "$out" >&2
    fi
  done
else
  fail "c_server did not start"
fi
exec {hold}>&-
if wait "$server_pid" && grep -q "c_server: stopped" "$work/server.out"; then
  echo "c_server: stopped cleanly"
else
  fail "c_server"; cat "$work/server.out" >&2
fi
server_pid=""

echo "== netipc serve <-> minimal C client"
build_c minimal_client examples/c/minimal_client.c
for plane in uds shm; do
  dir="$work/run-cli-$plane"
  mkdir -m 0700 "$dir"
  env -u NETIPC_AUTH_TOKEN "${memcheck[@]}" "$netipc" serve increment --profile "$plane" --run-dir "$dir" \
    >"$work/serve.out" 2>&1 &
  server_pid=$!
  if wait_for_line "$work/serve.out" READY "$server_pid"; then
    if out="$("${memcheck[@]}" "$work/minimal_client" "$dir" 2>&1)" && [ "$out" = "41 + 1 = 42" ]; then
      echo "$plane: $out"
    else
      fail "minimal_client $plane"; echo "$out" >&2
    fi
  else
    fail "netipc serve $plane did not start"
  fi
  kill -TERM "$server_pid" 2>/dev/null || true
  if wait "$server_pid" && grep -q "netipc serve: stopped" "$work/serve.out"; then
    echo "$plane: netipc serve stopped cleanly"
  else
    fail "netipc serve $plane"; cat "$work/serve.out" >&2
  fi
  server_pid=""
done

echo "== netipc bench (in process)"
for sc in cgroups-lookup-mixed-16 apps-lookup-mixed-16; do
  if out="$("${memcheck[@]}" "$netipc" bench client "$sc" --duration 0.2 2>&1)" && grep -q "^$sc,netipc,netipc," <<<"$out"; then
    echo "$out"
  else
    fail "netipc bench client $sc"; echo "$out" >&2
  fi
done

echo "== Rust transport tests (lib transport::, tests/uds, tests/shm)"
# Every test binary under memcheck (cargo's runner), leaks not counted:
# the test harness and the process-wide SIGBUS registry live until exit.
runner="valgrind -q --error-exitcode=99 $precise"
host="$(rustc -vV | sed -n 's/^host: //p' | tr 'a-z-' 'A-Z_')"
if ! env "CARGO_TARGET_${host}_RUNNER=$runner" \
  cargo test --locked -q -p netipc --lib -- --test-threads=2 transport::; then
  fail "netipc lib transport:: tests"
fi
if ! env "CARGO_TARGET_${host}_RUNNER=$runner" \
  cargo test --locked -q -p netipc --test uds --test shm -- --test-threads=2; then
  fail "netipc uds/shm tests"
fi

if [ "$failed" != 0 ]; then exit 1; fi
echo "valgrind-tests: memcheck clean"
