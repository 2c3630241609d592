//! The benchmark scenarios of BENCHMARKS.md: names, connection settings
//! and data.

use std::fmt;
use std::str::FromStr;

use netipc::codec::apps_lookup::AppsLookupEntry;
use netipc::codec::lookup::{CgroupStatus, Orchestrator, PidStatus};

use crate::cmd::conn::Profile;

/// Request batch items of single-call scenarios.
pub const SINGLE_ITEMS: u32 = 1;
/// Request payload budget of single-call scenarios.
pub const SINGLE_REQUEST_PAYLOAD: u32 = 4096;
/// Response payload budget of single-call scenarios.
pub const SINGLE_RESPONSE_PAYLOAD: u32 = 65536;
/// Batch items of batch scenarios (both ways).
pub const BATCH_ITEMS: u32 = 1000;
/// Payload budget of batch scenarios (both ways): `1000 * 48 + 4096`.
pub const BATCH_PAYLOAD: u32 = BATCH_ITEMS * 48 + 4096;
/// Requests in flight in the pipeline scenarios.
pub const PIPELINE_DEPTH: usize = 16;
/// Initial state of the batch-size generator.
pub const XORSHIFT_SEED: u32 = 12345;
/// Key counts of the in-process lookup scenarios.
pub const LOOKUP_SIZES: [usize; 5] = [1, 16, 256, 8192, 32768];

/// The benchmark's xorshift32 generator of batch sizes.
#[derive(Debug, Clone)]
pub struct Xorshift32(u32);

impl Default for Xorshift32 {
    fn default() -> Self {
        Xorshift32(XORSHIFT_SEED)
    }
}

impl Xorshift32 {
    /// The next raw value (`x ^= x << 13; x ^= x >> 17; x ^= x << 5`).
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// The next batch size: `next() % 999 + 2` (2..=1000).
    pub fn batch_size(&mut self) -> usize {
        (self.next_u32() % 999 + 2) as usize
    }
}

/// Which transport a scenario's server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Baseline only (`uds-*`, `snapshot-baseline`).
    Uds,
    /// Baseline and SHM_HYBRID, SHM preferred (`shm-*`, `snapshot-shm`).
    Shm,
}

impl Transport {
    /// The profile choice of this transport.
    pub fn profile(self) -> Profile {
        match self {
            Transport::Uds => Profile::Uds,
            Transport::Shm => Profile::Shm,
        }
    }
}

/// The method of an in-process lookup scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupMethod {
    /// CGROUPS_LOOKUP.
    Cgroups,
    /// APPS_LOOKUP.
    Apps,
}

/// Which keys an in-process lookup scenario answers as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Every key.
    All,
    /// None.
    None,
    /// The even indexes.
    Mixed,
}

impl Known {
    /// Whether request item `i` is answered as known.
    #[inline]
    pub fn is_known(self, i: usize) -> bool {
        match self {
            Known::All => true,
            Known::None => false,
            Known::Mixed => i % 2 == 0,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Known::All => "known",
            Known::None => "unknown",
            Known::Mixed => "mixed",
        }
    }
}

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `uds-ping-pong`, `shm-ping-pong`.
    PingPong(Transport),
    /// `uds-batch-ping-pong`, `shm-batch-ping-pong`.
    BatchPingPong(Transport),
    /// `snapshot-baseline`, `snapshot-shm`.
    Snapshot(Transport),
    /// `uds-pipeline`.
    Pipeline,
    /// `uds-pipeline-batch`.
    PipelineBatch,
    /// `lookup`: Level 3 cache lookups.
    CacheLookup,
    /// `{cgroups,apps}-lookup-{known,unknown,mixed}-{N}`: in process.
    Local {
        /// The method.
        method: LookupMethod,
        /// Which keys are known.
        known: Known,
        /// Keys per call.
        n: usize,
    },
}

/// What a scenario's server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// INCREMENT (`value + 1`).
    Increment,
    /// CGROUPS_SNAPSHOT, the 16-item benchmark snapshot.
    Snapshot,
}

/// A scenario's server side and its connection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSide {
    /// What is served.
    pub kind: ServerKind,
    /// Profiles.
    pub transport: Transport,
    /// Batch items both ways.
    pub batch_items: u32,
    /// Request payload budget.
    pub request_payload: u32,
    /// Response payload budget.
    pub response_payload: u32,
}

impl ServerSide {
    fn single(kind: ServerKind, transport: Transport) -> Self {
        ServerSide {
            kind,
            transport,
            batch_items: SINGLE_ITEMS,
            request_payload: SINGLE_REQUEST_PAYLOAD,
            response_payload: SINGLE_RESPONSE_PAYLOAD,
        }
    }

    fn batch(transport: Transport) -> Self {
        ServerSide {
            kind: ServerKind::Increment,
            transport,
            batch_items: BATCH_ITEMS,
            request_payload: BATCH_PAYLOAD,
            response_payload: BATCH_PAYLOAD,
        }
    }
}

impl Scenario {
    /// Every scenario, server scenarios first.
    pub fn all() -> Vec<Scenario> {
        let mut v = vec![
            Scenario::PingPong(Transport::Uds),
            Scenario::PingPong(Transport::Shm),
            Scenario::BatchPingPong(Transport::Uds),
            Scenario::BatchPingPong(Transport::Shm),
            Scenario::Snapshot(Transport::Uds),
            Scenario::Snapshot(Transport::Shm),
            Scenario::Pipeline,
            Scenario::PipelineBatch,
            Scenario::CacheLookup,
        ];
        for method in [LookupMethod::Cgroups, LookupMethod::Apps] {
            for known in [Known::All, Known::None, Known::Mixed] {
                for n in LOOKUP_SIZES {
                    v.push(Scenario::Local { method, known, n });
                }
            }
        }
        v
    }

    /// The server side, `None` for in-process scenarios.
    pub fn server_side(self) -> Option<ServerSide> {
        match self {
            Scenario::PingPong(t) => Some(ServerSide::single(ServerKind::Increment, t)),
            Scenario::Pipeline => Some(ServerSide::single(ServerKind::Increment, Transport::Uds)),
            Scenario::BatchPingPong(t) => Some(ServerSide::batch(t)),
            Scenario::PipelineBatch => Some(ServerSide::batch(Transport::Uds)),
            Scenario::Snapshot(t) => Some(ServerSide::single(ServerKind::Snapshot, t)),
            Scenario::CacheLookup | Scenario::Local { .. } => None,
        }
    }

    /// What throughput counts.
    pub fn unit(self) -> &'static str {
        match self {
            Scenario::BatchPingPong(_) | Scenario::PipelineBatch => "items",
            Scenario::CacheLookup => "lookups",
            _ => "calls",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scenario::PingPong(Transport::Uds) => f.write_str("uds-ping-pong"),
            Scenario::PingPong(Transport::Shm) => f.write_str("shm-ping-pong"),
            Scenario::BatchPingPong(Transport::Uds) => f.write_str("uds-batch-ping-pong"),
            Scenario::BatchPingPong(Transport::Shm) => f.write_str("shm-batch-ping-pong"),
            Scenario::Snapshot(Transport::Uds) => f.write_str("snapshot-baseline"),
            Scenario::Snapshot(Transport::Shm) => f.write_str("snapshot-shm"),
            Scenario::Pipeline => f.write_str("uds-pipeline"),
            Scenario::PipelineBatch => f.write_str("uds-pipeline-batch"),
            Scenario::CacheLookup => f.write_str("lookup"),
            Scenario::Local { method, known, n } => {
                let m = match method {
                    LookupMethod::Cgroups => "cgroups",
                    LookupMethod::Apps => "apps",
                };
                write!(f, "{m}-lookup-{}-{n}", known.as_str())
            }
        }
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::all()
            .into_iter()
            .find(|sc| sc.to_string() == s)
            .ok_or_else(|| format!("unknown scenario `{s}` (see `netipc bench list`)"))
    }
}

/// The cgroups key of lookup item `i`.
pub fn cgroups_key(i: usize) -> String {
    format!("/sys/fs/cgroup/bench/cg-{i:03}")
}

/// The PID of lookup item `i`.
pub fn apps_key(i: usize) -> u32 {
    1000u32.wrapping_add(i as u32)
}

/// A known cgroups item's name.
pub const CGROUPS_KNOWN_NAME: &[u8] = b"bench-pod";
/// A known cgroups item's labels.
pub const CGROUPS_KNOWN_LABELS: [(&str, &str); 2] =
    [("namespace", "bench"), ("image", "bench:latest")];
/// A known apps item's labels.
pub const APPS_KNOWN_LABELS: [(&str, &str); 1] = [("image", "bench:latest")];

/// A known apps item's fields.
pub fn apps_known_entry() -> AppsLookupEntry<'static> {
    AppsLookupEntry {
        status: PidStatus::Known,
        cgroup_status: CgroupStatus::Known,
        orchestrator: Orchestrator::Docker.as_u16(),
        ppid: 1,
        uid: 1000,
        starttime: 42,
        comm: b"bench",
        cgroup_path: b"/sys/fs/cgroup/bench",
        cgroup_name: b"bench-container",
    }
}

/// The in-process buffers of `n` keys: `n * 256 + 4096` bytes, at least
/// 65536.
pub fn local_buffer(n: usize) -> usize {
    (n.saturating_mul(256).saturating_add(4096)).max(65536)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let all = Scenario::all();
        assert_eq!(all.len(), 9 + 30);
        for s in &all {
            assert_eq!(s.to_string().parse::<Scenario>().unwrap(), *s);
        }
        assert_eq!(
            "apps-lookup-mixed-8192".parse::<Scenario>().unwrap(),
            Scenario::Local {
                method: LookupMethod::Apps,
                known: Known::Mixed,
                n: 8192
            }
        );
        assert!("apps-lookup-mixed-7".parse::<Scenario>().is_err());
        assert!("nope".parse::<Scenario>().is_err());
        assert_eq!(BATCH_PAYLOAD, 52096);
    }

    #[test]
    fn settings() {
        let s = Scenario::Pipeline.server_side().unwrap();
        assert_eq!(s, Scenario::PingPong(Transport::Uds).server_side().unwrap());
        let b = Scenario::BatchPingPong(Transport::Shm)
            .server_side()
            .unwrap();
        assert_eq!((b.batch_items, b.request_payload), (1000, 52096));
        assert!(Scenario::CacheLookup.server_side().is_none());
        assert_eq!(local_buffer(1), 65536);
        assert_eq!(local_buffer(8192), 8192 * 256 + 4096);
        assert_eq!(cgroups_key(7), "/sys/fs/cgroup/bench/cg-007");
        assert_eq!(cgroups_key(8191), "/sys/fs/cgroup/bench/cg-8191");
    }

    #[test]
    fn xorshift_sequence() {
        let mut g = Xorshift32::default();
        // x = 12345 after one xorshift32 round.
        let mut x: u32 = 12345;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        assert_eq!(g.next_u32(), x);
        let mut g = Xorshift32::default();
        for _ in 0..10_000 {
            let n = g.batch_size();
            assert!((2..=1000).contains(&n));
        }
    }
}
