//! A zone on a local or shared file system. A commit record is linked into the log
//! under its final name (a hard link fails if the name exists: the commit point), then
//! the staged files are renamed into place. A writer's staging folder is locked while it
//! lives, so recovery can tell a dead writer's leftovers from a live one's work.

use crate::layout::{LOG_DIR, META_DIR, STAGING_DIR, staged_file};
use crate::log::{self, CommitRecord, FileEntry, Stored};
use crate::state::Head;
use crate::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

const LOCK: &str = "lock";

pub(crate) struct Local {
    root: PathBuf,
    /// This process's staging folder and the lock that marks it alive.
    staging: PathBuf,
    writer: String,
    _lock: File,
}

impl Local {
    /// Opens the zone at `root`, refusing a tree that holds a link, a special file or a
    /// master key ([`crate::tree`]).
    pub fn open(root: &Path, writer: &str) -> Result<Self> {
        crate::tree::check_tree(root)?;
        let meta = root.join(META_DIR);
        for dir in [meta.join(LOG_DIR), meta.join(STAGING_DIR)] {
            fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        // The folder gets its final name only once locked, so that no other writer's
        // recovery can take it for a dead writer's.
        let staging = meta.join(STAGING_DIR).join(writer);
        let fresh = meta.join(STAGING_DIR).join(format!(".new-{writer}"));
        fs::create_dir_all(&fresh).map_err(|e| Error::io(&fresh, e))?;
        let lock_path = fresh.join(LOCK);
        let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        lock.try_lock().map_err(|_| Error::Locked(fresh.clone()))?;
        fs::rename(&fresh, &staging).map_err(|e| Error::io(&staging, e))?;
        Ok(Self {
            root: root.to_owned(),
            staging,
            writer: writer.to_owned(),
            _lock: lock,
        })
    }

    fn meta(&self, sub: &str) -> PathBuf {
        self.root.join(META_DIR).join(sub)
    }

    /// The folder transaction `n` of this writer writes its files in.
    pub fn txn_dir(&self, n: u64) -> PathBuf {
        self.staging.join(n.to_string())
    }

    /// The dedup run `run` of committed transaction `txn`, opened: in place, or still
    /// staged by a writer that has not published it yet (or by one that died: another
    /// writer's recovery may move it meanwhile, so each place is tried in turn, and an
    /// open file survives the move).
    pub fn open_run(&self, txn: &str, run: &FileEntry) -> Result<(PathBuf, File)> {
        let placed = self.root.join(&run.path);
        let staged = staged_file(&self.meta(STAGING_DIR).join(txn), &run.path);
        // Retired by a compaction since its record was read.
        let retired = self.root.join(crate::layout::retired_path(&run.path));
        for path in [&placed, &staged, &placed, &retired] {
            match File::open(path) {
                Ok(file) => return Ok((path.clone(), file)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Err(Error::Ledger(format!(
            "the dedup run {} of a committed record is missing",
            run.path
        )))
    }

    pub fn read_after(&self, last: Option<&Head>) -> Result<Vec<Stored>> {
        log::read_after(&self.meta(LOG_DIR), last)
    }

    /// Makes record `seq` exist with `bytes`, atomically: written to a temporary file,
    /// synced, then linked under its final name. `false` when that name is taken.
    pub fn create_record(&self, seq: u64, bytes: &[u8]) -> Result<bool> {
        use std::io::Write;
        let dir = self.meta(LOG_DIR);
        let tmp = dir.join(format!(".tmp-{}-{seq}", self.writer));
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        let target = dir.join(log::record_name(seq));
        let linked = match fs::hard_link(&tmp, &target) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::io(&target, e)),
        };
        fs::remove_file(&tmp).map_err(|e| Error::io(&tmp, e))?;
        sync_dir(&dir)?;
        Ok(linked)
    }

    /// Renames staged files (see [`staged_file`]) into place, then the `retired` files
    /// under `_msma/retired/`, then syncs their folders. Folders are made one by one,
    /// refusing a link planted since the zone was opened. Idempotent: recovery completes
    /// what a dead writer began.
    pub fn publish(&self, staged: &Path, files: &[FileEntry], retired: &[FileEntry], threads: usize) -> Result<()> {
        let mut parents = BTreeSet::new();
        for f in files {
            let mut from = staged_file(staged, &f.path);
            if !from.exists() {
                from = staged.join(&f.path); // staged by an earlier version
            }
            let to = self.root.join(&f.path);
            if !from.exists() {
                if to.exists() {
                    continue;
                }
                return Err(Error::Ledger(format!("committed file {} is missing", f.path)));
            }
            let parent = to.parent().expect("dataset files sit in folders").to_owned();
            if !parents.contains(&parent) {
                let rel = Path::new(&f.path).parent().expect("dataset files sit in folders");
                crate::tree::create_dirs(&self.root, rel)?;
            }
            fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
            parents.insert(parent);
        }
        for f in retired {
            let (from, rel) = (self.root.join(&f.path), crate::layout::retired_path(&f.path));
            let to = self.root.join(&rel);
            if !from.exists() {
                continue; // moved already
            }
            crate::tree::create_dirs(&self.root, Path::new(&rel).parent().expect("files sit in folders"))?;
            fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
            // Vacuum counts a retired file's age from its retirement.
            File::options()
                .write(true)
                .open(&to)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                .map_err(|e| Error::io(&to, e))?;
            for path in [from, to] {
                parents.insert(path.parent().expect("files sit in folders").to_owned());
            }
        }
        crate::parallel::run(threads, parents.into_iter().collect(), |dir| sync_dir(&dir))?;
        Ok(())
    }

    /// Completes or removes the transactions of writers that died: their staging folder
    /// is no longer locked. Committed files are moved into place; files written but
    /// never committed are orphans and deleted.
    pub fn recover(&self) -> Result<()> {
        let staging = self.meta(STAGING_DIR);
        // Each dead writer's lock is held until it is recovered, so that no other
        // recovery takes its folder meanwhile.
        let mut dead = Vec::new();
        for entry in fs::read_dir(&staging).map_err(|e| Error::io(&staging, e))? {
            let writer_dir = entry.map_err(|e| Error::io(&staging, e))?.path();
            if writer_dir == self.staging || !writer_dir.is_dir() {
                continue;
            }
            let writer = writer_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let lock = File::open(writer_dir.join(LOCK)).ok();
            if writer.starts_with(".new-") {
                // Being created, or its creator died before locking it.
                if lock.is_some_and(|l| l.try_lock().is_ok()) {
                    remove_gone(&writer_dir)?;
                }
                continue;
            }
            if lock.as_ref().is_some_and(|l| l.try_lock().is_err()) {
                continue; // a live writer
            }
            dead.push((writer, writer_dir, lock));
        }
        if dead.is_empty() {
            return Ok(());
        }
        // The log is read once these writers are known dead, so that it holds every
        // record they made: one that committed, then died, keeps its committed files.
        // Its whole length, since a dead writer's transaction may be old (recovery is
        // the rare path).
        let records = self.read_after(None)?;
        let committed: BTreeMap<&str, &CommitRecord> =
            records.iter().map(|s| (s.record.txn.as_str(), &s.record)).collect();
        for (writer, writer_dir, _lock) in &dead {
            let txns = match fs::read_dir(writer_dir) {
                Ok(txns) => txns,
                // Recovered meanwhile by a writer that found it without its lock.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(writer_dir, e)),
            };
            for txn in txns {
                let dir = txn.map_err(|e| Error::io(writer_dir, e))?.path();
                if !dir.is_dir() {
                    continue;
                }
                let id = format!(
                    "{writer}/{}",
                    dir.file_name().and_then(|n| n.to_str()).unwrap_or_default()
                );
                if let Some(record) = committed.get(id.as_str()) {
                    self.publish(&dir, &record.published(), &record.retired, 1)?;
                    tracing::info!(txn = %id, files = record.files.len(), "completed an interrupted commit");
                } else {
                    tracing::info!(txn = %id, "removed the files of an uncommitted transaction");
                }
            }
            remove_gone(writer_dir)?;
        }
        let log_dir = self.meta(LOG_DIR);
        for entry in fs::read_dir(&log_dir).map_err(|e| Error::io(&log_dir, e))? {
            let path = entry.map_err(|e| Error::io(&log_dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if dead.iter().any(|(w, ..)| name.starts_with(&format!(".tmp-{w}-"))) {
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&path, e)),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Removes a folder, which another writer's recovery may be removing too.
fn remove_gone(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
        _ => Ok(()),
    }
}

impl Drop for Local {
    /// Removes this writer's staging folder when no transaction is left in it; one that
    /// is left (a commit whose files could not all be moved) waits for recovery.
    fn drop(&mut self) {
        let _ = fs::remove_file(self.staging.join(LOCK));
        let _ = fs::remove_dir(&self.staging);
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}
