//! Status codes, the thread-local last-error message, and the guard every
//! entry point runs in (no panic crosses the C boundary).

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use netipc::Error;
use netipc::protocol::{
    STATUS_AUTH_FAILED, STATUS_BAD_ENVELOPE, STATUS_INCOMPATIBLE, STATUS_INTERNAL_ERROR,
    STATUS_LIMIT_EXCEEDED, STATUS_UNSUPPORTED,
};

/// Status code returned by every function that can fail.
///
/// `NIPC_OK` (0) is success; every other value is a failure, and
/// `nipc_last_error_message()` then describes it (on the calling thread).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nipc_error_t {
    /// Success.
    NIPC_OK = 0,
    /// A NULL handle or pointer, an invalid name, a length without bytes,
    /// a value outside its range, or data the codec rejects (for example a
    /// string containing a NUL byte).
    NIPC_ERR_INVALID_ARGUMENT = 1,
    /// No server listens at the endpoint (normal while the provider is not
    /// running yet); for cache and view look-ups: no such item.
    NIPC_ERR_NOT_FOUND = 2,
    /// The server rejected the auth token (fix the configuration).
    NIPC_ERR_AUTH_FAILED = 3,
    /// Protocol, layout or payload-limit negotiation failed (fix the
    /// versions or the configuration).
    NIPC_ERR_INCOMPATIBLE = 4,
    /// The call did not complete within its timeout.
    NIPC_ERR_TIMEOUT = 5,
    /// The call was aborted with `nipc_client_abort()` /
    /// `nipc_cgroups_cache_abort()` (sticky until cleared).
    NIPC_ERR_ABORTED = 6,
    /// The peer sent malformed bytes or broke a protocol rule (including a
    /// `BAD_ENVELOPE` answer, a lookup echo or generation mismatch).
    NIPC_ERR_PROTOCOL = 7,
    /// A payload, batch or lookup ceiling was exceeded.
    NIPC_ERR_LIMIT_EXCEEDED = 8,
    /// The peer closed the connection.
    NIPC_ERR_PEER_CLOSED = 9,
    /// The client is not READY (DISCONNECTED or BROKEN): call
    /// `nipc_client_refresh()` first.
    NIPC_ERR_NOT_READY = 10,
    /// A bug inside the library (a caught Rust panic). Never expected.
    NIPC_ERR_INTERNAL = 11,
    /// An operating-system error (socket, shared memory, file).
    NIPC_ERR_IO = 12,
    /// The server does not serve this method, or no common transport
    /// profile exists.
    NIPC_ERR_UNSUPPORTED = 13,
    /// Another live server already serves this endpoint.
    NIPC_ERR_ADDRESS_IN_USE = 14,
    /// The server's handler failed (the server answered `INTERNAL_ERROR`,
    /// also after the one at-least-once retry).
    NIPC_ERR_SERVER_ERROR = 15,
    /// The call does not match the handle's service kind (for example an
    /// INCREMENT call on a `cgroups-snapshot` client).
    NIPC_ERR_WRONG_KIND = 16,
    /// An index is past the end of a view, request or guard.
    NIPC_ERR_OUT_OF_RANGE = 17,
}

use nipc_error_t::*;

impl nipc_error_t {
    /// The name of the code (`"NIPC_OK"`, ...).
    pub(crate) const fn name(self) -> &'static CStr {
        match self {
            NIPC_OK => c"NIPC_OK",
            NIPC_ERR_INVALID_ARGUMENT => c"NIPC_ERR_INVALID_ARGUMENT",
            NIPC_ERR_NOT_FOUND => c"NIPC_ERR_NOT_FOUND",
            NIPC_ERR_AUTH_FAILED => c"NIPC_ERR_AUTH_FAILED",
            NIPC_ERR_INCOMPATIBLE => c"NIPC_ERR_INCOMPATIBLE",
            NIPC_ERR_TIMEOUT => c"NIPC_ERR_TIMEOUT",
            NIPC_ERR_ABORTED => c"NIPC_ERR_ABORTED",
            NIPC_ERR_PROTOCOL => c"NIPC_ERR_PROTOCOL",
            NIPC_ERR_LIMIT_EXCEEDED => c"NIPC_ERR_LIMIT_EXCEEDED",
            NIPC_ERR_PEER_CLOSED => c"NIPC_ERR_PEER_CLOSED",
            NIPC_ERR_NOT_READY => c"NIPC_ERR_NOT_READY",
            NIPC_ERR_INTERNAL => c"NIPC_ERR_INTERNAL",
            NIPC_ERR_IO => c"NIPC_ERR_IO",
            NIPC_ERR_UNSUPPORTED => c"NIPC_ERR_UNSUPPORTED",
            NIPC_ERR_ADDRESS_IN_USE => c"NIPC_ERR_ADDRESS_IN_USE",
            NIPC_ERR_SERVER_ERROR => c"NIPC_ERR_SERVER_ERROR",
            NIPC_ERR_WRONG_KIND => c"NIPC_ERR_WRONG_KIND",
            NIPC_ERR_OUT_OF_RANGE => c"NIPC_ERR_OUT_OF_RANGE",
        }
    }

    const ALL: [nipc_error_t; 18] = [
        NIPC_OK,
        NIPC_ERR_INVALID_ARGUMENT,
        NIPC_ERR_NOT_FOUND,
        NIPC_ERR_AUTH_FAILED,
        NIPC_ERR_INCOMPATIBLE,
        NIPC_ERR_TIMEOUT,
        NIPC_ERR_ABORTED,
        NIPC_ERR_PROTOCOL,
        NIPC_ERR_LIMIT_EXCEEDED,
        NIPC_ERR_PEER_CLOSED,
        NIPC_ERR_NOT_READY,
        NIPC_ERR_INTERNAL,
        NIPC_ERR_IO,
        NIPC_ERR_UNSUPPORTED,
        NIPC_ERR_ADDRESS_IN_USE,
        NIPC_ERR_SERVER_ERROR,
        NIPC_ERR_WRONG_KIND,
        NIPC_ERR_OUT_OF_RANGE,
    ];

    /// The code whose integer value is `v`.
    pub(crate) fn from_int(v: i32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| *c as i32 == v)
    }
}

/// A failure on its way to C: the code and the message for
/// `nipc_last_error_message()`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: nipc_error_t,
    pub msg: Cow<'static, str>,
}

impl Failure {
    pub(crate) fn new(code: nipc_error_t, msg: impl Into<Cow<'static, str>>) -> Self {
        Failure {
            code,
            msg: msg.into(),
        }
    }

    pub(crate) fn invalid(msg: &'static str) -> Self {
        Failure::new(NIPC_ERR_INVALID_ARGUMENT, msg)
    }
}

/// The status code of a library error.
pub(crate) fn code_of(e: &Error) -> nipc_error_t {
    match e {
        Error::Decode(_) | Error::Protocol(_) => NIPC_ERR_PROTOCOL,
        Error::LimitExceeded { .. } => NIPC_ERR_LIMIT_EXCEEDED,
        Error::Timeout => NIPC_ERR_TIMEOUT,
        Error::Aborted => NIPC_ERR_ABORTED,
        Error::PeerClosed => NIPC_ERR_PEER_CLOSED,
        Error::NotFound => NIPC_ERR_NOT_FOUND,
        Error::AddressInUse => NIPC_ERR_ADDRESS_IN_USE,
        Error::AuthFailed => NIPC_ERR_AUTH_FAILED,
        Error::Incompatible => NIPC_ERR_INCOMPATIBLE,
        Error::Unsupported => NIPC_ERR_UNSUPPORTED,
        Error::Status(s) => match *s {
            STATUS_BAD_ENVELOPE => NIPC_ERR_PROTOCOL,
            STATUS_AUTH_FAILED => NIPC_ERR_AUTH_FAILED,
            STATUS_INCOMPATIBLE => NIPC_ERR_INCOMPATIBLE,
            STATUS_UNSUPPORTED => NIPC_ERR_UNSUPPORTED,
            STATUS_LIMIT_EXCEEDED => NIPC_ERR_LIMIT_EXCEEDED,
            STATUS_INTERNAL_ERROR => NIPC_ERR_SERVER_ERROR,
            _ => NIPC_ERR_PROTOCOL,
        },
        Error::HandlerFailed => NIPC_ERR_SERVER_ERROR,
        Error::ShmNotReady | Error::ShmAttach(_) | Error::ShmAllocate(_) | Error::Io(_) => {
            NIPC_ERR_IO
        }
        Error::InvalidArgument(_) => NIPC_ERR_INVALID_ARGUMENT,
        Error::InvalidState(_) => NIPC_ERR_NOT_READY,
        _ => NIPC_ERR_INTERNAL,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::new(code_of(&e), e.to_string())
    }
}

/// Result of the body of an entry point.
pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(func: &str, msg: &str) {
    let text = format!("{func}: {msg}").replace('\0', " ");
    let c = CString::new(text).unwrap_or_default();
    // A thread being torn down has no slot any more: nothing to record.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = c);
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs the body of entry point `func`: maps its failure (or a panic) to
/// a status code and records the message.
#[inline]
pub(crate) fn guard(func: &'static str, body: impl FnOnce() -> FfiResult) -> nipc_error_t {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => NIPC_OK,
        Ok(Err(f)) => {
            set_last_error(func, &f.msg);
            f.code
        }
        Err(p) => {
            set_last_error(
                func,
                &format!("internal error (panic: {})", panic_text(&*p)),
            );
            NIPC_ERR_INTERNAL
        }
    }
}

/// Runs the body of an entry point that returns a value instead of a
/// status code; `sentinel` is returned on failure or panic.
#[inline]
pub(crate) fn guard_value<T>(
    func: &'static str,
    sentinel: T,
    body: impl FnOnce() -> FfiResult<T>,
) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(f)) => {
            set_last_error(func, &f.msg);
            sentinel
        }
        Err(p) => {
            set_last_error(
                func,
                &format!("internal error (panic: {})", panic_text(&*p)),
            );
            sentinel
        }
    }
}

/// The message of the last failed call made by the calling thread, as a
/// NUL-terminated string naming the function and the cause (for example
/// `"nipc_client_call_increment: service not found"`); `""` if no call
/// has failed on this thread yet.
///
/// Successful calls leave it unchanged. The pointer stays valid until the
/// next failing call on the same thread; copy the text to keep it. Never
/// returns NULL.
#[unsafe(no_mangle)]
pub extern "C" fn nipc_last_error_message() -> *const c_char {
    let empty = c"".as_ptr();
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ptr())
            .unwrap_or(empty)
    })
    .unwrap_or(empty)
}

/// The name of status code `err` (`"NIPC_OK"`, `"NIPC_ERR_TIMEOUT"`, ...),
/// or `"NIPC_ERR_UNKNOWN"` for a value that is not a `nipc_error_t`.
/// Static storage: never freed, never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn nipc_error_name(err: i32) -> *const c_char {
    match nipc_error_t::from_int(err) {
        Some(c) => c.name().as_ptr(),
        None => c"NIPC_ERR_UNKNOWN".as_ptr(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: the function returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(nipc_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn panics_become_internal_errors() {
        let r = guard("nipc_test", || panic!("boom"));
        assert_eq!(r, NIPC_ERR_INTERNAL);
        assert!(last().starts_with("nipc_test: internal error (panic: boom)"));
        assert_eq!(guard_value("nipc_test", 7u32, || panic!("x")), 7);
        assert_eq!(guard("nipc_test", || Ok(())), NIPC_OK);
        // Success leaves the message alone.
        assert!(last().contains("panic: x"));
    }

    #[test]
    fn library_errors_map_to_codes() {
        use netipc::protocol::STATUS_OK;
        let cases = [
            (Error::Timeout, NIPC_ERR_TIMEOUT),
            (Error::Aborted, NIPC_ERR_ABORTED),
            (Error::NotFound, NIPC_ERR_NOT_FOUND),
            (Error::AuthFailed, NIPC_ERR_AUTH_FAILED),
            (Error::Incompatible, NIPC_ERR_INCOMPATIBLE),
            (Error::PeerClosed, NIPC_ERR_PEER_CLOSED),
            (Error::AddressInUse, NIPC_ERR_ADDRESS_IN_USE),
            (Error::Unsupported, NIPC_ERR_UNSUPPORTED),
            (Error::Status(STATUS_INTERNAL_ERROR), NIPC_ERR_SERVER_ERROR),
            (
                Error::Status(STATUS_LIMIT_EXCEEDED),
                NIPC_ERR_LIMIT_EXCEEDED,
            ),
            (Error::Status(STATUS_BAD_ENVELOPE), NIPC_ERR_PROTOCOL),
            (Error::Status(STATUS_OK + 77), NIPC_ERR_PROTOCOL),
            (Error::InvalidArgument("x"), NIPC_ERR_INVALID_ARGUMENT),
            (Error::InvalidState("x"), NIPC_ERR_NOT_READY),
            (Error::ShmAttach("x"), NIPC_ERR_IO),
            (netipc::Violation::EchoMismatch.into(), NIPC_ERR_PROTOCOL),
        ];
        for (e, want) in cases {
            assert_eq!(code_of(&e), want, "{e}");
        }
        let f = Failure::from(Error::NotFound);
        assert_eq!(f.code, NIPC_ERR_NOT_FOUND);
        assert_eq!(f.msg, "service not found");
    }

    #[test]
    fn names() {
        for c in nipc_error_t::ALL {
            assert_eq!(nipc_error_t::from_int(c as i32), Some(c));
            // SAFETY: static NUL-terminated strings.
            let n = unsafe { CStr::from_ptr(nipc_error_name(c as i32)) };
            assert_eq!(n, c.name());
        }
        // SAFETY: as above.
        let n = unsafe { CStr::from_ptr(nipc_error_name(1234)) };
        assert_eq!(n, c"NIPC_ERR_UNKNOWN");
    }
}
