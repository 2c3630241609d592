//! In-process dispatch: a typed handler driven through exactly the decode,
//! handler, encode and budget path of a managed-server session, without a
//! transport. Used by benchmarks and tests, and by embedders that carry
//! request payloads some other way.

use super::dispatch::{ItemContext, Service, ServiceKind, call};

/// Type-erased dispatch of one service kind.
trait Erased: Send {
    fn dispatch(&mut self, request: &[u8]) -> Result<&[u8], u16>;
}

struct Local<S: Service> {
    svc: S,
    state: S::State,
    ctx: ItemContext,
}

impl<S: Service> Erased for Local<S> {
    fn dispatch(&mut self, request: &[u8]) -> Result<&[u8], u16> {
        self.ctx.learn_response = false;
        let budget = self.ctx.response_budget as usize;
        match call(&self.svc, &mut self.state, &mut self.ctx, request) {
            Ok(p) if p.len() > budget => Err(crate::protocol::STATUS_LIMIT_EXCEEDED),
            Ok(p) => Ok(p),
            Err(f) => Err(f.status()),
        }
    }
}

/// Runs one typed handler on single request payloads in process.
///
/// [`LocalDispatcher::dispatch`] does what a session does with one
/// non-batch request of the served method: decode the payload, call the
/// handler (a panic is caught), encode the answer into reusable
/// per-dispatcher storage, and check it against the response budget. The
/// budget plays the session's agreed response budget and the server's
/// ceiling at once. Build one with the per-kind constructors
/// (`LocalDispatcher::increment`, …); like a session it is used from one
/// thread at a time.
pub struct LocalDispatcher {
    kind: ServiceKind,
    inner: Box<dyn Erased>,
}

impl std::fmt::Debug for LocalDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDispatcher")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl LocalDispatcher {
    /// A dispatcher for `svc` with `response_budget` bytes.
    pub(crate) fn new<S: Service>(svc: S, response_budget: u32) -> Self {
        let ctx = ItemContext {
            response_budget,
            response_max: response_budget,
            learn_response: false,
        };
        let state = svc.new_state(&ctx);
        LocalDispatcher {
            kind: S::KIND,
            inner: Box::new(Local { svc, state, ctx }),
        }
    }

    /// The service kind served.
    pub fn kind(&self) -> ServiceKind {
        self.kind
    }

    /// Answers one request payload of the served method.
    ///
    /// Returns the response payload (valid until the next call), or the
    /// transport status a session would send instead: `BAD_ENVELOPE` for
    /// a malformed request, `INTERNAL_ERROR` for a handler failure or
    /// panic, `LIMIT_EXCEEDED` for an answer over the budget.
    pub fn dispatch(&mut self, request: &[u8]) -> Result<&[u8], u16> {
        self.inner.dispatch(request)
    }
}
