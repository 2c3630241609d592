//! The shared harness of the integration tests. Every test binary includes
//! this tree with `#[path = "support/mod.rs"] mod support;` and uses the
//! parts it needs; each binary compiles the whole tree, so unused items are
//! allowed here.
//!
//! - [`rundir`]: unique run directories, removed on drop.
//! - [`alloc`]: the counting global allocator of the zero-allocation tests.
//! - [`conformance`]: the conformance vectors and captured transport files.
//! - [`raw`]: raw SEQPACKET peers for what the Level 1 API refuses to send.
//! - [`test_server`]: a threaded Level 1 server reporting handshake events.
//! - [`fake_server`]: a scriptable Level 1 server with learned budgets, for
//!   the Level 2 client tests.
//! - [`l1_client`]: Level 1 client sessions against a managed server.
//! - [`l3`]: the Level 3 cache harness (controllable snapshot provider).
//!
//! Everything but the raw SEQPACKET peers and the Level 1 test server
//! (UDS-specific) also builds for Windows, where the transport seam
//! names the Named Pipe types.

#![allow(dead_code)]

pub mod alloc;
pub mod conformance;
pub mod fake_server;
pub mod l1_client;
pub mod l3;
#[cfg(unix)]
pub mod raw;
pub mod rundir;
#[cfg(unix)]
pub mod test_server;

use std::time::{Duration, Instant};

use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::server::ServerConfig;
use netipc::transport::{Deadline, IMPLEMENTED_PROFILES};

#[allow(unused_imports)] // unused by the Windows-only builds of some binaries
pub use rundir::TestDir;

/// The auth token of the tests (also the benchmark and conformance token:
/// the captured conformance packets carry it).
pub const TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;

/// A generous bound for a wait on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A deadline [`PATIENCE`] from now.
pub fn soon() -> Deadline {
    Deadline::after(PATIENCE)
}

/// Waits (up to [`PATIENCE`]) until `cond` holds, yielding in between.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The data plane of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// The baseline transport only (UDS on Linux, Named Pipes on Windows).
    Baseline,
    /// Baseline and SHM_HYBRID, preferring SHM.
    Shm,
}

/// Every plane this platform's transport implements, for tests that run
/// over each (the SHM plane only where SHM_HYBRID is implemented).
pub const PLANES: &[Plane] = if IMPLEMENTED_PROFILES & PROFILE_SHM_HYBRID != 0 {
    &[Plane::Baseline, Plane::Shm]
} else {
    &[Plane::Baseline]
};

impl Plane {
    /// `(supported, preferred)` profiles.
    pub fn profiles(self) -> (u32, u32) {
        match self {
            Plane::Baseline => (PROFILE_BASELINE, PROFILE_BASELINE),
            Plane::Shm => (PROFILE_BASELINE | PROFILE_SHM_HYBRID, PROFILE_SHM_HYBRID),
        }
    }

    /// The richest plane of this platform: SHM where it is implemented,
    /// else the baseline.
    pub fn best() -> Plane {
        PLANES[PLANES.len() - 1]
    }

    /// Whether a session on this plane runs over SHM.
    pub fn is_shm(self) -> bool {
        self == Plane::Shm
    }
}

/// A managed server configuration for `service` in `dir` with [`TOKEN`]
/// (everything else at the defaults).
pub fn managed_server_config(dir: &TestDir, service: &str) -> ServerConfig {
    ServerConfig {
        auth_token: TOKEN,
        ..ServerConfig::new(dir.path(), service)
    }
}
