//! Managed server figures:
//!
//! - INCREMENT round trips per second against a managed [`Server`] with a
//!   Level 1 `ClientSession` over UDS and over SHM, next to a hand-written
//!   Level 1 server loop (the Level 2 dispatch overhead);
//! - in-process lookup dispatch cost (decode the request, run the handler
//!   filling the response builder, budget checks) for 16 / 256 / 8192 keys
//!   with the BENCHMARKS.md lookup data, through [`LocalDispatcher`] — the
//!   same code path a session runs — and the full in-process scenario
//!   (encode request + dispatch + decode response).
//!
//! Run with `cargo bench -p netipc --bench l2_server`. Optional arguments:
//! seconds per run (default 0.5) and runs per figure, best kept (default
//! 5).

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use netipc::codec::apps_lookup::{
    AppsLookupBuilder, AppsLookupRequestView, AppsLookupResponseView, encode_apps_lookup_request,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupRequestView, CgroupsLookupResponseView,
    encode_cgroups_lookup_request,
};
use netipc::codec::lookup::{LookupStatus, Orchestrator};
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::server::{HandlerError, LocalDispatcher, Server, ServerConfig};
use netipc::transport::{ClientConfig, ClientSession, Listener, ServerConfig as L1Config};
use netipc::transport::{Deadline, Endpoint};

use support::{
    APPS_KNOWN, APPS_SET, CG_NAME, CG_SET, RunDir, TOKEN, args, best, cgroups_paths, lookup_budget,
    pids, pingpong, serve_increments,
};

const SIZES: [usize; 3] = [16, 256, 8192];

fn client_config(shm: bool) -> ClientConfig {
    let profiles = if shm {
        PROFILE_BASELINE | PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    };
    ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        auth_token: TOKEN,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        ..ClientConfig::default()
    }
}

fn managed_pingpong(dir: &Path, shm: bool, dur: Duration) -> f64 {
    let cfg = ServerConfig {
        auth_token: TOKEN,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        ..ServerConfig::new(dir, "bench-l2")
    };
    let server = Server::increment(&cfg, |v: u64| Ok(v + 1)).unwrap();
    let mut c = ClientSession::connect(
        server.endpoint(),
        &client_config(shm),
        Deadline::NEVER,
        None,
    )
    .unwrap();
    assert_eq!(c.is_shm(), shm);
    let rate = pingpong(&mut c, dur);
    drop(c);
    server.stop();
    rate
}

/// The same exchange against a hand-written Level 1 server loop.
fn l1_pingpong(dir: &Path, shm: bool, dur: Duration) -> f64 {
    let ep = Endpoint::new(dir, "bench-l1").unwrap();
    let listener = Listener::bind(&ep).unwrap();
    let server = std::thread::spawn(move || {
        let p = listener.accept(Deadline::NEVER, None).unwrap();
        let cfg = L1Config {
            supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
            preferred_profiles: PROFILE_SHM_HYBRID,
            auth_token: TOKEN,
            max_request_payload_bytes: 4096,
            max_response_payload_bytes: 65536,
            ..L1Config::default()
        };
        let mut s = p.handshake(&cfg, Deadline::NEVER, None).unwrap();
        serve_increments(&mut s);
    });
    let mut c = ClientSession::connect(&ep, &client_config(shm), Deadline::NEVER, None).unwrap();
    let rate = pingpong(&mut c, dur);
    drop(c);
    server.join().unwrap();
    rate
}

// ----- lookup handlers (BENCHMARKS.md, "mixed": even indexes known) -------

fn budget(n: usize) -> u32 {
    lookup_budget(n) as u32
}

fn cgroups_handler(
    req: &CgroupsLookupRequestView<'_>,
    b: &mut CgroupsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(1);
    for i in 0..req.len() {
        if i % 2 == 0 {
            b.add_request_item(
                req,
                i,
                LookupStatus::Known,
                Orchestrator::K8s.as_u16(),
                CG_NAME,
                &*CG_SET,
            )?;
        } else {
            b.add_request_unknown(req, i, LookupStatus::UnknownRetryLater)?;
        }
    }
    Ok(())
}

fn apps_handler(
    req: &AppsLookupRequestView<'_>,
    b: &mut AppsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(1);
    for i in 0..req.len() {
        if i % 2 == 0 {
            b.add_request_item(req, i, &APPS_KNOWN, &*APPS_SET)?;
        } else {
            b.add_request_unknown(req, i)?;
        }
    }
    Ok(())
}

/// Runs `f` repeatedly for `dur`; returns calls per second.
fn rate(dur: Duration, mut f: impl FnMut()) -> f64 {
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < dur {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

fn lookup_figures(dur: Duration, runs: usize) {
    println!("in-process lookup dispatch (mixed), best of {runs}:");
    println!(
        "  {:<16} {:>6} {:>14} {:>12} {:>14}",
        "service", "keys", "dispatch/s", "ns/key", "full calls/s"
    );
    for n in SIZES {
        let paths = cgroups_paths(n);
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&paths, &mut req).unwrap();
        let mut d = LocalDispatcher::cgroups_lookup(cgroups_handler, budget(n));
        let dispatch = best(runs, || {
            rate(dur, || {
                let p = d.dispatch(&req).unwrap();
                std::hint::black_box(p.len());
            })
        });
        let mut scratch = Vec::with_capacity(budget(n) as usize);
        let full = best(runs, || {
            rate(dur, || {
                scratch.clear();
                encode_cgroups_lookup_request(&paths, &mut scratch).unwrap();
                let p = d.dispatch(&scratch).unwrap();
                assert_eq!(CgroupsLookupResponseView::decode(p).unwrap().len(), n);
            })
        });
        println!(
            "  {:<16} {:>6} {:>14.0} {:>12.1} {:>14.0}",
            "cgroups-lookup",
            n,
            dispatch,
            1e9 / dispatch / n as f64,
            full
        );

        let pids = pids(n);
        let mut req = Vec::new();
        encode_apps_lookup_request(&pids, &mut req).unwrap();
        let mut d = LocalDispatcher::apps_lookup(apps_handler, budget(n));
        let dispatch = best(runs, || {
            rate(dur, || {
                let p = d.dispatch(&req).unwrap();
                std::hint::black_box(p.len());
            })
        });
        let full = best(runs, || {
            rate(dur, || {
                scratch.clear();
                encode_apps_lookup_request(&pids, &mut scratch).unwrap();
                let p = d.dispatch(&scratch).unwrap();
                assert_eq!(AppsLookupResponseView::decode(p).unwrap().len(), n);
            })
        });
        println!(
            "  {:<16} {:>6} {:>14.0} {:>12.1} {:>14.0}",
            "apps-lookup",
            n,
            dispatch,
            1e9 / dispatch / n as f64,
            full
        );
    }
}

fn main() {
    let (dur, runs) = args(5);
    let dir = RunDir::new("l2s");

    println!("INCREMENT ping-pong (calls/s), best of {runs}:");
    for (name, shm) in [("UDS", false), ("SHM", true)] {
        // Interleaved so both variants see the same machine load.
        let (mut l1, mut l2) = (0f64, 0f64);
        for _ in 0..runs.max(1) {
            l1 = l1.max(l1_pingpong(dir.path(), shm, dur));
            l2 = l2.max(managed_pingpong(dir.path(), shm, dur));
        }
        println!(
            "  {name}: managed server {l2:>10.0}   hand-written L1 loop {l1:>10.0}   ratio {:.3}",
            l2 / l1
        );
    }
    drop(dir);
    lookup_figures(dur, runs);
}
