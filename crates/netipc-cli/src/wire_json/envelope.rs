//! The envelope structures: outer header, chunk header, HELLO, HELLO_ACK,
//! and transport packets (a header or chunk header plus raw bytes).

use serde::Serialize;
use serde_json::Value;

use netipc::protocol::{
    HEADER_LEN, HEADER_LEN_U16, LAYOUT_VERSION, MAGIC_CHUNK, MAGIC_MSG, VERSION, kind_name,
    status_name,
};
use netipc::wire::{ChunkHeader, Header, Hello, HelloAck};

use super::fields::{
    HEADER_FLAGS, PROFILES, Sym, bit_mask, bits, code, code_name, fixed, hex, kind, opt_uint,
    status, sym, to_hex, uint,
};
use super::{WireError, at};
use crate::json::{JsonError, JsonResult, Obj};

/// `"0x4e495043"`: how a magic is printed.
fn magic(m: u32) -> String {
    format!("{m:#010x}")
}

// ---------------------------------------------------------------------------
// Outer header

/// The outer message header (`header` type), every field of the 32 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderJson {
    /// `"0x4e495043"` ("NIPC").
    pub magic: String,
    /// Envelope version (1).
    pub version: u16,
    /// Header length (32).
    pub header_len: u16,
    /// `REQUEST`, `RESPONSE` or `CONTROL`.
    pub kind: Sym,
    /// Flag names (`"BATCH"`), or `0`.
    pub flags: Sym,
    /// Method name (`"CGROUPS_SNAPSHOT"`) or control opcode (`"HELLO"`);
    /// a number when unknown.
    pub code: Sym,
    /// Transport status name (`"OK"`), a number when unknown.
    pub transport_status: Sym,
    /// Payload bytes after the header.
    pub payload_len: u32,
    /// 1 for a single message, N for a batch.
    pub item_count: u32,
    /// Request/response correlation id.
    pub message_id: u64,
}

impl From<&Header> for HeaderJson {
    fn from(h: &Header) -> Self {
        Self {
            magic: magic(MAGIC_MSG),
            version: VERSION,
            header_len: HEADER_LEN_U16,
            kind: sym(h.kind, kind_name(h.kind)),
            flags: bits(h.flags.into(), HEADER_FLAGS),
            code: sym(h.code, code_name(h.kind, h.code)),
            transport_status: sym(h.transport_status, status_name(h.transport_status)),
            payload_len: h.payload_len,
            item_count: h.item_count,
            message_id: h.message_id,
        }
    }
}

const HEADER_FIELDS: &[&str] = &[
    "magic",
    "version",
    "header_len",
    "kind",
    "flags",
    "code",
    "transport_status",
    "payload_len",
    "item_count",
    "message_id",
];

/// Reads a header; `payload_len` may be missing only when `payload_len`
/// is `None`-able (a whole message computes it).
pub(crate) fn header_from_json(v: &Value, path: &str) -> JsonResult<(Header, Option<u32>)> {
    let o = Obj::new(v, path.to_owned(), HEADER_FIELDS)?;
    fixed(&o, "magic", MAGIC_MSG.into())?;
    fixed(&o, "version", VERSION.into())?;
    fixed(&o, "header_len", HEADER_LEN_U16.into())?;
    let kind = kind(&o, "kind")?;
    let h = Header {
        kind,
        flags: bit_mask(&o, "flags", HEADER_FLAGS)?,
        code: code(&o, "code", kind)?,
        transport_status: status(&o, "transport_status")?,
        payload_len: 0,
        item_count: uint(&o, "item_count")?,
        message_id: uint(&o, "message_id")?,
    };
    Ok((h, opt_uint(&o, "payload_len")?))
}

/// Decodes a 32-byte outer header.
pub(crate) fn decode_header(bytes: &[u8]) -> Result<HeaderJson, WireError> {
    let h = Header::decode(bytes).map_err(at(""))?;
    Ok(HeaderJson::from(&h))
}

/// Encodes a standalone header (`payload_len` required).
pub(crate) fn encode_header(v: &Value) -> Result<Vec<u8>, WireError> {
    let (mut h, len) = header_from_json(v, "")?;
    h.payload_len = len.ok_or_else(|| JsonError::new("payload_len", "missing field"))?;
    Ok(h.encode().to_vec())
}

// ---------------------------------------------------------------------------
// Chunk header

/// A chunk continuation header (`chunk-header` type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChunkHeaderJson {
    /// `"0x4e43484b"` ("NCHK").
    pub magic: String,
    /// Envelope version (1).
    pub version: u16,
    /// Reserved (0).
    pub flags: u16,
    /// The id of the message being continued.
    pub message_id: u64,
    /// Outer header + payload size of the whole message.
    pub total_message_len: u32,
    /// This chunk's sequence number (continuations start at 1).
    pub chunk_index: u32,
    /// Number of packets of the message, the first included.
    pub chunk_count: u32,
    /// Payload bytes in this chunk.
    pub chunk_payload_len: u32,
}

impl From<&ChunkHeader> for ChunkHeaderJson {
    fn from(c: &ChunkHeader) -> Self {
        Self {
            magic: magic(MAGIC_CHUNK),
            version: VERSION,
            flags: 0,
            message_id: c.message_id,
            total_message_len: c.total_message_len,
            chunk_index: c.chunk_index,
            chunk_count: c.chunk_count,
            chunk_payload_len: c.chunk_payload_len,
        }
    }
}

fn chunk_from_json(v: &Value, path: &str) -> JsonResult<ChunkHeader> {
    let o = Obj::new(
        v,
        path.to_owned(),
        &[
            "magic",
            "version",
            "flags",
            "message_id",
            "total_message_len",
            "chunk_index",
            "chunk_count",
            "chunk_payload_len",
        ],
    )?;
    fixed(&o, "magic", MAGIC_CHUNK.into())?;
    fixed(&o, "version", VERSION.into())?;
    fixed(&o, "flags", 0)?;
    Ok(ChunkHeader {
        message_id: uint(&o, "message_id")?,
        total_message_len: uint(&o, "total_message_len")?,
        chunk_index: uint(&o, "chunk_index")?,
        chunk_count: uint(&o, "chunk_count")?,
        chunk_payload_len: uint(&o, "chunk_payload_len")?,
    })
}

/// Decodes a 32-byte chunk header.
pub(crate) fn decode_chunk_header(bytes: &[u8]) -> Result<ChunkHeaderJson, WireError> {
    let c = ChunkHeader::decode(bytes).map_err(at(""))?;
    Ok(ChunkHeaderJson::from(&c))
}

/// Encodes a chunk header.
pub(crate) fn encode_chunk_header(v: &Value) -> Result<Vec<u8>, WireError> {
    Ok(chunk_from_json(v, "")?.encode().to_vec())
}

// ---------------------------------------------------------------------------
// HELLO / HELLO_ACK

/// A HELLO payload (`hello` type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HelloJson {
    /// Payload layout version (1).
    pub layout_version: u16,
    /// Reserved (0).
    pub flags: u16,
    /// Profiles the client supports (`"UDS_SEQPACKET|SHM_HYBRID"`).
    pub supported_profiles: Sym,
    /// Profiles the client prefers.
    pub preferred_profiles: Sym,
    /// Proposed request payload ceiling.
    pub max_request_payload_bytes: u32,
    /// Proposed request batch-item ceiling.
    pub max_request_batch_items: u32,
    /// Response payload ceiling hint.
    pub max_response_payload_bytes: u32,
    /// Response batch-item ceiling hint.
    pub max_response_batch_items: u32,
    /// Authentication token.
    pub auth_token: u64,
    /// The client's packet size.
    pub packet_size: u32,
}

impl From<&Hello> for HelloJson {
    fn from(h: &Hello) -> Self {
        Self {
            layout_version: LAYOUT_VERSION,
            flags: 0,
            supported_profiles: bits(h.supported_profiles, PROFILES),
            preferred_profiles: bits(h.preferred_profiles, PROFILES),
            max_request_payload_bytes: h.max_request_payload_bytes,
            max_request_batch_items: h.max_request_batch_items,
            max_response_payload_bytes: h.max_response_payload_bytes,
            max_response_batch_items: h.max_response_batch_items,
            auth_token: h.auth_token,
            packet_size: h.packet_size,
        }
    }
}

pub(crate) fn hello_from_json(v: &Value, path: &str) -> JsonResult<Hello> {
    let o = Obj::new(
        v,
        path.to_owned(),
        &[
            "layout_version",
            "flags",
            "supported_profiles",
            "preferred_profiles",
            "max_request_payload_bytes",
            "max_request_batch_items",
            "max_response_payload_bytes",
            "max_response_batch_items",
            "auth_token",
            "packet_size",
        ],
    )?;
    fixed(&o, "layout_version", LAYOUT_VERSION.into())?;
    fixed(&o, "flags", 0)?;
    Ok(Hello {
        supported_profiles: bit_mask(&o, "supported_profiles", PROFILES)?,
        preferred_profiles: bit_mask(&o, "preferred_profiles", PROFILES)?,
        max_request_payload_bytes: uint(&o, "max_request_payload_bytes")?,
        max_request_batch_items: uint(&o, "max_request_batch_items")?,
        max_response_payload_bytes: uint(&o, "max_response_payload_bytes")?,
        max_response_batch_items: uint(&o, "max_response_batch_items")?,
        auth_token: uint(&o, "auth_token")?,
        packet_size: uint(&o, "packet_size")?,
    })
}

/// A HELLO_ACK payload (`hello-ack` type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HelloAckJson {
    /// Payload layout version (1).
    pub layout_version: u16,
    /// Reserved (0).
    pub flags: u16,
    /// Profiles the server supports.
    pub server_supported_profiles: Sym,
    /// Client and server supported profiles.
    pub intersection_profiles: Sym,
    /// The profile chosen for the session.
    pub selected_profile: Sym,
    /// Final request payload limit.
    pub agreed_max_request_payload_bytes: u32,
    /// Final request batch-item limit.
    pub agreed_max_request_batch_items: u32,
    /// Final response payload limit.
    pub agreed_max_response_payload_bytes: u32,
    /// Final response batch-item limit.
    pub agreed_max_response_batch_items: u32,
    /// Final packet size.
    pub agreed_packet_size: u32,
    /// Server-assigned session id.
    pub session_id: u64,
}

impl From<&HelloAck> for HelloAckJson {
    fn from(a: &HelloAck) -> Self {
        Self {
            layout_version: LAYOUT_VERSION,
            flags: 0,
            server_supported_profiles: bits(a.server_supported_profiles, PROFILES),
            intersection_profiles: bits(a.intersection_profiles, PROFILES),
            selected_profile: bits(a.selected_profile, PROFILES),
            agreed_max_request_payload_bytes: a.agreed_max_request_payload_bytes,
            agreed_max_request_batch_items: a.agreed_max_request_batch_items,
            agreed_max_response_payload_bytes: a.agreed_max_response_payload_bytes,
            agreed_max_response_batch_items: a.agreed_max_response_batch_items,
            agreed_packet_size: a.agreed_packet_size,
            session_id: a.session_id,
        }
    }
}

pub(crate) fn hello_ack_from_json(v: &Value, path: &str) -> JsonResult<HelloAck> {
    let o = Obj::new(
        v,
        path.to_owned(),
        &[
            "layout_version",
            "flags",
            "server_supported_profiles",
            "intersection_profiles",
            "selected_profile",
            "agreed_max_request_payload_bytes",
            "agreed_max_request_batch_items",
            "agreed_max_response_payload_bytes",
            "agreed_max_response_batch_items",
            "agreed_packet_size",
            "session_id",
        ],
    )?;
    fixed(&o, "layout_version", LAYOUT_VERSION.into())?;
    fixed(&o, "flags", 0)?;
    Ok(HelloAck {
        server_supported_profiles: bit_mask(&o, "server_supported_profiles", PROFILES)?,
        intersection_profiles: bit_mask(&o, "intersection_profiles", PROFILES)?,
        selected_profile: bit_mask(&o, "selected_profile", PROFILES)?,
        agreed_max_request_payload_bytes: uint(&o, "agreed_max_request_payload_bytes")?,
        agreed_max_request_batch_items: uint(&o, "agreed_max_request_batch_items")?,
        agreed_max_response_payload_bytes: uint(&o, "agreed_max_response_payload_bytes")?,
        agreed_max_response_batch_items: uint(&o, "agreed_max_response_batch_items")?,
        agreed_packet_size: uint(&o, "agreed_packet_size")?,
        session_id: uint(&o, "session_id")?,
    })
}

// ---------------------------------------------------------------------------
// Packets

/// One transport packet (`packet` type): the first packet of a message
/// (outer header + the first payload bytes) or a continuation (chunk header
/// + payload bytes). `data` is hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PacketJson {
    /// A first (or only) packet.
    First {
        /// The outer header.
        header: HeaderJson,
        /// The payload bytes this packet carries, as hex.
        data: String,
    },
    /// A continuation packet.
    Continuation {
        /// The chunk header.
        chunk_header: ChunkHeaderJson,
        /// The payload bytes this chunk carries, as hex.
        data: String,
    },
}

/// Decodes a packet, telling the two kinds apart by their magic. A first
/// packet may carry fewer payload bytes than `payload_len` (the rest
/// follows in chunks) but not more; a continuation must carry exactly
/// `chunk_payload_len` bytes.
pub(crate) fn decode_packet(bytes: &[u8]) -> Result<PacketJson, WireError> {
    let data = bytes.get(HEADER_LEN..).unwrap_or_default();
    let magic = bytes
        .get(..4)
        .and_then(|m| <[u8; 4]>::try_from(m).ok())
        .map(u32::from_ne_bytes);
    if magic == Some(MAGIC_CHUNK) {
        let c = ChunkHeader::decode(bytes).map_err(at("chunk_header"))?;
        if data.len() != c.chunk_payload_len as usize {
            return Err(WireError::decode(
                "data",
                netipc::DecodeError::BadLength {
                    what: "chunk data must be exactly chunk_payload_len bytes",
                },
            ));
        }
        return Ok(PacketJson::Continuation {
            chunk_header: ChunkHeaderJson::from(&c),
            data: to_hex(data),
        });
    }
    let h = Header::decode(bytes).map_err(at("header"))?;
    if data.len() > h.payload_len as usize {
        return Err(WireError::decode(
            "data",
            netipc::DecodeError::BadLength {
                what: "a first packet must not carry more than payload_len bytes",
            },
        ));
    }
    Ok(PacketJson::First {
        header: HeaderJson::from(&h),
        data: to_hex(data),
    })
}

/// Encodes a packet (`payload_len` of a first packet is required: it is
/// the whole message's, not this packet's).
pub(crate) fn encode_packet(v: &Value) -> Result<Vec<u8>, WireError> {
    let root = Obj::new(v, String::new(), &["header", "chunk_header", "data"])?;
    let data = hex(&root, "data")?;
    let mut out = match (root.opt("header"), root.opt("chunk_header")) {
        (Some(h), None) => {
            let (mut h, len) = header_from_json(h, "header")?;
            h.payload_len =
                len.ok_or_else(|| JsonError::new("header.payload_len", "missing field"))?;
            h.encode().to_vec()
        }
        (None, Some(c)) => chunk_from_json(c, "chunk_header")?.encode().to_vec(),
        _ => {
            return Err(JsonError::new(
                "",
                "a packet has exactly one of `header` (first packet) or `chunk_header` (continuation)",
            )
            .into());
        }
    };
    out.extend_from_slice(&data);
    Ok(out)
}
