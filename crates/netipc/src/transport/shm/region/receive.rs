//! Receiving: waiting for the peer's next publication (spin, then
//! `FUTEX_WAIT` slices) and copying it out.

use std::os::fd::BorrowedFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;

use crate::error::{Error, Result, Violation};
use crate::protocol::HEADER_LEN;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::shm::futex::{self, FutexError};
use crate::transport::shm::spin::spin_until;
use crate::wire::Header;

use super::{Poison, ShmRegion, ShmRole, WAIT_SLICE};

impl ShmRegion {
    /// Waits for the peer's next message and copies it (header + payload)
    /// into `out` (cleared first). `peer` is the session socket, polled
    /// for hang-up while waiting.
    ///
    /// Spins briefly (adaptive budget, see the module docs), then sleeps in
    /// `FUTEX_WAIT` slices of [`WAIT_SLICE`]. Fails with `Timeout` at
    /// `deadline`, `Aborted` when `abort` is triggered, `PeerClosed` when
    /// the socket reports hang-up or error, and `Protocol(ShmLength)` /
    /// `Decode(..)` / `Protocol(ShmFault)` for a bad publication. After
    /// `Timeout`/`Aborted` the message may still arrive: `recv` can be
    /// called again.
    pub fn recv(
        &mut self,
        out: &mut Vec<u8>,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        peer: BorrowedFd<'_>,
    ) -> Result<()> {
        out.clear();
        self.check_poison()?;
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
        let seq = self.wait_advance(deadline, abort, peer)?;
        self.rx_seq = seq;
        if let Err(e) = self.consume(out) {
            out.clear();
            return Err(e);
        }
        self.in_flight = self.role == ShmRole::Server;
        Ok(())
    }

    /// Waits until the incoming sequence differs from the last consumed one
    /// and returns it.
    fn wait_advance(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        peer: BorrowedFd<'_>,
    ) -> Result<u64> {
        let expected = self.rx_seq;
        let h = self.map.header();
        let (seq, _, signal) = match self.role {
            ShmRole::Client => (&h.resp_seq, &h.resp_len, &h.resp_signal),
            ShmRole::Server => (&h.req_seq, &h.req_len, &h.req_signal),
        };
        let advanced = || {
            let cur = seq.load(Ordering::Acquire);
            (cur != expected).then_some(cur)
        };
        if let Some(cur) = advanced() {
            self.spin.record(0, true);
            return Ok(cur);
        }
        let start = Instant::now();
        let budget = self.spin.next_budget_ns();
        if let Some((cur, spun)) = spin_until(start, budget, advanced) {
            self.spin.record(spun, true);
            return Ok(cur);
        }
        let mut first = true;
        loop {
            let word = signal.load(Ordering::Acquire);
            if let Some(cur) = advanced() {
                self.spin.record(elapsed_ns(start), false);
                return Ok(cur);
            }
            if self.map.is_broken() {
                return Err(self.fault());
            }
            if let Some(a) = abort {
                a.check()?;
            }
            let remaining = deadline.remaining()?;
            if !first {
                if peer_hung_up(peer)? {
                    // A message published before the hang-up is delivered.
                    return advanced().ok_or(Error::PeerClosed);
                }
                if self.map.probe_tail() {
                    return Err(self.fault());
                }
            }
            first = false;
            let slice = remaining.map_or(WAIT_SLICE, |r| r.min(WAIT_SLICE));
            match futex::wait(signal, word, slice) {
                Ok(_) => {}
                Err(FutexError::Fault) => return Err(self.fault()),
                Err(FutexError::Other(e)) => return Err(e.into()),
            }
        }
    }

    /// Validates the published length, copies the message out, validates
    /// its header against the length.
    fn consume(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (_, len_word, _) = self.rx_words();
        let published = len_word.load(Ordering::Acquire);
        if self.map.is_broken() {
            return Err(self.fault());
        }
        let len = published as usize;
        if len < HEADER_LEN || len > self.rx_cap {
            return Err(self.poison(Poison::Violation(Violation::ShmLength)));
        }
        out.reserve(len);
        // SAFETY: `rx_off + len <= rx_off + rx_cap <= mapping length`, and
        // `out` has capacity for `len` bytes and cannot overlap the mapping.
        // The peer may be writing the area concurrently (that would be its
        // protocol violation); we only ever copy through raw pointers and
        // validate the private copy. `set_len` covers exactly the bytes just
        // written.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.map.base.as_ptr().add(self.rx_off),
                out.as_mut_ptr(),
                len,
            );
            out.set_len(len);
        }
        if self.map.is_broken() {
            return Err(self.fault());
        }
        let header = match Header::decode(out) {
            Ok(h) => h,
            Err(d) => return Err(self.poison(Poison::Decode(d))),
        };
        if HEADER_LEN as u64 + u64::from(header.payload_len) != len as u64 {
            return Err(self.poison(Poison::Violation(Violation::ShmLength)));
        }
        Ok(())
    }
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Zero-timeout poll of the session socket: hang-up, read hang-up or error
/// means the peer is gone.
fn peer_hung_up(peer: BorrowedFd<'_>) -> Result<bool> {
    let mut fds = [PollFd::from_borrowed_fd(peer, PollFlags::RDHUP)];
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut fds, Some(&zero)) {
        Ok(0) | Err(Errno::INTR) => Ok(false),
        Ok(_) => {
            let r = fds[0].revents();
            if r.contains(PollFlags::NVAL) {
                return Err(Error::InvalidArgument("SHM peer socket is not an open fd"));
            }
            Ok(r.intersects(PollFlags::HUP | PollFlags::RDHUP | PollFlags::ERR))
        }
        Err(e) => Err(e.into()),
    }
}
