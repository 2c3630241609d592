//! One Win SHM session region: creation (server), attach (client), the
//! publication / receive protocol, waiting and the close flags.

use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};

use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_READ, FILE_MAP_WRITE, OpenFileMappingW, PAGE_READWRITE,
};
use windows_sys::Win32::System::Threading::SetEvent;

use crate::error::{Error, Limit, Result, Violation};
use crate::protocol::{HEADER_LEN, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::wire::Header;

use super::super::config::{SHM_HYBRID_DEFAULT_SPIN_TRIES, ShmConfig};
use super::super::pipe::OwnedHandle;
use super::super::security::OwnerOnly;
use super::super::session::wide;
#[cfg(test)]
use super::layout::RegionHeader;
use super::layout::{
    MAX_SPIN_TRIES, REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, RegionInfo, RegionLayout,
};
use super::names::ShmNames;
use super::objects::{Events, View, create_event, fresh, handle_or_error, open_event};
use super::wait::{RxWords, wait_busy, wait_hybrid};

/// Which end of the session a region handle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShmRole {
    /// Publishes requests, consumes responses.
    Client,
    /// Consumes requests, publishes responses.
    Server,
}

/// A test's stand-in for a peer writing the header during a copy.
#[cfg(test)]
pub(crate) type CopyHook = Box<dyn Fn(&RegionHeader) + Send>;

/// One end of a Win SHM session region (see the module docs).
///
/// Offsets, capacities, the profile and `spin_tries` are private copies
/// taken at create / attach time; afterwards only the length, flag and
/// sequence words are read from the mapping.
pub(crate) struct WinShmRegion {
    view: View,
    _mapping: OwnedHandle,
    events: Option<Events>,
    role: ShmRole,
    profile: u32,
    spin_tries: u32,
    layout: RegionLayout,
    tx_off: usize,
    tx_cap: usize,
    rx_off: usize,
    rx_cap: usize,
    tx_seq: i64,
    rx_seq: i64,
    in_flight: bool,
    /// Test hook run between the copy and the re-read of a publication.
    #[cfg(test)]
    pub(crate) copy_hook: Option<CopyHook>,
}

impl std::fmt::Debug for WinShmRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WinShmRegion")
            .field("role", &self.role)
            .field("profile", &self.profile)
            .field("layout", &self.layout)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

// SAFETY: the view and handles are process-wide resources usable from any
// thread; all shared-memory access goes through atomics or raw copies,
// and `&mut self` serializes the operations of one session end.
unsafe impl Send for WinShmRegion {}

impl WinShmRegion {
    /// The mapping and event handles (tests check their security).
    #[cfg(test)]
    pub(crate) fn object_handles(&self) -> Vec<HANDLE> {
        let mut v = vec![self._mapping.0];
        if let Some(e) = &self.events {
            v.extend([e.req.0, e.resp.0]);
        }
        v
    }

    /// Server: creates the region of session `session_id` for the agreed
    /// payload budgets under the selected SHM `profile`, before the
    /// HELLO_ACK that names it is sent.
    ///
    /// Fails with `ShmAllocate` when a kernel object cannot be created or
    /// already exists, `InvalidArgument` for names or budgets that cannot
    /// form a region.
    pub(crate) fn create(
        endpoint: &Endpoint,
        auth_token: u64,
        profile: u32,
        session_id: u64,
        max_request_payload: u32,
        max_response_payload: u32,
        cfg: &ShmConfig,
    ) -> Result<WinShmRegion> {
        if profile != PROFILE_SHM_HYBRID && profile != PROFILE_SHM_BUSYWAIT {
            return Err(Error::InvalidArgument("not a Win SHM profile"));
        }
        let names = ShmNames::new(endpoint, auth_token, profile, session_id)?;
        let layout = RegionLayout::for_payloads(max_request_payload, max_response_payload)?;
        let len = layout.mapped_len();
        let w = wide(&names.mapping);
        // Owner-only DACL on the mapping and the events, as on the pipe.
        let security = OwnerOnly::current_user()?;
        // SAFETY: page-file backed (INVALID_HANDLE_VALUE), `security`
        // lives across the call, NUL-terminated name; SEC_COMMIT is
        // implied.
        let mapping = fresh(handle_or_error(unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                security.attributes(),
                PAGE_READWRITE,
                (len >> 32) as u32,
                len as u32,
                w.as_ptr(),
            )
        }))
        .map_err(Error::ShmAllocate)?;
        let len_usize =
            usize::try_from(len).map_err(|_| Error::InvalidArgument("region too large"))?;
        let view = View::map(&mapping, len_usize).map_err(Error::ShmAllocate)?;
        if view.len < len_usize {
            return Err(Error::ShmAllocate(std::io::Error::other(
                "mapped view shorter than the region",
            )));
        }
        let spin_tries = if cfg.spin_tries == 0 {
            SHM_HYBRID_DEFAULT_SPIN_TRIES
        } else {
            cfg.spin_tries
        };
        let h = view.header();
        let r = Ordering::Relaxed;
        h.version.store(REGION_VERSION, r);
        h.header_len.store(REGION_HEADER_LEN as u32, r);
        h.profile.store(profile, r);
        h.request_offset.store(layout.request_offset, r);
        h.request_capacity.store(layout.request_capacity, r);
        h.response_offset.store(layout.response_offset, r);
        h.response_capacity.store(layout.response_capacity, r);
        h.spin_tries.store(spin_tries, r);
        for w in [
            &h.req_len,
            &h.resp_len,
            &h.req_client_closed,
            &h.req_server_waiting,
            &h.resp_server_closed,
            &h.resp_client_waiting,
        ] {
            w.store(0, r);
        }
        h.req_seq.store(0, r);
        h.resp_seq.store(0, r);
        h.magic.store(REGION_MAGIC, Ordering::Release);
        let events = if profile == PROFILE_SHM_HYBRID {
            Some(Events {
                req: create_event(&names.req_event, &security).map_err(Error::ShmAllocate)?,
                resp: create_event(&names.resp_event, &security).map_err(Error::ShmAllocate)?,
            })
        } else {
            None
        };
        Ok(WinShmRegion::new(
            view,
            mapping,
            events,
            ShmRole::Server,
            profile,
            spin_tries,
            layout,
            (0, 0),
        ))
    }

    /// Client: opens the region of session `session_id` and validates its
    /// header once against the negotiated `profile` and payload budgets.
    ///
    /// A mapping that does not exist (yet), or whose header is not written
    /// yet, is `ShmNotReady` (retry until the attach timeout); every other
    /// failure is `ShmAttach(rule)`.
    pub(crate) fn attach(
        endpoint: &Endpoint,
        auth_token: u64,
        profile: u32,
        session_id: u64,
        max_request_payload: u32,
        max_response_payload: u32,
    ) -> Result<WinShmRegion> {
        if profile != PROFILE_SHM_HYBRID && profile != PROFILE_SHM_BUSYWAIT {
            return Err(Error::ShmAttach("not a Win SHM profile"));
        }
        let names = ShmNames::new(endpoint, auth_token, profile, session_id)
            .map_err(|_| Error::ShmAttach("no valid SHM object names"))?;
        let w = wide(&names.mapping);
        // SAFETY: NUL-terminated name; handle not inherited.
        let h = unsafe { OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, 0, w.as_ptr()) };
        if h.is_null() {
            // SAFETY: no preconditions.
            return Err(match unsafe { GetLastError() } {
                ERROR_FILE_NOT_FOUND => Error::ShmNotReady,
                _ => Error::ShmAttach("opening the SHM mapping failed"),
            });
        }
        let mapping = OwnedHandle(h);
        let view =
            View::map(&mapping, 0).map_err(|_| Error::ShmAttach("mapping the SHM view failed"))?;
        let mut raw = [0u8; REGION_HEADER_LEN];
        if view.len >= REGION_HEADER_LEN {
            // SAFETY: the view has at least REGION_HEADER_LEN accessible
            // bytes; `raw` is private memory. The peer may write the header
            // concurrently: we copy once and validate only the copy.
            unsafe {
                std::ptr::copy_nonoverlapping(view.base.as_ptr(), raw.as_mut_ptr(), raw.len());
            }
        }
        let info = RegionInfo::parse(&raw).map_err(|_| Error::ShmAttach("short region header"))?;
        let layout = RegionLayout::validate(
            &info,
            view.len as u64,
            profile,
            max_request_payload,
            max_response_payload,
        )?;
        let events = if profile == PROFILE_SHM_HYBRID {
            let open = |n: &str| {
                open_event(n).map_err(|_| Error::ShmAttach("opening the SHM events failed"))
            };
            Some(Events {
                req: open(&names.req_event)?,
                resp: open(&names.resp_event)?,
            })
        } else {
            None
        };
        Ok(WinShmRegion::new(
            view,
            mapping,
            events,
            ShmRole::Client,
            profile,
            info.spin_tries.min(MAX_SPIN_TRIES),
            layout,
            (info.req_seq, info.resp_seq),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        view: View,
        mapping: OwnedHandle,
        events: Option<Events>,
        role: ShmRole,
        profile: u32,
        spin_tries: u32,
        layout: RegionLayout,
        (req_seq, resp_seq): (i64, i64),
    ) -> Self {
        let client = role == ShmRole::Client;
        let (((tx_off, tx_cap), tx_seq), ((rx_off, rx_cap), rx_seq)) =
            layout.directions(client, req_seq, resp_seq);
        WinShmRegion {
            view,
            _mapping: mapping,
            events,
            role,
            profile,
            spin_tries,
            layout,
            tx_off,
            tx_cap,
            rx_off,
            rx_cap,
            tx_seq,
            rx_seq,
            in_flight: false,
            #[cfg(test)]
            copy_hook: None,
        }
    }

    /// The selected profile (SHM_HYBRID or SHM_BUSYWAIT).
    #[cfg(test)]
    pub(crate) fn profile(&self) -> u32 {
        self.profile
    }

    /// The area offsets and capacities in use (private copies).
    #[cfg(test)]
    pub(crate) fn layout(&self) -> RegionLayout {
        self.layout
    }

    /// The spin iterations before a HYBRID wait sleeps.
    #[cfg(test)]
    pub(crate) fn spin_tries(&self) -> u32 {
        self.spin_tries
    }

    /// The shared header (tests play the peer through it).
    #[cfg(test)]
    pub(crate) fn header(&self) -> &RegionHeader {
        self.view.header()
    }

    /// (sequence, length) of the outgoing direction, the peer's waiting
    /// flag and the event that wakes it.
    fn tx_words(&self) -> (&AtomicI64, &AtomicI32, &AtomicI32, Option<HANDLE>) {
        let h = self.view.header();
        match self.role {
            ShmRole::Client => (
                &h.req_seq,
                &h.req_len,
                &h.req_server_waiting,
                self.events.as_ref().map(|e| e.req.0),
            ),
            ShmRole::Server => (
                &h.resp_seq,
                &h.resp_len,
                &h.resp_client_waiting,
                self.events.as_ref().map(|e| e.resp.0),
            ),
        }
    }

    /// (sequence, length) of the incoming direction, our waiting flag, the
    /// peer's close flag and the event we sleep on.
    fn rx_words(
        &self,
    ) -> (
        &AtomicI64,
        &AtomicI32,
        &AtomicI32,
        &AtomicI32,
        Option<HANDLE>,
    ) {
        let h = self.view.header();
        match self.role {
            ShmRole::Client => (
                &h.resp_seq,
                &h.resp_len,
                &h.resp_client_waiting,
                &h.resp_server_closed,
                self.events.as_ref().map(|e| e.resp.0),
            ),
            ShmRole::Server => (
                &h.req_seq,
                &h.req_len,
                &h.req_server_waiting,
                &h.req_client_closed,
                self.events.as_ref().map(|e| e.req.0),
            ),
        }
    }

    /// Publishes one whole message (32-byte header + payload) into this
    /// side's outgoing area and wakes the peer if it sleeps.
    ///
    /// The message must start with a valid header whose `payload_len`
    /// matches (`InvalidArgument`) and fit the outgoing area
    /// (`LimitExceeded`). The client may not send again before it received
    /// the answer (`Protocol(ShmBusy)`); the server may only answer a
    /// received request (`InvalidState`).
    pub(crate) fn send(&mut self, message: &[u8]) -> Result<()> {
        match self.role {
            ShmRole::Client if self.in_flight => return Err(Violation::ShmBusy.into()),
            ShmRole::Server if !self.in_flight => {
                return Err(Error::InvalidState("no received SHM request to answer"));
            }
            _ => {}
        }
        let len = message.len();
        if len > self.tx_cap {
            return Err(Error::LimitExceeded {
                limit: match self.role {
                    ShmRole::Client => Limit::RequestPayload,
                    ShmRole::Server => Limit::ResponsePayload,
                },
                max: (self.tx_cap.saturating_sub(HEADER_LEN)) as u64,
                actual: len.saturating_sub(HEADER_LEN) as u64,
            });
        }
        let header = Header::decode(message)
            .map_err(|_| Error::InvalidArgument("SHM message must start with a valid header"))?;
        if HEADER_LEN as u64 + u64::from(header.payload_len) != len as u64 {
            return Err(Error::InvalidArgument(
                "SHM message length disagrees with its payload_len",
            ));
        }
        // `len <= tx_cap`, a u32 capacity of a region that fits i32 lengths
        // only if it is below 2 GiB.
        let len_word = i32::try_from(len)
            .map_err(|_| Error::InvalidArgument("SHM message longer than 2 GiB"))?;
        // SAFETY: `tx_off + len <= tx_off + tx_cap <= view.len` (validated
        // at create/attach); `message` is private memory. Raw pointer copy:
        // no reference to the shared bytes is created.
        unsafe {
            std::ptr::copy_nonoverlapping(
                message.as_ptr(),
                self.view.base.as_ptr().add(self.tx_off),
                len,
            );
        }
        let (seq, len_w, peer_waiting, event) = self.tx_words();
        len_w.swap(len_word, Ordering::SeqCst);
        // The increment is the publication.
        seq.fetch_add(1, Ordering::SeqCst);
        if let Some(ev) = event {
            if peer_waiting.load(Ordering::SeqCst) != 0 {
                // SAFETY: live event handle owned by self.
                unsafe { SetEvent(ev) };
            }
        }
        self.tx_seq = self.tx_seq.wrapping_add(1);
        self.in_flight = self.role == ShmRole::Client;
        Ok(())
    }

    /// Waits for the peer's next message and copies it (header + payload)
    /// into `out` (cleared first). `peer_gone` is asked between wait slices
    /// whether the session's pipe reports the peer gone.
    ///
    /// Fails with `Timeout` at `deadline`, `Aborted` when `abort` is
    /// triggered (the message may still arrive: `recv` can be called
    /// again), `PeerClosed` when the peer set its close flag or its pipe
    /// end is gone, `Protocol(ShmLength)` for a zero, over-capacity or
    /// inconsistent length, `Protocol(ShmTorn)` when the publication
    /// changed during the copy, and `Decode(..)` for a bad envelope.
    pub(crate) fn recv(
        &mut self,
        out: &mut Vec<u8>,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        peer_gone: &dyn Fn() -> bool,
    ) -> Result<()> {
        out.clear();
        match self.role {
            ShmRole::Client if !self.in_flight => {
                return Err(Error::InvalidState("no SHM request in flight"));
            }
            ShmRole::Server if self.in_flight => {
                return Err(Error::InvalidState("previous SHM request not answered"));
            }
            _ => {}
        }
        if let Some(a) = abort {
            a.check()?;
        }
        let (seq, _, waiting, peer_closed, event) = self.rx_words();
        let words = RxWords {
            seq,
            waiting,
            peer_closed,
        };
        let seq = match (self.profile, event) {
            (PROFILE_SHM_HYBRID, Some(ev)) => wait_hybrid(
                &words,
                self.rx_seq,
                self.spin_tries,
                ev,
                deadline,
                abort,
                peer_gone,
            )?,
            (PROFILE_SHM_HYBRID, None) => {
                return Err(Error::InvalidState("HYBRID region without events"));
            }
            _ => wait_busy(&words, self.rx_seq, deadline, abort, peer_gone)?,
        };
        if let Err(e) = self.consume(seq, out) {
            out.clear();
            return Err(e);
        }
        self.rx_seq = seq;
        self.in_flight = self.role == ShmRole::Server;
        Ok(())
    }

    /// Reads the published length, copies the message out, re-reads the
    /// sequence and length, and checks the copy's envelope against them.
    fn consume(&self, seq_seen: i64, out: &mut Vec<u8>) -> Result<()> {
        let (seq, len_w, _, _, _) = self.rx_words();
        let published = len_w.load(Ordering::Acquire);
        let Ok(len) = usize::try_from(published) else {
            return Err(Violation::ShmLength.into());
        };
        if len == 0 || len < HEADER_LEN || len > self.rx_cap {
            return Err(Violation::ShmLength.into());
        }
        out.reserve(len);
        // SAFETY: `rx_off + len <= rx_off + rx_cap <= view.len`, and `out`
        // has capacity for `len` bytes and cannot overlap the mapping. The
        // peer may write the area concurrently (its violation, detected by
        // the re-read below); we only copy through raw pointers and validate
        // the private copy. `set_len` covers exactly the bytes written.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.view.base.as_ptr().add(self.rx_off),
                out.as_mut_ptr(),
                len,
            );
            out.set_len(len);
        }
        #[cfg(test)]
        if let Some(hook) = &self.copy_hook {
            hook(self.view.header());
        }
        // Keep the copy's reads before the re-reads below (seqlock style).
        std::sync::atomic::fence(Ordering::Acquire);
        if seq.load(Ordering::Acquire) != seq_seen || len_w.load(Ordering::Acquire) != published {
            return Err(Violation::ShmTorn.into());
        }
        let header = Header::decode(out)?;
        if HEADER_LEN as u64 + u64::from(header.payload_len) != len as u64 {
            return Err(Violation::ShmLength.into());
        }
        Ok(())
    }
}

impl Drop for WinShmRegion {
    /// Sets this side's close flag and wakes a peer sleeping on its event;
    /// the view and handles are released right after.
    fn drop(&mut self) {
        let h = self.view.header();
        let (flag, event) = match self.role {
            ShmRole::Client => (&h.req_client_closed, self.events.as_ref().map(|e| e.req.0)),
            ShmRole::Server => (
                &h.resp_server_closed,
                self.events.as_ref().map(|e| e.resp.0),
            ),
        };
        flag.swap(1, Ordering::SeqCst);
        if let Some(ev) = event {
            // SAFETY: live event handle owned by self.
            unsafe { SetEvent(ev) };
        }
    }
}
