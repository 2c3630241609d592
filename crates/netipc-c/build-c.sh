#!/usr/bin/env bash
# Builds the NetIPC C library (libnetipc.a, libnetipc.so with soname
# libnetipc.so.0), writes netipc.pc, and optionally installs everything.
#
#   crates/netipc-c/build-c.sh                      # cargo build --release -p netipc-c
#   crates/netipc-c/build-c.sh --install /usr/local # ... and install under PREFIX
#   crates/netipc-c/build-c.sh --header             # regenerate include/netipc.h
#
# Options:
#   --install PREFIX   install PREFIX/include/netipc.h, PREFIX/lib/libnetipc.{a,so*}
#                      and PREFIX/lib/pkgconfig/netipc.pc
#   --prefix PREFIX    the prefix written into netipc.pc without installing
#                      (default /usr/local)
#   --profile NAME     cargo profile whose artifacts to use (default release)
#   --no-build         do not run cargo; use the artifacts already built
#   --header           regenerate the checked-in include/netipc.h and exit
#
# After installing: cc app.c $(pkg-config --cflags --libs netipc)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
profile=release
prefix=/usr/local
install=0
build=1

while [ $# -gt 0 ]; do
  case "$1" in
    --install) install=1; prefix="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --header)
      (cd "$repo" && NETIPC_WRITE_HEADER=1 cargo build -p netipc-c)
      echo "regenerated $here/include/netipc.h"
      exit 0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build-c.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

target="${CARGO_TARGET_DIR:-$repo/target}"
case "$profile" in
  debug|dev) out="$target/debug"; cargo_profile=dev ;;
  *) out="$target/$profile"; cargo_profile="$profile" ;;
esac

if [ "$build" = 1 ]; then
  (cd "$repo" && cargo build --profile "$cargo_profile" -p netipc-c --lib)
fi
for f in libnetipc.a libnetipc.so; do
  [ -f "$out/$f" ] || { echo "build-c.sh: $out/$f missing (build first)" >&2; exit 1; }
done

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
major="${version%%.*}"
pc="$out/netipc.pc"
cat > "$pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: netipc
Description: NetIPC C API (local IPC for Netdata plugins), Rust core
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lnetipc
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
PC
echo "wrote $pc"

if [ "$install" = 1 ]; then
  mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
  install -m 0644 "$here/include/netipc.h" "$prefix/include/netipc.h"
  install -m 0644 "$out/libnetipc.a" "$prefix/lib/libnetipc.a"
  install -m 0755 "$out/libnetipc.so" "$prefix/lib/libnetipc.so.$version"
  ln -sf "libnetipc.so.$version" "$prefix/lib/libnetipc.so.$major"
  ln -sf "libnetipc.so.$major" "$prefix/lib/libnetipc.so"
  install -m 0644 "$pc" "$prefix/lib/pkgconfig/netipc.pc"
  echo "installed into $prefix (pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
fi
