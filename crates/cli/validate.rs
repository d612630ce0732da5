//! `msma validate`: check events against their schemas, writing nothing.

use anyhow::{Context, Result};
use clap::ValueEnum;
use msma_ingest::{Input, LineReader};
use msma_schema::{RejectKind, Rejection, decode};
use std::io::Write;
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
    /// Longest line accepted, in bytes (longer ones are invalid, never held in memory).
    #[arg(long, default_value_t = msma_ingest::Options::MAX_LINE_BYTES)]
    max_line_bytes: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Verdicts,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let input = if a.input.as_os_str() == "-" {
        Input::Stream(Box::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(&a.input).with_context(|| format!("opening {}", a.input.display()))?;
        Input::File(std::io::BufReader::new(f))
    };
    let mut lines = LineReader::new(input, a.max_line_bytes);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut n, mut invalid) = (0u64, 0u64);
    while let Some(line) = lines.next(&mut |_| {})? {
        n += 1;
        let verdict = match line.oversized {
            Some(len) => Some(Rejection::new(
                RejectKind::OversizedLine,
                format!("line of {len} bytes is over the limit of {} bytes", a.max_line_bytes),
            )),
            None => decode(line.bytes).err(),
        };
        invalid += u64::from(verdict.is_some());
        match (a.format, verdict) {
            (Format::Verdicts, v) => writeln!(out, "{}", if v.is_some() { "invalid" } else { "valid" })?,
            (Format::Text, Some(why)) => writeln!(out, "line {n}: {why}")?,
            (Format::Json, Some(why)) => {
                let rec = serde_json::json!({"line": n, "reason": why.kind.as_str(), "detail": why.detail});
                writeln!(out, "{rec}")?
            }
            _ => {}
        }
    }
    out.flush()?;
    eprintln!("{n} lines: {} valid, {invalid} invalid", n - invalid);
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
