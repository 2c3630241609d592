//! The `CGROUPS_SNAPSHOT` service facade.

use crate::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, CgroupsSnapshotRequest};

use super::dispatch::{Fault, ItemContext, Service, ServiceKind, handler_fault};
use super::facade::{handler_impls, service_constructors};
use super::handler::HandlerError;

/// Answers one `CGROUPS_SNAPSHOT` request by filling the builder.
///
/// The builder arrives reset (no items, `systemd_enabled = 0`,
/// `generation = 0`) with its payload limit at the server's largest
/// response budget; set the header fields with
/// [`CgroupsSnapshotBuilder::set_systemd_enabled`] /
/// [`CgroupsSnapshotBuilder::set_generation`] and add the items. An
/// `add_item` over the limit fails with a limit error that `?` turns into
/// [`HandlerError::ResponseTooLarge`]. A snapshot larger than the session's
/// current response budget is answered `LIMIT_EXCEEDED` and the learned
/// budget grows, so the client's reconnect gets it.
///
/// Implemented for closures `Fn(&mut CgroupsSnapshotBuilder) -> Result<(),
/// HandlerError>`, for `Arc<T>` of any handler, and for your own types.
/// Called concurrently from every session thread.
pub trait CgroupsSnapshotHandler: Send + Sync + 'static {
    /// Fills `snapshot`.
    fn snapshot(&self, snapshot: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError>;
}

handler_impls!(CgroupsSnapshotHandler::snapshot(
    snapshot: &mut CgroupsSnapshotBuilder
) -> Result<(), HandlerError>);

struct SnapshotService<H>(H);

impl<H: CgroupsSnapshotHandler> Service for SnapshotService<H> {
    const KIND: ServiceKind = ServiceKind::CgroupsSnapshot;
    const BATCHABLE: bool = false;
    type State = CgroupsSnapshotBuilder;

    fn new_state(&self, ctx: &ItemContext) -> Self::State {
        let mut b = CgroupsSnapshotBuilder::default();
        b.set_max_payload(ctx.response_max as usize);
        b
    }

    fn handle<'s>(
        &self,
        st: &'s mut Self::State,
        ctx: &mut ItemContext,
        item: &[u8],
    ) -> Result<&'s [u8], Fault> {
        CgroupsSnapshotRequest::decode(item).map_err(|_| Fault::Malformed)?;
        // Every request: a handler may have changed the limit.
        st.set_max_payload(ctx.response_max as usize);
        st.reset(0, 0);
        self.0.snapshot(st).map_err(|e| handler_fault(e, ctx))?;
        Ok(st.finish())
    }
}

service_constructors!(
    /// Starts a `CGROUPS_SNAPSHOT` server (single requests only: a Level 1
    /// batch is answered `BAD_ENVELOPE`).
    ///
    /// ```no_run
    /// # use netipc::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, simple_hash};
    /// # use netipc::service::server::{Server, ServerConfig};
    /// let server = Server::cgroups_snapshot(
    ///     &ServerConfig::new("/run/netdata", "cgroups-snapshot"),
    ///     |b: &mut CgroupsSnapshotBuilder| {
    ///         b.set_systemd_enabled(1);
    ///         b.add_item(simple_hash(b"init.scope"), 0, 1, b"init.scope", b"/sys/fs/cgroup/init.scope")?;
    ///         Ok(())
    ///     },
    /// )?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    cgroups_snapshot,
    "CGROUPS_SNAPSHOT",
    CgroupsSnapshotHandler,
    SnapshotService
);
