//! Plain C types shared by every family: strings, labels, enums,
//! configurations and status snapshots, plus the checked conversions of
//! caller-supplied pointers.

use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::client::{ClientConfig, ClientState, ClientStatus};
use netipc::service::server::ServerConfig;
use netipc::transport::shm::ShmConfig;

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

/// Client (and cache) configuration. Zero-initialise it (`= {0}`) and set
/// what you need: every zero field means "the documented library
/// default". Passing NULL instead of a configuration means all defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_client_config_t {
    /// Authentication token presented in the handshake (must match the
    /// server's).
    pub auth_token: u64,
    /// Transport profiles this client supports (`NIPC_PROFILE_*` bits);
    /// 0 = baseline and SHM. `NIPC_PROFILE_BASELINE` alone = UDS only.
    pub supported_profiles: u32,
    /// Profiles this client prefers; 0 = SHM (masked by the supported
    /// profiles).
    pub preferred_profiles: u32,
    /// Request payload proposal in bytes; 0 = derived from the method.
    pub request_payload_bytes: u32,
    /// Response payload hint in bytes; 0 = the method default (overflow
    /// recovery grows it automatically).
    pub response_payload_bytes: u32,
    /// Cap of automatic payload growth, and the largest response budget
    /// accepted from a server; 0 = the library cap.
    pub max_payload_bytes: u32,
    /// Intended batch size of batch calls; 0 = 1000.
    pub batch_items: u32,
    /// Deadline of one logical call (reconnects, retries and lookup
    /// subcalls included), in milliseconds; 0 = 30000.
    pub call_timeout_ms: u32,
    /// Deadline of one connection attempt in `refresh`, in milliseconds;
    /// 0 = 5000.
    pub connect_timeout_ms: u32,
    /// Most keys one lookup call may hold; 0 = 1048576.
    pub lookup_max_items: u32,
    /// Most requests one lookup call may make; 0 = 65536.
    pub lookup_max_subcalls: u32,
    /// Most bytes one stitched lookup result may hold; 0 = 256 MiB.
    pub lookup_max_response_bytes: u64,
    /// Transport packet size to propose; 0 = automatic.
    pub packet_size: u32,
    /// Upper bound of the SHM receive spin before sleeping, in
    /// microseconds; 0 = the library default.
    pub shm_max_spin_us: u32,
    /// Never spin on SHM receives (sleep in the kernel at once).
    pub shm_no_spin: bool,
    /// Do not install the process-wide SIGBUS handler that protects SHM
    /// mappings. Set it only if the application owns SIGBUS; a peer that
    /// truncates a region file can then kill the process.
    pub no_sigbus_handler: bool,
}

fn shm_config(no_sigbus: bool, no_spin: bool, spin_us: u32) -> ShmConfig {
    let d = ShmConfig::default();
    ShmConfig {
        no_sigbus_handler: no_sigbus,
        max_spin: if no_spin {
            Duration::ZERO
        } else if spin_us == 0 {
            d.max_spin
        } else {
            Duration::from_micros(u64::from(spin_us))
        },
    }
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

/// Reads an optional client configuration.
///
/// # Safety
///
/// `cfg` is NULL or points to a valid `nipc_client_config_t`.
pub(crate) unsafe fn client_config(cfg: *const nipc_client_config_t) -> ClientConfig {
    // SAFETY: the caller guarantees `cfg` is NULL or valid for reads.
    let Some(c) = (unsafe { cfg.as_ref() }) else {
        return ClientConfig::default();
    };
    let d = ClientConfig::default();
    let supported = if c.supported_profiles == 0 {
        d.supported_profiles
    } else {
        c.supported_profiles
    };
    let preferred = if c.preferred_profiles == 0 {
        d.preferred_profiles
    } else {
        c.preferred_profiles
    };
    ClientConfig {
        auth_token: c.auth_token,
        supported_profiles: supported,
        preferred_profiles: preferred & supported,
        request_payload_bytes: c.request_payload_bytes,
        response_payload_bytes: c.response_payload_bytes,
        max_payload_bytes: c.max_payload_bytes,
        batch_items: c.batch_items,
        call_timeout: ms(c.call_timeout_ms),
        connect_timeout: ms(c.connect_timeout_ms),
        lookup_max_items: c.lookup_max_items,
        lookup_max_subcalls: c.lookup_max_subcalls,
        lookup_max_response_bytes: c.lookup_max_response_bytes,
        packet_size: c.packet_size,
        shm: shm_config(c.no_sigbus_handler, c.shm_no_spin, c.shm_max_spin_us),
    }
}

/// Managed server configuration. Zero-initialise it and set what you
/// need: every zero field means "the documented library default"; NULL
/// means all defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_server_config_t {
    /// The token clients must present.
    pub auth_token: u64,
    /// Profiles offered (`NIPC_PROFILE_*` bits); 0 = baseline and SHM.
    pub supported_profiles: u32,
    /// Profiles preferred; 0 = SHM (masked by the supported profiles).
    pub preferred_profiles: u32,
    /// Request payload budget in bytes; 0 = zero-config growth mode
    /// (start small, grow on demand up to the library cap).
    pub max_request_payload_bytes: u32,
    /// Response payload budget in bytes; 0 = zero-config growth mode.
    pub max_response_payload_bytes: u32,
    /// Most items one batch request may carry; 0 = no server ceiling.
    pub max_batch_items: u32,
    /// Most sessions served at once (one thread each); 0 = 64.
    pub max_sessions: u32,
    /// Most handshakes run at once; 0 = 16.
    pub max_pending_handshakes: u32,
    /// Deadline of one handshake in milliseconds; 0 = 5000.
    pub handshake_timeout_ms: u32,
    /// How long `nipc_server_stop()` lets requests in progress finish, in
    /// milliseconds; 0 = 5000.
    pub drain_timeout_ms: u32,
    /// Packet size to offer; 0 = automatic.
    pub packet_size: u32,
    /// Upper bound of the SHM receive spin in microseconds; 0 = default.
    pub shm_max_spin_us: u32,
    /// Never spin on SHM receives.
    pub shm_no_spin: bool,
    /// Do not install the process-wide SIGBUS handler (see
    /// `nipc_client_config_t.no_sigbus_handler`).
    pub no_sigbus_handler: bool,
}

/// Reads an optional server configuration for `run_dir` / `service`.
///
/// # Safety
///
/// `cfg` is NULL or points to a valid `nipc_server_config_t`.
pub(crate) unsafe fn server_config(
    cfg: *const nipc_server_config_t,
    run_dir: &Path,
    service: &str,
) -> ServerConfig {
    let d = ServerConfig::new(run_dir, service);
    // SAFETY: the caller guarantees `cfg` is NULL or valid for reads.
    let Some(c) = (unsafe { cfg.as_ref() }) else {
        return d;
    };
    let supported = if c.supported_profiles == 0 {
        d.supported_profiles
    } else {
        c.supported_profiles
    };
    let preferred = if c.preferred_profiles == 0 {
        d.preferred_profiles
    } else {
        c.preferred_profiles
    };
    ServerConfig {
        auth_token: c.auth_token,
        supported_profiles: supported,
        preferred_profiles: preferred & supported,
        max_request_payload_bytes: c.max_request_payload_bytes,
        max_response_payload_bytes: c.max_response_payload_bytes,
        max_batch_items: c.max_batch_items,
        max_sessions: c.max_sessions as usize,
        max_pending_handshakes: c.max_pending_handshakes as usize,
        handshake_timeout: ms(c.handshake_timeout_ms),
        drain_timeout: ms(c.drain_timeout_ms),
        packet_size: c.packet_size,
        shm: shm_config(c.no_sigbus_handler, c.shm_no_spin, c.shm_max_spin_us),
        ..d
    }
}

// ----- Status snapshots ----------------------------------------------------

/// Diagnostic snapshot of a client (for logs, not hot paths).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_client_status_t {
    /// Current connection state.
    pub state: nipc_client_state_t,
    /// Successful connections (handshakes) since creation.
    pub connect_count: u64,
    /// Successful connections that replaced an earlier session.
    pub reconnect_count: u64,
    /// Typed calls started (including those rejected as not ready).
    pub call_count: u64,
    /// Typed calls that failed.
    pub error_count: u64,
    /// At-least-once resends after a reconnect.
    pub retry_count: u64,
    /// Reconnects made to grow the negotiated payload budgets.
    pub overflow_reconnect_count: u64,
    /// Times SHM was selected but could not be attached.
    pub shm_fallback_count: u64,
    /// Whether SHM was dropped from this client's proposals.
    pub shm_disabled: bool,
    /// Whether the current session runs over shared memory.
    pub shm_attached: bool,
    /// Selected transport profile bit, 0 when not connected.
    pub selected_profile: u32,
    /// Agreed request payload budget (0 when not connected).
    pub request_payload_bytes: u32,
    /// Agreed response payload budget (0 when not connected).
    pub response_payload_bytes: u32,
    /// Agreed batch-item limit (0 when not connected).
    pub batch_items: u32,
    /// Server-assigned session id (0 when not connected).
    pub session_id: u64,
}

impl From<ClientStatus> for nipc_client_status_t {
    fn from(s: ClientStatus) -> Self {
        nipc_client_status_t {
            state: s.state.into(),
            connect_count: s.connects,
            reconnect_count: s.reconnects,
            call_count: s.calls,
            error_count: s.failures,
            retry_count: s.retries,
            overflow_reconnect_count: s.overflow_reconnects,
            shm_fallback_count: s.shm_fallbacks,
            shm_disabled: s.shm_disabled,
            shm_attached: s.shm_attached,
            selected_profile: s.selected_profile,
            request_payload_bytes: s.request_payload_bytes,
            response_payload_bytes: s.response_payload_bytes,
            batch_items: s.batch_items,
            session_id: s.session_id,
        }
    }
}

// ----- Checked argument conversions ----------------------------------------

/// `len` bytes at `ptr` (NULL allowed only with `len == 0`).
///
/// # Safety
///
/// If `ptr` is not NULL it points to `len` readable bytes that stay valid
/// and unchanged for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const c_char,
    len: usize,
    what: &'static str,
) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::invalid(what));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(what));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller's contract, and
    // `len` fits in isize.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The bytes of a `nipc_str_t` passed by the caller.
///
/// # Safety
///
/// As [`bytes_arg`] for `s.ptr` / `s.len`.
pub(crate) unsafe fn str_arg<'a>(s: &nipc_str_t, what: &'static str) -> FfiResult<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { bytes_arg(s.ptr, s.len, what) }
}

/// A NUL-terminated string argument.
///
/// # Safety
///
/// `ptr` is NULL or a valid NUL-terminated string living for `'a`.
pub(crate) unsafe fn cstr_arg<'a>(ptr: *const c_char, what: &'static str) -> FfiResult<&'a CStr> {
    if ptr.is_null() {
        return Err(Failure::invalid(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// `run_dir` and `service_name` arguments.
///
/// # Safety
///
/// Both are NULL or valid NUL-terminated strings living for `'a`.
pub(crate) unsafe fn endpoint_args<'a>(
    run_dir: *const c_char,
    service: *const c_char,
) -> FfiResult<(&'a Path, &'a str)> {
    // SAFETY: forwarded contract.
    let dir = unsafe { cstr_arg(run_dir, "run_dir is NULL") }?;
    // SAFETY: forwarded contract.
    let svc = unsafe { cstr_arg(service, "service_name is NULL") }?;
    if dir.is_empty() {
        return Err(Failure::invalid("run_dir is empty"));
    }
    let svc = svc
        .to_str()
        .map_err(|_| Failure::invalid("service_name is not valid UTF-8"))?;
    Ok((Path::new(OsStr::from_bytes(dir.to_bytes())), svc))
}

/// Writes `v` to an out-parameter (checked for NULL first by the caller
/// through [`out_ptr`]).
///
/// # Safety
///
/// `p` is non-NULL, aligned and valid for writes of `T`.
#[inline]
pub(crate) unsafe fn write_out<T>(p: *mut T, v: T) {
    // SAFETY: guaranteed by the caller; `write` does not read or drop the
    // (possibly uninitialised) old value.
    unsafe { p.write(v) }
}

/// Checks that an out-parameter is not NULL.
#[inline]
pub(crate) fn out_ptr<T>(p: *mut T, what: &'static str) -> FfiResult<*mut T> {
    if p.is_null() {
        Err(Failure::invalid(what))
    } else {
        Ok(p)
    }
}

/// Writes `v` to an optional out-parameter (NULL = not wanted).
///
/// # Safety
///
/// `p` is NULL or aligned and valid for writes of `T`.
#[inline]
pub(crate) unsafe fn write_opt<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and valid per the caller's contract.
        unsafe { p.write(v) }
    }
}
