//! Established sessions: [`ClientSession`] and [`ServerSession`], and the
//! received [`Message`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use crate::error::{Error, Result, Violation};
use crate::protocol::{KIND_REQUEST, KIND_RESPONSE};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::wire::{Header, HelloAck, Limits};

pub use crate::transport::message::Message;

use super::config::ClientConfig;
use super::framing::Channel;
use super::handshake::client_handshake;
use super::shutdown::SessionShutdown;
use crate::transport::envelope::out_u32;
use crate::transport::pipeline::InFlight;

/// Shared negotiated-value accessors.
macro_rules! negotiated_accessors {
    () => {
        /// The HELLO_ACK that established the session (final values).
        pub fn hello_ack(&self) -> &HelloAck {
            &self.ack
        }

        /// The server-assigned session id.
        pub fn session_id(&self) -> u64 {
            self.ack.session_id
        }

        /// The selected transport profile (one `PROFILE_*` bit).
        pub fn selected_profile(&self) -> u32 {
            self.ack.selected_profile
        }

        /// Whether the data plane runs over shared memory.
        pub fn is_shm(&self) -> bool {
            self.chan.is_shm()
        }

        /// The agreed packet size.
        pub fn packet_size(&self) -> u32 {
            self.ack.agreed_packet_size
        }

        /// Agreed request limits (payload bytes, batch items).
        pub fn request_limits(&self) -> Limits {
            Limits {
                max_payload: self.ack.agreed_max_request_payload_bytes,
                max_items: self.ack.agreed_max_request_batch_items,
            }
        }

        /// Agreed response limits (payload bytes, batch items).
        pub fn response_limits(&self) -> Limits {
            Limits {
                max_payload: self.ack.agreed_max_response_payload_bytes,
                max_items: self.ack.agreed_max_response_batch_items,
            }
        }

        /// Whether a failure ended the session (every later operation
        /// fails with [`Error::InvalidState`]).
        pub fn is_broken(&self) -> bool {
            self.chan.is_broken()
        }

        /// Bounds each outgoing message by `timeout` (one deadline for all
        /// of its chunks); `None` (the default) blocks. A timeout before
        /// the first packet leaves the session usable; after it, the
        /// session ends.
        pub fn set_send_timeout(&mut self, timeout: Option<Duration>) {
            self.chan.set_send_timeout(timeout);
        }
    };
}

/// The client side of an established session.
///
/// Requests may be pipelined: send several, then receive their responses
/// in any order; correlation is by message id, tracked in a fixed-capacity
/// set ([`ClientConfig::max_in_flight`]) so that the hot path never
/// allocates. On SHM sessions only one request may be in flight.
///
/// Any transport failure or protocol violation ends the session: the
/// error is returned once, later calls fail with [`Error::InvalidState`],
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
    /// Errors: [`Error::NotFound`] when nobody listens;
    /// [`Error::AuthFailed`], [`Error::Unsupported`],
    /// [`Error::Incompatible`], [`Error::LimitExceeded`] (request payload
    /// proposal over the server budget, or a granted response budget over
    /// [`ClientConfig::response_payload_cap`]) and [`Error::Status`] for
    /// rejections; [`Error::Protocol`] / [`Error::Decode`] for a malformed
    /// HELLO_ACK; [`Error::ShmAttach`] when SHM was selected but could not
    /// be attached — reconnect without SHM (there is no same-session
    /// fallback); [`Error::Timeout`] / [`Error::Aborted`].
    pub fn connect(
        endpoint: &Endpoint,
        cfg: &ClientConfig,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<ClientSession> {
        let parts = client_handshake(endpoint, cfg, deadline, abort)?;
        let ack = parts.ack;
        let chan = Channel::new(
            parts.fd,
            ack.agreed_packet_size,
            KIND_REQUEST,
            Limits {
                max_payload: ack.agreed_max_request_payload_bytes,
                max_items: ack.agreed_max_request_batch_items,
            },
            KIND_RESPONSE,
            Limits {
                max_payload: ack.agreed_max_response_payload_bytes,
                max_items: ack.agreed_max_response_batch_items,
            },
            parts.shm,
        );
        Ok(ClientSession {
            chan,
            ack,
            endpoint: endpoint.clone(),
            in_flight: InFlight::new(cfg.max_in_flight),
            next_id: 1,
        })
    }

    negotiated_accessors!();

    /// The endpoint connected to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A fresh message id: increasing from 1, skipping ids in flight.
    pub fn next_message_id(&mut self) -> u64 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if !self.in_flight.contains(id) {
                return id;
            }
        }
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

    fn admit(&self, message_id: u64) -> Result<()> {
        if self.chan.is_broken() {
            return Err(Error::InvalidState(
                "session ended by an earlier failure; reconnect",
            ));
        }
        if self.chan.is_shm() && self.in_flight.len() > 0 {
            return Err(Violation::ShmBusy.into());
        }
        self.in_flight.check_insert(message_id)
    }

    /// Records `message_id` as in flight after a send. A send that ended
    /// the session also lists its id among the failed ones.
    fn track(&mut self, message_id: u64, sent: Result<()>) -> Result<()> {
        match sent {
            Ok(()) => self.in_flight.insert(message_id),
            Err(e) => {
                if self.chan.is_broken() {
                    let _ = self.in_flight.insert(message_id);
                }
                Err(e)
            }
        }
    }

    /// Sends a single request. Fails with
    /// [`crate::Violation::DuplicateMessageId`] if `message_id` is in
    /// flight, and [`Error::LimitExceeded`] if the payload exceeds the
    /// agreed request budget (nothing is sent in either case).
    pub fn send_request(&mut self, code: u16, message_id: u64, payload: &[u8]) -> Result<()> {
        let header = Header::request(
            code,
            message_id,
            out_u32(payload.len(), "payload longer than 4 GiB")?,
        );
        self.send_message(&header, payload)
    }

    /// Sends a batch request of `items` (one message id, items answered by
    /// position). A single item is sent as a plain request.
    pub fn send_batch_request(
        &mut self,
        code: u16,
        message_id: u64,
        items: &[&[u8]],
    ) -> Result<()> {
        self.admit(message_id)?;
        let r = self
            .chan
            .send_batch(Header::request(code, message_id, 0), items);
        self.track(message_id, r)
    }

    /// Sends a request with a caller-built header (kind REQUEST; for batch
    /// payloads built elsewhere with [`crate::wire::BatchBuilder`]).
    pub fn send_message(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.admit(header.message_id)?;
        let r = self.chan.send(header, payload);
        self.track(header.message_id, r)
    }

    /// Receives the next response (any in-flight id, in any order).
    ///
    /// `Deadline::NEVER` without an abort handle is a plain blocking
    /// receive; otherwise the same deadline covers every chunk of the
    /// message and the abort handle is polled alongside the socket
    /// ([`Error::Timeout`] / [`Error::Aborted`]). A response whose id is
    /// not in flight is [`crate::Violation::UnknownMessageId`].
    pub fn recv_response(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Message<'_>> {
        let (header, range) = self.chan.recv(deadline, abort)?;
        if !self.in_flight.remove(header.message_id) {
            self.chan.set_broken();
            return Err(Violation::UnknownMessageId.into());
        }
        Message::new(header, self.chan.payload(range)).inspect_err(|_| self.chan.set_broken())
    }

    /// Sends one request with a fresh message id and waits for its
    /// response. Requires that nothing else is in flight.
    pub fn call(
        &mut self,
        code: u16,
        payload: &[u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Message<'_>> {
        if !self.in_flight().is_empty() {
            return Err(Error::InvalidState("call() with requests in flight"));
        }
        let id = self.next_message_id();
        self.send_request(code, id, payload)?;
        self.recv_response(deadline, abort)
    }

    /// [`ClientSession::call`] for a batch of items.
    pub fn call_batch(
        &mut self,
        code: u16,
        items: &[&[u8]],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Message<'_>> {
        if !self.in_flight().is_empty() {
            return Err(Error::InvalidState("call() with requests in flight"));
        }
        let id = self.next_message_id();
        self.send_batch_request(code, id, items)?;
        self.recv_response(deadline, abort)
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
/// [`Error::InvalidState`]); other sessions and the listener are
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

    /// Receives the next request (blocking with `Deadline::NEVER` and no
    /// abort handle; see [`ClientSession::recv_response`] for the timed
    /// form). Over-limit requests fail with [`Error::LimitExceeded`]
    /// before anything is allocated for them.
    pub fn recv_request(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Message<'_>> {
        let (header, range) = self.chan.recv(deadline, abort)?;
        Message::new(header, self.chan.payload(range)).inspect_err(|_| self.chan.set_broken())
    }

    /// Sends a single OK response (`flags = 0`, `item_count = 1`).
    pub fn send_response(&mut self, code: u16, message_id: u64, payload: &[u8]) -> Result<()> {
        let header = Header::response(
            code,
            message_id,
            out_u32(payload.len(), "payload longer than 4 GiB")?,
        );
        self.chan.send(&header, payload)
    }

    /// Sends a batch response of `items` (answering a batch request by
    /// position). A single item is sent as a plain response.
    pub fn send_batch_response(
        &mut self,
        code: u16,
        message_id: u64,
        items: &[&[u8]],
    ) -> Result<()> {
        self.chan
            .send_batch(Header::response(code, message_id, 0), items)
    }

    /// Sends an error reply: `status`, empty payload, `flags = 0`,
    /// `item_count = 1`, the request's code and message id.
    pub fn send_error(&mut self, code: u16, message_id: u64, status: u16) -> Result<()> {
        self.chan
            .send(&Header::error_response(code, message_id, status), &[])
    }

    /// Sends a response with a caller-built header (kind RESPONSE).
    pub fn send_message(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.chan.send(header, payload)
    }

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

    /// The header of the last request received, including one that was
    /// then rejected (over a limit, bad batch directory, corrupt chunks).
    pub fn last_request_header(&self) -> Option<Header> {
        self.chan.last_header()
    }

    /// After [`ServerSession::recv_request`] failed on a request whose
    /// header decoded (typically [`Error::LimitExceeded`]): sends the final
    /// error reply `status` with that request's code and message id, so
    /// the client learns why before the session is closed. Valid only
    /// once the session has failed; drop the session afterwards.
    pub fn send_final_error(&mut self, status: u16) -> Result<()> {
        if !self.chan.is_broken() {
            return Err(Error::InvalidState("the session has not failed"));
        }
        let Some(h) = self.chan.last_header().filter(|h| h.kind == KIND_REQUEST) else {
            return Err(Error::InvalidState("no request header to answer"));
        };
        self.chan
            .send_final(&Header::error_response(h.code, h.message_id, status))
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
