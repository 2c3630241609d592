//! Level 3: the cgroups snapshot cache, its read guards and owned item
//! copies.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use netipc::cache::{CgroupEntryView, CgroupsCache, CgroupsTable};

use crate::error::{Failure, FfiResult, guard, guard_value, nipc_error_t};
use crate::handle::{MAGIC_CACHE, MAGIC_GUARD, MAGIC_ITEM, Tagged, tagged_ref, tagged_take};
use crate::types::{
    bytes_arg, client_config, endpoint_args, nipc_client_config_t, nipc_client_state_t,
    nipc_client_status_t, nipc_str_t, out_ptr, write_opt, write_out,
};
use crate::views::nipc_cgroup_item_t;

/// A Level 3 cache of a `cgroups-snapshot` service (opaque;
/// `nipc_cgroups_cache_init()` / `nipc_cgroups_cache_close()`).
///
/// Internally synchronised: one thread may refresh while others read
/// through read guards.
pub struct nipc_cgroups_cache_t {
    _opaque: [u8; 0],
}

/// A read guard over the cache's published snapshot (opaque;
/// `nipc_cgroups_cache_read_lock()` / `nipc_cgroups_cache_read_unlock()`).
///
/// It keeps that snapshot alive: items borrowed through it stay valid
/// until it is unlocked, whatever refreshes (or even a close of the cache)
/// happen meanwhile. Taking one does not block refreshes or other readers.
/// A guard may be used by one thread at a time.
pub struct nipc_cgroups_cache_guard_t {
    _opaque: [u8; 0],
}

/// An owned copy of one cached cgroup (`nipc_cgroups_cache_item_dup()`;
/// free it with `nipc_cgroups_cache_item_free()`, never with `free()`).
///
/// The strings are owned by the copy, NUL-terminated, and live until
/// `nipc_cgroups_cache_item_free()`.
#[repr(C)]
#[derive(Debug)]
pub struct nipc_cgroups_cache_item_t {
    /// Producer-computed identity hash.
    pub hash: u32,
    /// Cgroup option flags.
    pub options: u32,
    /// Whether the cgroup is enabled (raw value).
    pub enabled: u32,
    /// Cgroup name (NUL-terminated, `name_len` bytes before the NUL).
    pub name: *const c_char,
    /// Length of `name` in bytes.
    pub name_len: usize,
    /// Cgroup path (NUL-terminated).
    pub path: *const c_char,
    /// Length of `path` in bytes.
    pub path_len: usize,
}

/// Diagnostic state of a cache (for logs, not hot paths).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_cgroups_cache_status_t {
    /// Whether any refresh has succeeded (the cache has data).
    pub populated: bool,
    /// Items in the published snapshot.
    pub item_count: usize,
    /// Generation of the published snapshot.
    pub generation: u64,
    /// Duplicate `(hash, name)` items dropped from it.
    pub duplicate_count: u32,
    /// Successful refreshes.
    pub refresh_success_count: u64,
    /// Failed refreshes.
    pub refresh_failure_count: u64,
    /// Wall-clock time of the last successful refresh in milliseconds
    /// since the Unix epoch; 0 if none.
    pub last_refresh_unix_ms: u64,
    /// State of the underlying client connection (`ready` means "has
    /// data", not "connected").
    pub connection_state: nipc_client_state_t,
    /// Full status of the underlying client.
    pub client: nipc_client_status_t,
}

/// The owned copy behind a `nipc_cgroups_cache_item_t *` (the public
/// struct first, so the pointers are the same).
#[repr(C)]
struct OwnedItem {
    public: nipc_cgroups_cache_item_t,
    storage: Box<[u8]>,
}

/// # Safety
///
/// `p` is NULL or a live handle from `nipc_cgroups_cache_init`.
unsafe fn cache_ref<'a>(p: *const nipc_cgroups_cache_t) -> FfiResult<&'a CgroupsCache> {
    // SAFETY: forwarded contract.
    let t: &Tagged<CgroupsCache> = unsafe { tagged_ref(p, MAGIC_CACHE, "cache is NULL") }?;
    Ok(&t.inner)
}

/// # Safety
///
/// `p` is NULL or a live guard from `nipc_cgroups_cache_read_lock`.
unsafe fn guard_ref<'a>(p: *const nipc_cgroups_cache_guard_t) -> FfiResult<&'a CgroupsTable> {
    // SAFETY: forwarded contract.
    let t: &Tagged<Arc<CgroupsTable>> = unsafe { tagged_ref(p, MAGIC_GUARD, "guard is NULL") }?;
    Ok(&t.inner)
}

fn item_view(e: CgroupEntryView<'_>) -> nipc_cgroup_item_t {
    nipc_cgroup_item_t {
        hash: e.hash,
        options: e.options,
        enabled: e.enabled,
        name: nipc_str_t::of(e.name),
        path: nipc_str_t::of(e.path),
    }
}

/// Creates an empty cache over a `cgroups-snapshot` client at
/// `{run_dir}/{service_name}.sock`. Does not connect (the provider may
/// start later). `config` as for `nipc_client_init()` (NULL = defaults).
/// `*cache_out` receives the handle; release it with
/// `nipc_cgroups_cache_close()`.
///
/// # Safety
///
/// String arguments are NULL or NUL-terminated; `config` is NULL or
/// valid; `cache_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_init(
    run_dir: *const c_char,
    service_name: *const c_char,
    config: *const nipc_client_config_t,
    cache_out: *mut *mut nipc_cgroups_cache_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_init", || {
        let out = out_ptr(cache_out, "cache_out is NULL")?;
        // SAFETY: NUL-terminated or NULL per the contract.
        let (dir, svc) = unsafe { endpoint_args(run_dir, service_name) }?;
        // SAFETY: NULL or valid per the contract.
        let cfg = unsafe { client_config(config) };
        let cache = CgroupsCache::new(dir, svc, cfg)?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, Tagged::into_raw(MAGIC_CACHE, cache)) };
        Ok(())
    })
}

/// Refreshes the cache from the caller's own loop: connects or reconnects
/// as needed, fetches the full snapshot and publishes a new indexed copy.
/// Returns `NIPC_OK` when the cache was updated. On any failure the
/// previous data stays published and the error is returned
/// (`NIPC_ERR_NOT_FOUND` while the provider is absent, ...).
///
/// Thread-safe: may run while other threads read through guards
/// (concurrent refreshes are serialised).
///
/// # Safety
///
/// `cache` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_refresh(
    cache: *const nipc_cgroups_cache_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_refresh", || {
        // SAFETY: live handle per the contract.
        unsafe { cache_ref(cache) }?.refresh()?;
        Ok(())
    })
}

/// Whether any refresh has succeeded: the cache has data (even if the
/// provider has gone since). No I/O. Sentinel: `false` for NULL or an
/// invalid handle.
///
/// # Safety
///
/// `cache` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_ready(cache: *const nipc_cgroups_cache_t) -> bool {
    guard_value("nipc_cgroups_cache_ready", false, || {
        // SAFETY: live handle per the contract.
        Ok(unsafe { cache_ref(cache) }?.ready())
    })
}

/// Takes a read guard over the published snapshot into `*guard_out`
/// (no lock is held: refreshes go on and publish new snapshots; the guard
/// keeps its own alive). Release it with `nipc_cgroups_cache_read_unlock()`.
///
/// # Safety
///
/// `cache` is NULL or a live handle; `guard_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_read_lock(
    cache: *const nipc_cgroups_cache_t,
    guard_out: *mut *mut nipc_cgroups_cache_guard_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_read_lock", || {
        let out = out_ptr(guard_out, "guard_out is NULL")?;
        // SAFETY: live handle per the contract.
        let table = unsafe { cache_ref(cache) }?.snapshot();
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, Tagged::into_raw(MAGIC_GUARD, table)) };
        Ok(())
    })
}

/// Releases a read guard; every item borrowed through it becomes invalid.
/// NULL is a no-op.
///
/// # Safety
///
/// `guard` is NULL or a live guard not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_read_unlock(
    guard: *mut nipc_cgroups_cache_guard_t,
) -> nipc_error_t {
    self::guard("nipc_cgroups_cache_read_unlock", || {
        // SAFETY: the caller gives the guard up.
        unsafe { tagged_take::<_, Arc<CgroupsTable>>(guard, MAGIC_GUARD) }?;
        Ok(())
    })
}

/// Looks up `(hash, name)` in the guarded snapshot: pure memory, no I/O,
/// no allocation. On `NIPC_OK`, `*item_out` borrows from the guard (valid
/// until `nipc_cgroups_cache_read_unlock()`; use
/// `nipc_cgroups_cache_item_dup()` to keep it). `NIPC_ERR_NOT_FOUND` when
/// the cache has no such item (not recorded as an error message).
///
/// # Safety
///
/// `guard` is NULL or a live guard; `name` holds `name_len` readable
/// bytes (or is NULL with `name_len == 0`); `item_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_get(
    guard: *const nipc_cgroups_cache_guard_t,
    hash: u32,
    name: *const c_char,
    name_len: usize,
    item_out: *mut nipc_cgroup_item_t,
) -> nipc_error_t {
    let mut found = true;
    let r = self::guard("nipc_cgroups_cache_get", || {
        let out = out_ptr(item_out, "item_out is NULL")?;
        // SAFETY: live guard per the contract.
        let table = unsafe { guard_ref(guard) }?;
        // SAFETY: readable per the contract.
        let name = unsafe { bytes_arg(name, name_len, "name is NULL") }?;
        match table.get(hash, name) {
            Some(e) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { write_out(out, item_view(e)) };
            }
            None => found = false,
        }
        Ok(())
    });
    if r == nipc_error_t::NIPC_OK && !found {
        nipc_error_t::NIPC_ERR_NOT_FOUND
    } else {
        r
    }
}

/// Number of items in the guarded snapshot; 0 for NULL.
///
/// # Safety
///
/// `guard` is NULL or a live guard.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_item_count(
    guard: *const nipc_cgroups_cache_guard_t,
) -> usize {
    guard_value("nipc_cgroups_cache_item_count", 0, || {
        // SAFETY: live guard per the contract.
        Ok(unsafe { guard_ref(guard) }?.len())
    })
}

/// Item `index` (snapshot order) of the guarded snapshot in `*item_out`,
/// borrowed as for `nipc_cgroups_cache_get()`. `NIPC_ERR_OUT_OF_RANGE`
/// past the end.
///
/// # Safety
///
/// `guard` is NULL or a live guard; `item_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_item_at(
    guard: *const nipc_cgroups_cache_guard_t,
    index: usize,
    item_out: *mut nipc_cgroup_item_t,
) -> nipc_error_t {
    self::guard("nipc_cgroups_cache_item_at", || {
        let out = out_ptr(item_out, "item_out is NULL")?;
        // SAFETY: live guard per the contract.
        let table = unsafe { guard_ref(guard) }?;
        let e = table.item(index).ok_or_else(|| {
            Failure::new(
                nipc_error_t::NIPC_ERR_OUT_OF_RANGE,
                format!("index {index} out of range (count {})", table.len()),
            )
        })?;
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, item_view(e)) };
        Ok(())
    })
}

/// The guarded snapshot's header: `*generation_out` and
/// `*systemd_enabled_out` (each optional, may be NULL).
///
/// # Safety
///
/// `guard` is NULL or a live guard; the outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_header(
    guard: *const nipc_cgroups_cache_guard_t,
    generation_out: *mut u64,
    systemd_enabled_out: *mut u32,
) -> nipc_error_t {
    self::guard("nipc_cgroups_cache_header", || {
        // SAFETY: live guard per the contract.
        let table = unsafe { guard_ref(guard) }?;
        // SAFETY: NULL or writable per the contract.
        unsafe {
            write_opt(generation_out, table.generation());
            write_opt(systemd_enabled_out, table.systemd_enabled());
        }
        Ok(())
    })
}

/// Copies a borrowed item (from `nipc_cgroups_cache_get()`,
/// `nipc_cgroups_cache_item_at()` or a snapshot view) into an owned
/// `*copy_out` that outlives guards, refreshes and threads. Free it with
/// `nipc_cgroups_cache_item_free()`.
///
/// # Safety
///
/// `item` is NULL or a valid item whose strings are still valid;
/// `copy_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_item_dup(
    item: *const nipc_cgroup_item_t,
    copy_out: *mut *mut nipc_cgroups_cache_item_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_item_dup", || {
        let out = out_ptr(copy_out, "copy_out is NULL")?;
        // SAFETY: NULL or valid per the contract.
        let it = unsafe { item.as_ref() }.ok_or(Failure::invalid("item is NULL"))?;
        // SAFETY: the item's strings are readable per the contract.
        let name = unsafe { bytes_arg(it.name.ptr, it.name.len, "item->name is NULL") }?;
        // SAFETY: as above.
        let path = unsafe { bytes_arg(it.path.ptr, it.path.len, "item->path is NULL") }?;
        let mut storage = Vec::with_capacity(name.len() + path.len() + 2);
        storage.extend_from_slice(name);
        storage.push(0);
        storage.extend_from_slice(path);
        storage.push(0);
        let storage = storage.into_boxed_slice();
        let base = storage.as_ptr();
        let owned = OwnedItem {
            public: nipc_cgroups_cache_item_t {
                hash: it.hash,
                options: it.options,
                enabled: it.enabled,
                name: base.cast(),
                name_len: name.len(),
                path: base.wrapping_add(name.len() + 1).cast(),
                path_len: path.len(),
            },
            storage,
        };
        let p: *mut Tagged<OwnedItem> = Tagged::into_raw(MAGIC_ITEM, owned);
        // The public struct is the first field of OwnedItem, itself right
        // after the tag: hand out a pointer to it.
        // SAFETY: `p` is a live allocation we just made.
        let public = unsafe { std::ptr::addr_of_mut!((*p).inner.public) };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, public) };
        Ok(())
    })
}

/// Frees a copy made by `nipc_cgroups_cache_item_dup()` (and its
/// strings). NULL is a no-op.
///
/// # Safety
///
/// `item` is NULL or a pointer returned by `nipc_cgroups_cache_item_dup()`
/// not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_item_free(
    item: *mut nipc_cgroups_cache_item_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_item_free", || {
        if item.is_null() {
            return Ok(());
        }
        let offset = std::mem::offset_of!(Tagged<OwnedItem>, inner)
            + std::mem::offset_of!(OwnedItem, public);
        let tagged = item
            .cast::<u8>()
            .wrapping_sub(offset)
            .cast::<Tagged<OwnedItem>>();
        // SAFETY: `item` came from `nipc_cgroups_cache_item_dup`, so
        // `tagged` is the start of its allocation (checked by the tag).
        unsafe { tagged_take::<_, OwnedItem>(tagged, MAGIC_ITEM) }?;
        Ok(())
    })
}

/// Fills `*status_out` with the cache's diagnostic state.
///
/// # Safety
///
/// `cache` is NULL or a live handle; `status_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_status(
    cache: *const nipc_cgroups_cache_t,
    status_out: *mut nipc_cgroups_cache_status_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_status", || {
        let out = out_ptr(status_out, "status_out is NULL")?;
        // SAFETY: live handle per the contract.
        let s = unsafe { cache_ref(cache) }?.status();
        let last = s
            .last_success
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let st = nipc_cgroups_cache_status_t {
            populated: s.populated,
            item_count: s.items,
            generation: s.generation,
            duplicate_count: s.duplicates,
            refresh_success_count: s.refresh_successes,
            refresh_failure_count: s.refresh_failures,
            last_refresh_unix_ms: last,
            connection_state: s.client.state.into(),
            client: s.client.into(),
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { write_out(out, st) };
        Ok(())
    })
}

/// Sets the timeout of each later refresh, in milliseconds (0 = the
/// configured `call_timeout_ms`).
///
/// # Safety
///
/// `cache` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_set_timeout(
    cache: *const nipc_cgroups_cache_t,
    timeout_ms: u32,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_set_timeout", || {
        // SAFETY: live handle per the contract.
        unsafe { cache_ref(cache) }?.set_timeout(Duration::from_millis(u64::from(timeout_ms)));
        Ok(())
    })
}

/// Aborts a refresh blocked in another thread, and every later one, until
/// `nipc_cgroups_cache_clear_abort()` (`NIPC_ERR_ABORTED`).
///
/// # Safety
///
/// `cache` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_abort(
    cache: *const nipc_cgroups_cache_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_abort", || {
        // SAFETY: live handle per the contract.
        unsafe { cache_ref(cache) }?.abort_handle().trigger();
        Ok(())
    })
}

/// Clears an abort set by `nipc_cgroups_cache_abort()`.
///
/// # Safety
///
/// `cache` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_clear_abort(
    cache: *const nipc_cgroups_cache_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_clear_abort", || {
        // SAFETY: live handle per the contract.
        unsafe { cache_ref(cache) }?.clear_abort();
        Ok(())
    })
}

/// Closes the client connection and frees the cache. Read guards taken
/// earlier stay valid (each keeps its snapshot) and must still be
/// unlocked. NULL is a no-op. The handle is invalid afterwards.
///
/// # Safety
///
/// `cache` is NULL or a live handle that no other thread uses any more.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_cache_close(
    cache: *mut nipc_cgroups_cache_t,
) -> nipc_error_t {
    guard("nipc_cgroups_cache_close", || {
        // SAFETY: the caller gives the handle up.
        if let Some(b) = unsafe { tagged_take::<_, CgroupsCache>(cache, MAGIC_CACHE) }? {
            b.inner.close();
        }
        Ok(())
    })
}
