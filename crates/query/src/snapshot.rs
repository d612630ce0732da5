//! A research zone as of one ledger record: the files its commits published, nothing
//! else. Readers take their file list from the ledger rather than from directories, so
//! a commit in progress, a crashed writer's leftovers or a stray file never reach a query,
//! and a figure can be recomputed later on exactly the same data (`--as-of`).

use crate::{Error, Result};
use msma_sink::{FileEntry, Identity, Location, Stored};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use std::sync::Arc;

/// The ledger record a snapshot stops at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub sha256: String,
    pub committed_at: String,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The zone's root: `file:///…/` or `s3://bucket/prefix/`, with a final slash.
    pub base: url::Url,
    /// `None` for a zone without any commit yet.
    pub head: Option<Head>,
    /// Study, key id and policy of the zone (`None` without any commit).
    pub identity: Option<Identity>,
    /// Every published data file, in commit order.
    pub files: Vec<FileEntry>,
    /// Where the files are read from, and the zone's prefix there.
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) prefix: ObjectPath,
}

impl Snapshot {
    /// Reads the ledger of the zone at `location` up to record `as_of` (the last one for
    /// `None`), checking its numbering and hash chain.
    pub async fn open(location: &Location, as_of: Option<u64>) -> Result<Self> {
        let (base, store, prefix, mut records) = match location {
            Location::Local(zone) => {
                let root = std::path::absolute(zone).map_err(|e| Error::Zone(format!("{}: {e}", zone.display())))?;
                let log_dir = root.join(msma_sink::META_DIR).join(msma_sink::LOG_DIR);
                if !log_dir.is_dir() {
                    return Err(Error::Zone(format!(
                        "{}: not a research zone (no {}/{} folder); give the --out folder of `msma ingest`",
                        root.display(),
                        msma_sink::META_DIR,
                        msma_sink::LOG_DIR
                    )));
                }
                let records = msma_sink::read_all(&log_dir).map_err(|e| Error::Zone(e.to_string()))?;
                let base = url::Url::from_directory_path(&root)
                    .map_err(|()| Error::Zone(format!("{}: not an absolute path", root.display())))?;
                let prefix = ObjectPath::from_absolute_path(&root).map_err(|e| Error::Zone(e.to_string()))?;
                let store: Arc<dyn ObjectStore> = Arc::new(object_store::local::LocalFileSystem::new());
                (base, store, prefix, records)
            }
            Location::Remote(url) => {
                let zone_error = |e: &dyn std::fmt::Display| Error::Zone(format!("{url}: {e}"));
                let (store, prefix) = Location::connect(url).map_err(|e| zone_error(&e))?;
                let fetched = msma_sink::fetch_records(store.as_ref(), &prefix, 0)
                    .await
                    .map_err(|e| zone_error(&e))?;
                let records: Vec<Stored> =
                    msma_sink::verify_after(None, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..])))
                        .map_err(|e| zone_error(&e))?;
                if records.is_empty() {
                    return Err(zone_error(
                        &"not a research zone (no commit record); give the --out of `msma ingest`",
                    ));
                }
                let mut base = url.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                (base, store, prefix, records)
            }
        };
        if let Some(seq) = as_of {
            let last = records.last().map_or(0, |s| s.record.seq);
            if seq == 0 || seq > last {
                return Err(Error::Zone(format!(
                    "--as-of {seq}: the ledger has records 1 to {last}"
                )));
            }
            records.truncate(seq as usize);
        }
        let head = records.last().map(|s| Head {
            seq: s.record.seq,
            sha256: s.sha256.clone(),
            committed_at: s.record.committed_at.clone(),
        });
        let identity = records.last().map(|s| s.record.identity.clone());
        let files = records.into_iter().flat_map(|s| s.record.files).collect();
        Ok(Self {
            base,
            head,
            identity,
            files,
            store,
            prefix,
        })
    }

    /// Rows published in `dataset`.
    pub fn rows(&self, dataset: &str) -> u64 {
        self.files.iter().filter(|f| f.dataset == dataset).map(|f| f.rows).sum()
    }
}
