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
    pub fn help(self) -> String {
        let text = match self {
            WireType::Header => "32-byte outer message header",
            WireType::ChunkHeader => "32-byte chunk continuation header",
            WireType::Hello => "HELLO payload (44 bytes)",
            WireType::HelloAck => "HELLO_ACK payload (48 bytes)",
            WireType::Batch => "batch payload: item directory + packed items (needs --items)",
            WireType::Message => "whole message: header + payload, decoded by kind and code",
            WireType::Packet => "one transport packet: header or chunk header + payload bytes",
            WireType::Payload(k) => {
                let dir = if k.is_response() {
                    "response"
                } else {
                    "request"
                };
                let method = netipc::protocol::method_name(k.method()).unwrap_or("method");
                return format!("{method} {dir} payload");
            }
        };
        text.to_owned()
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
    /// The decoded JSON does not encode as printed: a derived field
    /// (`payload_len`, a batch item's `offset` or `length`) disagrees with
    /// the canonical layout, or a string shown lossily now breaks a rule.
    /// The message names the field.
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
            Canonical::NotEncodable(e) => Some(format!("the input is not canonical: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (type, batch item count, bytes) of some canonical inputs.
    fn seeds() -> Vec<(WireType, Option<u32>, &'static [u8])> {
        macro_rules! v {
            ($f:literal) => {
                include_bytes!(concat!("../../../../testdata/conformance/vectors/", $f)).as_slice()
            };
        }
        let p = |k| WireType::Payload(k);
        use PayloadKind as K;
        vec![
            (WireType::Header, None, v!("header.bin")),
            (WireType::ChunkHeader, None, v!("chunk_header.bin")),
            (WireType::Hello, None, v!("hello.bin")),
            (WireType::HelloAck, None, v!("hello_ack.bin")),
            (WireType::Batch, Some(3), v!("batch_string_reverse_3.bin")),
            (WireType::Message, None, v!("msg_increment_batch3_req.bin")),
            (
                WireType::Message,
                None,
                v!("msg_snapshot_limit_exceeded_resp.bin"),
            ),
            (WireType::Packet, None, v!("msg_increment_req.bin")),
            (p(K::IncrementRequest), None, v!("increment_req.bin")),
            (
                p(K::StringReverseRequest),
                None,
                v!("string_reverse_req.bin"),
            ),
            (p(K::CgroupsSnapshotRequest), None, v!("cgroups_req.bin")),
            (p(K::CgroupsSnapshotResponse), None, v!("cgroups_resp.bin")),
            (
                p(K::CgroupsLookupRequest),
                None,
                v!("cgroups_lookup_req.bin"),
            ),
            (
                p(K::CgroupsLookupResponse),
                None,
                v!("cgroups_lookup_resp_known_with_labels.bin"),
            ),
            (p(K::AppsLookupRequest), None, v!("apps_lookup_req.bin")),
            (
                p(K::AppsLookupResponse),
                None,
                v!("apps_lookup_resp_known_full.bin"),
            ),
        ]
    }

    /// Decoding never panics; whatever decodes re-encodes, and the
    /// re-encoded bytes decode to the same JSON (encoding is canonical and
    /// idempotent).
    fn check(ty: WireType, items: Option<u32>, method: Option<PayloadKind>, bytes: &[u8]) {
        let opts = DecodeOptions { items, method };
        let Ok(decoded) = decode(ty, bytes, &opts) else {
            return;
        };
        let mut value = serde_json::to_value(&decoded).unwrap();
        let (canonical, stripped) = match encode(ty, &value) {
            Ok(c) => (c, false),
            Err(WireError::Json(e)) if e.message.contains("omit it to compute") => {
                // Derived fields of a non-canonical input: without them the
                // JSON encodes.
                strip_derived(ty, &mut value);
                let c = encode(ty, &value).expect("JSON without derived fields encodes");
                (c, true)
            }
            // A string shown lossily may break a codec rule (e.g. `comm`
            // grows past 15 bytes with U+FFFD).
            Err(WireError::Encode { .. }) => return,
            Err(e) => panic!("decoded JSON does not encode: {e}"),
        };
        let again = decode(ty, &canonical, &opts).expect("canonical bytes decode");
        if !stripped {
            assert_eq!(again, decoded);
        }
        assert_eq!(Canonical::check(ty, &canonical, &again), Canonical::Same);
        let note = Canonical::check(ty, bytes, &decoded).note(bytes.len());
        assert_eq!(note.is_none(), canonical == bytes);
    }

    /// Removes the fields the encoder derives: a message's `payload_len`
    /// and every batch item's `offset` and `length`.
    fn strip_derived(ty: WireType, v: &mut serde_json::Value) {
        if ty == WireType::Message {
            if let Some(h) = v.get_mut("header").and_then(|h| h.as_object_mut()) {
                h.remove("payload_len");
            }
        }
        let batch = match ty {
            WireType::Batch => Some(v),
            WireType::Message => v.get_mut("payload"),
            _ => None,
        };
        if let Some(items) = batch
            .and_then(|b| b.get_mut("items"))
            .and_then(|i| i.as_array_mut())
        {
            for it in items.iter_mut().filter_map(|i| i.as_object_mut()) {
                it.remove("offset");
                it.remove("length");
            }
        }
    }

    #[test]
    fn seeds_are_canonical() {
        for (ty, items, bytes) in seeds() {
            let method = items.map(|_| PayloadKind::StringReverseRequest);
            let decoded = decode(ty, bytes, &DecodeOptions { items, method }).unwrap();
            assert_eq!(
                Canonical::check(ty, bytes, &decoded),
                Canonical::Same,
                "{ty}"
            );
            check(ty, items, method, bytes);
        }
    }

    #[test]
    fn names_round_trip() {
        for t in WireType::ALL {
            assert_eq!(WireType::from_name(t.name()), Some(t));
        }
        for k in PayloadKind::ALL {
            assert_eq!(
                PayloadKind::for_method(k.method(), k.is_response()),
                Some(k)
            );
        }
        assert_eq!(PayloadKind::for_method(99, false), None);
        assert!(matches!(
            decode(WireType::Batch, &[], &DecodeOptions::default()),
            Err(WireError::Options(_))
        ));
    }

    #[test]
    fn documented_shapes_encode() {
        let doc = include_str!("../../../../docs/wire-json.md");
        let mut checked = Vec::new();
        for section in doc.split("\n### `").skip(1) {
            let Some((name, body)) = section.split_once('`') else {
                continue;
            };
            let Some(ty) = WireType::from_name(name) else {
                continue;
            };
            let Some(block) = body
                .split("```json\n")
                .nth(1)
                .and_then(|b| b.split("```").next())
            else {
                continue;
            };
            let bytes = encode_text(ty, block).unwrap_or_else(|e| panic!("{name}: {e}"));
            let items = (ty == WireType::Batch).then_some(3);
            let decoded = decode(
                ty,
                &bytes,
                &DecodeOptions {
                    items,
                    method: None,
                },
            )
            .unwrap();
            assert_eq!(
                encode(ty, &serde_json::to_value(decoded).unwrap()).unwrap(),
                bytes
            );
            checked.push(name);
        }
        assert_eq!(
            checked,
            [
                "header",
                "chunk-header",
                "hello",
                "hello-ack",
                "batch",
                "message",
                "packet"
            ]
        );
    }

    #[test]
    fn lossy_strings_are_noted() {
        let mut b = Vec::new();
        netipc::codec::string_reverse::encode_string_reverse(&[b'a', 0xff], &mut b).unwrap();
        let ty = WireType::Payload(PayloadKind::StringReverseResponse);
        let d = decode(ty, &b, &DecodeOptions::default()).unwrap();
        let c = Canonical::check(ty, &b, &d);
        assert!(matches!(c, Canonical::Differs { offset: 4, .. }), "{c:?}");
        assert!(c.note(b.len()).unwrap().contains("not canonical"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            t in 0..WireType::ALL.len(),
            items in 0u32..6,
        ) {
            let ty = WireType::ALL[t];
            check(ty, Some(items), None, &bytes);
            check(ty, Some(items), Some(PayloadKind::IncrementRequest), &bytes);
        }

        #[test]
        fn mutated_vectors_never_panic(
            seed in 0usize..16,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let (ty, items, bytes) = seeds()[seed % seeds().len()];
            let mut b = bytes.to_vec();
            for (at, val) in edits {
                let i = at.index(b.len());
                b[i] = val;
            }
            if truncate {
                b.truncate(cut.index(b.len() + 1));
            }
            let method = items.map(|_| PayloadKind::StringReverseRequest);
            check(ty, items, method, &b);
        }
    }
}
