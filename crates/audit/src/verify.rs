//! `audit verify`: re-hash every file and every record of a zone's ledger, offline, and
//! name the first thing that does not match: a modified, missing or unrecorded file, or
//! an edited, removed or reordered record; a file no writer of msma makes (a symbolic
//! link, a master key file) anywhere in the zone; a ledger path out of the zone (refused
//! as the sink reads the ledger). Each live file's rows are checked against their
//! digest, and each rewrite's (a compaction's) new files against the files it retired,
//! whose digests its record keeps, so that preservation stays provable once they are
//! vacuumed. The last record cannot be checked against a
//! later one: the summary prints the head hash, to be kept elsewhere and given back with
//! `expect_head`.

use msma_sink::{FileEntry, Location, RowsDigest, Source, Stored, ZoneReader, ZoneState};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a clean verification found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    /// Events the zone already held when they came again: not written twice.
    pub rows_duplicate: u64,
    /// Runs of the dedup index, each checked against its record like a dataset file.
    pub dedup_runs: u64,
    /// Checkpoints of the ledger, each checked against the records it summarises.
    pub checkpoints: u64,
    pub studies: BTreeSet<String>,
    pub key_ids: BTreeSet<String>,
    pub first_commit: Option<String>,
    pub last_commit: Option<String>,
    /// SHA-256 of the last record: keep it outside the zone to detect a removed or
    /// edited last record later.
    pub head_sha256: Option<String>,
    pub sources: BTreeMap<String, u64>,
    /// Kafka offsets no record covers, below the last one committed of their
    /// partition: gone from the broker before a worker read them.
    pub kafka_gaps: Vec<OffsetGap>,
}

/// Offsets `first..=last` of a partition that no commit covers.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct OffsetGap {
    pub topic: String,
    pub partition: i32,
    pub first: i64,
    pub last: i64,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("ledger: {0}")]
    Ledger(String),
    #[error("file {0} is listed by record {1} but missing")]
    Missing(String, u64),
    #[error("file {path} was modified after record {seq} (SHA-256 {found}, recorded {recorded})")]
    Modified {
        path: String,
        seq: u64,
        found: String,
        recorded: String,
    },
    #[error("file {0} is in the zone but in no record")]
    Unrecorded(String),
    #[error("file {0} was retired by record {1} but is still among the datasets")]
    NotRetired(String, u64),
    #[error("the rows of file {0} do not match their digest in record {1}")]
    Rows(String, u64),
    #[error("record {0} retires a file that was not live, or its files do not hold the rows of those it retires")]
    Unbalanced(u64),
    /// A link, a special file or a master key file, anywhere in the zone.
    #[error("{0}")]
    Planted(String),
    #[error("the last record's hash is {found}, not the expected {expected}: records were removed, added or edited")]
    Head { found: String, expected: String },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}")]
    Store(String),
}

impl Problem {
    /// A failure to read the ledger: the store's, or the ledger's own.
    pub(crate) fn ledger(e: msma_sink::Error) -> Self {
        match e {
            e @ msma_sink::Error::Store { .. } => Self::Store(e.to_string()),
            e => Self::Ledger(e.to_string()),
        }
    }

    /// A failure to read the zone's files, or what its tree holds.
    pub(crate) fn reading(e: msma_sink::Error) -> Self {
        match e {
            msma_sink::Error::Io { path, source } => Self::Io(path, source),
            e @ (msma_sink::Error::Planted { .. } | msma_sink::Error::PlantedObject(_)) => Self::Planted(e.to_string()),
            e => Self::Store(e.to_string()),
        }
    }
}

pub fn verify(zone: &Location, expect_head: Option<&str>) -> Result<Summary, Problem> {
    let reader = ZoneReader::open(zone).map_err(Problem::reading)?;
    msma_sink::block_on(verify_zone(&reader, expect_head)).map_err(Problem::reading)?
}

async fn verify_zone(zone: &ZoneReader, expect_head: Option<&str>) -> Result<Summary, Problem> {
    zone.check_tree().await.map_err(Problem::reading)?;
    let stored = zone.ledger(None).await.map_err(Problem::ledger)?.unwrap_or_default();
    let mut s = Summary::default();
    let mut offsets: BTreeMap<(&str, i32), Vec<(i64, i64)>> = BTreeMap::new();
    let state = ZoneState::from_records(&stored);
    // The live files as of each record, to check what a rewrite retires.
    let mut live: BTreeMap<&str, &FileEntry> = BTreeMap::new();
    for st in &stored {
        let r = &st.record;
        s.records += 1;
        if r.retired.is_empty() {
            s.rows_written += r.rows.written;
        } else {
            s.rows_written = s.rows_written.saturating_sub(r.rows.removed);
            balanced(&live, r).ok_or(Problem::Unbalanced(r.seq))?;
        }
        for f in &r.retired {
            live.remove(f.path.as_str());
        }
        s.rows_rejected += r.rows.rejected;
        s.rows_duplicate += r.rows.duplicates;
        s.studies.insert(r.identity.study_id.clone());
        s.key_ids.insert(r.identity.key_id.clone());
        s.first_commit.get_or_insert_with(|| r.committed_at.clone());
        s.last_commit = Some(r.committed_at.clone());
        let kind = match &r.source {
            Source::File { .. } | Source::Segment { .. } => "file",
            Source::Kafka { .. } => "kafka",
            Source::Rotation { .. } => "rotation",
            Source::Compaction => "compaction",
            Source::Withdrawal { .. } => "withdrawal",
        };
        *s.sources.entry(kind.to_owned()).or_default() += 1;
        if let Source::Kafka { topic, ranges } = &r.source {
            for range in ranges {
                let covered = (range.first_offset, range.last_offset);
                offsets.entry((topic, range.partition)).or_default().push(covered);
            }
        }
        for f in r.files.iter().chain(&r.dedup) {
            live.insert(&f.path, f);
            let is_live = state.files.contains_key(&f.path) || state.runs.contains_key(&f.path);
            // A retired file is checked where it waits for vacuum, unless vacuumed.
            let at = if is_live {
                f.path.clone()
            } else {
                msma_sink::retired_path(&f.path)
            };
            let found = match zone.sha256(&at).await.map_err(Problem::reading)? {
                Some(found) => found,
                None if is_live => return Err(Problem::Missing(f.path.clone(), r.seq)),
                None => continue,
            };
            if found != f.sha256 {
                return Err(Problem::Modified {
                    path: f.path.clone(),
                    seq: r.seq,
                    found,
                    recorded: f.sha256.clone(),
                });
            }
            if let Some(recorded) = f.rows_digest.as_deref().filter(|_| is_live) {
                let bytes = zone.read(&f.path).await.map_err(Problem::reading)?;
                match RowsDigest::of_parquet(bytes) {
                    Ok((rows, digest)) if rows == f.rows && digest.to_hex() == recorded => {}
                    _ => return Err(Problem::Rows(f.path.clone(), r.seq)),
                }
            }
            if r.dedup.as_ref() == Some(f) {
                s.dedup_runs += is_live as u64;
                continue;
            }
            if is_live {
                s.files += 1;
                s.bytes += f.bytes;
            }
        }
    }
    let retired_by: BTreeMap<&str, u64> = (stored.iter())
        .flat_map(|st| st.record.retired.iter().map(|f| (f.path.as_str(), st.record.seq)))
        .collect();
    for rel in zone.files().await.map_err(Problem::reading)? {
        if let Some(seq) = retired_by.get(rel.as_str()).filter(|_| !state.files.contains_key(&rel)) {
            return Err(Problem::NotRetired(rel, *seq));
        }
        if !state.files.contains_key(&rel) {
            return Err(Problem::Unrecorded(rel));
        }
    }
    s.checkpoints = check_checkpoints(zone, &stored).await?;
    s.kafka_gaps = gaps(offsets);
    s.head_sha256 = stored.last().map(|st| st.sha256.clone());
    if let Some(expected) = expect_head {
        let found = s.head_sha256.clone().unwrap_or_default();
        if found != expected {
            return Err(Problem::Head {
                found,
                expected: expected.to_owned(),
            });
        }
    }
    Ok(s)
}

/// Whether every file rewrite `r` retires was live (`live`, as of the record before),
/// and its new files and removed rows add up to the retired dataset files: rows and
/// digests, which the record keeps whatever vacuum deletes.
fn balanced(live: &BTreeMap<&str, &FileEntry>, r: &msma_sink::CommitRecord) -> Option<()> {
    let mut inputs = (0, RowsDigest::default());
    for f in &r.retired {
        let held = live.get(f.path.as_str())?;
        let same_digest = held.rows_digest.is_none() || held.rows_digest == f.rows_digest;
        if held.sha256 != f.sha256 || held.rows != f.rows || !same_digest {
            return None;
        }
        if f.dataset != msma_sink::META_DIR {
            inputs.0 += f.rows;
            inputs.1.add(&RowsDigest::from_hex(f.rows_digest.as_deref()?)?);
        }
    }
    let mut outputs = (r.rows.removed, RowsDigest::default());
    if r.rows.removed > 0 {
        outputs.1 = RowsDigest::from_hex(r.removed_digest.as_deref()?)?;
    }
    for f in &r.files {
        outputs.0 += f.rows;
        outputs.1.add(&RowsDigest::from_hex(f.rows_digest.as_deref()?)?);
    }
    (inputs == outputs).then_some(())
}

/// Checks each checkpoint against the state folded from the records up to its number:
/// how many there are.
async fn check_checkpoints(zone: &ZoneReader, stored: &[Stored]) -> Result<u64, Problem> {
    let seqs = zone.checkpoints().await.map_err(Problem::reading)?;
    let mut state = ZoneState::default();
    for &seq in &seqs {
        let name = msma_sink::checkpoint_name(seq);
        let checkpoint = zone.checkpoint(seq).await.map_err(Problem::ledger)?;
        let Some(upto) = stored.get(..seq as usize) else {
            return Err(Problem::Ledger(format!(
                "checkpoint {name}: its record is not in the ledger"
            )));
        };
        upto[state.seq() as usize..].iter().for_each(|st| state.apply(st));
        let c = &checkpoint.state;
        let differs = [
            ("head", c.head != state.head),
            ("identity", c.identity != state.identity),
            ("files", c.files != state.files),
            ("runs", c.runs != state.runs),
            ("segments", c.segments != state.segments),
            ("offsets", c.offsets != state.offsets),
            ("legacy_sources", c.legacy_sources != state.legacy_sources),
            ("withdrawn", c.withdrawn != state.withdrawn),
            ("state", *c != state),
        ];
        if let Some((part, _)) = differs.iter().find(|(_, d)| *d) {
            return Err(Problem::Ledger(format!(
                "checkpoint {name}: its {part} differ from what records 1 to {seq} add up to"
            )));
        }
    }
    Ok(seqs.len() as u64)
}

/// The offsets of each partition, from 0, that no range covers (commits never overlap).
fn gaps(mut offsets: BTreeMap<(&str, i32), Vec<(i64, i64)>>) -> Vec<OffsetGap> {
    let mut gaps = Vec::new();
    for ((topic, partition), ranges) in &mut offsets {
        ranges.sort_unstable();
        let mut next = 0;
        for (first, last) in ranges.iter() {
            if *first > next {
                gaps.push(OffsetGap {
                    topic: (*topic).to_owned(),
                    partition: *partition,
                    first: next,
                    last: first - 1,
                });
            }
            next = next.max(last + 1);
        }
    }
    gaps
}

/// Every file of a local zone outside `_msma/`, relative, with `/` separators.
pub fn data_files(zone: &Path) -> Result<Vec<String>, Problem> {
    let reader = ZoneReader::open(&Location::Local(zone.to_owned())).map_err(Problem::reading)?;
    msma_sink::block_on(reader.files())
        .map_err(Problem::reading)?
        .map_err(Problem::reading)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_the_offsets_from_zero_no_range_covers() {
        let offsets = BTreeMap::from([
            (("events", 0), vec![(10, 19), (0, 9)]),
            (("events", 2), vec![(4468, 5000), (6000, 6001)]),
        ]);
        let gap = |partition, first, last| OffsetGap {
            topic: "events".into(),
            partition,
            first,
            last,
        };
        assert_eq!(gaps(offsets), [gap(2, 0, 4467), gap(2, 5001, 5999)]);
    }
}
