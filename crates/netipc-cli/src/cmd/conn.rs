//! The connection options shared by every subcommand that connects or
//! listens (`serve`, `call`, `snapshot`, `lookup`, `bench`), and the run
//! directory contract.
//!
//! | option | default |
//! |---|---|
//! | `--run-dir DIR` | `$XDG_RUNTIME_DIR/netipc` when `XDG_RUNTIME_DIR` is set (an absolute path), else `/tmp/netipc-$UID` |
//! | `--service NAME` | the kind's standard name (`cgroups-snapshot`, `cgroups-lookup`, `apps-lookup`, `increment`, `string-reverse`); for `bench` the scenario name |
//! | `--auth-token TOKEN` | `$NETIPC_AUTH_TOKEN`, else 0 (`bench`: `0xBE4C400000C0FFEE`) |
//! | `--profile uds\|shm` | `shm` (`bench`: the scenario's) |
//! | `--max-request-payload BYTES` | 0: the library's zero-config growth (`bench`: the scenario's) |
//! | `--max-response-payload BYTES` | 0: as above |
//! | `--timeout-ms MS` | 0: the library default (30 s per call, 5 s per connect / handshake) |
//!
//! Servers and clients use the same defaults, so a client finds a server
//! started with the same options. A server creates its run directory
//! (mode 0700) when it is missing; the socket inside is created 0600
//! (owner only). The default `/tmp/netipc-$UID` must be a directory owned
//! by the user with no group or other permissions, so that another user
//! cannot prepare it in advance.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::client::{ClientConfig, ClientState};
use netipc::service::server::ServerConfig;
use netipc::transport::{Endpoint, IMPLEMENTED_PROFILES};

use super::{CliError, CliResult, Exit};

/// The environment variable holding the auth token when `--auth-token` is
/// not given.
pub const AUTH_TOKEN_ENV: &str = "NETIPC_AUTH_TOKEN";

/// The auth token used when neither `--auth-token` nor
/// [`AUTH_TOKEN_ENV`] names one (the socket's 0600 mode is the access
/// control; the token guards against talking to the wrong provider).
pub const DEFAULT_AUTH_TOKEN: u64 = 0;

/// The auth token of the shared benchmark suite (BENCHMARKS.md).
pub const BENCH_AUTH_TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;

/// Name of the run directory under `$XDG_RUNTIME_DIR`.
pub(crate) const XDG_SUBDIR: &str = "netipc";

/// Transport profile choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// The baseline only (UDS SEQPACKET on Linux, Named Pipes on
    /// Windows).
    Uds,
    /// Offer and prefer SHM_HYBRID, with the baseline as fallback (the
    /// baseline only where SHM is not implemented: Windows for now).
    Shm,
}

impl Profile {
    /// `(supported, preferred)` profile bits.
    pub fn bits(self) -> (u32, u32) {
        match self {
            Profile::Uds => (PROFILE_BASELINE, PROFILE_BASELINE),
            // SHM where this platform's transport implements it.
            Profile::Shm => {
                let shm = PROFILE_SHM_HYBRID & IMPLEMENTED_PROFILES;
                (PROFILE_BASELINE | shm, shm)
            }
        }
    }

    /// `uds` or `shm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Uds => "uds",
            Profile::Shm => "shm",
        }
    }
}

/// Parses an auth token: decimal, or hexadecimal with a `0x` prefix.
pub fn parse_token(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    r.map_err(|_| format!("`{text}` is not a u64 token (decimal or 0x-hex)"))
}

/// The connection options (flattened into each subcommand).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection options")]
pub struct ConnArgs {
    /// Run directory holding the sockets [default: $XDG_RUNTIME_DIR/netipc,
    /// else /tmp/netipc-$UID].
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Service name [default: the kind's standard name].
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Auth token, decimal or 0x-hex [default: 0; bench: 0xBE4C400000C0FFEE].
    #[arg(long, value_name = "TOKEN", env = AUTH_TOKEN_ENV, value_parser = parse_token,
          hide_env_values = true)]
    pub auth_token: Option<u64>,
    /// Transport profile: `uds` (baseline only) or `shm` (SHM_HYBRID
    /// preferred, baseline fallback) [default: shm; bench: the scenario's].
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Request payload budget in bytes; 0 = zero-config growth [default: 0;
    /// bench: the scenario's].
    #[arg(long, value_name = "BYTES")]
    pub max_request_payload: Option<u32>,
    /// Response payload budget in bytes; 0 = zero-config growth [default:
    /// 0; bench: the scenario's].
    #[arg(long, value_name = "BYTES")]
    pub max_response_payload: Option<u32>,
    /// Timeout in milliseconds of each call and connection attempt (servers:
    /// of each handshake); 0 = the library defaults.
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
}

/// Defaults a subcommand applies to the options not given.
#[derive(Debug, Clone, Copy)]
pub struct ConnDefaults<'a> {
    /// Service name.
    pub service: &'a str,
    /// Auth token (after the environment variable).
    pub auth_token: u64,
    /// Profile.
    pub profile: Profile,
    /// Request payload budget.
    pub max_request_payload: u32,
    /// Response payload budget.
    pub max_response_payload: u32,
}

impl<'a> ConnDefaults<'a> {
    /// The defaults of the ordinary (non-bench) subcommands for `service`.
    pub fn service(service: &'a str) -> Self {
        ConnDefaults {
            service,
            auth_token: DEFAULT_AUTH_TOKEN,
            profile: Profile::Shm,
            max_request_payload: 0,
            max_response_payload: 0,
        }
    }
}

/// Resolved connection settings.
#[derive(Debug, Clone)]
pub struct Conn {
    /// Run directory.
    pub run_dir: PathBuf,
    /// Whether `run_dir` is the default one (checked for ownership).
    pub default_run_dir: bool,
    /// Service name.
    pub service: String,
    /// Auth token.
    pub auth_token: u64,
    /// Profile.
    pub profile: Profile,
    /// Request payload budget (0 = zero-config).
    pub max_request_payload: u32,
    /// Response payload budget (0 = zero-config).
    pub max_response_payload: u32,
    /// Timeout (zero = library defaults).
    pub timeout: Duration,
}

impl ConnArgs {
    /// Applies `defaults` to the options not given.
    pub fn resolve(&self, defaults: ConnDefaults<'_>) -> Conn {
        Conn {
            run_dir: self.run_dir.clone().unwrap_or_else(default_run_dir),
            default_run_dir: self.run_dir.is_none(),
            service: self
                .service
                .clone()
                .unwrap_or_else(|| defaults.service.to_owned()),
            auth_token: self.auth_token.unwrap_or(defaults.auth_token),
            profile: self.profile.unwrap_or(defaults.profile),
            max_request_payload: self
                .max_request_payload
                .unwrap_or(defaults.max_request_payload),
            max_response_payload: self
                .max_response_payload
                .unwrap_or(defaults.max_response_payload),
            timeout: Duration::from_millis(self.timeout_ms.unwrap_or(0)),
        }
    }
}

impl Conn {
    /// The endpoint (validates the service name: exit 2 when invalid).
    pub fn endpoint(&self) -> CliResult<Endpoint> {
        Endpoint::new(&self.run_dir, &self.service)
            .map_err(|e| CliError::usage(format!("--service `{}`: {e}", self.service)))
    }

    /// The service address: the socket path `{run_dir}/{service}.sock`
    /// (Unix), the pipe name (Windows).
    pub fn socket_path(&self) -> PathBuf {
        crate::platform::service_address(&self.run_dir, &self.service)
    }

    /// A managed-server configuration with `max_sessions` sessions (0 =
    /// the library default).
    pub fn server_config(&self, max_sessions: usize) -> ServerConfig {
        let (supported, preferred) = self.profile.bits();
        ServerConfig {
            auth_token: self.auth_token,
            supported_profiles: supported,
            preferred_profiles: preferred,
            max_request_payload_bytes: self.max_request_payload,
            max_response_payload_bytes: self.max_response_payload,
            max_sessions,
            handshake_timeout: self.timeout,
            ..ServerConfig::new(&self.run_dir, &self.service)
        }
    }

    /// A Level 2 client configuration.
    pub fn client_config(&self) -> ClientConfig {
        let (supported, preferred) = self.profile.bits();
        ClientConfig {
            auth_token: self.auth_token,
            supported_profiles: supported,
            preferred_profiles: preferred,
            request_payload_bytes: self.max_request_payload,
            response_payload_bytes: self.max_response_payload,
            call_timeout: self.timeout,
            connect_timeout: self.timeout,
            ..ClientConfig::default()
        }
    }

    /// Creates the run directory (mode 0700) when missing; checks the
    /// default one is private to this user.
    pub fn ensure_run_dir(&self) -> CliResult {
        ensure_run_dir(&self.run_dir, self.default_run_dir)
    }
}

/// Turns a client state after `refresh()` into the command's outcome:
/// READY is fine; NOT_FOUND exits 3, AUTH_FAILED 4, INCOMPATIBLE 5, any
/// other state 1.
pub fn check_ready(state: ClientState, socket: &Path) -> CliResult {
    let (exit, why) = match state {
        ClientState::Ready => return Ok(()),
        ClientState::NotFound => (Exit::NotFound, "no service is listening"),
        ClientState::AuthFailed => (Exit::AuthFailed, "the service rejected the auth token"),
        ClientState::Incompatible => (
            Exit::Incompatible,
            "the service is incompatible (profile, version, layout or payload limits)",
        ),
        _ => (Exit::Failure, "could not connect"),
    };
    Err(CliError::new(exit, format!("{}: {why}", socket.display())))
}

/// The default run directory: `$XDG_RUNTIME_DIR/netipc` when
/// `XDG_RUNTIME_DIR` is an absolute path, else `/tmp/netipc-$UID`.
/// (Windows: `%TEMP%\netipc`; see [`crate::platform`].)
pub fn default_run_dir() -> PathBuf {
    crate::platform::default_run_dir()
}

/// Creates `dir` (and missing parents) with mode 0700 when it does not
/// exist. With `private`, an existing directory must be owned by this user
/// and have no group or other permission bits.
pub fn ensure_run_dir(dir: &Path, private: bool) -> CliResult {
    let ctx = |e: std::io::Error| CliError::from(e).context(format!("run dir {}", dir.display()));
    match fs::symlink_metadata(dir) {
        Ok(meta) => {
            if !meta.is_dir() {
                return Err(CliError::failure(format!(
                    "run dir {}: not a directory",
                    dir.display()
                )));
            }
            if private {
                if let Err(why) = crate::platform::check_private_dir(&meta) {
                    return Err(CliError::failure(format!(
                        "run dir {}: {why}; remove it or pass --run-dir",
                        dir.display(),
                    )));
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::platform::create_private_dir(dir).map_err(ctx)
        }
        Err(e) => Err(ctx(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(parse_token("0"), Ok(0));
        assert_eq!(parse_token("42"), Ok(42));
        assert_eq!(parse_token("0xBE4C400000C0FFEE"), Ok(BENCH_AUTH_TOKEN));
        assert_eq!(parse_token("0Xff"), Ok(255));
        assert!(parse_token("0x").is_err());
        assert!(parse_token("-1").is_err());
        assert!(parse_token("18446744073709551616").is_err());
        assert!(parse_token("abc").is_err());
    }

    #[test]
    fn resolve_defaults_and_overrides() {
        let c = ConnArgs::default().resolve(ConnDefaults::service("increment"));
        assert_eq!(c.service, "increment");
        assert_eq!(c.auth_token, DEFAULT_AUTH_TOKEN);
        assert_eq!(c.profile, Profile::Shm);
        assert!(c.default_run_dir);
        assert_eq!(c.run_dir, default_run_dir());
        let a = ConnArgs {
            run_dir: Some("/x".into()),
            service: Some("s".into()),
            auth_token: Some(7),
            profile: Some(Profile::Uds),
            max_request_payload: Some(100),
            max_response_payload: Some(200),
            timeout_ms: Some(1500),
        };
        let c = a.resolve(ConnDefaults::service("increment"));
        assert_eq!(c.socket_path(), PathBuf::from("/x/s.sock"));
        let s = c.server_config(3);
        assert_eq!(
            (s.auth_token, s.supported_profiles, s.max_sessions),
            (7, PROFILE_BASELINE, 3)
        );
        assert_eq!(
            (s.max_request_payload_bytes, s.max_response_payload_bytes),
            (100, 200)
        );
        let k = c.client_config();
        assert_eq!(k.call_timeout, Duration::from_millis(1500));
        assert_eq!(k.supported_profiles, PROFILE_BASELINE);
    }

    #[cfg(unix)] // POSIX permission bits
    #[test]
    fn run_dir_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("a/b");
        ensure_run_dir(&d, true).unwrap();
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(&d).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700);
        ensure_run_dir(&d, true).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(ensure_run_dir(&d, true).is_err());
        ensure_run_dir(&d, false).unwrap();
        let f = tmp.path().join("file");
        fs::write(&f, "").unwrap();
        assert!(ensure_run_dir(&f, false).is_err());
    }
}
