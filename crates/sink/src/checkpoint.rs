//! Ledger checkpoints: every [`CHECKPOINT_EVERY`] records, the writer that committed
//! the record saves the zone's state as of it in `_msma/checkpoints/<seq>.json`, so that
//! opening a zone reads the last checkpoint and the records after it rather than the
//! whole ledger. A checkpoint is a cache, never the truth: a reader takes one only if
//! the record at its number exists and hashes to its head, and its state to its digest
//! (a damaged or edited one is skipped with a warning, for an older one or the whole
//! ledger); `audit verify` checks each against the records it summarises.

use crate::layout::META_DIR;
use crate::read::ZoneReader;
use crate::state::ZoneState;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the checkpoint format.
pub const CHECKPOINT_FORMAT: u32 = 1;
/// Records between two checkpoints, by default.
pub const CHECKPOINT_EVERY: u64 = 1000;
/// The checkpoints, inside [`META_DIR`].
pub const CHECKPOINT_DIR: &str = "checkpoints";

/// The state of a zone as of record `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: u32,
    pub seq: u64,
    /// SHA-256 of record `seq`'s bytes.
    pub head_sha256: String,
    /// SHA-256 of `state` as JSON: a checkpoint damaged or edited without it is skipped.
    pub state_sha256: String,
    pub state: ZoneState,
}

impl Checkpoint {
    /// The checkpoint of `state`; `None` before the first record.
    pub fn of(state: &ZoneState) -> Option<Self> {
        let head = state.head.as_ref()?;
        Some(Self {
            format: CHECKPOINT_FORMAT,
            seq: head.seq,
            head_sha256: head.sha256.clone(),
            state_sha256: digest(state),
            state: state.clone(),
        })
    }

    /// The checkpoint as stored: JSON on one line (a state lists every live file).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("checkpoints serialise");
        bytes.push(b'\n');
        bytes
    }

    /// Parses checkpoint `seq`, checking that it says so of itself and that its state
    /// is the one it was written with. The error says what is wrong, never a value.
    pub fn parse(seq: u64, bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::Ledger(format!("checkpoint {}: {why}", checkpoint_name(seq)));
        let c: Self = serde_json::from_slice(bytes).map_err(|e| bad(&format!("not a checkpoint: {e}")))?;
        if c.format != CHECKPOINT_FORMAT {
            return Err(bad("format is not 1"));
        }
        let head = c.state.head.as_ref();
        if c.seq != seq || head.is_none_or(|h| h.seq != seq || h.sha256 != c.head_sha256) {
            return Err(bad("seq or head_sha256 is not that of its record"));
        }
        if digest(&c.state) != c.state_sha256 {
            return Err(bad("state_sha256 is not the SHA-256 of its state"));
        }
        Ok(c)
    }
}

fn digest(state: &ZoneState) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(state).expect("states serialise")))
}

/// The file name of checkpoint `seq`.
pub fn checkpoint_name(seq: u64) -> String {
    crate::log::record_name(seq)
}

/// Where checkpoint `seq` sits, relative to the zone's root.
pub(crate) fn checkpoint_path(seq: u64) -> String {
    format!("{META_DIR}/{CHECKPOINT_DIR}/{}", checkpoint_name(seq))
}

impl ZoneReader {
    /// The numbers of the zone's checkpoints, in order (one listing).
    pub async fn checkpoints(&self) -> Result<Vec<u64>> {
        let names = self.entries(&format!("{META_DIR}/{CHECKPOINT_DIR}")).await?;
        Ok(names.iter().filter_map(|n| crate::log::record_seq(n)).collect())
    }

    /// Checkpoint `seq`, parsed and checked against itself (see [`Checkpoint::parse`]).
    pub async fn checkpoint(&self, seq: u64) -> Result<Checkpoint> {
        Checkpoint::parse(seq, &self.read(&checkpoint_path(seq)).await?)
    }

    /// The state of the last usable checkpoint at or before record `at_most` (any for
    /// `None`): one whose record exists and hashes to its head. Those that are not are
    /// skipped with a warning.
    pub async fn last_checkpoint(&self, at_most: Option<u64>) -> Result<Option<ZoneState>> {
        let mut seqs = self.checkpoints().await?;
        seqs.retain(|s| at_most.is_none_or(|m| *s <= m));
        for seq in seqs.into_iter().rev() {
            match self.usable(seq).await {
                Ok(c) => return Ok(Some(c.state)),
                Err(e) if e.is_storage_failure() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "checkpoint skipped: the zone is read from an older one"),
            }
        }
        Ok(None)
    }

    /// Checkpoint `seq` if record `seq` exists and hashes to its head.
    async fn usable(&self, seq: u64) -> Result<Checkpoint> {
        let c = self.checkpoint(seq).await?;
        let record = match self.read_opt(&crate::read::record_path(seq)).await? {
            Some(bytes) => bytes,
            None => {
                return Err(Error::Ledger(format!(
                    "checkpoint {}: its record is missing",
                    checkpoint_name(seq)
                )));
            }
        };
        if hex::encode(Sha256::digest(&record)) != c.head_sha256 {
            return Err(Error::Ledger(format!(
                "checkpoint {}: its record does not hash to head_sha256",
                checkpoint_name(seq)
            )));
        }
        Ok(c)
    }

    /// Saves the checkpoint of `state`, unless one of its number exists: create-only and
    /// atomic, like a record.
    pub async fn save_checkpoint(&self, state: &ZoneState) -> Result<()> {
        if let Some(c) = Checkpoint::of(state) {
            self.create(&checkpoint_path(c.seq), &c.to_bytes()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Head;

    fn state() -> ZoneState {
        ZoneState {
            head: Some(Head {
                seq: 7,
                sha256: "ab".into(),
                committed_at: "2026-01-01T00:00:00Z".into(),
            }),
            ..ZoneState::default()
        }
    }

    #[test]
    fn a_checkpoint_reads_back_and_an_edited_one_is_refused() {
        let c = Checkpoint::of(&state()).unwrap();
        let bytes = c.to_bytes();
        assert_eq!(Checkpoint::parse(7, &bytes).unwrap(), c);
        assert!(Checkpoint::parse(8, &bytes).is_err(), "another number");
        let edited = String::from_utf8(bytes)
            .unwrap()
            .replace("\"legacy_sources\":false", "\"legacy_sources\":true");
        let e = Checkpoint::parse(7, edited.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("state_sha256"), "{e}");
        assert!(Checkpoint::parse(7, b"{").is_err());
        assert!(Checkpoint::of(&ZoneState::default()).is_none());
    }

    #[test]
    fn the_writer_of_every_nth_record_saves_a_checkpoint_that_readers_start_from() {
        use crate::{Identity, RowCounts, Source, Zone, block_on};
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity {
            study_id: "a".into(),
            key_id: "0123456789abcdef".into(),
            policy: serde_json::json!({}),
        };
        let mut zone = Zone::open(dir.path(), identity.clone()).unwrap();
        zone.set_checkpoint_every(2);
        for line in 1..=5 {
            let source = Source::Segment {
                first_line: line,
                last_line: line,
                hmac_sha256: "00".into(),
            };
            zone.begin().unwrap().commit(source, RowCounts::default()).unwrap();
        }
        let reader = ZoneReader::open(&dir.path().into()).unwrap();
        assert_eq!(block_on(reader.checkpoints()).unwrap().unwrap(), [2, 4]);
        let whole = ZoneState::from_records(&block_on(reader.ledger(None)).unwrap().unwrap().unwrap());
        assert_eq!(block_on(reader.state(None)).unwrap().unwrap().unwrap(), whole);
        let as_of_3 = ZoneState::from_records(&block_on(reader.ledger(Some(3))).unwrap().unwrap().unwrap());
        assert_eq!(block_on(reader.state(Some(3))).unwrap().unwrap().unwrap(), as_of_3);
        // Record 1 is not read any more: its bytes can go.
        let first = dir.path().join(crate::read::record_path(1));
        std::fs::write(&first, "not a record").unwrap();
        assert_eq!(block_on(reader.state(None)).unwrap().unwrap().unwrap(), whole);
        assert!(
            block_on(reader.state(Some(1))).unwrap().is_err(),
            "before any checkpoint"
        );
        drop(zone);
        assert_eq!(Zone::open(dir.path(), identity).unwrap().state(), &whole);
    }
}
