//! `msma validate`: check events against their schemas, writing nothing.

use anyhow::{Context, Result};
use clap::ValueEnum;
use msma_model::decode;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// NDJSON events, or - for standard input.
    input: PathBuf,
    /// text: each invalid line and its reason; json: the same as JSON lines; verdicts:
    /// one word per input line, `valid` or `invalid`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Verdicts,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let input: Box<dyn BufRead> = if a.input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&a.input).with_context(|| format!("opening {}", a.input.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut lines, mut invalid) = (0u64, 0u64);
    for (i, line) in input.split(b'\n').enumerate() {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        lines += 1;
        let verdict = decode(&line).err();
        invalid += u64::from(verdict.is_some());
        match (a.format, verdict) {
            (Format::Verdicts, v) => writeln!(out, "{}", if v.is_some() { "invalid" } else { "valid" })?,
            (Format::Text, Some(why)) => writeln!(out, "line {}: {why}", i + 1)?,
            (Format::Json, Some(why)) => {
                let rec = serde_json::json!({"line": i + 1, "reason": why.kind.as_str(), "detail": why.detail});
                writeln!(out, "{rec}")?
            }
            _ => {}
        }
    }
    out.flush()?;
    eprintln!("{lines} lines: {} valid, {invalid} invalid", lines - invalid);
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
