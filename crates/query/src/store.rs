//! An object store that shows a [`Snapshot`]'s files and nothing else: listings come
//! from the ledger, reads of anything else are "not found", writes are refused.
//! DataFusion's listing tables then see exactly the committed datasets. As of an earlier
//! record, a file retired since is read from `_msma/retired/` until vacuumed.

use crate::snapshot::Snapshot;
use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

#[derive(Debug)]
pub struct SnapshotStore {
    /// Each file, with where it is kept once retired.
    files: BTreeMap<Path, (ObjectMeta, Path)>,
    inner: Arc<dyn ObjectStore>,
    as_of: Option<u64>,
}

impl SnapshotStore {
    pub fn new(snapshot: &Snapshot) -> Self {
        let committed = snapshot
            .head
            .as_ref()
            .and_then(|h| chrono::DateTime::parse_from_rfc3339(&h.committed_at).ok())
            .map(|t| t.to_utc())
            .unwrap_or_default();
        let mut files = BTreeMap::new();
        for f in &snapshot.files {
            let location = msma_sink::object_key(&snapshot.prefix, &f.path);
            let meta = ObjectMeta {
                location: location.clone(),
                last_modified: committed,
                size: f.bytes,
                e_tag: Some(f.sha256.clone()),
                version: None,
            };
            let retired = msma_sink::object_key(&snapshot.prefix, &msma_sink::retired_path(&f.path));
            files.insert(location, (meta, retired));
        }
        Self {
            files,
            inner: snapshot.store.clone(),
            as_of: snapshot.as_of,
        }
    }

    fn under<'a>(&'a self, prefix: Option<&'a Path>) -> impl Iterator<Item = &'a ObjectMeta> + 'a {
        self.files
            .values()
            .map(|(m, _)| m)
            .filter(move |m| prefix.is_none_or(|p| m.location.prefix_matches(p)))
    }

    fn not_found(location: &Path) -> object_store::Error {
        object_store::Error::NotFound {
            path: location.to_string(),
            source: "not a file of the snapshot".into(),
        }
    }

    fn read_only() -> object_store::Error {
        object_store::Error::NotSupported {
            source: "research snapshots are read-only".into(),
        }
    }
}

impl fmt::Display for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SnapshotStore({} files)", self.files.len())
    }
}

#[async_trait]
impl ObjectStore for SnapshotStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> object_store::Result<PutResult> {
        Err(Self::read_only())
    }

    async fn put_multipart_opts(
        &self,
        _: &Path,
        _: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(Self::read_only())
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        let Some((recorded, retired)) = self.files.get(location) else {
            return Err(Self::not_found(location));
        };
        let found = match (self.inner.get_opts(location, options.clone()).await, self.as_of) {
            (Err(object_store::Error::NotFound { .. }), Some(seq)) => match self.inner.get_opts(retired, options).await
            {
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(object_store::Error::Generic {
                        store: "research zone",
                        source: format!(
                            "the files of record {seq} were vacuumed: {location} was retired by a later record and \
                             deleted by msma vacuum; read the zone as of a later record"
                        )
                        .into(),
                    });
                }
                found => found?,
            },
            (found, _) => found?,
        };
        // The engine plans its reads from the ledger's size; a file cut short or grown
        // since its commit is damage, reported as such rather than misread.
        if found.meta.size != recorded.size {
            return Err(object_store::Error::Generic {
                store: "research zone",
                source: format!(
                    "{location} has {} bytes, its commit record says {}: the file was damaged after its commit \
                     (run msma audit verify)",
                    found.meta.size, recorded.size
                )
                .into(),
            });
        }
        Ok(found)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        locations.map(|_| Err(Self::read_only())).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let found: Vec<_> = self.under(prefix).cloned().map(Ok).collect();
        stream::iter(found).boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let depth = prefix.map_or(0, |p| p.parts_count());
        let mut objects = Vec::new();
        let mut common_prefixes = BTreeSet::new();
        for meta in self.under(prefix) {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() == depth + 1 {
                objects.push(meta.clone());
            } else {
                common_prefixes.insert(Path::from_iter(parts[..=depth].iter().cloned()));
            }
        }
        Ok(ListResult {
            common_prefixes: common_prefixes.into_iter().collect(),
            objects,
        })
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> object_store::Result<()> {
        Err(Self::read_only())
    }
}
