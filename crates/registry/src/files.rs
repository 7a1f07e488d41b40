//! Writing files so that a reader never sees half of one, and a secret is never readable by
//! anyone else, not even for an instant.
//!
//! Every new file is opened with `O_CREAT | O_EXCL` (`create_new`): POSIX requires that
//! to fail when the path exists, *including* when it is a symbolic link (dangling or not),
//! so nothing is ever written through a link someone planted. Private files get mode 0600
//! at creation (not after), so there is no window in which they are readable. Replacing
//! goes through a temporary file in the same directory, renamed over the target: a rename
//! replaces the directory entry (a symbolic link at the target is replaced, never
//! followed), and is atomic within one file system.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rand::Rng as _;

/// Who may read a file this module writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The owner only (mode 0600): secret keys.
    Private,
    /// As the process's umask says: registries, trust stores, overlays, caches.
    Default,
}

/// Creates `path`, which must not exist (nor be a symbolic link), and writes `bytes` to it.
/// On an error after creating it, removes it again: nothing half-written is left.
pub(crate) fn create_new(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let mut file = open_new(path, access)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(path);
    }
    written
}

/// A temporary file next to its target, holding the target's new content until
/// [`Staged::commit`] renames it over the target. Dropped uncommitted, it is removed.
#[derive(Debug)]
pub(crate) struct Staged {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    /// Writes `bytes` to a new temporary file in `target`'s directory.
    pub(crate) fn write(target: &Path, bytes: &[u8], access: Access) -> io::Result<Self> {
        let temp = temp_path(target)?;
        create_new(&temp, bytes, access)?;
        Ok(Self {
            temp,
            target: target.to_owned(),
            committed: false,
        })
    }

    /// Renames the temporary file over the target, atomically.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Replaces (or creates) `path` with `bytes` through a temporary file, atomically.
pub(crate) fn replace(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    create_parent(path)?;
    Staged::write(path, bytes, access)?.commit()
}

/// Creates `path`'s missing parent directories (mode 0700 on Unix: they may hold secrets).
pub(crate) fn create_parent(path: &Path) -> io::Result<()> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(parent)
}

fn open_new(path: &Path, access: Access) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if access == Access::Private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = access;
    options.open(path)
}

/// `dir/.name.tmp-<random>`: hidden, unpredictable (so nobody can plant a link there in
/// advance; `create_new` would refuse it anyway), and in the target's directory, so the
/// rename stays on one file system.
fn temp_path(target: &Path) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", target.display()),
        )
    })?;
    let suffix: u64 = rand::thread_rng().r#gen();
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(".tmp-{suffix:016x}"));
    Ok(target.with_file_name(temp))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_staged_file_dropped_uncommitted_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f.yml");
        let staged = Staged::write(&target, b"x", Access::Default).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn create_new_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        create_new(&target, b"first", Access::Private).unwrap();
        let err = create_new(&target, b"second", Access::Private).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
    }
}
