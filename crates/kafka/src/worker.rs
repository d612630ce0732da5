//! The ingest worker: consumes a topic in a consumer group and commits each partition's
//! events to the research zone exactly once.
//!
//! - Where to resume is the zone's commit log (see `rebalance`); Kafka's committed
//!   offsets follow it, for monitoring only.
//! - A worker buffers the rows of all its partitions together and flushes them in one
//!   commit when they reach a number of rows or of input bytes, or when the oldest
//!   buffered event of any partition has waited the allowed latency (so an idle
//!   partition is flushed too). The commit record lists the offset range of each
//!   partition it covers. One commit for all partitions, rather than one per partition,
//!   keeps files large and few: with one per partition, each would split into a file
//!   per dataset, network and year.
//! - A commit is refused if the log already holds any of its offsets (a worker that lost
//!   its partitions without knowing it cannot duplicate rows): its partitions then go
//!   back to the log's offsets.
//! - Dead letters go to a topic, with the reason and the source position in headers;
//!   they are acknowledged before the commit that covers them.
//! - A commit runs on a thread of its own (see `inflight`) while the next events are
//!   read and decoded; one commit at a time, the next one waiting for it. A commit that
//!   fails drops the events read after it too, and its partitions go back to the log.
//! - Revoked partitions drop their uncommitted work at once, once the commit in flight
//!   is over; the next owner starts from the log. Shutdown commits what is buffered and
//!   leaves the group.

use crate::config::WorkerConfig;
use crate::deadletter::{DeadLetterTopic, DeadLetterTopicError};
use crate::inflight::{Done, InFlight, Summary, Work};
use crate::rebalance::{Changes, RebalanceError, Rebalancer, resume_offset};
use msma_ingest::{DeadLetterSink, DecodeError, Outcome, Report, RowBuffer, Transform};
use msma_sink::{OffsetRange, Zone};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
    #[error(transparent)]
    Rebalance(#[from] RebalanceError),
    #[error(transparent)]
    DeadLetters(#[from] DeadLetterTopicError),
    #[error("the broker connection failed on TLS or authentication ({0}); stopped before any partition was assigned")]
    Refused(String),
    #[error(transparent)]
    Unreachable(#[from] crate::Unreachable),
}

/// Buffered, uncommitted work: rows of every partition, and what they cover.
struct Pending {
    /// Rows, and counts, of the buffered events, known by partition and offset.
    rows: RowBuffer<(i32, i64)>,
    /// Partition → (first offset, last offset).
    ranges: BTreeMap<i32, (i64, i64)>,
    /// When the oldest buffered event came (the latency trigger's clock).
    since: Option<Instant>,
    bytes: usize,
    /// The withdrawals known before the first event was read.
    withdrawn_seen: usize,
}

impl Pending {
    fn new(transform: &Transform, threads: usize, max_partitions: usize) -> Self {
        Self {
            rows: RowBuffer::new(transform, threads, max_partitions),
            ranges: BTreeMap::new(),
            since: None,
            bytes: 0,
            withdrawn_seen: transform.withdrawn_seen(),
        }
    }
}

/// Runs a worker until `shutdown` is set (or until idle, see
/// [`WorkerConfig::stop_when_idle`]), then commits what it holds and leaves the group.
pub fn run(
    cfg: &WorkerConfig,
    zone: Zone,
    transform: &Transform,
    shutdown: &AtomicBool,
) -> Result<Report, WorkerError> {
    // Events the zone holds already are not written again; those of patients who
    // withdrew are kept out.
    let transform = &transform.for_zone(&zone);
    let zone = Arc::new(Mutex::new(zone));
    let context = Rebalancer {
        topic: cfg.topic.clone(),
        zone: zone.clone(),
        changes: Mutex::new(Changes::default()),
        metrics: cfg.metrics.clone(),
        voice: crate::client::Voice::new(&cfg.properties),
        starts: Mutex::default(),
    };
    let mut client = ClientConfig::new();
    // Tuning, which the deployment's properties may change.
    client
        // Bounded prefetch: memory does not grow with the lag.
        .set("queued.max.messages.kbytes", "16384")
        .set("fetch.max.bytes", "8388608")
        // Fetch again soon once the prefetch queue has room: librdkafka's default (1 s)
        // left a worker idle most of the time, draining 16 MiB faster than that.
        .set("fetch.queue.backoff.ms", "10")
        // Consumer lag per partition, for /metrics.
        .set("statistics.interval.ms", "5000");
    cfg.properties.apply(&mut client);
    client
        .set("bootstrap.servers", &cfg.brokers)
        .set("group.id", &cfg.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", cfg.session_timeout.as_millis().to_string())
        // End-of-partition events tell a draining worker when it has read everything.
        .set("enable.partition.eof", cfg.stop_when_idle.is_some().to_string())
        .set("isolation.level", "read_uncommitted");
    let consumer: BaseConsumer<Rebalancer> = crate::client::create(&client, &cfg.properties, context)?;
    consumer.subscribe(&[&cfg.topic])?;
    let mut worker = Worker {
        cfg,
        zone,
        transform,
        pending: Pending::new(transform, cfg.threads, cfg.max_partitions),
        assigned: BTreeSet::new(),
        expected: BTreeMap::new(),
        at_end: BTreeSet::new(),
        dead: DeadLetterTopic::new(&cfg.brokers, &cfg.properties, &cfg.dead_letter_topic, &cfg.topic)?,
        report: Report::default(),
        storage_backoff: MIN_STORAGE_BACKOFF,
        last_failure: None,
        inflight: None,
    };
    let mut last_message = Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut worked = false;
    let mut contact = crate::client::FirstContact::new(&cfg.brokers, cfg.connect_timeout);
    while !shutdown.load(Ordering::Relaxed) {
        let polled = consumer.poll(Duration::from_millis(100));
        // A TLS or authentication failure before any assignment: the configuration or the
        // broker is wrong, and retrying would not mend it. Later, one is an outage.
        worked |= !worker.assigned.is_empty();
        if !worked && let Some(why) = consumer.context().voice.refused().or_else(|| worker.dead.refused()) {
            return Err(WorkerError::Refused(why));
        }
        contact.check(consumer.client(), &consumer.context().voice, &cfg.topic, worked)?;
        if worker.apply_changes(&consumer)? {
            last_message = Instant::now();
        }
        match polled {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                worker.at_end.insert(p);
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "consumer error, backing off");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Some(Ok(msg)) => {
                backoff = Duration::from_millis(100);
                last_message = Instant::now();
                worker.at_end.remove(&msg.partition());
                worker.take(msg.partition(), msg.offset(), msg.payload().unwrap_or_default())?;
            }
        }
        if worker.inflight.as_ref().is_some_and(InFlight::finished) {
            worker.settle(&consumer)?;
        }
        if worker.due() {
            worker.flush(&consumer)?;
        }
        let idle = cfg.stop_when_idle.is_some_and(|idle| last_message.elapsed() >= idle);
        if idle && !worker.assigned.is_empty() {
            if worker.caught_up() {
                break; // what is buffered is committed below
            }
            last_message = Instant::now();
        }
    }
    while !worker.flush(&consumer)? {
        std::thread::sleep(Duration::from_millis(500));
    }
    worker.settle(&consumer)?;
    consumer.unsubscribe();
    if let Some(e) = worker.last_failure {
        // What was buffered is read again at the next start: nothing is lost, but this
        // run did not finish its work.
        return Err(e.into());
    }
    Ok(worker.report)
}

struct Worker<'c> {
    cfg: &'c WorkerConfig,
    zone: Arc<Mutex<Zone>>,
    transform: &'c Transform,
    pending: Pending,
    assigned: BTreeSet<i32>,
    /// Partition → the offset its next message must have: where it was assigned or sent
    /// back to, until its first message shows whether the broker still held it.
    expected: BTreeMap<i32, i64>,
    /// Partitions whose end was reached since their last message (drain mode).
    at_end: BTreeSet<i32>,
    dead: DeadLetterTopic,
    report: Report,
    /// Pause after a failed commit, doubling while commits keep failing.
    storage_backoff: Duration,
    /// The storage failure of the last commit, until one works.
    last_failure: Option<msma_sink::Error>,
    /// The commit of the previous buffer, while this one fills.
    inflight: Option<InFlight>,
}

const MIN_STORAGE_BACKOFF: Duration = Duration::from_secs(1);
const MAX_STORAGE_BACKOFF: Duration = Duration::from_secs(30);

impl Worker<'_> {
    /// Follows assignment changes. Any change drops the buffered work: the partitions,
    /// wherever they go, start again from the log's offsets. `true` when it changed.
    fn apply_changes(&mut self, consumer: &BaseConsumer<Rebalancer>) -> Result<bool, WorkerError> {
        let Changes {
            assigned,
            revoked,
            error,
        } = std::mem::take(&mut *consumer.context().changes.lock().expect("ok"));
        if let Some(e) = error {
            return Err(WorkerError::Rebalance(e));
        }
        if assigned.is_empty() && revoked.is_empty() {
            return Ok(false);
        }
        self.assigned.retain(|p| !revoked.contains(p));
        self.expected.retain(|p, _| !revoked.contains(p));
        // Over already (a revoke waits for it); if it failed, the partitions kept go
        // back to the log.
        self.settle(consumer)?;
        self.drop_pending();
        self.at_end.clear();
        let starts = consumer.context().starts.lock().expect("not poisoned");
        for p in &assigned {
            self.expected.insert(*p, starts.get(p).copied().flatten().unwrap_or(0));
        }
        drop(starts);
        self.assigned.extend(assigned);
        self.cfg.metrics.assigned(self.assigned.len());
        Ok(true)
    }

    fn drop_pending(&mut self) {
        // Their events are read again: the commit must not hold them as seen.
        drop(self.pending.rows.take_events());
        let read = self.pending.rows.counts().read;
        self.report.dropped += read;
        self.cfg.metrics.dropped(read);
        self.pending = Pending::new(self.transform, self.cfg.threads, self.cfg.max_partitions);
    }

    fn take(&mut self, partition: i32, offset: i64, payload: &[u8]) -> Result<(), WorkerError> {
        if !self.assigned.contains(&partition) {
            return Ok(()); // fetched before a revoke
        }
        if let Some(expected) = self.expected.remove(&partition)
            && offset > expected
        {
            // Kafka gives the oldest offset it still holds when the one asked for is gone.
            tracing::error!(
                partition,
                first = expected,
                last = offset - 1,
                "the broker no longer holds these offsets (retention or deleted records): \
                 their events were never ingested"
            );
            let missing = (offset - expected).unsigned_abs();
            self.report.missing += missing;
            self.cfg.metrics.missing(missing);
        }
        let pending = &mut self.pending;
        pending.ranges.entry(partition).or_insert((offset, offset)).1 = offset;
        pending.since.get_or_insert_with(Instant::now);
        pending.bytes += payload.len();
        self.report.read += 1;
        self.cfg.metrics.read();
        if pending
            .rows
            .push(partition.unsigned_abs(), (partition, offset), payload)
        {
            self.decode()?;
        }
        Ok(())
    }

    /// Decodes the waiting events, and sends the rejected ones to the dead letters.
    fn decode(&mut self) -> Result<(), WorkerError> {
        let before = self.pending.rows.counts().rejected;
        self.pending.rows.decode(&mut self.dead).map_err(|e| match e {
            DecodeError::DeadLetters(e) => WorkerError::DeadLetters(e),
            DecodeError::Index(e) => WorkerError::Sink(e),
        })?;
        self.cfg
            .metrics
            .dead_letters(self.pending.rows.counts().rejected - before);
        Ok(())
    }

    /// Whether every assigned partition has been read to its end (librdkafka reports an
    /// end-of-partition event when a fetch reaches the high watermark).
    fn caught_up(&self) -> bool {
        self.assigned.is_subset(&self.at_end)
    }

    /// Whether a flush trigger fired: rows, input bytes, or the latency of the oldest
    /// buffered event.
    fn due(&self) -> bool {
        let p = &self.pending;
        p.rows.counts().read as usize >= self.cfg.flush_rows
            || p.bytes >= self.cfg.flush_bytes
            || p.since.is_some_and(|since| since.elapsed() >= self.cfg.flush_latency)
            || p.rows.full()
    }

    /// Hands the buffered work to a commit, once the one in flight is over. `false` when
    /// it must wait (dead letters not yet acknowledged: the broker may be away; it is
    /// tried again later).
    fn flush(&mut self, consumer: &BaseConsumer<Rebalancer>) -> Result<bool, WorkerError> {
        self.settle(consumer)?;
        if self.pending.ranges.is_empty() {
            return Ok(true);
        }
        let started = Instant::now();
        if self.pending.rows.waiting() > 0 {
            self.decode()?;
        }
        if self.pending.rows.counts().rejected > 0 && !self.dead.settle()? {
            return Ok(false);
        }
        let mut pending = std::mem::replace(
            &mut self.pending,
            Pending::new(self.transform, self.cfg.threads, self.cfg.max_partitions),
        );
        let ranges: Vec<OffsetRange> = pending
            .ranges
            .iter()
            .map(|(p, (first, last))| OffsetRange {
                partition: *p,
                first_offset: *first,
                last_offset: *last,
            })
            .collect();
        let (rows, counts, rejected) = pending.rows.take();
        let work = Work {
            rows,
            events: pending.rows.take_events(),
            topic: self.cfg.topic.clone(),
            summary: Summary {
                ranges,
                counts,
                rejected,
            },
            withdrawn_seen: pending.withdrawn_seen,
            threads: self.cfg.threads,
            compact_min_files: self.cfg.compact_min_files,
            started,
        };
        self.inflight = Some(InFlight::start(self.zone.clone(), work));
        Ok(true)
    }

    /// Waits for the commit in flight, if any, and follows its outcome.
    fn settle(&mut self, consumer: &BaseConsumer<Rebalancer>) -> Result<(), WorkerError> {
        let Some(inflight) = self.inflight.take() else {
            return Ok(());
        };
        let Done {
            summary: Summary {
                ranges,
                counts,
                rejected,
            },
            outcome,
            report,
            flush,
            commit,
        } = inflight.wait();
        self.report.add(report);
        match outcome {
            Ok(Outcome::Committed(record)) => {
                self.cfg.metrics.committed(
                    counts.written,
                    record.files.len() as u64,
                    record.files.iter().map(|f| f.bytes).sum(),
                    flush,
                    commit,
                );
                for (kind, n) in rejected {
                    self.cfg.metrics.rejected(kind, n);
                }
                self.cfg.metrics.duplicates(counts.duplicates);
                let mut offsets = TopicPartitionList::new();
                for r in &ranges {
                    offsets.add_partition_offset(&self.cfg.topic, r.partition, Offset::Offset(r.last_offset + 1))?;
                }
                if let Err(e) = consumer.commit(&offsets, CommitMode::Async) {
                    tracing::warn!(error = %e, "could not commit offsets to Kafka (the log stays the truth)");
                }
            }
            Ok(Outcome::Conflict(seq)) => {
                tracing::warn!(
                    record = seq,
                    "offsets already committed by another worker; resuming from the log"
                );
                self.rewind(consumer, counts.read)?;
            }
            Ok(Outcome::Retry(seq)) => {
                tracing::info!(
                    record = seq,
                    "some events were committed by another writer meanwhile, or a patient withdrew; reading the batch again"
                );
                self.rewind(consumer, counts.read)?;
            }
            Err(e) if e.is_storage_failure() => {
                // Disk full, read-only, store away: nothing was committed. Drop the work,
                // go back to the log's offsets, and try again after a pause; /ready says
                // so meanwhile.
                let pause = self.storage_backoff;
                tracing::error!(error = %e, retry_in_s = pause.as_secs(), "commit failed; nothing committed, will retry");
                self.cfg.metrics.commit_failed();
                self.rewind(consumer, counts.read)?;
                std::thread::sleep(pause);
                self.storage_backoff = (pause * 2).min(MAX_STORAGE_BACKOFF);
                self.last_failure = Some(e);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        self.storage_backoff = MIN_STORAGE_BACKOFF;
        self.last_failure = None;
        self.cfg.metrics.commit_succeeded();
        Ok(())
    }

    /// Drops the `read` events of a commit refused, and those buffered after them, and
    /// sends every assigned partition back to the log's offsets, to read them again.
    fn rewind(&mut self, consumer: &BaseConsumer<Rebalancer>, read: u64) -> Result<(), WorkerError> {
        self.report.dropped += read;
        self.cfg.metrics.dropped(read);
        self.drop_pending();
        let zone = self.zone.lock().expect("not poisoned");
        for p in &self.assigned {
            let offset = resume_offset(&zone, &self.cfg.topic, *p);
            consumer.seek(&self.cfg.topic, *p, offset, Duration::from_secs(10))?;
            let next = match offset {
                Offset::Offset(o) => o,
                _ => 0,
            };
            self.expected.insert(*p, next);
        }
        Ok(())
    }
}
