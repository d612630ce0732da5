//! The three zones kept apart: the research zone shares no folder with the identified
//! zone (inputs, dead letters) or the custodian's (keys, registers, crosswalks), either
//! way round. Paths are compared canonical (links and `..` resolved), and folders also by
//! device and inode, so that a second name of a folder (a bind mount) does not pass.
//! Every command that writes a zone calls [`keep_apart`]: the rule lives here only.

use crate::{Error, Location, Result};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// Refuses a research zone at `zone` that is the folder of one of `files` (each named
/// by what it is, such as "key file") or lies below it, and a file whose folder is in
/// the zone. A zone in an object store shares no folder with local files. `-` (standard
/// input) is no file.
pub fn keep_apart(zone: &Location, files: &[(&str, &Path)]) -> Result<()> {
    let Some(root) = zone.as_local() else {
        return Ok(());
    };
    let zone_dir = resolve(root)?;
    for (what, file) in files {
        if file.as_os_str() == "-" {
            continue;
        }
        let folder = resolve(folder_of(file))?;
        if within(&folder, &zone_dir)? {
            return Err(Error::Nested(format!(
                "the {what} {} is inside the research zone {}: researchers would read it; keep it in its own zone",
                file.display(),
                root.display()
            )));
        }
        if within(&zone_dir, &folder)? {
            return Err(Error::Nested(format!(
                "the research zone {} is inside the folder of the {what} {}: the zones of identified data, keys \
                 and research data may not nest; choose a folder of its own for --out",
                root.display(),
                file.display()
            )));
        }
    }
    Ok(())
}

/// The folder a file is (or will be) in.
pub(crate) fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether folder `inner` is `outer` or below it: by canonical path, or as one of its
/// ancestors has the device and inode of `outer`.
fn within(inner: &Path, outer: &Path) -> Result<bool> {
    if inner.starts_with(outer) {
        return Ok(true);
    }
    let Some(outer_id) = id_of(outer)? else {
        return Ok(false);
    };
    for ancestor in inner.ancestors() {
        if id_of(ancestor)? == Some(outer_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn id_of(path: &Path) -> Result<Option<(u64, u64)>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some((m.dev(), m.ino()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// The canonical form of a path that may not exist yet: its longest existing ancestor
/// canonical, then the rest (no link can hide in what does not exist).
pub(crate) fn resolve(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    for ancestor in absolute.ancestors() {
        match ancestor.canonicalize() {
            Ok(mut resolved) => {
                for c in absolute.strip_prefix(ancestor).expect("an ancestor").components() {
                    match c {
                        Component::ParentDir => {
                            resolved.pop();
                        }
                        Component::Normal(name) => resolved.push(name),
                        _ => {}
                    }
                }
                return Ok(resolved);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(ancestor, e)),
        }
    }
    Err(Error::io(path, std::io::ErrorKind::NotFound.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(zone: &Path, file: &Path) -> bool {
        keep_apart(&Location::from(zone), &[("key file", file)]).is_err()
    }

    #[test]
    fn nested_either_way_by_any_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("custodian")).unwrap();
        let key = d.join("custodian/master.key");
        assert!(!refused(&d.join("research"), &key));
        assert!(refused(&d.join("custodian"), &key), "the key's folder");
        assert!(
            refused(&d.join("custodian/research/new"), &key),
            "below the key's folder"
        );
        assert!(refused(&d.join("research"), &d.join("research/sub/x")), "in the zone");
        assert!(refused(&d.join("x/../custodian"), &key), "by `..`");
        std::os::unix::fs::symlink(d.join("custodian"), d.join("link")).unwrap();
        assert!(refused(&d.join("link/research"), &key), "through a link");
        assert!(!refused(&d.join("research"), Path::new("-")));
        let remote: Location = "s3://bucket/zone".parse().unwrap();
        assert!(keep_apart(&remote, &[("key file", &key)]).is_ok());
    }
}
