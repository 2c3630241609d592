//! End-to-end tests of `netipc decode` and `netipc encode`, running the
//! built binary: every conformance and golden vector decodes to its
//! documented fields and encodes back to the same bytes; corrupted bytes
//! exit 7 with one line naming the rule; bad command lines exit 2.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use netipc_cli::dataset::{parse_apps_lookup, parse_cgroups_lookup, parse_snapshot};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Runs `netipc args...` with `stdin` as standard input.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netipc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run netipc");
    let mut input = child.stdin.take().expect("stdin");
    // A command may exit before reading its input.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait for netipc")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Decodes `file` as `args` (type and options); the output must be JSON
/// and the input canonical (no note).
fn decode(args: &[&str], file: &Path) -> Value {
    let mut all = vec!["decode"];
    all.extend_from_slice(args);
    let path = file.to_str().expect("utf-8 path");
    all.push(path);
    let out = run(&all, b"");
    assert!(
        out.status.success(),
        "decode {args:?} {path}: {}",
        stderr(&out)
    );
    assert_eq!(stderr(&out), "", "decode {args:?} {path}: unexpected note");
    serde_json::from_slice(&out.stdout).expect("decode prints JSON")
}

/// Encodes `json` as `ty` through stdin.
fn encode(ty: &str, json: &Value) -> Vec<u8> {
    let out = run(&["encode", ty, "-"], json.to_string().as_bytes());
    assert!(out.status.success(), "encode {ty}: {}", stderr(&out));
    out.stdout
}

/// Decoding then encoding gives back the same bytes.
fn round_trip(args: &[&str], file: &Path) -> Value {
    let decoded = decode(args, file);
    let bytes = fs::read(file).unwrap();
    assert_eq!(
        encode(args[0], &decoded),
        bytes,
        "encode(decode({})) differs",
        file.display()
    );
    decoded
}

/// A failing run: the exit code, and exactly one `netipc: ...` line on
/// stderr (returned).
fn fails(out: &Output, code: i32) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(err.starts_with("netipc: "), "{err}");
    assert!(err.ends_with('\n'), "{err:?}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    err.trim_end().to_owned()
}

fn temp_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("netipc-wire-cli-")
        .tempdir()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Conformance vectors

/// The command-line arguments that decode vector `v`.
fn vector_args(v: &Value) -> Vec<String> {
    let ty = v["type"].as_str().unwrap().to_owned();
    if ty == "batch" {
        let n = v["fields"]["items"].as_array().unwrap().len();
        vec![
            ty,
            "--items".into(),
            n.to_string(),
            "--method".into(),
            "string-reverse-request".into(),
        ]
    } else {
        vec![ty]
    }
}

/// Bit names that vectors.json uses in bit mask values.
const BITS: &[(&str, u64)] = &[
    ("BATCH", 1),
    ("UDS_SEQPACKET", 1),
    ("SHM_HYBRID", 2),
    ("SHM_FUTEX", 4),
    ("SHM_WAITADDR", 8),
];

/// Brings a field value to a comparable form: numbers written as hex
/// strings, `NAME (0x..)` annotations and bit lists become numbers; names
/// stay names.
fn norm(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let hex = s
                .rsplit_once("(0x")
                .and_then(|(_, h)| h.strip_suffix(')'))
                .or_else(|| s.strip_prefix("0x"));
            if let Some(n) = hex.and_then(|h| u64::from_str_radix(h, 16).ok()) {
                return json!(n);
            }
            let bits: Option<u64> = s
                .split('|')
                .map(|p| BITS.iter().find(|b| b.0 == p).map(|b| b.1))
                .sum();
            match bits {
                Some(n)
                    if s.chars()
                        .all(|c| c.is_ascii_uppercase() || "_|".contains(c)) =>
                {
                    if s.contains('|') || BITS.iter().any(|b| b.0 == s) {
                        json!(n)
                    } else {
                        v.clone()
                    }
                }
                _ => v.clone(),
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        _ => v.clone(),
    }
}

/// Every field listed in `want` is in `got` with the same value.
fn assert_fields(want: &Value, got: &Value, what: &str) {
    let (Value::Object(w), Value::Object(g)) = (norm(want), norm(got)) else {
        panic!("{what}: not objects: {want} / {got}");
    };
    for (k, wv) in &w {
        assert_eq!(g.get(k), Some(wv), "{what}: field `{k}` (got {got})");
    }
}

/// A method payload as vectors.json writes it inside messages and
/// batches (`{"increment-request": 41}`, `{"string-reverse": "a"}`) in the
/// decoded shape.
fn vector_item(item: &Value) -> Value {
    let (k, v) = item.as_object().unwrap().iter().next().unwrap();
    if k.starts_with("increment") {
        json!({"value": v})
    } else if k.starts_with("string-reverse") {
        json!({"text": v})
    } else {
        panic!("unexpected vector item {item}")
    }
}

fn check_vector_fields(v: &Value, decoded: &Value) {
    let file = v["file"].as_str().unwrap();
    let fields = &v["fields"];
    match v["type"].as_str().unwrap() {
        "batch" => {
            let want: Vec<Value> = fields["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(vector_item)
                .collect();
            let got: Vec<Value> = decoded["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["payload"].clone())
                .collect();
            assert_eq!(got, want, "{file}");
        }
        "message" => {
            assert_fields(&fields["header"], &decoded["header"], file);
            let p = &fields["payload"];
            let dp = &decoded["payload"];
            match p.get("batch") {
                _ if p.is_null() => assert!(dp.is_null(), "{file}: {dp}"),
                Some(items) => {
                    let want: Vec<Value> =
                        items.as_array().unwrap().iter().map(vector_item).collect();
                    let got: Vec<Value> = dp["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i["payload"].clone())
                        .collect();
                    assert_eq!(got, want, "{file}");
                }
                None => assert_eq!(dp, &vector_item(p), "{file}"),
            }
        }
        _ => assert_fields(fields, decoded, file),
    }
}

fn vectors() -> Vec<Value> {
    let text = fs::read_to_string(root().join("conformance/vectors.json")).unwrap();
    let root: Value = serde_json::from_str(&text).unwrap();
    root["vectors"].as_array().unwrap().clone()
}

#[test]
fn conformance_vectors_decode_to_their_fields_and_round_trip() {
    let list = vectors();
    assert_eq!(list.len(), 36);
    for v in &list {
        let file = root()
            .join("conformance/vectors")
            .join(v["file"].as_str().unwrap());
        let args = vector_args(v);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let decoded = round_trip(&args, &file);
        check_vector_fields(v, &decoded);
    }
}

#[test]
fn every_conformance_file_is_listed() {
    let listed: Vec<String> = vectors()
        .iter()
        .map(|v| v["file"].as_str().unwrap().to_owned())
        .collect();
    for e in fs::read_dir(root().join("conformance/vectors")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(listed.contains(&name), "{name} not in vectors.json");
    }
}

#[test]
fn decoded_responses_are_datasets() {
    let dir = root().join("conformance/vectors");
    let text = |ty: &str, f: &str| decode(&[ty], &dir.join(f)).to_string();
    parse_snapshot(&text("cgroups-snapshot-response", "cgroups_resp.bin")).unwrap();
    let c = parse_cgroups_lookup(&text(
        "cgroups-lookup-response",
        "cgroups_lookup_resp_known_with_labels.bin",
    ))
    .unwrap();
    assert_eq!(c.items[0].name, "pod-a");
    let a = parse_apps_lookup(&text(
        "apps-lookup-response",
        "apps_lookup_resp_known_full.bin",
    ))
    .unwrap();
    assert_eq!(a.items[0].comm, "123456789012345");
}

#[test]
fn transport_captures_round_trip() {
    let dir = root().join("conformance/transport");
    for f in [
        "msg_hello_ack_auth_failed.bin",
        "msg_hello_ack_ok_pkt128.bin",
        "msg_hello_pkt128.bin",
        "msg_hello_wrong_token.bin",
        "msg_snapshot_req.bin",
    ] {
        round_trip(&["message"], &dir.join(f));
    }
    let hello = decode(&["message"], &dir.join("msg_hello_pkt128.bin"));
    assert_eq!(hello["header"]["code"], "HELLO");
    assert_eq!(hello["payload"]["packet_size"], 128);
    let ack = decode(&["message"], &dir.join("msg_hello_ack_auth_failed.bin"));
    assert_eq!(ack["header"]["transport_status"], "AUTH_FAILED");
    assert_eq!(ack["payload"]["selected_profile"], 0);
    chunked(&dir.join("chunked_snapshot_resp"), 14);
    let payload = fs::read(dir.join("chunked_snapshot_resp/payload.bin")).unwrap();
    assert_eq!(
        reassemble(&dir.join("chunked_snapshot_resp"), 14),
        payload,
        "captured chunks carry payload.bin"
    );
}

// ---------------------------------------------------------------------------
// Golden vectors

/// Decodes every packet of a chunked message (round trip each) and checks
/// the chunk sequence.
fn chunked(dir: &Path, count: u32) -> Vec<Value> {
    let mut packets = Vec::new();
    for i in 0..count {
        let p = round_trip(&["packet"], &dir.join(format!("packet-{i:02}.bin")));
        if i == 0 {
            assert_eq!(p["header"]["kind"], "RESPONSE");
            assert_eq!(p["header"]["code"], "CGROUPS_SNAPSHOT");
            assert!(p.get("chunk_header").is_none());
        } else {
            assert_eq!(p["chunk_header"]["chunk_index"], i);
            assert_eq!(p["chunk_header"]["chunk_count"], count);
            assert_eq!(
                p["chunk_header"]["message_id"],
                packets
                    .first()
                    .map_or(json!(null), |f: &Value| f["header"]["message_id"].clone())
            );
        }
        packets.push(p);
    }
    packets
}

/// The payload carried by the packets of a chunked message.
fn reassemble(dir: &Path, count: u32) -> Vec<u8> {
    chunked(dir, count)
        .iter()
        .flat_map(|p| netipc_cli::wire_json::from_hex(p["data"].as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn golden_vectors_round_trip_and_match_their_descriptions() {
    let dir = root().join("vectors");
    let g = |ty: &str, f: &str| round_trip(&[ty], &dir.join(f));

    let hello = g("hello", "hello.bin");
    assert_eq!(hello["supported_profiles"], "UDS_SEQPACKET|SHM_HYBRID");
    assert_eq!(hello["preferred_profiles"], "SHM_HYBRID");
    assert_eq!(hello["max_request_payload_bytes"], 4096);
    assert_eq!(hello["max_request_batch_items"], 1);
    assert_eq!(hello["max_response_payload_bytes"], 65536);
    assert_eq!(hello["auth_token"], 0xBE4C_4000_00C0_FFEE_u64);
    assert_eq!(hello["packet_size"], 65536);

    let ack = g("hello-ack", "hello_ack.bin");
    assert_eq!(ack["server_supported_profiles"], "UDS_SEQPACKET|SHM_HYBRID");
    assert_eq!(ack["intersection_profiles"], "UDS_SEQPACKET|SHM_HYBRID");
    assert_eq!(ack["selected_profile"], "SHM_HYBRID");
    assert_eq!(ack["agreed_max_response_payload_bytes"], 65536);
    assert_eq!(ack["agreed_packet_size"], 65536);
    assert_eq!(ack["session_id"], 1);

    let rej = g("message", "msg_hello_ack_rejected.bin");
    assert_eq!(rej["header"]["kind"], "CONTROL");
    assert_eq!(rej["header"]["code"], "HELLO_ACK");
    assert_eq!(rej["header"]["transport_status"], "AUTH_FAILED");
    assert_eq!(rej["header"]["payload_len"], 48);
    assert_eq!(rej["payload"]["layout_version"], 1);
    assert_eq!(rej["payload"]["agreed_packet_size"], 0);
    assert_eq!(rej["payload"]["selected_profile"], 0);

    let req = g("message", "msg_increment_req.bin");
    assert_eq!(req["header"]["kind"], "REQUEST");
    assert_eq!(req["header"]["code"], "INCREMENT");
    assert_eq!(req["header"]["message_id"], 1);
    assert_eq!(req["payload"], json!({"value": 41}));
    let resp = g("message", "msg_increment_resp.bin");
    assert_eq!(resp["header"]["kind"], "RESPONSE");
    assert_eq!(resp["payload"], json!({"value": 42}));

    let b4 = g("message", "msg_increment_batch4_req.bin");
    assert_eq!(b4["header"]["flags"], "BATCH");
    assert_eq!(b4["header"]["item_count"], 4);
    assert_eq!(b4["header"]["message_id"], 2);
    let values: Vec<&Value> = b4["payload"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["payload"]["value"])
        .collect();
    assert_eq!(values, [10, 20, 30, 40]);

    let b3 = g("message", "msg_string_reverse_batch3_resp.bin");
    assert_eq!(b3["header"]["kind"], "RESPONSE");
    assert_eq!(b3["header"]["code"], "STRING_REVERSE");
    assert_eq!(b3["header"]["message_id"], 3);
    assert_eq!(b3["payload"]["method"], "string-reverse-response");
    let texts: Vec<&Value> = b3["payload"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["payload"]["text"])
        .collect();
    assert_eq!(texts, ["olleh", "", "cpiten"]);

    let err = g("message", "msg_internal_error_resp.bin");
    assert_eq!(err["header"]["code"], "CGROUPS_LOOKUP");
    assert_eq!(err["header"]["transport_status"], "INTERNAL_ERROR");
    assert_eq!(err["header"]["message_id"], 4);
    assert_eq!(err["header"]["flags"], 0);
    assert_eq!(err["header"]["item_count"], 1);
    assert_eq!(err["payload"], Value::Null);

    let sr = g("string-reverse-request", "string_reverse_req.bin");
    assert_eq!(sr, json!({"text": "hello, netipc"}));
    let sq = g("cgroups-snapshot-request", "cgroups_snapshot_req.bin");
    assert_eq!(sq, json!({"layout_version": 1, "flags": 0}));

    let s16 = g(
        "cgroups-snapshot-response",
        "cgroups_snapshot_resp_bench16.bin",
    );
    assert_eq!(s16["systemd_enabled"], 1);
    assert_eq!(s16["generation"], 1);
    let items = s16["items"].as_array().unwrap();
    assert_eq!(items.len(), 16);
    for (i, it) in items.iter().enumerate() {
        assert_eq!(it["hash"], 1000 + i);
        assert_eq!(it["name"], format!("cgroup-{i}"));
        assert_eq!(it["path"], format!("/sys/fs/cgroup/bench/cg-{i}"));
        assert_eq!(it["enabled"], i % 2);
    }
    let s64 = g(
        "cgroups-snapshot-response",
        "cgroups_snapshot_resp_corpus64.bin",
    );
    assert_eq!(s64["generation"], 5);
    assert_eq!(s64["items"].as_array().unwrap().len(), 64);

    let clq = g("cgroups-lookup-request", "cgroups_lookup_req.bin");
    let paths = clq["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 3);
    assert_eq!(paths[1], "/system.slice/docker-abc.scope");
    assert_eq!(paths[2], "/not/yet");

    let clr = g("cgroups-lookup-response", "cgroups_lookup_resp.bin");
    assert_eq!(clr["generation"], 7);
    let it = &clr["items"];
    assert_eq!(it[0]["status"], "KNOWN");
    assert_eq!(it[0]["orchestrator"], "K8S");
    assert_eq!(it[0]["name"], "k8s_web_default");
    assert_eq!(
        it[0]["labels"],
        json!([["namespace", "default"], ["pod", "web"]])
    );
    assert_eq!(it[1]["orchestrator"], "DOCKER");
    assert_eq!(it[1]["name"], "");
    assert_eq!(it[1]["labels"], json!([]));
    assert_eq!(it[2]["status"], "UNKNOWN_RETRY_LATER");
    assert_eq!(it[2]["path"], "/not/yet");

    let alq = g("apps-lookup-request", "apps_lookup_req.bin");
    assert_eq!(alq, json!({"pids": [1234, 4321]}));
    let alr = g("apps-lookup-response", "apps_lookup_resp.bin");
    assert_eq!(alr["generation"], 9);
    assert_eq!(
        alr["items"][0],
        json!({"pid": 1234, "status": "KNOWN", "cgroup_status": "KNOWN",
               "orchestrator": "DOCKER", "ppid": 1, "uid": 1000, "starttime": 123456,
               "comm": "nginx", "cgroup_path": "/system.slice/docker-abc.scope",
               "cgroup_name": "docker-abc", "labels": [["image", "nginx:latest"]]})
    );
    assert_eq!(alr["items"][1]["pid"], 4321);
    assert_eq!(alr["items"][1]["status"], "UNKNOWN");
    assert_eq!(alr["items"][1]["uid"], "NIPC_UID_UNSET");

    let bench16 = fs::read(dir.join("cgroups_snapshot_resp_bench16.bin")).unwrap();
    assert_eq!(reassemble(&dir.join("chunked_snapshot"), 14), bench16);
}

#[test]
fn every_golden_file_is_covered() {
    let covered = [
        "hello.bin",
        "hello_ack.bin",
        "msg_hello_ack_rejected.bin",
        "msg_increment_req.bin",
        "msg_increment_resp.bin",
        "msg_increment_batch4_req.bin",
        "msg_string_reverse_batch3_resp.bin",
        "msg_internal_error_resp.bin",
        "string_reverse_req.bin",
        "cgroups_snapshot_req.bin",
        "cgroups_snapshot_resp_bench16.bin",
        "cgroups_snapshot_resp_corpus64.bin",
        "cgroups_lookup_req.bin",
        "cgroups_lookup_resp.bin",
        "apps_lookup_req.bin",
        "apps_lookup_resp.bin",
        "chunked_snapshot",
        "README.md",
    ];
    for e in fs::read_dir(root().join("vectors")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(covered.contains(&name.as_str()), "{name} is not tested");
    }
    let packets = fs::read_dir(root().join("vectors/chunked_snapshot"))
        .unwrap()
        .count();
    assert_eq!(packets, 14);
}

// ---------------------------------------------------------------------------
// Failures

#[test]
fn corrupted_vectors_exit_7_naming_the_rule() {
    let tmp = tempdir();
    for v in vectors() {
        let file = v["file"].as_str().unwrap();
        let bytes = fs::read(root().join("conformance/vectors").join(file)).unwrap();
        let args = vector_args(&v);
        let ty = args[0].as_str();
        // Truncation breaks every type; a batch's last item may end in
        // padding, so cut it inside the directory instead.
        let cut = if ty == "batch" { 20 } else { bytes.len() - 1 };
        let mut corruptions = vec![("truncated", bytes[..cut].to_vec())];
        // Byte 0 is a checked field (magic, layout version, string offset,
        // directory offset) of every type but INCREMENT.
        if !ty.starts_with("increment") {
            let mut flipped = bytes.clone();
            flipped[0] ^= 0xff;
            corruptions.push(("flipped", flipped));
        }
        for (how, data) in corruptions {
            let f = temp_file(tmp.path(), &format!("{how}-{file}"), &data);
            let mut a: Vec<&str> = vec!["decode"];
            a.extend(args.iter().map(String::as_str));
            a.push(f.to_str().unwrap());
            let line = fails(&run(&a, b""), 7);
            assert!(line.contains(f.to_str().unwrap()), "{line}");
        }
    }
}

#[test]
fn decode_errors_name_the_rule_and_location() {
    let dir = root().join("conformance/vectors");
    let tmp = tempdir();
    let mut h = fs::read(dir.join("header.bin")).unwrap();
    h[4] = 2;
    let f = temp_file(tmp.path(), "h.bin", &h);
    let line = fails(&run(&["decode", "header", f.to_str().unwrap()], b""), 7);
    assert_eq!(
        line,
        format!("netipc: {}: unsupported version 2", f.display())
    );

    // A whole message whose batch item breaks its method's rule.
    let mut m = fs::read(dir.join("msg_increment_batch3_req.bin")).unwrap();
    // Item 2's directory length (header 32 + entry 16 + offset field 4).
    m[52..56].copy_from_slice(&4u32.to_ne_bytes());
    let line = fails(&run(&["decode", "message", "-"], &m), 7);
    assert!(
        line.starts_with("netipc: -: payload.items[2].payload: truncated"),
        "{line}"
    );

    // A message shorter or longer than its payload_len.
    let m = fs::read(dir.join("msg_increment_req.bin")).unwrap();
    let line = fails(&run(&["decode", "message", "-"], &m[..m.len() - 1]), 7);
    assert!(
        line.ends_with("payload: truncated message payload: need 8 bytes, have 7"),
        "{line}"
    );
    let mut long = m.clone();
    long.push(0);
    let line = fails(&run(&["decode", "message", "-"], &long), 7);
    assert!(line.contains("bytes after its payload_len"), "{line}");

    // A cgroups lookup response with an undefined status.
    let mut r = fs::read(dir.join("cgroups_lookup_resp_known_no_labels.bin")).unwrap();
    r[24 + 2] = 9;
    let line = fails(&run(&["decode", "cgroups-lookup-response", "-"], &r), 7);
    assert!(
        line.contains("unknown cgroups lookup item status value 9"),
        "{line}"
    );

    // A chunk packet whose data disagrees with chunk_payload_len.
    let p = fs::read(root().join("vectors/chunked_snapshot/packet-05.bin")).unwrap();
    let line = fails(&run(&["decode", "packet", "-"], &p[..p.len() - 1]), 7);
    assert!(line.contains("data: bad length: chunk data"), "{line}");
}

#[test]
fn non_canonical_input_decodes_with_a_note() {
    let dir = root().join("conformance/vectors");
    let mut b = fs::read(dir.join("batch_string_reverse_3.bin")).unwrap();
    let last = b.len() - 1;
    b[last] = 0xAA; // padding after the last item
    let out = run(
        &[
            "decode",
            "batch",
            "--items",
            "3",
            "--method",
            "string-reverse-request",
            "-",
        ],
        &b,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("netipc: note: -: the input is not canonical"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        encode("batch", &v),
        fs::read(dir.join("batch_string_reverse_3.bin")).unwrap()
    );

    let mut h = fs::read(dir.join("hello.bin")).unwrap();
    h.extend_from_slice(b"junk");
    let out = run(&["decode", "hello", "-"], &h);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("the last 4 of 48 bytes are not part of the decoded structure"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn raw_batches_and_messages_use_hex() {
    let dir = root().join("conformance/vectors");
    let raw = round_trip(
        &["batch", "--items", "3"],
        &dir.join("batch_string_reverse_3.bin"),
    );
    assert!(raw.get("method").is_none());
    assert_eq!(raw["items"][0]["offset"], 0);
    assert_eq!(raw["items"][0]["length"], 10);
    assert_eq!(raw["items"][0]["hex"], "08000000010000006100");
    assert_eq!(raw["items"][1]["offset"], 16);

    // An unknown method travels as hex, and encodes back.
    let msg = json!({
        "header": {"kind": "REQUEST", "flags": 0, "code": 77, "transport_status": "OK",
                   "item_count": 1, "message_id": 5},
        "payload": {"hex": "0102030405"}
    });
    let bytes = encode("message", &msg);
    assert_eq!(bytes.len(), 37);
    let tmp = tempdir();
    let f = temp_file(tmp.path(), "m.bin", &bytes);
    let d = round_trip(&["message"], &f);
    assert_eq!(d["header"]["code"], 77);
    assert_eq!(d["header"]["payload_len"], 5);
    assert_eq!(d["payload"], json!({"hex": "0102030405"}));
}

#[test]
fn encode_computes_derived_fields_and_checks_given_ones() {
    let msg = json!({
        "header": {"kind": "RESPONSE", "flags": "BATCH", "code": "STRING_REVERSE",
                   "transport_status": "OK", "item_count": 2, "message_id": "0x10"},
        "payload": {"items": [{"payload": {"text": "ab"}}, {"payload": {"text": ""}}]}
    });
    let bytes = encode("message", &msg);
    let tmp = tempdir();
    let d = decode(&["message"], &temp_file(tmp.path(), "m.bin", &bytes));
    assert_eq!(d["header"]["message_id"], 16);
    assert_eq!(d["header"]["payload_len"], bytes.len() - 32);
    assert_eq!(d["payload"]["items"][1]["offset"], 16);

    let mut bad = msg.clone();
    bad["header"]["payload_len"] = json!(3);
    let out = run(&["encode", "message", "-"], bad.to_string().as_bytes());
    let line = fails(&out, 1);
    assert!(
        line.contains("header.payload_len: is 3 but the payload encodes to"),
        "{line}"
    );
    let mut bad = msg.clone();
    bad["header"]["item_count"] = json!(3);
    let line = fails(
        &run(&["encode", "message", "-"], bad.to_string().as_bytes()),
        1,
    );
    assert!(
        line.contains("payload.items: has 2 items but the header's item_count is 3"),
        "{line}"
    );
    let mut bad = msg;
    bad["payload"]["items"][0]["offset"] = json!(8);
    let line = fails(
        &run(&["encode", "message", "-"], bad.to_string().as_bytes()),
        1,
    );
    assert!(line.contains("payload.items[0].offset: is 8"), "{line}");

    // The codec's rules apply: a KNOWN pid needs a comm.
    let apps = json!({"generation": 1, "items": [{"pid": 1, "status": "KNOWN",
        "cgroup_status": "HOST_ROOT", "orchestrator": 0, "ppid": 0, "uid": 0, "starttime": 0,
        "comm": "", "cgroup_path": "", "cgroup_name": "", "labels": []}]});
    let line = fails(
        &run(
            &["encode", "apps-lookup-response", "-"],
            apps.to_string().as_bytes(),
        ),
        1,
    );
    assert!(
        line.contains("comm must not be empty for a KNOWN pid"),
        "{line}"
    );

    // JSON errors name the location.
    let line = fails(
        &run(&["encode", "hello", "-"], br#"{"layout_version": 2}"#),
        1,
    );
    assert!(
        line.starts_with("netipc: -: layout_version: must be 1"),
        "{line}"
    );
    let line = fails(
        &run(
            &["encode", "increment-request", "-"],
            br#"{"value": 1, "x": 2}"#,
        ),
        1,
    );
    assert!(line.contains("x: unknown field"), "{line}");
    let line = fails(&run(&["encode", "header", "-"], b"{"), 1);
    assert!(line.contains("invalid JSON"), "{line}");
}

#[test]
fn encode_writes_a_file_with_dash_o() {
    let tmp = tempdir();
    let out = tmp.path().join("out.bin");
    let r = run(
        &[
            "encode",
            "increment-request",
            "-",
            "-o",
            out.to_str().unwrap(),
        ],
        br#"{"value": 41}"#,
    );
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(r.stdout.is_empty());
    assert_eq!(
        fs::read(out).unwrap(),
        fs::read(root().join("conformance/vectors/increment_req.bin")).unwrap()
    );
}

#[test]
fn bad_arguments_exit_2() {
    let f = root().join("conformance/vectors/hello.bin");
    let f = f.to_str().unwrap();
    for args in [
        vec!["decode"],
        vec!["decode", "hello"],
        vec!["decode", "nonsense", f],
        vec!["decode", "batch", f],
        vec!["decode", "hello", "--items", "3", f],
        vec!["decode", "hello", "--method", "increment-request", f],
        vec!["decode", "batch", "--items", "3", "--method", "nope", f],
        vec!["decode", "batch", "--items", "-1", f],
        vec!["decode", "hello", f, "extra"],
        vec!["encode", "hello"],
        vec!["encode", "nonsense", "-"],
        vec!["encode", "hello", "-", "--bogus"],
    ] {
        let line = fails(&run(&args, b""), 2);
        assert!(line.len() > "netipc: ".len(), "{args:?}");
    }
    let help = run(&["decode", "--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("cgroups-lookup-response"), "{text}");
    assert!(text.contains("exit 7"), "{text}");
    let help = run(&["--help"], b"");
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("Exit codes:"), "{text}");
    assert!(text.contains("7  protocol error"), "{text}");
}

#[test]
fn unreadable_input_exits_1() {
    let line = fails(&run(&["decode", "hello", "/nonexistent/x.bin"], b""), 1);
    assert!(line.starts_with("netipc: /nonexistent/x.bin: "), "{line}");
    let line = fails(&run(&["encode", "hello", "/nonexistent/x.json"], b""), 1);
    assert!(line.starts_with("netipc: /nonexistent/x.json: "), "{line}");
    let line = fails(&run(&["encode", "hello", "-"], &[0xff, 0xfe]), 1);
    assert!(line.contains("not UTF-8"), "{line}");
}
