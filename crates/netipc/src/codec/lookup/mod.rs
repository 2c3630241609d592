//! Shared building blocks of the two lookup codecs,
//! [`cgroups_lookup`](super::cgroups_lookup) (`CGROUPS_LOOKUP`, method 4)
//! and [`apps_lookup`](super::apps_lookup) (`APPS_LOOKUP`, method 5).
//!
//! Both methods use the same payload skeleton:
//!
//! - a 16-byte header (request: layout, flags, item count, two reserved
//!   words; response: layout, flags, item count, `u64` generation),
//! - a method-internal directory of 8-byte `(offset, length)` entries whose
//!   offsets are relative to the packed area after the directory (this is
//!   not the Level 1 batch directory),
//! - packed keys or items at 8-byte aligned offsets, the last one unpadded,
//! - items with NUL-terminated strings and an optional label table at the
//!   canonical offset.
//!
//! Decoders are strict about everything the specification lists and about
//! canonical label placement, and tolerant where it is silent: gaps between
//! items, bytes after an item's last string, and request keys that share
//! bytes are accepted (encoders never produce them). Item ranges must be in
//! increasing order, which rules out overlap in linear time.
//!
//! This module holds the one implementation of header/directory
//! validation (`directory`), of the item header and string checks
//! (`item`), of label tables (`labels`), of the response
//! payload budget planner (`response`, whose rules the builders document),
//! of the view, iterator and builder plumbing both codecs generate from
//! the macros in `macros`, and the status and orchestrator enums.

pub(crate) mod directory;
pub(crate) mod enums;
pub(crate) mod item;
pub(crate) mod label_set;
pub(crate) mod labels;
mod macros;
pub(crate) mod packed;
pub(crate) mod response;
#[cfg(test)]
pub(crate) mod test_support;

pub use enums::{CgroupStatus, LookupStatus, Orchestrator, PidStatus, orchestrator_name};
pub use label_set::{IntoItemLabels, ItemLabels, IterLabels, LabelSet};
pub use labels::{Label, LabelSource, LabelView, LabelsIter, MAX_LABELS, NO_LABELS};
pub use response::MAX_BUDGET;

/// Size of the fixed lookup request header.
pub const LOOKUP_REQ_HDR_SIZE: usize = 16;
/// Size of the fixed lookup response header.
pub const LOOKUP_RESP_HDR_SIZE: usize = 16;
/// Size of one lookup directory entry (`offset: u32`, `length: u32`).
pub const LOOKUP_DIR_ENTRY_SIZE: usize = crate::protocol::DIR_ENTRY_SIZE;
/// Size of one label table entry.
pub const LOOKUP_LABEL_ENTRY_SIZE: usize = 16;

pub(crate) use macros::{directory_view, index_iter, item_labels, response_builder, response_view};
