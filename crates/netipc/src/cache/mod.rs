//! Level 3: client-side caches built from snapshot services.
//!
//! [`CgroupsCache`] turns the `cgroups-snapshot` service into hot-path
//! lookups by `hash + name` with no I/O. It uses only the Level 2 client.

pub mod cgroups;
pub mod table;

pub use cgroups::{CacheStatus, CgroupsCache, CgroupsReadGuard, RefreshReport};
pub use table::{CgroupEntry, CgroupEntryView, CgroupsTable, CgroupsTableBuilder};
