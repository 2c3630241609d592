//! `netipc decode TYPE FILE|-`: validate NetIPC wire bytes and print every
//! field as JSON (the shapes of [`crate::wire_json`], which
//! `netipc encode` reads back).

use std::path::PathBuf;

use clap::ValueEnum;
use clap::builder::PossibleValue;

use super::{CliError, CliResult, read_input, write_output};
use crate::wire_json::{self, Canonical, DecodeOptions, PayloadKind, WireType};

/// Extra `--help` text of `netipc decode`.
pub const AFTER_HELP: &str = "\
Output is pretty JSON (compact with --compact) whose field names are the
specification's; enums are printed by name. A response of the three data
services uses the dataset shapes (docs/dataset.md), so it can be served back
with `netipc serve --data`. docs/wire-json.md shows every shape.

Bytes that break a rule print one line naming the rule, and exit 7. Bytes
that decode but are not in canonical form (non-zero padding, trailing bytes,
strings that are not UTF-8, layouts the decoders tolerate) print a one-line
note on stderr saying where they differ from what `netipc encode` writes.

Exit codes:
  0  decoded (possibly with a note)
  1  the file cannot be read
  2  usage error
  7  the bytes break a wire rule";

/// Arguments of `netipc decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// What the bytes are.
    #[arg(value_name = "TYPE")]
    pub ty: WireType,
    /// The file to decode; `-` reads stdin.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    /// The item count of a `batch` (the size of its directory).
    #[arg(long, value_name = "N")]
    pub items: Option<u32>,
    /// Decode a `batch`'s items as this payload type (default: hex bytes).
    #[arg(long, value_name = "TYPE")]
    pub method: Option<PayloadKind>,
    /// Print one line of compact JSON instead of pretty JSON.
    #[arg(long)]
    pub compact: bool,
}

impl ValueEnum for WireType {
    fn value_variants<'a>() -> &'a [Self] {
        &WireType::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.help()))
    }
}

impl ValueEnum for PayloadKind {
    fn value_variants<'a>() -> &'a [Self] {
        &PayloadKind::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// Runs `netipc decode`.
pub fn run(args: &DecodeArgs) -> CliResult {
    if args.ty != WireType::Batch && (args.items.is_some() || args.method.is_some()) {
        return Err(CliError::usage(format!(
            "--items and --method apply to `batch` only, not `{}`",
            args.ty
        )));
    }
    if args.ty == WireType::Batch && args.items.is_none() {
        return Err(CliError::usage("`batch` needs its item count: --items N"));
    }
    let bytes = read_input(&args.file)?;
    let opts = DecodeOptions {
        items: args.items,
        method: args.method,
    };
    let decoded = wire_json::decode(args.ty, &bytes, &opts)
        .map_err(|e| CliError::from(e).context(args.file.display()))?;
    let mut text = if args.compact {
        serde_json::to_string(&decoded)
    } else {
        serde_json::to_string_pretty(&decoded)
    }
    .map_err(|e| CliError::failure(format!("cannot print JSON: {e}")))?;
    text.push('\n');
    if let Some(note) = Canonical::check(args.ty, &bytes, &decoded).note(bytes.len()) {
        eprintln!("netipc: note: {}: {note}", args.file.display());
    }
    write_output(None, text.as_bytes())
}
