//! Refuses an input that is not NDJSON before anything is written: given a binary, an
//! archive or a spreadsheet, ingest would otherwise commit a ledger record of nothing
//! and copy the whole file, line by line, into dead letters.
//!
//! The rule: among the complete lines of the input's first MiB (at most its first 1,000
//! lines), if there are at least 10 and 90% or more of them are not JSON (`invalid_utf8`
//! or `malformed_json`, as the decoder says), the input is not NDJSON. An export with a
//! few broken lines, or a file of fewer than 10 lines, is read as before: its bad lines
//! are dead-lettered.

use crate::error::IngestError;
use crate::lines::Input;
use msma_schema::{RejectKind, decode};
use std::io::{BufRead, Read, Seek};

/// At most this much of the input is looked at...
const SAMPLE_BYTES: usize = 1 << 20;
/// ...and at most this many lines.
const SAMPLE_LINES: usize = 1000;
/// Fewer complete lines than this are not judged.
const MIN_LINES: usize = 10;
/// Share of those lines, in tenths, that are not JSON in an input that is not NDJSON.
const NOT_JSON_TENTHS: usize = 9;

/// Gives `input` back to be read from its start, unless its first lines show it is
/// not NDJSON. `name` names it in the error.
pub fn ndjson<'a>(input: Input<'a>, name: &str) -> Result<Input<'a>, IngestError> {
    let (head, input) = match input {
        Input::File(mut f) => (sample(&mut f), Input::File(f)),
        Input::Stream(mut s) => (sample(&mut s), Input::Stream(s)),
    };
    let head = head.map_err(IngestError::Input)?;
    check(&head, name)?;
    match input {
        Input::File(mut f) if f.get_ref().metadata().map_err(IngestError::Input)?.is_file() => {
            f.rewind().map_err(IngestError::Input)?;
            Ok(Input::File(f))
        }
        // A stream (or a pipe given as a file) cannot be read again: what was sampled
        // is read first.
        Input::File(f) => Ok(Input::Stream(Box::new(std::io::Cursor::new(head).chain(f)))),
        Input::Stream(s) => Ok(Input::Stream(Box::new(std::io::Cursor::new(head).chain(s)))),
    }
}

fn check(head: &[u8], name: &str) -> Result<(), IngestError> {
    let (lines, not_json) = judge(head);
    if lines >= MIN_LINES && not_json * 10 >= lines * NOT_JSON_TENTHS {
        return Err(IngestError::NotNdjson {
            input: name.to_owned(),
            lines,
            not_json,
            hint: if head.contains(&0) {
                " (it holds NUL bytes, as binary files do)"
            } else {
                ""
            },
        });
    }
    Ok(())
}

/// The first lines of `r`, up to [`SAMPLE_BYTES`] or [`SAMPLE_LINES`] (the last one
/// may be cut).
fn sample(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut lines = 0;
    while head.len() < SAMPLE_BYTES && lines < SAMPLE_LINES {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let window = &chunk[..chunk.len().min(SAMPLE_BYTES - head.len())];
        let take = (window.iter().enumerate().filter(|(_, b)| **b == b'\n'))
            .nth(SAMPLE_LINES - lines - 1)
            .map_or(window.len(), |(i, _)| i + 1);
        lines += newlines(&window[..take]);
        head.extend_from_slice(&window[..take]);
        r.consume(take);
    }
    Ok(head)
}

/// The complete lines of `head` (a last line without newline counts when the input
/// ended there) and how many of them are not JSON.
fn judge(head: &[u8]) -> (usize, usize) {
    let ended = head.len() < SAMPLE_BYTES && newlines(head) < SAMPLE_LINES;
    let complete = match head.iter().rposition(|&b| b == b'\n') {
        _ if ended => head,
        Some(i) => &head[..=i],
        None => return (0, 0),
    };
    if complete.is_empty() {
        return (0, 0);
    }
    let lines = complete.strip_suffix(b"\n").unwrap_or(complete).split(|&b| b == b'\n');
    lines.fold((0, 0), |(n, bad), line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let kind = decode(line).err().map(|r| r.kind);
        let not_json = matches!(kind, Some(RejectKind::InvalidUtf8 | RejectKind::MalformedJson));
        (n + 1, bad + usize::from(not_json))
    })
}

fn newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(text: &[u8]) -> Result<Vec<u8>, String> {
        let stream = Input::Stream(Box::new(std::io::BufReader::with_capacity(7, text)));
        match ndjson(stream, "events.ndjson") {
            Ok(Input::Stream(mut s)) => {
                let mut back = Vec::new();
                std::io::Read::read_to_end(&mut s, &mut back).unwrap();
                Ok(back)
            }
            Ok(Input::File(_)) => unreachable!("a stream stays a stream"),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn refuses_what_is_not_ndjson_and_gives_the_rest_back_whole() {
        let event = br#"{"event_id":"x"}"#;
        let lines = |good: usize, bad: &[u8], n: usize| {
            let mut t = Vec::new();
            for i in 0..n {
                t.extend_from_slice(if i < good { event } else { bad });
                t.push(b'\n');
            }
            t
        };
        // Valid JSON of the wrong shape is NDJSON: its lines are dead-lettered one by one.
        for text in [
            lines(2, b"{not json", 10),
            lines(0, b"{\"a\":1}", 3000),
            lines(0, b"\xff\xfe", 9),
            lines(0, b"", 0),
            [lines(5, b"", 5), vec![b'x'; 3 << 20]].concat(),
        ] {
            assert_eq!(verdict(&text).as_deref(), Ok(text.as_slice()));
        }
        let binary = lines(0, b"\x7fELF\x02\x01\0\0", 5000);
        let err = verdict(&binary).unwrap_err();
        assert!(
            err.contains("the input events.ndjson is not NDJSON: 1000 of its first 1000 lines"),
            "{err}"
        );
        assert!(err.contains("NUL bytes"), "{err}");
        let csv = lines(0, b"network;patient;date", 10);
        let err = verdict(&csv).unwrap_err();
        assert!(
            err.contains("10 of its first 10 lines") && !err.contains("NUL"),
            "{err}"
        );
        // The last line counts when the input ends without a newline.
        assert!(verdict(&csv[..csv.len() - 1]).is_err());
        assert!(verdict(&lines(1, b"a,b", 10)).is_err());
        assert!(verdict(&lines(2, b"a,b", 10)).is_ok());
    }
}
