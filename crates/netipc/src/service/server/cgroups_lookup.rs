//! The `CGROUPS_LOOKUP` service facade.

use crate::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupRequestView, CgroupsLookupResponseView,
};
use crate::codec::lookup::LookupStatus;

use super::dispatch::ServiceKind;
use super::facade::{handler_impls, service_constructors};
use super::handler::HandlerError;
use super::lookup::lookup_service;

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

handler_impls!(CgroupsLookupHandler::lookup(
    request: &CgroupsLookupRequestView<'_>,
    response: &mut CgroupsLookupBuilder
) -> Result<(), HandlerError>);

lookup_service!(
    CgroupsLookupService: CgroupsLookupHandler,
    ServiceKind::CgroupsLookup,
    CgroupsLookupBuilder,
    CgroupsLookupRequestView,
    CgroupsLookupResponseView,
    LookupStatus::PayloadExceeded
);

service_constructors!(
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
    cgroups_lookup,
    "CGROUPS_LOOKUP",
    CgroupsLookupHandler,
    CgroupsLookupService
);
