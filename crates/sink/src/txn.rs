//! Transactions: the files of a commit written apart, then published together with one
//! record in the zone's log, or not at all.

use crate::dedup::Entry;
use crate::digest::RowsDigest;
use crate::layout::staged_file;
use crate::log::{self, CommitRecord, FileEntry, RowCounts, Source};
use crate::parallel;
use crate::part::{PartWriter, Written};
use crate::zone::Zone;
use crate::{Error, Result};
use arrow_array::RecordBatch;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

/// Files finished (footer, fsync) at once, whatever the thread count: they mostly wait
/// for the disk, not for a core.
pub(crate) const SYNC_THREADS: usize = 8;

/// Files a transaction keeps open at once (an open file with no row group in progress
/// costs little); past this, the least recently written is finished, and a later row of
/// its partition opens a second file.
const MAX_OPEN_FILES: usize = 512;

/// One dataset file of a transaction: dataset, schema version, partition path.
type PartKey = (String, u16, String);

/// Rows for one file of a transaction, written as one row group (more past its row
/// limit).
pub struct RowGroup {
    pub dataset: String,
    pub schema_version: u16,
    /// A Hive partition, such as `network_id=RMS-ALSACE/year=2024`.
    pub partition: String,
    pub batches: Vec<RecordBatch>,
}

/// A set of files published together, or not at all.
pub struct Txn<'z> {
    zone: &'z mut Zone,
    id: String,
    dir: PathBuf,
    /// Open files, with the tick of their last write.
    open: BTreeMap<PartKey, (PartWriter, u64)>,
    /// Finished files: partition, index within the partition, file.
    closed: Vec<(PartKey, usize, Written)>,
    files_per_part: BTreeMap<PartKey, usize>,
    tick: u64,
    /// Files encoded at once (they are synced on up to [`SYNC_THREADS`]).
    threads: usize,
    /// The events the commit holds, for the dedup index ([`Txn::set_events`]).
    events: Vec<Entry>,
    /// The live files a rewrite retires, and the digest of their rows it leaves out
    /// ([`Txn::set_retired`]).
    retired: Vec<FileEntry>,
    removed: RowsDigest,
    /// How many withdrawals the events were checked against ([`Txn::set_withdrawn_seen`]).
    withdrawn_seen: Option<usize>,
}

impl Zone {
    /// Starts a transaction whose files stay invisible until [`Txn::commit`].
    pub fn begin(&mut self) -> Result<Txn<'_>> {
        let (id, dir) = self.next_txn();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Txn {
            zone: self,
            id,
            dir,
            open: BTreeMap::new(),
            closed: Vec::new(),
            files_per_part: BTreeMap::new(),
            tick: 0,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            events: Vec::new(),
            retired: Vec::new(),
            withdrawn_seen: None,
            removed: RowsDigest::default(),
        })
    }
}

impl Txn<'_> {
    /// The events the commit holds (sorted, distinct, none in the zone's index when they
    /// were admitted): published as the commit's dedup run, and refused with
    /// [`Error::EventsCommitted`] if a commit made since holds one of them.
    pub fn set_events(&mut self, events: Vec<Entry>) {
        self.events = events;
    }

    /// Makes the commit a rewrite ([`crate::compact`]): it retires `retired` (live files,
    /// each with its rows' digest, and dedup runs), whose rows its files hold but those
    /// of digest `removed`, and whose events its dedup run holds. The commit is refused
    /// unless the rows add up ([`Error::Unbalanced`]), or if another writer retired one
    /// of them meanwhile ([`Error::Retired`]).
    pub(crate) fn set_retired(&mut self, retired: Vec<FileEntry>, removed: RowsDigest) {
        self.retired = retired;
        self.removed = removed;
    }

    /// The number of withdrawals ([`crate::Withdrawn::len`]) the commit's events were
    /// checked against before the first was read: the commit is refused with
    /// [`Error::Withdrawn`] if the zone knows more by then.
    pub fn set_withdrawn_seen(&mut self, seen: usize) {
        self.withdrawn_seen = Some(seen);
    }

    /// Encodes up to `threads` files at once (default: one per core).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Appends batches to the file of `dataset` (at `schema_version`) in the Hive
    /// partition `partition`, as one row group: see [`Txn::write_all`].
    pub fn write(
        &mut self,
        dataset: &str,
        schema_version: u16,
        partition: &str,
        batches: &[RecordBatch],
    ) -> Result<()> {
        self.write_all(vec![RowGroup {
            dataset: dataset.to_owned(),
            schema_version,
            partition: partition.to_owned(),
            batches: batches.to_vec(),
        }])
    }

    /// Appends each group to its partition's file as a row group, the files in parallel.
    /// No encoder state outlives the call, so memory does not grow with the number of
    /// partitions; callers gather rows to make row groups large.
    pub fn write_all(&mut self, groups: Vec<RowGroup>) -> Result<()> {
        // One file per partition: groups of the same one are merged.
        let mut rows: BTreeMap<PartKey, Vec<RecordBatch>> = BTreeMap::new();
        for g in groups.into_iter().filter(|g| !g.batches.is_empty()) {
            rows.entry((g.dataset, g.schema_version, g.partition))
                .or_default()
                .extend(g.batches);
        }
        while !rows.is_empty() {
            let mut chunk = rows;
            rows = match chunk.keys().nth(MAX_OPEN_FILES).cloned() {
                Some(key) => chunk.split_off(&key),
                None => BTreeMap::new(),
            };
            self.write_chunk(chunk)?;
        }
        Ok(())
    }

    /// Writes at most [`MAX_OPEN_FILES`] partitions' rows, first closing the files least
    /// recently written to that do not fit beside theirs.
    fn write_chunk(&mut self, mut rows: BTreeMap<PartKey, Vec<RecordBatch>>) -> Result<()> {
        self.tick += 1;
        for key in rows.keys() {
            if let Some((_, last)) = self.open.get_mut(key) {
                *last = self.tick; // so that they are not the ones closed
            }
        }
        let new = rows.keys().filter(|k| !self.open.contains_key(*k)).count();
        self.close_least_recent((self.open.len() + new).saturating_sub(MAX_OPEN_FILES))?;
        for (key, batches) in &rows {
            if !self.open.contains_key(key) {
                let writer = self.create(key, batches)?;
                self.open.insert(key.clone(), (writer, self.tick));
            }
        }
        let mut jobs: Vec<_> = (self.open.iter_mut())
            .filter_map(|(key, (writer, _))| rows.remove(key).map(|batches| (writer, batches)))
            .collect();
        // The largest first, so that the threads finish together.
        jobs.sort_by_key(|(_, batches)| std::cmp::Reverse(batches.iter().map(RecordBatch::num_rows).sum::<usize>()));
        parallel::run(self.threads, jobs, |(writer, batches)| writer.write_group(&batches))?;
        Ok(())
    }

    fn create(&mut self, key: &PartKey, batches: &[RecordBatch]) -> Result<PartWriter> {
        let (dataset, schema_version, _) = key;
        // Every file so far is open or closed: the next number is their count.
        let path = self
            .dir
            .join(format!("{}.parquet", self.open.len() + self.closed.len()));
        let identity = &self.zone.identity;
        let metadata = [
            ("msma.dataset", dataset.clone()),
            ("msma.schema_version", schema_version.to_string()),
            ("msma.study_id", identity.study_id.clone()),
            ("msma.key_id", identity.key_id.clone()),
            ("msma.policy", identity.policy.to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        let writer = PartWriter::create(&path, batches[0].schema(), rows, &metadata)?;
        *self.files_per_part.entry(key.clone()).or_default() += 1;
        Ok(writer)
    }

    /// Finishes (footer, sync) the `n` files least recently written to, in parallel.
    fn close_least_recent(&mut self, n: usize) -> Result<()> {
        let mut by_age: Vec<(u64, PartKey)> = self.open.iter().map(|(k, (_, t))| (*t, k.clone())).collect();
        by_age.sort();
        let jobs: Vec<_> = (by_age.into_iter().take(n))
            .map(|(_, key)| {
                let (writer, _) = self.open.remove(&key).expect("listed");
                let index = self.files_per_part[&key] - 1;
                (key, index, writer)
            })
            .collect();
        let closed = parallel::run(self.threads.max(SYNC_THREADS), jobs, |(key, index, writer)| {
            writer.finish().map(|written| (key, index, written))
        })?;
        self.closed.extend(closed);
        Ok(())
    }

    /// Publishes every file of the transaction with one commit record. Files are named
    /// by [`file_name`] in their partition folder.
    pub fn commit(mut self, source: Source, rows: RowCounts) -> Result<CommitRecord> {
        if let Err(e) = self.close_least_recent(self.open.len()) {
            let _ = fs::remove_dir_all(&self.dir);
            return Err(e);
        }
        let Txn {
            zone,
            id,
            dir,
            mut closed,
            threads,
            events,
            retired,
            removed,
            withdrawn_seen,
            ..
        } = self;
        closed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let mut files = Vec::with_capacity(closed.len());
        let mut schema_versions: BTreeMap<String, Vec<u16>> = BTreeMap::new();
        for ((dataset, version, partition), index, written) in closed {
            let rel = format!(
                "{dataset}/{partition}/{}",
                file_name(&source, &retired, version, index, &written.sha256)
            );
            let staged = staged_file(&dir, &rel);
            if let Err(e) = fs::rename(&written.path, &staged) {
                let _ = fs::remove_dir_all(&dir);
                return Err(Error::io(&staged, e));
            }
            let versions = schema_versions.entry(dataset.clone()).or_default();
            if !versions.contains(&version) {
                versions.push(version);
            }
            files.push(FileEntry {
                path: rel,
                dataset,
                schema_version: version,
                rows: written.rows,
                bytes: written.bytes,
                sha256: written.sha256,
                rows_digest: Some(written.rows_digest.to_hex()),
            });
        }
        let dedup = match write_events(&dir, &id, &events) {
            Ok(run) => run,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        if let Err(e) = balance(&retired, &files, dedup.as_ref(), &rows, &removed) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        let staged: Vec<FileEntry> = files.iter().chain(&dedup).cloned().collect();
        // Until the record exists, a failure leaves nothing behind; after, the staged
        // files belong to the commit and wait for recovery.
        let not_committed = |zone: &Zone, e: Error| {
            let _ = zone.discard(&id, &dir, &staged);
            e
        };
        zone.stage(&id, &dir, &staged).map_err(|e| not_committed(zone, e))?;
        let record = loop {
            zone.refresh().map_err(|e| not_committed(zone, e))?;
            if zone.state.holds(&source) {
                zone.discard(&id, &dir, &staged)?;
                return Err(Error::Conflict(zone.state.seq()));
            }
            if let Some(gone) = retired.iter().find(|f| !live(&zone.state, f)) {
                tracing::info!(file = %gone.path, "a file to retire was retired by another writer");
                zone.discard(&id, &dir, &staged)?;
                return Err(Error::Retired(zone.state.seq()));
            }
            if withdrawn_seen.is_some_and(|seen| zone.withdrawn.len() > seen) {
                zone.discard(&id, &dir, &staged)?;
                return Err(Error::Withdrawn(zone.state.seq()));
            }
            // A rewrite's events come from the runs it retires, which hold them.
            let fresh = if retired.is_empty() { &events[..] } else { &[] };
            if let Some(held) = committed_meanwhile(zone, fresh).map_err(|e| not_committed(zone, e))? {
                zone.discard(&id, &dir, &staged)?;
                return Err(Error::EventsCommitted(held));
            }
            let record = CommitRecord {
                format: log::RECORD_FORMAT,
                seq: zone.state.seq() + 1,
                prev_sha256: zone.state.head.as_ref().map(|h| h.sha256.clone()),
                committed_at: format!("{}T00:00:00Z", (zone.commit_period)(chrono::Utc::now().date_naive())),
                msma_version: env!("CARGO_PKG_VERSION").to_owned(),
                txn: id.clone(),
                identity: zone.identity.clone(),
                schema_versions: schema_versions.clone(),
                source: source.clone(),
                rows,
                files: files.clone(),
                dedup: dedup.clone(),
                retired: retired.clone(),
                removed_digest: (rows.removed > 0).then(|| removed.to_hex()),
            };
            if zone
                .create_record(record.seq, &log::to_bytes(&record))
                .map_err(|e| not_committed(zone, e))?
            {
                break record;
            }
            // Another writer took this number: read its record and check again.
        };
        zone.publish(
            &id,
            &dir,
            &record.published(),
            &record.retired,
            threads.max(SYNC_THREADS),
        )?;
        fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        zone.refresh()?;
        Ok(record)
    }

    /// Drops the transaction's files.
    pub fn abort(self) -> Result<()> {
        drop(self.open);
        fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }
}

/// Writes the commit's events as its dedup run, staged in `dir`; none without events.
fn write_events(dir: &std::path::Path, txn: &str, events: &[Entry]) -> Result<Option<FileEntry>> {
    if events.is_empty() {
        return Ok(None);
    }
    let path = log::dedup_path(txn);
    let staged = staged_file(dir, &path);
    let (bytes, sha256) = crate::dedup::write_run(&staged, events)?;
    Ok(Some(FileEntry {
        path,
        dataset: crate::META_DIR.to_owned(),
        schema_version: 0,
        rows: events.len() as u64,
        bytes,
        sha256,
        rows_digest: None,
    }))
}

/// Whether a commit made since `events` were admitted (none was in the index then)
/// holds one of them: the last record's number if so (its writer, or one before it,
/// committed them meanwhile).
fn committed_meanwhile(zone: &Zone, events: &[Entry]) -> Result<Option<u64>> {
    for e in events {
        if zone.index.held(&e.key)?.is_some() {
            return Ok(Some(zone.state.seq()));
        }
    }
    Ok(None)
}

/// Whether `file` is live in `state`, as it was when a rewrite read it.
pub(crate) fn live(state: &crate::ZoneState, file: &FileEntry) -> bool {
    let held = state
        .files
        .get(&file.path)
        .or(state.runs.get(&file.path).map(|r| &r.file));
    held.is_some_and(|h| h.sha256 == file.sha256)
}

/// Refuses a rewrite whose files do not hold exactly the rows of the files it retires,
/// but those it removes, or whose dedup run does not hold the events of the runs it
/// retires.
fn balance(
    retired: &[FileEntry],
    files: &[FileEntry],
    dedup: Option<&FileEntry>,
    rows: &RowCounts,
    removed: &RowsDigest,
) -> Result<()> {
    if retired.is_empty() {
        return Ok(());
    }
    let (runs, inputs): (Vec<&FileEntry>, Vec<&FileEntry>) = retired.iter().partition(|f| f.dataset == crate::META_DIR);
    let digest = |fs: &mut dyn Iterator<Item = &FileEntry>| -> Option<RowsDigest> {
        fs.map(|f| f.rows_digest.as_deref().and_then(RowsDigest::from_hex))
            .sum()
    };
    let mut out = digest(&mut files.iter()).unwrap_or_default();
    out.add(removed);
    let count = |fs: &[&FileEntry]| fs.iter().map(|f| f.rows).sum::<u64>();
    let written: u64 = files.iter().map(|f| f.rows).sum();
    if count(&inputs) != written + rows.removed
        || rows.read != count(&inputs)
        || rows.written != written
        || digest(&mut inputs.iter().copied()) != Some(out)
    {
        return Err(Error::Unbalanced("rows".into()));
    }
    if count(&runs) != dedup.map_or(0, |d| d.rows) {
        return Err(Error::Unbalanced("events of the dedup index".into()));
    }
    Ok(())
}

/// `part-v<schema version>-<digest>.parquet`, the digest taken over the file's SHA-256,
/// its commit's source range (and the files it retires) and its number among the
/// commit's files of its partition.
/// Names are unique (a source range commits once) yet say nothing of the range, the
/// input or the source partition, and differ between studies as the files' bytes do.
fn file_name(source: &Source, retired: &[FileEntry], version: u16, index: usize, sha256: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(source).expect("a source serialises"));
    for f in retired {
        h.update(f.sha256.as_bytes());
    }
    h.update(index.to_le_bytes());
    h.update(sha256.as_bytes());
    format!("part-v{version}-{}.parquet", &hex::encode(h.finalize())[..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{LOG_DIR, META_DIR, STAGING_DIR};
    use crate::log::Identity;
    use arrow_array::{Int16Array, RecordBatch};
    use std::sync::Arc;

    fn identity(study: &str) -> Identity {
        Identity {
            study_id: study.into(),
            key_id: "0123456789abcdef".into(),
            policy: serde_json::json!({}),
        }
    }

    fn batch(n: i16) -> RecordBatch {
        let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "x",
            arrow_schema::DataType::Int16,
            false,
        )]));
        RecordBatch::try_new(schema, vec![Arc::new(Int16Array::from_iter_values(0..n))]).unwrap()
    }

    fn source(first: u64) -> Source {
        Source::Segment {
            first_line: first,
            last_line: first,
            hmac_sha256: "00".into(),
        }
    }

    fn commit(zone: &mut Zone, first: u64) -> CommitRecord {
        let mut txn = zone.begin().unwrap();
        txn.write("ds", 1, "year=2024", &[batch(10)]).unwrap();
        txn.write("ds", 1, "year=2025", &[batch(5)]).unwrap();
        txn.commit(
            source(first),
            RowCounts {
                read: 15,
                written: 15,
                ..RowCounts::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn commits_chain_and_publish() {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = Zone::open(dir.path(), identity("a")).unwrap();
        let r1 = commit(&mut zone, 1);
        let first = zone.state().head.clone().unwrap();
        let r2 = commit(&mut zone, 2);
        assert_eq!((r1.seq, r2.seq), (1, 2));
        assert_eq!(r2.prev_sha256.as_deref(), Some(first.sha256.as_str()));
        for f in r1.files.iter().chain(&r2.files) {
            assert!(dir.path().join(&f.path).is_file(), "{}", f.path);
        }
        let name = r1.files[0].path.strip_prefix("ds/year=2024/part-v1-").unwrap();
        assert_eq!(name.len(), "0123456789abcdef0123456789abcdef.parquet".len());
        assert_ne!(
            r1.files[0].path, r2.files[0].path,
            "the same rows from another source range"
        );
        assert!(r1.committed_at.ends_with("-01T00:00:00Z"), "{}", r1.committed_at);
        drop(zone);
        let zone = Zone::open(dir.path(), identity("a")).unwrap();
        assert_eq!(zone.state().seq(), 2);
    }

    #[test]
    fn more_partitions_than_open_files_are_written_in_parallel_and_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = Zone::open(dir.path(), identity("a")).unwrap();
        let parts = MAX_OPEN_FILES + 40;
        let group = |year: usize, rows: i16| RowGroup {
            dataset: "ds".into(),
            schema_version: 1,
            partition: format!("year={year}"),
            batches: vec![batch(rows)],
        };
        let mut txn = zone.begin().unwrap();
        txn.set_threads(3);
        // The first partition comes twice in the call and again in a second one.
        let mut groups: Vec<_> = (0..parts).map(|y| group(y, 2)).collect();
        groups.push(group(0, 1));
        txn.write_all(groups).unwrap();
        txn.write_all(vec![group(0, 4)]).unwrap();
        let rows = (parts * 2 + 5) as u64;
        let record = txn
            .commit(
                source(1),
                RowCounts {
                    read: rows,
                    written: rows,
                    ..RowCounts::default()
                },
            )
            .unwrap();
        assert_eq!(record.files.iter().map(|f| f.rows).sum::<u64>(), rows);
        let first: Vec<_> = record
            .files
            .iter()
            .filter(|f| f.path.starts_with("ds/year=0/"))
            .collect();
        // The last 40 partitions closed the 40 least recent files, year=0 among them (the
        // oldest, the first in order), so its last rows went to a second file.
        assert_eq!(first.iter().map(|f| f.rows).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(record.files.len(), parts + 1);
        for f in &record.files {
            assert!(dir.path().join(&f.path).is_file(), "{}", f.path);
        }
    }

    #[test]
    fn uncommitted_files_are_removed_and_interrupted_commits_completed() {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = Zone::open(dir.path(), identity("a")).unwrap();
        let record = commit(&mut zone, 1);
        // A crash after the record but before the renames: put the files back in staging,
        // one where this version stages files, one where earlier versions did (in a tree
        // mirroring the datasets).
        let staged = dir.path().join(META_DIR).join(STAGING_DIR).join(&record.txn);
        let [flat, mirrored] = [&record.files[0].path, &record.files[1].path];
        std::fs::create_dir_all(&staged).unwrap();
        std::fs::rename(dir.path().join(flat), staged_file(&staged, flat)).unwrap();
        std::fs::create_dir_all(staged.join(mirrored).parent().unwrap()).unwrap();
        std::fs::rename(dir.path().join(mirrored), staged.join(mirrored)).unwrap();
        // A crash before the record: a transaction with files and no commit.
        let mut txn = zone.begin().unwrap();
        txn.write("ds", 1, "year=2024", &[batch(3)]).unwrap();
        std::mem::forget(txn);
        drop(zone);

        let zone = Zone::open(dir.path(), identity("a")).unwrap();
        for moved in [flat, mirrored] {
            assert!(dir.path().join(moved).is_file(), "the interrupted commit was completed");
        }
        let staging = dir.path().join(META_DIR).join(STAGING_DIR);
        assert_eq!(
            std::fs::read_dir(staging).unwrap().count(),
            1,
            "orphans removed, only the live writer's folder"
        );
        assert_eq!(zone.state().seq(), 1);
    }

    #[test]
    fn a_writer_that_commits_then_dies_after_another_read_the_log_keeps_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = Zone::open(dir.path(), identity("a")).unwrap();
        // b commits after a read the log, and dies before moving its files into place.
        let mut b = Zone::open(dir.path(), identity("a")).unwrap();
        let record = commit(&mut b, 1);
        let staged = dir.path().join(META_DIR).join(STAGING_DIR).join(&record.txn);
        std::fs::create_dir_all(&staged).unwrap();
        for f in &record.files {
            std::fs::rename(dir.path().join(&f.path), staged_file(&staged, &f.path)).unwrap();
        }
        drop(b);
        assert_eq!(a.state().seq(), 0, "a has not read b's record");
        a.recover().unwrap();
        for f in &record.files {
            assert!(
                dir.path().join(&f.path).is_file(),
                "a committed file was taken for an orphan"
            );
        }
    }

    #[test]
    fn writers_share_a_zone_and_never_commit_a_range_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Zone::open(dir.path(), identity("a")).unwrap();
        let mut b = Zone::open(dir.path(), identity("a")).unwrap();
        assert_eq!(commit(&mut a, 1).seq, 1);
        assert_eq!(commit(&mut b, 2).seq, 2, "b reads a's record before claiming a number");
        let mut txn = b.begin().unwrap();
        txn.write("ds", 1, "year=2024", &[batch(1)]).unwrap();
        let again = txn.commit(source(1), RowCounts::default());
        assert!(matches!(again, Err(Error::Conflict(2))), "{again:?}");
        let kafka = |first_offset, last_offset| Source::Kafka {
            topic: "t".into(),
            ranges: vec![crate::OffsetRange {
                partition: 0,
                first_offset,
                last_offset,
            }],
        };
        let txn = a.begin().unwrap();
        txn.commit(kafka(0, 99), RowCounts::default()).unwrap();
        let txn = b.begin().unwrap();
        assert!(matches!(
            txn.commit(kafka(50, 149), RowCounts::default()),
            Err(Error::Conflict(3))
        ));
        let txn = b.begin().unwrap();
        assert_eq!(txn.commit(kafka(100, 149), RowCounts::default()).unwrap().seq, 4);
        drop((a, b));
        assert!(matches!(
            Zone::open(dir.path(), identity("b")),
            Err(Error::IdentityMismatch(_))
        ));
        let staging = dir.path().join(META_DIR).join(STAGING_DIR);
        let zone = Zone::open(dir.path(), identity("a")).unwrap();
        assert_eq!(zone.state().seq(), 4);
        assert_eq!(
            std::fs::read_dir(staging).unwrap().count(),
            1,
            "only the live writer's folder"
        );
    }

    #[test]
    fn a_broken_chain_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut zone = Zone::open(dir.path(), identity("a")).unwrap();
        commit(&mut zone, 1);
        commit(&mut zone, 2);
        drop(zone);
        let first = dir.path().join(META_DIR).join(LOG_DIR).join(log::record_name(1));
        let text = std::fs::read_to_string(&first)
            .unwrap()
            .replace("\"written\": 15", "\"written\": 14");
        std::fs::write(&first, text).unwrap();
        assert!(matches!(Zone::open(dir.path(), identity("a")), Err(Error::Ledger(_))));
    }

    #[test]
    fn a_reader_sees_the_ledger_as_of_a_record_and_the_committed_files() {
        let dir = tempfile::tempdir().unwrap();
        let reader = crate::ZoneReader::open(&dir.path().into()).unwrap();
        let read = |as_of| crate::block_on(reader.ledger(as_of)).unwrap();
        assert!(read(None).unwrap().is_none(), "no ledger before the zone is opened");
        let mut zone = Zone::open(dir.path(), identity("a")).unwrap();
        assert_eq!(read(None).unwrap().unwrap().len(), 0);
        let first = commit(&mut zone, 1);
        let second = commit(&mut zone, 2);
        assert_eq!(read(None).unwrap().unwrap().len(), 2);
        let as_of_1 = read(Some(1)).unwrap().unwrap();
        assert_eq!(as_of_1.iter().map(|s| &s.record).collect::<Vec<_>>(), [&first]);
        for beyond in [0, 3] {
            assert!(
                matches!(read(Some(beyond)), Err(Error::NotInLedger { seq, last: 2 }) if seq == beyond),
                "{beyond}"
            );
        }
        let mut committed: Vec<String> = first
            .files
            .iter()
            .chain(&second.files)
            .map(|f| f.path.clone())
            .collect();
        committed.sort();
        assert_eq!(
            crate::block_on(reader.files()).unwrap().unwrap(),
            committed,
            "no staging file"
        );
        let file = &first.files[0];
        let sha256 = crate::block_on(reader.sha256(&file.path)).unwrap().unwrap();
        assert_eq!(sha256.as_deref(), Some(file.sha256.as_str()));
        assert_eq!(crate::block_on(reader.sha256("ds/none")).unwrap().unwrap(), None);
    }
}
