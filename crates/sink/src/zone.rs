//! A research zone opened for writing: datasets with their commit log under `_msma/`,
//! in a folder ([`crate::local`]) or an object store ([`crate::remote`]). Transactions
//! ([`crate::Txn`]) write and publish its files.

use crate::dedup::Index;
use crate::local::Local;
use crate::log::{FileEntry, Identity};
use crate::remote::Remote;
use crate::state::ZoneState;
use crate::withdrawn::Withdrawn;
use crate::{Error, Location, Result, ZoneReader, block_on};
use chrono::{Datelike, NaiveDate};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

enum Storage {
    Local(Local),
    Remote(Remote),
}

/// An open zone. Several processes, on one host or several, may hold the same zone: each
/// writes its files apart, and commits race for the next record number, the loser
/// re-reading the log and checking again that its source range is still new (see
/// [`crate::Txn::commit`]).
pub struct Zone {
    location: Location,
    storage: Storage,
    pub(crate) identity: Identity,
    pub(crate) state: ZoneState,
    next_txn: u64,
    writer: String,
    /// The period a commit's date is truncated to: see [`Zone::set_commit_dates`].
    pub(crate) commit_period: Box<dyn Fn(NaiveDate) -> NaiveDate + Send + Sync>,
    /// The events of every commit read so far.
    pub(crate) index: Arc<Index>,
    /// The withdrawal tags of the state, for the writers' transforms.
    pub(crate) withdrawn: Arc<Withdrawn>,
    /// This writer saves a checkpoint after each record it commits whose number is a
    /// multiple of this ([`crate::checkpoint`]).
    checkpoint_every: u64,
}

impl Zone {
    /// Opens (creating if needed) the zone at `location` for a study. Fails when its log
    /// is broken or when its commits were made under another study, key or policy.
    /// Repairs what crashed writers left behind.
    pub fn open(location: impl Into<Location>, identity: Identity) -> Result<Self> {
        let location = location.into();
        // Random: a time or a process id would date the commits (records and staging
        // folders carry the writer's name).
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| Error::Ledger(format!("no randomness for the writer's name: {e}")))?;
        let writer = hex::encode(id);
        let storage = match &location {
            Location::Local(root) => Storage::Local(Local::open(root, &writer)?),
            Location::Remote(url) => Storage::Remote(Remote::open(url, &writer)?),
        };
        let mut zone = Self {
            location,
            storage,
            identity,
            state: ZoneState::default(),
            next_txn: 0,
            writer,
            commit_period: Box::new(|d| d.with_day(1).expect("every month has a first day")),
            index: Arc::default(),
            withdrawn: Arc::default(),
            checkpoint_every: crate::CHECKPOINT_EVERY,
        };
        zone.refresh()?;
        zone.recover()?;
        Ok(zone)
    }

    /// Completes the commits of writers that died, and removes their uncommitted files.
    pub(crate) fn recover(&self) -> Result<()> {
        match &self.storage {
            Storage::Local(l) => l.recover(),
            Storage::Remote(r) => r.recover(),
        }
    }

    /// Records commit dates as the first day of the period `truncate` gives (by
    /// default the month): no finer than the study publishes event dates, or a commit's
    /// time would date the events it holds (a trickle commits an event or two at once).
    pub fn set_commit_dates(&mut self, truncate: impl Fn(NaiveDate) -> NaiveDate + Send + Sync + 'static) {
        self.commit_period = Box::new(truncate);
    }

    /// Saves a checkpoint every `n` records (at least 1).
    pub fn set_checkpoint_every(&mut self, n: u64) {
        self.checkpoint_every = n.max(1);
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// What the records read so far add up to ([`Zone::refresh`] reads newer ones).
    pub fn state(&self) -> &ZoneState {
        &self.state
    }

    /// Reads the records other writers appended since the last read: on the first
    /// read, those after the last checkpoint, whose state and runs it starts from.
    pub fn refresh(&mut self) -> Result<()> {
        if self.state.head.is_none()
            && let Some(state) = block_on(ZoneReader::open(&self.location)?.last_checkpoint(None))??
        {
            self.check_identity(state.identity.as_ref())?;
            for run in state.runs.values() {
                self.add_run(&run.txn, &run.file, &[])?;
            }
            self.state = state;
        }
        let last = self.state.head.as_ref();
        let new = match &self.storage {
            Storage::Local(l) => l.read_after(last)?,
            Storage::Remote(r) => r.read_after(last)?,
        };
        for stored in &new {
            self.check_identity(Some(&stored.record.identity))?;
        }
        // A run that a later record retires is not loaded: that record's run holds its
        // events.
        let retired: std::collections::BTreeSet<String> = (new.iter().flat_map(|s| &s.record.retired))
            .map(|f| f.path.clone())
            .collect();
        // A record is kept once its run is in the index, so that a failure here leaves
        // the two in step and the next refresh starts where this one stopped.
        for stored in new {
            if let Some(run) = stored.record.dedup.as_ref().filter(|r| !retired.contains(&r.path)) {
                let retires: Vec<&str> = stored.record.retired.iter().map(|f| f.path.as_str()).collect();
                self.add_run(&stored.record.txn, run, &retires)?;
            }
            self.state.apply(&stored);
            let mine = stored.record.txn.split('/').next() == Some(self.writer.as_str());
            if mine && stored.record.seq.is_multiple_of(self.checkpoint_every) {
                self.save_checkpoint();
            }
        }
        if self.withdrawn.len() != self.state.withdrawn.len() {
            self.withdrawn.extend(&self.state.withdrawn);
        }
        Ok(())
    }

    /// The patients who withdrew, kept up to date as the log is read, for the writers
    /// that keep their events out.
    pub fn withdrawn(&self) -> Arc<Withdrawn> {
        Arc::clone(&self.withdrawn)
    }

    fn check_identity(&self, held: Option<&Identity>) -> Result<()> {
        match held {
            Some(held) if *held != self.identity => {
                Err(Error::IdentityMismatch(mismatch(&self.location, held, &self.identity)))
            }
            _ => Ok(()),
        }
    }

    /// Adds a run to the index, `retires` those of it that a record's merged run holds.
    fn add_run(&self, txn: &str, run: &FileEntry, retires: &[&str]) -> Result<()> {
        let (path, file) = match &self.storage {
            Storage::Local(l) => l.open_run(txn, run)?,
            Storage::Remote(r) => r.fetch_run(txn, run)?,
        };
        self.index.add(&run.path, path, file, retires)
    }

    /// Saves the checkpoint of the state: a cache, so that a failure costs the next
    /// readers time, not this commit.
    fn save_checkpoint(&self) {
        let saved = ZoneReader::open(&self.location).and_then(|r| block_on(r.save_checkpoint(&self.state))?);
        if let Err(e) = saved {
            tracing::warn!(seq = self.state.seq(), error = %e, "checkpoint not saved");
        }
    }

    /// The events the zone holds, for the writers that check theirs against it.
    pub fn dedup(&self) -> Arc<Index> {
        Arc::clone(&self.index)
    }

    /// The id and the folder of this writer's next transaction.
    pub(crate) fn next_txn(&mut self) -> (String, PathBuf) {
        self.next_txn += 1;
        let dir = match &self.storage {
            Storage::Local(l) => l.txn_dir(self.next_txn),
            Storage::Remote(r) => r.txn_dir(self.next_txn),
        };
        (format!("{}/{}", self.writer, self.next_txn), dir)
    }

    /// Makes the files of a transaction durable where the zone lives, before its record.
    pub(crate) fn stage(&self, txn: &str, dir: &Path, files: &[FileEntry]) -> Result<()> {
        match &self.storage {
            Storage::Local(_) => Ok(()), // written and synced in place
            Storage::Remote(r) => r.stage(txn, dir, files),
        }
    }

    /// Creates record `seq`; `false` when another writer has that number.
    pub(crate) fn create_record(&self, seq: u64, bytes: &[u8]) -> Result<bool> {
        match &self.storage {
            Storage::Local(l) => l.create_record(seq, bytes),
            Storage::Remote(r) => r.create_record(seq, bytes),
        }
    }

    /// Moves a committed transaction's files to their final place, and the files it
    /// retires under `_msma/retired/`.
    pub(crate) fn publish(
        &self,
        txn: &str,
        dir: &Path,
        files: &[FileEntry],
        retired: &[FileEntry],
        threads: usize,
    ) -> Result<()> {
        match &self.storage {
            Storage::Local(l) => l.publish(dir, files, retired, threads),
            Storage::Remote(r) => r.publish(txn, files, retired),
        }
    }

    /// Drops the staged files of a transaction that will not be committed.
    pub(crate) fn discard(&self, txn: &str, dir: &Path, files: &[FileEntry]) -> Result<()> {
        if let Storage::Remote(r) = &self.storage {
            r.discard(txn, files)?;
        }
        fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))
    }
}

fn mismatch(location: &Location, held: &Identity, wanted: &Identity) -> String {
    let what = if held.study_id != wanted.study_id {
        format!("study {:?}, not {:?}", held.study_id, wanted.study_id)
    } else if held.key_id != wanted.key_id {
        format!("key id {}, not {}", held.key_id, wanted.key_id)
    } else {
        format!("generalisation policy {}, not {}", held.policy, wanted.policy)
    };
    format!("{location} holds data of {what}; a zone holds one study under one key and policy: choose another --out")
}
