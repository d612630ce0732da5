//! A zone's state as of a record: what the ledger's records add up to. Writers number
//! and fence their commits with it, readers take the live files from it, and it is what
//! a checkpoint would store, so that nothing needs the whole ledger in memory.

use crate::log::{CommitRecord, FileEntry, Identity, Source, Stored};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The last record folded into a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub seq: u64,
    pub sha256: String,
    pub committed_at: String,
}

/// A run of the dedup index, with the transaction that published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub txn: String,
    pub file: FileEntry,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneState {
    /// `None` before the first record.
    pub head: Option<Head>,
    pub identity: Option<Identity>,
    /// The dataset files a reader sees, by path: published and not retired since.
    pub files: BTreeMap<String, FileEntry>,
    /// The live runs of the dedup index, by path.
    pub runs: BTreeMap<String, Run>,
    /// Committed file segments: first line → (last line, keyed digest) of each.
    pub segments: BTreeMap<u64, Vec<(u64, String)>>,
    /// Kafka topic → partition → the last offset committed.
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Whether a record holds an unkeyed file source (see [`Source::File`]).
    pub legacy_sources: bool,
    /// The withdrawal tags of the patients who withdrew (see [`Source::Withdrawal`]).
    #[serde(default)]
    pub withdrawn: BTreeSet<String>,
}

impl ZoneState {
    /// The state after `records`, in order, from an empty zone.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Stored>) -> Self {
        let mut state = Self::default();
        records.into_iter().for_each(|s| state.apply(s));
        state
    }

    /// Folds in the record that follows the head (the log reader checked the chain).
    pub fn apply(&mut self, stored: &Stored) {
        let r: &CommitRecord = &stored.record;
        for f in &r.retired {
            self.files.remove(&f.path);
            self.runs.remove(&f.path);
        }
        for f in &r.files {
            self.files.insert(f.path.clone(), f.clone());
        }
        if let Some(run) = &r.dedup {
            let run = Run {
                txn: r.txn.clone(),
                file: run.clone(),
            };
            self.runs.insert(run.file.path.clone(), run);
        }
        match &r.source {
            Source::Segment {
                first_line,
                last_line,
                hmac_sha256,
            } => self
                .segments
                .entry(*first_line)
                .or_default()
                .push((*last_line, hmac_sha256.clone())),
            Source::Kafka { topic, ranges } => {
                let partitions = self.offsets.entry(topic.clone()).or_default();
                for range in ranges {
                    let last = partitions.entry(range.partition).or_insert(range.last_offset);
                    *last = (*last).max(range.last_offset);
                }
            }
            Source::File { .. } => self.legacy_sources = true,
            Source::Withdrawal { tag } => {
                self.withdrawn.insert(tag.clone());
            }
            Source::Rotation { .. } | Source::Compaction => {}
        }
        self.identity = Some(r.identity.clone());
        self.head = Some(Head {
            seq: r.seq,
            sha256: stored.sha256.clone(),
            committed_at: r.committed_at.clone(),
        });
    }

    /// The number of the last record; 0 before the first.
    pub fn seq(&self) -> u64 {
        self.head.as_ref().map_or(0, |h| h.seq)
    }

    /// Whether a commit of `source` would hold rows a record already holds: the same
    /// segment, or an offset at or below one committed of the same partition.
    pub fn holds(&self, source: &Source) -> bool {
        match source {
            Source::Segment {
                first_line,
                last_line,
                hmac_sha256,
            } => self
                .segments
                .get(first_line)
                .is_some_and(|s| s.iter().any(|(l, h)| l == last_line && h == hmac_sha256)),
            Source::Kafka { topic, ranges } => self.offsets.get(topic).is_some_and(|partitions| {
                ranges
                    .iter()
                    .any(|r| partitions.get(&r.partition).is_some_and(|last| *last >= r.first_offset))
            }),
            _ => false,
        }
    }

    /// The last offset committed of `partition` of `topic`.
    pub fn last_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.offsets.get(topic)?.get(&partition).copied()
    }

    /// Rows of the live files, by dataset.
    pub fn rows_per_dataset(&self) -> BTreeMap<String, u64> {
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for f in self.files.values() {
            *by.entry(f.dataset.clone()).or_default() += f.rows;
        }
        by
    }
}
