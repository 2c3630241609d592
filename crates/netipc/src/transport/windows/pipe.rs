//! One Named Pipe handle with overlapped, deadline- and abort-aware
//! message I/O.
//!
//! Every operation is started overlapped and waited for on the pipe's own
//! event, together with the caller's abort event, under the deadline. On
//! timeout or abort the operation is cancelled with `CancelIoEx` and its
//! completion is always collected before returning, so the `OVERLAPPED`
//! and the buffer never outlive the call. An operation that completed in
//! the race with the cancel counts as completed (no data is lost).

use std::os::windows::io::AsRawHandle;

use windows_sys::Win32::Foundation::{
    CloseHandle, DUPLICATE_SAME_ACCESS, DuplicateHandle, ERROR_BROKEN_PIPE, ERROR_IO_PENDING,
    ERROR_MORE_DATA, ERROR_NO_DATA, ERROR_PIPE_CONNECTED, ERROR_PIPE_NOT_CONNECTED, GetLastError,
    HANDLE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Pipes::{ConnectNamedPipe, PeekNamedPipe};
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcess, INFINITE, WaitForMultipleObjects,
};

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};

/// Maps a Win32 error code: the pipe-disconnect codes of the contract are
/// [`Error::PeerClosed`], everything else is [`Error::Io`].
pub(crate) fn win_error(code: u32) -> Error {
    match code {
        ERROR_BROKEN_PIPE | ERROR_NO_DATA | ERROR_PIPE_NOT_CONNECTED => Error::PeerClosed,
        c => Error::Io(std::io::Error::from_raw_os_error(c as i32)),
    }
}

/// The wait in milliseconds left until `deadline` for a Win32 wait
/// (`INFINITE` for none, rounded up so a wait never ends early), or
/// [`Error::Timeout`] once it passed.
pub(crate) fn wait_ms(deadline: Deadline) -> Result<u32> {
    Ok(match deadline.remaining()? {
        None => INFINITE,
        Some(d) => u32::try_from(d.as_micros().div_ceil(1000))
            .map_or(INFINITE - 1, |m| m.min(INFINITE - 1)),
    })
}

/// The calling thread's last Win32 error, mapped by [`win_error`].
pub(crate) fn last_error() -> Error {
    // SAFETY: no preconditions.
    win_error(unsafe { GetLastError() })
}

/// An owned kernel handle, closed on drop.
#[derive(Debug)]
pub(crate) struct OwnedHandle(pub(crate) HANDLE);

// SAFETY: kernel handles may be used and closed from any thread; the
// owner serializes the operations that need it (one session, one thread).
unsafe impl Send for OwnedHandle {}
// SAFETY: see Send; shared use is limited to thread-safe kernel calls.
unsafe impl Sync for OwnedHandle {}

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        // SAFETY: owned, valid handle, closed exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// A message-mode pipe handle opened for overlapped I/O, with the event
/// its operations complete on (and a second one for a write left pending
/// while reads go on, see [`Pipe::start_write`]).
#[derive(Debug)]
pub(crate) struct Pipe {
    handle: OwnedHandle,
    event: OwnedHandle,
    write_event: OwnedHandle,
}

/// A write started by [`Pipe::start_write`] and not collected yet. Its
/// `OVERLAPPED` is boxed (it must not move while the kernel holds it);
/// the message buffer is the caller's and must stay alive and unchanged
/// until [`Pipe::poll_write`] or [`Pipe::cancel_write`] collected it.
pub(crate) struct PendingWrite {
    ov: Box<OVERLAPPED>,
    len: u32,
}

impl std::fmt::Debug for PendingWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingWrite")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

// SAFETY: the OVERLAPPED is plain data owned by this value; the kernel
// only writes it through the pipe handle the owner serializes.
unsafe impl Send for PendingWrite {}

/// What one message read returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOutcome {
    /// Bytes stored in the buffer.
    pub n: usize,
    /// The message was longer than the buffer (`ERROR_MORE_DATA`).
    pub more: bool,
}

impl Pipe {
    /// Takes ownership of an overlapped pipe handle.
    pub(crate) fn new(handle: OwnedHandle) -> Result<Pipe> {
        // SAFETY: manual-reset, unnamed, unsignaled event.
        let ev = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if ev.is_null() {
            return Err(last_error());
        }
        let event = OwnedHandle(ev);
        // SAFETY: as above.
        let wev = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if wev.is_null() {
            return Err(last_error());
        }
        Ok(Pipe {
            handle,
            event,
            write_event: OwnedHandle(wev),
        })
    }

    /// Starts writing `msg` as one pipe message and returns at once; the
    /// caller may read meanwhile. `msg` must stay alive and unchanged until
    /// the write is collected ([`Pipe::poll_write`] returned `Some`, or
    /// [`Pipe::cancel_write`]).
    pub(crate) fn start_write(&self, msg: &[u8]) -> Result<PendingWrite> {
        let len = u32::try_from(msg.len())
            .map_err(|_| Error::InvalidArgument("pipe message longer than 4 GiB"))?;
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: Box<OVERLAPPED> = Box::new(unsafe { std::mem::zeroed() });
        ov.hEvent = self.write_event.0;
        // SAFETY: `msg` outlives the operation (the caller's contract) and
        // `ov` is boxed, so neither moves before the completion is
        // collected.
        let started = unsafe {
            WriteFile(
                self.handle.0,
                msg.as_ptr(),
                len,
                std::ptr::null_mut(),
                &mut *ov,
            )
        } != 0;
        if !started {
            // SAFETY: no preconditions.
            let e = unsafe { GetLastError() };
            if e != ERROR_IO_PENDING {
                return Err(win_error(e));
            }
        }
        Ok(PendingWrite { ov, len })
    }

    /// Waits up to `ms` for a started write: `Ok(Some(()))` once it
    /// completed whole, `Ok(None)` while it is still pending.
    pub(crate) fn poll_write(&self, w: &mut PendingWrite, ms: u32) -> Result<Option<()>> {
        let handles = [self.write_event.0];
        // SAFETY: a live event handle.
        let r = unsafe { WaitForMultipleObjects(1, handles.as_ptr(), 0, ms) };
        if r == WAIT_TIMEOUT {
            return Ok(None);
        }
        if r != WAIT_OBJECT_0 {
            let e = last_error();
            self.cancel_write(w);
            return Err(e);
        }
        let mut n = 0u32;
        // SAFETY: `w.ov` is the live OVERLAPPED of the write; it completed
        // (its event is set), so this does not block.
        let ok = unsafe { GetOverlappedResult(self.handle.0, &*w.ov, &mut n, 1) } != 0;
        if !ok {
            return Err(last_error());
        }
        if n != w.len {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "short pipe write",
            )));
        }
        Ok(Some(()))
    }

    /// Cancels a started write and collects it (it may have completed in
    /// the race).
    pub(crate) fn cancel_write(&self, w: &mut PendingWrite) {
        let mut n = 0u32;
        // SAFETY: cancels only this operation on our own handle, then waits
        // for its completion, so `w.ov` and the buffer are free afterwards.
        unsafe {
            CancelIoEx(self.handle.0, &*w.ov);
            GetOverlappedResult(self.handle.0, &*w.ov, &mut n, 1);
        }
    }

    /// Whether a read would find something: a message waiting, or the
    /// peer gone (the read then reports it).
    pub(crate) fn readable(&self) -> bool {
        !matches!(self.peek(), Ok(0))
    }

    /// The raw pipe handle.
    pub(crate) fn raw(&self) -> HANDLE {
        self.handle.0
    }

    /// A zero-byte peek: the bytes waiting in the pipe, or the error.
    fn peek(&self) -> Result<u32> {
        let mut avail = 0u32;
        // SAFETY: live pipe handle; no buffer, only the byte count out.
        let ok = unsafe {
            PeekNamedPipe(
                self.handle.0,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut avail,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            Err(last_error())
        } else {
            Ok(avail)
        }
    }

    /// Whether the other end of the pipe is gone (a zero-byte peek fails
    /// with one of the disconnect codes). Used by SHM waits, where the pipe
    /// carries no data after the handshake.
    pub(crate) fn peer_closed(&self) -> bool {
        matches!(self.peek(), Err(Error::PeerClosed))
    }

    fn overlapped(&self) -> OVERLAPPED {
        // SAFETY: OVERLAPPED is plain data; all-zero is its initial state.
        let mut ov: OVERLAPPED = unsafe { std::mem::zeroed() };
        ov.hEvent = self.event.0;
        ov
    }

    /// Waits for the operation on `ov` to complete, under the deadline and
    /// the abort. `started` is the return value of the starting call.
    ///
    /// Returns the transferred byte count and whether the message was
    /// longer than the buffer.
    fn complete(
        &self,
        started: bool,
        ov: &mut OVERLAPPED,
        deadline: Deadline,
        aborts: [Option<&AbortHandle>; 2],
    ) -> Result<(u32, bool)> {
        if !started {
            // SAFETY: no preconditions.
            let e = unsafe { GetLastError() };
            if e != ERROR_IO_PENDING && e != ERROR_MORE_DATA {
                return Err(win_error(e));
            }
        }
        // The pipe's event first: when data and an abort are both there,
        // the data wins.
        let mut handles = [self.event.0, std::ptr::null_mut(), std::ptr::null_mut()];
        let mut count = 1;
        for a in aborts.into_iter().flatten() {
            handles[count] = a.as_raw_handle();
            count += 1;
        }
        let mut interrupted = None;
        loop {
            let ms = match wait_ms(deadline) {
                Ok(ms) => ms,
                Err(e) => {
                    interrupted = Some(e);
                    break;
                }
            };
            // SAFETY: `handles[..count]` are live event handles.
            let w = unsafe { WaitForMultipleObjects(count as u32, handles.as_ptr(), 0, ms) };
            if w == WAIT_OBJECT_0 {
                break;
            }
            if w > WAIT_OBJECT_0 && w < WAIT_OBJECT_0 + count as u32 {
                interrupted = Some(Error::Aborted);
                break;
            }
            if w == WAIT_TIMEOUT {
                // Loop: `remaining` reports the timeout once it is due
                // (the wait may wake a little early).
                continue;
            }
            interrupted = Some(last_error());
            break;
        }
        if interrupted.is_some() {
            // SAFETY: cancels only this operation on our own handle.
            unsafe { CancelIoEx(self.handle.0, ov) };
        }
        let mut n = 0u32;
        // SAFETY: `ov` is the live OVERLAPPED of the operation; wait = TRUE
        // collects the completion (cancelled or not) before `ov` and the
        // buffer go away.
        let ok = unsafe { GetOverlappedResult(self.handle.0, ov, &mut n, 1) } != 0;
        if ok {
            return Ok((n, false));
        }
        // SAFETY: no preconditions.
        let e = unsafe { GetLastError() };
        if e == ERROR_MORE_DATA {
            return Ok((n, true));
        }
        Err(interrupted.unwrap_or_else(|| win_error(e)))
    }

    /// Reads one message into `buf`.
    pub(crate) fn read(
        &self,
        buf: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<ReadOutcome> {
        self.read_or_stop(buf, deadline, abort, None)
    }

    /// [`Pipe::read`] that also ends with [`Error::Aborted`] when `stop`
    /// is triggered and no message is waiting (a message already in the
    /// pipe is still read).
    pub(crate) fn read_or_stop(
        &self,
        buf: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        stop: Option<&AbortHandle>,
    ) -> Result<ReadOutcome> {
        if let Some(a) = abort {
            a.check()?;
        }
        deadline.remaining()?;
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut ov = self.overlapped();
        // SAFETY: `buf` and `ov` stay alive until `complete` collected the
        // operation.
        let started = unsafe {
            ReadFile(
                self.handle.0,
                buf.as_mut_ptr(),
                len,
                std::ptr::null_mut(),
                &mut ov,
            )
        } != 0;
        let (n, more) = self.complete(started, &mut ov, deadline, [abort, stop])?;
        Ok(ReadOutcome {
            n: n as usize,
            more,
        })
    }

    /// Writes `msg` as one pipe message.
    pub(crate) fn write(&self, msg: &[u8], deadline: Deadline) -> Result<()> {
        deadline.remaining()?;
        let len = u32::try_from(msg.len())
            .map_err(|_| Error::InvalidArgument("pipe message longer than 4 GiB"))?;
        let mut ov = self.overlapped();
        // SAFETY: `msg` and `ov` stay alive until `complete` collected the
        // operation.
        let started = unsafe {
            WriteFile(
                self.handle.0,
                msg.as_ptr(),
                len,
                std::ptr::null_mut(),
                &mut ov,
            )
        } != 0;
        let (n, _) = self.complete(started, &mut ov, deadline, [None, None])?;
        if n != len {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "short pipe write",
            )));
        }
        Ok(())
    }

    /// Zero-timeout liveness probe of an idle session: true when the peek
    /// fails (the other end is gone) or a message is waiting.
    pub(crate) fn peer_gone(&self) -> bool {
        !matches!(self.peek(), Ok(0))
    }

    /// A second handle to this pipe instance (for another thread).
    pub(crate) fn duplicate(&self) -> Result<OwnedHandle> {
        let mut dup: HANDLE = std::ptr::null_mut();
        // SAFETY: both process handles are the current-process
        // pseudo-handle; `dup` receives a new handle we then own.
        let ok = unsafe {
            let me = GetCurrentProcess();
            DuplicateHandle(me, self.handle.0, me, &mut dup, 0, 0, DUPLICATE_SAME_ACCESS)
        } != 0;
        if !ok {
            return Err(last_error());
        }
        Ok(OwnedHandle(dup))
    }

    /// Server side: waits for a client to connect to this instance.
    pub(crate) fn connect(&self, deadline: Deadline, abort: Option<&AbortHandle>) -> Result<()> {
        if let Some(a) = abort {
            a.check()?;
        }
        deadline.remaining()?;
        let mut ov = self.overlapped();
        // SAFETY: `ov` stays alive until `complete` collected the operation.
        let started = unsafe { ConnectNamedPipe(self.handle.0, &mut ov) } != 0;
        if !started {
            // SAFETY: no preconditions.
            match unsafe { GetLastError() } {
                // A client connected between creation and this call.
                ERROR_PIPE_CONNECTED => return Ok(()),
                ERROR_IO_PENDING => {}
                e => return Err(win_error(e)),
            }
        }
        self.complete(true, &mut ov, deadline, [abort, None])
            .map(|_| ())
    }
}
