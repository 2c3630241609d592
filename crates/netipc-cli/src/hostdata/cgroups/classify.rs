//! Naming and classification of cgroup paths (systemd units, containers,
//! Kubernetes pods), with the labels each kind carries.

use netipc::codec::lookup::Orchestrator;

use super::{CgroupKind, Classification};

pub(super) fn parent_of(path: &str) -> Option<&str> {
    let i = path.rfind('/')?;
    if i == 0 { None } else { Some(&path[..i]) }
}

/// Proper ancestors of `path` (below the root), nearest first.
pub(super) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
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
