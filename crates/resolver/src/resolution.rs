//! What a resolution answers: the image, how it was found, the chain, the estimates.

use std::fmt;
use std::time::Duration;

use amiref_core::{Architecture, Image, InstanceType, Region, ResolutionMethod};
use amiref_strategies::{CopyPlan, Find, Skip, TierFailure, Warning, seconds};
use amiref_template::{AmiStrategy, FallbackStrategy};

use crate::ResolveError;

/// How one tier of a resolution ended, with the facts behind it; `Display` is the sentence
/// a person reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// It found an image that passed every check.
    Found(Box<Find>),
    /// It did not apply, or nothing it saw passed the checks.
    Skipped {
        /// Why.
        reason: Skip,
    },
    /// It could not be carried out (a cloud or registry error, a refused search).
    Failed {
        /// Why.
        error: TierFailure,
    },
    /// `fallback_timeout` passed while it ran.
    TimedOut {
        /// The template's `fallback_timeout`, seconds.
        timeout_secs: u64,
    },
    /// The cloud kept answering with faults (throttling, unavailability) until retrying
    /// again would have outlived `fallback_timeout`: the tier gave up in time, with the
    /// last fault, and the fallback followed.
    CutOffByFaults {
        /// The template's `fallback_timeout`, seconds.
        timeout_secs: u64,
        /// The fault the tier gave up on.
        error: TierFailure,
    },
    /// It was not run.
    NotTried {
        /// Why not.
        reason: NotTried,
    },
}

impl Outcome {
    /// The snake_case name of the outcome's kind (`found`, `skipped`, `failed`,
    /// `timed_out`, `cut_off_by_faults`, `not_tried`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Found(_) => "found",
            Self::Skipped { .. } => "skipped",
            Self::Failed { .. } => "failed",
            Self::TimedOut { .. } => "timed_out",
            Self::CutOffByFaults { .. } => "cut_off_by_faults",
            Self::NotTried { .. } => "not_tried",
        }
    }

    /// The find, if the tier found an image.
    pub fn found(&self) -> Option<&Find> {
        match self {
            Self::Found(f) => Some(f),
            _ => None,
        }
    }

    /// Whether the tier was run at all.
    pub fn was_tried(&self) -> bool {
        !matches!(self, Self::NotTried { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Found(find) => find.fmt(f),
            Self::Skipped { reason } => reason.fmt(f),
            Self::Failed { error } => error.fmt(f),
            Self::TimedOut { timeout_secs } => {
                write!(f, "cut off by fallback_timeout ({timeout_secs}s)")
            }
            Self::CutOffByFaults {
                timeout_secs,
                error,
            } => write!(
                f,
                "cut off by faults within fallback_timeout ({timeout_secs}s): {error}"
            ),
            Self::NotTried { reason } => reason.fmt(f),
        }
    }
}

/// Why a tier was not run.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotTried {
    /// An earlier tier had already found an image.
    NotNeeded {
        /// The tier that found it, where one did.
        winner: Option<ResolutionMethod>,
    },
    /// `fallback_timeout` had passed before it started.
    DeadlinePassed,
    /// The template's `fallback_strategy` does not use it.
    FallbackStrategy {
        /// The fallback strategy.
        fallback: FallbackStrategy,
    },
    /// `ami_required` never runs the script.
    AmiRequired,
}

impl fmt::Display for NotTried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotNeeded {
                winner: Some(winner),
            } => write!(f, "not needed: {} found an image", winner.title()),
            Self::NotNeeded { winner: None } => f.write_str("not needed"),
            Self::DeadlinePassed => f.write_str("fallback_timeout had passed before it started"),
            Self::FallbackStrategy { fallback } => {
                write!(
                    f,
                    "fallback_strategy is {}",
                    crate::resolver::fallback_name(*fallback)
                )
            }
            Self::AmiRequired => f.write_str("ami_required never falls back to a script"),
        }
    }
}

/// One step of a resolution's chain.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ChainEntry {
    /// The tier.
    pub tier: ResolutionMethod,
    /// How it ended, and why.
    pub outcome: Outcome,
    /// How long it ran (on tokio's clock), milliseconds.
    pub elapsed_ms: u64,
    /// Whether the resolution used its answer. A tier that ran but whose answer was not
    /// used was not needed: an earlier tier won (the preview runs every tier).
    pub used: bool,
    /// Whether trying again may end otherwise: a tier that failed on a cloud or registry
    /// error, or was cut off by the deadline. A refusal by the trust policy is not: it
    /// fails the same way until the policy or the template changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
}

impl ChainEntry {
    pub(crate) fn new(tier: ResolutionMethod, outcome: Outcome, elapsed: Duration) -> Self {
        let transient = match &outcome {
            Outcome::TimedOut { .. } | Outcome::CutOffByFaults { .. } => true,
            Outcome::Failed { error } => error.is_transient(),
            _ => false,
        };
        Self {
            tier,
            outcome,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            used: false,
            transient,
        }
    }

    /// Why the tier ended as it did, for a person (the outcome's sentence).
    pub fn reason(&self) -> String {
        self.outcome.to_string()
    }

    /// Whether the tier ran and had an answer that the resolution did not need.
    pub fn not_needed(&self) -> bool {
        !self.used && self.outcome.was_tried()
    }
}

/// Time and money a way of launching is expected to take, with the inputs behind them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Estimate {
    /// Time until the instance is usable, including any copy and provisioning.
    #[serde(with = "seconds", rename = "launch_time_secs")]
    #[schemars(with = "u64")]
    pub launch_time: Duration,
    /// The instance type's on-demand price, USD per hour, if known.
    pub hourly_price_usd: Option<f64>,
    /// Instance time spent before the instance is usable, priced: hourly price x setup time.
    pub setup_cost_usd: Option<f64>,
    /// A cross-region copy's transfer cost plus one month of its storage, USD.
    pub copy_cost_usd: Option<f64>,
}

/// A way to launch other than the one chosen: what `ami_fallback` keeps as its
/// alternative, and what a cross-region copy and a script are compared against.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Alternative {
    /// How it would launch.
    pub method: ResolutionMethod,
    /// The image (for a script: the base image).
    pub image: Image,
    /// On which instance type.
    pub instance_type: InstanceType,
    /// What it would take.
    pub estimate: Estimate,
    /// The copy it needs first, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_plan: Option<CopyPlan>,
}

/// The answer of a resolution: what to launch, how it was found, and what it will take.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Resolution {
    /// The template's name.
    pub template: String,
    /// The region to launch in.
    pub region: Region,
    /// The strategy applied.
    pub strategy: AmiStrategy,
    /// How the image was found.
    pub method: ResolutionMethod,
    /// The image to launch (for script provisioning: the base image the script runs on;
    /// for a cross-region result: the source image, see `copy_plan`).
    pub image: Image,
    /// Its architecture.
    pub architecture: Architecture,
    /// The instance type to launch.
    pub instance_type: InstanceType,
    /// Whether the launch runs the template's `user_data`.
    pub runs_user_data: bool,
    /// Every tier tried, in order.
    pub chain: Vec<ChainEntry>,
    /// Things a person should know before launching.
    pub warnings: Vec<Warning>,
    /// What it will take.
    pub estimate: Estimate,
    /// For a cross-region result: the copy to make first (with `amiref_lifecycle::Lifecycle::copy_to_region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_plan: Option<CopyPlan>,
    /// Another way to launch: the best image for `ami_fallback`, the other of copy and
    /// script when both were possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative: Option<Alternative>,
}

/// One way of launching in a preview's cost comparison.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CostOption {
    /// The way.
    pub method: ResolutionMethod,
    /// The image it launches.
    pub image: amiref_core::AmiId,
    /// On which instance type.
    pub instance_type: InstanceType,
    /// What it would take.
    pub estimate: Estimate,
    /// Whether the resolution chose it.
    pub chosen: bool,
}

/// The dry run: every tier's outcome even when an earlier one won, the resolution, and the
/// cost of each way of launching that is possible.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Preview {
    /// The template's name.
    pub template: String,
    /// The region.
    pub region: Region,
    /// The strategy applied.
    pub strategy: AmiStrategy,
    /// Every tier, in order, each with its own outcome; `used` marks those the resolution
    /// needed.
    pub tiers: Vec<ChainEntry>,
    /// The resolution, or why there is none.
    pub resolution: Option<Resolution>,
    /// Why nothing can be launched, when `resolution` is `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ResolveError>,
    /// Every way of launching found, cheapest setup first.
    pub comparison: Vec<CostOption>,
    /// The assumptions behind the estimates.
    pub estimate_inputs: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain, its warnings and the error have JSON Schemas (reports are checked
    /// against them), and the schema names every kind a value can have.
    #[test]
    fn reports_have_schemas() {
        let chain = serde_json::to_string(&schemars::schema_for!(ChainEntry)).unwrap();
        for kind in [
            "found",
            "skipped",
            "failed",
            "timed_out",
            "not_tried",
            "not_needed",
        ] {
            assert!(chain.contains(&format!("\"{kind}\"")), "{kind} in {chain}");
        }
        let warning = serde_json::to_string(&schemars::schema_for!(Warning)).unwrap();
        assert!(warning.contains("\"copy_first\""), "{warning}");
        let error = serde_json::to_string(&schemars::schema_for!(ResolveError)).unwrap();
        assert!(error.contains("\"no_image\""), "{error}");
    }
}
