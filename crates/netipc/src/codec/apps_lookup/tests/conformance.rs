//! Conformance vectors: byte-exact decode and encode.

use super::*;

struct ReqVector {
    name: &'static str,
    bytes: &'static [u8],
    pids: &'static [u32],
}

struct ExpItem {
    status: &'static str,
    cgroup_status: &'static str,
    orchestrator: &'static str,
    pid: u32,
    ppid: u32,
    uid: u32,
    starttime: u64,
    comm: &'static str,
    cgroup_path: &'static str,
    cgroup_name: &'static str,
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
        name: "apps_lookup_req",
        bytes: include_bytes!("../../../../../../testdata/conformance/vectors/apps_lookup_req.bin"),
        pids: &[0, 1234, 4321],
    },
    ReqVector {
        name: "apps_lookup_req_empty",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_req_empty.bin"
        ),
        pids: &[],
    },
];

/// Generated from testdata/conformance/vectors.json.
const RESP_VECTORS: &[RespVector] = &[
    RespVector {
        name: "apps_lookup_resp_known_full",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_known_full.bin"
        ),
        generation: 200,
        items: &[ExpItem {
            status: "KNOWN",
            cgroup_status: "KNOWN",
            orchestrator: "DOCKER",
            pid: 1234,
            ppid: 1,
            uid: 1000,
            starttime: 123456,
            comm: "123456789012345",
            cgroup_path: "/docker/abc",
            cgroup_name: "container-a",
            labels: &[("image", "nginx:latest"), ("service", "web")],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_known_retry",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_known_retry.bin"
        ),
        generation: 201,
        items: &[ExpItem {
            status: "KNOWN",
            cgroup_status: "UNKNOWN_RETRY_LATER",
            orchestrator: "UNKNOWN",
            pid: 1235,
            ppid: 1,
            uid: 1000,
            starttime: 123457,
            comm: "app",
            cgroup_path: "/pending",
            cgroup_name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_known_permanent",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_known_permanent.bin"
        ),
        generation: 202,
        items: &[ExpItem {
            status: "KNOWN",
            cgroup_status: "UNKNOWN_PERMANENT",
            orchestrator: "UNKNOWN",
            pid: 1236,
            ppid: 1,
            uid: 1000,
            starttime: 123458,
            comm: "app2",
            cgroup_path: "/permanent",
            cgroup_name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_known_host_root",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_known_host_root.bin"
        ),
        generation: 203,
        items: &[ExpItem {
            status: "KNOWN",
            cgroup_status: "HOST_ROOT",
            orchestrator: "UNKNOWN",
            pid: 1237,
            ppid: 1,
            uid: 0,
            starttime: 123459,
            comm: "sshd",
            cgroup_path: "",
            cgroup_name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_unknown_pid",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_unknown_pid.bin"
        ),
        generation: 204,
        items: &[ExpItem {
            status: "UNKNOWN",
            cgroup_status: "KNOWN",
            orchestrator: "UNKNOWN",
            pid: 0,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: "",
            cgroup_path: "",
            cgroup_name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_payload_exceeded",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_payload_exceeded.bin"
        ),
        generation: 205,
        items: &[ExpItem {
            status: "PAYLOAD_EXCEEDED",
            cgroup_status: "KNOWN",
            orchestrator: "UNKNOWN",
            pid: 1238,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: "",
            cgroup_path: "",
            cgroup_name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_oversized_item",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_oversized_item.bin"
        ),
        generation: 206,
        items: &[ExpItem {
            status: "OVERSIZED_ITEM",
            cgroup_status: "KNOWN",
            orchestrator: "UNKNOWN",
            pid: 1239,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: "",
            cgroup_path: "",
            cgroup_name: "",
            labels: &[],
        }],
    },
    RespVector {
        name: "apps_lookup_resp_empty",
        bytes: include_bytes!(
            "../../../../../../testdata/conformance/vectors/apps_lookup_resp_empty.bin"
        ),
        generation: 207,
        items: &[],
    },
];

impl ExpItem {
    fn entry(&self) -> AppsLookupEntry<'static> {
        AppsLookupEntry {
            status: PidStatus::from_name(self.status).unwrap(),
            cgroup_status: CgroupStatus::from_name(self.cgroup_status).unwrap(),
            orchestrator: Orchestrator::from_name(self.orchestrator).unwrap().as_u16(),
            ppid: self.ppid,
            uid: self.uid,
            starttime: self.starttime,
            comm: self.comm.as_bytes(),
            cgroup_path: self.cgroup_path.as_bytes(),
            cgroup_name: self.cgroup_name.as_bytes(),
        }
    }
}

#[test]
fn conformance_requests() {
    for v in REQ_VECTORS {
        let view =
            AppsLookupRequestView::decode(v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(view.iter().collect::<Vec<_>>(), v.pids, "{}", v.name);
        let mut out = Vec::new();
        encode_apps_lookup_request(v.pids, &mut out).unwrap();
        assert_eq!(out, v.bytes, "{}: encode", v.name);
        assert_eq!(apps_lookup_request_len(v.pids.len()), Some(v.bytes.len()));
        let mut out2 = Vec::new();
        view.to_owned().encode(&mut out2).unwrap();
        assert_eq!(out2, v.bytes, "{}: re-encode", v.name);
    }
}

#[test]
fn conformance_responses() {
    for v in RESP_VECTORS {
        let view =
            AppsLookupResponseView::decode(v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(view.generation(), v.generation, "{}", v.name);
        assert_eq!(view.len(), v.items.len(), "{}", v.name);
        for (got, want) in view.items().zip(v.items) {
            assert_eq!(got.status().as_str(), want.status, "{}", v.name);
            assert_eq!(
                got.cgroup_status().as_str(),
                want.cgroup_status,
                "{}",
                v.name
            );
            assert_eq!(
                orchestrator_name(got.orchestrator()),
                Some(want.orchestrator),
                "{}",
                v.name
            );
            assert_eq!(
                (got.pid(), got.ppid(), got.uid(), got.starttime()),
                (want.pid, want.ppid, want.uid, want.starttime),
                "{}",
                v.name
            );
            assert_eq!(got.comm(), want.comm.as_bytes(), "{}", v.name);
            assert_eq!(got.cgroup_path(), want.cgroup_path.as_bytes(), "{}", v.name);
            assert_eq!(got.cgroup_name(), want.cgroup_name.as_bytes(), "{}", v.name);
            let labels: Vec<(&[u8], &[u8])> = got.labels().map(|l| (l.key(), l.value())).collect();
            let wl: Vec<(&[u8], &[u8])> = want
                .labels
                .iter()
                .map(|(k, x)| (k.as_bytes(), x.as_bytes()))
                .collect();
            assert_eq!(labels, wl, "{}", v.name);
        }
        let mut b = AppsLookupBuilder::new();
        b.reset_for_count(v.generation, u32::try_from(v.items.len()).unwrap());
        for it in v.items {
            let st = b.add(it.pid, &it.entry(), it.labels).unwrap();
            assert_eq!(st.as_str(), it.status);
        }
        assert_eq!(b.finish().unwrap(), v.bytes, "{}: encode", v.name);
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
    let v = vector("apps_lookup_resp_payload_exceeded");
    let mut b = AppsLookupBuilder::with_budget(v.bytes.len(), 1 << 20);
    b.reset_for_count(205, 1);
    assert_eq!(
        b.add(1238, &known_entry(), NO_LABELS).unwrap(),
        PidStatus::PayloadExceeded
    );
    assert_eq!(b.finish().unwrap(), v.bytes);
}

/// The OVERSIZED_ITEM vector is what the builder produces when a KNOWN
/// item cannot fit alone within the maximum budget.
#[test]
fn conformance_oversized_from_budget() {
    let v = vector("apps_lookup_resp_oversized_item");
    let mut b = AppsLookupBuilder::with_budget(v.bytes.len(), v.bytes.len());
    b.reset_for_count(206, 1);
    assert_eq!(
        b.add(1239, &known_entry(), [("image", "bench:latest")])
            .unwrap(),
        PidStatus::OversizedItem
    );
    assert_eq!(b.finish().unwrap(), v.bytes);
}
