//! Conformance vectors: byte-exact decode and encode.

use super::*;

struct ReqVector {
    name: &'static str,
    bytes: &'static [u8],
    paths: &'static [&'static str],
}

struct ExpItem {
    status: &'static str,
    orchestrator: &'static str,
    path: &'static str,
    name: &'static str,
    labels: &'static [(&'static str, &'static str)],
}

struct RespVector {
    name: &'static str,
    bytes: &'static [u8],
    generation: u64,
    items: &'static [ExpItem],
}

/// Generated from testdata/conformance/vectors.json.
const REQ_VECTORS: &[ReqVector] = &[
    ReqVector {
        name: "cgroups_lookup_req",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_req.bin"
        ),
        paths: &["/sys/fs/cgroup/a", "/system.slice/docker-abc.scope"],
    },
    ReqVector {
        name: "cgroups_lookup_req_empty",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_req_empty.bin"
        ),
        paths: &[],
    },
];

/// Generated from testdata/conformance/vectors.json.
const RESP_VECTORS: &[RespVector] = &[
    RespVector {
        name: "cgroups_lookup_resp_known_with_labels",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_known_with_labels.bin"
        ),
        generation: 100,
        items: &[ExpItem {
            status: "KNOWN",
            orchestrator: "K8S",
            path: "/kubepods.slice/pod-a",
            name: "pod-a",
            labels: &[("namespace", "default"), ("pod", "web")],
        }],
    },
    RespVector {
        name: "cgroups_lookup_resp_known_no_labels",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_known_no_labels.bin"
        ),
        generation: 101,
        items: &[ExpItem {
            status: "KNOWN",
            orchestrator: "DOCKER",
            path: "/docker/abc",
            name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "cgroups_lookup_resp_unknown_retry",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_unknown_retry.bin"
        ),
        generation: 102,
        items: &[ExpItem {
            status: "UNKNOWN_RETRY_LATER",
            orchestrator: "UNKNOWN",
            path: "/missing/retry",
            name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "cgroups_lookup_resp_unknown_permanent",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_unknown_permanent.bin"
        ),
        generation: 103,
        items: &[ExpItem {
            status: "UNKNOWN_PERMANENT",
            orchestrator: "UNKNOWN",
            path: "/gone",
            name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "cgroups_lookup_resp_payload_exceeded",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_payload_exceeded.bin"
        ),
        generation: 104,
        items: &[ExpItem {
            status: "PAYLOAD_EXCEEDED",
            orchestrator: "UNKNOWN",
            path: "/payload-exceeded",
            name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "cgroups_lookup_resp_oversized_item",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_oversized_item.bin"
        ),
        generation: 105,
        items: &[ExpItem {
            status: "OVERSIZED_ITEM",
            orchestrator: "UNKNOWN",
            path: "/oversized",
            name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "cgroups_lookup_resp_empty",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/cgroups_lookup_resp_empty.bin"
        ),
        generation: 106,
        items: &[],
    },
];

fn orch_value(name: &str) -> u16 {
    Orchestrator::from_name(name)
        .expect("orchestrator name")
        .as_u16()
}

#[test]
fn set_generation_keeps_items() {
    let mut req = Vec::new();
    encode_cgroups_lookup_request(&["/a", "/b"], &mut req).unwrap();
    let view = CgroupsLookupRequestView::decode(&req).unwrap();
    let mut b = CgroupsLookupBuilder::new();
    b.reset(0, &view);
    b.add_request_unknown(&view, 0, LookupStatus::UnknownRetryLater)
        .unwrap();
    b.set_generation(77);
    b.add_request_unknown(&view, 1, LookupStatus::UnknownRetryLater)
        .unwrap();
    let resp = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    assert_eq!(resp.generation(), 77);
    assert_eq!(resp.len(), 2);
    assert_eq!(resp.item(1).path(), b"/b");
}

#[test]
fn conformance_requests() {
    for v in REQ_VECTORS {
        let view =
            CgroupsLookupRequestView::decode(v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let got: Vec<&[u8]> = view.iter().collect();
        let want: Vec<&[u8]> = v.paths.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(got, want, "{}", v.name);
        // encode
        let mut out = Vec::new();
        encode_cgroups_lookup_request(v.paths, &mut out).unwrap();
        assert_eq!(out, v.bytes, "{}: encode", v.name);
        assert_eq!(cgroups_lookup_request_len(v.paths).unwrap(), v.bytes.len());
        // request builder
        let mut b = CgroupsLookupRequestBuilder::new();
        for p in v.paths {
            assert!(b.push(p.as_bytes()).unwrap());
        }
        let mut out2 = Vec::new();
        b.finish(&mut out2);
        assert_eq!(out2, v.bytes, "{}: builder", v.name);
        assert_eq!(b.encoded_len(), v.bytes.len());
        // re-encode
        let mut out3 = Vec::new();
        view.to_owned().encode(&mut out3).unwrap();
        assert_eq!(out3, v.bytes, "{}: re-encode", v.name);
    }
}

#[test]
fn conformance_responses() {
    for v in RESP_VECTORS {
        let view = CgroupsLookupResponseView::decode(v.bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(view.generation(), v.generation, "{}", v.name);
        assert_eq!(view.len(), v.items.len(), "{}", v.name);
        for (got, want) in view.items().zip(v.items) {
            assert_eq!(got.status().as_str(), want.status, "{}", v.name);
            assert_eq!(
                orchestrator_name(got.orchestrator()),
                Some(want.orchestrator),
                "{}",
                v.name
            );
            assert_eq!(got.path(), want.path.as_bytes(), "{}", v.name);
            assert_eq!(got.name(), want.name.as_bytes(), "{}", v.name);
            let labels: Vec<(&[u8], &[u8])> = got.labels().map(|l| (l.key(), l.value())).collect();
            let wl: Vec<(&[u8], &[u8])> = want
                .labels
                .iter()
                .map(|(k, x)| (k.as_bytes(), x.as_bytes()))
                .collect();
            assert_eq!(labels, wl, "{}", v.name);
        }
        // encode with the builder
        let paths: Vec<&str> = v.items.iter().map(|i| i.path).collect();
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(v.generation, &paths).unwrap();
        for it in v.items {
            let status = LookupStatus::from_name(it.status).unwrap();
            let got = b
                .add(
                    it.path.as_bytes(),
                    status,
                    orch_value(it.orchestrator),
                    it.name.as_bytes(),
                    it.labels,
                )
                .unwrap();
            assert_eq!(got, status);
        }
        assert_eq!(b.finish().unwrap(), v.bytes, "{}: encode", v.name);
        // re-encode through the owned type
        let mut out = Vec::new();
        view.to_owned().encode(&mut out).unwrap();
        assert_eq!(out, v.bytes, "{}: re-encode", v.name);
    }
}

fn vector(name: &str) -> &'static RespVector {
    RESP_VECTORS.iter().find(|v| v.name == name).unwrap()
}

/// The PAYLOAD_EXCEEDED vector is what the builder produces when a
/// KNOWN item does not fit the current budget (but fits the maximum).
#[test]
fn conformance_payload_exceeded_from_budget() {
    let v = vector("cgroups_lookup_resp_payload_exceeded");
    let mut b = CgroupsLookupBuilder::with_budget(v.bytes.len(), 1 << 20);
    b.reset_for_paths(104, &["/payload-exceeded"]).unwrap();
    let got = b
        .add(
            b"/payload-exceeded",
            LookupStatus::Known,
            Orchestrator::K8s.into(),
            b"pod",
            [("a", "b")],
        )
        .unwrap();
    assert_eq!(got, LookupStatus::PayloadExceeded);
    assert!(b.is_exceeded());
    assert_eq!(b.finish().unwrap(), v.bytes);
}

/// The OVERSIZED_ITEM vector is what the builder produces when a KNOWN
/// item cannot fit alone within the maximum budget.
#[test]
fn conformance_oversized_from_budget() {
    let v = vector("cgroups_lookup_resp_oversized_item");
    let mut b = CgroupsLookupBuilder::with_budget(v.bytes.len(), v.bytes.len());
    b.reset_for_paths(105, &["/oversized"]).unwrap();
    let got = b
        .add(
            b"/oversized",
            LookupStatus::Known,
            Orchestrator::Docker.into(),
            b"name",
            NO_LABELS,
        )
        .unwrap();
    assert_eq!(got, LookupStatus::OversizedItem);
    assert!(!b.is_exceeded());
    assert_eq!(b.finish().unwrap(), v.bytes);
}
