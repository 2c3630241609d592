//! Protocol constants shared by the wire framing, the codecs and the
//! transports: magics, message kinds, flags, transport statuses, control
//! opcodes, method codes, profile bits and the named payload defaults.
//!
//! No other module spells these numbers.

/// Outer message header magic, "NIPC".
pub const MAGIC_MSG: u32 = 0x4e49_5043;
/// Chunk continuation header magic, "NCHK".
pub const MAGIC_CHUNK: u32 = 0x4e43_484b;
/// POSIX SHM region header magic, "NSHM".
pub const MAGIC_SHM: u32 = 0x4e53_484d;

/// Envelope version (outer header and chunk header).
pub const VERSION: u16 = 1;
/// Size of the outer message header and of the chunk header.
pub const HEADER_LEN: usize = 32;
/// `header_len` field value.
pub const HEADER_LEN_U16: u16 = 32;

/// Message kind: client-to-server request.
pub const KIND_REQUEST: u16 = 1;
/// Message kind: server-to-client response.
pub const KIND_RESPONSE: u16 = 2;
/// Message kind: control message (handshake).
pub const KIND_CONTROL: u16 = 3;

/// Header flag: payload is a batch (directory + packed items).
pub const FLAG_BATCH: u16 = 0x0001;

/// Transport status: OK.
pub const STATUS_OK: u16 = 0;
/// Transport status: malformed header or payload structure.
pub const STATUS_BAD_ENVELOPE: u16 = 1;
/// Transport status: auth token rejected.
pub const STATUS_AUTH_FAILED: u16 = 2;
/// Transport status: version or limit negotiation failed.
pub const STATUS_INCOMPATIBLE: u16 = 3;
/// Transport status: profile or method not supported.
pub const STATUS_UNSUPPORTED: u16 = 4;
/// Transport status: payload or batch count over the negotiated limit.
pub const STATUS_LIMIT_EXCEEDED: u16 = 5;
/// Transport status: unrecoverable internal error.
pub const STATUS_INTERNAL_ERROR: u16 = 6;

/// Control opcode: client HELLO.
pub const CODE_HELLO: u16 = 1;
/// Control opcode: server HELLO_ACK.
pub const CODE_HELLO_ACK: u16 = 2;

/// Method code: INCREMENT (u64 ping-pong test method).
pub const METHOD_INCREMENT: u16 = 1;
/// Method code: CGROUPS_SNAPSHOT.
pub const METHOD_CGROUPS_SNAPSHOT: u16 = 2;
/// Method code: STRING_REVERSE (string ping-pong test method).
pub const METHOD_STRING_REVERSE: u16 = 3;
/// Method code: CGROUPS_LOOKUP.
pub const METHOD_CGROUPS_LOOKUP: u16 = 4;
/// Method code: APPS_LOOKUP.
pub const METHOD_APPS_LOOKUP: u16 = 5;

/// Profile bit 0: UDS SEQPACKET baseline (POSIX) / Named Pipe (Windows).
pub const PROFILE_BASELINE: u32 = 0x01;
/// Profile bit 0 under its POSIX name.
pub const PROFILE_UDS_SEQPACKET: u32 = PROFILE_BASELINE;
/// Profile bit 1: shared memory, spin then wait.
pub const PROFILE_SHM_HYBRID: u32 = 0x02;
/// Profile bit 2: POSIX SHM_FUTEX (reserved) / Windows SHM_BUSYWAIT.
pub const PROFILE_SHM_FUTEX: u32 = 0x04;
/// Profile bit 2 under its Windows name.
pub const PROFILE_SHM_BUSYWAIT: u32 = PROFILE_SHM_FUTEX;
/// Profile bit 3: Windows SHM_WAITADDR.
pub const PROFILE_SHM_WAITADDR: u32 = 0x08;

/// Layout version of every payload defined so far.
pub const LAYOUT_VERSION: u16 = 1;

/// Alignment of batch items and lookup/snapshot items.
pub const ITEM_ALIGN: usize = 8;
/// Size of one batch/lookup directory entry (offset u32 + length u32).
pub const DIR_ENTRY_SIZE: usize = 8;

/// Zero-config single-payload budget in bytes.
pub const MAX_PAYLOAD_DEFAULT: u32 = 1024;
/// Zero-config automatic growth ceiling in bytes.
pub const MAX_PAYLOAD_CAP: u32 = 1_048_576;

/// Returns the spec name of a transport status, or `None` if unknown.
pub fn status_name(status: u16) -> Option<&'static str> {
    Some(match status {
        STATUS_OK => "OK",
        STATUS_BAD_ENVELOPE => "BAD_ENVELOPE",
        STATUS_AUTH_FAILED => "AUTH_FAILED",
        STATUS_INCOMPATIBLE => "INCOMPATIBLE",
        STATUS_UNSUPPORTED => "UNSUPPORTED",
        STATUS_LIMIT_EXCEEDED => "LIMIT_EXCEEDED",
        STATUS_INTERNAL_ERROR => "INTERNAL_ERROR",
        _ => return None,
    })
}

/// Returns the spec name of a method code, or `None` if unknown.
pub fn method_name(code: u16) -> Option<&'static str> {
    Some(match code {
        METHOD_INCREMENT => "INCREMENT",
        METHOD_CGROUPS_SNAPSHOT => "CGROUPS_SNAPSHOT",
        METHOD_STRING_REVERSE => "STRING_REVERSE",
        METHOD_CGROUPS_LOOKUP => "CGROUPS_LOOKUP",
        METHOD_APPS_LOOKUP => "APPS_LOOKUP",
        _ => return None,
    })
}

/// Returns the spec name of a message kind, or `None` if unknown.
pub fn kind_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        KIND_REQUEST => "REQUEST",
        KIND_RESPONSE => "RESPONSE",
        KIND_CONTROL => "CONTROL",
        _ => return None,
    })
}
