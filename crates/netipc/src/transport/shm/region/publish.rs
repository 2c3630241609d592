//! Publishing one message into this side's outgoing area.

use std::sync::atomic::Ordering;

use crate::error::{Error, Limit, Result, Violation};
use crate::protocol::HEADER_LEN;
use crate::transport::shm::futex::{self, FutexError};
use crate::wire::Header;

use super::{ShmRegion, ShmRole};

impl ShmRegion {
    /// Publishes one whole message (32-byte header + payload) into this
    /// side's outgoing area and wakes the peer.
    ///
    /// The message must be a complete, well-formed message whose length is
    /// `32 + payload_len` (`InvalidArgument` otherwise) and must fit the
    /// outgoing area (`LimitExceeded`). The client may not send again
    /// before it received the answer (`Protocol(ShmBusy)`); the server may
    /// only answer a received request (`InvalidState`).
    pub fn send(&mut self, message: &[u8]) -> Result<()> {
        self.check_poison()?;
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
                max: (self.tx_cap - HEADER_LEN) as u64,
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
        // SAFETY: `tx_off + len <= tx_off + tx_cap <= mapping length`
        // (validated at create/attach); `message` is ordinary memory that
        // cannot overlap the mapping we own. Raw pointer copy: no reference
        // to the shared bytes is ever created.
        unsafe {
            std::ptr::copy_nonoverlapping(
                message.as_ptr(),
                self.map.base.as_ptr().add(self.tx_off),
                len,
            );
        }
        let next = self.tx_seq.wrapping_add(1);
        let (seq, len_word, signal) = self.tx_words();
        // `len <= tx_cap`, which came from a u32.
        len_word.store(len as u32, Ordering::Release);
        seq.store(next, Ordering::Release);
        signal.fetch_add(1, Ordering::Release);
        let woke = futex::wake_one(signal);
        self.tx_seq = next;
        if self.map.is_broken() {
            return Err(self.fault());
        }
        match woke {
            Ok(_) => {}
            Err(FutexError::Fault) => return Err(self.fault()),
            Err(FutexError::Other(e)) => return Err(e.into()),
        }
        self.in_flight = self.role == ShmRole::Client;
        Ok(())
    }
}
