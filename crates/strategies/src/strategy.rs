//! The `Strategy` trait: one tier of the resolution, and what it answers.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, Architecture, Cloud, CloudError, Image, ImageRegistry, Region,
    ResolutionMethod,
};
use amiref_template::Template;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ArchChoice, TrustPolicy};

/// The tiers of a resolution, in the order they are tried.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tier {
    /// `ami_mappings[region]`.
    DirectMapping,
    /// `ami_search` over trusted owners.
    DynamicSearch,
    /// The community or institutional registry.
    CommunityRegistry,
    /// `marketplace_search`.
    Marketplace,
    /// The image tiers in the fallback regions, to be copied here.
    CrossRegion,
    /// The base image plus the template's `user_data`.
    ScriptProvisioning,
}

impl Tier {
    /// The four tiers that look for an image in the region itself, in order.
    pub const IN_REGION: [Tier; 4] = [
        Tier::DirectMapping,
        Tier::DynamicSearch,
        Tier::CommunityRegistry,
        Tier::Marketplace,
    ];

    /// The resolution method a success of this tier gives.
    pub fn method(self) -> ResolutionMethod {
        match self {
            Self::DirectMapping => ResolutionMethod::DirectMapping,
            Self::DynamicSearch => ResolutionMethod::DynamicSearch,
            Self::CommunityRegistry => ResolutionMethod::CommunityRegistry,
            Self::Marketplace => ResolutionMethod::Marketplace,
            Self::CrossRegion => ResolutionMethod::CrossRegion,
            Self::ScriptProvisioning => ResolutionMethod::FallbackScript,
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectMapping => "direct_mapping",
            Self::DynamicSearch => "dynamic_search",
            Self::CommunityRegistry => "community_registry",
            Self::Marketplace => "marketplace",
            Self::CrossRegion => "cross_region",
            Self::ScriptProvisioning => "script_provisioning",
        }
    }

    /// The name people read: `Direct mapping`.
    pub fn title(self) -> &'static str {
        match self {
            Self::DirectMapping => "Direct mapping",
            Self::DynamicSearch => "Dynamic search",
            Self::CommunityRegistry => "Community registry",
            Self::Marketplace => "Marketplace",
            Self::CrossRegion => "Cross-region copy",
            Self::ScriptProvisioning => "Script provisioning",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tier that could not be carried out: the cloud or the registry failed, or the template
/// asks for something the trust policy refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// A call to the cloud failed.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// The registry could not answer.
    #[error(transparent)]
    Registry(#[from] amiref_core::RegistryError),
    /// The trust policy refuses the search.
    #[error(transparent)]
    Trust(#[from] crate::TrustError),
}

/// A cross-region copy that would bring an image into the destination region.
///
/// Resolving never copies: this is the plan that `Resolver::execute` carries out. Its
/// `client_token` is derived from source region, image and destination only, so any number
/// of callers, on any number of hosts, produce one copy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CopyPlan {
    /// Where the image is.
    pub source_region: Region,
    /// The image to copy.
    pub source_image: AmiId,
    /// The source image's name; the copy keeps it.
    pub source_name: String,
    /// Where it is needed.
    pub destination_region: Region,
    /// Data to move: the image's EBS volumes, GiB.
    pub size_gib: u64,
    /// Estimated time until the copy is available.
    #[serde(with = "seconds")]
    pub estimated_duration: Duration,
    /// Estimated transfer cost, USD.
    pub transfer_cost_usd: f64,
    /// Estimated monthly storage cost of the copy's snapshots, USD.
    pub storage_cost_usd_per_month: f64,
    /// The idempotency token of the copy.
    pub client_token: String,
}

impl CopyPlan {
    /// Transfer plus one month of storage, USD.
    pub fn total_cost_usd(&self) -> f64 {
        self.transfer_cost_usd + self.storage_cost_usd_per_month
    }
}

/// Serialises a duration as whole seconds (JSON has no durations).
pub mod seconds {
    use std::time::Duration;

    /// Writes seconds.
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    /// Reads seconds.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = <u64 as serde::Deserialize>::deserialize(d)?;
        Ok(Duration::from_secs(secs))
    }
}

/// The deterministic client token of a copy: the first 64 hex digits of
/// SHA-256(`source_region`/`image`/`destination`), within EC2's 64-character limit.
pub fn copy_client_token(source_region: &Region, image: &AmiId, destination: &Region) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{source_region}/{image}/{destination}"));
    hex::encode(digest)
}

/// What a tier found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Found {
    /// The image to launch (for script provisioning: the base image the script runs on).
    pub image: Image,
    /// The architecture and instance type it launches on.
    pub choice: ArchChoice,
    /// Why this image, for a person.
    pub reason: String,
    /// For the cross-region tier: the copy to make first.
    pub copy_plan: Option<CopyPlan>,
}

/// What one tier answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Attempt {
    /// An image that passed every check.
    Found(Box<Found>),
    /// The tier does not apply or nothing it saw passed the checks; the reason says why.
    Skipped(String),
    /// The tier could not be carried out.
    Failed(StrategyError),
}

impl Attempt {
    /// A skip with this reason.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::Skipped(reason.into())
    }

    /// A success.
    pub fn found(image: Image, choice: ArchChoice, reason: impl Into<String>) -> Self {
        Self::Found(Box::new(Found {
            image,
            choice,
            reason: reason.into(),
            copy_plan: None,
        }))
    }
}

/// Images described ahead of time (one batched call per region), by id. An id absent from
/// the map was asked for and does not exist (or is not visible).
pub type Prefetched = HashMap<AmiId, Image>;

/// Everything a tier needs to look for an image.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Context<'a> {
    /// The validated template.
    pub template: &'a Template,
    /// The region to launch in (for the cross-region tier's inner tiers: the source region).
    pub region: &'a Region,
    /// The cloud.
    pub cloud: &'a dyn Cloud,
    /// The community registry, if one is configured.
    pub registry: Option<&'a dyn ImageRegistry>,
    /// Whose images are accepted.
    pub trust: &'a TrustPolicy,
    /// The architectures the template may launch on, best first, each with its instance type.
    pub choices: &'a [ArchChoice],
    /// The caller's account, for `self` in the trust policy.
    pub caller: Option<&'a AccountId>,
    /// Direct mappings described ahead of time for this region.
    pub prefetched: Option<&'a Prefetched>,
    /// The time deprecation is judged at.
    pub now: DateTime<Utc>,
}

impl<'a> Context<'a> {
    /// A context with no registry, caller or prefetched images.
    pub fn new(
        template: &'a Template,
        region: &'a Region,
        cloud: &'a dyn Cloud,
        trust: &'a TrustPolicy,
        choices: &'a [ArchChoice],
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            template,
            region,
            cloud,
            registry: None,
            trust,
            choices,
            caller: None,
            prefetched: None,
            now,
        }
    }

    /// With a community registry.
    #[must_use]
    pub fn with_registry(mut self, registry: Option<&'a dyn ImageRegistry>) -> Self {
        self.registry = registry;
        self
    }

    /// With the caller's account.
    #[must_use]
    pub fn with_caller(mut self, caller: Option<&'a AccountId>) -> Self {
        self.caller = caller;
        self
    }

    /// With direct mappings described ahead of time.
    #[must_use]
    pub fn with_prefetched(mut self, prefetched: Option<&'a Prefetched>) -> Self {
        self.prefetched = prefetched;
        self
    }

    /// The same context for another region (nothing prefetched there).
    #[must_use]
    pub fn in_region(mut self, region: &'a Region) -> Self {
        self.region = region;
        self.prefetched = None;
        self
    }

    /// The choice (and so the instance type) for an image of `arch`, if the template can run it.
    pub fn choice_for(&self, arch: Architecture) -> Option<&'a ArchChoice> {
        self.choices.iter().find(|c| c.architecture == arch)
    }

    /// Describes one image, from the prefetched batch when there is one.
    pub async fn describe_one(&self, id: &AmiId) -> Result<Option<Image>, CloudError> {
        if let Some(pre) = self.prefetched {
            return Ok(pre.get(id).cloned());
        }
        let images = self
            .cloud
            .describe_images(self.region, std::slice::from_ref(id))
            .await?;
        Ok(images.into_iter().find(|i| &i.id == id))
    }

    /// Checks every tier applies to what it found: the image is available, not deprecated
    /// (unless `allow_deprecated`), and its architecture runs on an instance type the
    /// template allows. Returns the choice it launches on, or why not.
    pub fn check_launchable(
        &self,
        image: &Image,
        allow_deprecated: bool,
    ) -> Result<&'a ArchChoice, String> {
        if !image.is_available() {
            return Err(format!("{} is {}, not available", image.id, image.state));
        }
        if !allow_deprecated && image.is_deprecated_at(self.now) {
            let when = image
                .deprecation_time
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            return Err(format!("{} is deprecated (since {when})", image.id));
        }
        self.choice_for(image.architecture).ok_or_else(|| {
            let types: Vec<String> = self
                .choices
                .iter()
                .map(|c| format!("{} ({})", c.instance_type, c.architecture))
                .collect();
            if types.is_empty() {
                format!(
                    "{} is {}, and the template names no instance type that runs it",
                    image.id, image.architecture
                )
            } else {
                format!(
                    "{} is {}, which cannot run on the template's instance types: {}",
                    image.id,
                    image.architecture,
                    types.join(", ")
                )
            }
        })
    }

    /// Whether the trust policy accepts the image's real owner.
    pub fn trusts(&self, image: &Image) -> bool {
        self.trust.trusts(image, self.caller)
    }
}

/// One tier of the resolution: finds an image, skips with a reason, or fails with an error.
///
/// A tier has no side effects: it only reads the cloud. Tiers are composed by the resolver
/// (crate `amiref`), which owns the order, the deadline and the fallback.
#[async_trait]
pub trait Strategy: Send + Sync {
    /// Which tier this is.
    fn tier(&self) -> Tier;

    /// Looks for an image for `cx.template` in `cx.region`.
    async fn attempt(&self, cx: &Context<'_>) -> Attempt;
}

/// The instance type of a choice, for messages.
pub(crate) fn describe_choice(choice: &ArchChoice) -> String {
    format!("{} on {}", choice.architecture, choice.instance_type)
}
