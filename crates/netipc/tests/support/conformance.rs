//! The conformance test data: the vectors (and their `vectors.json` field
//! values) and the captured transport files.
//!
//! Field values are numbers, hex strings (`"0xDEADBEEF"`), names with the
//! value in parentheses (`"MAGIC_MSG (0x4e495043)"`), flag unions
//! (`"UDS_SEQPACKET|SHM_FUTEX (0x05)"`) or spec names (`"REQUEST"`).

use std::path::PathBuf;

use serde_json::Value;

/// One vector: its file name, type, fields and bytes.
pub struct Vector {
    pub file: String,
    pub kind: String,
    pub fields: Value,
    pub bytes: Vec<u8>,
}

/// The repository's `testdata/conformance` folder.
pub fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

/// The bytes of the vector file `name`.
pub fn vector_bytes(name: &str) -> Vec<u8> {
    std::fs::read(conformance_dir().join("vectors").join(name)).unwrap()
}

/// A captured transport file (`transport/{name}`).
pub fn captured(name: &str) -> Vec<u8> {
    let p = conformance_dir().join("transport").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The 14 captured packets of the chunked snapshot response.
pub fn captured_packets() -> Vec<Vec<u8>> {
    (0..14)
        .map(|i| captured(&format!("chunked_snapshot_resp/packet-{i:02}.bin")))
        .collect()
}

/// Every vector listed in `vectors.json`, with its bytes.
pub fn load_vectors() -> Vec<Vector> {
    let json: Value =
        serde_json::from_slice(&std::fs::read(conformance_dir().join("vectors.json")).unwrap())
            .unwrap();
    json["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let file = v["file"].as_str().unwrap().to_string();
            let bytes = vector_bytes(&file);
            Vector {
                kind: v["type"].as_str().unwrap().to_string(),
                fields: v["fields"].clone(),
                file,
                bytes,
            }
        })
        .collect()
}

fn named(name: &str) -> Option<u64> {
    use netipc::protocol::*;
    Some(match name {
        "REQUEST" => KIND_REQUEST.into(),
        "RESPONSE" => KIND_RESPONSE.into(),
        "CONTROL" => KIND_CONTROL.into(),
        "BATCH" => FLAG_BATCH.into(),
        "OK" => STATUS_OK.into(),
        "BAD_ENVELOPE" => STATUS_BAD_ENVELOPE.into(),
        "AUTH_FAILED" => STATUS_AUTH_FAILED.into(),
        "INCOMPATIBLE" => STATUS_INCOMPATIBLE.into(),
        "UNSUPPORTED" => STATUS_UNSUPPORTED.into(),
        "LIMIT_EXCEEDED" => STATUS_LIMIT_EXCEEDED.into(),
        "INTERNAL_ERROR" => STATUS_INTERNAL_ERROR.into(),
        "HELLO" => CODE_HELLO.into(),
        "HELLO_ACK" => CODE_HELLO_ACK.into(),
        "INCREMENT" => METHOD_INCREMENT.into(),
        "CGROUPS_SNAPSHOT" => METHOD_CGROUPS_SNAPSHOT.into(),
        "STRING_REVERSE" => METHOD_STRING_REVERSE.into(),
        "CGROUPS_LOOKUP" => METHOD_CGROUPS_LOOKUP.into(),
        "APPS_LOOKUP" => METHOD_APPS_LOOKUP.into(),
        "UDS_SEQPACKET" => PROFILE_UDS_SEQPACKET.into(),
        "SHM_HYBRID" => PROFILE_SHM_HYBRID.into(),
        "SHM_FUTEX" => PROFILE_SHM_FUTEX.into(),
        "NIPC_UID_UNSET" => u32::MAX.into(),
        _ => return None,
    })
}

fn parse_hex(s: &str) -> Option<u64> {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

/// A numeric field value.
pub fn field_num(v: &Value) -> u64 {
    if let Some(n) = v.as_u64() {
        return n;
    }
    let s = v.as_str().unwrap_or_else(|| panic!("not a number: {v}"));
    if let Some(inner) = s.split_once('(').and_then(|(_, r)| r.strip_suffix(')')) {
        return parse_hex(inner.trim()).unwrap_or_else(|| panic!("bad value {s}"));
    }
    if let Some(n) = parse_hex(s) {
        return n;
    }
    s.split('|')
        .map(|p| named(p.trim()).unwrap_or_else(|| panic!("unknown name {p}")))
        .fold(0, |a, b| a | b)
}

/// A string field value.
pub fn field_str(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}
