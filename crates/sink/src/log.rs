//! The commit log: one JSON record per commit, numbered, each carrying the SHA-256 of
//! the record before it. A record lists the files it publishes (with their checksums)
//! and the source range they came from, so the log is at once the truth for resuming,
//! the lineage of every file, and a tamper-evident ledger.

use crate::state::Head;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the record format.
pub const RECORD_FORMAT: u32 = 1;

/// Where the rows of a commit came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A range of lines of an NDJSON input, known by a digest of their bytes keyed
    /// under the study key (`msma_pseudo::SegmentDigest`). Nothing names the input: its
    /// name belongs to the identified zone.
    Segment {
        first_line: u64,
        last_line: u64,
        hmac_sha256: String,
    },
    /// A range of lines as msma recorded it before segments were keyed: the input's
    /// name and an unkeyed SHA-256. Read, never written; a file ingest refuses a zone
    /// that holds one (`msma keys rotate` rewrites the zone without them).
    File {
        name: String,
        first_line: u64,
        last_line: u64,
        sha256: String,
    },
    /// Ranges of offsets of partitions of a Kafka topic.
    Kafka { topic: String, ranges: Vec<OffsetRange> },
    /// A key rotation: this zone is the previous zone rewritten under a new key. The
    /// record carries no file; the crosswalk sits in the custodian zone.
    Rotation {
        previous_zone: String,
        previous_key_id: String,
        /// Head hash of the previous zone's ledger when it was rewritten.
        previous_head_sha256: String,
        crosswalk_sha256: String,
        crosswalk_entries: u64,
    },
    /// The rows of live files of one partition rewritten into fewer, larger files (and
    /// the dedup index's live runs merged into one): the record retires the inputs.
    Compaction,
    /// A patient's withdrawal: the live files holding their rows rewritten without them
    /// (the record retires those files). `tag` is their withdrawal tag, a keyed digest
    /// of their pseudonym (hex), by which writers keep their later events out.
    Withdrawal { tag: String },
}

/// Offsets `first_offset..=last_offset` of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsetRange {
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// The identity of a research zone: every commit in it uses the same study, key and
/// generalisation policy, or pseudonyms and generalised values would not line up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub study_id: String,
    pub key_id: String,
    pub policy: serde_json::Value,
}

/// Rows of the source range: read = written + rejected + duplicates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCounts {
    pub read: u64,
    pub written: u64,
    pub rejected: u64,
    /// Events the zone already held, byte for byte: not written again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates: u64,
    /// Rows of the retired files a rewrite left out: read = written + removed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub removed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One published file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path relative to the zone's root, with `/` separators.
    pub path: String,
    pub dataset: String,
    pub schema_version: u16,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    /// The digest of the file's rows ([`crate::RowsDigest`]), in hex; none in files
    /// written before msma took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_digest: Option<String>,
}

/// One commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitRecord {
    pub format: u32,
    pub seq: u64,
    /// SHA-256 of the previous record's bytes; `None` for the first record.
    pub prev_sha256: Option<String>,
    pub committed_at: String,
    pub msma_version: String,
    /// The staging folder the files were written in, for crash recovery.
    pub txn: String,
    #[serde(flatten)]
    pub identity: Identity,
    /// Dataset → schema versions written.
    pub schema_versions: BTreeMap<String, Vec<u16>>,
    pub source: Source,
    pub rows: RowCounts,
    pub files: Vec<FileEntry>,
    /// The run of the dedup index that holds the commit's events ([`crate::dedup`]):
    /// `_msma/dedup/<txn>.idx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<FileEntry>,
    /// The live files (dataset files and dedup runs) the record takes out of the zone's
    /// state, each with its rows' digest: a rewrite's outputs and removed rows add up
    /// to them ([`crate::RowsDigest`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<FileEntry>,
    /// The digest of the rows of `retired` a rewrite left out (see [`RowCounts::removed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_digest: Option<String>,
}

impl CommitRecord {
    /// Every file the commit publishes: its datasets' and its dedup run.
    pub fn published(&self) -> Vec<FileEntry> {
        self.files.iter().chain(&self.dedup).cloned().collect()
    }
}

/// Where the dedup run of transaction `txn` is published.
pub(crate) fn dedup_path(txn: &str) -> String {
    format!(
        "{}/{}/{}.idx",
        crate::META_DIR,
        crate::layout::DEDUP_DIR,
        txn.replace('/', "-")
    )
}

/// The file name of record `seq`.
pub fn record_name(seq: u64) -> String {
    format!("{seq:020}.json")
}

/// A record read back from disk, with the hash of its bytes.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: CommitRecord,
    pub sha256: String,
}

/// Reads every record in order, checking numbering and the hash chain.
pub(crate) fn read_all(dir: &Path) -> crate::Result<Vec<Stored>> {
    read_after(dir, None)
}

/// Reads the records after `last` (all of them for `None`) from a log folder, checking
/// numbering and the hash chain from there.
pub fn read_after(dir: &Path, last: Option<&Head>) -> crate::Result<Vec<Stored>> {
    let mut fetched = Vec::new();
    let mut seq = last.map_or(0, |h| h.seq);
    loop {
        seq += 1;
        let path = dir.join(record_name(seq));
        match std::fs::read(&path) {
            Ok(bytes) => fetched.push((path.display().to_string(), bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(crate::Error::io(&path, e)),
        }
    }
    verify_after(last, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..])))
}

/// Parses the records that follow `last`, given in order as (name, bytes), checking that
/// they are numbered from there without a gap and that each carries the hash of the one
/// before it.
pub fn verify_after<'a>(
    last: Option<&Head>,
    fetched: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> crate::Result<Vec<Stored>> {
    let mut out: Vec<Stored> = Vec::new();
    let mut seq = last.map_or(0, |h| h.seq);
    let mut prev = last.map(|h| h.sha256.clone());
    for (name, bytes) in fetched {
        seq += 1;
        let record: CommitRecord = serde_json::from_slice(bytes)
            .map_err(|e| crate::Error::Ledger(format!("{name}: not a commit record: {e}")))?;
        if record.seq != seq {
            return Err(crate::Error::Ledger(format!("{name}: expected record {seq}")));
        }
        check_paths(name, &record)?;
        if record.prev_sha256 != prev {
            return Err(crate::Error::Ledger(format!(
                "{name}: previous-record hash does not match record {}",
                seq - 1
            )));
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        prev = Some(sha256.clone());
        out.push(Stored { record, sha256 });
    }
    Ok(out)
}

/// Refuses a record listing a file whose path could lead out of the zone's datasets, so
/// that no reader (recovery, verification, queries) follows it: each path must be
/// relative, of `/`-separated parts none empty, `.` or `..` nor holding `\\` or NUL,
/// and not under `_msma/`. The error names the file by its place, never by its path.
fn check_paths(name: &str, record: &CommitRecord) -> crate::Result<()> {
    let normal = |p: &&str| !p.is_empty() && *p != "." && *p != ".." && !p.contains(['\\', '\0']);
    for (i, file) in record.files.iter().enumerate() {
        let parts: Vec<&str> = file.path.split('/').collect();
        if !parts.iter().all(normal) || parts[0] == crate::META_DIR {
            return Err(crate::Error::Ledger(format!(
                "{name}: the path of file {} of the record is not a relative path inside the zone \
                 (absolute, or with an empty, `.` or `..` part, or under {}/)",
                i + 1,
                crate::META_DIR
            )));
        }
    }
    for (i, file) in record.retired.iter().enumerate() {
        let parts: Vec<&str> = file.path.split('/').collect();
        let run = |name: &str| {
            name.strip_suffix(".idx")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        let ok = match parts.as_slice() {
            [meta, dir, name] if *meta == crate::META_DIR => *dir == crate::layout::DEDUP_DIR && run(name),
            _ => parts.iter().all(normal),
        };
        if !ok {
            return Err(crate::Error::Ledger(format!(
                "{name}: the path of retired file {} of the record is neither a dataset file's nor a dedup run's",
                i + 1
            )));
        }
    }
    let txn_ok = record.txn.split('/').count() == 2
        && record
            .txn
            .split('/')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if let Some(run) = &record.dedup
        && (!txn_ok || run.path != dedup_path(&record.txn))
    {
        return Err(crate::Error::Ledger(format!(
            "{name}: the dedup run of the record is not {}/{}/<txn>.idx",
            crate::META_DIR,
            crate::layout::DEDUP_DIR
        )));
    }
    Ok(())
}

/// The number of a record file's name, or `None` if the name is not a record's.
pub fn record_seq(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Serialises a record as it is stored: pretty JSON and a newline.
pub fn to_bytes(record: &CommitRecord) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(record).expect("records serialise");
    bytes.push(b'\n');
    bytes
}
