//! # netipc
//!
//! A Rust implementation of the NetIPC protocol stack used by Netdata
//! plugins to talk to each other on one host.
//!
//! The crate is layered:
//!
//! - [`wire`]: Level 1 framing as pure bytes (outer header, chunk header,
//!   batch directory, HELLO / HELLO_ACK).
//! - [`codec`]: typed encoders, builders and zero-copy views for every
//!   method payload. Pure bytes, no I/O.
//! - `transport`: Level 1 sessions over UDS `SOCK_SEQPACKET` and POSIX
//!   shared memory (Unix), or Win32 Named Pipes (Windows).
//! - `service`: Level 2 typed clients and the managed server.
//! - `cache`: Level 3 snapshot caches.
//!
//! Every byte received from a peer is untrusted: decoders return a typed
//! [`Error`] and never panic.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod bytes;
// Levels 2 and 3 run over the Linux transports for now; the Windows build
// carries the pure-bytes layers and the Named Pipe transport.
#[cfg(unix)]
pub mod cache;
pub mod codec;
pub mod error;
pub mod protocol;
#[cfg(unix)]
pub mod service;
pub mod transport;
pub mod wire;

pub use error::{DecodeError, Error, Limit, Result, Violation};
