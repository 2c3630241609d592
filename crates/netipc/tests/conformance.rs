//! The external contract: every vector in `testdata/conformance/` (bytes
//! produced by an independent, interoperating implementation) must
//! (1) decode to exactly the fields `vectors.json` lists, (2) encode from
//! those fields to exactly its bytes, and (3) re-encode from the decoded
//! view to the same bytes.

#[path = "support/mod.rs"]
mod support;

use netipc::codec::apps_lookup::{
    AppsLookupItem, AppsLookupRequest, AppsLookupRequestView, AppsLookupResponse,
    AppsLookupResponseView, encode_apps_lookup_request,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupItem, CgroupsLookupRequest, CgroupsLookupRequestView, CgroupsLookupResponse,
    CgroupsLookupResponseView, encode_cgroups_lookup_request,
};
use netipc::codec::cgroups_snapshot::{
    CgroupItem, CgroupsSnapshot, CgroupsSnapshotRequest, CgroupsSnapshotView,
};
use netipc::codec::increment::{decode_increment, encode_increment};
use netipc::codec::lookup::{CgroupStatus, Label, LookupStatus, Orchestrator, PidStatus};
use netipc::codec::string_reverse::{StringReverseView, encode_string_reverse};
use netipc::wire::{BatchBuilder, BatchView, ChunkHeader, Header, Hello, HelloAck};
use serde_json::Value;
use support::conformance::{Vector, field_num as num, field_str as text, load_vectors};

fn check_header(v: &Vector) {
    let h = Header::decode(&v.bytes).unwrap();
    assert_eq!(v.bytes.len(), 32);
    assert_header_fields(&h, &v.fields, &v.file);
    assert_eq!(h.encode().as_slice(), v.bytes.as_slice(), "{}", v.file);
}

fn assert_header_fields(h: &Header, f: &Value, file: &str) {
    assert_eq!(
        num(&f["magic"]),
        u64::from(netipc::protocol::MAGIC_MSG),
        "{file}"
    );
    assert_eq!(num(&f["version"]), 1, "{file}");
    assert_eq!(num(&f["header_len"]), 32, "{file}");
    assert_eq!(u64::from(h.kind), num(&f["kind"]), "{file} kind");
    assert_eq!(u64::from(h.flags), num(&f["flags"]), "{file} flags");
    assert_eq!(u64::from(h.code), num(&f["code"]), "{file} code");
    assert_eq!(
        u64::from(h.transport_status),
        num(&f["transport_status"]),
        "{file} status"
    );
    assert_eq!(
        u64::from(h.payload_len),
        num(&f["payload_len"]),
        "{file} payload_len"
    );
    assert_eq!(
        u64::from(h.item_count),
        num(&f["item_count"]),
        "{file} item_count"
    );
    assert_eq!(h.message_id, num(&f["message_id"]), "{file} message_id");
}

fn header_from_fields(f: &Value) -> Header {
    Header {
        kind: num(&f["kind"]) as u16,
        flags: num(&f["flags"]) as u16,
        code: num(&f["code"]) as u16,
        transport_status: num(&f["transport_status"]) as u16,
        payload_len: num(&f["payload_len"]) as u32,
        item_count: num(&f["item_count"]) as u32,
        message_id: num(&f["message_id"]),
    }
}

fn check_chunk_header(v: &Vector) {
    let f = &v.fields;
    let h = ChunkHeader::decode(&v.bytes).unwrap();
    assert_eq!(num(&f["magic"]), u64::from(netipc::protocol::MAGIC_CHUNK));
    assert_eq!(num(&f["version"]), 1);
    assert_eq!(num(&f["flags"]), 0);
    let want = ChunkHeader {
        message_id: num(&f["message_id"]),
        total_message_len: num(&f["total_message_len"]) as u32,
        chunk_index: num(&f["chunk_index"]) as u32,
        chunk_count: num(&f["chunk_count"]) as u32,
        chunk_payload_len: num(&f["chunk_payload_len"]) as u32,
    };
    assert_eq!(h, want);
    assert_eq!(want.encode().as_slice(), v.bytes.as_slice());
}

fn check_hello(v: &Vector) {
    let f = &v.fields;
    let h = Hello::decode(&v.bytes).unwrap();
    assert_eq!(num(&f["layout_version"]), 1);
    assert_eq!(num(&f["flags"]), 0);
    let want = Hello {
        supported_profiles: num(&f["supported_profiles"]) as u32,
        preferred_profiles: num(&f["preferred_profiles"]) as u32,
        max_request_payload_bytes: num(&f["max_request_payload_bytes"]) as u32,
        max_request_batch_items: num(&f["max_request_batch_items"]) as u32,
        max_response_payload_bytes: num(&f["max_response_payload_bytes"]) as u32,
        max_response_batch_items: num(&f["max_response_batch_items"]) as u32,
        auth_token: num(&f["auth_token"]),
        packet_size: num(&f["packet_size"]) as u32,
    };
    assert_eq!(h, want);
    assert_eq!(want.encode().as_slice(), v.bytes.as_slice());
}

fn check_hello_ack(v: &Vector) {
    let f = &v.fields;
    let h = HelloAck::decode(&v.bytes).unwrap();
    assert_eq!(num(&f["layout_version"]), 1);
    assert_eq!(num(&f["flags"]), 0);
    let want = HelloAck {
        server_supported_profiles: num(&f["server_supported_profiles"]) as u32,
        intersection_profiles: num(&f["intersection_profiles"]) as u32,
        selected_profile: num(&f["selected_profile"]) as u32,
        agreed_max_request_payload_bytes: num(&f["agreed_max_request_payload_bytes"]) as u32,
        agreed_max_request_batch_items: num(&f["agreed_max_request_batch_items"]) as u32,
        agreed_max_response_payload_bytes: num(&f["agreed_max_response_payload_bytes"]) as u32,
        agreed_max_response_batch_items: num(&f["agreed_max_response_batch_items"]) as u32,
        agreed_packet_size: num(&f["agreed_packet_size"]) as u32,
        session_id: num(&f["session_id"]),
    };
    assert_eq!(h, want);
    assert_eq!(want.encode().as_slice(), v.bytes.as_slice());
}

fn check_snapshot_request(v: &Vector) {
    let r = CgroupsSnapshotRequest::decode(&v.bytes).unwrap();
    assert_eq!(
        u64::from(r.layout_version),
        num(&v.fields["layout_version"])
    );
    assert_eq!(u64::from(r.flags), num(&v.fields["flags"]));
    assert_eq!(r.to_bytes().as_slice(), v.bytes.as_slice());
}

fn snapshot_from_fields(f: &Value) -> CgroupsSnapshot {
    CgroupsSnapshot {
        systemd_enabled: num(&f["systemd_enabled"]) as u32,
        generation: num(&f["generation"]),
        items: f["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| CgroupItem {
                hash: num(&it["hash"]) as u32,
                options: num(&it["options"]) as u32,
                enabled: num(&it["enabled"]) as u32,
                name: text(&it["name"]).into_bytes(),
                path: text(&it["path"]).into_bytes(),
            })
            .collect(),
    }
}

fn check_snapshot_response(v: &Vector) {
    let want = snapshot_from_fields(&v.fields);
    let view = CgroupsSnapshotView::decode(&v.bytes).unwrap();
    assert_eq!(view.to_owned(), want, "{}", v.file);
    let mut out = Vec::new();
    want.encode(&mut out).unwrap();
    assert_eq!(out, v.bytes, "{}", v.file);
    let mut again = Vec::new();
    view.to_owned().encode(&mut again).unwrap();
    assert_eq!(again, v.bytes);
}

fn check_increment(v: &Vector) {
    let value = num(&v.fields["value"]);
    assert_eq!(decode_increment(&v.bytes).unwrap(), value);
    let mut out = Vec::new();
    encode_increment(value, &mut out);
    assert_eq!(out, v.bytes);
}

fn check_string_reverse(v: &Vector) {
    let t = text(&v.fields["text"]);
    let view = StringReverseView::decode(&v.bytes).unwrap();
    assert_eq!(view.as_bytes(), t.as_bytes());
    let mut out = Vec::new();
    encode_string_reverse(t.as_bytes(), &mut out).unwrap();
    assert_eq!(out, v.bytes);
    let mut again = Vec::new();
    encode_string_reverse(view.as_bytes(), &mut again).unwrap();
    assert_eq!(again, v.bytes);
}

/// A batch of method payloads: `[{"string-reverse": "a"}, ...]` or
/// `[{"increment-request": 1}, ...]`.
fn encode_batch(items: &[Value], out: &mut Vec<u8>) {
    let mut b = BatchBuilder::new(out, items.len() as u32);
    for it in items {
        let (kind, val) = it.as_object().unwrap().iter().next().unwrap();
        b.add_with(|buf| {
            match kind.as_str() {
                "string-reverse" => encode_string_reverse(text(val).as_bytes(), buf)?,
                "increment-request" | "increment-response" => encode_increment(num(val), buf),
                other => panic!("unexpected batch item kind {other}"),
            }
            Ok(())
        })
        .unwrap();
    }
    b.finish().unwrap();
}

fn check_batch_items(view: &BatchView<'_>, items: &[Value]) {
    assert_eq!(view.len(), items.len());
    for (i, it) in items.iter().enumerate() {
        let (kind, val) = it.as_object().unwrap().iter().next().unwrap();
        let bytes = view.item(i).unwrap();
        match kind.as_str() {
            "string-reverse" => {
                assert_eq!(
                    StringReverseView::decode(bytes).unwrap().as_bytes(),
                    text(val).as_bytes()
                )
            }
            "increment-request" | "increment-response" => {
                assert_eq!(decode_increment(bytes).unwrap(), num(val))
            }
            other => panic!("unexpected batch item kind {other}"),
        }
    }
}

fn check_batch(v: &Vector) {
    let items = v.fields["items"].as_array().unwrap();
    let view = BatchView::decode(&v.bytes, items.len() as u32).unwrap();
    check_batch_items(&view, items);
    let mut out = Vec::new();
    encode_batch(items, &mut out);
    assert_eq!(out, v.bytes);
}

fn check_message(v: &Vector) {
    let hf = &v.fields["header"];
    let h = Header::decode(&v.bytes).unwrap();
    assert_header_fields(&h, hf, &v.file);
    let payload = &v.bytes[32..];
    assert_eq!(payload.len(), h.payload_len as usize);
    let mut out = header_from_fields(hf).encode().to_vec();
    let p = &v.fields["payload"];
    match p {
        Value::Null => assert!(payload.is_empty()),
        Value::Object(m) => {
            let (kind, val) = m.iter().next().unwrap();
            match kind.as_str() {
                "increment-request" | "increment-response" => {
                    assert_eq!(decode_increment(payload).unwrap(), num(val));
                    encode_increment(num(val), &mut out);
                }
                "batch" => {
                    let items = val.as_array().unwrap();
                    assert!(h.has_batch_directory());
                    let view = BatchView::decode(payload, h.item_count).unwrap();
                    check_batch_items(&view, items);
                    encode_batch(items, &mut out);
                }
                other => panic!("unexpected message payload kind {other}"),
            }
        }
        other => panic!("unexpected payload {other}"),
    }
    assert_eq!(out, v.bytes, "{}", v.file);
}

fn labels(v: &Value) -> Vec<Label> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|kv| Label {
            key: text(&kv[0]).into_bytes(),
            value: text(&kv[1]).into_bytes(),
        })
        .collect()
}

fn orchestrator(v: &Value) -> u16 {
    match v {
        Value::String(s) => Orchestrator::from_name(s).map_or_else(|| num(v) as u16, u16::from),
        _ => num(v) as u16,
    }
}

fn check_cgroups_lookup_request(v: &Vector) {
    let paths: Vec<Vec<u8>> = v.fields["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| text(p).into_bytes())
        .collect();
    let view = CgroupsLookupRequestView::decode(&v.bytes).unwrap();
    assert_eq!(
        view.to_owned(),
        CgroupsLookupRequest {
            paths: paths.clone()
        }
    );
    let mut out = Vec::new();
    encode_cgroups_lookup_request(&paths, &mut out).unwrap();
    assert_eq!(out, v.bytes, "{}", v.file);
    let mut again = Vec::new();
    view.to_owned().encode(&mut again).unwrap();
    assert_eq!(again, v.bytes);
}

fn check_cgroups_lookup_response(v: &Vector) {
    let f = &v.fields;
    let want = CgroupsLookupResponse {
        generation: num(&f["generation"]),
        items: f["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| CgroupsLookupItem {
                status: LookupStatus::from_name(&text(&it["status"])).unwrap(),
                orchestrator: orchestrator(&it["orchestrator"]),
                path: text(&it["path"]).into_bytes(),
                name: text(&it["name"]).into_bytes(),
                labels: labels(&it["labels"]),
            })
            .collect(),
    };
    let view = CgroupsLookupResponseView::decode(&v.bytes).unwrap();
    assert_eq!(view.to_owned(), want, "{}", v.file);
    let mut out = Vec::new();
    want.encode(&mut out).unwrap();
    assert_eq!(out, v.bytes, "{}", v.file);
}

fn check_apps_lookup_request(v: &Vector) {
    let pids: Vec<u32> = v.fields["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| num(p) as u32)
        .collect();
    let view = AppsLookupRequestView::decode(&v.bytes).unwrap();
    assert_eq!(view.to_owned(), AppsLookupRequest { pids: pids.clone() });
    let mut out = Vec::new();
    encode_apps_lookup_request(&pids, &mut out).unwrap();
    assert_eq!(out, v.bytes, "{}", v.file);
}

fn check_apps_lookup_response(v: &Vector) {
    let f = &v.fields;
    let want = AppsLookupResponse {
        generation: num(&f["generation"]),
        items: f["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| AppsLookupItem {
                status: PidStatus::from_name(&text(&it["status"])).unwrap(),
                cgroup_status: CgroupStatus::from_name(&text(&it["cgroup_status"])).unwrap(),
                orchestrator: orchestrator(&it["orchestrator"]),
                pid: num(&it["pid"]) as u32,
                ppid: num(&it["ppid"]) as u32,
                uid: num(&it["uid"]) as u32,
                starttime: num(&it["starttime"]),
                comm: text(&it["comm"]).into_bytes(),
                cgroup_path: text(&it["cgroup_path"]).into_bytes(),
                cgroup_name: text(&it["cgroup_name"]).into_bytes(),
                labels: labels(&it["labels"]),
            })
            .collect(),
    };
    let view = AppsLookupResponseView::decode(&v.bytes).unwrap();
    assert_eq!(view.to_owned(), want, "{}", v.file);
    let mut out = Vec::new();
    want.encode(&mut out).unwrap();
    assert_eq!(out, v.bytes, "{}", v.file);
}

#[test]
fn every_conformance_vector() {
    let vectors = load_vectors();
    assert_eq!(vectors.len(), 36, "the conformance set has 36 vectors");
    for v in &vectors {
        match v.kind.as_str() {
            "header" => check_header(v),
            "chunk-header" => check_chunk_header(v),
            "hello" => check_hello(v),
            "hello-ack" => check_hello_ack(v),
            "cgroups-snapshot-request" => check_snapshot_request(v),
            "cgroups-snapshot-response" => check_snapshot_response(v),
            "increment-request" | "increment-response" => check_increment(v),
            "string-reverse-request" | "string-reverse-response" => check_string_reverse(v),
            "batch" => check_batch(v),
            "message" => check_message(v),
            "cgroups-lookup-request" => check_cgroups_lookup_request(v),
            "cgroups-lookup-response" => check_cgroups_lookup_response(v),
            "apps-lookup-request" => check_apps_lookup_request(v),
            "apps-lookup-response" => check_apps_lookup_response(v),
            other => panic!("{}: no check for vector type {other}", v.file),
        }
    }
}
