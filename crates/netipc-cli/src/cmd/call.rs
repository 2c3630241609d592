//! `netipc call increment N` and `netipc call string-reverse TEXT`: one
//! call of a test method.
//!
//! Prints `N -> ANSWER` (or the reversed text), or with `--json`
//! `{"value": ANSWER}` / `{"text": "..."}` (text that is not UTF-8 is
//! printed lossily).

use clap::ValueEnum;
use netipc::service::client::{IncrementClient, StringReverseClient};
use serde_json::json;

use super::conn::{ConnArgs, ConnDefaults, check_ready, parse_token};
use super::{CliError, CliResult, write_output};
use crate::provider::Kind;

/// The test methods `netipc call` can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallKind {
    /// INCREMENT: VALUE is a u64 (decimal or 0x-hex).
    Increment,
    /// STRING_REVERSE: VALUE is the text.
    StringReverse,
}

/// Arguments of `netipc call`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The method.
    #[arg(value_enum)]
    pub kind: CallKind,
    /// The request: a number for increment, the text for string-reverse.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    /// Print `{"value": N}` / `{"text": "..."}`.
    #[arg(long)]
    pub json: bool,
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `netipc call`.
pub fn run(args: &CallArgs) -> CliResult {
    let kind = match args.kind {
        CallKind::Increment => Kind::Increment,
        CallKind::StringReverse => Kind::StringReverse,
    };
    let conn = args
        .conn
        .resolve(ConnDefaults::service(kind.service_name()));
    conn.endpoint()?;
    let socket = conn.socket_path();
    let ctx = |e: netipc::Error| CliError::from(e).context(socket.display());
    let text = match args.kind {
        CallKind::Increment => {
            let value = parse_token(&args.value)
                .map_err(|_| CliError::usage(format!("`{}` is not a u64", args.value)))?;
            let mut c = IncrementClient::new(&conn.run_dir, &conn.service, conn.client_config())
                .map_err(ctx)?;
            c.refresh();
            check_ready(c.state(), &socket)?;
            let answer = c.call(value).map_err(ctx)?;
            if args.json {
                json!({ "value": answer }).to_string()
            } else {
                format!("{value} -> {answer}")
            }
        }
        CallKind::StringReverse => {
            let mut c =
                StringReverseClient::new(&conn.run_dir, &conn.service, conn.client_config())
                    .map_err(ctx)?;
            c.refresh();
            check_ready(c.state(), &socket)?;
            let view = c.call(args.value.as_bytes()).map_err(ctx)?;
            let answer = String::from_utf8_lossy(view.as_bytes()).into_owned();
            if args.json {
                json!({ "text": answer }).to_string()
            } else {
                super::tables::clean(&answer).into_owned()
            }
        }
    };
    write_output(None, format!("{text}\n").as_bytes())
}
