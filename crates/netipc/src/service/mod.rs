//! Level 2: typed clients and the managed server.
//!
//! Callers pass typed values and get typed results or views; buffers,
//! sessions, chunking, SHM and payload budgets stay inside. Level 2
//! composes the Level 1 transport and the codec only.
//!
//! It names only the platform-neutral types re-exported by
//! [`crate::transport`] (sessions, listener, configs, the session
//! shutdown handle), so the same code runs over UDS / SHM on Linux and
//! over Named Pipes on Windows.

pub mod client;
pub mod defaults;
pub mod server;

pub use server::{
    AppsLookupHandler, CgroupsLookupHandler, CgroupsSnapshotHandler, HandlerError,
    IncrementHandler, LocalDispatcher, PayloadBudgets, Server, ServerConfig, ServerStats,
    ServiceKind, StopSummary, StringReverseHandler,
};

pub use client::{
    AppsLookupClient, CgroupsLookupClient, CgroupsSnapshotClient, ClientState, ClientStatus,
    IncrementClient, StringReverseClient,
};
