//! The fake server of the Level 2 client tests: a scriptable server built
//! on the Level 1 `Listener` / `ServerSession` (an acceptor thread plus
//! one thread per session; the handler runs under a lock, so it sees
//! requests one at a time).
//!
//! The server keeps *learned* payload budgets like a managed server: a
//! response larger than the session's agreed response budget is answered
//! `LIMIT_EXCEEDED`, the session is closed and the learned response budget
//! grows to the next power of two of twice the agreed one (unless growth is
//! disabled).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupEntry, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, simple_hash};
use netipc::codec::increment::decode_increment;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};
use netipc::protocol::{MAX_PAYLOAD_CAP, STATUS_LIMIT_EXCEEDED};
use netipc::service::client::ClientConfig;
use netipc::service::defaults::grow_pow2;
use netipc::transport::{
    AbortHandle, Deadline, Endpoint, Listener, Message, ServerConfig, ServerSession,
};
use netipc::wire::Header;

use super::{PATIENCE, Plane, TOKEN, soon};

/// A server configuration for `plane`: token [`TOKEN`], request budget
/// at the cap, response budget `response`.
pub fn server_config(plane: Plane, response: u32) -> ServerConfig {
    let (supported, preferred) = plane.profiles();
    ServerConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        max_request_payload_bytes: MAX_PAYLOAD_CAP,
        max_response_payload_bytes: response,
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

/// A Level 2 client configuration with [`TOKEN`] and generous timeouts.
pub fn client_config() -> ClientConfig {
    ClientConfig {
        auth_token: TOKEN,
        call_timeout: PATIENCE,
        connect_timeout: PATIENCE,
        ..ClientConfig::default()
    }
}

/// What the server does with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnAction {
    /// Handshake and serve requests.
    Serve,
    /// Handshake, then close at once (a server at its session limit).
    HandshakeThenClose,
    /// Answer the HELLO with an OK HELLO_ACK selecting SHM whose region
    /// path is a directory, so the client cannot attach (POSIX SHM).
    #[cfg(unix)]
    ShmAttachFail,
}

/// Per-connection facts and controls handed to the request handler.
#[derive(Debug)]
pub struct Conn {
    /// Connection number (0 for the first served connection).
    pub index: u64,
    /// Requests received on this connection so far (before this one).
    pub requests: u64,
    /// Agreed request payload budget.
    pub request_budget: u32,
    /// Agreed response payload budget.
    pub response_budget: u32,
    /// Whether the session runs over SHM.
    pub shm: bool,
    /// Set by the handler: raise the learned response budget (as after an
    /// overflow) without closing.
    pub grow: bool,
}

/// The handler's answer to one request.
#[derive(Debug)]
pub enum Reply {
    /// An OK single response (LIMIT_EXCEEDED + close + growth if it is
    /// over the agreed response budget).
    Payload(Vec<u8>),
    /// An OK batch response.
    Batch(Vec<Vec<u8>>),
    /// An error status, then close the session.
    StatusClose(u16),
    /// An error status, keep the session.
    Status(u16),
    /// A response with a caller-built header (kind RESPONSE).
    Raw(Header, Vec<u8>),
    /// The response did not fit: answer LIMIT_EXCEEDED, grow, close.
    Overflow,
    /// Close without answering.
    Close,
    /// Never answer: wait until the client hangs up, then close.
    Stall,
}

/// A request handler.
pub type Handler = Box<dyn FnMut(&mut Conn, &Message<'_>) -> Reply + Send>;

/// The INCREMENT answer to `m`: every value + 1 (single or batch).
pub fn increment_reply(m: &Message<'_>) -> Reply {
    if m.batch().is_some() {
        Reply::Batch(
            m.items()
                .map(|it| (decode_increment(it).unwrap() + 1).to_ne_bytes().to_vec())
                .collect(),
        )
    } else {
        Reply::Payload(
            (decode_increment(m.payload).unwrap() + 1)
                .to_ne_bytes()
                .to_vec(),
        )
    }
}

/// A handler answering INCREMENT with [`increment_reply`].
pub fn increment_handler() -> Handler {
    Box::new(|_, m| increment_reply(m))
}

/// A connection script.
pub type Script = Box<dyn FnMut(u64) -> ConnAction + Send>;

/// Counters of a fake server.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepts: AtomicU64,
    /// Handshakes completed with OK.
    pub handshakes: AtomicU64,
    /// Requests received.
    pub requests: AtomicU64,
    /// Sum of the item counts of the requests received.
    pub items: AtomicU64,
}

impl Stats {
    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }
}

/// A scripted server thread; stopped and joined on drop.
pub struct FakeServer {
    stop: AbortHandle,
    thread: Option<JoinHandle<()>>,
    /// Counters.
    pub stats: Arc<Stats>,
}

/// Options of a fake server.
pub struct Options {
    /// The initial configuration (learned budgets start here).
    pub cfg: ServerConfig,
    /// Whether over-budget responses raise the learned response budget.
    pub grow: bool,
    /// Connection script (default: serve every connection).
    pub script: Script,
}

impl Options {
    /// Serve everything with `cfg`, growth enabled.
    pub fn new(cfg: ServerConfig) -> Self {
        Options {
            cfg,
            grow: true,
            script: Box::new(|_| ConnAction::Serve),
        }
    }
}

impl FakeServer {
    /// Binds `endpoint` and serves with `handler`.
    pub fn start(endpoint: &Endpoint, opts: Options, handler: Handler) -> Self {
        let listener = Listener::bind(endpoint).unwrap();
        let stop = AbortHandle::new().unwrap();
        let stats = Arc::new(Stats::default());
        let thread = {
            let stop = stop.clone();
            let stats = Arc::clone(&stats);
            std::thread::spawn(move || serve(listener, opts, handler, stop, stats))
        };
        FakeServer {
            stop,
            thread: Some(thread),
            stats,
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        Stats::get(&self.stats.requests)
    }

    /// Handshakes completed so far.
    pub fn handshakes(&self) -> u64 {
        Stats::get(&self.stats.handshakes)
    }

    /// Connections accepted so far.
    pub fn accepts(&self) -> u64 {
        Stats::get(&self.stats.accepts)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    listener: Listener,
    mut opts: Options,
    handler: Handler,
    stop: AbortHandle,
    stats: Arc<Stats>,
) {
    let cfg = Arc::new(Mutex::new(opts.cfg.clone()));
    let handler = Arc::new(Mutex::new(handler));
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut index = 0u64;
    loop {
        let Ok(pending) = listener.accept(Deadline::NEVER, Some(&stop)) else {
            break;
        };
        stats.accepts.fetch_add(1, Ordering::SeqCst);
        let current = cfg.lock().unwrap().clone();
        match (opts.script)(index) {
            ConnAction::Serve => {}
            ConnAction::HandshakeThenClose => {
                // Count before closing: a client that sees the close must
                // also see the count.
                if let Ok(session) = pending.handshake(&current, soon(), Some(&stop)) {
                    stats.handshakes.fetch_add(1, Ordering::SeqCst);
                    drop(session);
                }
                index += 1;
                continue;
            }
            #[cfg(unix)]
            ConnAction::ShmAttachFail => {
                raw_shm_ack(pending, listener.endpoint(), &current);
                index += 1;
                continue;
            }
        }
        let Ok(s) = pending.handshake(&current, soon(), Some(&stop)) else {
            continue;
        };
        stats.handshakes.fetch_add(1, Ordering::SeqCst);
        let worker = Worker {
            cfg: Arc::clone(&cfg),
            handler: Arc::clone(&handler),
            stop: stop.clone(),
            stats: Arc::clone(&stats),
            grow: opts.grow,
        };
        let i = index;
        index += 1;
        workers.push(std::thread::spawn(move || worker.run(s, i)));
    }
    for w in workers {
        let _ = w.join();
    }
}

/// Serves one session.
struct Worker {
    cfg: Arc<Mutex<ServerConfig>>,
    handler: Arc<Mutex<Handler>>,
    stop: AbortHandle,
    stats: Arc<Stats>,
    grow: bool,
}

impl Worker {
    fn run(self, mut s: ServerSession, index: u64) {
        let mut conn = Conn {
            index,
            requests: 0,
            request_budget: s.request_limits().max_payload,
            response_budget: s.response_limits().max_payload,
            shm: s.is_shm(),
            grow: false,
        };
        loop {
            let (header, reply) = {
                let Ok(msg) = s.recv_request(Deadline::NEVER, Some(&self.stop)) else {
                    break;
                };
                self.stats.requests.fetch_add(1, Ordering::SeqCst);
                self.stats
                    .items
                    .fetch_add(u64::from(msg.header.item_count), Ordering::SeqCst);
                let reply = (self.handler.lock().unwrap())(&mut conn, &msg);
                (msg.header, reply)
            };
            conn.requests += 1;
            if conn.grow {
                conn.grow = false;
                self.grow_response(conn.response_budget);
            }
            let (code, id) = (header.code, header.message_id);
            let keep = match reply {
                // The learned budget grows before the reply: the client
                // reconnects as soon as it reads LIMIT_EXCEEDED.
                Reply::Payload(p) if p.len() > conn.response_budget as usize => {
                    if self.grow {
                        self.grow_response(conn.response_budget);
                    }
                    let _ = s.send_error(code, id, STATUS_LIMIT_EXCEEDED);
                    false
                }
                Reply::Payload(p) => s.send_response(code, id, &p).is_ok(),
                Reply::Batch(items) => {
                    let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
                    s.send_batch_response(code, id, &refs).is_ok()
                }
                Reply::StatusClose(st) => {
                    let _ = s.send_error(code, id, st);
                    false
                }
                Reply::Status(st) => s.send_error(code, id, st).is_ok(),
                Reply::Raw(h, p) => s.send_message(&h, &p).is_ok(),
                Reply::Overflow => {
                    if self.grow {
                        self.grow_response(conn.response_budget);
                    }
                    let _ = s.send_error(code, id, STATUS_LIMIT_EXCEEDED);
                    false
                }
                Reply::Close => false,
                Reply::Stall => {
                    wait_hangup(&mut s, &self.stop);
                    false
                }
            };
            if !keep {
                break;
            }
        }
    }

    fn grow_response(&self, agreed: u32) {
        grow_response(&mut self.cfg.lock().unwrap(), agreed);
    }
}

/// Blocks until the peer of `s` hangs up or `stop` is triggered.
#[cfg(unix)]
fn wait_hangup(s: &mut ServerSession, stop: &AbortHandle) {
    use rustix::event::{PollFd, PollFlags, poll};
    loop {
        let mut fds = [
            PollFd::new(s, PollFlags::RDHUP),
            PollFd::new(stop, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {
                if !fds[0].revents().is_empty() || !fds[1].revents().is_empty() {
                    return;
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// Blocks until the peer of `s` hangs up or `stop` is triggered (the
/// session's liveness probe, checked every millisecond: a pipe or Win SHM
/// session has no hang-up event to wait on with `stop`).
#[cfg(windows)]
fn wait_hangup(s: &mut ServerSession, stop: &AbortHandle) {
    while !s.peer_gone() && !stop.is_triggered() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn grow_response(cfg: &mut ServerConfig, agreed: u32) {
    let grown = grow_pow2(u64::from(agreed) * 2, agreed, MAX_PAYLOAD_CAP);
    cfg.max_response_payload_bytes = cfg.max_response_payload_bytes.max(grown);
}

/// Answers the HELLO on `pending` with an OK HELLO_ACK selecting
/// SHM_HYBRID, after putting a directory where the region file should be.
#[cfg(unix)]
fn raw_shm_ack(
    pending: netipc::transport::PendingConnection,
    endpoint: &Endpoint,
    cfg: &ServerConfig,
) {
    use netipc::protocol::STATUS_OK;
    use netipc::protocol::{CODE_HELLO_ACK, HEADER_LEN, PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use netipc::wire::{Hello, HelloAck};
    use rustix::net::{RecvFlags, SendFlags};
    use std::os::fd::AsFd;
    let fd = pending.as_fd();
    let mut buf = [0u8; 256];
    let Ok((n, _)) = rustix::net::recv(fd, &mut buf[..], RecvFlags::empty()) else {
        return;
    };
    if n < HEADER_LEN {
        return;
    }
    let Ok(hello) = Hello::decode(&buf[HEADER_LEN..n]) else {
        return;
    };
    let session_id = pending.session_id();
    let region = endpoint.shm_path(session_id);
    let _ = std::fs::create_dir(&region);
    let supported = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let ack = HelloAck {
        server_supported_profiles: supported,
        intersection_profiles: hello.supported_profiles & supported,
        selected_profile: PROFILE_SHM_HYBRID,
        agreed_max_request_payload_bytes: hello.max_request_payload_bytes,
        agreed_max_request_batch_items: hello.max_request_batch_items,
        agreed_max_response_payload_bytes: cfg.max_response_payload_bytes,
        agreed_max_response_batch_items: hello.max_request_batch_items,
        agreed_packet_size: hello.packet_size.min(65536),
        session_id,
    };
    let payload = ack.encode();
    let mut msg = Header::control(CODE_HELLO_ACK, STATUS_OK, payload.len() as u32)
        .encode()
        .to_vec();
    msg.extend_from_slice(&payload);
    let _ = rustix::net::send(fd, &msg, SendFlags::NOSIGNAL);
    // Wait for the client to give up on this connection.
    let _ = rustix::net::recv(fd, &mut buf[..], RecvFlags::empty());
    let _ = std::fs::remove_dir(&region);
}

// ---------------------------------------------------------------------------
// Response payloads
// ---------------------------------------------------------------------------

/// A CGROUPS_SNAPSHOT payload of `items` items `cgroup-{i:04}` (hashed
/// with `simple_hash`, enabled) with `generation`.
pub fn snapshot_payload(items: usize, generation: u64) -> Vec<u8> {
    let mut b = CgroupsSnapshotBuilder::new(Vec::new());
    b.reset(1, generation);
    for i in 0..items {
        let name = format!("cgroup-{i:04}");
        let path = format!("/sys/fs/cgroup/machine.slice/cgroup-{i:04}.scope");
        b.add_item(
            simple_hash(name.as_bytes()),
            0,
            1,
            name.as_bytes(),
            path.as_bytes(),
        )
        .unwrap();
    }
    b.finish().to_vec()
}

// ---------------------------------------------------------------------------
// Lookup response helpers
// ---------------------------------------------------------------------------

/// What the fake apps provider knows about a PID.
pub struct AppsInfo {
    /// Labels of the item.
    pub labels: Vec<(String, String)>,
    /// Whether the PID is known.
    pub known: bool,
}

/// Builds an APPS_LOOKUP response for `payload` with the codec builder at
/// `budget` / `max_budget`. `info` describes each PID. `None` means the
/// all-minimal response does not fit (answer LIMIT_EXCEEDED).
pub fn apps_response(
    payload: &[u8],
    generation: u64,
    budget: usize,
    max_budget: usize,
    info: impl Fn(u32) -> AppsInfo,
) -> Option<Vec<u8>> {
    let req = AppsLookupRequestView::decode(payload).unwrap();
    let mut b = AppsLookupBuilder::with_budget(budget, max_budget);
    b.reset(generation, &req);
    for i in 0..req.len() {
        let pid = req.pid(i);
        let inf = info(pid);
        if !inf.known {
            b.add_request_unknown(&req, i).unwrap();
            continue;
        }
        let comm = format!("p{}", pid % 100_000);
        let path = format!("/sys/fs/cgroup/app-{pid}.scope");
        let name = format!("app-{pid}");
        let entry = AppsLookupEntry {
            status: PidStatus::Known,
            cgroup_status: CgroupStatus::Known,
            orchestrator: 2,
            ppid: 1,
            uid: 1000,
            starttime: u64::from(pid) * 3,
            comm: comm.as_bytes(),
            cgroup_path: path.as_bytes(),
            cgroup_name: name.as_bytes(),
        };
        let labels: Vec<(&str, &str)> = inf
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        b.add_request_item(&req, i, &entry, &labels).unwrap();
    }
    b.finish().ok().map(|p| p.to_vec())
}

/// Builds a CGROUPS_LOOKUP response for `payload`: every path KNOWN with
/// name `n:{path}` and the labels `labels(path)`.
pub fn cgroups_response(
    payload: &[u8],
    generation: u64,
    budget: usize,
    max_budget: usize,
    labels: impl Fn(&[u8]) -> Vec<(String, String)>,
) -> Option<Vec<u8>> {
    let req = CgroupsLookupRequestView::decode(payload).unwrap();
    let mut b = CgroupsLookupBuilder::with_budget(budget, max_budget);
    b.reset(generation, &req);
    for i in 0..req.len() {
        let path = req.key(i);
        let mut name = b"n:".to_vec();
        name.extend_from_slice(&path[path.len().saturating_sub(20)..]);
        let l = labels(path);
        let lr: Vec<(&str, &str)> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        b.add_request_item(&req, i, LookupStatus::Known, 3, &name, &lr)
            .unwrap();
    }
    b.finish().ok().map(|p| p.to_vec())
}

/// The usual labels of an enriched item.
pub fn small_labels() -> Vec<(String, String)> {
    vec![("k".into(), "v".into()), ("team".into(), "net".into())]
}
