//! Raw SEQPACKET peers: connections, listeners and datagrams the Level 1
//! API would refuse to send, and a raw client of a managed server.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use netipc::protocol::{CODE_HELLO, HEADER_LEN, PROFILE_BASELINE, STATUS_OK};
use netipc::transport::Endpoint;
use netipc::wire::{Header, Hello, HelloAck};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

use super::{PATIENCE, TOKEN};

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

/// Receives one datagram within [`PATIENCE`]; `None` on EOF or error.
pub fn raw_recv(fd: &impl AsFd) -> Option<Vec<u8>> {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let t = rustix::time::Timespec::try_from(PATIENCE).unwrap();
    let n = poll(&mut fds, Some(&t)).ok()?;
    assert!(n > 0, "raw recv timed out");
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
    let payload = h.encode();
    let mut v = Header::control(CODE_HELLO, STATUS_OK, payload.len() as u32)
        .encode()
        .to_vec();
    v.extend_from_slice(&payload);
    v
}

/// A baseline HELLO with the test token and these request limits (and
/// the same batch limit for responses, 64 KiB responses and packets).
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

/// The HELLO of the captured conformance client, right token.
pub fn base_hello() -> Hello {
    hello(4096, 1)
}

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
        RawClient {
            fd: raw_connect(&endpoint.socket_path()),
        }
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
        assert!(self.send(&hello_msg(hello)));
        let ack = self.recv().expect("HELLO_ACK");
        let header = Header::decode(&ack).unwrap();
        let body = HelloAck::decode(&ack[HEADER_LEN..]).unwrap_or_default();
        (header, body)
    }

    /// Sends one datagram; false if the peer is gone.
    pub fn send(&self, b: &[u8]) -> bool {
        raw_send(&self.fd, b)
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
        raw_recv(&self.fd)
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
