//! Managed server configuration and its resolution against the named
//! defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::service::defaults::{
    DEFAULT_DRAIN_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_HANDSHAKES,
    DEFAULT_MAX_SESSIONS, DEFAULT_SERVER_PREFERRED_PROFILES, DEFAULT_SERVER_SUPPORTED_PROFILES,
};
use crate::transport::ServerConfig as TransportConfig;
use crate::transport::ShmConfig;

/// Configuration of a managed server.
///
/// Build it with [`ServerConfig::new`] and struct update syntax:
///
/// ```
/// # use netipc::service::server::ServerConfig;
/// let cfg = ServerConfig {
///     auth_token: 0xBE4C_4000_00C0_FFEE,
///     max_sessions: 8,
///     ..ServerConfig::new("/run/netdata", "cgroups-snapshot")
/// };
/// ```
///
/// Zero-valued limits resolve to the named defaults in
/// [`crate::service::defaults`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Directory holding the socket (`{service}.sock`) and the per-session
    /// SHM regions (`{service}-{session_id:016x}.ipcshm`).
    pub run_dir: PathBuf,
    /// Service name (`[A-Za-z0-9._-]`, not `.` or `..`).
    pub service: String,
    /// The token clients must present in their HELLO.
    pub auth_token: u64,
    /// Profiles offered (bitmask of `PROFILE_*`); default baseline and
    /// SHM_HYBRID.
    pub supported_profiles: u32,
    /// Profiles preferred; default SHM_HYBRID. Bits not in
    /// `supported_profiles` are ignored.
    pub preferred_profiles: u32,
    /// Request payload budget in bytes. 0 = zero-config growth mode: start
    /// at [`crate::service::defaults::MAX_PAYLOAD_DEFAULT`], grow on
    /// overflow up to [`crate::service::defaults::MAX_PAYLOAD_CAP`].
    /// Otherwise fixed.
    pub max_request_payload_bytes: u32,
    /// Response payload budget in bytes; 0 = zero-config growth mode (as
    /// for requests). Otherwise fixed.
    pub max_response_payload_bytes: u32,
    /// Most items one batch request may carry on top of the session's
    /// agreed batch size (which the client proposes); 0 = no server-side
    /// ceiling. A batch over it is answered `LIMIT_EXCEEDED` and the
    /// session closes.
    pub max_batch_items: u32,
    /// Most sessions served at once (one thread each); 0 =
    /// [`DEFAULT_MAX_SESSIONS`].
    pub max_sessions: usize,
    /// Most handshakes run at once; 0 = [`DEFAULT_MAX_PENDING_HANDSHAKES`].
    pub max_pending_handshakes: usize,
    /// Deadline of one server-side handshake; zero =
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// How long `stop()` lets requests in progress finish; zero =
    /// [`DEFAULT_DRAIN_TIMEOUT`].
    pub drain_timeout: Duration,
    /// Packet size to offer; 0 = automatic (`SO_SNDBUF - 32`).
    pub packet_size: u32,
    /// SHM data plane options.
    pub shm: ShmConfig,
}

impl ServerConfig {
    /// A configuration for `service` in `run_dir` with every other field at
    /// its default (auth token 0, zero-config budgets).
    pub fn new(run_dir: impl Into<PathBuf>, service: impl Into<String>) -> Self {
        ServerConfig {
            run_dir: run_dir.into(),
            service: service.into(),
            auth_token: 0,
            supported_profiles: DEFAULT_SERVER_SUPPORTED_PROFILES,
            preferred_profiles: DEFAULT_SERVER_PREFERRED_PROFILES,
            max_request_payload_bytes: 0,
            max_response_payload_bytes: 0,
            max_batch_items: 0,
            max_sessions: 0,
            max_pending_handshakes: 0,
            handshake_timeout: Duration::ZERO,
            drain_timeout: Duration::ZERO,
            packet_size: 0,
            shm: ShmConfig::default(),
        }
    }

    /// Resolves zero-valued fields and checks the profiles.
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        let transport = TransportConfig {
            supported_profiles: self.supported_profiles,
            // Preferring a profile that is not offered means nothing.
            preferred_profiles: self.preferred_profiles & self.supported_profiles,
            max_request_payload_bytes: 0,
            max_response_payload_bytes: 0,
            packet_size: self.packet_size,
            auth_token: self.auth_token,
            shm: self.shm,
            on_reject: None,
        };
        transport.validate()?;
        Ok(Resolved {
            transport,
            max_sessions: nonzero_or(self.max_sessions, DEFAULT_MAX_SESSIONS),
            max_handshakes: nonzero_or(self.max_pending_handshakes, DEFAULT_MAX_PENDING_HANDSHAKES),
            handshake_timeout: nonzero_duration_or(
                self.handshake_timeout,
                DEFAULT_HANDSHAKE_TIMEOUT,
            ),
            drain_timeout: nonzero_duration_or(self.drain_timeout, DEFAULT_DRAIN_TIMEOUT),
            max_batch_items: self.max_batch_items,
        })
    }
}

fn nonzero_or(v: usize, default: usize) -> usize {
    if v == 0 { default } else { v }
}

fn nonzero_duration_or(v: Duration, default: Duration) -> Duration {
    if v.is_zero() { default } else { v }
}

/// A configuration with every default applied.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// Handshake policy; the budgets are filled in per handshake from the
    /// learned values.
    pub transport: TransportConfig,
    pub max_sessions: usize,
    pub max_handshakes: usize,
    pub handshake_timeout: Duration,
    pub drain_timeout: Duration,
    pub max_batch_items: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};

    #[test]
    fn defaults_resolve() {
        let r = ServerConfig::new("/tmp", "svc").resolve().unwrap();
        assert_eq!(r.max_sessions, DEFAULT_MAX_SESSIONS);
        assert_eq!(r.max_handshakes, DEFAULT_MAX_PENDING_HANDSHAKES);
        assert_eq!(r.handshake_timeout, DEFAULT_HANDSHAKE_TIMEOUT);
        assert_eq!(r.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
        // SHM_HYBRID where the platform transport implements it (Linux).
        assert_eq!(
            r.transport.supported_profiles,
            PROFILE_BASELINE | (PROFILE_SHM_HYBRID & crate::transport::IMPLEMENTED_PROFILES)
        );
        if cfg!(unix) {
            assert_ne!(r.transport.supported_profiles & PROFILE_SHM_HYBRID, 0);
        }
        assert_eq!(
            r.transport.preferred_profiles,
            PROFILE_SHM_HYBRID & r.transport.supported_profiles
        );
    }

    #[test]
    fn bad_profiles_rejected() {
        let none = ServerConfig {
            supported_profiles: 0,
            ..ServerConfig::new("/tmp", "svc")
        };
        assert!(none.resolve().is_err());
        let unknown = ServerConfig {
            supported_profiles: 0x10,
            ..ServerConfig::new("/tmp", "svc")
        };
        assert!(unknown.resolve().is_err());
        let baseline_only = ServerConfig {
            supported_profiles: PROFILE_BASELINE,
            ..ServerConfig::new("/tmp", "svc")
        };
        assert_eq!(
            baseline_only
                .resolve()
                .unwrap()
                .transport
                .preferred_profiles,
            0
        );
    }
}
