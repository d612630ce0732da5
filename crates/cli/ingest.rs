//! `msma ingest`: a file of events into a research zone.

use anyhow::{Context, Result};
use msma_ingest::{DeadLetters, Input, Options, Report, Transform};
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, Zone};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// NDJSON events, or - for standard input.
    #[arg(long)]
    pub input: PathBuf,
    /// The research zone: one dataset folder per event type.
    #[arg(long)]
    pub out: PathBuf,
    /// The master key file (see `msma keys init`).
    #[arg(long)]
    pub keys: PathBuf,
    /// The study the pseudonyms are computed for.
    #[arg(long)]
    pub study: String,
    /// Where rejected events go, with their reason (outside the research zone).
    #[arg(long)]
    pub dead_letter: PathBuf,
    /// The study's generalisation policy (TOML); the default policy without it.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Lines per commit.
    #[arg(long, default_value_t = Options::default().commit_lines)]
    pub commit_lines: u64,
    /// Longest line accepted, in bytes.
    #[arg(long, default_value_t = Options::default().max_line_bytes)]
    pub max_line_bytes: usize,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let (report, elapsed) = execute(&a)?;
    print_report(&a, &report, elapsed);
    Ok(ExitCode::SUCCESS)
}

/// Opens everything first, so that a bad key, policy or path stops before any work.
pub fn execute(a: &Args) -> Result<(Report, Duration)> {
    let study = StudyId::new(&a.study)?;
    let key = MasterKey::load(&a.keys)?;
    let policy = match &a.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let input = if a.input.as_os_str() == "-" {
        Input::Stream(Box::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(&a.input).with_context(|| format!("opening input {}", a.input.display()))?;
        Input::File(std::io::BufReader::with_capacity(1 << 20, f))
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let identity = Identity {
        study_id: study.to_string(),
        key_id: key.id().to_string(),
        policy: serde_json::to_value(&policy)?,
    };
    let mut zone = Zone::open(&a.out, identity)?;
    let mut dead = DeadLetters::open(&a.dead_letter, &a.out)?;
    let mut transform = Transform::new(Pseudonymiser::new(&key.study_key(&study)), policy);
    drop(key);
    let name = if a.input.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        a.input.display().to_string()
    };
    let opts = Options {
        max_line_bytes: a.max_line_bytes,
        commit_lines: a.commit_lines,
    };
    tracing::info!(study = %study, out = %a.out.display(), "ingest started");
    let started = Instant::now();
    let report = msma_ingest::ingest(input, &name, &mut zone, &mut transform, &mut dead, &opts)?;
    Ok((report, started.elapsed()))
}

pub fn print_report(a: &Args, r: &Report, elapsed: Duration) {
    let rate = r.read as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "read {} lines in {:.2} s ({:.0} lines/s): {} written, {} rejected, {} already committed",
        r.read,
        elapsed.as_secs_f64(),
        rate,
        r.written,
        r.rejected_total(),
        r.already_committed
    );
    if r.read > 0 && r.read == r.already_committed {
        println!(
            "nothing to write: every line of this input is already committed in {}",
            a.out.display()
        );
    }
    if r.commits > 0 {
        println!("{} commit(s), {} file(s) in {}", r.commits, r.files, a.out.display());
    }
    for (dataset, rows) in &r.rows_by_dataset {
        println!("  {dataset:<22} {rows:>10} rows");
    }
    if r.rejected_total() > 0 {
        let kinds: Vec<String> = r.rejected.iter().map(|(k, n)| format!("{} {n}", k.as_str())).collect();
        println!("rejected: {} -> {}", kinds.join(", "), a.dead_letter.display());
    }
}
