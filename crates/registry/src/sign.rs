//! Signing a registry file's entries in place (`amiref registry sign`): all of them, a
//! template's, or one version, with a publisher's secret key file.

use std::path::PathBuf;

use serde::Serialize;

use crate::document::{ParsedRegistry, parse_version};
use crate::error::{LoadError, Problem, SignError};
use crate::trust::{KeyId, PublisherKey};

/// Which entries of which file to sign, with which key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignRequest {
    /// The registry file, signed in place.
    pub file: PathBuf,
    /// The publisher's secret key file.
    pub key_file: PathBuf,
    /// Only this template's entries.
    pub template: Option<String>,
    /// Only this version (any spelling: `v1.0.0` is `1.0.0`), of `template`.
    pub version: Option<String>,
}

/// What [`SignRequest::run`] signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct SignReport {
    /// The registry file.
    pub file: PathBuf,
    /// The key's id.
    pub key_id: KeyId,
    /// Its holder.
    pub publisher: String,
    /// The entries signed, in file order.
    pub signed: Vec<SignedEntry>,
    /// Problems of the signed entries for which readers will still refuse them (a signature
    /// does not make an entry that does not add up acceptable).
    pub problems: Vec<Problem>,
}

/// One entry signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct SignedEntry {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version: String,
}

/// Why a file was not signed. Nothing was written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignFileError {
    /// The secret key file cannot be read or is not valid.
    #[error("the key: {0}")]
    Key(#[source] LoadError),
    /// The registry file cannot be read or is not valid.
    #[error(transparent)]
    Registry(LoadError),
    /// No entry matches the selection.
    #[error(
        "no entry in {} matches{}{}",
        file.display(),
        template.as_ref().map(|t| format!(" template {t}")).unwrap_or_default(),
        version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default()
    )]
    NoMatch {
        /// The registry file.
        file: PathBuf,
        /// The template asked for.
        template: Option<String>,
        /// The version asked for.
        version: Option<String>,
    },
    /// An entry could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The signed file could not be written.
    #[error(transparent)]
    Write(LoadError),
}

impl SignRequest {
    /// Sign every entry of `file` with the key in `key_file`.
    pub fn new(file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        Self {
            file: file.into(),
            key_file: key_file.into(),
            template: None,
            version: None,
        }
    }

    /// Signs the selected entries and writes the file back atomically.
    pub fn run(&self) -> Result<SignReport, SignFileError> {
        let key = PublisherKey::load_file(&self.key_file).map_err(SignFileError::Key)?;
        let mut parsed = ParsedRegistry::load_file(&self.file).map_err(SignFileError::Registry)?;
        let targets = self.targets(&parsed);
        if targets.is_empty() {
            return Err(SignFileError::NoMatch {
                file: self.file.clone(),
                template: self.template.clone(),
                version: self.version.clone(),
            });
        }
        for t in &targets {
            parsed.sign(&t.template, &t.version, &key)?;
        }
        parsed.save_file(&self.file).map_err(SignFileError::Write)?;
        let problems = targets
            .iter()
            .filter_map(|t| {
                parsed
                    .entry_problems
                    .get(&(t.template.clone(), t.version.clone()))
            })
            .flatten()
            .cloned()
            .collect();
        Ok(SignReport {
            file: self.file.clone(),
            key_id: key.key_id(),
            publisher: key.publisher().to_owned(),
            signed: targets,
            problems,
        })
    }

    fn targets(&self, parsed: &ParsedRegistry) -> Vec<SignedEntry> {
        parsed
            .document
            .community_amis
            .iter()
            .filter(|(t, _)| self.template.as_ref().is_none_or(|want| want == *t))
            .flat_map(|(t, versions)| {
                versions.keys().map(move |v| SignedEntry {
                    template: t.clone(),
                    version: v.clone(),
                })
            })
            .filter(|e| {
                self.version
                    .as_deref()
                    .is_none_or(|want| same_version(want, &e.version))
            })
            .collect()
    }
}

/// Whether two spellings name one version (`v1.0.0` and `1.0.0`); texts that are not
/// versions match only themselves.
fn same_version(a: &str, b: &str) -> bool {
    match (parse_version(a), parse_version(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
