//! `audit verify` and `audit show`: the session's audit log (or another file) checked and
//! read back, with the trust store the configuration names.

use std::path::{Path, PathBuf};

use amiref_audit::{AuditQuery, ShownRecord, Verification};
use amiref_registry::{KeyStatus, TrustStore};

use crate::{Session, SessionError};

/// What `audit verify` found, and with which keys.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct AuditCheck {
    /// The chain and signature checks.
    pub verification: Verification,
    /// Where the digests' keys came from: `audit.trust_store`, the public half of
    /// `audit.signing_key`, or nothing (signatures not checked).
    pub keys_from: Option<String>,
    /// Torn last lines this session's log moved aside when it opened the file (a writer
    /// that crashed mid-write).
    pub set_aside: Vec<PathBuf>,
}

/// What `audit show` read: the records of one log that a query matches.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct AuditListing {
    /// The log read.
    pub path: PathBuf,
    /// The records, in the log's order.
    pub records: Vec<ShownRecord>,
}

impl AuditCheck {
    /// Whether the log is intact: an unbroken chain, and every digest signed by a trusted
    /// key when keys are configured.
    pub fn is_sound(&self) -> bool {
        self.verification.is_intact()
    }
}

impl Session {
    /// The audit log `file` names, else the session's own.
    fn audit_file(&self, file: Option<&Path>) -> Result<PathBuf, SessionError> {
        match (file, self.audit_log()) {
            (Some(file), _) => Ok(file.to_owned()),
            (None, Some(log)) => Ok(log.path().to_owned()),
            (None, None) => Err(SessionError::InvalidInput {
                field: "FILE".into(),
                found: "no file, and the session writes to a sink of its own".into(),
                expected: "the audit log to read".into(),
            }),
        }
    }

    /// The keys digests are checked against: `audit.trust_store`, else the public half of
    /// `audit.signing_key`, else none; with where they came from.
    fn audit_trust(&self) -> Result<Option<(TrustStore, String)>, SessionError> {
        let settings = &self.config().config.audit;
        if let Some(path) = &settings.trust_store {
            let store = TrustStore::load_file(path).map_err(|source| SessionError::Registry {
                what: "audit.trust_store".into(),
                source,
            })?;
            return Ok(Some((
                store,
                format!("audit.trust_store {}", path.display()),
            )));
        }
        if let Some(path) = &settings.signing_key {
            let key = amiref_audit::load_signing_key(path)?;
            let store =
                TrustStore::new().with_key(key.publisher(), key.verifying_key(), KeyStatus::Active);
            return Ok(Some((
                store,
                format!("the public half of audit.signing_key {}", path.display()),
            )));
        }
        Ok(None)
    }

    /// Verifies `file` (default: the session's audit log): the chain, and the digests'
    /// signatures when the configuration names keys.
    pub fn audit_verify(&self, file: Option<&Path>) -> Result<AuditCheck, SessionError> {
        let path = self.audit_file(file)?;
        let trust = self.audit_trust()?;
        let verification = amiref_audit::verify(&path, trust.as_ref().map(|(t, _)| t))?;
        let set_aside = match self.audit_log() {
            Some(log) if log.path() == path => log.set_aside(),
            _ => Vec::new(),
        };
        Ok(AuditCheck {
            verification,
            keys_from: trust.map(|(_, from)| from),
            set_aside,
        })
    }

    /// The records of `file` (default: the session's audit log) that `query` matches.
    pub fn audit_show(
        &self,
        file: Option<&Path>,
        query: &AuditQuery,
    ) -> Result<AuditListing, SessionError> {
        let path = self.audit_file(file)?;
        let records = amiref_audit::read(&path, query)?;
        Ok(AuditListing { path, records })
    }
}
