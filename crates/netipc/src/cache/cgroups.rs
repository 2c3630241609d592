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
//!
//! # Refresh outcomes
//!
//! | What happened | Published table | Client afterwards |
//! |---|---|---|
//! | snapshot received and valid | replaced by the new one | READY |
//! | no provider, handshake refused | kept (empty if never refreshed) | NOT_FOUND, AUTH_FAILED, INCOMPATIBLE, DISCONNECTED |
//! | transport failure, server error status | kept | disconnected (BROKEN): the next refresh reconnects |
//! | malformed snapshot payload | kept | disconnected (BROKEN) |
//! | timeout, abort | kept | disconnected (BROKEN); not retried |
//!
//! Every failure is returned as the error of [`CgroupsCache::refresh`] and
//! counted in [`CacheStatus::refresh_failures`].
//!
//! # Threads
//!
//! A `CgroupsCache` is `Send + Sync`. One thread (or several, serialized)
//! refreshes; any number of threads read. Readers never wait for a
//! refresh: the refresh builds the next table aside and publishes it with
//! one atomic pointer swap. [`CgroupsCache::status`] and
//! [`CgroupsCache::set_timeout`] do not wait for a refresh in progress
//! either.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, Guard};

use crate::codec::cgroups_snapshot::CgroupsSnapshotView;
use crate::error::{Error, Limit, Result};
use crate::service::client::{CgroupsSnapshotClient, ClientConfig, ClientStatus};
use crate::transport::AbortHandle;

use super::table::{CgroupEntryView, CgroupsTable, CgroupsTableBuilder};

/// What a successful [`CgroupsCache::refresh`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshReport {
    /// Items in the newly published table (duplicates excluded).
    pub items: usize,
    /// Duplicate `(hash, name)` items of the snapshot that were dropped
    /// (the first of each identity is kept).
    pub duplicates: u32,
    /// The snapshot's generation.
    pub generation: u64,
    /// Whether a new session was established during this refresh (first
    /// connection, reconnection after a provider restart or a broken
    /// session, or a Level 2 retry or overflow reconnect).
    pub connected: bool,
}

/// Diagnostic state of a cache (for logs, not hot paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStatus {
    /// The Level 2 client's status (its `state` is the connection state).
    /// While a refresh is in progress on another thread this is the status
    /// recorded when the previous refresh ended.
    pub client: ClientStatus,
    /// Whether a refresh was in progress when the status was taken.
    pub refreshing: bool,
    /// Whether the cache holds a snapshot (some refresh succeeded since
    /// creation or the last [`CgroupsCache::close`]).
    pub populated: bool,
    /// Items in the published table.
    pub items: usize,
    /// Generation of the published table (0 when not populated).
    pub generation: u64,
    /// Duplicate `(hash, name)` items dropped from the published table.
    pub duplicates: u32,
    /// Successful refreshes since creation.
    pub refresh_successes: u64,
    /// Failed refreshes since creation.
    pub refresh_failures: u64,
    /// Wall-clock time of the last successful refresh.
    pub last_success: Option<SystemTime>,
}

/// Bookkeeping updated at the end of every refresh; never held during I/O.
#[derive(Debug, Clone, Copy)]
struct Record {
    client: ClientStatus,
    successes: u64,
    failures: u64,
    last_success: Option<SystemTime>,
}

/// A Level 3 cache of the `cgroups-snapshot` service.
///
/// `Send + Sync`: one thread may refresh while others read. See the
/// [module docs](self) for the refresh outcomes.
#[derive(Debug)]
pub struct CgroupsCache {
    /// The Level 2 client; locked by `refresh` and `close` only.
    client: Mutex<CgroupsSnapshotClient>,
    abort: AbortHandle,
    /// Call timeout in nanoseconds applied at each refresh; 0 = the
    /// client's configured default.
    timeout_ns: AtomicU64,
    table: ArcSwap<CgroupsTable>,
    populated: AtomicBool,
    record: Mutex<Record>,
}

/// A read guard over the currently published table.
///
/// Holds that table alive: item views borrowed from it stay valid until
/// the guard drops, whatever refreshes happen meanwhile. Taking a guard
/// does not lock, does not allocate and does not contend with other
/// readers or with a refresh. Keep guards short-lived: a table replaced by
/// a refresh is freed only when its last guard drops.
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
    /// Returns `None` for a missing key and on an empty cache. The view
    /// lives as long as the guard; use [`CgroupEntryView::dup`] for an
    /// owned copy.
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
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the cache holds no items.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Iterates the cached items in snapshot order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = CgroupEntryView<'_>> + '_ {
        self.table.iter()
    }

    /// The cached snapshot's generation (0 on an empty cache).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.table.generation()
    }

    /// The cached snapshot's `systemd_enabled` field (0 on an empty
    /// cache).
    #[inline]
    pub fn systemd_enabled(&self) -> u32 {
        self.table.systemd_enabled()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves the data usable: the client keeps
    // its own state consistent and the record is plain values.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Copies a validated snapshot into a new indexed table.
fn build_table(view: &CgroupsSnapshotView<'_>) -> Result<CgroupsTable> {
    let strings: usize = view.iter().map(|i| i.name.len() + i.path.len() + 2).sum();
    let mut b = CgroupsTableBuilder::with_capacity(
        view.generation(),
        view.systemd_enabled(),
        view.len(),
        strings,
    );
    for item in view.iter() {
        if !b.push(item.hash, item.options, item.enabled, item.name, item.path) {
            // Unreachable for payloads under 4 GiB; never publish a
            // truncated table.
            return Err(Error::LimitExceeded {
                limit: Limit::Local,
                max: u32::MAX.into(),
                actual: u64::try_from(strings).unwrap_or(u64::MAX),
            });
        }
    }
    Ok(b.build())
}

impl CgroupsCache {
    /// Creates an empty cache for `{run_dir}/{service}.sock`. Does not
    /// connect and does no I/O: the provider may start later. Fails only
    /// on an invalid service name or client configuration.
    ///
    /// The configuration's `max_payload_bytes` bounds the snapshot size
    /// this cache accepts (the response budget grows by overflow
    /// reconnects up to it).
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        let client = CgroupsSnapshotClient::new(run_dir, service, config)?;
        let abort = client.abort_handle();
        let record = Record {
            client: client.status(),
            successes: 0,
            failures: 0,
            last_success: None,
        };
        Ok(CgroupsCache {
            client: Mutex::new(client),
            abort,
            timeout_ns: AtomicU64::new(0),
            table: ArcSwap::from_pointee(CgroupsTable::empty()),
            populated: AtomicBool::new(false),
            record: Mutex::new(record),
        })
    }

    /// Connects or reconnects as needed, fetches a full snapshot and
    /// publishes a freshly built table.
    ///
    /// On any failure (no provider, transport error, server error status,
    /// timeout, abort, malformed payload) the previous table stays
    /// published, the client is left disconnected so the next refresh
    /// reconnects, and the error is returned: [`Error::NotFound`] when
    /// nobody serves the endpoint, [`Error::Timeout`], [`Error::Aborted`],
    /// [`Error::Decode`] for a malformed snapshot, and so on.
    ///
    /// Blocks for at most the connect timeout plus the call timeout
    /// (see [`Self::set_timeout`]); [`Self::abort_handle`] unblocks it from
    /// another thread. Concurrent refreshes are serialized.
    pub fn refresh(&self) -> Result<RefreshReport> {
        let mut client = lock(&self.client);
        client.set_call_timeout(Duration::from_nanos(
            self.timeout_ns.load(Ordering::Relaxed),
        ));
        let connects = client.status().connects;
        client.refresh();
        // When the client is not READY this fails at once, without I/O,
        // with the reason (abort, no provider, refused handshake).
        let built = client.call_snapshot().and_then(|view| build_table(&view));
        let connected = client.status().connects != connects;
        let outcome = match built {
            Ok(table) => {
                let report = RefreshReport {
                    items: table.len(),
                    duplicates: table.duplicates(),
                    generation: table.generation(),
                    connected,
                };
                // The table a guard holds is freed when its last guard
                // drops, not here.
                self.table.store(Arc::new(table));
                self.populated.store(true, Ordering::Release);
                Ok(report)
            }
            Err(e) => {
                // Whatever failed, the session is not trusted any more;
                // the next refresh reconnects.
                client.disconnect();
                Err(e)
            }
        };
        let mut record = lock(&self.record);
        record.client = client.status();
        if outcome.is_ok() {
            record.successes += 1;
            record.last_success = Some(SystemTime::now());
        } else {
            record.failures += 1;
        }
        outcome
    }

    /// Whether any refresh has succeeded (the cache has data), even if the
    /// provider has gone since. A cached flag: no syscall.
    #[inline]
    pub fn ready(&self) -> bool {
        self.populated.load(Ordering::Acquire)
    }

    /// Takes a read guard over the published table. Lock-free; no syscall
    /// and no allocation once the calling thread has taken a guard before.
    #[inline]
    pub fn read(&self) -> CgroupsReadGuard<'_> {
        CgroupsReadGuard {
            table: self.table.load(),
            _cache: std::marker::PhantomData,
        }
    }

    /// The published table itself, for readers that keep it across calls
    /// or send it to other threads (an `Arc` clone: one atomic
    /// increment). It stays valid, unchanged, after later refreshes.
    pub fn snapshot(&self) -> Arc<CgroupsTable> {
        self.table.load_full()
    }

    /// A handle that aborts a refresh blocked in another thread (the
    /// refresh returns [`Error::Aborted`] and the cache is kept). The
    /// abort is sticky: every refresh fails with [`Error::Aborted`] until
    /// [`clear_abort`](Self::clear_abort) or [`close`](Self::close).
    pub fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// Clears a triggered abort.
    pub fn clear_abort(&self) {
        self.abort.clear();
    }

    /// Sets the timeout of the snapshot call of every later refresh
    /// (reconnects and retries included); `Duration::ZERO` restores the
    /// configured `call_timeout`. Takes effect at the next refresh; does
    /// not wait for one in progress.
    pub fn set_timeout(&self, timeout: Duration) {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.timeout_ns.store(ns, Ordering::Relaxed);
    }

    /// Diagnostic status. Does not wait for a refresh in progress.
    pub fn status(&self) -> CacheStatus {
        let (client, refreshing) = match self.client.try_lock() {
            Ok(c) => (Some(c.status()), false),
            Err(TryLockError::Poisoned(p)) => (Some(p.into_inner().status()), false),
            Err(TryLockError::WouldBlock) => (None, true),
        };
        let record = *lock(&self.record);
        let t = self.table.load();
        CacheStatus {
            client: client.unwrap_or(record.client),
            refreshing,
            populated: self.ready(),
            items: t.len(),
            generation: t.generation(),
            duplicates: t.duplicates(),
            refresh_successes: record.successes,
            refresh_failures: record.failures,
            last_success: record.last_success,
        }
    }

    /// Closes the client (its session and buffers) and releases the cached
    /// table; the cache is empty and not ready afterwards. A refresh in
    /// progress on another thread is aborted first. Readers holding guards
    /// (or [`Self::snapshot`] clones) keep their table until they drop
    /// them. The abort is cleared; a later [`Self::refresh`] starts over.
    pub fn close(&self) {
        self.abort.trigger();
        let mut client = lock(&self.client);
        client.close();
        self.table.store(Arc::new(CgroupsTable::empty()));
        self.populated.store(false, Ordering::Release);
        lock(&self.record).client = client.status();
    }
}
