//! Distributing a tested image: copies, shares, SSM parameters and a signed registry entry.
//!
//! [`distribute`] takes the image a build tested in its home region and:
//!
//! 1. copies it to the spec's regions, concurrently, through the lifecycle's one copy engine
//!    and its copy limits ([`Lifecycle::copy_image`]): each copy carries the image's tags (the
//!    build id, the lineage, the build fingerprint, the measured times) and its provenance,
//!    and is requested with a deterministic client token, so a re-run finds the copies an
//!    earlier run made instead of making more;
//! 2. shares every region's image with the spec's launch permissions ([`Lifecycle::share`]);
//! 3. publishes SSM parameters in every region with an image
//!    ([`Lifecycle::publish_parameters`]): `/amiref/<template>/<version>/<arch>`, and
//!    `.../latest/<arch>` when promoting;
//! 4. writes a signed registry entry for the template version listing every region's image,
//!    whose `verification` holds what the build measured ([`BuildEntry`]);
//! 5. once all of that is done everywhere, tags every image `amiref:build-stage=distributed`.
//!
//! # Failures and resumption
//!
//! Everything that can be checked before acting is checked first (the version, the parameter
//! names, the signing key, the registry file, the source image), so a bad spec changes
//! nothing. After that, one region's failure (its copy, share or parameters) is reported in
//! [`Distributed`] and does not stop the other regions; the registry entry lists the regions
//! that have an image. A distribution with any failure is not [`Distributed::complete`], the
//! image keeps `amiref:build-stage=tested`, and a re-run (on any host) completes what is
//! missing: every step looks before it acts, so what was done is found, not done again. A
//! complete re-run makes no change at all. Parameters are per region, so when promoting,
//! `latest` moves in each region that has its image; a region whose copy failed keeps its
//! earlier `latest` until the re-run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use amiref_core::{AmiId, Cloud, CloudError, ImageCatalog, ImageStore, LaunchPermission, Region};
use amiref_layers::{RetryPolicy, Retrying};
use amiref_lifecycle::{
    CopyReport, CopySpec, DEFAULT_PARAMETER_PREFIX, Encryption, ImageParameterNames, Lifecycle,
    LifecycleError, ParameterReport, PublishParametersSpec, RegionCopyOutcome, ShareReport,
    ShareSpec,
};
use amiref_registry::{
    BuildEntry, PublisherKey, ScanStatus, ShareError, Verification, WrittenEntry,
};
use futures::future::join_all;

use crate::tags::{STAGE_DISTRIBUTED, TAG_BUILD_STAGE};
use crate::{BuildId, TestedImage};

/// Where and how to distribute a tested image.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct DistributeSpec {
    /// The regions to copy the image to; its home region is always included.
    pub regions: Vec<Region>,
    /// The launch permissions to grant on the image in every region (none: not shared).
    pub share_with: Vec<LaunchPermission>,
    /// Encryption of the copies.
    pub encryption: Encryption,
    /// SSM parameter publishing; `None`: no parameters.
    pub parameters: Option<ParameterPublishing>,
    /// The registry entry; `None`: no entry.
    pub registry: Option<RegistryTarget>,
    /// Say what would happen: read, plan, change nothing.
    pub dry_run: bool,
}

impl DistributeSpec {
    /// Copy to `regions`; no sharing, no parameters, no registry entry.
    pub fn new(regions: Vec<Region>) -> Self {
        Self {
            regions,
            share_with: Vec::new(),
            encryption: Encryption::AsSource,
            parameters: None,
            registry: None,
            dry_run: false,
        }
    }

    /// The same spec, sharing with `permissions`.
    #[must_use]
    pub fn share_with(mut self, permissions: Vec<LaunchPermission>) -> Self {
        self.share_with = permissions;
        self
    }

    /// The same spec, publishing SSM parameters (and promoting `latest` when `promote`).
    #[must_use]
    pub fn publish_parameters(mut self, promote: bool) -> Self {
        self.parameters = Some(ParameterPublishing {
            promote,
            prefix: DEFAULT_PARAMETER_PREFIX.to_owned(),
        });
        self
    }

    /// The same spec, writing a signed entry to a registry file.
    #[must_use]
    pub fn registry(mut self, target: RegistryTarget) -> Self {
        self.registry = Some(target);
        self
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// How to publish SSM parameters.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ParameterPublishing {
    /// Also point `latest` at this build (a refresh promotes what it rebuilt).
    pub promote: bool,
    /// The path published under ([`DEFAULT_PARAMETER_PREFIX`] by default).
    pub prefix: String,
}

/// The registry file that receives the build's entry, and who signs it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RegistryTarget {
    /// The registry file (created if missing).
    pub file: PathBuf,
    /// The publisher's secret key file.
    pub key_file: PathBuf,
    /// Who built it; the key's publisher when `None`.
    pub creator: Option<String>,
    /// What is in the image; an earlier entry's is kept when `None`.
    pub description: Option<String>,
}

impl RegistryTarget {
    /// Write to `file`, signed with the key in `key_file`.
    pub fn new(file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        Self {
            file: file.into(),
            key_file: key_file.into(),
            creator: None,
            description: None,
        }
    }
}

/// How sharing went in one region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShareOutcome {
    /// Shared (or, in a dry run, planned); the report says what changed.
    Shared {
        /// The lifecycle's report.
        report: ShareReport,
    },
    /// Not shared.
    Failed {
        /// Why.
        error: String,
    },
}

/// One region's share.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegionShare {
    /// The region.
    pub region: Region,
    /// How it went.
    #[serde(flatten)]
    pub outcome: ShareOutcome,
}

/// How the registry entry went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistryOutcome {
    /// Written (or already there: see the entry's `change`).
    Written {
        /// The entry.
        entry: Box<WrittenEntry>,
    },
    /// A dry run: the entry that would be written.
    Planned {
        /// The entry.
        entry: Box<WrittenEntry>,
    },
    /// Not written.
    Failed {
        /// Why.
        error: String,
    },
}

/// Where the distribution as a whole stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "stage", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DistributionStage {
    /// Done everywhere; every image is tagged `amiref:build-stage=distributed`.
    Distributed,
    /// Something failed (see the report): the image stays `tested`, and a re-run completes
    /// what is missing.
    Incomplete,
    /// Done everywhere, but tagging some images `distributed` failed: a re-run tags them.
    TagFailed {
        /// Per region, the tagging error.
        errors: BTreeMap<Region, String>,
    },
    /// A dry run.
    Planned,
}

/// What [`distribute`] did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Distributed {
    /// The build.
    pub build: BuildId,
    /// The home region.
    pub home: Region,
    /// The tested image in the home region.
    pub image: AmiId,
    /// Every region with an image now, home included.
    pub images: BTreeMap<Region, AmiId>,
    /// Regions whose copy a dry run plans: sharing, parameters and the entry follow there
    /// once the copy exists.
    pub pending: Vec<Region>,
    /// The copies, region by region.
    pub copies: CopyReport,
    /// The shares, region by region (empty when not sharing).
    pub shares: Vec<RegionShare>,
    /// The SSM parameters (`None` when not publishing).
    pub parameters: Option<ParameterReport>,
    /// The registry entry (`None` when not writing one).
    pub registry: Option<RegistryOutcome>,
    /// Where the distribution stands.
    pub stage: DistributionStage,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Distributed {
    /// Whether everything was done in every region.
    pub fn complete(&self) -> bool {
        self.stage == DistributionStage::Distributed
    }

    /// Whether any step failed anywhere.
    pub fn has_failures(&self) -> bool {
        self.copies.has_failures()
            || self
                .shares
                .iter()
                .any(|s| matches!(s.outcome, ShareOutcome::Failed { .. }))
            || self
                .parameters
                .as_ref()
                .is_some_and(ParameterReport::has_failures)
            || matches!(self.registry, Some(RegistryOutcome::Failed { .. }))
    }
}

/// Why a distribution did not run. Returned before anything changed, except
/// [`DistributeError::Lifecycle`] from the audit log (the operation's outcome is in its
/// message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistributeError {
    /// The spec asks for something the image cannot have.
    #[error("invalid {field}: {found:?}: expected {expected}")]
    InvalidSpec {
        /// The field at fault.
        field: &'static str,
        /// What was given.
        found: String,
        /// What would do.
        expected: String,
    },
    /// A lifecycle operation failed as a whole: a bad parameter name, the caller's
    /// identity, the source image (missing, not available), or the audit log.
    #[error(transparent)]
    Lifecycle(Box<LifecycleError>),
    /// Describing the source image failed.
    #[error("describing {image} in {region}: {source}")]
    Describe {
        /// The region.
        region: Region,
        /// The image.
        image: AmiId,
        /// The cloud's error.
        #[source]
        source: Box<CloudError>,
    },
    /// The signing key could not be read.
    #[error("the registry signing key: {0}")]
    Key(#[source] Box<amiref_registry::LoadError>),
    /// The registry file cannot take the entry (unreadable, invalid, the version owned by
    /// another account or listed for another architecture, or an entry readers would refuse).
    #[error("the registry entry: {0}")]
    Registry(#[source] Box<ShareError>),
}

impl From<LifecycleError> for DistributeError {
    fn from(e: LifecycleError) -> Self {
        Self::Lifecycle(Box::new(e))
    }
}

/// What is checked before anything changes.
struct Checked {
    version: Option<String>,
    key: Option<PublisherKey>,
    created_at: chrono::DateTime<chrono::Utc>,
    owner: amiref_core::AccountId,
}

/// Distributes `image` as `spec` says: copies, shares, SSM parameters, a signed registry
/// entry, then the `distributed` stage tag (see the [module](self) for the order, the
/// failure contract and resumption).
///
/// `cloud` is the cloud `lifecycle` runs on; it is asked to describe the tested image (its
/// owner and creation time) and to tag the images, each call retried by the standard policy.
pub async fn distribute(
    lifecycle: &Lifecycle<'_>,
    cloud: &dyn Cloud,
    spec: &DistributeSpec,
    image: &TestedImage,
) -> Result<Distributed, DistributeError> {
    let cloud = Retrying::new(cloud, RetryPolicy::standard());
    let checked = check(lifecycle, &cloud, spec, image).await?;

    let copies = lifecycle
        .copy_image(
            &CopySpec::new(
                image.region.clone(),
                image.image.clone(),
                spec.regions.clone(),
            )
            .encryption(spec.encryption.clone())
            .dry_run(spec.dry_run),
        )
        .await?;
    let mut images = BTreeMap::from([(image.region.clone(), image.image.clone())]);
    images.extend(
        copies
            .regions
            .iter()
            .filter_map(|r| r.image().map(|i| (r.region.clone(), i.clone()))),
    );
    let pending = copies
        .regions
        .iter()
        .filter(|r| r.outcome == RegionCopyOutcome::Planned)
        .map(|r| r.region.clone())
        .collect();

    let (shares, parameters) = futures::join!(
        share_everywhere(lifecycle, spec, &images),
        publish_everywhere(lifecycle, spec, image, &checked, &images),
    );
    let registry = write_entry(spec, image, &checked, &images);
    let mut distributed = Distributed {
        build: image.build.clone(),
        home: image.region.clone(),
        image: image.image.clone(),
        images,
        pending,
        copies,
        shares: shares?,
        parameters: parameters?,
        registry,
        stage: DistributionStage::Planned,
        dry_run: spec.dry_run,
    };
    distributed.stage = if spec.dry_run {
        DistributionStage::Planned
    } else if distributed.has_failures() {
        DistributionStage::Incomplete
    } else {
        tag_distributed(&cloud, &distributed.images).await
    };
    Ok(distributed)
}

/// Checks what can be checked before anything changes.
async fn check(
    lifecycle: &Lifecycle<'_>,
    cloud: &Retrying<&dyn Cloud>,
    spec: &DistributeSpec,
    image: &TestedImage,
) -> Result<Checked, DistributeError> {
    let lineage = &image.lineage;
    let needs_version = spec.parameters.is_some() || spec.registry.is_some();
    if needs_version && lineage.version.is_none() {
        return Err(DistributeError::InvalidSpec {
            field: "template version",
            found: String::new(),
            expected: format!(
                "a `version:` in template {}: SSM parameters and registry entries name the version they hold",
                lineage.template
            ),
        });
    }
    if let (Some(publishing), Some(version)) = (&spec.parameters, &lineage.version) {
        ImageParameterNames::new(
            &publishing.prefix,
            &lineage.template,
            version,
            image.architecture,
        )?;
    }
    let caller = lifecycle.caller().await?;
    let source = cloud
        .describe_images(&image.region, std::slice::from_ref(&image.image))
        .await
        .map_err(|source| DistributeError::Describe {
            region: image.region.clone(),
            image: image.image.clone(),
            source: Box::new(source),
        })?
        .into_iter()
        .find(|i| i.id == image.image)
        .ok_or_else(|| LifecycleError::ImageNotFound {
            region: image.region.clone(),
            image: image.image.clone(),
        })?;
    if source.owner != caller.account {
        return Err(LifecycleError::refused(format!(
            "{} in {} belongs to account {}, not the caller's {}: distribute only your own builds",
            source.id, source.region, source.owner, caller.account
        ))
        .into());
    }
    let mut checked = Checked {
        version: lineage.version.clone(),
        key: None,
        created_at: source.creation_date,
        owner: caller.account.clone(),
    };
    if let Some(target) = &spec.registry {
        let key = PublisherKey::load_file(&target.key_file)
            .map_err(|e| DistributeError::Key(Box::new(e)))?;
        // The home image alone: the file reads, the version is free for this owner and
        // architecture, and readers would admit the entry.
        let home = BTreeMap::from([(image.region.clone(), image.image.clone())]);
        build_entry(target, image, &checked, &home)
            .plan(&target.file, &key)
            .map_err(|e| DistributeError::Registry(Box::new(e)))?;
        checked.key = Some(key);
    }
    Ok(checked)
}

/// Shares every region's image, concurrently; a region's failure is its own.
async fn share_everywhere(
    lifecycle: &Lifecycle<'_>,
    spec: &DistributeSpec,
    images: &BTreeMap<Region, AmiId>,
) -> Result<Vec<RegionShare>, DistributeError> {
    if spec.share_with.is_empty() {
        return Ok(Vec::new());
    }
    join_all(images.iter().map(|(region, image)| async move {
        let share = ShareSpec::add(region.clone(), image.clone(), spec.share_with.clone())
            .dry_run(spec.dry_run);
        let outcome = match lifecycle.share(&share).await {
            Ok(report) => ShareOutcome::Shared { report },
            // An unwritten audit record is the whole distribution's failure.
            Err(e @ LifecycleError::Audit { .. }) => return Err(e.into()),
            Err(e) => ShareOutcome::Failed {
                error: e.to_string(),
            },
        };
        Ok(RegionShare {
            region: region.clone(),
            outcome,
        })
    }))
    .await
    .into_iter()
    .collect()
}

/// Publishes the SSM parameters in every region with an image.
async fn publish_everywhere(
    lifecycle: &Lifecycle<'_>,
    spec: &DistributeSpec,
    image: &TestedImage,
    checked: &Checked,
    images: &BTreeMap<Region, AmiId>,
) -> Result<Option<ParameterReport>, DistributeError> {
    let (Some(publishing), Some(version)) = (&spec.parameters, &checked.version) else {
        return Ok(None);
    };
    let publish = PublishParametersSpec::new(
        image.lineage.template.clone(),
        version.clone(),
        image.architecture,
        images.clone(),
    )
    .promote(publishing.promote)
    .prefix(publishing.prefix.clone())
    .dry_run(spec.dry_run);
    Ok(Some(lifecycle.publish_parameters(&publish).await?))
}

/// The build's entry for `images`.
fn build_entry(
    target: &RegistryTarget,
    image: &TestedImage,
    checked: &Checked,
    images: &BTreeMap<Region, AmiId>,
) -> BuildEntry {
    let script = image.measured.script_ready.as_secs_f64();
    let ready = image.measured.image_ready.as_secs_f64();
    let mut verification = Verification::new(true, ScanStatus::NotRun).measured(script, ready);
    verification.tested_at = Some(image.tested_at);
    verification.performance_benchmark = verification.speedup.map(|speedup| {
        format!(
            "{speedup:.1}x faster than script install (measured: ready in {ready:.0} s from the image, {script:.0} s by script)"
        )
    });
    let mut entry = BuildEntry::new(
        image.lineage.template.clone(),
        checked.version.clone().unwrap_or_default(),
        image.architecture,
        checked.owner.clone(),
        images.clone(),
        checked.created_at,
        verification,
    );
    entry.creator = target.creator.clone();
    entry.description = target.description.clone();
    entry
}

/// Plans the entry and, unless a dry run, writes it.
fn write_entry(
    spec: &DistributeSpec,
    image: &TestedImage,
    checked: &Checked,
    images: &BTreeMap<Region, AmiId>,
) -> Option<RegistryOutcome> {
    let (target, key) = (spec.registry.as_ref()?, checked.key.as_ref()?);
    let planned = build_entry(target, image, checked, images).plan(&target.file, key);
    let outcome = match planned {
        Ok(plan) if spec.dry_run => RegistryOutcome::Planned {
            entry: Box::new(plan.entry().clone()),
        },
        Ok(plan) => match plan.apply() {
            Ok(entry) => RegistryOutcome::Written {
                entry: Box::new(entry),
            },
            Err(e) => RegistryOutcome::Failed {
                error: e.to_string(),
            },
        },
        Err(e) => RegistryOutcome::Failed {
            error: e.to_string(),
        },
    };
    Some(outcome)
}

/// Tags every image `distributed` where it is not yet, concurrently.
async fn tag_distributed(
    cloud: &Retrying<&dyn Cloud>,
    images: &BTreeMap<Region, AmiId>,
) -> DistributionStage {
    let tags = BTreeMap::from([(TAG_BUILD_STAGE.to_owned(), STAGE_DISTRIBUTED.to_owned())]);
    let results = join_all(images.iter().map(|(region, image)| {
        let tags = &tags;
        async move {
            let described = cloud
                .describe_images(region, std::slice::from_ref(image))
                .await?;
            let done = described
                .iter()
                .any(|i| &i.id == image && i.tag(TAG_BUILD_STAGE) == Some(STAGE_DISTRIBUTED));
            if !done {
                cloud.create_tags(region, image, tags).await?;
            }
            Ok::<_, CloudError>(())
        }
    }))
    .await;
    let errors: BTreeMap<Region, String> = images
        .keys()
        .zip(results)
        .filter_map(|(region, r)| r.err().map(|e| (region.clone(), e.to_string())))
        .collect();
    if errors.is_empty() {
        DistributionStage::Distributed
    } else {
        DistributionStage::TagFailed { errors }
    }
}

#[cfg(test)]
mod tests;
