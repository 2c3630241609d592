//! The crate-level error type.
//!
//! Every fallible operation in netipc returns [`Error`]. Byte-level
//! validation failures (wire framing and method payloads) are reported as a
//! [`DecodeError`] naming the exact rule that failed; transport-level rule
//! violations (chunk sequencing, message ids, SHM publication) are reported
//! as a [`Violation`]. Both are small `Copy` values so that hot paths never
//! allocate to report them.

use std::io;

/// A structural validation failure in received bytes.
///
/// Produced by the pure `wire` and `codec` decoders. Each variant names one
/// rule; `what` strings name the field or area that broke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer is shorter than a fixed header or a declared area.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes required.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A magic number does not match.
    #[error("bad magic: expected {expected:#010x}, found {found:#010x}")]
    BadMagic {
        /// The magic the structure requires.
        expected: u32,
        /// The magic found in the bytes.
        found: u32,
    },
    /// The envelope `version` field is not supported.
    #[error("unsupported version {found}")]
    BadVersion {
        /// The version found.
        found: u16,
    },
    /// The envelope `header_len` field is not 32.
    #[error("bad header_len {found}")]
    BadHeaderLen {
        /// The header length found.
        found: u16,
    },
    /// The envelope `kind` is not REQUEST, RESPONSE or CONTROL.
    #[error("unknown message kind {found}")]
    BadKind {
        /// The kind found.
        found: u16,
    },
    /// A payload `layout_version` is not supported.
    #[error("unsupported layout_version {found} in {what}")]
    BadLayoutVersion {
        /// The structure being read.
        what: &'static str,
        /// The layout version found.
        found: u16,
    },
    /// A reserved, flags or padding field is not zero.
    #[error("non-zero reserved field {field}")]
    NonZeroReserved {
        /// The field name.
        field: &'static str,
    },
    /// An offset/length pair points outside its area (or overflows).
    #[error("{what} out of bounds")]
    OutOfBounds {
        /// The field or area.
        what: &'static str,
    },
    /// A string is missing its trailing NUL.
    #[error("{what} missing trailing NUL")]
    MissingNul {
        /// The string field.
        what: &'static str,
    },
    /// A string contains a NUL before its end.
    #[error("{what} contains an interior NUL")]
    InteriorNul {
        /// The string field.
        what: &'static str,
    },
    /// Two regions that must be disjoint overlap.
    #[error("{what} overlap")]
    Overlap {
        /// The regions.
        what: &'static str,
    },
    /// An offset is not aligned as required.
    #[error("{what} misaligned")]
    BadAlignment {
        /// The field or area.
        what: &'static str,
    },
    /// An item count is inconsistent with the bytes or not allowed.
    #[error("bad item count: {what}")]
    BadItemCount {
        /// What is inconsistent.
        what: &'static str,
    },
    /// A status (or other closed enum) value is not defined.
    #[error("unknown {what} value {found}")]
    UnknownStatus {
        /// The enum field.
        what: &'static str,
        /// The value found.
        found: u32,
    },
    /// A length field is outside its allowed range.
    #[error("bad length: {what}")]
    BadLength {
        /// The field and rule.
        what: &'static str,
    },
    /// A field combination violates a method-specific rule.
    #[error("invalid field: {rule}")]
    InvalidField {
        /// The rule broken.
        rule: &'static str,
    },
}

/// A transport protocol rule broken by the peer (or by the caller).
///
/// A violation ends the session it happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// A chunk continuation carried another message id.
    #[error("chunk message_id mismatch")]
    ChunkMessageId,
    /// A chunk continuation arrived out of order.
    #[error("chunk index out of sequence")]
    ChunkIndex,
    /// A chunk continuation disagrees on the chunk count.
    #[error("chunk count mismatch")]
    ChunkCount,
    /// A chunk continuation disagrees on the total message length.
    #[error("chunk total_message_len mismatch")]
    ChunkTotalLen,
    /// A chunk's declared payload length disagrees with the packet.
    #[error("chunk payload length mismatch")]
    ChunkPayloadLen,
    /// A packet is shorter or longer than its header declares.
    #[error("packet length does not match header")]
    PacketLength,
    /// The message kind is not the one expected in this direction/state.
    #[error("unexpected message kind")]
    UnexpectedKind,
    /// The message code is not the one expected.
    #[error("unexpected message code")]
    UnexpectedCode,
    /// A response carried a message id that is not in flight.
    #[error("response for unknown message_id")]
    UnknownMessageId,
    /// The caller submitted a message id that is already in flight.
    #[error("duplicate in-flight message_id")]
    DuplicateMessageId,
    /// A second message was sent on SHM before the previous answer.
    #[error("message already in flight on this SHM session")]
    ShmBusy,
    /// A published SHM length is zero, over capacity or inconsistent.
    #[error("bad SHM published length")]
    ShmLength,
    /// An SHM publication (sequence or length) changed while it was being
    /// copied out: the peer wrote a message that was not yet consumed.
    #[error("SHM publication changed during the copy")]
    ShmTorn,
    /// The SHM region was truncated or faulted under us.
    #[error("SHM region faulted (peer truncated it)")]
    ShmFault,
    /// The handshake reply was malformed.
    #[error("malformed handshake")]
    Handshake,
    /// A BATCH message with item_count 0.
    #[error("batch with zero items")]
    EmptyBatch,
    /// A response's item count disagrees with its request.
    #[error("response item count mismatch")]
    ItemCountMismatch,
    /// A lookup response item does not echo its request key.
    #[error("echoed key mismatch")]
    EchoMismatch,
    /// Stitched lookup subresponses carry different generations.
    #[error("generation changed between subresponses")]
    GenerationMismatch,
    /// The peer's answer is structurally fine but semantically wrong.
    #[error("unexpected response")]
    UnexpectedResponse,
}

/// Which negotiated limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// Request payload bytes.
    RequestPayload,
    /// Response payload bytes.
    ResponsePayload,
    /// Request batch items.
    RequestItems,
    /// Response batch items.
    ResponseItems,
    /// A logical lookup ceiling (items, subcalls or stitched bytes).
    LookupCeiling,
    /// A locally configured ceiling (allocation, mapping).
    Local,
}

/// The one error type of the crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Received bytes failed structural validation.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),
    /// The peer broke a transport rule; the session is unusable.
    #[error("protocol violation: {0}")]
    Protocol(#[from] Violation),
    /// A negotiated or configured limit was exceeded.
    #[error("limit exceeded ({limit:?}): {actual} > {max}")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The limit in force.
        max: u64,
        /// The value that exceeded it.
        actual: u64,
    },
    /// The operation did not complete before its deadline.
    #[error("timed out")]
    Timeout,
    /// The operation was aborted through an abort handle.
    #[error("aborted")]
    Aborted,
    /// The peer closed the connection.
    #[error("peer closed the connection")]
    PeerClosed,
    /// No provider is listening at the endpoint.
    #[error("service not found")]
    NotFound,
    /// The endpoint is already served by a live server.
    #[error("address in use")]
    AddressInUse,
    /// The server rejected our auth token.
    #[error("authentication failed")]
    AuthFailed,
    /// Protocol versions, layouts or packet sizes are incompatible.
    #[error("incompatible peer")]
    Incompatible,
    /// No common profile, or the method is not served.
    #[error("unsupported")]
    Unsupported,
    /// The peer answered with a non-OK transport status.
    #[error("peer returned transport status {0}")]
    Status(u16),
    /// The SHM region is not ready yet (retryable).
    #[error("SHM region not ready")]
    ShmNotReady,
    /// Attaching the negotiated SHM region failed (reconnect without SHM).
    #[error("SHM attach failed: {0}")]
    ShmAttach(&'static str),
    /// Allocating backing storage for an SHM region failed.
    #[error("SHM allocation failed: {0}")]
    ShmAllocate(#[source] io::Error),
    /// A caller-supplied argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The object is not in a state that allows the operation.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// A request handler failed on the server side.
    #[error("handler failed")]
    HandlerFailed,
    /// An operating-system error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

#[cfg(unix)]
impl From<rustix::io::Errno> for Error {
    fn from(e: rustix::io::Errno) -> Self {
        Error::Io(e.into())
    }
}

/// Shorthand for `Result<T, netipc::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
