//! Win SHM data plane (profiles SHM_HYBRID and SHM_BUSYWAIT), per
//! `level1-windows-shm.md`: one page-file backed mapping per session.
//!
//! # Objects
//!
//! The server creates, before the successful HELLO_ACK names the session,
//! the mapping `Local\netipc-{hash:016x}-{service}-p{profile}-s{session_id:016x}-mapping`
//! (and for HYBRID the auto-reset events `...-req_event` / `...-resp_event`),
//! `hash` being FNV-1a 64 of `run_dir + "\n" + service + "\n" + auth_token`
//! (see `names.rs`). A name that already exists is refused (someone else
//! owns it); the server then continues on the Named Pipe baseline when the
//! client supports it. The client opens the objects after the HELLO_ACK,
//! retrying while the mapping does not exist yet, up to
//! `ClientConfig::shm_attach_timeout`.
//!
//! # Region
//!
//! A 128-byte header ([`layout`]), then the request area and the response
//! area, each `align64(32 + agreed payload)` bytes: one whole message
//! (envelope + payload, batches included, never chunked) per direction.
//! The client copies the header once at attach and validates it as
//! hostile input (magic, version, header_len, the negotiated profile,
//! aligned offsets, non-overlapping areas inside the mapping, capacities
//! large enough for the agreed budgets); afterwards both sides use private
//! copies of offsets, capacities and `spin_tries`.
//!
//! # Publication and waiting
//!
//! A sender copies the message into its area, stores the length and
//! increments the sequence word (interlocked; the increment publishes),
//! then signals the peer's event if the peer announced it sleeps (HYBRID).
//! A HYBRID receiver spins `spin_tries` times on the sequence, sets its
//! waiting flag, re-checks, and sleeps on its event together with the
//! abort handle's event, in slices of [`WAIT_SLICE_MS`] under the
//! deadline; between slices it checks the peer's close flag and the
//! session pipe (a peer that died without closing). A BUSYWAIT receiver
//! only spins, and every [`BUSYWAIT_DEADLINE_POLL_MASK`]` + 1` iterations
//! checks the close flag, the abort, the deadline and the pipe and yields
//! its thread. The message is copied out at once; the sequence and length
//! are read again after the copy, and a change is
//! [`Violation::ShmTorn`](crate::Violation::ShmTorn).
//!
//! # Close
//!
//! Dropping a region sets this side's close flag (`req_client_closed` /
//! `resp_server_closed`) and signals the peer's event; the peer's next
//! receive returns [`Error::PeerClosed`](crate::Error::PeerClosed). The
//! kernel objects disappear with the last handle.

pub mod layout;
mod names;
mod objects;
mod region;
mod wait;

pub use layout::{
    MAX_SPIN_TRIES, REGION_ALIGNMENT, REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, RegionInfo,
    RegionLayout,
};
pub use names::OBJECT_NAME_MAX;
pub(crate) use region::WinShmRegion;

/// BUSYWAIT waiters check deadline, abort and peer every
/// `BUSYWAIT_DEADLINE_POLL_MASK + 1` spins (and yield the thread).
pub const BUSYWAIT_DEADLINE_POLL_MASK: u32 = 1023;

/// Longest single HYBRID kernel wait (ms) before the peer's pipe is
/// checked again; the event and the abort wake the waiter at once.
pub const WAIT_SLICE_MS: u32 = 100;

#[cfg(test)]
mod tests;
