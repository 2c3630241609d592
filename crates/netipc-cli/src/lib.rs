//! Library side of the `netipc` command-line tool.
//!
//! - [`hostdata`]: live Linux host data (cgroup index, process table) and
//!   the [`HostProvider`](hostdata::HostProvider) that owns them.
//! - [`dataset`]: the JSON shapes of the three data services, used for
//!   `--json` output and as `netipc serve --data` input.
//! - [`source`]: the [`DataSource`](source::DataSource) trait that a server
//!   answers from, implemented by the dataset provider and the host.
//! - [`types`]: shared protocol enums and `simple_hash`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dataset;
pub mod hostdata;
pub mod source;
pub mod types;
