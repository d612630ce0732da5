//! A zone in an object store, shared by writers on several hosts. Files are written to a
//! local spool, uploaded under `_msma/staging/<txn>/` before the commit record, and copied
//! to their final keys after it. The record is created with a create-only put
//! (`If-None-Match: *`): the store lets one writer have each record number, which makes
//! the put the commit point, as the hard link is on a file system.
//!
//! Object stores have no locks, so a dead writer is known by its age: an uncommitted
//! upload older than [`STALE_UPLOAD`] is an orphan. Uploads only happen while a commit is
//! being made, which takes seconds.

use crate::layout::{LOG_DIR, META_DIR, STAGING_DIR, staged_file};
use crate::log::{self, CommitRecord, FileEntry, Stored};
use crate::read::{CONCURRENCY, fetch_records, key};
use crate::state::Head;
use crate::{Error, Result};
use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Age past which an uncommitted upload belongs to a dead writer.
pub const STALE_UPLOAD: Duration = Duration::from_secs(3600);
/// Files larger than this are uploaded in parts of this size (S3's smallest part).
const PART_BYTES: usize = 5 << 20;
/// Small files uploaded at once: each is read whole, so at most 40 MiB are held.
const SMALL_UPLOADS: usize = 8;

pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: Url,
    /// Object store clients are asynchronous; the zone's callers are not.
    runtime: tokio::runtime::Runtime,
    spool: tempfile::TempDir,
    writer: String,
}

impl Remote {
    pub fn open(url: &Url, writer: &str) -> Result<Self> {
        let store_error = |e: object_store::Error| Error::store(url, e);
        let (store, prefix) = crate::Location::connect(url).map_err(store_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io(Path::new("tokio runtime"), e))?;
        let spool = tempfile::Builder::new()
            .prefix("msma-spool-")
            .tempdir()
            .map_err(|e| Error::io(&std::env::temp_dir(), e))?;
        Ok(Self {
            store,
            prefix,
            url: url.clone(),
            runtime,
            spool,
            writer: writer.to_owned(),
        })
    }

    fn key(&self, rel: &str) -> ObjectPath {
        key(&self.prefix, rel)
    }

    fn staged_key(&self, txn: &str, rel: &str) -> ObjectPath {
        self.key(&format!("{META_DIR}/{STAGING_DIR}/{txn}/{rel}"))
    }

    fn error(&self, e: object_store::Error) -> Error {
        Error::store(&self.url, e)
    }

    /// A local copy of the dedup run `run` of committed transaction `txn`, from its place
    /// or, before its writer has published it, from its upload.
    pub fn fetch_run(&self, txn: &str, run: &FileEntry) -> Result<(PathBuf, std::fs::File)> {
        let local = self.spool.path().join(run.path.replace('/', "%2F"));
        let bytes = self.runtime.block_on(async {
            match self.store.get(&self.key(&run.path)).await {
                Err(object_store::Error::NotFound { .. }) => {
                    match self.store.get(&self.staged_key(txn, &run.path)).await {
                        // Retired by a compaction since its record was read.
                        Err(object_store::Error::NotFound { .. }) => {
                            self.store.get(&self.key(&crate::layout::retired_path(&run.path))).await
                        }
                        got => got,
                    }
                }
                got => got,
            }?
            .bytes()
            .await
        });
        let bytes = bytes.map_err(|e| self.error(e))?;
        std::fs::write(&local, &bytes).map_err(|e| Error::io(&local, e))?;
        let file = std::fs::File::open(&local).map_err(|e| Error::io(&local, e))?;
        Ok((local, file))
    }

    /// The local folder transaction `n` of this writer writes its files in.
    pub fn txn_dir(&self, n: u64) -> PathBuf {
        self.spool.path().join(n.to_string())
    }

    pub fn read_after(&self, last: Option<&Head>) -> Result<Vec<Stored>> {
        let after = last.map_or(0, |h| h.seq);
        let fetched = self
            .runtime
            .block_on(fetch_records(self.store.as_ref(), &self.prefix, after))
            .map_err(|e| self.error(e))?;
        log::verify_after(last, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..])))
    }

    /// Creates record `seq` unless it exists. `false` when another writer has it.
    pub fn create_record(&self, seq: u64, bytes: &[u8]) -> Result<bool> {
        let key = self.key(&format!("{META_DIR}/{LOG_DIR}/{}", log::record_name(seq)));
        let put = self.store.put_opts(
            &key,
            PutPayload::from(bytes.to_vec()),
            PutOptions::from(PutMode::Create),
        );
        match self.runtime.block_on(put) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Uploads a transaction's files (staged in `dir`, see [`staged_file`]) to its
    /// staging prefix.
    pub fn stage(&self, txn: &str, dir: &Path, files: &[FileEntry]) -> Result<()> {
        let (small, large): (Vec<&FileEntry>, Vec<&FileEntry>) =
            files.iter().partition(|f| f.bytes <= PART_BYTES as u64);
        self.runtime.block_on(async {
            for (batch, at_once) in [(small, SMALL_UPLOADS), (large, 1)] {
                stream::iter(batch)
                    .map(|f| self.upload(staged_file(dir, &f.path), self.staged_key(txn, &f.path)))
                    .buffer_unordered(at_once)
                    .try_collect::<()>()
                    .await?;
            }
            Ok(())
        })
    }

    async fn upload(&self, from: PathBuf, to: ObjectPath) -> Result<()> {
        let io = |e| Error::io(&from, e);
        let mut file = std::fs::File::open(&from).map_err(io)?;
        let size = file.metadata().map_err(io)?.len() as usize;
        if size <= PART_BYTES {
            let mut bytes = Vec::with_capacity(size);
            file.read_to_end(&mut bytes).map_err(io)?;
            self.store.put(&to, bytes.into()).await.map_err(|e| self.error(e))?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&to).await.map_err(|e| self.error(e))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut chunk = vec![0; PART_BYTES];
        loop {
            let n = file.read(&mut chunk).map_err(io)?;
            if n == 0 {
                break;
            }
            // At most two parts in flight: memory stays bounded whatever the file size.
            parts.wait_for_capacity(2).await.map_err(|e| self.error(e))?;
            parts.write(&chunk[..n]);
        }
        parts.finish().await.map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Copies a committed transaction's uploads to their final keys, moves the files it
    /// retires under `_msma/retired/` (the copy's time is the retirement's), then
    /// deletes the uploads. Idempotent: another writer's recovery may be doing the same.
    pub fn publish(&self, txn: &str, files: &[FileEntry], retired: &[FileEntry]) -> Result<()> {
        self.runtime.block_on(async {
            stream::iter(files)
                .map(|f| async move {
                    let (from, to) = (self.staged_key(txn, &f.path), self.key(&f.path));
                    match self.store.copy(&from, &to).await {
                        Ok(()) => Ok(()),
                        Err(object_store::Error::NotFound { .. }) => match self.store.head(&to).await {
                            Ok(meta) if meta.size == f.bytes => Ok(()),
                            _ => Err(Error::Ledger(format!("committed file {} is missing", f.path))),
                        },
                        Err(e) => Err(self.error(e)),
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<()>()
                .await?;
            stream::iter(retired)
                .map(|f| async move {
                    let (from, to) = (self.key(&f.path), self.key(&crate::layout::retired_path(&f.path)));
                    match self.store.copy(&from, &to).await {
                        Ok(()) => match self.store.delete(&from).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                            Err(e) => Err(self.error(e)),
                        },
                        Err(object_store::Error::NotFound { .. }) => Ok(()), // moved already
                        Err(e) => Err(self.error(e)),
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<()>()
                .await
        })?;
        self.discard(txn, files)
    }

    /// Deletes a transaction's uploads.
    pub fn discard(&self, txn: &str, files: &[FileEntry]) -> Result<()> {
        self.runtime.block_on(async {
            stream::iter(files)
                .map(|f| async move {
                    match self.store.delete(&self.staged_key(txn, &f.path)).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                        Err(e) => Err(self.error(e)),
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<()>()
                .await
        })
    }

    /// Completes the commits whose files were not all copied, and deletes the uploads of
    /// transactions that were never committed once they are stale.
    pub fn recover(&self) -> Result<()> {
        let staging = self.key(&format!("{META_DIR}/{STAGING_DIR}"));
        let objects: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(self.store.list(Some(&staging)).try_collect())
            .map_err(|e| self.error(e))?;
        // Transaction id (writer/n) → its uploads and the newest upload's time.
        let mut txns: BTreeMap<String, (Vec<ObjectPath>, chrono::DateTime<chrono::Utc>)> = BTreeMap::new();
        let depth = staging.parts().count();
        for meta in objects {
            let parts: Vec<String> = meta
                .location
                .parts()
                .skip(depth)
                .map(|p| p.as_ref().to_owned())
                .collect();
            let [writer, n, ..] = parts.as_slice() else { continue };
            if *writer == self.writer {
                continue;
            }
            let entry = txns
                .entry(format!("{writer}/{n}"))
                .or_insert_with(|| (Vec::new(), meta.last_modified));
            entry.0.push(meta.location);
            entry.1 = entry.1.max(meta.last_modified);
        }
        if txns.is_empty() {
            return Ok(());
        }
        // Listed before the log is read: an upload committed meanwhile is known by it.
        let records = self.read_after(None)?;
        let committed: BTreeMap<&str, &CommitRecord> =
            records.iter().map(|s| (s.record.txn.as_str(), &s.record)).collect();
        let stale_before = chrono::Utc::now() - STALE_UPLOAD;
        for (id, (keys, newest)) in txns {
            if let Some(record) = committed.get(id.as_str()) {
                self.publish(&id, &record.published(), &record.retired)?;
                tracing::info!(txn = %id, files = record.files.len(), "completed an interrupted commit");
            } else if newest < stale_before {
                self.runtime
                    .block_on(async {
                        stream::iter(keys.iter())
                            .map(|k| self.store.delete(k))
                            .buffer_unordered(CONCURRENCY)
                            .try_collect::<()>()
                            .await
                    })
                    .map_err(|e| self.error(e))?;
                tracing::info!(txn = %id, "removed the uploads of an uncommitted transaction");
            }
        }
        Ok(())
    }
}
