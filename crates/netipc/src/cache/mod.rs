//! Level 3: client-side caches built from snapshot services.
//!
//! The cgroups cache turns the `cgroups-snapshot` service into hot-path
//! lookups by `hash + name` with no I/O.

pub mod table;

pub use table::{CgroupEntry, CgroupEntryView, CgroupsTable, CgroupsTableBuilder};
