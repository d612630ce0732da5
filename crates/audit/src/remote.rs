//! A zone in an object store, as `audit verify` reads it: the ledger, a streamed SHA-256
//! of each file, the listing of every object outside `_msma/`, and every object small
//! enough to be a master key (an object store has no links).

use crate::verify::{Problem, Zone};
use futures_util::TryStreamExt;
use msma_sink::{Location, META_DIR, Stored};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub(crate) struct RemoteZone {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: url::Url,
    runtime: tokio::runtime::Runtime,
}

impl RemoteZone {
    pub fn open(url: &url::Url) -> Result<Self, Problem> {
        let (store, prefix) = Location::connect(url).map_err(|e| Problem::Store(format!("{url}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Problem::Store(format!("starting the store client: {e}")))?;
        Ok(Self {
            store,
            prefix,
            url: url.clone(),
            runtime,
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> Problem {
        Problem::Store(format!("{}: {e}", self.url))
    }
}

impl Zone for RemoteZone {
    fn records(&self) -> Result<Vec<Stored>, Problem> {
        let fetched = self
            .runtime
            .block_on(msma_sink::fetch_records(self.store.as_ref(), &self.prefix, 0))
            .map_err(|e| self.error(e))?;
        msma_sink::verify_after(None, fetched.iter().map(|(name, bytes)| (name.as_str(), &bytes[..])))
            .map_err(|e| Problem::Ledger(e.to_string()))
    }

    fn sha256(&self, rel: &str) -> Result<Option<String>, Problem> {
        let key = msma_sink::object_key(&self.prefix, rel);
        self.runtime.block_on(async {
            let mut body = match self.store.get(&key).await {
                Ok(found) => found.into_stream(),
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(self.error(e)),
            };
            let mut sha = Sha256::new();
            while let Some(chunk) = body.try_next().await.map_err(|e| self.error(e))? {
                sha.update(&chunk);
            }
            Ok(Some(hex::encode(sha.finalize())))
        })
    }

    fn data_files(&self) -> Result<Vec<String>, Problem> {
        let listed = self.list()?;
        let depth = self.prefix.parts().count();
        let mut files: Vec<String> = listed
            .iter()
            .map(|m| {
                m.location
                    .parts()
                    .skip(depth)
                    .map(|p| p.as_ref().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|parts| parts.first().is_some_and(|p| p != META_DIR))
            .map(|parts| parts.join("/"))
            .collect();
        files.sort();
        Ok(files)
    }

    fn planted(&self) -> Result<(), Problem> {
        for meta in self.list()?.iter().filter(|m| m.size <= KEY_OBJECT_MAX_BYTES) {
            let bytes = self
                .runtime
                .block_on(async { self.store.get(&meta.location).await?.bytes().await })
                .map_err(|e| self.error(e))?;
            if msma_pseudo::MasterKey::looks_like(&bytes) {
                return Err(Problem::Planted(format!(
                    "{}: a master key file in the zone, which holds only msma's own files: remove it, and replace \
                     the key: it may have been read",
                    meta.location
                )));
            }
        }
        Ok(())
    }
}

/// Objects of a key's size at most are read to see if they hold one.
const KEY_OBJECT_MAX_BYTES: u64 = 128;

impl RemoteZone {
    /// Every object of the zone, `_msma/` included.
    fn list(&self) -> Result<Vec<object_store::ObjectMeta>, Problem> {
        self.runtime
            .block_on(self.store.list(Some(&self.prefix)).try_collect())
            .map_err(|e| self.error(e))
    }
}
