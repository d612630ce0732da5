//! A research zone as of one ledger record: the files its commits published, nothing
//! else. Readers take their file list from the ledger rather than from directories, so
//! a commit in progress, a crashed writer's leftovers or a stray file never reach a query,
//! and a figure can be recomputed later on exactly the same data (`--as-of`).

use crate::{Error, Result};
pub use msma_sink::Head;
use msma_sink::{FileEntry, Identity, Location, ZoneReader};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The zone's root: `file:///…/` or `s3://bucket/prefix/`, with a final slash.
    pub base: url::Url,
    /// `None` for a zone without any commit yet.
    pub head: Option<Head>,
    /// Study, key id and policy of the zone (`None` without any commit).
    pub identity: Option<Identity>,
    /// Every live data file, by path.
    pub files: Vec<FileEntry>,
    /// The record asked for with `--as-of`: files retired since are read from
    /// `_msma/retired/` until vacuumed.
    pub as_of: Option<u64>,
    /// Where the files are read from, and the zone's prefix there.
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: ObjectPath,
}

impl Snapshot {
    /// Reads the ledger of the zone at `location` up to record `as_of` (the last one for
    /// `None`), checking its numbering and hash chain.
    pub async fn open(location: &Location, as_of: Option<u64>) -> Result<Self> {
        // A folder is read by its absolute path, which errors then name.
        let location = match location {
            Location::Local(zone) => Location::Local(std::path::absolute(zone).map_err(|source| Error::Path {
                path: zone.clone(),
                source,
            })?),
            remote => remote.clone(),
        };
        let reader = ZoneReader::open(&location)?;
        let state = match (reader.state(as_of).await, &location) {
            (Ok(Some(state)), _) => state,
            (Ok(None), Location::Local(root)) => return Err(Error::NoLogFolder(root.clone())),
            (Ok(None), Location::Remote(url)) => return Err(Error::NoCommit(url.clone())),
            (Err(msma_sink::Error::NotInLedger { seq, last }), _) => return Err(Error::AsOf { seq, last }),
            (Err(e @ msma_sink::Error::Ledger(_)), Location::Remote(url)) => {
                return Err(Error::Ledger {
                    zone: url.clone(),
                    source: Box::new(e),
                });
            }
            (Err(e), _) => return Err(e.into()),
        };
        let (store, prefix, base) = reader.object_store()?;
        Ok(Self {
            base,
            head: state.head,
            identity: state.identity,
            files: state.files.into_values().collect(),
            as_of,
            store,
            prefix,
        })
    }

    /// Rows published in `dataset`.
    pub fn rows(&self, dataset: &str) -> u64 {
        self.files.iter().filter(|f| f.dataset == dataset).map(|f| f.rows).sum()
    }
}
