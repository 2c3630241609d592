//! The `CGROUPS_LOOKUP` service facade.

use std::sync::Arc;

use crate::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupRequestView, CgroupsLookupResponseView,
};
use crate::codec::lookup::LookupStatus;
use crate::error::{Error, Result};

use super::config::ServerConfig;
use super::core::Server;
use super::dispatch::{Fault, ItemContext, Service, ServiceKind, handler_fault};
use super::handler::HandlerError;
use super::local::LocalDispatcher;

/// Answers one `CGROUPS_LOOKUP` request: add exactly one response item
/// per request key, in request order.
///
/// The builder arrives reset for this request with generation 0 (set
/// yours with [`CgroupsLookupBuilder::set_generation`]), its budget at the
/// session's response budget and its maximum at the server's largest
/// response budget. Prefer
/// [`CgroupsLookupBuilder::add_request_item`] /
/// [`CgroupsLookupBuilder::add_request_unknown`], which echo the decoded
/// path without scanning it again. The builder itself encodes an item that
/// does not fit as `PAYLOAD_EXCEEDED` (and every later one), and an item
/// that cannot fit even alone as `OVERSIZED_ITEM`; keep adding every item
/// regardless. Leaving items out is a handler failure (`INTERNAL_ERROR`).
///
/// Implemented for closures `Fn(&CgroupsLookupRequestView<'_>, &mut
/// CgroupsLookupBuilder) -> Result<(), HandlerError>` (annotate the
/// parameter types), for `Arc<T>` of any handler, and for your own types.
/// Called concurrently from every session thread.
pub trait CgroupsLookupHandler: Send + Sync + 'static {
    /// Fills `response` for `request`.
    fn lookup(
        &self,
        request: &CgroupsLookupRequestView<'_>,
        response: &mut CgroupsLookupBuilder,
    ) -> Result<(), HandlerError>;
}

impl<F> CgroupsLookupHandler for F
where
    F: Fn(&CgroupsLookupRequestView<'_>, &mut CgroupsLookupBuilder) -> Result<(), HandlerError>
        + Send
        + Sync
        + 'static,
{
    fn lookup(
        &self,
        request: &CgroupsLookupRequestView<'_>,
        response: &mut CgroupsLookupBuilder,
    ) -> Result<(), HandlerError> {
        self(request, response)
    }
}

impl<T: CgroupsLookupHandler + ?Sized> CgroupsLookupHandler for Arc<T> {
    fn lookup(
        &self,
        request: &CgroupsLookupRequestView<'_>,
        response: &mut CgroupsLookupBuilder,
    ) -> Result<(), HandlerError> {
        (**self).lookup(request, response)
    }
}

struct CgroupsLookupService<H>(H);

impl<H: CgroupsLookupHandler> Service for CgroupsLookupService<H> {
    const KIND: ServiceKind = ServiceKind::CgroupsLookup;
    const BATCHABLE: bool = false;
    type State = CgroupsLookupBuilder;

    fn new_state(&self, ctx: &ItemContext) -> Self::State {
        CgroupsLookupBuilder::with_budget(ctx.response_budget as usize, ctx.response_max as usize)
    }

    fn handle<'s>(
        &self,
        st: &'s mut Self::State,
        ctx: &mut ItemContext,
        item: &[u8],
    ) -> Result<&'s [u8], Fault> {
        let request = CgroupsLookupRequestView::decode(item).map_err(|_| Fault::Malformed)?;
        // Every request: a handler may have changed the budgets.
        st.set_budget(ctx.response_budget as usize, ctx.response_max as usize);
        st.reset(0, &request);
        if st.is_over_budget() {
            // Not even the all-PAYLOAD_EXCEEDED answer fits.
            return Err(over_budget(ctx));
        }
        self.0
            .lookup(&request, st)
            .map_err(|e| handler_fault(e, ctx))?;
        if st.is_exceeded() && first_item_exceeded(st) {
            ctx.learn_response = true;
        }
        st.finish().map_err(|e| finish_fault(e, ctx))
    }
}

/// Whether the finished response's first item is `PAYLOAD_EXCEEDED`: the
/// budget cannot hold even one answer, so the client can only progress on
/// a session with a larger budget.
fn first_item_exceeded(b: &CgroupsLookupBuilder) -> bool {
    b.finish()
        .ok()
        .and_then(|p| CgroupsLookupResponseView::decode(p).ok())
        .and_then(|v| v.get(0))
        .is_some_and(|i| i.status() == LookupStatus::PayloadExceeded)
}

/// The fault of a lookup answer that does not fit at all.
pub(crate) fn over_budget(ctx: &ItemContext) -> Fault {
    Fault::ResponseTooLarge {
        needed: u64::from(ctx.response_budget) + 1,
    }
}

/// Maps a lookup builder's `finish` error.
pub(crate) fn finish_fault(e: Error, ctx: &ItemContext) -> Fault {
    match e {
        Error::LimitExceeded { .. } => over_budget(ctx),
        // Fewer items than keys: the handler did not complete its answer.
        _ => Fault::Handler,
    }
}

impl Server {
    /// Starts a `CGROUPS_LOOKUP` server (single requests only: a Level 1
    /// batch is answered `BAD_ENVELOPE`).
    ///
    /// ```no_run
    /// # use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
    /// # use netipc::codec::lookup::LookupStatus;
    /// # use netipc::service::server::{Server, ServerConfig};
    /// let server = Server::cgroups_lookup(
    ///     &ServerConfig::new("/run/netdata", "cgroups-lookup"),
    ///     |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
    ///         for i in 0..req.len() {
    ///             b.add_request_unknown(req, i, LookupStatus::UnknownRetryLater)?;
    ///         }
    ///         Ok(())
    ///     },
    /// )?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn cgroups_lookup(
        config: &ServerConfig,
        handler: impl CgroupsLookupHandler,
    ) -> Result<Server> {
        Server::start(config, CgroupsLookupService(handler))
    }
}

impl LocalDispatcher {
    /// An in-process `CGROUPS_LOOKUP` dispatcher with a response budget of
    /// `response_budget` bytes.
    pub fn cgroups_lookup(
        handler: impl CgroupsLookupHandler,
        response_budget: u32,
    ) -> LocalDispatcher {
        LocalDispatcher::new(CgroupsLookupService(handler), response_budget)
    }
}
