//! The settings of `msma ingest`, from a file or from Kafka: flags over `MSMA_`
//! variables over the configuration file over defaults.

use anyhow::Result;
use msma_ingest::{Options, Study, StudySettings};
use msma_kafka::WorkerConfig;
use msma_sink::Location;
use std::path::Path;
use std::path::PathBuf;

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
    pub kafka: KafkaFlags,
}

/// `msma ingest`'s settings, resolved.
pub struct Args {
    pub study: StudySettings,
    pub input: Option<PathBuf>,
    pub dead_letter: Option<PathBuf>,
    pub commit_lines: u64,
    pub max_line_bytes: usize,
    pub threads: usize,
    pub max_partitions: usize,
    pub kafka: KafkaArgs,
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
        let out = match (f.out, cfg.output.zone) {
            (Some(out), _) => out,
            (None, Some(zone)) => zone.parse().map_err(|e| anyhow::anyhow!("output.zone: {e}"))?,
            (None, None) => return Err(missing("the research zone", "--out", "output.zone")),
        };
        let keys = f
            .keys
            .or(cfg.study.key_file)
            .ok_or_else(|| missing("the key file", "--keys", "study.key_file"))?;
        let study = f
            .study
            .or(cfg.study.id)
            .ok_or_else(|| missing("the study", "--study", "study.id"))?;
        let args = Self {
            study: StudySettings {
                study,
                keys,
                policy: f.policy.or(cfg.study.policy_file),
                out,
            },
            input: f.input.or(cfg.file.input),
            dead_letter: f.dead_letter.or(cfg.file.dead_letter_file),
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
            kafka: KafkaArgs::resolve(f.kafka, cfg.kafka, cfg.metrics.listen),
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

    /// The study, opened with the input and dead-letter file kept out of its zone.
    pub fn open_study(&self) -> Result<Study> {
        let mut apart: Vec<(&str, &Path)> = self.input.iter().map(|p| ("input", p.as_path())).collect();
        apart.extend(self.dead_letter.as_deref().map(|p| ("dead-letter file", p)));
        Ok(Study::open(&self.study, &apart)?)
    }
}

#[derive(clap::Args, Default)]
pub struct KafkaFlags {
    /// Kafka bootstrap servers (HOST:PORT,...): run as a worker of a consumer group
    /// [kafka.brokers].
    #[arg(long)]
    pub brokers: Option<String>,
    /// The topic to consume [kafka.topic].
    #[arg(long)]
    pub topic: Option<String>,
    /// The consumer group: workers of one group share the partitions, one study per
    /// group [kafka.group].
    #[arg(long)]
    pub group: Option<String>,
    /// Where rejected events go [kafka.dead_letter_topic; default <topic>.dead-letters].
    #[arg(long)]
    pub dead_letter_topic: Option<String>,
    /// Commit once this many events are buffered, all partitions of the worker
    /// [kafka.flush_rows; default 100000].
    #[arg(long)]
    pub flush_rows: Option<usize>,
    /// Commit once the buffered events add up to this many bytes of input
    /// [kafka.flush_bytes; default 67108864].
    #[arg(long)]
    pub flush_bytes: Option<usize>,
    /// Commit once the oldest buffered event of any partition waited this long, idle or
    /// not [kafka.flush_latency_ms; default 30000].
    #[arg(long)]
    pub flush_latency_ms: Option<u64>,
    /// The consumer group session timeout: how soon a dead worker's partitions move
    /// [kafka.session_timeout_ms; default 10000].
    #[arg(long)]
    pub session_timeout_ms: Option<u64>,
    /// Stop after this long with no message, committing what is buffered: drain and
    /// exit [kafka.stop_when_idle_ms].
    #[arg(long)]
    pub stop_when_idle_ms: Option<u64>,
    /// librdkafka settings (TLS, SASL, tuning) as key=value lines
    /// [kafka.client_properties].
    #[arg(long, value_name = "FILE")]
    pub kafka_properties: Option<PathBuf>,
    /// Serve /metrics, /health and /ready on this address, e.g. 127.0.0.1:9464
    /// [metrics.listen].
    #[arg(long)]
    pub metrics_listen: Option<String>,
}

/// The worker's settings, resolved.
pub struct KafkaArgs {
    pub brokers: Option<String>,
    pub topic: Option<String>,
    pub group: Option<String>,
    pub dead_letter_topic: Option<String>,
    pub flush_rows: usize,
    pub flush_bytes: usize,
    pub flush_latency_ms: u64,
    pub session_timeout_ms: u64,
    pub stop_when_idle_ms: Option<u64>,
    pub kafka_properties: Option<PathBuf>,
    pub metrics_listen: Option<String>,
}

impl Default for KafkaArgs {
    fn default() -> Self {
        Self::resolve(KafkaFlags::default(), msma_config::Kafka::default(), None)
    }
}

impl KafkaArgs {
    pub fn resolve(f: KafkaFlags, c: msma_config::Kafka, metrics_listen: Option<String>) -> Self {
        Self {
            brokers: f.brokers.or(c.brokers),
            topic: f.topic.or(c.topic),
            group: f.group.or(c.group),
            dead_letter_topic: f.dead_letter_topic.or(c.dead_letter_topic),
            flush_rows: f.flush_rows.or(c.flush_rows).unwrap_or(WorkerConfig::FLUSH_ROWS),
            flush_bytes: f.flush_bytes.or(c.flush_bytes).unwrap_or(WorkerConfig::FLUSH_BYTES),
            flush_latency_ms: f
                .flush_latency_ms
                .or(c.flush_latency_ms)
                .unwrap_or(millis(WorkerConfig::FLUSH_LATENCY)),
            session_timeout_ms: f
                .session_timeout_ms
                .or(c.session_timeout_ms)
                .unwrap_or(millis(WorkerConfig::SESSION_TIMEOUT)),
            stop_when_idle_ms: f.stop_when_idle_ms.or(c.stop_when_idle_ms),
            kafka_properties: f.kafka_properties.or(c.client_properties),
            metrics_listen: f.metrics_listen.or(metrics_listen),
        }
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
