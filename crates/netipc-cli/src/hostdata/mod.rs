//! Live host data providers (Linux): the cgroup index ([`cgroups`]) and the
//! process table ([`procs`]), owned together by a [`HostProvider`].
//!
//! A server calls [`HostProvider::rescan`] periodically (every 1–2 s) and
//! answers requests from the last scan through
//! [`DataSource`](crate::source::DataSource). Answering never touches the
//! filesystem for cgroup paths; an apps lookup for a PID missing from the
//! last scan may read `/proc/PID` directly (numeric PID only), when
//! [`HostConfig::read_missing_pids`] is set.

pub mod cgroups;
pub mod procs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dataset::Snapshot;

use cgroups::{CgroupIndex, CgroupScanner, ScanLimits};
use procs::{DEFAULT_MAX_PIDS, DEFAULT_PROC_ROOT, ProcInfo, ProcTable};

/// The marker whose existence means systemd is the init system.
pub const DEFAULT_SYSTEMD_MARKER: &str = "/run/systemd/system";

/// Where a [`HostProvider`] reads from.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// `None`: discover the mounted hierarchies from
    /// `/proc/self/mountinfo`. `Some(dir)`: guess the hierarchies from the
    /// layout of `dir` ([`CgroupScanner::from_root`]), e.g. a fake tree.
    pub cgroup_root: Option<PathBuf>,
    /// The proc filesystem (default `/proc`).
    pub proc_root: PathBuf,
    /// `systemd_enabled` is 1 when this path exists (default
    /// `/run/systemd/system`).
    pub systemd_marker: PathBuf,
    /// Cgroup scan limits.
    pub limits: ScanLimits,
    /// At most this many PIDs per scan.
    pub max_pids: usize,
    /// Whether a lookup of a PID missing from the last scan reads
    /// `/proc/PID` directly.
    pub read_missing_pids: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            cgroup_root: None,
            proc_root: PathBuf::from(DEFAULT_PROC_ROOT),
            systemd_marker: PathBuf::from(DEFAULT_SYSTEMD_MARKER),
            limits: ScanLimits::default(),
            max_pids: DEFAULT_MAX_PIDS,
            read_missing_pids: true,
        }
    }
}

/// Owns the cgroup index and the process table of the host.
///
/// Cloning copies the last scan (a server rescans a clone and publishes
/// it, so answering never waits for a scan).
#[derive(Clone, Debug)]
pub struct HostProvider {
    config: HostConfig,
    scanner: CgroupScanner,
    cgroups: CgroupIndex,
    procs: ProcTable,
    systemd_enabled: u32,
    snapshot: Arc<Snapshot>,
}

impl HostProvider {
    /// Creates the provider and performs a first scan.
    pub fn new(config: HostConfig) -> Self {
        let scanner = match &config.cgroup_root {
            Some(root) => CgroupScanner::from_root(root, config.limits),
            None => CgroupScanner::discover(config.limits),
        };
        let mut provider = Self {
            config,
            scanner,
            cgroups: CgroupIndex::new(),
            procs: ProcTable::new(),
            systemd_enabled: 0,
            snapshot: Arc::default(),
        };
        provider.rescan();
        provider
    }

    /// Rescans cgroups (first) and processes. Returns true when the cgroup
    /// generation changed.
    pub fn rescan(&mut self) -> bool {
        self.systemd_enabled = u32::from(self.config.systemd_marker.exists());
        let changed = self.cgroups.update(self.scanner.scan());
        self.procs = ProcTable::scan(&self.config.proc_root, self.config.max_pids);
        self.snapshot = Arc::new(Snapshot::from_host(self));
        changed
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The cgroup scanner (its hierarchies).
    pub fn scanner(&self) -> &CgroupScanner {
        &self.scanner
    }

    /// The cgroup index of the last scan.
    pub fn cgroups(&self) -> &CgroupIndex {
        &self.cgroups
    }

    /// The process table of the last scan.
    pub fn procs(&self) -> &ProcTable {
        &self.procs
    }

    /// 1 when systemd is the init system (at the last scan), else 0.
    pub fn systemd_enabled(&self) -> u32 {
        self.systemd_enabled
    }

    /// The snapshot of the last scan (built once per scan).
    pub fn snapshot_arc(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot)
    }

    /// The cgroup generation.
    pub fn generation(&self) -> u64 {
        self.cgroups.generation()
    }

    /// A PID from the last scan, or read directly when missing from it and
    /// [`HostConfig::read_missing_pids`] is set.
    pub fn process(&self, pid: u32) -> Option<ProcInfo> {
        if let Some(p) = self.procs.get(pid) {
            return Some(p.clone());
        }
        if self.config.read_missing_pids {
            return procs::read_pid(&self.config.proc_root, pid);
        }
        None
    }

    /// The proc root in use.
    pub fn proc_root(&self) -> &Path {
        &self.config.proc_root
    }
}
