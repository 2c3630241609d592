//! A small threaded Level 1 test server: an acceptor plus one worker per
//! connection, a handler answering each request, and the handshake and
//! session events in order.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use netipc::transport::uds::{Listener, Message, ServerConfig};
use netipc::transport::{AbortHandle, Deadline, Endpoint};
use netipc::{Error, Result};

use super::TOKEN;

/// The server configuration of the captured conformance server.
pub fn base_server_config() -> ServerConfig {
    ServerConfig {
        supported_profiles: 1,
        preferred_profiles: 1,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        packet_size: 0,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

/// What a test server answers to one request.
pub enum Reply {
    /// An OK single response.
    Single(Vec<u8>),
    /// An OK batch response.
    Batch(Vec<Vec<u8>>),
    /// An error reply with this status.
    Status(u16),
    /// No answer (the client waits).
    Nothing,
    /// Close the session.
    Close,
}

/// A request handler.
pub type Handler = Arc<dyn Fn(&Message<'_>) -> Reply + Send + Sync>;

/// Echoes every item back (single or batch).
pub fn echo() -> Handler {
    Arc::new(|m: &Message<'_>| {
        if m.batch().is_some() {
            Reply::Batch(m.items().map(<[u8]>::to_vec).collect())
        } else {
            Reply::Single(m.payload.to_vec())
        }
    })
}

/// INCREMENT: u64 + 1 per item.
pub fn increment() -> Handler {
    Arc::new(|m: &Message<'_>| {
        let inc = |b: &[u8]| {
            let v = u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
            v.wrapping_add(1).to_ne_bytes().to_vec()
        };
        if m.batch().is_some() {
            Reply::Batch(m.items().map(inc).collect())
        } else {
            Reply::Single(inc(m.payload))
        }
    })
}

/// What happened on the server side, in order of occurrence per session.
#[derive(Debug)]
pub enum Event {
    /// A handshake completed with this session id.
    Accepted(u64),
    /// A handshake failed.
    Rejected(u64, String),
    /// An established session ended with this error.
    Ended(u64, String),
}

/// A threaded server: an acceptor plus one worker per connection.
pub struct TestServer {
    abort: AbortHandle,
    acceptor: Option<JoinHandle<()>>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
    events: mpsc::Receiver<Event>,
    endpoint: Endpoint,
}

impl TestServer {
    /// Binds `endpoint` and serves it with `handler`.
    pub fn start(endpoint: &Endpoint, cfg: ServerConfig, handler: Handler) -> TestServer {
        let listener = Listener::bind(endpoint).unwrap();
        Self::serve(listener, cfg, handler)
    }

    /// Serves an already bound listener.
    pub fn serve(listener: Listener, cfg: ServerConfig, handler: Handler) -> TestServer {
        let abort = AbortHandle::new().unwrap();
        let (tx, events) = mpsc::channel();
        let workers: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let endpoint = listener.endpoint().clone();
        let acceptor = {
            let abort = abort.clone();
            let workers = Arc::clone(&workers);
            std::thread::spawn(move || {
                loop {
                    let pending = match listener.accept(Deadline::NEVER, Some(&abort)) {
                        Ok(p) => p,
                        Err(Error::Aborted) => break,
                        Err(e) => panic!("accept: {e}"),
                    };
                    let (abort, tx, cfg, handler) =
                        (abort.clone(), tx.clone(), cfg.clone(), Arc::clone(&handler));
                    let w = std::thread::spawn(move || {
                        let sid = pending.session_id();
                        let deadline = Deadline::after(Duration::from_secs(10));
                        let mut s = match pending.handshake(&cfg, deadline, Some(&abort)) {
                            Ok(s) => s,
                            Err(e) => {
                                let _ = tx.send(Event::Rejected(sid, format!("{e:?}")));
                                return;
                            }
                        };
                        let _ = tx.send(Event::Accepted(sid));
                        let end = serve_session(&mut s, &handler, &abort);
                        let _ = tx.send(Event::Ended(sid, format!("{:?}", end.unwrap_err())));
                    });
                    workers.lock().unwrap().push(w);
                }
            })
        };
        TestServer {
            abort,
            acceptor: Some(acceptor),
            workers,
            events,
            endpoint,
        }
    }

    /// The endpoint served.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The next server event (waits up to 30 s).
    pub fn next_event(&self) -> Event {
        self.events
            .recv_timeout(Duration::from_secs(30))
            .expect("no server event within 30 s")
    }

    /// Stops the acceptor and every worker.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.abort.trigger();
        if let Some(a) = self.acceptor.take() {
            a.join().unwrap();
        }
        let ws: Vec<_> = self.workers.lock().unwrap().drain(..).collect();
        for w in ws {
            w.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.acceptor.is_some() && !std::thread::panicking() {
            self.shutdown();
        }
    }
}

fn serve_session(
    s: &mut netipc::transport::uds::ServerSession,
    handler: &Handler,
    abort: &AbortHandle,
) -> Result<()> {
    loop {
        let req = s.recv_request(Deadline::NEVER, Some(abort))?;
        let (code, id) = (req.header.code, req.header.message_id);
        match handler(&req) {
            Reply::Single(p) => s.send_response(code, id, &p)?,
            Reply::Batch(items) => {
                let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                s.send_batch_response(code, id, &refs)?
            }
            Reply::Status(st) => s.send_error(code, id, st)?,
            Reply::Nothing => {}
            Reply::Close => return Err(Error::PeerClosed),
        }
    }
}
