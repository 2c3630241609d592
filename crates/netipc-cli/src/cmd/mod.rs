//! The `netipc` subcommands.
//!
//! Each subcommand is a module with a clap `...Args` struct and a
//! `run(&Args) -> CliResult` function; [`Command`] lists them and
//! [`main`] parses the command line, runs one and turns the outcome into
//! the exit code ([`exit`] holds the policy). To add a subcommand: write
//! `cmd/NAME.rs` with its args and `run`, add a variant to [`Command`] and
//! an arm to [`Command::run`].
//!
//! Shared helpers for subcommands: [`read_input`] (a file or `-` for
//! stdin) and [`write_output`] (stdout or `-o FILE`; a closed stdout is
//! not an error).

pub mod decode;
pub mod encode;
pub mod exit;
pub mod host;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use exit::{CliError, CliResult, EXIT_CODES_HELP, Exit};

/// NetIPC command-line tool: inspect host data and NetIPC wire bytes.
#[derive(Debug, Parser)]
#[command(name = "netipc", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print live host data (the data `netipc serve` answers from).
    #[command(after_help = EXIT_CODES_HELP)]
    Host(host::HostArgs),
    /// Decode NetIPC wire bytes and print every field as JSON.
    #[command(after_help = decode::AFTER_HELP)]
    Decode(decode::DecodeArgs),
    /// Encode the JSON that `netipc decode` prints back into canonical bytes.
    #[command(after_help = encode::AFTER_HELP)]
    Encode(encode::EncodeArgs),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(&self) -> CliResult {
        match self {
            Command::Host(a) => host::run(a),
            Command::Decode(a) => decode::run(a),
            Command::Encode(a) => encode::run(a),
        }
    }
}

/// Parses `args` (the program name first). `--help` and `--version` are
/// `Err` with exit code 0 and the text to print on stdout in the message;
/// a bad command line is a usage error (exit 2) whose one-line message is
/// clap's.
pub fn parse<I, T>(args: I) -> Result<Cli, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args).map_err(|e| {
        if e.use_stderr() {
            CliError::usage(clap_one_line(&e.render().to_string()))
        } else {
            CliError::new(Exit::Success, e.render().to_string())
        }
    })
}

/// Condenses clap's multi-line error into one line: the error and its
/// details, without the usage block.
fn clap_one_line(text: &str) -> String {
    let body: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let joined = body.join(" ");
    let msg = joined.strip_prefix("error: ").unwrap_or(&joined);
    format!("{msg} (see 'netipc --help')")
}

/// The `netipc` program: parse, run, report. Returns the exit code.
pub fn main() -> ExitCode {
    match parse(std::env::args_os()) {
        Ok(cli) => exit::report(cli.command.run()),
        Err(e) if e.exit == Exit::Success => {
            print!("{}", e.message);
            Exit::Success.into()
        }
        Err(e) => exit::report(Err(e)),
    }
}

/// Reads a whole input: the file at `path`, or stdin for `-`.
pub fn read_input(path: &Path) -> CliResult<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::from(e).context("stdin"))?;
        Ok(buf)
    } else {
        fs::read(path).map_err(|e| CliError::from(e).context(path.display()))
    }
}

/// Writes `bytes` to the file `out`, or to stdout when `out` is `None`. A
/// stdout closed by the reader (`| head`) is not an error.
pub fn write_output(out: Option<&Path>, bytes: &[u8]) -> CliResult {
    match out {
        Some(path) => fs::write(path, bytes).map_err(|e| CliError::from(e).context(path.display())),
        None => {
            let mut stdout = io::stdout().lock();
            match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| CliError::from(e).context("stdout")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_are_one_line() {
        let e = parse(["netipc", "decode"]).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(!e.message.contains('\n'), "{}", e.message);
        assert!(
            e.message.contains("required arguments were not provided"),
            "{}",
            e.message
        );
        let e = parse(["netipc", "decode", "nonsense", "f"]).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(
            e.message.contains("invalid value 'nonsense'"),
            "{}",
            e.message
        );
        let e = parse(["netipc", "--help"]).unwrap_err();
        assert_eq!(e.exit, Exit::Success);
        assert!(e.message.contains("Exit codes:"), "{}", e.message);
        assert!(parse(["netipc", "decode", "hello", "-"]).is_ok());
    }
}
