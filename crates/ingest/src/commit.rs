//! The committer every source shares. A source (file segments, Kafka partitions) writes
//! a batch's rows into a transaction and settles its dead letters; [`commit`] then
//! publishes the transaction with the batch's source position, which the zone refuses
//! when another commit already holds it (the exactly-once fence), and adds the outcome
//! to the one [`Report`] of an ingest.

use msma_schema::RejectKind;
use msma_sink::{CommitRecord, RowCounts, Source, Txn};
use std::collections::BTreeMap;

/// What an ingest did, whatever its source.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Events read from the source.
    pub read: u64,
    /// Events skipped because a commit already holds them.
    pub already_committed: u64,
    pub written: u64,
    pub rejected: BTreeMap<RejectKind, u64>,
    pub commits: u64,
    pub files: u64,
    pub rows_by_dataset: BTreeMap<String, u64>,
    /// Buffered events dropped on a rebalance or a refused commit, to be read again.
    pub dropped: u64,
    /// Commits refused because another writer had committed some of their events.
    pub conflicts: u64,
    /// Events the zone already held, byte for byte: not written again.
    pub duplicates: u64,
    /// Kafka offsets the broker no longer held when the worker came to read them
    /// (retention, deleted records): their events were never ingested.
    pub missing: u64,
}

impl Report {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Adds what `other` counted (a commit made on another thread).
    pub fn add(&mut self, other: Report) {
        let Report {
            read,
            already_committed,
            written,
            rejected,
            commits,
            files,
            rows_by_dataset,
            dropped,
            conflicts,
            duplicates,
            missing,
        } = other;
        self.read += read;
        self.already_committed += already_committed;
        self.written += written;
        self.commits += commits;
        self.files += files;
        self.dropped += dropped;
        self.conflicts += conflicts;
        self.duplicates += duplicates;
        self.missing += missing;
        for (kind, n) in rejected {
            *self.rejected.entry(kind).or_default() += n;
        }
        for (dataset, n) in rows_by_dataset {
            *self.rows_by_dataset.entry(dataset).or_default() += n;
        }
    }
}

/// One commit's worth of events: where they came from, and what became of them.
pub struct Batch {
    pub source: Source,
    pub counts: RowCounts,
    pub rejected: BTreeMap<RejectKind, u64>,
}

pub enum Outcome {
    Committed(Box<CommitRecord>),
    /// Another writer committed the same source range first (its record's number):
    /// nothing was published.
    Conflict(u64),
    /// Another writer committed some of the same events meanwhile, or a patient
    /// withdrew (the record's number): nothing was published, and the batch is to be
    /// read again.
    Retry(u64),
}

/// Publishes `txn`, whose rows are written and whose dead letters are settled (a crash
/// after this repeats dead letters, never loses them), and adds it to `report`. Other
/// errors leave `report` as it was: nothing was published.
pub fn commit(txn: Txn, batch: Batch, report: &mut Report) -> Result<Outcome, msma_sink::Error> {
    let covers = covers(&batch.source);
    let record = match txn.commit(batch.source, batch.counts) {
        Ok(record) => record,
        Err(msma_sink::Error::Conflict(seq)) => {
            report.conflicts += 1;
            return Ok(Outcome::Conflict(seq));
        }
        Err(msma_sink::Error::EventsCommitted(seq) | msma_sink::Error::Withdrawn(seq)) => {
            report.conflicts += 1;
            return Ok(Outcome::Retry(seq));
        }
        Err(e) => return Err(e),
    };
    tracing::info!(
        seq = record.seq,
        covers,
        written = batch.counts.written,
        rejected = batch.counts.rejected,
        duplicates = batch.counts.duplicates,
        files = record.files.len(),
        "committed"
    );
    report.written += batch.counts.written;
    report.duplicates += batch.counts.duplicates;
    report.commits += 1;
    report.files += record.files.len() as u64;
    for (kind, n) in batch.rejected {
        *report.rejected.entry(kind).or_default() += n;
    }
    for file in &record.files {
        *report.rows_by_dataset.entry(file.dataset.clone()).or_default() += file.rows;
    }
    Ok(Outcome::Committed(Box::new(record)))
}

/// What a commit covers, for its log line.
fn covers(source: &Source) -> String {
    match source {
        Source::Segment {
            first_line, last_line, ..
        }
        | Source::File {
            first_line, last_line, ..
        } => format!("lines {first_line}-{last_line}"),
        Source::Kafka { ranges, .. } => format!("{} partition(s)", ranges.len()),
        Source::Rotation { .. } => "a key rotation".into(),
        Source::Compaction => "a compaction".into(),
        Source::Withdrawal { .. } => "a withdrawal".into(),
    }
}

/// Compacts `zone` once a partition holds `min_files` files (0: never), after commits
/// that are made whatever happens here: a compaction that fails (the storage failed) is
/// tried again after the next commit. Another writer's compaction retiring some of the
/// files first is the race of writers sharing a zone, not a failure.
pub fn compact_after_commits(zone: &mut msma_sink::Zone, min_files: usize) {
    if min_files == 0 {
        return;
    }
    match zone.compact(min_files) {
        Ok(done) => {
            if let Some(r) = &done.record {
                tracing::info!(
                    seq = r.seq,
                    files = done.files_before,
                    into = done.files_after,
                    "compacted"
                );
            }
        }
        Err(msma_sink::Error::Retired(seq)) => {
            tracing::info!(
                seq,
                "not compacted: another writer's compaction retired some of the files first"
            )
        }
        Err(e) => tracing::warn!(error = %e, "compaction after a commit failed"),
    }
}
