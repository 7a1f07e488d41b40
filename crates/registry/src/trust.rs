//! Publisher keys: key ids, the reader's trust store, signing and verifying entries.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::canonical::entry_message;
use crate::error::{LoadError, Problem, SignError};
use crate::model::{Entry, EntrySignature, PublisherKeyInfo};
use crate::yaml::{LocatedDocument, path_of, to_yaml_string};

/// A key's id: `ed25519:` and the first 16 hex digits of the SHA-256 of its public key.
///
/// Derived from the key rather than chosen, so an id can never be claimed for another key,
/// and a rotated key always has a new id.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        Self(format!("ed25519:{}", &hex::encode(digest)[..16]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a trusted key may still be relied on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyStatus {
    /// Signs new entries; its signatures verify.
    #[default]
    Active,
    /// Rotated out: its signatures still verify, and a warning says so.
    Retired,
    /// Compromised or withdrawn: its signatures are refused.
    Revoked,
}

impl KeyStatus {
    /// The stricter of two statuses for one key: revoked over retired over active.
    ///
    /// Wherever a key's status comes from more than one place, this decides it, so a
    /// revocation can never be undone by another listing of the key.
    #[must_use]
    pub fn strictest(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    fn severity(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::Retired => 1,
            Self::Revoked => 2,
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
        })
    }
}

/// One trusted key as a trust store file lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TrustedKeyRecord {
    /// Who holds the key.
    pub publisher: String,
    /// The 32-byte ed25519 public key, base64.
    pub public_key: String,
    /// The key id; when given it must match the key (a check against copy-paste mistakes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Whether the key is active, retired or revoked.
    #[serde(default)]
    pub status: KeyStatus,
}

/// A trust store file: the publishers whose signatures this reader accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TrustStoreFile {
    /// The format version (`1`).
    pub schema_version: u32,
    /// The trusted keys.
    #[serde(default)]
    pub keys: Vec<TrustedKeyRecord>,
}

/// A key the reader trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustedKey {
    /// The key's id.
    pub id: KeyId,
    /// Who holds it.
    pub publisher: String,
    /// The key.
    pub key: VerifyingKey,
    /// Active, retired or revoked.
    pub status: KeyStatus,
}

/// The publisher keys a reader trusts, by id.
///
/// A key is held once. Wherever a key's status comes from more than one place (keys
/// inserted twice, stores merged), the strictest status wins: **a key revoked anywhere is
/// revoked**, and a key retired anywhere (and revoked nowhere) is retired. A trust store
/// *file* that lists a key twice is refused instead ([`TrustStore::from_yaml_str`]).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: std::collections::BTreeMap<KeyId, TrustedKey>,
}

impl TrustStore {
    /// A store that trusts nobody.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key`, held by `publisher`, with `status`; see [`TrustStore::insert`].
    #[must_use]
    pub fn with_key(
        mut self,
        publisher: impl Into<String>,
        key: VerifyingKey,
        status: KeyStatus,
    ) -> Self {
        self.insert(publisher, key, status);
        self
    }

    /// Trusts `key`, held by `publisher`, with `status`.
    ///
    /// A key already held keeps its publisher and takes the stricter of the two statuses
    /// ([`KeyStatus::strictest`]): inserting a revoked key as active leaves it revoked.
    pub fn insert(&mut self, publisher: impl Into<String>, key: VerifyingKey, status: KeyStatus) {
        self.add(TrustedKey {
            id: KeyId::of(&key),
            publisher: publisher.into(),
            key,
            status,
        });
    }

    fn add(&mut self, key: TrustedKey) {
        match self.keys.entry(key.id.clone()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(key);
            }
            std::collections::btree_map::Entry::Occupied(mut held) => {
                let held = held.get_mut();
                held.status = held.status.strictest(key.status);
            }
        }
    }

    /// Adds every key of `other`. A key both hold keeps this store's publisher and takes
    /// the stricter status: a key revoked in either store is revoked in the result.
    pub fn merge(&mut self, other: &TrustStore) {
        for key in other.keys.values() {
            self.add(key.clone());
        }
    }

    /// This store with every key of `other` added; see [`TrustStore::merge`].
    #[must_use]
    pub fn merged(mut self, other: &TrustStore) -> Self {
        self.merge(other);
        self
    }

    /// The trusted key with `id`.
    pub fn get(&self, id: &str) -> Option<&TrustedKey> {
        self.keys.get(&KeyId(id.to_owned()))
    }

    /// Every trusted key.
    pub fn keys(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.values()
    }

    /// Reads a trust store from YAML text; `origin` names it in errors.
    ///
    /// Every problem is reported, located: a malformed key, a `key_id` that is not the
    /// key's, and a key listed twice (by the same public key, whatever the ids written),
    /// which is refused rather than letting one listing override the other: the problem
    /// points at the second listing and names the first's line.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, LoadError> {
        const WHAT: &str = "trust store";
        let doc = LocatedDocument::parse(text, origin, WHAT)?;
        let file: TrustStoreFile = doc.deserialize(WHAT)?;
        let mut problems = Vec::new();
        if file.schema_version != 1 {
            problems.push(doc.problem("schema_version", file.schema_version.to_string(), "1"));
        }
        let mut store = Self::new();
        // Each key's first listing: its index, for the duplicate's message.
        let mut first_listing: std::collections::HashMap<KeyId, usize> =
            std::collections::HashMap::new();
        for (i, record) in file.keys.iter().enumerate() {
            let index = format!("keys[{i}]");
            match decode_public_key(&record.public_key) {
                Ok(key) => {
                    let id = KeyId::of(&key);
                    let mut valid = true;
                    if let Some(&first) = first_listing.get(&id) {
                        problems.push(duplicate_listing(&doc, &file, first, i, &id));
                        valid = false;
                    } else {
                        first_listing.insert(id.clone(), i);
                    }
                    if let Some(stated) = &record.key_id
                        && stated != id.as_str()
                    {
                        problems.push(doc.problem(
                            &format!("{index}.key_id"),
                            format!("{stated:?}"),
                            format!("{:?}, the id of the public key given", id.as_str()),
                        ));
                        valid = false;
                    }
                    if valid {
                        store.insert(record.publisher.clone(), key, record.status);
                    }
                }
                Err(found) => problems.push(doc.problem(
                    &format!("{index}.public_key"),
                    found,
                    "a 32-byte ed25519 public key in base64",
                )),
            }
        }
        if problems.is_empty() {
            Ok(store)
        } else {
            Err(LoadError::Invalid {
                origin: origin.to_owned(),
                what: WHAT,
                problems,
            })
        }
    }

    /// Reads a trust store file.
    pub fn load_file(path: &Path) -> Result<Self, LoadError> {
        let text = crate::yaml::read_text(path, "trust store")?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// The store as a trust store file.
    pub fn to_file(&self) -> TrustStoreFile {
        TrustStoreFile {
            schema_version: 1,
            keys: self
                .keys
                .values()
                .map(|k| TrustedKeyRecord {
                    publisher: k.publisher.clone(),
                    public_key: BASE64.encode(k.key.as_bytes()),
                    key_id: Some(k.id.to_string()),
                    status: k.status,
                })
                .collect(),
        }
    }

    /// The store as trust store YAML.
    pub fn to_yaml_string(&self) -> String {
        to_yaml_string(&self.to_file()).unwrap_or_default()
    }

    /// Writes the store to `path`, atomically.
    pub fn save_file(&self, path: &Path) -> Result<(), LoadError> {
        crate::source::write_atomically(path, self.to_yaml_string().as_bytes())
    }

    /// Checks `entry`'s signature as `template` `version`.
    pub fn verify(&self, template: &str, version: &str, entry: &Entry) -> SignatureCheck {
        let Some(signature) = &entry.signature else {
            return SignatureCheck::Unsigned;
        };
        let Some(trusted) = self.get(&signature.key_id) else {
            return SignatureCheck::UnknownKey(signature.key_id.clone());
        };
        if trusted.status == KeyStatus::Revoked {
            return SignatureCheck::RevokedKey(trusted.id.clone());
        }
        let Ok(bytes) = BASE64.decode(&signature.ed25519) else {
            return SignatureCheck::Malformed("the signature is not base64".into());
        };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return SignatureCheck::Malformed(format!(
                "the signature is {} bytes, not 64",
                bytes.len()
            ));
        };
        let message = match entry_message(template, version, entry) {
            Ok(m) => m,
            Err(e) => return SignatureCheck::Malformed(e),
        };
        // Strict: also refuses small-order keys and non-canonical signature encodings, so a
        // signature has exactly one valid form.
        match trusted
            .key
            .verify_strict(&message, &Signature::from_bytes(&bytes))
        {
            Ok(()) => SignatureCheck::Valid {
                key: trusted.id.clone(),
                publisher: trusted.publisher.clone(),
                retired: trusted.status == KeyStatus::Retired,
            },
            Err(_) => SignatureCheck::Invalid(trusted.id.clone()),
        }
    }
}

/// The outcome of checking an entry's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureCheck {
    /// Signed by a trusted key, over exactly this entry.
    Valid {
        /// The key.
        key: KeyId,
        /// Its holder.
        publisher: String,
        /// Whether the key has been rotated out.
        retired: bool,
    },
    /// No signature.
    Unsigned,
    /// Signed by a key the trust store does not hold.
    UnknownKey(String),
    /// Signed by a revoked key.
    RevokedKey(KeyId),
    /// The signature does not match the entry: it was changed after signing.
    Invalid(KeyId),
    /// The signature is not a well-formed ed25519 signature.
    Malformed(String),
}

impl fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid {
                key,
                publisher,
                retired,
            } => write!(
                f,
                "signed by {publisher} ({key}{})",
                if *retired { ", a retired key" } else { "" }
            ),
            Self::Unsigned => f.write_str("unsigned"),
            Self::UnknownKey(k) => write!(f, "signed by {k}, a key not in the trust store"),
            Self::RevokedKey(k) => write!(f, "signed by {k}, a revoked key"),
            Self::Invalid(k) => write!(
                f,
                "the signature by {k} does not match the entry (changed after signing)"
            ),
            Self::Malformed(m) => write!(f, "malformed signature: {m}"),
        }
    }
}

/// The problem of `keys[second]` listing the key `keys[first]` already listed.
fn duplicate_listing(
    doc: &LocatedDocument,
    file: &TrustStoreFile,
    first: usize,
    second: usize,
    id: &KeyId,
) -> Problem {
    let (a, b) = (&file.keys[first], &file.keys[second]);
    let at = doc
        .locate(&format!("keys[{first}].public_key"))
        .map(|(line, column)| format!("line {line}, column {column}"))
        .unwrap_or_else(|| format!("keys[{first}]"));
    doc.problem(
        &format!("keys[{second}].public_key"),
        format!(
            "key {id} listed a second time (as {:?}, {}; first listed at {at}, as {:?}, {})",
            b.publisher, b.status, a.publisher, a.status
        ),
        "each key listed once: keep one listing, with the status the key should have \
         (a key revoked in any listing stays revoked)",
    )
}

fn decode_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|_| format!("{text:?} (not base64)"))?;
    let bytes =
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| format!("{} bytes", bytes.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "a value that is not an ed25519 point".to_owned())
}

/// A secret key file as `registry keygen` writes it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SecretKeyFile {
    schema_version: u32,
    publisher: String,
    key_id: String,
    /// The 32-byte ed25519 seed, base64.
    secret_key: String,
}

/// A publisher's signing key.
#[derive(Clone)]
pub struct PublisherKey {
    publisher: String,
    key: SigningKey,
}

impl fmt::Debug for PublisherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("PublisherKey")
            .field("publisher", &self.publisher)
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl PublisherKey {
    /// A new random key for `publisher`.
    pub fn generate<R: rand::CryptoRng + rand::RngCore>(
        publisher: impl Into<String>,
        rng: &mut R,
    ) -> Self {
        Self {
            publisher: publisher.into(),
            key: SigningKey::generate(rng),
        }
    }

    /// A new key for `publisher` from the operating system's random source.
    pub fn generate_random(publisher: impl Into<String>) -> Self {
        Self::generate(publisher, &mut rand::rngs::OsRng)
    }

    /// The key from a 32-byte seed.
    pub fn from_seed(publisher: impl Into<String>, seed: [u8; 32]) -> Self {
        Self {
            publisher: publisher.into(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Who holds the key.
    pub fn publisher(&self) -> &str {
        &self.publisher
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.key.verifying_key())
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public half as a registry file announces it.
    pub fn info(&self) -> PublisherKeyInfo {
        PublisherKeyInfo {
            key_id: self.key_id().to_string(),
            publisher: self.publisher.clone(),
            public_key: BASE64.encode(self.key.verifying_key().as_bytes()),
        }
    }

    /// Signs `entry` as `template` `version`, replacing any signature it had.
    pub fn sign_entry(
        &self,
        template: &str,
        version: &str,
        entry: &mut Entry,
    ) -> Result<(), SignError> {
        let message =
            entry_message(template, version, entry).map_err(|message| SignError::Canonical {
                template: template.to_owned(),
                version: version.to_owned(),
                message,
            })?;
        let signature = self.key.sign(&message);
        entry.signature = Some(EntrySignature {
            key_id: self.key_id().to_string(),
            ed25519: BASE64.encode(signature.to_bytes()),
        });
        Ok(())
    }

    /// The secret key file's text. Keep it private.
    pub fn to_secret_yaml(&self) -> String {
        let file = SecretKeyFile {
            schema_version: 1,
            publisher: self.publisher.clone(),
            key_id: self.key_id().to_string(),
            secret_key: BASE64.encode(self.key.to_bytes()),
        };
        to_yaml_string(&file).unwrap_or_default()
    }

    /// Reads a secret key file's text.
    pub fn from_secret_yaml(text: &str, origin: &str) -> Result<Self, LoadError> {
        const WHAT: &str = "secret key file";
        let doc = LocatedDocument::parse(text, origin, WHAT)?;
        let file: SecretKeyFile = doc.deserialize(WHAT)?;
        let invalid = |path: &str, found: String, expected: &str| LoadError::Invalid {
            origin: origin.to_owned(),
            what: WHAT,
            problems: vec![doc.problem(path, found, expected)],
        };
        let seed = BASE64
            .decode(file.secret_key.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| {
                invalid(
                    &path_of(&["secret_key"]),
                    "a value that is not 32 bytes of base64".into(),
                    "a 32-byte ed25519 seed in base64",
                )
            })?;
        let key = Self::from_seed(file.publisher, seed);
        if key.key_id().as_str() != file.key_id {
            return Err(invalid(
                "key_id",
                format!("{:?}", file.key_id),
                &format!("{:?}, the id of this secret key", key.key_id().as_str()),
            ));
        }
        Ok(key)
    }

    /// Reads a secret key file.
    pub fn load_file(path: &Path) -> Result<Self, LoadError> {
        let text = crate::yaml::read_text(path, "secret key file")?;
        Self::from_secret_yaml(&text, &path.display().to_string())
    }
}
