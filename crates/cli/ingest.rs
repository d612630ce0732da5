//! `msma ingest`: events from a file, or from a Kafka topic as a worker of a consumer
//! group, into a research zone.

use anyhow::{Context, Result};
use msma_config::{Ingest, Source};
use msma_ingest::{DeadLetters, Input, Report, Study, Transform};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The flags of `msma ingest`: where the configuration file is, and every setting
/// (msma_config::Config), each of which may instead come from that file or an
/// `MSMA_<SECTION>_<KEY>` variable.
#[derive(clap::Args)]
pub struct Args {
    /// The configuration file (TOML; deploy/msma.example.toml documents every key).
    /// Flags override it, and MSMA_<SECTION>_<KEY> variables override it too.
    #[arg(long, env = msma_config::CONFIG_VARIABLE)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: msma_config::Config,
}

/// `cfg` is the configuration file with the `MSMA_` variables over it.
pub fn run(a: Args, cfg: msma_config::Config) -> Result<ExitCode> {
    let ingest = a.settings.over(cfg).resolve()?;
    let (input, dead_letter) = match &ingest.source {
        Source::Kafka(worker) => return crate::worker::run(&ingest, worker),
        Source::File { input, dead_letter } => (input, dead_letter),
    };
    let (report, elapsed) = execute(&ingest, input, dead_letter)?;
    print_report(&ingest, dead_letter, &report, elapsed);
    Ok(ExitCode::SUCCESS)
}

/// The study, opened with the files of the run kept out of its zone.
pub fn open_study(a: &Ingest) -> Result<Study> {
    let apart: Vec<(&str, &Path)> = a.apart.iter().map(|(what, p)| (*what, p.as_path())).collect();
    Ok(Study::open(&a.study, &apart)?)
}

pub fn execute(a: &Ingest, input_path: &Path, dead_path: &Path) -> Result<(Report, Duration)> {
    let mut share: Box<dyn Fn() -> Option<f64> + Send> = Box::new(|| None);
    let input = if input_path.as_os_str() == "-" {
        Input::Stream(Box::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(input_path).with_context(|| format!("opening input {}", input_path.display()))?;
        if let Ok(m) = f.metadata() {
            share = Box::new(crate::progress::file_share(
                std::os::fd::AsRawFd::as_raw_fd(&f),
                m.len(),
            ));
        }
        Input::File(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let Study {
        mut zone,
        pseudo,
        policy,
    } = open_study(a)?;
    let mut dead = DeadLetters::open(dead_path, a.study.out.as_local())?;
    let transform = Transform::new(pseudo, policy);
    let name = if input_path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        input_path.display().to_string()
    };
    tracing::info!(study = %a.study.study, out = %a.study.out, "ingest started");
    let started = Instant::now();
    let lines = a.options.lines_read.clone();
    let display = crate::progress::Progress::start("ingest", "events", None, move || {
        (lines.load(std::sync::atomic::Ordering::Relaxed), share())
    });
    let report = msma_ingest::ingest(input, &name, &mut zone, &transform, &mut dead, &a.options);
    drop(display);
    let report = report?;
    if report.commits > 0 {
        msma_ingest::compact_after_commits(&mut zone, a.compact_min_files);
    }
    Ok((report, started.elapsed()))
}

/// The duplicates line of a summary, when there were any (scripts read the first line).
pub fn print_duplicates(n: u64) {
    if n > 0 {
        println!("{n} duplicate(s): events the zone already held, byte for byte, not written again");
    }
}

pub fn print_report(a: &Ingest, dead_letter: &Path, r: &Report, elapsed: Duration) {
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
    print_duplicates(r.duplicates);
    if r.read > 0 && r.read == r.already_committed {
        println!(
            "nothing to write: every line of this input is already committed in {}",
            a.study.out
        );
    }
    if r.commits > 0 {
        println!("{} commit(s), {} file(s) in {}", r.commits, r.files, a.study.out);
    }
    for (dataset, rows) in &r.rows_by_dataset {
        println!("  {dataset:<22} {rows:>10} rows");
    }
    if r.rejected_total() > 0 {
        let kinds: Vec<String> = r.rejected.iter().map(|(k, n)| format!("{} {n}", k.as_str())).collect();
        println!("rejected: {} -> {}", kinds.join(", "), dead_letter.display());
    }
    if let Some(mib) = crate::progress::peak_rss_mib() {
        println!("peak memory: {mib} MiB resident");
    }
}
