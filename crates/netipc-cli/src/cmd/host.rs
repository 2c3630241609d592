//! `netipc host`: print the live host data (cgroups, processes, the
//! cgroups snapshot) as tables or, with `--json`, in the dataset shapes.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::ValueEnum;
use netipc::codec::apps_lookup::UID_UNSET;

use super::{CliError, CliResult};
use crate::dataset::{AppsLookup, CgroupsLookup, Snapshot, to_json_pretty};
use crate::hostdata::{HostConfig, HostProvider};

/// Arguments of `netipc host`.
#[derive(Debug, clap::Args)]
pub struct HostArgs {
    /// Print JSON in the dataset shapes (see docs/dataset.md) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Scan this directory as the cgroup root instead of the mounted hierarchies.
    #[arg(long, value_name = "DIR")]
    pub cgroup_root: Option<PathBuf>,
    /// Use this directory as /proc.
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// What to print.
    pub what: HostWhat,
}

/// What `netipc host` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HostWhat {
    /// Cgroups (JSON: the cgroups lookup shape, one KNOWN item per cgroup).
    Cgroups,
    /// Processes (JSON: the apps lookup shape, one KNOWN item per PID).
    Pids,
    /// The cgroups snapshot (JSON: the snapshot shape).
    Snapshot,
}

/// Runs `netipc host`.
pub fn run(args: &HostArgs) -> CliResult {
    crate::platform::require_host_data().map_err(CliError::from)?;
    match print(args) {
        // A closed stdout (e.g. `| head`) is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| CliError::from(e).context("stdout")),
    }
}

fn print(args: &HostArgs) -> io::Result<()> {
    let host = HostProvider::new(HostConfig {
        cgroup_root: args.cgroup_root.clone(),
        proc_root: args.proc_root.clone(),
        ..HostConfig::default()
    });
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match (args.what, args.json) {
        (HostWhat::Snapshot, true) => {
            writeln!(out, "{}", to_json_pretty(&Snapshot::from_host(&host)))?
        }
        (HostWhat::Cgroups, true) => {
            writeln!(out, "{}", to_json_pretty(&CgroupsLookup::from_host(&host)))?;
        }
        (HostWhat::Pids, true) => {
            writeln!(out, "{}", to_json_pretty(&AppsLookup::from_host(&host)))?
        }
        (HostWhat::Snapshot, false) => print_snapshot(&mut out, &host)?,
        (HostWhat::Cgroups, false) => print_cgroups(&mut out, &host)?,
        (HostWhat::Pids, false) => print_pids(&mut out, &host)?,
    }
    out.flush()
}

fn labels_text(labels: &[(String, String)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn print_snapshot(out: &mut impl Write, host: &HostProvider) -> io::Result<()> {
    let s = Snapshot::from_host(host);
    writeln!(
        out,
        "generation {} systemd_enabled {} items {}",
        s.generation,
        s.systemd_enabled,
        s.items.len()
    )?;
    writeln!(
        out,
        "{:<10} {:>7} {:>7} {:<40} PATH",
        "HASH", "OPTIONS", "ENABLED", "NAME"
    )?;
    for i in &s.items {
        writeln!(
            out,
            "{:<10} {:>7} {:>7} {:<40} {}",
            format!("{:08x}", i.hash),
            format!("{:#x}", i.options),
            i.enabled,
            i.name,
            i.path
        )?;
    }
    Ok(())
}

fn print_cgroups(out: &mut impl Write, host: &HostProvider) -> io::Result<()> {
    let idx = host.cgroups();
    writeln!(
        out,
        "generation {} systemd_enabled {} cgroups {}{}",
        idx.generation(),
        host.systemd_enabled(),
        idx.len(),
        if idx.truncated() { " (truncated)" } else { "" }
    )?;
    for h in host.scanner().hierarchies() {
        writeln!(out, "hierarchy {} {:?}", h.mount_point.display(), h.kind)?;
    }
    writeln!(
        out,
        "{:<8} {:<2} {:<40} {:<60} LABELS",
        "ORCH", "EN", "NAME", "PATH"
    )?;
    for c in idx.items() {
        writeln!(
            out,
            "{:<8} {:<2} {:<40} {:<60} {}",
            c.orchestrator.to_string(),
            c.enabled,
            c.name,
            c.path,
            labels_text(&c.labels)
        )?;
    }
    Ok(())
}

fn print_pids(out: &mut impl Write, host: &HostProvider) -> io::Result<()> {
    let procs = host.procs();
    writeln!(
        out,
        "generation {} pids {}{}",
        host.generation(),
        procs.len(),
        if procs.truncated() {
            " (truncated)"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "{:>8} {:>8} {:>10} {:>12} {:<15} {:<19} CGROUP",
        "PID", "PPID", "UID", "STARTTIME", "COMM", "CGROUP_STATUS"
    )?;
    for p in procs.sorted() {
        let (status, info) = p.cgroup_status(host.cgroups());
        let uid = if p.uid == UID_UNSET {
            "-".to_owned()
        } else {
            p.uid.to_string()
        };
        let cgroup = match info {
            Some(i) => i.name.clone(),
            None => p.cgroup_path.clone().unwrap_or_default(),
        };
        writeln!(
            out,
            "{:>8} {:>8} {:>10} {:>12} {:<15} {:<19} {}",
            p.pid,
            p.ppid,
            uid,
            p.starttime,
            p.comm.escape_debug().to_string(),
            status.as_str(),
            cgroup
        )?;
    }
    Ok(())
}
