//! One request/response with the full recovery policy (see the `core`
//! module docs): failure classification, at-least-once retry and
//! overflow-driven budget growth.

use crate::error::{Error, Limit, Result, Violation};
use crate::protocol::{
    FLAG_BATCH, KIND_REQUEST, STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use crate::service::client::ClientState;
use crate::service::defaults::{MIN_REQUEST_PROPOSAL, grow_pow2};
use crate::transport::{AbortHandle, ClientSession, Deadline};
use crate::wire::Header;

use super::{CallCtx, Core};

/// How a failed exchange is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Return the error, keep the session.
    Terminal,
    /// Return the error, drop the session, never retry.
    Fatal,
    /// Grow the budgets and reconnect.
    Overflow,
    /// Drop the session, reconnect and resend once.
    Retry,
}

fn classify(e: &Error, session_broken: bool) -> Class {
    match e {
        Error::Timeout | Error::Aborted => Class::Fatal,
        Error::Status(STATUS_LIMIT_EXCEEDED) => Class::Overflow,
        _ if session_broken => Class::Retry,
        Error::Unsupported
        | Error::InvalidArgument(_)
        | Error::LimitExceeded { .. }
        | Error::Protocol(Violation::ItemCountMismatch) => Class::Terminal,
        _ => Class::Retry,
    }
}

/// One request/response on `sess`; copies the response payload into
/// `out`. `items > 1` sends `payload` as a Level 1 batch payload.
fn attempt(
    sess: &mut ClientSession,
    code: u16,
    payload: &[u8],
    items: u32,
    deadline: Deadline,
    abort: &AbortHandle,
    out: &mut Vec<u8>,
) -> Result<()> {
    sess.set_send_timeout(deadline.remaining()?);
    let id = sess.next_message_id();
    if items > 1 {
        let payload_len = u32::try_from(payload.len())
            .map_err(|_| Error::InvalidArgument("request longer than 4 GiB"))?;
        let header = Header {
            kind: KIND_REQUEST,
            flags: FLAG_BATCH,
            code,
            transport_status: STATUS_OK,
            payload_len,
            item_count: items,
            message_id: id,
        };
        sess.send_message(&header, payload)?;
    } else {
        sess.send_request(code, id, payload)?;
    }
    let msg = sess.recv_response(deadline, Some(abort))?;
    let h = msg.header;
    if h.message_id != id {
        return Err(Violation::UnknownMessageId.into());
    }
    if h.code != code {
        return Err(Violation::UnexpectedCode.into());
    }
    // The status comes first: error replies may keep the BATCH flag.
    match h.transport_status {
        STATUS_OK => {}
        STATUS_UNSUPPORTED => return Err(Error::Unsupported),
        s => return Err(Error::Status(s)),
    }
    if h.item_count != items || (items > 1 && !h.is_batch_flagged()) {
        return Err(Violation::ItemCountMismatch.into());
    }
    out.clear();
    out.extend_from_slice(msg.payload);
    Ok(())
}

impl Core {
    /// One request/response with the full recovery policy (see the module
    /// docs). `items > 1` sends a batch payload. The response payload is
    /// copied into `out`.
    pub fn exchange(
        &mut self,
        ctx: &mut CallCtx,
        payload: &[u8],
        items: u32,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let code = self.cfg.code;
        loop {
            let Some(sess) = self.session.as_mut() else {
                return Err(Error::InvalidState("client is not ready; call refresh()"));
            };
            let req = sess.request_limits();
            if payload.len() > req.max_payload as usize {
                self.grow_request(ctx, payload.len())?;
                continue;
            }
            if items > req.max_items {
                return Err(Error::LimitExceeded {
                    limit: Limit::RequestItems,
                    max: req.max_items.into(),
                    actual: items.into(),
                });
            }
            let Err(e) = attempt(sess, code, payload, items, ctx.deadline, &self.abort, out) else {
                return Ok(());
            };
            let broken = self.session.as_ref().is_none_or(|s| s.is_broken());
            match classify(&e, broken) {
                Class::Terminal => return Err(e),
                Class::Fatal => {
                    self.drop_session(ClientState::Broken);
                    return Err(e);
                }
                Class::Overflow => self.overflow(ctx, e)?,
                Class::Retry => self.retry(ctx, e)?,
            }
        }
    }

    /// Reconnects inside a call (state BROKEN until it succeeds).
    fn reconnect(&mut self, ctx: &CallCtx) -> Result<()> {
        self.drop_session(ClientState::Connecting);
        match self.establish(ctx.deadline, true) {
            Ok(s) => {
                self.install(s);
                Ok(())
            }
            Err(e) => {
                let st = self.failed_state(&e);
                self.set_state(st);
                Err(e)
            }
        }
    }

    /// At-least-once: drop the session, reconnect and let the caller resend
    /// once.
    fn retry(&mut self, ctx: &mut CallCtx, e: Error) -> Result<()> {
        self.drop_session(ClientState::Broken);
        if !ctx.retry_left {
            return Err(e);
        }
        ctx.retry_left = false;
        self.counters.retries += 1;
        self.reconnect(ctx)
    }

    /// Response overflow: doubles the response hint, reconnects and checks
    /// that the new session agreed to more. Returns `err` when the overflow
    /// budget is spent or the reconnect raised nothing (the new session is
    /// kept either way).
    pub fn overflow(&mut self, ctx: &mut CallCtx, err: Error) -> Result<()> {
        let old = self.limits().ok();
        let grow = ctx.overflow_left > 0;
        if grow {
            ctx.overflow_left -= 1;
            self.counters.overflow_reconnects += 1;
            let agreed = old.map_or(0, |(_, resp)| resp.max_payload);
            self.response_hint = self
                .response_hint
                .max(agreed)
                .saturating_mul(2)
                .min(self.cfg.cap);
        }
        self.reconnect(ctx)?;
        if !grow {
            return Err(err);
        }
        let (Some((old_req, old_resp)), Ok((new_req, new_resp))) = (old, self.limits()) else {
            return Ok(());
        };
        if new_req.max_payload <= old_req.max_payload
            && new_resp.max_payload <= old_resp.max_payload
        {
            return Err(err);
        }
        Ok(())
    }

    /// The error reported when a lookup response cannot hold even its
    /// first item and recovery is over: `actual` is a lower bound.
    pub fn response_overflow_error(&self) -> Error {
        let max = self.limits().map_or(0, |(_, r)| r.max_payload);
        Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: max.into(),
            actual: u64::from(max) + 1,
        }
    }

    /// Request overflow: reconnects proposing the next power of two of
    /// `len`. A server that rejects the larger proposal in the handshake
    /// gets the previous proposal again and the call fails with
    /// [`Error::LimitExceeded`] (the client stays READY).
    fn grow_request(&mut self, ctx: &mut CallCtx, len: usize) -> Result<()> {
        let agreed = self.limits().map_or(0, |(req, _)| req.max_payload);
        let too_big = |max: u32| Error::LimitExceeded {
            limit: Limit::RequestPayload,
            max: max.into(),
            actual: u64::try_from(len).unwrap_or(u64::MAX),
        };
        if len > self.cfg.cap as usize {
            return Err(too_big(self.cfg.cap));
        }
        if ctx.overflow_left == 0 {
            return Err(too_big(agreed));
        }
        ctx.overflow_left -= 1;
        self.counters.overflow_reconnects += 1;
        let previous = self.request_proposal;
        self.request_proposal = grow_pow2(
            u64::try_from(len).unwrap_or(u64::MAX),
            MIN_REQUEST_PROPOSAL,
            self.cfg.cap,
        );
        self.drop_session(ClientState::Connecting);
        let mut attempt = self.establish(ctx.deadline, false);
        if matches!(
            attempt,
            Err(Error::LimitExceeded {
                limit: Limit::RequestPayload,
                ..
            })
        ) {
            // Servers that learn from a rejected proposal (ours, and the
            // zero-config C server) accept the same proposal on the next
            // handshake: ask once more before giving up.
            attempt = self.establish(ctx.deadline, false);
        }
        match attempt {
            Ok(s) => {
                self.install(s);
                Ok(())
            }
            Err(Error::LimitExceeded {
                limit: Limit::RequestPayload,
                ..
            }) => {
                self.request_proposal = previous;
                self.reconnect(ctx)?;
                Err(too_big(agreed))
            }
            Err(e) => {
                let st = self.failed_state(&e);
                self.set_state(st);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::STATUS_INTERNAL_ERROR;

    #[test]
    fn classification() {
        assert_eq!(classify(&Error::Timeout, false), Class::Fatal);
        assert_eq!(classify(&Error::Aborted, true), Class::Fatal);
        assert_eq!(
            classify(&Error::Status(STATUS_LIMIT_EXCEEDED), false),
            Class::Overflow
        );
        assert_eq!(
            classify(&Error::Status(STATUS_INTERNAL_ERROR), false),
            Class::Retry
        );
        assert_eq!(classify(&Error::Unsupported, false), Class::Terminal);
        assert_eq!(
            classify(&Violation::ItemCountMismatch.into(), false),
            Class::Terminal
        );
        assert_eq!(
            classify(&Violation::ItemCountMismatch.into(), true),
            Class::Retry
        );
        assert_eq!(classify(&Error::PeerClosed, false), Class::Retry);
        assert_eq!(
            classify(&Violation::UnexpectedCode.into(), false),
            Class::Retry
        );
    }
}
