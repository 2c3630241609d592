//! The `APPS_LOOKUP` service facade.

use std::sync::Arc;

use crate::codec::apps_lookup::{AppsLookupBuilder, AppsLookupRequestView, AppsLookupResponseView};
use crate::codec::lookup::PidStatus;
use crate::error::Result;

use super::cgroups_lookup::{finish_fault, over_budget};
use super::config::ServerConfig;
use super::core::Server;
use super::dispatch::{Fault, ItemContext, Service, ServiceKind, handler_fault};
use super::handler::HandlerError;
use super::local::LocalDispatcher;

/// Answers one `APPS_LOOKUP` request: add exactly one response item per
/// requested PID, in request order.
///
/// The builder arrives reset for this request with generation 0 (set
/// yours with [`AppsLookupBuilder::set_generation`]), its budget at the
/// session's response budget and its maximum at the server's largest
/// response budget. Prefer [`AppsLookupBuilder::add_request_item`] /
/// [`AppsLookupBuilder::add_request_unknown`]. The builder encodes an item
/// that does not fit as `PAYLOAD_EXCEEDED` (and every later one), and an
/// item that cannot fit even alone as `OVERSIZED_ITEM`; keep adding every
/// item regardless. Leaving items out is a handler failure
/// (`INTERNAL_ERROR`).
///
/// Implemented for closures `Fn(&AppsLookupRequestView<'_>, &mut
/// AppsLookupBuilder) -> Result<(), HandlerError>` (annotate the parameter
/// types), for `Arc<T>` of any handler, and for your own types. Called
/// concurrently from every session thread.
pub trait AppsLookupHandler: Send + Sync + 'static {
    /// Fills `response` for `request`.
    fn lookup(
        &self,
        request: &AppsLookupRequestView<'_>,
        response: &mut AppsLookupBuilder,
    ) -> Result<(), HandlerError>;
}

impl<F> AppsLookupHandler for F
where
    F: Fn(&AppsLookupRequestView<'_>, &mut AppsLookupBuilder) -> Result<(), HandlerError>
        + Send
        + Sync
        + 'static,
{
    fn lookup(
        &self,
        request: &AppsLookupRequestView<'_>,
        response: &mut AppsLookupBuilder,
    ) -> Result<(), HandlerError> {
        self(request, response)
    }
}

impl<T: AppsLookupHandler + ?Sized> AppsLookupHandler for Arc<T> {
    fn lookup(
        &self,
        request: &AppsLookupRequestView<'_>,
        response: &mut AppsLookupBuilder,
    ) -> Result<(), HandlerError> {
        (**self).lookup(request, response)
    }
}

struct AppsLookupService<H>(H);

impl<H: AppsLookupHandler> Service for AppsLookupService<H> {
    const KIND: ServiceKind = ServiceKind::AppsLookup;
    const BATCHABLE: bool = false;
    type State = AppsLookupBuilder;

    fn new_state(&self, ctx: &ItemContext) -> Self::State {
        AppsLookupBuilder::with_budget(ctx.response_budget as usize, ctx.response_max as usize)
    }

    fn handle<'s>(
        &self,
        st: &'s mut Self::State,
        ctx: &mut ItemContext,
        item: &[u8],
    ) -> Result<&'s [u8], Fault> {
        let request = AppsLookupRequestView::decode(item).map_err(|_| Fault::Malformed)?;
        // Every request: a handler may have changed the budgets.
        st.set_budget(ctx.response_budget as usize, ctx.response_max as usize);
        st.reset(0, &request);
        if st.is_over_budget() {
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

/// Whether the finished response's first item is `PAYLOAD_EXCEEDED`.
fn first_item_exceeded(b: &AppsLookupBuilder) -> bool {
    b.finish()
        .ok()
        .and_then(|p| AppsLookupResponseView::decode(p).ok())
        .and_then(|v| v.get(0))
        .is_some_and(|i| i.status() == PidStatus::PayloadExceeded)
}

impl Server {
    /// Starts an `APPS_LOOKUP` server (single requests only: a Level 1
    /// batch is answered `BAD_ENVELOPE`).
    ///
    /// ```no_run
    /// # use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupRequestView};
    /// # use netipc::service::server::{Server, ServerConfig};
    /// let server = Server::apps_lookup(
    ///     &ServerConfig::new("/run/netdata", "apps-lookup"),
    ///     |req: &AppsLookupRequestView<'_>, b: &mut AppsLookupBuilder| {
    ///         for i in 0..req.len() {
    ///             b.add_request_unknown(req, i)?;
    ///         }
    ///         Ok(())
    ///     },
    /// )?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    pub fn apps_lookup(config: &ServerConfig, handler: impl AppsLookupHandler) -> Result<Server> {
        Server::start(config, AppsLookupService(handler))
    }
}

impl LocalDispatcher {
    /// An in-process `APPS_LOOKUP` dispatcher with a response budget of
    /// `response_budget` bytes.
    pub fn apps_lookup(handler: impl AppsLookupHandler, response_budget: u32) -> LocalDispatcher {
        LocalDispatcher::new(AppsLookupService(handler), response_budget)
    }
}
