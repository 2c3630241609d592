//! Live cgroup index: scans the cgroup hierarchies of this host.
//!
//! # Which hierarchies
//!
//! [`CgroupScanner::discover`] reads `/proc/self/mountinfo` (falling back
//! to `/proc/mounts`) and scans every mounted `cgroup2` hierarchy and every
//! `cgroup` (v1) hierarchy. A v2 hierarchy is scanned first, then v1
//! hierarchies in the order `cpuacct`, `cpu`, `memory`, `pids`, `blkio`,
//! `name=systemd`, others. When no mount is found it falls back to
//! [`CgroupScanner::from_root`] on `/sys/fs/cgroup`, which guesses the
//! layout from the directory itself (a `cgroup.controllers` file means v2
//! at the root; otherwise each subdirectory is a v1 hierarchy named after
//! its controllers, `unified` being v2). Tests use `from_root` on a fake
//! tree.
//!
//! # The `path` of a cgroup (the lookup key)
//!
//! A cgroup's `path` is its path **relative to the root of its hierarchy**,
//! with a leading `/` and no trailing `/`, exactly as the kernel prints it
//! in `/proc/PID/cgroup` (e.g. `/system.slice/docker-<id>.scope`). It is
//! the same string in every hierarchy, so the index is the union of all
//! hierarchies keyed by this path (the first hierarchy that has a path
//! wins). The root of a hierarchy (`/`) is not indexed: it is the host
//! itself. `fs_path` records where the directory was found, for display.
//! Directory names that are not valid UTF-8 are skipped with their
//! subtrees.
//!
//! # The derived `name` (Netdata-like)
//!
//! | cgroup path | name | orchestrator | labels |
//! |---|---|---|---|
//! | `/` (not indexed) | `host` | UNKNOWN | |
//! | `/init.scope` | `init.scope` | SYSTEMD | `unit` |
//! | `/system.slice/ssh.service` (any `*.service`, `*.scope`, `*.slice`, `*.mount`, ... unit) | the unit, `ssh.service` | SYSTEMD | `unit` |
//! | `…/docker-<hex>.scope`, `/docker/<hex>`, `…/docker/<hex>` | `docker-<12 hex>` | DOCKER | `container_id` |
//! | `…/libpod-<hex>.scope`, `/libpod_parent/libpod-<hex>` | `podman-<12 hex>` | PODMAN | `container_id` |
//! | `…kubepods…/…pod<uid>[.slice]` | `k8s_pod_<uid>` | K8S | `pod_uid`, `qos_class` |
//! | a container directly inside a pod (`cri-containerd-<hex>.scope`, `crio-<hex>.scope`, `docker-<hex>.scope`, `<hex>`) | `k8s_pod_<uid>_<12 hex>` | K8S | `pod_uid`, `qos_class`, `container_id`, `runtime` |
//! | other `kubepods` directories (`kubepods.slice`, QoS slices) | the last component | K8S | |
//! | `/user.slice/user-1000.slice` | `user-1000` | SYSTEMD | `uid` |
//! | `/user.slice/user-1000.slice/session-3.scope` | `session-3` | SYSTEMD | `uid`, `unit` |
//! | `/user.slice/user-1000.slice/user@1000.service` | `user@1000.service` | SYSTEMD | `uid`, `unit` |
//! | `/machine.slice/machine-qemu\x2d1\x2dvm1.scope` | `qemu-1-vm1` (systemd `\xNN` unescaped) | KVM | `machine` |
//! | `/machine.slice/machine-lxc\x2d…scope` | unescaped machine name | LXC | `machine` |
//! | `/machine.slice/machine-<name>.scope` (other), `/machine.slice/systemd-nspawn@<name>.service` | `<name>` | NSPAWN | `machine` |
//! | `/machine/<name>.libvirt-qemu` / `.libvirt-lxc` | `<name>` | KVM / LXC | `machine` |
//! | `/lxc/<name>`, `/lxc.payload.<name>`, `/lxc.payload/<name>` | `<name>` | LXC | `container_name` |
//! | anything else | the path without its leading `/` | UNKNOWN | |
//!
//! Container ids must be at least 12 hexadecimal digits. The `uid` in a
//! systemd `kubepods-…-pod<uid>.slice` has its `_` turned back into `-`.
//! When two paths derive the same name, the first one (in path order) keeps
//! it and the later ones are named after their path (without the leading
//! `/`), so `hash + name` stays a unique identity within a snapshot.
//!
//! # `enabled`
//!
//! `enabled = 1` for workloads: Docker, Podman, Kubernetes containers,
//! virtual machines and LXC/nspawn containers, systemd `*.service` units
//! outside `/user.slice`, `user-<uid>.slice`, and unclassified cgroups that
//! are leaves (no indexed child). Everything else is `0`: slices, scopes
//! other than containers and machines, pods (their containers are
//! enabled), `init.scope`, sessions, and every cgroup nested inside an
//! enabled one (e.g. a container's own sub-cgroups, a VM's `vcpu0`).
//!
//! # `options` bits (Netdata's `CGROUP_OPTIONS_*` values)
//!
//! - [`OPTION_SYSTEM_SLICE_SERVICE`] (`0x2`): a `*.service` unit under
//!   `/system.slice`.
//! - [`OPTION_IS_UNIFIED`] (`0x4`): found in a cgroup v2 hierarchy.
//!
//! # Limits
//!
//! Symbolic links are never followed, directories on another device (a
//! nested mount) are not entered, unreadable directories are skipped, the
//! depth below a hierarchy root is bounded by [`ScanLimits::max_depth`] and
//! the number of indexed cgroups by [`ScanLimits::max_cgroups`].
//!
//! # Lookups
//!
//! [`CgroupIndex::lookup`] is a pure map lookup: it never touches the
//! filesystem, so a server may call it with paths taken from requests.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use netipc::codec::cgroups_snapshot::simple_hash;
use netipc::codec::lookup::Orchestrator;

mod classify;
mod index;
mod mounts;

// Host data is Linux-only (see crate::platform).
#[cfg(all(test, unix))]
mod tests;

pub use classify::{classify, systemd_unescape};
pub use index::CgroupIndex;
pub use mounts::{parse_mountinfo, parse_proc_mounts};

use classify::{ancestors, parent_of};
use mounts::read_small;

/// Option bit: a systemd `*.service` unit under `/system.slice`.
pub const OPTION_SYSTEM_SLICE_SERVICE: u32 = 0x2;
/// Option bit: the cgroup was found in a cgroup v2 (unified) hierarchy.
pub const OPTION_IS_UNIFIED: u32 = 0x4;

/// Default cap on the number of indexed cgroups.
pub const DEFAULT_MAX_CGROUPS: usize = 100_000;
/// Default cap on the depth below a hierarchy root.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// Where cgroup hierarchies are normally mounted.
pub const DEFAULT_CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Bounds applied to one scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanLimits {
    /// At most this many cgroups are indexed (over all hierarchies).
    pub max_cgroups: usize,
    /// Directories deeper than this below a hierarchy root are not visited
    /// (a direct child of the root has depth 1).
    pub max_depth: usize,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            max_cgroups: DEFAULT_MAX_CGROUPS,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// The version of a cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HierarchyKind {
    /// cgroup v2 (unified).
    V2,
    /// cgroup v1, with its controllers (e.g. `cpu`, `cpuacct`,
    /// `name=systemd`).
    V1 {
        /// Controllers (and `name=` options) bound to this hierarchy.
        controllers: Vec<String>,
    },
}

/// One mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// The directory where the hierarchy's root is mounted.
    pub mount_point: PathBuf,
    /// v1 or v2.
    pub kind: HierarchyKind,
}

impl Hierarchy {
    /// Scan order: v2 first, then v1 by preferred controller.
    fn rank(&self) -> usize {
        const PREFERRED: [&str; 6] = ["cpuacct", "cpu", "memory", "pids", "blkio", "name=systemd"];
        match &self.kind {
            HierarchyKind::V2 => 0,
            HierarchyKind::V1 { controllers } => PREFERRED
                .iter()
                .position(|p| controllers.iter().any(|c| c == p))
                .map_or(PREFERRED.len() + 1, |i| i + 1),
        }
    }
}

/// What kind of cgroup a path is (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CgroupKind {
    /// The hierarchy root (`/`), the host itself.
    Root,
    /// `init.scope`.
    InitScope,
    /// A systemd `*.service` unit.
    Service,
    /// A systemd `*.scope` unit that is not a container or machine.
    Scope,
    /// A systemd `*.slice` unit.
    Slice,
    /// Another systemd unit (`*.mount`, `*.socket`, `*.swap`, ...).
    OtherUnit,
    /// `user-<uid>.slice`.
    UserSlice,
    /// `session-<n>.scope` in a user slice.
    UserSession,
    /// `user@<uid>.service`, a user's service manager.
    UserManager,
    /// A Docker container.
    Docker,
    /// A Podman container.
    Podman,
    /// A Kubernetes pod.
    K8sPod,
    /// A Kubernetes container (directly inside a pod).
    K8sContainer,
    /// Another Kubernetes directory (`kubepods`, QoS classes, ...).
    K8sOther,
    /// A virtual machine or machined container (KVM, LXC, nspawn).
    Machine,
    /// An LXC container.
    Lxc,
    /// Not classified.
    Other,
}

/// The classification of one cgroup path (derived from the path alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The kind.
    pub kind: CgroupKind,
    /// The derived name.
    pub name: String,
    /// The orchestrator.
    pub orchestrator: Orchestrator,
    /// Labels, in a fixed order.
    pub labels: Vec<(String, String)>,
}

/// One indexed cgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupInfo {
    /// The lookup key: path relative to the hierarchy root, leading `/`.
    pub path: String,
    /// Where the directory was found on this host.
    pub fs_path: PathBuf,
    /// The derived, unique name.
    pub name: String,
    /// The kind.
    pub kind: CgroupKind,
    /// The orchestrator.
    pub orchestrator: Orchestrator,
    /// Labels (`container_id`, `pod_uid`, `unit`, ...).
    pub labels: Vec<(String, String)>,
    /// `simple_hash(name)`.
    pub hash: u32,
    /// `OPTION_*` bits.
    pub options: u32,
    /// 1 when enabled (see the module documentation), else 0.
    pub enabled: u32,
}

/// The outcome of one scan, before it is merged into a [`CgroupIndex`].
#[derive(Clone, Debug, Default)]
pub struct ScanResult {
    /// The cgroups found, sorted by path.
    pub cgroups: Vec<CgroupInfo>,
    /// True when `max_cgroups` or `max_depth` cut the scan short.
    pub truncated: bool,
    /// Directories that could not be read, or names skipped as non-UTF-8.
    pub skipped: usize,
}

/// Scans a set of cgroup hierarchies.
#[derive(Clone, Debug)]
pub struct CgroupScanner {
    hierarchies: Vec<Hierarchy>,
    limits: ScanLimits,
}

impl CgroupScanner {
    /// A scanner over the given hierarchies.
    pub fn new(mut hierarchies: Vec<Hierarchy>, limits: ScanLimits) -> Self {
        hierarchies.sort_by_key(Hierarchy::rank);
        Self {
            hierarchies,
            limits,
        }
    }

    /// A scanner over the hierarchies mounted on this host (see the module
    /// documentation).
    pub fn discover(limits: ScanLimits) -> Self {
        let mut found = read_small("/proc/self/mountinfo")
            .map(|t| parse_mountinfo(&t))
            .unwrap_or_default();
        if found.is_empty() {
            found = read_small("/proc/mounts")
                .map(|t| parse_proc_mounts(&t))
                .unwrap_or_default();
        }
        if found.is_empty() {
            return Self::from_root(Path::new(DEFAULT_CGROUP_ROOT), limits);
        }
        Self::new(found, limits)
    }

    /// A scanner that guesses the hierarchies from the layout of `root`:
    /// v2 when `root/cgroup.controllers` exists, otherwise one hierarchy
    /// per real subdirectory (`unified` is v2, others are v1 with the
    /// comma-separated controllers in their name).
    pub fn from_root(root: &Path, limits: ScanLimits) -> Self {
        if root.join("cgroup.controllers").exists() {
            return Self::new(
                vec![Hierarchy {
                    mount_point: root.to_path_buf(),
                    kind: HierarchyKind::V2,
                }],
                limits,
            );
        }
        let mut hierarchies = Vec::new();
        if let Ok(rd) = fs::read_dir(root) {
            for entry in rd.flatten() {
                let Ok(ft) = entry.file_type() else { continue };
                if !ft.is_dir() {
                    continue;
                }
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let kind = if name == "unified" {
                    HierarchyKind::V2
                } else {
                    HierarchyKind::V1 {
                        controllers: name.split(',').map(str::to_owned).collect(),
                    }
                };
                hierarchies.push(Hierarchy {
                    mount_point: entry.path(),
                    kind,
                });
            }
        }
        hierarchies.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
        Self::new(hierarchies, limits)
    }

    /// The hierarchies, in scan order.
    pub fn hierarchies(&self) -> &[Hierarchy] {
        &self.hierarchies
    }

    /// The limits.
    pub fn limits(&self) -> ScanLimits {
        self.limits
    }

    /// Walks every hierarchy and classifies what it finds.
    pub fn scan(&self) -> ScanResult {
        let mut found: HashMap<String, (PathBuf, bool)> = HashMap::new();
        let mut truncated = false;
        let mut skipped = 0usize;
        for h in &self.hierarchies {
            let unified = h.kind == HierarchyKind::V2;
            if walk_hierarchy(
                &h.mount_point,
                unified,
                self.limits,
                &mut found,
                &mut skipped,
                &mut truncated,
            ) {
                break;
            }
        }
        let mut entries: Vec<(String, PathBuf, bool)> =
            found.into_iter().map(|(k, (p, u))| (k, p, u)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        ScanResult {
            cgroups: build_infos(entries),
            truncated,
            skipped,
        }
    }
}

/// Walks one hierarchy depth first (children in name order), adding every
/// directory below the root to `found` unless a previous hierarchy already
/// has its path. Returns true when the global cap was reached.
fn walk_hierarchy(
    root: &Path,
    unified: bool,
    limits: ScanLimits,
    found: &mut HashMap<String, (PathBuf, bool)>,
    skipped: &mut usize,
    truncated: &mut bool,
) -> bool {
    let Ok(meta) = fs::symlink_metadata(root) else {
        *skipped += 1;
        return false;
    };
    if !meta.is_dir() {
        *skipped += 1;
        return false;
    }
    let dev = crate::platform::device_of(&meta);
    // (filesystem path, relative path, depth)
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else {
            *skipped += 1;
            continue;
        };
        let mut children: Vec<(String, PathBuf)> = Vec::new();
        for entry in rd {
            let Ok(entry) = entry else {
                *skipped += 1;
                continue;
            };
            // file_type() does not follow symbolic links.
            let Ok(ft) = entry.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                *skipped += 1;
                continue;
            };
            if depth + 1 > limits.max_depth {
                *truncated = true;
                continue;
            }
            match entry.metadata() {
                Ok(m) if crate::platform::device_of(&m) == dev => {
                    children.push((name, entry.path()))
                }
                Ok(_) => {} // another mount: not part of this hierarchy
                Err(_) => *skipped += 1,
            }
        }
        // Push in reverse so that children are visited in name order.
        children.sort_by(|a, b| b.0.cmp(&a.0));
        for (name, path) in children {
            let child_rel = format!("{rel}/{name}");
            if !found.contains_key(&child_rel) {
                if found.len() >= limits.max_cgroups {
                    *truncated = true;
                    return true;
                }
                found.insert(child_rel.clone(), (path.clone(), unified));
            }
            stack.push((path, child_rel, depth + 1));
        }
    }
    false
}

/// Classifies sorted `(path, fs_path, unified)` entries into infos: names,
/// labels, leaf detection, enabled inheritance, options, name uniqueness.
fn build_infos(entries: Vec<(String, PathBuf, bool)>) -> Vec<CgroupInfo> {
    let mut parents: HashSet<&str> = HashSet::new();
    for (path, _, _) in &entries {
        if let Some(p) = parent_of(path) {
            parents.insert(p);
        }
    }
    let parents: HashSet<String> = parents.into_iter().map(str::to_owned).collect();

    // "enabled or inside an enabled cgroup", by path.
    let mut covered: HashSet<String> = HashSet::new();
    let mut used_names: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (path, fs_path, unified) in entries {
        let c = classify(&path);
        let leaf = !parents.contains(&path);
        let ancestor_covered = ancestors(&path).any(|a| covered.contains(a));
        let enabled = !ancestor_covered && kind_enabled(c.kind, &path, leaf);
        if enabled || ancestor_covered {
            covered.insert(path.clone());
        }
        let mut options = 0;
        if unified {
            options |= OPTION_IS_UNIFIED;
        }
        if c.kind == CgroupKind::Service && path.starts_with("/system.slice/") {
            options |= OPTION_SYSTEM_SLICE_SERVICE;
        }
        let name = unique_name(c.name, &path, &mut used_names);
        out.push(CgroupInfo {
            hash: simple_hash(name.as_bytes()),
            name,
            fs_path,
            kind: c.kind,
            orchestrator: c.orchestrator,
            labels: c.labels,
            options,
            enabled: u32::from(enabled),
            path,
        });
    }
    out
}

fn unique_name(name: String, path: &str, used: &mut HashSet<String>) -> String {
    let mut candidate = name;
    if used.contains(&candidate) {
        candidate = path.trim_start_matches('/').to_owned();
    }
    if used.contains(&candidate) {
        let base = candidate.clone();
        let mut n = 2usize;
        loop {
            candidate = format!("{base}#{n}");
            if !used.contains(&candidate) {
                break;
            }
            n += 1;
        }
    }
    used.insert(candidate.clone());
    candidate
}

fn kind_enabled(kind: CgroupKind, path: &str, leaf: bool) -> bool {
    match kind {
        CgroupKind::Docker
        | CgroupKind::Podman
        | CgroupKind::K8sContainer
        | CgroupKind::Machine
        | CgroupKind::Lxc
        | CgroupKind::UserSlice => true,
        CgroupKind::Service => !path.starts_with("/user.slice/"),
        CgroupKind::Other => leaf,
        _ => false,
    }
}
