//! Caller label arrays, validated once for the lookup builders.

use crate::error::{Failure, FfiResult};
use crate::types::{nipc_label_t, nipc_str_t};

// ----- Lookup labels -------------------------------------------------------

/// A validated caller label; `LabelSource` for the builders.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub(super) struct CheckedLabel(nipc_label_t);

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
pub(super) unsafe fn checked_labels<'a>(
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
