//! `msma ingest`: events from a file, or from a Kafka topic as a worker of a consumer
//! group, into a research zone.

use anyhow::{Context, Result};
use msma_ingest::{DeadLetters, Input, Options, Report, Transform};
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, Location, Zone};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The flags of `msma ingest`; each may instead come from the configuration file or an
/// `MSMA_<SECTION>_<KEY>` variable (crate::config).
#[derive(clap::Args)]
pub struct Flags {
    /// The configuration file (TOML; deploy/msma.example.toml documents every key).
    /// Flags override it, and MSMA_<SECTION>_<KEY> variables override it too.
    #[arg(long, env = "MSMA_CONFIG")]
    pub config: Option<PathBuf>,
    /// NDJSON events, or - for standard input [file: file.input].
    #[arg(long, conflicts_with = "brokers")]
    pub input: Option<PathBuf>,
    /// The research zone: a folder, or an object store prefix such as
    /// s3://bucket/prefix (credentials from AWS_* variables) [output.zone].
    #[arg(long, value_parser = crate::LocationArg)]
    pub out: Option<Location>,
    /// The master key file, see `msma keys init` [study.key_file].
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// The study the pseudonyms are computed for [study.id].
    #[arg(long)]
    pub study: Option<String>,
    /// Where rejected events go, with their reason, outside the research zone
    /// [file.dead_letter_file].
    #[arg(long, conflicts_with = "brokers")]
    pub dead_letter: Option<PathBuf>,
    /// The study's generalisation policy (TOML); the default policy without it
    /// [study.policy_file].
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Lines per commit [file.commit_lines; default 1000000].
    #[arg(long)]
    pub commit_lines: Option<u64>,
    /// Longest line accepted, in bytes [file.max_line_bytes; default 1048576].
    #[arg(long)]
    pub max_line_bytes: Option<usize>,
    /// Threads that decode events and encode files, in a file ingest (besides a reader
    /// and a writer) or a Kafka worker [file.threads; default: the CPUs available].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Partitions (dataset, network, year) one commit may open; events of others are
    /// dead-lettered (partition_cap), and a Kafka worker commits when it reaches them
    /// [output.max_partitions_per_commit; default 1024].
    #[arg(long)]
    pub max_partitions_per_commit: Option<usize>,
    #[command(flatten)]
    pub kafka: crate::worker::KafkaFlags,
}

/// `msma ingest`'s settings, resolved.
pub struct Args {
    pub input: Option<PathBuf>,
    pub out: Location,
    pub keys: PathBuf,
    pub study: String,
    pub dead_letter: Option<PathBuf>,
    pub policy: Option<PathBuf>,
    pub commit_lines: u64,
    pub max_line_bytes: usize,
    pub threads: usize,
    pub max_partitions: usize,
    pub kafka: crate::worker::KafkaArgs,
}

impl Args {
    /// Flags over `MSMA_` variables over the configuration file over defaults.
    pub fn resolve(f: Flags, cfg: msma_config::Config) -> Result<Self> {
        let missing = |what: &str, flag: &str, key: &str| {
            anyhow::anyhow!(
                "missing {what}: give {flag}, or set {key} in the configuration file (--config) or MSMA_{}",
                key.replace('.', "_").to_uppercase()
            )
        };
        let defaults = Options::default();
        let args = Self {
            input: f.input.or(cfg.file.input),
            out: match (f.out, cfg.output.zone) {
                (Some(out), _) => out,
                (None, Some(zone)) => zone.parse().map_err(|e| anyhow::anyhow!("output.zone: {e}"))?,
                (None, None) => return Err(missing("the research zone", "--out", "output.zone")),
            },
            keys: f
                .keys
                .or(cfg.study.key_file)
                .ok_or_else(|| missing("the key file", "--keys", "study.key_file"))?,
            study: f
                .study
                .or(cfg.study.id)
                .ok_or_else(|| missing("the study", "--study", "study.id"))?,
            dead_letter: f.dead_letter.or(cfg.file.dead_letter_file),
            policy: f.policy.or(cfg.study.policy_file),
            commit_lines: f
                .commit_lines
                .or(cfg.file.commit_lines)
                .unwrap_or(defaults.commit_lines),
            max_line_bytes: f
                .max_line_bytes
                .or(cfg.file.max_line_bytes)
                .unwrap_or(defaults.max_line_bytes),
            threads: f.threads.or(cfg.file.threads).unwrap_or(defaults.threads).max(1),
            max_partitions: f
                .max_partitions_per_commit
                .or(cfg.output.max_partitions_per_commit)
                .unwrap_or(defaults.max_partitions)
                .max(1),
            kafka: crate::worker::KafkaArgs::resolve(f.kafka, cfg.kafka, cfg.metrics.listen),
        };
        match (&args.input, &args.kafka.brokers) {
            (Some(_), Some(_)) => anyhow::bail!("give an input file or Kafka brokers, not both"),
            (Some(_), None) if args.dead_letter.is_none() => {
                return Err(missing(
                    "the dead-letter file",
                    "--dead-letter",
                    "file.dead_letter_file",
                ));
            }
            (None, None) => anyhow::bail!(
                "nothing to read: give --input and --dead-letter (a file), or --brokers, --topic and --group \
                 (Kafka), or set them in the configuration file"
            ),
            _ => {}
        }
        Ok(args)
    }
}

pub fn run(f: Flags, cfg: msma_config::Config) -> Result<ExitCode> {
    let a = Args::resolve(f, cfg)?;
    if a.kafka.brokers.is_some() {
        return crate::worker::run(&a);
    }
    let (report, elapsed) = execute(&a)?;
    print_report(&a, &report, elapsed);
    Ok(ExitCode::SUCCESS)
}

/// A study ready to write: its zone open, its pseudonymiser keyed, its policy loaded.
pub struct Study {
    pub zone: Zone,
    pub pseudo: Pseudonymiser,
    pub policy: Policy,
}

/// Opens everything first, so that a bad key, policy or path stops before any work.
pub fn open_study(a: &Args) -> Result<Study> {
    let study = StudyId::new(&a.study)?;
    let mut apart = vec![("key file", a.keys.as_path())];
    apart.extend(a.input.as_deref().map(|p| ("input", p)));
    apart.extend(a.dead_letter.as_deref().map(|p| ("dead-letter file", p)));
    msma_sink::keep_apart(&a.out, &apart)?;
    let key = MasterKey::load(&a.keys)?;
    let policy = match &a.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let identity = Identity {
        study_id: study.to_string(),
        key_id: key.id().to_string(),
        policy: serde_json::to_value(&policy)?,
    };
    let mut zone = Zone::open(a.out.clone(), identity)?;
    let granularity = policy.date_granularity;
    zone.set_commit_dates(move |d| granularity.truncate(d));
    let pseudo = Pseudonymiser::new(&key.study_key(&study));
    Ok(Study { zone, pseudo, policy })
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
    } = open_study(a)?;
    let mut dead = DeadLetters::open(dead_path, a.out.as_local())?;
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
    tracing::info!(study = %a.study, out = %a.out, "ingest started");
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
            a.out
        );
    }
    if r.commits > 0 {
        println!("{} commit(s), {} file(s) in {}", r.commits, r.files, a.out);
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
