//! The `INCREMENT` service facade (test and benchmark method).

use crate::codec::increment::{INCREMENT_PAYLOAD_SIZE, decode_increment, encode_increment_array};

use crate::protocol::DIR_ENTRY_SIZE;
use crate::wire::batch::entry_item;
use crate::wire::{BatchBuilder, BatchView};

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

    fn handle_batch(
        &self,
        ctx: &mut ItemContext,
        batch: BatchView<'_>,
        tx: &mut Vec<u8>,
    ) -> Option<Result<usize, Fault>> {
        Some(self.batch(ctx, batch, tx))
    }
}

impl<H: IncrementHandler> IncrementService<H> {
    /// A batch answered in one pass: the response laid out at once (every
    /// answer is 8 bytes), each answer written in place.
    fn batch(
        &self,
        ctx: &mut ItemContext,
        batch: BatchView<'_>,
        tx: &mut Vec<u8>,
    ) -> Result<usize, Fault> {
        const SIZE: usize = INCREMENT_PAYLOAD_SIZE;
        let count = batch.len();
        tx.clear();
        let area = u32::try_from(count)
            .ok()
            .and_then(|c| BatchBuilder::append_uniform(tx, c, SIZE).ok())
            .ok_or(Fault::Handler)?;
        // The directory fits the budget (checked by the caller); after it,
        // the first `fit` answers do, and the item after them fails the
        // batch once its handler has run, as on the item path.
        let fit = (u64::from(ctx.response_budget) / SIZE as u64).saturating_sub(count as u64);
        let run = usize::try_from(fit.saturating_add(1)).map_or(count, |r| r.min(count));
        // The directory read here, not through `BatchView::iter`: the
        // iterator form measured about 18 % slower on uds-batch-ping-pong.
        let (dir, items) = batch.parts();
        let answers = tx.get_mut(area..).unwrap_or_default();
        for (e, answer) in dir
            .chunks_exact(DIR_ENTRY_SIZE)
            .zip(answers.chunks_exact_mut(SIZE))
            .take(run)
        {
            let item = entry_item(e, items).ok_or(Fault::Malformed)?;
            let value = decode_increment(item).map_err(|_| Fault::Malformed)?;
            let r = self.0.increment(value).map_err(|e| handler_fault(e, ctx))?;
            answer.copy_from_slice(&encode_increment_array(r));
        }
        if fit < count as u64 {
            return Err(Fault::ResponseTooLarge {
                needed: (count as u64 + run as u64) * SIZE as u64,
            });
        }
        Ok(tx.len())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::server::dispatch::{batch_items, call};
    use proptest::prelude::*;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

    /// A batch of `count` INCREMENT requests (values `0..count`), item
    /// `odd.0` `odd.1` bytes long instead of 8.
    fn request(count: u32, odd: Option<(u32, usize)>) -> Vec<u8> {
        let mut v = Vec::new();
        let mut b = BatchBuilder::new(&mut v, count);
        for i in 0..count {
            let mut item = u64::from(i).to_ne_bytes().to_vec();
            if let Some((_, len)) = odd.filter(|o| o.0 == i) {
                item.resize(len, 0);
            }
            b.add(&item).unwrap();
        }
        b.finish().unwrap();
        v
    }

    proptest! {
        /// The one-pass batch answers exactly as the item path: the same
        /// bytes, or the same fault (first failing item, handler failure,
        /// panic, the size reached past the budget).
        #[test]
        fn one_pass_batch_is_the_item_path(
            count in 0u32..40,
            odd in proptest::option::of((0u32..40, 0usize..17)),
            fail_at in proptest::option::of((0u64..40, any::<bool>())),
            panic_at in proptest::option::of(0u64..40),
            budget in 0u32..1400,
        ) {
            let svc = IncrementService(move |v: u64| {
                if panic_at == Some(v) {
                    // No panic hook output (resume_unwind skips it).
                    resume_unwind(Box::new("handler panic"));
                }
                match fail_at {
                    Some((at, true)) if at == v => Err(HandlerError::ResponseTooLarge),
                    Some((at, false)) if at == v => Err(HandlerError::FAILED),
                    _ => Ok(v.wrapping_mul(3)),
                }
            });
            let payload = request(count, odd);
            let batch = BatchView::decode(&payload, count).unwrap();
            let ctx = ItemContext { response_budget: budget, response_max: 4096, learn_response: false };
            prop_assume!(u64::from(count) * 8 <= u64::from(budget));

            let (mut c1, mut t1) = (ctx, vec![9u8; 3]);
            let fast = catch_unwind(AssertUnwindSafe(|| svc.batch(&mut c1, batch, &mut t1)))
                .unwrap_or(Err(Fault::Panicked))
                .map(|n| t1[..n].to_vec());
            let (mut c2, mut t2, mut st) = (ctx, Vec::new(), svc.new_state(&ctx));
            let items = batch_items(&svc, &mut st, &mut c2, batch, &mut t2).map(|n| t2[..n].to_vec());
            prop_assert_eq!(fast, items);
            prop_assert_eq!(c1.learn_response, c2.learn_response);
        }
    }

    #[test]
    fn one_pass_batch_answers_every_item() {
        let svc = IncrementService(|v: u64| Ok(v + 1));
        let payload = request(5, None);
        let batch = BatchView::decode(&payload, 5).unwrap();
        let mut ctx = ItemContext {
            response_budget: 80,
            response_max: 80,
            learn_response: false,
        };
        let mut tx = Vec::new();
        let n = svc.handle_batch(&mut ctx, batch, &mut tx).unwrap().unwrap();
        let view = BatchView::decode(&tx[..n], 5).unwrap();
        let got: Vec<u64> = view.iter().map(|i| decode_increment(i).unwrap()).collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
        // One byte less: the fifth answer does not fit.
        ctx.response_budget = 79;
        assert_eq!(
            svc.batch(&mut ctx, batch, &mut tx),
            Err(Fault::ResponseTooLarge { needed: 80 })
        );
        // The item path agrees, and a single item goes through `call`.
        let mut st = svc.new_state(&ctx);
        assert_eq!(
            batch_items(&svc, &mut st, &mut ctx, batch, &mut tx),
            Err(Fault::ResponseTooLarge { needed: 80 })
        );
        assert_eq!(
            call(&svc, &mut st, &mut ctx, &7u64.to_ne_bytes()),
            Ok(&8u64.to_ne_bytes()[..])
        );
    }
}
