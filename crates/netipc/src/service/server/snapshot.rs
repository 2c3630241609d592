//! The `CGROUPS_SNAPSHOT` service facade.

use std::sync::Arc;

use crate::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, CgroupsSnapshotRequest};
use crate::error::Result;

use super::config::ServerConfig;
use super::core::Server;
use super::dispatch::{Fault, ItemContext, Service, ServiceKind, handler_fault};
use super::handler::HandlerError;
use super::local::LocalDispatcher;

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

impl<F> CgroupsSnapshotHandler for F
where
    F: Fn(&mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> + Send + Sync + 'static,
{
    fn snapshot(&self, snapshot: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> {
        self(snapshot)
    }
}

impl<T: CgroupsSnapshotHandler + ?Sized> CgroupsSnapshotHandler for Arc<T> {
    fn snapshot(&self, snapshot: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> {
        (**self).snapshot(snapshot)
    }
}

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

impl Server {
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
    pub fn cgroups_snapshot(
        config: &ServerConfig,
        handler: impl CgroupsSnapshotHandler,
    ) -> Result<Server> {
        Server::start(config, SnapshotService(handler))
    }
}

impl LocalDispatcher {
    /// An in-process `CGROUPS_SNAPSHOT` dispatcher with a response budget of
    /// `response_budget` bytes.
    pub fn cgroups_snapshot(
        handler: impl CgroupsSnapshotHandler,
        response_budget: u32,
    ) -> LocalDispatcher {
        LocalDispatcher::new(SnapshotService(handler), response_budget)
    }
}
