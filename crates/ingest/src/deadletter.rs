//! Dead letters: rejected events with their reason, kept in the identified zone. A
//! segment's dead letters are spooled and reach the dead-letter file just before the
//! segment commits, so a segment skipped as already committed adds none, and a crash
//! between the two repeats them at most once (at-least-once, never lost).

use msma_schema::Rejection;
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
    /// The file's folder and the research zone nest ([`msma_sink::keep_apart`]).
    #[error(transparent)]
    Zone(#[from] msma_sink::Error),
    #[error(
        "dead-letter file {0} is inside the research zone {1} under another name; dead letters hold identified \
         data: put them elsewhere"
    )]
    InsideZone(PathBuf, PathBuf),
    #[error("dead-letter file {0} is a symbolic link; give the file itself, outside the research zone")]
    Link(PathBuf),
    #[error("dead-letter file {0} has {1} names (hard links); give a file of its own, outside the research zone")]
    HardLinked(PathBuf, u64),
    #[error("dead-letter file {0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("dead-letter file {0} is accessible to group or others; run `chmod 600 {0}`")]
    TooOpen(PathBuf),
    #[error("dead-letter file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Where rejected events go, with their reason: a file in the identified zone
/// ([`DeadLetters`]) or a topic. A source rejects events as it reads them and settles
/// them before the commit that covers them, so that a crash between the two repeats
/// dead letters, never loses them.
pub trait DeadLetterSink {
    /// Where an event was in its source: a line, a partition and offset.
    type At;
    type Error;
    /// Sends one rejected event: its bytes (the start of them, when it was `oversized`
    /// bytes long) and why.
    fn reject(
        &mut self,
        at: Self::At,
        event: &[u8],
        oversized: Option<u64>,
        why: &Rejection,
    ) -> Result<(), Self::Error>;
    /// Makes the dead letters sent so far durable; `false` when it cannot yet (the
    /// commit waits and tries again).
    fn settle(&mut self) -> Result<bool, Self::Error>;
    /// Forgets the dead letters sent since the last settle, whose events will not be
    /// committed (they were already, or will be read again).
    fn forget(&mut self) -> Result<(), Self::Error>;
}

pub struct DeadLetters {
    path: PathBuf,
    /// The input the rejected lines come from, named in each record.
    input: String,
    file: File,
    spool: BufWriter<File>,
    spool_path: PathBuf,
    spooled: u64,
}

/// Creates the missing folders above a file about to be written, private (0700): they
/// start the custodian zone (a key) or the identified zone (events, dead letters).
/// Existing folders are left as they are.
pub fn create_private_parents(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir),
        None => Ok(()),
    }
}

/// Opens `path` (created with mode 0600) for appending, or emptied when `append` is
/// false, without following a link: refused when it is a link, has another name (a hard
/// link), is open to group or others, or is in the tree of the zone at `zone_root` under
/// any name. A file created here is removed again when refused.
fn open_private(path: &Path, append: bool, zone_root: Option<&Path>) -> Result<File, DeadLetterError> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let io = |source| DeadLetterError::Io {
        path: path.to_owned(),
        source,
    };
    let mut opts = OpenOptions::new();
    opts.read(true).append(append).write(!append);
    opts.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    let (file, created) = match opts.open(path) {
        Ok(f) => (f, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (opts.create_new(true).open(path).map_err(io)?, true),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(DeadLetterError::Link(path.to_owned())),
        Err(e) => return Err(io(e)),
    };
    let checked = (|| {
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(DeadLetterError::NotAFile(path.to_owned()));
        }
        if meta.nlink() > 1 {
            return Err(DeadLetterError::HardLinked(path.to_owned(), meta.nlink()));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(DeadLetterError::TooOpen(path.to_owned()));
        }
        if let Some(root) = zone_root
            && msma_sink::holds(root, &meta)?
        {
            return Err(DeadLetterError::InsideZone(path.to_owned(), root.to_owned()));
        }
        if !append {
            file.set_len(0).map_err(io)?;
        }
        Ok(())
    })();
    if let Err(e) = checked {
        if created {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    Ok(file)
}

impl DeadLetters {
    /// Opens `path` for appending, with its spool beside it (see [`open_private`]), once
    /// its folder is known to be apart from the research zone's folder `zone_root` (when
    /// the zone is in a folder).
    pub fn open(path: &Path, zone_root: Option<&Path>) -> Result<Self, DeadLetterError> {
        if let Some(root) = zone_root {
            msma_sink::keep_apart(&root.into(), &[("dead-letter file", path)])?;
        }
        // Made once known to be apart: the folders start the identified zone.
        create_private_parents(path).map_err(|source| DeadLetterError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file = open_private(path, true, zone_root)?;
        let mut spool_name = path.file_name().unwrap_or_default().to_owned();
        spool_name.push(".spool");
        let spool_path = path.with_file_name(spool_name);
        // The spool shares the file's folder, found apart from the zone: a second name
        // is all that could put it inside.
        let spool = BufWriter::new(open_private(&spool_path, false, None)?);
        Ok(Self {
            path: path.to_owned(),
            input: String::new(),
            file,
            spool,
            spool_path,
            spooled: 0,
        })
    }

    /// Names the input the following rejected lines come from.
    pub fn input(&mut self, name: &str) {
        name.clone_into(&mut self.input);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Lines of the current segment are spooled beside the file, and reach it when the
/// segment is settled.
impl DeadLetterSink for DeadLetters {
    /// The line number.
    type At = u64;
    type Error = std::io::Error;

    fn reject(&mut self, line: u64, raw: &[u8], oversized: Option<u64>, why: &Rejection) -> std::io::Result<()> {
        let text = std::str::from_utf8(raw).ok();
        let record = Record {
            source: &self.input,
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
    fn settle(&mut self) -> std::io::Result<bool> {
        if self.spooled > 0 {
            self.spool.flush()?;
            let spool = self.spool.get_mut();
            spool.rewind()?;
            std::io::copy(spool, &mut self.file)?;
            self.file.sync_data()?;
        }
        self.forget()?;
        Ok(true)
    }

    fn forget(&mut self) -> std::io::Result<()> {
        self.spool.flush()?;
        let spool = self.spool.get_mut();
        spool.set_len(0)?;
        spool.rewind()?;
        self.spooled = 0;
        Ok(())
    }
}

impl Drop for DeadLetters {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.spool_path);
    }
}
