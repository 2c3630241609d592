//! Unit tests of cgroup scanning, classification and mount parsing.

use super::mounts::unescape_mount;
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
    let s = CgroupScanner::from_root(Path::new("/nonexistent/netipc/test"), ScanLimits::default());
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
