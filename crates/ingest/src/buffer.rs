//! A buffer of events for one commit, for sources that take events one at a time (a
//! Kafka worker): events are decoded a block at a time on several threads, each thread
//! taking the events of its own lane (a source partition, so that its rows stay in
//! offset order); rejected events go straight to the dead letters, and rows stay in the
//! threads' builders until the commit takes them with the batch's counts.

use crate::block::{Block, Decoded, Gathered, decode_lines};
use crate::deadletter::DeadLetterSink;
use crate::transform::{PartitionCap, Transform};
use msma_schema::RejectKind;
use msma_sink::{RowCounts, RowGroup};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Events per block: enough to keep every thread busy for much longer than it takes to
/// start, few enough that rows are decoded soon after they arrive.
const BLOCK_EVENTS: usize = 16 * 1024;

/// Why waiting events could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError<E> {
    #[error(transparent)]
    DeadLetters(E),
    /// The zone's dedup index could not be read.
    #[error(transparent)]
    Index(msma_sink::Error),
}

/// `A` is where an event was in its source (a partition and offset).
pub struct RowBuffer<A> {
    /// One per thread.
    transforms: Vec<Transform>,
    /// Events waiting to be decoded.
    block: Block,
    /// The thread and source position of each waiting event.
    waiting: Vec<(usize, A)>,
    /// The partitions the buffered rows open, shared by the threads.
    cap: Arc<PartitionCap>,
    counts: RowCounts,
    rejected: BTreeMap<RejectKind, u64>,
}

impl<A: Copy + Sync> RowBuffer<A> {
    /// A buffer for one commit of at most `max_partitions` partitions.
    pub fn new(transform: &Transform, threads: usize, max_partitions: usize) -> Self {
        let cap = PartitionCap::new(max_partitions);
        Self {
            transforms: (0..threads.max(1)).map(|_| transform.with_cap(cap.clone())).collect(),
            block: Block::new(0, 0, BLOCK_EVENTS, 8 << 20),
            waiting: Vec::with_capacity(BLOCK_EVENTS),
            cap,
            counts: RowCounts::default(),
            rejected: BTreeMap::new(),
        }
    }

    /// Whether the rows open as many partitions as a commit may: time to commit, as
    /// events of a new partition would be dead-lettered.
    pub fn full(&self) -> bool {
        self.cap.full()
    }

    /// Adds the event at `at` of lane `lane`; `true` when the block is full and should
    /// be decoded.
    pub fn push(&mut self, lane: u32, at: A, event: &[u8]) -> bool {
        self.block.push(event, None);
        self.waiting.push((lane as usize % self.transforms.len(), at));
        self.counts.read += 1;
        self.waiting.len() >= BLOCK_EVENTS
    }

    /// Events pushed since the last [`RowBuffer::decode`].
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// What the buffer holds: events read, rows written and events rejected so far.
    pub fn counts(&self) -> RowCounts {
        self.counts
    }

    /// Decodes the waiting events, sending those rejected to `dead` in the order they
    /// came; events the zone or the commit already holds are counted as duplicates.
    pub fn decode<D: DeadLetterSink<At = A>>(&mut self, dead: &mut D) -> Result<(), DecodeError<D::Error>> {
        let (block, waiting) = (&self.block, &self.waiting);
        let mut jobs = self.transforms.iter_mut().enumerate().map(|(lane, transform)| {
            let mine = (0..waiting.len()).filter(move |i| waiting[*i].0 == lane);
            move || decode_lines(block, mine, transform, usize::MAX)
        });
        let first = jobs.next().expect("one transform at least");
        let decoded: Vec<Decoded> = std::thread::scope(|s| {
            let others: Vec<_> = jobs.map(|job| s.spawn(job)).collect();
            let mut all = vec![first()];
            all.extend(others.into_iter().map(|o| o.join().expect("decoding does not panic")));
            all
        });
        let mut rejected = Vec::new();
        let mut duplicates = 0;
        for d in decoded {
            if let Some(e) = d.failure {
                return Err(DecodeError::Index(e));
            }
            duplicates += d.duplicates;
            rejected.extend(d.rejects);
        }
        rejected.sort_unstable_by_key(|r| r.0);
        self.counts.written += (self.waiting.len() - rejected.len()) as u64 - duplicates;
        self.counts.rejected += rejected.len() as u64;
        self.counts.duplicates += duplicates;
        let sent = rejected.into_iter().try_for_each(|(i, event, _, why)| {
            *self.rejected.entry(why.kind).or_default() += 1;
            dead.reject(self.waiting[i as usize].1, &event, None, &why)
        });
        self.block.data.clear();
        self.block.lines.clear();
        self.waiting.clear();
        sent.map_err(DecodeError::DeadLetters)
    }

    /// The events written since the last call, for the commit's dedup run.
    pub fn take_events(&self) -> Vec<msma_sink::dedup::Entry> {
        self.transforms[0].take_events()
    }

    /// Every decoded row, a row group per partition, with the counts of the buffered
    /// events and of those rejected by reason; the buffer is then empty.
    pub fn take(&mut self) -> (Vec<RowGroup>, RowCounts, BTreeMap<RejectKind, u64>) {
        self.cap.clear();
        let mut gathered = Gathered::default();
        for transform in &mut self.transforms {
            for (part, batch) in transform.take() {
                gathered.add(part, batch);
            }
        }
        let counts = std::mem::take(&mut self.counts);
        (gathered.take_largest(0), counts, std::mem::take(&mut self.rejected))
    }
}
