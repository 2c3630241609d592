//! The checked-in `include/netipc.h` must be exactly what cbindgen
//! generates from the current source (build.rs writes it to `OUT_DIR`).

#[test]
fn checked_in_header_is_current() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/netipc.h"))
        .expect("build.rs generates $OUT_DIR/netipc.h");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/netipc.h");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == checked_in,
        "include/netipc.h is out of date with the Rust source; regenerate it with\n\
         \n    NETIPC_WRITE_HEADER=1 cargo build -p netipc-c\n\nand commit the result"
    );
}
