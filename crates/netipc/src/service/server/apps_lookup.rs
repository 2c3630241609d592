//! The `APPS_LOOKUP` service facade.

use crate::codec::apps_lookup::{AppsLookupBuilder, AppsLookupRequestView, AppsLookupResponseView};
use crate::codec::lookup::PidStatus;

use super::dispatch::ServiceKind;
use super::facade::{handler_impls, service_constructors};
use super::handler::HandlerError;
use super::lookup::lookup_service;

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

handler_impls!(AppsLookupHandler::lookup(
    request: &AppsLookupRequestView<'_>,
    response: &mut AppsLookupBuilder
) -> Result<(), HandlerError>);

lookup_service!(
    AppsLookupService: AppsLookupHandler,
    ServiceKind::AppsLookup,
    AppsLookupBuilder,
    AppsLookupRequestView,
    AppsLookupResponseView,
    PidStatus::PayloadExceeded
);

service_constructors!(
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
    apps_lookup,
    "APPS_LOOKUP",
    AppsLookupHandler,
    AppsLookupService
);
