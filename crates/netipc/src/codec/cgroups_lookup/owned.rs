//! The owned response types and their encoder.

use crate::error::Error;

use crate::codec::lookup::{Label, LookupStatus, Orchestrator};

use super::CgroupsLookupBuilder;

/// An owned `CGROUPS_LOOKUP` response item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CgroupsLookupItem {
    /// Item status.
    pub status: LookupStatus,
    /// Raw orchestrator value (0 unless `KNOWN`).
    pub orchestrator: u16,
    /// Echoed request path (non-empty, no NUL).
    pub path: Vec<u8>,
    /// Cgroup name (may be empty; empty unless `KNOWN`).
    pub name: Vec<u8>,
    /// Labels (none unless `KNOWN`).
    pub labels: Vec<Label>,
}

impl CgroupsLookupItem {
    /// A `KNOWN` item.
    pub fn known(
        path: impl Into<Vec<u8>>,
        orchestrator: u16,
        name: impl Into<Vec<u8>>,
        labels: Vec<Label>,
    ) -> Self {
        CgroupsLookupItem {
            status: LookupStatus::Known,
            orchestrator,
            path: path.into(),
            name: name.into(),
            labels,
        }
    }

    /// A non-enriched item with `status` that only echoes `path`.
    pub fn unknown(path: impl Into<Vec<u8>>, status: LookupStatus) -> Self {
        CgroupsLookupItem {
            status,
            orchestrator: 0,
            path: path.into(),
            name: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The orchestrator as a known enum value, if it is one.
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator)
    }
}

/// An owned `CGROUPS_LOOKUP` response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CgroupsLookupResponse {
    /// Advisory provider generation.
    pub generation: u64,
    /// One item per request key, in request order.
    pub items: Vec<CgroupsLookupItem>,
}

impl CgroupsLookupResponse {
    /// Encodes the response with an unlimited budget, appending the payload
    /// to `out` (every item keeps its status). Fails with
    /// `InvalidArgument` if an item is invalid; `out` is then unchanged.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut b = CgroupsLookupBuilder::new();
        b.core.set_verbatim(true);
        b.reset_for_paths(
            self.generation,
            &self.items.iter().map(|i| &i.path[..]).collect::<Vec<_>>(),
        )?;
        for item in &self.items {
            b.add_item(item)?;
        }
        out.extend_from_slice(b.finish()?);
        Ok(())
    }
}
