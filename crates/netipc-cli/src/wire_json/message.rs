//! Batches (directory + packed items) and whole messages (outer header +
//! payload).

use serde::Serialize;
use serde_json::Value;

use netipc::DecodeError;
use netipc::protocol::{
    CODE_HELLO, CODE_HELLO_ACK, HEADER_LEN, KIND_CONTROL, KIND_REQUEST, KIND_RESPONSE, STATUS_OK,
};
use netipc::wire::{BatchBuilder, BatchView, Header, Hello, HelloAck};

use super::envelope::{
    HeaderJson, HelloAckJson, HelloJson, header_from_json, hello_ack_from_json, hello_from_json,
};
use super::fields::{hex, opt_uint, to_hex};
use super::payload::{PayloadJson, PayloadKind};
use super::{WireError, at};
use crate::json::{JsonError, Obj, join};

// ---------------------------------------------------------------------------
// Batches

/// A batch payload (`batch` type, or the payload of a batched message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchJson {
    /// Number of items (the directory size).
    pub item_count: u32,
    /// The payload type of the items, when they were decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// The items, in directory order.
    pub items: Vec<BatchItemJson>,
}

/// One batch item: where the directory puts it, and its bytes (decoded
/// with the method, or hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchItemJson {
    /// Offset from the start of the packed item area.
    pub offset: u32,
    /// Length in bytes.
    pub length: u32,
    /// The decoded item, when the method is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadJson>,
    /// The raw item bytes as hex, when the method is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

/// Decodes a batch of `count` items whose items are `method` payloads (or
/// raw bytes when `method` is `None`). `path` prefixes error locations.
pub(crate) fn decode_batch(
    bytes: &[u8],
    count: u32,
    method: Option<PayloadKind>,
    path: &str,
) -> Result<BatchJson, WireError> {
    let view = BatchView::decode(bytes, count).map_err(at(path))?;
    let mut items = Vec::with_capacity(view.len());
    for (i, item) in view.iter().enumerate() {
        let (offset, length) = view.dir_entry(i).unwrap_or_default();
        let loc = format!("{}[{i}]", join(path, "items"));
        let (payload, hex) = match method {
            Some(kind) => (
                Some(kind.decode(item).map_err(at(&join(&loc, "payload")))?),
                None,
            ),
            None => (None, Some(to_hex(item))),
        };
        items.push(BatchItemJson {
            offset,
            length,
            payload,
            hex,
        });
    }
    Ok(BatchJson {
        item_count: count,
        method: method.map(PayloadKind::name),
        items,
    })
}

/// Encodes a batch object at `path`. `method` is the item type the context
/// requires (a message's header), if any; the object's own `method`
/// must agree with it. `count`, when given, is the item count the context
/// requires.
pub(crate) fn encode_batch(
    v: &Value,
    path: &str,
    method: Option<PayloadKind>,
    count: Option<u32>,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let o = Obj::new(v, path.to_owned(), &["item_count", "method", "items"])?;
    let method = match (o.opt("method"), method) {
        (None | Some(Value::Null), m) => m,
        (Some(Value::String(s)), m) => {
            let named = PayloadKind::from_name(s).ok_or_else(|| {
                JsonError::new(
                    o.loc("method"),
                    format!(
                        "unknown payload type `{s}` (expected one of {})",
                        PayloadKind::ALL.map(PayloadKind::name).join(", ")
                    ),
                )
            })?;
            if m.is_some_and(|m| m != named) {
                return Err(JsonError::new(
                    o.loc("method"),
                    format!("`{s}` disagrees with the message header"),
                )
                .into());
            }
            Some(named)
        }
        (Some(_), _) => {
            return Err(JsonError::new(o.loc("method"), "must be a payload type name").into());
        }
    };
    let items = o.array("items")?;
    let n =
        u32::try_from(items.len()).map_err(|_| JsonError::new(o.loc("items"), "too many items"))?;
    if let Some(declared) = opt_uint::<u32>(&o, "item_count")? {
        if declared != n {
            return Err(JsonError::new(
                o.loc("item_count"),
                format!("is {declared} but `items` has {n}"),
            )
            .into());
        }
    }
    if let Some(c) = count.filter(|&c| c != n) {
        return Err(JsonError::new(
            o.loc("items"),
            format!("has {n} items but the header's item_count is {c}"),
        )
        .into());
    }
    let base = out.len();
    let mut b = BatchBuilder::new(out, n);
    let mut expected = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let loc = format!("{}[{i}]", o.loc("items"));
        let io = Obj::new(item, loc.clone(), &["offset", "length", "payload", "hex"])?;
        let bytes = match (io.opt("payload"), io.opt("hex"), method) {
            (Some(p), None, Some(kind)) => {
                let mut bytes = Vec::new();
                kind.encode(p, &io.loc("payload"), &mut bytes)?;
                bytes
            }
            (Some(_), None, None) => {
                return Err(JsonError::new(
                    io.loc("payload"),
                    "a decoded item needs the batch `method` (or use `hex`)",
                )
                .into());
            }
            (None, Some(_), _) => hex(&io, "hex")?,
            _ => {
                return Err(
                    JsonError::new(loc, "an item has exactly one of `payload` or `hex`").into(),
                );
            }
        };
        expected.push((
            opt_uint::<u32>(&io, "offset")?,
            opt_uint::<u32>(&io, "length")?,
            loc,
        ));
        b.add(&bytes).map_err(|e| WireError::Encode {
            location: path.to_owned(),
            error: e,
        })?;
    }
    b.finish().map_err(|e| WireError::Encode {
        location: path.to_owned(),
        error: e,
    })?;
    // Offsets and lengths are derived; when given they must match.
    let view = BatchView::decode(&out[base..], n).map_err(at(path))?;
    for (i, (offset, length, loc)) in expected.into_iter().enumerate() {
        let (off, len) = view.dir_entry(i).unwrap_or_default();
        for (given, actual, field) in [(offset, off, "offset"), (length, len, "length")] {
            if let Some(g) = given.filter(|&g| g != actual) {
                return Err(JsonError::new(
                    join(&loc, field),
                    format!(
                        "is {g} but the canonical encoding gives {actual} (omit it to compute)"
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Messages

/// A whole message (`message` type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageJson {
    /// The outer header.
    pub header: HeaderJson,
    /// The payload, decoded according to the header.
    pub payload: MessagePayloadJson,
}

/// A message payload, as the header says to read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MessagePayloadJson {
    /// No payload (`null`), e.g. an error response.
    Empty,
    /// Bytes this program does not interpret (unknown method or control
    /// code, or an error response's payload): `{"hex": "..."}`.
    Raw {
        /// The payload bytes as hex.
        hex: String,
    },
    /// A HELLO.
    Hello(HelloJson),
    /// A HELLO_ACK.
    HelloAck(HelloAckJson),
    /// A single method payload.
    Single(PayloadJson),
    /// A batch of method payloads.
    Batch(BatchJson),
}

/// How a message's payload is read, from its header alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Opaque bytes.
    Raw,
    /// A HELLO payload.
    Hello,
    /// A HELLO_ACK payload.
    HelloAck,
    /// One method payload.
    Single(PayloadKind),
    /// A batch directory; items of the method when it is known.
    Batch(Option<PayloadKind>),
}

/// The payload plan of a message: control payloads by opcode; a request,
/// or a response with status OK, carries method payloads (a batch when
/// `BATCH` is set with `item_count > 1`); an error response's payload is
/// opaque (peers may keep the request's `BATCH` flag and item count on it).
fn plan(h: &Header) -> Result<Plan, DecodeError> {
    if h.kind == KIND_CONTROL {
        return Ok(match h.code {
            CODE_HELLO => Plan::Hello,
            CODE_HELLO_ACK => Plan::HelloAck,
            _ => Plan::Raw,
        });
    }
    let data = h.kind == KIND_REQUEST || h.transport_status == STATUS_OK;
    if !data {
        return Ok(Plan::Raw);
    }
    if h.is_batch_flagged() && h.item_count == 0 {
        return Err(DecodeError::BadItemCount {
            what: "a BATCH message must have item_count >= 1",
        });
    }
    let kind = PayloadKind::for_method(h.code, h.kind == KIND_RESPONSE);
    Ok(if h.has_batch_directory() {
        Plan::Batch(kind)
    } else {
        kind.map_or(Plan::Raw, Plan::Single)
    })
}

/// Decodes a whole message: the file must be exactly `32 + payload_len`
/// bytes.
pub(crate) fn decode_message(bytes: &[u8]) -> Result<MessageJson, WireError> {
    let h = Header::decode(bytes).map_err(at("header"))?;
    let payload = bytes.get(HEADER_LEN..).unwrap_or_default();
    let want = h.payload_len as usize;
    if payload.len() < want {
        return Err(WireError::decode(
            "payload",
            DecodeError::Truncated {
                what: "message payload",
                need: want,
                have: payload.len(),
            },
        ));
    }
    if payload.len() > want {
        return Err(WireError::decode(
            "payload",
            DecodeError::BadLength {
                what: "message has bytes after its payload_len",
            },
        ));
    }
    let plan = plan(&h).map_err(at("header"))?;
    let decoded = if payload.is_empty() && !matches!(plan, Plan::Single(_) | Plan::Batch(_)) {
        MessagePayloadJson::Empty
    } else {
        match plan {
            Plan::Raw => MessagePayloadJson::Raw {
                hex: to_hex(payload),
            },
            Plan::Hello => MessagePayloadJson::Hello(HelloJson::from(
                &Hello::decode(payload).map_err(at("payload"))?,
            )),
            Plan::HelloAck => MessagePayloadJson::HelloAck(HelloAckJson::from(
                &HelloAck::decode(payload).map_err(at("payload"))?,
            )),
            Plan::Single(kind) => {
                MessagePayloadJson::Single(kind.decode(payload).map_err(at("payload"))?)
            }
            Plan::Batch(kind) => {
                MessagePayloadJson::Batch(decode_batch(payload, h.item_count, kind, "payload")?)
            }
        }
    };
    Ok(MessageJson {
        header: HeaderJson::from(&h),
        payload: decoded,
    })
}

/// Encodes a whole message. `header.payload_len` may be omitted (it is
/// computed); when given it must match the encoded payload. The payload is
/// read as the header says (see [`MessagePayloadJson`]); `null` (no
/// payload) and `{"hex": "..."}` (raw bytes) are accepted for any header.
pub(crate) fn encode_message(v: &Value) -> Result<Vec<u8>, WireError> {
    let root = Obj::new(v, String::new(), &["header", "payload"])?;
    let (mut h, declared) = header_from_json(root.req("header")?, "header")?;
    let pv = root.req("payload")?;
    let mut out = vec![0u8; HEADER_LEN];
    let raw = match pv {
        Value::Null => Some(Vec::new()),
        Value::Object(m) if m.len() == 1 && m.contains_key("hex") => {
            Some(hex(&Obj::new(pv, "payload".into(), &["hex"])?, "hex")?)
        }
        _ => None,
    };
    match raw {
        Some(bytes) => out.extend_from_slice(&bytes),
        None => match plan(&h).map_err(|e| JsonError::new("header", e.to_string()))? {
            Plan::Raw => {
                return Err(JsonError::new(
                    "payload",
                    "this header's payload is opaque: use null or {\"hex\": \"...\"}",
                )
                .into());
            }
            Plan::Hello => out.extend_from_slice(&hello_from_json(pv, "payload")?.encode()),
            Plan::HelloAck => out.extend_from_slice(&hello_ack_from_json(pv, "payload")?.encode()),
            Plan::Single(kind) => kind.encode(pv, "payload", &mut out)?,
            Plan::Batch(kind) => encode_batch(pv, "payload", kind, Some(h.item_count), &mut out)?,
        },
    }
    let len = u32::try_from(out.len() - HEADER_LEN)
        .map_err(|_| JsonError::new("payload", "longer than 4 GiB"))?;
    if let Some(d) = declared.filter(|&d| d != len) {
        return Err(JsonError::new(
            "header.payload_len",
            format!("is {d} but the payload encodes to {len} bytes (omit it to compute)"),
        )
        .into());
    }
    h.payload_len = len;
    h.encode_into(&mut out);
    Ok(out)
}
