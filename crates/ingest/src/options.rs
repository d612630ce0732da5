//! The settings of a file ingest.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// Settings of a file ingest.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lines longer than this are rejected without being held in memory.
    pub max_line_bytes: usize,
    /// Lines per commit (for segments that follow no earlier commit).
    pub commit_lines: u64,
    /// Threads that decode and transform lines (reading and writing have one each).
    pub threads: usize,
    /// Partitions (dataset, network, year) one commit may open; the events of others
    /// are dead-lettered (`partition_cap`).
    pub max_partitions: usize,
    /// Where the count of lines read so far is kept, for a progress display.
    pub lines_read: Arc<AtomicU64>,
}

/// Partitions one commit may open, by default: far above what a study's networks and
/// window of years make (8 datasets, 7 networks, 11 years: 616), low enough that a
/// commit record stays small (a few hundred bytes a file).
pub const MAX_PARTITIONS: usize = 1024;

impl Options {
    /// The default of `max_line_bytes`.
    pub const MAX_LINE_BYTES: usize = 1 << 20;
    /// The default of `commit_lines`.
    pub const COMMIT_LINES: u64 = 1_000_000;
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_line_bytes: Self::MAX_LINE_BYTES,
            commit_lines: Self::COMMIT_LINES,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_partitions: MAX_PARTITIONS,
            lines_read: Arc::default(),
        }
    }
}
