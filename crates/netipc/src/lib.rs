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
//! - [`service`]: Level 2 typed clients and the managed server.
//! - [`cache`]: Level 3 snapshot caches.
//!
//! Levels 2 and 3 name only the platform-neutral transport types
//! re-exported by `transport`, so they run unchanged on Linux (UDS and
//! SHM) and Windows (Named Pipes).
//!
//! Every byte received from a peer is untrusted: decoders return a typed
//! [`Error`] and never panic.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod bytes;
pub mod cache;
pub mod codec;
pub mod error;
pub mod protocol;
pub mod service;
pub mod transport;
pub mod wire;

pub use error::{DecodeError, Error, Limit, Result, Violation};
