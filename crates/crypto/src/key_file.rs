//! Key files on disk: read them, or create them private (0600) exactly once.
//!
//! Errors name the path and the I/O error kind only, never the contents.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

use zeroize::Zeroizing;

use crate::CryptoError;

/// Reads a key file, warning (without contents) when others can read it.
pub(crate) fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let contents = Zeroizing::new(fs::read(path).map_err(|err| file_error(path, &err))?);
    warn_if_readable_by_others(path);
    Ok(contents)
}

/// Writes `contents` to a new private file; `Ok(false)` when the file already exists.
///
/// `create_new` makes this race-free: two processes never both create the key.
pub(crate) fn create_new(path: &Path, contents: &[u8]) -> Result<bool, CryptoError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|err| file_error(dir, &err))?;
    }
    let mut file = match create_private_file(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(err) => return Err(file_error(path, &err)),
    };
    if let Err(err) = file.write_all(contents).and_then(|()| file.sync_all()) {
        // Best effort: a half-written key file would fail on every later start.
        let _ = fs::remove_file(path);
        return Err(file_error(path, &err));
    }
    Ok(true)
}

/// The error for an unusable key file or directory.
pub(crate) fn file_error(path: &Path, err: &io::Error) -> CryptoError {
    CryptoError::MasterKeyFile { path: path.to_path_buf(), reason: err.kind().to_string() }
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// A key file others can read is a leak waiting to happen; say so, without the contents.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "master key file is accessible by group or others; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn create_new_writes_once_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("k");
        assert!(create_new(&path, b"first").unwrap());
        assert!(!create_new(&path, b"second").unwrap());
        assert_eq!(read(&path).unwrap().as_slice(), b"first");
    }
}
