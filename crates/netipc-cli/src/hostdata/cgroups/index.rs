//! The host's cgroup index: the last scan, keyed by path.

use std::collections::HashMap;

use super::{CgroupInfo, ScanResult};

/// The cgroup index of the host: the last scan, keyed by path.
#[derive(Clone, Debug, Default)]
pub struct CgroupIndex {
    generation: u64,
    items: Vec<CgroupInfo>,
    by_path: HashMap<String, usize>,
    truncated: bool,
    skipped: usize,
    scans: u64,
}

impl CgroupIndex {
    /// An empty index, generation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from one scan (generation 1).
    pub fn from_scan(scan: ScanResult) -> Self {
        let mut index = Self::new();
        index.update(scan);
        index
    }

    /// Replaces the content with a new scan. The generation increments on
    /// the first update and whenever the set of paths changed. Returns true
    /// when it changed.
    pub fn update(&mut self, scan: ScanResult) -> bool {
        let changed = self.scans == 0
            || self.items.len() != scan.cgroups.len()
            || self
                .items
                .iter()
                .zip(&scan.cgroups)
                .any(|(a, b)| a.path != b.path);
        self.scans += 1;
        self.truncated = scan.truncated;
        self.skipped = scan.skipped;
        self.by_path = scan
            .cgroups
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.clone(), i))
            .collect();
        self.items = scan.cgroups;
        if changed {
            self.generation = self.generation.wrapping_add(1);
        }
        changed
    }

    /// The generation: increments when the set of indexed paths changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The cgroup with this path. A pure map lookup: never touches the
    /// filesystem.
    pub fn lookup(&self, path: &str) -> Option<&CgroupInfo> {
        self.by_path.get(path).map(|&i| &self.items[i])
    }

    /// [`lookup`](Self::lookup) for raw request bytes (non-UTF-8 never
    /// matches).
    pub fn lookup_bytes(&self, path: &[u8]) -> Option<&CgroupInfo> {
        std::str::from_utf8(path).ok().and_then(|p| self.lookup(p))
    }

    /// All cgroups, sorted by path.
    pub fn items(&self) -> &[CgroupInfo] {
        &self.items
    }

    /// Number of indexed cgroups.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when the last scan hit a limit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Directories skipped by the last scan.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}
