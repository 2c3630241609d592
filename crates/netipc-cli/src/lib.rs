//! Library side of the `netipc` command-line tool.
//!
//! - [`cmd`]: the subcommands, the argument parser and the exit code
//!   policy (`netipc` itself is a thin `main` over [`cmd::main`]).
//! - [`hostdata`]: live Linux host data (cgroup index, process table) and
//!   the [`HostProvider`](hostdata::HostProvider) that owns them.
//! - [`dataset`]: the JSON shapes of the three data services, used for
//!   `--json` output and as `netipc serve --data` input, and their
//!   conversions to and from the codec types.
//! - [`source`]: the [`DataSource`](source::DataSource) trait that a server
//!   answers from, implemented by the dataset provider and the host.
//! - [`wire_json`]: the JSON shapes of every wire structure (headers,
//!   handshake, batches, messages, method payloads) for `netipc decode` and
//!   `netipc encode`.
//! - [`json`]: the strict JSON reader behind every JSON input.
//! - [`provider`]: managed servers answering from a data source, and the
//!   live host rescanned in the background (`netipc serve`, `netipc demo`).
//! - [`platform`]: the one place the tool differs between Linux and
//!   Windows (live host data is Linux-only; everything that talks to a
//!   service runs on both).
//!
//! The protocol enums, `simple_hash` and `UID_UNSET` are the library's
//! (`netipc::codec`).

// `unsafe` only in `platform` (the Windows console control handler and
// the Unix process CPU clock).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cmd;
pub mod dataset;
pub mod hostdata;
pub mod json;
pub mod platform;
pub mod provider;
pub mod source;
pub mod wire_json;
