//! Builder input entries and the owned response types with their encoder.

use crate::error::Error;

use crate::codec::lookup::{CgroupStatus, Label, Orchestrator, PidStatus};

use super::{APPS_LOOKUP_COMM_MAX_LEN, APPS_LOOKUP_MIN_ITEM_SIZE, AppsLookupBuilder, UID_UNSET};

/// The fields of one response item other than its PID and labels, as
/// borrowed application data for [`AppsLookupBuilder`].
///
/// Rules (checked by the builder): strings carry no NUL; `comm` is at most
/// 15 bytes. For a `KNOWN` PID `comm` is 1..=15 bytes and the cgroup
/// fields follow `cgroup_status` (`KNOWN`: non-empty path;
/// `UNKNOWN_RETRY_LATER`: orchestrator 0, empty name, no labels;
/// `UNKNOWN_PERMANENT`: non-empty path, orchestrator 0, empty name, no
/// labels; `HOST_ROOT`: orchestrator 0, empty path and name, no labels).
/// Any other PID status requires [`AppsLookupEntry::UNKNOWN`]'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppsLookupEntry<'a> {
    /// PID status.
    pub status: PidStatus,
    /// Cgroup status (`KNOWN` = 0 when the PID is not known).
    pub cgroup_status: CgroupStatus,
    /// Raw orchestrator value.
    pub orchestrator: u16,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// Process UID, or [`UID_UNSET`].
    pub uid: u32,
    /// Linux `/proc/<pid>/stat` field 22 (jiffies since boot), 0 elsewhere.
    pub starttime: u64,
    /// Process name.
    pub comm: &'a [u8],
    /// Cgroup path.
    pub cgroup_path: &'a [u8],
    /// Cgroup name.
    pub cgroup_name: &'a [u8],
}

impl AppsLookupEntry<'static> {
    /// The entry of an unknown PID: status `UNKNOWN`, zeros, `UID_UNSET`,
    /// empty strings.
    pub const UNKNOWN: Self = AppsLookupEntry {
        status: PidStatus::Unknown,
        cgroup_status: CgroupStatus::Known,
        orchestrator: 0,
        ppid: 0,
        uid: UID_UNSET,
        starttime: 0,
        comm: &[],
        cgroup_path: &[],
        cgroup_name: &[],
    };
}

impl AppsLookupEntry<'_> {
    /// Checks the entry against the status rules; `labels` is the label
    /// count.
    pub(super) fn validate(&self, labels: usize) -> Result<(), Error> {
        let bad = Error::InvalidArgument;
        if crate::bytes::has_nul(self.comm) {
            return Err(bad("comm contains a NUL byte"));
        }
        if crate::bytes::has_nul(self.cgroup_path) {
            return Err(bad("cgroup path contains a NUL byte"));
        }
        if crate::bytes::has_nul(self.cgroup_name) {
            return Err(bad("cgroup name contains a NUL byte"));
        }
        if self.comm.len() > APPS_LOOKUP_COMM_MAX_LEN {
            return Err(bad("comm is longer than 15 bytes"));
        }
        if self.status != PidStatus::Known {
            let u = AppsLookupEntry::UNKNOWN;
            let empty = (
                self.cgroup_status,
                self.orchestrator,
                self.ppid,
                self.uid,
                self.starttime,
            ) == (u.cgroup_status, u.orchestrator, u.ppid, u.uid, u.starttime)
                && self.comm.is_empty()
                && self.cgroup_path.is_empty()
                && self.cgroup_name.is_empty()
                && labels == 0;
            return if empty {
                Ok(())
            } else {
                Err(bad(
                    "a non-KNOWN pid item must have zero fields, UID_UNSET, empty strings and no labels",
                ))
            };
        }
        if self.comm.is_empty() {
            return Err(bad("comm must not be empty for a KNOWN pid"));
        }
        let (path, plain) = (
            !self.cgroup_path.is_empty(),
            self.orchestrator == 0 && self.cgroup_name.is_empty() && labels == 0,
        );
        let ok = match self.cgroup_status {
            CgroupStatus::Known => path,
            CgroupStatus::UnknownRetryLater => plain,
            CgroupStatus::UnknownPermanent => path && plain,
            CgroupStatus::HostRoot => !path && plain,
        };
        if ok {
            Ok(())
        } else {
            Err(bad("cgroup fields violate the cgroup_status rules"))
        }
    }

    /// Size of the item's strings area end (NULs included).
    pub(super) fn strings_end(&self) -> Option<usize> {
        self.comm
            .len()
            .checked_add(self.cgroup_path.len())?
            .checked_add(self.cgroup_name.len())?
            .checked_add(APPS_LOOKUP_MIN_ITEM_SIZE)
    }
}

/// An owned `APPS_LOOKUP` response item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppsLookupItem {
    /// PID status.
    pub status: PidStatus,
    /// Cgroup status (`KNOWN` = 0 unless the PID is known).
    pub cgroup_status: CgroupStatus,
    /// Raw orchestrator value.
    pub orchestrator: u16,
    /// Echoed request PID.
    pub pid: u32,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// Process UID, or [`UID_UNSET`].
    pub uid: u32,
    /// Start time in jiffies since boot (0 when unknown / non-Linux).
    pub starttime: u64,
    /// Process name (1..=15 bytes for a known PID).
    pub comm: Vec<u8>,
    /// Cgroup path.
    pub cgroup_path: Vec<u8>,
    /// Cgroup name.
    pub cgroup_name: Vec<u8>,
    /// Labels.
    pub labels: Vec<Label>,
}

impl AppsLookupItem {
    /// A non-enriched item for `pid` with a non-`KNOWN` `status`.
    pub fn unknown(pid: u32, status: PidStatus) -> Self {
        AppsLookupItem {
            status,
            cgroup_status: CgroupStatus::Known,
            orchestrator: 0,
            pid,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: Vec::new(),
            cgroup_path: Vec::new(),
            cgroup_name: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The item's fields (except PID and labels) as a builder entry.
    pub fn entry(&self) -> AppsLookupEntry<'_> {
        AppsLookupEntry {
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator,
            ppid: self.ppid,
            uid: self.uid,
            starttime: self.starttime,
            comm: &self.comm,
            cgroup_path: &self.cgroup_path,
            cgroup_name: &self.cgroup_name,
        }
    }

    /// The orchestrator as a known enum value, if it is one.
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator)
    }
}

/// An owned `APPS_LOOKUP` response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AppsLookupResponse {
    /// Advisory provider generation.
    pub generation: u64,
    /// One item per request PID, in request order.
    pub items: Vec<AppsLookupItem>,
}

impl AppsLookupResponse {
    /// Encodes the response with an unlimited budget, appending the payload
    /// to `out` (every item keeps its status). Fails with
    /// `InvalidArgument` if an item is invalid; `out` is then unchanged.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let count = u32::try_from(self.items.len())
            .map_err(|_| Error::InvalidArgument("more than u32::MAX lookup items"))?;
        let mut b = AppsLookupBuilder::new();
        b.core.set_verbatim(true);
        b.reset_for_count(self.generation, count);
        for item in &self.items {
            b.add_item(item)?;
        }
        out.extend_from_slice(b.finish()?);
        Ok(())
    }
}
