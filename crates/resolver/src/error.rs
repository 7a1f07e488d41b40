//! Errors of the resolver.

use std::fmt;

use amiref_core::{Region, ResolutionMethod};
use amiref_template::AmiStrategy;

use crate::{ChainEntry, Outcome};

/// A resolver that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No cloud was given.
    #[error(
        "Resolver::builder() needs a cloud: call .cloud(Arc<dyn Cloud>) (or .ports(Arc<dyn ResolutionPorts>)) before .build()"
    )]
    MissingCloud,
    /// A tier the caller added cannot take its place.
    #[error("tier {tier} cannot be added: {reason}")]
    InvalidTier {
        /// The tier.
        tier: ResolutionMethod,
        /// Why not.
        reason: &'static str,
    },
    /// An option has a value it cannot take.
    #[error("invalid resolver option {option}: {found}; expected {expected}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// The value given.
        found: String,
        /// What is allowed.
        expected: &'static str,
    },
}

/// No way to launch the template in the region.
///
/// Serialisable (a preview keeps it), with the chain of every tier tried; its
/// [`source`](std::error::Error::source) is the first tier that failed, if one did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResolveError {
    /// Every tier the strategy allows was tried; the chain says why each gave nothing.
    NoImage {
        /// The template.
        template: String,
        /// The region.
        region: Region,
        /// Its strategy.
        strategy: AmiStrategy,
        /// Every tier tried.
        chain: Vec<ChainEntry>,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoImage {
                template,
                region,
                strategy,
                chain,
            } => write!(
                f,
                "no way to launch {template} in {region} ({}): {}",
                strategy_name(*strategy),
                chain_summary(chain)
            ),
        }
    }
}

impl std::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.chain().iter().find_map(|e| match &e.outcome {
            Outcome::Failed { error } => Some(error as &(dyn std::error::Error + 'static)),
            _ => None,
        })
    }
}

impl ResolveError {
    pub(crate) fn no_image(
        template: &str,
        region: &Region,
        strategy: AmiStrategy,
        chain: Vec<ChainEntry>,
    ) -> Self {
        Self::NoImage {
            template: template.to_owned(),
            region: region.clone(),
            strategy,
            chain,
        }
    }

    /// The chain of tiers tried.
    pub fn chain(&self) -> &[ChainEntry] {
        match self {
            Self::NoImage { chain, .. } => chain,
        }
    }

    /// Whether a tier failed on an error or was cut off (rather than finding nothing or
    /// being refused by the trust policy): such results are not cached, since trying again
    /// may succeed.
    pub fn is_transient(&self) -> bool {
        self.chain().iter().any(|e| e.transient)
    }
}

/// The snake_case name of a strategy.
pub fn strategy_name(s: AmiStrategy) -> &'static str {
    match s {
        AmiStrategy::AmiRequired => "ami_required",
        AmiStrategy::AmiFallback => "ami_fallback",
        _ => "ami_preferred",
    }
}

fn chain_summary(chain: &[ChainEntry]) -> String {
    if chain.is_empty() {
        return "no tier applies".to_owned();
    }
    chain
        .iter()
        .map(|e| format!("{} {}: {}", e.tier, e.outcome.as_str(), e.outcome))
        .collect::<Vec<_>>()
        .join("; ")
}
