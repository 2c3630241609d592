//! Unit tests of dataset parsing, validation and JSON output.

use netipc::codec::cgroups_snapshot::simple_hash;
use serde_json::Value;

use super::*;

fn err_of<T: fmt::Debug>(r: Res<T>) -> String {
    r.expect_err("expected an error").to_string()
}

const SNAPSHOT: &str = r#"{
    "generation": 999, "systemd_enabled": 1,
    "items": [
        {"hash": 100, "options": 0, "enabled": 1, "name": "init.scope", "path": "/sys/fs/cgroup/init.scope"},
        {"options": 2, "enabled": 0, "name": "system.slice/docker-abc.scope", "path": "/system.slice/docker-abc.scope"},
        {"hash": 300, "options": 0, "enabled": 1, "name": "", "path": ""}
    ]}"#;

const CGROUPS: &str = r#"{"generation": 100, "items": [
    {"path": "/kubepods.slice/pod-a", "status": "KNOWN", "orchestrator": "K8S", "name": "pod-a",
     "labels": [["namespace", "default"], ["pod", "web"]]},
    {"path": "/docker/abc", "status": "KNOWN", "orchestrator": 77, "name": "", "labels": []},
    {"path": "/gone", "status": "UNKNOWN_PERMANENT", "orchestrator": "UNKNOWN", "name": "", "labels": []},
    {"path": "/big", "status": "OVERSIZED_ITEM", "orchestrator": 0, "name": "", "labels": []}
]}"#;

const APPS: &str = r#"{"generation": 200, "items": [
    {"pid": 1234, "status": "KNOWN", "cgroup_status": "KNOWN", "orchestrator": "DOCKER",
     "ppid": 1, "uid": 1000, "starttime": 123456, "comm": "123456789012345",
     "cgroup_path": "/docker/abc", "cgroup_name": "container-a",
     "labels": [["image", "nginx:latest"], ["service", "web"]]},
    {"pid": 1235, "status": "KNOWN", "cgroup_status": "UNKNOWN_RETRY_LATER", "orchestrator": "UNKNOWN",
     "ppid": 1, "uid": "NIPC_UID_UNSET", "starttime": 18446744073709551615, "comm": "app",
     "cgroup_path": "", "cgroup_name": "", "labels": []},
    {"pid": 1237, "status": "KNOWN", "cgroup_status": "HOST_ROOT", "orchestrator": "UNKNOWN",
     "ppid": 1, "uid": 0, "starttime": 123459, "comm": "sshd", "cgroup_path": "", "cgroup_name": "", "labels": []},
    {"pid": 0, "status": "UNKNOWN", "cgroup_status": "KNOWN", "orchestrator": "UNKNOWN", "ppid": 0,
     "uid": "NIPC_UID_UNSET", "starttime": 0, "comm": "", "cgroup_path": "", "cgroup_name": "", "labels": []}
]}"#;

#[test]
fn snapshot_parse_and_round_trip() {
    let s = parse_snapshot(SNAPSHOT).unwrap();
    assert_eq!(s.generation, 999);
    assert_eq!(s.systemd_enabled, 1);
    assert_eq!(s.items[0].hash, 100);
    assert_eq!(
        s.items[1].hash,
        simple_hash(b"system.slice/docker-abc.scope")
    );
    assert_eq!(s.items[2].name, "");
    let json = to_json_pretty(&s);
    assert!(json.contains("\"hash\""));
    assert_eq!(parse_snapshot(&json).unwrap(), s);
    assert_eq!(parse_any(&json).unwrap(), Dataset::Snapshot(s));
    let empty = r#"{"generation": 0, "systemd_enabled": 0, "items": []}"#;
    assert!(parse_snapshot(empty).unwrap().items.is_empty());
}

#[test]
fn cgroups_parse_and_round_trip() {
    let c = parse_cgroups_lookup(CGROUPS).unwrap();
    assert_eq!(c.items[0].labels[1], ("pod".to_owned(), "web".to_owned()));
    assert_eq!(c.items[1].orchestrator, 77);
    assert_eq!(c.items[3].status, LookupStatus::OversizedItem);
    let json = to_json_pretty(&c);
    assert!(json.contains("\"orchestrator\": 77"));
    assert!(json.contains("\"orchestrator\": \"K8S\""));
    assert_eq!(parse_cgroups_lookup(&json).unwrap(), c);
    assert_eq!(parse_any(&json).unwrap(), Dataset::CgroupsLookup(c));
}

#[test]
fn library_enums_use_spec_names() {
    let mut item = CgroupLookupItem::unknown("/x", LookupStatus::UnknownRetryLater);
    item.orchestrator = 300;
    assert_eq!(
        serde_json::to_string(&item).unwrap(),
        r#"{"path":"/x","status":"UNKNOWN_RETRY_LATER","orchestrator":300,"name":"","labels":[]}"#
    );
    item.orchestrator = Orchestrator::Nspawn.as_u16();
    assert!(
        serde_json::to_string(&item)
            .unwrap()
            .contains(r#""orchestrator":"NSPAWN""#)
    );
    let mut app = AppsLookupItem::unknown(1, PidStatus::OversizedItem);
    app.cgroup_status = CgroupStatus::HostRoot;
    let text = serde_json::to_string(&app).unwrap();
    assert!(text.contains(r#""status":"OVERSIZED_ITEM""#), "{text}");
    assert!(text.contains(r#""cgroup_status":"HOST_ROOT""#), "{text}");
    let e = err_of(parse_cgroups_lookup(
        r#"{"generation":1,"items":[{"path":"/a","status":"KNOWN","orchestrator":"nspawn","name":"","labels":[]}]}"#,
    ));
    assert_eq!(
        e,
        "items[0].orchestrator: unknown orchestrator `nspawn` (expected one of UNKNOWN, \
         SYSTEMD, DOCKER, K8S, KVM, LXC, PODMAN, NSPAWN, or a number 0..65535)"
    );
}

#[test]
fn apps_parse_and_round_trip() {
    let a = parse_apps_lookup(APPS).unwrap();
    assert_eq!(a.items[1].uid, UID_UNSET);
    assert_eq!(a.items[1].starttime, u64::MAX);
    assert_eq!(a.items[2].cgroup_status, CgroupStatus::HostRoot);
    let json = to_json_pretty(&a);
    assert!(json.contains("\"uid\": \"NIPC_UID_UNSET\""));
    assert!(json.contains("\"uid\": 1000"));
    assert_eq!(parse_apps_lookup(&json).unwrap(), a);
    assert_eq!(parse_any(&json).unwrap(), Dataset::AppsLookup(a));
    // Compact output has every field too, in the documented order.
    let one = serde_json::to_string(&AppsLookupItem::unknown(7, PidStatus::Unknown)).unwrap();
    assert_eq!(
        one,
        r#"{"pid":7,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":"UNKNOWN","ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]}"#
    );
}

#[test]
fn conformance_vector_fields_parse() {
    // The vectors' field values use the same shapes.
    let text = include_str!("../../../../testdata/conformance/vectors.json");
    let root: Value = serde_json::from_str(text).unwrap();
    let mut checked = 0;
    for v in root["vectors"].as_array().unwrap() {
        let fields = serde_json::to_string(&v["fields"]).unwrap();
        match v["type"].as_str().unwrap() {
            "cgroups-snapshot-response" => {
                parse_snapshot(&fields).unwrap();
                checked += 1;
            }
            "cgroups-lookup-response" => {
                let r = parse_cgroups_lookup(&fields);
                if fields.contains("PAYLOAD_EXCEEDED") {
                    assert!(r.is_err());
                } else {
                    r.unwrap();
                }
                checked += 1;
            }
            "apps-lookup-response" => {
                let r = parse_apps_lookup(&fields);
                if fields.contains("PAYLOAD_EXCEEDED") {
                    assert!(r.is_err());
                } else {
                    r.unwrap();
                }
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 10);
}

#[test]
fn documented_examples_parse() {
    let doc = include_str!("../../../../docs/dataset.md");
    let mut blocks = 0;
    for part in doc.split("```json\n").skip(1) {
        let block = part.split("```").next().unwrap();
        match parse_any(block).unwrap() {
            Dataset::Snapshot(s) => {
                assert_eq!(s.items[0].hash, simple_hash(b"ssh.service"));
                assert_eq!(s.items[1].hash, simple_hash(b"docker-0123456789ab"));
            }
            Dataset::CgroupsLookup(c) => assert_eq!(c.items.len(), 3),
            Dataset::AppsLookup(a) => assert_eq!(a.items[2].uid, UID_UNSET),
        }
        blocks += 1;
    }
    assert_eq!(blocks, 3);
}

#[test]
fn syntax_and_structure_errors() {
    assert!(err_of(parse_snapshot("{")).starts_with("invalid JSON: "));
    assert!(err_of(parse_snapshot("[]")).contains("must be an object"));
    assert!(
        err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":0,"items":[]} x"#
        ))
        .contains("trailing")
    );
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"generation":2,"systemd_enabled":0,"items":[]}"#,
    ));
    assert!(e.contains("generation: duplicate key"), "{e}");
    let e = err_of(parse_cgroups_lookup(
        r#"{"generation":1,"items":[{"path":"/a","path":"/b","status":"KNOWN","orchestrator":0,"name":"","labels":[]}]}"#,
    ));
    assert!(e.contains("items[0].path: duplicate key"), "{e}");
    let e = err_of(parse_snapshot(r#"{"generation":1,"items":[]}"#));
    assert_eq!(e, "systemd_enabled: missing field");
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"systemd_enabled":0,"items":[],"x":1}"#,
    ));
    assert!(e.starts_with("x: unknown field"), "{e}");
    let e = err_of(parse_snapshot(
        r#"{"generation":-1,"systemd_enabled":0,"items":[]}"#,
    ));
    assert!(
        e.starts_with("generation: must be an unsigned integer"),
        "{e}"
    );
    let e = err_of(parse_snapshot(
        r#"{"generation":1.5,"systemd_enabled":0,"items":[]}"#,
    ));
    assert!(
        e.starts_with("generation: must be an unsigned integer"),
        "{e}"
    );
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"systemd_enabled":4294967296,"items":[]}"#,
    ));
    assert!(
        e.starts_with("systemd_enabled: must be an unsigned integer 0..4294967295"),
        "{e}"
    );
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"systemd_enabled":0,"items":{}}"#,
    ));
    assert_eq!(e, "items: must be an array");
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"systemd_enabled":0,"items":[{"options":0,"enabled":1,"name":5,"path":""}]}"#,
    ));
    assert_eq!(e, "items[0].name: must be a string");
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"systemd_enabled":0,"items":[{"hash":-3,"options":0,"enabled":1,"name":"","path":""}]}"#,
    ));
    assert!(
        e.starts_with("items[0].hash: must be an unsigned integer"),
        "{e}"
    );
    let e = err_of(parse_any(r#"{"generation":1,"items":[]}"#));
    assert!(e.contains("cannot tell which dataset"), "{e}");
}

#[test]
fn snapshot_rejects_nul() {
    let e = err_of(parse_snapshot(
        r#"{"generation":1,"systemd_enabled":0,"items":[{"options":0,"enabled":1,"name":"a\u0000b","path":""}]}"#,
    ));
    assert_eq!(e, "items[0].name: must not contain NUL bytes");
}

fn cg_item(item: &str) -> String {
    format!(r#"{{"generation":1,"items":[{item}]}}"#)
}

#[test]
fn cgroups_validation_errors() {
    let ok =
        r#"{"path":"/a","status":"KNOWN","orchestrator":"DOCKER","name":"n","labels":[["k","v"]]}"#;
    parse_cgroups_lookup(&cg_item(ok)).unwrap();
    let cases: &[(&str, &str)] = &[
        (
            r#"{"path":"","status":"KNOWN","orchestrator":0,"name":"","labels":[]}"#,
            "items[0].path: must not be empty",
        ),
        (
            r#"{"path":"/a\u0000","status":"KNOWN","orchestrator":0,"name":"","labels":[]}"#,
            "items[0].path: must not contain NUL bytes",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"x\u0000","labels":[]}"#,
            "items[0].name: must not contain NUL bytes",
        ),
        (
            r#"{"path":"/a","status":"FOO","orchestrator":0,"name":"","labels":[]}"#,
            "items[0].status: unknown status `FOO` (expected one of KNOWN, UNKNOWN_RETRY_LATER, UNKNOWN_PERMANENT, PAYLOAD_EXCEEDED, OVERSIZED_ITEM)",
        ),
        (
            r#"{"path":"/a","status":"PAYLOAD_EXCEEDED","orchestrator":0,"name":"","labels":[]}"#,
            "items[0].status: PAYLOAD_EXCEEDED is a transport outcome and cannot be served from a dataset",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":"MESOS","name":"","labels":[]}"#,
            "items[0].orchestrator: unknown orchestrator `MESOS`",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":65536,"name":"","labels":[]}"#,
            "items[0].orchestrator: orchestrator number must be 0..65535",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":true,"name":"","labels":[]}"#,
            "items[0].orchestrator: must be an orchestrator name",
        ),
        (
            r#"{"path":"/a","status":"UNKNOWN_PERMANENT","orchestrator":"K8S","name":"","labels":[]}"#,
            "items[0].orchestrator: must be UNKNOWN when status is UNKNOWN_PERMANENT",
        ),
        (
            r#"{"path":"/a","status":"UNKNOWN_RETRY_LATER","orchestrator":0,"name":"x","labels":[]}"#,
            "items[0].name: must be empty when status is UNKNOWN_RETRY_LATER",
        ),
        (
            r#"{"path":"/a","status":"OVERSIZED_ITEM","orchestrator":0,"name":"","labels":[["a","b"]]}"#,
            "items[0].labels: must be empty when status is OVERSIZED_ITEM",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["","v"]]}"#,
            "items[0].labels[0][0]: label key must not be empty",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["k","v\u0000"]]}"#,
            "items[0].labels[0][1]: must not contain NUL bytes",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["k"]]}"#,
            "items[0].labels[0]: a label must be",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["k", 5]]}"#,
            "items[0].labels[0][1]: must be a string",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":""}"#,
            "items[0].labels: missing field",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[],"extra":1}"#,
            "items[0].extra: unknown field",
        ),
        (
            r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[]},
               {"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[]}"#,
            "items[1].path: duplicate path `/a` (also items[0])",
        ),
        ("5", "items[0]: must be an object"),
    ];
    for (item, want) in cases {
        let e = err_of(parse_cgroups_lookup(&cg_item(item)));
        assert!(e.starts_with(want), "got `{e}`, want `{want}`");
    }
}

fn app(over: &[(&str, &str)]) -> String {
    let mut fields: Vec<(&str, String)> = vec![
        ("pid", "10".into()),
        ("status", "\"KNOWN\"".into()),
        ("cgroup_status", "\"KNOWN\"".into()),
        ("orchestrator", "\"DOCKER\"".into()),
        ("ppid", "1".into()),
        ("uid", "0".into()),
        ("starttime", "5".into()),
        ("comm", "\"bash\"".into()),
        ("cgroup_path", "\"/docker/x\"".into()),
        ("cgroup_name", "\"x\"".into()),
        ("labels", "[]".into()),
    ];
    for (k, v) in over {
        match fields.iter_mut().find(|(f, _)| f == k) {
            Some(slot) => slot.1 = (*v).to_owned(),
            None => fields.push((k, (*v).to_owned())),
        }
    }
    fields.retain(|(_, v)| v != "-");
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!(r#"{{"generation":1,"items":[{{{}}}]}}"#, body.join(","))
}

const UNKNOWN_PID: &[(&str, &str)] = &[
    ("status", "\"UNKNOWN\""),
    ("orchestrator", "0"),
    ("ppid", "0"),
    ("uid", "\"NIPC_UID_UNSET\""),
    ("starttime", "0"),
    ("comm", "\"\""),
    ("cgroup_path", "\"\""),
    ("cgroup_name", "\"\""),
];

#[test]
fn apps_validation_errors() {
    parse_apps_lookup(&app(&[])).unwrap();
    parse_apps_lookup(&app(UNKNOWN_PID)).unwrap();
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = UNKNOWN_PID.to_vec();
        v.extend_from_slice(extra);
        app(&v)
    };
    let cases: Vec<(String, &str)> = vec![
        (
            app(&[("comm", "\"\"")]),
            "items[0].comm: must be 1..15 bytes for a KNOWN pid (got 0)",
        ),
        (
            app(&[("comm", "\"0123456789abcdef\"")]),
            "items[0].comm: must be 1..15 bytes for a KNOWN pid (got 16)",
        ),
        (
            app(&[("comm", "\"a\\u0000\"")]),
            "items[0].comm: must not contain NUL bytes",
        ),
        (
            app(&[("uid", "\"nobody\"")]),
            "items[0].uid: must be a number 0..4294967295 or \"NIPC_UID_UNSET\"",
        ),
        (
            app(&[("uid", "-1")]),
            "items[0].uid: must be an unsigned integer",
        ),
        (
            app(&[("pid", "4294967296")]),
            "items[0].pid: must be an unsigned integer 0..4294967295",
        ),
        (
            app(&[("status", "\"GONE\"")]),
            "items[0].status: unknown status `GONE` (expected one of KNOWN, UNKNOWN, PAYLOAD_EXCEEDED, OVERSIZED_ITEM)",
        ),
        (
            app(&[("cgroup_status", "\"NOPE\"")]),
            "items[0].cgroup_status: unknown status `NOPE`",
        ),
        (
            app(&[("status", "\"PAYLOAD_EXCEEDED\"")]),
            "items[0].status: PAYLOAD_EXCEEDED is a transport outcome",
        ),
        (
            app(&[("cgroup_path", "\"\"")]),
            "items[0].cgroup_path: must not be empty when cgroup_status is KNOWN",
        ),
        (
            app(&[("cgroup_status", "\"HOST_ROOT\"")]),
            "items[0].cgroup_path: must be empty when cgroup_status is HOST_ROOT",
        ),
        (
            app(&[("cgroup_status", "\"UNKNOWN_RETRY_LATER\"")]),
            "items[0].orchestrator: must be UNKNOWN when cgroup_status is UNKNOWN_RETRY_LATER",
        ),
        (
            app(&[
                ("cgroup_status", "\"UNKNOWN_PERMANENT\""),
                ("orchestrator", "0"),
            ]),
            "items[0].cgroup_name: must be empty when cgroup_status is UNKNOWN_PERMANENT",
        ),
        (
            app(&[
                ("cgroup_status", "\"UNKNOWN_PERMANENT\""),
                ("orchestrator", "0"),
                ("cgroup_name", "\"\""),
                ("cgroup_path", "\"\""),
            ]),
            "items[0].cgroup_path: must not be empty when cgroup_status is UNKNOWN_PERMANENT",
        ),
        (
            app(&[
                ("cgroup_status", "\"UNKNOWN_RETRY_LATER\""),
                ("orchestrator", "0"),
                ("cgroup_name", "\"\""),
                ("labels", "[[\"a\",\"b\"]]"),
            ]),
            "items[0].labels: must be empty when cgroup_status is UNKNOWN_RETRY_LATER",
        ),
        (
            with(&[("ppid", "3")]),
            "items[0].ppid: must be 0 when status is UNKNOWN",
        ),
        (
            with(&[("uid", "0")]),
            "items[0].uid: must be \"NIPC_UID_UNSET\" when status is UNKNOWN",
        ),
        (
            with(&[("starttime", "1")]),
            "items[0].starttime: must be 0 when status is UNKNOWN",
        ),
        (
            with(&[("comm", "\"x\"")]),
            "items[0].comm: must be empty when status is UNKNOWN",
        ),
        (
            with(&[("cgroup_status", "\"HOST_ROOT\"")]),
            "items[0].cgroup_status: must be KNOWN (wire value 0) when status is UNKNOWN",
        ),
        (
            with(&[("orchestrator", "\"K8S\"")]),
            "items[0].orchestrator: must be UNKNOWN when status is UNKNOWN",
        ),
        (
            with(&[("status", "\"OVERSIZED_ITEM\""), ("cgroup_name", "\"x\"")]),
            "items[0].cgroup_name: must be empty when status is OVERSIZED_ITEM",
        ),
        (
            app(&[("starttime", "\"5\"")]),
            "items[0].starttime: must be an unsigned integer",
        ),
        (app(&[("labels", "-")]), "items[0].labels: missing field"),
    ];
    for (text, want) in cases {
        let e = err_of(parse_apps_lookup(&text));
        assert!(e.starts_with(want), "got `{e}`, want `{want}`\n{text}");
    }
    let two = r#"{"generation":1,"items":[
        {"pid":5,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":0,"ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]},
        {"pid":5,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":0,"ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]}]}"#;
    assert_eq!(
        err_of(parse_apps_lookup(two)),
        "items[1].pid: duplicate pid 5 (also items[0])"
    );
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::Builder::new()
        .prefix("netipc-dataset-")
        .tempdir()
        .unwrap();
    let f = dir.path().join("apps.json");
    std::fs::write(&f, app(&[("comm", "\"\"")])).unwrap();
    let e = load_apps_lookup(&f).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(f.as_path()));
    assert_eq!(e.location, "items[0].comm");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: items[0].comm: must be 1..15 bytes for a KNOWN pid (got 0)",
            f.display()
        )
    );
    let missing = dir.path().join("missing.json");
    assert!(
        load_snapshot(&missing)
            .unwrap_err()
            .to_string()
            .contains("cannot read")
    );
    std::fs::write(&f, SNAPSHOT).unwrap();
    assert!(matches!(load_any(&f).unwrap(), Dataset::Snapshot(_)));
    std::fs::write(&f, CGROUPS).unwrap();
    assert_eq!(load_cgroups_lookup(&f).unwrap().items.len(), 4);
}

#[test]
fn hostile_json_does_not_panic() {
    let deep = "[".repeat(10_000);
    assert!(parse_snapshot(&deep).is_err());
    for t in [
        "",
        "null",
        "\"x\"",
        "1e999",
        "{\"items\":null}",
        "{\"generation\":1e3}",
    ] {
        let _ = parse_any(t);
        let _ = parse_snapshot(t);
        let _ = parse_cgroups_lookup(t);
        let _ = parse_apps_lookup(t);
    }
}
