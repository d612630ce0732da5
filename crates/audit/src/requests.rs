//! The register of re-identification requests: one JSON line per use of the master key
//! on request, beside the key ([`beside`], mode 0600, in the custodian zone). A line
//! holds its kind, number, time and key id and, for a request, the study, network,
//! reason and resulting pseudonym, never the identifier in clear.
//!
//! The chain is keyed: each line carries `prev`, the link of the line before it, and
//! ends with `mac`, the HMAC-SHA256 of the line up to that field under a key derived
//! from the master key ([`msma_pseudo::MasterKey::register_key`]); a line's link is its
//! `mac`. Without the master key no one can edit, drop, add or re-chain a line; the last
//! line can only be removed, which the head kept elsewhere (`expect_head`) detects.
//!
//! Earlier versions chained lines with plain SHA-256 (`prev_sha256`). Such lines are
//! read as the first links of the keyed chain: the first keyed line carries the SHA-256
//! of the last of them in `prev`, and its code covers it, so they cannot change once a
//! keyed line follows. Until then they prove nothing, and verification says how to
//! anchor them ([`Kind::Seal`]). Rewriting them in the keyed format instead would have
//! been an unverifiable rewrite of a legal record.

use msma_pseudo::{MasterKey, RegisterKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What a line records. New uses of the register (withdrawals...) add kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A pseudonym computed on request.
    Request,
    /// A request recorded in another register (`--register`), noted here too.
    Override,
    /// The custodian anchored the unkeyed lines before it, after checking them.
    Seal,
    /// A patient withdrew from a study (`msma withdraw`): their rows are removed and
    /// their later events kept out.
    Withdrawal,
}

/// One line of the register, but its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    pub kind: Kind,
    pub at: String,
    pub key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
    /// For an override: the register the request went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    /// The link of the line before; `None` for the first line.
    pub prev: Option<String>,
}

impl Entry {
    /// A line of `kind`: [`append`] fills in its number, time, key id and link.
    pub fn new(kind: Kind) -> Self {
        Self {
            seq: 0,
            kind,
            at: String::new(),
            key_id: String::new(),
            study_id: None,
            network_id: None,
            reason: None,
            pseudonym: None,
            register: None,
            prev: None,
        }
    }
}

/// A line of an earlier version, chained with plain SHA-256.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unkeyed {
    seq: u64,
    prev_sha256: Option<String>,
    at: String,
    study_id: String,
    key_id: String,
    network_id: String,
    reason: String,
    pseudonym: String,
}

/// A line as read: its entry, whether its code was checked, and its link.
#[derive(Debug, Clone)]
pub struct Line {
    pub entry: Entry,
    pub keyed: bool,
    pub link: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    #[error(
        "register {0} does not exist: every request is recorded there, so it was lost or removed; restore it \
         from a backup (`msma pseudonymise` creates it with the first request)"
    )]
    Missing(PathBuf),
    #[error("register {0} is accessible to group or others; run `chmod 600 {0}`")]
    TooOpen(PathBuf),
    #[error("register {0} is a symbolic link; give the file itself")]
    Link(PathBuf),
    #[error("register {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("register {0}, line {1}: {2}")]
    Broken(PathBuf, u64, &'static str),
    #[error(
        "register {0}: its {1} lines were chained by an earlier msma with plain SHA-256, which anyone can \
         recompute, and no keyed line anchors them yet; compare them with a copy kept elsewhere, then run \
         `msma audit requests --keys KEY --register {0} --seal`"
    )]
    Unanchored(PathBuf, usize),
    #[error(
        "the register's head (its last line's link) is {found}, not the expected {expected}: lines were removed or added at the end"
    )]
    Head { found: String, expected: String },
}

/// The register of the key at `key_path`: `KEY.requests.ndjson`.
pub fn beside(key_path: &Path) -> PathBuf {
    let mut p = key_path.as_os_str().to_owned();
    p.push(".requests.ndjson");
    p.into()
}

/// Checks the register at `path` under `key`: every line coded, numbered and chained,
/// none unanchored, the last one's link `expect_head` when given. A missing register is
/// an error.
pub fn verify(path: &Path, key: &MasterKey, expect_head: Option<&str>) -> Result<Vec<Line>, RegisterError> {
    let file = open(path, false)?;
    file.lock_shared().map_err(|e| RegisterError::Io(path.to_owned(), e))?;
    let lines = read(path, &file, &key.register_key())?;
    if let Some(n) = lines.iter().rposition(|l| !l.keyed).filter(|&i| i + 1 == lines.len()) {
        return Err(RegisterError::Unanchored(path.to_owned(), n + 1));
    }
    if let Some(expected) = expect_head {
        let found = lines.last().map(|l| l.link.clone()).unwrap_or_default();
        if found != expected {
            return Err(RegisterError::Head {
                found,
                expected: expected.to_owned(),
            });
        }
    }
    Ok(lines)
}

/// Checks the register at `path` (created 0600 when missing), then appends `entry`
/// coded under `key`, numbered, timed and linked to the last line, and syncs it. The
/// register is locked meanwhile, so that concurrent requests do not fork the chain.
pub fn append(path: &Path, key: &MasterKey, mut entry: Entry) -> Result<Entry, RegisterError> {
    let io = |e| RegisterError::Io(path.to_owned(), e);
    let mut file = open(path, true)?;
    file.lock().map_err(io)?;
    let register_key = key.register_key();
    let lines = read(path, &file, &register_key)?;
    entry.seq = lines.len() as u64 + 1;
    entry.at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    entry.key_id = key.id().to_string();
    entry.prev = lines.last().map(|l| l.link.clone());
    let body = serde_json::to_string(&entry).expect("entries serialise");
    let mac = register_key.mac(body.as_bytes());
    let line = format!(
        "{},\"mac\":\"{mac}\"}}\n",
        body.strip_suffix('}').expect("a JSON object")
    );
    file.write_all(line.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(io)?;
    Ok(entry)
}

/// Opens the register without following a link, refusing one open to group or others;
/// `create` makes a missing one (0600).
fn open(path: &Path, create: bool) -> Result<File, RegisterError> {
    let io = |e| RegisterError::Io(path.to_owned(), e);
    let mut opts = OpenOptions::new();
    opts.read(true).append(true).custom_flags(libc::O_NOFOLLOW).mode(0o600);
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => opts.create_new(true).open(path).map_err(io)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RegisterError::Missing(path.to_owned())),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(RegisterError::Link(path.to_owned())),
        Err(e) => return Err(io(e)),
    };
    if file.metadata().map_err(io)?.mode() & 0o077 != 0 {
        return Err(RegisterError::TooOpen(path.to_owned()));
    }
    Ok(file)
}

/// Reads every line, checking numbering, links and codes; unkeyed lines only before
/// the first keyed one.
fn read(path: &Path, mut file: &File, key: &RegisterKey) -> Result<Vec<Line>, RegisterError> {
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| RegisterError::Io(path.to_owned(), e))?;
    let mut out: Vec<Line> = Vec::new();
    for (i, text) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let broken = |why| RegisterError::Broken(path.to_owned(), n, why);
        let prev = out.last().map(|l| l.link.clone());
        let line = match split_mac(text) {
            Some((body, mac)) => {
                let entry: Entry = serde_json::from_str(&body).map_err(|_| broken("not a register line"))?;
                if key.mac(body.as_bytes()) != mac {
                    return Err(broken(
                        "its code does not match: the line was edited, or written under another key",
                    ));
                }
                (entry.seq == n && entry.prev == prev)
                    .then_some(Line {
                        entry,
                        keyed: true,
                        link: mac.to_owned(),
                    })
                    .ok_or_else(|| broken("numbering or link to the line before does not match"))?
            }
            None => {
                if out.iter().any(|l| l.keyed) {
                    return Err(broken("an unkeyed line after keyed ones"));
                }
                let u: Unkeyed = serde_json::from_str(text).map_err(|_| broken("not a register line"))?;
                if u.seq != n || u.prev_sha256 != prev {
                    return Err(broken("numbering or previous-line hash does not match"));
                }
                Line {
                    entry: Entry {
                        seq: u.seq,
                        at: u.at,
                        key_id: u.key_id,
                        study_id: Some(u.study_id),
                        network_id: Some(u.network_id),
                        reason: Some(u.reason),
                        pseudonym: Some(u.pseudonym),
                        prev: u.prev_sha256,
                        ..Entry::new(Kind::Request)
                    },
                    keyed: false,
                    link: hex::encode(Sha256::digest(text.as_bytes())),
                }
            }
        };
        out.push(line);
    }
    Ok(out)
}

/// A keyed line's text before its code, closed, and the code.
fn split_mac(line: &str) -> Option<(String, &str)> {
    const FIELD: &str = ",\"mac\":\"";
    let rest = line.strip_suffix("\"}")?;
    let at = rest.len().checked_sub(64 + FIELD.len())?;
    let (body, tail) = rest.split_at_checked(at)?;
    let mac = tail.strip_prefix(FIELD)?;
    mac.bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        .then(|| (format!("{body}}}"), mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(reason: &str) -> Entry {
        Entry {
            study_id: Some("s1".into()),
            network_id: Some("RMS-ALSACE".into()),
            reason: Some(reason.into()),
            pseudonym: Some("ab".repeat(32)),
            ..Entry::new(Kind::Request)
        }
    }

    #[test]
    fn a_keyed_chain_resists_rewriting_without_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.requests.ndjson");
        let key = MasterKey::from_bytes([1; 32]);
        assert!(matches!(verify(&path, &key, None), Err(RegisterError::Missing(_))));
        for r in ["first reason", "second reason", "third reason"] {
            append(&path, &key, request(r)).unwrap();
        }
        let lines = verify(&path, &key, None).unwrap();
        let head = lines[2].link.clone();
        assert!(verify(&path, &key, Some(&head)).is_ok());
        let other = MasterKey::from_bytes([2; 32]);
        assert!(matches!(
            verify(&path, &other, None),
            Err(RegisterError::Broken(_, 1, _))
        ));

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("second", "altered")).unwrap();
        assert!(matches!(verify(&path, &key, None), Err(RegisterError::Broken(_, 2, _))));
        let kept: Vec<&str> = text.lines().take(2).collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        assert!(verify(&path, &key, None).is_ok(), "a removed last line keeps the chain");
        assert!(matches!(
            verify(&path, &key, Some(&head)),
            Err(RegisterError::Head { .. })
        ));
    }

    #[test]
    fn unkeyed_lines_of_earlier_versions_count_once_anchored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.requests.ndjson");
        let key = MasterKey::from_bytes([1; 32]);
        let old = r#"{"seq":1,"prev_sha256":null,"at":"2026-01-01T00:00:00.000Z","study_id":"s1","key_id":"0123456789abcdef","network_id":"RMS-ALSACE","reason":"an old request","pseudonym":"00"}"#;
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true).mode(0o600);
        opts.open(&path)
            .unwrap()
            .write_all(format!("{old}\n").as_bytes())
            .unwrap();
        assert!(matches!(
            verify(&path, &key, None),
            Err(RegisterError::Unanchored(_, 1))
        ));
        append(&path, &key, Entry::new(Kind::Seal)).unwrap();
        let lines = verify(&path, &key, None).unwrap();
        assert_eq!((lines[0].keyed, lines[1].keyed), (false, true));
        assert_eq!(lines[1].entry.prev.as_deref(), Some(lines[0].link.as_str()));
        // The anchored old line can no longer change.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("an old", "a new")).unwrap();
        assert!(verify(&path, &key, None).is_err());
    }
}
