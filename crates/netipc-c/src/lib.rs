//! # netipc-c
//!
//! The C API over the netipc Rust core: `libnetipc.a`, `libnetipc.so`
//! (soname `libnetipc.so.0`) and the header `include/netipc.h`, which is
//! generated from this crate by cbindgen (see `build.rs`).
//!
//! Every entry point:
//!
//! - returns a [`nipc_error_t`] status code, or a documented sentinel;
//! - runs inside `catch_unwind`: a Rust panic never crosses the boundary
//!   and is reported as `NIPC_ERR_INTERNAL`;
//! - checks every pointer for NULL and every handle for its type tag
//!   before using it, and records a message for
//!   `nipc_last_error_message()` on failure.
//!
//! All `unsafe` code of the C API lives in this crate; each block carries
//! a `SAFETY` comment naming the caller contract it relies on, which the
//! header documents.

#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)] // C type names (nipc_client_t, ...)
#![deny(clippy::undocumented_unsafe_blocks)]

// Declaration order is the header's order (cbindgen follows it).
mod error;

mod types;

mod views;

mod client;

mod server;

mod cache;

mod handle;

pub use cache::*;
pub use client::*;
pub use error::{nipc_error_name, nipc_error_t, nipc_last_error_message};
pub use server::*;
pub use types::*;
pub use views::*;

/// The library version as a static NUL-terminated string (`"0.1.0"`).
/// Never NULL, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn nipc_version() -> *const std::ffi::c_char {
    c"0.1.0".as_ptr()
}

/// The 32-bit identity hash NetIPC producers use for cgroup names (the
/// `hash` of snapshot items and cache keys) over `len` bytes at `name`.
/// Returns 0 when `name` is NULL and `len` is not 0.
///
/// # Safety
///
/// `name` points to `len` readable bytes (or is NULL with `len == 0`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_simple_hash(name: *const std::ffi::c_char, len: usize) -> u32 {
    error::guard_value("nipc_simple_hash", 0, || {
        // SAFETY: the caller provides `len` readable bytes at `name`.
        let bytes = unsafe { types::bytes_arg(name, len, "name is NULL") }?;
        Ok(netipc::codec::cgroups_snapshot::simple_hash(bytes))
    })
}
