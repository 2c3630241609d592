//! `netipc serve KIND`: a managed server for one service kind.
//!
//! Prints exactly one line `READY <address>` on stdout once the endpoint
//! accepts connections (the socket path on Linux, the pipe name on
//! Windows), logs session events on stderr, and stops cleanly
//! on SIGINT or SIGTERM (the socket and every SHM file are removed).
//!
//! The three data kinds answer from `--data FILE.json` (the dataset
//! shapes, docs/dataset.md; keys not in the file are answered as unknown)
//! or, by default, from the live host, rescanned every `--rescan-ms` in a
//! background thread (the generation changes when the indexed cgroups
//! change). Cgroup lookups are answered from the index only: a path from a
//! request is never opened.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use netipc::service::server::{Server, ServerStats};

use super::conn::{ConnArgs, ConnDefaults};
use super::{CliError, CliResult};
use crate::hostdata::{HostConfig, HostProvider};
use crate::provider::{Kind, LiveHost, RescanHook, SourceCell, start_server};
use crate::source::{DataSource, DatasetProvider};

/// How often the main loop checks for signals and logs session events.
const POLL: Duration = Duration::from_millis(100);

/// Arguments of `netipc serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The service kind to serve.
    #[arg(value_enum)]
    pub kind: Kind,
    /// Answer from this dataset (repeatable; the shapes of docs/dataset.md)
    /// instead of the live host. Data kinds only.
    #[arg(long, value_name = "FILE.json")]
    pub data: Vec<PathBuf>,
    /// Most sessions served at once (one thread each); 0 = the library
    /// default (64).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub workers: usize,
    /// Live host data: rescan interval in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub rescan_ms: u64,
    /// Live host data: scan this directory as the cgroup root instead of
    /// the mounted hierarchies.
    #[arg(long, value_name = "DIR")]
    pub cgroup_root: Option<PathBuf>,
    /// Live host data: use this directory as /proc.
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Registers SIGINT and SIGTERM (Windows: Ctrl-C, Ctrl-Break, console
/// close); the flag turns true when one arrives.
pub fn stop_flag() -> CliResult<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    crate::platform::on_stop_signal(&flag)
        .map_err(|e| CliError::from(e).context("installing signal handlers"))?;
    Ok(flag)
}

/// Prints one line on stdout and flushes it (a closed stdout is ignored:
/// the server keeps serving).
pub fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Starts the server of `kind` (mapping start errors to exit codes).
pub fn start(
    kind: Kind,
    cfg: &netipc::service::server::ServerConfig,
    data: Option<&SourceCell>,
) -> CliResult<Server> {
    start_server(kind, cfg, data).map_err(|e| {
        let socket = crate::platform::service_address(&cfg.run_dir, &cfg.service);
        match e {
            netipc::Error::AddressInUse => CliError::failure(format!(
                "{}: another server is listening there",
                socket.display()
            )),
            e => CliError::from(e).context(socket.display()),
        }
    })
}

/// Runs `netipc serve`.
pub fn run(args: &ServeArgs) -> CliResult {
    let conn = args
        .conn
        .resolve(ConnDefaults::service(args.kind.service_name()));
    conn.endpoint()?;
    let mut live = None;
    let (data, data_desc) = match args.kind.data_service() {
        None if !args.data.is_empty() => {
            return Err(CliError::usage(format!(
                "--data: {} has no data to serve",
                args.kind.service_name()
            )));
        }
        None => (None, String::new()),
        Some(service) if !args.data.is_empty() => {
            let p = DatasetProvider::load_files(&args.data)
                .map_err(|e| CliError::failure(e.to_string()))?;
            if !p.provides(service) {
                return Err(CliError::usage(format!(
                    "--data: no {} dataset among the given files",
                    service.name()
                )));
            }
            let desc = format!(
                ", data from {} (generation {})",
                args.data
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                p.generation(service)
            );
            (Some(SourceCell::new(Arc::new(p))), desc)
        }
        Some(_) => {
            let hook: RescanHook = Box::new(|host: &HostProvider, changed: bool| {
                if changed {
                    eprintln!(
                        "netipc serve: host rescan: generation {} ({} cgroups, {} pids)",
                        host.generation(),
                        host.cgroups().len(),
                        host.procs().len()
                    );
                }
            });
            let host = LiveHost::start(
                HostConfig {
                    cgroup_root: args.cgroup_root.clone(),
                    proc_root: args.proc_root.clone(),
                    ..HostConfig::default()
                },
                Duration::from_millis(args.rescan_ms.max(1)),
                Some(hook),
            )
            .map_err(|e| CliError::from(e).context("starting the host scanner"))?;
            let cell = host.source();
            let src = cell.load();
            let desc = format!(
                ", live host data (generation {}, {} cgroups, rescan every {} ms)",
                src.generation(crate::source::Service::CgroupsSnapshot),
                src.snapshot().items.len(),
                args.rescan_ms
            );
            live = Some(host);
            (Some(cell), desc)
        }
    };
    let stop = stop_flag()?;
    conn.ensure_run_dir()?;
    let cfg = conn.server_config(args.workers);
    let server = start(args.kind, &cfg, data.as_ref())?;
    let socket = crate::platform::endpoint_address(server.endpoint());
    // The baseline of the event log is taken before READY: a client that
    // reacts to READY at once is logged too.
    let mut last = server.stats();
    let mut active = 0;
    announce(&format!("READY {}", socket.display()));
    eprintln!(
        "netipc serve: {} at {} (profile {}{})",
        args.kind.service_name(),
        socket.display(),
        conn.profile.as_str(),
        data_desc
    );
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
        let now = server.stats();
        let now_active = server.active_sessions();
        log_events(&last, &now, active, now_active);
        last = now;
        active = now_active;
    }
    // What happened since the last tick is logged too, so the log is
    // complete however close to an event the signal came.
    log_events(&last, &server.stats(), active, server.active_sessions());
    eprintln!("netipc serve: signal received, stopping");
    let summary = server.stop();
    if let Some(mut h) = live.take() {
        h.stop();
    }
    let s = server.stats();
    eprintln!(
        "netipc serve: stopped ({} sessions, {} requests{})",
        s.sessions_started,
        s.requests,
        if summary.drained {
            String::new()
        } else {
            format!(", {} sessions abandoned", summary.abandoned)
        }
    );
    Ok(())
}

/// Logs what changed between two stats snapshots (and active session
/// counts).
fn log_events(a: &ServerStats, b: &ServerStats, active_a: usize, active_b: usize) {
    let d = |x: u64, y: u64| y.saturating_sub(x);
    let started = d(a.sessions_started, b.sessions_started);
    if started > 0 {
        eprintln!(
            "netipc serve: {started} session(s) started (active {active_b}, total {})",
            b.sessions_started
        );
    }
    // Those active before plus those started, minus those active now.
    let ended = (active_a as u64 + started).saturating_sub(active_b as u64);
    if ended > 0 {
        eprintln!("netipc serve: {ended} session(s) ended (active {active_b})");
    }
    let auth = d(a.auth_failures, b.auth_failures);
    let timeouts = d(a.handshake_timeouts, b.handshake_timeouts);
    let events = [
        ("auth failure(s) (wrong token)", auth),
        ("handshake timeout(s)", timeouts),
        (
            "other failed handshake(s)",
            d(a.handshake_failures, b.handshake_failures).saturating_sub(auth + timeouts),
        ),
        ("unsupported request(s)", d(a.unsupported, b.unsupported)),
        ("malformed request(s)", d(a.bad_envelopes, b.bad_envelopes)),
        (
            "over-limit request(s)",
            d(a.limit_exceeded, b.limit_exceeded),
        ),
        (
            "handler failure(s)",
            d(a.handler_failures, b.handler_failures),
        ),
        ("handler panic(s)", d(a.handler_panics, b.handler_panics)),
    ];
    for (what, n) in events {
        if n > 0 {
            eprintln!("netipc serve: {n} {what}");
        }
    }
}
