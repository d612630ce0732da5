//! The ingest worker: consumes a topic in a consumer group and commits each partition's
//! events to the research zone exactly once.
//!
//! - Where to resume is the zone's commit log (see `rebalance`); Kafka's committed
//!   offsets follow it, for monitoring only.
//! - Each partition buffers its rows and flushes on rows, input bytes or latency (the
//!   latency trigger fires on idle partitions too); a flush is one commit whose record
//!   names the partition's offset range, and whose files are named after it.
//! - A commit is refused if the log already holds any of its offsets (a worker that lost
//!   its partitions without knowing it cannot duplicate rows): the partition then goes
//!   back to the log's offset.
//! - Dead letters go to a topic, with the reason and the source position in headers;
//!   they are acknowledged before the commit that covers them.
//! - Revoked partitions drop their uncommitted work at once; the next owner starts from
//!   the log. Shutdown commits what is buffered and leaves the group.

use crate::producer::AckedProducer;
use crate::rebalance::{Changes, Rebalancer, resume_offset};
use msma_ingest::Transform;
use msma_model::{RejectKind, decode};
use msma_sink::{RowCounts, Source, Zone};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub dead_letter_topic: String,
    /// Flush a partition once it buffers this many events.
    pub flush_rows: usize,
    /// Flush a partition once its events add up to this many input bytes.
    pub flush_bytes: usize,
    /// Flush a partition whose oldest buffered event waited this long, even if idle.
    pub flush_latency: Duration,
    /// Flush the largest partition while all of them buffer more events than this.
    pub max_buffered_rows: usize,
    pub session_timeout: Duration,
    /// Stop once every assigned partition has been idle this long with nothing buffered
    /// (for draining a topic in batch runs and tests); run until shutdown when `None`.
    pub stop_when_idle: Option<Duration>,
}

impl WorkerConfig {
    pub fn new(brokers: &str, topic: &str, group: &str) -> Self {
        Self {
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            dead_letter_topic: format!("{topic}.dead-letters"),
            flush_rows: 100_000,
            flush_bytes: 64 << 20,
            flush_latency: Duration::from_secs(30),
            max_buffered_rows: 250_000,
            session_timeout: Duration::from_secs(10),
            stop_when_idle: None,
        }
    }
}

/// What a worker did.
#[derive(Debug, Default, Clone)]
pub struct WorkerReport {
    pub read: u64,
    pub written: u64,
    pub rejected: BTreeMap<RejectKind, u64>,
    pub commits: u64,
    pub files: u64,
    /// Buffered events dropped on revoke or on a refused commit (read again later).
    pub dropped: u64,
    pub conflicts: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
    #[error("{0}")]
    Rebalance(String),
    #[error("dead letters not acknowledged by the broker")]
    DeadLetters,
}

/// Buffered, uncommitted work of one partition.
struct Pending {
    transform: Transform,
    first_offset: i64,
    last_offset: i64,
    counts: RowCounts,
    bytes: usize,
    since: Instant,
    rejected: BTreeMap<RejectKind, u64>,
}

type NewTransform<'a> = dyn Fn() -> Transform + 'a;

/// Runs a worker until `shutdown` is set (or until idle, see
/// [`WorkerConfig::stop_when_idle`]), then commits what it holds and leaves the group.
pub fn run(
    cfg: &WorkerConfig,
    zone: Zone,
    new_transform: &NewTransform,
    shutdown: &AtomicBool,
) -> Result<WorkerReport, WorkerError> {
    let zone = Arc::new(Mutex::new(zone));
    let context = Rebalancer {
        topic: cfg.topic.clone(),
        zone: zone.clone(),
        changes: Mutex::new(Changes::default()),
    };
    let consumer: BaseConsumer<Rebalancer> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("group.id", &cfg.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", cfg.session_timeout.as_millis().to_string())
        // Bounded prefetch: memory does not grow with the lag.
        .set("queued.max.messages.kbytes", "16384")
        .set("fetch.max.bytes", "8388608")
        .set("fetch.queue.backoff.ms", "20")
        .create_with_context(context)?;
    consumer.subscribe(&[&cfg.topic])?;
    let mut dead = AckedProducer::new(&cfg.brokers)?;
    let mut worker = Worker {
        cfg,
        zone,
        new_transform,
        pending: BTreeMap::new(),
        report: WorkerReport::default(),
        assigned: BTreeSet::new(),
    };
    let mut last_message = Instant::now();
    let mut backoff = Duration::from_millis(100);
    while !shutdown.load(Ordering::Relaxed) {
        let polled = consumer.poll(Duration::from_millis(100));
        if worker.apply_changes(&consumer)? {
            last_message = Instant::now();
        }
        match polled {
            None => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, "consumer error, backing off");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Some(Ok(msg)) => {
                backoff = Duration::from_millis(100);
                last_message = Instant::now();
                worker.take(
                    msg.partition(),
                    msg.offset(),
                    msg.payload().unwrap_or_default(),
                    &mut dead,
                )?;
            }
        }
        worker.flush_due(&consumer, &mut dead)?;
        let idle = cfg.stop_when_idle.is_some_and(|idle| last_message.elapsed() >= idle);
        if idle && !worker.assigned.is_empty() {
            break; // what is buffered is committed below
        }
    }
    let partitions: Vec<i32> = worker.pending.keys().copied().collect();
    for p in partitions {
        worker.flush(p, &consumer, &mut dead)?;
    }
    consumer.unsubscribe();
    Ok(worker.report)
}

struct Worker<'c> {
    cfg: &'c WorkerConfig,
    zone: Arc<Mutex<Zone>>,
    new_transform: &'c NewTransform<'c>,
    pending: BTreeMap<i32, Pending>,
    assigned: BTreeSet<i32>,
    report: WorkerReport,
}

impl Worker<'_> {
    /// Drops the work of revoked partitions and of partitions assigned anew (they
    /// restart from the log's offset). `true` when the assignment changed.
    fn apply_changes(&mut self, consumer: &BaseConsumer<Rebalancer>) -> Result<bool, WorkerError> {
        let Changes {
            assigned,
            revoked,
            error,
        } = std::mem::take(&mut *consumer.context().changes.lock().expect("ok"));
        if let Some(e) = error {
            return Err(WorkerError::Rebalance(e));
        }
        for p in revoked.iter().chain(&assigned) {
            if let Some(dropped) = self.pending.remove(p) {
                self.report.dropped += dropped.counts.read;
            }
        }
        let changed = !(assigned.is_empty() && revoked.is_empty());
        self.assigned.retain(|p| !revoked.contains(p));
        self.assigned.extend(assigned);
        Ok(changed)
    }

    fn take(
        &mut self,
        partition: i32,
        offset: i64,
        payload: &[u8],
        dead: &mut AckedProducer,
    ) -> Result<(), WorkerError> {
        if !self.assigned.contains(&partition) {
            return Ok(()); // fetched before a revoke
        }
        let new_transform = self.new_transform;
        let state = self.pending.entry(partition).or_insert_with(|| Pending {
            transform: new_transform(),
            first_offset: offset,
            last_offset: offset,
            counts: RowCounts::default(),
            bytes: 0,
            since: Instant::now(),
            rejected: BTreeMap::new(),
        });
        state.last_offset = offset;
        state.counts.read += 1;
        state.bytes += payload.len();
        self.report.read += 1;
        match decode(payload) {
            Ok(ev) => {
                state.transform.push(&ev);
                state.counts.written += 1;
            }
            Err(why) => {
                state.counts.rejected += 1;
                *state.rejected.entry(why.kind).or_default() += 1;
                let part = partition.to_string();
                let off = offset.to_string();
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: "msma.reason",
                        value: Some(why.kind.as_str()),
                    })
                    .insert(Header {
                        key: "msma.detail",
                        value: Some(why.detail.as_str()),
                    })
                    .insert(Header {
                        key: "msma.source.topic",
                        value: Some(self.cfg.topic.as_str()),
                    })
                    .insert(Header {
                        key: "msma.source.partition",
                        value: Some(part.as_str()),
                    })
                    .insert(Header {
                        key: "msma.source.offset",
                        value: Some(off.as_str()),
                    });
                dead.send(
                    BaseRecord::to(&self.cfg.dead_letter_topic)
                        .payload(payload)
                        .headers(headers),
                )?;
            }
        }
        Ok(())
    }

    /// Flushes partitions whose triggers fired, then the largest ones while all of them
    /// buffer too much.
    fn flush_due(&mut self, consumer: &BaseConsumer<Rebalancer>, dead: &mut AckedProducer) -> Result<(), WorkerError> {
        let cfg = self.cfg;
        let due: Vec<i32> = self
            .pending
            .iter()
            .filter(|(_, s)| {
                s.counts.read as usize >= cfg.flush_rows
                    || s.bytes >= cfg.flush_bytes
                    || s.since.elapsed() >= cfg.flush_latency
            })
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.flush(p, consumer, dead)?;
        }
        while self.pending.values().map(|s| s.counts.read as usize).sum::<usize>() > cfg.max_buffered_rows {
            let largest = *self
                .pending
                .iter()
                .max_by_key(|(_, s)| s.counts.read)
                .expect("over budget")
                .0;
            if !self.flush(largest, consumer, dead)? {
                break;
            }
        }
        Ok(())
    }

    /// Commits one partition's buffered work. `false` when it must wait (dead letters
    /// not yet acknowledged: the broker may be away; it is tried again later).
    fn flush(
        &mut self,
        p: i32,
        consumer: &BaseConsumer<Rebalancer>,
        dead: &mut AckedProducer,
    ) -> Result<bool, WorkerError> {
        let Some(mut state) = self.pending.remove(&p) else {
            return Ok(true);
        };
        if state.counts.rejected > 0 {
            let failed = dead.failed();
            if dead.flush(Duration::from_secs(10)).is_err() {
                tracing::warn!(partition = p, "dead letters not yet acknowledged; commit postponed");
                self.pending.insert(p, state);
                return Ok(false);
            }
            if dead.failed() > failed {
                return Err(WorkerError::DeadLetters);
            }
        }
        let topic = &self.cfg.topic;
        let mut zone = self.zone.lock().expect("not poisoned");
        let mut txn = zone.begin()?;
        state.transform.flush(&mut txn)?;
        let stem = format!("{topic}+{p}+{:020}-{:020}", state.first_offset, state.last_offset);
        let source = Source::Kafka {
            topic: topic.clone(),
            partition: p,
            first_offset: state.first_offset,
            last_offset: state.last_offset,
        };
        match txn.commit(&stem, source, state.counts) {
            Ok(record) => {
                tracing::info!(
                    seq = record.seq,
                    partition = p,
                    first_offset = state.first_offset,
                    last_offset = state.last_offset,
                    written = state.counts.written,
                    rejected = state.counts.rejected,
                    files = record.files.len(),
                    "committed"
                );
                self.report.written += state.counts.written;
                self.report.commits += 1;
                self.report.files += record.files.len() as u64;
                for (k, n) in state.rejected {
                    *self.report.rejected.entry(k).or_default() += n;
                }
                let mut offsets = TopicPartitionList::new();
                offsets.add_partition_offset(topic, p, Offset::Offset(state.last_offset + 1))?;
                if let Err(e) = consumer.commit(&offsets, CommitMode::Async) {
                    tracing::warn!(partition = p, error = %e, "could not commit the offset to Kafka (the log stays the truth)");
                }
            }
            Err(msma_sink::Error::Conflict(seq)) => {
                let offset = resume_offset(&zone, topic, p);
                tracing::warn!(partition = p, record = seq, offset = ?offset, "offsets already committed by another worker; resuming from the log");
                self.report.conflicts += 1;
                self.report.dropped += state.counts.read;
                if self.assigned.contains(&p) {
                    consumer.seek(topic, p, offset, Duration::from_secs(10))?;
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }
}
