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
//! not an error); [`conn`] holds the connection options every subcommand
//! that connects or listens flattens in (and the run directory contract),
//! [`tables`] the human-readable tables.
//!
//! | subcommand | module |
//! |---|---|
//! | `demo` | [`demo`] |
//! | `serve KIND` | [`serve`] |
//! | `call increment N`, `call string-reverse TEXT` | [`call`] |
//! | `snapshot` | [`snapshot`] |
//! | `lookup cgroups PATH...`, `lookup apps PID...` | [`lookup`] |
//! | `bench server\|client SCENARIO`, `bench list` | [`bench`](mod@bench) |
//! | `host`, `decode`, `encode` | [`host`], [`decode`], [`encode`] |

pub mod bench;
pub mod call;
pub mod conn;
pub mod decode;
pub mod demo;
pub mod encode;
pub mod exit;
pub mod host;
pub mod lookup;
pub mod serve;
pub mod snapshot;
pub mod tables;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use exit::{CliError, CliResult, EXIT_CODES_HELP, Exit};

/// NetIPC command-line tool: serve and call NetIPC services, benchmark
/// them, inspect host data and wire bytes.
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
    /// Run providers and a consumer of this host's real data for a few seconds.
    #[command(after_help = EXIT_CODES_HELP)]
    Demo(demo::DemoArgs),
    /// Serve one service kind (prints `READY <socket>`; stops on SIGINT/SIGTERM).
    #[command(after_help = EXIT_CODES_HELP)]
    Serve(serve::ServeArgs),
    /// Call a test method: `call increment N`, `call string-reverse TEXT`.
    #[command(after_help = EXIT_CODES_HELP)]
    Call(call::CallArgs),
    /// Fetch and print the cgroups snapshot.
    #[command(after_help = EXIT_CODES_HELP)]
    Snapshot(snapshot::SnapshotArgs),
    /// Look up cgroup paths or PIDs: `lookup cgroups PATH...`, `lookup apps PID...`.
    #[command(after_help = EXIT_CODES_HELP)]
    Lookup(lookup::LookupArgs),
    /// Benchmarks (BENCHMARKS.md): `bench server|client SCENARIO`, `bench list`.
    #[command(after_help = EXIT_CODES_HELP)]
    Bench(bench::BenchArgs),
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
            Command::Demo(a) => demo::run(a),
            Command::Serve(a) => serve::run(a),
            Command::Call(a) => call::run(a),
            Command::Snapshot(a) => snapshot::run(a),
            Command::Lookup(a) => lookup::run(a),
            Command::Bench(a) => bench::run(a),
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
