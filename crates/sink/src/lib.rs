//! msma's research zones, written and read. Rows become Arrow batches ([`BatchBuilder`]),
//! batches become Parquet files in a staging area, and a [`Txn`] of a [`Zone`] publishes
//! them into Hive-partitioned dataset folders with one atomic commit record in the zone's
//! log, with the run of its events in the zone's dedup index ([`dedup`]). Every reader
//! reads a zone through a [`ZoneReader`].
//!
//! Delivery contract: a commit's files are fully written and synced (or uploaded) before
//! its record exists; the record exists before any of its files is visible; a crash at
//! any point is repaired when the zone is next opened (committed files are moved into
//! place, uncommitted ones deleted). Readers of the dataset folders never see a partial
//! file. Zones live in a folder or in an object store ([`Location`]).

mod apart;
mod batch;
mod checkpoint;
mod compact;
pub mod dedup;
mod delete;
mod digest;
mod layout;
mod local;
mod location;
mod log;
mod order;
mod parallel;
mod part;
mod read;
mod remote;
mod state;
mod tree;
mod txn;
mod withdrawn;
mod zone;

pub use apart::keep_apart;
pub use batch::{BatchBuilder, arrow_schema};
pub use checkpoint::{CHECKPOINT_DIR, CHECKPOINT_EVERY, CHECKPOINT_FORMAT, Checkpoint, checkpoint_name};
pub use compact::{COMPACT_MIN_FILES, Compacted, Keep};
pub use digest::RowsDigest;
pub use layout::{LOG_DIR, META_DIR, RETIRED_DIR, retired_path};
pub use location::{BadLocation, Location};
pub use log::{CommitRecord, FileEntry, Identity, OffsetRange, RECORD_FORMAT, RowCounts, Source, Stored, record_name};
pub use order::canonical;
pub use read::{ZoneReader, block_on, key as object_key, read_ledger};
pub use remote::STALE_UPLOAD;
pub use state::{Head, Run, ZoneState};
pub use tree::holds;
pub use txn::{RowGroup, Txn};
pub use withdrawn::Withdrawn;
pub use zone::Zone;

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
    /// An object of a zone in a store holds a master key.
    #[error(
        "{0}: a master key file in the zone, which holds only msma's own files: remove it, and replace the key: it \
         may have been read"
    )]
    PlantedObject(String),
    /// A reader asked for the ledger as of a record it does not hold.
    #[error("record {seq} is not in the ledger, which has records 1 to {last}")]
    NotInLedger { seq: u64, last: u64 },
    /// The source range was committed by another writer meanwhile (record number).
    #[error("the source range is already committed (ledger as of record {0})")]
    Conflict(u64),
    /// Another writer committed some of the same events meanwhile (record number):
    /// nothing was published, and the events are to be read again.
    #[error("some of these events were committed by another writer meanwhile (record {0})")]
    EventsCommitted(u64),
    /// A file the state lists is not in the zone: another writer retired it since the
    /// state was read (a rewrite then fails with [`Error::Retired`]), or it was lost.
    #[error("file {0} of a live record is missing from the zone")]
    Missing(String),
    /// Another writer retired or rewrote some of a rewrite's files meanwhile (record
    /// number): nothing was published.
    #[error("some of these files were retired by another writer meanwhile (record {0}): nothing was rewritten")]
    Retired(u64),
    /// A patient withdrew while the events were read (record number): nothing was
    /// published, and the events are to be read again, theirs now kept out.
    #[error("a patient withdrew while these events were read (record {0}): nothing was published")]
    Withdrawn(u64),
    /// A rewrite's files do not hold the rows of the files it retires: nothing was
    /// published.
    #[error("the rewritten files do not hold the {0} of the files they replace: nothing was published")]
    Unbalanced(String),
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
