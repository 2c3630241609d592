//! Established Named Pipe sessions: [`ClientSession`] and
//! [`ServerSession`], and the client side of the handshake (including the
//! Win SHM attach when an SHM profile is selected).

use std::os::windows::io::{AsRawHandle, RawHandle};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE, GetLastError,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING};
use windows_sys::Win32::System::Pipes::{
    PIPE_READMODE_MESSAGE, SetNamedPipeHandleState, WaitNamedPipeW,
};

use crate::error::{Error, Result, Violation};
use crate::protocol::{KIND_REQUEST, KIND_RESPONSE};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::handshake::{HELLO_ACK_MSG_LEN, check_ack_bytes, encode_hello};
use crate::transport::message::Message;
use crate::transport::pipeline::InFlight;
use crate::wire::{Header, HelloAck, Limits};

use super::channel::Channel;
use super::config::{ClientConfig, SHM_PROFILES};
use super::pipe::{OwnedHandle, Pipe, last_error, win_error};
use super::shm::WinShmRegion;
use super::shutdown::SessionShutdown;

/// A NUL-terminated UTF-16 copy of `s`.
pub(crate) fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// How long one `WaitNamedPipeW` may block before the deadline and the
/// abort are checked again.
const BUSY_SLICE_MS: u32 = 50;

/// Opens the client end of the endpoint's pipe in message read mode.
///
/// No pipe means nobody serves the endpoint: [`Error::NotFound`]. All
/// instances busy is retried until the deadline.
pub(super) fn open_pipe(
    endpoint: &Endpoint,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<Pipe> {
    let name = wide(&endpoint.pipe_name());
    let handle = loop {
        if let Some(a) = abort {
            a.check()?;
        }
        // SAFETY: `name` is NUL-terminated; no security attributes or
        // template.
        let h = unsafe {
            CreateFileW(
                name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED,
                std::ptr::null_mut(),
            )
        };
        if h != INVALID_HANDLE_VALUE {
            break OwnedHandle(h);
        }
        // SAFETY: no preconditions.
        match unsafe { GetLastError() } {
            ERROR_FILE_NOT_FOUND => return Err(Error::NotFound),
            ERROR_PIPE_BUSY => {
                let ms = match deadline.remaining()? {
                    None => BUSY_SLICE_MS,
                    Some(d) => (d.as_millis().min(u128::from(BUSY_SLICE_MS)) as u32).max(1),
                };
                // SAFETY: `name` is NUL-terminated. Failure (timeout, or
                // the pipe vanished) is sorted out by the next attempt.
                unsafe { WaitNamedPipeW(name.as_ptr(), ms) };
            }
            e => return Err(win_error(e)),
        }
    };
    let mode = PIPE_READMODE_MESSAGE;
    // SAFETY: live pipe handle; only the read mode is changed.
    if unsafe { SetNamedPipeHandleState(handle.0, &mode, std::ptr::null(), std::ptr::null()) } == 0
    {
        return Err(last_error());
    }
    Pipe::new(handle)
}

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

        /// Whether the data plane runs over Win SHM.
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
        /// session ends. Sends on a Win SHM session never block.
        pub fn set_send_timeout(&mut self, timeout: Option<Duration>) {
            self.chan.set_send_timeout(timeout);
        }
    };
}

fn ack_limits(ack: &HelloAck) -> (Limits, Limits) {
    (
        Limits {
            max_payload: ack.agreed_max_request_payload_bytes,
            max_items: ack.agreed_max_request_batch_items,
        },
        Limits {
            max_payload: ack.agreed_max_response_payload_bytes,
            max_items: ack.agreed_max_response_batch_items,
        },
    )
}

fn payload_u32(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::InvalidArgument("payload longer than 4 GiB"))
}

/// How often a client retries opening an SHM region that is not there yet.
const SHM_ATTACH_RETRY: Duration = Duration::from_millis(5);

/// Opens the session's SHM region, retrying "not ready" every 5 ms up to
/// `cfg.shm_attach_timeout` (or the caller's earlier deadline). Any failure
/// is [`Error::ShmAttach`]: the caller closes this session and reconnects
/// without SHM (there is no same-session fallback).
fn attach_shm(
    endpoint: &Endpoint,
    ack: &HelloAck,
    cfg: &ClientConfig,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<WinShmRegion> {
    let bound = Instant::now().checked_add(cfg.shm_attach_timeout);
    let limit = match (deadline.instant(), bound) {
        (Some(d), Some(b)) if d < b => deadline,
        _ => Deadline::after(cfg.shm_attach_timeout),
    };
    loop {
        match WinShmRegion::attach(
            endpoint,
            cfg.auth_token,
            ack.selected_profile,
            ack.session_id,
            ack.agreed_max_request_payload_bytes,
            ack.agreed_max_response_payload_bytes,
        ) {
            Ok(region) => return Ok(region),
            Err(Error::ShmNotReady) => {}
            Err(e @ Error::ShmAttach(_)) => return Err(e),
            Err(_) => return Err(Error::ShmAttach("attaching the SHM region failed")),
        }
        if let Some(a) = abort {
            a.check()?;
        }
        let step = match limit.remaining() {
            Ok(left) => left.map_or(SHM_ATTACH_RETRY, |l| l.min(SHM_ATTACH_RETRY)),
            Err(_) => return Err(Error::ShmAttach("SHM region not ready in time")),
        };
        std::thread::sleep(step);
    }
}

/// The client side of an established Named Pipe session.
///
/// Requests may be pipelined: send several, then receive their responses
/// in any order; correlation is by message id. On a Win SHM session only
/// one request may be in flight ([`crate::Violation::ShmBusy`]); batches
/// are the way to move many items per round trip. Any transport failure or
/// protocol violation ends the session: the error is returned once and
/// later calls fail with [`Error::InvalidState`].
///
/// The raw pipe handle (via [`AsRawHandle`]) is opened for overlapped I/O.
/// On a Win SHM session data moves through the shared region and the pipe
/// only tells whether the peer is gone.
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
            .field("session_id", &self.ack.session_id)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// Connects to the endpoint's pipe and runs the handshake (HELLO /
    /// HELLO_ACK) under `deadline`.
    ///
    /// A server rejection maps to [`Error::AuthFailed`],
    /// [`Error::Unsupported`], [`Error::Incompatible`],
    /// [`Error::LimitExceeded`] or [`Error::Status`]; no server is
    /// [`Error::NotFound`]. When an SHM profile was selected but its
    /// region cannot be attached the result is [`Error::ShmAttach`]: the
    /// session is closed; reconnect without the SHM profiles.
    pub fn connect(
        endpoint: &Endpoint,
        cfg: &ClientConfig,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<ClientSession> {
        cfg.validate()?;
        let pipe = open_pipe(endpoint, deadline, abort)?;
        let hello = cfg.hello();
        pipe.write(&encode_hello(&hello), deadline)?;
        // One spare byte detects an over-long reply.
        let mut buf = [0u8; HELLO_ACK_MSG_LEN + 1];
        let got = pipe.read(&mut buf, deadline, abort)?;
        let real = if got.more { buf.len() + 1 } else { got.n };
        let ack = check_ack_bytes(&buf[..got.n], real, &hello, cfg.response_payload_cap)?;
        let shm = if ack.selected_profile & SHM_PROFILES != 0 {
            Some(attach_shm(endpoint, &ack, cfg, deadline, abort)?)
        } else {
            None
        };
        let (req, resp) = ack_limits(&ack);
        let chan = Channel::new(
            pipe,
            ack.agreed_packet_size,
            KIND_REQUEST,
            KIND_RESPONSE,
            req,
            resp,
            shm,
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

    /// The endpoint this session is connected to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A message id not currently in flight.
    pub fn next_message_id(&mut self) -> u64 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if !self.in_flight.contains(id) {
                return id;
            }
        }
    }

    /// The message ids sent and not yet answered.
    pub fn in_flight(&self) -> &[u64] {
        self.in_flight.as_slice()
    }

    /// Sends a request; its response is received with
    /// [`ClientSession::recv_response`].
    pub fn send_request(&mut self, code: u16, message_id: u64, payload: &[u8]) -> Result<()> {
        let header = Header::request(code, message_id, payload_u32(payload.len())?);
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
    /// payloads built with [`crate::wire::BatchBuilder`]).
    pub fn send_message(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.admit(header.message_id)?;
        let r = self.chan.send(header, payload);
        self.track(header.message_id, r)
    }

    fn admit(&self, message_id: u64) -> Result<()> {
        if self.chan.is_broken() {
            return Err(Error::InvalidState(
                "session ended by an earlier failure; reconnect",
            ));
        }
        if self.chan.is_shm() && !self.in_flight.as_slice().is_empty() {
            return Err(Violation::ShmBusy.into());
        }
        self.in_flight.check_insert(message_id)
    }

    /// Records a sent request; a send that ended the session still counts
    /// the id as in flight (it will never be answered).
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

    /// Receives the next response (any in-flight id, in any order).
    ///
    /// The same deadline covers every chunk of the message and the abort
    /// handle's event is waited on alongside the pipe ([`Error::Timeout`] /
    /// [`Error::Aborted`], after which the session stays usable). A
    /// response whose id is not in flight is
    /// [`crate::Violation::UnknownMessageId`].
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

impl ClientSession {
    /// Liveness probe of an idle session (one zero-timeout peek): true
    /// when the server end is gone or unsolicited data is waiting (no
    /// response is expected, so the session is unusable).
    pub fn peer_gone(&self) -> bool {
        self.chan.pipe().peer_gone()
    }
}

impl AsRawHandle for ClientSession {
    fn as_raw_handle(&self) -> RawHandle {
        self.chan.pipe().raw()
    }
}

/// The server side of an established Named Pipe session (from
/// [`super::PendingConnection::handshake`]).
pub struct ServerSession {
    chan: Channel,
    ack: HelloAck,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("session_id", &self.ack.session_id)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    pub(crate) fn new(pipe: Pipe, ack: HelloAck, shm: Option<WinShmRegion>) -> Self {
        let (req, resp) = ack_limits(&ack);
        let chan = Channel::new(
            pipe,
            ack.agreed_packet_size,
            KIND_RESPONSE,
            KIND_REQUEST,
            resp,
            req,
            shm,
        );
        ServerSession { chan, ack }
    }

    negotiated_accessors!();

    /// Receives the next request (same deadline / abort rules as
    /// [`ClientSession::recv_response`]).
    pub fn recv_request(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Message<'_>> {
        let (header, range) = self.chan.recv(deadline, abort)?;
        Message::new(header, self.chan.payload(range)).inspect_err(|_| self.chan.set_broken())
    }

    /// Sends a successful response to request `message_id`.
    pub fn send_response(&mut self, code: u16, message_id: u64, payload: &[u8]) -> Result<()> {
        let header = Header::response(code, message_id, payload_u32(payload.len())?);
        self.chan.send(&header, payload)
    }

    /// Sends a batch response of `items` (answered by position). A single
    /// item is sent as a plain response.
    pub fn send_batch_response(
        &mut self,
        code: u16,
        message_id: u64,
        items: &[&[u8]],
    ) -> Result<()> {
        self.chan
            .send_batch(Header::response(code, message_id, 0), items)
    }

    /// Sends an empty response with a non-OK transport status.
    pub fn send_error(&mut self, code: u16, message_id: u64, status: u16) -> Result<()> {
        self.chan
            .send(&Header::error_response(code, message_id, status), &[])
    }

    /// Sends a response with a caller-built header (kind RESPONSE).
    pub fn send_message(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.chan.send(header, payload)
    }
}

impl ServerSession {
    /// Liveness probe (one zero-timeout peek): true when the client end is
    /// gone, and also when a request is waiting in the pipe (on an SHM
    /// session the pipe carries no requests).
    pub fn peer_gone(&self) -> bool {
        self.chan.pipe().peer_gone()
    }

    /// A handle that stops or ends this session from another thread (it
    /// holds a duplicate of the pipe handle).
    pub fn shutdown_handle(&self) -> Result<SessionShutdown> {
        let stop = self.chan.stop_handle()?;
        Ok(SessionShutdown::new(self.chan.pipe().duplicate()?, stop))
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

#[cfg(test)]
impl ServerSession {
    /// The pipe itself, for tests that play a hostile server.
    pub(super) fn raw_pipe(&self) -> &Pipe {
        self.chan.pipe()
    }

    /// The SHM region, for tests that play a hostile server.
    pub(super) fn shm_region(&self) -> Option<&WinShmRegion> {
        self.chan.shm()
    }
}

impl AsRawHandle for ServerSession {
    fn as_raw_handle(&self) -> RawHandle {
        self.chan.pipe().raw()
    }
}
