//! `registry verify`: every configured registry source checked against the configured
//! trust store and entry policy, whoever the caller is.

use serde::Serialize;

use crate::list::{RegistryLayer, Signer};
use crate::{Session, SessionError, registries};

/// An entry that was admitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct VerifiedEntry {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version: String,
    /// Institutional or community.
    pub layer: RegistryLayer,
    /// The file or URL.
    pub source: String,
    /// Who vouches for it.
    pub signer: Signer,
}

/// One located problem of a refused entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct EntryProblem {
    /// The file or URL.
    pub origin: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// The field path.
    pub path: String,
    /// What was found.
    pub found: String,
    /// What was expected.
    pub expected: String,
}

/// An entry that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RefusedEntry {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version: String,
    /// The file or URL.
    pub source: String,
    /// Why, for a person.
    pub reason: String,
    /// Located problems, when the entry does not add up.
    pub problems: Vec<EntryProblem>,
}

impl From<&amiref_registry::Refusal> for RefusedEntry {
    fn from(r: &amiref_registry::Refusal) -> Self {
        Self {
            template: r.template.clone(),
            version: r.version.clone(),
            source: r.source.clone(),
            reason: r.reason.clone(),
            problems: r
                .problems
                .iter()
                .map(|p| EntryProblem {
                    origin: p.origin.clone(),
                    line: p.line,
                    column: p.column,
                    path: p.path.clone(),
                    found: p.found.clone(),
                    expected: p.expected.clone(),
                })
                .collect(),
        }
    }
}

/// `registry verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The sources verified.
    pub sources: Vec<String>,
    /// Admitted entries.
    pub admitted: Vec<VerifiedEntry>,
    /// Refused entries.
    pub refused: Vec<RefusedEntry>,
    /// Entries a sharing policy hides from the caller (every restricted entry when the
    /// caller is unknown): verified, not listed.
    pub restricted: usize,
    /// Warnings (a stale cached copy, an unreachable source).
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// Whether every entry would be admitted.
    pub fn is_ok(&self) -> bool {
        self.refused.is_empty()
    }
}

impl Session {
    /// `registry verify`: the configured registries (or `sources`, files, directories or
    /// https:// URLs, when given) against the configured trust store and entry policy.
    /// Entries a sharing policy hides from the caller are verified and counted, not listed.
    pub async fn verify_registries(
        &self,
        sources: Option<&[String]>,
    ) -> Result<VerifyReport, SessionError> {
        let settings = self.registry_settings();
        let chosen = match sources {
            Some(texts) => settings.parse_sources(texts, amiref_registry::Layer::Community)?,
            None => settings.sources()?,
        };
        if chosen.is_empty() {
            return Err(SessionError::NotConfigured {
                what: "no registry".into(),
                setting: "`registries:` (or $AMIREF_REGISTRIES), or name the files".into(),
                config: self.config().path.clone(),
            });
        }
        let trust = settings.load_trust().map_err(|e| self.name_config(e))?;
        // Signatures do not depend on who asks, but what is listed does: entries are listed
        // as the caller sees them when the cloud says who that is (an offline verify, with no
        // credentials, still verifies every entry and counts the restricted ones).
        let opened = registries::Opened {
            caller: self.cloud().caller().await.ok(),
            now: self.world().map(|w| w.now()),
            ..registries::Opened::default()
        };
        let registry = registries::build(&chosen, &trust, &settings.policy, opened).await?;
        let report = registry.report();
        Ok(VerifyReport {
            sources: chosen.iter().map(|(_, s)| s.name()).collect(),
            admitted: registry
                .entries()
                .iter()
                .map(|e| VerifiedEntry {
                    template: e.template.clone(),
                    version: e.version_text.clone(),
                    layer: RegistryLayer::of(e.layer),
                    source: e.source.clone(),
                    signer: Signer::of(&e.provenance),
                })
                .collect(),
            refused: report.refused.iter().map(RefusedEntry::from).collect(),
            restricted: report.not_shared,
            warnings: report.warnings.clone(),
        })
    }
}
