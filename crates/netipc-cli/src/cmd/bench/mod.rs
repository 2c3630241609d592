//! `netipc bench`: the shared benchmark suite of BENCHMARKS.md.
//!
//! - `netipc bench server SCENARIO`: serves the scenario's server side
//!   (auth token `0xBE4C400000C0FFEE`, the scenario's profiles and
//!   budgets), prints `READY`, stops after `--duration` seconds or on
//!   SIGINT/SIGTERM and prints `SERVER_CPU_PCT=<pct>`.
//! - `netipc bench client SCENARIO`: runs the scenario's client work for
//!   `--duration` seconds at `--target-rps` (0 = as fast as possible),
//!   checks every answer (a wrong one exits 1), and prints one CSV line
//!   `scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct`
//!   (server CPU `0.0`, total = client CPU; a driver merges the server's),
//!   or with `--json` one JSON object. On a terminal it also shows
//!   progress and a readable table.
//! - `netipc bench list`: the scenario names and whether they need a
//!   server.
//!
//! The connection options let either side talk to a foreign peer; their
//! defaults are the scenario's settings and the service name defaults to
//! the scenario name. `lookup` and the `*-lookup-*` scenarios run in
//! process (no server).

pub mod client;
pub mod local;
pub mod measure;
pub mod scenario;
pub mod server;

use std::time::Duration;

use clap::Subcommand;

use super::conn::{BENCH_AUTH_TOKEN, Conn, ConnArgs, ConnDefaults, Profile};
use super::{CliError, CliResult, write_output};
use measure::{BenchResult, RunOpts, Workload};
use scenario::{Scenario, ServerSide};

/// Arguments of `netipc bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Which side to run.
    #[command(subcommand)]
    pub role: BenchRole,
}

/// The `netipc bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchRole {
    /// Serve a scenario's server side until --duration or SIGTERM.
    Server(BenchServerArgs),
    /// Run a scenario's client (or an in-process scenario).
    Client(BenchClientArgs),
    /// List the scenarios.
    List,
}

/// Arguments of `netipc bench server`.
#[derive(Debug, clap::Args)]
pub struct BenchServerArgs {
    /// The scenario (see `netipc bench list`).
    pub scenario: Scenario,
    /// Stop after this many seconds; 0 = only on SIGINT/SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub duration: f64,
    /// Most sessions served at once; 0 = the library default.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub workers: usize,
    /// Print the final report as JSON instead of `SERVER_CPU_PCT=<pct>`.
    #[arg(long)]
    pub json: bool,
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Arguments of `netipc bench client`.
#[derive(Debug, clap::Args)]
pub struct BenchClientArgs {
    /// The scenario (see `netipc bench list`).
    pub scenario: Scenario,
    /// Measured duration in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub duration: f64,
    /// Operations per second; 0 = as fast as possible.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub target_rps: u64,
    /// Print one JSON object instead of the CSV line.
    #[arg(long)]
    pub json: bool,
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `netipc bench`.
pub fn run(args: &BenchArgs) -> CliResult {
    match &args.role {
        BenchRole::Server(a) => run_server(a),
        BenchRole::Client(a) => run_client(a),
        BenchRole::List => {
            let mut out = String::new();
            for s in Scenario::all() {
                let side = if s.server_side().is_some() {
                    "server"
                } else {
                    "in-process"
                };
                out.push_str(&format!("{s} {side}\n"));
            }
            write_output(None, out.as_bytes())
        }
    }
}

fn seconds(secs: f64, what: &str) -> CliResult<Duration> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| CliError::usage(format!("{what}: `{secs}` is not a duration in seconds")))
}

/// The connection settings of a scenario: its settings unless overridden.
fn resolve(conn: &ConnArgs, scenario: Scenario, side: Option<&ServerSide>) -> Conn {
    let name = scenario.to_string();
    conn.resolve(ConnDefaults {
        service: &name,
        auth_token: BENCH_AUTH_TOKEN,
        profile: side.map_or(Profile::Uds, |s| s.transport.profile()),
        max_request_payload: side.map_or(0, |s| s.request_payload),
        max_response_payload: side.map_or(0, |s| s.response_payload),
    })
}

fn run_server(args: &BenchServerArgs) -> CliResult {
    let side = args.scenario.server_side().ok_or_else(|| {
        CliError::usage(format!(
            "{} runs in process: it has no server (run `netipc bench client {}`)",
            args.scenario, args.scenario
        ))
    })?;
    let duration = seconds(args.duration, "--duration")?;
    let conn = resolve(&args.conn, args.scenario, Some(&side));
    conn.endpoint()?;
    conn.ensure_run_dir()?;
    let cfg = netipc::service::server::ServerConfig {
        max_batch_items: side.batch_items,
        ..conn.server_config(args.workers)
    };
    let server = server::start(&side, &cfg).map_err(|e| match e {
        netipc::Error::AddressInUse => CliError::failure(format!(
            "{}: another server is listening there",
            conn.socket_path().display()
        )),
        e => CliError::from(e).context(conn.socket_path().display()),
    })?;
    let report = server::serve(&server, duration)?;
    server::print_report(&args.scenario.to_string(), &report, args.json)
}

fn run_client(args: &BenchClientArgs) -> CliResult {
    let duration = seconds(args.duration, "--duration")?;
    if duration.is_zero() {
        return Err(CliError::usage("--duration must be more than 0"));
    }
    let side = args.scenario.server_side();
    let conn = resolve(&args.conn, args.scenario, side.as_ref());
    let mut workload: Box<dyn Workload> = match (args.scenario, side) {
        (Scenario::CacheLookup, _) => Box::new(client::CacheLookup::seed(conn.auth_token)?),
        (Scenario::Local { method, known, n }, _) => {
            Box::new(local::LocalLookup::new(method, known, n))
        }
        (s, Some(side)) => {
            conn.endpoint()?;
            client::connect(&conn, &side, s)?
        }
        (s, None) => return Err(CliError::failure(format!("{s}: no server side"))),
    };
    let terminal = measure::stdout_is_terminal();
    let opts = RunOpts {
        duration,
        target_rps: args.target_rps,
        progress: terminal && !args.json,
    };
    let measured = measure::drive(workload.as_mut(), &opts)?;
    drop(workload);
    let result = BenchResult {
        scenario: args.scenario.to_string(),
        unit: args.scenario.unit(),
        measured,
    };
    let text = if args.json {
        format!("{}\n", result.json())
    } else if terminal {
        format!("{}{}\n", result.table(), result.csv())
    } else {
        format!("{}\n", result.csv())
    };
    write_output(None, text.as_bytes())
}
