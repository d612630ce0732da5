//! The register of re-identification requests: one JSON line per use of a key to
//! compute a pseudonym on request, each carrying the SHA-256 of the line before it. It
//! holds the reason, the time, the study, the key id and the resulting pseudonym, never
//! the identifier in clear. It lives in the custodian zone, beside the key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub seq: u64,
    pub prev_sha256: Option<String>,
    pub at: String,
    pub study_id: String,
    pub key_id: String,
    pub network_id: String,
    pub reason: String,
    pub pseudonym: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    #[error("register {0}: {1}")]
    Io(String, std::io::Error),
    #[error("register {0}, line {1}: {2}")]
    Broken(String, u64, String),
}

/// Reads and checks the register (numbering and hash chain); empty if it does not exist.
pub fn read(path: &Path) -> Result<Vec<(Request, String)>, RegisterError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegisterError::Io(shown, e)),
    };
    let mut out: Vec<(Request, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let r: Request =
            serde_json::from_str(line).map_err(|e| RegisterError::Broken(shown.clone(), n, e.to_string()))?;
        let prev = out.last().map(|(_, h)| h.clone());
        if r.seq != n || r.prev_sha256 != prev {
            return Err(RegisterError::Broken(
                shown,
                n,
                "numbering or previous-line hash does not match".into(),
            ));
        }
        out.push((r, hex::encode(Sha256::digest(line.as_bytes()))));
    }
    Ok(out)
}

/// Checks the register, then appends one request (created 0600) and syncs it.
pub fn append(
    path: &Path,
    study_id: &str,
    key_id: &str,
    network_id: &str,
    reason: &str,
    pseudonym: &str,
) -> Result<Request, RegisterError> {
    let shown = path.display().to_string();
    let existing = read(path)?;
    let request = Request {
        seq: existing.len() as u64 + 1,
        prev_sha256: existing.last().map(|(_, h)| h.clone()),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        study_id: study_id.to_owned(),
        key_id: key_id.to_owned(),
        network_id: network_id.to_owned(),
        reason: reason.to_owned(),
        pseudonym: pseudonym.to_owned(),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| RegisterError::Io(shown.clone(), e))?;
    let mut line = serde_json::to_string(&request).expect("serialises");
    line.push('\n');
    f.write_all(line.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| RegisterError::Io(shown, e))?;
    Ok(request)
}
