//! The STRING_REVERSE and CGROUPS_SNAPSHOT response builders of the C callbacks.

use std::ffi::c_char;

use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::{Error, Limit};

use super::adapters::SnapBuilder;
use super::{nipc_cgroups_snapshot_builder_t, nipc_string_reverse_builder_t};
use crate::error::{FfiResult, guard, nipc_error_t};
use crate::handle::{MAGIC_SNAP_BUILDER, MAGIC_SR_BUILDER, Tagged, tagged_ref};
use crate::types::bytes_arg;

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
