//! msma's dataset writer. Rows become Arrow batches ([`BatchBuilder`]), batches become
//! Parquet files in a staging area, and a [`Txn`] publishes them into Hive-partitioned
//! dataset folders with one atomic commit record in the zone's log.
//!
//! Delivery contract: a commit's files are fully written and synced (or uploaded) before
//! its record exists; the record exists before any of its files is visible; a crash at
//! any point is repaired when the zone is next opened (committed files are moved into
//! place, uncommitted ones deleted). Readers of the dataset folders never see a partial
//! file. Zones live in a folder or in an object store ([`Location`]).

mod apart;
mod batch;
mod local;
mod location;
mod log;
mod order;
mod parallel;
mod part;
mod remote;
mod tree;
mod zone;

pub use apart::keep_apart;
pub use batch::{BatchBuilder, arrow_schema};
pub use location::{BadLocation, Location};
pub use log::{
    CommitRecord, FileEntry, Identity, OffsetRange, RECORD_FORMAT, RowCounts, Source, Stored, read_all, record_name,
    verify_after,
};
pub use remote::{STALE_UPLOAD, fetch_records, key as object_key};
pub use tree::{check_tree, holds};
pub use zone::{LOG_DIR, META_DIR, RowGroup, Txn, Zone};

use std::path::{Path, PathBuf};

/// What can go wrong writing datasets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The object store refused or failed a request.
    #[error("{location}: {message}")]
    Store { location: String, message: String },
    /// The Parquet encoder failed.
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    /// The commit log is unreadable or its chain is broken.
    #[error("commit log: {0}")]
    Ledger(String),
    /// The zone holds another study, key or policy.
    #[error("{0}")]
    IdentityMismatch(String),
    /// Another msma process holds this staging folder.
    #[error("{0} is in use by another msma process")]
    Locked(PathBuf),
    /// A research zone and a file of the identified or custodian zone nest.
    #[error("{0}")]
    Nested(String),
    /// A zone's tree holds what msma never writes there.
    #[error("{path}: {what} in the zone, which holds only msma's own files and folders: remove it")]
    Planted { path: PathBuf, what: &'static str },
    /// The source range was committed by another writer meanwhile (record number).
    #[error("the source range is already committed (record {0})")]
    Conflict(u64),
}

impl Error {
    /// A failure of the storage itself (disk full, read-only, store unreachable): worth
    /// trying again later, unlike a broken ledger or a zone of another study.
    pub fn is_storage_failure(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Store { .. } | Self::Parquet { .. })
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn store(url: &url::Url, e: object_store::Error) -> Self {
        Self::Store {
            location: url.to_string(),
            message: e.to_string(),
        }
    }

    pub(crate) fn parquet(path: &Path, e: parquet::errors::ParquetError) -> Self {
        Self::Parquet {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads and checks a zone's ledger without opening the zone for writing (no staging,
/// no repair): empty when nothing was committed there yet.
pub fn read_ledger(location: &Location) -> Result<Vec<Stored>> {
    match location {
        Location::Local(root) => {
            let dir = root.join(META_DIR).join(LOG_DIR);
            if dir.is_dir() { read_all(&dir) } else { Ok(Vec::new()) }
        }
        Location::Remote(url) => {
            let (store, prefix) = Location::connect(url).map_err(|e| Error::store(url, e))?;
            let fetched = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io(Path::new("tokio runtime"), e))?
                .block_on(fetch_records(store.as_ref(), &prefix, 0))
                .map_err(|e| Error::store(url, e))?;
            verify_after(None, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..])))
        }
    }
}
