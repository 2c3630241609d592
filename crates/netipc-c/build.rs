//! Build script of the C library:
//!
//! - gives `libnetipc.so` its soname, `libnetipc.so.0`;
//! - generates the C header from this crate's source with cbindgen into
//!   `$OUT_DIR/netipc.h` (the test `tests/header.rs` fails when the
//!   checked-in `include/netipc.h` differs from it);
//! - with `NETIPC_WRITE_HEADER=1` in the environment, also writes it to
//!   `include/netipc.h`. Regenerate the checked-in header with:
//!
//!   NETIPC_WRITE_HEADER=1 cargo build -p netipc-c

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnetipc.so.0");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=NETIPC_WRITE_HEADER");

    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    // `with_src` parses the crate's own modules without running
    // `cargo metadata` (no nested cargo inside the build).
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed to generate netipc.h: {e}"));
    bindings.write_to_file(out.join("netipc.h"));
    if std::env::var_os("NETIPC_WRITE_HEADER").is_some_and(|v| v == "1") {
        bindings.write_to_file(dir.join("include/netipc.h"));
    }
}
