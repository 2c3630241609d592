//! The cgroups snapshot cache: Level 3 over the `cgroups-snapshot` client.
//!
//! [`CgroupsCache::refresh`] drives the Level 2 client (connect,
//! reconnect), fetches the full snapshot, builds a new indexed
//! [`CgroupsTable`] and publishes it. On any failure the previous table
//! stays published. Readers take a [`CgroupsReadGuard`] (no lock, no
//! syscall, no allocation) and look items up by `hash + name`; a refresh
//! publishing a new table never invalidates what a guard borrows: the old
//! table is freed when its last guard drops.
//!
//! ```no_run
//! use netipc::cache::CgroupsCache;
//! use netipc::service::client::ClientConfig;
//! # fn main() -> netipc::Result<()> {
//! let cache = CgroupsCache::new("/run/netdata", "cgroups-snapshot", ClientConfig::default())?;
//! let _ = cache.refresh(); // from the caller's own loop
//! let guard = cache.read();
//! if let Some(cg) = guard.get(0x1234_5678, b"system.slice/docker-abc.scope") {
//!     println!("{}", cg.path_str().unwrap_or("?"));
//! }
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, Guard};

use crate::error::{Error, Result};
use crate::service::client::{CgroupsSnapshotClient, ClientConfig, ClientState, ClientStatus};
use crate::transport::AbortHandle;

use super::table::{CgroupEntryView, CgroupsTable, CgroupsTableBuilder};

/// What a successful [`CgroupsCache::refresh`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshReport {
    /// Items in the newly published table.
    pub items: usize,
    /// Its snapshot generation.
    pub generation: u64,
    /// Whether the client's connection state changed during the refresh.
    pub state_changed: bool,
}

/// Diagnostic state of a cache (for logs, not hot paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStatus {
    /// The Level 2 client's status.
    pub client: ClientStatus,
    /// Whether any refresh has succeeded.
    pub populated: bool,
    /// Items in the published table.
    pub items: usize,
    /// Generation of the published table.
    pub generation: u64,
    /// Duplicate `(hash, name)` items dropped from the published table.
    pub duplicates: u32,
    /// Successful refreshes.
    pub refresh_successes: u64,
    /// Failed refreshes.
    pub refresh_failures: u64,
    /// Wall-clock time of the last successful refresh.
    pub last_success: Option<SystemTime>,
}

/// A Level 3 cache of the `cgroups-snapshot` service.
///
/// `Send + Sync`: one thread may refresh while others read.
#[derive(Debug)]
pub struct CgroupsCache {
    client: Mutex<CgroupsSnapshotClient>,
    abort: AbortHandle,
    table: ArcSwap<CgroupsTable>,
    populated: AtomicBool,
    successes: AtomicU64,
    failures: AtomicU64,
    last_success: Mutex<Option<SystemTime>>,
}

/// A read guard over the currently published table.
///
/// Holds that table alive: item views borrowed from it stay valid until
/// the guard drops, whatever refreshes happen meanwhile. Taking a guard
/// does not lock and does not contend with other readers.
pub struct CgroupsReadGuard<'c> {
    table: Guard<Arc<CgroupsTable>>,
    _cache: std::marker::PhantomData<&'c CgroupsCache>,
}

impl std::fmt::Debug for CgroupsReadGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CgroupsReadGuard")
            .field("items", &self.table.len())
            .field("generation", &self.table.generation())
            .finish()
    }
}

impl CgroupsReadGuard<'_> {
    /// Looks up `(hash, name)`. Pure memory: no syscall, no allocation.
    /// The view lives as long as the guard; use
    /// [`CgroupEntryView::dup`] for an owned copy.
    #[inline]
    pub fn get(&self, hash: u32, name: &[u8]) -> Option<CgroupEntryView<'_>> {
        self.table.get(hash, name)
    }

    /// The guarded table (iteration, counts, generation).
    #[inline]
    pub fn table(&self) -> &CgroupsTable {
        &self.table
    }

    /// Number of cached items.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the cache holds no items.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Iterates the cached items in snapshot order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = CgroupEntryView<'_>> + '_ {
        self.table.iter()
    }

    /// The cached snapshot's generation.
    pub fn generation(&self) -> u64 {
        self.table.generation()
    }

    /// The cached snapshot's `systemd_enabled` field.
    pub fn systemd_enabled(&self) -> u32 {
        self.table.systemd_enabled()
    }
}

impl CgroupsCache {
    /// Creates an empty cache for `{run_dir}/{service}.sock`. Does not
    /// connect: the provider may start later.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        let client = CgroupsSnapshotClient::new(run_dir, service, config)?;
        let abort = client.abort_handle();
        Ok(CgroupsCache {
            client: Mutex::new(client),
            abort,
            table: ArcSwap::from_pointee(CgroupsTable::empty()),
            populated: AtomicBool::new(false),
            successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_success: Mutex::new(None),
        })
    }

    fn client(&self) -> MutexGuard<'_, CgroupsSnapshotClient> {
        // A panic while holding the lock leaves the client usable: every
        // client method keeps its own state consistent.
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connects or reconnects as needed, fetches a full snapshot and
    /// publishes a freshly built table.
    ///
    /// On any failure (no provider, transport error, timeout, abort,
    /// malformed payload) the previous table stays published and the error
    /// is returned; a malformed or failed call leaves the client
    /// disconnected so the next refresh reconnects.
    pub fn refresh(&self) -> Result<RefreshReport> {
        let mut client = self.client();
        let state_changed = client.refresh();
        let built = if client.ready() {
            client.call_snapshot().map(|view| {
                let mut b =
                    CgroupsTableBuilder::new(view.generation(), view.systemd_enabled(), view.len());
                for item in view.iter() {
                    if !b.push(item.hash, item.options, item.enabled, item.name, item.path) {
                        break;
                    }
                }
                b.build()
            })
        } else {
            Err(not_ready_error(client.state()))
        };
        match built {
            Ok(table) => {
                let report = RefreshReport {
                    items: table.len(),
                    generation: table.generation(),
                    state_changed,
                };
                self.table.store(Arc::new(table));
                self.populated.store(true, Ordering::Release);
                self.successes.fetch_add(1, Ordering::Relaxed);
                *self.last_success.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(SystemTime::now());
                Ok(report)
            }
            Err(e) => {
                if matches!(e, Error::Decode(_) | Error::Protocol(_)) {
                    client.disconnect();
                }
                self.failures.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// Whether any refresh has succeeded (the cache has data), even if the
    /// provider has gone since. No syscall.
    #[inline]
    pub fn ready(&self) -> bool {
        self.populated.load(Ordering::Acquire)
    }

    /// Takes a read guard over the published table.
    #[inline]
    pub fn read(&self) -> CgroupsReadGuard<'_> {
        CgroupsReadGuard {
            table: self.table.load(),
            _cache: std::marker::PhantomData,
        }
    }

    /// The published table itself, for readers that keep it across calls
    /// (an `Arc` clone: one atomic increment).
    pub fn snapshot(&self) -> Arc<CgroupsTable> {
        self.table.load_full()
    }

    /// A handle that aborts a refresh blocked in another thread. The abort
    /// is sticky until [`clear_abort`](Self::clear_abort).
    pub fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// Clears a triggered abort.
    pub fn clear_abort(&self) {
        self.abort.clear();
    }

    /// Changes the timeout of each refresh call.
    pub fn set_timeout(&self, timeout: Duration) {
        self.client().set_call_timeout(timeout);
    }

    /// Diagnostic status.
    pub fn status(&self) -> CacheStatus {
        let client = self.client().status();
        let t = self.table.load();
        CacheStatus {
            client,
            populated: self.ready(),
            items: t.len(),
            generation: t.generation(),
            duplicates: t.duplicates(),
            refresh_successes: self.successes.load(Ordering::Relaxed),
            refresh_failures: self.failures.load(Ordering::Relaxed),
            last_success: *self.last_success.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Closes the client and drops the cached table (readers holding
    /// guards keep theirs until they drop them).
    pub fn close(&self) {
        self.client().close();
        self.table.store(Arc::new(CgroupsTable::empty()));
        self.populated.store(false, Ordering::Release);
    }
}

fn not_ready_error(state: ClientState) -> Error {
    match state {
        ClientState::NotFound => Error::NotFound,
        ClientState::AuthFailed => Error::AuthFailed,
        ClientState::Incompatible => Error::Incompatible,
        _ => Error::InvalidState("cgroups-snapshot client not ready"),
    }
}
