//! The managed server with C callbacks, the response builders and request
//! views those callbacks receive.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use netipc::service::server::{Server, StopSummary};

use crate::error::{Failure, FfiResult, guard, nipc_error_t};
use crate::handle::{MAGIC_SERVER, Tagged, tagged_ref, tagged_take};
use crate::types::{
    endpoint_args, nipc_server_config_t, nipc_service_kind_t, out_ptr, server_config, write_out,
};

// ----- Opaque types --------------------------------------------------------

/// A running managed server (opaque; `nipc_server_init_typed()` /
/// `nipc_server_destroy()`).
pub struct nipc_server_t {
    _opaque: [u8; 0],
}

/// The answer of a STRING_REVERSE handler (opaque; valid only during the
/// callback that received it).
pub struct nipc_string_reverse_builder_t {
    _opaque: [u8; 0],
}

/// The response of a CGROUPS_SNAPSHOT handler (opaque; valid only during
/// the callback that received it).
pub struct nipc_cgroups_snapshot_builder_t {
    _opaque: [u8; 0],
}

/// A decoded CGROUPS_LOOKUP request (opaque; valid only during the
/// callback that received it).
pub struct nipc_cgroups_lookup_request_t {
    _opaque: [u8; 0],
}

/// The response of a CGROUPS_LOOKUP handler (opaque; valid only during the
/// callback that received it).
pub struct nipc_cgroups_lookup_builder_t {
    _opaque: [u8; 0],
}

/// A decoded APPS_LOOKUP request (opaque; valid only during the callback
/// that received it).
pub struct nipc_apps_lookup_request_t {
    _opaque: [u8; 0],
}

/// The response of an APPS_LOOKUP handler (opaque; valid only during the
/// callback that received it).
pub struct nipc_apps_lookup_builder_t {
    _opaque: [u8; 0],
}

// ----- Callbacks -----------------------------------------------------------

/// INCREMENT handler: answers `value` in `*result_out` (conventionally
/// `value + 1`). Return `true` on success; `false` makes the server answer
/// `INTERNAL_ERROR` and close that session.
pub type nipc_increment_handler_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, value: u64, result_out: *mut u64) -> bool>;

/// STRING_REVERSE handler: `len` bytes at `text` (NUL-terminated too) in,
/// the answer appended to `out` with `nipc_string_reverse_builder_append()`.
/// Return `true` on success, `false` for `INTERNAL_ERROR`.
pub type nipc_string_reverse_handler_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        text: *const c_char,
        len: usize,
        out: *mut nipc_string_reverse_builder_t,
    ) -> bool,
>;

/// CGROUPS_SNAPSHOT handler: fills `builder` (header, then items). Return
/// `true` on success, `false` for `INTERNAL_ERROR`. If an add failed with
/// `NIPC_ERR_LIMIT_EXCEEDED`, the server answers `LIMIT_EXCEEDED` whatever
/// the callback returns (the client then reconnects with a grown budget).
pub type nipc_cgroups_snapshot_handler_fn = Option<
    unsafe extern "C" fn(user: *mut c_void, builder: *mut nipc_cgroups_snapshot_builder_t) -> bool,
>;

/// CGROUPS_LOOKUP handler: add exactly one item per request path, in
/// request order (prefer `nipc_cgroups_lookup_builder_add_request_item()`).
/// Return `true` on success, `false` for `INTERNAL_ERROR`; leaving items
/// out is also `INTERNAL_ERROR`.
pub type nipc_cgroups_lookup_handler_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        request: *const nipc_cgroups_lookup_request_t,
        builder: *mut nipc_cgroups_lookup_builder_t,
    ) -> bool,
>;

/// APPS_LOOKUP handler: add exactly one item per request PID, in request
/// order. Return `true` on success, `false` for `INTERNAL_ERROR`.
pub type nipc_apps_lookup_handler_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        request: *const nipc_apps_lookup_request_t,
        builder: *mut nipc_apps_lookup_builder_t,
    ) -> bool,
>;

/// The typed handler of a server: the service kind and its callback.
///
/// Set `kind` (a `nipc_service_kind_t`) and the one callback field that
/// matches it; the others are ignored. `user` is passed to every call.
/// Callbacks run concurrently on the server's session threads (one per
/// connected client): `user` and everything it reaches must be
/// thread-safe. Requests are at-least-once: a client may resend after a
/// reconnect, so handlers must tolerate duplicates.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_server_handler_t {
    /// The service kind served (a `nipc_service_kind_t`).
    pub kind: u32,
    /// Opaque pointer passed to the callback.
    pub user: *mut c_void,
    /// Callback of `NIPC_SERVICE_INCREMENT`.
    pub increment: nipc_increment_handler_fn,
    /// Callback of `NIPC_SERVICE_STRING_REVERSE`.
    pub string_reverse: nipc_string_reverse_handler_fn,
    /// Callback of `NIPC_SERVICE_CGROUPS_SNAPSHOT`.
    pub cgroups_snapshot: nipc_cgroups_snapshot_handler_fn,
    /// Callback of `NIPC_SERVICE_CGROUPS_LOOKUP`.
    pub cgroups_lookup: nipc_cgroups_lookup_handler_fn,
    /// Callback of `NIPC_SERVICE_APPS_LOOKUP`.
    pub apps_lookup: nipc_apps_lookup_handler_fn,
}

/// Counters of a server since it started (diagnostics).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_server_stats_t {
    /// Connections accepted.
    pub connections_accepted: u64,
    /// Sessions that completed the handshake.
    pub sessions_started: u64,
    /// Handshakes that failed for any reason.
    pub handshake_failures: u64,
    /// Of those, wrong auth tokens.
    pub auth_failures: u64,
    /// Requests received.
    pub requests: u64,
    /// Requests answered `UNSUPPORTED`.
    pub unsupported: u64,
    /// Requests answered `BAD_ENVELOPE`.
    pub bad_envelopes: u64,
    /// Requests answered `LIMIT_EXCEEDED`.
    pub limit_exceeded: u64,
    /// Handler failures (callbacks returning `false`): `INTERNAL_ERROR`.
    pub handler_failures: u64,
    /// Sessions currently served.
    pub active_sessions: u64,
}

// The non-NULL callback types (same signatures as the public typedefs).
/// cbindgen:ignore
type IncrementFn = unsafe extern "C" fn(*mut c_void, u64, *mut u64) -> bool;
/// cbindgen:ignore
type StringReverseFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    usize,
    *mut nipc_string_reverse_builder_t,
) -> bool;
/// cbindgen:ignore
type SnapshotFn = unsafe extern "C" fn(*mut c_void, *mut nipc_cgroups_snapshot_builder_t) -> bool;
/// cbindgen:ignore
type CgroupsLookupFn = unsafe extern "C" fn(
    *mut c_void,
    *const nipc_cgroups_lookup_request_t,
    *mut nipc_cgroups_lookup_builder_t,
) -> bool;
/// cbindgen:ignore
type AppsLookupFn = unsafe extern "C" fn(
    *mut c_void,
    *const nipc_apps_lookup_request_t,
    *mut nipc_apps_lookup_builder_t,
) -> bool;

mod adapters;
mod labels;

// Declared in the order the header lists them.
mod builders;

mod cgroups_lookup;

mod apps_lookup;

pub use apps_lookup::*;
pub use builders::*;
pub use cgroups_lookup::*;

use adapters::{CAppsLookup, CCgroupsLookup, CIncrement, CSnapshot, CStringReverse, UserPtr};

// ----- Server lifecycle ----------------------------------------------------

struct RunState {
    stopped: Option<StopSummary>,
}

struct ServerShared {
    server: Server,
    state: Mutex<RunState>,
    cond: Condvar,
}

impl ServerShared {
    fn finish(&self, s: StopSummary) -> StopSummary {
        let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let first = *g.stopped.get_or_insert(s);
        drop(g);
        self.cond.notify_all();
        first
    }
}

/// The object behind a `nipc_server_t *`. Runners hold their own `Arc`,
/// so destroy may free the handle while `nipc_server_run` returns.
pub(crate) struct ServerHandle {
    shared: Arc<ServerShared>,
}

/// # Safety
///
/// `p` is NULL or a live handle from `nipc_server_init_typed`.
unsafe fn server_ref<'a>(p: *const nipc_server_t) -> FfiResult<&'a ServerHandle> {
    // SAFETY: forwarded contract.
    let t: &Tagged<ServerHandle> = unsafe { tagged_ref(p, MAGIC_SERVER, "server is NULL") }?;
    Ok(&t.inner)
}

fn missing(kind: &'static str) -> Failure {
    Failure::new(
        nipc_error_t::NIPC_ERR_INVALID_ARGUMENT,
        format!("handler->{kind} is NULL"),
    )
}

/// Creates a managed server for `handler->kind` at
/// `{run_dir}/{service_name}.sock` and starts serving at once: when this
/// returns `NIPC_OK` the socket is bound and clients may connect (an
/// acceptor thread and one thread per session run the callbacks).
///
/// - `config`: NULL for defaults, or a zero-initialised config (copied).
/// - `handler`: the kind and its callback (copied; `user` must stay valid
///   until `nipc_server_destroy()` returns).
/// - `*server_out` receives the handle; release it with
///   `nipc_server_destroy()`.
///
/// Stale socket and SHM files of dead servers are reclaimed. Errors:
/// `NIPC_ERR_INVALID_ARGUMENT` (NULL, unknown kind, missing callback,
/// invalid name or profiles), `NIPC_ERR_ADDRESS_IN_USE` (a live server
/// owns the endpoint), `NIPC_ERR_IO`.
///
/// # Safety
///
/// String arguments are NULL or NUL-terminated; `config` and `handler`
/// are NULL or valid; the callbacks are valid functions with the
/// documented signatures; `server_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_server_init_typed(
    run_dir: *const c_char,
    service_name: *const c_char,
    config: *const nipc_server_config_t,
    handler: *const nipc_server_handler_t,
    server_out: *mut *mut nipc_server_t,
) -> nipc_error_t {
    guard("nipc_server_init_typed", || {
        let out = out_ptr(server_out, "server_out is NULL")?;
        // SAFETY: NULL or valid per the contract.
        let h = unsafe { handler.as_ref() }.ok_or(Failure::invalid("handler is NULL"))?;
        let kind = nipc_service_kind_t::from_u32(h.kind)?;
        // SAFETY: NUL-terminated or NULL per the contract.
        let (dir, svc) = unsafe { endpoint_args(run_dir, service_name) }?;
        // SAFETY: NULL or valid per the contract.
        let cfg = unsafe { server_config(config, dir, svc) };
        let user = UserPtr(h.user);
        use nipc_service_kind_t::*;
        let server = match kind {
            NIPC_SERVICE_INCREMENT => {
                let f = h.increment.ok_or_else(|| missing("increment"))?;
                Server::increment(&cfg, CIncrement(f, user))?
            }
            NIPC_SERVICE_STRING_REVERSE => {
                let f = h.string_reverse.ok_or_else(|| missing("string_reverse"))?;
                Server::string_reverse(&cfg, CStringReverse(f, user))?
            }
            NIPC_SERVICE_CGROUPS_SNAPSHOT => {
                let f = h
                    .cgroups_snapshot
                    .ok_or_else(|| missing("cgroups_snapshot"))?;
                Server::cgroups_snapshot(&cfg, CSnapshot(f, user))?
            }
            NIPC_SERVICE_CGROUPS_LOOKUP => {
                let f = h.cgroups_lookup.ok_or_else(|| missing("cgroups_lookup"))?;
                Server::cgroups_lookup(&cfg, CCgroupsLookup(f, user))?
            }
            NIPC_SERVICE_APPS_LOOKUP => {
                let f = h.apps_lookup.ok_or_else(|| missing("apps_lookup"))?;
                Server::apps_lookup(&cfg, CAppsLookup(f, user))?
            }
        };
        let handle = ServerHandle {
            shared: Arc::new(ServerShared {
                server,
                state: Mutex::new(RunState { stopped: None }),
                cond: Condvar::new(),
            }),
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, Tagged::into_raw(MAGIC_SERVER, handle)) };
        Ok(())
    })
}

/// Blocks the calling thread until the server is stopped
/// (`nipc_server_stop()`, `nipc_server_drain()` or
/// `nipc_server_destroy()` from another thread), then returns `NIPC_OK`.
/// Serving itself runs on the library's threads from
/// `nipc_server_init_typed()` on; `run` only parks a thread (for example
/// the plugin's server thread) for the server's lifetime. Several threads
/// may run it; it returns at once on a stopped server.
///
/// # Safety
///
/// `server` is NULL or a live handle (it may be destroyed by another
/// thread while this call blocks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_server_run(server: *mut nipc_server_t) -> nipc_error_t {
    guard("nipc_server_run", || {
        // SAFETY: live handle per the contract.
        let shared = Arc::clone(&unsafe { server_ref(server) }?.shared);
        let mut g = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        while g.stopped.is_none() {
            g = shared.cond.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
        Ok(())
    })
}

fn stop_code(s: StopSummary) -> FfiResult {
    if s.drained {
        Ok(())
    } else {
        Err(Failure::new(
            nipc_error_t::NIPC_ERR_TIMEOUT,
            format!(
                "sessions did not finish within the drain timeout ({} abandoned)",
                s.abandoned
            ),
        ))
    }
}

/// Stops the server: stops accepting (the socket file is removed), lets
/// requests in progress finish within the configured `drain_timeout_ms`,
/// closes every session and wakes every `nipc_server_run()` caller.
/// Blocks until done. Idempotent (later calls report the first result).
///
/// Returns `NIPC_OK` when every session finished in time,
/// `NIPC_ERR_TIMEOUT` when some had to be closed forcibly. Do not call it
/// from inside a callback of the same server (that session would wait out
/// the drain timeout).
///
/// # Safety
///
/// `server` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_server_stop(server: *mut nipc_server_t) -> nipc_error_t {
    guard("nipc_server_stop", || {
        // SAFETY: live handle per the contract.
        let shared = Arc::clone(&unsafe { server_ref(server) }?.shared);
        let s = shared.server.stop();
        stop_code(shared.finish(s))
    })
}

/// Graceful drain with an explicit deadline: like `nipc_server_stop()`
/// but waits at most `timeout_ms` for requests in progress (0 = the
/// configured drain timeout). Returns `NIPC_OK` if every session finished
/// in time, `NIPC_ERR_TIMEOUT` if some were closed forcibly. On an
/// already stopped server it reports the first stop's result.
///
/// # Safety
///
/// `server` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_server_drain(
    server: *mut nipc_server_t,
    timeout_ms: u32,
) -> nipc_error_t {
    guard("nipc_server_drain", || {
        // SAFETY: live handle per the contract.
        let shared = Arc::clone(&unsafe { server_ref(server) }?.shared);
        let s = if timeout_ms == 0 {
            shared.server.stop()
        } else {
            shared
                .server
                .stop_within(Duration::from_millis(u64::from(timeout_ms)))
        };
        stop_code(shared.finish(s))
    })
}

/// Fills `*stats_out` with the server's counters.
///
/// # Safety
///
/// `server` is NULL or a live handle; `stats_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_server_stats(
    server: *const nipc_server_t,
    stats_out: *mut nipc_server_stats_t,
) -> nipc_error_t {
    guard("nipc_server_stats", || {
        let out = out_ptr(stats_out, "stats_out is NULL")?;
        // SAFETY: live handle per the contract.
        let srv = &unsafe { server_ref(server) }?.shared.server;
        let s = srv.stats();
        let st = nipc_server_stats_t {
            connections_accepted: s.connections_accepted,
            sessions_started: s.sessions_started,
            handshake_failures: s.handshake_failures,
            auth_failures: s.auth_failures,
            requests: s.requests,
            unsupported: s.unsupported,
            bad_envelopes: s.bad_envelopes,
            limit_exceeded: s.limit_exceeded,
            handler_failures: s.handler_failures + s.handler_panics,
            active_sessions: srv.active_sessions() as u64,
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, st) };
        Ok(())
    })
}

/// Stops the server if it still runs (as `nipc_server_stop()`) and frees
/// the handle. NULL is a no-op. Blocked `nipc_server_run()` callers
/// return. The handle is invalid afterwards.
///
/// # Safety
///
/// `server` is NULL or a live handle that no other thread will use again
/// (threads blocked in `nipc_server_run` are fine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_server_destroy(server: *mut nipc_server_t) -> nipc_error_t {
    guard("nipc_server_destroy", || {
        // SAFETY: the caller gives the handle up.
        let b = unsafe { tagged_take::<_, ServerHandle>(server, MAGIC_SERVER) }?;
        if let Some(b) = b {
            let s = b.inner.shared.server.stop();
            b.inner.shared.finish(s);
        }
        Ok(())
    })
}
