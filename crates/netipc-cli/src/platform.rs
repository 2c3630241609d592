//! The one place the tool differs by platform. Everything else in the
//! crate is platform-neutral and goes through these functions.
//!
//! | concern | Linux / Unix | Windows |
//! |---|---|---|
//! | live host data (`/proc`, cgroupfs) | available | [`require_host_data`] fails with a clear error; `serve --data FILE` works |
//! | default run directory | `$XDG_RUNTIME_DIR/netipc` or `/tmp/netipc-$UID` | `%TEMP%\netipc` (only hashed into the pipe name) |
//! | private run directory | created 0700, ownership and mode checked | created; Windows ACLs are not checked |
//! | process CPU time (bench) | `CLOCK_PROCESS_CPUTIME_ID` | not measured (zero) |
//! | service address shown | the socket path | the pipe name |
//! | stop signals ([`on_stop_signal`]) | SIGINT, SIGTERM (`signal-hook`) | Ctrl-C, Ctrl-Break, console close (`SetConsoleCtrlHandler`) |

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use netipc::transport::Endpoint;

/// Whether live host data (the `/proc` and cgroupfs scanners) exists on
/// this platform.
pub const HOST_DATA: bool = cfg!(target_os = "linux");

/// Fails with [`io::ErrorKind::Unsupported`] where live host data does not
/// exist (`netipc host`, `netipc serve` without `--data`, `netipc demo`).
pub fn require_host_data() -> io::Result<()> {
    if HOST_DATA {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "live host data needs Linux (/proc and cgroupfs); serve a dataset with \
             `netipc serve --data FILE` instead",
        ))
    }
}

/// The default run directory (see [`crate::cmd::conn`]).
pub fn default_run_dir() -> PathBuf {
    #[cfg(unix)]
    {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if Path::new(&d).is_absolute() => {
                PathBuf::from(d).join(crate::cmd::conn::XDG_SUBDIR)
            }
            _ => PathBuf::from(format!(
                "/tmp/netipc-{}",
                rustix::process::getuid().as_raw()
            )),
        }
    }
    #[cfg(not(unix))]
    {
        std::env::temp_dir().join(crate::cmd::conn::XDG_SUBDIR)
    }
}

/// Sets `flag` when the process is asked to stop: SIGINT or SIGTERM on
/// Unix; Ctrl-C, Ctrl-Break or the console closing on Windows.
pub fn on_stop_signal(flag: &Arc<AtomicBool>) -> io::Result<()> {
    #[cfg(unix)]
    {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, Arc::clone(flag))?;
        }
        Ok(())
    }
    #[cfg(windows)]
    {
        console::on_stop(flag)
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod console {
    //! The console control handler (the Windows `unsafe` of the tool: the
    //! Win32 registration call).

    use std::io;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    use windows_sys::Win32::Foundation::{FALSE, TRUE};
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
    use windows_sys::core::BOOL;

    /// The flags a control event sets.
    static FLAGS: Mutex<Vec<Arc<AtomicBool>>> = Mutex::new(Vec::new());

    unsafe extern "system" fn handler(_event: u32) -> BOOL {
        let flags = FLAGS.lock().unwrap_or_else(PoisonError::into_inner);
        if flags.is_empty() {
            return FALSE;
        }
        for f in flags.iter() {
            f.store(true, Ordering::SeqCst);
        }
        // Handled: the process stops on its own.
        TRUE
    }

    pub(super) fn on_stop(flag: &Arc<AtomicBool>) -> io::Result<()> {
        let mut flags = FLAGS.lock().unwrap_or_else(PoisonError::into_inner);
        if flags.is_empty() {
            // SAFETY: `handler` is a `'static` function with the
            // PHANDLER_ROUTINE signature; it only touches a static.
            if unsafe { SetConsoleCtrlHandler(Some(handler), TRUE) } == 0 {
                return Err(io::Error::last_os_error());
            }
        }
        flags.push(Arc::clone(flag));
        Ok(())
    }
}

/// The address clients reach `service` in `run_dir` at, for messages and
/// the `READY` line: the socket path on Unix, the pipe name on Windows.
pub fn service_address(run_dir: &Path, service: &str) -> PathBuf {
    #[cfg(unix)]
    {
        run_dir.join(format!("{service}.sock"))
    }
    #[cfg(not(unix))]
    {
        Endpoint::new(run_dir, service)
            .map_or_else(|_| run_dir.join(service), |e| PathBuf::from(e.pipe_name()))
    }
}

/// [`service_address`] of an endpoint.
pub fn endpoint_address(endpoint: &Endpoint) -> PathBuf {
    #[cfg(unix)]
    {
        endpoint.socket_path()
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(endpoint.pipe_name())
    }
}

/// Checks that an existing run directory is private to this user (Unix:
/// owned by the user, no group or other permission bits). `Err` holds the
/// reason.
pub fn check_private_dir(meta: &fs::Metadata) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = rustix::process::getuid().as_raw();
        if meta.uid() != uid || meta.mode() & 0o077 != 0 {
            return Err(format!(
                "must be owned by uid {uid} with mode 0700 (found uid {}, mode {:o})",
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(())
    }
}

/// Creates `dir` and its missing parents, private to this user (Unix:
/// mode 0700).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// The permission bits of a file, for display (`None` where there are
/// none, or the file is gone).
pub fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The parent process id, where the platform has one handy.
pub fn parent_pid() -> Option<u32> {
    #[cfg(unix)]
    {
        Some(std::os::unix::process::parent_id())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The process's CPU time (user + system, every thread): Unix reads the
/// `CLOCK_PROCESS_CPUTIME_ID` clock (what `getrusage(SELF)` reports as
/// `ru_utime + ru_stime`); elsewhere it is not measured and reads zero.
pub fn cpu_time() -> Duration {
    #[cfg(unix)]
    {
        cpu_clock::process_cpu_time()
    }
    #[cfg(not(unix))]
    {
        Duration::ZERO
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod cpu_clock {
    //! The process CPU clock through the C library. rustix would first
    //! look the clock up in the vDSO, and its vDSO lookup faults where
    //! the process has none mapped, as under Valgrind (rustix#1559); the
    //! C library falls back to the system call there. The kernel's vDSO
    //! does not serve this clock anyway: it is a system call either way.

    use std::time::Duration;

    pub(super) fn process_cpu_time() -> Duration {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid, writable timespec for the call's
        // duration; the clock id is a constant the C library knows.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } != 0 {
            return Duration::ZERO;
        }
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }
}

/// The device a file lives on (mount boundaries in the cgroup walk);
/// a constant where the platform has no device numbers.
pub fn device_of(meta: &fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.dev()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// A path from raw bytes (Unix paths are bytes; elsewhere invalid UTF-8
/// is replaced).
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}
