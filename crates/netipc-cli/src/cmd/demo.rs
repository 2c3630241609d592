//! `netipc demo`: a provider and a consumer exchanging this host's real
//! data, in one process, in a few seconds.
//!
//! 1. Starts the three Netdata service kinds (`cgroups-snapshot`,
//!    `cgroups-lookup`, `apps-lookup`) as managed servers fed by the live
//!    host provider, in a private temporary run directory.
//! 2. As a consumer: refreshes a Level 3 `CgroupsCache` and prints the
//!    first cgroups; looks up a handful of real PIDs (its own included)
//!    through `apps-lookup`, and a few cgroup paths from the snapshot
//!    through `cgroups-lookup`.
//! 3. Measures SHM INCREMENT round trips against an in-process server and
//!    cache lookups per second.
//! 4. Stops everything; the run directory is removed (with the hidden
//!    `--run-dir DIR`, DIR is kept but emptied).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netipc::cache::CgroupsCache;
use netipc::service::client::{
    AppsLookupClient, CgroupsLookupClient, ClientConfig, IncrementClient,
};
use netipc::service::server::{Server, ServerConfig};

use super::bench::measure::{FnWorkload, RunOpts, drive};
use super::conn::{Profile, ensure_run_dir};
use super::{CliError, CliResult, tables};
use crate::dataset::{AppsLookupItem, CgroupLookupItem};
use crate::hostdata::HostConfig;
use crate::provider::{Kind, LiveHost, start_server};

/// The auth token the demo's servers and clients share.
const DEMO_TOKEN: u64 = 0x4E49_5043_4445_4D4F;

/// Cgroups printed from the cache.
const SHOWN: usize = 10;

/// Arguments of `netipc demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Use this run directory (created if missing, left empty) instead of a
    /// private temporary one.
    #[arg(long, value_name = "DIR", hide = true)]
    pub run_dir: Option<PathBuf>,
    /// Seconds of each throughput measurement.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, hide = true)]
    pub seconds: f64,
}

/// Where the demo runs: a temporary directory removed on drop, or a given
/// one.
enum RunDir {
    Temp(tempfile::TempDir),
    Given(PathBuf),
}

impl RunDir {
    fn path(&self) -> &Path {
        match self {
            RunDir::Temp(t) => t.path(),
            RunDir::Given(p) => p,
        }
    }
}

fn out(text: &str) -> CliResult {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| CliError::from(e).context("stdout")),
    }
}

fn client_config() -> ClientConfig {
    ClientConfig {
        auth_token: DEMO_TOKEN,
        ..ClientConfig::default()
    }
}

fn server_config(dir: &Path, service: &str) -> ServerConfig {
    ServerConfig {
        auth_token: DEMO_TOKEN,
        ..ServerConfig::new(dir, service)
    }
}

/// Runs `netipc demo`.
pub fn run(args: &DemoArgs) -> CliResult {
    let seconds = Duration::try_from_secs_f64(args.seconds)
        .map_err(|_| CliError::usage("--seconds: not a duration"))?;
    let dir = match &args.run_dir {
        Some(d) => {
            ensure_run_dir(d, false)?;
            RunDir::Given(d.clone())
        }
        None => RunDir::Temp(
            tempfile::Builder::new()
                .prefix("netipc-demo-")
                .tempdir()
                .map_err(|e| CliError::from(e).context("temporary run dir"))?,
        ),
    };
    let result = demo(dir.path(), seconds);
    let path = dir.path().to_path_buf();
    match dir {
        RunDir::Temp(t) => {
            t.close()
                .map_err(|e| CliError::from(e).context(path.display()))?;
            result?;
            out(&format!("\nStopped; removed {}\n", path.display()))
        }
        RunDir::Given(_) => {
            result?;
            let left = std::fs::read_dir(&path).map(|d| d.count()).unwrap_or(0);
            out(&format!(
                "\nStopped; {} entries left in {}\n",
                left,
                path.display()
            ))
        }
    }
}

fn demo(dir: &Path, seconds: Duration) -> CliResult {
    out(&format!(
        "netipc demo: providers and a consumer in one process\nrun dir {}\n",
        dir.display()
    ))?;

    // 1. Providers.
    let host = LiveHost::start(HostConfig::default(), Duration::from_secs(2), None)
        .map_err(|e| CliError::from(e).context("host scanner"))?;
    let cell = host.source();
    let mut servers = Vec::new();
    let mut text = String::from("\n== Providers (live host data, rescanned every 2 s)\n");
    for kind in [Kind::CgroupsSnapshot, Kind::CgroupsLookup, Kind::AppsLookup] {
        let server = start_server(kind, &server_config(dir, kind.service_name()), Some(&cell))
            .map_err(|e| CliError::from(e).context(kind.service_name()))?;
        let socket = crate::platform::endpoint_address(server.endpoint());
        let mode =
            crate::platform::file_mode(&socket).map_or_else(|| "?".into(), |m| format!("{m:o}"));
        text.push_str(&format!(
            "  {:<17} {} (mode {mode})\n",
            kind.service_name(),
            socket.display()
        ));
        servers.push(server);
    }
    out(&text)?;

    // 2. Consumer: Level 3 cache.
    let cache =
        CgroupsCache::new(dir, "cgroups-snapshot", client_config()).map_err(CliError::from)?;
    let report = cache
        .refresh()
        .map_err(|e| CliError::from(e).context("cgroups cache refresh"))?;
    let mut text = format!(
        "\n== Level 3 cache of cgroups-snapshot: {} cgroups, generation {}\n",
        report.items, report.generation
    );
    let paths: Vec<String>;
    {
        let guard = cache.read();
        text.push_str(&format!(
            "{:<10} {:>7} {:<40} PATH\n",
            "HASH", "ENABLED", "NAME"
        ));
        for e in guard.iter().take(SHOWN) {
            text.push_str(&format!(
                "{:<10} {:>7} {:<40} {}\n",
                format!("{:08x}", e.hash),
                e.enabled,
                tables::clean(&String::from_utf8_lossy(e.name)),
                tables::clean(&String::from_utf8_lossy(e.path))
            ));
        }
        if guard.len() > SHOWN {
            text.push_str(&format!("... and {} more\n", guard.len() - SHOWN));
        }
        if guard.is_empty() {
            text.push_str("(no cgroups found on this host)\n");
        }
        paths = guard
            .iter()
            .take(3)
            .map(|e| String::from_utf8_lossy(e.path).into_owned())
            .collect();
    }
    out(&text)?;

    // Apps lookups: this process, its parent, init, two more, one absent.
    let me = std::process::id();
    let mut pids = vec![me];
    pids.extend(crate::platform::parent_pid());
    pids.push(1);
    if let Ok(rd) = std::fs::read_dir("/proc") {
        let mut others: Vec<u32> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .filter(|p| !pids.contains(p))
            .collect();
        others.sort_unstable();
        pids.extend(others.into_iter().take(2));
    }
    // Above PID_MAX_LIMIT (4194304): cannot exist.
    pids.push(4_194_305);
    let mut apps =
        AppsLookupClient::new(dir, "apps-lookup", client_config()).map_err(CliError::from)?;
    apps.refresh();
    let items: Vec<AppsLookupItem> = apps
        .lookup(&pids)
        .map_err(|e| CliError::from(e).context("apps-lookup"))?
        .iter()
        .map(|i| AppsLookupItem::from_view(&i))
        .collect();
    let mut buf = format!(
        "\n== apps-lookup of {} PIDs (this process is {me})\n",
        pids.len()
    )
    .into_bytes();
    tables::apps_items(&mut buf, &items)?;
    out(&String::from_utf8_lossy(&buf))?;

    // Cgroups lookups: paths from the snapshot and one that does not exist.
    let mut keys = paths;
    keys.push("/no/such/cgroup".into());
    let mut cg =
        CgroupsLookupClient::new(dir, "cgroups-lookup", client_config()).map_err(CliError::from)?;
    cg.refresh();
    let items: Vec<CgroupLookupItem> = cg
        .lookup(&keys)
        .map_err(|e| CliError::from(e).context("cgroups-lookup"))?
        .iter()
        .map(|i| CgroupLookupItem::from_view(&i))
        .collect();
    let mut buf = format!("\n== cgroups-lookup of {} paths\n", keys.len()).into_bytes();
    tables::cgroups_items(&mut buf, &items)?;
    out(&String::from_utf8_lossy(&buf))?;
    drop((apps, cg));

    // 3. Throughput.
    out("\n== Throughput\n")?;
    let opts = RunOpts {
        duration: seconds,
        target_rps: 0,
        progress: false,
    };
    let (supported, preferred) = Profile::Shm.bits();
    let inc_server = Server::increment(
        &ServerConfig {
            supported_profiles: supported,
            preferred_profiles: preferred,
            ..server_config(dir, "increment")
        },
        |v: u64| Ok(v.wrapping_add(1)),
    )
    .map_err(|e| CliError::from(e).context("increment"))?;
    let mut inc =
        IncrementClient::new(dir, "increment", client_config()).map_err(CliError::from)?;
    inc.refresh();
    let shm = inc.status().shm_attached;
    let mut counter = 0u64;
    let m = drive(
        &mut FnWorkload(|| {
            let got = inc.call(counter).map_err(CliError::from)?;
            if got != counter.wrapping_add(1) {
                return Err(CliError::failure(format!("increment({counter}) = {got}")));
            }
            counter = got;
            Ok(1)
        }),
        &opts,
    )?;
    out(&format!(
        "  INCREMENT round trips ({}): {:>12.0}/s  p50 {:.2} us  p99 {:.2} us\n",
        if shm { "SHM" } else { "UDS, SHM unavailable" },
        m.throughput(),
        m.p50_us,
        m.p99_us
    ))?;
    drop(inc);
    inc_server.stop();

    let keys: Vec<(u32, Vec<u8>)> = cache
        .read()
        .iter()
        .map(|e| (e.hash, e.name.to_vec()))
        .collect();
    if keys.is_empty() {
        out("  cache lookups: skipped (empty cache)\n")?;
    } else {
        let m = drive(
            &mut FnWorkload(|| {
                let guard = cache.read();
                for (h, n) in &keys {
                    if guard.get(*h, n).is_none() {
                        return Err(CliError::failure("cache miss"));
                    }
                }
                Ok(keys.len() as u64)
            }),
            &opts,
        )?;
        out(&format!(
            "  cache lookups ({} items, hits):  {:>12.0}/s\n",
            keys.len(),
            m.throughput()
        ))?;
    }

    // 4. Stop.
    drop(cache);
    for s in &servers {
        s.stop();
    }
    drop(servers);
    drop(host);
    Ok(())
}
