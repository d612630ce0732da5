//! Ingest from an NDJSON file or stream, exactly once.
//!
//! The input is cut into segments of lines; each segment is one commit whose record
//! names its line range and a digest of its bytes keyed under the study key. A segment that matches a committed
//! one (same first line, same last line, same bytes) is skipped, so running the same
//! input again writes nothing, and a run killed at any point resumes where its last
//! commit ended. Boundaries follow earlier commits when there are any, so a different
//! `commit_lines` cannot shift them. From a file, committed segments are only hashed,
//! not processed (resuming costs a read of what is done); from a stream, whose lines
//! cannot be read twice, a segment is processed and its result dropped if it matches.

use crate::commit::{self, Batch, Outcome, Report};
use crate::deadletter::{DeadLetterSink, DeadLetters};
use crate::error::IngestError;
use crate::lines::{Input, LineReader};
use crate::options::Options;
use crate::pipeline::{self, Bounds};
use crate::transform::Transform;
use msma_sink::{Source, Zone};

/// Ingests every line of `input` into `zone`. `name` identifies the input in dead
/// letters (the identified zone), never in the research zone.
pub fn ingest(
    input: Input,
    name: &str,
    zone: &mut Zone,
    transform: &Transform,
    dead: &mut DeadLetters,
    opts: &Options,
) -> Result<Report, IngestError> {
    if zone.state().legacy_sources {
        return Err(IngestError::LegacySegments);
    }
    let input = crate::sniff::ndjson(input, name)?;
    dead.input(name);
    // Events the zone holds already are not written again; those of patients who
    // withdrew are kept out.
    let transform = &transform.for_zone(zone);
    let committed = &zone.state().segments.clone();
    let mut reader = LineReader::new(input, opts.max_line_bytes).publishing(opts.lines_read.clone());
    let mut report = Report::default();
    let mut line_no: u64 = 0;
    loop {
        let first = line_no + 1;
        let mut candidates = committed.get(&first).map(Vec::as_slice).unwrap_or_default();
        if !candidates.is_empty() && reader.can_seek() {
            let start = reader.offset();
            if let Some(last) = skip_committed(&mut reader, first, candidates, transform)? {
                report.read += last + 1 - first;
                report.already_committed += last + 1 - first;
                line_no = last;
                tracing::info!(
                    first_line = first,
                    last_line = last,
                    "segment already committed, skipped"
                );
                continue;
            }
            reader.seek(start).map_err(IngestError::Input)?;
            candidates = &[];
        }
        let end = match candidates.iter().map(|(last, _)| *last).max() {
            Some(last) => last,
            None => first + opts.commit_lines.max(1) - 1,
        };
        let start = reader.can_seek().then(|| reader.offset());
        let mut txn = zone.begin()?;
        txn.set_threads(opts.threads);
        txn.set_withdrawn_seen(transform.withdrawn_seen());
        let bounds = Bounds {
            after: line_no,
            end,
            candidates,
        };
        let seg = pipeline::run(&mut reader, &bounds, transform, opts, &mut txn, dead)?;
        line_no = seg.last_line;
        let counts = seg.counts;
        if counts.read == 0 || seg.matched {
            txn.abort()?;
            drop(transform.take_events());
            dead.forget().map_err(IngestError::DeadLetters)?;
            report.read += counts.read;
            report.already_committed += counts.read;
            if seg.matched {
                tracing::info!(
                    first_line = first,
                    last_line = line_no,
                    "segment already committed, skipped"
                );
                continue;
            }
            break;
        }
        // Dead letters first: a crash between the two repeats them, never loses them.
        dead.settle().map_err(IngestError::DeadLetters)?;
        let batch = Batch {
            source: Source::Segment {
                first_line: first,
                last_line: line_no,
                hmac_sha256: seg.digest.hex(),
            },
            counts,
            rejected: seg.rejected,
        };
        report.read += counts.read;
        txn.set_events(transform.take_events());
        match commit::commit(txn, batch, &mut report)? {
            Outcome::Committed(_) => {}
            Outcome::Conflict(seq) => {
                // Another process committed this very segment meanwhile (its dead letters
                // may now be in the file twice: at least once, as documented).
                tracing::info!(
                    first_line = first,
                    last_line = line_no,
                    record = seq,
                    "segment committed by another writer"
                );
                report.already_committed += counts.read;
            }
            Outcome::Retry(seq) => {
                // Another writer committed some of its events meanwhile, or a patient
                // withdrew: read it again, and they are duplicates, or kept out, now (a
                // stream cannot be read again).
                let start = start.ok_or(IngestError::CommittedMeanwhile(seq))?;
                tracing::info!(
                    first_line = first,
                    record = seq,
                    "events committed meanwhile; segment read again"
                );
                reader.seek(start).map_err(IngestError::Input)?;
                report.read -= counts.read;
                line_no = first - 1;
            }
        }
    }
    Ok(report)
}

/// Hashes lines from `first` on without processing them; the last line of the
/// committed segment they turn out to be, if any.
fn skip_committed(
    reader: &mut LineReader,
    first: u64,
    candidates: &[(u64, String)],
    transform: &Transform,
) -> Result<Option<u64>, IngestError> {
    let end = candidates.iter().map(|(last, _)| *last).max().unwrap_or(first);
    let mut digest = transform.segment_digest();
    let mut line_no = first - 1;
    while line_no < end
        && reader
            .next(&mut |b| digest.update(b))
            .map_err(IngestError::Input)?
            .is_some()
    {
        line_no += 1;
        if candidates
            .iter()
            .any(|(last, h)| *last == line_no && *h == digest.hex())
        {
            return Ok(Some(line_no));
        }
    }
    Ok(None)
}
