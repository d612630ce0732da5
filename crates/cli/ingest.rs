//! `msma ingest`: events from a file, or from a Kafka topic as a worker of a consumer
//! group, into a research zone.

use crate::ingest_args::{Args, Flags};
use anyhow::{Context, Result};
use msma_ingest::{DeadLetters, Input, Options, Report, Study, Transform};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub fn run(f: Flags, cfg: msma_config::Config) -> Result<ExitCode> {
    let a = Args::resolve(f, cfg)?;
    if a.kafka.brokers.is_some() {
        return crate::worker::run(&a);
    }
    let (report, elapsed) = execute(&a)?;
    print_report(&a, &report, elapsed);
    Ok(ExitCode::SUCCESS)
}

pub fn execute(a: &Args) -> Result<(Report, Duration)> {
    let (Some(input_path), Some(dead_path)) = (&a.input, &a.dead_letter) else {
        anyhow::bail!("give --input and --dead-letter (a file), or --brokers, --topic and --group (Kafka)");
    };
    let mut progress = None;
    let input = if input_path.as_os_str() == "-" {
        Input::Stream(Box::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(input_path).with_context(|| format!("opening input {}", input_path.display()))?;
        let size = f.metadata().map(|m| m.len()).ok();
        let position = crate::progress::file_position(std::os::fd::AsRawFd::as_raw_fd(&f));
        progress = Some((size, position));
        Input::File(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let Study {
        mut zone,
        pseudo,
        policy,
    } = a.open_study()?;
    let mut dead = DeadLetters::open(dead_path, a.study.out.as_local())?;
    let transform = Transform::new(pseudo, policy);
    let name = if input_path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        input_path.display().to_string()
    };
    let opts = Options {
        max_line_bytes: a.max_line_bytes,
        commit_lines: a.commit_lines,
        threads: a.threads,
        max_partitions: a.max_partitions,
    };
    tracing::info!(study = %a.study.study, out = %a.study.out, "ingest started");
    let started = Instant::now();
    let display = progress.map(|(size, position)| crate::progress::Progress::start("ingest", "bytes", size, position));
    let report = msma_ingest::ingest(input, &name, &mut zone, &transform, &mut dead, &opts);
    drop(display);
    let report = report?;
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
        let to = a
            .dead_letter
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        println!("rejected: {} -> {to}", kinds.join(", "));
    }
    if let Some(mib) = crate::progress::peak_rss_mib() {
        println!("peak memory: {mib} MiB resident");
    }
}
