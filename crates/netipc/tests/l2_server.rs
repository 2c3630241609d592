//! Level 2 managed server: dispatch, error statuses, learned budgets,
//! session slots, handshake isolation, shutdown. Clients are Level 1
//! sessions (and a raw SEQPACKET client for envelopes Level 1 refuses to
//! send), over UDS and SHM.

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netipc::Error;
use netipc::codec::apps_lookup::{
    AppsLookupBuilder, AppsLookupEntry, AppsLookupRequestView, AppsLookupResponseView,
    encode_apps_lookup_request,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupRequestView, CgroupsLookupResponseView,
    encode_cgroups_lookup_request,
};
use netipc::codec::cgroups_snapshot::{
    CgroupsSnapshotBuilder, CgroupsSnapshotView, encode_snapshot_request,
};
use netipc::codec::increment::{decode_increment, encode_increment_array};
use netipc::codec::lookup::{CgroupStatus, LookupStatus, Orchestrator, PidStatus};
use netipc::codec::string_reverse::{StringReverseView, encode_string_reverse};
use netipc::protocol::{
    FLAG_BATCH, METHOD_APPS_LOOKUP, METHOD_CGROUPS_LOOKUP, METHOD_CGROUPS_SNAPSHOT,
    METHOD_INCREMENT, METHOD_STRING_REVERSE, STATUS_BAD_ENVELOPE, STATUS_INTERNAL_ERROR,
    STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use netipc::service::defaults::MAX_PAYLOAD_DEFAULT;
use netipc::service::server::{
    HandlerError, IncrementHandler, LocalDispatcher, Server, ServerConfig, ServiceKind,
};
use netipc::transport::{ClientConfig, ClientSession};
use netipc::wire::Header;

use support::alloc::{Counting, thread_allocations};
use support::l1_client::*;
use support::{PATIENCE, PLANES, Plane, TestDir, eventually, managed_server_config, soon};

// The tests that need a raw SEQPACKET peer (envelopes and handshakes the
// Level 1 API refuses to produce) run on Unix only.
#[cfg(unix)]
use netipc::protocol::STATUS_AUTH_FAILED;
#[cfg(unix)]
use netipc::service::defaults::MAX_PAYLOAD_CAP;
#[cfg(unix)]
use netipc::service::server::PayloadBudgets;
#[cfg(unix)]
use netipc::wire::Hello;
#[cfg(unix)]
use std::time::Instant;
#[cfg(unix)]
use support::TOKEN;
#[cfg(unix)]
use support::raw::{RawClient, first_readable, hello};

// ----- allocation counting ----------------------------------------------------

/// Counts heap allocations per thread; a handler reads its session
/// thread's count.
#[global_allocator]
static GLOBAL: Counting = Counting;

// ----- fixtures -----------------------------------------------------------

/// How many planes the tests that loop over [`PLANES`] run on (counters
/// scale with it).
fn planes() -> u64 {
    PLANES.len() as u64
}

/// INCREMENT input the handler fails on.
const FAIL: u64 = 666;
/// INCREMENT input the handler panics on.
const PANIC: u64 = 777;

fn increment(v: u64) -> Result<u64, HandlerError> {
    match v {
        FAIL => Err(HandlerError::FAILED),
        PANIC => panic!("deliberate test panic"),
        _ => Ok(v + 1),
    }
}

fn increment_server(cfg: &ServerConfig) -> Server {
    Server::increment(cfg, increment).unwrap()
}

fn inc(v: u64) -> [u8; 8] {
    encode_increment_array(v)
}

fn reverse(text: &[u8], out: &mut Vec<u8>) -> Result<(), HandlerError> {
    match text {
        b"fail" => Err(HandlerError::Failed("asked to fail")),
        b"panic" => panic!("deliberate test panic"),
        _ => {
            out.extend(text.iter().rev());
            Ok(())
        }
    }
}

fn sr(text: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    encode_string_reverse(text, &mut v).unwrap();
    v
}

fn snapshot_request() -> Vec<u8> {
    let mut v = Vec::new();
    encode_snapshot_request(&mut v);
    v
}

/// A snapshot handler with `n` items shaped like the benchmark's, and a
/// generation counting calls from 1.
fn snapshot_handler(
    n: usize,
) -> impl Fn(&mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> + Send + Sync + 'static {
    let generation = AtomicU64::new(0);
    move |b: &mut CgroupsSnapshotBuilder| {
        b.set_systemd_enabled(1);
        b.set_generation(generation.fetch_add(1, Ordering::Relaxed) + 1);
        for i in 0..n {
            let name = format!("cgroup-{i}");
            let path = format!("/sys/fs/cgroup/bench/cg-{i}");
            b.add_item(
                1000 + i as u32,
                0,
                (i % 2) as u32,
                name.as_bytes(),
                path.as_bytes(),
            )?;
        }
        Ok(())
    }
}

fn check_snapshot(payload: &[u8], n: usize) -> u64 {
    let v = CgroupsSnapshotView::decode(payload).unwrap();
    assert_eq!(v.len(), n);
    assert_eq!(v.systemd_enabled(), 1);
    for (i, item) in v.iter().enumerate() {
        assert_eq!(item.hash, 1000 + i as u32);
        assert_eq!(item.enabled, (i % 2) as u32);
        assert_eq!(item.name, format!("cgroup-{i}").as_bytes());
        assert_eq!(item.path, format!("/sys/fs/cgroup/bench/cg-{i}").as_bytes());
    }
    v.generation()
}

const LABELS: &[(&str, &str)] = &[("namespace", "bench"), ("image", "bench:latest")];

/// The benchmark's "mixed" cgroups handler: even indexes known.
fn cgroups_mixed(
    req: &CgroupsLookupRequestView<'_>,
    b: &mut CgroupsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(9);
    for i in 0..req.len() {
        if i % 2 == 0 {
            b.add_request_item(
                req,
                i,
                LookupStatus::Known,
                Orchestrator::K8s.as_u16(),
                b"bench-pod",
                LABELS,
            )?;
        } else {
            b.add_request_unknown(req, i, LookupStatus::UnknownRetryLater)?;
        }
    }
    Ok(())
}

const APPS_KNOWN: AppsLookupEntry<'static> = AppsLookupEntry {
    status: PidStatus::Known,
    cgroup_status: CgroupStatus::Known,
    orchestrator: Orchestrator::Docker as u16,
    ppid: 1,
    uid: 1000,
    starttime: 42,
    comm: b"bench",
    cgroup_path: b"/sys/fs/cgroup/bench",
    cgroup_name: b"bench-container",
};

/// The benchmark's "mixed" apps handler: even indexes known.
fn apps_mixed(
    req: &AppsLookupRequestView<'_>,
    b: &mut AppsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(11);
    for i in 0..req.len() {
        if i % 2 == 0 {
            b.add_request_item(req, i, &APPS_KNOWN, [("image", "bench:latest")])?;
        } else {
            b.add_request_unknown(req, i)?;
        }
    }
    Ok(())
}

fn cgroups_request(paths: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    encode_cgroups_lookup_request(paths, &mut v).unwrap();
    v
}

fn apps_request(pids: &[u32]) -> Vec<u8> {
    let mut v = Vec::new();
    encode_apps_lookup_request(pids, &mut v).unwrap();
    v
}

// ----- handler success for every kind ---------------------------------------

#[test]
fn increment_single_request() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "inc"));
    assert_eq!(server.kind(), ServiceKind::Increment);
    assert!(server.is_running());
    for &t in PLANES {
        let mut c = connect(&server, t);
        for v in [0, 41, u64::MAX - 1] {
            let a = call(&mut c, METHOD_INCREMENT, &inc(v));
            assert_eq!(a.status(), STATUS_OK);
            assert_eq!(a.header.code, METHOD_INCREMENT);
            assert_eq!((a.header.flags, a.header.item_count), (0, 1));
            assert_eq!(decode_increment(&a.payload), Ok(v + 1));
        }
    }
    assert_eq!(server.stats().requests, 3 * planes());
}

#[test]
fn string_reverse_single_request() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 65536,
        ..managed_server_config(&dir, "rev")
    };
    let server = Server::string_reverse(&cfg, reverse).unwrap();
    let long: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    for &t in PLANES {
        let ccfg = ClientConfig {
            max_request_payload_bytes: 65536,
            ..client_config(t)
        };
        let mut c = connect_with(&server, t, &ccfg);
        for text in [&b""[..], b"hello, netipc", b"\xff\xfe\x00x", &long] {
            let a = call(&mut c, METHOD_STRING_REVERSE, &sr(text));
            assert_eq!(a.status(), STATUS_OK);
            let got = StringReverseView::decode(&a.payload).unwrap();
            let want: Vec<u8> = text.iter().rev().copied().collect();
            assert_eq!(got.as_bytes(), &want[..]);
        }
    }
}

#[test]
fn cgroups_snapshot_request() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_response_payload_bytes: 65536,
        ..managed_server_config(&dir, "snap")
    };
    let server = Server::cgroups_snapshot(&cfg, snapshot_handler(16)).unwrap();
    let mut last = 0;
    for &t in PLANES {
        let mut c = connect(&server, t);
        for _ in 0..3 {
            let a = call(&mut c, METHOD_CGROUPS_SNAPSHOT, &snapshot_request());
            assert_eq!(a.status(), STATUS_OK);
            let generation = check_snapshot(&a.payload, 16);
            assert!(generation > last);
            last = generation;
        }
    }
}

#[test]
fn cgroups_lookup_request() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 65536,
        ..managed_server_config(&dir, "cgl")
    };
    let server = Server::cgroups_lookup(&cfg, cgroups_mixed).unwrap();
    let keys: Vec<String> = (0..16)
        .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    for &t in PLANES {
        let ccfg = ClientConfig {
            max_request_payload_bytes: 65536,
            ..client_config(t)
        };
        let mut c = connect_with(&server, t, &ccfg);
        for n in [0, 1, 16] {
            let a = call(&mut c, METHOD_CGROUPS_LOOKUP, &cgroups_request(&keys[..n]));
            assert_eq!(a.status(), STATUS_OK);
            let v = CgroupsLookupResponseView::decode(&a.payload).unwrap();
            assert_eq!(v.generation(), 9);
            assert_eq!(v.len(), n);
            for (i, item) in v.items().enumerate() {
                assert_eq!(item.path(), keys[i].as_bytes());
                if i % 2 == 0 {
                    assert_eq!(item.status(), LookupStatus::Known);
                    assert_eq!(item.name(), b"bench-pod");
                    assert_eq!(item.label_count(), 2);
                    assert_eq!(item.orchestrator_kind(), Some(Orchestrator::K8s));
                } else {
                    assert_eq!(item.status(), LookupStatus::UnknownRetryLater);
                }
            }
        }
    }
}

#[test]
fn apps_lookup_request() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_response_payload_bytes: 65536,
        ..managed_server_config(&dir, "apps")
    };
    let server = Server::apps_lookup(&cfg, apps_mixed).unwrap();
    let pids: Vec<u32> = (0..16).map(|i| 1000 + i).collect();
    for &t in PLANES {
        let mut c = connect(&server, t);
        for n in [0, 1, 16] {
            let a = call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&pids[..n]));
            assert_eq!(a.status(), STATUS_OK);
            let v = AppsLookupResponseView::decode(&a.payload).unwrap();
            assert_eq!(v.generation(), 11);
            assert_eq!(v.len(), n);
            for (i, item) in v.items().enumerate() {
                assert_eq!(item.pid(), pids[i]);
                if i % 2 == 0 {
                    assert_eq!(item.status(), PidStatus::Known);
                    assert_eq!(item.comm(), b"bench");
                    assert_eq!(item.cgroup_name(), b"bench-container");
                    assert_eq!(item.starttime(), 42);
                } else {
                    assert_eq!(item.status(), PidStatus::Unknown);
                }
            }
        }
    }
}

/// Handlers as trait objects and as user types.
#[test]
fn arc_dyn_and_struct_handlers() {
    struct AddTen;
    impl IncrementHandler for AddTen {
        fn increment(&self, value: u64) -> Result<u64, HandlerError> {
            Ok(value + 10)
        }
    }
    let dir = TestDir::new();
    let dynamic: Arc<dyn IncrementHandler> = Arc::new(AddTen);
    let s1 = Server::increment(&managed_server_config(&dir, "dyn"), dynamic).unwrap();
    let s2 = Server::increment(&managed_server_config(&dir, "plain"), AddTen).unwrap();
    for s in [&s1, &s2] {
        let mut c = connect(s, Plane::Baseline);
        let a = call(&mut c, METHOD_INCREMENT, &inc(5));
        assert_eq!(decode_increment(&a.payload), Ok(15));
    }
}

/// Once warm, a session serves INCREMENT (single and batch) and
/// CGROUPS_SNAPSHOT without allocating: the handlers report their session
/// thread's allocation count.
#[test]
fn warm_sessions_do_not_allocate() {
    const PROBE: u64 = u64::MAX;
    let dir = TestDir::new();
    let server = Server::increment(&managed_server_config(&dir, "alloc"), |v: u64| {
        Ok(if v == PROBE {
            thread_allocations()
        } else {
            v + 1
        })
    })
    .unwrap();
    let snap = Server::cgroups_snapshot(
        &ServerConfig {
            max_response_payload_bytes: 65536,
            ..managed_server_config(&dir, "salloc")
        },
        |b: &mut CgroupsSnapshotBuilder| {
            b.set_generation(thread_allocations());
            for i in 0..16u32 {
                b.add_item(1000 + i, 0, i % 2, b"cgroup", b"/sys/fs/cgroup/bench/cg")?;
            }
            Ok(())
        },
    )
    .unwrap();
    for &t in PLANES {
        let mut c = connect_with(&server, t, &batch_config(t, 64));
        let values: Vec<[u8; 8]> = (0..64).map(inc).collect();
        let items: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
        let probe = |c: &mut ClientSession| {
            decode_increment(&call(c, METHOD_INCREMENT, &inc(PROBE)).payload).unwrap()
        };
        // Warm up: the largest batch first.
        call_batch(&mut c, METHOD_INCREMENT, &items);
        call(&mut c, METHOD_INCREMENT, &inc(1));
        let before = probe(&mut c);
        for v in 0..200u64 {
            let m = c.call(METHOD_INCREMENT, &inc(v), soon(), None).unwrap();
            assert_eq!(decode_increment(m.payload), Ok(v + 1));
            let m = c
                .call_batch(
                    METHOD_INCREMENT,
                    &items[..(v as usize % 63) + 2],
                    soon(),
                    None,
                )
                .unwrap();
            assert!(m.is_ok());
        }
        assert_eq!(
            probe(&mut c),
            before,
            "allocations on the session thread ({t:?})"
        );

        let mut c = connect_with(&snap, t, &client_config(t));
        let req = snapshot_request();
        let probe = |c: &mut ClientSession| {
            let m = c.call(METHOD_CGROUPS_SNAPSHOT, &req, soon(), None).unwrap();
            CgroupsSnapshotView::decode(m.payload).unwrap().generation()
        };
        probe(&mut c);
        let before = probe(&mut c);
        for _ in 0..100 {
            probe(&mut c);
        }
        assert_eq!(probe(&mut c), before, "snapshot allocations ({t:?})");
    }
}

// ----- batches ---------------------------------------------------------------

#[test]
fn batch_dispatch_preserves_order() {
    for max_sessions in [1, 4] {
        let dir = TestDir::new();
        let cfg = ServerConfig {
            max_sessions,
            ..managed_server_config(&dir, "batch")
        };
        let server = increment_server(&cfg);
        let rev = Server::string_reverse(
            &ServerConfig {
                max_sessions,
                ..managed_server_config(&dir, "rbatch")
            },
            reverse,
        )
        .unwrap();
        for &t in PLANES {
            let mut c = connect_with(&server, t, &batch_config(t, 32));
            for n in [1usize, 2, 7, 32] {
                let values: Vec<[u8; 8]> = (0..n as u64).map(|i| inc(i * 100)).collect();
                let items: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
                let a = call_batch(&mut c, METHOD_INCREMENT, &items);
                assert_eq!(a.status(), STATUS_OK);
                if n == 1 {
                    assert_eq!((a.header.flags, a.header.item_count), (0, 1));
                } else {
                    assert_eq!(a.header.flags, FLAG_BATCH);
                    assert_eq!(a.header.item_count, n as u32);
                }
                assert_eq!(a.items.len(), n);
                for (i, item) in a.items.iter().enumerate() {
                    assert_eq!(decode_increment(item), Ok(i as u64 * 100 + 1));
                }
                // Mixed: a single request between batches.
                let s = call(&mut c, METHOD_INCREMENT, &inc(n as u64));
                assert_eq!(decode_increment(&s.payload), Ok(n as u64 + 1));
            }
            let mut c = connect_with(&rev, t, &batch_config(t, 8));
            let texts: [&[u8]; 5] = [b"abc", b"", b"netipc", b"x", b"0123456789"];
            let enc: Vec<Vec<u8>> = texts.iter().map(|t| sr(t)).collect();
            let items: Vec<&[u8]> = enc.iter().map(Vec::as_slice).collect();
            let a = call_batch(&mut c, METHOD_STRING_REVERSE, &items);
            assert_eq!(a.header.item_count, 5);
            for (i, item) in a.items.iter().enumerate() {
                let want: Vec<u8> = texts[i].iter().rev().copied().collect();
                assert_eq!(
                    StringReverseView::decode(item).unwrap().as_bytes(),
                    &want[..]
                );
            }
        }
    }
}

/// BATCH with item_count 1 is a plain single request, answered with
/// flags 0 and item_count 1.
#[test]
fn batch_flag_with_one_item_is_single() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "one"));
    for &t in PLANES {
        let mut c = connect_with(&server, t, &batch_config(t, 4));
        let header = Header {
            flags: FLAG_BATCH,
            ..Header::request(METHOD_INCREMENT, 0, 8)
        };
        let a = call_raw_header(&mut c, header, &inc(1));
        assert_eq!(a.status(), STATUS_OK);
        assert_eq!((a.header.flags, a.header.item_count), (0, 1));
        assert_eq!(decode_increment(&a.payload), Ok(2));
    }
}

/// BATCH with item_count 0 is a bad envelope (Level 1 refuses to send
/// it, so a raw client does).
#[cfg(unix)] // raw SEQPACKET peer
#[test]
fn empty_batch_is_bad_envelope() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "empty"));
    let (c, h, _) = RawClient::handshake(server.endpoint(), &hello(1024, 4));
    assert_eq!(h.transport_status, STATUS_OK);
    let header = Header {
        flags: FLAG_BATCH,
        item_count: 0,
        message_id: 5,
        ..Header::request(METHOD_INCREMENT, 5, 0)
    };
    assert!(c.send_message(header, &[]));
    let r = c.recv_header().expect("an error reply");
    assert_eq!(r.transport_status, STATUS_BAD_ENVELOPE);
    assert_eq!(
        (r.message_id, r.code, r.flags, r.item_count),
        (5, METHOD_INCREMENT, 0, 1)
    );
    assert!(c.recv().is_none(), "session closed");
}

/// A packet whose header does not even decode cannot be answered: the
/// session just closes (the previous request is not answered twice).
#[cfg(unix)] // raw SEQPACKET peer
#[test]
fn undecodable_header_closes_without_reply() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "garbage"));
    let (c, _, _) = RawClient::handshake(server.endpoint(), &hello(1024, 1));
    assert!(c.send_message(Header::request(METHOD_INCREMENT, 1, 8), &inc(1)));
    let r = c.recv_header().unwrap();
    assert_eq!((r.transport_status, r.message_id), (STATUS_OK, 1));
    assert!(c.send(&[0xAB; 40]));
    assert!(c.recv().is_none(), "closed without a reply");
    // A request whose header decodes but breaks the envelope is answered.
    let (c, _, _) = RawClient::handshake(server.endpoint(), &hello(1024, 1));
    let mut h = Header::request(METHOD_INCREMENT, 7, 8);
    h.kind = netipc::protocol::KIND_CONTROL;
    assert!(c.send_message(h, &inc(1)));
    assert!(
        c.recv().is_none(),
        "a control message mid-session is not answered"
    );
    let (c, _, _) = RawClient::handshake(server.endpoint(), &hello(1024, 1));
    assert!(c.send_message(Header::request(METHOD_INCREMENT, 9, 8), &inc(1)[..4]));
    let r = c.recv_header().expect("an error reply");
    assert_eq!((r.transport_status, r.message_id), (STATUS_BAD_ENVELOPE, 9));
    assert!(c.recv().is_none());
}

/// A batch for a method without batches is a bad envelope.
#[test]
fn batch_for_unbatched_method_is_bad_envelope() {
    let dir = TestDir::new();
    let server =
        Server::cgroups_snapshot(&managed_server_config(&dir, "snapb"), snapshot_handler(1))
            .unwrap();
    for &t in PLANES {
        let mut c = connect_with(&server, t, &batch_config(t, 4));
        let req = snapshot_request();
        let a = call_batch(&mut c, METHOD_CGROUPS_SNAPSHOT, &[&req, &req]);
        a.assert_error(STATUS_BAD_ENVELOPE);
        assert_closed(&mut c, METHOD_CGROUPS_SNAPSHOT, &req);
    }
}

// ----- failures --------------------------------------------------------------

#[test]
fn handler_failure_is_internal_error_then_close() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "fail"));
    let rev = Server::string_reverse(&managed_server_config(&dir, "rfail"), reverse).unwrap();
    for &t in PLANES {
        let mut c = connect(&server, t);
        assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
        call(&mut c, METHOD_INCREMENT, &inc(FAIL)).assert_error(STATUS_INTERNAL_ERROR);
        assert_closed(&mut c, METHOD_INCREMENT, &inc(1));

        // One failing item fails the whole batch.
        let mut c = connect_with(&server, t, &batch_config(t, 4));
        let (a, b, f) = (inc(1), inc(2), inc(FAIL));
        let r = call_batch(&mut c, METHOD_INCREMENT, &[&a, &f, &b]);
        r.assert_error(STATUS_INTERNAL_ERROR);
        assert_eq!(r.header.code, METHOD_INCREMENT);
        assert_closed(&mut c, METHOD_INCREMENT, &a);

        let mut c = connect(&rev, t);
        call(&mut c, METHOD_STRING_REVERSE, &sr(b"fail")).assert_error(STATUS_INTERNAL_ERROR);
        assert_closed(&mut c, METHOD_STRING_REVERSE, &sr(b"ok"));
    }
    assert_eq!(server.stats().handler_failures, 2 * planes());
    assert_eq!(rev.stats().handler_failures, planes());
}

/// A lookup handler that leaves items out fails the request.
#[test]
fn incomplete_lookup_answer_is_internal_error() {
    let dir = TestDir::new();
    let server = Server::cgroups_lookup(
        &managed_server_config(&dir, "short"),
        |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
            if !req.is_empty() {
                b.add_request_unknown(req, 0, LookupStatus::UnknownPermanent)?;
            }
            Ok(())
        },
    )
    .unwrap();
    for &t in PLANES {
        let mut c = connect(&server, t);
        let a = call(&mut c, METHOD_CGROUPS_LOOKUP, &cgroups_request(&["/a"]));
        assert_eq!(a.status(), STATUS_OK);
        call(
            &mut c,
            METHOD_CGROUPS_LOOKUP,
            &cgroups_request(&["/a", "/b"]),
        )
        .assert_error(STATUS_INTERNAL_ERROR);
        assert_closed(&mut c, METHOD_CGROUPS_LOOKUP, &cgroups_request(&["/a"]));
    }
}

#[test]
fn handler_panic_kills_only_its_session() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "panic"));
    for &t in PLANES {
        let mut a = connect(&server, t);
        let mut b = connect(&server, t);
        assert_eq!(call(&mut b, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
        call(&mut a, METHOD_INCREMENT, &inc(PANIC)).assert_error(STATUS_INTERNAL_ERROR);
        assert_closed(&mut a, METHOD_INCREMENT, &inc(1));
        // The other session and the listener live on.
        for v in 0..10 {
            let r = call(&mut b, METHOD_INCREMENT, &inc(v));
            assert_eq!(decode_increment(&r.payload), Ok(v + 1));
        }
        let mut c = connect(&server, t);
        assert_eq!(
            decode_increment(&call(&mut c, METHOD_INCREMENT, &inc(7)).payload),
            Ok(8)
        );
    }
    assert_eq!(server.stats().handler_panics, planes());
    assert!(server.is_running());
}

/// A batch item whose handler fails or panics fails the whole batch (one
/// INTERNAL_ERROR, the session closed), on the one-pass INCREMENT batch
/// path too; the other session and the listener live on.
#[test]
fn batch_item_failure_or_panic_fails_the_batch() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "bpanic"));
    for &t in PLANES {
        let mut b = connect_with(&server, t, &batch_config(t, 8));
        for bad in [FAIL, PANIC] {
            let mut a = connect_with(&server, t, &batch_config(t, 8));
            let values = [inc(1), inc(bad), inc(3)];
            let items: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
            call_batch(&mut a, METHOD_INCREMENT, &items).assert_error(STATUS_INTERNAL_ERROR);
            assert_closed(&mut a, METHOD_INCREMENT, &inc(1));
            let ok = [inc(5), inc(6)];
            let items: Vec<&[u8]> = ok.iter().map(|v| &v[..]).collect();
            let r = call_batch(&mut b, METHOD_INCREMENT, &items);
            assert_eq!(r.status(), STATUS_OK);
            assert_eq!(decode_increment(&r.items[1]), Ok(7));
        }
    }
    let st = server.stats();
    assert_eq!(
        (st.handler_failures, st.handler_panics),
        (planes(), planes())
    );
    assert!(server.is_running());
}

#[test]
fn malformed_request_is_bad_envelope_then_close() {
    let dir = TestDir::new();
    let incs = increment_server(&managed_server_config(&dir, "minc"));
    let revs = Server::string_reverse(&managed_server_config(&dir, "mrev"), reverse).unwrap();
    let snaps =
        Server::cgroups_snapshot(&managed_server_config(&dir, "msnap"), snapshot_handler(1))
            .unwrap();
    let cgl = Server::cgroups_lookup(&managed_server_config(&dir, "mcgl"), cgroups_mixed).unwrap();
    let apps = Server::apps_lookup(&managed_server_config(&dir, "mapps"), apps_mixed).unwrap();
    let mut bad_offset = sr(b"abc");
    bad_offset[0] = 9;
    let mut bad_lookup = cgroups_request(&["/a"]);
    let last = bad_lookup.len() - 1;
    bad_lookup[last] = b'x'; // the key's NUL
    let mut bad_apps = apps_request(&[1, 2]);
    bad_apps[0] = 7; // layout version
    let cases: [(&Server, u16, Vec<u8>, Vec<u8>); 5] = [
        (&incs, METHOD_INCREMENT, vec![0; 7], inc(1).to_vec()),
        (&revs, METHOD_STRING_REVERSE, bad_offset, sr(b"ok")),
        (
            &snaps,
            METHOD_CGROUPS_SNAPSHOT,
            vec![2, 0, 0, 0],
            snapshot_request(),
        ),
        (
            &cgl,
            METHOD_CGROUPS_LOOKUP,
            bad_lookup,
            cgroups_request(&["/a"]),
        ),
        (&apps, METHOD_APPS_LOOKUP, bad_apps, apps_request(&[1])),
    ];
    for &t in PLANES {
        for (server, code, bad, good) in &cases {
            let mut c = connect(server, t);
            assert_eq!(call(&mut c, *code, good).status(), STATUS_OK, "{code}");
            call(&mut c, *code, bad).assert_error(STATUS_BAD_ENVELOPE);
            assert_closed(&mut c, *code, good);
        }
    }
    for (server, ..) in &cases {
        assert_eq!(server.stats().bad_envelopes, planes());
    }
}

#[test]
fn wrong_method_is_unsupported_and_session_stays() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "wrong"));
    for &t in PLANES {
        let mut c = connect_with(&server, t, &batch_config(t, 4));
        for code in [METHOD_STRING_REVERSE, METHOD_CGROUPS_SNAPSHOT, 0, 999] {
            let a = call(&mut c, code, &inc(1));
            a.assert_error(STATUS_UNSUPPORTED);
            assert_eq!(a.header.code, code);
            let ok = call(&mut c, METHOD_INCREMENT, &inc(3));
            assert_eq!(decode_increment(&ok.payload), Ok(4));
        }
        let (x, y) = (inc(1), inc(2));
        call_batch(&mut c, METHOD_APPS_LOOKUP, &[&x, &y]).assert_error(STATUS_UNSUPPORTED);
        assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(9)).status(), STATUS_OK);
    }
    assert_eq!(server.stats().unsupported, 5 * planes());
}

// ----- budgets ---------------------------------------------------------------

/// A request over the session's request budget: LIMIT_EXCEEDED, close, and
/// the learned request budget grows (Level 1 refuses to send it, so a raw
/// client does).
#[cfg(unix)] // raw SEQPACKET peer
#[test]
fn oversized_request_is_limit_exceeded_and_learned() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "bigreq"));
    let start = server.learned_budgets();
    assert_eq!(
        start,
        PayloadBudgets {
            request: MAX_PAYLOAD_DEFAULT,
            response: MAX_PAYLOAD_DEFAULT
        }
    );
    assert_eq!(server.budget_ceilings().request, MAX_PAYLOAD_CAP);
    let (c, h, ack) = RawClient::handshake(server.endpoint(), &hello(1024, 1));
    assert_eq!(h.transport_status, STATUS_OK);
    assert_eq!(ack.agreed_max_request_payload_bytes, 1024);
    assert!(c.send_message(Header::request(METHOD_INCREMENT, 1, 0), &[0u8; 1500]));
    let r = c.recv_header().expect("an error reply");
    assert_eq!(r.transport_status, STATUS_LIMIT_EXCEEDED);
    assert_eq!(
        (r.message_id, r.payload_len, r.flags, r.item_count),
        (1, 0, 0, 1)
    );
    assert!(c.recv().is_none(), "session closed");
    assert_eq!(server.learned_budgets().request, 2048);
    assert_eq!(server.learned_budgets().response, MAX_PAYLOAD_DEFAULT);

    // More items than agreed: LIMIT_EXCEEDED, close, no request growth.
    let (c, _, _) = RawClient::handshake(server.endpoint(), &hello(1024, 2));
    let mut payload = Vec::new();
    let mut b = netipc::wire::BatchBuilder::new(&mut payload, 3);
    for v in 0..3 {
        b.add(&inc(v)).unwrap();
    }
    b.finish().unwrap();
    let header = Header {
        flags: FLAG_BATCH,
        item_count: 3,
        ..Header::request(METHOD_INCREMENT, 2, 0)
    };
    assert!(c.send_message(header, &payload));
    let r = c.recv_header().expect("an error reply");
    assert_eq!(r.transport_status, STATUS_LIMIT_EXCEEDED);
    assert!(c.recv().is_none(), "session closed");
    assert_eq!(server.learned_budgets().request, 2048);
    assert_eq!(server.stats().limit_exceeded, 2);
}

/// A HELLO proposing more than the request budget is rejected, and the
/// reconnect is accepted once the budget has grown.
#[test]
fn request_proposal_over_budget_is_learned() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "prop"));
    for &t in PLANES {
        let cfg = ClientConfig {
            max_request_payload_bytes: 4000,
            ..client_config(t)
        };
        let first = ClientSession::connect(server.endpoint(), &cfg, soon(), None);
        match (t, first) {
            (Plane::Baseline, Err(Error::LimitExceeded { .. })) => {}
            (Plane::Baseline, other) => panic!("expected LIMIT_EXCEEDED, got {other:?}"),
            (Plane::Shm, Ok(_)) => {}
            (Plane::Shm, Err(e)) => panic!("already learned: {e}"),
        }
        // Learned before the rejection was sent: visible at once.
        assert_eq!(server.learned_budgets().request, 4096);
        let mut c = connect_with(&server, t, &cfg);
        assert_eq!(c.request_limits().max_payload, 4000);
        assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
    }
}

/// A zero-config snapshot server whose snapshot is over 1024 bytes: the
/// first session gets LIMIT_EXCEEDED and is closed, the learned response
/// budget grows, and the reconnect gets the bigger budget and the answer.
#[test]
fn oversized_response_is_learned_and_reconnect_succeeds() {
    for &t in PLANES {
        let dir = TestDir::new();
        let server = Server::cgroups_snapshot(
            &managed_server_config(&dir, "bigresp"),
            snapshot_handler(64),
        )
        .unwrap();
        let req = snapshot_request();
        let mut c = connect(&server, t);
        assert_eq!(c.response_limits().max_payload, MAX_PAYLOAD_DEFAULT);
        call(&mut c, METHOD_CGROUPS_SNAPSHOT, &req).assert_error(STATUS_LIMIT_EXCEEDED);
        assert_closed(&mut c, METHOD_CGROUPS_SNAPSHOT, &req);
        let learned = server.learned_budgets().response;
        assert!(learned > 4096 && learned.is_power_of_two(), "{learned}");
        let mut c = connect(&server, t);
        assert_eq!(c.response_limits().max_payload, learned);
        let a = call(&mut c, METHOD_CGROUPS_SNAPSHOT, &req);
        assert_eq!(a.status(), STATUS_OK);
        assert!(a.payload.len() > 4096);
        check_snapshot(&a.payload, 64);
        assert_eq!(server.stats().limit_exceeded, 1);
    }
}

/// A batch answer over a fixed response budget is LIMIT_EXCEEDED and the
/// budget stays (it is configured).
#[test]
fn batch_response_over_fixed_budget() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_response_payload_bytes: 100,
        ..managed_server_config(&dir, "smallresp")
    };
    let server = increment_server(&cfg);
    for &t in PLANES {
        let mut c = connect_with(&server, t, &batch_config(t, 16));
        let values: Vec<[u8; 8]> = (0..16).map(inc).collect();
        let items: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
        // 6 items: 48 + 48 bytes fit in 100.
        assert_eq!(
            call_batch(&mut c, METHOD_INCREMENT, &items[..6]).status(),
            STATUS_OK
        );
        call_batch(&mut c, METHOD_INCREMENT, &items).assert_error(STATUS_LIMIT_EXCEEDED);
        assert_closed(&mut c, METHOD_INCREMENT, &inc(1));
    }
    assert_eq!(server.learned_budgets().response, 100);
}

/// A batch over the server's max_batch_items is LIMIT_EXCEEDED.
#[test]
fn batch_over_server_item_ceiling() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_batch_items: 4,
        ..managed_server_config(&dir, "items")
    };
    let server = increment_server(&cfg);
    for &t in PLANES {
        let mut c = connect_with(&server, t, &batch_config(t, 16));
        let values: Vec<[u8; 8]> = (0..5).map(inc).collect();
        let items: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
        assert_eq!(
            call_batch(&mut c, METHOD_INCREMENT, &items[..4]).status(),
            STATUS_OK
        );
        call_batch(&mut c, METHOD_INCREMENT, &items).assert_error(STATUS_LIMIT_EXCEEDED);
        assert_closed(&mut c, METHOD_INCREMENT, &inc(1));
    }
}

/// Lookup answers mark PAYLOAD_EXCEEDED (the unfit item and every later
/// one) and OVERSIZED_ITEM (an item that cannot fit even alone).
#[test]
fn lookup_marks_payload_exceeded_and_oversized() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_response_payload_bytes: 4096,
        ..managed_server_config(&dir, "marks")
    };
    let huge = vec![b'h'; 5000];
    let large = vec![b'l'; 3900];
    let server = Server::cgroups_lookup(
        &cfg,
        move |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
            for (i, key) in req.iter().enumerate() {
                let name: &[u8] = match key {
                    b"/big" => &huge,
                    b"/mid" => &large,
                    _ => b"small",
                };
                b.add_request_item(req, i, LookupStatus::Known, 0, name, LABELS)?;
            }
            Ok(())
        },
    )
    .unwrap();
    let apps_huge = vec![b'n'; 5000];
    let apps_large = vec![b'n'; 3900];
    let apps = Server::apps_lookup(
        &ServerConfig {
            max_response_payload_bytes: 4096,
            ..managed_server_config(&dir, "amarks")
        },
        move |req: &AppsLookupRequestView<'_>, b: &mut AppsLookupBuilder| {
            for (i, pid) in req.iter().enumerate() {
                let name: &[u8] = match pid {
                    2 => &apps_huge,
                    4 => &apps_large,
                    _ => b"small",
                };
                let entry = AppsLookupEntry {
                    cgroup_name: name,
                    ..APPS_KNOWN
                };
                b.add_request_item(req, i, &entry, [("k", "v")])?;
            }
            Ok(())
        },
    )
    .unwrap();
    for &t in PLANES {
        let mut c = connect(&server, t);
        let req = cgroups_request(&["/a", "/big", "/b", "/mid", "/c"]);
        let a = call(&mut c, METHOD_CGROUPS_LOOKUP, &req);
        assert_eq!(a.status(), STATUS_OK);
        assert!(a.payload.len() <= 4096);
        let v = CgroupsLookupResponseView::decode(&a.payload).unwrap();
        let got: Vec<LookupStatus> = v.items().map(|i| i.status()).collect();
        use LookupStatus::*;
        assert_eq!(
            got,
            [
                Known,
                OversizedItem,
                Known,
                PayloadExceeded,
                PayloadExceeded
            ]
        );
        for (i, key) in ["/a", "/big", "/b", "/mid", "/c"].iter().enumerate() {
            assert_eq!(v.item(i).path(), key.as_bytes());
        }
        // The session stays usable.
        let again = call(&mut c, METHOD_CGROUPS_LOOKUP, &cgroups_request(&["/mid"]));
        let v = CgroupsLookupResponseView::decode(&again.payload).unwrap();
        assert_eq!(v.item(0).status(), Known);

        let mut c = connect(&apps, t);
        let a = call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&[1, 2, 3, 4, 5]));
        assert_eq!(a.status(), STATUS_OK);
        let v = AppsLookupResponseView::decode(&a.payload).unwrap();
        let got: Vec<PidStatus> = v.items().map(|i| i.status()).collect();
        assert_eq!(
            got,
            [
                PidStatus::Known,
                PidStatus::OversizedItem,
                PidStatus::Known,
                PidStatus::PayloadExceeded,
                PidStatus::PayloadExceeded
            ]
        );
        let pids: Vec<u32> = v.items().map(|i| i.pid()).collect();
        assert_eq!(pids, [1, 2, 3, 4, 5]);
    }
    // Fixed budgets never grow.
    assert_eq!(server.learned_budgets().response, 4096);
}

/// Zero-config lookups: a first item that cannot fit the current budget
/// (PAYLOAD_EXCEEDED at index 0) and an answer whose minimal shape cannot
/// fit (LIMIT_EXCEEDED) both grow the learned response budget, and the
/// reconnect gets the answers.
#[test]
fn lookup_budget_growth() {
    for &t in PLANES {
        let dir = TestDir::new();
        let long_path = vec![b'p'; 1500];
        let server = Server::apps_lookup(
            &managed_server_config(&dir, "grow"),
            move |req: &AppsLookupRequestView<'_>, b: &mut AppsLookupBuilder| {
                for i in 0..req.len() {
                    if req.pid(i) == 1 {
                        let entry = AppsLookupEntry {
                            cgroup_path: &long_path,
                            ..APPS_KNOWN
                        };
                        b.add_request_item(req, i, &entry, [("k", "v")])?;
                    } else {
                        b.add_request_unknown(req, i)?;
                    }
                }
                Ok(())
            },
        )
        .unwrap();
        let mut c = connect(&server, t);
        let a = call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&[1, 2]));
        assert_eq!(a.status(), STATUS_OK);
        let v = AppsLookupResponseView::decode(&a.payload).unwrap();
        assert_eq!(v.item(0).status(), PidStatus::PayloadExceeded);
        assert_eq!(v.item(1).status(), PidStatus::PayloadExceeded);
        assert_eq!(server.learned_budgets().response, 2048);
        // Same session, same budget: still a valid answer.
        assert_eq!(
            call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&[2])).status(),
            STATUS_OK
        );

        let mut c = connect(&server, t);
        assert_eq!(c.response_limits().max_payload, 2048);
        let a = call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&[1, 2]));
        let v = AppsLookupResponseView::decode(&a.payload).unwrap();
        assert_eq!(v.item(0).status(), PidStatus::Known);
        assert_eq!(v.item(0).cgroup_path().len(), 1500);
        assert_eq!(v.item(1).status(), PidStatus::Unknown);

        // 40 minimal items need 16 + 40 * (8 + 64) bytes > 2048.
        let pids: Vec<u32> = (100..140).collect();
        call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&pids)).assert_error(STATUS_LIMIT_EXCEEDED);
        assert_closed(&mut c, METHOD_APPS_LOOKUP, &apps_request(&[2]));
        assert_eq!(server.learned_budgets().response, 4096);
        let mut c = connect(&server, t);
        let a = call(&mut c, METHOD_APPS_LOOKUP, &apps_request(&pids));
        assert_eq!(a.status(), STATUS_OK);
        assert_eq!(
            AppsLookupResponseView::decode(&a.payload).unwrap().len(),
            40
        );
    }
}

// ----- sessions and slots ---------------------------------------------------

#[test]
fn concurrent_clients_get_their_own_answers() {
    for &t in PLANES {
        let dir = TestDir::new();
        let server = increment_server(&managed_server_config(&dir, "many"));
        let rev = Server::string_reverse(&managed_server_config(&dir, "manyrev"), reverse).unwrap();
        std::thread::scope(|s| {
            for id in 0..32u64 {
                let (server, rev) = (&server, &rev);
                s.spawn(move || {
                    let mut c = connect_with(server, t, &batch_config(t, 8));
                    let mut r = connect(rev, t);
                    for k in 0..50u64 {
                        let v = id * 1_000_000 + k;
                        let a = call(&mut c, METHOD_INCREMENT, &inc(v));
                        assert_eq!(decode_increment(&a.payload), Ok(v + 1));
                        let text = format!("client-{id}-call-{k}");
                        let a = call(&mut r, METHOD_STRING_REVERSE, &sr(text.as_bytes()));
                        let want: Vec<u8> = text.bytes().rev().collect();
                        assert_eq!(
                            StringReverseView::decode(&a.payload).unwrap().as_bytes(),
                            &want[..]
                        );
                    }
                    let vals: Vec<[u8; 8]> = (0..8).map(|k| inc(id * 100 + k)).collect();
                    let items: Vec<&[u8]> = vals.iter().map(|v| &v[..]).collect();
                    let a = call_batch(&mut c, METHOD_INCREMENT, &items);
                    for (k, item) in a.items.iter().enumerate() {
                        assert_eq!(decode_increment(item), Ok(id * 100 + k as u64 + 1));
                    }
                });
            }
        });
        assert_eq!(server.stats().sessions_started, 32);
        assert_eq!(server.stats().requests, 32 * 51);
    }
}

/// With every slot busy a new client is not refused: it waits and is
/// served when a slot frees.
#[test]
fn clients_beyond_max_sessions_wait_for_a_slot() {
    for &t in PLANES {
        let dir = TestDir::new();
        let cfg = ServerConfig {
            max_sessions: 1,
            ..managed_server_config(&dir, "slots")
        };
        let server = increment_server(&cfg);
        let mut first = connect(&server, t);
        assert_eq!(
            call(&mut first, METHOD_INCREMENT, &inc(1)).status(),
            STATUS_OK
        );
        assert_eq!(server.active_sessions(), 1);
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            let server = &server;
            s.spawn(move || {
                let mut c = connect(server, t);
                let a = call(&mut c, METHOD_INCREMENT, &inc(41));
                tx.send(decode_increment(&a.payload).unwrap()).unwrap();
            });
            // The first session still works and the second is not served.
            for v in 0..20 {
                let a = call(&mut first, METHOD_INCREMENT, &inc(v));
                assert_eq!(decode_increment(&a.payload), Ok(v + 1));
            }
            assert!(rx.try_recv().is_err());
            assert_eq!(server.active_sessions(), 1);
            drop(first);
            assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 42);
        });
        assert_eq!(server.stats().sessions_started, 2);
    }
}

/// A connection whose handshake completes while the last slot is taken
/// keeps its session and is served once a slot frees; `stop()` closes such
/// a waiting session.
#[cfg(unix)] // raw SEQPACKET peer
#[test]
fn handshaken_session_waits_for_a_slot() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_sessions: 1,
        handshake_timeout: PATIENCE,
        ..managed_server_config(&dir, "wait")
    };
    let server = increment_server(&cfg);
    // All are accepted while no slot is taken.
    let a = RawClient::connect(server.endpoint());
    let b = RawClient::connect(server.endpoint());
    let late = RawClient::connect(server.endpoint());
    eventually("three connections accepted", || {
        server.stats().connections_accepted == 3
    });
    for c in [&a, &b] {
        let (h, _) = c.send_hello(&hello(1024, 1));
        assert_eq!(h.transport_status, STATUS_OK);
    }
    let request = |id: u64, v: u64| {
        let mut h = Header::request(METHOD_INCREMENT, id, 8);
        h.message_id = id;
        (h, inc(v))
    };
    let (h, p) = request(1, 10);
    assert!(a.send_message(h, &p));
    let (h, p) = request(1, 20);
    assert!(b.send_message(h, &p));
    // Exactly one of them holds the slot and is answered.
    let (served, waiting) = match first_readable(&a, &b) {
        0 => (a, b),
        _ => (b, a),
    };
    assert_eq!(served.recv_header().unwrap().transport_status, STATUS_OK);
    assert_eq!(server.active_sessions(), 1);
    assert!(!waiting.readable_within(Duration::from_millis(200)));
    drop(served);
    let r = waiting.recv().expect("served after the slot freed");
    assert_eq!(Header::decode(&r).unwrap().transport_status, STATUS_OK);
    assert_eq!(server.stats().sessions_started, 2);

    // A third session waits behind the second; stop() closes it.
    let (h, _) = late.send_hello(&hello(1024, 1));
    assert_eq!(h.transport_status, STATUS_OK);
    let summary = server.stop();
    assert!(summary.drained);
    assert!(late.recv().is_none());
    assert!(waiting.recv().is_none());
    assert!(dir.entries().is_empty());
}

/// Several waiting clients with several slots are all served.
#[test]
fn many_clients_share_few_slots() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        max_sessions: 2,
        ..managed_server_config(&dir, "few")
    };
    let server = increment_server(&cfg);
    std::thread::scope(|s| {
        for id in 0..8u64 {
            let server = &server;
            s.spawn(move || {
                let t = PLANES[id as usize % PLANES.len()];
                let mut c = connect(server, t);
                for k in 0..20 {
                    let v = id * 1000 + k;
                    let a = call(&mut c, METHOD_INCREMENT, &inc(v));
                    assert_eq!(decode_increment(&a.payload), Ok(v + 1));
                }
                assert!(server.active_sessions() <= 2);
            });
        }
    });
    assert_eq!(server.stats().sessions_started, 8);
}

/// A connection that never sends its HELLO holds no slot, blocks nobody,
/// and is dropped at the handshake deadline.
#[cfg(unix)] // raw SEQPACKET peer
#[test]
fn silent_connection_is_dropped_at_handshake_deadline() {
    let dir = TestDir::new();
    let timeout = Duration::from_millis(500);
    let cfg = ServerConfig {
        max_sessions: 1,
        handshake_timeout: timeout,
        ..managed_server_config(&dir, "silent")
    };
    let server = increment_server(&cfg);
    let started = Instant::now();
    let silent = RawClient::connect(server.endpoint());
    for &t in PLANES {
        let mut c = connect(&server, t);
        assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
    }
    // EOF once the server gives up on it.
    assert!(silent.recv().is_none());
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));
    eventually("the timeout to be counted", || {
        server.stats().handshake_timeouts == 1
    });
    let mut c = connect(&server, Plane::Baseline);
    assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(2)).status(), STATUS_OK);
}

#[cfg(unix)] // raw SEQPACKET peer
#[test]
fn wrong_token_gets_auth_failed() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "auth"));
    let mut failures = 0;
    for &t in PLANES {
        for token in [0, TOKEN ^ 1, u64::MAX, !TOKEN] {
            let cfg = ClientConfig {
                auth_token: token,
                ..client_config(t)
            };
            match ClientSession::connect(server.endpoint(), &cfg, soon(), None) {
                Err(Error::AuthFailed) => failures += 1,
                other => panic!("token {token:#x}: {other:?}"),
            }
        }
    }
    // The status on the wire.
    let hello = Hello {
        auth_token: 1,
        ..hello(1024, 1)
    };
    let (c, h, _) = RawClient::handshake(server.endpoint(), &hello);
    assert_eq!(h.transport_status, STATUS_AUTH_FAILED);
    assert!(c.recv().is_none());
    failures += 1;
    eventually("the failures to be counted", || {
        server.stats().auth_failures == failures
    });
    assert_eq!(server.stats().sessions_started, 0);
    let mut c = connect(&server, Plane::best());
    assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
}

// ----- in-process dispatch ------------------------------------------------------

/// The in-process dispatcher answers like a session does.
#[test]
fn local_dispatcher_answers_like_a_session() {
    let mut d = LocalDispatcher::increment(increment, 1024);
    assert_eq!(d.kind(), ServiceKind::Increment);
    assert_eq!(decode_increment(d.dispatch(&inc(1)).unwrap()), Ok(2));
    assert_eq!(d.dispatch(&[0; 7]), Err(STATUS_BAD_ENVELOPE));
    assert_eq!(d.dispatch(&inc(FAIL)), Err(STATUS_INTERNAL_ERROR));
    assert_eq!(d.dispatch(&inc(PANIC)), Err(STATUS_INTERNAL_ERROR));
    assert_eq!(decode_increment(d.dispatch(&inc(5)).unwrap()), Ok(6));

    let mut d = LocalDispatcher::string_reverse(reverse, 16);
    let ok = d.dispatch(&sr(b"abc")).unwrap();
    assert_eq!(StringReverseView::decode(ok).unwrap().as_bytes(), b"cba");
    assert_eq!(d.dispatch(&sr(b"0123456789")), Err(STATUS_LIMIT_EXCEEDED));

    // A snapshot past the budget fails inside the handler's add_item.
    let mut d = LocalDispatcher::cgroups_snapshot(snapshot_handler(64), 1024);
    assert_eq!(d.dispatch(&snapshot_request()), Err(STATUS_LIMIT_EXCEEDED));
    let mut d = LocalDispatcher::cgroups_snapshot(snapshot_handler(4), 1024);
    check_snapshot(d.dispatch(&snapshot_request()).unwrap(), 4);

    let mut d = LocalDispatcher::cgroups_lookup(cgroups_mixed, 65536);
    let p = d.dispatch(&cgroups_request(&["/x", "/y", "/z"])).unwrap();
    assert_eq!(CgroupsLookupResponseView::decode(p).unwrap().len(), 3);
    assert_eq!(d.dispatch(b"junk"), Err(STATUS_BAD_ENVELOPE));

    let mut d = LocalDispatcher::apps_lookup(apps_mixed, 256);
    let p = d.dispatch(&apps_request(&[1, 2])).unwrap();
    assert_eq!(AppsLookupResponseView::decode(p).unwrap().len(), 2);
    let many: Vec<u32> = (0..10).collect();
    assert_eq!(d.dispatch(&apps_request(&many)), Err(STATUS_LIMIT_EXCEEDED));
}

// ----- shutdown ---------------------------------------------------------------

/// `stop()` with clients connected: the request in progress finishes and
/// is answered, every session closes, and the socket and SHM files are
/// removed.
#[test]
fn stop_drains_and_removes_files() {
    for &t in PLANES {
        let dir = TestDir::new();
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let entered = Mutex::new(entered_tx);
        let release = Mutex::new(release_rx);
        let server = Server::increment(&managed_server_config(&dir, "drain"), move |v: u64| {
            if v == 99 {
                entered.lock().unwrap().send(()).unwrap();
                release.lock().unwrap().recv_timeout(PATIENCE).unwrap();
            }
            Ok(v + 1)
        })
        .unwrap();
        let socket = server.endpoint().socket_path();
        assert_eq!(socket.exists(), cfg!(unix), "socket file");
        let mut idle = connect(&server, t);
        assert_eq!(
            call(&mut idle, METHOD_INCREMENT, &inc(1)).status(),
            STATUS_OK
        );
        // POSIX SHM regions are files (Win SHM regions are not).
        if t == Plane::Shm && cfg!(unix) {
            assert_eq!(dir.shm_files().len(), 1);
        }
        std::thread::scope(|s| {
            let server = &server;
            let busy = s.spawn(move || {
                let mut c = connect(server, t);
                let a = call(&mut c, METHOD_INCREMENT, &inc(99));
                decode_increment(&a.payload).unwrap()
            });
            entered_rx.recv_timeout(PATIENCE).unwrap();
            let stopper = s.spawn(move || server.stop());
            eventually("stop to begin", || !server.is_running());
            release_tx.send(()).unwrap();
            assert_eq!(busy.join().unwrap(), 100);
            let summary = stopper.join().unwrap();
            assert!(summary.drained);
            assert_eq!(summary.abandoned, 0);
        });
        assert_eq!(server.active_sessions(), 0);
        assert!(!socket.exists());
        assert!(dir.entries().is_empty(), "{:?}", dir.entries());
        assert_closed(&mut idle, METHOD_INCREMENT, &inc(1));
        assert!(matches!(
            ClientSession::connect(server.endpoint(), &client_config(t), soon(), None),
            Err(Error::NotFound)
        ));
        // Idempotent.
        assert!(server.stop().drained);
    }
}

/// A live server's endpoint cannot be taken by a second server.
#[test]
fn a_live_endpoint_cannot_be_taken() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "live"));
    assert!(matches!(
        Server::increment(&managed_server_config(&dir, "live"), increment),
        Err(Error::AddressInUse)
    ));
    let mut c = connect(&server, Plane::best());
    assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
}

/// Dropping the server stops it; the endpoint is then free again.
#[test]
fn drop_stops_and_frees_the_endpoint() {
    let dir = TestDir::new();
    let server = increment_server(&managed_server_config(&dir, "drop"));
    let mut c = connect(&server, Plane::best());
    assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
    drop(server);
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    let again = increment_server(&managed_server_config(&dir, "drop"));
    let mut c = connect(&again, Plane::Baseline);
    assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
}

/// A handler that never returns within the drain deadline: the session
/// is abandoned, its socket shut down and its files removed.
#[test]
fn stop_abandons_a_stuck_handler() {
    let dir = TestDir::new();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let release = Mutex::new(release_rx);
    let entered = Mutex::new(entered_tx);
    let cfg = ServerConfig {
        drain_timeout: Duration::from_millis(200),
        ..managed_server_config(&dir, "stuck")
    };
    let server = Server::increment(&cfg, move |v: u64| {
        entered.lock().unwrap().send(()).unwrap();
        let _ = release.lock().unwrap().recv_timeout(PATIENCE);
        Ok(v + 1)
    })
    .unwrap();
    let client = std::thread::spawn({
        let endpoint = server.endpoint().clone();
        move || {
            let mut c =
                ClientSession::connect(&endpoint, &client_config(Plane::best()), soon(), None)
                    .unwrap();
            c.call(METHOD_INCREMENT, &inc(1), soon(), None).is_ok()
        }
    });
    entered_rx.recv_timeout(PATIENCE).unwrap();
    let summary = server.stop();
    assert!(!summary.drained);
    assert_eq!(summary.abandoned, 1);
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    release_tx.send(()).unwrap();
    // The answer cannot be delivered any more (the socket is shut down),
    // or arrived just before; either way the client ends.
    let _ = client.join().unwrap();
}

#[test]
fn invalid_configuration_is_rejected() {
    let dir = TestDir::new();
    assert!(matches!(
        Server::increment(&managed_server_config(&dir, "../escape"), increment),
        Err(Error::InvalidArgument(_))
    ));
    let no_profiles = ServerConfig {
        supported_profiles: 0,
        ..managed_server_config(&dir, "svc")
    };
    assert!(matches!(
        Server::increment(&no_profiles, increment),
        Err(Error::InvalidArgument(_))
    ));
    assert!(dir.entries().is_empty());
}

/// Baseline-only servers serve SHM-capable clients over the baseline.
#[test]
fn baseline_only_server() {
    let dir = TestDir::new();
    let cfg = ServerConfig {
        supported_profiles: netipc::protocol::PROFILE_BASELINE,
        ..managed_server_config(&dir, "base")
    };
    let server = increment_server(&cfg);
    let mut c = connect_with(&server, Plane::Baseline, &client_config(Plane::best()));
    assert_eq!(call(&mut c, METHOD_INCREMENT, &inc(1)).status(), STATUS_OK);
}
