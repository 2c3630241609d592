//! Established Named Pipe sessions: [`ClientSession`] and
//! [`ServerSession`], and the client side of the handshake (including the
//! Win SHM attach when an SHM profile is selected).

use std::os::windows::io::{AsRawHandle, RawHandle};
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE, GetLastError,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{CreateFileW, FILE_FLAG_OVERLAPPED, OPEN_EXISTING};
use windows_sys::Win32::System::Pipes::{
    PIPE_READMODE_MESSAGE, SetNamedPipeHandleState, WaitNamedPipeW,
};

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::handshake::{
    HELLO_ACK_MSG_LEN, attach_with_retry, check_ack_bytes, encode_hello,
};
use crate::transport::pipeline::InFlight;
use crate::transport::session_core::{client_methods, negotiated_accessors, server_methods};
use crate::wire::HelloAck;

use super::channel::{Channel, PipeLink};
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
    let attach = || {
        WinShmRegion::attach(
            endpoint,
            cfg.auth_token,
            ack.selected_profile,
            ack.session_id,
            ack.agreed_max_request_payload_bytes,
            ack.agreed_max_response_payload_bytes,
        )
    };
    let wait = |step: Duration, limit: Deadline| {
        if let Some(a) = abort {
            a.check()?;
        }
        std::thread::sleep(limit.remaining()?.map_or(step, |l| l.min(step)));
        Ok(())
    };
    attach_with_retry(cfg.shm_attach_timeout, deadline, attach, wait)
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
        let chan = Channel::client(PipeLink::new(pipe), &ack, shm);
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

    /// The endpoint this session is connected to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The message ids sent and not yet answered.
    pub fn in_flight(&self) -> &[u64] {
        self.in_flight.as_slice()
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
        let chan = Channel::server(PipeLink::new(pipe), &ack, shm);
        ServerSession { chan, ack }
    }

    negotiated_accessors!();
    server_methods!();
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
