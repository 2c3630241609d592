//! Deterministic, production-shaped cgroups data for tests and benchmarks.
//!
//! [`cgroups_corpus`] produces the kinds of cgroups a real `cgroups.plugin`
//! reports on a busy cgroup v2 host: systemd services, Docker and Podman
//! containers, Kubernetes pods and containers (every QoS class), user
//! sessions and libvirt/qemu machines. Output depends only on `(n, seed)`
//! (a private xorshift64* generator, no external RNG), names are unique,
//! each item's name is its cgroup path relative to [`CGROUP_ROOT`] (as in
//! the conformance vectors), its path is the absolute cgroup directory and
//! its hash is [`simple_hash`]`(name)`.
//!
//! [`bench_snapshot_items`] is the fixed 16-item snapshot of the benchmark
//! specification.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::cgroups_snapshot::{CgroupItem, CgroupsSnapshot, simple_hash};

/// Netdata `CGROUP_OPTIONS_DISABLED_DUPLICATE`: a duplicate of another cgroup.
pub const CGROUP_OPTIONS_DISABLED_DUPLICATE: u32 = 0x01;
/// Netdata `CGROUP_OPTIONS_SYSTEM_SLICE_SERVICE`: a `system.slice` service.
pub const CGROUP_OPTIONS_SYSTEM_SLICE_SERVICE: u32 = 0x02;
/// Netdata `CGROUP_OPTIONS_IS_UNIFIED`: found on the cgroup v2 hierarchy.
pub const CGROUP_OPTIONS_IS_UNIFIED: u32 = 0x04;

/// Mount point of the unified cgroup hierarchy.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Number of items of the benchmark snapshot.
pub const BENCH_SNAPSHOT_ITEMS: usize = 16;
/// Hash of benchmark item 0; item `i` has `BENCH_HASH_BASE + i`.
pub const BENCH_HASH_BASE: u32 = 1000;

/// Real service unit names seen on typical servers.
const SERVICES: &[&str] = &[
    "sshd",
    "cron",
    "dbus",
    "systemd-journald",
    "systemd-logind",
    "systemd-udevd",
    "systemd-resolved",
    "systemd-networkd",
    "systemd-timesyncd",
    "containerd",
    "docker",
    "kubelet",
    "netdata",
    "nginx",
    "postgresql",
    "mysql",
    "redis-server",
    "rsyslog",
    "polkit",
    "chronyd",
    "NetworkManager",
    "ModemManager",
    "accounts-daemon",
    "avahi-daemon",
    "bluetooth",
    "cups",
    "irqbalance",
    "lvm2-lvmetad",
    "multipathd",
    "snapd",
    "udisks2",
    "unattended-upgrades",
    "haproxy",
    "memcached",
    "prometheus-node-exporter",
    "libvirtd",
    "virtlogd",
    "auditd",
    "firewalld",
    "tuned",
];

/// Template units instantiated once the plain service names run out.
const TEMPLATES: &[&str] = &[
    "getty",
    "serial-getty",
    "openvpn-client",
    "wg-quick",
    "worker",
    "php-fpm-pool",
];

/// libvirt guest names.
const VMS: &[&str] = &[
    "web",
    "db",
    "win11",
    "build",
    "ci-runner",
    "ubuntu2404",
    "fedora",
];

/// Kubernetes QoS classes; guaranteed pods sit directly under `kubepods.slice`.
const QOS: &[Option<&str>] = &[Some("burstable"), Some("besteffort"), None];

/// Login users.
const UIDS: &[u32] = &[0, 1000, 1001, 1002, 1003];

/// xorshift64* (Vigna), seeded through splitmix64 so that any seed works.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }

    /// Appends `n` lowercase hex digits.
    fn hex(&mut self, s: &mut String, n: usize) {
        let mut left = n;
        while left > 0 {
            let take = left.min(16);
            let v = self.next();
            let _ = write!(s, "{:016x}", v);
            s.truncate(s.len() - (16 - take));
            left -= take;
        }
    }

    /// Appends a UUID with `sep` between groups (`_` in systemd slice names).
    fn uuid(&mut self, s: &mut String, sep: char) {
        for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                s.push(sep);
            }
            self.hex(s, n);
        }
    }
}

/// Counters that make the non-random kinds unique.
#[derive(Debug, Default)]
struct Counters {
    service: usize,
    session: usize,
    vm: usize,
}

/// Produces the relative cgroup name of the next item and its option bits.
fn next_name(rng: &mut Rng, c: &mut Counters) -> (String, u32) {
    let mut s = String::with_capacity(160);
    let mut options = CGROUP_OPTIONS_IS_UNIFIED;
    match rng.below(100) {
        // systemd services
        0..30 => {
            options |= CGROUP_OPTIONS_SYSTEM_SLICE_SERVICE;
            s.push_str("system.slice/");
            match SERVICES.get(c.service) {
                Some(svc) => {
                    let _ = write!(s, "{svc}.service");
                }
                None => {
                    let k = c.service - SERVICES.len();
                    let _ = write!(
                        s,
                        "{}@{}.service",
                        TEMPLATES[k % TEMPLATES.len()],
                        k / TEMPLATES.len()
                    );
                }
            }
            c.service += 1;
        }
        // Docker containers
        30..48 => {
            s.push_str("system.slice/docker-");
            rng.hex(&mut s, 64);
            s.push_str(".scope");
        }
        // Podman containers
        48..56 => {
            s.push_str("machine.slice/libpod-");
            rng.hex(&mut s, 64);
            s.push_str(".scope");
        }
        // Kubernetes pods (20%) and their containers
        56..82 => {
            s.push_str("kubepods.slice/");
            let qos = *rng.pick(QOS);
            match qos {
                Some(q) => {
                    let _ = write!(s, "kubepods-{q}.slice/kubepods-{q}-pod");
                }
                None => s.push_str("kubepods-pod"),
            }
            rng.uuid(&mut s, '_');
            s.push_str(".slice");
            if rng.below(5) != 0 {
                s.push_str("/cri-containerd-");
                rng.hex(&mut s, 64);
                s.push_str(".scope");
            }
        }
        // user sessions
        82..92 => {
            let uid = *rng.pick(UIDS);
            c.session += 1;
            let _ = write!(s, "user.slice/user-{uid}.slice/session-{}.scope", c.session);
        }
        // libvirt / qemu machines (systemd escapes '-' as \x2d)
        _ => {
            c.vm += 1;
            let vm = *rng.pick(VMS);
            let _ = write!(s, "machine.slice/machine-qemu\\x2d{}\\x2d{vm}.scope", c.vm);
        }
    }
    (s, options)
}

/// Returns `n` unique, production-shaped cgroup items, deterministic in
/// `(n, seed)`.
///
/// About 85% are enabled and 3% are marked
/// [`CGROUP_OPTIONS_DISABLED_DUPLICATE`] (and disabled). The sequence for
/// a smaller `n` is a prefix of the sequence for a larger `n`.
pub fn cgroups_corpus(n: usize, seed: u64) -> Vec<CgroupItem> {
    let mut rng = Rng::new(seed);
    let mut counters = Counters::default();
    let mut seen: HashSet<String> = HashSet::with_capacity(n);
    let mut items = Vec::with_capacity(n);
    while items.len() < n {
        let (name, mut options) = next_name(&mut rng, &mut counters);
        if !seen.insert(name.clone()) {
            continue;
        }
        let roll = rng.below(100);
        let enabled = u32::from(roll >= 15);
        if roll < 3 {
            options |= CGROUP_OPTIONS_DISABLED_DUPLICATE;
        }
        let path = format!("{CGROUP_ROOT}/{name}");
        items.push(CgroupItem {
            hash: simple_hash(name.as_bytes()),
            options,
            enabled,
            name: name.into_bytes(),
            path: path.into_bytes(),
        });
    }
    items
}

/// A snapshot of [`cgroups_corpus`]`(n, seed)` with `systemd_enabled = 1`
/// and the given `generation`.
pub fn cgroups_corpus_snapshot(n: usize, seed: u64, generation: u64) -> CgroupsSnapshot {
    CgroupsSnapshot {
        systemd_enabled: 1,
        generation,
        items: cgroups_corpus(n, seed),
    }
}

/// The 16 items of the benchmark snapshot: item `i` has hash `1000 + i`,
/// options 0, enabled `i % 2`, name `cgroup-{i}` and path
/// `/sys/fs/cgroup/bench/cg-{i}`.
pub fn bench_snapshot_items() -> Vec<CgroupItem> {
    (0..BENCH_SNAPSHOT_ITEMS)
        .map(|i| CgroupItem {
            hash: BENCH_HASH_BASE + i as u32,
            options: 0,
            enabled: (i % 2) as u32,
            name: format!("cgroup-{i}").into_bytes(),
            path: format!("{CGROUP_ROOT}/bench/cg-{i}").into_bytes(),
        })
        .collect()
}

/// The benchmark snapshot: [`bench_snapshot_items`] with
/// `systemd_enabled = 1` and the given `generation` (the benchmark server
/// increases it by one per call).
pub fn bench_snapshot(generation: u64) -> CgroupsSnapshot {
    CgroupsSnapshot {
        systemd_enabled: 1,
        generation,
        items: bench_snapshot_items(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_prefix_stable() {
        let a = cgroups_corpus(500, 7);
        assert_eq!(a, cgroups_corpus(500, 7));
        assert_eq!(&a[..100], &cgroups_corpus(100, 7)[..]);
        assert_ne!(a, cgroups_corpus(500, 8));
        assert!(cgroups_corpus(0, 1).is_empty());
    }

    #[test]
    fn items_are_well_formed_and_unique() {
        let items = cgroups_corpus(5000, 42);
        assert_eq!(items.len(), 5000);
        let names: HashSet<&[u8]> = items.iter().map(|i| &i.name[..]).collect();
        assert_eq!(names.len(), items.len());
        for it in &items {
            let name = it.name_str().unwrap();
            let path = it.path_str().unwrap();
            assert_eq!(it.hash, simple_hash(&it.name));
            assert_eq!(path, format!("{CGROUP_ROOT}/{name}"));
            assert!(!it.name.contains(&0));
            assert!(it.options & CGROUP_OPTIONS_IS_UNIFIED != 0);
            assert!(it.enabled <= 1);
            if it.options & CGROUP_OPTIONS_DISABLED_DUPLICATE != 0 {
                assert_eq!(it.enabled, 0);
            }
            assert!(
                name.ends_with(".scope") || name.ends_with(".service") || name.ends_with(".slice"),
                "{name}"
            );
        }
    }

    #[test]
    fn covers_every_kind() {
        let items = cgroups_corpus(2000, 1);
        let has = |pat: &str| items.iter().any(|i| i.name_str().unwrap().contains(pat));
        for pat in [
            ".service",
            "@0.service",
            "system.slice/docker-",
            "machine.slice/libpod-",
            "kubepods-burstable-pod",
            "kubepods-besteffort-pod",
            "kubepods.slice/kubepods-pod",
            "/cri-containerd-",
            "user.slice/user-1000.slice/session-",
            "machine.slice/machine-qemu\\x2d",
        ] {
            assert!(has(pat), "missing {pat}");
        }
        let docker = items
            .iter()
            .find_map(|i| {
                i.name_str()
                    .unwrap()
                    .strip_prefix("system.slice/docker-")
                    .map(str::to_owned)
            })
            .unwrap();
        assert_eq!(docker.len(), 64 + ".scope".len());
        assert!(docker[..64].bytes().all(|b| b.is_ascii_hexdigit()));
        let services = items
            .iter()
            .filter(|i| i.options & CGROUP_OPTIONS_SYSTEM_SLICE_SERVICE != 0);
        assert!(services.clone().count() > 400);
        assert!(
            services
                .clone()
                .all(|i| i.name.starts_with(b"system.slice/"))
        );
        assert!(items.iter().any(|i| i.enabled == 0));
    }

    #[test]
    fn pod_uuid_shape() {
        let items = cgroups_corpus(1000, 3);
        let pod = items
            .iter()
            .filter_map(|i| i.name_str())
            .find_map(|n| n.split("-pod").nth(1))
            .unwrap();
        let uuid = &pod[..36];
        let groups: Vec<usize> = uuid.split('_').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn bench_items_match_spec() {
        let items = bench_snapshot_items();
        assert_eq!(items.len(), 16);
        assert_eq!(items[0].name, b"cgroup-0");
        assert_eq!(items[15].path, b"/sys/fs/cgroup/bench/cg-15");
        for (i, it) in items.iter().enumerate() {
            assert_eq!(it.hash, 1000 + i as u32);
            assert_eq!(it.options, 0);
            assert_eq!(it.enabled, (i % 2) as u32);
        }
        let snap = bench_snapshot(5);
        assert_eq!((snap.systemd_enabled, snap.generation), (1, 5));
        assert_eq!(cgroups_corpus_snapshot(3, 9, 2).items, cgroups_corpus(3, 9));
    }
}
