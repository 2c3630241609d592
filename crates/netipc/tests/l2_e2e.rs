//! Level 2 end to end: typed clients against the managed server, every
//! method, over UDS and over SHM, with the lifecycle paths that need both
//! real sides (restart, stop, overflow growth, lookup scale, concurrency).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use netipc::Error;
use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupEntry, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::codec::corpus::cgroups_corpus;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, NO_LABELS, Orchestrator, PidStatus};
use netipc::protocol::PROFILE_SHM_HYBRID;
use netipc::service::client::{
    AppsLookupClient, CgroupsLookupClient, CgroupsSnapshotClient, ClientConfig, ClientState,
    IncrementClient, StringReverseClient,
};
use netipc::service::server::{HandlerError, Server, ServerConfig};

use support::{PLANES, Plane, TOKEN, TestDir, managed_server_config};

/// Both sides support the plane's profiles and prefer SHM where they
/// support it (on UDS they prefer nothing).
fn server_cfg(dir: &TestDir, service: &str, p: Plane) -> ServerConfig {
    let (supported, _) = p.profiles();
    ServerConfig {
        supported_profiles: supported,
        preferred_profiles: supported & PROFILE_SHM_HYBRID,
        ..managed_server_config(dir, service)
    }
}

fn client_cfg(p: Plane) -> ClientConfig {
    let (supported, _) = p.profiles();
    ClientConfig {
        auth_token: TOKEN,
        supported_profiles: supported,
        preferred_profiles: supported & PROFILE_SHM_HYBRID,
        ..ClientConfig::default()
    }
}

fn increment_server(dir: &TestDir, p: Plane) -> Server {
    Server::increment(&server_cfg(dir, "increment", p), |v: u64| {
        Ok::<u64, HandlerError>(v + 1)
    })
    .unwrap()
}

fn connected<T>(mut c: T, refresh: impl Fn(&mut T) -> bool, ready: impl Fn(&T) -> bool) -> T {
    refresh(&mut c);
    assert!(ready(&c), "client did not become ready");
    c
}

fn increment_client(dir: &TestDir, p: Plane) -> IncrementClient {
    let c = IncrementClient::new(dir.path(), "increment", client_cfg(p)).unwrap();
    connected(c, IncrementClient::refresh, IncrementClient::ready)
}

#[test]
fn increment_single_and_batch() {
    for &p in PLANES {
        let dir = TestDir::new();
        let _server = increment_server(&dir, p);
        let mut c = increment_client(&dir, p);
        assert_eq!(c.status().shm_attached, matches!(p, Plane::Shm), "{p:?}");
        for v in [0u64, 41, u64::MAX - 1] {
            assert_eq!(c.call(v).unwrap(), v + 1);
        }
        let values: Vec<u64> = (0..1000).collect();
        let got = c.call_batch(&values).unwrap().to_vec();
        assert_eq!(got, values.iter().map(|v| v + 1).collect::<Vec<_>>());
        // A batch larger than the agreed batch size still comes back whole.
        let values: Vec<u64> = (0..2500).collect();
        assert_eq!(c.call_batch(&values).unwrap().len(), 2500);
    }
}

#[test]
fn string_reverse_single_and_batch() {
    for &p in PLANES {
        let dir = TestDir::new();
        let _server = Server::string_reverse(
            &server_cfg(&dir, "string-reverse", p),
            |s: &[u8], out: &mut Vec<u8>| {
                out.extend(s.iter().rev());
                Ok::<(), HandlerError>(())
            },
        )
        .unwrap();
        let c = StringReverseClient::new(dir.path(), "string-reverse", client_cfg(p)).unwrap();
        let mut c = connected(c, StringReverseClient::refresh, StringReverseClient::ready);
        assert_eq!(c.call(b"netdata").unwrap().as_bytes(), b"atadten");
        assert_eq!(c.call(b"").unwrap().as_bytes(), b"");
        // Larger than the zero-config 1024-byte request budget: grows.
        let long: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let want: Vec<u8> = long.iter().rev().copied().collect();
        assert_eq!(c.call(&long).unwrap().as_bytes(), want.as_slice());
        let items = ["a", "bc", "", "plugin-ipc!"];
        let batch = c.call_batch(&items).unwrap();
        let got: Vec<Vec<u8>> = batch.iter().map(|v| v.as_bytes().to_vec()).collect();
        assert_eq!(
            got,
            [
                b"a".to_vec(),
                b"cb".to_vec(),
                vec![],
                b"!cpi-nigulp".to_vec()
            ]
        );
    }
}

/// A zero-config server whose snapshot is far larger than 1024 bytes still
/// answers: the client's overflow reconnects meet the server's learned
/// budget.
#[test]
fn snapshot_grows_past_zero_config_budget() {
    for &p in PLANES {
        let dir = TestDir::new();
        let items = Arc::new(cgroups_corpus(300, 3));
        let served = Arc::clone(&items);
        let gen_counter = Arc::new(AtomicU64::new(1));
        let g = Arc::clone(&gen_counter);
        let server = Server::cgroups_snapshot(
            &server_cfg(&dir, "cgroups-snapshot", p),
            move |b: &mut CgroupsSnapshotBuilder| {
                b.set_systemd_enabled(1);
                b.set_generation(g.fetch_add(1, Ordering::Relaxed));
                for it in served.iter() {
                    b.add(it)?;
                }
                Ok(())
            },
        )
        .unwrap();
        let c = CgroupsSnapshotClient::new(dir.path(), "cgroups-snapshot", client_cfg(p)).unwrap();
        let mut c = connected(
            c,
            CgroupsSnapshotClient::refresh,
            CgroupsSnapshotClient::ready,
        );
        let view = c.call_snapshot().unwrap();
        assert_eq!(view.len(), 300);
        assert_eq!(view.systemd_enabled(), 1);
        for (got, want) in view.iter().zip(items.iter()) {
            assert_eq!(got.to_owned(), *want);
        }
        assert!(c.status().overflow_reconnects >= 1, "{:?}", c.status());
        assert!(server.learned_budgets().response > 1024);
        // Later calls need no more growth.
        let before = c.status().overflow_reconnects;
        assert_eq!(c.call_snapshot().unwrap().len(), 300);
        assert_eq!(c.status().overflow_reconnects, before);
    }
}

fn cgroups_lookup_server(dir: &TestDir, p: Plane, response_budget: u32) -> Server {
    let cfg = ServerConfig {
        max_response_payload_bytes: response_budget,
        ..server_cfg(dir, "cgroups-lookup", p)
    };
    Server::cgroups_lookup(
        &cfg,
        |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
            b.set_generation(77);
            for (i, path) in req.iter().enumerate() {
                if path.ends_with(b"-missing") {
                    b.add_request_item(req, i, LookupStatus::UnknownPermanent, 0, b"", NO_LABELS)?;
                } else if path.ends_with(b"-huge") {
                    let big = vec![b'x'; 8000];
                    b.add_request_item(
                        req,
                        i,
                        LookupStatus::Known,
                        Orchestrator::K8s.into(),
                        b"huge",
                        [(b"blob".as_slice(), big.as_slice())],
                    )?;
                } else {
                    // The name echoes the key's number, wherever the
                    // client split the request.
                    let n = path.rsplit(|&c| c == b'-').next().unwrap_or(b"");
                    let name = [b"name-".as_slice(), n].concat();
                    b.add_request_item(
                        req,
                        i,
                        LookupStatus::Known,
                        Orchestrator::Docker.into(),
                        &name,
                        [(b"image".as_slice(), b"bench:latest".as_slice())],
                    )?;
                }
            }
            Ok(())
        },
    )
    .unwrap()
}

/// 8192 paths through a 4 KiB response budget come back complete and in
/// order; an item that cannot fit even alone is OVERSIZED_ITEM while the
/// items after it are still enriched.
#[test]
fn cgroups_lookup_scale_and_oversized_item() {
    for &p in PLANES {
        let dir = TestDir::new();
        let _server = cgroups_lookup_server(&dir, p, 4096);
        let c = CgroupsLookupClient::new(dir.path(), "cgroups-lookup", client_cfg(p)).unwrap();
        let mut c = connected(c, CgroupsLookupClient::refresh, CgroupsLookupClient::ready);
        let mut paths: Vec<String> = (0..8192)
            .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:05}"))
            .collect();
        paths[10] = "/sys/fs/cgroup/x-huge".into();
        paths[11] = "/sys/fs/cgroup/y-missing".into();
        let view = c.lookup(&paths).unwrap();
        assert_eq!(view.len(), 8192);
        assert_eq!(view.generation(), 77);
        for (i, item) in view.iter().enumerate() {
            assert_eq!(item.path(), paths[i].as_bytes(), "item {i}");
            match i {
                10 => assert_eq!(item.status(), LookupStatus::OversizedItem),
                11 => assert_eq!(item.status(), LookupStatus::UnknownPermanent),
                _ => {
                    assert_eq!(item.status(), LookupStatus::Known, "item {i}");
                    assert_eq!(item.name(), format!("name-{i:05}").as_bytes());
                    assert_eq!(item.label_count(), 1);
                }
            }
        }
    }
}

#[test]
fn apps_lookup_scale() {
    for &p in PLANES {
        let dir = TestDir::new();
        let cfg = ServerConfig {
            max_response_payload_bytes: 2048,
            ..server_cfg(&dir, "apps-lookup", p)
        };
        let _server = Server::apps_lookup(
            &cfg,
            |req: &AppsLookupRequestView<'_>, b: &mut AppsLookupBuilder| {
                b.set_generation(5);
                for (i, pid) in req.iter().enumerate() {
                    if pid % 2 == 0 {
                        let comm = format!("p{pid}");
                        let entry = AppsLookupEntry {
                            status: PidStatus::Known,
                            cgroup_status: CgroupStatus::Known,
                            orchestrator: Orchestrator::Docker.into(),
                            ppid: 1,
                            uid: 1000,
                            starttime: u64::from(pid) * 3,
                            comm: comm.as_bytes(),
                            cgroup_path: b"/sys/fs/cgroup/bench",
                            cgroup_name: b"bench-container",
                        };
                        b.add_request_item(
                            req,
                            i,
                            &entry,
                            [(b"image".as_slice(), b"x".as_slice())],
                        )?;
                    } else {
                        b.add_request_item(req, i, &AppsLookupEntry::UNKNOWN, NO_LABELS)?;
                    }
                }
                Ok(())
            },
        )
        .unwrap();
        let c = AppsLookupClient::new(dir.path(), "apps-lookup", client_cfg(p)).unwrap();
        let mut c = connected(c, AppsLookupClient::refresh, AppsLookupClient::ready);
        let pids: Vec<u32> = (1000..1000 + 8192).collect();
        let view = c.lookup(&pids).unwrap();
        assert_eq!(view.len(), pids.len());
        for (i, item) in view.iter().enumerate() {
            assert_eq!(item.pid(), pids[i]);
            if pids[i] % 2 == 0 {
                assert_eq!(item.status(), PidStatus::Known);
                assert_eq!(item.starttime(), u64::from(pids[i]) * 3);
                assert_eq!(item.comm(), format!("p{}", pids[i]).as_bytes());
            } else {
                assert_eq!(item.status(), PidStatus::Unknown);
            }
        }
    }
}

/// 32 clients on 32 threads, each checking its own answers.
#[test]
fn thirty_two_concurrent_clients() {
    for &p in PLANES {
        let dir = TestDir::new();
        let _server = increment_server(&dir, p);
        let path = dir.path().to_path_buf();
        let threads: Vec<_> = (0..32u64)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut c = IncrementClient::new(&path, "increment", client_cfg(p)).unwrap();
                    c.refresh();
                    assert!(c.ready(), "client {t}");
                    for k in 0..200u64 {
                        let v = t * 1_000_000 + k;
                        assert_eq!(c.call(v).unwrap(), v + 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}

/// Server restart: the READY client breaks, then reconnects on refresh (or
/// on the at-least-once retry of its next call).
#[test]
fn server_restart_reconnects() {
    for &p in PLANES {
        let dir = TestDir::new();
        let server = increment_server(&dir, p);
        let mut c = increment_client(&dir, p);
        assert_eq!(c.call(1).unwrap(), 2);
        server.stop();
        drop(server);
        // Nobody serves: the call fails, and refresh finds nothing.
        assert!(c.call(2).is_err());
        c.refresh();
        assert_eq!(c.state(), ClientState::NotFound);
        assert!(matches!(c.call(3), Err(Error::NotFound)));
        let _server = increment_server(&dir, p);
        assert!(c.refresh());
        assert_eq!(c.state(), ClientState::Ready);
        assert_eq!(c.call(3).unwrap(), 4);
        assert!(c.status().reconnects >= 1);
    }
}

/// A restart between two calls is invisible: the at-least-once retry
/// reconnects and resends.
#[test]
fn restart_between_calls_is_retried() {
    for &p in PLANES {
        let dir = TestDir::new();
        let server = increment_server(&dir, p);
        let mut c = increment_client(&dir, p);
        assert_eq!(c.call(1).unwrap(), 2);
        server.stop();
        drop(server);
        let _server = increment_server(&dir, p);
        assert_eq!(c.call(5).unwrap(), 6);
        assert_eq!(c.status().retries, 1);
    }
}

#[test]
fn wrong_token_is_auth_failed() {
    for &p in PLANES {
        let dir = TestDir::new();
        let _server = increment_server(&dir, p);
        let cfg = ClientConfig {
            auth_token: TOKEN ^ 1,
            ..client_cfg(p)
        };
        let mut c = IncrementClient::new(dir.path(), "increment", cfg).unwrap();
        c.refresh();
        assert_eq!(c.state(), ClientState::AuthFailed);
        assert!(matches!(c.call(1), Err(Error::AuthFailed)));
    }
}

#[test]
fn handler_failure_fails_the_call_and_server_lives_on() {
    for &p in PLANES {
        let dir = TestDir::new();
        let _server = Server::increment(&server_cfg(&dir, "increment", p), |v: u64| {
            if v == 13 {
                Err(HandlerError::Failed("unlucky"))
            } else {
                Ok(v + 1)
            }
        })
        .unwrap();
        let mut c = increment_client(&dir, p);
        assert!(c.call(13).is_err());
        // The retry after INTERNAL_ERROR reconnected; the client still works.
        c.refresh();
        assert_eq!(c.call(14).unwrap(), 15);
    }
}

/// stop() with clients connected: every file is removed and the clients
/// see the service gone.
#[test]
fn stop_with_clients_connected_cleans_up() {
    for &p in PLANES {
        let dir = TestDir::new();
        let server = increment_server(&dir, p);
        let mut clients: Vec<IncrementClient> = (0..4).map(|_| increment_client(&dir, p)).collect();
        for c in &mut clients {
            assert_eq!(c.call(1).unwrap(), 2);
        }
        // The socket file (Linux; Named Pipes are not files).
        assert_eq!(!dir.entries().is_empty(), cfg!(unix));
        server.stop();
        drop(server);
        assert!(dir.entries().is_empty(), "left behind: {:?}", dir.entries());
        for c in &mut clients {
            assert!(c.call(1).is_err());
        }
    }
}
