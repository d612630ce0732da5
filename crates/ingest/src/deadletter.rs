//! Dead letters: rejected events with their reason, kept in the identified zone. A
//! segment's dead letters are spooled and reach the dead-letter file just before the
//! segment commits, so a segment skipped as already committed adds none, and a crash
//! between the two repeats them at most once (at-least-once, never lost).

use msma_model::Rejection;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

/// One dead-letter record (a JSON line).
#[derive(Serialize)]
struct Record<'a> {
    source: &'a str,
    line: u64,
    reason: &'static str,
    detail: &'a str,
    /// The line as it was, when it is UTF-8 and within the length limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    /// The line's bytes in hex, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_hex: Option<String>,
    /// The full length, when the line was over the limit (only its start is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeadLetterError {
    #[error(
        "dead-letter file {0} is inside the research zone {1}; dead letters hold identified data: put them elsewhere"
    )]
    InsideZone(PathBuf, PathBuf),
    #[error("dead-letter file {0} is accessible to group or others; run `chmod 600 {0}`")]
    TooOpen(PathBuf),
    #[error("dead-letter file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

pub struct DeadLetters {
    path: PathBuf,
    file: File,
    spool: BufWriter<File>,
    spool_path: PathBuf,
    spooled: u64,
}

fn open_private(path: &Path, append: bool) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).read(true);
    if append {
        opts.append(true);
    } else {
        opts.write(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

impl DeadLetters {
    /// Opens `path` for appending (created with mode 0600), refusing a path inside the
    /// research zone's folder `zone_root` (when the zone is in a folder) or a file open to
    /// group or others.
    pub fn open(path: &Path, zone_root: Option<&Path>) -> Result<Self, DeadLetterError> {
        let io = |source| DeadLetterError::Io {
            path: path.to_owned(),
            source,
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let parent = parent.canonicalize().map_err(io)?;
        if let Some(zone_root) = zone_root
            && parent.starts_with(zone_root.canonicalize().map_err(io)?)
        {
            return Err(DeadLetterError::InsideZone(path.to_owned(), zone_root.to_owned()));
        }
        let file = open_private(path, true).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata().map_err(io)?.permissions().mode() & 0o077 != 0 {
                return Err(DeadLetterError::TooOpen(path.to_owned()));
            }
        }
        let mut spool_name = path.file_name().unwrap_or_default().to_owned();
        spool_name.push(".spool");
        let spool_path = parent.join(spool_name);
        let spool = BufWriter::new(open_private(&spool_path, false).map_err(io)?);
        Ok(Self {
            path: path.to_owned(),
            file,
            spool,
            spool_path,
            spooled: 0,
        })
    }

    /// Spools one rejected line of the current segment.
    pub fn reject(
        &mut self,
        source: &str,
        line: u64,
        raw: &[u8],
        oversized: Option<u64>,
        why: &Rejection,
    ) -> std::io::Result<()> {
        let text = std::str::from_utf8(raw).ok();
        let record = Record {
            source,
            line,
            reason: why.kind.as_str(),
            detail: &why.detail,
            raw: text,
            raw_hex: text.is_none().then(|| hex::encode(raw)),
            length: oversized,
        };
        serde_json::to_writer(&mut self.spool, &record)?;
        self.spool.write_all(b"\n")?;
        self.spooled += 1;
        Ok(())
    }

    /// Appends the spooled dead letters to the dead-letter file, durably.
    pub fn keep_segment(&mut self) -> std::io::Result<()> {
        if self.spooled > 0 {
            self.spool.flush()?;
            let spool = self.spool.get_mut();
            spool.rewind()?;
            std::io::copy(spool, &mut self.file)?;
            self.file.sync_data()?;
        }
        self.drop_segment()
    }

    /// Forgets the spooled dead letters (their segment was already committed).
    pub fn drop_segment(&mut self) -> std::io::Result<()> {
        self.spool.flush()?;
        let spool = self.spool.get_mut();
        spool.set_len(0)?;
        spool.rewind()?;
        self.spooled = 0;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DeadLetters {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.spool_path);
    }
}
