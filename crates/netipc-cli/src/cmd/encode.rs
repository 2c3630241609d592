//! `netipc encode TYPE JSON_FILE|-`: read the JSON that `netipc decode`
//! prints and write the canonical bytes.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::{CliError, CliResult, read_input, write_output};
use crate::wire_json::{self, WireType};

/// Extra `--help` text of `netipc encode`.
pub const AFTER_HELP: &str = "\
The input is the JSON `netipc decode` prints for the same TYPE (see
docs/wire-json.md). Fields the encoder derives may be left out: magics,
versions, header_len, a message's payload_len, batch offsets and lengths;
when present they must match. Integers may also be written as \"0x...\"
strings. The output is canonical: `netipc encode T (netipc decode T F)` gives
F back for canonical bytes. Binary output is not written to a terminal: use
-o FILE or a redirect.

Exit codes:
  0  encoded
  1  the JSON cannot be read, does not have the TYPE's shape, or breaks a
     wire rule (the message names the JSON location and the rule)
  2  usage error";

/// Arguments of `netipc encode`.
#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    /// What to encode.
    #[arg(value_name = "TYPE")]
    pub ty: WireType,
    /// The JSON file; `-` reads stdin.
    #[arg(value_name = "JSON_FILE|-")]
    pub json: PathBuf,
    /// Write the bytes to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `netipc encode`.
pub fn run(args: &EncodeArgs) -> CliResult {
    if args.output.is_none() && std::io::stdout().is_terminal() {
        return Err(CliError::usage(
            "refusing to write binary bytes to a terminal (use -o FILE or a redirect)",
        ));
    }
    let input = read_input(&args.json)?;
    let text = String::from_utf8(input).map_err(|e| {
        CliError::failure(format!("not UTF-8 text: {e}")).context(args.json.display())
    })?;
    let bytes = wire_json::encode_text(args.ty, &text)
        .map_err(|e| CliError::from(e).context(args.json.display()))?;
    write_output(args.output.as_deref(), &bytes)
}
