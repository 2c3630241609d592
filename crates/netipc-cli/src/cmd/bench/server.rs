//! `netipc bench server SCENARIO`: the server side of a scenario.
//!
//! Prints `READY` once accepting, stops after `--duration` seconds (0 =
//! never) or on SIGINT/SIGTERM, and then prints its CPU use as
//! `SERVER_CPU_PCT=<pct>` (with `--json`: one JSON object). The percentage
//! is CPU time over wall time of the busy window: from the first session
//! to the moment the last session ended (the whole run when no client
//! came), sampled every 10 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netipc::codec::cgroups_snapshot::{CgroupItem, CgroupsSnapshotBuilder};
use netipc::codec::corpus::bench_snapshot_items;
use netipc::service::server::{Server, ServerConfig};
use serde_json::json;

use super::measure::{cpu_pct, cpu_time};
use super::scenario::{ServerKind, ServerSide};
use crate::cmd::serve::{announce, stop_flag};
use crate::cmd::{CliError, CliResult};

/// How often the busy window and the stop conditions are checked.
const POLL: Duration = Duration::from_millis(10);

/// Starts the benchmark server of `side` with `cfg` (budgets and profiles
/// already applied).
pub fn start(side: &ServerSide, cfg: &ServerConfig) -> netipc::Result<Server> {
    match side.kind {
        ServerKind::Increment => Server::increment(cfg, |v: u64| Ok(v.wrapping_add(1))),
        ServerKind::Snapshot => {
            let items: Arc<[CgroupItem]> = bench_snapshot_items().into();
            let generation = AtomicU64::new(0);
            Server::cgroups_snapshot(cfg, move |b: &mut CgroupsSnapshotBuilder| {
                b.set_systemd_enabled(1);
                b.set_generation(generation.fetch_add(1, Ordering::Relaxed) + 1);
                for item in items.iter() {
                    b.add(item)?;
                }
                Ok(())
            })
        }
    }
}

/// What the server reports when it stops.
#[derive(Debug, Clone, Copy)]
pub struct ServerReport {
    /// CPU percentage over the busy window.
    pub cpu_pct: f64,
    /// CPU time in the busy window.
    pub cpu: Duration,
    /// The busy window's wall time.
    pub wall: Duration,
    /// Requests served.
    pub requests: u64,
    /// Sessions served.
    pub sessions: u64,
}

/// Serves until `duration` (zero = no limit) or a signal; prints `READY`
/// first.
pub fn serve(server: &Server, duration: Duration) -> CliResult<ServerReport> {
    let stop = stop_flag()?;
    announce("READY");
    let t0 = Instant::now();
    let cpu0 = cpu_time();
    let mut start: Option<(Instant, Duration)> = None;
    let mut end: Option<(Instant, Duration)> = None;
    loop {
        std::thread::sleep(POLL);
        let now = Instant::now();
        if start.is_none() && server.stats().sessions_started > 0 {
            start = Some((now, cpu_time()));
        }
        if start.is_some() {
            if server.active_sessions() == 0 {
                end.get_or_insert_with(|| (now, cpu_time()));
            } else {
                end = None;
            }
        }
        if stop.load(Ordering::Relaxed) || (!duration.is_zero() && now - t0 >= duration) {
            break;
        }
    }
    let (w0, c0) = start.unwrap_or((t0, cpu0));
    let (w1, c1) = end.unwrap_or_else(|| (Instant::now(), cpu_time()));
    server.stop();
    let stats = server.stats();
    let (wall, cpu) = (w1 - w0, c1.saturating_sub(c0));
    Ok(ServerReport {
        cpu_pct: cpu_pct(cpu, wall),
        cpu,
        wall,
        requests: stats.requests,
        sessions: stats.sessions_started,
    })
}

/// Prints the report: `SERVER_CPU_PCT=<pct>` or a JSON object on stdout,
/// details on stderr.
pub fn print_report(scenario: &str, r: &ServerReport, as_json: bool) -> CliResult {
    let line = if as_json {
        json!({
            "scenario": scenario,
            "server": super::measure::IMPLEMENTATION,
            "server_cpu_pct": (r.cpu_pct * 10.0).round() / 10.0,
            "cpu_s": r.cpu.as_secs_f64(),
            "busy_s": r.wall.as_secs_f64(),
            "requests": r.requests,
            "sessions": r.sessions,
        })
        .to_string()
    } else {
        format!("SERVER_CPU_PCT={:.1}", r.cpu_pct)
    };
    eprintln!(
        "netipc bench server: {scenario}: {} requests in {} sessions, cpu {:.3} s over {:.3} s busy",
        r.requests,
        r.sessions,
        r.cpu.as_secs_f64(),
        r.wall.as_secs_f64()
    );
    crate::cmd::write_output(None, format!("{line}\n").as_bytes())
        .map_err(|e: CliError| e.context("stdout"))
}
