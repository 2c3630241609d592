//! Reading datasets from JSON: syntax, duplicate and unknown keys, required
//! fields, then validation.

use std::path::Path;

use netipc::codec::apps_lookup::UID_UNSET;
use netipc::codec::cgroups_snapshot::simple_hash;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, Orchestrator, PidStatus};
use serde::Serialize;
use serde_json::Value;

use super::{
    AppsLookup, AppsLookupItem, CgroupLookupItem, CgroupsLookup, DatasetError, Label, Res,
    Snapshot, SnapshotItem, UID_UNSET_NAME,
};
use crate::json::{Obj, as_string, as_u32, as_u64, parse_tree};
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
