//! Level 2 clients: one opaque handle bound to one service kind, the
//! lifecycle functions the integration guide names, and one typed call
//! per method.

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
    bytes_arg, client_config, endpoint_args, nipc_client_config_t, nipc_client_status_t,
    nipc_service_kind_t, nipc_str_t, out_ptr, write_opt, write_out,
};
use crate::views::{
    ViewStore, nipc_apps_lookup_view_t, nipc_cgroup_item_t, nipc_cgroups_lookup_view_t,
    nipc_cgroups_snapshot_view_t,
};

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

/// INCREMENT: sends `value`, stores the answer in `*value_out`.
///
/// Calls on a client that is not READY fail at once without I/O
/// (`NIPC_ERR_NOT_FOUND`, `_AUTH_FAILED`, `_INCOMPATIBLE` in those states,
/// `NIPC_ERR_NOT_READY` when DISCONNECTED / BROKEN, `NIPC_ERR_ABORTED`
/// while aborted). A call that fails on a READY client is resent once on
/// a new connection (at-least-once). `NIPC_ERR_WRONG_KIND` unless the
/// client is an INCREMENT client.
///
/// # Safety
///
/// `client` is NULL or a live handle not used concurrently (except
/// abort); `value_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_increment(
    client: *mut nipc_client_t,
    value: u64,
    value_out: *mut u64,
) -> nipc_error_t {
    guard("nipc_client_call_increment", || {
        let out = out_ptr(value_out, "value_out is NULL")?;
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let AnyClient::Increment(c) = &mut inner.client else {
            return Err(wrong_kind("INCREMENT"));
        };
        let v = c.call(value)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, v) };
        Ok(())
    })
}

/// INCREMENT batch: sends `count` values (split into as many requests as
/// the negotiated limits need) and stores the `count` answers, in order,
/// in `values_out` (caller-owned, `count` elements). `count == 0` sends
/// nothing. Errors as `nipc_client_call_increment`.
///
/// # Safety
///
/// `values` holds `count` readable values and `values_out` `count`
/// writable ones (either may be NULL when `count == 0`); `client` as
/// `nipc_client_call_increment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_increment_batch(
    client: *mut nipc_client_t,
    values: *const u64,
    count: usize,
    values_out: *mut u64,
) -> nipc_error_t {
    guard("nipc_client_call_increment_batch", || {
        if count > 0 && (values.is_null() || values_out.is_null()) {
            return Err(Failure::invalid("values or values_out is NULL"));
        }
        let input: &[u64] = if count == 0 {
            &[]
        } else {
            // SAFETY: non-NULL, `count` readable values per the contract.
            unsafe { std::slice::from_raw_parts(values, count) }
        };
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let AnyClient::Increment(c) = &mut inner.client else {
            return Err(wrong_kind("INCREMENT"));
        };
        let answers = c.call_batch(input)?;
        if answers.len() != count {
            return Err(Failure::new(
                nipc_error_t::NIPC_ERR_PROTOCOL,
                "batch answer count differs from the request",
            ));
        }
        if count > 0 {
            // SAFETY: `values_out` holds `count` writable values per the
            // contract; the source is the client's own buffer (disjoint).
            unsafe { std::ptr::copy_nonoverlapping(answers.as_ptr(), values_out, count) };
        }
        Ok(())
    })
}

/// STRING_REVERSE: sends `len` bytes at `text` (no NUL needed; the text
/// must not contain NUL bytes) and stores the answer in `*reversed_out`.
///
/// The answer points into client storage: valid until the next call on
/// this client or its close. Errors as `nipc_client_call_increment`.
///
/// # Safety
///
/// `text` holds `len` readable bytes (or is NULL with `len == 0`);
/// `reversed_out` is NULL or writable; `client` as
/// `nipc_client_call_increment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_string_reverse(
    client: *mut nipc_client_t,
    text: *const c_char,
    len: usize,
    reversed_out: *mut nipc_str_t,
) -> nipc_error_t {
    guard("nipc_client_call_string_reverse", || {
        let out = out_ptr(reversed_out, "reversed_out is NULL")?;
        // SAFETY: `len` readable bytes per the contract.
        let text = unsafe { bytes_arg(text, len, "text is NULL") }?;
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let AnyClient::StringReverse(c) = &mut inner.client else {
            return Err(wrong_kind("STRING_REVERSE"));
        };
        let v = c.call(text)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, nipc_str_t::of(v.as_bytes())) };
        Ok(())
    })
}

/// A caller string checked for pointer validity; `AsRef` for the typed
/// clients. Only built from validated `nipc_str_t` arrays.
#[repr(transparent)]
struct CheckedStr(nipc_str_t);

impl AsRef<[u8]> for CheckedStr {
    fn as_ref(&self) -> &[u8] {
        if self.0.len == 0 {
            return &[];
        }
        // SAFETY: `CheckedStr` values only exist inside `checked_strs`,
        // which verified `ptr` is non-NULL for a non-empty string, and the
        // caller of the entry point guarantees `len` readable bytes for the
        // duration of the call.
        unsafe { std::slice::from_raw_parts(self.0.ptr.cast::<u8>(), self.0.len) }
    }
}

/// `count` caller strings at `strs`, validated.
///
/// # Safety
///
/// `strs` holds `count` readable `nipc_str_t` (or is NULL with
/// `count == 0`), each pointing to its `len` readable bytes, for `'a`.
unsafe fn checked_strs<'a>(
    strs: *const nipc_str_t,
    count: usize,
    what: &'static str,
) -> FfiResult<&'a [CheckedStr]> {
    if count == 0 {
        return Ok(&[]);
    }
    if strs.is_null() || count > isize::MAX as usize / size_of::<nipc_str_t>() {
        return Err(Failure::invalid(what));
    }
    // SAFETY: `count` readable elements per the contract.
    let raw = unsafe { std::slice::from_raw_parts(strs, count) };
    if raw
        .iter()
        .any(|s| s.len > 0 && (s.ptr.is_null() || s.len > isize::MAX as usize))
    {
        return Err(Failure::invalid("a string has ptr == NULL and len > 0"));
    }
    // SAFETY: `CheckedStr` is `repr(transparent)` over `nipc_str_t`, and
    // every element was just validated.
    Ok(unsafe { std::slice::from_raw_parts(strs.cast::<CheckedStr>(), count) })
}

/// STRING_REVERSE batch: sends `count` strings and stores the `count`
/// answers, in order, in `reversed_out` (caller-owned array of `count`
/// elements; the strings point into client storage, valid until the next
/// call on this client or its close). Errors as
/// `nipc_client_call_increment`.
///
/// # Safety
///
/// `texts` holds `count` strings each with `len` readable bytes;
/// `reversed_out` holds `count` writable elements (either may be NULL
/// when `count == 0`); `client` as `nipc_client_call_increment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_string_reverse_batch(
    client: *mut nipc_client_t,
    texts: *const nipc_str_t,
    count: usize,
    reversed_out: *mut nipc_str_t,
) -> nipc_error_t {
    guard("nipc_client_call_string_reverse_batch", || {
        if count > 0 && reversed_out.is_null() {
            return Err(Failure::invalid("reversed_out is NULL"));
        }
        // SAFETY: forwarded contract.
        let texts = unsafe { checked_strs(texts, count, "texts is NULL") }?;
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let Inner { client, views } = inner;
        let AnyClient::StringReverse(c) = client else {
            return Err(wrong_kind("STRING_REVERSE"));
        };
        let batch = c.call_batch(texts)?;
        views.strs.clear();
        views
            .strs
            .extend(batch.iter().map(|v| nipc_str_t::of(v.as_bytes())));
        if views.strs.len() != count {
            return Err(Failure::new(
                nipc_error_t::NIPC_ERR_PROTOCOL,
                "batch answer count differs from the request",
            ));
        }
        if count > 0 {
            // SAFETY: `reversed_out` holds `count` writable elements per
            // the contract; the source is client storage (disjoint).
            unsafe { std::ptr::copy_nonoverlapping(views.strs.as_ptr(), reversed_out, count) };
        }
        Ok(())
    })
}

/// CGROUPS_SNAPSHOT: fetches the full snapshot into `*view_out`.
///
/// The view (its `items` array and every string) is client storage:
/// valid until the next call on this client or its close. Errors as
/// `nipc_client_call_increment`; a malformed snapshot returns
/// `NIPC_ERR_PROTOCOL` and drops the connection.
///
/// # Safety
///
/// `view_out` is NULL or writable; `client` as
/// `nipc_client_call_increment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_cgroups_snapshot(
    client: *mut nipc_client_t,
    view_out: *mut nipc_cgroups_snapshot_view_t,
) -> nipc_error_t {
    guard("nipc_client_call_cgroups_snapshot", || {
        let out = out_ptr(view_out, "view_out is NULL")?;
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let Inner { client, views } = inner;
        let AnyClient::Snapshot(c) = client else {
            return Err(wrong_kind("CGROUPS_SNAPSHOT"));
        };
        let snap = c.call_snapshot()?;
        views.cgroups.clear();
        views
            .cgroups
            .extend(snap.iter().map(|it| nipc_cgroup_item_t {
                hash: it.hash,
                options: it.options,
                enabled: it.enabled,
                name: nipc_str_t::of(it.name),
                path: nipc_str_t::of(it.path),
            }));
        let view = nipc_cgroups_snapshot_view_t {
            generation: snap.generation(),
            systemd_enabled: snap.systemd_enabled(),
            item_count: views.cgroups.len(),
            items: views.cgroups.as_ptr(),
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, view) };
        Ok(())
    })
}

/// CGROUPS_LOOKUP: looks up `count` cgroup paths (each non-empty, no NUL
/// bytes) and stores one item per path, in request order, in `*view_out`.
///
/// Level 2 splits the paths over as many requests as the negotiated
/// budgets need, retries `PAYLOAD_EXCEEDED` items and stitches one
/// logical result; a path too long for any request is answered
/// `NIPC_LOOKUP_OVERSIZED_ITEM`. Every subresponse must echo its paths and
/// share one generation (`NIPC_ERR_PROTOCOL` otherwise). `count == 0`
/// sends one probe to learn the provider generation.
///
/// The view is client storage: valid until the next call on this client
/// or its close. Other errors as `nipc_client_call_increment`, plus
/// `NIPC_ERR_INVALID_ARGUMENT` (empty path, NUL byte) and
/// `NIPC_ERR_LIMIT_EXCEEDED` (lookup ceilings).
///
/// # Safety
///
/// `paths` holds `count` strings each with `len` readable bytes (NULL
/// when `count == 0`); `view_out` is NULL or writable; `client` as
/// `nipc_client_call_increment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_cgroups_lookup(
    client: *mut nipc_client_t,
    paths: *const nipc_str_t,
    count: usize,
    view_out: *mut nipc_cgroups_lookup_view_t,
) -> nipc_error_t {
    guard("nipc_client_call_cgroups_lookup", || {
        let out = out_ptr(view_out, "view_out is NULL")?;
        // SAFETY: forwarded contract.
        let paths = unsafe { checked_strs(paths, count, "paths is NULL") }?;
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let Inner { client, views } = inner;
        let AnyClient::CgroupsLookup(c) = client else {
            return Err(wrong_kind("CGROUPS_LOOKUP"));
        };
        let r = c.lookup(paths)?;
        views.fill_cgroups_lookup(r.iter());
        let view = nipc_cgroups_lookup_view_t {
            generation: r.generation(),
            item_count: views.cg_lookup.len(),
            items: views.cg_lookup.as_ptr(),
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, view) };
        Ok(())
    })
}

/// APPS_LOOKUP: looks up `count` PIDs and stores one item per PID, in
/// request order, in `*view_out` (split, retried and stitched as for
/// `nipc_client_call_cgroups_lookup`).
///
/// The view is client storage: valid until the next call on this client
/// or its close. Errors as `nipc_client_call_cgroups_lookup`.
///
/// # Safety
///
/// `pids` holds `count` readable values (NULL when `count == 0`);
/// `view_out` is NULL or writable; `client` as
/// `nipc_client_call_increment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_client_call_apps_lookup(
    client: *mut nipc_client_t,
    pids: *const u32,
    count: usize,
    view_out: *mut nipc_apps_lookup_view_t,
) -> nipc_error_t {
    guard("nipc_client_call_apps_lookup", || {
        let out = out_ptr(view_out, "view_out is NULL")?;
        let pids: &[u32] = if count == 0 {
            &[]
        } else if pids.is_null() || count > isize::MAX as usize / 4 {
            return Err(Failure::invalid("pids is NULL"));
        } else {
            // SAFETY: non-NULL, `count` readable values per the contract.
            unsafe { std::slice::from_raw_parts(pids, count) }
        };
        // SAFETY: single-owner handle per the contract.
        let inner = unsafe { client_mut(client) }?;
        let Inner { client, views } = inner;
        let AnyClient::AppsLookup(c) = client else {
            return Err(wrong_kind("APPS_LOOKUP"));
        };
        let r = c.lookup(pids)?;
        views.fill_apps_lookup(r.iter());
        let view = nipc_apps_lookup_view_t {
            generation: r.generation(),
            item_count: views.apps.len(),
            items: views.apps.as_ptr(),
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, view) };
        Ok(())
    })
}
