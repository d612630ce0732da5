//! The Kafka worker's buffer: events are decoded a block at a time on several threads,
//! each thread taking the events of its own source partitions (so that the rows of a
//! source partition stay in offset order), and rows stay in the threads' builders until
//! a commit takes them.

use crate::block::{Block, Gathered, decode_lines};
use crate::transform::{PartitionCap, Transform};
use msma_model::Rejection;
use msma_sink::RowGroup;
use std::sync::Arc;

/// Events per block: enough to keep every thread busy for much longer than it takes to
/// start, few enough that rows are decoded soon after they arrive.
const BLOCK_EVENTS: usize = 16 * 1024;

pub struct RowBuffer {
    /// One per thread.
    transforms: Vec<Transform>,
    /// Events waiting to be decoded.
    block: Block,
    /// The thread of each waiting event.
    lanes: Vec<usize>,
    /// The partitions the buffered rows open, shared by the threads.
    cap: Arc<PartitionCap>,
}

impl RowBuffer {
    /// A buffer for one commit of at most `max_partitions` partitions.
    pub fn new(transform: &Transform, threads: usize, max_partitions: usize) -> Self {
        let cap = PartitionCap::new(max_partitions);
        Self {
            transforms: (0..threads.max(1)).map(|_| transform.with_cap(cap.clone())).collect(),
            block: Block::new(0, 0, BLOCK_EVENTS, 8 << 20),
            lanes: Vec::with_capacity(BLOCK_EVENTS),
            cap,
        }
    }

    /// Whether the rows open as many partitions as a commit may: time to commit, as
    /// events of a new partition would be dead-lettered.
    pub fn full(&self) -> bool {
        self.cap.full()
    }

    /// Adds an event of source partition `source`; `true` when the block is full and
    /// should be decoded.
    pub fn push(&mut self, source: u32, event: &[u8]) -> bool {
        self.block.push(event, None);
        self.lanes.push(source as usize % self.transforms.len());
        self.lanes.len() >= BLOCK_EVENTS
    }

    /// Events pushed since the last [`RowBuffer::decode`].
    pub fn waiting(&self) -> usize {
        self.lanes.len()
    }

    /// Decodes the waiting events and returns those rejected, in the order they came:
    /// their index among the waiting events, their bytes, and why.
    pub fn decode(&mut self) -> Vec<(usize, Vec<u8>, Rejection)> {
        let (block, lanes) = (&self.block, &self.lanes);
        let mut jobs = self.transforms.iter_mut().enumerate().map(|(lane, transform)| {
            let mine = (0..lanes.len()).filter(move |i| lanes[*i] == lane);
            move || decode_lines(block, mine, transform, usize::MAX).rejects
        });
        let first = jobs.next().expect("one transform at least");
        let mut rejected: Vec<_> = std::thread::scope(|s| {
            let others: Vec<_> = jobs.map(|job| s.spawn(job)).collect();
            let mut rejected = first();
            for other in others {
                rejected.extend(other.join().expect("decoding does not panic"));
            }
            rejected
        });
        rejected.sort_unstable_by_key(|r| r.0);
        self.block.data.clear();
        self.block.lines.clear();
        self.lanes.clear();
        rejected
            .into_iter()
            .map(|(i, bytes, _, why)| (i as usize, bytes, why))
            .collect()
    }

    /// Every decoded row, a row group per partition.
    pub fn take(&mut self) -> Vec<RowGroup> {
        self.cap.clear();
        let mut gathered = Gathered::default();
        for transform in &mut self.transforms {
            for (part, batch) in transform.take() {
                gathered.add(part, batch);
            }
        }
        gathered.take_largest(0)
    }
}
