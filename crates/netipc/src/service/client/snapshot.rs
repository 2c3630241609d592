//! The `cgroups-snapshot` client.

use std::path::Path;

use crate::codec::cgroups_snapshot::{
    CgroupsSnapshotRequest, CgroupsSnapshotView, SNAPSHOT_REQ_SIZE,
};
use crate::error::Result;
use crate::protocol::METHOD_CGROUPS_SNAPSHOT;

use super::config::{ClientConfig, Schema};
use super::core::Core;

const SCHEMA: Schema = Schema::fixed(METHOD_CGROUPS_SNAPSHOT, SNAPSHOT_REQ_SIZE);

/// Client of a `cgroups-snapshot` service (`CGROUPS_SNAPSHOT`, method 2).
///
/// Warm calls do not allocate. See the [module docs](super) for the
/// lifecycle, retry and error rules.
#[derive(Debug)]
pub struct CgroupsSnapshotClient {
    core: Core,
    rx: Vec<u8>,
}

impl CgroupsSnapshotClient {
    /// Creates a disconnected client for `{run_dir}/{service}.sock` (no
    /// I/O; the service need not exist yet). Fails on an invalid service
    /// name or configuration.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(CgroupsSnapshotClient {
            core: Core::new(run_dir.as_ref(), service, &config, SCHEMA)?,
            rx: Vec::new(),
        })
    }

    fn release_buffers(&mut self) {
        self.rx = Vec::new();
    }

    /// Fetches the full snapshot.
    ///
    /// The view is fully validated and borrows client storage: it is valid
    /// until the next call on this client. A snapshot larger than the
    /// agreed response budget is recovered by overflow reconnects (the
    /// server answers `LIMIT_EXCEEDED` and grows its budget).
    pub fn call_snapshot(&mut self) -> Result<CgroupsSnapshotView<'_>> {
        let mut ctx = self.core.begin()?;
        let req = CgroupsSnapshotRequest::default().to_bytes();
        if let Err(e) = self.core.exchange(&mut ctx, &req, 1, &mut self.rx) {
            self.core.note_failure();
            return Err(e);
        }
        match CgroupsSnapshotView::decode(&self.rx) {
            Ok(v) => Ok(v),
            Err(e) => {
                // A malformed snapshot is a protocol violation: the session
                // is not trusted any more.
                self.core.note_failure();
                self.core.disconnect();
                Err(e.into())
            }
        }
    }
}

client_common!(CgroupsSnapshotClient);
