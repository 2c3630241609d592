//! Harness of the Level 3 cache tests: client and server configurations
//! per data plane, a controllable snapshot provider (a real Level 2 server
//! whose content, failures and blocking the test drives), a fake Level 1
//! server that answers every snapshot request with fixed (malformed)
//! bytes, and table assertions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netipc::cache::{CgroupsCache, CgroupsReadGuard};
use netipc::codec::cgroups_snapshot::{CgroupItem, CgroupsSnapshot, CgroupsSnapshotBuilder};
use netipc::service::client::ClientConfig;
use netipc::service::server::{HandlerError, Server, ServerConfig};

use super::fake_server::{self, FakeServer, Options, Reply};
use super::{Plane, TOKEN, TestDir, managed_server_config};

/// The service name of the tests.
pub const SERVICE: &str = "cgroups-snapshot";

/// A generous bound for any wait of the cache tests on a loaded 2-core
/// machine (longer than the shared [`super::PATIENCE`]: a refresh moves
/// whole snapshots).
pub const L3_PATIENCE: Duration = Duration::from_secs(60);

/// A managed server configuration for the test service on `plane` with a
/// fixed 1 MiB response budget (every test snapshot fits at once, so
/// handler calls and connections are predictable).
pub fn server_config(dir: &TestDir, plane: Plane) -> ServerConfig {
    ServerConfig {
        max_response_payload_bytes: 1 << 20,
        ..zero_config_server(dir, plane)
    }
}

/// A zero-config managed server configuration on `plane`: the response
/// budget starts small and grows by overflow.
pub fn zero_config_server(dir: &TestDir, plane: Plane) -> ServerConfig {
    let (supported, preferred) = plane.profiles();
    ServerConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        ..managed_server_config(dir, SERVICE)
    }
}

/// A client configuration on `plane` with generous timeouts.
pub fn client_config(plane: Plane) -> ClientConfig {
    let (supported, preferred) = plane.profiles();
    ClientConfig {
        auth_token: TOKEN,
        supported_profiles: supported,
        preferred_profiles: preferred,
        call_timeout: L3_PATIENCE,
        connect_timeout: L3_PATIENCE,
        ..ClientConfig::default()
    }
}

/// A cache of the test service in `dir` on `plane`.
pub fn cache(dir: &TestDir, plane: Plane) -> CgroupsCache {
    CgroupsCache::new(dir.path(), SERVICE, client_config(plane)).unwrap()
}

/// A cache accepting snapshots up to `budget` bytes.
pub fn cache_with_budget(dir: &TestDir, plane: Plane, budget: u32) -> CgroupsCache {
    let cfg = ClientConfig {
        max_payload_bytes: budget,
        ..client_config(plane)
    };
    CgroupsCache::new(dir.path(), SERVICE, cfg).unwrap()
}

/// A snapshot of `items` with `systemd_enabled = 1`.
pub fn snapshot(generation: u64, items: Vec<CgroupItem>) -> CgroupsSnapshot {
    CgroupsSnapshot {
        systemd_enabled: 1,
        generation,
        items,
    }
}

/// One item.
pub fn item(hash: u32, options: u32, enabled: u32, name: &str, path: &str) -> CgroupItem {
    CgroupItem {
        hash,
        options,
        enabled,
        name: name.as_bytes().to_vec(),
        path: path.as_bytes().to_vec(),
    }
}

/// State shared with a provider's handler.
struct Shared {
    snapshot: Mutex<CgroupsSnapshot>,
    fail: AtomicBool,
    block: AtomicBool,
    calls: AtomicU64,
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl Shared {
    fn answer(&self, b: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.block.load(Ordering::SeqCst) {
            let _ = self.entered.lock().unwrap().send(());
            // Blocks until the test releases it (or drops the provider).
            let _ = self.release.lock().unwrap().recv();
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(HandlerError::Failed("test provider fails"));
        }
        let s = self.snapshot.lock().unwrap();
        b.set_systemd_enabled(s.systemd_enabled);
        b.set_generation(s.generation);
        b.reserve_items(s.items.len());
        for it in &s.items {
            b.add(it)?;
        }
        Ok(())
    }
}

/// A real Level 2 `cgroups-snapshot` server whose answer the test
/// controls. Stopped on drop (a blocked handler is released first).
pub struct Provider {
    shared: Arc<Shared>,
    server: Server,
    entered: Receiver<()>,
    release: Option<Sender<()>>,
}

impl Provider {
    /// Serves `snap` with the zero-config server of `plane`.
    pub fn start(dir: &TestDir, plane: Plane, snap: CgroupsSnapshot) -> Self {
        Self::start_with(&server_config(dir, plane), snap)
    }

    /// Serves `snap` with `cfg`.
    pub fn start_with(cfg: &ServerConfig, snap: CgroupsSnapshot) -> Self {
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            snapshot: Mutex::new(snap),
            fail: AtomicBool::new(false),
            block: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            entered: Mutex::new(entered_tx),
            release: Mutex::new(release_rx),
        });
        let h = Arc::clone(&shared);
        let server =
            Server::cgroups_snapshot(cfg, move |b: &mut CgroupsSnapshotBuilder| h.answer(b))
                .unwrap();
        Provider {
            shared,
            server,
            entered,
            release: Some(release),
        }
    }

    /// Replaces the snapshot served from now on.
    pub fn set(&self, snap: CgroupsSnapshot) {
        *self.shared.snapshot.lock().unwrap() = snap;
    }

    /// Makes the handler fail (`INTERNAL_ERROR`) or answer again.
    pub fn fail(&self, fail: bool) {
        self.shared.fail.store(fail, Ordering::SeqCst);
    }

    /// Snapshot requests handled (or started) so far.
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// Makes the next handler calls block until [`Self::release`].
    pub fn block(&self) {
        self.shared.block.store(true, Ordering::SeqCst);
    }

    /// Waits (bounded) until a handler call has blocked.
    pub fn wait_blocked(&self) {
        self.entered
            .recv_timeout(L3_PATIENCE)
            .expect("the handler never blocked");
    }

    /// Stops blocking and releases a blocked handler call.
    pub fn release(&self) {
        self.shared.block.store(false, Ordering::SeqCst);
        if let Some(tx) = &self.release {
            let _ = tx.send(());
        }
    }

    /// The server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Stops the server (the socket file is gone on return).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.shared.block.store(false, Ordering::SeqCst);
        // Disconnecting the channel releases a blocked handler for good.
        self.release = None;
        self.server.stop();
    }
}

/// A fake Level 1 server of the test service in `dir` on `plane` that
/// answers every request with `payload` as an OK response (for malformed
/// snapshots); `requests()` counts what it answered.
pub fn raw_server(dir: &TestDir, plane: Plane, payload: Vec<u8>) -> FakeServer {
    FakeServer::start(
        &dir.endpoint(SERVICE),
        Options::new(fake_server::server_config(plane, 65536)),
        Box::new(move |_, _| Reply::Payload(payload.clone())),
    )
}

/// Asserts that `guard` holds exactly `snap` (no duplicate identities in
/// it): header fields, item order, and a lookup of every item.
pub fn assert_holds(guard: &CgroupsReadGuard<'_>, snap: &CgroupsSnapshot) {
    assert_eq!(guard.len(), snap.items.len(), "item count");
    assert_eq!(guard.is_empty(), snap.items.is_empty());
    assert_eq!(guard.generation(), snap.generation, "generation");
    assert_eq!(guard.systemd_enabled(), snap.systemd_enabled);
    assert_eq!(guard.iter().len(), snap.items.len());
    for (got, want) in guard.iter().zip(&snap.items) {
        assert_eq!(got.dup().name, want.name);
    }
    for want in &snap.items {
        let got = guard
            .get(want.hash, &want.name)
            .unwrap_or_else(|| panic!("missing {:?}", String::from_utf8_lossy(&want.name)));
        assert_eq!(got.hash, want.hash);
        assert_eq!(got.options, want.options);
        assert_eq!(got.enabled, want.enabled);
        assert_eq!(got.name, &want.name[..]);
        assert_eq!(got.path, &want.path[..]);
    }
}
