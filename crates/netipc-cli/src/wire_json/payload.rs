//! Method payloads: every method's request and response, decoded through
//! the codec views and encoded through the codec encoders. Responses of
//! the three data services use the dataset shapes, so a decoded response
//! can be served back with `netipc serve --data`.

use serde::Serialize;
use serde_json::Value;

use netipc::codec::apps_lookup::{
    AppsLookupRequestView, AppsLookupResponse, AppsLookupResponseView, encode_apps_lookup_request,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupRequestView, CgroupsLookupResponse, CgroupsLookupResponseView,
    encode_cgroups_lookup_request,
};
use netipc::codec::cgroups_snapshot::{
    CgroupsSnapshot, CgroupsSnapshotRequest, CgroupsSnapshotView,
};
use netipc::codec::increment::{decode_increment, encode_increment};
use netipc::codec::string_reverse::{StringReverseView, encode_string_reverse};
use netipc::protocol::{
    LAYOUT_VERSION, METHOD_APPS_LOOKUP, METHOD_CGROUPS_LOOKUP, METHOD_CGROUPS_SNAPSHOT,
    METHOD_INCREMENT, METHOD_STRING_REVERSE,
};

use super::fields::{fixed, uint};
use super::{WireError, at};
use crate::dataset::{AppsLookup, CgroupsLookup, Snapshot};
use crate::json::{JsonResult, Obj, as_string, as_u32};

/// A method payload type: one method's request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// `INCREMENT` request: `{"value": N}`.
    IncrementRequest,
    /// `INCREMENT` response: `{"value": N}`.
    IncrementResponse,
    /// `STRING_REVERSE` request: `{"text": "..."}`.
    StringReverseRequest,
    /// `STRING_REVERSE` response: `{"text": "..."}`.
    StringReverseResponse,
    /// `CGROUPS_SNAPSHOT` request: `{"layout_version": 1, "flags": 0}`.
    CgroupsSnapshotRequest,
    /// `CGROUPS_SNAPSHOT` response: the snapshot dataset shape.
    CgroupsSnapshotResponse,
    /// `CGROUPS_LOOKUP` request: `{"paths": ["/a", ...]}`.
    CgroupsLookupRequest,
    /// `CGROUPS_LOOKUP` response: the cgroups lookup dataset shape.
    CgroupsLookupResponse,
    /// `APPS_LOOKUP` request: `{"pids": [1, ...]}`.
    AppsLookupRequest,
    /// `APPS_LOOKUP` response: the apps lookup dataset shape.
    AppsLookupResponse,
}

impl PayloadKind {
    /// Every payload kind, requests before responses, in method order.
    pub const ALL: [PayloadKind; 10] = [
        PayloadKind::IncrementRequest,
        PayloadKind::IncrementResponse,
        PayloadKind::StringReverseRequest,
        PayloadKind::StringReverseResponse,
        PayloadKind::CgroupsSnapshotRequest,
        PayloadKind::CgroupsSnapshotResponse,
        PayloadKind::CgroupsLookupRequest,
        PayloadKind::CgroupsLookupResponse,
        PayloadKind::AppsLookupRequest,
        PayloadKind::AppsLookupResponse,
    ];

    /// The command-line name (`increment-request`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PayloadKind::IncrementRequest => "increment-request",
            PayloadKind::IncrementResponse => "increment-response",
            PayloadKind::StringReverseRequest => "string-reverse-request",
            PayloadKind::StringReverseResponse => "string-reverse-response",
            PayloadKind::CgroupsSnapshotRequest => "cgroups-snapshot-request",
            PayloadKind::CgroupsSnapshotResponse => "cgroups-snapshot-response",
            PayloadKind::CgroupsLookupRequest => "cgroups-lookup-request",
            PayloadKind::CgroupsLookupResponse => "cgroups-lookup-response",
            PayloadKind::AppsLookupRequest => "apps-lookup-request",
            PayloadKind::AppsLookupResponse => "apps-lookup-response",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The method code.
    pub fn method(self) -> u16 {
        match self {
            PayloadKind::IncrementRequest | PayloadKind::IncrementResponse => METHOD_INCREMENT,
            PayloadKind::StringReverseRequest | PayloadKind::StringReverseResponse => {
                METHOD_STRING_REVERSE
            }
            PayloadKind::CgroupsSnapshotRequest | PayloadKind::CgroupsSnapshotResponse => {
                METHOD_CGROUPS_SNAPSHOT
            }
            PayloadKind::CgroupsLookupRequest | PayloadKind::CgroupsLookupResponse => {
                METHOD_CGROUPS_LOOKUP
            }
            PayloadKind::AppsLookupRequest | PayloadKind::AppsLookupResponse => METHOD_APPS_LOOKUP,
        }
    }

    /// Whether this is a response payload.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            PayloadKind::IncrementResponse
                | PayloadKind::StringReverseResponse
                | PayloadKind::CgroupsSnapshotResponse
                | PayloadKind::CgroupsLookupResponse
                | PayloadKind::AppsLookupResponse
        )
    }

    /// The payload kind of method `code` in a request or a response, or
    /// `None` for a method this program does not know.
    pub fn for_method(code: u16, response: bool) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.method() == code && k.is_response() == response)
    }

    /// Decodes and validates a payload of this kind (`Err` names the rule
    /// that failed).
    pub fn decode(self, bytes: &[u8]) -> Result<PayloadJson, netipc::DecodeError> {
        Ok(match self {
            PayloadKind::IncrementRequest | PayloadKind::IncrementResponse => {
                PayloadJson::Increment(IncrementJson {
                    value: decode_increment(bytes)?,
                })
            }
            PayloadKind::StringReverseRequest | PayloadKind::StringReverseResponse => {
                let v = StringReverseView::decode(bytes)?;
                PayloadJson::StringReverse(StringReverseJson {
                    text: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                })
            }
            PayloadKind::CgroupsSnapshotRequest => {
                let r = CgroupsSnapshotRequest::decode(bytes)?;
                PayloadJson::CgroupsSnapshotRequest(SnapshotRequestJson {
                    layout_version: r.layout_version,
                    flags: r.flags,
                })
            }
            PayloadKind::CgroupsSnapshotResponse => PayloadJson::CgroupsSnapshot(
                Snapshot::from_view(&CgroupsSnapshotView::decode(bytes)?),
            ),
            PayloadKind::CgroupsLookupRequest => {
                let r = CgroupsLookupRequestView::decode(bytes)?;
                PayloadJson::CgroupsLookupRequest(CgroupsLookupRequestJson {
                    paths: r
                        .iter()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect(),
                })
            }
            PayloadKind::CgroupsLookupResponse => PayloadJson::CgroupsLookup(
                CgroupsLookup::from_view(&CgroupsLookupResponseView::decode(bytes)?),
            ),
            PayloadKind::AppsLookupRequest => {
                let r = AppsLookupRequestView::decode(bytes)?;
                PayloadJson::AppsLookupRequest(AppsLookupRequestJson {
                    pids: r.iter().collect(),
                })
            }
            PayloadKind::AppsLookupResponse => PayloadJson::AppsLookup(AppsLookup::from_view(
                &AppsLookupResponseView::decode(bytes)?,
            )),
        })
    }

    /// Encodes the JSON shape of this kind at location `path`, appending
    /// the canonical payload to `out`.
    pub fn encode(self, v: &Value, path: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
        let codec = |e: netipc::Error| WireError::Encode {
            location: path.to_owned(),
            error: e,
        };
        match self {
            PayloadKind::IncrementRequest | PayloadKind::IncrementResponse => {
                let o = Obj::new(v, path.to_owned(), &["value"])?;
                encode_increment(uint(&o, "value")?, out);
            }
            PayloadKind::StringReverseRequest | PayloadKind::StringReverseResponse => {
                let o = Obj::new(v, path.to_owned(), &["text"])?;
                encode_string_reverse(o.string("text")?.as_bytes(), out).map_err(codec)?;
            }
            PayloadKind::CgroupsSnapshotRequest => {
                let o = Obj::new(v, path.to_owned(), &["layout_version", "flags"])?;
                fixed(&o, "layout_version", LAYOUT_VERSION.into())?;
                fixed(&o, "flags", 0)?;
                CgroupsSnapshotRequest::default().encode(out);
            }
            PayloadKind::CgroupsSnapshotResponse => {
                CgroupsSnapshot::from(&Snapshot::from_json(v, path)?)
                    .encode(out)
                    .map_err(codec)?;
            }
            PayloadKind::CgroupsLookupRequest => {
                let o = Obj::new(v, path.to_owned(), &["paths"])?;
                let paths = o
                    .array("paths")?
                    .iter()
                    .enumerate()
                    .map(|(i, p)| as_string(p, &format!("{}[{i}]", o.loc("paths"))))
                    .collect::<JsonResult<Vec<String>>>()?;
                encode_cgroups_lookup_request(&paths, out).map_err(codec)?;
            }
            PayloadKind::CgroupsLookupResponse => {
                CgroupsLookupResponse::from(&CgroupsLookup::from_json(v, path)?)
                    .encode(out)
                    .map_err(codec)?;
            }
            PayloadKind::AppsLookupRequest => {
                let o = Obj::new(v, path.to_owned(), &["pids"])?;
                let pids = o
                    .array("pids")?
                    .iter()
                    .enumerate()
                    .map(|(i, p)| as_u32(p, &format!("{}[{i}]", o.loc("pids"))))
                    .collect::<JsonResult<Vec<u32>>>()?;
                encode_apps_lookup_request(&pids, out).map_err(codec)?;
            }
            PayloadKind::AppsLookupResponse => {
                AppsLookupResponse::from(&AppsLookup::from_json(v, path)?)
                    .encode(out)
                    .map_err(codec)?;
            }
        }
        Ok(())
    }
}

/// Decodes a payload of `kind` standing alone (the whole file).
pub(crate) fn decode_payload(kind: PayloadKind, bytes: &[u8]) -> Result<PayloadJson, WireError> {
    kind.decode(bytes).map_err(at(""))
}

/// A decoded method payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PayloadJson {
    /// `INCREMENT` request or response.
    Increment(IncrementJson),
    /// `STRING_REVERSE` request or response.
    StringReverse(StringReverseJson),
    /// `CGROUPS_SNAPSHOT` request.
    CgroupsSnapshotRequest(SnapshotRequestJson),
    /// `CGROUPS_SNAPSHOT` response.
    CgroupsSnapshot(Snapshot),
    /// `CGROUPS_LOOKUP` request.
    CgroupsLookupRequest(CgroupsLookupRequestJson),
    /// `CGROUPS_LOOKUP` response.
    CgroupsLookup(CgroupsLookup),
    /// `APPS_LOOKUP` request.
    AppsLookupRequest(AppsLookupRequestJson),
    /// `APPS_LOOKUP` response.
    AppsLookup(AppsLookup),
}

/// An `INCREMENT` payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncrementJson {
    /// The value.
    pub value: u64,
}

/// A `STRING_REVERSE` payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StringReverseJson {
    /// The string (lossy when the wire bytes are not UTF-8).
    pub text: String,
}

/// A `CGROUPS_SNAPSHOT` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotRequestJson {
    /// Payload layout version (1).
    pub layout_version: u16,
    /// Reserved (0).
    pub flags: u16,
}

/// A `CGROUPS_LOOKUP` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupsLookupRequestJson {
    /// The cgroup paths, in request order (lossy when not UTF-8).
    pub paths: Vec<String>,
}

/// An `APPS_LOOKUP` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppsLookupRequestJson {
    /// The PIDs, in request order.
    pub pids: Vec<u32>,
}

/// Encodes a standalone payload of `kind`.
pub(crate) fn encode_payload(kind: PayloadKind, v: &Value) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    kind.encode(v, "", &mut out)?;
    Ok(out)
}
