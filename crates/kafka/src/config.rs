//! A worker's settings: the consumer group, the flush triggers, the threads.

use std::sync::Arc;
use std::time::Duration;

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub dead_letter_topic: String,
    /// Commit once this many events are buffered.
    pub flush_rows: usize,
    /// Commit once the buffered events add up to this many input bytes.
    pub flush_bytes: usize,
    /// Commit once the oldest buffered event of any partition waited this long.
    pub flush_latency: Duration,
    pub session_timeout: Duration,
    /// Stop once every assigned partition has been idle this long with nothing buffered
    /// (for draining a topic in batch runs and tests); run until shutdown when `None`.
    pub stop_when_idle: Option<Duration>,
    /// Give up when no broker answered this long after the start, before any assignment.
    pub connect_timeout: Duration,
    /// Where the worker counts what it does (served on /metrics by the CLI).
    pub metrics: Arc<crate::Metrics>,
    /// The deployment's librdkafka settings (TLS, SASL, tuning).
    pub properties: crate::ClientProperties,
    /// Threads that decode events and encode files.
    pub threads: usize,
    /// Partitions one commit may open: the worker commits when its rows reach them, and
    /// an event of a further partition in the same block is dead-lettered.
    pub max_partitions: usize,
    /// A partition is compacted after a commit once it holds this many files.
    pub compact_min_files: usize,
}

impl WorkerConfig {
    /// The defaults of the flush triggers and the session timeout.
    pub const FLUSH_ROWS: usize = 100_000;
    pub const FLUSH_BYTES: usize = 64 << 20;
    pub const FLUSH_LATENCY: Duration = Duration::from_secs(30);
    pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(brokers: &str, topic: &str, group: &str) -> Self {
        Self {
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            dead_letter_topic: format!("{topic}.dead-letters"),
            flush_rows: Self::FLUSH_ROWS,
            flush_bytes: Self::FLUSH_BYTES,
            flush_latency: Self::FLUSH_LATENCY,
            session_timeout: Self::SESSION_TIMEOUT,
            stop_when_idle: None,
            connect_timeout: crate::CONNECT_TIMEOUT,
            metrics: Arc::default(),
            properties: crate::ClientProperties::default(),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            max_partitions: msma_ingest::MAX_PARTITIONS,
            compact_min_files: msma_sink::COMPACT_MIN_FILES,
        }
    }
}
