//! `audit verify`: re-hash every file and every record of a zone's ledger, offline, and
//! name the first thing that does not match: a modified, missing or unrecorded file, or
//! an edited, removed or reordered record; a file no writer of msma makes (a symbolic
//! link, a master key file) anywhere in the zone; a ledger path out of the zone (refused
//! as the sink reads the ledger). The last record cannot be checked against a
//! later one: the summary prints the head hash, to be kept elsewhere and given back with
//! `expect_head`.

use msma_sink::{LOG_DIR, Location, META_DIR, Source, Stored, read_all};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a clean verification found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub studies: BTreeSet<String>,
    pub key_ids: BTreeSet<String>,
    pub first_commit: Option<String>,
    pub last_commit: Option<String>,
    /// SHA-256 of the last record: keep it outside the zone to detect a removed or
    /// edited last record later.
    pub head_sha256: Option<String>,
    pub sources: BTreeMap<String, u64>,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("ledger: {0}")]
    Ledger(String),
    #[error("file {0} is listed by record {1} but missing")]
    Missing(String, u64),
    #[error("file {path} was modified after record {seq} (SHA-256 {found}, recorded {recorded})")]
    Modified {
        path: String,
        seq: u64,
        found: String,
        recorded: String,
    },
    #[error("file {0} is in the zone but in no record")]
    Unrecorded(String),
    /// A link, a special file or a master key file, anywhere in the zone.
    #[error("{0}")]
    Planted(String),
    #[error("the last record's hash is {found}, not the expected {expected}: records were removed, added or edited")]
    Head { found: String, expected: String },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}")]
    Store(String),
}

/// What verification reads of a zone, wherever it lives.
pub(crate) trait Zone {
    fn records(&self) -> Result<Vec<Stored>, Problem>;
    /// SHA-256 of a data file, `None` when it is missing.
    fn sha256(&self, rel: &str) -> Result<Option<String>, Problem>;
    fn data_files(&self) -> Result<Vec<String>, Problem>;
    /// Fails on what no writer of msma puts in a zone (see [`Problem::Planted`]).
    fn planted(&self) -> Result<(), Problem>;
}

impl Zone for Path {
    fn records(&self) -> Result<Vec<Stored>, Problem> {
        read_all(&self.join(META_DIR).join(LOG_DIR)).map_err(|e| Problem::Ledger(e.to_string()))
    }

    fn sha256(&self, rel: &str) -> Result<Option<String>, Problem> {
        let path = self.join(rel);
        if !path.is_file() {
            return Ok(None);
        }
        sha256_file(&path).map(Some)
    }

    fn data_files(&self) -> Result<Vec<String>, Problem> {
        data_files(self)
    }

    fn planted(&self) -> Result<(), Problem> {
        msma_sink::check_tree(self).map_err(|e| match e {
            msma_sink::Error::Io { path, source } => Problem::Io(path, source),
            e => Problem::Planted(e.to_string()),
        })
    }
}

pub fn verify(zone: &Location, expect_head: Option<&str>) -> Result<Summary, Problem> {
    match zone {
        Location::Local(root) => verify_zone(root.as_path(), expect_head),
        Location::Remote(url) => verify_zone(&crate::remote::RemoteZone::open(url)?, expect_head),
    }
}

fn verify_zone(zone: &(impl Zone + ?Sized), expect_head: Option<&str>) -> Result<Summary, Problem> {
    zone.planted()?;
    let stored = zone.records()?;
    let mut s = Summary::default();
    let mut recorded = BTreeSet::new();
    for st in &stored {
        let r = &st.record;
        s.records += 1;
        s.rows_written += r.rows.written;
        s.rows_rejected += r.rows.rejected;
        s.studies.insert(r.identity.study_id.clone());
        s.key_ids.insert(r.identity.key_id.clone());
        s.first_commit.get_or_insert_with(|| r.committed_at.clone());
        s.last_commit = Some(r.committed_at.clone());
        let kind = match &r.source {
            Source::File { .. } | Source::Segment { .. } => "file",
            Source::Kafka { .. } => "kafka",
            Source::Rotation { .. } => "rotation",
        };
        *s.sources.entry(kind.to_owned()).or_default() += 1;
        for f in &r.files {
            let Some(found) = zone.sha256(&f.path)? else {
                return Err(Problem::Missing(f.path.clone(), r.seq));
            };
            if found != f.sha256 {
                return Err(Problem::Modified {
                    path: f.path.clone(),
                    seq: r.seq,
                    found,
                    recorded: f.sha256.clone(),
                });
            }
            s.files += 1;
            s.bytes += f.bytes;
            recorded.insert(f.path.clone());
        }
    }
    for rel in zone.data_files()? {
        if !recorded.contains(&rel) {
            return Err(Problem::Unrecorded(rel));
        }
    }
    s.head_sha256 = stored.last().map(|st| st.sha256.clone());
    if let Some(expected) = expect_head {
        let found = s.head_sha256.clone().unwrap_or_default();
        if found != expected {
            return Err(Problem::Head {
                found,
                expected: expected.to_owned(),
            });
        }
    }
    Ok(s)
}

fn sha256_file(path: &Path) -> Result<String, Problem> {
    let io = |e| Problem::Io(path.to_owned(), e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    Ok(hex::encode(sha.finalize()))
}

/// Every file of the zone outside `_msma/`, relative, with `/` separators.
pub fn data_files(zone: &Path) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    let mut stack = vec![zone.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Problem::Io(dir.clone(), e))? {
            let path = entry.map_err(|e| Problem::Io(dir.clone(), e))?.path();
            if path.parent() == Some(zone) && path.file_name().is_some_and(|n| n == META_DIR) {
                continue;
            }
            // Not following links: a linked folder's files are not the zone's.
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
