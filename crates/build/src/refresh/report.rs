//! What a refresh found and did, as types reports and JSON carry.

use amiref_core::{AmiId, Architecture, Region};
use amiref_lifecycle::{DeprecateReport, RetireReport};
use chrono::{DateTime, Utc};

use crate::{BuildId, BuiltImage};

/// The image a template's builds last made for one architecture, in the home region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CurrentImage {
    /// The image.
    pub image: AmiId,
    /// The build that made it (`amiref:build-id`).
    pub build: Option<BuildId>,
    /// The version it was built as (`amiref:template-version`).
    pub version: Option<String>,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// How far its build got (`amiref:build-stage`): `tested` or `distributed`.
    pub stage: String,
    /// The base image it was built from (`amiref:base-image`).
    pub base_image: Option<AmiId>,
    /// The build fingerprint it was built with (`amiref:build-fingerprint`).
    pub build_fingerprint: Option<String>,
}

/// Why an image is stale.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StaleReason {
    /// The template's base image resolves now to another image than the one the image was
    /// built from: usually a newer release with security patches.
    BaseImage {
        /// The base the image was built from (`None`: the image does not record one).
        built_from: Option<AmiId>,
        /// What the base resolves to now.
        resolves_to: AmiId,
        /// When that image was made.
        resolves_to_created: DateTime<Utc>,
    },
    /// The template's build fingerprint (user data, base image choice, test, instance
    /// types) differs from the one the image was built with.
    Fingerprint {
        /// The image's `amiref:build-fingerprint` (`None`: not recorded).
        built_with: Option<String>,
        /// The template's now.
        template: String,
    },
    /// The image is older than the template's maximum age (`build.max_age`, 90 days by
    /// default).
    TooOld {
        /// Its age, in whole days.
        age_days: u64,
        /// The maximum, in whole days.
        max_age_days: u64,
    },
}

impl std::fmt::Display for StaleReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BaseImage {
                built_from,
                resolves_to,
                resolves_to_created,
            } => {
                let from = built_from
                    .as_ref()
                    .map_or_else(|| "an unrecorded base".to_owned(), AmiId::to_string);
                write!(
                    f,
                    "the base image resolves to {resolves_to} (made {}), not {from}",
                    resolves_to_created.format("%Y-%m-%d")
                )
            }
            Self::Fingerprint { built_with, .. } => match built_with {
                Some(_) => write!(
                    f,
                    "the template changed (its build fingerprint differs from the image's)"
                ),
                None => write!(f, "the image records no build fingerprint"),
            },
            Self::TooOld {
                age_days,
                max_age_days,
            } => write!(
                f,
                "the image is {age_days} days old, older than the maximum of {max_age_days}"
            ),
        }
    }
}

/// What a refresh concluded about one template and architecture.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The current image is up to date: nothing to do.
    Fresh,
    /// The current image is stale, for these reasons.
    Stale {
        /// Every reason found.
        reasons: Vec<StaleReason>,
    },
    /// The template has no built image yet: not stale, missing. Built only when the spec
    /// says so ([`RefreshSpec::build_missing`](crate::refresh::RefreshSpec::build_missing)).
    Missing,
    /// Staleness could not be decided (the base image did not resolve): nothing is done.
    Unchecked {
        /// Why.
        error: String,
    },
}

/// What a refresh does (or, in a dry run, would do) about one template and architecture.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Nothing.
    Keep,
    /// Build the template as `version`, promote it, and deprecate `previous` after the
    /// grace period (none when the template had no image).
    Build {
        /// The version the new image is built as: the template's.
        version: Option<String>,
        /// The build the new one replaces with the same inputs (a new base, or age), so
        /// that the new build gets an id of its own; `None` when the inputs changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<BuildId>,
        /// The image it replaces.
        previous: Option<AmiId>,
        /// When the previous image's deprecation takes effect.
        deprecate_at: Option<DateTime<Utc>>,
    },
}

/// One template and architecture, checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TemplateCheck {
    /// The template.
    pub template: String,
    /// The architecture (`None`: the template has no image; the build takes the one the
    /// resolver chooses).
    pub architecture: Option<Architecture>,
    /// The current image, when there is one.
    pub current: Option<CurrentImage>,
    /// What was found.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What is done about it.
    pub plan: Action,
}

impl TemplateCheck {
    /// Whether this check leads to a build.
    pub fn builds(&self) -> bool {
        matches!(self.plan, Action::Build { .. })
    }
}

/// What a refresh would do: every template checked, and what is rebuilt and why. A dry run
/// returns this having made no change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RefreshPlan {
    /// When the checks ran (the lifecycle's clock).
    pub checked_at: DateTime<Utc>,
    /// Where images are built and checked: the first region.
    pub home: Region,
    /// Every region the images are distributed to, home first.
    pub regions: Vec<Region>,
    /// One per template and architecture, in the order of the spec's templates.
    pub checks: Vec<TemplateCheck>,
    /// The grace period before a replaced image is deprecated, in whole seconds (JSON:
    /// `grace_secs`).
    #[serde(rename = "grace_secs")]
    pub grace_seconds: u64,
    /// The retention policy: images kept per region and architecture (JSON:
    /// `keep_count`).
    #[serde(rename = "keep_count")]
    pub keep: usize,
    /// Whether this is a dry run.
    pub dry_run: bool,
}

impl RefreshPlan {
    /// The checks that lead to a build.
    pub fn builds(&self) -> impl Iterator<Item = &TemplateCheck> {
        self.checks.iter().filter(|c| c.builds())
    }

    /// The checks whose image is stale.
    pub fn stale(&self) -> impl Iterator<Item = &TemplateCheck> {
        self.checks
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Stale { .. }))
    }
}

/// One image a refresh built.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Rebuilt {
    /// The template.
    pub template: String,
    /// The image it replaces (`None`: the template had none).
    pub previous: Option<AmiId>,
    /// The build, tested, distributed and promoted.
    pub built: BuiltImage,
}

/// A build a refresh attempted that failed; the current image stays in place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RefreshFailure {
    /// The template.
    pub template: String,
    /// The architecture.
    pub architecture: Option<Architecture>,
    /// What went wrong (the build cleaned up after itself).
    pub error: String,
}

/// What a refresh did: the plan it followed, the images built, the deprecations, and the
/// retention policy applied.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RefreshReport {
    /// The plan: every template checked, and why each build ran.
    pub plan: RefreshPlan,
    /// The images built and promoted.
    pub rebuilt: Vec<Rebuilt>,
    /// The builds that failed.
    pub failed: Vec<RefreshFailure>,
    /// The replaced images given a deprecation time (now + grace), every region's copy.
    pub deprecated: Vec<DeprecateReport>,
    /// Deprecations that failed, as text.
    pub deprecate_errors: Vec<String>,
    /// The retention policy, applied per template (executed).
    pub retention: Vec<RetireReport>,
    /// Retention runs that failed, as text.
    pub retention_errors: Vec<String>,
}

impl RefreshReport {
    /// Whether everything the plan called for was done.
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
            && self.deprecate_errors.is_empty()
            && self.retention_errors.is_empty()
    }
}

/// What [`Refresher::run`](crate::refresh::Refresher::run) did: planned (a dry run) or
/// refreshed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefreshOutcome {
    /// A dry run: what would be rebuilt and why. Nothing changed.
    Planned(RefreshPlan),
    /// A refresh.
    Refreshed(RefreshReport),
}
