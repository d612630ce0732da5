//! `msma generate`: synthetic events calibrated on CNRMS figures.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Number of events (lines) to write.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file, or - for standard output.
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
    let summary = if a.out.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let s = msma_synth::generate(&spec, &mut out)?;
        out.flush()?;
        s
    } else {
        let file = std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let s = msma_synth::generate(&spec, &mut out)?;
        out.flush()?;
        s
    };
    eprintln!(
        "generated {} events ({} deliberately invalid) for {} patients, {} to {}",
        summary.events, summary.invalid, summary.patients, summary.first, summary.last
    );
    Ok(ExitCode::SUCCESS)
}
