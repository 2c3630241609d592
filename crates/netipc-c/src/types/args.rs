//! Checked conversions of caller-supplied pointers and out-parameters.

use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Failure, FfiResult};

use super::nipc_str_t;

/// `len` bytes at `ptr` (NULL allowed only with `len == 0`).
///
/// # Safety
///
/// If `ptr` is not NULL it points to `len` readable bytes that stay valid
/// and unchanged for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const c_char,
    len: usize,
    what: &'static str,
) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::invalid(what));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(what));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller's contract, and
    // `len` fits in isize.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The bytes of a `nipc_str_t` passed by the caller.
///
/// # Safety
///
/// As [`bytes_arg`] for `s.ptr` / `s.len`.
pub(crate) unsafe fn str_arg<'a>(s: &nipc_str_t, what: &'static str) -> FfiResult<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { bytes_arg(s.ptr, s.len, what) }
}

/// A NUL-terminated string argument.
///
/// # Safety
///
/// `ptr` is NULL or a valid NUL-terminated string living for `'a`.
pub(crate) unsafe fn cstr_arg<'a>(ptr: *const c_char, what: &'static str) -> FfiResult<&'a CStr> {
    if ptr.is_null() {
        return Err(Failure::invalid(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// `run_dir` and `service_name` arguments.
///
/// # Safety
///
/// Both are NULL or valid NUL-terminated strings living for `'a`.
pub(crate) unsafe fn endpoint_args<'a>(
    run_dir: *const c_char,
    service: *const c_char,
) -> FfiResult<(&'a Path, &'a str)> {
    // SAFETY: forwarded contract.
    let dir = unsafe { cstr_arg(run_dir, "run_dir is NULL") }?;
    // SAFETY: forwarded contract.
    let svc = unsafe { cstr_arg(service, "service_name is NULL") }?;
    if dir.is_empty() {
        return Err(Failure::invalid("run_dir is empty"));
    }
    let svc = svc
        .to_str()
        .map_err(|_| Failure::invalid("service_name is not valid UTF-8"))?;
    Ok((Path::new(OsStr::from_bytes(dir.to_bytes())), svc))
}

/// Writes `v` to an out-parameter (checked for NULL first by the caller
/// through [`out_ptr`]).
///
/// # Safety
///
/// `p` is non-NULL, aligned and valid for writes of `T`.
#[inline]
pub(crate) unsafe fn write_out<T>(p: *mut T, v: T) {
    // SAFETY: guaranteed by the caller; `write` does not read or drop the
    // (possibly uninitialised) old value.
    unsafe { p.write(v) }
}

/// Checks that an out-parameter is not NULL.
#[inline]
pub(crate) fn out_ptr<T>(p: *mut T, what: &'static str) -> FfiResult<*mut T> {
    if p.is_null() {
        Err(Failure::invalid(what))
    } else {
        Ok(p)
    }
}

/// Writes `v` to an optional out-parameter (NULL = not wanted).
///
/// # Safety
///
/// `p` is NULL or aligned and valid for writes of `T`.
#[inline]
pub(crate) unsafe fn write_opt<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL and valid per the caller's contract.
        unsafe { p.write(v) }
    }
}
