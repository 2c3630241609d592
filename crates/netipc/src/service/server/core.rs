//! The server core shared by every service kind: the listener and its
//! acceptor thread, handshakes off the accept path, session slots, the
//! session registry used by `stop()`, and the drain.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crate::error::{Error, Limit, Result};
use crate::service::defaults::{ACCEPT_RETRY_DELAY, DEFAULT_FORCE_CLOSE_GRACE};
use crate::transport::{
    AbortHandle, Deadline, Endpoint, Listener, PendingConnection, RejectHook, SessionShutdown,
};

use super::budgets::{LearnedBudgets, PayloadBudgets};
use super::config::{Resolved, ServerConfig};
use super::dispatch::{Service, ServiceKind, serve};

/// A statistics counter.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The live counters behind [`ServerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections_accepted: Counter,
    pub sessions_started: Counter,
    pub handshake_failures: Counter,
    pub auth_failures: Counter,
    pub handshake_timeouts: Counter,
    pub requests: Counter,
    pub unsupported: Counter,
    pub bad_envelopes: Counter,
    pub limit_exceeded: Counter,
    pub handler_failures: Counter,
    pub handler_panics: Counter,
}

/// Counters of a managed server since it started (diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections taken from the listening socket.
    pub connections_accepted: u64,
    /// Sessions that completed the handshake and got a slot.
    pub sessions_started: u64,
    /// Handshakes that failed for any reason (rejections, malformed or
    /// silent clients, timeouts, aborts at shutdown).
    pub handshake_failures: u64,
    /// Of those, rejections for a wrong auth token (`AUTH_FAILED`).
    pub auth_failures: u64,
    /// Of those, clients silent until the handshake deadline.
    pub handshake_timeouts: u64,
    /// Requests received (every message, whatever its fate).
    pub requests: u64,
    /// Requests for a method this server does not serve (`UNSUPPORTED`).
    pub unsupported: u64,
    /// Requests answered `BAD_ENVELOPE`.
    pub bad_envelopes: u64,
    /// Requests answered `LIMIT_EXCEEDED` (request or response over a
    /// budget, batch over `max_batch_items`).
    pub limit_exceeded: u64,
    /// Handler failures (`INTERNAL_ERROR`).
    pub handler_failures: u64,
    /// Handler panics (`INTERNAL_ERROR`).
    pub handler_panics: u64,
}

impl Counters {
    fn snapshot(&self) -> ServerStats {
        ServerStats {
            connections_accepted: self.connections_accepted.get(),
            sessions_started: self.sessions_started.get(),
            handshake_failures: self.handshake_failures.get(),
            auth_failures: self.auth_failures.get(),
            handshake_timeouts: self.handshake_timeouts.get(),
            requests: self.requests.get(),
            unsupported: self.unsupported.get(),
            bad_envelopes: self.bad_envelopes.get(),
            limit_exceeded: self.limit_exceeded.get(),
            handler_failures: self.handler_failures.get(),
            handler_panics: self.handler_panics.get(),
        }
    }
}

/// What [`Server::stop`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopSummary {
    /// Every session ended within the drain deadline.
    pub drained: bool,
    /// Sessions still running (a handler that never returned) when `stop`
    /// gave up on them; their connections are shut down (and SHM files
    /// removed), and their threads exit when the handler returns.
    pub abandoned: usize,
}

/// A session holding a slot, as `stop()` sees it.
#[derive(Debug)]
struct Registered {
    /// Stops or ends the session from `stop()`.
    shutdown: SessionShutdown,
}

/// Slot and thread accounting, under one mutex.
#[derive(Debug, Default)]
struct State {
    stopping: bool,
    stopped: Option<StopSummary>,
    /// Sessions holding a slot.
    sessions: usize,
    /// Handshaken sessions waiting for a slot.
    waiting: usize,
    /// Handshakes in progress.
    handshaking: usize,
    /// Connection threads alive (handshake, waiting or serving).
    threads: usize,
    registry: HashMap<u64, Registered>,
}

/// Everything the acceptor and the session threads share.
pub(crate) struct Shared {
    pub endpoint: Endpoint,
    pub kind: ServiceKind,
    pub cfg: Resolved,
    pub budgets: Arc<LearnedBudgets>,
    /// Learns from LIMIT_EXCEEDED handshake rejections before they are sent.
    pub reject_hook: RejectHook,
    pub max_batch_items: u32,
    pub stats: Counters,
    /// Wakes SHM sessions waiting for a request when `stop()` drains.
    pub drain_abort: AbortHandle,
    /// Stops the acceptor and every handshake in progress.
    accept_abort: AbortHandle,
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.cond.wait(g).unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `done` holds or `deadline` passes; returns the guard and
    /// whether `done` holds.
    fn wait_until<'a>(
        &self,
        mut g: MutexGuard<'a, State>,
        deadline: Instant,
        done: impl Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, bool) {
        loop {
            if done(&g) {
                return (g, true);
            }
            let now = Instant::now();
            if now >= deadline {
                return (g, false);
            }
            g = self
                .cond
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The handshake offer with the current learned budgets.
    fn handshake_config(&self) -> crate::transport::ServerConfig {
        let b = self.budgets.current();
        crate::transport::ServerConfig {
            max_request_payload_bytes: b.request,
            max_response_payload_bytes: b.response,
            on_reject: Some(self.reject_hook.clone()),
            ..self.cfg.transport.clone()
        }
    }
}

/// Decrements the thread count when a connection thread ends (panics
/// included).
struct ThreadGuard<'a>(&'a Shared);

impl Drop for ThreadGuard<'_> {
    fn drop(&mut self) {
        let mut g = self.0.lock();
        g.threads -= 1;
        drop(g);
        self.0.cond.notify_all();
    }
}

/// Releases a session slot (and its registry entry) when the session
/// ends.
struct SlotGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut g = self.shared.lock();
        g.sessions -= 1;
        let entry = g.registry.remove(&self.id);
        drop(g);
        // Closing the duplicate handle outside the lock.
        drop(entry);
        self.shared.cond.notify_all();
    }
}

/// A running managed server exporting one service kind.
///
/// The listening socket is bound when the constructor returns, so clients
/// may connect at once. [`Server::stop`] (or dropping the server) stops
/// accepting, drains, closes every session and removes the socket and SHM
/// files. See the [module documentation](super) for the threading model.
pub struct Server {
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("endpoint", &self.shared.endpoint)
            .field("kind", &self.shared.kind)
            .field("active_sessions", &self.active_sessions())
            .field("learned_budgets", &self.learned_budgets())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the endpoint and starts the acceptor for `svc`.
    pub(crate) fn start<S: Service>(config: &ServerConfig, svc: S) -> Result<Server> {
        let cfg = config.resolve()?;
        let endpoint = Endpoint::new(&config.run_dir, &config.service)?;
        let listener = Listener::bind(&endpoint)?;
        let budgets = Arc::new(LearnedBudgets::new(
            config.max_request_payload_bytes,
            config.max_response_payload_bytes,
        ));
        let hook_budgets = Arc::clone(&budgets);
        // An authenticated client proposed more than the request budget
        // (the check order puts auth first): grow before it can reconnect.
        let reject_hook = RejectHook(Arc::new(move |status: u16, hello: &crate::wire::Hello| {
            if status == crate::protocol::STATUS_LIMIT_EXCEEDED {
                let current = hook_budgets.current().request;
                hook_budgets.grow_request(current, hello.max_request_payload_bytes.into());
            }
        }));
        let shared = Arc::new(Shared {
            endpoint,
            kind: S::KIND,
            budgets,
            reject_hook,
            max_batch_items: cfg.max_batch_items,
            cfg,
            stats: Counters::default(),
            drain_abort: AbortHandle::new()?,
            accept_abort: AbortHandle::new()?,
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
        });
        let svc = Arc::new(svc);
        let sh = Arc::clone(&shared);
        // If the spawn fails, the closure (and the listener) is dropped,
        // which removes the socket file.
        let handle = thread::Builder::new()
            .name("nipc-accept".into())
            .spawn(move || acceptor(&sh, &svc, listener))?;
        Ok(Server {
            shared,
            acceptor: Mutex::new(Some(handle)),
        })
    }

    /// The endpoint served.
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoint
    }

    /// The service kind served.
    pub fn kind(&self) -> ServiceKind {
        self.shared.kind
    }

    /// Whether the server still accepts connections (`stop` not called).
    pub fn is_running(&self) -> bool {
        !self.shared.lock().stopping
    }

    /// Sessions currently holding a slot.
    pub fn active_sessions(&self) -> usize {
        self.shared.lock().sessions
    }

    /// The payload budgets every new handshake offers now.
    pub fn learned_budgets(&self) -> PayloadBudgets {
        self.shared.budgets.current()
    }

    /// The ceilings the learned budgets never pass (the configured budgets,
    /// or the zero-config cap).
    pub fn budget_ceilings(&self) -> PayloadBudgets {
        self.shared.budgets.ceilings()
    }

    /// Counters since start.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats.snapshot()
    }

    /// Stops the server; idempotent (later calls return the first result).
    ///
    /// 1. Stops accepting: the acceptor ends, handshakes in progress are
    ///    aborted, the listening socket and its file are removed, and
    ///    sessions waiting for a slot are closed.
    /// 2. Drains: idle sessions are closed at once; a session running a
    ///    handler finishes it, sends the answer and then closes (requests
    ///    it had already received are still answered), all within the
    ///    configured drain timeout.
    /// 3. At the drain deadline the remaining sessions' sockets are shut
    ///    down; after a short grace, sessions whose handler still has not
    ///    returned are abandoned (reported in [`StopSummary::abandoned`]),
    ///    and their SHM files are removed.
    ///
    /// On return (unless sessions were abandoned) every session thread has
    /// ended and every socket and SHM file of this server is gone. Calling
    /// `stop` from inside a handler abandons that handler's own session
    /// after the drain timeout.
    pub fn stop(&self) -> StopSummary {
        self.stop_within(self.shared.cfg.drain_timeout)
    }

    /// [`Server::stop`] with an explicit drain timeout instead of the
    /// configured one (the C API's `nipc_server_drain`). Idempotent like
    /// `stop`: a server already stopped returns the first result.
    pub fn stop_within(&self, drain_timeout: std::time::Duration) -> StopSummary {
        let sh = &*self.shared;
        {
            let mut g = sh.lock();
            if let Some(s) = g.stopped {
                return s;
            }
            g.stopping = true;
        }
        sh.cond.notify_all();
        sh.accept_abort.trigger();
        let handle = self
            .acceptor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle {
            // The acceptor owns the listener: joining it removes the socket.
            let _ = h.join();
        }
        sh.drain_abort.trigger();
        let g = sh.lock();
        for r in g.registry.values() {
            r.shutdown.stop_receiving();
        }
        let deadline = Instant::now() + drain_timeout;
        let (mut g, drained) = sh.wait_until(g, deadline, |s| s.threads == 0);
        let mut abandoned = 0;
        if !drained {
            for r in g.registry.values() {
                r.shutdown.close();
            }
            let grace = Instant::now() + DEFAULT_FORCE_CLOSE_GRACE;
            let (g2, _) = sh.wait_until(g, grace, |s| s.threads == 0);
            g = g2;
            abandoned = g.registry.len();
        }
        let summary = StopSummary { drained, abandoned };
        g.stopped = Some(summary);
        summary
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The accept loop: takes a connection only while a slot could be
/// available and a handshake may start, and hands it to its own thread.
fn acceptor<S: Service>(shared: &Arc<Shared>, svc: &Arc<S>, listener: Listener) {
    let max_sessions = shared.cfg.max_sessions;
    let max_handshakes = shared.cfg.max_handshakes;
    loop {
        {
            let mut g = shared.lock();
            loop {
                if g.stopping {
                    return;
                }
                if g.sessions + g.waiting < max_sessions && g.handshaking < max_handshakes {
                    break;
                }
                g = shared.wait(g);
            }
        }
        let pending = match listener.accept(Deadline::NEVER, Some(&shared.accept_abort)) {
            Ok(p) => p,
            Err(Error::Aborted) => return,
            Err(_) => {
                // Out of fds or another transient failure: retry soon, or
                // as soon as a session ends and frees its fd.
                let g = shared.lock();
                if g.stopping {
                    return;
                }
                let _ = shared.cond.wait_timeout(g, ACCEPT_RETRY_DELAY);
                continue;
            }
        };
        shared.stats.connections_accepted.inc();
        {
            let mut g = shared.lock();
            if g.stopping {
                return;
            }
            g.handshaking += 1;
            g.threads += 1;
        }
        let sh = Arc::clone(shared);
        let sv = Arc::clone(svc);
        let spawned = thread::Builder::new()
            .name(format!("nipc-sess-{}", pending.session_id()))
            .spawn(move || connection(&sh, &*sv, pending));
        if spawned.is_err() {
            // The connection was dropped with the closure.
            let mut g = shared.lock();
            g.handshaking -= 1;
            g.threads -= 1;
            drop(g);
            shared.stats.handshake_failures.inc();
            shared.cond.notify_all();
        }
    }
}

/// One connection: handshake, wait for a slot, serve.
fn connection<S: Service>(shared: &Shared, svc: &S, pending: PendingConnection) {
    let _thread = ThreadGuard(shared);
    let offer = shared.handshake_config();
    let deadline = Deadline::after(shared.cfg.handshake_timeout);
    let r = pending.handshake(&offer, deadline, Some(&shared.accept_abort));
    shared.lock().handshaking -= 1;
    shared.cond.notify_all();
    let session = match r {
        Ok(s) => s,
        Err(e) => {
            record_handshake_failure(shared, &e, offer.max_request_payload_bytes);
            return;
        }
    };
    let id = session.session_id();
    let Ok(shutdown) = session.shutdown_handle() else {
        // Without a handle for stop() the session is not served.
        return;
    };
    {
        let mut g = shared.lock();
        if g.sessions >= shared.cfg.max_sessions && !g.stopping {
            g.waiting += 1;
            while g.sessions >= shared.cfg.max_sessions && !g.stopping {
                g = shared.wait(g);
            }
            g.waiting -= 1;
        }
        if g.stopping {
            return;
        }
        g.sessions += 1;
        g.registry.insert(id, Registered { shutdown });
    }
    let _slot = SlotGuard { shared, id };
    shared.stats.sessions_started.inc();
    serve(shared, svc, session);
}

fn record_handshake_failure(shared: &Shared, e: &Error, offered_request: u32) {
    let stats = &shared.stats;
    stats.handshake_failures.inc();
    match e {
        Error::AuthFailed => stats.auth_failures.inc(),
        Error::Timeout => stats.handshake_timeouts.inc(),
        // An authenticated client needs a bigger request budget: learn it,
        // so its reconnect is accepted (up to the ceiling).
        Error::LimitExceeded {
            limit: Limit::RequestPayload,
            actual,
            ..
        } => {
            shared.budgets.grow_request(offered_request, *actual);
        }
        _ => {}
    }
}
