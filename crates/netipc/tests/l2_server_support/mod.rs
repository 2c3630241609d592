//! Harness of the managed-server tests: unique run directories, Level 1
//! clients over UDS or SHM, a raw SEQPACKET client for envelopes the Level
//! 1 client refuses to send, and bounded waits.

#![allow(dead_code)]

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netipc::Error;
use netipc::protocol::{CODE_HELLO, HEADER_LEN, PROFILE_BASELINE, PROFILE_SHM_HYBRID, STATUS_OK};
use netipc::service::server::{Server, ServerConfig};
use netipc::transport::uds::{ClientConfig, ClientSession};
use netipc::transport::{Deadline, Endpoint};
use netipc::wire::{Header, Hello, HelloAck};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

/// The benchmark auth token.
pub const TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;

/// A generous deadline for a loaded 2-core box.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A deadline [`PATIENCE`] from now.
pub fn soon() -> Deadline {
    Deadline::after(PATIENCE)
}

/// A unique run directory under the system temp dir, removed on drop.
pub struct TestDir {
    path: PathBuf,
}

static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDir {
    /// Creates `{tmp}/nipc-l2s-{pid}-{counter}-{nanos}`.
    pub fn new() -> Self {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("nipc-l2s-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Names of the entries in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Names of the SHM region files in the directory.
    pub fn shm_files(&self) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|n| n.ends_with(".ipcshm"))
            .collect()
    }

    /// A server configuration for `service` here, with the test token.
    pub fn config(&self, service: &str) -> ServerConfig {
        ServerConfig {
            auth_token: TOKEN,
            ..ServerConfig::new(&self.path, service)
        }
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The data plane a test client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDS baseline only.
    Uds,
    /// Baseline and SHM_HYBRID, preferring SHM.
    Shm,
}

/// Both transports, for tests that run over each.
pub const TRANSPORTS: [Transport; 2] = [Transport::Uds, Transport::Shm];

impl Transport {
    /// Supported and preferred profiles.
    pub fn profiles(self) -> (u32, u32) {
        match self {
            Transport::Uds => (PROFILE_BASELINE, PROFILE_BASELINE),
            Transport::Shm => (PROFILE_BASELINE | PROFILE_SHM_HYBRID, PROFILE_SHM_HYBRID),
        }
    }
}

/// A Level 1 client configuration over `t`: request budget 1024, batch
/// items 1, response cap 1 MiB.
pub fn client_config(t: Transport) -> ClientConfig {
    let (supported, preferred) = t.profiles();
    ClientConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// [`client_config`] with `items` batch items both ways.
pub fn batch_config(t: Transport, items: u32) -> ClientConfig {
    ClientConfig {
        max_request_batch_items: items,
        max_response_batch_items: items,
        ..client_config(t)
    }
}

/// Connects with `cfg` and checks the data plane matches `t`.
pub fn connect_with(server: &Server, t: Transport, cfg: &ClientConfig) -> ClientSession {
    let c = ClientSession::connect(server.endpoint(), cfg, soon(), None)
        .unwrap_or_else(|e| panic!("connect over {t:?}: {e}"));
    assert_eq!(c.is_shm(), t == Transport::Shm, "data plane of {t:?}");
    c
}

/// Connects with [`client_config`].
pub fn connect(server: &Server, t: Transport) -> ClientSession {
    connect_with(server, t, &client_config(t))
}

/// A received response, copied out of the session.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its header.
    pub header: Header,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Its items (one for a single response).
    pub items: Vec<Vec<u8>>,
}

impl Answer {
    /// The transport status.
    pub fn status(&self) -> u16 {
        self.header.transport_status
    }

    /// Asserts an error reply: `status`, empty payload, flags 0, one item.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.header.transport_status, status, "{:?}", self.header);
        assert_eq!(self.header.payload_len, 0);
        assert!(self.payload.is_empty());
        assert_eq!(self.header.flags, 0);
        assert_eq!(self.header.item_count, 1);
    }
}

fn answer(m: netipc::transport::Message<'_>) -> Answer {
    Answer {
        header: m.header,
        payload: m.payload.to_vec(),
        items: m.items().map(<[u8]>::to_vec).collect(),
    }
}

/// One single call; panics on transport failure.
pub fn call(c: &mut ClientSession, code: u16, payload: &[u8]) -> Answer {
    let m = c
        .call(code, payload, soon(), None)
        .unwrap_or_else(|e| panic!("call: {e}"));
    answer(m)
}

/// One batch call; panics on transport failure.
pub fn call_batch(c: &mut ClientSession, code: u16, items: &[&[u8]]) -> Answer {
    let m = c
        .call_batch(code, items, soon(), None)
        .unwrap_or_else(|e| panic!("batch call: {e}"));
    answer(m)
}

/// One call with a caller-built header (a fresh message id is set).
pub fn call_raw_header(c: &mut ClientSession, mut header: Header, payload: &[u8]) -> Answer {
    header.message_id = c.next_message_id();
    c.send_message(&header, payload).expect("send");
    let m = c.recv_response(soon(), None).expect("recv");
    assert_eq!(m.header.message_id, header.message_id);
    answer(m)
}

/// Asserts that the server closed the session: the next call fails.
pub fn assert_closed(c: &mut ClientSession, code: u16, payload: &[u8]) {
    match c.call(code, payload, soon(), None) {
        Err(Error::PeerClosed | Error::Io(_) | Error::InvalidState(_)) => {}
        Err(e) => panic!("unexpected error after close: {e}"),
        Ok(m) => panic!("session still open: {:?}", m.header),
    }
}

/// Waits (up to [`PATIENCE`]) until `cond` holds, yielding in between.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ----- raw SEQPACKET client ---------------------------------------------

/// Waits (up to [`PATIENCE`]) until one of two raw clients is readable;
/// returns its index.
pub fn first_readable(a: &RawClient, b: &RawClient) -> usize {
    let mut fds = [
        PollFd::new(&a.fd, PollFlags::IN),
        PollFd::new(&b.fd, PollFlags::IN),
    ];
    let t = rustix::time::Timespec::try_from(PATIENCE).unwrap();
    let n = poll(&mut fds, Some(&t)).unwrap();
    assert!(n > 0, "neither client was answered");
    if fds[0].revents().is_empty() { 1 } else { 0 }
}

/// A raw SEQPACKET connection to an endpoint.
pub struct RawClient {
    /// The socket.
    pub fd: OwnedFd,
}

impl RawClient {
    /// Connects without sending anything.
    pub fn connect(endpoint: &Endpoint) -> RawClient {
        let fd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let addr = SocketAddrUnix::new(endpoint.socket_path()).unwrap();
        rustix::net::connect(&fd, &addr).unwrap();
        RawClient { fd }
    }

    /// Connects and handshakes over the baseline with `hello` (token,
    /// budgets as given); returns the client and the HELLO_ACK header and
    /// payload.
    pub fn handshake(endpoint: &Endpoint, hello: &Hello) -> (RawClient, Header, HelloAck) {
        let c = RawClient::connect(endpoint);
        let (header, body) = c.send_hello(hello);
        (c, header, body)
    }

    /// Sends `hello` on a connected client and reads the HELLO_ACK.
    pub fn send_hello(&self, hello: &Hello) -> (Header, HelloAck) {
        let c = self;
        let payload = hello.encode();
        let mut msg = Header::control(CODE_HELLO, STATUS_OK, payload.len() as u32)
            .encode()
            .to_vec();
        msg.extend_from_slice(&payload);
        assert!(c.send(&msg));
        let ack = c.recv().expect("HELLO_ACK");
        let header = Header::decode(&ack).unwrap();
        let body = HelloAck::decode(&ack[HEADER_LEN..]).unwrap_or_default();
        (header, body)
    }

    /// A baseline HELLO with the test token and these request limits.
    pub fn hello(max_request_payload: u32, batch_items: u32) -> Hello {
        Hello {
            supported_profiles: PROFILE_BASELINE,
            preferred_profiles: PROFILE_BASELINE,
            max_request_payload_bytes: max_request_payload,
            max_request_batch_items: batch_items,
            max_response_payload_bytes: 65536,
            max_response_batch_items: batch_items,
            auth_token: TOKEN,
            packet_size: 65536,
        }
    }

    /// Sends one datagram; false if the peer is gone.
    pub fn send(&self, b: &[u8]) -> bool {
        rustix::net::send(&self.fd, b, SendFlags::NOSIGNAL).is_ok()
    }

    /// Sends a message: `header` (payload_len set here) and `payload`.
    pub fn send_message(&self, mut header: Header, payload: &[u8]) -> bool {
        header.payload_len = payload.len() as u32;
        let mut msg = header.encode().to_vec();
        msg.extend_from_slice(payload);
        self.send(&msg)
    }

    /// Receives one datagram within [`PATIENCE`]; `None` on EOF or error.
    pub fn recv(&self) -> Option<Vec<u8>> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let t = rustix::time::Timespec {
            tv_sec: PATIENCE.as_secs() as i64,
            tv_nsec: 0,
        };
        let n = poll(&mut fds, Some(&t)).ok()?;
        assert!(n > 0, "raw recv timed out");
        let mut buf = vec![0u8; 1 << 17];
        match rustix::net::recv(&self.fd, &mut buf[..], RecvFlags::empty()) {
            Ok((0, _)) | Err(_) => None,
            Ok((n, _)) => {
                buf.truncate(n);
                Some(buf)
            }
        }
    }

    /// Whether a datagram (or EOF) arrives within `wait`.
    pub fn readable_within(&self, wait: Duration) -> bool {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let t = rustix::time::Timespec::try_from(wait).unwrap();
        poll(&mut fds, Some(&t)).unwrap() > 0
    }

    /// Receives one message header (the payload is ignored).
    pub fn recv_header(&self) -> Option<Header> {
        self.recv().map(|b| Header::decode(&b).unwrap())
    }
}
