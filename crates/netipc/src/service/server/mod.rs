//! The Level 2 managed server: one listener exporting one service kind,
//! one thread per session, typed handlers.
//!
//! ```no_run
//! use netipc::service::server::{Server, ServerConfig};
//!
//! let cfg = ServerConfig {
//!     auth_token: 0xBE4C_4000_00C0_FFEE,
//!     ..ServerConfig::new("/run/netdata", "increment")
//! };
//! // The endpoint is bound (clients may connect) once this returns.
//! let server = Server::increment(&cfg, |v: u64| Ok(v.wrapping_add(1)))?;
//! // ... serve until shutdown ...
//! server.stop();
//! # Ok::<(), netipc::Error>(())
//! ```
//!
//! One constructor per service kind ([`Server::increment`],
//! [`Server::string_reverse`], [`Server::cgroups_snapshot`],
//! [`Server::cgroups_lookup`], [`Server::apps_lookup`]) takes a typed
//! handler: a closure, your own type implementing the handler trait, or an
//! `Arc<dyn …Handler>`. Handlers see decoded requests and fill typed
//! answers; they never see headers, buffers or the transport. They run
//! concurrently on the session threads.
//!
//! # Threads and session slots
//!
//! - An acceptor thread takes connections from the listener (the UDS
//!   socket on Linux, the Named Pipe on Windows); it
//!   never reads from a peer. Each connection gets its own thread, which
//!   runs the handshake under the handshake timeout and then serves the
//!   session (no second thread).
//! - At most `max_sessions` sessions are served at once; each holds a
//!   slot. A connection still in its handshake holds no slot: a silent
//!   client cannot block others and is dropped at the handshake deadline.
//!   At most `max_pending_handshakes` handshakes run at once.
//! - When every slot is busy the acceptor stops accepting. New clients
//!   are not refused: the kernel's listen backlog holds their connection
//!   and HELLO, and their handshake completes as soon as a slot frees, so
//!   they simply wait (bounded by their own timeout). A connection whose
//!   handshake completed while the last slot was being taken waits, with
//!   its session established, for the next free slot before its requests
//!   are read.
//!
//! # Dispatch
//!
//! Each session reads one request at a time into per-session buffers and
//! answers it:
//!
//! - success: `OK`; a real batch (BATCH flag, more than one item) is
//!   answered by a batch with the same item count in request order,
//!   anything else by a single response (`flags = 0`, `item_count = 1`);
//! - a method this server does not serve: `UNSUPPORTED`, the session
//!   stays open;
//! - a malformed payload, a batch for a method that has no batches
//!   (snapshot, lookups), a malformed envelope: `BAD_ENVELOPE`, close;
//! - a handler failure or panic (in any batch item): `INTERNAL_ERROR`,
//!   close (a panic ends only that session);
//! - a request over the session's request budget or batch size, a batch
//!   over `max_batch_items`, an answer over the session's response budget:
//!   `LIMIT_EXCEEDED`, close.
//!
//! Error replies carry an empty payload, `flags = 0`, `item_count = 1`.
//!
//! # Learned budgets
//!
//! The server keeps one learned payload budget per direction (see
//! [`Server::learned_budgets`]). Each starts at the configured budget, or
//! at 1024 bytes in zero-config mode (budget 0), and never passes the
//! configured budget, or 1 MiB in zero-config mode. Every handshake offers
//! the current values. The response budget grows to the next power of two
//! of `max(2 × the session's agreed budget, the answer's size)` when an
//! answer does not fit (`LIMIT_EXCEEDED`), and to `2 ×` when a lookup
//! answer's first item had to be `PAYLOAD_EXCEEDED`. The request budget
//! grows the same way when a request over the session's budget arrives, or
//! when an authenticated HELLO proposes more than the current budget (the
//! handshake is still rejected; the client's reconnect is accepted). So a
//! reconnecting client gets the bigger budget and its answer.
//!
//! Lookup answers use the session's response budget as the builder budget
//! and the server's ceiling as the `OVERSIZED_ITEM` limit.
//!
//! # Shutdown
//!
//! [`Server::stop`] (also run by `Drop`) stops accepting, lets requests in
//! progress finish within the drain timeout, closes every session (each
//! through its transport's session shutdown handle), and removes the
//! socket file and every SHM region file (Linux). See its docs for the
//! steps and for handlers that never return.

mod apps_lookup;
mod budgets;
mod cgroups_lookup;
mod config;
mod core;
mod dispatch;
mod facade;
mod handler;
mod increment;
mod local;
mod lookup;
mod snapshot;
mod string_reverse;

pub use apps_lookup::AppsLookupHandler;
pub use budgets::PayloadBudgets;
pub use cgroups_lookup::CgroupsLookupHandler;
pub use config::ServerConfig;
pub use core::{Server, ServerStats, StopSummary};
pub use dispatch::ServiceKind;
pub use handler::HandlerError;
pub use increment::IncrementHandler;
pub use local::LocalDispatcher;
pub use snapshot::CgroupsSnapshotHandler;
pub use string_reverse::StringReverseHandler;
