//! Level 2 clients: one opaque handle bound to one service kind, the
//! lifecycle functions the integration guide names, and one typed call
//! per method.
//!
//! This file holds the handle and the lifecycle functions; `calls` holds
//! the typed calls (declared last: the header lists them after the
//! lifecycle).

use std::cell::UnsafeCell;
use std::ffi::c_char;
use std::time::Duration;

use netipc::service::client::{
    AppsLookupClient, CgroupsLookupClient, CgroupsSnapshotClient, ClientState, IncrementClient,
    StringReverseClient,
};
use netipc::transport::AbortHandle;

use crate::error::{Failure, FfiResult, guard, guard_value, nipc_error_t};
use crate::handle::{MAGIC_CLIENT, Tagged, tagged_ref, tagged_take};
use crate::types::{
    client_config, endpoint_args, nipc_client_config_t, nipc_client_status_t, nipc_service_kind_t,
    out_ptr, write_opt, write_out,
};
use crate::views::ViewStore;

/// A Level 2 client bound to one service kind (opaque; create it with
/// `nipc_client_init()`, release it with `nipc_client_close()`).
pub struct nipc_client_t {
    _opaque: [u8; 0],
}

enum AnyClient {
    Increment(IncrementClient),
    StringReverse(StringReverseClient),
    Snapshot(CgroupsSnapshotClient),
    CgroupsLookup(CgroupsLookupClient),
    AppsLookup(AppsLookupClient),
}

macro_rules! each {
    ($c:expr, $v:ident => $e:expr) => {
        match $c {
            AnyClient::Increment($v) => $e,
            AnyClient::StringReverse($v) => $e,
            AnyClient::Snapshot($v) => $e,
            AnyClient::CgroupsLookup($v) => $e,
            AnyClient::AppsLookup($v) => $e,
        }
    };
}

struct Inner {
    client: AnyClient,
    views: ViewStore,
}

/// The object behind a `nipc_client_t *`.
///
/// The abort handle is outside the cell: it is the one thing another
/// thread may touch while a call runs.
pub(crate) struct ClientHandle {
    abort: AbortHandle,
    inner: UnsafeCell<Inner>,
}

/// The client behind `p`, shared (abort, clear_abort).
///
/// # Safety
///
/// `p` is NULL or a live handle from `nipc_client_init`.
unsafe fn client_ref<'a>(p: *const nipc_client_t) -> FfiResult<&'a ClientHandle> {
    // SAFETY: forwarded contract.
    let t: &Tagged<ClientHandle> = unsafe { tagged_ref(p, MAGIC_CLIENT, "client is NULL") }?;
    Ok(&t.inner)
}

/// The client's mutable state.
///
/// # Safety
///
/// As [`client_ref`], and no other call uses the same client's state for
/// `'a` (the header's single-owner rule: only abort / clear_abort may run
/// concurrently, and they do not touch the cell).
unsafe fn client_mut<'a>(p: *const nipc_client_t) -> FfiResult<&'a mut Inner> {
    // SAFETY: forwarded contract.
    let h = unsafe { client_ref(p) }?;
    // SAFETY: exclusive use of the cell per the single-owner contract.
    Ok(unsafe { &mut *h.inner.get() })
}

/// Read-only access for the non-mutating lifecycle functions.
///
/// # Safety
///
/// As [`client_mut`].
unsafe fn client_shared<'a>(p: *const nipc_client_t) -> FfiResult<&'a Inner> {
    // SAFETY: forwarded contract.
    let h = unsafe { client_ref(p) }?;
    // SAFETY: no concurrent mutation per the single-owner contract.
    Ok(unsafe { &*h.inner.get() })
}

fn wrong_kind(want: &'static str) -> Failure {
    Failure::new(
        nipc_error_t::NIPC_ERR_WRONG_KIND,
        format!("this call needs a {want} client"),
    )
}

fn state_failure(state: ClientState) -> Failure {
    use nipc_error_t::*;
    match state {
        ClientState::Ready => Failure::new(NIPC_OK, ""),
        ClientState::NotFound => Failure::new(NIPC_ERR_NOT_FOUND, "service not found"),
        ClientState::AuthFailed => Failure::new(NIPC_ERR_AUTH_FAILED, "authentication failed"),
        ClientState::Incompatible => Failure::new(NIPC_ERR_INCOMPATIBLE, "incompatible peer"),
        s => Failure::new(NIPC_ERR_NOT_READY, format!("client is {s}")),
    }
}

/// Creates a client for service `kind` (a `nipc_service_kind_t`) at
/// `{run_dir}/{service_name}.sock`. Does not connect and does not need the
/// server to exist: drive the connection with `nipc_client_refresh()`.
///
/// - `run_dir`, `service_name`: NUL-terminated; the name is
///   `[A-Za-z0-9._-]+` (not `.` or `..`). Both are copied.
/// - `config`: NULL for defaults, or a zero-initialised config with the
///   fields you need set (copied).
/// - `*client_out` receives the handle; release it with
///   `nipc_client_close()`. Unchanged on failure.
///
/// Errors: `NIPC_ERR_INVALID_ARGUMENT` (NULL pointers, unknown kind,
/// invalid service name or profiles).
///
/// # Safety
///
/// String arguments are NULL or NUL-terminated; `config` is NULL or
/// valid; `client_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_init(
    kind: u32,
    run_dir: *const c_char,
    service_name: *const c_char,
    config: *const nipc_client_config_t,
    client_out: *mut *mut nipc_client_t,
) -> nipc_error_t {
    guard("nipc_client_init", || {
        let out = out_ptr(client_out, "client_out is NULL")?;
        let kind = nipc_service_kind_t::from_u32(kind)?;
        // SAFETY: NUL-terminated or NULL per the contract.
        let (dir, svc) = unsafe { endpoint_args(run_dir, service_name) }?;
        // SAFETY: NULL or valid per the contract.
        let cfg = unsafe { client_config(config) };
        use nipc_service_kind_t::*;
        let client = match kind {
            NIPC_SERVICE_INCREMENT => AnyClient::Increment(IncrementClient::new(dir, svc, cfg)?),
            NIPC_SERVICE_STRING_REVERSE => {
                AnyClient::StringReverse(StringReverseClient::new(dir, svc, cfg)?)
            }
            NIPC_SERVICE_CGROUPS_SNAPSHOT => {
                AnyClient::Snapshot(CgroupsSnapshotClient::new(dir, svc, cfg)?)
            }
            NIPC_SERVICE_CGROUPS_LOOKUP => {
                AnyClient::CgroupsLookup(CgroupsLookupClient::new(dir, svc, cfg)?)
            }
            NIPC_SERVICE_APPS_LOOKUP => {
                AnyClient::AppsLookup(AppsLookupClient::new(dir, svc, cfg)?)
            }
        };
        let abort = each!(&client, c => c.abort_handle());
        let handle = ClientHandle {
            abort,
            inner: UnsafeCell::new(Inner {
                client,
                views: ViewStore::default(),
            }),
        };
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, Tagged::into_raw(MAGIC_CLIENT, handle)) };
        Ok(())
    })
}

/// Does the connection work, from the caller's own loop (no background
/// threads): connects when not READY, reconnects a BROKEN session, and
/// checks a READY one for a hang-up. Blocks at most the connect timeout.
///
/// Returns `NIPC_OK` when the client is READY afterwards; otherwise the
/// code of the state: `NIPC_ERR_NOT_FOUND` (no server yet: routine),
/// `NIPC_ERR_AUTH_FAILED`, `NIPC_ERR_INCOMPATIBLE` (actionable),
/// `NIPC_ERR_NOT_READY` (DISCONNECTED / BROKEN: try again later).
/// `*changed_out` (optional, may be NULL) tells whether the state changed.
///
/// # Safety
///
/// `client` is NULL or a live handle not used concurrently by another
/// thread (except abort / clear_abort); `changed_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_refresh(
    client: *mut nipc_client_t,
    changed_out: *mut bool,
) -> nipc_error_t {
    guard("nipc_client_refresh", || {
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let changed = each!(&mut inner.client, c => c.refresh());
        // SAFETY: NULL or writable per the contract.
        unsafe { write_opt(changed_out, changed) };
        let state = each!(&inner.client, c => c.state());
        match state {
            ClientState::Ready => Ok(()),
            s => Err(state_failure(s)),
        }
    })
}

/// Whether the client is READY (a cached field: no I/O, cheap enough for
/// hot paths). Sentinel: `false` for NULL or an invalid handle.
///
/// # Safety
///
/// As `nipc_client_refresh`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_ready(client: *const nipc_client_t) -> bool {
    guard_value("nipc_client_ready", false, || {
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_shared(client) }?;
        Ok(each!(&inner.client, c => c.ready()))
    })
}

/// Fills `*status_out` with a diagnostic snapshot (state, counters,
/// negotiated budgets). For logs, not hot paths.
///
/// # Safety
///
/// As `nipc_client_refresh`; `status_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_status(
    client: *const nipc_client_t,
    status_out: *mut nipc_client_status_t,
) -> nipc_error_t {
    guard("nipc_client_status", || {
        let out = out_ptr(status_out, "status_out is NULL")?;
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_shared(client) }?;
        let st = each!(&inner.client, c => c.status());
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, st.into()) };
        Ok(())
    })
}

/// Sets the timeout of every later typed call on this client, in
/// milliseconds: one deadline per logical call, covering reconnects, the
/// at-least-once retry and every lookup subcall. 0 restores the
/// configured `call_timeout_ms`. A call that times out returns
/// `NIPC_ERR_TIMEOUT`, is not retried, and leaves the client BROKEN.
///
/// # Safety
///
/// As `nipc_client_refresh`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_set_call_timeout(
    client: *mut nipc_client_t,
    timeout_ms: u32,
) -> nipc_error_t {
    guard("nipc_client_set_call_timeout", || {
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let d = Duration::from_millis(u64::from(timeout_ms));
        each!(&mut inner.client, c => c.set_call_timeout(d));
        Ok(())
    })
}

/// Aborts the call currently blocked on this client, and every later one,
/// until `nipc_client_clear_abort()` (or close). The aborted call returns
/// `NIPC_ERR_ABORTED` and is not retried.
///
/// The only functions that may be called from another thread while a
/// call runs on the client are this one and `nipc_client_clear_abort()`
/// (for example from a shutdown thread). The handle must stay open until
/// both have returned.
///
/// # Safety
///
/// `client` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_abort(client: *const nipc_client_t) -> nipc_error_t {
    guard("nipc_client_abort", || {
        // SAFETY: live handle per the contract; only the Sync abort handle
        // is touched.
        unsafe { client_ref(client) }?.abort.trigger();
        Ok(())
    })
}

/// Clears an abort set by `nipc_client_abort()`.
///
/// # Safety
///
/// As `nipc_client_abort`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_clear_abort(client: *const nipc_client_t) -> nipc_error_t {
    guard("nipc_client_clear_abort", || {
        // SAFETY: live handle per the contract; only the Sync abort handle
        // is touched.
        unsafe { client_ref(client) }?.abort.clear();
        Ok(())
    })
}

/// Closes the connection and frees the client, its buffers and every view
/// it returned. NULL is a no-op (`NIPC_OK`). The handle is invalid
/// afterwards.
///
/// # Safety
///
/// `client` is NULL or a live handle that no other thread uses any more.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_close(client: *mut nipc_client_t) -> nipc_error_t {
    guard("nipc_client_close", || {
        // SAFETY: the caller gives the handle up.
        let b = unsafe { tagged_take::<_, ClientHandle>(client, MAGIC_CLIENT) }?;
        if let Some(mut b) = b {
            each!(&mut b.inner.inner.get_mut().client, c => c.close());
        }
        Ok(())
    })
}

// ----- Typed calls -----------------------------------------------------------

mod calls;

pub use calls::*;
