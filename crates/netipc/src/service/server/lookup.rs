//! The one answer path of the lookup services (`CGROUPS_LOOKUP`,
//! `APPS_LOOKUP`): decode the request, reset the codec's response builder
//! to the session's budgets, let the handler fill it, learn a larger
//! response budget when even the first item did not fit, and finish.

use crate::error::Error;

use super::dispatch::{Fault, ItemContext};

/// Defines the lookup service `$service<H>` of kind `$kind` for handlers
/// `$handler` (method `lookup`), over the codec's `$builder`,
/// `$request` and `$response` views; `$exceeded` is the codec's
/// `PAYLOAD_EXCEEDED` item status.
macro_rules! lookup_service {
    (
        $service:ident: $handler:ident, $kind:expr,
        $builder:ident, $request:ident, $response:ident, $exceeded:expr
    ) => {
        struct $service<H>(H);

        impl<H: $handler> $crate::service::server::dispatch::Service for $service<H> {
            const KIND: $crate::service::server::dispatch::ServiceKind = $kind;
            const BATCHABLE: bool = false;
            type State = $builder;

            fn new_state(&self, ctx: &$crate::service::server::dispatch::ItemContext) -> $builder {
                $builder::with_budget(ctx.response_budget as usize, ctx.response_max as usize)
            }

            fn handle<'s>(
                &self,
                st: &'s mut $builder,
                ctx: &mut $crate::service::server::dispatch::ItemContext,
                item: &[u8],
            ) -> Result<&'s [u8], $crate::service::server::dispatch::Fault> {
                use $crate::service::server::dispatch::{Fault, handler_fault};
                use $crate::service::server::lookup::{finish_fault, over_budget};

                let request = $request::decode(item).map_err(|_| Fault::Malformed)?;
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
                // The budget cannot hold even one answer: the client can
                // only progress on a session with a larger budget.
                let first_item_exceeded = || {
                    st.finish()
                        .ok()
                        .and_then(|p| $response::decode(p).ok())
                        .and_then(|v| v.get(0))
                        .is_some_and(|i| i.status() == $exceeded)
                };
                if st.is_exceeded() && first_item_exceeded() {
                    ctx.learn_response = true;
                }
                st.finish().map_err(|e| finish_fault(e, ctx))
            }
        }
    };
}
pub(crate) use lookup_service;

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
