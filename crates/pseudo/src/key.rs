//! The master key file and the per-study keys derived from it.
//!
//! A key file holds 64 lowercase hex characters (32 random bytes) and a newline, and is
//! readable by its owner alone. Key bytes never print: `Debug` is redacted, errors
//! describe the file's shape, never its content, and memory is zeroed on drop.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// Why a key file cannot be used. Messages say what to fix and never quote the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No file at the path.
    #[error("key file {0} does not exist; create one with `msma keys init --out {0}`")]
    Missing(PathBuf),
    /// The path is a folder (such as the one `keys init` wrote the key into).
    #[error("{0} is a folder, not a key file; give the key file in it")]
    Folder(PathBuf),
    /// The file is readable or writable by group or others.
    #[error("key file {path} is accessible to group or others (mode {mode:04o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    /// The content is not 64 lowercase hex characters and a newline.
    #[error("key file {path} is malformed: {why}; expected 64 lowercase hex characters and a newline")]
    Malformed { path: PathBuf, why: &'static str },
    /// `keys init` refuses to replace a key: data pseudonymised with it would be orphaned.
    #[error("key file {0} already exists; refusing to overwrite a key")]
    Exists(PathBuf),
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system: {0}")]
    Random(String),
    /// Any other I/O failure.
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The study id cannot name a study.
    #[error("study id must be 1 to 64 characters among A-Z a-z 0-9 . _ - (got {0} characters)")]
    BadStudyId(usize),
}

/// The 32-byte master key of a deployment.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id {})", self.id())
    }
}

impl MasterKey {
    /// Builds a key from its bytes (test vectors, re-identification tools).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// 32 fresh bytes from the operating system.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Reads and checks a key file: it must exist, be closed to group and others, and
    /// hold 64 lowercase hex characters and a newline.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KeyError::Missing(path.to_owned()),
            _ => io(e),
        })?;
        if meta.is_dir() {
            return Err(KeyError::Folder(path.to_owned()));
        }
        check_mode(path, &meta)?;
        let malformed = |why| KeyError::Malformed {
            path: path.to_owned(),
            why,
        };
        if meta.len() > 65 {
            return Err(malformed("the file is longer than 65 bytes"));
        }
        let text = Zeroizing::new(std::fs::read(path).map_err(io)?);
        Self::parse(&text).map_err(malformed)
    }

    /// Reads the contents of a key file: 64 lowercase hex characters and a newline. The
    /// reason of a refusal never quotes the text.
    pub fn parse(text: &[u8]) -> Result<Self, &'static str> {
        let Some(hex) = text.strip_suffix(b"\n") else {
            return Err("the file does not end with a newline");
        };
        if hex.len() != 64 {
            return Err("the key is not 64 characters long");
        }
        if !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err("the key has characters other than 0-9 and a-f");
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex, bytes.as_mut()).map_err(|_| "the key is not hex")?;
        Ok(Self(bytes))
    }

    /// Whether `bytes` look like the contents of a key file: 64 hex characters, either
    /// case, with white space around at most. A file of a zone that does is refused, as
    /// a master key copied where researchers read.
    pub fn looks_like(bytes: &[u8]) -> bool {
        let hex = bytes.trim_ascii();
        hex.len() == 64 && hex.iter().all(u8::is_ascii_hexdigit)
    }

    /// Writes a new key file (mode 0600), refusing to overwrite an existing one.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_owned()),
            _ => io(e),
        })?;
        let mut text = Zeroizing::new(hex::encode(self.0.as_ref()));
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        text.zeroize();
        Ok(())
    }

    /// The key id: the first 16 hex characters of SHA-256 of the 32 key bytes. Safe to
    /// publish: it names the key without revealing it.
    pub fn id(&self) -> KeyId {
        let digest = Sha256::digest(self.0.as_ref());
        KeyId(hex::encode(&digest[..8]))
    }

    /// The key of one study: HKDF-SHA256 (RFC 5869) with the master key as input key
    /// material, an empty salt and info `msma/v1/study/<study id>`, 32 bytes out.
    pub fn study_key(&self, study: &StudyId) -> StudyKey {
        let hk = Hkdf::<Sha256>::new(None, self.0.as_ref());
        let mut okm = Zeroizing::new([0u8; 32]);
        let info = format!("msma/v1/study/{}", study.as_str());
        hk.expand(info.as_bytes(), okm.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        StudyKey {
            bytes: okm,
            study: study.clone(),
            key_id: self.id(),
        }
    }

    /// The key that chains the register of re-identification requests: HKDF-SHA256 as
    /// for a study key, with info `msma/v1/register`, which no study id can give (a study
    /// key's info has `/study/`).
    pub fn register_key(&self) -> RegisterKey {
        let hk = Hkdf::<Sha256>::new(None, self.0.as_ref());
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(b"msma/v1/register", okm.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        RegisterKey(okm)
    }
}

/// The key of the register of requests: it codes each line, so that no one without the
/// master key can rewrite the register and re-chain it.
pub struct RegisterKey(Zeroizing<[u8; 32]>);

impl RegisterKey {
    /// HMAC-SHA256 of `bytes`, in lowercase hex.
    pub fn mac(&self, bytes: &[u8]) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref()).expect("HMAC takes keys of any length");
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for RegisterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegisterKey(..)")
    }
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path, _: &std::fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

/// The public name of a master key (16 hex characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A study identifier: 1 to 64 characters among `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StudyId(String);

impl StudyId {
    pub fn new(id: &str) -> Result<Self, KeyError> {
        let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(KeyError::BadStudyId(id.chars().count()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StudyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of one study, from which all its pseudonyms are computed.
pub struct StudyKey {
    pub(crate) bytes: Zeroizing<[u8; 32]>,
    study: StudyId,
    key_id: KeyId,
}

impl StudyKey {
    pub fn study(&self) -> &StudyId {
        &self.study
    }

    /// The id of the master key this study key comes from.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
}

impl fmt::Debug for StudyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StudyKey(study {}, key id {})", self.study, self.key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8], mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn key_file_round_trip_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = MasterKey::generate().unwrap();
        key.write_new(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(matches!(key.write_new(&path), Err(KeyError::Exists(_))));
        assert_eq!(MasterKey::load(&path).unwrap().id(), key.id());

        let good = "00".repeat(32) + "\n";
        let open = write(dir.path(), "open", good.as_bytes(), 0o640);
        assert!(matches!(MasterKey::load(&open), Err(KeyError::TooOpen { .. })));
        for bad in [
            "AB".repeat(32) + "\n",
            "00".repeat(32),
            "00".repeat(31) + "\n",
            "zz".repeat(32) + "\n",
        ] {
            let p = write(dir.path(), "bad", bad.as_bytes(), 0o600);
            let err = MasterKey::load(&p).unwrap_err().to_string();
            assert!(err.contains("malformed"), "{err}");
            assert!(!err.contains(&bad[..8]), "error quotes the key: {err}");
        }
        let folder = MasterKey::load(dir.path()).unwrap_err().to_string();
        assert!(folder.contains("is a folder, not a key file"), "{folder}");
        let missing = MasterKey::load(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(missing.contains("msma keys init"), "{missing}");
    }

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::from_bytes([7; 32]);
        let study = key.study_key(&StudyId::new("s1").unwrap());
        let shown = format!("{key:?} {study:?}");
        assert!(!shown.contains("0707"), "{shown}");
        assert!(shown.contains(key.id().as_str()));
    }

    #[test]
    fn key_files_are_recognised_by_their_shape() {
        let hex = "0a".repeat(32);
        for text in [format!("{hex}\n"), hex.to_uppercase(), format!(" {hex}\r\n")] {
            assert!(MasterKey::looks_like(text.as_bytes()), "{text:?}");
        }
        for text in ["0a".repeat(31), "0g".repeat(32), format!("{hex}0a")] {
            assert!(!MasterKey::looks_like(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn the_register_key_codes_its_test_vector() {
        // docs/PSEUDONYMISATION.md, section 4, computed with Python's hmac.
        let key = MasterKey::from_bytes(std::array::from_fn(|i| i as u8));
        let body = r#"{"seq":1,"kind":"seal","at":"2026-01-01T00:00:00.000Z","key_id":"630dcd2966c43366","prev":null}"#;
        assert_eq!(
            key.register_key().mac(body.as_bytes()),
            "c0b7b5b06297a7a6dad222406b30a15ad48c52194b7904eb30b401d87afb3293"
        );
    }

    #[test]
    fn study_ids() {
        assert!(StudyId::new("femmes-2021.v2_a").is_ok());
        assert!(StudyId::new("").is_err());
        assert!(StudyId::new("a b").is_err());
        assert!(StudyId::new(&"a".repeat(65)).is_err());
    }
}
