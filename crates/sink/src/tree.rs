//! What a local zone's tree may not hold, at any depth: a symbolic link (a write through
//! it would leave the zone, and a verification would hash what it points to), a file
//! other than a regular one or a folder, or a file that looks like a master key. The zone
//! itself may be reached through a link: only what is below it is checked.

use crate::{Error, Result};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Files of a key's size at most are read to see if they hold one.
const KEY_FILE_MAX_BYTES: u64 = 128;

/// Refuses a zone whose tree holds a link, a special file or a master key.
pub fn check_tree(root: &Path) -> Result<()> {
    walk(root, &mut |path, meta| {
        let planted = |what| {
            Err(Error::Planted {
                path: path.to_owned(),
                what,
            })
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            return planted("a symbolic link");
        }
        if !kind.is_file() && !kind.is_dir() {
            return planted("a special file");
        }
        if kind.is_file() && meta.len() <= KEY_FILE_MAX_BYTES {
            let bytes = match std::fs::read(path) {
                Ok(b) => zeroize::Zeroizing::new(b),
                Err(e) if gone(&e) => return Ok(()),
                Err(e) => return Err(Error::io(path, e)),
            };
            if msma_pseudo::MasterKey::looks_like(&bytes) {
                return planted("a master key file (replace the key too: it may have been read)");
            }
        }
        Ok(())
    })
}

/// Whether the zone's tree holds the file of `meta` under some name (same device and
/// inode): a hard link, or a folder of the zone mounted elsewhere too.
pub fn holds(root: &Path, meta: &Metadata) -> Result<bool> {
    let mut found = false;
    walk(root, &mut |_, m| {
        found |= (m.dev(), m.ino()) == (meta.dev(), meta.ino());
        Ok(())
    })?;
    Ok(found)
}

/// Whether an entry went away while it was read: another writer of the zone removed it
/// (a transaction's files, a finished staging folder).
fn gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

/// Calls `visit` on every entry below `root`, never following a link; nothing when
/// `root` does not exist.
fn walk(root: &Path, visit: &mut dyn FnMut(&Path, &Metadata) -> Result<()>) -> Result<()> {
    if !root.exists() {
        return Ok(());
    }
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let path = entry.path();
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(Error::io(&path, e)),
            };
            visit(&path, &meta)?;
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(())
}

/// Creates the folders of `rel` below `root` one by one, refusing any that is a link.
pub(crate) fn create_dirs(root: &Path, rel: &Path) -> Result<()> {
    let mut path = root.to_owned();
    for part in rel.components() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "a file where a folder belongs"
                };
                return Err(Error::Planted { path, what });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(&path) {
                Ok(()) => {}
                // Another writer made it meanwhile: check it again.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                        return Err(Error::Planted {
                            path,
                            what: "a symbolic link",
                        });
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            },
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_special_files_and_keys_are_found_at_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("zone");
        create_dirs(dir.path(), Path::new("zone/ds/year=2024")).unwrap();
        std::fs::write(root.join("ds/year=2024/part.parquet"), vec![0u8; 500]).unwrap();
        std::fs::write(root.join("ds/small"), "not a key\n").unwrap();
        check_tree(&root).unwrap();

        let key = root.join("ds/year=2024/k");
        std::fs::write(&key, format!("{}\r\n", "AB".repeat(32))).unwrap();
        let err = check_tree(&root).unwrap_err().to_string();
        assert!(err.contains("master key") && !err.contains("ABAB"), "{err}");
        std::fs::remove_file(&key).unwrap();

        std::os::unix::fs::symlink(dir.path(), root.join("ds/year=2025")).unwrap();
        assert!(check_tree(&root).unwrap_err().to_string().contains("symbolic link"));
        let through = create_dirs(&root, Path::new("ds/year=2025/month=1")).unwrap_err();
        assert!(through.to_string().contains("symbolic link"), "{through}");

        let part = std::fs::metadata(root.join("ds/year=2024/part.parquet")).unwrap();
        assert!(holds(&root, &part).unwrap());
        let outside = std::fs::metadata(dir.path()).unwrap();
        assert!(!holds(&root.join("ds/year=2024"), &outside).unwrap());
    }
}
