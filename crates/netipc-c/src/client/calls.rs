//! Level 2 client typed calls: one per method, each checking the
//! client's kind.

use std::ffi::c_char;

use crate::error::{Failure, FfiResult, guard, nipc_error_t};
use crate::types::{bytes_arg, nipc_str_t, out_ptr, write_out};
use crate::views::{
    nipc_apps_lookup_view_t, nipc_cgroup_item_t, nipc_cgroups_lookup_view_t,
    nipc_cgroups_snapshot_view_t,
};

use super::{AnyClient, Inner, client_mut, nipc_client_t, wrong_kind};

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
