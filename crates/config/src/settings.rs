//! Every setting of `msma ingest`, declared once: its section and key in the
//! configuration file (and so its `MSMA_<SECTION>_<KEY>` variable), its type, its flag
//! (the field's name, kebab-cased), its help and its default. The macro makes of it the
//! sections, which serde reads from the file and clap from the command line, the table
//! of keys for the variables, and each default's accessor.

use crate::{LogFormat, ZoneArg};
use msma_ingest::{MAX_PARTITIONS, Options};
use msma_kafka::WorkerConfig;
use std::path::PathBuf;

/// How an `MSMA_` variable's text is read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Text,
    Integer,
}

/// The kind of a setting's type.
pub(crate) trait Value {
    const KIND: Kind;
}

impl Value for String {
    const KIND: Kind = Kind::Text;
}
impl Value for PathBuf {
    const KIND: Kind = Kind::Text;
}
impl Value for LogFormat {
    const KIND: Kind = Kind::Text;
}
impl Value for u64 {
    const KIND: Kind = Kind::Integer;
}
impl Value for usize {
    const KIND: Kind = Kind::Integer;
}

/// A help line: the declaration's text, then where the file sets it and its default.
fn help(text: &[&str], section: &str, key: &str, default: Option<String>) -> String {
    let text: Vec<&str> = text.iter().map(|l| l.trim()).collect();
    match default {
        Some(d) => format!("{} [{section}.{key}; default {d}]", text.join(" ")),
        None => format!("{} [{section}.{key}]", text.join(" ")),
    }
}

/// `[section] Type, command(flatten)` for a section of flags (`arg(skip)`: none); in it,
/// `field as "key"` when the flag and the file key differ, `default = value` when the
/// setting has one (`shown = "..."` when its help should describe it, not print it),
/// `arg(...)` for clap's other attributes.
macro_rules! settings {
    (@key $field:ident $key:literal) => { $key };
    (@key $field:ident) => { stringify!($field) };
    (@shown [$($default:expr)?] [$shown:literal]) => { Some($shown.to_string()) };
    (@shown [$default:expr] []) => { Some($default.to_string()) };
    (@shown [] []) => { None };
    ($(
        $(#[doc = $sdoc:literal])*
        [$section:ident] $Section:ident, $how:ident($what:ident) {
            $(
                $(#[doc = $doc:literal])*
                $field:ident $(as $key:literal)?: $ty:ty
                $(, default = $default:expr)?
                $(, shown = $shown:literal)?
                $(, arg($($arg:tt)*))?;
            )*
        }
    )*) => {
        /// The settings of `msma ingest`, as given: by the file, the variables or the flags.
        #[derive(Debug, Default, serde::Deserialize, clap::Args)]
        #[serde(deny_unknown_fields)]
        pub struct Config {
            $(
                #[serde(default)]
                #[$how($what)]
                pub $section: $Section,
            )*
        }

        impl Config {
            /// Each setting from `self`, or from `lower` where `self` has none.
            pub fn over(self, lower: Self) -> Self {
                Self { $($section: $Section { $($field: self.$section.$field.or(lower.$section.$field),)* },)* }
            }
        }

        /// Every key (section, key, kind), for `MSMA_<SECTION>_<KEY>`.
        pub(crate) const KEYS: &[(&str, &str, Kind)] = &[
            $($((stringify!($section), settings!(@key $field $($key)?), <$ty as Value>::KIND),)*)*
        ];

        $(
            $(#[doc = $sdoc])*
            #[derive(Debug, Default, serde::Deserialize, clap::Args)]
            #[serde(deny_unknown_fields)]
            pub struct $Section {
                $(
                    $(#[serde(rename = $key)])?
                    #[arg(
                        long,
                        help = help(
                            &[$($doc),*],
                            stringify!($section),
                            settings!(@key $field $($key)?),
                            settings!(@shown [$($default)?] [$($shown)?]),
                        )
                        $(, $($arg)*)?
                    )]
                    pub $field: Option<$ty>,
                )*
            }

            impl $Section {
                $($(
                    #[doc = concat!("`", stringify!($field), "`, or its default.")]
                    pub fn $field(&self) -> $ty {
                        match self.$field {
                            Some(v) => v,
                            None => $default,
                        }
                    }
                )?)*
            }
        )*
    };
}

settings! {
    /// `[study]`: which study, under which key and policy.
    [study] Study, command(flatten) {
        /// The study the pseudonyms are computed for
        study as "id": String;
        /// The master key file, see `msma keys init`
        keys as "key_file": PathBuf;
        /// The study's generalisation policy (TOML); the default policy without it
        policy as "policy_file": PathBuf;
    }
    /// `[output]`: the research zone.
    [output] Output, command(flatten) {
        /// The research zone: a folder, or an object store prefix such as
        /// s3://bucket/prefix (credentials from AWS_* variables)
        out as "zone": String, arg(value_parser = ZoneArg);
        /// Partitions (dataset, network, year) one commit may open; events of others are
        /// dead-lettered (partition_cap), and a Kafka worker commits when it reaches them
        max_partitions_per_commit: usize, default = MAX_PARTITIONS;
        /// Records between two checkpoints of the ledger, which readers and writers open
        /// the zone from
        checkpoint_every: u64, default = msma_sink::CHECKPOINT_EVERY;
    }
    /// `[file]`: a file ingest.
    [file] File, command(flatten) {
        /// NDJSON events, or - for standard input
        input: PathBuf, arg(conflicts_with = "brokers");
        /// Where rejected events go, with their reason, outside the research zone
        dead_letter as "dead_letter_file": PathBuf, arg(conflicts_with = "brokers");
        /// Lines per commit
        commit_lines: u64, default = Options::COMMIT_LINES;
        /// Longest line accepted, in bytes
        max_line_bytes: usize, default = Options::MAX_LINE_BYTES;
        /// Threads that decode events and encode files, in a file ingest (besides a reader
        /// and a writer) or a Kafka worker
        threads: usize, default = Options::default().threads, shown = "the CPUs available";
    }
    /// `[kafka]`: a worker of a consumer group.
    [kafka] Kafka, command(flatten) {
        /// Kafka bootstrap servers (HOST:PORT,...): run as a worker of a consumer group
        brokers: String;
        /// The topic to consume
        topic: String;
        /// The consumer group: workers of one group share the partitions, one study per
        /// group
        group: String;
        /// Where rejected events go
        dead_letter_topic: String, shown = "<topic>.dead-letters";
        /// Commit once this many events are buffered, all partitions of the worker
        flush_rows: usize, default = WorkerConfig::FLUSH_ROWS;
        /// Commit once the buffered events add up to this many bytes of input
        flush_bytes: usize, default = WorkerConfig::FLUSH_BYTES;
        /// Commit once the oldest buffered event of any partition waited this long, idle or
        /// not
        flush_latency_ms: u64, default = millis(WorkerConfig::FLUSH_LATENCY);
        /// The consumer group session timeout: how soon a dead worker's partitions move
        session_timeout_ms: u64, default = millis(WorkerConfig::SESSION_TIMEOUT);
        /// Exit when no broker answered this long after the start (once partitions are
        /// assigned, an unreachable broker is an outage, ridden out)
        connect_timeout_ms: u64, default = millis(msma_kafka::CONNECT_TIMEOUT);
        /// Stop after this long with no message, committing what is buffered: drain and
        /// exit
        stop_when_idle_ms: u64;
        /// librdkafka settings (TLS, SASL, tuning) as key=value lines
        kafka_properties as "client_properties": PathBuf, arg(value_name = "FILE");
    }
    /// `[compact]`: compaction after commits, so that a trickle stays at a few files.
    [compact] Compact, command(flatten) {
        /// Compact a partition (dataset, network, year) once it holds this many files, and
        /// the dedup index once it has this many runs (see `msma compact`); 0: never
        /// after commits
        compact_min_files as "min_files": usize, default = msma_sink::COMPACT_MIN_FILES;
    }
    /// `[metrics]`: a worker's metrics server.
    [metrics] Metrics, command(flatten) {
        /// Serve /metrics, /health and /ready on this address, e.g. 127.0.0.1:9464
        metrics_listen as "listen": String;
    }
    /// `[log]`: set in the file or the variables only (the flag is msma's `--log-format`).
    [log] Log, arg(skip) {
        /// Log format on standard error
        format: LogFormat;
        /// Log level, or a tracing filter
        level: String;
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
