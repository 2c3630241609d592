//! [`SessionShutdown`]: ends a server session from another thread (the
//! managed server's `stop()` and drain).

use windows_sys::Win32::System::Pipes::DisconnectNamedPipe;

use crate::transport::abort::AbortHandle;

use super::pipe::OwnedHandle;

/// A handle that ends one [`super::ServerSession`] from any thread.
///
/// It owns a duplicate of the pipe handle and shares the session's stop
/// event (created when the first handle is taken; the session's receives
/// wait on it alongside the pipe from then on). Dropping the handle does
/// nothing to the session; the pipe instance stays open until both the
/// session and the handle are dropped.
#[derive(Debug)]
pub struct SessionShutdown {
    pipe: OwnedHandle,
    stop: AbortHandle,
}

impl SessionShutdown {
    pub(super) fn new(pipe: OwnedHandle, stop: AbortHandle) -> Self {
        SessionShutdown { pipe, stop }
    }

    /// Stops receiving: a receive waiting for the next request (and every
    /// later one) ends with [`crate::Error::Aborted`] once the messages
    /// already in the pipe are read; sending the answer to a request being
    /// handled still works.
    pub fn stop_receiving(&self) {
        self.stop.trigger();
    }

    /// Ends the session: the pipe instance is disconnected, so every
    /// blocked or later send and receive on it fails.
    pub fn close(&self) {
        self.stop.trigger();
        // SAFETY: our own duplicate of the server end of the pipe; the
        // session's operations then fail with a disconnect error.
        unsafe { DisconnectNamedPipe(self.pipe.0) };
    }
}
