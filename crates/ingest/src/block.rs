//! Events in blocks: a block is decoded into Arrow batches by whichever thread takes it,
//! and the batches are gathered by partition until they are written as row groups.

use crate::transform::{PushError, Pushed, Transform};
use arrow_array::RecordBatch;
use msma_schema::Partition;
use msma_schema::{EventType, RejectKind, Rejection, decode};
use msma_sink::RowGroup;
use std::collections::{BTreeMap, HashMap};

pub(crate) struct Block {
    pub seq: usize,
    pub first_line: u64,
    pub data: Vec<u8>,
    /// End of each line in `data`, and its full length when it was cut.
    pub lines: Vec<(usize, Option<u64>)>,
}

impl Block {
    pub fn new(seq: usize, first_line: u64, lines: usize, bytes: usize) -> Self {
        Self {
            seq,
            first_line,
            data: Vec::with_capacity(bytes),
            lines: Vec::with_capacity(lines),
        }
    }

    pub fn push(&mut self, bytes: &[u8], oversized: Option<u64>) {
        self.data.extend_from_slice(bytes);
        self.lines.push((self.data.len(), oversized));
    }

    fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.lines[i - 1].0 };
        &self.data[start..self.lines[i].0]
    }
}

pub(crate) struct Decoded {
    pub seq: usize,
    pub batches: Vec<(Partition, RecordBatch)>,
    /// Line number, bytes, full length when cut, and why.
    pub rejects: Vec<(u64, Vec<u8>, Option<u64>, Rejection)>,
    pub by_dataset: BTreeMap<EventType, u64>,
    /// Events the zone or the commit already holds, byte for byte.
    pub duplicates: u64,
    /// The dedup index could not be read: the block decides nothing.
    pub failure: Option<msma_sink::Error>,
}

impl Decoded {
    /// Block `seq` decoded into nothing yet.
    pub fn nothing(seq: usize) -> Self {
        Self {
            seq,
            batches: Vec::new(),
            rejects: Vec::new(),
            by_dataset: BTreeMap::new(),
            duplicates: 0,
            failure: None,
        }
    }
}

/// Decodes the lines `which` of `block` into `transform`'s buffers; the caller takes
/// the rows from there when it wants them as batches.
pub(crate) fn decode_lines(
    block: &Block,
    which: impl Iterator<Item = usize>,
    transform: &mut Transform,
    max_line_bytes: usize,
) -> Decoded {
    let mut out = Decoded::nothing(block.seq);
    for i in which {
        let bytes = block.line(i);
        let oversized = block.lines[i].1;
        let outcome = match oversized {
            Some(len) => Err(PushError::Rejected(Rejection::new(
                RejectKind::OversizedLine,
                format!("line of {len} bytes is over the limit of {max_line_bytes} bytes"),
            ))),
            None => decode(bytes)
                .map_err(PushError::Rejected)
                .and_then(|ev| transform.push(&ev, bytes, block.seq as u64).map(|p| (p, ev.event_type))),
        };
        match outcome {
            Ok((Pushed::Row, event_type)) => *out.by_dataset.entry(event_type).or_default() += 1,
            Ok((Pushed::Duplicate, _)) => out.duplicates += 1,
            Err(PushError::Rejected(why)) => {
                out.rejects
                    .push((block.first_line + i as u64, bytes.to_vec(), oversized, why))
            }
            Err(PushError::Index(e)) => {
                out.failure = Some(e);
                break;
            }
        }
    }
    out
}

/// Decodes every line of `block` into one batch per partition.
pub(crate) fn decode_block(block: &Block, transform: &mut Transform, max_line_bytes: usize) -> Decoded {
    let mut decoded = decode_lines(block, 0..block.lines.len(), transform, max_line_bytes);
    decoded.batches = transform.take();
    decoded
}

/// Batches waiting to become row groups, by partition.
#[derive(Default)]
pub(crate) struct Gathered {
    parts: HashMap<Partition, (Vec<RecordBatch>, usize)>,
    /// Arrow memory held.
    pub bytes: usize,
}

impl Gathered {
    pub fn add(&mut self, part: Partition, batch: RecordBatch) {
        let size = batch.get_array_memory_size();
        let (batches, bytes) = self.parts.entry(part).or_default();
        batches.push(batch);
        *bytes += size;
        self.bytes += size;
    }

    /// The largest partitions' rows, a row group each, until at most `keep` bytes are
    /// left (0: all of them).
    pub fn take_largest(&mut self, keep: usize) -> Vec<RowGroup> {
        let mut order: Vec<_> = self.parts.iter().map(|(p, (_, bytes))| (*bytes, p.clone())).collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut groups = Vec::new();
        for (bytes, part) in order {
            if self.bytes <= keep && keep > 0 {
                break;
            }
            let (batches, _) = self.parts.remove(&part).expect("listed");
            groups.push(crate::transform::row_group(&part, batches));
            self.bytes -= bytes;
        }
        groups
    }
}
