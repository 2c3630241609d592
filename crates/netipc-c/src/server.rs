//! The managed server with C callbacks, the response builders and request
//! views those callbacks receive.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupEntry, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::service::server::{
    AppsLookupHandler, CgroupsLookupHandler, CgroupsSnapshotHandler, HandlerError,
    IncrementHandler, Server, StopSummary, StringReverseHandler,
};
use netipc::{Error, Limit};

use crate::error::{Failure, FfiResult, guard, guard_value, nipc_error_t};
use crate::handle::{
    MAGIC_APPS_BUILDER, MAGIC_APPS_REQUEST, MAGIC_CG_BUILDER, MAGIC_CG_REQUEST, MAGIC_SERVER,
    MAGIC_SNAP_BUILDER, MAGIC_SR_BUILDER, Tagged, tagged_ref, tagged_take,
};
use crate::types::{
    bytes_arg, cgroup_status, endpoint_args, lookup_status, nipc_label_t, nipc_lookup_status_t,
    nipc_pid_status_t, nipc_server_config_t, nipc_service_kind_t, nipc_str_t, out_ptr, pid_status,
    server_config, str_arg, write_opt, write_out,
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

/// The `user` pointer, shared with the session threads.
#[derive(Clone, Copy)]
struct UserPtr(*mut c_void);

// SAFETY: the header makes the caller responsible for `user` being usable
// from every session thread concurrently (see `nipc_server_handler_t`);
// the library only passes the pointer through.
unsafe impl Send for UserPtr {}
// SAFETY: as above.
unsafe impl Sync for UserPtr {}

const CALLBACK_FAILED: HandlerError = HandlerError::Failed("C handler returned false");

struct CIncrement(IncrementFn, UserPtr);

impl IncrementHandler for CIncrement {
    fn increment(&self, value: u64) -> Result<u64, HandlerError> {
        let mut out = 0u64;
        // SAFETY: the callback was registered for this kind; `out` is a
        // valid local for the duration of the call.
        let ok = unsafe { (self.0)(self.1.0, value, &mut out) };
        if ok { Ok(out) } else { Err(CALLBACK_FAILED) }
    }
}

struct CStringReverse(StringReverseFn, UserPtr);

impl StringReverseHandler for CStringReverse {
    fn reverse(&self, text: &[u8], out: &mut Vec<u8>) -> Result<(), HandlerError> {
        let mut b = Tagged::new(MAGIC_SR_BUILDER, out as *mut Vec<u8>);
        let bp: *mut nipc_string_reverse_builder_t = (&mut b as *mut Tagged<*mut Vec<u8>>).cast();
        // SAFETY: `text` is a live slice for the call; `bp` points to a
        // tagged builder on this stack frame, valid until the call returns
        // (the header forbids keeping it).
        let ok = unsafe { (self.0)(self.1.0, text.as_ptr().cast(), text.len(), bp) };
        if ok { Ok(()) } else { Err(CALLBACK_FAILED) }
    }
}

struct SnapBuilder {
    b: *mut CgroupsSnapshotBuilder,
    limit_hit: bool,
}

struct CSnapshot(SnapshotFn, UserPtr);

impl CgroupsSnapshotHandler for CSnapshot {
    fn snapshot(&self, snapshot: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> {
        let mut b = Tagged::new(
            MAGIC_SNAP_BUILDER,
            SnapBuilder {
                b: snapshot,
                limit_hit: false,
            },
        );
        let bp: *mut nipc_cgroups_snapshot_builder_t = (&mut b as *mut Tagged<SnapBuilder>).cast();
        // SAFETY: `bp` points to a tagged builder on this stack frame,
        // valid until the call returns.
        let ok = unsafe { (self.0)(self.1.0, bp) };
        if b.inner.limit_hit {
            Err(HandlerError::ResponseTooLarge)
        } else if ok {
            Ok(())
        } else {
            Err(CALLBACK_FAILED)
        }
    }
}

struct CgRequest(*const c_void);
struct CgBuilder(*mut CgroupsLookupBuilder);

struct CCgroupsLookup(CgroupsLookupFn, UserPtr);

impl CgroupsLookupHandler for CCgroupsLookup {
    fn lookup(
        &self,
        request: &CgroupsLookupRequestView<'_>,
        response: &mut CgroupsLookupBuilder,
    ) -> Result<(), HandlerError> {
        let req = Tagged::new(
            MAGIC_CG_REQUEST,
            CgRequest((request as *const CgroupsLookupRequestView<'_>).cast()),
        );
        let mut b = Tagged::new(MAGIC_CG_BUILDER, CgBuilder(response));
        let rp: *const nipc_cgroups_lookup_request_t = (&req as *const Tagged<CgRequest>).cast();
        let bp: *mut nipc_cgroups_lookup_builder_t = (&mut b as *mut Tagged<CgBuilder>).cast();
        // SAFETY: both point to tagged objects on this stack frame, valid
        // until the call returns.
        let ok = unsafe { (self.0)(self.1.0, rp, bp) };
        if ok { Ok(()) } else { Err(CALLBACK_FAILED) }
    }
}

struct AppsRequest(*const c_void);
struct AppsBuilder(*mut AppsLookupBuilder);

struct CAppsLookup(AppsLookupFn, UserPtr);

impl AppsLookupHandler for CAppsLookup {
    fn lookup(
        &self,
        request: &AppsLookupRequestView<'_>,
        response: &mut AppsLookupBuilder,
    ) -> Result<(), HandlerError> {
        let req = Tagged::new(
            MAGIC_APPS_REQUEST,
            AppsRequest((request as *const AppsLookupRequestView<'_>).cast()),
        );
        let mut b = Tagged::new(MAGIC_APPS_BUILDER, AppsBuilder(response));
        let rp: *const nipc_apps_lookup_request_t = (&req as *const Tagged<AppsRequest>).cast();
        let bp: *mut nipc_apps_lookup_builder_t = (&mut b as *mut Tagged<AppsBuilder>).cast();
        // SAFETY: both point to tagged objects on this stack frame, valid
        // until the call returns.
        let ok = unsafe { (self.0)(self.1.0, rp, bp) };
        if ok { Ok(()) } else { Err(CALLBACK_FAILED) }
    }
}

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

// ----- STRING_REVERSE builder ----------------------------------------------

/// Appends `len` bytes at `bytes` to a STRING_REVERSE answer (call it as
/// often as needed; the answer must not contain NUL bytes).
///
/// # Safety
///
/// `builder` is the one passed to the running callback; `bytes` holds
/// `len` readable bytes (or is NULL with `len == 0`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_string_reverse_builder_append(
    builder: *mut nipc_string_reverse_builder_t,
    bytes: *const c_char,
    len: usize,
) -> nipc_error_t {
    guard("nipc_string_reverse_builder_append", || {
        // SAFETY: the builder of the running callback per the contract.
        let b: &Tagged<*mut Vec<u8>> =
            unsafe { tagged_ref(builder, MAGIC_SR_BUILDER, "builder is NULL") }?;
        // SAFETY: `len` readable bytes per the contract.
        let bytes = unsafe { bytes_arg(bytes, len, "bytes is NULL") }?;
        // SAFETY: the Vec outlives the callback, and nothing else uses it
        // while the callback (which holds the builder) runs.
        unsafe { &mut *b.inner }.extend_from_slice(bytes);
        Ok(())
    })
}

// ----- CGROUPS_SNAPSHOT builder --------------------------------------------

/// # Safety
///
/// `p` is NULL or the builder passed to the running callback.
unsafe fn snap_builder<'a>(
    p: *mut nipc_cgroups_snapshot_builder_t,
) -> FfiResult<&'a mut SnapBuilder> {
    // SAFETY: forwarded contract (checks the tag only).
    unsafe { tagged_ref::<_, SnapBuilder>(p, MAGIC_SNAP_BUILDER, "builder is NULL") }?;
    let t = p.cast::<Tagged<SnapBuilder>>();
    // SAFETY: the tagged builder lives (mutably borrowed) on the handler's
    // stack for the callback and nothing else touches it meanwhile.
    Ok(unsafe { &mut (*t).inner })
}

impl SnapBuilder {
    fn builder(&mut self) -> &mut CgroupsSnapshotBuilder {
        // SAFETY: points to the Rust builder handed to the handler, which
        // is exclusively the callback's while it runs.
        unsafe { &mut *self.b }
    }
}

/// Sets the snapshot header fields (both 0 by default).
///
/// # Safety
///
/// `builder` is the one passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_snapshot_builder_set_header(
    builder: *mut nipc_cgroups_snapshot_builder_t,
    systemd_enabled: u32,
    generation: u64,
) -> nipc_error_t {
    guard("nipc_cgroups_snapshot_builder_set_header", || {
        // SAFETY: forwarded contract.
        let b = unsafe { snap_builder(builder) }?.builder();
        b.set_systemd_enabled(systemd_enabled);
        b.set_generation(generation);
        Ok(())
    })
}

/// Appends one cgroup to the snapshot. `name` and `path` are byte strings
/// of the given lengths without NUL bytes (copied). Use
/// `nipc_simple_hash()` for `hash` unless you have the producer's value.
///
/// `NIPC_ERR_LIMIT_EXCEEDED` when the snapshot would pass the server's
/// largest response budget (the server then answers `LIMIT_EXCEEDED`
/// whatever the callback returns); `NIPC_ERR_INVALID_ARGUMENT` for an
/// invalid string (nothing added).
///
/// # Safety
///
/// `builder` is the one passed to the running callback; the strings hold
/// their lengths in readable bytes (or are NULL with length 0).
#[allow(clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_snapshot_builder_add(
    builder: *mut nipc_cgroups_snapshot_builder_t,
    hash: u32,
    options: u32,
    enabled: u32,
    name: *const c_char,
    name_len: usize,
    path: *const c_char,
    path_len: usize,
) -> nipc_error_t {
    guard("nipc_cgroups_snapshot_builder_add", || {
        // SAFETY: forwarded contract.
        let sb = unsafe { snap_builder(builder) }?;
        // SAFETY: readable per the contract.
        let name = unsafe { bytes_arg(name, name_len, "name is NULL") }?;
        // SAFETY: readable per the contract.
        let path = unsafe { bytes_arg(path, path_len, "path is NULL") }?;
        match sb.builder().add_item(hash, options, enabled, name, path) {
            Ok(()) => Ok(()),
            Err(e) => {
                if matches!(
                    e,
                    Error::LimitExceeded {
                        limit: Limit::ResponsePayload,
                        ..
                    }
                ) {
                    sb.limit_hit = true;
                }
                Err(e.into())
            }
        }
    })
}

// ----- Lookup labels -------------------------------------------------------

/// A validated caller label; `LabelSource` for the builders.
#[repr(transparent)]
#[derive(Clone, Copy)]
struct CheckedLabel(nipc_label_t);

fn bytes_of(s: &nipc_str_t) -> &[u8] {
    if s.len == 0 {
        &[]
    } else {
        // SAFETY: `CheckedLabel` values only exist inside `checked_labels`,
        // which verified non-NULL pointers for non-empty strings; the
        // entry point's caller guarantees the bytes for the call.
        unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) }
    }
}

impl netipc::codec::lookup::LabelSource for CheckedLabel {
    fn label_key(&self) -> &[u8] {
        bytes_of(&self.0.key)
    }
    fn label_value(&self) -> &[u8] {
        bytes_of(&self.0.value)
    }
}

/// # Safety
///
/// `labels` holds `count` readable labels (or is NULL with `count == 0`)
/// whose strings hold their lengths in readable bytes, for `'a`.
unsafe fn checked_labels<'a>(
    labels: *const nipc_label_t,
    count: usize,
) -> FfiResult<&'a [CheckedLabel]> {
    if count == 0 {
        return Ok(&[]);
    }
    if labels.is_null() || count > isize::MAX as usize / size_of::<nipc_label_t>() {
        return Err(Failure::invalid("labels is NULL"));
    }
    // SAFETY: `count` readable labels per the contract.
    let raw = unsafe { std::slice::from_raw_parts(labels, count) };
    let bad = |s: &nipc_str_t| s.len > 0 && (s.ptr.is_null() || s.len > isize::MAX as usize);
    if raw.iter().any(|l| bad(&l.key) || bad(&l.value)) {
        return Err(Failure::invalid(
            "a label string has ptr == NULL and len > 0",
        ));
    }
    // SAFETY: repr(transparent) over `nipc_label_t`; all validated.
    Ok(unsafe { std::slice::from_raw_parts(labels.cast::<CheckedLabel>(), count) })
}

// ----- CGROUPS_LOOKUP request and builder -----------------------------------

/// # Safety
///
/// `p` is NULL or the request passed to the running callback.
unsafe fn cg_request<'a>(
    p: *const nipc_cgroups_lookup_request_t,
) -> FfiResult<&'a CgroupsLookupRequestView<'a>> {
    // SAFETY: forwarded contract.
    let t: &Tagged<CgRequest> = unsafe { tagged_ref(p, MAGIC_CG_REQUEST, "request is NULL") }?;
    // SAFETY: the pointer was made from a live `&CgroupsLookupRequestView`
    // that outlives the callback; `'a` does not outlive it per the contract.
    Ok(unsafe { &*t.inner.0.cast::<CgroupsLookupRequestView<'a>>() })
}

/// # Safety
///
/// `p` is NULL or the builder passed to the running callback.
unsafe fn cg_builder<'a>(
    p: *mut nipc_cgroups_lookup_builder_t,
) -> FfiResult<&'a mut CgroupsLookupBuilder> {
    // SAFETY: forwarded contract.
    let t: &Tagged<CgBuilder> = unsafe { tagged_ref(p, MAGIC_CG_BUILDER, "builder is NULL") }?;
    // SAFETY: the Rust builder is exclusively the callback's while it runs.
    Ok(unsafe { &mut *t.inner.0 })
}

/// Number of paths in a CGROUPS_LOOKUP request; 0 for NULL.
///
/// # Safety
///
/// `request` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_request_count(
    request: *const nipc_cgroups_lookup_request_t,
) -> usize {
    guard_value("nipc_cgroups_lookup_request_count", 0, || {
        // SAFETY: forwarded contract.
        Ok(unsafe { cg_request(request) }?.len())
    })
}

/// Path `index` of a CGROUPS_LOOKUP request in `*path_out` (borrowed from
/// the request: valid during the callback). `NIPC_ERR_OUT_OF_RANGE` past
/// the end.
///
/// # Safety
///
/// `request` is NULL or the request passed to the running callback;
/// `path_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_request_path(
    request: *const nipc_cgroups_lookup_request_t,
    index: usize,
    path_out: *mut nipc_str_t,
) -> nipc_error_t {
    guard("nipc_cgroups_lookup_request_path", || {
        let out = out_ptr(path_out, "path_out is NULL")?;
        // SAFETY: forwarded contract.
        let r = unsafe { cg_request(request) }?;
        let p = r.get(index).ok_or_else(|| out_of_range(index, r.len()))?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, nipc_str_t::of(p)) };
        Ok(())
    })
}

fn out_of_range(index: usize, len: usize) -> Failure {
    Failure::new(
        nipc_error_t::NIPC_ERR_OUT_OF_RANGE,
        format!("index {index} out of range (count {len})"),
    )
}

/// Sets the provider generation of the response (0 by default).
///
/// # Safety
///
/// `builder` is the one passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_builder_set_generation(
    builder: *mut nipc_cgroups_lookup_builder_t,
    generation: u64,
) -> nipc_error_t {
    guard("nipc_cgroups_lookup_builder_set_generation", || {
        // SAFETY: forwarded contract.
        unsafe { cg_builder(builder) }?.set_generation(generation);
        Ok(())
    })
}

/// Adds the item for request path `index` (which must be the next one),
/// echoing the decoded path without scanning it again: the preferred way
/// to answer a request.
///
/// `status` is a `nipc_lookup_status_t`; `name`, `labels` and
/// `orchestrator` must be empty / 0 unless it is `NIPC_LOOKUP_KNOWN`
/// (label keys non-empty; no string may contain NUL bytes). When the
/// response budget is reached the builder itself encodes this and every
/// later item as `NIPC_LOOKUP_PAYLOAD_EXCEEDED` (or
/// `NIPC_LOOKUP_OVERSIZED_ITEM`): keep adding every item regardless.
/// `*encoded_out` (optional) receives the status actually encoded.
///
/// # Safety
///
/// `builder` / `request` are the ones passed to the running callback;
/// strings and `labels` hold their lengths in readable elements;
/// `encoded_out` is NULL or writable.
#[allow(clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_builder_add_request_item(
    builder: *mut nipc_cgroups_lookup_builder_t,
    request: *const nipc_cgroups_lookup_request_t,
    index: usize,
    status: u32,
    orchestrator: u16,
    name: *const c_char,
    name_len: usize,
    labels: *const nipc_label_t,
    label_count: usize,
    encoded_out: *mut nipc_lookup_status_t,
) -> nipc_error_t {
    guard("nipc_cgroups_lookup_builder_add_request_item", || {
        let status = lookup_status(status)?;
        // SAFETY: forwarded contract.
        let req = unsafe { cg_request(request) }?;
        // SAFETY: forwarded contract.
        let b = unsafe { cg_builder(builder) }?;
        // SAFETY: readable per the contract.
        let name = unsafe { bytes_arg(name, name_len, "name is NULL") }?;
        // SAFETY: readable per the contract.
        let labels = unsafe { checked_labels(labels, label_count) }?;
        let enc = b.add_request_item(req, index, status, orchestrator, name, labels)?;
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(encoded_out, enc.into()) };
        Ok(())
    })
}

/// Adds request path `index` (the next one) as not enriched: `status`
/// must not be `NIPC_LOOKUP_KNOWN`. `*encoded_out` as above.
///
/// # Safety
///
/// As `nipc_cgroups_lookup_builder_add_request_item`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_builder_add_request_unknown(
    builder: *mut nipc_cgroups_lookup_builder_t,
    request: *const nipc_cgroups_lookup_request_t,
    index: usize,
    status: u32,
    encoded_out: *mut nipc_lookup_status_t,
) -> nipc_error_t {
    guard("nipc_cgroups_lookup_builder_add_request_unknown", || {
        let status = lookup_status(status)?;
        // SAFETY: forwarded contract.
        let req = unsafe { cg_request(request) }?;
        // SAFETY: forwarded contract.
        let b = unsafe { cg_builder(builder) }?;
        let enc = b.add_request_unknown(req, index, status)?;
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(encoded_out, enc.into()) };
        Ok(())
    })
}

/// Adds the next item with an application-owned `path` (validated:
/// non-empty, no NUL, the same length as the request path it answers).
/// Prefer `nipc_cgroups_lookup_builder_add_request_item()` for paths taken
/// from the request. Other arguments as that function.
///
/// # Safety
///
/// As `nipc_cgroups_lookup_builder_add_request_item`.
#[allow(clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_builder_add(
    builder: *mut nipc_cgroups_lookup_builder_t,
    path: *const c_char,
    path_len: usize,
    status: u32,
    orchestrator: u16,
    name: *const c_char,
    name_len: usize,
    labels: *const nipc_label_t,
    label_count: usize,
    encoded_out: *mut nipc_lookup_status_t,
) -> nipc_error_t {
    guard("nipc_cgroups_lookup_builder_add", || {
        let status = lookup_status(status)?;
        // SAFETY: forwarded contract.
        let b = unsafe { cg_builder(builder) }?;
        // SAFETY: readable per the contract.
        let path = unsafe { bytes_arg(path, path_len, "path is NULL") }?;
        // SAFETY: readable per the contract.
        let name = unsafe { bytes_arg(name, name_len, "name is NULL") }?;
        // SAFETY: readable per the contract.
        let labels = unsafe { checked_labels(labels, label_count) }?;
        let enc = b.add(path, status, orchestrator, name, labels)?;
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(encoded_out, enc.into()) };
        Ok(())
    })
}

// ----- APPS_LOOKUP request and builder --------------------------------------

/// The fields of one APPS_LOOKUP response item other than its PID and
/// labels (input of the APPS_LOOKUP builder).
///
/// Rules (checked): strings contain no NUL bytes; `comm` is at most 15
/// bytes. For `NIPC_PID_KNOWN`, `comm` is 1..15 bytes and the cgroup
/// fields follow `cgroup_status` (`KNOWN`: non-empty path;
/// `UNKNOWN_RETRY_LATER`: orchestrator 0, empty name, no labels;
/// `UNKNOWN_PERMANENT`: non-empty path, orchestrator 0, empty name, no
/// labels; `HOST_ROOT`: orchestrator 0, empty path and name, no labels).
/// Any other PID status requires zeros, `uid = NIPC_UID_UNSET`, empty
/// strings and no labels (use the `_add_request_unknown` function).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_apps_lookup_entry_t {
    /// PID status (a `nipc_pid_status_t`).
    pub status: u32,
    /// Cgroup status (a `nipc_cgroup_status_t`).
    pub cgroup_status: u32,
    /// Raw orchestrator value.
    pub orchestrator: u16,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// UID, or `NIPC_UID_UNSET`.
    pub uid: u32,
    /// Start time in jiffies since boot, or 0.
    pub starttime: u64,
    /// Process name.
    pub comm: nipc_str_t,
    /// Cgroup path.
    pub cgroup_path: nipc_str_t,
    /// Cgroup name.
    pub cgroup_name: nipc_str_t,
}

/// # Safety
///
/// `p` is NULL or the request passed to the running callback.
unsafe fn apps_request<'a>(
    p: *const nipc_apps_lookup_request_t,
) -> FfiResult<&'a AppsLookupRequestView<'a>> {
    // SAFETY: forwarded contract.
    let t: &Tagged<AppsRequest> = unsafe { tagged_ref(p, MAGIC_APPS_REQUEST, "request is NULL") }?;
    // SAFETY: made from a live `&AppsLookupRequestView` that outlives the
    // callback; `'a` does not outlive it per the contract.
    Ok(unsafe { &*t.inner.0.cast::<AppsLookupRequestView<'a>>() })
}

/// # Safety
///
/// `p` is NULL or the builder passed to the running callback.
unsafe fn apps_builder<'a>(
    p: *mut nipc_apps_lookup_builder_t,
) -> FfiResult<&'a mut AppsLookupBuilder> {
    // SAFETY: forwarded contract.
    let t: &Tagged<AppsBuilder> = unsafe { tagged_ref(p, MAGIC_APPS_BUILDER, "builder is NULL") }?;
    // SAFETY: the Rust builder is exclusively the callback's while it runs.
    Ok(unsafe { &mut *t.inner.0 })
}

/// # Safety
///
/// `e` is NULL or valid, its strings readable for `'a`.
unsafe fn entry<'a>(e: *const nipc_apps_lookup_entry_t) -> FfiResult<AppsLookupEntry<'a>> {
    // SAFETY: NULL or valid per the contract.
    let e = unsafe { e.as_ref() }.ok_or(Failure::invalid("entry is NULL"))?;
    Ok(AppsLookupEntry {
        status: pid_status(e.status)?,
        cgroup_status: cgroup_status(e.cgroup_status)?,
        orchestrator: e.orchestrator,
        ppid: e.ppid,
        uid: e.uid,
        starttime: e.starttime,
        // SAFETY: readable per the contract.
        comm: unsafe { str_arg(&e.comm, "entry->comm is NULL") }?,
        // SAFETY: readable per the contract.
        cgroup_path: unsafe { str_arg(&e.cgroup_path, "entry->cgroup_path is NULL") }?,
        // SAFETY: readable per the contract.
        cgroup_name: unsafe { str_arg(&e.cgroup_name, "entry->cgroup_name is NULL") }?,
    })
}

/// Number of PIDs in an APPS_LOOKUP request; 0 for NULL.
///
/// # Safety
///
/// `request` is NULL or the request passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_request_count(
    request: *const nipc_apps_lookup_request_t,
) -> usize {
    guard_value("nipc_apps_lookup_request_count", 0, || {
        // SAFETY: forwarded contract.
        Ok(unsafe { apps_request(request) }?.len())
    })
}

/// PID `index` of an APPS_LOOKUP request in `*pid_out`.
/// `NIPC_ERR_OUT_OF_RANGE` past the end.
///
/// # Safety
///
/// `request` is NULL or the request passed to the running callback;
/// `pid_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_request_pid(
    request: *const nipc_apps_lookup_request_t,
    index: usize,
    pid_out: *mut u32,
) -> nipc_error_t {
    guard("nipc_apps_lookup_request_pid", || {
        let out = out_ptr(pid_out, "pid_out is NULL")?;
        // SAFETY: forwarded contract.
        let r = unsafe { apps_request(request) }?;
        let pid = r.get(index).ok_or_else(|| out_of_range(index, r.len()))?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, pid) };
        Ok(())
    })
}

/// Sets the provider generation of the response (0 by default).
///
/// # Safety
///
/// `builder` is the one passed to the running callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_builder_set_generation(
    builder: *mut nipc_apps_lookup_builder_t,
    generation: u64,
) -> nipc_error_t {
    guard("nipc_apps_lookup_builder_set_generation", || {
        // SAFETY: forwarded contract.
        unsafe { apps_builder(builder) }?.set_generation(generation);
        Ok(())
    })
}

/// Adds the item for request PID `index` (which must be the next one)
/// with the fields of `*entry` and `label_count` labels (checked as
/// documented at `nipc_apps_lookup_entry_t`). Budget handling as in
/// `nipc_cgroups_lookup_builder_add_request_item()`; `*encoded_out`
/// (optional) receives the PID status actually encoded.
///
/// # Safety
///
/// `builder` / `request` are the ones passed to the running callback;
/// `entry` is valid with readable strings; `labels` holds `label_count`
/// readable labels; `encoded_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_builder_add_request_item(
    builder: *mut nipc_apps_lookup_builder_t,
    request: *const nipc_apps_lookup_request_t,
    index: usize,
    entry: *const nipc_apps_lookup_entry_t,
    labels: *const nipc_label_t,
    label_count: usize,
    encoded_out: *mut nipc_pid_status_t,
) -> nipc_error_t {
    guard("nipc_apps_lookup_builder_add_request_item", || {
        // SAFETY: forwarded contract.
        let req = unsafe { apps_request(request) }?;
        // SAFETY: forwarded contract.
        let b = unsafe { apps_builder(builder) }?;
        // SAFETY: forwarded contract.
        let e = unsafe { self::entry(entry) }?;
        // SAFETY: readable per the contract.
        let labels = unsafe { checked_labels(labels, label_count) }?;
        let enc = b.add_request_item(req, index, &e, labels)?;
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(encoded_out, enc.into()) };
        Ok(())
    })
}

/// Adds request PID `index` (the next one) as `NIPC_PID_UNKNOWN`.
///
/// # Safety
///
/// As `nipc_apps_lookup_builder_add_request_item`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_builder_add_request_unknown(
    builder: *mut nipc_apps_lookup_builder_t,
    request: *const nipc_apps_lookup_request_t,
    index: usize,
    encoded_out: *mut nipc_pid_status_t,
) -> nipc_error_t {
    guard("nipc_apps_lookup_builder_add_request_unknown", || {
        // SAFETY: forwarded contract.
        let req = unsafe { apps_request(request) }?;
        // SAFETY: forwarded contract.
        let b = unsafe { apps_builder(builder) }?;
        let enc = b.add_request_unknown(req, index)?;
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(encoded_out, enc.into()) };
        Ok(())
    })
}

/// Adds the next item for an application-supplied `pid` (which should
/// echo the request PID). Prefer
/// `nipc_apps_lookup_builder_add_request_item()`.
///
/// # Safety
///
/// As `nipc_apps_lookup_builder_add_request_item`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_builder_add(
    builder: *mut nipc_apps_lookup_builder_t,
    pid: u32,
    entry: *const nipc_apps_lookup_entry_t,
    labels: *const nipc_label_t,
    label_count: usize,
    encoded_out: *mut nipc_pid_status_t,
) -> nipc_error_t {
    guard("nipc_apps_lookup_builder_add", || {
        // SAFETY: forwarded contract.
        let b = unsafe { apps_builder(builder) }?;
        // SAFETY: forwarded contract.
        let e = unsafe { self::entry(entry) }?;
        // SAFETY: readable per the contract.
        let labels = unsafe { checked_labels(labels, label_count) }?;
        let enc = b.add(pid, &e, labels)?;
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(encoded_out, enc.into()) };
        Ok(())
    })
}
