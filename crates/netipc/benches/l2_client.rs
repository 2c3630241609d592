//! Level 2 typed clients against an in-bench Level 1 server thread.
//!
//! - INCREMENT round trips/s (`IncrementClient::call`), UDS and SHM;
//! - INCREMENT batch items/s (`call_batch`, 1000 items), UDS and SHM;
//! - CGROUPS_SNAPSHOT calls/s (16 items), UDS and SHM;
//! - APPS_LOOKUP / CGROUPS_LOOKUP logical calls/s for 16 and 8192 keys,
//!   UDS and SHM (split, transport, server dispatch, stitch and decode).
//!
//! Run with `cargo bench -p netipc --bench l2_client`. Optional arguments:
//! seconds per run (default 0.5) and runs per scenario (default 3; the
//! best run is reported, the least disturbed on a shared machine).

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::codec::lookup::{LookupStatus, Orchestrator};
use netipc::protocol::{
    FLAG_BATCH, MAX_PAYLOAD_CAP, METHOD_APPS_LOOKUP, METHOD_CGROUPS_LOOKUP,
    METHOD_CGROUPS_SNAPSHOT, METHOD_INCREMENT, PROFILE_BASELINE, PROFILE_SHM_HYBRID,
};
use netipc::service::client::{
    AppsLookupClient, CgroupsLookupClient, CgroupsSnapshotClient, ClientConfig, IncrementClient,
};
use netipc::transport::{
    ClientConfig as L1ClientConfig, ClientSession, Deadline, Endpoint, Listener, Message,
    ServerConfig, ServerSession,
};

use support::{
    APPS_KNOWN, APPS_LABELS, CG_LABELS, CG_NAME, RunDir, TOKEN, args, best, cgroups_paths,
    increment_calls, pids,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plane {
    Uds,
    Shm,
}

impl Plane {
    fn name(self) -> &'static str {
        match self {
            Plane::Uds => "uds",
            Plane::Shm => "shm",
        }
    }
}

/// The server side of every scenario: answers whatever method arrives.
struct Responder {
    out: Vec<Vec<u8>>,
    snap: CgroupsSnapshotBuilder,
    generation: u64,
    apps: AppsLookupBuilder,
    cgroups: CgroupsLookupBuilder,
}

impl Responder {
    fn new() -> Self {
        Responder {
            out: Vec::new(),
            snap: CgroupsSnapshotBuilder::new(Vec::new()),
            generation: 0,
            apps: AppsLookupBuilder::new(),
            cgroups: CgroupsLookupBuilder::new(),
        }
    }

    fn answer(&mut self, s: &mut ServerSession, budget: usize) -> bool {
        let msg: Message<'_> = match s.recv_request(Deadline::NEVER, None) {
            Ok(m) => m,
            Err(_) => return false,
        };
        let (code, id) = (msg.header.code, msg.header.message_id);
        match code {
            METHOD_INCREMENT if msg.header.flags & FLAG_BATCH != 0 => {
                let n = msg.item_count();
                self.out.resize_with(n, Vec::new);
                for (o, it) in self.out.iter_mut().zip(msg.items()) {
                    let v = u64::from_ne_bytes(it.try_into().unwrap());
                    o.clear();
                    o.extend_from_slice(&(v + 1).to_ne_bytes());
                }
                let refs: Vec<&[u8]> = self.out[..n].iter().map(|v| v.as_slice()).collect();
                s.send_batch_response(code, id, &refs).is_ok()
            }
            METHOD_INCREMENT => {
                let v = u64::from_ne_bytes(msg.payload.try_into().unwrap());
                s.send_response(code, id, &(v + 1).to_ne_bytes()).is_ok()
            }
            METHOD_CGROUPS_SNAPSHOT => {
                self.generation += 1;
                self.snap.reset(1, self.generation);
                for i in 0..16u32 {
                    let name = format!("cgroup-{i}");
                    let path = format!("/sys/fs/cgroup/bench/cg-{i}");
                    self.snap
                        .add_item(1000 + i, 0, i % 2, name.as_bytes(), path.as_bytes())
                        .unwrap();
                }
                let p = self.snap.finish();
                s.send_response(code, id, p).is_ok()
            }
            METHOD_APPS_LOOKUP => {
                let req = AppsLookupRequestView::decode(msg.payload).unwrap();
                self.apps.set_budget(budget, budget);
                self.apps.reset(7, &req);
                for i in 0..req.len() {
                    self.apps
                        .add_request_item(&req, i, &APPS_KNOWN, APPS_LABELS)
                        .unwrap();
                }
                let p = self.apps.finish().unwrap();
                s.send_response(code, id, p).is_ok()
            }
            METHOD_CGROUPS_LOOKUP => {
                let req = CgroupsLookupRequestView::decode(msg.payload).unwrap();
                self.cgroups.set_budget(budget, budget);
                self.cgroups.reset(7, &req);
                for i in 0..req.len() {
                    self.cgroups
                        .add_request_item(
                            &req,
                            i,
                            LookupStatus::Known,
                            Orchestrator::K8s.as_u16(),
                            CG_NAME,
                            CG_LABELS,
                        )
                        .unwrap();
                }
                let p = self.cgroups.finish().unwrap();
                s.send_response(code, id, p).is_ok()
            }
            _ => false,
        }
    }
}

/// Starts a one-session server for `service`; returns its thread.
fn server(run_dir: &Path, service: &str, plane: Plane) -> std::thread::JoinHandle<()> {
    let ep = Endpoint::new(run_dir, service).unwrap();
    let listener = Listener::bind(&ep).unwrap();
    let (supported, preferred) = match plane {
        Plane::Uds => (PROFILE_BASELINE, PROFILE_BASELINE),
        Plane::Shm => (PROFILE_BASELINE | PROFILE_SHM_HYBRID, PROFILE_SHM_HYBRID),
    };
    let cfg = ServerConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        max_request_payload_bytes: MAX_PAYLOAD_CAP,
        max_response_payload_bytes: 65536,
        auth_token: TOKEN,
        ..ServerConfig::default()
    };
    std::thread::spawn(move || {
        let p = listener.accept(Deadline::NEVER, None).unwrap();
        let mut s = p.handshake(&cfg, Deadline::NEVER, None).unwrap();
        let budget = s.response_limits().max_payload as usize;
        let mut r = Responder::new();
        while r.answer(&mut s, budget) {}
    })
}

fn client_config(request: u32) -> ClientConfig {
    ClientConfig {
        auth_token: TOKEN,
        request_payload_bytes: request,
        ..ClientConfig::default()
    }
}

/// Runs `work` (which does `per` units) for `dur`; returns units/s.
fn rate(dur: Duration, per: u64, mut work: impl FnMut()) -> f64 {
    for _ in 0..10 {
        work();
    }
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < dur {
        work();
        n += per;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

fn bench_increment(dir: &Path, plane: Plane, dur: Duration) -> f64 {
    let t = server(dir, "b-inc", plane);
    let mut c = IncrementClient::new(dir, "b-inc", client_config(0)).unwrap();
    assert!(c.refresh());
    assert_eq!(c.status().shm_attached, plane == Plane::Shm);
    let mut v = 0u64;
    let r = rate(dur, 1000, || {
        for _ in 0..1000 {
            let a = c.call(v).unwrap();
            assert_eq!(a, v + 1);
            v = a;
        }
    });
    c.close();
    t.join().unwrap();
    r
}

/// The same INCREMENT round trip through a bare Level 1 session (the
/// reference the typed client is compared with).
fn bench_l1_increment(dir: &Path, plane: Plane, dur: Duration) -> f64 {
    let t = server(dir, "b-l1", plane);
    let ep = Endpoint::new(dir, "b-l1").unwrap();
    let profiles = match plane {
        Plane::Uds => PROFILE_BASELINE,
        Plane::Shm => PROFILE_BASELINE | PROFILE_SHM_HYBRID,
    };
    let cfg = L1ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        auth_token: TOKEN,
        max_request_payload_bytes: 16,
        max_response_payload_bytes: 65536,
        ..L1ClientConfig::default()
    };
    let mut c = ClientSession::connect(&ep, &cfg, Deadline::NEVER, None).unwrap();
    assert_eq!(c.is_shm(), plane == Plane::Shm);
    let mut v = 0u64;
    let r = rate(dur, 1000, || increment_calls(&mut c, &mut v, 1000));
    drop(c);
    t.join().unwrap();
    r
}

fn bench_batch(dir: &Path, plane: Plane, dur: Duration) -> f64 {
    let t = server(dir, "b-batch", plane);
    let mut c = IncrementClient::new(dir, "b-batch", client_config(0)).unwrap();
    assert!(c.refresh());
    let mut values: Vec<u64> = (0..1000).collect();
    let r = rate(dur, 1000, || {
        let got = c.call_batch(&values).unwrap();
        assert_eq!(got.len(), 1000);
        assert_eq!(got[999], values[999] + 1);
        for v in values.iter_mut() {
            *v += 1;
        }
    });
    c.close();
    t.join().unwrap();
    r
}

fn bench_snapshot(dir: &Path, plane: Plane, dur: Duration) -> f64 {
    let t = server(dir, "b-snap", plane);
    let mut c = CgroupsSnapshotClient::new(dir, "b-snap", client_config(0)).unwrap();
    assert!(c.refresh());
    let r = rate(dur, 1, || {
        let v = c.call_snapshot().unwrap();
        assert_eq!(v.len(), 16);
    });
    c.close();
    t.join().unwrap();
    r
}

fn bench_apps(dir: &Path, plane: Plane, keys: u32, request: u32, dur: Duration) -> f64 {
    let t = server(dir, "b-apps", plane);
    let mut c = AppsLookupClient::new(dir, "b-apps", client_config(request)).unwrap();
    assert!(c.refresh());
    let pids = pids(keys as usize);
    let r = rate(dur, 1, || {
        let v = c.lookup(&pids).unwrap();
        assert_eq!(v.len(), pids.len());
    });
    c.close();
    t.join().unwrap();
    r
}

fn bench_cgroups(dir: &Path, plane: Plane, keys: u32, request: u32, dur: Duration) -> f64 {
    let t = server(dir, "b-cg", plane);
    let mut c = CgroupsLookupClient::new(dir, "b-cg", client_config(request)).unwrap();
    assert!(c.refresh());
    let paths = cgroups_paths(keys as usize);
    let r = rate(dur, 1, || {
        let v = c.lookup(&paths).unwrap();
        assert_eq!(v.len(), paths.len());
    });
    c.close();
    t.join().unwrap();
    r
}

fn main() {
    let (dur, runs) = args(3);
    let run_dir = RunDir::new("l2c");
    let dir = run_dir.path();
    for plane in [Plane::Uds, Plane::Shm] {
        let p = plane.name();
        // Interleaved: the best of each is the least disturbed run.
        let (mut l1, mut l2) = (0f64, 0f64);
        for _ in 0..runs.max(1) {
            l1 = l1.max(bench_l1_increment(dir, plane, dur));
            l2 = l2.max(bench_increment(dir, plane, dur));
        }
        println!("{p} INCREMENT call:              {l2:>12.0} round trips/s");
        println!(
            "{p} INCREMENT L1 session call:   {l1:>12.0} round trips/s (L2/L1 {:.3})",
            l2 / l1
        );
        let r = best(runs, || bench_batch(dir, plane, dur));
        println!("{p} INCREMENT call_batch(1000):  {r:>12.0} items/s");
        let r = best(runs, || bench_snapshot(dir, plane, dur));
        println!("{p} snapshot (16 items):         {r:>12.0} calls/s");
        for keys in [16u32, 8192] {
            let r = best(runs, || bench_apps(dir, plane, keys, 65536, dur));
            println!(
                "{p} apps lookup {keys:>5} keys:      {r:>12.1} calls/s (request budget 64 KiB)"
            );
            let r = best(runs, || bench_cgroups(dir, plane, keys, 65536, dur));
            println!(
                "{p} cgroups lookup {keys:>5} keys:   {r:>12.1} calls/s (request budget 64 KiB)"
            );
        }
        let r = best(runs, || bench_apps(dir, plane, 8192, 0, dur));
        println!("{p} apps lookup  8192 keys:      {r:>12.1} calls/s (default 1 KiB requests)");
    }
}
