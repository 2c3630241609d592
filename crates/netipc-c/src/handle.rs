//! Heap handles handed to C: a type tag in front of the Rust object, so a
//! handle of the wrong type (or one already closed) is reported as
//! `NIPC_ERR_INVALID_ARGUMENT` instead of being used.

use crate::error::{Failure, FfiResult};

/// Type tags (ASCII, for debuggers).
pub(crate) const MAGIC_CLIENT: u32 = u32::from_be_bytes(*b"NCLI");
pub(crate) const MAGIC_SERVER: u32 = u32::from_be_bytes(*b"NSRV");
pub(crate) const MAGIC_CACHE: u32 = u32::from_be_bytes(*b"NCCH");
pub(crate) const MAGIC_GUARD: u32 = u32::from_be_bytes(*b"NGRD");
pub(crate) const MAGIC_ITEM: u32 = u32::from_be_bytes(*b"NITM");
pub(crate) const MAGIC_SR_BUILDER: u32 = u32::from_be_bytes(*b"NBSR");
pub(crate) const MAGIC_SNAP_BUILDER: u32 = u32::from_be_bytes(*b"NBSN");
pub(crate) const MAGIC_CG_BUILDER: u32 = u32::from_be_bytes(*b"NBCG");
pub(crate) const MAGIC_APPS_BUILDER: u32 = u32::from_be_bytes(*b"NBAP");
pub(crate) const MAGIC_CG_REQUEST: u32 = u32::from_be_bytes(*b"NRCG");
pub(crate) const MAGIC_APPS_REQUEST: u32 = u32::from_be_bytes(*b"NRAP");

/// A tagged object. `repr(C)` puts the tag at offset 0 whatever `T` is.
#[repr(C)]
pub(crate) struct Tagged<T> {
    magic: u32,
    pub inner: T,
}

impl<T> Tagged<T> {
    pub(crate) fn new(magic: u32, inner: T) -> Self {
        Tagged { magic, inner }
    }

    /// Boxes `inner` and returns the pointer handed to C as `*mut O`.
    pub(crate) fn into_raw<O>(magic: u32, inner: T) -> *mut O {
        Box::into_raw(Box::new(Tagged::new(magic, inner))).cast()
    }
}

/// Borrows the tagged object behind a C handle of opaque type `O`.
///
/// # Safety
///
/// `p` is NULL or a pointer this crate returned for a live object (of any
/// tagged type: the tag is checked before the object is used), not freed.
/// The object must not be mutated through another reference for `'a`
/// (only interior mutability is used on shared handles).
pub(crate) unsafe fn tagged_ref<'a, O, T>(
    p: *const O,
    magic: u32,
    what: &'static str,
) -> FfiResult<&'a Tagged<T>> {
    if p.is_null() {
        return Err(Failure::invalid(what));
    }
    let t = p.cast::<Tagged<T>>();
    // SAFETY: every tagged object starts with its u32 tag at offset 0
    // (repr(C)); `p` points to one per the contract.
    let tag = unsafe { std::ptr::addr_of!((*t).magic).read() };
    if tag != magic {
        return Err(Failure::invalid(
            "handle has the wrong type or was already closed",
        ));
    }
    // SAFETY: the tag proves `p` is a live `Tagged<T>` created by us.
    Ok(unsafe { &*t })
}

/// Takes back ownership of a boxed tagged object (clearing its tag first,
/// so a later use of the dangling handle is more likely to be caught).
/// `Ok(None)` for NULL.
///
/// # Safety
///
/// As [`tagged_ref`], and no other reference to the object may be in use:
/// the caller gives it up.
pub(crate) unsafe fn tagged_take<O, T>(p: *mut O, magic: u32) -> FfiResult<Option<Box<Tagged<T>>>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract (checks the tag).
    unsafe { tagged_ref::<O, T>(p, magic, "handle is NULL") }?;
    // SAFETY: the tag proves this is a `Box<Tagged<T>>` we leaked with
    // `into_raw`, and the caller gives up every other reference.
    let mut b = unsafe { Box::from_raw(p.cast::<Tagged<T>>()) };
    // SAFETY: `b.magic` is a valid, aligned u32 we own; volatile so the
    // store is not elided before the free.
    unsafe { std::ptr::write_volatile(&mut b.magic, 0) };
    Ok(Some(b))
}
