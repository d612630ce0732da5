//! A worker's counters, rendered in the Prometheus text format by prometheus-client.
//! Plain atomics: the hot path pays one relaxed add per event. Names carry their units; labels come from small
//! fixed sets (reject reasons, partitions), never from data.

use msma_schema::RejectKind;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Metrics {
    read: AtomicU64,
    written: AtomicU64,
    duplicates: AtomicU64,
    rejected: [AtomicU64; RejectKind::ALL.len()],
    dead_letters: AtomicU64,
    flushes: AtomicU64,
    flush_micros: AtomicU64,
    commit_micros: AtomicU64,
    files: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    missing: AtomicU64,
    partitions: AtomicU64,
    commit_failures: AtomicU64,
    /// Whether the last commit failed (disk full, store away): not ready until one works.
    failing: std::sync::atomic::AtomicBool,
    /// Partition → events behind the high watermark, from librdkafka's statistics.
    lag: Mutex<BTreeMap<i32, i64>>,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Metrics {
    pub(crate) fn read(&self) {
        add(&self.read, 1);
    }

    /// Dead letters sent (again, if their batch is read again after a rebalance).
    pub(crate) fn dead_letters(&self, n: u64) {
        add(&self.dead_letters, n);
    }

    /// Rejected events of a committed batch, like written ones: a batch dropped and read
    /// again is not counted twice.
    pub(crate) fn rejected(&self, kind: RejectKind, n: u64) {
        let i = RejectKind::ALL.iter().position(|k| *k == kind).unwrap_or_default();
        add(&self.rejected[i], n);
    }

    /// Events of a committed batch that the zone already held, not written again.
    pub(crate) fn duplicates(&self, n: u64) {
        add(&self.duplicates, n);
    }

    /// A flush that ended in a commit: its events, files and bytes, the time of the
    /// whole flush and of the commit alone.
    pub(crate) fn committed(&self, written: u64, files: u64, bytes: u64, flush: Duration, commit: Duration) {
        add(&self.written, written);
        add(&self.files, files);
        add(&self.bytes, bytes);
        add(&self.flushes, 1);
        add(&self.flush_micros, micros(flush));
        add(&self.commit_micros, micros(commit));
    }

    pub(crate) fn commit_failed(&self) {
        add(&self.commit_failures, 1);
        self.failing.store(true, Ordering::Relaxed);
    }

    pub(crate) fn commit_succeeded(&self) {
        self.failing.store(false, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, events: u64) {
        add(&self.dropped, events);
    }

    /// Offsets the broker no longer held when they were to be read.
    pub(crate) fn missing(&self, offsets: u64) {
        add(&self.missing, offsets);
    }

    /// Why the worker is not ready, if it is not.
    pub fn not_ready_because(&self) -> Option<&'static str> {
        if self.partitions.load(Ordering::Relaxed) == 0 {
            Some("no partition assigned yet")
        } else if self.failing.load(Ordering::Relaxed) {
            Some("the last commit failed on storage; retrying")
        } else {
            None
        }
    }

    pub(crate) fn assigned(&self, partitions: usize) {
        self.partitions.store(partitions as u64, Ordering::Relaxed);
        self.lag.lock().expect("not poisoned").clear();
    }

    pub(crate) fn lag(&self, by_partition: BTreeMap<i32, i64>) {
        *self.lag.lock().expect("not poisoned") = by_partition;
    }

    /// Ready: partitions assigned (the key, policy and zone were opened before), and the
    /// last commit, if any, worked.
    pub fn ready(&self) -> bool {
        self.not_ready_because().is_none()
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric, written by
    /// prometheus-client, which adds the `_total` of counters and the full stop of helps.
    pub fn render(&self, topic: &str) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let count = |c: &AtomicU64| ConstCounter::new(get(c));
        let seconds = |c: &AtomicU64| ConstCounter::new(get(c) as f64 / 1e6);
        let mut r = Registry::default();
        r.register("msma_events_read", "Events consumed", count(&self.read));
        r.register(
            "msma_events_written",
            "Events committed to the research zone",
            count(&self.written),
        );
        r.register(
            "msma_events_duplicate",
            "Events of committed batches the zone already held, byte for byte: not written again",
            count(&self.duplicates),
        );
        let rejected = RejectKind::ALL.iter().zip(&self.rejected);
        r.register(
            "msma_events_rejected",
            "Events rejected, by reason, in committed batches (their dead letters were acknowledged)",
            Counters(rejected.map(|(k, c)| ([("reason", k.as_str())], get(c))).collect()),
        );
        r.register(
            "msma_dead_letters_produced",
            "Rejected events sent to the dead-letter topic",
            count(&self.dead_letters),
        );
        r.register(
            "msma_events_dropped",
            "Buffered events dropped on a rebalance or a refused commit (read again)",
            count(&self.dropped),
        );
        r.register(
            "msma_offsets_missing",
            "Offsets the broker no longer held when the worker came to read them (retention, deleted records): never ingested",
            count(&self.missing),
        );
        r.register(
            "msma_commit_failures",
            "Commits that failed on storage (disk full, read-only, store unreachable); retried",
            count(&self.commit_failures),
        );
        r.register("msma_flushes", "Flushes that ended in a commit", count(&self.flushes));
        r.register(
            "msma_flush_duration_seconds",
            "Time spent flushing: encoding, writing, syncing and committing",
            seconds(&self.flush_micros),
        );
        r.register(
            "msma_commit_duration_seconds",
            "Time spent publishing commits (sync, rename, ledger record); divide by msma_flushes_total",
            seconds(&self.commit_micros),
        );
        r.register("msma_files_written", "Parquet files published", count(&self.files));
        r.register("msma_bytes_written", "Bytes of Parquet published", count(&self.bytes));
        r.register(
            "msma_partitions_assigned",
            "Partitions assigned to this worker",
            ConstGauge::new(get(&self.partitions)),
        );
        let lag = self.lag.lock().expect("not poisoned");
        let lag = lag
            .iter()
            .map(|(p, n)| ([("topic", topic.to_owned()), ("partition", p.to_string())], *n));
        r.register(
            "msma_consumer_lag_events",
            "Events behind the end of each assigned partition (librdkafka statistics, every 5 s)",
            Gauges(lag.collect()),
        );
        let mut out = String::new();
        prometheus_text::encode(&mut out, &r).expect("writing to a String cannot fail");
        out
    }
}

/// A counter family's samples in a fixed order (prometheus-client's `Family` is a hash
/// map, read in no fixed order).
#[derive(Debug)]
struct Counters<L>(Vec<(L, u64)>);

/// A gauge family's samples, in a fixed order like [`Counters`].
#[derive(Debug)]
struct Gauges<L>(Vec<(L, i64)>);

impl<L: EncodeLabelSet> EncodeMetric for Counters<L> {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        for (labels, value) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(value, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

impl<L: EncodeLabelSet> EncodeMetric for Gauges<L> {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        for (labels, value) in &self.0 {
            encoder.encode_family(labels)?.encode_gauge(value)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_with_its_type() {
        let m = Metrics::default();
        m.read();
        m.read();
        m.rejected(RejectKind::SchemaViolation, 1);
        m.dead_letters(1);
        m.missing(7);
        m.committed(1, 3, 4096, Duration::from_millis(1500), Duration::from_millis(250));
        m.assigned(2);
        m.lag(BTreeMap::from([(0, 10), (1, 0)]));
        let text = m.render("events");
        for line in [
            "msma_events_read_total 2",
            "msma_events_written_total 1",
            "msma_events_rejected_total{reason=\"schema_violation\"} 1",
            "msma_events_rejected_total{reason=\"malformed_json\"} 0",
            "msma_dead_letters_produced_total 1",
            "msma_offsets_missing_total 7",
            "msma_flush_duration_seconds_total 1.5",
            "msma_commit_duration_seconds_total 0.25",
            "msma_bytes_written_total 4096",
            "msma_partitions_assigned 2",
            "msma_consumer_lag_events{topic=\"events\",partition=\"0\"} 10",
            "# TYPE msma_consumer_lag_events gauge",
            "# HELP msma_events_read_total Events consumed.",
            "# TYPE msma_events_read_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(m.ready());
    }
}
