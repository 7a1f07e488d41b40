//! Signing digests with a registry publisher key, and checking their signatures against a
//! trust store.
//!
//! A digest is signed the way the registry signs an entry ([`PublisherKey::sign_entry`]):
//! as the entry of template [`DIGEST_TEMPLATE`], version `<seq>`, whose description names
//! the chain head and whose `created_at` is the digest's time. So the registry's canonical
//! form, its ed25519 checks (strict verification) and its trust store's key statuses
//! (active, retired, revoked) apply to audit digests unchanged. The envelope is built from
//! the digest's fields on both sides, never parsed back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amiref_core::Architecture;
use amiref_registry::{Entry, PublisherKey, SignatureCheck, TrustStore};
use chrono::{DateTime, Utc};

use crate::line::DigestSignature;

/// The registry template name a digest's signature is made under (with the digest's `seq`
/// as the version), so it cannot pass for the signature of a real template's entry.
pub const DIGEST_TEMPLATE: &str = "amiref-audit/digest";

/// A failure to load the log's signing key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// The key file is readable or writable by others than its owner.
    #[error(
        "audit signing key {path}: mode {mode:04o} lets others than its owner read or change it; expected 0600 (chmod 600 {path})"
    )]
    NotPrivate {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not exist; amiref does not create one on its own.
    #[error(
        "audit signing key {path} does not exist: make one with `amiref registry keygen --publisher NAME --out {path}`, or remove `audit.signing_key` to write unsigned digests"
    )]
    Missing {
        /// The key file.
        path: PathBuf,
    },
    /// The key file could not be read or is not a secret key file.
    #[error("audit signing key {path}")]
    Load {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: amiref_registry::LoadError,
    },
}

/// Loads a secret key file for signing digests, refusing one others may read.
pub fn load_signing_key(path: &Path) -> Result<PublisherKey, SigningKeyError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SigningKeyError::Missing {
                path: path.to_owned(),
            });
        }
        Err(_) => {
            // Let the loader name the failure with its own error.
            return PublisherKey::load_file(path).map_err(|source| SigningKeyError::Load {
                path: path.to_owned(),
                source,
            });
        }
    };
    check_private(path, &meta)?;
    PublisherKey::load_file(path).map_err(|source| SigningKeyError::Load {
        path: path.to_owned(),
        source,
    })
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), SigningKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SigningKeyError::NotPrivate {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), SigningKeyError> {
    Ok(())
}

/// The registry entry a digest's signature covers.
fn envelope(publisher: &str, seq: u64, head: &str, time: DateTime<Utc>) -> Entry {
    let mut entry = Entry::new(publisher, Architecture::X86_64, BTreeMap::new());
    entry.description = format!("amiref audit log digest at line {seq}: chain head sha256 {head}");
    entry.created_at = Some(time);
    entry
}

/// Signs the digest at line `seq` whose chain head (its `prev`) is `head`.
pub(crate) fn sign(
    key: &PublisherKey,
    seq: u64,
    head: &str,
    time: DateTime<Utc>,
) -> Option<DigestSignature> {
    let mut entry = envelope(key.publisher(), seq, head, time);
    // Signing fails only when the entry has no canonical form, which a built envelope has.
    key.sign_entry(DIGEST_TEMPLATE, &seq.to_string(), &mut entry)
        .ok()?;
    let signature = entry.signature?;
    Some(DigestSignature {
        key_id: signature.key_id,
        publisher: key.publisher().to_owned(),
        ed25519: signature.ed25519,
    })
}

/// Checks a digest's signature against `trust`.
pub(crate) fn check(
    trust: &TrustStore,
    signature: &DigestSignature,
    seq: u64,
    head: &str,
    time: DateTime<Utc>,
) -> SignatureCheck {
    let mut entry = envelope(&signature.publisher, seq, head, time);
    // The registry's signature type is built through its serde form (it is non-exhaustive).
    entry.signature = serde_json::from_value(serde_json::json!({
        "key_id": signature.key_id,
        "ed25519": signature.ed25519,
    }))
    .ok();
    trust.verify(DIGEST_TEMPLATE, &seq.to_string(), &entry)
}
