//! Response views: plain C structs pointing into storage owned by the
//! client (or the cache read guard) that produced them, and their
//! bounds-checked accessors.

use netipc::codec::apps_lookup::AppsLookupItemView;
use netipc::codec::cgroups_lookup::CgroupsLookupItemView;
use netipc::codec::lookup::LabelView;

use crate::error::{Failure, FfiResult, guard, nipc_error_t};
use crate::types::{
    nipc_cgroup_status_t, nipc_label_t, nipc_lookup_status_t, nipc_pid_status_t, nipc_str_t,
    out_ptr, write_out,
};

/// One cgroup of a CGROUPS_SNAPSHOT response or of a cache read guard.
///
/// Borrowed: `name` and `path` point into storage owned by the client (a
/// snapshot view: valid until the next call on that client or its close)
/// or by the cache read guard (valid until `nipc_cgroups_cache_read_unlock`).
/// Use `nipc_cgroups_cache_item_dup()` for a copy that outlives them.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_cgroup_item_t {
    /// Producer-computed identity hash (compare, do not recompute).
    pub hash: u32,
    /// Cgroup option flags.
    pub options: u32,
    /// Whether the cgroup is enabled (raw value).
    pub enabled: u32,
    /// Cgroup name.
    pub name: nipc_str_t,
    /// Cgroup path.
    pub path: nipc_str_t,
}

/// A CGROUPS_SNAPSHOT response.
///
/// Borrowed: `items` (and every string of every item) is owned by the
/// client and valid until the next call on the same client or its close.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_cgroups_snapshot_view_t {
    /// Provider generation of the snapshot.
    pub generation: u64,
    /// The snapshot's `systemd_enabled` field.
    pub systemd_enabled: u32,
    /// Number of items.
    pub item_count: usize,
    /// `item_count` items in snapshot order.
    pub items: *const nipc_cgroup_item_t,
}

/// One item of a CGROUPS_LOOKUP result (request order).
///
/// Borrowed: valid until the next call on the same client or its close.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_cgroups_lookup_item_t {
    /// Item status (never `NIPC_LOOKUP_PAYLOAD_EXCEEDED` in client
    /// results: those items are retried and stitched internally).
    pub status: nipc_lookup_status_t,
    /// Raw orchestrator value (`NIPC_ORCHESTRATOR_*`, or unknown values).
    pub orchestrator: u16,
    /// The requested path, echoed.
    pub path: nipc_str_t,
    /// Cgroup name (empty unless `NIPC_LOOKUP_KNOWN`).
    pub name: nipc_str_t,
    /// Number of labels.
    pub label_count: usize,
    /// `label_count` labels.
    pub labels: *const nipc_label_t,
}

/// A CGROUPS_LOOKUP result: one item per requested path, in order.
///
/// Borrowed: valid until the next call on the same client or its close.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_cgroups_lookup_view_t {
    /// Provider generation shared by every subresponse.
    pub generation: u64,
    /// Number of items (equal to the number of requested paths).
    pub item_count: usize,
    /// `item_count` items.
    pub items: *const nipc_cgroups_lookup_item_t,
}

/// One item of an APPS_LOOKUP result (request order).
///
/// Borrowed: valid until the next call on the same client or its close.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_apps_lookup_item_t {
    /// The requested PID, echoed.
    pub pid: u32,
    /// PID status (never `NIPC_PID_PAYLOAD_EXCEEDED` in client results).
    pub status: nipc_pid_status_t,
    /// Cgroup status (meaningful when `status` is `NIPC_PID_KNOWN`).
    pub cgroup_status: nipc_cgroup_status_t,
    /// Raw orchestrator value.
    pub orchestrator: u16,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// UID, or `NIPC_UID_UNSET`.
    pub uid: u32,
    /// Start time in jiffies since boot (0 when unknown).
    pub starttime: u64,
    /// Process name (at most 15 bytes).
    pub comm: nipc_str_t,
    /// Cgroup path.
    pub cgroup_path: nipc_str_t,
    /// Cgroup name.
    pub cgroup_name: nipc_str_t,
    /// Number of labels.
    pub label_count: usize,
    /// `label_count` labels.
    pub labels: *const nipc_label_t,
}

/// An APPS_LOOKUP result: one item per requested PID, in order.
///
/// Borrowed: valid until the next call on the same client or its close.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_apps_lookup_view_t {
    /// Provider generation shared by every subresponse.
    pub generation: u64,
    /// Number of items (equal to the number of requested PIDs).
    pub item_count: usize,
    /// `item_count` items.
    pub items: *const nipc_apps_lookup_item_t,
}

// ----- Filling views (client side) -----------------------------------------

fn label(l: LabelView<'_>) -> nipc_label_t {
    nipc_label_t {
        key: nipc_str_t::of(l.key()),
        value: nipc_str_t::of(l.value()),
    }
}

/// Item storage of one client: reused across calls, so warm calls do not
/// allocate.
#[derive(Default)]
pub(crate) struct ViewStore {
    pub strs: Vec<nipc_str_t>,
    pub cgroups: Vec<nipc_cgroup_item_t>,
    pub cg_lookup: Vec<nipc_cgroups_lookup_item_t>,
    pub apps: Vec<nipc_apps_lookup_item_t>,
    pub labels: Vec<nipc_label_t>,
}

impl ViewStore {
    /// Fills `cg_lookup` / `labels` from `items`. Label pointers are set
    /// once every label is stored (the vector no longer moves).
    pub(crate) fn fill_cgroups_lookup<'a>(
        &mut self,
        items: impl Iterator<Item = CgroupsLookupItemView<'a>>,
    ) {
        self.cg_lookup.clear();
        self.labels.clear();
        for it in items {
            let start = self.labels.len();
            self.labels.extend(it.labels().map(label));
            self.cg_lookup.push(nipc_cgroups_lookup_item_t {
                status: it.status().into(),
                orchestrator: it.orchestrator(),
                path: nipc_str_t::of(it.path()),
                name: nipc_str_t::of(it.name()),
                label_count: self.labels.len() - start,
                // Offset for now; turned into a pointer below.
                labels: start as *const nipc_label_t,
            });
        }
        let base = self.labels.as_ptr();
        for it in &mut self.cg_lookup {
            let start = it.labels as usize;
            it.labels = base.wrapping_add(start);
        }
    }

    /// Fills `apps` / `labels` from `items` (as above).
    pub(crate) fn fill_apps_lookup<'a>(
        &mut self,
        items: impl Iterator<Item = AppsLookupItemView<'a>>,
    ) {
        self.apps.clear();
        self.labels.clear();
        for it in items {
            let start = self.labels.len();
            self.labels.extend(it.labels().map(label));
            self.apps.push(nipc_apps_lookup_item_t {
                pid: it.pid(),
                status: it.status().into(),
                cgroup_status: it.cgroup_status().into(),
                orchestrator: it.orchestrator(),
                ppid: it.ppid(),
                uid: it.uid(),
                starttime: it.starttime(),
                comm: nipc_str_t::of(it.comm()),
                cgroup_path: nipc_str_t::of(it.cgroup_path()),
                cgroup_name: nipc_str_t::of(it.cgroup_name()),
                label_count: self.labels.len() - start,
                labels: start as *const nipc_label_t,
            });
        }
        let base = self.labels.as_ptr();
        for it in &mut self.apps {
            let start = it.labels as usize;
            it.labels = base.wrapping_add(start);
        }
    }
}

// ----- Accessors -----------------------------------------------------------

/// Item `index` of `count` items at `items`.
///
/// # Safety
///
/// `items` points to `count` valid items (or `count == 0`).
unsafe fn item_at<T: Copy>(items: *const T, count: usize, index: usize) -> FfiResult<T> {
    if index >= count {
        return Err(Failure::new(
            nipc_error_t::NIPC_ERR_OUT_OF_RANGE,
            format!("index {index} out of range (count {count})"),
        ));
    }
    if items.is_null() {
        return Err(Failure::invalid("view has items == NULL"));
    }
    // SAFETY: `index < count` and `items` holds `count` items per the
    // contract.
    Ok(unsafe { items.add(index).read() })
}

/// Number of items of a snapshot view; 0 when `view` is NULL.
///
/// # Safety
///
/// `view` is NULL or points to a view filled by the library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_snapshot_item_count(
    view: *const nipc_cgroups_snapshot_view_t,
) -> usize {
    // SAFETY: NULL or a valid view per the contract.
    unsafe { view.as_ref() }.map_or(0, |v| v.item_count)
}

/// Copies item `index` of a snapshot view to `*item_out` (the strings stay
/// borrowed from the client). `NIPC_ERR_OUT_OF_RANGE` past the end.
///
/// # Safety
///
/// `view` is NULL or a view filled by the library and still valid (no
/// later call on its client); `item_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_snapshot_item(
    view: *const nipc_cgroups_snapshot_view_t,
    index: usize,
    item_out: *mut nipc_cgroup_item_t,
) -> nipc_error_t {
    guard("nipc_snapshot_item", || {
        // SAFETY: NULL or a valid view per the contract.
        let v = unsafe { view.as_ref() }.ok_or(Failure::invalid("view is NULL"))?;
        let out = out_ptr(item_out, "item_out is NULL")?;
        // SAFETY: the view's items array holds item_count items.
        let it = unsafe { item_at(v.items, v.item_count, index) }?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, it) };
        Ok(())
    })
}

/// Number of items of a CGROUPS_LOOKUP view; 0 when `view` is NULL.
///
/// # Safety
///
/// `view` is NULL or points to a view filled by the library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_item_count(
    view: *const nipc_cgroups_lookup_view_t,
) -> usize {
    // SAFETY: NULL or a valid view per the contract.
    unsafe { view.as_ref() }.map_or(0, |v| v.item_count)
}

/// Copies item `index` of a CGROUPS_LOOKUP view to `*item_out` (strings
/// and labels stay borrowed). `NIPC_ERR_OUT_OF_RANGE` past the end.
///
/// # Safety
///
/// As `nipc_snapshot_item`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_cgroups_lookup_item(
    view: *const nipc_cgroups_lookup_view_t,
    index: usize,
    item_out: *mut nipc_cgroups_lookup_item_t,
) -> nipc_error_t {
    guard("nipc_cgroups_lookup_item", || {
        // SAFETY: NULL or a valid view per the contract.
        let v = unsafe { view.as_ref() }.ok_or(Failure::invalid("view is NULL"))?;
        let out = out_ptr(item_out, "item_out is NULL")?;
        // SAFETY: the view's items array holds item_count items.
        let it = unsafe { item_at(v.items, v.item_count, index) }?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, it) };
        Ok(())
    })
}

/// Number of items of an APPS_LOOKUP view; 0 when `view` is NULL.
///
/// # Safety
///
/// `view` is NULL or points to a view filled by the library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_item_count(
    view: *const nipc_apps_lookup_view_t,
) -> usize {
    // SAFETY: NULL or a valid view per the contract.
    unsafe { view.as_ref() }.map_or(0, |v| v.item_count)
}

/// Copies item `index` of an APPS_LOOKUP view to `*item_out` (strings and
/// labels stay borrowed). `NIPC_ERR_OUT_OF_RANGE` past the end.
///
/// # Safety
///
/// As `nipc_snapshot_item`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_apps_lookup_item(
    view: *const nipc_apps_lookup_view_t,
    index: usize,
    item_out: *mut nipc_apps_lookup_item_t,
) -> nipc_error_t {
    guard("nipc_apps_lookup_item", || {
        // SAFETY: NULL or a valid view per the contract.
        let v = unsafe { view.as_ref() }.ok_or(Failure::invalid("view is NULL"))?;
        let out = out_ptr(item_out, "item_out is NULL")?;
        // SAFETY: the view's items array holds item_count items.
        let it = unsafe { item_at(v.items, v.item_count, index) }?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, it) };
        Ok(())
    })
}

/// Copies label `index` of a lookup item's labels (`labels` /
/// `label_count` of a `nipc_cgroups_lookup_item_t` or
/// `nipc_apps_lookup_item_t`) to `*label_out`. `NIPC_ERR_OUT_OF_RANGE`
/// past the end.
///
/// # Safety
///
/// `labels` points to `label_count` labels from a still-valid view;
/// `label_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nipc_lookup_label(
    labels: *const nipc_label_t,
    label_count: usize,
    index: usize,
    label_out: *mut nipc_label_t,
) -> nipc_error_t {
    guard("nipc_lookup_label", || {
        let out = out_ptr(label_out, "label_out is NULL")?;
        // SAFETY: `labels` holds `label_count` labels per the contract.
        let l = unsafe { item_at(labels, label_count, index) }?;
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { write_out(out, l) };
        Ok(())
    })
}
