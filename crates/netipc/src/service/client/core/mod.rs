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
//!
//! This file holds the state machine and connection work; `exchange`
//! runs one request/response with the recovery policy above.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Limit, Result, Violation};
use crate::service::defaults::MAX_OVERFLOW_RECONNECTS;
use crate::transport::{
    AbortHandle, ClientConfig as L1ClientConfig, ClientSession, DEFAULT_SHM_ATTACH_TIMEOUT,
    Deadline, Endpoint, SHM_PROFILES,
};
use crate::wire::Limits;

use super::config::{ClientConfig, Resolved, Schema};
use super::state::{ClientState, ClientStatus, Counters};

mod exchange;

/// Budget of one logical call: its deadline and the recovery still
/// allowed.
#[derive(Debug)]
pub(crate) struct CallCtx {
    /// Deadline of the whole logical call.
    pub deadline: Deadline,
    retry_left: bool,
    overflow_left: u32,
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
}
