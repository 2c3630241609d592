//! The one client core every typed facade wraps: connection state machine,
//! `refresh()`, the bounded request/response exchange with at-least-once
//! retry, overflow-driven budget growth, timeouts, abort and the SHM
//! fallback.
//!
//! # Error handling of one exchange
//!
//! | Failure | Reaction |
//! |---|---|
//! | `Timeout`, `Aborted` | disconnect (state BROKEN), return the error, never retried |
//! | `UNSUPPORTED` status | return [`Error::Unsupported`], session kept |
//! | `LIMIT_EXCEEDED` status | overflow: grow the response hint, reconnect, resend |
//! | request larger than the agreed request budget | overflow: grow the request proposal, reconnect, resend |
//! | response item count differs from the request | [`Violation::ItemCountMismatch`], session kept, not retried |
//! | anything else (peer closed, I/O, protocol violation, wrong code or message id, `INTERNAL_ERROR`, `BAD_ENVELOPE`, other statuses) | disconnect, reconnect, resend once; then fail |
//!
//! Overflow recovery makes at most [`MAX_OVERFLOW_RECONNECTS`] reconnects
//! per logical call and stops as soon as a reconnect does not raise the
//! agreed request or response budget. A server LIMIT_EXCEEDED that cannot
//! be recovered is reported as `Error::Status(STATUS_LIMIT_EXCEEDED)`; a
//! request that cannot fit as [`Error::LimitExceeded`] with
//! [`Limit::RequestPayload`].

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Limit, Result, Violation};
use crate::protocol::{
    FLAG_BATCH, KIND_REQUEST, STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use crate::service::defaults::{MAX_OVERFLOW_RECONNECTS, MIN_REQUEST_PROPOSAL, grow_pow2};
use crate::transport::{
    AbortHandle, ClientConfig as L1ClientConfig, ClientSession, DEFAULT_SHM_ATTACH_TIMEOUT,
    Deadline, Endpoint, SHM_PROFILES,
};
use crate::wire::{Header, Limits};

use super::config::{ClientConfig, Resolved, Schema};
use super::state::{ClientState, ClientStatus, Counters};

/// Budget of one logical call: its deadline and the recovery still
/// allowed.
#[derive(Debug)]
pub(crate) struct CallCtx {
    /// Deadline of the whole logical call.
    pub deadline: Deadline,
    retry_left: bool,
    overflow_left: u32,
}

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

/// The client core: endpoint, resolved policy, the Level 1 session and the
/// state machine.
#[derive(Debug)]
pub(crate) struct Core {
    endpoint: Endpoint,
    cfg: Resolved,
    session: Option<ClientSession>,
    state: ClientState,
    ready: bool,
    ever_connected: bool,
    abort: AbortHandle,
    request_proposal: u32,
    response_hint: u32,
    shm_disabled: bool,
    call_timeout: Duration,
    counters: Counters,
}

impl Core {
    /// Creates a disconnected core (no I/O).
    pub fn new(
        run_dir: &Path,
        service: &str,
        config: &ClientConfig,
        schema: Schema,
    ) -> Result<Core> {
        let endpoint = Endpoint::new(run_dir, service)?;
        let cfg = config.resolve(&schema)?;
        Ok(Core {
            endpoint,
            request_proposal: cfg.request_proposal,
            response_hint: cfg.response_hint,
            call_timeout: cfg.call_timeout,
            cfg,
            session: None,
            state: ClientState::Disconnected,
            ready: false,
            ever_connected: false,
            abort: AbortHandle::new()?,
            shm_disabled: false,
            counters: Counters::default(),
        })
    }

    /// The endpoint this client targets.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The resolved configuration.
    pub fn cfg(&self) -> &Resolved {
        &self.cfg
    }

    /// The cached READY predicate (no syscall).
    #[inline]
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// The current state.
    #[inline]
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// A clone of the abort handle.
    pub fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// Clears a triggered abort.
    pub fn clear_abort(&self) {
        self.abort.clear();
    }

    /// Sets the timeout of later calls (`ZERO` = the configured default).
    pub fn set_call_timeout(&mut self, timeout: Duration) {
        self.call_timeout = if timeout.is_zero() {
            self.cfg.call_timeout
        } else {
            timeout
        };
    }

    /// The diagnostic snapshot.
    pub fn status(&self) -> ClientStatus {
        let s = self.session.as_ref();
        let ack = s.map(|s| *s.hello_ack());
        ClientStatus {
            state: self.state,
            connects: self.counters.connects,
            reconnects: self.counters.reconnects,
            calls: self.counters.calls,
            failures: self.counters.failures,
            retries: self.counters.retries,
            overflow_reconnects: self.counters.overflow_reconnects,
            shm_fallbacks: self.counters.shm_fallbacks,
            shm_disabled: self.shm_disabled,
            shm_attached: s.is_some_and(|s| s.is_shm()),
            selected_profile: ack.map_or(0, |a| a.selected_profile),
            request_payload_bytes: ack.map_or(0, |a| a.agreed_max_request_payload_bytes),
            response_payload_bytes: ack.map_or(0, |a| a.agreed_max_response_payload_bytes),
            batch_items: ack.map_or(0, |a| a.agreed_max_request_batch_items),
            session_id: ack.map_or(0, |a| a.session_id),
        }
    }

    /// Closes the session and resets the context to its initial state
    /// (counters are kept; SHM is proposed again; the abort is cleared).
    pub fn close(&mut self) {
        self.drop_session(ClientState::Disconnected);
        self.abort.clear();
        self.shm_disabled = false;
        self.request_proposal = self.cfg.request_proposal;
        self.response_hint = self.cfg.response_hint;
    }

    /// Drops a READY session after the peer broke the contract (a
    /// malformed response): the state becomes BROKEN and the next
    /// `refresh()` reconnects. Learned proposals are kept.
    pub fn disconnect(&mut self) {
        if self.session.is_some() {
            self.drop_session(ClientState::Broken);
        }
    }

    fn set_state(&mut self, state: ClientState) {
        self.state = state;
        self.ready = state == ClientState::Ready;
    }

    fn drop_session(&mut self, state: ClientState) {
        self.session = None;
        self.set_state(state);
    }

    fn install(&mut self, s: ClientSession) {
        self.session = Some(s);
        self.counters.connects += 1;
        if self.ever_connected {
            self.counters.reconnects += 1;
        }
        self.ever_connected = true;
        self.set_state(ClientState::Ready);
    }

    /// The state a failed connection attempt leaves.
    fn failed_state(&self, e: &Error) -> ClientState {
        match e {
            Error::NotFound => ClientState::NotFound,
            Error::AuthFailed => ClientState::AuthFailed,
            Error::Incompatible
            | Error::Unsupported
            | Error::LimitExceeded { .. }
            | Error::Status(_)
            | Error::Decode(_)
            | Error::Protocol(Violation::Handshake)
            | Error::InvalidArgument(_) => ClientState::Incompatible,
            _ if self.ever_connected => ClientState::Broken,
            _ => ClientState::Disconnected,
        }
    }

    /// The Level 1 configuration of the next handshake.
    fn l1_config(&self) -> L1ClientConfig {
        let mask = if self.shm_disabled { !SHM_PROFILES } else { !0 };
        L1ClientConfig {
            supported_profiles: self.cfg.supported & mask,
            preferred_profiles: self.cfg.preferred & mask,
            max_request_payload_bytes: self.request_proposal,
            max_request_batch_items: self.cfg.batch_items,
            max_response_payload_bytes: self.response_hint,
            max_response_batch_items: self.cfg.batch_items,
            response_payload_cap: self.cfg.cap,
            auth_token: self.cfg.auth_token,
            packet_size: self.cfg.packet_size,
            max_in_flight: 1,
            shm_attach_timeout: DEFAULT_SHM_ATTACH_TIMEOUT,
            shm: self.cfg.shm,
        }
    }

    /// Connects and handshakes.
    ///
    /// - SHM selected but not attachable: SHM is removed from this
    ///   context's proposals and the connection is retried at once on the
    ///   baseline.
    /// - `LIMIT_EXCEEDED` handshake (our request proposal is over the
    ///   server's budget) with `shrink`: the proposal is halved, down to
    ///   the method's smallest request, and the connection retried.
    /// - A server that completes the handshake and hangs up at once (a
    ///   server at its session limit) is a failed connect
    ///   ([`Error::PeerClosed`]).
    fn establish(&mut self, deadline: Deadline, shrink: bool) -> Result<ClientSession> {
        loop {
            let l1 = self.l1_config();
            match ClientSession::connect(&self.endpoint, &l1, deadline, Some(&self.abort)) {
                Ok(s) if s.peer_gone() => return Err(Error::PeerClosed),
                Ok(s) => return Ok(s),
                Err(Error::ShmAttach(_) | Error::ShmNotReady) if !self.shm_disabled => {
                    self.shm_disabled = true;
                    self.counters.shm_fallbacks += 1;
                }
                Err(Error::LimitExceeded {
                    limit: Limit::RequestPayload,
                    ..
                }) if shrink && self.request_proposal > self.cfg.request_base => {
                    self.request_proposal = (self.request_proposal / 2).max(self.cfg.request_base);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Connection work: verifies a READY session is still alive (one
    /// zero-timeout poll) and connects when not READY. Returns whether any
    /// state transition happened. Does nothing while the abort is
    /// triggered (except noticing a dead session).
    pub fn refresh(&mut self) -> bool {
        let before = self.state;
        let mut changed = false;
        if self.state == ClientState::Ready {
            let alive = self
                .session
                .as_ref()
                .is_some_and(|s| !s.is_broken() && !s.peer_gone());
            if alive {
                return false;
            }
            self.drop_session(ClientState::Broken);
            changed = true;
        }
        if self.abort.is_triggered() {
            return changed;
        }
        self.set_state(ClientState::Connecting);
        let deadline = Deadline::after(self.cfg.connect_timeout);
        match self.establish(deadline, true) {
            Ok(s) => self.install(s),
            Err(e) => {
                let st = self.failed_state(&e);
                self.set_state(st);
            }
        }
        changed || self.state != before
    }

    /// Starts a logical call: counts it and fails at once, without I/O,
    /// when the abort is triggered or the client is not READY.
    ///
    /// Not READY maps to [`Error::NotFound`], [`Error::AuthFailed`] or
    /// [`Error::Incompatible`] in those states, and to
    /// [`Error::InvalidState`] otherwise (DISCONNECTED, BROKEN).
    pub fn begin(&mut self) -> Result<CallCtx> {
        self.counters.calls += 1;
        let fail = if self.abort.is_triggered() {
            Error::Aborted
        } else if !self.ready {
            match self.state {
                ClientState::NotFound => Error::NotFound,
                ClientState::AuthFailed => Error::AuthFailed,
                ClientState::Incompatible => Error::Incompatible,
                _ => Error::InvalidState("client is not ready; call refresh()"),
            }
        } else {
            return Ok(CallCtx {
                deadline: Deadline::after(self.call_timeout),
                retry_left: true,
                overflow_left: MAX_OVERFLOW_RECONNECTS,
            });
        };
        self.counters.failures += 1;
        Err(fail)
    }

    /// Counts a failed logical call.
    #[inline]
    pub fn note_failure(&mut self) {
        self.counters.failures += 1;
    }

    /// Passes `r` through, counting a failure.
    #[inline]
    pub fn finish<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.counters.failures += 1;
        }
        r
    }

    /// Agreed (request, response) limits of the current session.
    pub fn limits(&self) -> Result<(Limits, Limits)> {
        self.session
            .as_ref()
            .map(|s| (s.request_limits(), s.response_limits()))
            .ok_or(Error::InvalidState("client is not ready; call refresh()"))
    }

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
