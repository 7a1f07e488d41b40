//! A world that remembers: [`WorldState`] keeps a world's state between commands in a state
//! directory, saved atomically and under a lock.
//!
//! The directory holds three files:
//!
//! - `lock`: held exclusively (an OS file lock) by the [`WorldState`] that opened the
//!   directory, for as long as it lives, so two commands on one world run one after the
//!   other and neither loses the other's changes;
//! - `world-<hash>.yaml`: the saved world, a world file ([`MemoryCloud::to_world`]) that
//!   continues the world file whose content hashes to `<hash>`. A saved state of another
//!   hash means the world file changed since: [`WorldState::load`] says so instead of
//!   mixing the two;
//! - `audit.jsonl`: where the audit records of commands on this world go
//!   ([`WorldState::audit_path`]), never to the user's real audit log.
//!
//! A save writes a temporary file in the directory, flushes it to disk, and renames it over
//! the saved world, so a save that fails part way leaves the previous state whole.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{MemoryCloud, WorldBuilder, WorldError};

/// The name of the lock file in a state directory.
const LOCK_FILE: &str = "lock";
/// The name of the audit log in a state directory.
const AUDIT_FILE: &str = "audit.jsonl";
/// Saved worlds are `world-<hash>.yaml`.
const SAVED_PREFIX: &str = "world-";
const SAVED_SUFFIX: &str = ".yaml";
/// How many hex digits of a hash name a directory or a saved world.
const HASH_DIGITS: usize = 16;

/// Why a world's state could not be opened, loaded, saved or reset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Neither `XDG_STATE_HOME` (absolute) nor `HOME` is set, so there is no default state
    /// directory: name one (`--state DIR`).
    #[error(
        "no state directory: neither XDG_STATE_HOME (an absolute path) nor HOME is set; name one with --state DIR"
    )]
    NoStateHome,
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `"lock the world state in"`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The world file or the saved state does not load.
    #[error(transparent)]
    World(#[from] WorldError),
    /// The world file changed since its state was saved: loading either alone would mix
    /// or drop something, so neither is.
    #[error(
        "the world file {} changed since its state was saved in {}; run `amiref world reset` to start over from the file as it is now",
        world_file.display(),
        saved.display()
    )]
    WorldChanged {
        /// The world file.
        world_file: PathBuf,
        /// The saved state of its earlier content.
        saved: PathBuf,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The first [`HASH_DIGITS`] hex digits of the SHA-256 of `bytes`.
fn short_hash(bytes: &[u8]) -> String {
    let mut hex = hex::encode(Sha256::digest(bytes));
    hex.truncate(HASH_DIGITS);
    hex
}

/// The default state directory of a world file: `amiref/worlds/<stem>-<hash>` under
/// `$XDG_STATE_HOME`, else under `$HOME/.local/state`, where `<hash>` is a short hash of
/// the file's canonical path (so two files of one name keep apart, and a file keeps its
/// state whatever directory it is named from). Creates nothing; the world file must exist.
pub fn default_state_dir(world_file: &Path) -> Result<PathBuf, StateError> {
    default_state_dir_from(
        world_file,
        std::env::var_os("XDG_STATE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

/// [`default_state_dir`] with the environment given: `xdg_state_home` is used when it is
/// an absolute path (the XDG spec ignores a relative one), else `home`.
pub fn default_state_dir_from(
    world_file: &Path,
    xdg_state_home: Option<&OsStr>,
    home: Option<&OsStr>,
) -> Result<PathBuf, StateError> {
    let base = match (xdg_state_home.map(Path::new), home) {
        (Some(xdg), _) if xdg.is_absolute() => xdg.to_owned(),
        (_, Some(home)) if !home.is_empty() => Path::new(home).join(".local").join("state"),
        _ => return Err(StateError::NoStateHome),
    };
    world_state_dir(&base.join("amiref"), world_file)
}

/// The state directory of a world file under an amiref state home (`$XDG_STATE_HOME/amiref`
/// or wherever the caller keeps its state): `<state_home>/worlds/<stem>-<hash>`, as
/// [`default_state_dir`] describes. Creates nothing; the world file must exist.
pub fn world_state_dir(state_home: &Path, world_file: &Path) -> Result<PathBuf, StateError> {
    let canonical = fs::canonicalize(world_file).map_err(io("find the world file", world_file))?;
    let stem: String = canonical
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let key = format!(
        "{stem}-{}",
        short_hash(canonical.as_os_str().as_encoded_bytes())
    );
    Ok(state_home.join("worlds").join(key))
}

/// A world's state directory, opened and locked: load the world as it was left, run a
/// command on it, save it. Dropping it releases the lock.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use amiref_memory::WorldState;
/// let dir = tempfile::tempdir()?;
/// let world = std::path::Path::new("../../examples/worlds/demo.yaml");
/// let state = WorldState::open(world, Some(dir.path()))?; // waits for another command
/// let cloud = state.load()?; // the saved world, or the world file on the first run
/// // ... run the command on `cloud`, writing audit records to state.audit_path() ...
/// state.save(&cloud)?;
/// assert!(state.is_saved());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct WorldState {
    world_file: PathBuf,
    world_text: String,
    world_hash: String,
    dir: PathBuf,
    /// Holds the directory's lock for as long as the state is open.
    _lock: File,
}

impl WorldState {
    /// Opens the state of `world_file` in `state_dir` (default: [`default_state_dir`]),
    /// creating the directory if need be, and waits until no other command holds it.
    pub fn open(world_file: &Path, state_dir: Option<&Path>) -> Result<Self, StateError> {
        let (dir, lock) = Self::prepare(world_file, state_dir)?;
        lock.lock().map_err(io("lock the world state in", &dir))?;
        Self::locked(world_file, dir, lock)
    }

    /// Like [`WorldState::open`], but answers `None` at once when another command holds the
    /// state (so the caller can say it is waiting, then [`WorldState::open`]).
    pub fn try_open(
        world_file: &Path,
        state_dir: Option<&Path>,
    ) -> Result<Option<Self>, StateError> {
        let (dir, lock) = Self::prepare(world_file, state_dir)?;
        match lock.try_lock() {
            Ok(()) => Self::locked(world_file, dir, lock).map(Some),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(io("lock the world state in", &dir)(e)),
        }
    }

    /// The state directory, created, and its lock file, opened but not yet locked.
    fn prepare(world_file: &Path, state_dir: Option<&Path>) -> Result<(PathBuf, File), StateError> {
        let dir = match state_dir {
            Some(dir) => dir.to_owned(),
            None => default_state_dir(world_file)?,
        };
        fs::create_dir_all(&dir).map_err(io("create the state directory", &dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("open the lock file", &lock_path))?;
        Ok((dir, lock))
    }

    /// Reads the world file once the lock is held, so that its hash is the one this
    /// command's load and save agree on.
    fn locked(world_file: &Path, dir: PathBuf, lock: File) -> Result<Self, StateError> {
        let world_text = fs::read_to_string(world_file).map_err(|source| WorldError::Read {
            path: world_file.to_owned(),
            source,
        })?;
        Ok(Self {
            world_hash: short_hash(world_text.as_bytes()),
            world_file: world_file.to_owned(),
            world_text,
            dir,
            _lock: lock,
        })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The world file this is the state of.
    pub fn world_file(&self) -> &Path {
        &self.world_file
    }

    /// Where the audit records of commands on this world go (`audit.jsonl` in the state
    /// directory), instead of the user's real audit log.
    pub fn audit_path(&self) -> PathBuf {
        self.dir.join(AUDIT_FILE)
    }

    /// Where the state of the world file as it is now is saved.
    pub fn saved_path(&self) -> PathBuf {
        self.dir
            .join(format!("{SAVED_PREFIX}{}{SAVED_SUFFIX}", self.world_hash))
    }

    /// Whether a state of the world file as it is now has been saved.
    pub fn is_saved(&self) -> bool {
        self.saved_path().is_file()
    }

    /// The world as the last command left it, or as the world file describes it when no
    /// state is saved. Build it inside the runtime the command runs on (a paused clock's),
    /// so the world's clock starts with it.
    pub fn load(&self) -> Result<MemoryCloud, StateError> {
        Ok(self.load_builder()?.build_located()?)
    }

    /// [`WorldState::load`] as a builder, so that knobs can be set before building.
    pub fn load_builder(&self) -> Result<WorldBuilder, StateError> {
        let saved = self.saved_path();
        if saved.is_file() {
            let text = fs::read_to_string(&saved).map_err(io("read the saved world", &saved))?;
            return Ok(MemoryCloud::world_yaml_builder(
                &text,
                &saved.display().to_string(),
            )?);
        }
        if let Some(other) = self.other_saved_states()?.into_iter().next() {
            return Err(StateError::WorldChanged {
                world_file: self.world_file.clone(),
                saved: other,
            });
        }
        Ok(MemoryCloud::world_yaml_builder(
            &self.world_text,
            &self.world_file.display().to_string(),
        )?)
    }

    /// Saves the world, atomically: a temporary file in the directory is written, flushed
    /// to disk and renamed over the saved state, so a failed save leaves the previous one.
    pub fn save(&self, cloud: &MemoryCloud) -> Result<(), StateError> {
        let document = cloud.to_world();
        let text = format!(
            "# The saved state of the world {}, written by amiref after each command on it.\n# `amiref world reset` starts over from the world file.\n{}",
            self.world_file.display(),
            document.to_yaml()?
        );
        let saved = self.saved_path();
        let temporary = self.temporary_path();
        write_synced(&temporary, text.as_bytes())?;
        if let Err(e) = fs::rename(&temporary, &saved) {
            // Best effort: the temporary file is garbage now, and a later save truncates it.
            let _ = fs::remove_file(&temporary);
            return Err(io("replace the saved world", &saved)(e));
        }
        sync_dir(&self.dir)
    }

    /// The world's launch log (what amiref-plan reads): launches made on the world are
    /// recorded here, never in the real launch log.
    pub fn launch_log_path(&self) -> PathBuf {
        self.dir.join("launches.jsonl")
    }

    /// Starts over: removes every saved state of the world (of the file as it is now and as
    /// it was), its audit log and its launch log. Answers whether there was anything to
    /// remove.
    pub fn reset(&self) -> Result<bool, StateError> {
        let mut removed = false;
        let mut doomed = self.other_saved_states()?;
        doomed.push(self.saved_path());
        doomed.push(self.audit_path());
        doomed.push(self.launch_log_path());
        for path in doomed {
            match fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("remove", &path)(e)),
            }
        }
        sync_dir(&self.dir)?;
        Ok(removed)
    }

    fn temporary_path(&self) -> PathBuf {
        self.dir.join(format!(
            ".{SAVED_PREFIX}{}{SAVED_SUFFIX}.tmp",
            self.world_hash
        ))
    }

    /// Saved states of other contents of the world file, sorted.
    fn other_saved_states(&self) -> Result<Vec<PathBuf>, StateError> {
        let ours = self.saved_path();
        let entries = fs::read_dir(&self.dir).map_err(io("read the state directory", &self.dir))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("read the state directory", &self.dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            if name.starts_with(SAVED_PREFIX) && name.ends_with(SAVED_SUFFIX) && path != ours {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Writes `bytes` to a new `path` (truncating a stale one) and flushes it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut file = File::create(path).map_err(io("create", path))?;
    file.write_all(bytes).map_err(io("write", path))?;
    file.sync_all().map_err(io("flush to disk", path))
}

/// Flushes a directory's entries (a rename, a removal) to disk, where the platform can.
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flush to disk", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

    use super::*;

    const WORLD: &str = "start: 2026-11-01T09:00:00Z\ninstance_types: [{name: m6i.large}]\n";

    fn world_in(dir: &Path) -> PathBuf {
        let path = dir.join("lab world.yaml");
        fs::write(&path, WORLD).unwrap();
        path
    }

    #[test]
    fn the_default_directory_follows_xdg_then_home_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let world = world_in(tmp.path());
        let xdg = tmp.path().join("xdg");
        let home = tmp.path().join("home");
        let by_xdg =
            default_state_dir_from(&world, Some(xdg.as_os_str()), Some(home.as_os_str())).unwrap();
        assert!(
            by_xdg.starts_with(xdg.join("amiref/worlds")),
            "{}",
            by_xdg.display()
        );
        let name = by_xdg.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("lab_world-"), "{name}");
        assert_eq!(name.len(), "lab_world-".len() + HASH_DIGITS);
        let by_home =
            default_state_dir_from(&world, Some(OsStr::new("relative")), Some(home.as_os_str()))
                .unwrap();
        assert_eq!(by_home, home.join(".local/state/amiref/worlds").join(&name));
        assert!(
            !xdg.exists() && !home.exists(),
            "computing it created something"
        );
        // Named through another path, the same file keeps the same directory.
        let roundabout = tmp.path().join(".").join("lab world.yaml");
        assert_eq!(
            default_state_dir_from(&roundabout, Some(xdg.as_os_str()), None).unwrap(),
            by_xdg
        );
        let other = tmp.path().join("other");
        fs::create_dir(&other).unwrap();
        let twin = other.join("lab world.yaml");
        fs::write(&twin, WORLD).unwrap();
        assert_ne!(
            default_state_dir_from(&twin, Some(xdg.as_os_str()), None).unwrap(),
            by_xdg,
            "two files of one name share a state"
        );
        assert!(matches!(
            default_state_dir_from(&world, None, None),
            Err(StateError::NoStateHome)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_save_leaves_the_previous_state() {
        let tmp = tempfile::tempdir().unwrap();
        let world = world_in(tmp.path());
        let state = WorldState::open(&world, Some(&tmp.path().join("state"))).unwrap();
        let first = MemoryCloud::from_world_yaml(WORLD, "first").unwrap();
        state.save(&first).unwrap();
        let before = fs::read_to_string(state.saved_path()).unwrap();
        // A directory where the temporary file goes makes the save fail before the rename.
        fs::create_dir(state.temporary_path()).unwrap();
        let later = MemoryCloud::from_world_yaml(
            "start: 2027-01-01T00:00:00Z\ninstance_types: [{name: m6i.large}]\n",
            "later",
        )
        .unwrap();
        let err = state.save(&later).unwrap_err();
        assert!(
            matches!(
                err,
                StateError::Io {
                    action: "create",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fs::read_to_string(state.saved_path()).unwrap(), before);
        assert_eq!(state.load().unwrap().to_world(), first.to_world());
    }
}
