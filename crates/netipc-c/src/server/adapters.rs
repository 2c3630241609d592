//! Rust handler adapters that call the C callbacks.

use std::ffi::c_void;

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::service::server::{
    AppsLookupHandler, CgroupsLookupHandler, CgroupsSnapshotHandler, HandlerError,
    IncrementHandler, StringReverseHandler,
};

use super::{
    AppsLookupFn, CgroupsLookupFn, IncrementFn, SnapshotFn, StringReverseFn,
    nipc_apps_lookup_builder_t, nipc_apps_lookup_request_t, nipc_cgroups_lookup_builder_t,
    nipc_cgroups_lookup_request_t, nipc_cgroups_snapshot_builder_t, nipc_string_reverse_builder_t,
};
use crate::handle::{
    MAGIC_APPS_BUILDER, MAGIC_APPS_REQUEST, MAGIC_CG_BUILDER, MAGIC_CG_REQUEST, MAGIC_SNAP_BUILDER,
    MAGIC_SR_BUILDER, Tagged,
};

/// The `user` pointer, shared with the session threads.
#[derive(Clone, Copy)]
pub(super) struct UserPtr(pub(super) *mut c_void);

// SAFETY: the header makes the caller responsible for `user` being usable
// from every session thread concurrently (see `nipc_server_handler_t`);
// the library only passes the pointer through.
unsafe impl Send for UserPtr {}
// SAFETY: as above.
unsafe impl Sync for UserPtr {}

const CALLBACK_FAILED: HandlerError = HandlerError::Failed("C handler returned false");

pub(super) struct CIncrement(pub(super) IncrementFn, pub(super) UserPtr);

impl IncrementHandler for CIncrement {
    fn increment(&self, value: u64) -> Result<u64, HandlerError> {
        let mut out = 0u64;
        // SAFETY: the callback was registered for this kind; `out` is a
        // valid local for the duration of the call.
        let ok = unsafe { (self.0)(self.1.0, value, &mut out) };
        if ok { Ok(out) } else { Err(CALLBACK_FAILED) }
    }
}

pub(super) struct CStringReverse(pub(super) StringReverseFn, pub(super) UserPtr);

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

pub(super) struct SnapBuilder {
    pub(super) b: *mut CgroupsSnapshotBuilder,
    pub(super) limit_hit: bool,
}

pub(super) struct CSnapshot(pub(super) SnapshotFn, pub(super) UserPtr);

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

pub(super) struct CgRequest(pub(super) *const c_void);
pub(super) struct CgBuilder(pub(super) *mut CgroupsLookupBuilder);

pub(super) struct CCgroupsLookup(pub(super) CgroupsLookupFn, pub(super) UserPtr);

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

pub(super) struct AppsRequest(pub(super) *const c_void);
pub(super) struct AppsBuilder(pub(super) *mut AppsLookupBuilder);

pub(super) struct CAppsLookup(pub(super) AppsLookupFn, pub(super) UserPtr);

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
