//! Level 3: the cgroups snapshot cache against real Level 2 servers (and a
//! raw Level 1 server for malformed snapshots), over the UDS baseline and
//! over SHM.

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, SystemTime};

use netipc::Error;
use netipc::cache::{CgroupsCache, CgroupsTable};
use netipc::codec::cgroups_snapshot::{CgroupsSnapshot, CgroupsSnapshotBuilder, simple_hash};
use netipc::codec::corpus::{bench_snapshot_items, cgroups_corpus};
use netipc::protocol::STATUS_INTERNAL_ERROR;
use netipc::service::client::ClientState;
use netipc::service::server::{HandlerError, Server, ServerConfig};

use support::l3::*;
use support::{PLANES, Plane, TestDir};

fn corpus(n: usize, seed: u64, generation: u64) -> CgroupsSnapshot {
    snapshot(generation, cgroups_corpus(n, seed))
}

/// Refreshes and checks the cache then holds `snap`.
fn refresh_ok(cache: &CgroupsCache, snap: &CgroupsSnapshot) {
    let report = cache
        .refresh()
        .unwrap_or_else(|e| panic!("refresh failed: {e}"));
    assert_eq!(report.items, snap.items.len());
    assert_eq!(report.generation, snap.generation);
    assert!(cache.ready());
    assert_holds(&cache.read(), snap);
}

fn assert_not_ready_client(cache: &CgroupsCache) {
    let st = cache.status();
    assert_ne!(st.client.state, ClientState::Ready, "{st:?}");
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

#[test]
fn new_does_not_connect_first_refresh_populates_close_releases() {
    for &plane in PLANES {
        let dir = TestDir::new();
        // No provider yet: creating the cache does no I/O and cannot fail.
        let cache = cache(&dir, plane);
        let st = cache.status();
        assert_eq!(st.client.state, ClientState::Disconnected);
        assert_eq!(st.client.connects, 0);
        assert!(!st.populated && !st.refreshing);
        assert_eq!((st.items, st.generation, st.duplicates), (0, 0, 0));
        assert_eq!((st.refresh_successes, st.refresh_failures), (0, 0));
        assert_eq!(st.last_success, None);
        assert!(!cache.ready());

        let snap = corpus(64, 1, 7);
        let provider = Provider::start(&dir, plane, snap.clone());
        let before = SystemTime::now();
        let report = cache.refresh().unwrap();
        assert!(report.connected);
        assert_eq!(report.duplicates, 0);
        assert_holds(&cache.read(), &snap);
        let st = cache.status();
        assert_eq!(st.client.state, ClientState::Ready);
        assert_eq!(st.client.shm_attached, plane.is_shm(), "{plane:?}");
        assert!(st.populated);
        assert_eq!((st.items, st.generation), (64, 7));
        assert_eq!((st.refresh_successes, st.refresh_failures), (1, 0));
        assert!(st.last_success.unwrap() >= before);

        // A second refresh reuses the session.
        let report = cache.refresh().unwrap();
        assert!(!report.connected);
        assert_eq!(cache.status().client.connects, 1);

        // Close: the table and the client go; a guard taken before keeps
        // its table.
        let held = cache.read();
        let arc = cache.snapshot();
        cache.close();
        assert!(!cache.ready());
        assert!(cache.read().is_empty());
        assert!(
            cache
                .read()
                .get(snap.items[0].hash, &snap.items[0].name)
                .is_none()
        );
        let st = cache.status();
        assert_eq!(st.client.state, ClientState::Disconnected);
        assert_eq!(st.client.session_id, 0);
        assert!(!st.populated);
        assert_eq!(st.items, 0);
        assert_holds(&held, &snap);
        assert_eq!(arc.len(), 64);
        drop(held);

        // A refresh after close starts over.
        refresh_ok(&cache, &snap);
        assert_eq!(cache.status().client.connects, 2);
        drop(provider);
    }
}

// ---------------------------------------------------------------------------
// Refresh success
// ---------------------------------------------------------------------------

#[test]
fn refresh_builds_then_rebuilds() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let first = corpus(300, 11, 1);
        let provider = Provider::start(&dir, plane, first.clone());
        let cache = cache(&dir, plane);
        refresh_ok(&cache, &first);

        // A different snapshot: a full rebuild, nothing of the old left.
        let mut second = corpus(500, 12, 2);
        second.systemd_enabled = 0;
        provider.set(second.clone());
        refresh_ok(&cache, &second);
        let g = cache.read();
        for it in &first.items {
            let in_second = second
                .items
                .iter()
                .any(|s| s.hash == it.hash && s.name == it.name);
            assert_eq!(g.get(it.hash, &it.name).is_some(), in_second);
        }
        drop(g);

        // Shrinking to nothing is a valid snapshot too.
        let empty = snapshot(3, Vec::new());
        provider.set(empty.clone());
        refresh_ok(&cache, &empty);
        assert!(cache.ready(), "an empty snapshot is still data");

        let st = cache.status();
        assert_eq!((st.refresh_successes, st.refresh_failures), (3, 0));
        assert_eq!(st.client.connects, 1);
        assert_eq!(provider.calls(), 3);
    }
}

// ---------------------------------------------------------------------------
// Refresh failures
// ---------------------------------------------------------------------------

#[test]
fn failure_on_first_attempt_leaves_the_cache_empty() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let cache = cache(&dir, plane);

        // Nobody provides the service.
        let e = cache.refresh().unwrap_err();
        assert!(matches!(e, Error::NotFound), "{e:?}");
        assert!(!cache.ready());
        assert!(cache.read().is_empty());
        assert!(cache.read().get(1, b"x").is_none());
        let st = cache.status();
        assert_eq!(st.client.state, ClientState::NotFound);
        assert_eq!((st.refresh_successes, st.refresh_failures), (0, 1));
        assert!(!st.populated && st.last_success.is_none());

        // A provider that fails every request.
        let provider = Provider::start(&dir, plane, corpus(10, 1, 1));
        provider.fail(true);
        let e = cache.refresh().unwrap_err();
        assert!(matches!(e, Error::Status(STATUS_INTERNAL_ERROR)), "{e:?}");
        assert!(!cache.ready());
        assert!(cache.read().is_empty());
        assert_not_ready_client(&cache);
        assert_eq!(cache.status().refresh_failures, 2);

        // It recovers.
        provider.fail(false);
        refresh_ok(&cache, &corpus(10, 1, 1));
    }
}

#[test]
fn failure_after_success_preserves_the_old_cache() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = corpus(200, 3, 5);
        let provider = Provider::start(&dir, plane, snap.clone());
        let cache = cache(&dir, plane);
        refresh_ok(&cache, &snap);
        let last_success = cache.status().last_success;

        // The provider fails: server error, the cache is kept and the
        // client is disconnected.
        provider.set(corpus(10, 4, 6));
        provider.fail(true);
        let e = cache.refresh().unwrap_err();
        assert!(matches!(e, Error::Status(STATUS_INTERNAL_ERROR)), "{e:?}");
        assert!(cache.ready());
        assert_holds(&cache.read(), &snap);
        assert_not_ready_client(&cache);

        // The provider goes away: still kept.
        drop(provider);
        let e = cache.refresh().unwrap_err();
        assert!(matches!(e, Error::NotFound), "{e:?}");
        assert!(cache.ready());
        assert_holds(&cache.read(), &snap);
        let st = cache.status();
        assert_eq!(st.client.state, ClientState::NotFound);
        assert!(st.populated);
        assert_eq!((st.items, st.generation), (200, 5));
        assert_eq!((st.refresh_successes, st.refresh_failures), (1, 2));
        assert_eq!(st.last_success, last_success);
    }
}

// ---------------------------------------------------------------------------
// Reconnect
// ---------------------------------------------------------------------------

#[test]
fn server_restart_then_refresh_rebuilds() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let old = corpus(100, 21, 1);
        let cache = cache(&dir, plane);
        let provider = Provider::start(&dir, plane, old.clone());
        refresh_ok(&cache, &old);
        provider.stop();

        // Another process provides the service now.
        let new = corpus(150, 22, 1);
        let provider = Provider::start(&dir, plane, new.clone());
        let report = cache.refresh().unwrap();
        assert!(report.connected, "the refresh reconnected");
        assert_holds(&cache.read(), &new);
        let st = cache.status();
        assert_eq!(st.client.state, ClientState::Ready);
        assert_eq!(st.client.shm_attached, plane.is_shm());
        assert_eq!(st.client.reconnects, 1);
        assert_eq!(st.refresh_successes, 2);
        drop(provider);
    }
}

#[test]
fn server_restart_then_failed_refresh_keeps_the_old_cache() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let old = corpus(100, 31, 9);
        let cache = cache(&dir, plane);
        let provider = Provider::start(&dir, plane, old.clone());
        refresh_ok(&cache, &old);
        provider.stop();

        // Down: the refresh fails, the cache stays.
        assert!(matches!(cache.refresh(), Err(Error::NotFound)));
        assert_holds(&cache.read(), &old);
        assert!(cache.ready());

        // Back, but failing: still the old cache.
        let provider = Provider::start(&dir, plane, corpus(5, 32, 10));
        provider.fail(true);
        assert!(cache.refresh().is_err());
        assert_holds(&cache.read(), &old);
        assert!(cache.ready());
        assert_not_ready_client(&cache);

        // Healthy again: rebuilt.
        provider.fail(false);
        refresh_ok(&cache, &corpus(5, 32, 10));
    }
}

// ---------------------------------------------------------------------------
// Malformed responses
// ---------------------------------------------------------------------------

fn malformed_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let mut valid = Vec::new();
    corpus(3, 41, 1).encode(&mut valid).unwrap();
    let truncated = valid[..valid.len() - 5].to_vec();
    let mut bad_layout = valid.clone();
    bad_layout[0] ^= 0xff;
    bad_layout[1] ^= 0xff;
    let mut bad_count = valid.clone();
    // item_count (after layout and flags) far beyond the directory.
    bad_count[4..8].copy_from_slice(&1000u32.to_le_bytes());
    vec![
        ("garbage", b"not a snapshot".to_vec()),
        ("empty", Vec::new()),
        ("truncated", truncated),
        ("bad layout", bad_layout),
        ("bad count", bad_count),
    ]
}

#[test]
fn malformed_snapshot_keeps_the_cache_and_disconnects() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let good = corpus(80, 42, 3);
        let cache = cache(&dir, plane);
        let provider = Provider::start(&dir, plane, good.clone());
        refresh_ok(&cache, &good);
        provider.stop();

        for (what, payload) in malformed_payloads() {
            let raw = raw_server(&dir, plane, payload);
            let e = cache.refresh().unwrap_err();
            assert!(
                matches!(e, Error::Decode(_) | Error::Protocol(_)),
                "{what}: {e:?}"
            );
            assert_eq!(raw.requests(), 1, "{what}: not retried");
            let st = cache.status();
            assert_eq!(st.client.state, ClientState::Broken, "{what}");
            assert!(st.populated);
            assert!(cache.ready());
            assert_holds(&cache.read(), &good);
            drop(raw);
        }

        // A healthy provider again: rebuilt.
        let next = corpus(90, 43, 4);
        let provider = Provider::start(&dir, plane, next.clone());
        refresh_ok(&cache, &next);
        let st = cache.status();
        assert_eq!(st.refresh_failures, malformed_payloads().len() as u64);
        drop(provider);
    }
}

#[test]
fn malformed_first_snapshot_leaves_the_cache_empty() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let cache = cache(&dir, plane);
        let raw = raw_server(&dir, plane, b"junk".to_vec());
        assert!(matches!(cache.refresh(), Err(Error::Decode(_))));
        assert!(!cache.ready());
        assert!(cache.read().is_empty());
        assert_eq!(cache.status().client.state, ClientState::Broken);
        drop(raw);
    }
}

// ---------------------------------------------------------------------------
// Guarded lookups
// ---------------------------------------------------------------------------

#[test]
fn lookup_hit_miss_and_empty_cache() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let cache = cache(&dir, plane);

        // Empty cache: not found, whatever the key.
        {
            let g = cache.read();
            assert!(g.get(0, b"").is_none());
            assert!(g.get(1000, b"cgroup-0").is_none());
            assert_eq!(g.iter().count(), 0);
            assert_eq!((g.len(), g.generation(), g.systemd_enabled()), (0, 0, 0));
        }

        let mut items = bench_snapshot_items();
        items.push(item(simple_hash(b""), 7, 1, "", ""));
        let snap = snapshot(77, items);
        let _provider = Provider::start(&dir, plane, snap.clone());
        refresh_ok(&cache, &snap);
        let g = cache.read();
        let hit = g.get(1005, b"cgroup-5").unwrap();
        assert_eq!(hit.hash, 1005);
        assert_eq!((hit.options, hit.enabled), (0, 1));
        assert_eq!(hit.name_str(), Some("cgroup-5"));
        assert_eq!(hit.path_str(), Some("/sys/fs/cgroup/bench/cg-5"));
        let empty = g.get(simple_hash(b""), b"").unwrap();
        assert_eq!((empty.options, empty.path), (7, &b""[..]));
        // Misses: right hash wrong name, right name wrong hash, prefixes.
        assert!(g.get(1005, b"cgroup-6").is_none());
        assert!(g.get(1006, b"cgroup-5").is_none());
        assert!(g.get(1005, b"cgroup-").is_none());
        assert!(g.get(1005, b"cgroup-55").is_none());
        assert!(g.get(999, b"cgroup-5").is_none());
        assert_eq!(g.generation(), 77);
        assert_eq!(g.systemd_enabled(), 1);
        let names: Vec<&[u8]> = g.iter().map(|e| e.name).collect();
        assert_eq!(names.len(), 17);
        assert_eq!(names[3], b"cgroup-3");
        assert_eq!(g.table().item(16).unwrap().options, 7);
    }
}

#[test]
fn dup_survives_the_guard_and_later_refreshes() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = snapshot(1, bench_snapshot_items());
        let provider = Provider::start(&dir, plane, snap.clone());
        let cache = cache(&dir, plane);
        refresh_ok(&cache, &snap);

        let owned = {
            let g = cache.read();
            g.get(1003, b"cgroup-3").unwrap().dup()
        };
        // Replace every item.
        let next = corpus(20, 51, 2);
        provider.set(next.clone());
        refresh_ok(&cache, &next);
        assert!(cache.read().get(1003, b"cgroup-3").is_none());
        assert_eq!(owned.hash, 1003);
        assert_eq!((owned.options, owned.enabled), (0, 1));
        assert_eq!(owned.name, b"cgroup-3");
        assert_eq!(owned.path, b"/sys/fs/cgroup/bench/cg-3");
        cache.close();
        assert_eq!(owned.path, b"/sys/fs/cgroup/bench/cg-3");
    }
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

/// Items of generation `g`: `500 + g % 7` items, item `i` with hash `i`,
/// name `cg-{i}`, path `/gen-{g}/cg-{i}` and options `g`.
fn generation_snapshot(g: u64, b: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> {
    b.set_generation(g);
    b.set_systemd_enabled((g % 2) as u32);
    for i in 0..500 + g % 7 {
        let name = format!("cg-{i}");
        let path = format!("/gen-{g}/cg-{i}");
        b.add_item(i as u32, g as u32, 1, name.as_bytes(), path.as_bytes())?;
    }
    Ok(())
}

/// A server whose every answer is the next generation (1, 2, ...).
fn generations_server(dir: &TestDir, plane: Plane) -> Server {
    let counter = Arc::new(AtomicU64::new(0));
    Server::cgroups_snapshot(
        &server_config(dir, plane),
        move |b: &mut CgroupsSnapshotBuilder| {
            generation_snapshot(counter.fetch_add(1, Ordering::SeqCst) + 1, b)
        },
    )
    .unwrap()
}

/// Checks that a table is entirely one generation.
fn assert_consistent(t: &CgroupsTable) {
    let g = t.generation();
    assert!(g >= 1);
    assert_eq!(t.len() as u64, 500 + g % 7);
    assert_eq!(u64::from(t.systemd_enabled()), g % 2);
    let prefix = format!("/gen-{g}/");
    for (i, e) in t.iter().enumerate() {
        assert_eq!(e.hash, i as u32);
        assert_eq!(u64::from(e.options), g);
        assert!(e.path.starts_with(prefix.as_bytes()));
    }
    for i in (0..t.len()).step_by(37) {
        let name = format!("cg-{i}");
        let e = t.get(i as u32, name.as_bytes()).unwrap();
        assert_eq!(e.path, format!("/gen-{g}/cg-{i}").as_bytes());
    }
}

#[test]
fn guards_keep_their_snapshot_across_concurrent_refreshes() {
    const READERS: usize = 3;
    const REFRESHES: u64 = 5;
    for &plane in PLANES {
        let dir = TestDir::new();
        let server = generations_server(&dir, plane);
        let cache = cache(&dir, plane);
        cache.refresh().unwrap();
        assert_eq!(cache.read().generation(), 1);

        let holding = Barrier::new(READERS + 1);
        let refreshed = Barrier::new(READERS + 1);
        std::thread::scope(|s| {
            for _ in 0..READERS {
                s.spawn(|| {
                    let g = cache.read();
                    let view = g.get(3, b"cg-3").unwrap();
                    let all: Vec<_> = g.iter().collect();
                    assert_eq!(view.path, b"/gen-1/cg-3");
                    holding.wait();
                    // The refresher publishes new tables meanwhile.
                    refreshed.wait();
                    assert_eq!(g.generation(), 1);
                    assert_eq!(view.path, b"/gen-1/cg-3");
                    assert_eq!(all.len(), 501);
                    assert!(all.iter().all(|e| e.path.starts_with(b"/gen-1/")));
                    assert_consistent(g.table());
                    drop(g);
                    let now = cache.read();
                    assert_eq!(now.generation(), 1 + REFRESHES);
                    assert_consistent(now.table());
                });
            }
            holding.wait();
            for k in 0..REFRESHES {
                let r = cache.refresh().unwrap();
                assert_eq!(r.generation, 2 + k);
            }
            refreshed.wait();
        });
        assert_consistent(&cache.snapshot());
        server.stop();
    }
}

#[test]
fn a_replaced_snapshot_is_freed_when_its_last_guard_drops() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let server = generations_server(&dir, plane);
        let cache = cache(&dir, plane);
        cache.refresh().unwrap();
        let first = Arc::downgrade(&cache.snapshot());
        let g1 = cache.read();
        let g2 = cache.read();
        cache.refresh().unwrap();
        cache.refresh().unwrap();
        assert!(first.upgrade().is_some(), "guards keep generation 1 alive");
        drop(g1);
        assert!(first.upgrade().is_some(), "one guard is left");
        assert_eq!(g2.get(0, b"cg-0").unwrap().path, b"/gen-1/cg-0");
        drop(g2);
        assert!(first.upgrade().is_none(), "retired with its last guard");
        assert_eq!(cache.read().generation(), 3);
        server.stop();
    }
}

#[test]
fn free_running_readers_always_see_whole_snapshots() {
    const READERS: usize = 2;
    const REFRESHES: u64 = 30;
    for &plane in PLANES {
        let dir = TestDir::new();
        let server = generations_server(&dir, plane);
        let cache = cache(&dir, plane);
        cache.refresh().unwrap();
        let stop = AtomicBool::new(false);
        let started = Barrier::new(READERS + 1);
        let (tx, rx) = mpsc::channel::<u64>();
        std::thread::scope(|s| {
            for _ in 0..READERS {
                let tx = tx.clone();
                let (cache, stop, started) = (&cache, &stop, &started);
                s.spawn(move || {
                    started.wait();
                    let mut last = 0;
                    let mut passes = 0u64;
                    loop {
                        let done = stop.load(Ordering::SeqCst);
                        let g = cache.read();
                        assert!(g.generation() >= last, "generations never go back");
                        last = g.generation();
                        assert_consistent(g.table());
                        passes += 1;
                        if done {
                            break;
                        }
                    }
                    tx.send(passes).unwrap();
                });
            }
            drop(tx);
            started.wait();
            for _ in 0..REFRESHES {
                cache.refresh().unwrap();
            }
            stop.store(true, Ordering::SeqCst);
            let passes: Vec<u64> = rx.iter().collect();
            assert_eq!(passes.len(), READERS);
            assert!(passes.iter().all(|&p| p >= 1));
        });
        assert_eq!(cache.read().generation(), 1 + REFRESHES);
        server.stop();
    }
}

// ---------------------------------------------------------------------------
// Large datasets
// ---------------------------------------------------------------------------

/// A server with a fixed response budget of `budget` bytes.
fn big_server_config(dir: &TestDir, plane: Plane, budget: u32) -> ServerConfig {
    ServerConfig {
        max_response_payload_bytes: budget,
        ..server_config(dir, plane)
    }
}

#[test]
fn fifty_thousand_items() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = corpus(50_000, 61, 123);
        let size = snap.encoded_len().unwrap();
        let budget = (size as u32).next_power_of_two();
        let provider = Provider::start_with(&big_server_config(&dir, plane, budget), snap.clone());
        let cache = cache_with_budget(&dir, plane, budget);
        let report = cache.refresh().unwrap();
        assert_eq!(report.items, 50_000);
        assert_holds(&cache.read(), &snap);
        let st = cache.status();
        assert_eq!(st.client.response_payload_bytes, budget);
        assert_eq!(st.client.shm_attached, plane.is_shm());
        drop(provider);
    }
}

#[test]
fn snapshot_at_the_negotiated_limit_and_one_byte_over() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let budget = 1u32 << 20;
        // Fill the budget exactly: corpus items, then one item padded so
        // the payload is exactly `budget` bytes.
        let mut snap = corpus(0, 0, 5);
        for it in cgroups_corpus(20_000, 62) {
            snap.items.push(it);
            if snap.encoded_len().unwrap() > budget as usize - 256 {
                snap.items.pop();
                break;
            }
        }
        let mut last = item(9, 0, 1, "last", "/last");
        loop {
            snap.items.push(last.clone());
            let len = snap.encoded_len().unwrap();
            snap.items.pop();
            if len == budget as usize {
                break;
            }
            assert!(len < budget as usize);
            last.path.push(b'x');
        }
        snap.items.push(last);
        assert_eq!(snap.encoded_len(), Some(budget as usize));
        let provider = Provider::start_with(&big_server_config(&dir, plane, budget), snap.clone());
        let cache = cache_with_budget(&dir, plane, budget);
        cache.refresh().unwrap();
        assert_holds(&cache.read(), &snap);

        // One more byte: the server cannot answer it; the cache is kept.
        let mut over = snap.clone();
        over.generation = 6;
        over.items.last_mut().unwrap().path.push(b'y');
        provider.set(over);
        assert!(cache.refresh().is_err());
        assert_holds(&cache.read(), &snap);
        drop(provider);
    }
}

#[test]
fn long_names_and_paths() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let items: Vec<_> = (0..40)
            .map(|i| {
                let name = format!("{i:04}-{}", "n".repeat(4096 - 5));
                let path = format!("/sys/fs/cgroup/{i:04}/{}", "p".repeat(4096 - 20));
                item(simple_hash(name.as_bytes()), i, 1, &name, &path)
            })
            .collect();
        assert_eq!(items[0].name.len(), 4096);
        assert_eq!(items[0].path.len(), 4096);
        let snap = snapshot(8, items);
        // Zero-config server: the snapshot (about 330 KiB) is recovered by
        // overflow reconnects.
        let provider = Provider::start_with(&zero_config_server(&dir, plane), snap.clone());
        let cache = cache(&dir, plane);
        cache.refresh().unwrap();
        assert_holds(&cache.read(), &snap);
        assert!(cache.status().client.overflow_reconnects >= 1);
        drop(provider);
    }
}

// ---------------------------------------------------------------------------
// Abort and timeout
// ---------------------------------------------------------------------------

#[test]
fn abort_from_another_thread_unblocks_a_refresh_and_keeps_the_cache() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = corpus(40, 71, 1);
        let provider = Provider::start(&dir, plane, snap.clone());
        let cache = cache(&dir, plane);
        refresh_ok(&cache, &snap);

        provider.set(corpus(40, 72, 2));
        provider.block();
        let result = std::thread::scope(|s| {
            let refresher = s.spawn(|| cache.refresh());
            provider.wait_blocked();
            // A reader is not held up by the blocked refresh.
            assert_holds(&cache.read(), &snap);
            assert!(cache.status().refreshing);
            cache.abort_handle().trigger();
            refresher.join().unwrap()
        });
        assert!(matches!(result, Err(Error::Aborted)), "{result:?}");
        assert!(cache.ready());
        assert_holds(&cache.read(), &snap);
        let st = cache.status();
        assert!(!st.refreshing);
        assert_eq!(st.client.state, ClientState::Broken);
        assert_eq!(st.refresh_failures, 1);

        // The abort is sticky until cleared.
        assert!(matches!(cache.refresh(), Err(Error::Aborted)));
        assert_holds(&cache.read(), &snap);
        cache.clear_abort();
        provider.release();
        refresh_ok(&cache, &corpus(40, 72, 2));
        drop(provider);
    }
}

#[test]
fn close_aborts_a_blocked_refresh() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = corpus(10, 73, 1);
        let provider = Provider::start(&dir, plane, snap.clone());
        let cache = cache(&dir, plane);
        refresh_ok(&cache, &snap);
        provider.block();
        std::thread::scope(|s| {
            let refresher = s.spawn(|| cache.refresh());
            provider.wait_blocked();
            cache.close();
            assert!(matches!(refresher.join().unwrap(), Err(Error::Aborted)));
        });
        assert!(!cache.ready());
        assert!(cache.read().is_empty());
        provider.release();
        // Close cleared the abort.
        refresh_ok(&cache, &snap);
        drop(provider);
    }
}

#[test]
fn timeout_keeps_the_cache() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let snap = corpus(40, 74, 1);
        let provider = Provider::start(&dir, plane, snap.clone());
        let cache = cache(&dir, plane);
        refresh_ok(&cache, &snap);

        provider.block();
        cache.set_timeout(Duration::from_millis(200));
        let e = cache.refresh().unwrap_err();
        assert!(matches!(e, Error::Timeout), "{e:?}");
        assert!(cache.ready());
        assert_holds(&cache.read(), &snap);
        assert_eq!(cache.status().client.state, ClientState::Broken);

        provider.release();
        cache.set_timeout(Duration::ZERO);
        refresh_ok(&cache, &snap);
        drop(provider);
    }
}

// ---------------------------------------------------------------------------
// Hostile or sloppy providers
// ---------------------------------------------------------------------------

#[test]
fn every_hash_colliding() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let items: Vec<_> = (0..5000)
            .map(|i| item(42, i, i % 2, &format!("cg-{i}"), &format!("/p/{i}")))
            .collect();
        let snap = snapshot(4, items);
        let provider = Provider::start(&dir, plane, snap.clone());
        let cache = cache(&dir, plane);
        cache.refresh().unwrap();
        assert_holds(&cache.read(), &snap);
        let g = cache.read();
        assert!(g.get(42, b"cg-5000").is_none());
        assert!(g.get(42, b"").is_none());
        assert!(g.get(43, b"cg-1").is_none());
        assert_eq!(cache.status().duplicates, 0);
        drop(provider);
    }
}

#[test]
fn duplicates_keep_the_first_and_are_counted() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let items = vec![
            item(5, 1, 1, "x", "/first"),
            item(5, 2, 1, "x", "/second"),
            item(6, 3, 1, "y", "/y"),
            item(6, 4, 0, "y", "/y-again"),
            item(5, 5, 1, "z", "/z"),
            item(6, 6, 1, "y", "/y-third"),
        ];
        let provider = Provider::start(&dir, plane, snapshot(2, items));
        let cache = cache(&dir, plane);
        let report = cache.refresh().unwrap();
        assert_eq!((report.items, report.duplicates), (3, 3));
        let g = cache.read();
        assert_eq!(g.len(), 3);
        assert_eq!(g.get(5, b"x").unwrap().path, b"/first");
        assert_eq!(g.get(6, b"y").unwrap().options, 3);
        assert_eq!(g.get(5, b"z").unwrap().path, b"/z");
        let order: Vec<&[u8]> = g.iter().map(|e| e.path).collect();
        assert_eq!(order, [&b"/first"[..], b"/y", b"/z"]);
        drop(g);
        let st = cache.status();
        assert_eq!((st.items, st.duplicates), (3, 3));

        // A clean snapshot resets the count.
        provider.set(snapshot(3, vec![item(5, 1, 1, "x", "/x")]));
        assert_eq!(cache.refresh().unwrap().duplicates, 0);
        assert_eq!(cache.status().duplicates, 0);
        drop(provider);
    }
}

#[test]
fn the_cache_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CgroupsCache>();
    send_sync::<Arc<CgroupsTable>>();
}
