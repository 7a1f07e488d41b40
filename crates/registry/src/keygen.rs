//! Making a publisher key pair: the secret key file, and the public half added to a trust
//! store (`amiref registry keygen`).
//!
//! The order is what makes it safe: the trust store is read and checked first, then the
//! secret is written (a new file, mode 0600 from its creation, never through a symbolic
//! link; or, to replace a key, a 0600 temporary file renamed over the old one), then the
//! trust store is replaced atomically. An error at any step leaves the files as they were:
//! a secret created for a trust store that could not be written is removed again, and a
//! replacing secret is renamed into place only once the trust store holds its public half.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::LoadError;
use crate::files::{self, Access, Staged};
use crate::trust::{KeyId, KeyStatus, PublisherKey, TrustStore};

/// What to do when the secret key file exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overwrite {
    /// Refuse (the default): an existing key is never lost by accident.
    #[default]
    Refuse,
    /// Replace it atomically (`--force`). Entries signed with the old key stop verifying
    /// once its public half is gone from the trust stores that admitted them.
    Replace,
}

/// Makes a publisher key pair; see the module docs for the guarantees.
///
/// ```
/// use amiref_registry::{Keygen, Overwrite};
///
/// let dir = tempfile::tempdir().unwrap();
/// let report = Keygen::new("alice@lab", dir.path().join("alice.key"))
///     .trust_store(dir.path().join("trust.yml"))
///     .run()
///     .unwrap();
/// assert!(report.key_id.as_str().starts_with("ed25519:"));
/// // A second run refuses to overwrite the key, unless told to replace it.
/// assert!(Keygen::new("alice@lab", &report.secret_key_file).run().is_err());
/// Keygen::new("alice@lab", &report.secret_key_file)
///     .overwrite(Overwrite::Replace)
///     .run()
///     .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Keygen {
    publisher: String,
    secret_key_file: PathBuf,
    trust_store: Option<PathBuf>,
    overwrite: Overwrite,
}

/// What [`Keygen::run`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct KeygenReport {
    /// The new key's id.
    pub key_id: KeyId,
    /// Who holds it.
    pub publisher: String,
    /// The 32-byte ed25519 public key, base64.
    pub public_key: String,
    /// Where the secret key was written (mode 0600).
    pub secret_key_file: PathBuf,
    /// Whether an existing secret key file was replaced.
    pub replaced: bool,
    /// The trust store the public half was added to, if one was given.
    pub trust_store: Option<TrustStoreUpdate>,
}

/// The trust store [`Keygen`] added the public key to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TrustStoreUpdate {
    /// The file.
    pub path: PathBuf,
    /// Whether it was created (it did not exist).
    pub created: bool,
}

/// Why a key pair was not made. Nothing was written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeygenError {
    /// The publisher name is empty.
    #[error("the publisher is empty: name who holds the key (a person, group or address)")]
    EmptyPublisher,
    /// The secret key file exists and [`Overwrite::Refuse`] was asked.
    #[error(
        "{} exists; pass --force to replace it (entries signed with it stop verifying once \
         it is gone from trust stores)",
        path.display()
    )]
    Exists {
        /// The secret key file.
        path: PathBuf,
    },
    /// The secret key path is a symbolic link: a secret is never written through one.
    #[error(
        "{} is a symbolic link: a secret key is never written through one (remove it, or \
         give the real path)",
        path.display()
    )]
    Symlink {
        /// The secret key file.
        path: PathBuf,
    },
    /// The secret key path exists and is not a regular file (a directory, a device...).
    #[error("{} exists and is not a regular file", path.display())]
    NotAFile {
        /// The secret key file.
        path: PathBuf,
    },
    /// The trust store exists and is not valid (or cannot be read).
    #[error("the trust store cannot take the key: {0}")]
    TrustStore(#[source] LoadError),
    /// A file could not be inspected or written.
    #[error(transparent)]
    Io(LoadError),
}

impl Keygen {
    /// A key pair for `publisher`, its secret written to `secret_key_file`.
    pub fn new(publisher: impl Into<String>, secret_key_file: impl Into<PathBuf>) -> Self {
        Self {
            publisher: publisher.into(),
            secret_key_file: secret_key_file.into(),
            trust_store: None,
            overwrite: Overwrite::Refuse,
        }
    }

    /// Also add the public half to the trust store at `path` (created if missing).
    #[must_use]
    pub fn trust_store(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust_store = Some(path.into());
        self
    }

    /// What to do when the secret key file exists (default: refuse).
    #[must_use]
    pub fn overwrite(mut self, overwrite: Overwrite) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Makes the key pair from the operating system's random source.
    pub fn run(&self) -> Result<KeygenReport, KeygenError> {
        self.run_with(&mut rand::rngs::OsRng)
    }

    /// Makes the key pair from `rng` (tests use a seeded one).
    pub fn run_with<R: rand::CryptoRng + rand::RngCore>(
        &self,
        rng: &mut R,
    ) -> Result<KeygenReport, KeygenError> {
        if self.publisher.trim().is_empty() {
            return Err(KeygenError::EmptyPublisher);
        }
        let replaced = self.check_secret_path()?;
        let store = self.trust_store.as_deref().map(load_store).transpose()?;
        let key = PublisherKey::generate(self.publisher.clone(), rng);
        let store_text = store.map(|(mut store, previous)| {
            store.insert(
                self.publisher.clone(),
                key.verifying_key(),
                KeyStatus::Active,
            );
            (store.to_yaml_string(), previous)
        });
        let secret = key.to_secret_yaml();
        let path = &self.secret_key_file;
        let io = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| {
                KeygenError::Io(LoadError::Io {
                    action,
                    path,
                    source,
                })
            }
        };
        files::create_parent(path).map_err(io("write", path))?;
        // The secret goes to disk first (as a new file, or staged beside the old one), so
        // the trust store never lists a key whose secret could not be kept.
        let staged = match self.overwrite {
            Overwrite::Refuse => {
                files::create_new(path, secret.as_bytes(), Access::Private)
                    .map_err(|e| self.refusal_or_io(e))?;
                None
            }
            Overwrite::Replace => Some(
                Staged::write(path, secret.as_bytes(), Access::Private)
                    .map_err(io("write", path))?,
            ),
        };
        let trust_store = match (&self.trust_store, &store_text) {
            (Some(store_path), Some((text, previous))) => {
                if let Err(e) = files::replace(store_path, text.as_bytes(), Access::Default) {
                    if staged.is_none() {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(io("write", store_path)(e));
                }
                Some((store_path.clone(), previous))
            }
            _ => None,
        };
        if let Some(staged) = staged
            && let Err(e) = staged.commit()
        {
            // Put the trust store back as it was: the new key's secret is not in place.
            if let Some((store_path, previous)) = &trust_store {
                let _ = match previous {
                    Some(text) => files::replace(store_path, text.as_bytes(), Access::Default),
                    None => std::fs::remove_file(store_path),
                };
            }
            return Err(io("replace", path)(e));
        }
        let info = key.info();
        Ok(KeygenReport {
            key_id: key.key_id(),
            publisher: info.publisher,
            public_key: info.public_key,
            secret_key_file: path.clone(),
            replaced,
            trust_store: trust_store.map(|(path, previous)| TrustStoreUpdate {
                path,
                created: previous.is_none(),
            }),
        })
    }

    /// Refuses a secret key path that is a link, not a file, or (unless replacing) exists;
    /// says whether a file will be replaced.
    fn check_secret_path(&self) -> Result<bool, KeygenError> {
        let path = &self.secret_key_file;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => {
                return Err(KeygenError::Io(LoadError::Io {
                    action: "inspect",
                    path: path.clone(),
                    source,
                }));
            }
        };
        let path = path.clone();
        if meta.file_type().is_symlink() {
            Err(KeygenError::Symlink { path })
        } else if !meta.is_file() {
            Err(KeygenError::NotAFile { path })
        } else if self.overwrite == Overwrite::Refuse {
            Err(KeygenError::Exists { path })
        } else {
            Ok(true)
        }
    }

    /// `create_new` failed: a file (or link) appeared since the check, or another error.
    fn refusal_or_io(&self, e: std::io::Error) -> KeygenError {
        let path = self.secret_key_file.clone();
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            if link {
                KeygenError::Symlink { path }
            } else {
                KeygenError::Exists { path }
            }
        } else {
            KeygenError::Io(LoadError::Io {
                action: "write",
                path,
                source: e,
            })
        }
    }
}

/// The trust store at `path` (a new one when missing), and its text as it was, to restore.
fn load_store(path: &Path) -> Result<(TrustStore, Option<String>), KeygenError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let store = TrustStore::from_yaml_str(&text, &path.display().to_string())
                .map_err(KeygenError::TrustStore)?;
            Ok((store, Some(text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((TrustStore::new(), None)),
        Err(source) => Err(KeygenError::TrustStore(LoadError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })),
    }
}
