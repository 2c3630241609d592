//! The kernel objects behind a region: the mapped view and the named
//! events, each released on drop.

use std::ptr::NonNull;

use windows_sys::Win32::Foundation::{ERROR_ALREADY_EXISTS, GetLastError, HANDLE};
use windows_sys::Win32::System::Memory::{
    FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS,
    MapViewOfFile, UnmapViewOfFile, VirtualQuery,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, EVENT_MODIFY_STATE, OpenEventW, SYNCHRONIZATION_SYNCHRONIZE,
};

use super::super::pipe::OwnedHandle;
use super::super::security::OwnerOnly;
use super::super::session::wide;
use super::layout::RegionHeader;

/// A mapped view, unmapped on drop.
#[derive(Debug)]
pub(super) struct View {
    pub(super) base: NonNull<u8>,
    /// Accessible bytes from `base`.
    pub(super) len: usize,
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: `base` is the address MapViewOfFile returned; unmapped
        // exactly once.
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.base.as_ptr().cast(),
            })
        };
    }
}

impl View {
    /// Maps `len` bytes of `mapping` (0 = all of it) read-write.
    pub(super) fn map(mapping: &OwnedHandle, len: usize) -> std::io::Result<View> {
        // SAFETY: live section handle; offset 0.
        let v = unsafe { MapViewOfFile(mapping.0, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, len) };
        let Some(base) = NonNull::new(v.Value.cast::<u8>()) else {
            return Err(std::io::Error::last_os_error());
        };
        // SAFETY: MEMORY_BASIC_INFORMATION is plain data; all-zero is valid.
        let mut mbi: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `base` is the start of our view; `mbi` is writable and
        // its size is passed.
        let n = unsafe {
            VirtualQuery(
                base.as_ptr().cast(),
                &mut mbi,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            )
        };
        // Owned from here on: unmapped on every path.
        let mut view = View { base, len: 0 };
        if n == 0 {
            return Err(std::io::Error::last_os_error());
        }
        view.len = mbi.RegionSize;
        Ok(view)
    }

    pub(super) fn header(&self) -> &RegionHeader {
        // SAFETY: the view is at least REGION_HEADER_LEN bytes (checked at
        // create/attach), page-aligned, and lives as long as `self`. The
        // header consists of atomics only, so a shared reference to memory
        // the peer writes concurrently is sound.
        unsafe { &*self.base.as_ptr().cast::<RegionHeader>() }
    }
}

/// Wraps a HANDLE-returning create/open call: NULL is failure.
pub(super) fn handle_or_error(h: HANDLE) -> std::io::Result<OwnedHandle> {
    if h.is_null() {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(OwnedHandle(h))
    }
}

/// A freshly created named object that already existed belongs to someone
/// else (squatting, or a stale session): refuse it.
pub(super) fn fresh(h: std::io::Result<OwnedHandle>) -> std::io::Result<OwnedHandle> {
    let h = h?;
    // SAFETY: no preconditions; read right after the create call.
    if unsafe { GetLastError() } == ERROR_ALREADY_EXISTS {
        return Err(std::io::Error::from_raw_os_error(
            ERROR_ALREADY_EXISTS as i32,
        ));
    }
    Ok(h)
}

/// Creates a named auto-reset event, unsignaled, with `security`.
pub(super) fn create_event(name: &str, security: &OwnerOnly) -> std::io::Result<OwnedHandle> {
    let w = wide(name);
    // SAFETY: `w` is NUL-terminated; `security` lives across the call;
    // auto-reset.
    fresh(handle_or_error(unsafe {
        CreateEventW(security.attributes(), 0, 0, w.as_ptr())
    }))
}

/// Opens a named event for waiting and signaling.
pub(super) fn open_event(name: &str) -> std::io::Result<OwnedHandle> {
    let w = wide(name);
    // SAFETY: `w` is NUL-terminated.
    handle_or_error(unsafe {
        OpenEventW(
            EVENT_MODIFY_STATE | SYNCHRONIZATION_SYNCHRONIZE,
            0,
            w.as_ptr(),
        )
    })
}

/// The two events of a HYBRID session.
#[derive(Debug)]
pub(super) struct Events {
    pub(super) req: OwnedHandle,
    pub(super) resp: OwnedHandle,
}
