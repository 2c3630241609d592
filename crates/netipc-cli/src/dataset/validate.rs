//! The specification's rules on dataset contents.

use std::collections::HashMap;

use netipc::codec::apps_lookup::{APPS_LOOKUP_COMM_MAX_LEN, UID_UNSET};
use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};

use super::{
    AppsLookup, CgroupsLookup, DatasetError, Label, ORCH_UNKNOWN, Res, Snapshot, UID_UNSET_NAME,
};
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
