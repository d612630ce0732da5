//! Reads NDJSON lines with a length limit: a line longer than the limit is consumed
//! without being held in memory, so one huge line cannot exhaust it.

use std::io::{BufRead, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An input: a file, which can be read again from an offset, or a stream, which cannot.
pub enum Input<'a> {
    File(std::io::BufReader<std::fs::File>),
    Stream(Box<dyn BufRead + 'a>),
}

impl Input<'_> {
    fn reader(&mut self) -> &mut dyn BufRead {
        match self {
            Input::File(f) => f,
            Input::Stream(s) => s.as_mut(),
        }
    }
}

/// One line as read: its bytes (without the newline and a preceding `\r`), or only its
/// first `limit` bytes and its full length when it was too long.
pub struct Line<'a> {
    pub bytes: &'a [u8],
    pub oversized: Option<u64>,
}

/// Where a reader is: bytes and lines consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub bytes: u64,
    pub lines: u64,
}

pub struct LineReader<'a> {
    input: Input<'a>,
    limit: usize,
    buf: Vec<u8>,
    at: Position,
    /// The most lines read so far, published for a progress display (lines read again
    /// after a seek are not counted twice).
    furthest: u64,
    published: Option<Arc<AtomicU64>>,
}

impl<'a> LineReader<'a> {
    pub fn new(input: Input<'a>, limit: usize) -> Self {
        Self {
            input,
            limit,
            buf: Vec::with_capacity(64 * 1024),
            at: Position { bytes: 0, lines: 0 },
            furthest: 0,
            published: None,
        }
    }

    /// Publishes in `lines` how many lines have been read, as they are.
    pub fn publishing(self, lines: Arc<AtomicU64>) -> Self {
        Self {
            published: Some(lines),
            ..self
        }
    }

    /// Bytes and lines consumed so far.
    pub fn offset(&self) -> Position {
        self.at
    }

    pub fn can_seek(&self) -> bool {
        matches!(self.input, Input::File(_))
    }

    /// Reads again from `at`, a position this reader was at (files only).
    pub fn seek(&mut self, at: Position) -> std::io::Result<()> {
        match &mut self.input {
            Input::File(f) => {
                f.seek(SeekFrom::Start(at.bytes))?;
                self.at = at;
                Ok(())
            }
            Input::Stream(_) => Err(std::io::Error::other("a stream cannot be read again")),
        }
    }

    /// The next line, feeding every byte read (newline included) to `seen`.
    pub fn next(&mut self, seen: &mut impl FnMut(&[u8])) -> std::io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut ended = false;
        loop {
            let chunk = self.input.reader().fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            seen(&chunk[..take]);
            let content = if done { take - 1 } else { take };
            let room = (self.limit + 1).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..content.min(room)]);
            total += content as u64;
            self.input.reader().consume(take);
            self.at.bytes += take as u64;
            if done {
                ended = true;
                break;
            }
        }
        if total == 0 && !ended {
            return Ok(None);
        }
        self.at.lines += 1;
        if self.at.lines > self.furthest {
            self.furthest = self.at.lines;
            if let Some(p) = &self.published {
                p.store(self.furthest, Ordering::Relaxed);
            }
        }
        if total as usize > self.limit {
            self.buf.truncate(self.limit);
            return Ok(Some(Line {
                bytes: &self.buf,
                oversized: Some(total),
            }));
        }
        let bytes = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
        Ok(Some(Line { bytes, oversized: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_limits_and_hash_feed() {
        let input = b"a\r\nbbbbbbbbbb\n\nlast".as_slice();
        let stream = Input::Stream(Box::new(std::io::BufReader::with_capacity(3, input)));
        let mut r = LineReader::new(stream, 4);
        let mut fed = Vec::new();
        let mut got = Vec::new();
        while let Some(line) = r.next(&mut |b| fed.extend_from_slice(b)).unwrap() {
            got.push((line.bytes.to_vec(), line.oversized));
        }
        assert_eq!(fed, input);
        assert_eq!(
            r.offset(),
            Position {
                bytes: input.len() as u64,
                lines: 4
            }
        );
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), None),
                (b"bbbb".to_vec(), Some(10)),
                (b"".to_vec(), None),
                (b"last".to_vec(), None)
            ]
        );
    }

    #[test]
    fn lines_read_again_after_a_seek_are_published_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.ndjson");
        std::fs::write(&path, "a\nb\nc\nd\n").unwrap();
        let file = Input::File(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let published = Arc::new(AtomicU64::new(0));
        let mut r = LineReader::new(file, 10).publishing(published.clone());
        r.next(&mut |_| {}).unwrap();
        let mark = r.offset();
        r.next(&mut |_| {}).unwrap();
        r.next(&mut |_| {}).unwrap();
        assert_eq!(published.load(Ordering::Relaxed), 3);
        r.seek(mark).unwrap();
        assert_eq!(r.next(&mut |_| {}).unwrap().unwrap().bytes, b"b");
        assert_eq!(published.load(Ordering::Relaxed), 3);
        while r.next(&mut |_| {}).unwrap().is_some() {}
        assert_eq!(published.load(Ordering::Relaxed), 4);
        assert_eq!(r.offset(), Position { bytes: 8, lines: 4 });
    }
}
