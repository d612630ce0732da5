//! `msma generate`: synthetic events calibrated on CNRMS figures.

use crate::progress::Progress;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(clap::Args)]
pub struct Args {
    /// Number of events (lines) to write.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file, or - for standard output (missing folders are created, mode 0700).
    #[arg(long)]
    out: PathBuf,
    /// Only these networks (repeatable); all by default.
    #[arg(long = "network")]
    networks: Vec<String>,
    /// First day of activity (YYYY-MM-DD).
    #[arg(long, default_value = "2021-01-01")]
    start: chrono::NaiveDate,
    /// Broken events per million, to exercise dead letters.
    #[arg(long, default_value_t = 0)]
    invalid_per_million: u32,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let known = msma_synth::network_codes();
    if let Some(bad) = a.networks.iter().find(|n| !known.contains(&n.as_str())) {
        anyhow::bail!("unknown network {bad}; known networks: {}", known.join(", "));
    }
    let spec = msma_synth::Spec {
        events: a.events,
        seed: a.seed,
        networks: a.networks,
        start: a.start,
        invalid_per_million: a.invalid_per_million,
    };
    let lines = Arc::new(AtomicU64::new(0));
    let counted = lines.clone();
    let display = Progress::start("generate", "events", Some(spec.events), move || {
        (counted.load(Ordering::Relaxed), None)
    });
    let summary = if a.out.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(LineCounter(std::io::stdout().lock(), lines));
        let s = msma_synth::generate(&spec, &mut out)?;
        out.flush()?;
        s
    } else {
        crate::create_parents(&a.out)?;
        let file = std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, LineCounter(file, lines));
        let s = msma_synth::generate(&spec, &mut out)?;
        out.flush()?;
        s
    };
    drop(display);
    eprintln!(
        "generated {} events ({} deliberately invalid) for {} patients, {} to {}",
        summary.events, summary.invalid, summary.patients, summary.first, summary.last
    );
    Ok(ExitCode::SUCCESS)
}

/// Counts the lines (events) that go through, for the progress display.
struct LineCounter<W>(W, Arc<AtomicU64>);

impl<W: Write> Write for LineCounter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.1.fetch_add(lines as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
