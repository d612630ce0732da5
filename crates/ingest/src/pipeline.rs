//! One segment of a file ingest on every core. The calling thread reads and hashes
//! lines and cuts them into blocks; decoders turn blocks into Arrow batches in
//! parallel; one writer takes their results in input order, writes the dead letters and
//! gathers each partition's rows into large row groups. The output does not depend on
//! the number of threads (the sink sorts each row group).

use crate::block::{Block, Decoded, Gathered, decode_block};
use crate::deadletter::{DeadLetterSink, DeadLetters};
use crate::error::IngestError;
use crate::lines::LineReader;
use crate::options::Options;
use crate::transform::{PartitionCap, Transform};
use msma_pseudo::SegmentDigest;
use msma_schema::RejectKind;
use msma_sink::{RowCounts, Txn};
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Lines per block: enough to amortise a hand-off, few enough to bound memory.
const BLOCK_LINES: usize = 8192;

/// Arrow data the writer gathers before it writes its largest partitions out.
const BUFFER_BYTES: usize = 32 << 20;

/// A segment: the lines after `after` up to line `end`, or up to a committed segment's
/// last line when the hash so far matches it (`candidates`: last line, SHA-256).
pub struct Bounds<'a> {
    pub after: u64,
    pub end: u64,
    pub candidates: &'a [(u64, String)],
}

/// What a segment read and wrote.
pub struct Segment {
    /// The last line read.
    pub last_line: u64,
    /// Keyed digest of the segment's bytes.
    pub digest: SegmentDigest,
    /// The segment matched a committed one: its rows are to be dropped.
    pub matched: bool,
    pub counts: RowCounts,
    pub rejected: BTreeMap<RejectKind, u64>,
}

/// Reads the segment's lines, decoding them in `opts.threads` threads (with one,
/// everything runs in the calling thread: no hand-offs to pay).
pub fn run(
    reader: &mut LineReader,
    bounds: &Bounds,
    transform: &Transform,
    opts: &Options,
    txn: &mut Txn,
    dead: &mut DeadLetters,
) -> Result<Segment, IngestError> {
    let (threads, max_line_bytes) = (opts.threads, opts.max_line_bytes);
    let mut writer = Writer::new(
        txn,
        dead,
        transform.with_cap(PartitionCap::new(opts.max_partitions)),
        max_line_bytes,
    );
    let read = if threads <= 1 {
        let mut transform = transform.fresh();
        let mut failed = None;
        let read = read_blocks(reader, bounds, transform.segment_digest(), |block| {
            let decoded = decode_block(&block, &mut transform, max_line_bytes);
            writer.accept(block, decoded).map_err(|e| failed = Some(e)).is_ok()
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read
    } else {
        let (work_tx, work_rx) = sync_channel::<Block>(threads);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = sync_channel::<(Block, Decoded)>(threads);
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (rx, tx, transform) = (work_rx.clone(), done_tx.clone(), transform.fresh());
                s.spawn(move || decoder(&rx, &tx, transform, max_line_bytes));
            }
            drop(done_tx);
            let writing = s.spawn(|| writer.accept_in_order(done_rx));
            let read = read_blocks(reader, bounds, transform.segment_digest(), |block| {
                work_tx.send(block).is_ok()
            });
            drop(work_tx);
            // The writer stops at its first error; the reader then stops too (its
            // channel closes), so the writer's error is the cause and comes first.
            writing.join().expect("the writer does not panic")?;
            Ok::<_, IngestError>(read)
        })?
    };
    let (end, digest, matched) = read?;
    let (mut counts, rejected) = writer.finish()?;
    // Lines of a matched segment's last block are not decoded, but were read.
    counts.read = end - bounds.after;
    Ok(Segment {
        last_line: end,
        digest,
        matched,
        counts,
        rejected,
    })
}

/// Reads and hashes lines into blocks, handing each to `send` until it returns false;
/// returns the last line read, the digest, and whether the segment matched a committed
/// one.
fn read_blocks(
    reader: &mut LineReader,
    bounds: &Bounds,
    mut digest: SegmentDigest,
    mut send: impl FnMut(Block) -> bool,
) -> Result<(u64, SegmentDigest, bool), IngestError> {
    let mut line_no = bounds.after;
    let mut seq = 0;
    let new_block = |seq, first_line| Block::new(seq, first_line, BLOCK_LINES, 2 << 20);
    let mut block = new_block(seq, line_no + 1);
    let mut matched = false;
    while let Some(oversized) =
        (reader.next_into(&mut block.data, &mut |b| digest.update(b))).map_err(IngestError::Input)?
    {
        line_no += 1;
        block.end_line(oversized);
        if bounds.candidates.iter().any(|(last, _)| *last == line_no) {
            let so_far = digest.hex();
            if bounds
                .candidates
                .iter()
                .any(|(last, h)| *last == line_no && *h == so_far)
            {
                matched = true;
                break;
            }
        }
        if line_no == bounds.end {
            break;
        }
        if block.lines.len() == BLOCK_LINES {
            seq += 1;
            let full = std::mem::replace(&mut block, new_block(seq, line_no + 1));
            if !send(full) {
                // The writer failed; its error is reported.
                return Ok((line_no, digest, matched));
            }
        }
    }
    if !block.lines.is_empty() && !matched {
        send(block);
    }
    Ok((line_no, digest, matched))
}

fn decoder(
    work: &Mutex<Receiver<Block>>,
    done: &SyncSender<(Block, Decoded)>,
    mut transform: Transform,
    max_line_bytes: usize,
) {
    loop {
        let Ok(block) = work.lock().expect("no decoder panics").recv() else {
            return;
        };
        let decoded = decode_block(&block, &mut transform, max_line_bytes);
        if done.send((block, decoded)).is_err() {
            return;
        }
    }
}

type Written = (RowCounts, BTreeMap<RejectKind, u64>);

/// Takes decoded blocks in input order: dead letters, then rows gathered by partition.
struct Writer<'a, 't> {
    txn: &'a mut Txn<'t>,
    dead: &'a mut DeadLetters,
    counts: RowCounts,
    rejected: BTreeMap<RejectKind, u64>,
    gathered: Gathered,
    /// Decodes again, in input order, a block whose rows would open partitions past the
    /// commit's cap: which lines are dead-lettered does not depend on the threads.
    capped: Transform,
    max_line_bytes: usize,
}

impl<'a, 't> Writer<'a, 't> {
    fn new(txn: &'a mut Txn<'t>, dead: &'a mut DeadLetters, capped: Transform, max_line_bytes: usize) -> Self {
        Self {
            txn,
            dead,
            counts: RowCounts::default(),
            rejected: BTreeMap::new(),
            gathered: Gathered::default(),
            capped,
            max_line_bytes,
        }
    }

    /// Takes blocks from decoders, which finish them out of order.
    fn accept_in_order(&mut self, done: Receiver<(Block, Decoded)>) -> Result<(), IngestError> {
        let mut waiting: BTreeMap<usize, (Block, Decoded)> = BTreeMap::new();
        let mut next = 0;
        for (block, decoded) in done {
            waiting.insert(decoded.seq, (block, decoded));
            while let Some((block, d)) = waiting.remove(&next) {
                next += 1;
                self.accept(block, d)?;
            }
        }
        Ok(())
    }

    fn accept(&mut self, block: Block, d: Decoded) -> Result<(), IngestError> {
        if let Some(e) = d.failure {
            return Err(e.into());
        }
        let cap = self.capped.cap().expect("the writer's transform has a cap");
        let mut d = if cap.admit_all(d.batches.iter().map(|(p, _)| p)) {
            d
        } else {
            self.capped.forget_events(block.seq as u64);
            decode_block(&block, &mut self.capped, self.max_line_bytes)
        };
        if let Some(e) = d.failure.take() {
            return Err(e.into());
        }
        drop(block);
        for (line, bytes, oversized, why) in &d.rejects {
            self.dead
                .reject(*line, bytes, *oversized, why)
                .map_err(IngestError::DeadLetters)?;
            *self.rejected.entry(why.kind).or_default() += 1;
        }
        let written: u64 = d.by_dataset.values().sum();
        self.counts.read += written + d.rejects.len() as u64 + d.duplicates;
        self.counts.written += written;
        self.counts.rejected += d.rejects.len() as u64;
        self.counts.duplicates += d.duplicates;
        for (part, batch) in d.batches {
            self.gathered.add(part, batch);
        }
        if self.gathered.bytes > BUFFER_BYTES {
            self.txn.write_all(self.gathered.take_largest(BUFFER_BYTES / 2))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Written, IngestError> {
        self.txn.write_all(self.gathered.take_largest(0))?;
        Ok((self.counts, self.rejected))
    }
}
