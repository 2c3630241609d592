//! Established sessions: [`ClientSession`] and [`ServerSession`], and the
//! received [`Message`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::error::Result;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::pipeline::InFlight;
use crate::transport::session_core::{client_methods, negotiated_accessors, server_methods};
use crate::wire::HelloAck;

pub use crate::transport::message::Message;

use super::config::ClientConfig;
use super::framing::{Channel, UdsLink};
use super::handshake::client_handshake;
use super::shutdown::SessionShutdown;

/// The client side of an established session.
///
/// Requests may be pipelined: send several, then receive their responses
/// in any order; correlation is by message id, tracked in a fixed-capacity
/// set ([`ClientConfig::max_in_flight`]) so that the hot path never
/// allocates. On SHM sessions only one request may be in flight.
///
/// Any transport failure or protocol violation ends the session: the
/// error is returned once, later calls fail with [`crate::Error::InvalidState`],
/// and [`ClientSession::failed_message_ids`] lists every request that was
/// in flight and will never be answered.
///
/// The fd (via [`AsFd`]) is readable when a response is waiting on a UDS
/// session. On an SHM session data arrives through the shared region
/// (futex), and the fd then only signals hang-up of the peer.
pub struct ClientSession {
    chan: Channel,
    ack: HelloAck,
    endpoint: Endpoint,
    in_flight: InFlight,
    next_id: u64,
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("endpoint", &self.endpoint)
            .field("ack", &self.ack)
            .field("chan", &self.chan)
            .field("in_flight", &self.in_flight.as_slice())
            .finish()
    }
}

impl ClientSession {
    /// Connects to `endpoint` and performs the handshake.
    ///
    /// Errors: [`crate::Error::NotFound`] when nobody listens;
    /// [`crate::Error::AuthFailed`], [`crate::Error::Unsupported`],
    /// [`crate::Error::Incompatible`], [`crate::Error::LimitExceeded`] (request payload
    /// proposal over the server budget, or a granted response budget over
    /// [`ClientConfig::response_payload_cap`]) and [`crate::Error::Status`] for
    /// rejections; [`crate::Error::Protocol`] / [`crate::Error::Decode`] for a malformed
    /// HELLO_ACK; [`crate::Error::ShmAttach`] when SHM was selected but could not
    /// be attached — reconnect without SHM (there is no same-session
    /// fallback); [`crate::Error::Timeout`] / [`crate::Error::Aborted`].
    pub fn connect(
        endpoint: &Endpoint,
        cfg: &ClientConfig,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<ClientSession> {
        let parts = client_handshake(endpoint, cfg, deadline, abort)?;
        let ack = parts.ack;
        let chan = Channel::client(UdsLink::new(parts.fd), &ack, parts.shm);
        Ok(ClientSession {
            chan,
            ack,
            endpoint: endpoint.clone(),
            in_flight: InFlight::new(cfg.max_in_flight),
            next_id: 1,
        })
    }

    negotiated_accessors!();
    client_methods!();

    /// The endpoint connected to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Message ids sent and not yet answered.
    pub fn in_flight(&self) -> &[u64] {
        if self.chan.is_broken() {
            &[]
        } else {
            self.in_flight.as_slice()
        }
    }

    /// After the session failed: the ids that were in flight and will
    /// never be answered. Empty while the session is healthy.
    pub fn failed_message_ids(&self) -> &[u64] {
        if self.chan.is_broken() {
            self.in_flight.as_slice()
        } else {
            &[]
        }
    }
}

/// One zero-timeout `poll` of a session socket: hang-up, error or any
/// waiting data.
fn poll_gone(fd: BorrowedFd<'_>) -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut fds = [PollFd::from_borrowed_fd(
        fd,
        PollFlags::IN | PollFlags::RDHUP,
    )];
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, Some(&zero)) {
        Ok(0) | Err(rustix::io::Errno::INTR) => false,
        Ok(_) | Err(_) => true,
    }
}

impl ClientSession {
    /// Liveness probe of an idle session (one zero-timeout `poll`): true
    /// when the peer hung up, the socket failed, or unsolicited data is
    /// waiting (no response is expected, so the session is unusable).
    pub fn peer_gone(&self) -> bool {
        poll_gone(self.chan.fd())
    }
}

impl AsFd for ClientSession {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.chan.fd()
    }
}

impl AsRawFd for ClientSession {
    fn as_raw_fd(&self) -> RawFd {
        self.chan.fd().as_raw_fd()
    }
}

/// The server side of an established session.
///
/// Requests are received in order; responses may be sent in any order
/// (the client correlates by message id). Violations and transport
/// failures end the session (later calls fail with
/// [`crate::Error::InvalidState`]); other sessions and the listener are
/// unaffected.
///
/// The fd (via [`AsFd`]) is readable when a request is waiting on a UDS
/// session. On an SHM session data arrives through the shared region
/// (futex), and the fd then only signals hang-up of the peer.
pub struct ServerSession {
    chan: Channel,
    ack: HelloAck,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("ack", &self.ack)
            .field("chan", &self.chan)
            .finish()
    }
}

impl ServerSession {
    pub(crate) fn new(chan: Channel, ack: HelloAck) -> Self {
        ServerSession { chan, ack }
    }

    negotiated_accessors!();
    server_methods!();

    /// Liveness probe (one zero-timeout `poll`): true when the client hung
    /// up or the socket failed, and also when a request is waiting on the
    /// socket (on an SHM session the socket carries no requests).
    pub fn peer_gone(&self) -> bool {
        poll_gone(self.chan.fd())
    }

    /// A handle that stops or ends this session from another thread (it
    /// holds a duplicate of the socket).
    pub fn shutdown_handle(&self) -> Result<SessionShutdown> {
        SessionShutdown::new(self)
    }

    /// The SHM region file of an SHM session.
    pub(super) fn shm_path(&self) -> Option<&std::path::Path> {
        self.chan.shm_path()
    }
}

impl AsFd for ServerSession {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.chan.fd()
    }
}

impl AsRawFd for ServerSession {
    fn as_raw_fd(&self) -> RawFd {
        self.chan.fd().as_raw_fd()
    }
}
