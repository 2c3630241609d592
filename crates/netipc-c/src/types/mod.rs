//! Plain C types shared by every family: strings, labels, enums,
//! configurations and status snapshots, plus the checked conversions of
//! caller-supplied pointers.
//!
//! This file holds the constants, strings, labels and enums; `config`
//! the configurations, `status` the status snapshots and `args` the
//! checked argument conversions (declared in the header's order).

use std::ffi::c_char;

use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::client::ClientState;

use crate::error::{Failure, FfiResult};

// ----- Constants -----------------------------------------------------------

/// Major version of this library (and of the soname `libnetipc.so.0`).
pub const NIPC_VERSION_MAJOR: u32 = 0;
/// Minor version of this library.
pub const NIPC_VERSION_MINOR: u32 = 1;
/// Patch version of this library.
pub const NIPC_VERSION_PATCH: u32 = 0;

/// Transport profile bit: the UDS `SOCK_SEQPACKET` baseline.
pub const NIPC_PROFILE_BASELINE: u32 = 0x01;
/// Transport profile bit: the POSIX shared-memory fast path.
pub const NIPC_PROFILE_SHM_HYBRID: u32 = 0x02;

const _: () = assert!(
    NIPC_PROFILE_BASELINE == PROFILE_BASELINE && NIPC_PROFILE_SHM_HYBRID == PROFILE_SHM_HYBRID
);
const _: () = assert!(NIPC_UID_UNSET == netipc::codec::apps_lookup::UID_UNSET);

/// `uid` value of an APPS_LOOKUP item whose UID is not known.
pub const NIPC_UID_UNSET: u32 = 0xFFFF_FFFF;
/// Longest `comm` of an APPS_LOOKUP item, in bytes.
pub const NIPC_APPS_LOOKUP_COMM_MAX_LEN: u32 = 15;

/// Orchestrator value: none / not known.
pub const NIPC_ORCHESTRATOR_UNKNOWN: u16 = 0;
/// Orchestrator value: systemd.
pub const NIPC_ORCHESTRATOR_SYSTEMD: u16 = 1;
/// Orchestrator value: Docker.
pub const NIPC_ORCHESTRATOR_DOCKER: u16 = 2;
/// Orchestrator value: Kubernetes.
pub const NIPC_ORCHESTRATOR_K8S: u16 = 3;
/// Orchestrator value: KVM.
pub const NIPC_ORCHESTRATOR_KVM: u16 = 4;
/// Orchestrator value: LXC.
pub const NIPC_ORCHESTRATOR_LXC: u16 = 5;
/// Orchestrator value: Podman.
pub const NIPC_ORCHESTRATOR_PODMAN: u16 = 6;
/// Orchestrator value: systemd-nspawn.
pub const NIPC_ORCHESTRATOR_NSPAWN: u16 = 7;

// ----- Strings and labels --------------------------------------------------

/// A byte string with its length: `len` bytes at `ptr`.
///
/// Strings returned by the library are never NULL and are also
/// NUL-terminated (`ptr[len] == '\0'`), but may in principle contain any
/// bytes: use `len`. Strings passed to the library may have `ptr == NULL`
/// only when `len == 0`, and need no NUL terminator.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_str_t {
    /// First byte.
    pub ptr: *const c_char,
    /// Length in bytes, without any NUL terminator.
    pub len: usize,
}

impl nipc_str_t {
    /// A view of `bytes` (which the library guarantees are followed by a
    /// NUL when they come from a response or a cache).
    #[inline]
    pub(crate) fn of(bytes: &[u8]) -> Self {
        nipc_str_t {
            ptr: bytes.as_ptr().cast(),
            len: bytes.len(),
        }
    }
}

/// One label (`key = value`) of a lookup item.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_label_t {
    /// Label key (never empty in responses; must not be empty when built).
    pub key: nipc_str_t,
    /// Label value (may be empty).
    pub value: nipc_str_t,
}

// ----- Enums ---------------------------------------------------------------

/// The service kind a client, cache or server handle is bound to (one
/// endpoint serves one kind). The values are the protocol method codes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nipc_service_kind_t {
    /// `INCREMENT`: u64 in, u64 out (test and benchmark method).
    NIPC_SERVICE_INCREMENT = 1,
    /// `CGROUPS_SNAPSHOT`: the full cgroups snapshot (`cgroups-snapshot`).
    NIPC_SERVICE_CGROUPS_SNAPSHOT = 2,
    /// `STRING_REVERSE`: string in, string out (test method).
    NIPC_SERVICE_STRING_REVERSE = 3,
    /// `CGROUPS_LOOKUP`: cgroup paths in, metadata out (`cgroups-lookup`).
    NIPC_SERVICE_CGROUPS_LOOKUP = 4,
    /// `APPS_LOOKUP`: PIDs in, process and cgroup metadata out
    /// (`apps-lookup`).
    NIPC_SERVICE_APPS_LOOKUP = 5,
}

impl nipc_service_kind_t {
    /// The kind with integer value `v` (values come from C as integers).
    pub(crate) fn from_u32(v: u32) -> FfiResult<Self> {
        use nipc_service_kind_t::*;
        Ok(match v {
            1 => NIPC_SERVICE_INCREMENT,
            2 => NIPC_SERVICE_CGROUPS_SNAPSHOT,
            3 => NIPC_SERVICE_STRING_REVERSE,
            4 => NIPC_SERVICE_CGROUPS_LOOKUP,
            5 => NIPC_SERVICE_APPS_LOOKUP,
            _ => return Err(Failure::invalid("unknown service kind")),
        })
    }
}

/// Connection state of a client (see the header's lifecycle notes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nipc_client_state_t {
    /// Not connected; `nipc_client_refresh()` will connect.
    NIPC_CLIENT_DISCONNECTED = 0,
    /// A connection attempt is in progress (seen only from inside a call).
    NIPC_CLIENT_CONNECTING = 1,
    /// Connected and handshaken: calls may proceed.
    NIPC_CLIENT_READY = 2,
    /// Nobody serves the endpoint (routine: the provider may start later).
    NIPC_CLIENT_NOT_FOUND = 3,
    /// The server rejected the auth token (actionable).
    NIPC_CLIENT_AUTH_FAILED = 4,
    /// Version, layout, profile or payload-limit mismatch (actionable).
    NIPC_CLIENT_INCOMPATIBLE = 5,
    /// A READY connection failed, or a call timed out or was aborted;
    /// `nipc_client_refresh()` reconnects (routine).
    NIPC_CLIENT_BROKEN = 6,
}

impl From<ClientState> for nipc_client_state_t {
    fn from(s: ClientState) -> Self {
        use nipc_client_state_t::*;
        match s {
            ClientState::Disconnected => NIPC_CLIENT_DISCONNECTED,
            ClientState::Connecting => NIPC_CLIENT_CONNECTING,
            ClientState::Ready => NIPC_CLIENT_READY,
            ClientState::NotFound => NIPC_CLIENT_NOT_FOUND,
            ClientState::AuthFailed => NIPC_CLIENT_AUTH_FAILED,
            ClientState::Incompatible => NIPC_CLIENT_INCOMPATIBLE,
            ClientState::Broken => NIPC_CLIENT_BROKEN,
        }
    }
}

/// Per-item status of a CGROUPS_LOOKUP response item.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nipc_lookup_status_t {
    /// Known: name, labels and orchestrator are meaningful.
    NIPC_LOOKUP_KNOWN = 0,
    /// Not known yet; asking again later may succeed.
    NIPC_LOOKUP_UNKNOWN_RETRY_LATER = 1,
    /// Not known and will not become known in this provider generation.
    NIPC_LOOKUP_UNKNOWN_PERMANENT = 2,
    /// Budget reached at this item (only seen by server handlers: clients
    /// retry such items internally).
    NIPC_LOOKUP_PAYLOAD_EXCEEDED = 3,
    /// The item cannot fit by itself in the maximum budget (final).
    NIPC_LOOKUP_OVERSIZED_ITEM = 4,
}

impl From<LookupStatus> for nipc_lookup_status_t {
    fn from(s: LookupStatus) -> Self {
        use nipc_lookup_status_t::*;
        match s {
            LookupStatus::Known => NIPC_LOOKUP_KNOWN,
            LookupStatus::UnknownRetryLater => NIPC_LOOKUP_UNKNOWN_RETRY_LATER,
            LookupStatus::UnknownPermanent => NIPC_LOOKUP_UNKNOWN_PERMANENT,
            LookupStatus::PayloadExceeded => NIPC_LOOKUP_PAYLOAD_EXCEEDED,
            LookupStatus::OversizedItem => NIPC_LOOKUP_OVERSIZED_ITEM,
        }
    }
}

/// PID status of an APPS_LOOKUP response item.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nipc_pid_status_t {
    /// The provider knows the process.
    NIPC_PID_KNOWN = 0,
    /// The provider does not know this PID.
    NIPC_PID_UNKNOWN = 1,
    /// Budget reached at this item (only seen by server handlers).
    NIPC_PID_PAYLOAD_EXCEEDED = 2,
    /// The item cannot fit by itself in the maximum budget (final).
    NIPC_PID_OVERSIZED_ITEM = 3,
}

impl From<PidStatus> for nipc_pid_status_t {
    fn from(s: PidStatus) -> Self {
        use nipc_pid_status_t::*;
        match s {
            PidStatus::Known => NIPC_PID_KNOWN,
            PidStatus::Unknown => NIPC_PID_UNKNOWN,
            PidStatus::PayloadExceeded => NIPC_PID_PAYLOAD_EXCEEDED,
            PidStatus::OversizedItem => NIPC_PID_OVERSIZED_ITEM,
        }
    }
}

/// Cgroup status of an APPS_LOOKUP response item (meaningful only when the
/// PID status is `NIPC_PID_KNOWN`; `NIPC_CGROUP_KNOWN` (0) otherwise).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nipc_cgroup_status_t {
    /// The process cgroup is known: path, name, labels, orchestrator.
    NIPC_CGROUP_KNOWN = 0,
    /// The cgroup is not known yet (the path may be empty).
    NIPC_CGROUP_UNKNOWN_RETRY_LATER = 1,
    /// The cgroup path is known but will never be enriched.
    NIPC_CGROUP_UNKNOWN_PERMANENT = 2,
    /// The process lives in the host root cgroup.
    NIPC_CGROUP_HOST_ROOT = 3,
}

impl From<CgroupStatus> for nipc_cgroup_status_t {
    fn from(s: CgroupStatus) -> Self {
        use nipc_cgroup_status_t::*;
        match s {
            CgroupStatus::Known => NIPC_CGROUP_KNOWN,
            CgroupStatus::UnknownRetryLater => NIPC_CGROUP_UNKNOWN_RETRY_LATER,
            CgroupStatus::UnknownPermanent => NIPC_CGROUP_UNKNOWN_PERMANENT,
            CgroupStatus::HostRoot => NIPC_CGROUP_HOST_ROOT,
        }
    }
}

/// A `nipc_lookup_status_t` passed from C as an integer.
pub(crate) fn lookup_status(v: u32) -> FfiResult<LookupStatus> {
    u16::try_from(v)
        .ok()
        .and_then(LookupStatus::from_u16)
        .ok_or(Failure::invalid("unknown nipc_lookup_status_t value"))
}

/// A `nipc_pid_status_t` passed from C as an integer.
pub(crate) fn pid_status(v: u32) -> FfiResult<PidStatus> {
    u16::try_from(v)
        .ok()
        .and_then(PidStatus::from_u16)
        .ok_or(Failure::invalid("unknown nipc_pid_status_t value"))
}

/// A `nipc_cgroup_status_t` passed from C as an integer.
pub(crate) fn cgroup_status(v: u32) -> FfiResult<CgroupStatus> {
    u16::try_from(v)
        .ok()
        .and_then(CgroupStatus::from_u16)
        .ok_or(Failure::invalid("unknown nipc_cgroup_status_t value"))
}

// ----- Configurations ------------------------------------------------------

mod config;

pub(crate) use config::{client_config, server_config};
pub use config::{nipc_client_config_t, nipc_server_config_t};

// ----- Status snapshots ----------------------------------------------------

mod status;

pub use status::nipc_client_status_t;

// ----- Checked argument conversions ----------------------------------------

mod args;

pub(crate) use args::{bytes_arg, endpoint_args, out_ptr, str_arg, write_opt, write_out};
