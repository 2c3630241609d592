//! Discovery of the mounted cgroup hierarchies (mountinfo, /proc/mounts).

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use super::{Hierarchy, HierarchyKind};

/// Reads a small text file (at most 1 MiB), lossily as UTF-8.
pub(super) fn read_small(path: &str) -> Option<String> {
    use std::io::Read;
    let f = fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(1 << 20).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Undoes the octal escapes (`\040`, ...) of mount tables.
pub(super) fn unescape_mount(s: &str) -> PathBuf {
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
