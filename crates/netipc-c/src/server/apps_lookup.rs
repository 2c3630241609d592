//! The APPS_LOOKUP request view and response builder of the C callbacks.

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupEntry, AppsLookupRequestView};

use super::adapters::{AppsBuilder, AppsRequest};
use super::cgroups_lookup::out_of_range;
use super::labels::checked_labels;
use super::{nipc_apps_lookup_builder_t, nipc_apps_lookup_request_t};
use crate::error::{Failure, FfiResult, guard, guard_value, nipc_error_t};
use crate::handle::{MAGIC_APPS_BUILDER, MAGIC_APPS_REQUEST, Tagged, tagged_ref};
use crate::types::{
    cgroup_status, nipc_label_t, nipc_pid_status_t, nipc_str_t, out_ptr, pid_status, str_arg,
    write_opt, write_out,
};

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
