//! The client workloads of the server scenarios (Level 2 typed clients,
//! and Level 1 sessions for pipelining) and the Level 3 `lookup`
//! scenario. Every answer is checked; a wrong one fails the run.

use std::time::Duration;

use netipc::cache::CgroupsCache;
use netipc::codec::corpus::bench_snapshot_items;
use netipc::codec::increment::{INCREMENT_PAYLOAD_SIZE, decode_increment, encode_increment_array};
use netipc::protocol::{FLAG_BATCH, METHOD_INCREMENT};
use netipc::service::client::{CgroupsSnapshotClient, ClientConfig, IncrementClient};
use netipc::service::server::ServerConfig;
use netipc::transport::{ClientConfig as SessionConfig, ClientSession, Deadline};
use netipc::wire::{BatchBuilder, Header};

use super::measure::Workload;
use super::scenario::{PIPELINE_DEPTH, ServerSide, Xorshift32};
use crate::cmd::conn::{Conn, check_ready};
use crate::cmd::{CliError, CliResult};

/// A wrong answer: fails the run (exit 1).
fn wrong(what: impl std::fmt::Display) -> CliError {
    CliError::failure(format!("wrong answer: {what}"))
}

fn lib_err(conn: &Conn) -> impl Fn(netipc::Error) -> CliError + '_ {
    move |e| CliError::from(e).context(conn.socket_path().display())
}

/// The Level 2 client configuration of a scenario.
fn client_config(conn: &Conn, side: &ServerSide) -> ClientConfig {
    ClientConfig {
        batch_items: side.batch_items,
        ..conn.client_config()
    }
}

/// `*-ping-pong`: one INCREMENT in flight, continuing from the answer.
pub struct PingPong {
    client: IncrementClient,
    counter: u64,
}

impl PingPong {
    /// Connects.
    pub fn connect(conn: &Conn, side: &ServerSide) -> CliResult<Self> {
        let mut client =
            IncrementClient::new(&conn.run_dir, &conn.service, client_config(conn, side))
                .map_err(lib_err(conn))?;
        client.refresh();
        check_ready(client.state(), &conn.socket_path())?;
        Ok(PingPong { client, counter: 0 })
    }
}

impl Workload for PingPong {
    fn step(&mut self) -> CliResult<u64> {
        let sent = self.counter;
        let got = self
            .client
            .call(sent)
            .map_err(|e| CliError::from(e).context("increment call"))?;
        if got != sent.wrapping_add(1) {
            return Err(wrong(format!("increment({sent}) = {got}")));
        }
        self.counter = got;
        Ok(1)
    }
}

/// `*-batch-ping-pong`: one batch in flight, sizes from the generator.
pub struct BatchPingPong {
    client: IncrementClient,
    counter: u64,
    sizes: Xorshift32,
    values: Vec<u64>,
}

impl BatchPingPong {
    /// Connects.
    pub fn connect(conn: &Conn, side: &ServerSide) -> CliResult<Self> {
        let mut client =
            IncrementClient::new(&conn.run_dir, &conn.service, client_config(conn, side))
                .map_err(lib_err(conn))?;
        client.refresh();
        check_ready(client.state(), &conn.socket_path())?;
        Ok(BatchPingPong {
            client,
            counter: 0,
            sizes: Xorshift32::default(),
            values: Vec::with_capacity(side.batch_items as usize),
        })
    }
}

impl Workload for BatchPingPong {
    fn step(&mut self) -> CliResult<u64> {
        let n = self.sizes.batch_size();
        self.values.clear();
        self.values
            .extend((0..n as u64).map(|k| self.counter.wrapping_add(k)));
        let answers = self
            .client
            .call_batch(&self.values)
            .map_err(|e| CliError::from(e).context("increment batch call"))?;
        if answers.len() != n {
            return Err(wrong(format!(
                "{} answers to a batch of {n}",
                answers.len()
            )));
        }
        for (v, a) in self.values.iter().zip(answers) {
            if *a != v.wrapping_add(1) {
                return Err(wrong(format!("increment({v}) = {a} in a batch")));
            }
        }
        self.counter = self.counter.wrapping_add(n as u64);
        Ok(n as u64)
    }
}

/// The expected benchmark snapshot items: (hash, enabled, name, path).
fn expected_snapshot() -> Vec<(u32, u32, Vec<u8>, Vec<u8>)> {
    bench_snapshot_items()
        .into_iter()
        .map(|i| (i.hash, i.enabled, i.name, i.path))
        .collect()
}

/// `snapshot-*`: one snapshot call, 16 items checked.
pub struct SnapshotCall {
    client: CgroupsSnapshotClient,
    expected: Vec<(u32, u32, Vec<u8>, Vec<u8>)>,
}

impl SnapshotCall {
    /// Connects.
    pub fn connect(conn: &Conn, side: &ServerSide) -> CliResult<Self> {
        let mut client =
            CgroupsSnapshotClient::new(&conn.run_dir, &conn.service, client_config(conn, side))
                .map_err(lib_err(conn))?;
        client.refresh();
        check_ready(client.state(), &conn.socket_path())?;
        Ok(SnapshotCall {
            client,
            expected: expected_snapshot(),
        })
    }
}

impl Workload for SnapshotCall {
    fn step(&mut self) -> CliResult<u64> {
        let view = self
            .client
            .call_snapshot()
            .map_err(|e| CliError::from(e).context("snapshot call"))?;
        if view.len() != self.expected.len() {
            return Err(wrong(format!(
                "snapshot of {} items, expected {}",
                view.len(),
                self.expected.len()
            )));
        }
        for (i, (item, (hash, enabled, name, path))) in view.iter().zip(&self.expected).enumerate()
        {
            if item.hash != *hash
                || item.enabled != *enabled
                || item.name != name
                || item.path != path
            {
                return Err(wrong(format!("snapshot item {i}")));
            }
        }
        Ok(1)
    }
}

/// Connects a Level 1 session for pipelining (baseline; SHM allows one
/// request in flight).
fn pipeline_session(conn: &Conn, side: &ServerSide) -> CliResult<ClientSession> {
    let (supported, preferred) = conn.profile.bits();
    let d = SessionConfig::default();
    let or = |v: u32, default: u32| if v == 0 { default } else { v };
    let response = or(conn.max_response_payload, d.max_response_payload_bytes);
    let cfg = SessionConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        max_request_payload_bytes: or(conn.max_request_payload, d.max_request_payload_bytes),
        max_request_batch_items: side.batch_items,
        max_response_payload_bytes: response,
        max_response_batch_items: side.batch_items,
        response_payload_cap: d.response_payload_cap.max(response),
        auth_token: conn.auth_token,
        max_in_flight: PIPELINE_DEPTH,
        ..d
    };
    let endpoint = conn.endpoint()?;
    let timeout = timeout_of(conn);
    ClientSession::connect(&endpoint, &cfg, Deadline::after(timeout), None)
        .map_err(|e| CliError::from(e).context(endpoint.socket_path().display()))
}

fn timeout_of(conn: &Conn) -> Duration {
    if conn.timeout.is_zero() {
        netipc::service::defaults::DEFAULT_CALL_TIMEOUT
    } else {
        conn.timeout
    }
}

/// `uds-pipeline` / `uds-pipeline-batch`: 16 requests (or batches) sent,
/// then their 16 responses read and checked.
pub struct Pipeline {
    session: ClientSession,
    timeout: Duration,
    counter: u64,
    /// Batch sizes; `None` for single requests.
    sizes: Option<Xorshift32>,
    /// Per slot: message id, first value, item count.
    slots: [(u64, u64, usize); PIPELINE_DEPTH],
    /// Per-slot request payloads.
    tx: Vec<Vec<u8>>,
}

impl Pipeline {
    /// Connects; `batch` selects batches of generated sizes.
    pub fn connect(conn: &Conn, side: &ServerSide, batch: bool) -> CliResult<Self> {
        Ok(Pipeline {
            session: pipeline_session(conn, side)?,
            timeout: timeout_of(conn),
            counter: 0,
            sizes: batch.then(Xorshift32::default),
            slots: [(0, 0, 0); PIPELINE_DEPTH],
            tx: (0..PIPELINE_DEPTH)
                .map(|_| Vec::with_capacity(side.request_payload as usize))
                .collect(),
        })
    }

    fn send(&mut self, k: usize) -> netipc::Result<()> {
        let n = match &mut self.sizes {
            Some(g) => g.batch_size(),
            None => 1,
        };
        let first = self.counter;
        self.counter = self.counter.wrapping_add(n as u64);
        let id = self.session.next_message_id();
        self.slots[k] = (id, first, n);
        if n == 1 {
            return self
                .session
                .send_request(METHOD_INCREMENT, id, &encode_increment_array(first));
        }
        let buf = &mut self.tx[k];
        buf.clear();
        let count = n as u32;
        let area = BatchBuilder::append_uniform(buf, count, INCREMENT_PAYLOAD_SIZE)?;
        let slots = buf.get_mut(area..).unwrap_or_default();
        for (j, slot) in slots.chunks_exact_mut(INCREMENT_PAYLOAD_SIZE).enumerate() {
            slot.copy_from_slice(&encode_increment_array(first.wrapping_add(j as u64)));
        }
        let len = buf.len();
        let header = Header {
            flags: FLAG_BATCH,
            item_count: count,
            ..Header::request(METHOD_INCREMENT, id, len as u32)
        };
        self.session.send_message(&header, &self.tx[k])
    }
}

impl Workload for Pipeline {
    fn step(&mut self) -> CliResult<u64> {
        let ctx = |e: netipc::Error| CliError::from(e).context("pipelined request");
        for k in 0..PIPELINE_DEPTH {
            self.send(k).map_err(ctx)?;
        }
        let deadline = Deadline::after(self.timeout);
        let mut units = 0u64;
        for _ in 0..PIPELINE_DEPTH {
            let msg = self.session.recv_response(deadline, None).map_err(ctx)?;
            if !msg.is_ok() {
                return Err(
                    CliError::from(netipc::Error::Status(msg.header.transport_status))
                        .context("pipelined request"),
                );
            }
            let Some(&(_, first, n)) = self.slots.iter().find(|s| s.0 == msg.header.message_id)
            else {
                return Err(wrong(format!(
                    "response to unknown message id {}",
                    msg.header.message_id
                )));
            };
            if msg.item_count() != n {
                return Err(wrong(format!(
                    "{} answers to a batch of {n}",
                    msg.item_count()
                )));
            }
            for (j, item) in msg.items().enumerate() {
                let v = first.wrapping_add(j as u64);
                let got =
                    decode_increment(item).map_err(|e| CliError::from(netipc::Error::from(e)))?;
                if got != v.wrapping_add(1) {
                    return Err(wrong(format!("increment({v}) = {got}")));
                }
            }
            units += n as u64;
        }
        Ok(units)
    }
}

/// `lookup`: a Level 3 cache seeded with the 16 benchmark items; one pass
/// = 16 lookups by (hash, name) under one read guard, all hits.
pub struct CacheLookup {
    cache: CgroupsCache,
    keys: Vec<(u32, Vec<u8>)>,
    _dir: tempfile::TempDir,
}

impl CacheLookup {
    /// Seeds the cache from an in-process snapshot server on a private
    /// temporary run directory (stopped again before measuring).
    pub fn seed(auth_token: u64) -> CliResult<Self> {
        let dir = tempfile::Builder::new()
            .prefix("netipc-bench-")
            .tempdir()
            .map_err(|e| CliError::from(e).context("temporary run dir"))?;
        let side = super::scenario::Scenario::Snapshot(super::scenario::Transport::Uds)
            .server_side()
            .ok_or_else(|| CliError::failure("no snapshot server"))?;
        let (supported, preferred) = side.transport.profile().bits();
        let cfg = ServerConfig {
            auth_token,
            supported_profiles: supported,
            preferred_profiles: preferred,
            ..ServerConfig::new(dir.path(), "cgroups-snapshot")
        };
        let server = super::server::start(&side, &cfg).map_err(CliError::from)?;
        let cache = CgroupsCache::new(
            dir.path(),
            "cgroups-snapshot",
            ClientConfig {
                auth_token,
                ..ClientConfig::default()
            },
        )
        .map_err(CliError::from)?;
        let report = cache
            .refresh()
            .map_err(|e| CliError::from(e).context("seeding the cache"))?;
        server.stop();
        let keys: Vec<(u32, Vec<u8>)> = bench_snapshot_items()
            .into_iter()
            .map(|i| (i.hash, i.name))
            .collect();
        if report.items != keys.len() {
            return Err(wrong(format!("cache seeded with {} items", report.items)));
        }
        Ok(CacheLookup {
            cache,
            keys,
            _dir: dir,
        })
    }
}

impl Workload for CacheLookup {
    fn step(&mut self) -> CliResult<u64> {
        let guard = self.cache.read();
        for (hash, name) in &self.keys {
            if guard.get(*hash, name).is_none() {
                return Err(wrong(format!("cache miss for hash {hash}")));
            }
        }
        Ok(self.keys.len() as u64)
    }
}

/// The workload of a server scenario's client.
pub fn connect(
    conn: &Conn,
    side: &ServerSide,
    scenario: super::scenario::Scenario,
) -> CliResult<Box<dyn Workload>> {
    use super::scenario::Scenario as S;
    Ok(match scenario {
        S::PingPong(_) => Box::new(PingPong::connect(conn, side)?),
        S::BatchPingPong(_) => Box::new(BatchPingPong::connect(conn, side)?),
        S::Snapshot(_) => Box::new(SnapshotCall::connect(conn, side)?),
        S::Pipeline => Box::new(Pipeline::connect(conn, side, false)?),
        S::PipelineBatch => Box::new(Pipeline::connect(conn, side, true)?),
        S::CacheLookup | S::Local { .. } => {
            return Err(CliError::failure(format!("{scenario} has no server")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::conn::BENCH_AUTH_TOKEN;
    use crate::cmd::exit::Exit;
    use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
    use netipc::service::server::Server;

    use super::super::scenario::{Scenario, Transport};

    fn conn(dir: &std::path::Path, service: &str, side: &ServerSide) -> Conn {
        Conn {
            run_dir: dir.to_path_buf(),
            default_run_dir: false,
            service: service.into(),
            auth_token: BENCH_AUTH_TOKEN,
            profile: side.transport.profile(),
            max_request_payload: side.request_payload,
            max_response_payload: side.response_payload,
            timeout: Duration::from_secs(30),
        }
    }

    fn server_cfg(c: &Conn, side: &ServerSide) -> ServerConfig {
        ServerConfig {
            max_batch_items: side.batch_items,
            ..c.server_config(0)
        }
    }

    #[test]
    fn right_answers_pass_wrong_answers_fail() {
        let dir = tempfile::tempdir().unwrap();
        for (scenario, off_by) in [
            (Scenario::PingPong(Transport::Uds), 0),
            (Scenario::PingPong(Transport::Shm), 1),
            (Scenario::BatchPingPong(Transport::Uds), 1),
            (Scenario::Pipeline, 1),
            (Scenario::PipelineBatch, 0),
            (Scenario::PipelineBatch, 1),
        ] {
            let side = scenario.server_side().unwrap();
            let name = format!("{scenario}-{off_by}");
            let c = conn(dir.path(), &name, &side);
            let _server = Server::increment(&server_cfg(&c, &side), move |v: u64| {
                Ok(v.wrapping_add(1 + off_by))
            })
            .unwrap();
            let mut w = connect(&c, &side, scenario).unwrap();
            for _ in 0..3 {
                let r = w.step();
                if off_by == 0 {
                    assert!(r.unwrap() >= 1, "{name}");
                } else {
                    let e = r.unwrap_err();
                    assert_eq!(e.exit, Exit::Failure, "{name}: {e}");
                    assert!(e.message.contains("wrong answer"), "{name}: {e}");
                    break;
                }
            }
        }
    }

    #[test]
    fn snapshot_items_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let side = Scenario::Snapshot(Transport::Shm).server_side().unwrap();
        let good = conn(dir.path(), "good", &side);
        let _g = super::super::server::start(&side, &server_cfg(&good, &side)).unwrap();
        let mut w = connect(&good, &side, Scenario::Snapshot(Transport::Shm)).unwrap();
        assert_eq!(w.step().unwrap(), 1);
        let bad = conn(dir.path(), "bad", &side);
        let _b = Server::cgroups_snapshot(
            &server_cfg(&bad, &side),
            |b: &mut CgroupsSnapshotBuilder| {
                for (i, item) in bench_snapshot_items().iter().enumerate() {
                    let enabled = if i == 5 { 7 } else { item.enabled };
                    b.add_item(item.hash, 0, enabled, &item.name, &item.path)?;
                }
                Ok(())
            },
        )
        .unwrap();
        let mut w = connect(&bad, &side, Scenario::Snapshot(Transport::Shm)).unwrap();
        let e = w.step().err().unwrap();
        assert!(e.message.contains("snapshot item 5"), "{e}");
        // No server: NOT_FOUND (exit 3).
        let none = conn(dir.path(), "none", &side);
        let e = connect(&none, &side, Scenario::PingPong(Transport::Uds))
            .err()
            .unwrap();
        assert_eq!(e.exit, Exit::NotFound);
    }

    #[test]
    fn cache_lookup_seeds_sixteen_items() {
        let mut w = CacheLookup::seed(BENCH_AUTH_TOKEN).unwrap();
        assert_eq!(w.step().unwrap(), 16);
    }
}
