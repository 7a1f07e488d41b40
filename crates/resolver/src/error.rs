//! Errors of the resolver.

use amiref_core::{AmiId, CloudError, ImageState, Region};
use amiref_template::AmiStrategy;

use crate::ChainEntry;

/// A resolver that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No cloud was given.
    #[error("Resolver::builder() needs a cloud: call .cloud(Arc<dyn Cloud>) before .build()")]
    MissingCloud,
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
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Every tier the strategy allows was tried; the chain says why each gave nothing.
    #[error("no way to launch {template} in {region} ({strategy}): {}", chain_summary(.chain))]
    NoImage {
        /// The template.
        template: String,
        /// The region.
        region: Region,
        /// Its strategy, as snake_case.
        strategy: String,
        /// Every tier tried.
        chain: Vec<ChainEntry>,
    },
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
            strategy: strategy_name(strategy).to_owned(),
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
        .map(|e| format!("{} {}: {}", e.tier, e.outcome.as_str(), e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A copy plan that could not be carried out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecuteError {
    /// A call to the cloud failed.
    #[error("copying {image} from {source_region} to {destination}: {error}")]
    Cloud {
        /// The source image.
        image: AmiId,
        /// Its region.
        source_region: Region,
        /// The destination.
        destination: Region,
        /// What the cloud said.
        #[source]
        error: CloudError,
    },
    /// The copy ended in a state other than `available`.
    #[error("the copy {copy} of {image} in {destination} ended {state}, not available")]
    CopyFailed {
        /// The source image.
        image: AmiId,
        /// The copy.
        copy: AmiId,
        /// The destination.
        destination: Region,
        /// Its final state.
        state: ImageState,
    },
    /// The copy was not available within the wait limit.
    #[error(
        "the copy {copy} in {destination} was not available after {waited_secs}s (limit); it may still complete: run again to wait for the same copy"
    )]
    TimedOut {
        /// The copy.
        copy: AmiId,
        /// The destination.
        destination: Region,
        /// How long the resolver waited.
        waited_secs: u64,
    },
}
