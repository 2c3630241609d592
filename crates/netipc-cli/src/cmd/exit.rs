//! The exit code policy of `netipc`, in one place: every failure is a
//! [`CliError`] carrying an [`Exit`] code and a one-line message, printed
//! as `netipc: <message>` on stderr.

use std::fmt;
use std::io;
use std::process::ExitCode;

use netipc::protocol::{
    STATUS_AUTH_FAILED, STATUS_BAD_ENVELOPE, STATUS_INCOMPATIBLE, STATUS_UNSUPPORTED, status_name,
};

use crate::json::JsonError;
use crate::wire_json::WireError;

/// The process exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: any failure without a more specific code (I/O, invalid input
    /// data, internal errors, ...).
    Failure,
    /// 2: the command line is wrong.
    Usage,
    /// 3: no service is listening at the endpoint.
    NotFound,
    /// 4: the service rejected the auth token.
    AuthFailed,
    /// 5: the peer is incompatible (version, layout, packet size, no
    /// common profile, method not served).
    Incompatible,
    /// 6: an operation timed out.
    Timeout,
    /// 7: the bytes broke a protocol rule (malformed message or payload,
    /// transport rule violation).
    Protocol,
}

/// The exit code table, as `--help` shows it.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure (I/O, invalid input data, ...)
  2  usage error (bad command line)
  3  service not found (nothing listening at the endpoint)
  4  authentication failed (auth token rejected)
  5  incompatible peer (version, layout, limits, no common profile, method not served)
  6  timeout
  7  protocol error (bytes break a wire rule; the message names the rule)

Every failure prints one line on stderr: `netipc: <message>`.";

impl Exit {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NotFound => 3,
            Exit::AuthFailed => 4,
            Exit::Incompatible => 5,
            Exit::Timeout => 6,
            Exit::Protocol => 7,
        }
    }

    /// The exit code for a library error.
    pub fn of_error(e: &netipc::Error) -> Exit {
        use netipc::Error as E;
        match e {
            E::Decode(_) | E::Protocol(_) => Exit::Protocol,
            E::Timeout => Exit::Timeout,
            E::NotFound => Exit::NotFound,
            E::AuthFailed => Exit::AuthFailed,
            E::Incompatible | E::Unsupported => Exit::Incompatible,
            E::Status(s) => Exit::of_status(*s),
            E::Io(io) if io.kind() == io::ErrorKind::TimedOut => Exit::Timeout,
            _ => Exit::Failure,
        }
    }

    /// The exit code for a non-OK transport status received from a peer.
    pub fn of_status(status: u16) -> Exit {
        match status {
            STATUS_AUTH_FAILED => Exit::AuthFailed,
            STATUS_INCOMPATIBLE | STATUS_UNSUPPORTED => Exit::Incompatible,
            STATUS_BAD_ENVELOPE => Exit::Protocol,
            s if status_name(s).is_none() => Exit::Protocol,
            _ => Exit::Failure,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// A failed command: what to exit with and the one-line reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// The reason, without the `netipc: ` prefix.
    pub message: String,
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// A failure with `exit` code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// A generic failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }

    /// The same error with `context: ` in front of the message (e.g. the
    /// file or endpoint it is about).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The line printed on stderr: `netipc: <message>`, with any line
    /// breaks or control characters turned into spaces so it stays one
    /// line.
    pub fn line(&self) -> String {
        let clean: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("netipc: {}", clean.trim_end())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<netipc::Error> for CliError {
    fn from(e: netipc::Error) -> Self {
        let message = match &e {
            netipc::Error::Status(s) => match status_name(*s) {
                Some(name) => format!("peer returned transport status {name}"),
                None => e.to_string(),
            },
            _ => e.to_string(),
        };
        Self::new(Exit::of_error(&e), message)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        let exit = if e.kind() == io::ErrorKind::TimedOut {
            Exit::Timeout
        } else {
            Exit::Failure
        };
        Self::new(exit, e.to_string())
    }
}

impl From<JsonError> for CliError {
    fn from(e: JsonError) -> Self {
        Self::failure(e.to_string())
    }
}

impl From<WireError> for CliError {
    fn from(e: WireError) -> Self {
        let exit = match &e {
            WireError::Decode { .. } => Exit::Protocol,
            WireError::Options(_) => Exit::Usage,
            WireError::Json(_) | WireError::Encode { .. } => Exit::Failure,
        };
        Self::new(exit, e.to_string())
    }
}

/// Prints a failure's line on stderr and returns the process exit code.
pub fn report(result: CliResult) -> ExitCode {
    match result {
        Ok(()) => Exit::Success.into(),
        Err(e) => {
            eprintln!("{}", e.line());
            e.exit.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netipc::{DecodeError, Violation};

    #[test]
    fn library_errors_map_to_documented_codes() {
        let code = |e: netipc::Error| CliError::from(e).exit.code();
        assert_eq!(
            code(netipc::Error::Decode(DecodeError::BadKind { found: 9 })),
            7
        );
        assert_eq!(code(Violation::ChunkIndex.into()), 7);
        assert_eq!(code(netipc::Error::NotFound), 3);
        assert_eq!(code(netipc::Error::AuthFailed), 4);
        assert_eq!(code(netipc::Error::Incompatible), 5);
        assert_eq!(code(netipc::Error::Unsupported), 5);
        assert_eq!(code(netipc::Error::Timeout), 6);
        assert_eq!(code(netipc::Error::Status(STATUS_AUTH_FAILED)), 4);
        assert_eq!(code(netipc::Error::Status(STATUS_UNSUPPORTED)), 5);
        assert_eq!(code(netipc::Error::Status(STATUS_BAD_ENVELOPE)), 7);
        assert_eq!(code(netipc::Error::Status(6)), 1);
        assert_eq!(code(netipc::Error::Status(999)), 7);
        assert_eq!(code(netipc::Error::PeerClosed), 1);
        assert_eq!(code(netipc::Error::AddressInUse), 1);
        assert_eq!(
            code(netipc::Error::Io(io::Error::from(io::ErrorKind::TimedOut))),
            6
        );
        assert_eq!(
            CliError::from(netipc::Error::Status(5)).message,
            "peer returned transport status LIMIT_EXCEEDED"
        );
    }

    #[test]
    fn one_line_messages() {
        let e = CliError::usage("bad\nthing\r\n").context("decode");
        assert_eq!(e.exit, Exit::Usage);
        assert_eq!(e.line(), "netipc: decode: bad thing");
        assert_eq!(
            CliError::from(WireError::decode(
                "payload",
                DecodeError::BadKind { found: 4 }
            )),
            CliError::new(Exit::Protocol, "payload: unknown message kind 4")
        );
    }
}
