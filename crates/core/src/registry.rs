//! The port of the resolver's community tier: a registry of images that others built.

use async_trait::async_trait;

use crate::{AccountId, AmiId, Architecture, Region};

/// A registry lookup that could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No source of the registry could be read, and no cached copy exists.
    #[error("registry {source_name} is unavailable: {message}")]
    Unavailable {
        /// The source that failed (a path or URL).
        source_name: String,
        /// Why.
        message: String,
    },
    /// A source was read but its content is not acceptable.
    #[error("registry {source_name} is invalid: {message}")]
    Invalid {
        /// The source.
        source_name: String,
        /// What is wrong.
        message: String,
    },
}

/// One image a registry offers for a template in a region, with why it ranks where it does.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RegistryCandidate {
    /// The template the entry is for.
    pub template: String,
    /// The entry's version.
    pub version: String,
    /// The image in the asked region.
    pub image: AmiId,
    /// The region.
    pub region: Region,
    /// The entry's architecture.
    pub architecture: Architecture,
    /// The account expected to own the image, where the entry states it; the resolver
    /// still checks the image's real owner against its trust policy.
    pub expected_owner: Option<AccountId>,
    /// Which layer or source it came from (`institutional`, `community`, a URL).
    pub source: String,
    /// The publisher key that signed it, if it is signed.
    pub signed_by: Option<String>,
    /// Whether that key is retired: its old signatures still verify, but it signs nothing
    /// new, so the resolver uses the entry with a warning in the chain.
    #[serde(default)]
    pub signer_retired: bool,
    /// Higher is better; comparable only within one answer.
    pub score: f64,
    /// How the score was reached, for a person.
    pub explanation: String,
}

impl RegistryCandidate {
    /// A candidate with no owner expectation, signature or score yet.
    pub fn new(
        template: impl Into<String>,
        version: impl Into<String>,
        image: AmiId,
        region: Region,
        architecture: Architecture,
        source: impl Into<String>,
    ) -> Self {
        Self {
            template: template.into(),
            version: version.into(),
            image,
            region,
            architecture,
            expected_owner: None,
            source: source.into(),
            signed_by: None,
            signer_retired: false,
            score: 0.0,
            explanation: String::new(),
        }
    }
}

/// Finds registry entries for a template: implemented by `amiref-registry`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImageRegistry: Send + Sync {
    /// The acceptable entries for `template` in `region` among `architectures` (any, when
    /// empty), best first. Entries that fail verification or policy are never returned.
    async fn candidates(
        &self,
        template: &str,
        region: &Region,
        architectures: &[Architecture],
    ) -> Result<Vec<RegistryCandidate>, RegistryError>;
}
