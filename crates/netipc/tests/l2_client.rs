//! Level 2 client tests against scripted Level 1 fake servers.

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use netipc::codec::apps_lookup::AppsLookupBuilder;
use netipc::codec::apps_lookup::AppsLookupRequestView;
use netipc::codec::cgroups_lookup::CgroupsLookupRequestView;
use netipc::codec::lookup::{LookupStatus, PidStatus};
use netipc::codec::string_reverse::{decode_string_reverse, encode_string_reverse};
use netipc::protocol::{
    KIND_RESPONSE, PROFILE_BASELINE, PROFILE_SHM_HYBRID, STATUS_INTERNAL_ERROR,
    STATUS_LIMIT_EXCEEDED, STATUS_UNSUPPORTED,
};
use netipc::service::client::{
    AppsLookupClient, CgroupsLookupClient, CgroupsSnapshotClient, ClientConfig, ClientState,
    IncrementClient, StringReverseClient,
};
use netipc::transport::Message;
use netipc::wire::Header;
use netipc::{Error, Limit, Violation};

use support::fake_server::*;
use support::{PLANES, Plane, TOKEN, TestDir};

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

fn reverse(s: &[u8]) -> Vec<u8> {
    let mut r = s.to_vec();
    r.reverse();
    let mut out = Vec::new();
    encode_string_reverse(&r, &mut out).unwrap();
    out
}

fn reverse_handler() -> Handler {
    Box::new(|_, m| {
        if m.batch().is_some() {
            Reply::Batch(
                m.items()
                    .map(|it| reverse(decode_string_reverse(it).unwrap().as_bytes()))
                    .collect(),
            )
        } else {
            Reply::Payload(reverse(
                decode_string_reverse(m.payload).unwrap().as_bytes(),
            ))
        }
    })
}

fn inc_client(dir: &TestDir, cfg: ClientConfig) -> IncrementClient {
    IncrementClient::new(dir.path(), "inc", cfg).unwrap()
}

fn ready_inc(dir: &TestDir, plane: Plane, handler: Handler) -> (FakeServer, IncrementClient) {
    let srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(plane, 65536)),
        handler,
    );
    let mut c = inc_client(dir, client_config());
    assert!(c.refresh());
    assert!(c.ready(), "state {}", c.state());
    assert_eq!(c.status().shm_attached, plane.is_shm());
    (srv, c)
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

#[test]
fn client_before_server_then_connect() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let mut c = inc_client(&dir, client_config());
        assert_eq!(c.state(), ClientState::Disconnected);
        assert!(!c.ready());
        assert!(matches!(c.call(1), Err(Error::InvalidState(_))));
        assert!(c.refresh());
        assert_eq!(c.state(), ClientState::NotFound);
        assert!(!c.refresh(), "NOT_FOUND again is no change");
        assert!(matches!(c.call(1), Err(Error::NotFound)));
        let srv = FakeServer::start(
            &dir.endpoint("inc"),
            Options::new(server_config(plane, 65536)),
            increment_handler(),
        );
        assert!(c.refresh());
        assert!(c.ready());
        assert!(!c.refresh(), "READY and alive: no change");
        assert_eq!(c.call(41).unwrap(), 42);
        let st = c.status();
        assert_eq!(st.state, ClientState::Ready);
        assert_eq!(st.connects, 1);
        assert_eq!(st.reconnects, 0);
        assert_eq!(st.calls, 3);
        assert_eq!(st.failures, 2);
        assert_eq!(st.shm_attached, plane.is_shm());
        let want = if plane.is_shm() {
            PROFILE_SHM_HYBRID
        } else {
            PROFILE_BASELINE
        };
        assert_eq!(st.selected_profile, want);
        assert_eq!(srv.requests(), 1);
        c.close();
        assert_eq!(c.state(), ClientState::Disconnected);
        assert!(matches!(c.call(1), Err(Error::InvalidState(_))));
        assert!(c.refresh());
        assert_eq!(c.call(1).unwrap(), 2);
    }
}

#[test]
fn server_restart_broken_then_reconnect() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (srv, mut c) = ready_inc(&dir, plane, increment_handler());
        assert_eq!(c.call(1).unwrap(), 2);
        drop(srv);
        // The session is dead: refresh notices, cannot reconnect.
        assert!(c.refresh());
        assert_eq!(c.state(), ClientState::NotFound);
        assert!(matches!(c.call(1), Err(Error::NotFound)));
        let _srv = FakeServer::start(
            &dir.endpoint("inc"),
            Options::new(server_config(plane, 65536)),
            increment_handler(),
        );
        assert!(c.refresh());
        assert!(c.ready());
        assert_eq!(c.call(9).unwrap(), 10);
        assert_eq!(c.status().reconnects, 1);
        // Restart while the client is idle: one refresh notices the dead
        // session (BROKEN) and reconnects (READY).
        drop(_srv);
        let _srv = FakeServer::start(
            &dir.endpoint("inc"),
            Options::new(server_config(plane, 65536)),
            increment_handler(),
        );
        assert!(c.refresh(), "READY -> BROKEN -> READY is a change");
        assert!(c.ready());
        assert_eq!(c.status().reconnects, 2);
        assert_eq!(c.call(1).unwrap(), 2);
        assert_eq!(c.status().retries, 0);
    }
}

#[test]
fn call_on_dead_server_reports_and_recovers() {
    let dir = TestDir::new();
    let (srv, mut c) = ready_inc(&dir, Plane::Baseline, increment_handler());
    drop(srv);
    // READY but dead: the call fails, retries once, and reports.
    let e = c.call(1).unwrap_err();
    assert!(matches!(e, Error::NotFound), "{e:?}");
    assert_eq!(c.status().retries, 1);
    assert!(!c.ready());
    let _srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(Plane::Baseline, 65536)),
        increment_handler(),
    );
    assert!(c.refresh());
    assert_eq!(c.call(1).unwrap(), 2);
}

#[test]
fn session_limit_close_is_a_failed_connect() {
    let dir = TestDir::new();
    let mut opts = Options::new(server_config(Plane::Baseline, 65536));
    opts.script = Box::new(|_| ConnAction::HandshakeThenClose);
    let srv = FakeServer::start(&dir.endpoint("inc"), opts, increment_handler());
    let mut c = inc_client(&dir, client_config());
    c.refresh();
    // The close may race the post-handshake check; a call then fails too.
    if c.ready() {
        assert!(c.call(1).is_err());
    }
    assert!(!c.ready());
    assert!(matches!(
        c.state(),
        ClientState::Disconnected | ClientState::Broken
    ));
    assert!(srv.handshakes() >= 1);
    assert_eq!(srv.requests(), 0);
}

#[test]
fn auth_failure_state() {
    let dir = TestDir::new();
    let _srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(Plane::Baseline, 65536)),
        increment_handler(),
    );
    let cfg = ClientConfig {
        auth_token: TOKEN + 1,
        ..client_config()
    };
    let mut c = inc_client(&dir, cfg);
    assert!(c.refresh());
    assert_eq!(c.state(), ClientState::AuthFailed);
    assert!(matches!(c.call(1), Err(Error::AuthFailed)));
    assert!(!c.refresh());
    assert_eq!(c.status().connects, 0);
}

#[test]
fn incompatible_profiles_and_limits() {
    let dir = TestDir::new();
    // The server rejects every request proposal: even 16 bytes.
    let mut cfg = server_config(Plane::Baseline, 65536);
    cfg.max_request_payload_bytes = 8;
    let _srv = FakeServer::start(&dir.endpoint("inc"), Options::new(cfg), increment_handler());
    let mut c = inc_client(&dir, client_config());
    assert!(c.refresh());
    assert_eq!(c.state(), ClientState::Incompatible);
    assert!(matches!(c.call(1), Err(Error::Incompatible)));

    // No common profile (needs a second profile on this platform).
    if !PLANES.contains(&Plane::Shm) {
        return;
    }
    let dir = TestDir::new();
    let _srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(Plane::Baseline, 65536)),
        increment_handler(),
    );
    let cfg = ClientConfig {
        supported_profiles: PROFILE_SHM_HYBRID,
        ..client_config()
    };
    let mut c = inc_client(&dir, cfg);
    c.refresh();
    assert_eq!(c.state(), ClientState::Incompatible);
}

#[test]
fn handshake_limit_exceeded_shrinks_the_proposal() {
    let dir = TestDir::new();
    let mut cfg = server_config(Plane::Baseline, 65536);
    cfg.max_request_payload_bytes = 1024;
    let srv = FakeServer::start(&dir.endpoint("inc"), Options::new(cfg), increment_handler());
    let mut c = inc_client(&dir, client_config());
    assert!(c.refresh());
    assert!(c.ready());
    // 16384 -> 8192 -> 4096 -> 2048 -> 1024.
    assert_eq!(c.status().request_payload_bytes, 1024);
    let values: Vec<u64> = (0..1000).collect();
    let got = c.call_batch(&values).unwrap().to_vec();
    assert_eq!(got, values.iter().map(|v| v + 1).collect::<Vec<_>>());
    // 64 items of 16 bytes per 1024-byte message.
    assert_eq!(srv.requests(), 1000u64.div_ceil(64));
    assert_eq!(Stats::get(&srv.stats.items), 1000);
}

// ---------------------------------------------------------------------------
// Retry
// ---------------------------------------------------------------------------

/// A handler that misbehaves on the first request with `bad`, then serves.
fn first_bad(bad: impl Fn(&Message<'_>) -> Reply + Send + 'static) -> Handler {
    let mut n = 0u64;
    Box::new(move |_, m| {
        n += 1;
        if n == 1 { bad(m) } else { increment_reply(m) }
    })
}

#[test]
fn retry_after_close_mid_call() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (srv, mut c) = ready_inc(&dir, plane, first_bad(|_| Reply::Close));
        assert_eq!(c.call(7).unwrap(), 8);
        let st = c.status();
        assert_eq!(st.retries, 1);
        assert_eq!(st.reconnects, 1);
        assert_eq!(st.failures, 0);
        assert_eq!(srv.requests(), 2);
        assert_eq!(srv.handshakes(), 2);
        assert!(c.ready());
    }
}

#[test]
fn retry_after_wrong_message_id_or_code() {
    let dir = TestDir::new();
    let (srv, mut c) = ready_inc(
        &dir,
        Plane::Baseline,
        first_bad(|m| {
            let mut h = Header::response(m.header.code, m.header.message_id + 100, 8);
            h.kind = KIND_RESPONSE;
            Reply::Raw(h, 5u64.to_ne_bytes().to_vec())
        }),
    );
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(c.status().retries, 1);
    assert_eq!(srv.requests(), 2);

    let dir = TestDir::new();
    let (_srv, mut c) = ready_inc(
        &dir,
        Plane::Baseline,
        first_bad(|m| {
            let h = Header::response(m.header.code + 1, m.header.message_id, 8);
            Reply::Raw(h, 5u64.to_ne_bytes().to_vec())
        }),
    );
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(c.status().retries, 1);
}

#[test]
fn retry_after_internal_error() {
    let dir = TestDir::new();
    let (srv, mut c) = ready_inc(
        &dir,
        Plane::Baseline,
        first_bad(|_| Reply::StatusClose(STATUS_INTERNAL_ERROR)),
    );
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(c.status().retries, 1);
    assert_eq!(srv.handshakes(), 2);
}

#[test]
fn retry_fails_twice() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (srv, mut c) = ready_inc(&dir, plane, Box::new(|_, _| Reply::Close));
        let e = c.call(1).unwrap_err();
        assert!(
            matches!(e, Error::PeerClosed | Error::Io(_) | Error::Protocol(_)),
            "{e:?}"
        );
        assert_eq!(srv.requests(), 2, "exactly one resend");
        let st = c.status();
        assert_eq!(st.retries, 1);
        assert_eq!(st.failures, 1);
        assert_eq!(st.state, ClientState::Broken);
        assert!(!c.ready());
        // Not READY: the next call does no I/O.
        assert!(matches!(c.call(1), Err(Error::InvalidState(_))));
        assert_eq!(srv.requests(), 2);
    }
}

#[test]
fn error_status_with_batch_flag_is_read_first() {
    let dir = TestDir::new();
    // A C-style error reply: BATCH flag and the request's item count kept.
    let (srv, mut c) = ready_inc(
        &dir,
        Plane::Baseline,
        first_bad(|m| {
            let mut h =
                Header::error_response(m.header.code, m.header.message_id, STATUS_INTERNAL_ERROR);
            h.flags = m.header.flags;
            h.item_count = m.header.item_count;
            Reply::Raw(h, Vec::new())
        }),
    );
    let got = c.call_batch(&[1, 2, 3]).unwrap().to_vec();
    assert_eq!(got, [2, 3, 4]);
    assert_eq!(c.status().retries, 1);
    assert_eq!(srv.requests(), 2);
}

#[test]
fn not_ready_means_no_io() {
    let dir = TestDir::new();
    let srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(Plane::Baseline, 65536)),
        increment_handler(),
    );
    let mut c = inc_client(&dir, client_config());
    assert!(matches!(c.call(1), Err(Error::InvalidState(_))));
    assert!(matches!(c.call_batch(&[1, 2]), Err(Error::InvalidState(_))));
    assert_eq!(srv.accepts(), 0);
    assert_eq!(c.status().failures, 2);
}

#[test]
fn unsupported_keeps_the_session() {
    let dir = TestDir::new();
    let (srv, mut c) = ready_inc(
        &dir,
        Plane::Baseline,
        first_bad(|_| Reply::Status(STATUS_UNSUPPORTED)),
    );
    let sid = c.status().session_id;
    assert!(matches!(c.call(1), Err(Error::Unsupported)));
    assert!(c.ready());
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(c.status().session_id, sid);
    assert_eq!(c.status().retries, 0);
    assert_eq!(srv.handshakes(), 1);
}

#[test]
fn item_count_mismatch_is_not_retried() {
    let dir = TestDir::new();
    let (srv, mut c) = ready_inc(
        &dir,
        Plane::Baseline,
        Box::new(|_, m| {
            // Answer a batch of 3 with a batch of 2.
            let items: Vec<Vec<u8>> = m.items().take(2).map(|it| it.to_vec()).collect();
            Reply::Batch(items)
        }),
    );
    let e = c.call_batch(&[1, 2, 3]).unwrap_err();
    assert!(
        matches!(e, Error::Protocol(Violation::ItemCountMismatch)),
        "{e:?}"
    );
    assert_eq!(srv.requests(), 1);
    assert!(c.ready());
}

// ---------------------------------------------------------------------------
// Timeout and abort
// ---------------------------------------------------------------------------

#[test]
fn timeout_is_not_retried() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (srv, mut c) = ready_inc(&dir, plane, first_bad(|_| Reply::Stall));
        c.set_call_timeout(Duration::from_millis(300));
        let t0 = Instant::now();
        let e = c.call(1).unwrap_err();
        let took = t0.elapsed();
        assert!(matches!(e, Error::Timeout), "{e:?}");
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(20), "{took:?}");
        assert_eq!(c.state(), ClientState::Broken);
        assert_eq!(c.status().retries, 0);
        assert_eq!(srv.requests(), 1);
        c.set_call_timeout(Duration::ZERO);
        assert!(c.refresh());
        assert_eq!(c.call(5).unwrap(), 6);
    }
}

#[test]
fn abort_from_another_thread() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (tx, rx) = mpsc::channel::<()>();
        let tx = Mutex::new(tx);
        let handler = first_bad(move |_| {
            let _ = tx.lock().unwrap().send(());
            Reply::Stall
        });
        let (srv, mut c) = ready_inc(&dir, plane, handler);
        let abort = c.abort_handle();
        let trigger = std::thread::spawn(move || {
            rx.recv().unwrap();
            abort.trigger();
        });
        let t0 = Instant::now();
        let e = c.call(1).unwrap_err();
        assert!(matches!(e, Error::Aborted), "{e:?}");
        assert!(t0.elapsed() < Duration::from_secs(20));
        trigger.join().unwrap();
        assert_eq!(c.state(), ClientState::Broken);
        assert_eq!(srv.requests(), 1);
        // Sticky: refresh does not connect, calls fail at once.
        assert!(!c.refresh());
        assert!(matches!(c.call(1), Err(Error::Aborted)));
        assert_eq!(srv.requests(), 1);
        c.clear_abort();
        assert!(c.refresh());
        assert_eq!(c.call(1).unwrap(), 2);
        // A triggered abort fails the call before any I/O.
        c.abort_handle().trigger();
        assert!(matches!(c.call(1), Err(Error::Aborted)));
        assert!(c.ready());
        c.close();
        assert!(c.refresh());
        assert_eq!(c.call(3).unwrap(), 4);
    }
}

// ---------------------------------------------------------------------------
// Overflow
// ---------------------------------------------------------------------------

#[test]
fn snapshot_overflow_recovery() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = snapshot_payload(30, 77);
        assert!(snap.len() > 2048 && snap.len() <= 4096, "{}", snap.len());
        let expect = snap.clone();
        let srv = FakeServer::start(
            &dir.endpoint("snap"),
            Options::new(server_config(plane, 1024)),
            Box::new(move |_, _| Reply::Payload(expect.clone())),
        );
        let mut c = CgroupsSnapshotClient::new(dir.path(), "snap", client_config()).unwrap();
        assert!(c.refresh());
        assert_eq!(c.status().response_payload_bytes, 1024);
        {
            let v = c.call_snapshot().unwrap();
            assert_eq!(v.len(), 30);
            assert_eq!(v.generation(), 77);
            assert_eq!(v.item(29).name, b"cgroup-0029");
        }
        let st = c.status();
        assert_eq!(st.overflow_reconnects, 2, "1024 -> 2048 -> 4096");
        assert_eq!(st.response_payload_bytes, 4096);
        assert_eq!(st.shm_attached, plane.is_shm());
        assert_eq!(srv.requests(), 3);
        // Warm: no more overflow.
        assert_eq!(c.call_snapshot().unwrap().len(), 30);
        assert_eq!(c.status().overflow_reconnects, 2);
    }
}

#[test]
fn overflow_stops_when_capacity_does_not_grow() {
    let dir = TestDir::new();
    let snap = snapshot_payload(30, 1);
    let mut opts = Options::new(server_config(Plane::Baseline, 1024));
    opts.grow = false;
    let srv = FakeServer::start(
        &dir.endpoint("snap"),
        opts,
        Box::new(move |_, _| Reply::Payload(snap.clone())),
    );
    let mut c = CgroupsSnapshotClient::new(dir.path(), "snap", client_config()).unwrap();
    c.refresh();
    let e = c.call_snapshot().unwrap_err();
    assert!(matches!(e, Error::Status(STATUS_LIMIT_EXCEEDED)), "{e:?}");
    assert_eq!(c.status().overflow_reconnects, 1);
    assert!(c.ready(), "the new session is kept");
    assert_eq!(srv.requests(), 1);
}

#[test]
fn request_overflow_grows_the_proposal() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let _srv = FakeServer::start(
            &dir.endpoint("rev"),
            Options::new(server_config(plane, 65536)),
            reverse_handler(),
        );
        let mut c = StringReverseClient::new(dir.path(), "rev", client_config()).unwrap();
        c.refresh();
        assert_eq!(c.status().request_payload_bytes, 1024);
        let text: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut want = text.clone();
        want.reverse();
        assert_eq!(c.call(&text).unwrap().as_bytes(), &want[..]);
        let st = c.status();
        assert_eq!(st.request_payload_bytes, 8192);
        assert_eq!(st.overflow_reconnects, 1);
        assert_eq!(c.call(b"abc").unwrap().as_bytes(), b"cba");
    }
}

#[test]
fn request_overflow_rejected_by_the_server() {
    let dir = TestDir::new();
    let mut cfg = server_config(Plane::Baseline, 65536);
    cfg.max_request_payload_bytes = 1024;
    let _srv = FakeServer::start(&dir.endpoint("rev"), Options::new(cfg), reverse_handler());
    let mut c = StringReverseClient::new(dir.path(), "rev", client_config()).unwrap();
    c.refresh();
    let text = vec![b'x'; 5000];
    let e = c.call(&text).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::RequestPayload,
                max: 1024,
                actual: 5009
            }
        ),
        "{e:?}"
    );
    assert!(c.ready());
    assert_eq!(c.status().request_payload_bytes, 1024);
    assert_eq!(c.call(b"ab").unwrap().as_bytes(), b"ba");
    // Above the growth cap: rejected without I/O.
    let cfg = ClientConfig {
        max_payload_bytes: 65536,
        ..client_config()
    };
    let mut c = StringReverseClient::new(dir.path(), "rev", cfg).unwrap();
    c.refresh();
    let e = c.call(&vec![b'y'; 70000]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::RequestPayload,
                max: 65536,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(c.status().overflow_reconnects, 0);
}

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

#[test]
fn increment_batch_is_one_message() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (srv, mut c) = ready_inc(&dir, plane, increment_handler());
        let values: Vec<u64> = (0..1000).map(|i| i * 3).collect();
        let got = c.call_batch(&values).unwrap();
        assert_eq!(got.len(), 1000);
        assert!(got.iter().zip(&values).all(|(g, v)| *g == v + 1));
        assert_eq!(srv.requests(), 1);
        assert_eq!(Stats::get(&srv.stats.items), 1000);
        assert_eq!(c.call_batch(&[5]).unwrap(), &[6]);
        assert!(c.call_batch(&[]).unwrap().is_empty());
        assert_eq!(srv.requests(), 2);
    }
}

#[test]
fn increment_batch_above_the_agreed_items_is_split() {
    let dir = TestDir::new();
    let srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(Plane::Baseline, 65536)),
        increment_handler(),
    );
    let cfg = ClientConfig {
        batch_items: 10,
        ..client_config()
    };
    let mut c = inc_client(&dir, cfg);
    c.refresh();
    let values: Vec<u64> = (0..95).collect();
    let got = c.call_batch(&values).unwrap().to_vec();
    assert_eq!(got, (1..96).collect::<Vec<u64>>());
    assert_eq!(srv.requests(), 10);
}

#[test]
fn string_reverse_batch() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let srv = FakeServer::start(
            &dir.endpoint("rev"),
            Options::new(server_config(plane, 1024)),
            reverse_handler(),
        );
        let mut c = StringReverseClient::new(dir.path(), "rev", client_config()).unwrap();
        c.refresh();
        let texts: Vec<Vec<u8>> = (0..200)
            .map(|i| format!("string-{i}").into_bytes())
            .collect();
        let v = c.call_batch(&texts).unwrap();
        assert_eq!(v.len(), 200);
        for (i, t) in texts.iter().enumerate() {
            let mut r = t.clone();
            r.reverse();
            assert_eq!(v.item(i).as_bytes(), &r[..]);
        }
        assert_eq!(v.iter().count(), 200);
        assert!(v.get(200).is_none());
        assert!(srv.requests() > 1, "split to the 1024-byte budgets");
        assert_eq!(Stats::get(&srv.stats.items), 200);
        let empty: [&[u8]; 0] = [];
        assert!(c.call_batch(&empty).unwrap().is_empty());
    }
}

// ---------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------

/// A generation counter shared with a handler.
fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

fn apps_handler(max_budget: usize, info: fn(u32) -> AppsInfo) -> Handler {
    Box::new(move |c, m| {
        match apps_response(m.payload, 5, c.response_budget as usize, max_budget, info) {
            Some(p) => Reply::Payload(p),
            None => Reply::Overflow,
        }
    })
}

fn known(_: u32) -> AppsInfo {
    AppsInfo {
        labels: small_labels(),
        known: true,
    }
}

fn small_lookup_config() -> ClientConfig {
    ClientConfig {
        request_payload_bytes: 256,
        ..client_config()
    }
}

#[test]
fn apps_lookup_8192_pids_small_budgets() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let srv = FakeServer::start(
            &dir.endpoint("apps"),
            Options::new(server_config(plane, 2048)),
            apps_handler(65536, known),
        );
        let mut c = AppsLookupClient::new(dir.path(), "apps", small_lookup_config()).unwrap();
        assert!(c.refresh());
        assert_eq!(c.status().shm_attached, plane.is_shm());
        let pids: Vec<u32> = (0..8192u32).map(|i| 1000 + i * 7).collect();
        let v = c.lookup(&pids).unwrap();
        assert_eq!(v.len(), 8192);
        assert_eq!(v.generation(), 5);
        for (i, it) in v.iter().enumerate() {
            assert_eq!(it.pid(), pids[i]);
            assert_eq!(it.status(), PidStatus::Known);
            assert_eq!(it.label_count(), 2);
            assert_eq!(it.cgroup_name(), format!("app-{}", pids[i]).as_bytes());
        }
        assert_eq!(v.item(8191).starttime(), u64::from(pids[8191]) * 3);
        assert!(v.get(8192).is_none());
        // 256-byte requests hold 15 PIDs; PAYLOAD_EXCEEDED suffixes add more.
        assert!(srv.requests() >= 8192 / 15, "{}", srv.requests());
        assert_eq!(c.status().overflow_reconnects, 0);
        assert_eq!(c.status().retries, 0);
    }
}

fn cgroup_paths(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("/sys/fs/cgroup/system.slice/svc-{i:05}.service").into_bytes())
        .collect()
}

fn cgroups_handler(max_budget: usize, generation: Arc<AtomicU64>) -> Handler {
    Box::new(move |c, m| {
        let g = generation.load(Ordering::SeqCst);
        match cgroups_response(m.payload, g, c.response_budget as usize, max_budget, |_| {
            small_labels()
        }) {
            Some(p) => Reply::Payload(p),
            None => Reply::Overflow,
        }
    })
}

#[test]
fn cgroups_lookup_8192_paths_small_budgets() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let g = counter();
        g.store(42, Ordering::SeqCst);
        let srv = FakeServer::start(
            &dir.endpoint("cg"),
            Options::new(server_config(plane, 4096)),
            cgroups_handler(65536, g),
        );
        let cfg = ClientConfig {
            request_payload_bytes: 512,
            ..client_config()
        };
        let mut c = CgroupsLookupClient::new(dir.path(), "cg", cfg).unwrap();
        assert!(c.refresh());
        let paths = cgroup_paths(8192);
        let v = c.lookup(&paths).unwrap();
        assert_eq!(v.len(), 8192);
        assert_eq!(v.generation(), 42);
        for (i, it) in v.iter().enumerate() {
            assert_eq!(it.path(), &paths[i][..]);
            assert_eq!(it.status(), LookupStatus::Known);
            assert_eq!(it.orchestrator(), 3);
            assert_eq!(it.labels().count(), 2);
        }
        assert!(srv.requests() > 8192 / 10);
        // The second call reuses the storage and gives the same answer.
        let v = c.lookup(&paths[..3]).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v.item(2).path(), &paths[2][..]);
    }
}

#[test]
fn lookup_payload_exceeded_suffix_is_reasked() {
    let dir = TestDir::new();
    // Each item carries ~300 bytes of labels: a 2048-byte response holds
    // few of them, the rest comes back PAYLOAD_EXCEEDED.
    fn rich(_: u32) -> AppsInfo {
        AppsInfo {
            labels: vec![("big".into(), "x".repeat(300))],
            known: true,
        }
    }
    let srv = FakeServer::start(
        &dir.endpoint("apps"),
        Options::new(server_config(Plane::Baseline, 2048)),
        apps_handler(65536, rich),
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps", small_lookup_config()).unwrap();
    c.refresh();
    let pids: Vec<u32> = (1..=100).collect();
    let v = c.lookup(&pids).unwrap();
    assert_eq!(v.len(), 100);
    assert!(
        v.iter()
            .all(|it| it.status() == PidStatus::Known && it.label_count() == 1)
    );
    assert!(v.iter().map(|it| it.pid()).eq(pids.iter().copied()));
    // 100 PIDs fit in 7 requests of 15; the suffix re-asks add many more.
    assert!(srv.requests() > 20, "{}", srv.requests());
}

#[test]
fn apps_lookup_oversized_item_is_final() {
    for &plane in PLANES {
        let dir = TestDir::new();
        fn huge_for_7(pid: u32) -> AppsInfo {
            let labels = if pid == 7 {
                vec![("huge".into(), "h".repeat(20_000))]
            } else {
                small_labels()
            };
            AppsInfo {
                labels,
                known: pid != 9,
            }
        }
        let _srv = FakeServer::start(
            &dir.endpoint("apps"),
            Options::new(server_config(plane, 4096)),
            apps_handler(8192, huge_for_7),
        );
        let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
        c.refresh();
        let pids: Vec<u32> = (1..=20).collect();
        let v = c.lookup(&pids).unwrap();
        assert_eq!(v.len(), 20);
        for it in v.iter() {
            let want = match it.pid() {
                7 => PidStatus::OversizedItem,
                9 => PidStatus::Unknown,
                _ => PidStatus::Known,
            };
            assert_eq!(it.status(), want, "pid {}", it.pid());
        }
        assert_eq!(v.item(7).label_count(), 2, "later items enriched");
    }
}

#[test]
fn cgroups_path_too_big_for_a_request_is_local_oversized() {
    let dir = TestDir::new();
    let seen = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let seen2 = Arc::clone(&seen);
    let g = counter();
    let mut inner = cgroups_handler(65536, g);
    let _srv = FakeServer::start(
        &dir.endpoint("cg"),
        Options::new(server_config(Plane::Baseline, 65536)),
        Box::new(move |c, m| {
            let req = CgroupsLookupRequestView::decode(m.payload).unwrap();
            seen2.lock().unwrap().extend(req.iter().map(|k| k.to_vec()));
            inner(c, m)
        }),
    );
    let mut c = CgroupsLookupClient::new(dir.path(), "cg", small_lookup_config()).unwrap();
    c.refresh();
    let long = vec![b'L'; 400];
    let paths: Vec<Vec<u8>> = vec![
        b"/a".to_vec(),
        long.clone(),
        b"/b".to_vec(),
        long.clone(),
        long.clone(),
        b"/c".to_vec(),
    ];
    let v = c.lookup(&paths).unwrap();
    assert_eq!(v.len(), 6);
    for (i, it) in v.iter().enumerate() {
        assert_eq!(it.path(), &paths[i][..]);
        let want = if paths[i] == long {
            LookupStatus::OversizedItem
        } else {
            LookupStatus::Known
        };
        assert_eq!(it.status(), want);
    }
    assert_eq!(
        *seen.lock().unwrap(),
        vec![b"/a".to_vec(), b"/b".to_vec(), b"/c".to_vec()]
    );
    // Only oversized paths: an empty probe supplies the generation.
    seen.lock().unwrap().clear();
    let v = c.lookup(std::slice::from_ref(&long)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v.item(0).status(), LookupStatus::OversizedItem);
    assert!(seen.lock().unwrap().is_empty());
}

/// An apps handler whose first item needs ~1500 bytes of labels.
fn first_item_big(pid: u32) -> AppsInfo {
    let labels = if pid == 1 {
        vec![("big".into(), "b".repeat(1500))]
    } else {
        small_labels()
    };
    AppsInfo {
        labels,
        known: true,
    }
}

#[test]
fn lookup_first_item_payload_exceeded_grows_the_budget() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let _srv = FakeServer::start(
            &dir.endpoint("apps"),
            Options::new(server_config(plane, 1024)),
            Box::new(|c, m| {
                let p = apps_response(
                    m.payload,
                    3,
                    c.response_budget as usize,
                    65536,
                    first_item_big,
                )
                .unwrap();
                let v = netipc::codec::apps_lookup::AppsLookupResponseView::decode(&p).unwrap();
                if v.get(0)
                    .is_some_and(|it| it.status() == PidStatus::PayloadExceeded)
                {
                    c.grow = true;
                }
                Reply::Payload(p)
            }),
        );
        let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
        c.refresh();
        assert_eq!(c.status().response_payload_bytes, 1024);
        let v = c.lookup(&[1, 2, 3]).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v.item(0).status(), PidStatus::Known);
        assert_eq!(v.item(0).label(0).unwrap().value().len(), 1500);
        let st = c.status();
        assert_eq!(st.overflow_reconnects, 1);
        assert_eq!(st.response_payload_bytes, 2048);
    }
}

#[test]
fn lookup_first_item_crowded_out_is_reasked_alone() {
    let dir = TestDir::new();
    fn first_1100(pid: u32) -> AppsInfo {
        let labels = if pid == 1 {
            vec![("big".into(), "b".repeat(1100))]
        } else {
            small_labels()
        };
        AppsInfo {
            labels,
            known: true,
        }
    }
    let mut opts = Options::new(server_config(Plane::Baseline, 2048));
    opts.grow = false;
    let srv = FakeServer::start(&dir.endpoint("apps"), opts, apps_handler(65536, first_1100));
    let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
    c.refresh();
    let pids: Vec<u32> = (1..=30).collect();
    let v = c.lookup(&pids).unwrap();
    assert_eq!(v.len(), 30);
    assert!(v.iter().all(|it| it.status() == PidStatus::Known));
    assert_eq!(v.item(0).label(0).unwrap().value().len(), 1100);
    let st = c.status();
    assert_eq!(st.overflow_reconnects, 0);
    assert_eq!(st.connects, 1);
    assert!(srv.requests() >= 3);
}

#[test]
fn lookup_first_item_payload_exceeded_fails_without_growth() {
    let dir = TestDir::new();
    let srv = FakeServer::start(
        &dir.endpoint("apps"),
        Options::new(server_config(Plane::Baseline, 1024)),
        apps_handler(65536, first_item_big),
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
    c.refresh();
    let e = c.lookup(&[1, 2, 3]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::ResponsePayload,
                max: 1024,
                ..
            }
        ),
        "{e:?}"
    );
    // Three keys, then the first key alone; never re-asked as a suffix.
    assert_eq!(srv.requests(), 2);
    assert!(c.ready());
}

#[test]
fn lookup_generation_change_fails_the_call() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let g = counter();
        let g2 = Arc::clone(&g);
        let mut inner = cgroups_handler(65536, Arc::clone(&g));
        let _srv = FakeServer::start(
            &dir.endpoint("cg"),
            Options::new(server_config(plane, 65536)),
            Box::new(move |c, m| {
                let r = inner(c, m);
                g2.fetch_add(1, Ordering::SeqCst);
                r
            }),
        );
        let mut c = CgroupsLookupClient::new(dir.path(), "cg", small_lookup_config()).unwrap();
        c.refresh();
        let paths = cgroup_paths(100);
        let e = c.lookup(&paths).unwrap_err();
        assert!(
            matches!(e, Error::Protocol(Violation::GenerationMismatch)),
            "{e:?}"
        );
        assert!(c.ready());
        // A call served by one response is fine.
        assert_eq!(c.lookup(&paths[..2]).unwrap().len(), 2);
    }
}

#[test]
fn lookup_echo_and_count_mismatches_fail() {
    let dir = TestDir::new();
    let mode = Arc::new(AtomicU64::new(0));
    let mode2 = Arc::clone(&mode);
    let srv = FakeServer::start(
        &dir.endpoint("apps"),
        Options::new(server_config(Plane::Baseline, 65536)),
        Box::new(move |c, m| {
            let req = AppsLookupRequestView::decode(m.payload).unwrap();
            let mut b = AppsLookupBuilder::with_budget(c.response_budget as usize, 65536);
            match mode2.load(Ordering::SeqCst) {
                0 => {
                    // Item 1 echoes the wrong PID.
                    b.reset(1, &req);
                    for i in 0..req.len() {
                        let pid = if i == 1 { req.pid(i) + 1 } else { req.pid(i) };
                        b.add_unknown(pid).unwrap();
                    }
                }
                _ => {
                    // One item short.
                    b.reset_for_count(1, req.len() as u32 - 1);
                    for i in 0..req.len() - 1 {
                        b.add_unknown(req.pid(i)).unwrap();
                    }
                }
            }
            Reply::Payload(b.finish().unwrap().to_vec())
        }),
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
    c.refresh();
    let e = c.lookup(&[10, 20, 30]).unwrap_err();
    assert!(
        matches!(e, Error::Protocol(Violation::EchoMismatch)),
        "{e:?}"
    );
    mode.store(1, Ordering::SeqCst);
    let e = c.lookup(&[10, 20, 30]).unwrap_err();
    assert!(
        matches!(e, Error::Protocol(Violation::ItemCountMismatch)),
        "{e:?}"
    );
    assert_eq!(srv.requests(), 2, "contract violations are not retried");
    assert!(c.ready());

    // Cgroups: a response echoing another path.
    let dir = TestDir::new();
    let _srv = FakeServer::start(
        &dir.endpoint("cg"),
        Options::new(server_config(Plane::Baseline, 65536)),
        Box::new(|_, _| {
            let mut b = netipc::codec::cgroups_lookup::CgroupsLookupBuilder::new();
            b.reset_for_paths(0, &[b"/other"]).unwrap();
            b.add_unknown(b"/other", LookupStatus::UnknownPermanent)
                .unwrap();
            Reply::Payload(b.finish().unwrap().to_vec())
        }),
    );
    let mut c = CgroupsLookupClient::new(dir.path(), "cg", client_config()).unwrap();
    c.refresh();
    let e = c.lookup(&[b"/mine"]).unwrap_err();
    assert!(
        matches!(e, Error::Protocol(Violation::EchoMismatch)),
        "{e:?}"
    );
}

#[test]
fn lookup_ceilings() {
    let dir = TestDir::new();
    let srv = FakeServer::start(
        &dir.endpoint("apps"),
        Options::new(server_config(Plane::Baseline, 65536)),
        apps_handler(65536, known),
    );
    let pids: Vec<u32> = (1..=100).collect();

    let cfg = ClientConfig {
        lookup_max_items: 50,
        ..small_lookup_config()
    };
    let mut c = AppsLookupClient::new(dir.path(), "apps", cfg).unwrap();
    c.refresh();
    let e = c.lookup(&pids).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::LookupCeiling,
                max: 50,
                actual: 100
            }
        ),
        "{e:?}"
    );
    assert_eq!(srv.requests(), 0, "item ceiling checked before I/O");
    assert_eq!(c.lookup(&pids[..50]).unwrap().len(), 50);

    let cfg = ClientConfig {
        lookup_max_subcalls: 3,
        ..small_lookup_config()
    };
    let mut c = AppsLookupClient::new(dir.path(), "apps", cfg).unwrap();
    c.refresh();
    let e = c.lookup(&pids).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::LookupCeiling,
                max: 3,
                actual: 4
            }
        ),
        "{e:?}"
    );
    assert_eq!(c.lookup(&pids[..45]).unwrap().len(), 45);

    let cfg = ClientConfig {
        lookup_max_response_bytes: 4096,
        ..small_lookup_config()
    };
    let mut c = AppsLookupClient::new(dir.path(), "apps", cfg).unwrap();
    c.refresh();
    let e = c.lookup(&pids).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::LookupCeiling,
                max: 4096,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(c.ready());
}

#[test]
fn malformed_keys_fail_before_io() {
    let dir = TestDir::new();
    let srv = FakeServer::start(
        &dir.endpoint("cg"),
        Options::new(server_config(Plane::Baseline, 65536)),
        cgroups_handler(65536, counter()),
    );
    let mut c = CgroupsLookupClient::new(dir.path(), "cg", client_config()).unwrap();
    c.refresh();
    let empty: [&[u8]; 2] = [b"/ok", b""];
    assert!(matches!(c.lookup(&empty), Err(Error::InvalidArgument(_))));
    let nul: [&[u8]; 2] = [b"/ok", b"/a\0b"];
    assert!(matches!(c.lookup(&nul), Err(Error::InvalidArgument(_))));
    assert_eq!(srv.requests(), 0);
    assert!(c.ready());
    let v = c.lookup(&[b"/ok"]).unwrap();
    assert_eq!(v.item(0).status(), LookupStatus::Known);
}

#[test]
fn empty_lookup_probes_the_generation() {
    let dir = TestDir::new();
    let srv = FakeServer::start(
        &dir.endpoint("apps"),
        Options::new(server_config(Plane::Baseline, 65536)),
        apps_handler(65536, known),
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
    c.refresh();
    let v = c.lookup(&[]).unwrap();
    assert!(v.is_empty());
    assert_eq!(v.generation(), 5);
    assert_eq!(srv.requests(), 1);
}

// ---------------------------------------------------------------------------
// SHM fallback
// ---------------------------------------------------------------------------

#[cfg(unix)] // POSIX SHM region file
#[test]
fn shm_attach_failure_falls_back_to_baseline() {
    let dir = TestDir::new();
    let mut opts = Options::new(server_config(Plane::Shm, 65536));
    opts.script = Box::new(|i| {
        if i == 0 {
            ConnAction::ShmAttachFail
        } else {
            ConnAction::Serve
        }
    });
    let srv = FakeServer::start(&dir.endpoint("inc"), opts, increment_handler());
    let mut c = inc_client(&dir, client_config());
    assert!(c.refresh());
    assert!(c.ready(), "{}", c.state());
    let st = c.status();
    assert!(st.shm_disabled);
    assert!(!st.shm_attached);
    assert_eq!(st.shm_fallbacks, 1);
    assert_eq!(st.selected_profile, PROFILE_BASELINE);
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(srv.accepts(), 2);
    // Later reconnects stay on the baseline until close().
    drop(srv);
    let _srv = FakeServer::start(
        &dir.endpoint("inc"),
        Options::new(server_config(Plane::Shm, 65536)),
        increment_handler(),
    );
    c.refresh();
    c.refresh();
    assert!(c.ready());
    assert!(!c.status().shm_attached);
    c.close();
    c.refresh();
    assert!(c.status().shm_attached);
    assert_eq!(c.call(2).unwrap(), 3);
}

#[test]
fn status_counts_are_consistent() {
    let dir = TestDir::new();
    let (_srv, mut c) = ready_inc(&dir, Plane::Baseline, increment_handler());
    for i in 0..10 {
        assert_eq!(c.call(i).unwrap(), i + 1);
    }
    let st = c.status();
    assert_eq!((st.calls, st.failures, st.retries), (10, 0, 0));
    assert_eq!(st.batch_items, 1000);
    assert_eq!(st.request_payload_bytes, 16384);
    assert!(st.session_id > 0);
    assert_eq!(ClientState::Ready.to_string(), "READY");
}

#[test]
fn clients_are_send_and_abort_handles_send_sync() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync + Clone>() {}
    send::<IncrementClient>();
    send::<StringReverseClient>();
    send::<CgroupsSnapshotClient>();
    send::<CgroupsLookupClient>();
    send::<AppsLookupClient>();
    send_sync::<netipc::transport::AbortHandle>();
}
