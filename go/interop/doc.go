// Package interop holds the live interoperability tests between this Go
// module and the Rust `netipc` binary of the repository (crates/netipc-cli),
// in both directions, over UDS and SHM. The package has no API: see
// interop_test.go.
//
// The tests find the binary through the NETIPC_BIN environment variable,
// else at target/debug/netipc of the repository root (or
// $CARGO_TARGET_DIR/debug/netipc), else they build it with
// `cargo build -p netipc-cli`; without cargo and without a binary they skip.
package interop
