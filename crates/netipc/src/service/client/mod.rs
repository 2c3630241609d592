//! Level 2 typed clients: one client core, thin typed facades.
//!
//! | Service kind | Client | Calls |
//! |---|---|---|
//! | INCREMENT (test) | [`IncrementClient`] | `call(u64)`, `call_batch(&[u64])` |
//! | STRING_REVERSE (test) | [`StringReverseClient`] | `call(&[u8])`, `call_batch(&[T])` |
//! | `cgroups-snapshot` | [`CgroupsSnapshotClient`] | `call_snapshot()` |
//! | `cgroups-lookup` | [`CgroupsLookupClient`] | `lookup(&[P])` |
//! | `apps-lookup` | [`AppsLookupClient`] | `lookup(&[u32])` |
//!
//! # Lifecycle
//!
//! `new(run_dir, service, config)` never connects: the provider may not
//! exist yet. The caller drives all connection work with `refresh()` from
//! its own loop (no background threads); it returns whether the state
//! changed. `ready()` is a cached field read, cheap enough for hot paths.
//! `status()` returns a [`ClientStatus`] snapshot. `close()` releases the
//! session and every buffer (a later `refresh()` may reconnect).
//!
//! ```no_run
//! use netipc::service::client::{ClientConfig, IncrementClient};
//! # fn main() -> netipc::Result<()> {
//! let mut c = IncrementClient::new("/run/netdata", "increment", ClientConfig::default())?;
//! c.refresh();
//! if c.ready() {
//!     let v = c.call(41)?;
//!     assert_eq!(v, 42);
//! }
//! # Ok(()) }
//! ```
//!
//! # States
//!
//! [`ClientState`]: DISCONNECTED → (refresh) → READY, or NOT_FOUND (nobody
//! listens), AUTH_FAILED, INCOMPATIBLE (profile / version / layout
//! mismatch, the server rejecting every request proposal down to the
//! method's smallest request, a granted response budget above
//! [`ClientConfig::max_payload_bytes`], a malformed HELLO_ACK), BROKEN (a
//! READY session failed, or a call timed out or was aborted), DISCONNECTED
//! (transport failure before any session was ever READY, or a server that
//! completed the handshake and hung up at once, as servers at their
//! session limit do). `refresh()` retries from every non-READY state and,
//! when READY, checks the session for a hang-up with one zero-timeout
//! probe (a `poll` of the socket on Linux, a pipe peek on Windows).
//!
//! # Calls
//!
//! A call when not READY fails at once without I/O: [`Error::NotFound`](crate::Error::NotFound),
//! [`Error::AuthFailed`](crate::Error::AuthFailed) or [`Error::Incompatible`](crate::Error::Incompatible) in those states,
//! [`Error::InvalidState`](crate::Error::InvalidState) in DISCONNECTED / BROKEN, and
//! [`Error::Aborted`](crate::Error::Aborted) while the abort is triggered.
//!
//! Calls are at-least-once: a call that fails on a READY client is resent
//! once over a new session (full handshake). Timeout ([`Error::Timeout`](crate::Error::Timeout))
//! and abort ([`Error::Aborted`](crate::Error::Aborted)) are never retried; they disconnect
//! (state BROKEN). Every call is bounded by one deadline covering the
//! whole logical call (reconnects, retries and lookup subcalls included):
//! [`ClientConfig::call_timeout`], changeable with `set_call_timeout`.
//! `abort_handle()` returns a cloneable `Send + Sync` handle that another
//! thread may trigger while a call blocks; the abort is sticky until
//! `clear_abort()` or `close()`.
//!
//! Transport status mapping: `UNSUPPORTED` → [`Error::Unsupported`](crate::Error::Unsupported)
//! (session kept); `LIMIT_EXCEEDED` → overflow recovery (reconnect with
//! grown budgets, up to
//! [`MAX_OVERFLOW_RECONNECTS`](crate::service::defaults::MAX_OVERFLOW_RECONNECTS),
//! stopping when a reconnect raises nothing), then
//! `Error::Status(STATUS_LIMIT_EXCEEDED)`; `INTERNAL_ERROR`,
//! `BAD_ENVELOPE` and any other status → reconnect and resend once, then
//! `Error::Status(status)`. The status is read before any batch directory.
//! A request larger than the agreed request budget grows the request
//! proposal (next power of two) the same way, and fails with
//! [`Error::LimitExceeded`](crate::Error::LimitExceeded) (`Limit::RequestPayload`) when the server
//! will not accept it or it is above the growth cap. A response whose
//! item count differs from the request fails with
//! [`Violation::ItemCountMismatch`](crate::Violation::ItemCountMismatch),
//! and an undecodable payload with [`Error::Decode`](crate::Error::Decode); both keep the
//! session and are not retried.
//!
//! If SHM is selected but cannot be attached, the session is closed, SHM
//! is removed from this context's proposals, and the connection is retried
//! at once on the baseline transport (`status().shm_disabled`).
//!
//! # Views
//!
//! Variable-size responses are views borrowing client storage: calls take
//! `&mut self` and return views tied to that borrow, so a view is valid
//! until the next call on the same client (the borrow checker enforces
//! it). Copy (`to_owned`) what you need longer.
//!
//! INCREMENT and snapshot calls do not allocate once the client is warm:
//! request and response buffers are reused, and the response payload is
//! copied once from the transport's receive buffer into client storage.

/// Generates the lifecycle methods every typed client shares.
macro_rules! client_common {
    ($ty:ident) => {
        impl $ty {
            /// Does connection work: connects when not READY, reconnects a
            /// broken session, and checks a READY session for a hang-up.
            /// Returns whether the state changed. Never blocks longer than
            /// the configured connect timeout.
            pub fn refresh(&mut self) -> bool {
                self.core.refresh()
            }

            /// Whether the client is READY (a cached field, no syscall).
            #[inline]
            pub fn ready(&self) -> bool {
                self.core.ready()
            }

            /// The current connection state.
            #[inline]
            pub fn state(&self) -> $crate::service::client::ClientState {
                self.core.state()
            }

            /// A diagnostic snapshot: state, counters, selected profile,
            /// SHM use and agreed budgets.
            pub fn status(&self) -> $crate::service::client::ClientStatus {
                self.core.status()
            }

            /// A handle that aborts the current and every later call from
            /// any thread (sticky until [`Self::clear_abort`] or
            /// [`Self::close`]). Aborted calls return
            /// [`Error::Aborted`](crate::Error::Aborted) and are not retried.
            pub fn abort_handle(&self) -> $crate::transport::AbortHandle {
                self.core.abort_handle()
            }

            /// Clears a triggered abort.
            pub fn clear_abort(&self) {
                self.core.clear_abort()
            }

            /// Sets the timeout of every later call (one deadline per
            /// logical call); `Duration::ZERO` restores the configured
            /// default.
            pub fn set_call_timeout(&mut self, timeout: ::std::time::Duration) {
                self.core.set_call_timeout(timeout)
            }

            /// Drops the current session (state BROKEN) without resetting
            /// learned proposals; the next [`Self::refresh`] reconnects.
            /// Use it when a response broke a contract the caller checks.
            pub fn disconnect(&mut self) {
                self.core.disconnect()
            }

            /// The endpoint this client targets.
            pub fn endpoint(&self) -> &$crate::transport::Endpoint {
                self.core.endpoint()
            }

            /// Closes the session and frees every buffer; the state becomes
            /// DISCONNECTED and the abort is cleared. A later
            /// [`Self::refresh`] may connect again.
            pub fn close(&mut self) {
                self.core.close();
                self.release_buffers();
            }
        }
    };
}

mod apps_lookup;
mod cgroups_lookup;
mod config;
mod core;
mod increment;
mod snapshot;
mod state;
mod stitch;
mod string_reverse;

pub use apps_lookup::{AppsLookupClient, AppsLookupResultView};
pub use cgroups_lookup::{CgroupsLookupClient, CgroupsLookupResultView};
pub use config::ClientConfig;
pub use increment::IncrementClient;
pub use snapshot::CgroupsSnapshotClient;
pub use state::{ClientState, ClientStatus};
pub use string_reverse::{StringReverseBatchView, StringReverseClient};
