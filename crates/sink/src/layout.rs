//! Where msma's own files sit in a zone: under `_msma/`, which readers of the datasets
//! skip (pyarrow, DuckDB, Polars and Spark ignore names starting with `_`).

use std::path::{Path, PathBuf};

/// Folder of msma's own files inside a zone.
pub const META_DIR: &str = "_msma";
/// The commit log, inside [`META_DIR`].
pub const LOG_DIR: &str = "log";
/// Files a record retired, kept at their path under here until `msma vacuum` deletes
/// them, inside [`META_DIR`].
pub const RETIRED_DIR: &str = "retired";
/// The dedup index's runs, inside [`META_DIR`].
pub(crate) const DEDUP_DIR: &str = "dedup";
/// Writers' files not yet published, inside [`META_DIR`].
pub(crate) const STAGING_DIR: &str = "staging";

/// Where the file at `rel` is kept once retired, relative to the zone's root.
pub fn retired_path(rel: &str) -> String {
    format!("{META_DIR}/{RETIRED_DIR}/{rel}")
}

/// Where a transaction keeps its file bound for `rel` until it is published: flat in
/// the transaction's folder, `/` written `%2F`. (A tree mirroring the datasets' cost a
/// folder per partition made and deleted at every commit, and ext4 slows down creating
/// files among many recently deleted ones.)
pub(crate) fn staged_file(dir: &Path, rel: &str) -> PathBuf {
    dir.join(rel.replace('/', "%2F"))
}
