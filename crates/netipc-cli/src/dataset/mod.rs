//! JSON datasets: the shapes printed by the client commands with `--json`
//! and read back by `netipc serve --data FILE.json` (record and replay).
//! `docs/dataset.md` documents them with examples.
//!
//! Three shapes, with the specification's field names:
//!
//! - [`Snapshot`]: a `cgroups-snapshot` response.
//! - [`CgroupsLookup`]: `cgroups-lookup` response items, keyed by `path`.
//! - [`AppsLookup`]: `apps-lookup` response items, keyed by `pid`.
//!
//! Output (`serde::Serialize`) always has every field. Enum values are
//! their specification names; an orchestrator this program does not know
//! is printed as its number; `uid` [`UID_UNSET`] is printed as
//! `"NIPC_UID_UNSET"`. The enums,
//! [`simple_hash`](netipc::codec::cgroups_snapshot::simple_hash) and
//! [`UID_UNSET`] are the library's (`netipc::codec`); this module only adds
//! their JSON spelling.
//!
//! The `codec` submodule converts between these shapes and the codec's
//! owned types, views and response builders: servers fill builders from a
//! dataset, clients print decoded responses as a dataset.
//!
//! Input goes through [`parse_snapshot`], [`parse_cgroups_lookup`],
//! [`parse_apps_lookup`] (or the `load_*` functions for files, or
//! [`load_any`]), which check the JSON syntax, reject duplicate object keys
//! and unknown fields, require every field (except a snapshot item's
//! `hash`, computed with `simple_hash(name)` when missing), and then
//! [`validate`](Snapshot::validate) the rules of the specification. Every
//! error names the JSON location and the rule, e.g.
//! `items[3].comm: must be 1..15 bytes for a KNOWN pid (got 0)`.

mod codec;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

pub use parse::{
    Dataset, load_any, load_apps_lookup, load_cgroups_lookup, load_snapshot, parse_any,
    parse_apps_lookup, parse_cgroups_lookup, parse_snapshot, to_json_pretty,
};

use std::fmt;

use netipc::codec::apps_lookup::UID_UNSET;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, Orchestrator, PidStatus};
use serde::Serialize;

use crate::hostdata::HostProvider;
use crate::hostdata::cgroups::{CgroupIndex, CgroupInfo};
use crate::hostdata::procs::ProcInfo;
use crate::json::JsonError;

/// The JSON spelling of [`UID_UNSET`].
pub const UID_UNSET_NAME: &str = "NIPC_UID_UNSET";

/// A dataset that cannot be used, with where and why (file, JSON location,
/// rule).
pub type DatasetError = JsonError;

type Res<T> = Result<T, DatasetError>;

/// Serializes an enum by its specification name (`Display` of the
/// library's wire enums).
fn serialize_name<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Serializes a raw orchestrator value: its specification name, or the
/// number when this program does not know it.
fn serialize_orchestrator<S: serde::Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    match Orchestrator::from_u16(*v) {
        Some(o) => s.serialize_str(o.as_str()),
        None => s.serialize_u16(*v),
    }
}

/// The raw value of [`Orchestrator::Unknown`].
const ORCH_UNKNOWN: u16 = Orchestrator::Unknown.as_u16();

/// A label: `[key, value]` in JSON.
pub type Label = (String, String);

/// A `cgroups-snapshot` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Snapshot {
    /// Snapshot generation.
    pub generation: u64,
    /// 1 when systemd cgroup integration is active.
    pub systemd_enabled: u32,
    /// The cgroups.
    pub items: Vec<SnapshotItem>,
}

/// One snapshot item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotItem {
    /// `simple_hash(name)` as computed by the producer (opaque to consumers).
    pub hash: u32,
    /// Cgroup option flags.
    pub options: u32,
    /// Whether the cgroup is enabled.
    pub enabled: u32,
    /// The cgroup name.
    pub name: String,
    /// The cgroup path.
    pub path: String,
}

/// `cgroups-lookup` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct CgroupsLookup {
    /// Service generation.
    pub generation: u64,
    /// One item per path.
    pub items: Vec<CgroupLookupItem>,
}

/// One `cgroups-lookup` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupLookupItem {
    /// The cgroup path (the key).
    pub path: String,
    /// The per-item status.
    #[serde(serialize_with = "serialize_name")]
    pub status: LookupStatus,
    /// The raw orchestrator value (see [`Orchestrator`]; UNKNOWN unless
    /// KNOWN). Values this program does not know are kept.
    #[serde(serialize_with = "serialize_orchestrator")]
    pub orchestrator: u16,
    /// The cgroup name (empty unless KNOWN).
    pub name: String,
    /// Labels (empty unless KNOWN).
    pub labels: Vec<Label>,
}

impl CgroupLookupItem {
    /// A non-KNOWN answer for `path`.
    pub fn unknown(path: impl Into<String>, status: LookupStatus) -> Self {
        Self {
            path: path.into(),
            status,
            orchestrator: ORCH_UNKNOWN,
            name: String::new(),
            labels: Vec::new(),
        }
    }

    /// The KNOWN answer for an indexed host cgroup.
    pub fn from_info(info: &CgroupInfo) -> Self {
        Self {
            path: info.path.clone(),
            status: LookupStatus::Known,
            orchestrator: info.orchestrator.as_u16(),
            name: info.name.clone(),
            labels: info.labels.clone(),
        }
    }
}

/// `apps-lookup` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct AppsLookup {
    /// Service generation.
    pub generation: u64,
    /// One item per PID.
    pub items: Vec<AppsLookupItem>,
}

/// One `apps-lookup` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppsLookupItem {
    /// The PID (the key).
    pub pid: u32,
    /// The PID status.
    #[serde(serialize_with = "serialize_name")]
    pub status: PidStatus,
    /// The cgroup status (KNOWN, value 0, when the PID is not KNOWN).
    #[serde(serialize_with = "serialize_name")]
    pub cgroup_status: CgroupStatus,
    /// The raw orchestrator value of the PID's cgroup (see
    /// [`Orchestrator`]).
    #[serde(serialize_with = "serialize_orchestrator")]
    pub orchestrator: u16,
    /// Parent PID.
    pub ppid: u32,
    /// Real uid, or [`UID_UNSET`].
    #[serde(serialize_with = "serialize_uid")]
    pub uid: u32,
    /// `/proc/PID/stat` field 22 (jiffies since boot).
    pub starttime: u64,
    /// Command name, 1..15 bytes for a KNOWN PID.
    pub comm: String,
    /// The PID's cgroup path.
    pub cgroup_path: String,
    /// The PID's cgroup name.
    pub cgroup_name: String,
    /// The cgroup's labels.
    pub labels: Vec<Label>,
}

fn serialize_uid<S: serde::Serializer>(uid: &u32, s: S) -> Result<S::Ok, S::Error> {
    if *uid == UID_UNSET {
        s.serialize_str(UID_UNSET_NAME)
    } else {
        s.serialize_u32(*uid)
    }
}

impl AppsLookupItem {
    /// A non-KNOWN answer for `pid` (every other field empty).
    pub fn unknown(pid: u32, status: PidStatus) -> Self {
        Self {
            pid,
            status,
            cgroup_status: CgroupStatus::Known,
            orchestrator: ORCH_UNKNOWN,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: String::new(),
            cgroup_path: String::new(),
            cgroup_name: String::new(),
            labels: Vec::new(),
        }
    }

    /// The KNOWN answer for a host process, joined with the cgroup index
    /// (see [`ProcInfo::cgroup_status`]).
    pub fn from_proc(p: &ProcInfo, index: &CgroupIndex) -> Self {
        let (cgroup_status, info) = p.cgroup_status(index);
        let mut item = Self {
            pid: p.pid,
            status: PidStatus::Known,
            cgroup_status,
            orchestrator: ORCH_UNKNOWN,
            ppid: p.ppid,
            uid: p.uid,
            starttime: p.starttime,
            comm: p.comm.clone(),
            cgroup_path: String::new(),
            cgroup_name: String::new(),
            labels: Vec::new(),
        };
        match cgroup_status {
            CgroupStatus::Known => {
                if let Some(info) = info {
                    item.orchestrator = info.orchestrator.as_u16();
                    item.cgroup_path = info.path.clone();
                    item.cgroup_name = info.name.clone();
                    item.labels = info.labels.clone();
                }
            }
            CgroupStatus::UnknownRetryLater | CgroupStatus::UnknownPermanent => {
                item.cgroup_path = p.cgroup_path.clone().unwrap_or_default();
            }
            CgroupStatus::HostRoot => {}
        }
        item
    }
}

impl Snapshot {
    /// The snapshot of the host's last scan: every indexed cgroup, in path
    /// order.
    pub fn from_host(host: &HostProvider) -> Self {
        Self {
            generation: host.generation(),
            systemd_enabled: host.systemd_enabled(),
            items: host
                .cgroups()
                .items()
                .iter()
                .map(|c| SnapshotItem {
                    hash: c.hash,
                    options: c.options,
                    enabled: c.enabled,
                    name: c.name.clone(),
                    path: c.path.clone(),
                })
                .collect(),
        }
    }
}

impl CgroupsLookup {
    /// A KNOWN answer for every cgroup of the host's last scan.
    pub fn from_host(host: &HostProvider) -> Self {
        Self {
            generation: host.generation(),
            items: host
                .cgroups()
                .items()
                .iter()
                .map(CgroupLookupItem::from_info)
                .collect(),
        }
    }
}

impl AppsLookup {
    /// A KNOWN answer for every process of the host's last scan, in PID
    /// order.
    pub fn from_host(host: &HostProvider) -> Self {
        Self {
            generation: host.generation(),
            items: host
                .procs()
                .sorted()
                .into_iter()
                .map(|p| AppsLookupItem::from_proc(p, host.cgroups()))
                .collect(),
        }
    }
}
