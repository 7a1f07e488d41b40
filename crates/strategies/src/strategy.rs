//! The `Strategy` trait: one tier of the resolution, and what it answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesSettings, AllowedImagesState, AmiId, Architecture, CloudError, Image,
    ImageRegistry, Region, ResolutionMethod, ResolutionPorts,
};
use amiref_template::Template;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    ArchChoice, ChoiceNote, Find, FoundVia, Rejection, Skip, StrategyError, TrustPolicy, Warning,
};

/// A cross-region copy that would bring an image into the destination region.
///
/// Resolving never copies: this is the plan that `Resolver::execute` carries out. Its
/// `client_token` is derived from source region, image and destination only, so any number
/// of callers, on any number of hosts, produce one copy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
    /// Estimated time until the copy is available, whole seconds in JSON.
    #[serde(with = "seconds", rename = "estimated_duration_secs")]
    #[schemars(with = "u64")]
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

/// What a tier found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Found {
    /// The image to launch (for script provisioning: the base image the script runs on).
    pub image: Image,
    /// The architecture and instance type it launches on.
    pub choice: ArchChoice,
    /// How the tier came to it.
    pub via: FoundVia,
    /// For the cross-region tier: the copy to make first.
    pub copy_plan: Option<CopyPlan>,
    /// What the resolution should say beside the find (a retired signing key, an image the
    /// account's Allowed AMIs would block once enabled, a check that could not be made).
    pub warnings: Vec<Warning>,
}

/// What one tier answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Attempt {
    /// An image that passed every check.
    Found(Box<Found>),
    /// The tier does not apply or nothing it saw passed the checks; the reason says why.
    Skipped(Skip),
    /// The tier could not be carried out.
    Failed(StrategyError),
}

impl Attempt {
    /// A success.
    pub fn found(image: Image, choice: ArchChoice, via: FoundVia) -> Self {
        Self::Found(Box::new(Found::new(image, choice, via)))
    }
}

impl Found {
    /// A find with no copy plan and no warnings.
    pub fn new(image: Image, choice: ArchChoice, via: FoundVia) -> Self {
        Self {
            image,
            choice,
            via,
            copy_plan: None,
            warnings: Vec::new(),
        }
    }

    /// With these warnings.
    #[must_use]
    pub fn with_warnings(mut self, warnings: Vec<Warning>) -> Self {
        self.warnings = warnings;
        self
    }

    /// The find as a report records it.
    pub fn find(&self) -> Find {
        Find {
            image: self.image.id.clone(),
            name: self.image.name.clone(),
            region: self.image.region.clone(),
            choice: self.choice.clone(),
            via: self.via.clone(),
        }
    }
}

/// Every acceptable image a tier sees, best first: what the cross-region tier walks to find
/// the best one it can copy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ranking {
    /// At least one image passed every check; the best first.
    Found(Vec<Found>),
    /// None did, or the tier does not apply; the reason says why.
    Skipped(Skip),
    /// The tier could not be carried out.
    Failed(StrategyError),
}

impl From<Attempt> for Ranking {
    fn from(attempt: Attempt) -> Self {
        match attempt {
            Attempt::Found(f) => Self::Found(vec![*f]),
            Attempt::Skipped(why) => Self::Skipped(why),
            Attempt::Failed(e) => Self::Failed(e),
        }
    }
}

/// Images described ahead of time (one batched call per region), by id. An id absent from
/// the map was asked for and does not exist (or is not visible).
pub type Prefetched = HashMap<AmiId, Image>;

/// The architectures and instance types a template can launch on in one region, best first,
/// and what was left out on the way (a type the region does not sell, ...).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Choices {
    /// The launchable choices, best first.
    pub list: Vec<ArchChoice>,
    /// Why candidates were dropped, or what the region could not tell.
    pub notes: Vec<ChoiceNote>,
}

impl Choices {
    /// Choices with no notes.
    pub fn new(list: Vec<ArchChoice>) -> Self {
        Self {
            list,
            notes: Vec::new(),
        }
    }

    /// The choice for an image of `arch`, if the template can run it here.
    pub fn for_arch(&self, arch: Architecture) -> Option<&ArchChoice> {
        self.list.iter().find(|c| c.architecture == arch)
    }
}

/// What a resolution learns once and every tier shares: who the caller is, what the launch
/// region can run, and each region's Allowed AMIs setting.
///
/// The resolver asks for all of them at the start, together with the tiers' own calls, and
/// a tier awaits an answer only when a check needs it; so none of them costs a round trip
/// of its own. Implementations answer each question once (concurrent callers share it).
#[async_trait]
pub trait Facts: Send + Sync {
    /// The caller's account, for `self`; `None` when it cannot be learnt (then no image is
    /// trusted as the caller's own).
    async fn caller(&self) -> Option<AccountId>;

    /// The launchable choices in the launch region.
    async fn choices(&self) -> Arc<Choices>;

    /// The Allowed AMIs setting of `region`.
    async fn allowed_images(
        &self,
        region: &Region,
    ) -> Result<Arc<AllowedImagesSettings>, CloudError>;
}

/// Facts known in advance, for tests and for callers that resolved them elsewhere.
#[derive(Debug, Clone, Default)]
pub struct StaticFacts {
    caller: Option<AccountId>,
    choices: Arc<Choices>,
    allowed: HashMap<Region, Arc<AllowedImagesSettings>>,
}

impl StaticFacts {
    /// These choices, no known caller, no Allowed AMIs restriction.
    pub fn new(choices: Vec<ArchChoice>) -> Self {
        Self {
            caller: None,
            choices: Arc::new(Choices::new(choices)),
            allowed: HashMap::new(),
        }
    }

    /// With the caller's account.
    #[must_use]
    pub fn with_caller(mut self, caller: AccountId) -> Self {
        self.caller = Some(caller);
        self
    }

    /// With a region's Allowed AMIs setting.
    #[must_use]
    pub fn with_allowed_images(mut self, region: Region, settings: AllowedImagesSettings) -> Self {
        self.allowed.insert(region, Arc::new(settings));
        self
    }
}

#[async_trait]
impl Facts for StaticFacts {
    async fn caller(&self) -> Option<AccountId> {
        self.caller.clone()
    }

    async fn choices(&self) -> Arc<Choices> {
        self.choices.clone()
    }

    async fn allowed_images(
        &self,
        region: &Region,
    ) -> Result<Arc<AllowedImagesSettings>, CloudError> {
        Ok(self.allowed.get(region).cloned().unwrap_or_default())
    }
}

/// Everything a tier needs to look for an image.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Context<'a> {
    /// The validated template.
    pub template: &'a Template,
    /// The region to look in (for the cross-region tier's inner tiers: the source region).
    pub region: &'a Region,
    /// The region the instance launches in.
    pub launch_region: &'a Region,
    /// What the tiers read: images, products, the caller, parameters, instance types and
    /// account settings (a whole `Cloud` is one).
    pub cloud: &'a dyn ResolutionPorts,
    /// The community registry, if one is configured.
    pub registry: Option<&'a dyn ImageRegistry>,
    /// Whose images are accepted.
    pub trust: &'a TrustPolicy,
    /// The architectures the template allows, before the launch region says what it can
    /// run: what a search asks the cloud for.
    pub architectures: &'a [Architecture],
    /// The caller, the launch region's choices, Allowed AMIs.
    pub facts: &'a dyn Facts,
    /// Direct mappings described ahead of time for this region.
    pub prefetched: Option<&'a Prefetched>,
    /// The time deprecation is judged at.
    pub now: DateTime<Utc>,
}

/// An image that passed every check, with the choice it launches on.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The architecture and instance type.
    pub choice: ArchChoice,
    /// Warnings the find carries (audit-mode Allowed AMIs, a setting that could not be read,
    /// a deprecated image the template allows).
    pub warnings: Vec<Warning>,
}

impl<'a> Context<'a> {
    /// A context with no registry or prefetched images, launching in `region`.
    pub fn new(
        template: &'a Template,
        region: &'a Region,
        cloud: &'a dyn ResolutionPorts,
        trust: &'a TrustPolicy,
        architectures: &'a [Architecture],
        facts: &'a dyn Facts,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            template,
            region,
            launch_region: region,
            cloud,
            registry: None,
            trust,
            architectures,
            facts,
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

    /// With direct mappings described ahead of time.
    #[must_use]
    pub fn with_prefetched(mut self, prefetched: Option<&'a Prefetched>) -> Self {
        self.prefetched = prefetched;
        self
    }

    /// The same context looking in another region (nothing prefetched there); the launch
    /// region stays.
    #[must_use]
    pub fn in_region(mut self, region: &'a Region) -> Self {
        self.region = region;
        self.prefetched = None;
        self
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

    /// The checks every tier applies to what it found: the image is available, not
    /// deprecated (unless `allow_deprecated`, then with a warning), owned by an account the
    /// trust policy trusts, not blocked by the account's Allowed AMIs in this region, and of
    /// an architecture that an instance type the launch region offers runs. Returns the
    /// choice it launches on, or why not.
    pub async fn check(&self, image: &Image, allow_deprecated: bool) -> Result<Checked, Rejection> {
        self.check_with(image, allow_deprecated, false).await
    }

    /// [`check`](Self::check), where `vouched` means a signed registry entry may stand in
    /// for the trust policy (only where the policy lets registry publishers vouch).
    pub async fn check_with(
        &self,
        image: &Image,
        allow_deprecated: bool,
        vouched: bool,
    ) -> Result<Checked, Rejection> {
        if !image.is_available() {
            return Err(Rejection::NotAvailable {
                image: image.id.clone(),
                state: image.state,
            });
        }
        let mut warnings = Vec::new();
        if image.is_deprecated_at(self.now) {
            if !allow_deprecated {
                return Err(Rejection::Deprecated {
                    image: image.id.clone(),
                    since: image.deprecation_time,
                });
            }
            warnings.push(Warning::Deprecated {
                image: image.id.clone(),
                since: image.deprecation_time,
            });
        }
        let caller = self.facts.caller().await;
        let vouched = vouched && self.trust.registry_publishers_may_vouch;
        if !vouched && !self.trust.trusts(image, caller.as_ref()) {
            return Err(Rejection::Untrusted {
                image: image.id.clone(),
                owner: image.owner.clone(),
                policy: self.trust.summary(),
            });
        }
        if let Some(why) = self.allowed(image, caller.as_ref(), &mut warnings).await {
            return Err(why);
        }
        let choices = self.facts.choices().await;
        match choices.for_arch(image.architecture) {
            Some(choice) => Ok(Checked {
                choice: choice.clone(),
                warnings,
            }),
            None => Err(Rejection::Unlaunchable {
                image: image.id.clone(),
                architecture: image.architecture,
                region: self.launch_region.clone(),
                offered: choices.list.clone(),
                notes: choices.notes.clone(),
            }),
        }
    }

    /// Why an image this region did not show may be missing: with Allowed AMIs enabled,
    /// EC2 hides the images the setting does not allow, so the missing image may be one
    /// of them.
    pub async fn allowed_images_enabled(&self) -> bool {
        self.facts
            .allowed_images(self.region)
            .await
            .is_ok_and(|s| s.restricts())
    }

    /// The refusal of an image this region does not show.
    pub async fn not_visible(&self, image: &AmiId) -> Rejection {
        Rejection::NotVisible {
            image: image.clone(),
            region: self.region.clone(),
            allowed_images_enabled: self.allowed_images_enabled().await,
        }
    }

    /// `Some(refusal)` when the account's Allowed AMIs setting in this region blocks
    /// `image`; in audit mode, a warning instead.
    pub async fn allowed(
        &self,
        image: &Image,
        caller: Option<&AccountId>,
        warnings: &mut Vec<Warning>,
    ) -> Option<Rejection> {
        match self.facts.allowed_images(self.region).await {
            Ok(settings) => {
                allowed_images_verdict(&settings, image, caller, self.now, self.region, warnings)
            }
            Err(e) => {
                let note = unreadable_allowed_images(self.region, &e);
                if !warnings.contains(&note) {
                    warnings.push(note);
                }
                None
            }
        }
    }
}

/// Applies a region's Allowed AMIs setting to one image: `Some(refusal)` when enabled and
/// the image does not satisfy it; in audit mode a warning when it would not (EC2's own
/// `ImageAllowed` answer counts where the cloud gave one).
pub fn allowed_images_verdict(
    settings: &AllowedImagesSettings,
    image: &Image,
    caller: Option<&AccountId>,
    now: DateTime<Utc>,
    region: &Region,
    warnings: &mut Vec<Warning>,
) -> Option<Rejection> {
    match (
        settings.state,
        satisfies_allowed_images(settings, image, caller, now),
    ) {
        (_, true) | (AllowedImagesState::Disabled, _) => None,
        (AllowedImagesState::AuditMode, false) => {
            warnings.push(Warning::AllowedImagesAudit {
                image: image.id.clone(),
                region: region.clone(),
            });
            None
        }
        _ => Some(Rejection::BlockedByAllowedImages {
            image: image.id.clone(),
            region: region.clone(),
        }),
    }
}

/// The warning for a region whose Allowed AMIs setting could not be read: the resolution
/// goes on, since EC2 still enforces the setting at launch.
pub(crate) fn unreadable_allowed_images(region: &Region, error: &CloudError) -> Warning {
    Warning::AllowedImagesUnreadable {
        region: region.clone(),
        error: error.into(),
    }
}

/// Whether `image` satisfies the Allowed AMIs criteria: EC2's own `ImageAllowed` answer
/// where it gave one, else the criteria as EC2 applies them; the caller's own images always
/// do.
pub fn satisfies_allowed_images(
    settings: &AllowedImagesSettings,
    image: &Image,
    caller: Option<&AccountId>,
    now: DateTime<Utc>,
) -> bool {
    caller == Some(&image.owner)
        || image
            .image_allowed
            .unwrap_or_else(|| settings.allows(image, caller, now))
}

/// One tier of the resolution: finds an image, skips with a reason, or fails with an error.
///
/// A tier has no side effects: it only reads the cloud. Tiers are composed by the resolver
/// (crate `amiref-resolver`), which owns the order, the deadline and the fallback.
#[async_trait]
pub trait Strategy: Send + Sync {
    /// Which tier this is: a built-in [`ResolutionMethod`], or for a caller's own tier
    /// [`ResolutionMethod::Custom`] with its name. The chain records the tier's answers
    /// under it.
    fn tier(&self) -> ResolutionMethod;

    /// Looks for an image for `cx.template` in `cx.region`.
    async fn attempt(&self, cx: &Context<'_>) -> Attempt;

    /// Whether the template asks anything of this tier in `cx.region` (a mapping for the
    /// region, a search, ...): when not, its skip says nothing about the region. Default:
    /// always.
    fn applies(&self, cx: &Context<'_>) -> bool {
        let _ = cx;
        true
    }

    /// Every acceptable image, best first. The default is [`attempt`](Self::attempt)'s one
    /// find; tiers that can see several (a search, a registry) return them all.
    async fn ranked(&self, cx: &Context<'_>) -> Ranking {
        self.attempt(cx).await.into()
    }
}
