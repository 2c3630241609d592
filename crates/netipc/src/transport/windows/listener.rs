//! The server side: pipe instances, accepting clients, and the server half
//! of the handshake.

use std::os::windows::io::{AsRawHandle, RawHandle};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_BAD_PATHNAME, ERROR_FILE_NOT_FOUND, ERROR_INVALID_NAME,
    GetLastError, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, PIPE_READMODE_MESSAGE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_MESSAGE,
    PIPE_UNLIMITED_INSTANCES, PIPE_WAIT, WaitNamedPipeW,
};

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::handshake::{HELLO_MSG_LEN, answer_hello};
use crate::wire::HelloAck;

use super::config::{SHM_PROFILES, ServerConfig, proposed_packet_size};
use super::pipe::{OwnedHandle, Pipe, win_error};
use super::security::OwnerOnly;
use super::session::{ServerSession, wide};
use super::shm::WinShmRegion;

/// A listening Named Pipe endpoint: always holds one unconnected pipe
/// instance clients can connect to.
///
/// The first instance is created with `FILE_FLAG_FIRST_PIPE_INSTANCE`: a
/// second server on the same endpoint gets [`Error::AddressInUse`].
/// Remote (network) clients are rejected, and every instance carries an
/// owner-only DACL (only the user this process runs as may connect).
pub struct Listener {
    endpoint: Endpoint,
    name: Vec<u16>,
    buffer_size: u32,
    next: Mutex<Option<Pipe>>,
    session_ids: AtomicU64,
}

/// The in/out buffer quota of every pipe instance [`Listener::bind`]
/// creates: the largest message a zero-config session can grow to
/// ([`MAX_PAYLOAD_CAP`](crate::protocol::MAX_PAYLOAD_CAP)), so one
/// message never waits for the reader halfway. It is also what pipelined
/// messages can queue in each direction before a writer waits for its
/// reader: a client that keeps more than this in flight without reading
/// responses can stall against a server stalled writing them (on UDS the
/// socket buffers play the same role).
pub const PIPE_BUFFER_SIZE: u32 = crate::protocol::MAX_PAYLOAD_CAP;

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Creates the first pipe instance of the endpoint, with pipe buffers
    /// of [`PIPE_BUFFER_SIZE`] bytes each way.
    pub fn bind(endpoint: &Endpoint) -> Result<Listener> {
        Listener::bind_with_buffer_size(endpoint, PIPE_BUFFER_SIZE)
    }

    /// [`Listener::bind`] with pipe buffers of `buffer_size` bytes (set it
    /// to the largest packet size servers on it configure).
    pub fn bind_with_buffer_size(endpoint: &Endpoint, buffer_size: u32) -> Result<Listener> {
        let name = wide(&endpoint.pipe_name());
        if pipe_exists(&name) {
            return Err(Error::AddressInUse);
        }
        let first = create_instance(&name, buffer_size, true)?;
        Ok(Listener {
            endpoint: endpoint.clone(),
            name,
            buffer_size,
            next: Mutex::new(Some(first)),
            session_ids: AtomicU64::new(1),
        })
    }

    /// The endpoint this listener serves.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The raw handle of the instance waiting for the next client.
    #[cfg(test)]
    pub(crate) fn first_instance_handle(&self) -> Option<windows_sys::Win32::Foundation::HANDLE> {
        let slot = self.next.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().map(|p| p.raw())
    }

    /// Waits for the next client under `deadline` / `abort`. Fast: never
    /// reads from the peer; run [`PendingConnection::handshake`] next.
    ///
    /// A fresh instance is created for the next client before the
    /// connected one is returned. Timeouts and aborts keep the waiting
    /// instance.
    pub fn accept(
        &self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<PendingConnection> {
        let mut slot = self.next.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let pipe = match slot.take() {
                Some(p) => p,
                None => create_instance(&self.name, self.buffer_size, false)?,
            };
            match pipe.connect(deadline, abort) {
                Ok(()) => {
                    // Remain available: a failure here surfaces on the
                    // next accept.
                    *slot = create_instance(&self.name, self.buffer_size, false).ok();
                    return Ok(PendingConnection {
                        pipe,
                        session_id: self.session_ids.fetch_add(1, Ordering::Relaxed),
                        endpoint: self.endpoint.clone(),
                    });
                }
                Err(e @ (Error::Timeout | Error::Aborted)) => {
                    *slot = Some(pipe);
                    return Err(e);
                }
                // The client came and went before we saw it: next one.
                Err(Error::PeerClosed) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// True when some server already has instances of pipe `name` (free or
/// busy). A probe that never connects, so the owner is not disturbed.
///
/// `FILE_FLAG_FIRST_PIPE_INSTANCE` is what settles two servers racing for
/// one name; this check also covers systems that ignore that flag (Wine).
fn pipe_exists(name: &[u16]) -> bool {
    // SAFETY: `name` is NUL-terminated.
    if unsafe { WaitNamedPipeW(name.as_ptr(), 1) } != 0 {
        return true;
    }
    // SAFETY: no preconditions.
    let e = unsafe { GetLastError() };
    e != ERROR_FILE_NOT_FOUND && e != ERROR_BAD_PATHNAME && e != ERROR_INVALID_NAME
}

/// Creates one server instance of pipe `name` (message mode, overlapped,
/// local clients only).
fn create_instance(name: &[u16], buffer_size: u32, first: bool) -> Result<Pipe> {
    let mut open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
    if first {
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    }
    // Owner-only DACL: the Windows counterpart of the 0600 socket.
    let security = OwnerOnly::current_user()?;
    // SAFETY: `name` is NUL-terminated; `security` lives across the call.
    let h = unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            open_mode,
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES,
            buffer_size,
            buffer_size,
            0,
            security.attributes(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        // SAFETY: no preconditions.
        return Err(match unsafe { GetLastError() } {
            ERROR_ACCESS_DENIED if first => Error::AddressInUse,
            e => win_error(e),
        });
    }
    Pipe::new(OwnedHandle(h))
}

/// A connected client whose handshake has not run yet.
pub struct PendingConnection {
    pipe: Pipe,
    session_id: u64,
    endpoint: Endpoint,
}

impl std::fmt::Debug for PendingConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConnection")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl PendingConnection {
    /// The session id this connection gets when its handshake succeeds.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Runs the server side of the handshake under `deadline`.
    ///
    /// The decision is [`crate::wire::negotiate`]. Malformed HELLOs are
    /// closed without an answer; a wrong header version is rejected with
    /// INCOMPATIBLE; negotiation rejections are answered and the mapped
    /// error returned. On any failure the connection is closed.
    ///
    /// When a Win SHM profile is selected, the session's region is created
    /// before the HELLO_ACK is sent. If that fails, the session continues
    /// on the Named Pipe baseline when the client supports it (the
    /// HELLO_ACK then selects NAMED_PIPE); otherwise the client gets
    /// UNSUPPORTED and the creation error is returned.
    pub fn handshake(
        self,
        cfg: &ServerConfig,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<ServerSession> {
        cfg.validate()?;
        let pipe = self.pipe;
        let mut buf = [0u8; HELLO_MSG_LEN + 1];
        let got = pipe.read(&mut buf, deadline, abort)?;
        let create = |ack: &HelloAck| {
            WinShmRegion::create(
                &self.endpoint,
                cfg.auth_token,
                ack.selected_profile,
                self.session_id,
                ack.agreed_max_request_payload_bytes,
                ack.agreed_max_response_payload_bytes,
                &cfg.shm,
            )
        };
        let (ack, shm) = answer_hello(
            &buf[..got.n],
            got.more,
            cfg,
            proposed_packet_size(cfg.packet_size),
            self.session_id,
            SHM_PROFILES,
            create,
            |msg| pipe.write(msg, deadline),
        )?;
        Ok(ServerSession::new(pipe, ack, shm))
    }
}

#[cfg(test)]
impl PendingConnection {
    /// The pipe itself, for tests that play a hostile server.
    pub(super) fn raw_pipe(&self) -> &Pipe {
        &self.pipe
    }
}

impl AsRawHandle for PendingConnection {
    fn as_raw_handle(&self) -> RawHandle {
        self.pipe.raw()
    }
}
