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

fn parent_of(path: &str) -> Option<&str> {
    let i = path.rfind('/')?;
    if i == 0 { None } else { Some(&path[..i]) }
}

/// Proper ancestors of `path` (below the root), nearest first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(parent_of(path), |p| parent_of(p))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A container id: at least 12 hexadecimal digits.
fn container_id(s: &str) -> Option<&str> {
    (s.len() >= 12 && is_hex(s)).then_some(s)
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn label(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

/// Undoes systemd's unit name escaping (`\xNN`). Invalid escapes and
/// escapes producing invalid UTF-8 are kept verbatim.
pub fn systemd_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1] == b'x'
            && b[i + 2].is_ascii_hexdigit()
            && b[i + 3].is_ascii_hexdigit()
        {
            let hex = &s[i + 2..i + 4];
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                if v != 0 {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// Finds the pod uid in one path component, if it is a pod directory.
fn pod_uid(comp: &str) -> Option<String> {
    // systemd driver: kubepods-pod<uid>.slice, kubepods-<qos>-pod<uid>.slice
    if let Some(stem) = comp.strip_suffix(".slice") {
        if stem.starts_with("kubepods") {
            let i = stem.rfind("-pod")?;
            let uid = &stem[i + 4..];
            return valid_uid(uid).then(|| uid.replace('_', "-"));
        }
        return None;
    }
    // cgroupfs driver: pod<uid>
    let uid = comp.strip_prefix("pod")?;
    valid_uid(uid).then(|| uid.to_owned())
}

fn valid_uid(uid: &str) -> bool {
    uid.len() >= 8
        && uid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_')
}

/// Splits a k8s container directory name into (runtime, id).
fn k8s_container(comp: &str) -> Option<(&'static str, &str)> {
    const RUNTIMES: [(&str, &str); 4] = [
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("docker-", "docker"),
        ("cri-dockerd-", "docker"),
    ];
    if let Some(stem) = comp.strip_suffix(".scope") {
        for (prefix, runtime) in RUNTIMES {
            if let Some(id) = stem.strip_prefix(prefix) {
                return container_id(id).map(|id| (runtime, id));
            }
        }
        return None;
    }
    container_id(comp).map(|id| ("", id))
}

/// Derives kind, name, orchestrator and labels from a cgroup path (see the
/// module documentation for the rules). Pure: never touches the filesystem.
pub fn classify(path: &str) -> Classification {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some(&last) = comps.last() else {
        return Classification {
            kind: CgroupKind::Root,
            name: "host".to_owned(),
            orchestrator: Orchestrator::Unknown,
            labels: Vec::new(),
        };
    };
    let make = |kind, name: String, orchestrator, labels| Classification {
        kind,
        name,
        orchestrator,
        labels,
    };
    let generic_name = || comps.join("/");

    // Kubernetes.
    if comps.iter().any(|c| c.contains("kubepods")) {
        let qos = if comps.iter().any(|c| c.contains("besteffort")) {
            "besteffort"
        } else if comps.iter().any(|c| c.contains("burstable")) {
            "burstable"
        } else {
            "guaranteed"
        };
        if let Some((pi, uid)) = comps
            .iter()
            .enumerate()
            .find_map(|(i, c)| pod_uid(c).map(|u| (i, u)))
        {
            let mut labels = vec![label("pod_uid", &uid), label("qos_class", qos)];
            if pi + 1 == comps.len() {
                return make(
                    CgroupKind::K8sPod,
                    format!("k8s_pod_{uid}"),
                    Orchestrator::K8s,
                    labels,
                );
            }
            if pi + 2 == comps.len() {
                if let Some((runtime, id)) = k8s_container(last) {
                    labels.push(label("container_id", id));
                    if !runtime.is_empty() {
                        labels.push(label("runtime", runtime));
                    }
                    return make(
                        CgroupKind::K8sContainer,
                        format!("k8s_pod_{uid}_{}", short_id(id)),
                        Orchestrator::K8s,
                        labels,
                    );
                }
            }
            return make(
                CgroupKind::K8sOther,
                generic_name(),
                Orchestrator::K8s,
                labels,
            );
        }
        if comps.len() <= 3 && comps.iter().all(|c| c.contains("kubepods") || is_qos(c)) {
            return make(
                CgroupKind::K8sOther,
                last.to_owned(),
                Orchestrator::K8s,
                Vec::new(),
            );
        }
        return make(
            CgroupKind::K8sOther,
            generic_name(),
            Orchestrator::K8s,
            Vec::new(),
        );
    }

    let parent = comps.len().checked_sub(2).map(|i| comps[i]);

    // Docker.
    let docker_id = last
        .strip_prefix("docker-")
        .and_then(|s| s.strip_suffix(".scope"))
        .and_then(container_id)
        .or_else(|| {
            (parent == Some("docker"))
                .then(|| container_id(last))
                .flatten()
        });
    if let Some(id) = docker_id {
        return make(
            CgroupKind::Docker,
            format!("docker-{}", short_id(id)),
            Orchestrator::Docker,
            vec![label("container_id", id)],
        );
    }

    // Podman.
    let podman_id = last
        .strip_prefix("libpod-")
        .and_then(|s| s.strip_suffix(".scope"))
        .and_then(container_id)
        .or_else(|| {
            (parent == Some("libpod_parent"))
                .then(|| last.strip_prefix("libpod-").and_then(container_id))
                .flatten()
        });
    if let Some(id) = podman_id {
        return make(
            CgroupKind::Podman,
            format!("podman-{}", short_id(id)),
            Orchestrator::Podman,
            vec![label("container_id", id)],
        );
    }

    // Virtual machines and machined containers.
    if comps.len() == 2 && comps[0] == "machine.slice" {
        if let Some(m) = last
            .strip_prefix("machine-")
            .and_then(|s| s.strip_suffix(".scope"))
            .filter(|m| !m.is_empty())
        {
            let m = systemd_unescape(m);
            let orch = if m.starts_with("qemu-") {
                Orchestrator::Kvm
            } else if m.starts_with("lxc-") {
                Orchestrator::Lxc
            } else {
                Orchestrator::Nspawn
            };
            let labels = vec![label("machine", &m)];
            return make(CgroupKind::Machine, m, orch, labels);
        }
        if let Some(m) = last
            .strip_prefix("systemd-nspawn@")
            .and_then(|s| s.strip_suffix(".service"))
            .filter(|m| !m.is_empty())
        {
            let m = systemd_unescape(m);
            let labels = vec![label("machine", &m)];
            return make(CgroupKind::Machine, m, Orchestrator::Nspawn, labels);
        }
    }
    if comps.len() == 2 && comps[0] == "machine" {
        let vm = [
            (".libvirt-qemu", Orchestrator::Kvm),
            (".libvirt-lxc", Orchestrator::Lxc),
        ];
        for (suffix, orch) in vm {
            if let Some(m) = last.strip_suffix(suffix).filter(|m| !m.is_empty()) {
                let m = systemd_unescape(m);
                let labels = vec![label("machine", &m)];
                return make(CgroupKind::Machine, m, orch, labels);
            }
        }
    }

    // LXC.
    let lxc_name = match comps.as_slice() {
        ["lxc", n] | ["lxc.payload", n] => Some(*n),
        [one] => one.strip_prefix("lxc.payload.").filter(|n| !n.is_empty()),
        _ => None,
    };
    if let Some(n) = lxc_name {
        return make(
            CgroupKind::Lxc,
            n.to_owned(),
            Orchestrator::Lxc,
            vec![label("container_name", n)],
        );
    }

    // User slices.
    if comps[0] == "user.slice" && comps.len() >= 2 {
        if let Some(uid) = comps[1]
            .strip_prefix("user-")
            .and_then(|s| s.strip_suffix(".slice"))
            .filter(|u| !u.is_empty() && u.bytes().all(|b| b.is_ascii_digit()))
        {
            if comps.len() == 2 {
                return make(
                    CgroupKind::UserSlice,
                    format!("user-{uid}"),
                    Orchestrator::Systemd,
                    vec![label("uid", uid)],
                );
            }
            if comps.len() == 3 {
                let labels = vec![label("uid", uid), label("unit", last)];
                if last.starts_with("session-") && last.ends_with(".scope") {
                    let name = last.trim_end_matches(".scope").to_owned();
                    return make(CgroupKind::UserSession, name, Orchestrator::Systemd, labels);
                }
                if last.starts_with("user@") && last.ends_with(".service") {
                    return make(
                        CgroupKind::UserManager,
                        last.to_owned(),
                        Orchestrator::Systemd,
                        labels,
                    );
                }
            }
        }
    }

    if comps.len() == 1 && last == "init.scope" {
        return make(
            CgroupKind::InitScope,
            last.to_owned(),
            Orchestrator::Systemd,
            vec![label("unit", last)],
        );
    }

    // Any other systemd unit.
    const UNIT_SUFFIXES: [&str; 8] = [
        ".mount",
        ".socket",
        ".swap",
        ".device",
        ".target",
        ".path",
        ".timer",
        ".automount",
    ];
    let unit_kind = if last.ends_with(".service") {
        Some(CgroupKind::Service)
    } else if last.ends_with(".scope") {
        Some(CgroupKind::Scope)
    } else if last.ends_with(".slice") {
        Some(CgroupKind::Slice)
    } else if UNIT_SUFFIXES.iter().any(|s| last.ends_with(s)) {
        Some(CgroupKind::OtherUnit)
    } else {
        None
    };
    if let Some(kind) = unit_kind {
        if last.len() > ".slice".len() {
            return make(
                kind,
                last.to_owned(),
                Orchestrator::Systemd,
                vec![label("unit", last)],
            );
        }
    }

    make(
        CgroupKind::Other,
        generic_name(),
        Orchestrator::Unknown,
        Vec::new(),
    )
}

fn is_qos(c: &str) -> bool {
    c == "burstable" || c == "besteffort"
}

/// The cgroup index of the host: the last scan, keyed by path.
#[derive(Clone, Debug, Default)]
pub struct CgroupIndex {
    generation: u64,
    items: Vec<CgroupInfo>,
    by_path: HashMap<String, usize>,
    truncated: bool,
    skipped: usize,
    scans: u64,
}

impl CgroupIndex {
    /// An empty index, generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from one scan (generation 1).
    pub fn from_scan(scan: ScanResult) -> Self {
        let mut index = Self::new();
        index.update(scan);
        index
    }

    /// Replaces the content with a new scan. The generation increments on
    /// the first update and whenever the set of paths changed. Returns true
    /// when it changed.
    pub fn update(&mut self, scan: ScanResult) -> bool {
        let changed = self.scans == 0
            || self.items.len() != scan.cgroups.len()
            || self
                .items
                .iter()
                .zip(&scan.cgroups)
                .any(|(a, b)| a.path != b.path);
        self.scans += 1;
        self.truncated = scan.truncated;
        self.skipped = scan.skipped;
        self.by_path = scan
            .cgroups
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.clone(), i))
            .collect();
        self.items = scan.cgroups;
        if changed {
            self.generation = self.generation.wrapping_add(1);
        }
        changed
    }

    /// The generation: increments when the set of indexed paths changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The cgroup with this path. A pure map lookup: never touches the
    /// filesystem.
    pub fn lookup(&self, path: &str) -> Option<&CgroupInfo> {
        self.by_path.get(path).map(|&i| &self.items[i])
    }

    /// [`lookup`](Self::lookup) for raw request bytes (non-UTF-8 never
    /// matches).
    pub fn lookup_bytes(&self, path: &[u8]) -> Option<&CgroupInfo> {
        std::str::from_utf8(path).ok().and_then(|p| self.lookup(p))
    }

    /// All cgroups, sorted by path.
    pub fn items(&self) -> &[CgroupInfo] {
        &self.items
    }

    /// Number of indexed cgroups.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when the last scan hit a limit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Directories skipped by the last scan.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// Reads a small text file (at most 1 MiB), lossily as UTF-8.
fn read_small(path: &str) -> Option<String> {
    use std::io::Read;
    let f = fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(1 << 20).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Undoes the octal escapes (`\040`, ...) of mount tables.
fn unescape_mount(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (u32::from(b[i + 1] - b'0') << 6)
                | (u32::from(b[i + 2] - b'0') << 3)
                | u32::from(b[i + 3] - b'0');
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    crate::platform::path_from_bytes(out)
}

fn hierarchy_from(fstype: &str, mount_point: &str, opts: &str) -> Option<Hierarchy> {
    let kind = match fstype {
        "cgroup2" => HierarchyKind::V2,
        "cgroup" => HierarchyKind::V1 {
            controllers: opts
                .split(',')
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime" | "noatime"
                    ) && !o.is_empty()
                })
                .map(str::to_owned)
                .collect(),
        },
        _ => return None,
    };
    Some(Hierarchy {
        mount_point: unescape_mount(mount_point),
        kind,
    })
}

/// Parses `/proc/self/mountinfo` into cgroup hierarchies (one per
/// superblock: bind mounts of the same hierarchy are listed once).
pub fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if sep < 6 || fields.len() < sep + 4 {
            continue;
        }
        let (dev, mount_point) = (fields[2], fields[4]);
        let (fstype, super_opts) = (fields[sep + 1], fields[sep + 3]);
        if let Some(h) = hierarchy_from(fstype, mount_point, super_opts) {
            if seen.insert(dev.to_owned()) {
                out.push(h);
            }
        }
    }
    out
}

/// Parses `/proc/mounts` into cgroup hierarchies (one per mount point and
/// controller set).
pub fn parse_proc_mounts(text: &str) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 4 {
            continue;
        }
        if let Some(h) = hierarchy_from(f[2], f[1], f[3]) {
            if !out.iter().any(|o| o.kind == h.kind) {
                out.push(h);
            }
        }
    }
    out
}

// Host data is Linux-only (see crate::platform).
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn lv(c: &Classification, k: &str) -> Option<String> {
        c.labels
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn name_root() {
        let c = classify("/");
        assert_eq!(c.kind, CgroupKind::Root);
        assert_eq!(c.name, "host");
        assert_eq!(classify("").kind, CgroupKind::Root);
    }

    #[test]
    fn name_init_scope() {
        let c = classify("/init.scope");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::InitScope, "init.scope")
        );
        assert_eq!(c.orchestrator, Orchestrator::Systemd);
    }

    #[test]
    fn name_systemd_service() {
        let c = classify("/system.slice/ssh.service");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Service, "ssh.service")
        );
        assert_eq!(c.orchestrator, Orchestrator::Systemd);
        assert_eq!(lv(&c, "unit").as_deref(), Some("ssh.service"));
        let c = classify("/system.slice/system-getty.slice/getty@tty1.service");
        assert_eq!(c.name, "getty@tty1.service");
        let c = classify("/system.slice");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Slice, "system.slice")
        );
        let c = classify("/system.slice/var-lib.mount");
        assert_eq!(c.kind, CgroupKind::OtherUnit);
    }

    #[test]
    fn name_docker_v2_and_v1() {
        let c = classify(&format!("/system.slice/docker-{ID}.scope"));
        assert_eq!(c.kind, CgroupKind::Docker);
        assert_eq!(c.name, "docker-0123456789ab");
        assert_eq!(c.orchestrator, Orchestrator::Docker);
        assert_eq!(lv(&c, "container_id").as_deref(), Some(ID));
        let c = classify(&format!("/docker/{ID}"));
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Docker, "docker-0123456789ab")
        );
        // Too short or not hex: not a container.
        assert_eq!(classify("/docker/abc").kind, CgroupKind::Other);
        assert_eq!(
            classify("/system.slice/docker-xyz.scope").kind,
            CgroupKind::Scope
        );
        assert_eq!(classify("/docker").kind, CgroupKind::Other);
    }

    #[test]
    fn name_podman() {
        let c = classify(&format!("/machine.slice/libpod-{ID}.scope"));
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Podman, "podman-0123456789ab")
        );
        assert_eq!(c.orchestrator, Orchestrator::Podman);
        let c = classify(&format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"
        ));
        assert_eq!(c.kind, CgroupKind::Podman);
        let c = classify(&format!("/libpod_parent/libpod-{ID}"));
        assert_eq!(c.kind, CgroupKind::Podman);
        let c = classify(&format!("/machine.slice/libpod-conmon-{ID}.scope"));
        assert_eq!(c.kind, CgroupKind::Scope);
    }

    #[test]
    fn name_k8s_systemd_qos() {
        let uid = "1b2c3d4e_aaaa_bbbb_cccc_0123456789ab";
        let dashed = "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab";
        for (qos, pod_dir) in [
            (
                "burstable",
                format!("kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice"),
            ),
            (
                "besteffort",
                format!("kubepods-besteffort.slice/kubepods-besteffort-pod{uid}.slice"),
            ),
            ("guaranteed", format!("kubepods-pod{uid}.slice")),
        ] {
            let pod = format!("/kubepods.slice/{pod_dir}");
            let c = classify(&pod);
            assert_eq!(c.kind, CgroupKind::K8sPod, "{pod}");
            assert_eq!(c.name, format!("k8s_pod_{dashed}"));
            assert_eq!(c.orchestrator, Orchestrator::K8s);
            assert_eq!(lv(&c, "pod_uid").as_deref(), Some(dashed));
            assert_eq!(lv(&c, "qos_class").as_deref(), Some(qos));

            let c = classify(&format!("{pod}/cri-containerd-{ID}.scope"));
            assert_eq!(c.kind, CgroupKind::K8sContainer);
            assert_eq!(c.name, format!("k8s_pod_{dashed}_0123456789ab"));
            assert_eq!(lv(&c, "container_id").as_deref(), Some(ID));
            assert_eq!(lv(&c, "runtime").as_deref(), Some("containerd"));
            assert_eq!(lv(&c, "qos_class").as_deref(), Some(qos));

            let c = classify(&format!("{pod}/crio-{ID}.scope"));
            assert_eq!(lv(&c, "runtime").as_deref(), Some("cri-o"));
            let c = classify(&format!("{pod}/crio-conmon-{ID}.scope"));
            assert_eq!(c.kind, CgroupKind::K8sOther);
        }
        let c = classify("/kubepods.slice/kubepods-burstable.slice");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::K8sOther, "kubepods-burstable.slice")
        );
        let c = classify("/kubepods.slice");
        assert_eq!(c.kind, CgroupKind::K8sOther);
    }

    #[test]
    fn name_k8s_cgroupfs() {
        let uid = "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab";
        let c = classify(&format!("/kubepods/burstable/pod{uid}"));
        assert_eq!(
            (c.kind, c.name.clone()),
            (CgroupKind::K8sPod, format!("k8s_pod_{uid}"))
        );
        let c = classify(&format!("/kubepods/pod{uid}/{ID}"));
        assert_eq!(c.kind, CgroupKind::K8sContainer);
        assert_eq!(lv(&c, "qos_class").as_deref(), Some("guaranteed"));
        assert_eq!(c.name, format!("k8s_pod_{uid}_0123456789ab"));
        let c = classify(&format!("/kubepods/besteffort/pod{uid}/{ID}"));
        assert_eq!(lv(&c, "qos_class").as_deref(), Some("besteffort"));
        assert_eq!(classify("/kubepods/burstable").name, "burstable");
    }

    #[test]
    fn name_user_slice_and_session() {
        let c = classify("/user.slice/user-1000.slice");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::UserSlice, "user-1000")
        );
        assert_eq!(lv(&c, "uid").as_deref(), Some("1000"));
        let c = classify("/user.slice/user-1000.slice/session-3.scope");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::UserSession, "session-3")
        );
        let c = classify("/user.slice/user-1000.slice/user@1000.service");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::UserManager, "user@1000.service")
        );
        let c = classify("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Service, "foo.service")
        );
        assert_eq!(classify("/user.slice").kind, CgroupKind::Slice);
    }

    #[test]
    fn name_machine_slice() {
        let c = classify(r"/machine.slice/machine-qemu\x2d1\x2dubuntu.scope");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Machine, "qemu-1-ubuntu")
        );
        assert_eq!(c.orchestrator, Orchestrator::Kvm);
        let c = classify(r"/machine.slice/machine-lxc\x2d42\x2dweb.scope");
        assert_eq!(c.orchestrator, Orchestrator::Lxc);
        let c = classify("/machine.slice/machine-debian.scope");
        assert_eq!(
            (c.name.as_str(), c.orchestrator),
            ("debian", Orchestrator::Nspawn)
        );
        let c = classify("/machine.slice/systemd-nspawn@arch.service");
        assert_eq!(
            (c.name.as_str(), c.orchestrator),
            ("arch", Orchestrator::Nspawn)
        );
        let c = classify("/machine/vm1.libvirt-qemu");
        assert_eq!(
            (c.name.as_str(), c.orchestrator),
            ("vm1", Orchestrator::Kvm)
        );
        // Inside a VM: not a machine itself.
        let c = classify(r"/machine.slice/machine-qemu\x2d1\x2dubuntu.scope/libvirt/vcpu0");
        assert_eq!(c.kind, CgroupKind::Other);
    }

    #[test]
    fn name_lxc() {
        for p in ["/lxc/web", "/lxc.payload.web", "/lxc.payload/web"] {
            let c = classify(p);
            assert_eq!((c.kind, c.name.as_str()), (CgroupKind::Lxc, "web"), "{p}");
            assert_eq!(c.orchestrator, Orchestrator::Lxc);
        }
        assert_eq!(classify("/lxc.monitor.web").kind, CgroupKind::Other);
    }

    #[test]
    fn name_other() {
        let c = classify("/process_api/abc");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Other, "process_api/abc")
        );
        assert_eq!(c.orchestrator, Orchestrator::Unknown);
        assert!(c.labels.is_empty());
        assert_eq!(classify("/.slice").kind, CgroupKind::Other);
        let c = classify("/machine.slice/machine-.scope");
        assert_eq!(
            (c.kind, c.name.as_str()),
            (CgroupKind::Scope, "machine-.scope")
        );
    }

    #[test]
    fn unescape() {
        assert_eq!(systemd_unescape(r"a\x2db"), "a-b");
        assert_eq!(systemd_unescape(r"a\x2"), r"a\x2");
        assert_eq!(systemd_unescape(r"a\x00b"), r"a\x00b");
        assert_eq!(systemd_unescape(r"\xff"), r"\xff");
        assert_eq!(systemd_unescape(r"\xc3\xa9"), "é");
    }

    #[test]
    fn mountinfo_parsing() {
        let text = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:1 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
42 31 0:38 / /mnt/with\\040space rw,relatime - cgroup2 cgroup2 rw
garbage line
";
        let h = parse_mountinfo(text);
        assert_eq!(h.len(), 4);
        assert_eq!(h[0].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(
            h[0].kind,
            HierarchyKind::V1 {
                controllers: vec!["cpu".into(), "cpuacct".into()]
            }
        );
        assert!(
            matches!(&h[2].kind, HierarchyKind::V1 { controllers } if controllers.contains(&"name=systemd".to_owned()))
        );
        assert_eq!(h[3].kind, HierarchyKind::V2);
        let s = CgroupScanner::new(h, ScanLimits::default());
        assert_eq!(s.hierarchies()[0].kind, HierarchyKind::V2);
        assert_eq!(
            s.hierarchies()[1].mount_point,
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(
            unescape_mount(r"/mnt/with\040space"),
            Path::new("/mnt/with space")
        );
    }

    #[test]
    fn proc_mounts_parsing() {
        let text = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n\
                    proc /proc proc rw 0 0\n\
                    cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n";
        let h = parse_proc_mounts(text);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].kind, HierarchyKind::V2);
    }

    fn mkdirs(root: &Path, rels: &[&str]) {
        for r in rels {
            fs::create_dir_all(root.join(r.trim_start_matches('/'))).unwrap();
        }
    }

    fn fake_v2() -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("netipc-cg-v2-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        fs::write(root.join("cgroup.controllers"), "cpu memory\n").unwrap();
        mkdirs(
            root,
            &[
                "/init.scope",
                "/system.slice/ssh.service",
                &format!("/system.slice/docker-{ID}.scope/inner"),
                "/user.slice/user-1000.slice/session-2.scope",
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11112222_3333_4444_5555_666677778888.slice/cri-containerd-abcdefabcdef0011.scope",
                "/leafy",
                "/a/b/c/d/e",
            ],
        );
        dir
    }

    #[test]
    fn scan_fake_v2_tree() {
        let dir = fake_v2();
        let scanner = CgroupScanner::from_root(dir.path(), ScanLimits::default());
        assert_eq!(scanner.hierarchies().len(), 1);
        let scan = scanner.scan();
        assert!(!scan.truncated);
        let index = CgroupIndex::from_scan(scan);
        assert_eq!(index.generation(), 1);
        assert!(index.lookup("/").is_none());

        let ssh = index.lookup("/system.slice/ssh.service").unwrap();
        assert_eq!(ssh.name, "ssh.service");
        assert_eq!(ssh.enabled, 1);
        assert_eq!(ssh.options, OPTION_IS_UNIFIED | OPTION_SYSTEM_SLICE_SERVICE);
        assert_eq!(ssh.hash, simple_hash(b"ssh.service"));
        assert_eq!(ssh.fs_path, dir.path().join("system.slice/ssh.service"));

        let docker = index
            .lookup(&format!("/system.slice/docker-{ID}.scope"))
            .unwrap();
        assert_eq!(
            (docker.name.as_str(), docker.enabled),
            ("docker-0123456789ab", 1)
        );
        // Nested inside an enabled container: disabled.
        let inner = index
            .lookup(&format!("/system.slice/docker-{ID}.scope/inner"))
            .unwrap();
        assert_eq!(inner.enabled, 0);

        assert_eq!(index.lookup("/system.slice").unwrap().enabled, 0);
        assert_eq!(index.lookup("/init.scope").unwrap().enabled, 0);
        assert_eq!(
            index.lookup("/user.slice/user-1000.slice").unwrap().enabled,
            1
        );
        assert_eq!(
            index
                .lookup("/user.slice/user-1000.slice/session-2.scope")
                .unwrap()
                .enabled,
            0
        );
        let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11112222_3333_4444_5555_666677778888.slice";
        assert_eq!(index.lookup(pod).unwrap().enabled, 0);
        let ctr = index
            .lookup(&format!("{pod}/cri-containerd-abcdefabcdef0011.scope"))
            .unwrap();
        assert_eq!(ctr.kind, CgroupKind::K8sContainer);
        assert_eq!(ctr.enabled, 1);
        assert_eq!(
            ctr.name,
            "k8s_pod_11112222-3333-4444-5555-666677778888_abcdefabcdef"
        );
        // Unclassified: only leaves are enabled.
        assert_eq!(index.lookup("/leafy").unwrap().enabled, 1);
        assert_eq!(index.lookup("/a/b").unwrap().enabled, 0);
        assert_eq!(index.lookup("/a/b/c/d/e").unwrap().enabled, 1);
        // Sorted and unique by path.
        let paths: Vec<&str> = index.items().iter().map(|c| c.path.as_str()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(paths, sorted);

        // Same set: same generation. A new cgroup: next generation.
        assert!(!index.clone().update(scanner.scan()));
        let mut index2 = index.clone();
        index2.update(scanner.scan());
        assert_eq!(index2.generation(), 1);
        fs::create_dir(dir.path().join("system.slice/new.service")).unwrap();
        assert!(index2.update(scanner.scan()));
        assert_eq!(index2.generation(), 2);
        assert!(index2.lookup("/system.slice/new.service").is_some());
        fs::remove_dir(dir.path().join("system.slice/new.service")).unwrap();
        assert!(index2.update(scanner.scan()));
        assert_eq!(index2.generation(), 3);
        assert!(index2.lookup("/system.slice/new.service").is_none());
    }

    #[test]
    fn scan_limits_depth_and_count() {
        let dir = fake_v2();
        let s = CgroupScanner::from_root(
            dir.path(),
            ScanLimits {
                max_cgroups: 1000,
                max_depth: 2,
            },
        );
        let scan = s.scan();
        assert!(scan.truncated);
        assert!(
            scan.cgroups
                .iter()
                .all(|c| c.path.matches('/').count() <= 2)
        );
        assert!(scan.cgroups.iter().any(|c| c.path == "/a/b"));
        let s = CgroupScanner::from_root(
            dir.path(),
            ScanLimits {
                max_cgroups: 3,
                max_depth: 32,
            },
        );
        let scan = s.scan();
        assert!(scan.truncated);
        assert_eq!(scan.cgroups.len(), 3);
    }

    #[test]
    fn scan_skips_symlinks_and_files() {
        let dir = tempfile::Builder::new()
            .prefix("netipc-cg-link-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        fs::write(root.join("cgroup.controllers"), "").unwrap();
        mkdirs(root, &["/real.service"]);
        std::os::unix::fs::symlink("/", root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("real.service"), root.join("loop.service")).unwrap();
        fs::write(root.join("real.service/cgroup.procs"), "1\n").unwrap();
        let index =
            CgroupIndex::from_scan(CgroupScanner::from_root(root, ScanLimits::default()).scan());
        let paths: Vec<&str> = index.items().iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["/real.service"]);
    }

    #[test]
    fn scan_v1_union_and_duplicate_names() {
        let dir = tempfile::Builder::new()
            .prefix("netipc-cg-v1-")
            .tempdir()
            .unwrap();
        let root = dir.path();
        mkdirs(
            root,
            &[
                "/cpu,cpuacct/docker/0123456789abcdef0123",
                "/memory/docker/0123456789abcdef0123",
                "/memory/only_in_memory",
                "/memory/system.slice/foo.service",
                "/memory/other.slice/foo.service",
                "/unified/init.scope",
            ],
        );
        let scanner = CgroupScanner::from_root(root, ScanLimits::default());
        assert_eq!(scanner.hierarchies().len(), 3);
        assert_eq!(scanner.hierarchies()[0].kind, HierarchyKind::V2);
        let index = CgroupIndex::from_scan(scanner.scan());
        let d = index.lookup("/docker/0123456789abcdef0123").unwrap();
        assert!(d.fs_path.starts_with(root.join("cpu,cpuacct")));
        assert_eq!(d.options & OPTION_IS_UNIFIED, 0);
        assert_eq!(
            index.lookup("/init.scope").unwrap().options,
            OPTION_IS_UNIFIED
        );
        assert!(index.lookup("/only_in_memory").is_some());
        // Two foo.service: the first in path order keeps the name.
        assert_eq!(
            index.lookup("/other.slice/foo.service").unwrap().name,
            "foo.service"
        );
        let second = index.lookup("/system.slice/foo.service").unwrap();
        assert_eq!(second.name, "system.slice/foo.service");
        assert_eq!(second.hash, simple_hash(b"system.slice/foo.service"));
    }

    #[test]
    fn scan_missing_root_is_empty() {
        let s =
            CgroupScanner::from_root(Path::new("/nonexistent/netipc/test"), ScanLimits::default());
        assert!(s.scan().cgroups.is_empty());
        let s = CgroupScanner::new(
            vec![Hierarchy {
                mount_point: PathBuf::from("/nonexistent/netipc/test"),
                kind: HierarchyKind::V2,
            }],
            ScanLimits::default(),
        );
        let scan = s.scan();
        assert!(scan.cgroups.is_empty());
        assert_eq!(scan.skipped, 1);
    }

    #[test]
    fn scan_real_host_does_not_panic() {
        let s = CgroupScanner::discover(ScanLimits {
            max_cgroups: 5000,
            max_depth: 8,
        });
        let index = CgroupIndex::from_scan(s.scan());
        for c in index.items() {
            assert!(c.path.starts_with('/') && c.path.len() > 1);
            assert_eq!(index.lookup(&c.path).map(|x| &x.name), Some(&c.name));
        }
    }

    proptest::proptest! {
        #[test]
        fn classify_never_panics(path in r"(/[-a-z0-9_.@\\x]{0,12}){0,6}", raw in ".{0,60}") {
            for p in [path.as_str(), raw.as_str()] {
                let c = classify(p);
                proptest::prop_assert!(!c.name.is_empty());
                let _ = systemd_unescape(p);
                let _ = parse_mountinfo(p);
                let _ = parse_proc_mounts(p);
                let _ = unescape_mount(p);
            }
        }
    }
}
