//! The per-session request loop shared by every service kind: receive one
//! message, route it (wrong method, single, batch), call the typed
//! service, and answer with the response or the terminal error status.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Error, Limit};
use crate::protocol::{
    FLAG_BATCH, KIND_RESPONSE, METHOD_APPS_LOOKUP, METHOD_CGROUPS_LOOKUP, METHOD_CGROUPS_SNAPSHOT,
    METHOD_INCREMENT, METHOD_STRING_REVERSE, STATUS_BAD_ENVELOPE, STATUS_INTERNAL_ERROR,
    STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use crate::transport::Deadline;
use crate::transport::ServerSession;
use crate::wire::{BatchBuilder, BatchView, Header};

use super::core::Shared;
use super::handler::HandlerError;

/// The service kinds a managed server can export (one per server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServiceKind {
    /// `INCREMENT`: u64 in, u64 out (test and benchmark method).
    Increment,
    /// `STRING_REVERSE`: string in, string out (test method).
    StringReverse,
    /// `CGROUPS_SNAPSHOT`: the full cgroups snapshot.
    CgroupsSnapshot,
    /// `CGROUPS_LOOKUP`: cgroup paths in, cgroup metadata out.
    CgroupsLookup,
    /// `APPS_LOOKUP`: PIDs in, process and cgroup metadata out.
    AppsLookup,
}

impl ServiceKind {
    /// The method code served.
    pub fn method(self) -> u16 {
        match self {
            ServiceKind::Increment => METHOD_INCREMENT,
            ServiceKind::StringReverse => METHOD_STRING_REVERSE,
            ServiceKind::CgroupsSnapshot => METHOD_CGROUPS_SNAPSHOT,
            ServiceKind::CgroupsLookup => METHOD_CGROUPS_LOOKUP,
            ServiceKind::AppsLookup => METHOD_APPS_LOOKUP,
        }
    }

    /// The method's spec name.
    pub fn name(self) -> &'static str {
        crate::protocol::method_name(self.method()).unwrap_or("UNKNOWN")
    }
}

/// What a service sees of the session while answering one item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemContext {
    /// The session's agreed response payload budget.
    pub response_budget: u32,
    /// The server's largest response budget (configured, or the cap in
    /// zero-config mode).
    pub response_max: u32,
    /// Set by a service whose (valid) answer shows the current budget is
    /// too small for even one item: grow the learned response budget.
    pub learn_response: bool,
}

/// Why an item could not be answered. Every fault ends the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The request payload does not decode (`BAD_ENVELOPE`).
    Malformed,
    /// The handler failed or did not complete its answer
    /// (`INTERNAL_ERROR`).
    Handler,
    /// The handler panicked (`INTERNAL_ERROR`).
    Panicked,
    /// The answer needs `needed` bytes, more than the session's response
    /// budget (`LIMIT_EXCEEDED`; the learned response budget grows).
    ResponseTooLarge {
        /// Bytes the answer needs (a lower bound when not known exactly).
        needed: u64,
    },
    /// A batch over the server's `max_batch_items` (`LIMIT_EXCEEDED`).
    TooManyItems,
}

impl Fault {
    /// The transport status answered.
    pub(crate) fn status(self) -> u16 {
        match self {
            Fault::Malformed => STATUS_BAD_ENVELOPE,
            Fault::Handler | Fault::Panicked => STATUS_INTERNAL_ERROR,
            Fault::ResponseTooLarge { .. } | Fault::TooManyItems => STATUS_LIMIT_EXCEEDED,
        }
    }
}

/// One service kind: decodes an item, runs the typed handler, encodes the
/// answer. Implemented by each facade.
pub(crate) trait Service: Send + Sync + 'static {
    /// The kind (and method) served.
    const KIND: ServiceKind;
    /// Whether Level 1 batches of this method are valid.
    const BATCHABLE: bool;
    /// Per-session reusable buffers and builders.
    type State: Send;

    /// Fresh per-session state.
    fn new_state(&self, ctx: &ItemContext) -> Self::State;

    /// Answers one request item; the answer lives in `st`.
    fn handle<'s>(
        &self,
        st: &'s mut Self::State,
        ctx: &mut ItemContext,
        item: &[u8],
    ) -> Result<&'s [u8], Fault>;

    /// Answers a whole batch into `tx` in one pass, for a service with a
    /// faster form than item by item, or `None` (the default) to take the
    /// item path. The outcome must be the item path's: the items answered
    /// in request order, the first failing item failing the batch with
    /// its fault, an answer past the response budget
    /// [`Fault::ResponseTooLarge`] with the size reached. The caller has
    /// checked the item count and that the directory fits the budget, and
    /// turns a panic into [`Fault::Panicked`]. Returns the payload length.
    fn handle_batch(
        &self,
        _ctx: &mut ItemContext,
        _batch: BatchView<'_>,
        _tx: &mut Vec<u8>,
    ) -> Option<Result<usize, Fault>> {
        None
    }
}

/// Maps a handler's failure to the fault answered.
pub(crate) fn handler_fault(e: HandlerError, ctx: &ItemContext) -> Fault {
    match e {
        // Past the server's ceiling: learning can at most reach it.
        HandlerError::ResponseTooLarge => Fault::ResponseTooLarge {
            needed: u64::from(ctx.response_max) + 1,
        },
        HandlerError::Failed(_) => Fault::Handler,
    }
}

/// Runs [`Service::handle`], turning a panic into [`Fault::Panicked`].
///
/// The session state may be inconsistent after a panic; the caller ends
/// the session, so it is never used again.
pub(crate) fn call<'s, S: Service>(
    svc: &S,
    st: &'s mut S::State,
    ctx: &mut ItemContext,
    item: &[u8],
) -> Result<&'s [u8], Fault> {
    // Moving `st` in makes the closure FnOnce, so the answer may borrow it.
    let run = move || {
        let st = st;
        svc.handle(st, ctx, item)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Err(Fault::Panicked),
    }
}

/// A successful answer, borrowed from the session state or the batch
/// buffer.
enum Reply<'a> {
    Single(&'a [u8]),
    Batch { payload: &'a [u8], count: u32 },
}

/// Answers every item of a batch into `tx` (request order), failing the
/// whole batch on the first item that fails.
fn dispatch_batch<'t, S: Service>(
    svc: &S,
    st: &mut S::State,
    ctx: &mut ItemContext,
    batch: BatchView<'_>,
    max_items: u32,
    tx: &'t mut Vec<u8>,
) -> Result<Reply<'t>, Fault> {
    if !S::BATCHABLE {
        return Err(Fault::Malformed);
    }
    let count = u32::try_from(batch.len()).map_err(|_| Fault::TooManyItems)?;
    if max_items != 0 && count > max_items {
        return Err(Fault::TooManyItems);
    }
    let dir = u64::from(count) * crate::protocol::DIR_ENTRY_SIZE as u64;
    if dir > u64::from(ctx.response_budget) {
        return Err(Fault::ResponseTooLarge { needed: dir });
    }
    let n = match catch_unwind(AssertUnwindSafe(|| svc.handle_batch(ctx, batch, tx))) {
        Ok(Some(n)) => n?,
        Ok(None) => batch_items(svc, st, ctx, batch, tx)?,
        Err(_) => return Err(Fault::Panicked),
    };
    Ok(Reply::Batch {
        payload: &tx[..n],
        count,
    })
}

/// The item path of a batch (its directory within the response budget):
/// every item through [`call`], each answer appended to `tx`. Returns the
/// payload length.
pub(crate) fn batch_items<S: Service>(
    svc: &S,
    st: &mut S::State,
    ctx: &mut ItemContext,
    batch: BatchView<'_>,
    tx: &mut Vec<u8>,
) -> Result<usize, Fault> {
    let count = u32::try_from(batch.len()).map_err(|_| Fault::TooManyItems)?;
    let budget = u64::from(ctx.response_budget);
    // The payload size so far: directory, then aligned items.
    let mut size = u64::from(count) * crate::protocol::DIR_ENTRY_SIZE as u64;
    tx.clear();
    let mut builder = BatchBuilder::new(tx, count);
    for item in batch.iter() {
        let out = call(svc, st, ctx, item)?;
        size = size.next_multiple_of(crate::protocol::ITEM_ALIGN as u64) + out.len() as u64;
        if size > budget {
            return Err(Fault::ResponseTooLarge { needed: size });
        }
        builder.add(out).map_err(|_| Fault::Handler)?;
    }
    let n = builder.finish().map_err(|_| Fault::Handler)?;
    if n as u64 > budget {
        return Err(Fault::ResponseTooLarge { needed: n as u64 });
    }
    Ok(n)
}

/// Serves one established session until it ends. The session (and its
/// SHM region) is dropped on return.
pub(crate) fn serve<S: Service>(shared: &Shared, svc: &S, mut session: ServerSession) {
    let response_budget = session.response_limits().max_payload;
    let request_budget = session.request_limits().max_payload;
    // Socket / pipe sessions block in one plain receive (the hot path);
    // `stop()` wakes them through their shutdown handle. SHM sessions also
    // watch the drain abort between wait slices.
    let abort = session.is_shm().then_some(&shared.drain_abort);
    let mut ctx = ItemContext {
        response_budget,
        response_max: shared.budgets.ceilings().response,
        learn_response: false,
    };
    let mut state = svc.new_state(&ctx);
    let mut tx: Vec<u8> = Vec::new();
    let stats = &shared.stats;
    // The header of the last request received whole.
    let mut last: Option<Header> = None;
    loop {
        let msg = match session.recv_request(Deadline::NEVER, abort) {
            Ok(m) => m,
            Err(e) => {
                end_on_recv_error(shared, &mut session, e, request_budget, last);
                return;
            }
        };
        let header = msg.header;
        last = Some(header);
        stats.requests.inc();
        if header.code != S::KIND.method() {
            stats.unsupported.inc();
            match session.send_error(header.code, header.message_id, STATUS_UNSUPPORTED) {
                Ok(()) => continue,
                Err(_) => return,
            }
        }
        ctx.learn_response = false;
        let reply = match msg.batch() {
            None => call(svc, &mut state, &mut ctx, msg.payload).map(Reply::Single),
            Some(batch) => dispatch_batch(
                svc,
                &mut state,
                &mut ctx,
                batch,
                shared.max_batch_items,
                &mut tx,
            ),
        };
        let reply = match reply {
            Ok(Reply::Single(p)) if p.len() > response_budget as usize => {
                Err(Fault::ResponseTooLarge {
                    needed: p.len() as u64,
                })
            }
            other => other,
        };
        if ctx.learn_response {
            shared.budgets.grow_response(response_budget, 0);
        }
        let sent = match reply {
            Ok(Reply::Single(p)) => session.send_response(header.code, header.message_id, p),
            Ok(Reply::Batch { payload, count }) => {
                let h = Header {
                    kind: KIND_RESPONSE,
                    flags: FLAG_BATCH,
                    code: header.code,
                    transport_status: STATUS_OK,
                    payload_len: payload.len() as u32,
                    item_count: count,
                    message_id: header.message_id,
                };
                session.send_message(&h, payload)
            }
            Err(fault) => {
                record_fault(shared, fault, response_budget);
                // Terminal: answer, then close the session.
                let _ = session.send_error(header.code, header.message_id, fault.status());
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn record_fault(shared: &Shared, fault: Fault, response_budget: u32) {
    let stats = &shared.stats;
    match fault {
        Fault::Malformed => stats.bad_envelopes.inc(),
        Fault::Handler => stats.handler_failures.inc(),
        Fault::Panicked => stats.handler_panics.inc(),
        Fault::ResponseTooLarge { needed } => {
            stats.limit_exceeded.inc();
            shared.budgets.grow_response(response_budget, needed);
        }
        Fault::TooManyItems => stats.limit_exceeded.inc(),
    }
}

/// A receive failed: answer the request that caused it when its header
/// decoded (over budget: `LIMIT_EXCEEDED`; malformed envelope:
/// `BAD_ENVELOPE`), learn from an oversized request, and let the session
/// close. `last` is the header of the previous request, already answered.
fn end_on_recv_error(
    shared: &Shared,
    session: &mut ServerSession,
    e: Error,
    request_budget: u32,
    last: Option<Header>,
) {
    let stats = &shared.stats;
    let status = match e {
        Error::LimitExceeded {
            limit: Limit::RequestPayload,
            actual,
            ..
        } => {
            shared.budgets.grow_request(request_budget, actual);
            stats.limit_exceeded.inc();
            STATUS_LIMIT_EXCEEDED
        }
        Error::LimitExceeded { .. } => {
            stats.limit_exceeded.inc();
            STATUS_LIMIT_EXCEEDED
        }
        Error::Decode(_) | Error::Protocol(_) => {
            stats.bad_envelopes.inc();
            STATUS_BAD_ENVELOPE
        }
        _ => return,
    };
    // Only a header of this failed message may be answered (not the
    // previous request's, when this one did not even decode).
    if session.last_request_header() == last {
        return;
    }
    // Fails harmlessly when the header is not a request's.
    let _ = session.send_final_error(status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_their_methods() {
        for (k, m, n) in [
            (ServiceKind::Increment, METHOD_INCREMENT, "INCREMENT"),
            (
                ServiceKind::StringReverse,
                METHOD_STRING_REVERSE,
                "STRING_REVERSE",
            ),
            (
                ServiceKind::CgroupsSnapshot,
                METHOD_CGROUPS_SNAPSHOT,
                "CGROUPS_SNAPSHOT",
            ),
            (
                ServiceKind::CgroupsLookup,
                METHOD_CGROUPS_LOOKUP,
                "CGROUPS_LOOKUP",
            ),
            (ServiceKind::AppsLookup, METHOD_APPS_LOOKUP, "APPS_LOOKUP"),
        ] {
            assert_eq!(k.method(), m);
            assert_eq!(k.name(), n);
        }
    }

    #[test]
    fn fault_statuses() {
        assert_eq!(Fault::Malformed.status(), STATUS_BAD_ENVELOPE);
        assert_eq!(Fault::Handler.status(), STATUS_INTERNAL_ERROR);
        assert_eq!(Fault::Panicked.status(), STATUS_INTERNAL_ERROR);
        assert_eq!(
            Fault::ResponseTooLarge { needed: 1 }.status(),
            STATUS_LIMIT_EXCEEDED
        );
        assert_eq!(Fault::TooManyItems.status(), STATUS_LIMIT_EXCEEDED);
    }
}
