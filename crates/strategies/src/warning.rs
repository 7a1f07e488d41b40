//! What a resolution says beside its answer: things a person should know before launching.

use std::fmt;

use amiref_core::{AmiId, Region, ResolutionMethod};
use chrono::{DateTime, Utc};

use crate::{ChoiceNote, CloudFailure, CopyPlan, Skip, TierFailure};

/// Something a person should know before launching what a resolution chose. Each variant
/// holds the facts; `Display` is the sentence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// No image in the launch region: the plan copies one from another region first.
    CopyFirst {
        /// The copy.
        plan: CopyPlan,
    },
    /// No pre-built image: the script provisions a base image.
    ScriptProvisioning {
        /// The launch region.
        region: Region,
        /// The template.
        template: String,
        /// Expected provisioning time, whole minutes rounded up (JSON: `provisioning_time_minutes`).
        #[serde(rename = "provisioning_time_minutes")]
        minutes: u64,
    },
    /// `ami_fallback` asked for the script, which is not possible: the image is used.
    ScriptNotPossible {
        /// Why the script cannot run.
        because: Skip,
    },
    /// A tier failed, but the resolution found a way anyway.
    TierFailed {
        /// The tier.
        tier: ResolutionMethod,
        /// Why it failed.
        error: TierFailure,
    },
    /// A tier was cut off by `fallback_timeout`.
    TierTimedOut {
        /// The tier.
        tier: ResolutionMethod,
        /// How long it had run, milliseconds.
        elapsed_ms: u64,
    },
    /// The account's Allowed AMIs, in audit mode, would block the image once enabled.
    AllowedImagesAudit {
        /// The image.
        image: AmiId,
        /// The region.
        region: Region,
    },
    /// The account's Allowed AMIs setting could not be read; EC2 still enforces it.
    AllowedImagesUnreadable {
        /// The region.
        region: Region,
        /// The failed call.
        error: CloudFailure,
    },
    /// A registry entry is signed by a retired key.
    RetiredSigner {
        /// The entry's template.
        template: String,
        /// The entry's version.
        version: String,
        /// The retired key.
        key: String,
    },
    /// The image is deprecated; the template's `include_deprecated` lets it be used.
    Deprecated {
        /// The image.
        image: AmiId,
        /// Since when.
        since: Option<DateTime<Utc>>,
    },
    /// What the launch region could not tell about instance types.
    InstanceTypes {
        /// What.
        note: ChoiceNote,
    },
    /// A caller's own tier says so.
    Other {
        /// The warning, for a person.
        detail: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CopyFirst { plan } => write!(
                f,
                "No image in {}: copy {} from {} first ({} GiB, ~{} min, ~${:.2} transfer + ${:.2}/month storage)",
                plan.destination_region,
                plan.source_image,
                plan.source_region,
                plan.size_gib,
                plan.estimated_duration.as_secs().div_ceil(60),
                plan.transfer_cost_usd,
                plan.storage_cost_usd_per_month
            ),
            Self::ScriptProvisioning {
                region,
                template,
                minutes,
            } => write!(
                f,
                "No pre-built AMI available in {region} for {template}, using script provisioning (~{minutes} min)"
            ),
            Self::ScriptNotPossible { because } => write!(
                f,
                "ami_fallback: script provisioning is not possible ({because}); using the image"
            ),
            Self::TierFailed { tier, error } => write!(f, "{} failed: {error}", tier.title()),
            Self::TierTimedOut { tier, elapsed_ms } => write!(
                f,
                "{} was cut off by fallback_timeout after {elapsed_ms} ms",
                tier.title()
            ),
            Self::AllowedImagesAudit { image, region } => write!(
                f,
                "{image} would be blocked by the account's Allowed AMIs in {region} once enabled (audit mode)"
            ),
            Self::AllowedImagesUnreadable { region, error } => write!(
                f,
                "the account's Allowed AMIs setting in {region} could not be read ({error}); EC2 still enforces it at launch"
            ),
            Self::RetiredSigner {
                template,
                version,
                key,
            } => write!(
                f,
                "registry entry {template} {version} is signed by retired key {key}: it still verifies, but the key signs nothing new; ask the publisher to re-sign"
            ),
            Self::Deprecated { image, since } => write!(
                f,
                "{image} is deprecated (since {}); used because ami_search.include_deprecated allows it",
                since
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_else(|| "an unknown date".into())
            ),
            Self::InstanceTypes { note } => note.fmt(f),
            Self::Other { detail } => f.write_str(detail),
        }
    }
}
