//! A commit on a thread of its own: while it encodes the files, syncs them and makes its
//! record durable, the worker polls and decodes the next events. One commit at a time
//! is in flight; it holds the zone from the start, so that a revoke (which waits for the
//! zone, see `rebalance`) lets the partitions go only once their record is durable or
//! the commit failed.

use msma_ingest::{Batch, Outcome, Report};
use msma_schema::RejectKind;
use msma_sink::dedup::Entry;
use msma_sink::{OffsetRange, RowCounts, RowGroup, Source, Zone};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a commit is given: the rows and events of a buffer whose dead letters are
/// settled, and what the buffer covers.
pub(crate) struct Work {
    pub rows: Vec<RowGroup>,
    pub events: Vec<Entry>,
    pub topic: String,
    pub summary: Summary,
    pub withdrawn_seen: usize,
    pub threads: usize,
    pub compact_min_files: usize,
    /// When the flush began (its final decode and dead letters included).
    pub started: Instant,
}

/// The offset ranges a commit covers, by partition, and the counts of its events.
#[derive(Clone)]
pub(crate) struct Summary {
    pub ranges: Vec<OffsetRange>,
    pub counts: RowCounts,
    pub rejected: BTreeMap<RejectKind, u64>,
}

/// What became of a commit.
pub(crate) struct Done {
    pub summary: Summary,
    pub outcome: Result<Outcome, msma_sink::Error>,
    /// What the commit adds to the worker's report.
    pub report: Report,
    /// From the flush's start, and from the files' being written, to the record.
    pub flush: Duration,
    pub commit: Duration,
}

pub(crate) struct InFlight(JoinHandle<Done>);

impl InFlight {
    /// Starts committing `work`; returns once the commit holds the zone.
    pub fn start(zone: Arc<Mutex<Zone>>, work: Work) -> Self {
        let (holding, held) = mpsc::sync_channel(0);
        let thread = std::thread::spawn(move || {
            let mut zone = zone.lock().expect("not poisoned");
            // The worker waits for this: a commit handed over is never overtaken by a revoke.
            holding.send(()).expect("the worker waits for it");
            commit(&mut zone, work)
        });
        held.recv()
            .expect("the commit thread does not panic before it holds the zone");
        Self(thread)
    }

    pub fn finished(&self) -> bool {
        self.0.is_finished()
    }

    pub fn wait(self) -> Done {
        self.0.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

fn commit(zone: &mut Zone, work: Work) -> Done {
    let Summary {
        ranges,
        counts,
        rejected,
    } = work.summary.clone();
    let batch = Batch {
        source: Source::Kafka {
            topic: work.topic,
            ranges,
        },
        counts,
        rejected,
    };
    let mut report = Report::default();
    let mut committing = Instant::now();
    let outcome = zone.begin().and_then(|mut txn| {
        txn.set_threads(work.threads);
        txn.set_events(work.events);
        txn.set_withdrawn_seen(work.withdrawn_seen);
        if let Err(e) = txn.write_all(work.rows) {
            let _ = txn.abort();
            return Err(e);
        }
        committing = Instant::now();
        msma_ingest::commit(txn, batch, &mut report)
    });
    let (flush, commit) = (work.started.elapsed(), committing.elapsed());
    if matches!(outcome, Ok(Outcome::Committed(_))) {
        // A trickle's small files, rewritten once a partition holds enough.
        msma_ingest::compact_after_commits(zone, work.compact_min_files);
    }
    Done {
        summary: work.summary,
        outcome,
        report,
        flush,
        commit,
    }
}
