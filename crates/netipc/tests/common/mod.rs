//! Shared harness of the transport integration tests: unique temporary run
//! directories, raw SEQPACKET peers, and a small threaded test server.

#![allow(dead_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netipc::protocol::{CODE_HELLO, STATUS_OK};
use netipc::transport::uds::{Listener, Message, ServerConfig};
use netipc::transport::{AbortHandle, Deadline, Endpoint};
use netipc::wire::{Header, Hello};
use netipc::{Error, Result};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

/// The benchmark/conformance auth token.
pub const TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;

/// A generous deadline for a loaded 2-core box.
pub fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(30))
}

/// A unique run directory under the system temp dir, removed on drop.
pub struct TestDir {
    path: PathBuf,
}

static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDir {
    /// Creates `{tmp}/nipc-{pid}-{counter}-{nanos}`.
    pub fn new() -> Self {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("nipc-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An endpoint for `service` in this directory.
    pub fn endpoint(&self, service: &str) -> Endpoint {
        Endpoint::new(&self.path, service).unwrap()
    }

    /// Names of the entries in the directory.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Reads a captured conformance file.
pub fn conformance(name: &str) -> Vec<u8> {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../testdata/conformance/transport",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The 14 captured packets of the chunked snapshot response.
pub fn captured_packets() -> Vec<Vec<u8>> {
    (0..14)
        .map(|i| conformance(&format!("chunked_snapshot_resp/packet-{i:02}.bin")))
        .collect()
}

fn seqpacket() -> OwnedFd {
    rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

/// A raw blocking SEQPACKET connection to `path`.
pub fn raw_connect(path: &Path) -> OwnedFd {
    let fd = seqpacket();
    rustix::net::connect(&fd, &SocketAddrUnix::new(path).unwrap()).unwrap();
    fd
}

/// A raw SEQPACKET listener bound at `path` (no security dance).
pub fn raw_listen(path: &Path) -> OwnedFd {
    let fd = seqpacket();
    rustix::net::bind(&fd, &SocketAddrUnix::new(path).unwrap()).unwrap();
    rustix::net::listen(&fd, 16).unwrap();
    fd
}

/// Accepts one raw connection.
pub fn raw_accept(fd: &OwnedFd) -> OwnedFd {
    rustix::net::accept_with(fd, SocketFlags::CLOEXEC).unwrap()
}

/// Sends one datagram; returns false if the peer is gone.
pub fn raw_send(fd: &impl AsFd, b: &[u8]) -> bool {
    rustix::net::send(fd, b, SendFlags::NOSIGNAL).is_ok()
}

/// Receives one datagram within 30 s; `None` on EOF or error.
pub fn raw_recv(fd: &impl AsFd) -> Option<Vec<u8>> {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let t = rustix::time::Timespec {
        tv_sec: 30,
        tv_nsec: 0,
    };
    let n = poll(&mut fds, Some(&t)).ok()?;
    assert!(n > 0, "raw_recv timed out");
    let mut buf = vec![0u8; 1 << 18];
    match rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()) {
        Ok((0, _)) | Err(_) => None,
        Ok((n, _)) => {
            buf.truncate(n);
            Some(buf)
        }
    }
}

/// A whole HELLO message.
pub fn hello_msg(h: &Hello) -> Vec<u8> {
    let mut v = Header::control(CODE_HELLO, STATUS_OK, 44).encode().to_vec();
    v.extend_from_slice(&h.encode());
    v
}

/// The HELLO of the captured conformance client, right token.
pub fn base_hello() -> Hello {
    Hello {
        supported_profiles: 1,
        preferred_profiles: 1,
        max_request_payload_bytes: 4096,
        max_request_batch_items: 1,
        max_response_payload_bytes: 65536,
        max_response_batch_items: 1,
        auth_token: TOKEN,
        packet_size: 65536,
    }
}

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
