//! One segment of a file ingest on every core. The calling thread reads and hashes
//! lines and cuts them into blocks; decoders turn blocks into Arrow batches in
//! parallel; one writer takes their results in input order, writes the dead letters and
//! gathers each partition's rows into large row groups. The output does not depend on
//! the number of threads (the sink sorts each row group). Blocks come from a pool that
//! the writer gives them back to, so the lines in flight are bounded however far the
//! decoders drift apart.

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

/// Lines and bytes per block: enough to amortise a hand-off, few enough to bound
/// memory (a block holds more bytes only for a single longer line).
const BLOCK_LINES: usize = 8192;
const BLOCK_BYTES: usize = 1 << 20;

/// Arrow data the writer gathers before it writes its largest partitions out (half of
/// it each time). The batches cost more than their buffers (a header per buffer, a
/// batch per partition and block), and the commit's dedup set grows beside them: 16 MiB
/// keeps a file ingest under 128 MiB.
const BUFFER_BYTES: usize = 16 << 20;

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
            match writer.accept(&block, decoded) {
                Ok(()) => Some(block),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read
    } else {
        let decoder = || {
            let mut transform = transform.fresh();
            move |block: &Block| decode_block(block, &mut transform, max_line_bytes)
        };
        let accept = |block: &Block, decoded| writer.accept(block, decoded);
        in_parallel(threads, decoder, accept, |work, pool| {
            read_blocks(reader, bounds, transform.segment_digest(), |block| {
                work.send(block).ok()?;
                pool.take()
            })
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

/// Decodes blocks in `threads` threads, each decoding with one `decoder` makes, while
/// `read` reads them in the calling thread: it hands each on to its first argument and
/// takes the next to fill from the pool. `accept` takes them in input order, in a
/// thread of its own.
fn in_parallel<R, D>(
    threads: usize,
    decoder: impl Fn() -> D,
    accept: impl FnMut(&Block, Decoded) -> Result<(), IngestError> + Send,
    read: impl FnOnce(&SyncSender<Block>, &mut Pool) -> R,
) -> Result<R, IngestError>
where
    D: FnMut(&Block) -> Decoded + Send,
{
    let (work_tx, work_rx) = sync_channel::<Block>(threads);
    // Dropped with the last decoder: the reader then stops too.
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<(Block, Decoded)>(threads);
    let (mut pool, free_tx) = Pool::new(threads);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (rx, tx, decode) = (work_rx.clone(), done_tx.clone(), decoder());
            s.spawn(move || decode_blocks(&rx, &tx, decode));
        }
        drop(work_rx);
        drop(done_tx);
        let writing = s.spawn(move || in_order(done_rx, free_tx, accept));
        let read = read(&work_tx, &mut pool);
        drop((work_tx, pool));
        // The writer stops at its first error; the reader then stops too (its
        // channels close), so the writer's error is the cause and comes first.
        writing.join().expect("the writer does not panic")?;
        Ok(read)
    })
}

/// The blocks of a segment decoded in parallel: being filled, queued, decoded, or
/// waiting in the writer for an earlier one. The reader makes up to `2 × threads + 2`
/// of them, then waits for the writer to give one back.
struct Pool {
    free: Receiver<Block>,
    made: usize,
    size: usize,
}

impl Pool {
    /// The pool, and the end the writer gives blocks back through.
    fn new(threads: usize) -> (Self, SyncSender<Block>) {
        let size = 2 * threads + 2;
        let (free_tx, free) = sync_channel(size);
        // The first block is made by `read_blocks`.
        (Self { free, made: 1, size }, free_tx)
    }

    /// The next block to fill: [`Pool::try_take`]'s, or else the next one the writer
    /// gives back; none once the writer has gone (it failed).
    fn take(&mut self) -> Option<Block> {
        self.try_take().or_else(|| self.free.recv().ok())
    }

    /// A block given back, or a new one while fewer than the pool's exist; none when
    /// every block is out.
    fn try_take(&mut self) -> Option<Block> {
        if let Ok(free) = self.free.try_recv() {
            return Some(free);
        }
        (self.made < self.size).then(|| {
            self.made += 1;
            Block::new(0, 0, BLOCK_LINES, BLOCK_BYTES)
        })
    }
}

/// Reads and hashes lines into blocks, handing each full one to `send`, which returns
/// an empty block to fill next, or none to stop; returns the last line read, the
/// digest, and whether the segment matched a committed one.
fn read_blocks(
    reader: &mut LineReader,
    bounds: &Bounds,
    mut digest: SegmentDigest,
    mut send: impl FnMut(Block) -> Option<Block>,
) -> Result<(u64, SegmentDigest, bool), IngestError> {
    let mut line_no = bounds.after;
    let mut seq = 0;
    let mut block = Block::new(seq, line_no + 1, BLOCK_LINES, BLOCK_BYTES);
    let mut matched = false;
    while let Some(line) = reader.next(&mut |b| digest.update(b)).map_err(IngestError::Input)? {
        let full = block.lines.len() == BLOCK_LINES || block.data.len() + line.bytes.len() > BLOCK_BYTES;
        if full && !block.lines.is_empty() {
            let Some(mut next) = send(block) else {
                // The writer failed; its error is reported.
                return Ok((line_no, digest, matched));
            };
            seq += 1;
            next.seq = seq;
            next.first_line = line_no + 1;
            next.data.clear();
            next.lines.clear();
            block = next;
        }
        line_no += 1;
        block.push(line.bytes, line.oversized);
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
    }
    if !block.lines.is_empty() && !matched {
        send(block);
    }
    Ok((line_no, digest, matched))
}

fn decode_blocks(
    work: &Mutex<Receiver<Block>>,
    done: &SyncSender<(Block, Decoded)>,
    mut decode: impl FnMut(&Block) -> Decoded,
) {
    loop {
        let Ok(block) = work.lock().expect("no decoder panics").recv() else {
            return;
        };
        let decoded = decode(&block);
        if done.send((block, decoded)).is_err() {
            return;
        }
    }
}

/// Takes blocks from decoders, which finish them out of order, `accept`s them in input
/// order, and gives each back to the pool once done with it.
fn in_order(
    done: Receiver<(Block, Decoded)>,
    free: SyncSender<Block>,
    mut accept: impl FnMut(&Block, Decoded) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut waiting: BTreeMap<usize, (Block, Decoded)> = BTreeMap::new();
    let mut next = 0;
    for (block, decoded) in done {
        waiting.insert(decoded.seq, (block, decoded));
        while let Some((block, d)) = waiting.remove(&next) {
            next += 1;
            accept(&block, d)?;
            // The pool holds every block: this never waits (nor fails but at the end).
            let _ = free.send(block);
        }
    }
    Ok(())
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

    fn accept(&mut self, block: &Block, d: Decoded) -> Result<(), IngestError> {
        if let Some(e) = d.failure {
            return Err(e.into());
        }
        let cap = self.capped.cap().expect("the writer's transform has a cap");
        let mut d = if cap.admit_all(d.batches.iter().map(|(p, _)| p)) {
            d
        } else {
            self.capped.forget_events(block.seq as u64);
            decode_block(block, &mut self.capped, self.max_line_bytes)
        };
        if let Some(e) = d.failure.take() {
            return Err(e.into());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::Input;
    use msma_pseudo::{MasterKey, Pseudonymiser, StudyId};

    fn digest() -> SegmentDigest {
        let study = MasterKey::from_bytes([7; 32]).study_key(&StudyId::new("s").unwrap());
        Pseudonymiser::new(&study).segment_digest()
    }

    /// The whole input.
    fn everything() -> Bounds<'static> {
        Bounds {
            after: 0,
            end: u64::MAX,
            candidates: &[],
        }
    }

    /// Every block handed on, as (lines, bytes, capacity), reading `input` whole.
    fn blocks(input: Vec<u8>) -> Vec<(usize, usize, usize)> {
        let stream = Input::Stream(Box::new(std::io::Cursor::new(input)));
        let mut reader = LineReader::new(stream, 4 << 20);
        let mut seen = Vec::new();
        read_blocks(&mut reader, &everything(), digest(), |b| {
            seen.push((b.lines.len(), b.data.len(), b.data.capacity()));
            Some(b)
        })
        .unwrap();
        seen
    }

    /// A block's decoding that finds nothing.
    fn nothing(block: &Block) -> Decoded {
        Decoded::nothing(block.seq)
    }

    /// The writer fails (its dead letters cannot be written) while the reader has much
    /// left to read: the decoders stop, and the reader with them, on the writer's error.
    #[test]
    fn the_reader_stops_when_the_writer_fails() {
        let input: Vec<u8> = b"x\n".repeat(40 * BLOCK_LINES);
        for threads in [2, 3] {
            let accept = |block: &Block, _| match block.seq {
                3 => Err(IngestError::DeadLetters(std::io::ErrorKind::StorageFull.into())),
                _ => Ok(()),
            };
            let mut reader = LineReader::new(Input::Stream(Box::new(std::io::Cursor::new(&input))), 4 << 20);
            let mut sent = 0;
            let failed = in_parallel(
                threads,
                || nothing,
                accept,
                |work, pool| {
                    read_blocks(&mut reader, &everything(), digest(), |block| {
                        sent += 1;
                        work.send(block).ok()?;
                        pool.take()
                    })
                },
            );
            assert!(matches!(failed, Err(IngestError::DeadLetters(_))), "{threads} threads");
            assert!(sent < 40, "{threads} threads: {sent} blocks sent");
        }
    }

    /// A decoder holds the first block back (as if descheduled) while the others decode
    /// the next ones and the writer keeps them, waiting for the first: the reader runs
    /// ahead as far as the pool and no further. The first block is let go once the
    /// reader finds every block out (or has read all, were the pool unbounded).
    #[test]
    fn a_held_back_decoder_stops_the_reader_at_the_pool() {
        let blocks = 40;
        let input: Vec<u8> = b"x\n".repeat(blocks * BLOCK_LINES);
        for threads in [2, 3] {
            let (hold, held) = std::sync::mpsc::channel::<()>();
            let held = Mutex::new(held);
            let decoder = || {
                |block: &Block| {
                    if block.seq == 0 {
                        held.lock().unwrap().recv().unwrap();
                    }
                    nothing(block)
                }
            };
            let mut accepted = Vec::new();
            let accept = |block: &Block, d: Decoded| {
                accepted.push((d.seq, block.lines.len()));
                Ok(())
            };
            // Blocks alive: each has its own buffer, kept from first to last.
            let mut alive = std::collections::HashSet::new();
            let mut reader = LineReader::new(Input::Stream(Box::new(std::io::Cursor::new(&input))), 4 << 20);
            in_parallel(threads, decoder, accept, |work, pool| {
                let release = || hold.send(()).unwrap();
                let read = read_blocks(&mut reader, &everything(), digest(), |block| {
                    alive.insert(block.data.as_ptr());
                    work.send(block).ok()?;
                    pool.try_take().or_else(|| {
                        release();
                        pool.take()
                    })
                });
                release();
                read
            })
            .unwrap()
            .unwrap();
            assert_eq!(alive.len(), 2 * threads + 2, "{threads} threads: blocks alive");
            let in_order: Vec<(usize, usize)> = (0..blocks).map(|seq| (seq, BLOCK_LINES)).collect();
            assert_eq!(accepted, in_order, "{threads} threads");
        }
    }

    #[test]
    fn blocks_are_bounded_in_bytes_as_well_as_lines() {
        let line = |n: usize| [vec![b'x'; n - 1], vec![b'\n']].concat();
        // 3,000 lines of 1,000 bytes: three blocks under the byte bound, however few lines.
        let got = blocks((0..3000).flat_map(|_| line(1000)).collect());
        assert_eq!(got.iter().map(|b| b.0).sum::<usize>(), 3000);
        assert!(got.len() >= 3, "{got:?}");
        for (_, bytes, capacity) in &got {
            assert!(*bytes <= BLOCK_BYTES && *capacity <= BLOCK_BYTES, "{got:?}");
        }
        // Short lines: the line bound.
        let got = blocks((0..20_000).flat_map(|_| line(10)).collect());
        assert_eq!(got.iter().map(|b| b.0).collect::<Vec<_>>(), [8192, 8192, 3616]);
        // A line longer than a block is a block of its own.
        let got = blocks([line(100), line(3 << 20), line(100)].concat());
        assert_eq!(got.iter().map(|b| b.0).collect::<Vec<_>>(), [1, 1, 1]);
    }
}
