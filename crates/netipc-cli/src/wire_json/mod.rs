//! JSON shapes of every wire structure, for `netipc decode` (bytes to
//! JSON) and `netipc encode` (JSON to canonical bytes).
//!
//! Field names are the specification's, the same as in
//! `testdata/conformance/vectors.json`. Values:
//!
//! - enums by specification name: `kind` (`"REQUEST"`), `code`
//!   (`"CGROUPS_SNAPSHOT"`, or `"HELLO"` in a control message),
//!   `transport_status` (`"OK"`), lookup statuses and orchestrators; a
//!   value without a name is printed as its number;
//! - bit masks (header `flags`, profiles) as names joined by `|`
//!   (`"UDS_SEQPACKET|SHM_HYBRID"`), unknown bits as hex, `0` as a number;
//! - magics as hex strings (`"0x4e495043"`); every other integer as a JSON
//!   number (input also accepts `"0x..."` strings);
//! - opaque bytes (batch items of an unknown method, error payloads,
//!   packet data) as lower-case hex strings;
//! - the three data service responses in the dataset shapes
//!   (`docs/dataset.md`), so a decoded response can be served with
//!   `netipc serve --data`.
//!
//! Decoding goes through the library's validating decoders: a failure is a
//! [`WireError::Decode`] naming the location and the rule. Encoding goes
//! through the library's encoders and builders, so the output is
//! canonical: for canonical bytes, `encode(decode(x)) == x`. Fields the
//! encoder derives (magics, versions, `payload_len` of a message, batch
//! offsets) may be omitted; when present they must match.
//!
//! `docs/wire-json.md` shows every shape.

mod envelope;
mod fields;
mod message;
mod payload;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use netipc::DecodeError;
use netipc::wire::{Hello, HelloAck};

pub use envelope::{ChunkHeaderJson, HeaderJson, HelloAckJson, HelloJson, PacketJson};
pub use fields::{Sym, from_hex, to_hex};
pub use message::{BatchItemJson, BatchJson, MessageJson, MessagePayloadJson};
pub use payload::{
    AppsLookupRequestJson, CgroupsLookupRequestJson, IncrementJson, PayloadJson, PayloadKind,
    SnapshotRequestJson, StringReverseJson,
};

use crate::json::{JsonError, parse_tree};

/// What `netipc decode` and `netipc encode` read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireType {
    /// The 32-byte outer message header.
    Header,
    /// The 32-byte chunk continuation header.
    ChunkHeader,
    /// A HELLO payload (44 bytes).
    Hello,
    /// A HELLO_ACK payload (48 bytes).
    HelloAck,
    /// A batch payload: item directory + packed items.
    Batch,
    /// A whole message: outer header + payload.
    Message,
    /// One transport packet: a header or chunk header + payload bytes.
    Packet,
    /// One method payload.
    Payload(PayloadKind),
}

impl WireType {
    /// Every type, in the order `--help` lists them.
    pub const ALL: [WireType; 17] = [
        WireType::Header,
        WireType::ChunkHeader,
        WireType::Hello,
        WireType::HelloAck,
        WireType::Batch,
        WireType::Message,
        WireType::Packet,
        WireType::Payload(PayloadKind::ALL[0]),
        WireType::Payload(PayloadKind::ALL[1]),
        WireType::Payload(PayloadKind::ALL[2]),
        WireType::Payload(PayloadKind::ALL[3]),
        WireType::Payload(PayloadKind::ALL[4]),
        WireType::Payload(PayloadKind::ALL[5]),
        WireType::Payload(PayloadKind::ALL[6]),
        WireType::Payload(PayloadKind::ALL[7]),
        WireType::Payload(PayloadKind::ALL[8]),
        WireType::Payload(PayloadKind::ALL[9]),
    ];

    /// The command-line name (`header`, `chunk-header`, ...,
    /// `apps-lookup-response`).
    pub fn name(self) -> &'static str {
        match self {
            WireType::Header => "header",
            WireType::ChunkHeader => "chunk-header",
            WireType::Hello => "hello",
            WireType::HelloAck => "hello-ack",
            WireType::Batch => "batch",
            WireType::Message => "message",
            WireType::Packet => "packet",
            WireType::Payload(k) => k.name(),
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// A one-line description for `--help`.
    pub fn help(self) -> &'static str {
        match self {
            WireType::Header => "32-byte outer message header",
            WireType::ChunkHeader => "32-byte chunk continuation header",
            WireType::Hello => "HELLO payload (44 bytes)",
            WireType::HelloAck => "HELLO_ACK payload (48 bytes)",
            WireType::Batch => "batch payload: item directory + packed items (needs --items)",
            WireType::Message => "whole message: header + payload, decoded by kind and code",
            WireType::Packet => "one transport packet: header or chunk header + payload bytes",
            WireType::Payload(k) if k.is_response() => "method response payload",
            WireType::Payload(_) => "method request payload",
        }
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of [`decode`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The item count of a `batch` (required for it, ignored otherwise).
    pub items: Option<u32>,
    /// The payload type of a `batch`'s items (hex when `None`).
    pub method: Option<PayloadKind>,
}

/// A decoded wire structure, ready to print as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum WireJson {
    /// An outer header.
    Header(HeaderJson),
    /// A chunk header.
    ChunkHeader(ChunkHeaderJson),
    /// A HELLO.
    Hello(HelloJson),
    /// A HELLO_ACK.
    HelloAck(HelloAckJson),
    /// A batch.
    Batch(BatchJson),
    /// A whole message.
    Message(MessageJson),
    /// A transport packet.
    Packet(PacketJson),
    /// A method payload.
    Payload(PayloadJson),
}

/// Why bytes could not be decoded or JSON could not be encoded.
#[derive(Debug)]
pub enum WireError {
    /// The bytes break a rule of the wire format (a protocol error).
    Decode {
        /// Where in the structure (`payload.items[2].payload`), empty for
        /// the whole input.
        location: String,
        /// The rule that failed.
        error: DecodeError,
    },
    /// The JSON does not have the shape of the type.
    Json(JsonError),
    /// The codec refused the values (a rule the wire format imposes on
    /// them, e.g. a `comm` longer than 15 bytes).
    Encode {
        /// Where in the JSON.
        location: String,
        /// The codec's reason.
        error: netipc::Error,
    },
    /// The options do not fit the type (e.g. `batch` without an item
    /// count).
    Options(String),
}

impl WireError {
    /// A decode failure at `location`.
    pub fn decode(location: impl Into<String>, error: DecodeError) -> Self {
        WireError::Decode {
            location: location.into(),
            error,
        }
    }
}

/// Maps a decode error to a [`WireError`] at `location`.
pub(crate) fn at(location: &str) -> impl Fn(DecodeError) -> WireError + '_ {
    move |e| WireError::decode(location, e)
}

impl From<JsonError> for WireError {
    fn from(e: JsonError) -> Self {
        WireError::Json(e)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (location, what): (&str, &dyn fmt::Display) = match self {
            WireError::Decode { location, error } => (location, error),
            WireError::Json(e) => return e.fmt(f),
            WireError::Encode { location, error } => (location, error),
            WireError::Options(m) => return f.write_str(m),
        };
        if location.is_empty() {
            what.fmt(f)
        } else {
            write!(f, "{location}: {what}")
        }
    }
}

impl std::error::Error for WireError {}

/// Decodes `bytes` as a `ty` structure, validating every rule the library
/// checks. Strings that are not UTF-8 are shown lossily (then
/// [`encode`] does not reproduce them).
pub fn decode(ty: WireType, bytes: &[u8], opts: &DecodeOptions) -> Result<WireJson, WireError> {
    Ok(match ty {
        WireType::Header => WireJson::Header(envelope::decode_header(bytes)?),
        WireType::ChunkHeader => WireJson::ChunkHeader(envelope::decode_chunk_header(bytes)?),
        WireType::Hello => WireJson::Hello(HelloJson::from(&Hello::decode(bytes).map_err(at(""))?)),
        WireType::HelloAck => WireJson::HelloAck(HelloAckJson::from(
            &HelloAck::decode(bytes).map_err(at(""))?,
        )),
        WireType::Batch => {
            let count = opts.items.ok_or_else(|| {
                WireError::Options("a batch needs its item count (--items N)".into())
            })?;
            WireJson::Batch(message::decode_batch(bytes, count, opts.method, "")?)
        }
        WireType::Message => WireJson::Message(message::decode_message(bytes)?),
        WireType::Packet => WireJson::Packet(envelope::decode_packet(bytes)?),
        WireType::Payload(kind) => WireJson::Payload(payload::decode_payload(kind, bytes)?),
    })
}

/// Encodes the JSON shape of `ty` (as [`decode`] prints it) into canonical
/// bytes.
pub fn encode(ty: WireType, v: &Value) -> Result<Vec<u8>, WireError> {
    match ty {
        WireType::Header => envelope::encode_header(v),
        WireType::ChunkHeader => envelope::encode_chunk_header(v),
        WireType::Hello => Ok(envelope::hello_from_json(v, "")?.encode().to_vec()),
        WireType::HelloAck => Ok(envelope::hello_ack_from_json(v, "")?.encode().to_vec()),
        WireType::Batch => {
            let mut out = Vec::new();
            message::encode_batch(v, "", None, None, &mut out)?;
            Ok(out)
        }
        WireType::Message => message::encode_message(v),
        WireType::Packet => envelope::encode_packet(v),
        WireType::Payload(kind) => payload::encode_payload(kind, v),
    }
}

/// Parses JSON text (strictly: duplicate keys and unknown fields are
/// errors) and [`encode`]s it.
pub fn encode_text(ty: WireType, text: &str) -> Result<Vec<u8>, WireError> {
    encode(ty, &parse_tree(text)?)
}

/// How decoded bytes compare with the canonical encoding of what was
/// decoded from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Canonical {
    /// The same bytes.
    Same,
    /// The input has bytes after the canonical encoding.
    Trailing(usize),
    /// The input differs (first differing offset, canonical length).
    Differs {
        /// The first offset where the bytes differ.
        offset: usize,
        /// The canonical length.
        canonical_len: usize,
    },
    /// The decoded JSON cannot be encoded again (e.g. lossy strings that
    /// now break a rule).
    NotEncodable(String),
}

impl Canonical {
    /// Compares `input` with `encode(decoded)`.
    pub fn check(ty: WireType, input: &[u8], decoded: &WireJson) -> Canonical {
        let reencoded = serde_json::to_value(decoded)
            .map_err(|e| e.to_string())
            .and_then(|v| encode(ty, &v).map_err(|e| e.to_string()));
        match reencoded {
            Err(e) => Canonical::NotEncodable(e),
            Ok(c) if c == input => Canonical::Same,
            Ok(c) if input.starts_with(&c) => Canonical::Trailing(input.len() - c.len()),
            Ok(c) => Canonical::Differs {
                offset: c
                    .iter()
                    .zip(input)
                    .position(|(a, b)| a != b)
                    .unwrap_or(c.len().min(input.len())),
                canonical_len: c.len(),
            },
        }
    }

    /// A one-line note for a non-canonical input, `None` when canonical.
    pub fn note(&self, input_len: usize) -> Option<String> {
        match self {
            Canonical::Same => None,
            Canonical::Trailing(n) => Some(format!(
                "the last {n} of {input_len} bytes are not part of the decoded structure"
            )),
            Canonical::Differs {
                offset,
                canonical_len,
            } => Some(format!(
                "the input is not canonical: `netipc encode` gives {canonical_len} bytes \
                 (input {input_len}), first difference at byte {offset} \
                 (padding, non-UTF-8 strings or a tolerated layout)"
            )),
            Canonical::NotEncodable(e) => {
                Some(format!("the decoded JSON does not encode again: {e}"))
            }
        }
    }
}
