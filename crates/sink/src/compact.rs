//! Rewrites: live files read back and their rows written again, in one commit that
//! retires them. Compaction rewrites the small files of a partition into one (and merges
//! the dedup index's runs into one), keeping every row; a row filter makes the same
//! commit leave rows out. The commit is refused unless the new files hold exactly the
//! rows kept ([`crate::RowsDigest`]), and fenced against another writer's rewrite.

use crate::digest::RowsDigest;
use crate::log::{CommitRecord, FileEntry, RowCounts, Source};
use crate::read::{ZoneReader, block_on};
use crate::zone::Zone;
use crate::{Error, Result};
use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::ArrowError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Which rows of a batch a rewrite keeps (true); the others are removed.
pub type Keep<'a> = &'a dyn Fn(&RecordBatch) -> std::result::Result<BooleanArray, ArrowError>;

/// Files of a partition (and runs of the dedup index) past which compaction is worth
/// it, by default: a trickle's partitions then hold at most this many files, each read
/// by a query of the partition.
pub const COMPACT_MIN_FILES: usize = 8;

/// Rows gathered before they are written as a row group of the new file.
const GROUP_ROWS: usize = 128 * 1024;

/// What [`Zone::compact`] did.
#[derive(Debug, Default)]
pub struct Compacted {
    /// The commit, `None` when nothing was worth compacting.
    pub record: Option<CommitRecord>,
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    pub runs_before: usize,
}

/// A dataset file's place: dataset, schema version, partition.
type Part = (String, u16, String);

fn part_of(f: &FileEntry) -> Part {
    let partition = f
        .path
        .strip_prefix(&format!("{}/", f.dataset))
        .and_then(|p| p.rsplit_once('/'))
        .map_or("", |(p, _)| p);
    (f.dataset.clone(), f.schema_version, partition.to_owned())
}

impl Zone {
    /// Rewrites each partition of `min_files` live files or more into one file, and the
    /// dedup index's runs into one when there are `min_files` or more, in one commit.
    /// The state is the one read last: a commit refreshed it.
    pub fn compact(&mut self, min_files: usize) -> Result<Compacted> {
        let min_files = min_files.max(2);
        let mut parts: BTreeMap<Part, Vec<FileEntry>> = BTreeMap::new();
        for f in self.state.files.values() {
            parts.entry(part_of(f)).or_default().push(f.clone());
        }
        let files: Vec<FileEntry> = (parts.values())
            .filter(|fs| fs.len() >= min_files)
            .flatten()
            .cloned()
            .collect();
        let runs = self.state.runs.len();
        let merge_runs = runs >= min_files;
        let mut done = Compacted {
            partitions: parts.values().filter(|fs| fs.len() >= min_files).count(),
            files_before: files.len(),
            runs_before: if merge_runs { runs } else { 0 },
            ..Compacted::default()
        };
        if files.is_empty() && !merge_runs {
            return Ok(done);
        }
        let record = self.rewrite(&files, None, merge_runs, Source::Compaction)?;
        done.files_after = record.files.len();
        done.record = Some(record);
        Ok(done)
    }

    /// Rewrites the live dataset `files` (each partition's into one file), keeping the
    /// rows `keep` selects (all without it), and the live dedup runs into one if
    /// `merge_runs`: one commit of `source` that retires them. Each file is checked
    /// against its record (SHA-256, rows' digest) as it is read. Fails with
    /// [`Error::Retired`] when another writer retired one of them meanwhile.
    pub fn rewrite(
        &mut self,
        files: &[FileEntry],
        keep: Option<Keep<'_>>,
        merge_runs: bool,
        source: Source,
    ) -> Result<CommitRecord> {
        let reader = ZoneReader::open(self.location())?;
        let runs: Vec<FileEntry> = match merge_runs {
            true => self.state.runs.values().map(|r| r.file.clone()).collect(),
            false => Vec::new(),
        };
        let mut events = Vec::new();
        for run in &runs {
            let bytes = read_checked(&reader, run).map_err(|e| self.retired_meanwhile(e, &runs))?;
            events.extend(crate::dedup::parse_run(&run.path, &bytes)?);
        }
        events.sort_unstable();
        let mut parts: BTreeMap<Part, Vec<&FileEntry>> = BTreeMap::new();
        for f in files {
            parts.entry(part_of(f)).or_default().push(f);
        }
        let mut txn = self.begin()?;
        let read = fill(&mut txn, &reader, parts, keep);
        let (mut retired, rows, removed) = match read {
            Ok(read) => read,
            Err(e) => {
                let _ = txn.abort();
                return Err(self.retired_meanwhile(e, files));
            }
        };
        retired.extend(runs);
        txn.set_events(events);
        txn.set_retired(retired, removed);
        txn.commit(source, rows)
    }

    /// `e`, or [`Error::Retired`] when `e` is one of `inputs` found missing because
    /// another writer retired it since the state was read: the race a commit's check
    /// would have lost too, known by the log read again.
    pub(crate) fn retired_meanwhile(&mut self, e: Error, inputs: &[FileEntry]) -> Error {
        if !matches!(e, Error::Missing(_)) {
            return e;
        }
        match self.refresh() {
            Ok(()) if inputs.iter().any(|f| !crate::txn::live(&self.state, f)) => Error::Retired(self.state.seq()),
            Ok(()) => e,
            Err(refresh) => refresh,
        }
    }
}

/// Writes the rows `keep` selects of the files of each partition into `txn`: the files
/// to retire (with their rows' digests), the rows read, written and removed, and the
/// digest of those removed.
fn fill(
    txn: &mut crate::Txn<'_>,
    reader: &ZoneReader,
    parts: BTreeMap<Part, Vec<&FileEntry>>,
    keep: Option<Keep<'_>>,
) -> Result<(Vec<FileEntry>, RowCounts, RowsDigest)> {
    let mut retired = Vec::new();
    let (mut rows, mut removed) = (RowCounts::default(), RowsDigest::default());
    for ((dataset, version, partition), inputs) in parts {
        let mut group: Vec<RecordBatch> = Vec::new();
        for input in inputs {
            let bytes = read_checked(reader, input)?;
            let mut digest = RowsDigest::default();
            let parquet = |e| Error::parquet(Path::new(&input.path), e);
            for batch in ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                .and_then(|b| b.build())
                .map_err(parquet)?
            {
                let batch = plain(batch.map_err(|e| parquet(e.into()))?);
                digest.add(&RowsDigest::of_batch(&batch).map_err(|e| parquet(e.into()))?);
                rows.read += batch.num_rows() as u64;
                let kept = match keep {
                    None => batch,
                    Some(keep) => split(&batch, keep, &mut removed).map_err(|e| parquet(e.into()))?,
                };
                rows.written += kept.num_rows() as u64;
                if kept.num_rows() > 0 {
                    group.push(kept);
                }
                if group.iter().map(RecordBatch::num_rows).sum::<usize>() >= GROUP_ROWS {
                    txn.write(&dataset, version, &partition, &std::mem::take(&mut group))?;
                }
            }
            if input.rows_digest.as_deref().is_some_and(|d| d != digest.to_hex()) {
                return Err(Error::Ledger(format!(
                    "file {} holds other rows than its record says",
                    input.path
                )));
            }
            retired.push(FileEntry {
                rows_digest: Some(digest.to_hex()),
                ..input.clone()
            });
        }
        txn.write(&dataset, version, &partition, &group)?;
    }
    rows.removed = rows.read - rows.written;
    Ok((retired, rows, removed))
}

/// The bytes of a live file, refused unless they are those its record lists;
/// [`Error::Missing`] when there is none.
fn read_checked(reader: &ZoneReader, file: &FileEntry) -> Result<Vec<u8>> {
    let bytes = block_on(reader.read_opt(&file.path))??.ok_or_else(|| Error::Missing(file.path.clone()))?;
    if hex::encode(Sha256::digest(&bytes)) != file.sha256 {
        return Err(Error::Ledger(format!(
            "file {} was modified after its record (SHA-256)",
            file.path
        )));
    }
    Ok(bytes)
}

/// The batch without the schema metadata the Parquet reader adds (the file's key-value
/// metadata): the writer sets its own.
fn plain(batch: RecordBatch) -> RecordBatch {
    let schema = batch.schema().as_ref().clone().with_metadata(Default::default());
    batch.with_schema(Arc::new(schema)).expect("the same fields")
}

/// The rows of `batch` that `keep` selects, adding those it removes to `removed`.
fn split(
    batch: &RecordBatch,
    keep: Keep<'_>,
    removed: &mut RowsDigest,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mask = keep(batch)?;
    let dropped: BooleanArray = mask.iter().map(|k| Some(k != Some(true))).collect();
    removed.add(&RowsDigest::of_batch(&arrow_select::filter::filter_record_batch(
        batch, &dropped,
    )?)?);
    arrow_select::filter::filter_record_batch(batch, &mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Identity, RowCounts};
    use crate::{Error, Location};
    use arrow_array::Int16Array;

    fn open(location: &Location) -> Zone {
        let identity = Identity {
            study_id: "a".into(),
            key_id: "0123456789abcdef".into(),
            policy: serde_json::json!({}),
        };
        Zone::open(location.clone(), identity).unwrap()
    }

    /// A commit of one file in one partition, with a dedup run of one event.
    fn commit(zone: &mut Zone, line: u64) {
        let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "x",
            arrow_schema::DataType::Int16,
            false,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int16Array::from_iter_values(0..3))]).unwrap();
        let mut txn = zone.begin().unwrap();
        txn.set_events(vec![crate::dedup::Entry {
            key: [line as u8; 16],
            content: [0; 8],
        }]);
        txn.write("ds", 1, "year=2024", &[batch]).unwrap();
        let source = Source::Segment {
            first_line: line,
            last_line: line,
            hmac_sha256: "00".into(),
        };
        let rows = RowCounts {
            read: 3,
            written: 3,
            ..RowCounts::default()
        };
        txn.commit(source, rows).unwrap();
    }

    /// Another writer's compaction retires the files and runs a writer's state lists
    /// before it reads them: its compaction (which reads the runs first) and its rewrite
    /// of the files alone are [`Error::Retired`] as of that compaction's record, in a
    /// folder and in an object store alike, and nothing is rewritten.
    #[test]
    fn inputs_retired_by_another_writer_since_the_state_was_read_are_retired_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Location::Remote(url::Url::parse("memory:///retired-meanwhile").unwrap());
        for location in [store, Location::Local(dir.path().to_owned())] {
            let mut first = open(&location);
            commit(&mut first, 1);
            commit(&mut first, 2);
            let mut late = open(&location);
            let mut stale = open(&location);
            let files: Vec<FileEntry> = stale.state().files.values().cloned().collect();
            assert_eq!((files.len(), stale.state().runs.len()), (2, 2));
            let compacted = first.compact(2).unwrap().record.unwrap();
            assert_eq!(compacted.retired.len(), 4, "{location}: two files and two runs");

            let merged = late.compact(2);
            assert!(
                matches!(merged, Err(Error::Retired(seq)) if seq == compacted.seq),
                "{location}: {merged:?}"
            );
            let rewritten = stale.rewrite(&files, None, false, Source::Compaction);
            assert!(
                matches!(rewritten, Err(Error::Retired(seq)) if seq == compacted.seq),
                "{location}: {rewritten:?}"
            );
            assert_eq!(open(&location).state().seq(), compacted.seq, "{location}");
        }
    }
}
