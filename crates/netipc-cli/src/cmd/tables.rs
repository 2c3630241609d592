//! Human-readable tables of the dataset shapes (what the client commands
//! and `netipc demo` print without `--json`). Strings from a peer are
//! printed with control characters escaped.

use std::borrow::Cow;
use std::io::{self, Write};

use netipc::codec::apps_lookup::UID_UNSET;
use netipc::codec::lookup::Orchestrator;

use crate::dataset::{AppsLookupItem, CgroupLookupItem, Label, Snapshot, SnapshotItem};

/// `s` with control characters escaped (`\n`, `\u{1b}`, ...).
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(s.chars().flat_map(char::escape_debug).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// An orchestrator's name, or its number when unknown to this program.
pub fn orchestrator(v: u16) -> String {
    Orchestrator::from_u16(v).map_or_else(|| v.to_string(), |o| o.as_str().to_owned())
}

/// Labels as `k=v,k=v`.
pub fn labels(labels: &[Label]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A uid, `-` when unset.
pub fn uid(uid: u32) -> String {
    if uid == UID_UNSET {
        "-".to_owned()
    } else {
        uid.to_string()
    }
}

/// The header line of a snapshot.
pub fn snapshot_header(out: &mut impl Write, s: &Snapshot) -> io::Result<()> {
    writeln!(
        out,
        "generation {} systemd_enabled {} items {}",
        s.generation,
        s.systemd_enabled,
        s.items.len()
    )
}

/// Snapshot items as a table.
pub fn snapshot_items(out: &mut impl Write, items: &[SnapshotItem]) -> io::Result<()> {
    writeln!(
        out,
        "{:<10} {:>7} {:>7} {:<40} PATH",
        "HASH", "OPTIONS", "ENABLED", "NAME"
    )?;
    for i in items {
        writeln!(
            out,
            "{:<10} {:>7} {:>7} {:<40} {}",
            format!("{:08x}", i.hash),
            format!("{:#x}", i.options),
            i.enabled,
            clean(&i.name),
            clean(&i.path)
        )?;
    }
    Ok(())
}

/// Cgroups lookup answers as a table.
pub fn cgroups_items(out: &mut impl Write, items: &[CgroupLookupItem]) -> io::Result<()> {
    writeln!(
        out,
        "{:<19} {:<8} {:<30} {:<50} LABELS",
        "STATUS", "ORCH", "NAME", "PATH"
    )?;
    for i in items {
        writeln!(
            out,
            "{:<19} {:<8} {:<30} {:<50} {}",
            i.status.as_str(),
            orchestrator(i.orchestrator),
            clean(&i.name),
            clean(&i.path),
            labels(&i.labels)
        )?;
    }
    Ok(())
}

/// Apps lookup answers as a table.
pub fn apps_items(out: &mut impl Write, items: &[AppsLookupItem]) -> io::Result<()> {
    writeln!(
        out,
        "{:>8} {:<14} {:>8} {:>6} {:>10} {:<15} {:<19} {:<8} {:<24} {:<40} LABELS",
        "PID",
        "STATUS",
        "PPID",
        "UID",
        "STARTTIME",
        "COMM",
        "CGROUP_STATUS",
        "ORCH",
        "CGROUP_NAME",
        "CGROUP_PATH"
    )?;
    for i in items {
        writeln!(
            out,
            "{:>8} {:<14} {:>8} {:>6} {:>10} {:<15} {:<19} {:<8} {:<24} {:<40} {}",
            i.pid,
            i.status.as_str(),
            i.ppid,
            uid(i.uid),
            i.starttime,
            clean(&i.comm),
            i.cgroup_status.as_str(),
            orchestrator(i.orchestrator),
            clean(&i.cgroup_name),
            clean(&i.cgroup_path),
            labels(&i.labels)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netipc::codec::lookup::{LookupStatus, PidStatus};

    #[test]
    fn cleaning_and_tables() {
        assert_eq!(clean("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(orchestrator(2), "DOCKER");
        assert_eq!(orchestrator(999), "999");
        assert_eq!(uid(UID_UNSET), "-");
        let mut out = Vec::new();
        cgroups_items(
            &mut out,
            &[CgroupLookupItem::unknown(
                "/x\n",
                LookupStatus::UnknownPermanent,
            )],
        )
        .unwrap();
        apps_items(&mut out, &[AppsLookupItem::unknown(5, PidStatus::Unknown)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("UNKNOWN_PERMANENT"), "{text}");
        assert!(text.contains("/x\\n"), "{text}");
        assert_eq!(text.lines().count(), 4);
    }
}
