//! A zone opened for reading, in a folder or an object store: its ledger as of a record,
//! its files' listing, bytes and digests, and a check of what its tree holds. Every
//! reader (queries, reports, audits, rotation, `config check`) reads through here, and
//! the writer's own log reads share [`fetch_records`] and [`crate::log::read_after`].

use crate::layout::{LOG_DIR, META_DIR};
use crate::log::{self, Stored};
use crate::{Error, Location, Result};
use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// A zone's Parquet file, as [`ZoneReader::parquet`] opens it.
pub enum ParquetFile {
    Local(std::fs::File),
    Fetched(bytes::Bytes),
}

impl parquet::file::reader::Length for ParquetFile {
    fn len(&self) -> u64 {
        match self {
            Self::Local(f) => f.len(),
            Self::Fetched(b) => b.len() as u64,
        }
    }
}

impl parquet::file::reader::ChunkReader for ParquetFile {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            Self::Local(f) => Box::new(f.get_read(start)?),
            Self::Fetched(b) => Box::new(b.get_read(start)?),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        match self {
            Self::Local(f) => f.get_bytes(start, length),
            Self::Fetched(b) => b.get_bytes(start, length),
        }
    }
}

/// Requests in flight at once when reading the log or publishing files.
pub(crate) const CONCURRENCY: usize = 16;
/// Objects of a key's size at most are read to see if they hold one.
const KEY_OBJECT_MAX_BYTES: u64 = 128;

/// A zone opened for reading: nothing is written, staged files are not repaired.
/// Reads are asynchronous, for engines that share the zone's store (queries); [`block_on`]
/// runs them for the others.
pub struct ZoneReader {
    root: Root,
}

enum Root {
    Local(PathBuf),
    Store {
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        url: Url,
    },
}

impl ZoneReader {
    /// Opens the zone at `location`: connects to its store, reads nothing yet.
    pub fn open(location: &Location) -> Result<Self> {
        let root = match location {
            Location::Local(path) => Root::Local(path.clone()),
            Location::Remote(url) => {
                let (store, prefix) = Location::connect(url).map_err(|e| Error::store(url, e))?;
                Root::Store {
                    store,
                    prefix,
                    url: url.clone(),
                }
            }
        };
        Ok(Self { root })
    }

    /// The ledger's records up to record `as_of` (all of them for `None`), checked for
    /// numbering and hash chain; `None` when the zone has no ledger (no log folder; in a
    /// store, which has no folders, no record). A record past the last is
    /// [`Error::NotInLedger`].
    pub async fn ledger(&self, as_of: Option<u64>) -> Result<Option<Vec<Stored>>> {
        let mut records = match &self.root {
            Root::Local(root) => {
                let dir = root.join(META_DIR).join(LOG_DIR);
                if !dir.is_dir() {
                    return Ok(None);
                }
                log::read_all(&dir)?
            }
            Root::Store { store, prefix, url } => {
                let fetched = fetch_records(store.as_ref(), prefix, 0)
                    .await
                    .map_err(|e| Error::store(url, e))?;
                let records = log::verify_after(None, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..])))?;
                if records.is_empty() {
                    return Ok(None);
                }
                records
            }
        };
        if let Some(seq) = as_of {
            let last = records.last().map_or(0, |s| s.record.seq);
            if seq == 0 || seq > last {
                return Err(Error::NotInLedger { seq, last });
            }
            records.truncate(seq as usize);
        }
        Ok(Some(records))
    }

    /// What the ledger's records up to `as_of` add up to (see [`ZoneReader::ledger`]):
    /// the last checkpoint at or before it, then the records after that one.
    pub async fn state(&self, as_of: Option<u64>) -> Result<Option<crate::ZoneState>> {
        // Record 0 is no record: the error names the last.
        let upto = as_of.filter(|seq| *seq > 0);
        let mut state = self.last_checkpoint(upto).await?.unwrap_or_default();
        let records = match self.records(state.head.as_ref(), upto).await? {
            Some(records) => records,
            None if state.head.is_none() => return Ok(None),
            None => Vec::new(),
        };
        records.iter().for_each(|s| state.apply(s));
        if let Some(seq) = as_of
            && (seq == 0 || seq > state.seq())
        {
            return Err(Error::NotInLedger { seq, last: state.seq() });
        }
        Ok(Some(state))
    }

    /// The records after `last` up to `upto` (to the last for `None`), checked for
    /// numbering and hash chain from `last`; `None` when the zone has no ledger (as
    /// [`ZoneReader::ledger`] says).
    async fn records(&self, last: Option<&crate::Head>, upto: Option<u64>) -> Result<Option<Vec<Stored>>> {
        let after = last.map_or(0, |h| h.seq);
        let fetched = match &self.root {
            Root::Local(root) => {
                let dir = root.join(META_DIR).join(LOG_DIR);
                if !dir.is_dir() {
                    return Ok(None);
                }
                let mut fetched = Vec::new();
                for seq in (after + 1..).take_while(|s| upto.is_none_or(|u| *s <= u)) {
                    let path = dir.join(log::record_name(seq));
                    match std::fs::read(&path) {
                        Ok(bytes) => fetched.push((path.display().to_string(), bytes::Bytes::from(bytes))),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                        Err(e) => return Err(Error::io(&path, e)),
                    }
                }
                fetched
            }
            Root::Store { store, prefix, url } => fetch_range(store.as_ref(), prefix, after, upto)
                .await
                .map_err(|e| Error::store(url, e))?,
        };
        if fetched.is_empty() && last.is_none() && matches!(self.root, Root::Store { .. }) {
            return Ok(None);
        }
        log::verify_after(last, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..]))).map(Some)
    }

    /// Every file of the zone outside `_msma/`, relative, with `/` separators, sorted.
    /// Links are listed, not followed: a linked folder's files are not the zone's.
    pub async fn files(&self) -> Result<Vec<String>> {
        match &self.root {
            Root::Local(root) => local_files(root),
            Root::Store { store, prefix, url } => {
                let mut files: Vec<String> = (list(store.as_ref(), prefix, url, None).await?.iter())
                    .map(|m| below(prefix, &m.location))
                    .filter(|rel| rel.split('/').next().is_some_and(|p| p != META_DIR))
                    .collect();
                files.sort();
                Ok(files)
            }
        }
    }

    /// Every file waiting under `_msma/retired/` for vacuum, relative to the zone's root,
    /// sorted: listed, whatever the ledger says, for scans that must read every byte.
    pub async fn retired_files(&self) -> Result<Vec<String>> {
        let under = crate::retired_path("");
        let mut files: Vec<String> = match &self.root {
            Root::Local(root) if root.join(&under).is_dir() => (local_files(&root.join(&under))?.iter())
                .map(|f| format!("{under}{f}"))
                .collect(),
            Root::Local(_) => Vec::new(),
            Root::Store { store, prefix, url } => {
                (list(store.as_ref(), prefix, url, Some(under.trim_end_matches('/')))
                    .await?
                    .iter())
                .map(|m| below(prefix, &m.location))
                .collect()
            }
        };
        files.sort();
        Ok(files)
    }

    /// The names of the entries of the log folder, sorted, records or not; none when it
    /// cannot be read.
    pub async fn log_entries(&self) -> Result<Vec<String>> {
        self.entries(&format!("{META_DIR}/{LOG_DIR}")).await
    }

    /// The names of the entries of folder `sub` (relative), sorted; none when it cannot
    /// be read. One listing.
    pub(crate) async fn entries(&self, sub: &str) -> Result<Vec<String>> {
        let mut names: Vec<String> = match &self.root {
            Root::Local(root) => {
                let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
                    return Ok(Vec::new());
                };
                entries
                    .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                    .collect()
            }
            Root::Store { store, prefix, url } => (list(store.as_ref(), prefix, url, Some(sub)).await?.iter())
                .filter_map(|m| m.location.filename().map(str::to_owned))
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    /// The bytes of the file at `rel`, `None` when there is none.
    pub(crate) async fn read_opt(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match &self.root {
            Root::Local(root) => {
                let path = root.join(rel);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(&path, e)),
                }
            }
            Root::Store { store, prefix, url } => match store.get(&key(prefix, rel)).await {
                Ok(found) => Ok(Some(found.bytes().await.map_err(|e| Error::store(url, e))?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(Error::store(url, e)),
            },
        }
    }

    /// Creates the file at `rel` with `bytes` unless it exists, atomically: in a folder,
    /// written to a temporary file, synced, then linked under its name; in a store, a
    /// create-only put. `false` when it exists.
    pub(crate) async fn create(&self, rel: &str, bytes: &[u8]) -> Result<bool> {
        match &self.root {
            Root::Local(root) => {
                use std::io::Write;
                let target = root.join(rel);
                let dir = target.parent().expect("a file sits in a folder");
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                // Created as a record is (tempfile's would be private to its owner).
                let mut id = [0u8; 8];
                getrandom::fill(&mut id).map_err(|e| Error::io(dir, std::io::Error::other(e.to_string())))?;
                let tmp = dir.join(format!(".tmp-{}", hex::encode(id)));
                let written =
                    std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
                let linked =
                    written
                        .map_err(|e| Error::io(&tmp, e))
                        .and_then(|()| match std::fs::hard_link(&tmp, &target) {
                            Ok(()) => Ok(true),
                            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                            Err(e) => Err(Error::io(&target, e)),
                        });
                let _ = std::fs::remove_file(&tmp);
                let linked = linked?;
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| Error::io(dir, e))?;
                Ok(linked)
            }
            Root::Store { store, prefix, url } => {
                let key = key(prefix, rel);
                let put = store.put_opts(
                    &key,
                    object_store::PutPayload::from(bytes.to_vec()),
                    object_store::PutOptions::from(object_store::PutMode::Create),
                );
                match put.await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                    Err(e) => Err(Error::store(url, e)),
                }
            }
        }
    }

    /// The bytes of the file at `rel` (relative to the zone's root).
    pub async fn read(&self, rel: &str) -> Result<Vec<u8>> {
        match &self.root {
            Root::Local(root) => {
                let path = root.join(rel);
                std::fs::read(&path).map_err(|e| Error::io(&path, e))
            }
            Root::Store { store, prefix, url } => {
                let get = async { store.get(&key(prefix, rel)).await?.bytes().await };
                Ok(get.await.map_err(|e| Error::store(url, e))?.to_vec())
            }
        }
    }

    /// The Parquet file at `rel`, for parquet's readers: read as needed from a folder,
    /// fetched whole from a store; [`Error::Missing`] when there is none.
    pub async fn parquet(&self, rel: &str) -> Result<ParquetFile> {
        let file = match &self.root {
            Root::Local(root) => {
                let path = root.join(rel);
                match std::fs::File::open(&path) {
                    Ok(file) => Some(ParquetFile::Local(file)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
            Root::Store { .. } => self.read_opt(rel).await?.map(|b| ParquetFile::Fetched(b.into())),
        };
        file.ok_or_else(|| Error::Missing(rel.to_owned()))
    }

    /// SHA-256 of the file at `rel`, streamed; `None` when there is no such file.
    pub async fn sha256(&self, rel: &str) -> Result<Option<String>> {
        let mut sha = Sha256::new();
        match &self.root {
            Root::Local(root) => {
                let path = root.join(rel);
                if !path.is_file() {
                    return Ok(None);
                }
                let io = |e| Error::io(&path, e);
                let mut f = std::fs::File::open(&path).map_err(io)?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = f.read(&mut buf).map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    sha.update(&buf[..n]);
                }
            }
            Root::Store { store, prefix, url } => {
                let mut body = match store.get(&key(prefix, rel)).await {
                    Ok(found) => found.into_stream(),
                    Err(object_store::Error::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(Error::store(url, e)),
                };
                while let Some(chunk) = body.try_next().await.map_err(|e| Error::store(url, e))? {
                    sha.update(&chunk);
                }
            }
        }
        Ok(Some(hex::encode(sha.finalize())))
    }

    /// Refuses a zone holding what no writer of msma puts there: in a folder, a link, a
    /// special file or a master key at any depth; in a store (no links there),
    /// an object that holds a master key.
    pub async fn check_tree(&self) -> Result<()> {
        let (store, prefix, url) = match &self.root {
            Root::Local(root) => return crate::tree::check_tree(root),
            Root::Store { store, prefix, url } => (store, prefix, url),
        };
        for meta in list(store.as_ref(), prefix, url, None)
            .await?
            .iter()
            .filter(|m| m.size <= KEY_OBJECT_MAX_BYTES)
        {
            let get = async { store.get(&meta.location).await?.bytes().await };
            let bytes = get.await.map_err(|e| Error::store(url, e))?;
            if msma_pseudo::MasterKey::looks_like(&bytes) {
                return Err(Error::PlantedObject(meta.location.to_string()));
            }
        }
        Ok(())
    }

    /// The zone's files as an object store, for engines that read through one: the
    /// store, the zone's prefix in it, and the zone's root as a URL with a final slash
    /// (`file:///…/` for a folder).
    pub fn object_store(&self) -> Result<(Arc<dyn ObjectStore>, ObjectPath, Url)> {
        match &self.root {
            Root::Local(root) => {
                let root = std::path::absolute(root).map_err(|e| Error::io(root, e))?;
                let base = Url::from_directory_path(&root)
                    .map_err(|()| Error::io(&root, std::io::Error::other("not an absolute path")))?;
                let prefix = ObjectPath::from_absolute_path(&root).map_err(|e| Error::Store {
                    location: root.display().to_string(),
                    message: e.to_string(),
                })?;
                Ok((Arc::new(object_store::local::LocalFileSystem::new()), prefix, base))
            }
            Root::Store { store, prefix, url } => {
                let mut base = url.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                Ok((store.clone(), prefix.clone(), base))
            }
        }
    }
}

/// Runs a read on a runtime of its own, for callers that are not asynchronous.
pub fn block_on<F: std::future::Future>(read: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io(Path::new("tokio runtime"), e))?;
    Ok(runtime.block_on(read))
}

/// Reads and checks a zone's ledger without opening the zone for writing (no staging,
/// no repair): empty when nothing was committed there yet.
pub fn read_ledger(location: &Location) -> Result<Vec<Stored>> {
    let reader = ZoneReader::open(location)?;
    Ok(block_on(reader.ledger(None))??.unwrap_or_default())
}

/// Every file of a local zone outside `_msma/` (see [`ZoneReader::files`]).
fn local_files(zone: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![zone.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            if path.parent() == Some(zone) && path.file_name().is_some_and(|n| n == META_DIR) {
                continue;
            }
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(zone).expect("below the zone");
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every object of a zone in a store under `sub` (the whole zone, `_msma/` included,
/// for `None`).
async fn list(store: &dyn ObjectStore, prefix: &ObjectPath, url: &Url, sub: Option<&str>) -> Result<Vec<ObjectMeta>> {
    let under = sub.map_or_else(|| prefix.clone(), |s| key(prefix, s));
    (store.list(Some(&under)).try_collect().await).map_err(|e| Error::store(url, e))
}

/// The path of `key` below `prefix`, with `/` separators.
fn below(prefix: &ObjectPath, key: &ObjectPath) -> String {
    let parts: Vec<String> = key
        .parts()
        .skip(prefix.parts().count())
        .map(|p| p.as_ref().to_owned())
        .collect();
    parts.join("/")
}

/// `rel` (with `/` separators) under `prefix`.
pub fn key(prefix: &ObjectPath, rel: &str) -> ObjectPath {
    prefix
        .parts()
        .chain(rel.split('/').filter(|p| !p.is_empty()).map(PathPart::from))
        .collect()
}

/// Where record `seq` sits, relative to the zone's root.
pub(crate) fn record_path(seq: u64) -> String {
    format!("{META_DIR}/{LOG_DIR}/{}", log::record_name(seq))
}

/// The records numbered after `after` under a zone's prefix, in order, as
/// (name, bytes): one listing, then concurrent reads.
pub(crate) async fn fetch_records(
    store: &dyn ObjectStore,
    prefix: &ObjectPath,
    after: u64,
) -> Result<Vec<(String, bytes::Bytes)>, object_store::Error> {
    fetch_range(store, prefix, after, None).await
}

/// The records numbered after `after` and up to `upto` (to the last for `None`), as
/// [`fetch_records`] reads them.
async fn fetch_range(
    store: &dyn ObjectStore,
    prefix: &ObjectPath,
    after: u64,
    upto: Option<u64>,
) -> Result<Vec<(String, bytes::Bytes)>, object_store::Error> {
    let log_dir = key(prefix, &format!("{META_DIR}/{LOG_DIR}"));
    let offset = key(&log_dir, &log::record_name(after));
    let listed: Vec<ObjectMeta> = store.list_with_offset(Some(&log_dir), &offset).try_collect().await?;
    let mut keys: Vec<ObjectPath> = listed
        .into_iter()
        .map(|m| m.location)
        .filter(|k| {
            k.filename()
                .and_then(log::record_seq)
                .is_some_and(|s| upto.is_none_or(|u| s <= u))
        })
        .collect();
    keys.sort();
    stream::iter(keys)
        .map(|k| async move {
            let bytes = store.get(&k).await?.bytes().await?;
            Ok((k.filename().unwrap_or_default().to_owned(), bytes))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}
