//! The registry's own commands: `registry keygen` and `registry sign`, and registry
//! errors.

use amiref_registry::{KeygenError, KeygenReport, LoadError, SignFileError, SignReport};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{ErrorKind, ErrorReport, Human, Report};

/// A new publisher key (`amiref/registry_keygen/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KeygenJson {
    /// The key's id (`ed25519:…`).
    pub key_id: String,
    /// Who holds it.
    pub publisher: String,
    /// The 32-byte ed25519 public key, base64.
    pub public_key: String,
    /// Where the secret key was written (mode 0600).
    pub secret_key_file: String,
    /// Whether an existing secret key file was replaced.
    pub replaced: bool,
    /// The trust store the public half was added to, if one was given.
    pub trust_store: Option<String>,
    /// Whether that trust store was created.
    pub trust_store_created: bool,
}

/// `registry keygen`.
impl Report for KeygenReport {
    const KIND: &'static str = "registry_keygen";
    type Json = KeygenJson;

    fn to_json(&self) -> KeygenJson {
        KeygenJson {
            key_id: self.key_id.to_string(),
            publisher: self.publisher.clone(),
            public_key: self.public_key.clone(),
            secret_key_file: self.secret_key_file.display().to_string(),
            replaced: self.replaced,
            trust_store: self
                .trust_store
                .as_ref()
                .map(|t| t.path.display().to_string()),
            trust_store_created: self.trust_store.as_ref().is_some_and(|t| t.created),
        }
    }

    fn human(&self, out: &mut Human) {
        out.line(format!("🔑 Key {} for {}", self.key_id, self.publisher));
        out.line(format!(
            "   secret key: {} (keep it private){}",
            self.secret_key_file.display(),
            if self.replaced {
                "; the old key was replaced"
            } else {
                ""
            }
        ));
        out.line(format!("   public key: {}", self.public_key));
        if let Some(t) = &self.trust_store {
            out.line(format!(
                "   added to trust store {}{}",
                t.path.display(),
                if t.created { " (created)" } else { "" }
            ));
        }
    }
}

/// `registry sign`. Entries readers will still refuse make it a `registry` failure beside
/// the report (the signatures were written).
impl Report for SignReport {
    const KIND: &'static str = "registry_sign";
    type Json = SignReport;

    fn to_json(&self) -> SignReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let n = self.signed.len();
        out.line(format!(
            "✍️  Signed {n} entr{} in {} with {} ({})",
            if n == 1 { "y" } else { "ies" },
            self.file.display(),
            self.key_id,
            self.publisher
        ));
        for problem in &self.problems {
            out.line(format!("⚠️  signed, but readers will refuse it: {problem}"));
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        let n = self.problems.len();
        (n > 0).then(|| {
            ErrorReport::new(
                ErrorKind::Registry,
                format!(
                    "signed, but readers will refuse entries of {} ({n} problem{})",
                    self.file.display(),
                    if n == 1 { "" } else { "s" }
                ),
            )
        })
    }
}

/// A key pair that was not made (nothing written): `io`, `registry` for a trust store
/// that cannot take the key, `invalid_input` otherwise.
impl From<&KeygenError> for ErrorReport {
    fn from(e: &KeygenError) -> Self {
        let kind = match e {
            KeygenError::Io(_) => ErrorKind::Io,
            KeygenError::TrustStore(_) => ErrorKind::Registry,
            _ => ErrorKind::InvalidInput,
        };
        ErrorReport::from_error(kind, e)
    }
}

/// A file that was not signed: `registry`, nothing written.
impl From<&SignFileError> for ErrorReport {
    fn from(e: &SignFileError) -> Self {
        ErrorReport::from_error(ErrorKind::Registry, e)
    }
}

/// A registry, trust store or key file that cannot be read: `registry`, with its located
/// problems as details when it has some.
impl From<&LoadError> for ErrorReport {
    fn from(e: &LoadError) -> Self {
        ErrorReport::from_error(ErrorKind::Registry, e)
    }
}
