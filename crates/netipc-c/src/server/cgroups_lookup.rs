//! The CGROUPS_LOOKUP request view and response builder of the C callbacks.

use std::ffi::c_char;

use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};

use super::adapters::{CgBuilder, CgRequest};
use super::labels::checked_labels;
use super::{nipc_cgroups_lookup_builder_t, nipc_cgroups_lookup_request_t};
use crate::error::{Failure, FfiResult, guard, guard_value, nipc_error_t};
use crate::handle::{MAGIC_CG_BUILDER, MAGIC_CG_REQUEST, Tagged, tagged_ref};
use crate::types::{
    bytes_arg, lookup_status, nipc_label_t, nipc_lookup_status_t, nipc_str_t, out_ptr, write_opt,
    write_out,
};

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

pub(super) fn out_of_range(index: usize, len: usize) -> Failure {
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
