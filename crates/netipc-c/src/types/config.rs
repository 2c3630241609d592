//! Client and server configurations and their conversion to the core's.

use std::path::Path;
use std::time::Duration;

use netipc::service::client::ClientConfig;
use netipc::service::server::ServerConfig;
use netipc::transport::shm::ShmConfig;

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
