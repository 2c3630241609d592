//! Golden vectors: the canonical bytes our encoders produce for fixed,
//! realistic inputs. They live in `testdata/vectors/` (one `.bin` per
//! vector, described in `testdata/vectors/README.md`) and are the contract
//! other language implementations of this project are tested against.
//!
//! Regenerate after an intentional change with
//! `NETIPC_REGEN_GOLDEN=1 cargo test -p netipc --test golden`.

use std::path::PathBuf;

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupEntry, encode_apps_lookup_request};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, encode_cgroups_lookup_request};
use netipc::codec::cgroups_snapshot::encode_snapshot_request;
use netipc::codec::corpus::{bench_snapshot, cgroups_corpus_snapshot};
use netipc::codec::increment::encode_increment;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, NO_LABELS, Orchestrator, PidStatus};
use netipc::codec::string_reverse::encode_string_reverse;
use netipc::protocol::*;
use netipc::wire::{BatchBuilder, ChunkHeader, ChunkPlan, Header, Hello, HelloAck};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors")
}

/// A whole message: header + payload.
fn message(mut h: Header, payload: &[u8]) -> Vec<u8> {
    h.payload_len = payload.len() as u32;
    let mut out = h.encode().to_vec();
    out.extend_from_slice(payload);
    out
}

fn snapshot_16() -> Vec<u8> {
    let mut p = Vec::new();
    bench_snapshot(1).encode(&mut p).unwrap();
    p
}

fn cgroups_lookup_response() -> Vec<u8> {
    let paths: [&[u8]; 3] = [
        b"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice",
        b"/system.slice/docker-abc.scope",
        b"/not/yet",
    ];
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths(7, &paths).unwrap();
    b.add(
        paths[0],
        LookupStatus::Known,
        Orchestrator::K8s.into(),
        b"k8s_web_default",
        [
            (b"namespace".as_slice(), b"default".as_slice()),
            (b"pod", b"web"),
        ],
    )
    .unwrap();
    b.add(
        paths[1],
        LookupStatus::Known,
        Orchestrator::Docker.into(),
        b"",
        NO_LABELS,
    )
    .unwrap();
    b.add_unknown(paths[2], LookupStatus::UnknownRetryLater)
        .unwrap();
    b.finish().unwrap().to_vec()
}

fn apps_lookup_response() -> Vec<u8> {
    let mut b = AppsLookupBuilder::new();
    b.reset_for_count(9, 2);
    let known = AppsLookupEntry {
        status: PidStatus::Known,
        cgroup_status: CgroupStatus::Known,
        orchestrator: Orchestrator::Docker.into(),
        ppid: 1,
        uid: 1000,
        starttime: 123_456,
        comm: b"nginx",
        cgroup_path: b"/system.slice/docker-abc.scope",
        cgroup_name: b"docker-abc",
    };
    b.add(
        1234,
        &known,
        [(b"image".as_slice(), b"nginx:latest".as_slice())],
    )
    .unwrap();
    b.add_unknown(4321).unwrap();
    b.finish().unwrap().to_vec()
}

type Gen = fn() -> Vec<u8>;

/// (file stem, description, generator)
const VECTORS: &[(&str, &str, Gen)] = &[
    (
        "hello",
        "HELLO: baseline|SHM_HYBRID supported, SHM_HYBRID preferred, request 4096 B / 1 item, response 65536 B / 1 item, token 0xBE4C400000C0FFEE, packet 65536",
        || {
            Hello {
                supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
                preferred_profiles: PROFILE_SHM_HYBRID,
                max_request_payload_bytes: 4096,
                max_request_batch_items: 1,
                max_response_payload_bytes: 65536,
                max_response_batch_items: 1,
                auth_token: 0xBE4C_4000_00C0_FFEE,
                packet_size: 65536,
            }
            .encode()
            .to_vec()
        },
    ),
    (
        "hello_ack",
        "HELLO_ACK accepting it: server baseline|SHM_HYBRID, intersection 0x03, selected SHM_HYBRID, 4096/1/65536/1, packet 65536, session 1",
        || {
            HelloAck {
                server_supported_profiles: 3,
                intersection_profiles: 3,
                selected_profile: PROFILE_SHM_HYBRID,
                agreed_max_request_payload_bytes: 4096,
                agreed_max_request_batch_items: 1,
                agreed_max_response_payload_bytes: 65536,
                agreed_max_response_batch_items: 1,
                agreed_packet_size: 65536,
                session_id: 1,
            }
            .encode()
            .to_vec()
        },
    ),
    (
        "msg_hello_ack_rejected",
        "whole message: HELLO_ACK rejection with AUTH_FAILED, 48-byte payload all zero but layout_version 1",
        || {
            message(
                Header::control(CODE_HELLO_ACK, STATUS_AUTH_FAILED, 0),
                &HelloAck::rejection().encode(),
            )
        },
    ),
    (
        "msg_increment_req",
        "whole message: INCREMENT request value 41, message_id 1",
        || {
            let mut p = Vec::new();
            encode_increment(41, &mut p);
            message(Header::request(METHOD_INCREMENT, 1, 0), &p)
        },
    ),
    (
        "msg_increment_resp",
        "whole message: INCREMENT response value 42, message_id 1",
        || {
            let mut p = Vec::new();
            encode_increment(42, &mut p);
            message(Header::response(METHOD_INCREMENT, 1, 0), &p)
        },
    ),
    (
        "msg_increment_batch4_req",
        "whole message: INCREMENT batch request of 4 items (10, 20, 30, 40), message_id 2",
        || {
            let mut p = Vec::new();
            let mut b = BatchBuilder::new(&mut p, 4);
            for v in [10u64, 20, 30, 40] {
                b.add_with(|buf| {
                    encode_increment(v, buf);
                    Ok(())
                })
                .unwrap();
            }
            b.finish().unwrap();
            let mut h = Header::request(METHOD_INCREMENT, 2, 0);
            h.flags = FLAG_BATCH;
            h.item_count = 4;
            message(h, &p)
        },
    ),
    (
        "msg_string_reverse_batch3_resp",
        "whole message: STRING_REVERSE batch response of 3 items (\"olleh\", \"\", \"cpiten\"), message_id 3",
        || {
            let mut p = Vec::new();
            let mut b = BatchBuilder::new(&mut p, 3);
            for s in [b"olleh".as_slice(), b"", b"cpiten"] {
                b.add_with(|buf| encode_string_reverse(s, buf)).unwrap();
            }
            b.finish().unwrap();
            let mut h = Header::response(METHOD_STRING_REVERSE, 3, 0);
            h.flags = FLAG_BATCH;
            h.item_count = 3;
            message(h, &p)
        },
    ),
    (
        "msg_internal_error_resp",
        "whole message: INTERNAL_ERROR response to a CGROUPS_LOOKUP request, message_id 4, empty payload, flags 0, item_count 1",
        || {
            message(
                Header::error_response(METHOD_CGROUPS_LOOKUP, 4, STATUS_INTERNAL_ERROR),
                &[],
            )
        },
    ),
    (
        "string_reverse_req",
        "STRING_REVERSE payload \"hello, netipc\"",
        || {
            let mut p = Vec::new();
            encode_string_reverse(b"hello, netipc", &mut p).unwrap();
            p
        },
    ),
    (
        "cgroups_snapshot_req",
        "CGROUPS_SNAPSHOT request payload (layout 1, flags 0)",
        || {
            let mut p = Vec::new();
            encode_snapshot_request(&mut p);
            p
        },
    ),
    (
        "cgroups_snapshot_resp_bench16",
        "CGROUPS_SNAPSHOT response: the 16-item benchmark snapshot (hash 1000+i, name cgroup-i, path /sys/fs/cgroup/bench/cg-i, enabled i%2), systemd_enabled 1, generation 1",
        snapshot_16,
    ),
    (
        "cgroups_snapshot_resp_corpus64",
        "CGROUPS_SNAPSHOT response: 64 production-shaped items from the corpus generator (seed 7), generation 5",
        || {
            let mut p = Vec::new();
            cgroups_corpus_snapshot(64, 7, 5).encode(&mut p).unwrap();
            p
        },
    ),
    (
        "cgroups_lookup_req",
        "CGROUPS_LOOKUP request for 3 paths: a k8s pod slice, a docker scope, /not/yet",
        || {
            let mut p = Vec::new();
            encode_cgroups_lookup_request(
                &[
                    b"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice"
                        .as_slice(),
                    b"/system.slice/docker-abc.scope",
                    b"/not/yet",
                ],
                &mut p,
            )
            .unwrap();
            p
        },
    ),
    (
        "cgroups_lookup_resp",
        "CGROUPS_LOOKUP response, generation 7: KNOWN K8S k8s_web_default with labels namespace=default, pod=web; KNOWN DOCKER no name no labels; UNKNOWN_RETRY_LATER /not/yet",
        cgroups_lookup_response,
    ),
    (
        "apps_lookup_req",
        "APPS_LOOKUP request for PIDs 1234, 4321",
        || {
            let mut p = Vec::new();
            encode_apps_lookup_request(&[1234, 4321], &mut p).unwrap();
            p
        },
    ),
    (
        "apps_lookup_resp",
        "APPS_LOOKUP response, generation 9: pid 1234 KNOWN (ppid 1, uid 1000, starttime 123456, comm nginx, cgroup KNOWN DOCKER /system.slice/docker-abc.scope docker-abc, label image=nginx:latest); pid 4321 UNKNOWN",
        apps_lookup_response,
    ),
];

/// The 16-item snapshot response chunked at packet size 128, message id 1.
fn chunked_snapshot_packets() -> Vec<Vec<u8>> {
    let payload = snapshot_16();
    let plan = ChunkPlan::new(payload.len(), 128).unwrap();
    let h = Header::response(METHOD_CGROUPS_SNAPSHOT, 1, payload.len() as u32);
    (0..plan.chunk_count)
        .map(|i| {
            let r = plan.range(payload.len(), i);
            let mut pkt = if i == 0 {
                h.encode().to_vec()
            } else {
                ChunkHeader {
                    message_id: 1,
                    total_message_len: (32 + payload.len()) as u32,
                    chunk_index: i,
                    chunk_count: plan.chunk_count,
                    chunk_payload_len: r.len() as u32,
                }
                .encode()
                .to_vec()
            };
            pkt.extend_from_slice(&payload[r]);
            pkt
        })
        .collect()
}

fn readme(packets: usize) -> String {
    let mut s = String::from(
        "# Golden vectors\n\nCanonical bytes produced by this project's encoders for fixed inputs \
         (host byte order, little-endian x86_64). `crates/netipc/tests/golden.rs` re-encodes \
         every one and compares byte for byte; other language implementations must \
         decode them to the described values and encode those values to the same bytes.\n\n\
         | file | contents |\n|---|---|\n",
    );
    for (name, desc, _) in VECTORS {
        s.push_str(&format!("| `{name}.bin` | {desc} |\n"));
    }
    s.push_str(&format!(
        "| `chunked_snapshot/packet-NN.bin` | `cgroups_snapshot_resp_bench16` as a RESPONSE \
         (message_id 1) split at packet size 128: {packets} packets, the first with the outer \
         header, the rest with chunk headers (chunk_index from 1) |\n"
    ));
    s
}

#[test]
fn golden_vectors_are_reproduced() {
    let regen = std::env::var_os("NETIPC_REGEN_GOLDEN").is_some();
    let d = dir();
    let packets = chunked_snapshot_packets();
    let mut files: Vec<(PathBuf, Vec<u8>)> = VECTORS
        .iter()
        .map(|(name, _, g)| (d.join(format!("{name}.bin")), g()))
        .collect();
    for (i, p) in packets.iter().enumerate() {
        files.push((
            d.join(format!("chunked_snapshot/packet-{i:02}.bin")),
            p.clone(),
        ));
    }
    files.push((d.join("README.md"), readme(packets.len()).into_bytes()));
    for (path, bytes) in files {
        if regen {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let want = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (regenerate with NETIPC_REGEN_GOLDEN=1)",
                    path.display()
                )
            });
            assert_eq!(
                bytes,
                want,
                "{} differs from its golden bytes",
                path.display()
            );
        }
    }
}

/// The benchmark snapshot and its 128-byte-packet chunking are exactly what
/// a live independent peer put on the wire.
#[test]
fn bench_snapshot_matches_captured_peer() {
    let cap = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/conformance/transport/chunked_snapshot_resp");
    assert_eq!(
        snapshot_16(),
        std::fs::read(cap.join("payload.bin")).unwrap()
    );
    let packets = chunked_snapshot_packets();
    assert_eq!(packets.len(), 14);
    for (i, p) in packets.iter().enumerate() {
        let want = std::fs::read(cap.join(format!("packet-{i:02}.bin"))).unwrap();
        assert_eq!(p, &want, "packet {i}");
    }
}
