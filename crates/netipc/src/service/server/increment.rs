//! The `INCREMENT` service facade (test and benchmark method).

use crate::codec::increment::{INCREMENT_PAYLOAD_SIZE, decode_increment, encode_increment_array};

use super::dispatch::{Fault, ItemContext, Service, ServiceKind, handler_fault};
use super::facade::{handler_impls, service_constructors};
use super::handler::HandlerError;

/// Answers one `INCREMENT` request: a `u64` in, a `u64` out (the
/// conventional answer is `value + 1`).
///
/// Implemented for closures `Fn(u64) -> Result<u64, HandlerError>`, for
/// `Arc<T>` of any handler (so `Arc<dyn IncrementHandler>` works), and for
/// your own types. Called concurrently from every session thread.
pub trait IncrementHandler: Send + Sync + 'static {
    /// Answers `value`.
    fn increment(&self, value: u64) -> Result<u64, HandlerError>;
}

handler_impls!(IncrementHandler::increment(value: u64) -> Result<u64, HandlerError>);

struct IncrementService<H>(H);

impl<H: IncrementHandler> Service for IncrementService<H> {
    const KIND: ServiceKind = ServiceKind::Increment;
    const BATCHABLE: bool = true;
    type State = [u8; INCREMENT_PAYLOAD_SIZE];

    fn new_state(&self, _ctx: &ItemContext) -> Self::State {
        [0; INCREMENT_PAYLOAD_SIZE]
    }

    fn handle<'s>(
        &self,
        st: &'s mut Self::State,
        ctx: &mut ItemContext,
        item: &[u8],
    ) -> Result<&'s [u8], Fault> {
        let value = decode_increment(item).map_err(|_| Fault::Malformed)?;
        let answer = self.0.increment(value).map_err(|e| handler_fault(e, ctx))?;
        *st = encode_increment_array(answer);
        Ok(&st[..])
    }
}

service_constructors!(
    /// Starts an `INCREMENT` server (single requests and Level 1 batches).
    ///
    /// ```no_run
    /// # use netipc::service::server::{Server, ServerConfig};
    /// let server = Server::increment(
    ///     &ServerConfig::new("/run/netdata", "increment"),
    ///     |v: u64| Ok(v.wrapping_add(1)),
    /// )?;
    /// # Ok::<(), netipc::Error>(())
    /// ```
    increment,
    "INCREMENT",
    IncrementHandler,
    IncrementService
);
