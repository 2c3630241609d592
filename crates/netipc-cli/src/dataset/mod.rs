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
//! `"NIPC_UID_UNSET"`. The enums, [`simple_hash`] and [`UID_UNSET`] are the
//! library's (`netipc::codec`); this module only adds their JSON spelling.
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

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use netipc::codec::apps_lookup::{APPS_LOOKUP_COMM_MAX_LEN, UID_UNSET};
use netipc::codec::cgroups_snapshot::simple_hash;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, Orchestrator, PidStatus};
use serde::Serialize;
use serde_json::Value;

use crate::hostdata::HostProvider;
use crate::hostdata::cgroups::{CgroupIndex, CgroupInfo};
use crate::hostdata::procs::ProcInfo;
use crate::json::{JsonError, Obj, as_string, as_u32, as_u64, parse_tree};

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

// ---------------------------------------------------------------------------
// Dataset fields

/// Every specification name of a wire enum, comma separated, in wire order.
macro_rules! names_list {
    ($ty:ty) => {
        <$ty>::ALL
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
}

macro_rules! parse_status {
    ($obj:expr, $key:expr, $ty:ty) => {{
        let loc = $obj.loc($key);
        match $obj.req($key)? {
            Value::String(s) => <$ty>::from_name(s).ok_or_else(|| {
                DatasetError::new(
                    loc,
                    format!(
                        "unknown status `{s}` (expected one of {})",
                        names_list!($ty)
                    ),
                )
            }),
            _ => Err(DatasetError::new(
                loc,
                format!("must be a status name ({})", names_list!($ty)),
            )),
        }
    }};
}

/// The dataset-specific field types.
impl Obj<'_> {
    fn labels(&self, key: &str) -> Res<Vec<Label>> {
        let loc = self.loc(key);
        let mut out = Vec::new();
        for (j, l) in self.array(key)?.iter().enumerate() {
            let lloc = format!("{loc}[{j}]");
            match l.as_array().map(Vec::as_slice) {
                Some([k, v]) => out.push((
                    as_string(k, &format!("{lloc}[0]"))?,
                    as_string(v, &format!("{lloc}[1]"))?,
                )),
                _ => {
                    return Err(DatasetError::new(
                        lloc,
                        "a label must be a [\"key\", \"value\"] array of two strings",
                    ));
                }
            }
        }
        Ok(out)
    }

    fn orchestrator(&self, key: &str) -> Res<u16> {
        let loc = self.loc(key);
        match self.req(key)? {
            Value::String(s) => Orchestrator::from_name(s)
                .map(Orchestrator::as_u16)
                .ok_or_else(|| {
                    DatasetError::new(
                        loc,
                        format!(
                            "unknown orchestrator `{s}` (expected one of {}, or a number 0..65535)",
                            names_list!(Orchestrator)
                        ),
                    )
                }),
            v @ Value::Number(_) => {
                let n = as_u64(v, &loc)?;
                u16::try_from(n)
                    .map_err(|_| DatasetError::new(loc, "orchestrator number must be 0..65535"))
            }
            _ => Err(DatasetError::new(
                loc,
                "must be an orchestrator name or a number 0..65535",
            )),
        }
    }

    fn uid(&self, key: &str) -> Res<u32> {
        let loc = self.loc(key);
        match self.req(key)? {
            Value::String(s) if s == UID_UNSET_NAME => Ok(UID_UNSET),
            v @ Value::Number(_) => as_u32(v, &loc),
            _ => Err(DatasetError::new(
                loc,
                format!("must be a number 0..4294967295 or \"{UID_UNSET_NAME}\""),
            )),
        }
    }
}

fn items_of<'a>(
    root: &'a Value,
    path: &str,
    top_fields: &[&str],
) -> Res<(Obj<'a>, &'a Vec<Value>)> {
    let top = Obj::new(root, path.to_owned(), top_fields)?;
    let items = top.array("items")?;
    Ok((top, items))
}

/// The location of item `i` of the object at `top`.
fn item_loc(top: &Obj<'_>, i: usize) -> String {
    format!("{}[{i}]", top.loc("items"))
}

// ---------------------------------------------------------------------------
// Parsing

/// Parses and validates a snapshot dataset.
pub fn parse_snapshot(text: &str) -> Res<Snapshot> {
    snapshot_from_value(&parse_tree(text)?)
}

fn snapshot_from_value(root: &Value) -> Res<Snapshot> {
    let s = Snapshot::from_json(root, "")?;
    s.validate()?;
    Ok(s)
}

impl Snapshot {
    /// Reads the snapshot shape from the JSON value at location `path`
    /// (empty for a whole document): every field present with its type, no
    /// other field, and a missing `hash` computed as `simple_hash(name)`.
    /// The serving rules of [`Snapshot::validate`] are not applied.
    pub fn from_json(root: &Value, path: &str) -> Res<Snapshot> {
        let (top, items) = items_of(root, path, &["generation", "systemd_enabled", "items"])?;
        let mut out = Snapshot {
            generation: top.u64("generation")?,
            systemd_enabled: top.u32("systemd_enabled")?,
            items: Vec::with_capacity(items.len()),
        };
        for (i, v) in items.iter().enumerate() {
            let o = Obj::new(
                v,
                item_loc(&top, i),
                &["hash", "options", "enabled", "name", "path"],
            )?;
            let name = o.string("name")?;
            let hash = match o.opt("hash") {
                Some(h) => as_u32(h, &o.loc("hash"))?,
                None => simple_hash(name.as_bytes()),
            };
            out.items.push(SnapshotItem {
                hash,
                options: o.u32("options")?,
                enabled: o.u32("enabled")?,
                name,
                path: o.string("path")?,
            });
        }
        Ok(out)
    }
}

/// Parses and validates a cgroups lookup dataset.
pub fn parse_cgroups_lookup(text: &str) -> Res<CgroupsLookup> {
    cgroups_from_value(&parse_tree(text)?)
}

fn cgroups_from_value(root: &Value) -> Res<CgroupsLookup> {
    let c = CgroupsLookup::from_json(root, "")?;
    c.validate()?;
    Ok(c)
}

impl CgroupsLookup {
    /// Reads the cgroups lookup shape from the JSON value at location
    /// `path` (empty for a whole document): every field present with its
    /// type and no other field. The serving rules of
    /// [`CgroupsLookup::validate`] are not applied.
    pub fn from_json(root: &Value, path: &str) -> Res<CgroupsLookup> {
        let (top, items) = items_of(root, path, &["generation", "items"])?;
        let mut out = CgroupsLookup {
            generation: top.u64("generation")?,
            items: Vec::with_capacity(items.len()),
        };
        for (i, v) in items.iter().enumerate() {
            let o = Obj::new(
                v,
                item_loc(&top, i),
                &["path", "status", "orchestrator", "name", "labels"],
            )?;
            out.items.push(CgroupLookupItem {
                path: o.string("path")?,
                status: parse_status!(o, "status", LookupStatus)?,
                orchestrator: o.orchestrator("orchestrator")?,
                name: o.string("name")?,
                labels: o.labels("labels")?,
            });
        }
        Ok(out)
    }
}

/// Parses and validates an apps lookup dataset.
pub fn parse_apps_lookup(text: &str) -> Res<AppsLookup> {
    apps_from_value(&parse_tree(text)?)
}

fn apps_from_value(root: &Value) -> Res<AppsLookup> {
    let a = AppsLookup::from_json(root, "")?;
    a.validate()?;
    Ok(a)
}

impl AppsLookup {
    /// Reads the apps lookup shape from the JSON value at location `path`
    /// (empty for a whole document): every field present with its type and
    /// no other field. The serving rules of [`AppsLookup::validate`] are
    /// not applied.
    pub fn from_json(root: &Value, path: &str) -> Res<AppsLookup> {
        let (top, items) = items_of(root, path, &["generation", "items"])?;
        let mut out = AppsLookup {
            generation: top.u64("generation")?,
            items: Vec::with_capacity(items.len()),
        };
        for (i, v) in items.iter().enumerate() {
            let o = Obj::new(
                v,
                item_loc(&top, i),
                &[
                    "pid",
                    "status",
                    "cgroup_status",
                    "orchestrator",
                    "ppid",
                    "uid",
                    "starttime",
                    "comm",
                    "cgroup_path",
                    "cgroup_name",
                    "labels",
                ],
            )?;
            out.items.push(AppsLookupItem {
                pid: o.u32("pid")?,
                status: parse_status!(o, "status", PidStatus)?,
                cgroup_status: parse_status!(o, "cgroup_status", CgroupStatus)?,
                orchestrator: o.orchestrator("orchestrator")?,
                ppid: o.u32("ppid")?,
                uid: o.uid("uid")?,
                starttime: o.u64("starttime")?,
                comm: o.string("comm")?,
                cgroup_path: o.string("cgroup_path")?,
                cgroup_name: o.string("cgroup_name")?,
                labels: o.labels("labels")?,
            });
        }
        Ok(out)
    }
}

/// Any of the three datasets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// A snapshot.
    Snapshot(Snapshot),
    /// A cgroups lookup dataset.
    CgroupsLookup(CgroupsLookup),
    /// An apps lookup dataset.
    AppsLookup(AppsLookup),
}

/// Parses a dataset of any shape, telling them apart by their fields: a
/// top-level `systemd_enabled` means a snapshot; otherwise the first item
/// has `pid` (apps lookup) or `path` (cgroups lookup). A lookup dataset
/// with no items cannot be told apart and is an error: use the specific
/// parser.
pub fn parse_any(text: &str) -> Res<Dataset> {
    let root = parse_tree(text)?;
    let Value::Object(top) = &root else {
        return Err(DatasetError::new("", "must be an object"));
    };
    if top.contains_key("systemd_enabled") {
        return snapshot_from_value(&root).map(Dataset::Snapshot);
    }
    let first = top
        .get("items")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_object);
    match first {
        Some(item) if item.contains_key("pid") => apps_from_value(&root).map(Dataset::AppsLookup),
        Some(item) if item.contains_key("path") => {
            cgroups_from_value(&root).map(Dataset::CgroupsLookup)
        }
        _ => Err(DatasetError::new(
            "",
            "cannot tell which dataset this is: a snapshot has `systemd_enabled`; \
             a lookup dataset needs at least one item with `path` (cgroups) or `pid` (apps)",
        )),
    }
}

fn read_file(path: &Path) -> Res<String> {
    std::fs::read_to_string(path)
        .map_err(|e| DatasetError::new("", format!("cannot read: {e}")).in_file(path))
}

/// Loads a snapshot dataset from a file.
pub fn load_snapshot(path: &Path) -> Res<Snapshot> {
    parse_snapshot(&read_file(path)?).map_err(|e| e.in_file(path))
}

/// Loads a cgroups lookup dataset from a file.
pub fn load_cgroups_lookup(path: &Path) -> Res<CgroupsLookup> {
    parse_cgroups_lookup(&read_file(path)?).map_err(|e| e.in_file(path))
}

/// Loads an apps lookup dataset from a file.
pub fn load_apps_lookup(path: &Path) -> Res<AppsLookup> {
    parse_apps_lookup(&read_file(path)?).map_err(|e| e.in_file(path))
}

/// Loads a dataset of any shape from a file (see [`parse_any`]).
pub fn load_any(path: &Path) -> Res<Dataset> {
    parse_any(&read_file(path)?).map_err(|e| e.in_file(path))
}

/// Pretty JSON for any dataset shape (what `--json` prints).
pub fn to_json_pretty<T: Serialize>(value: &T) -> String {
    // Serializing these types cannot fail: string keys, no maps.
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

// ---------------------------------------------------------------------------
// Validation

fn check_text(s: &str, loc: impl FnOnce() -> String) -> Res<()> {
    if s.contains('\0') {
        return Err(DatasetError::new(loc(), "must not contain NUL bytes"));
    }
    Ok(())
}

fn check_labels(labels: &[Label], loc: &str) -> Res<()> {
    if labels.len() > usize::from(u16::MAX) {
        return Err(DatasetError::new(
            format!("{loc}.labels"),
            "at most 65535 labels",
        ));
    }
    for (j, (k, v)) in labels.iter().enumerate() {
        if k.is_empty() {
            return Err(DatasetError::new(
                format!("{loc}.labels[{j}][0]"),
                "label key must not be empty",
            ));
        }
        check_text(k, || format!("{loc}.labels[{j}][0]"))?;
        check_text(v, || format!("{loc}.labels[{j}][1]"))?;
    }
    Ok(())
}

fn require(cond: bool, loc: impl FnOnce() -> String, msg: impl FnOnce() -> String) -> Res<()> {
    if cond {
        Ok(())
    } else {
        Err(DatasetError::new(loc(), msg()))
    }
}

impl Snapshot {
    /// Checks the rules for a servable snapshot: no NUL inside names and
    /// paths. (Empty strings, any hash and duplicate identities are served
    /// as given: consumers keep the first of duplicates.)
    pub fn validate(&self) -> Res<()> {
        for (i, it) in self.items.iter().enumerate() {
            check_text(&it.name, || format!("items[{i}].name"))?;
            check_text(&it.path, || format!("items[{i}].path"))?;
        }
        Ok(())
    }
}

impl CgroupsLookup {
    /// Checks the rules of `codec-cgroups-lookup.md` for each item, unique
    /// paths, and that no item is `PAYLOAD_EXCEEDED` (a transport outcome a
    /// server decides, not data).
    pub fn validate(&self) -> Res<()> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, it) in self.items.iter().enumerate() {
            let loc = format!("items[{i}]");
            let at = |f: &str| format!("{loc}.{f}");
            require(
                !it.path.is_empty(),
                || at("path"),
                || "must not be empty".into(),
            )?;
            check_text(&it.path, || at("path"))?;
            if let Some(first) = seen.insert(&it.path, i) {
                return Err(DatasetError::new(
                    at("path"),
                    format!("duplicate path `{}` (also items[{first}])", it.path),
                ));
            }
            check_text(&it.name, || at("name"))?;
            check_labels(&it.labels, &loc)?;
            require(
                it.status != LookupStatus::PayloadExceeded,
                || at("status"),
                || {
                    "PAYLOAD_EXCEEDED is a transport outcome and cannot be served from a dataset"
                        .into()
                },
            )?;
            if it.status != LookupStatus::Known {
                let why = || format!("must be empty when status is {}", it.status);
                require(
                    it.orchestrator == ORCH_UNKNOWN,
                    || at("orchestrator"),
                    || format!("must be UNKNOWN when status is {}", it.status),
                )?;
                require(it.name.is_empty(), || at("name"), why)?;
                require(it.labels.is_empty(), || at("labels"), why)?;
            }
        }
        Ok(())
    }
}

impl AppsLookup {
    /// Checks the rules of `codec-apps-lookup.md` for each item (field
    /// semantics by PID status and cgroup status, `comm` length), unique
    /// PIDs, and that no item is `PAYLOAD_EXCEEDED`.
    pub fn validate(&self) -> Res<()> {
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for (i, it) in self.items.iter().enumerate() {
            let loc = format!("items[{i}]");
            let at = |f: &str| format!("{loc}.{f}");
            if let Some(first) = seen.insert(it.pid, i) {
                return Err(DatasetError::new(
                    at("pid"),
                    format!("duplicate pid {} (also items[{first}])", it.pid),
                ));
            }
            check_text(&it.comm, || at("comm"))?;
            check_text(&it.cgroup_path, || at("cgroup_path"))?;
            check_text(&it.cgroup_name, || at("cgroup_name"))?;
            check_labels(&it.labels, &loc)?;
            match it.status {
                PidStatus::PayloadExceeded => {
                    return Err(DatasetError::new(
                        at("status"),
                        "PAYLOAD_EXCEEDED is a transport outcome and cannot be served from a dataset",
                    ));
                }
                PidStatus::Unknown | PidStatus::OversizedItem => {
                    let st = it.status;
                    let zero = || format!("must be 0 when status is {st}");
                    let empty = || format!("must be empty when status is {st}");
                    require(
                        it.cgroup_status == CgroupStatus::Known,
                        || at("cgroup_status"),
                        || format!("must be KNOWN (wire value 0) when status is {st}"),
                    )?;
                    require(
                        it.orchestrator == ORCH_UNKNOWN,
                        || at("orchestrator"),
                        || format!("must be UNKNOWN when status is {st}"),
                    )?;
                    require(it.ppid == 0, || at("ppid"), zero)?;
                    require(
                        it.uid == UID_UNSET,
                        || at("uid"),
                        || format!("must be \"{UID_UNSET_NAME}\" when status is {st}"),
                    )?;
                    require(it.starttime == 0, || at("starttime"), zero)?;
                    require(it.comm.is_empty(), || at("comm"), empty)?;
                    require(it.cgroup_path.is_empty(), || at("cgroup_path"), empty)?;
                    require(it.cgroup_name.is_empty(), || at("cgroup_name"), empty)?;
                    require(it.labels.is_empty(), || at("labels"), empty)?;
                }
                PidStatus::Known => {
                    let n = it.comm.len();
                    require(
                        (1..=APPS_LOOKUP_COMM_MAX_LEN).contains(&n),
                        || at("comm"),
                        || format!("must be 1..15 bytes for a KNOWN pid (got {n})"),
                    )?;
                    let cs = it.cgroup_status;
                    let empty = || format!("must be empty when cgroup_status is {cs}");
                    let no_orch = || format!("must be UNKNOWN when cgroup_status is {cs}");
                    match cs {
                        CgroupStatus::Known => {
                            require(
                                !it.cgroup_path.is_empty(),
                                || at("cgroup_path"),
                                || "must not be empty when cgroup_status is KNOWN".into(),
                            )?;
                        }
                        CgroupStatus::UnknownRetryLater
                        | CgroupStatus::UnknownPermanent
                        | CgroupStatus::HostRoot => {
                            if cs == CgroupStatus::UnknownPermanent {
                                require(
                                    !it.cgroup_path.is_empty(),
                                    || at("cgroup_path"),
                                    || {
                                        "must not be empty when cgroup_status is UNKNOWN_PERMANENT"
                                            .into()
                                    },
                                )?;
                            }
                            if cs == CgroupStatus::HostRoot {
                                require(it.cgroup_path.is_empty(), || at("cgroup_path"), empty)?;
                            }
                            require(
                                it.orchestrator == ORCH_UNKNOWN,
                                || at("orchestrator"),
                                no_orch,
                            )?;
                            require(it.cgroup_name.is_empty(), || at("cgroup_name"), empty)?;
                            require(it.labels.is_empty(), || at("labels"), empty)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of<T: fmt::Debug>(r: Res<T>) -> String {
        r.expect_err("expected an error").to_string()
    }

    const SNAPSHOT: &str = r#"{
        "generation": 999, "systemd_enabled": 1,
        "items": [
            {"hash": 100, "options": 0, "enabled": 1, "name": "init.scope", "path": "/sys/fs/cgroup/init.scope"},
            {"options": 2, "enabled": 0, "name": "system.slice/docker-abc.scope", "path": "/system.slice/docker-abc.scope"},
            {"hash": 300, "options": 0, "enabled": 1, "name": "", "path": ""}
        ]}"#;

    const CGROUPS: &str = r#"{"generation": 100, "items": [
        {"path": "/kubepods.slice/pod-a", "status": "KNOWN", "orchestrator": "K8S", "name": "pod-a",
         "labels": [["namespace", "default"], ["pod", "web"]]},
        {"path": "/docker/abc", "status": "KNOWN", "orchestrator": 77, "name": "", "labels": []},
        {"path": "/gone", "status": "UNKNOWN_PERMANENT", "orchestrator": "UNKNOWN", "name": "", "labels": []},
        {"path": "/big", "status": "OVERSIZED_ITEM", "orchestrator": 0, "name": "", "labels": []}
    ]}"#;

    const APPS: &str = r#"{"generation": 200, "items": [
        {"pid": 1234, "status": "KNOWN", "cgroup_status": "KNOWN", "orchestrator": "DOCKER",
         "ppid": 1, "uid": 1000, "starttime": 123456, "comm": "123456789012345",
         "cgroup_path": "/docker/abc", "cgroup_name": "container-a",
         "labels": [["image", "nginx:latest"], ["service", "web"]]},
        {"pid": 1235, "status": "KNOWN", "cgroup_status": "UNKNOWN_RETRY_LATER", "orchestrator": "UNKNOWN",
         "ppid": 1, "uid": "NIPC_UID_UNSET", "starttime": 18446744073709551615, "comm": "app",
         "cgroup_path": "", "cgroup_name": "", "labels": []},
        {"pid": 1237, "status": "KNOWN", "cgroup_status": "HOST_ROOT", "orchestrator": "UNKNOWN",
         "ppid": 1, "uid": 0, "starttime": 123459, "comm": "sshd", "cgroup_path": "", "cgroup_name": "", "labels": []},
        {"pid": 0, "status": "UNKNOWN", "cgroup_status": "KNOWN", "orchestrator": "UNKNOWN", "ppid": 0,
         "uid": "NIPC_UID_UNSET", "starttime": 0, "comm": "", "cgroup_path": "", "cgroup_name": "", "labels": []}
    ]}"#;

    #[test]
    fn snapshot_parse_and_round_trip() {
        let s = parse_snapshot(SNAPSHOT).unwrap();
        assert_eq!(s.generation, 999);
        assert_eq!(s.systemd_enabled, 1);
        assert_eq!(s.items[0].hash, 100);
        assert_eq!(
            s.items[1].hash,
            simple_hash(b"system.slice/docker-abc.scope")
        );
        assert_eq!(s.items[2].name, "");
        let json = to_json_pretty(&s);
        assert!(json.contains("\"hash\""));
        assert_eq!(parse_snapshot(&json).unwrap(), s);
        assert_eq!(parse_any(&json).unwrap(), Dataset::Snapshot(s));
        let empty = r#"{"generation": 0, "systemd_enabled": 0, "items": []}"#;
        assert!(parse_snapshot(empty).unwrap().items.is_empty());
    }

    #[test]
    fn cgroups_parse_and_round_trip() {
        let c = parse_cgroups_lookup(CGROUPS).unwrap();
        assert_eq!(c.items[0].labels[1], ("pod".to_owned(), "web".to_owned()));
        assert_eq!(c.items[1].orchestrator, 77);
        assert_eq!(c.items[3].status, LookupStatus::OversizedItem);
        let json = to_json_pretty(&c);
        assert!(json.contains("\"orchestrator\": 77"));
        assert!(json.contains("\"orchestrator\": \"K8S\""));
        assert_eq!(parse_cgroups_lookup(&json).unwrap(), c);
        assert_eq!(parse_any(&json).unwrap(), Dataset::CgroupsLookup(c));
    }

    #[test]
    fn library_enums_use_spec_names() {
        let mut item = CgroupLookupItem::unknown("/x", LookupStatus::UnknownRetryLater);
        item.orchestrator = 300;
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"path":"/x","status":"UNKNOWN_RETRY_LATER","orchestrator":300,"name":"","labels":[]}"#
        );
        item.orchestrator = Orchestrator::Nspawn.as_u16();
        assert!(
            serde_json::to_string(&item)
                .unwrap()
                .contains(r#""orchestrator":"NSPAWN""#)
        );
        let mut app = AppsLookupItem::unknown(1, PidStatus::OversizedItem);
        app.cgroup_status = CgroupStatus::HostRoot;
        let text = serde_json::to_string(&app).unwrap();
        assert!(text.contains(r#""status":"OVERSIZED_ITEM""#), "{text}");
        assert!(text.contains(r#""cgroup_status":"HOST_ROOT""#), "{text}");
        let e = err_of(parse_cgroups_lookup(
            r#"{"generation":1,"items":[{"path":"/a","status":"KNOWN","orchestrator":"nspawn","name":"","labels":[]}]}"#,
        ));
        assert_eq!(
            e,
            "items[0].orchestrator: unknown orchestrator `nspawn` (expected one of UNKNOWN, \
             SYSTEMD, DOCKER, K8S, KVM, LXC, PODMAN, NSPAWN, or a number 0..65535)"
        );
    }

    #[test]
    fn apps_parse_and_round_trip() {
        let a = parse_apps_lookup(APPS).unwrap();
        assert_eq!(a.items[1].uid, UID_UNSET);
        assert_eq!(a.items[1].starttime, u64::MAX);
        assert_eq!(a.items[2].cgroup_status, CgroupStatus::HostRoot);
        let json = to_json_pretty(&a);
        assert!(json.contains("\"uid\": \"NIPC_UID_UNSET\""));
        assert!(json.contains("\"uid\": 1000"));
        assert_eq!(parse_apps_lookup(&json).unwrap(), a);
        assert_eq!(parse_any(&json).unwrap(), Dataset::AppsLookup(a));
        // Compact output has every field too, in the documented order.
        let one = serde_json::to_string(&AppsLookupItem::unknown(7, PidStatus::Unknown)).unwrap();
        assert_eq!(
            one,
            r#"{"pid":7,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":"UNKNOWN","ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]}"#
        );
    }

    #[test]
    fn conformance_vector_fields_parse() {
        // The vectors' field values use the same shapes.
        let text = include_str!("../../../../testdata/conformance/vectors.json");
        let root: Value = serde_json::from_str(text).unwrap();
        let mut checked = 0;
        for v in root["vectors"].as_array().unwrap() {
            let fields = serde_json::to_string(&v["fields"]).unwrap();
            match v["type"].as_str().unwrap() {
                "cgroups-snapshot-response" => {
                    parse_snapshot(&fields).unwrap();
                    checked += 1;
                }
                "cgroups-lookup-response" => {
                    let r = parse_cgroups_lookup(&fields);
                    if fields.contains("PAYLOAD_EXCEEDED") {
                        assert!(r.is_err());
                    } else {
                        r.unwrap();
                    }
                    checked += 1;
                }
                "apps-lookup-response" => {
                    let r = parse_apps_lookup(&fields);
                    if fields.contains("PAYLOAD_EXCEEDED") {
                        assert!(r.is_err());
                    } else {
                        r.unwrap();
                    }
                    checked += 1;
                }
                _ => {}
            }
        }
        assert!(checked >= 10);
    }

    #[test]
    fn documented_examples_parse() {
        let doc = include_str!("../../../../docs/dataset.md");
        let mut blocks = 0;
        for part in doc.split("```json\n").skip(1) {
            let block = part.split("```").next().unwrap();
            match parse_any(block).unwrap() {
                Dataset::Snapshot(s) => {
                    assert_eq!(s.items[0].hash, simple_hash(b"ssh.service"));
                    assert_eq!(s.items[1].hash, simple_hash(b"docker-0123456789ab"));
                }
                Dataset::CgroupsLookup(c) => assert_eq!(c.items.len(), 3),
                Dataset::AppsLookup(a) => assert_eq!(a.items[2].uid, UID_UNSET),
            }
            blocks += 1;
        }
        assert_eq!(blocks, 3);
    }

    #[test]
    fn syntax_and_structure_errors() {
        assert!(err_of(parse_snapshot("{")).starts_with("invalid JSON: "));
        assert!(err_of(parse_snapshot("[]")).contains("must be an object"));
        assert!(
            err_of(parse_snapshot(
                r#"{"generation":1,"systemd_enabled":0,"items":[]} x"#
            ))
            .contains("trailing")
        );
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"generation":2,"systemd_enabled":0,"items":[]}"#,
        ));
        assert!(e.contains("generation: duplicate key"), "{e}");
        let e = err_of(parse_cgroups_lookup(
            r#"{"generation":1,"items":[{"path":"/a","path":"/b","status":"KNOWN","orchestrator":0,"name":"","labels":[]}]}"#,
        ));
        assert!(e.contains("items[0].path: duplicate key"), "{e}");
        let e = err_of(parse_snapshot(r#"{"generation":1,"items":[]}"#));
        assert_eq!(e, "systemd_enabled: missing field");
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":0,"items":[],"x":1}"#,
        ));
        assert!(e.starts_with("x: unknown field"), "{e}");
        let e = err_of(parse_snapshot(
            r#"{"generation":-1,"systemd_enabled":0,"items":[]}"#,
        ));
        assert!(
            e.starts_with("generation: must be an unsigned integer"),
            "{e}"
        );
        let e = err_of(parse_snapshot(
            r#"{"generation":1.5,"systemd_enabled":0,"items":[]}"#,
        ));
        assert!(
            e.starts_with("generation: must be an unsigned integer"),
            "{e}"
        );
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":4294967296,"items":[]}"#,
        ));
        assert!(
            e.starts_with("systemd_enabled: must be an unsigned integer 0..4294967295"),
            "{e}"
        );
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":0,"items":{}}"#,
        ));
        assert_eq!(e, "items: must be an array");
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":0,"items":[{"options":0,"enabled":1,"name":5,"path":""}]}"#,
        ));
        assert_eq!(e, "items[0].name: must be a string");
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":0,"items":[{"hash":-3,"options":0,"enabled":1,"name":"","path":""}]}"#,
        ));
        assert!(
            e.starts_with("items[0].hash: must be an unsigned integer"),
            "{e}"
        );
        let e = err_of(parse_any(r#"{"generation":1,"items":[]}"#));
        assert!(e.contains("cannot tell which dataset"), "{e}");
    }

    #[test]
    fn snapshot_rejects_nul() {
        let e = err_of(parse_snapshot(
            r#"{"generation":1,"systemd_enabled":0,"items":[{"options":0,"enabled":1,"name":"a\u0000b","path":""}]}"#,
        ));
        assert_eq!(e, "items[0].name: must not contain NUL bytes");
    }

    fn cg_item(item: &str) -> String {
        format!(r#"{{"generation":1,"items":[{item}]}}"#)
    }

    #[test]
    fn cgroups_validation_errors() {
        let ok = r#"{"path":"/a","status":"KNOWN","orchestrator":"DOCKER","name":"n","labels":[["k","v"]]}"#;
        parse_cgroups_lookup(&cg_item(ok)).unwrap();
        let cases: &[(&str, &str)] = &[
            (
                r#"{"path":"","status":"KNOWN","orchestrator":0,"name":"","labels":[]}"#,
                "items[0].path: must not be empty",
            ),
            (
                r#"{"path":"/a\u0000","status":"KNOWN","orchestrator":0,"name":"","labels":[]}"#,
                "items[0].path: must not contain NUL bytes",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"x\u0000","labels":[]}"#,
                "items[0].name: must not contain NUL bytes",
            ),
            (
                r#"{"path":"/a","status":"FOO","orchestrator":0,"name":"","labels":[]}"#,
                "items[0].status: unknown status `FOO` (expected one of KNOWN, UNKNOWN_RETRY_LATER, UNKNOWN_PERMANENT, PAYLOAD_EXCEEDED, OVERSIZED_ITEM)",
            ),
            (
                r#"{"path":"/a","status":"PAYLOAD_EXCEEDED","orchestrator":0,"name":"","labels":[]}"#,
                "items[0].status: PAYLOAD_EXCEEDED is a transport outcome and cannot be served from a dataset",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":"MESOS","name":"","labels":[]}"#,
                "items[0].orchestrator: unknown orchestrator `MESOS`",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":65536,"name":"","labels":[]}"#,
                "items[0].orchestrator: orchestrator number must be 0..65535",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":true,"name":"","labels":[]}"#,
                "items[0].orchestrator: must be an orchestrator name",
            ),
            (
                r#"{"path":"/a","status":"UNKNOWN_PERMANENT","orchestrator":"K8S","name":"","labels":[]}"#,
                "items[0].orchestrator: must be UNKNOWN when status is UNKNOWN_PERMANENT",
            ),
            (
                r#"{"path":"/a","status":"UNKNOWN_RETRY_LATER","orchestrator":0,"name":"x","labels":[]}"#,
                "items[0].name: must be empty when status is UNKNOWN_RETRY_LATER",
            ),
            (
                r#"{"path":"/a","status":"OVERSIZED_ITEM","orchestrator":0,"name":"","labels":[["a","b"]]}"#,
                "items[0].labels: must be empty when status is OVERSIZED_ITEM",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["","v"]]}"#,
                "items[0].labels[0][0]: label key must not be empty",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["k","v\u0000"]]}"#,
                "items[0].labels[0][1]: must not contain NUL bytes",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["k"]]}"#,
                "items[0].labels[0]: a label must be",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[["k", 5]]}"#,
                "items[0].labels[0][1]: must be a string",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":""}"#,
                "items[0].labels: missing field",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[],"extra":1}"#,
                "items[0].extra: unknown field",
            ),
            (
                r#"{"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[]},
                   {"path":"/a","status":"KNOWN","orchestrator":0,"name":"","labels":[]}"#,
                "items[1].path: duplicate path `/a` (also items[0])",
            ),
            ("5", "items[0]: must be an object"),
        ];
        for (item, want) in cases {
            let e = err_of(parse_cgroups_lookup(&cg_item(item)));
            assert!(e.starts_with(want), "got `{e}`, want `{want}`");
        }
    }

    fn app(over: &[(&str, &str)]) -> String {
        let mut fields: Vec<(&str, String)> = vec![
            ("pid", "10".into()),
            ("status", "\"KNOWN\"".into()),
            ("cgroup_status", "\"KNOWN\"".into()),
            ("orchestrator", "\"DOCKER\"".into()),
            ("ppid", "1".into()),
            ("uid", "0".into()),
            ("starttime", "5".into()),
            ("comm", "\"bash\"".into()),
            ("cgroup_path", "\"/docker/x\"".into()),
            ("cgroup_name", "\"x\"".into()),
            ("labels", "[]".into()),
        ];
        for (k, v) in over {
            match fields.iter_mut().find(|(f, _)| f == k) {
                Some(slot) => slot.1 = (*v).to_owned(),
                None => fields.push((k, (*v).to_owned())),
            }
        }
        fields.retain(|(_, v)| v != "-");
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!(r#"{{"generation":1,"items":[{{{}}}]}}"#, body.join(","))
    }

    const UNKNOWN_PID: &[(&str, &str)] = &[
        ("status", "\"UNKNOWN\""),
        ("orchestrator", "0"),
        ("ppid", "0"),
        ("uid", "\"NIPC_UID_UNSET\""),
        ("starttime", "0"),
        ("comm", "\"\""),
        ("cgroup_path", "\"\""),
        ("cgroup_name", "\"\""),
    ];

    #[test]
    fn apps_validation_errors() {
        parse_apps_lookup(&app(&[])).unwrap();
        parse_apps_lookup(&app(UNKNOWN_PID)).unwrap();
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = UNKNOWN_PID.to_vec();
            v.extend_from_slice(extra);
            app(&v)
        };
        let cases: Vec<(String, &str)> = vec![
            (
                app(&[("comm", "\"\"")]),
                "items[0].comm: must be 1..15 bytes for a KNOWN pid (got 0)",
            ),
            (
                app(&[("comm", "\"0123456789abcdef\"")]),
                "items[0].comm: must be 1..15 bytes for a KNOWN pid (got 16)",
            ),
            (
                app(&[("comm", "\"a\\u0000\"")]),
                "items[0].comm: must not contain NUL bytes",
            ),
            (
                app(&[("uid", "\"nobody\"")]),
                "items[0].uid: must be a number 0..4294967295 or \"NIPC_UID_UNSET\"",
            ),
            (
                app(&[("uid", "-1")]),
                "items[0].uid: must be an unsigned integer",
            ),
            (
                app(&[("pid", "4294967296")]),
                "items[0].pid: must be an unsigned integer 0..4294967295",
            ),
            (
                app(&[("status", "\"GONE\"")]),
                "items[0].status: unknown status `GONE` (expected one of KNOWN, UNKNOWN, PAYLOAD_EXCEEDED, OVERSIZED_ITEM)",
            ),
            (
                app(&[("cgroup_status", "\"NOPE\"")]),
                "items[0].cgroup_status: unknown status `NOPE`",
            ),
            (
                app(&[("status", "\"PAYLOAD_EXCEEDED\"")]),
                "items[0].status: PAYLOAD_EXCEEDED is a transport outcome",
            ),
            (
                app(&[("cgroup_path", "\"\"")]),
                "items[0].cgroup_path: must not be empty when cgroup_status is KNOWN",
            ),
            (
                app(&[("cgroup_status", "\"HOST_ROOT\"")]),
                "items[0].cgroup_path: must be empty when cgroup_status is HOST_ROOT",
            ),
            (
                app(&[("cgroup_status", "\"UNKNOWN_RETRY_LATER\"")]),
                "items[0].orchestrator: must be UNKNOWN when cgroup_status is UNKNOWN_RETRY_LATER",
            ),
            (
                app(&[
                    ("cgroup_status", "\"UNKNOWN_PERMANENT\""),
                    ("orchestrator", "0"),
                ]),
                "items[0].cgroup_name: must be empty when cgroup_status is UNKNOWN_PERMANENT",
            ),
            (
                app(&[
                    ("cgroup_status", "\"UNKNOWN_PERMANENT\""),
                    ("orchestrator", "0"),
                    ("cgroup_name", "\"\""),
                    ("cgroup_path", "\"\""),
                ]),
                "items[0].cgroup_path: must not be empty when cgroup_status is UNKNOWN_PERMANENT",
            ),
            (
                app(&[
                    ("cgroup_status", "\"UNKNOWN_RETRY_LATER\""),
                    ("orchestrator", "0"),
                    ("cgroup_name", "\"\""),
                    ("labels", "[[\"a\",\"b\"]]"),
                ]),
                "items[0].labels: must be empty when cgroup_status is UNKNOWN_RETRY_LATER",
            ),
            (
                with(&[("ppid", "3")]),
                "items[0].ppid: must be 0 when status is UNKNOWN",
            ),
            (
                with(&[("uid", "0")]),
                "items[0].uid: must be \"NIPC_UID_UNSET\" when status is UNKNOWN",
            ),
            (
                with(&[("starttime", "1")]),
                "items[0].starttime: must be 0 when status is UNKNOWN",
            ),
            (
                with(&[("comm", "\"x\"")]),
                "items[0].comm: must be empty when status is UNKNOWN",
            ),
            (
                with(&[("cgroup_status", "\"HOST_ROOT\"")]),
                "items[0].cgroup_status: must be KNOWN (wire value 0) when status is UNKNOWN",
            ),
            (
                with(&[("orchestrator", "\"K8S\"")]),
                "items[0].orchestrator: must be UNKNOWN when status is UNKNOWN",
            ),
            (
                with(&[("status", "\"OVERSIZED_ITEM\""), ("cgroup_name", "\"x\"")]),
                "items[0].cgroup_name: must be empty when status is OVERSIZED_ITEM",
            ),
            (
                app(&[("starttime", "\"5\"")]),
                "items[0].starttime: must be an unsigned integer",
            ),
            (app(&[("labels", "-")]), "items[0].labels: missing field"),
        ];
        for (text, want) in cases {
            let e = err_of(parse_apps_lookup(&text));
            assert!(e.starts_with(want), "got `{e}`, want `{want}`\n{text}");
        }
        let two = r#"{"generation":1,"items":[
            {"pid":5,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":0,"ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]},
            {"pid":5,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":0,"ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]}]}"#;
        assert_eq!(
            err_of(parse_apps_lookup(two)),
            "items[1].pid: duplicate pid 5 (also items[0])"
        );
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::Builder::new()
            .prefix("netipc-dataset-")
            .tempdir()
            .unwrap();
        let f = dir.path().join("apps.json");
        std::fs::write(&f, app(&[("comm", "\"\"")])).unwrap();
        let e = load_apps_lookup(&f).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(f.as_path()));
        assert_eq!(e.location, "items[0].comm");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: items[0].comm: must be 1..15 bytes for a KNOWN pid (got 0)",
                f.display()
            )
        );
        let missing = dir.path().join("missing.json");
        assert!(
            load_snapshot(&missing)
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
        std::fs::write(&f, SNAPSHOT).unwrap();
        assert!(matches!(load_any(&f).unwrap(), Dataset::Snapshot(_)));
        std::fs::write(&f, CGROUPS).unwrap();
        assert_eq!(load_cgroups_lookup(&f).unwrap().items.len(), 4);
    }

    #[test]
    fn hostile_json_does_not_panic() {
        let deep = "[".repeat(10_000);
        assert!(parse_snapshot(&deep).is_err());
        for t in [
            "",
            "null",
            "\"x\"",
            "1e999",
            "{\"items\":null}",
            "{\"generation\":1e3}",
        ] {
            let _ = parse_any(t);
            let _ = parse_snapshot(t);
            let _ = parse_cgroups_lookup(t);
            let _ = parse_apps_lookup(t);
        }
    }
}
