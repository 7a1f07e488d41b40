//! Keeping one image safe by hand: deregistration protection on or off (`ami protect`), and
//! disabling or re-enabling it (`ami disable`, `ami enable`).
//!
//! Each operation looks first and changes only what differs (an image already protected is
//! [`ChangeOutcome::Unchanged`], and nothing is called), has a dry run, and writes its
//! change ahead to the audit trail: the intent before the call, the outcome after; when the
//! intent cannot be written, the call is not made.

use std::future::Future;

use amiref_core::{
    AmiId, CloudError, DeregistrationProtection, Image, ImageFilter, ImageGovernance, ImageState,
    ImageStore, LaunchPermission, Region,
};
use serde_json::json;

use crate::audit::{Actor, AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;
use crate::retire::retire_after;
use crate::tags::TAG_RETIRE_AFTER;

/// What `ami enable` cannot undo, said in its report: EC2's EnableImage makes the image
/// available again but private.
pub const ENABLE_KEEPS_IMAGE_PRIVATE: &str = "EC2 does not restore the launch permissions DisableImage removed: the image is private until shared again (ami share)";

/// One image to act on.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ImageSpec {
    /// The image's region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Plan only.
    pub dry_run: bool,
}

impl ImageSpec {
    /// Act on `image` in `region`.
    pub fn new(region: Region, image: AmiId) -> Self {
        Self {
            region,
            image,
            dry_run: false,
        }
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// Turn deregistration protection on (`ami protect`).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ProtectSpec {
    /// The image.
    #[serde(flatten)]
    pub target: ImageSpec,
    /// Keep the image protected for 24 hours after the protection is later turned off
    /// (EC2's cooldown, `--cooldown`).
    pub cooldown: bool,
}

impl ProtectSpec {
    /// Protect `image` in `region`, without the cooldown.
    pub fn new(region: Region, image: AmiId) -> Self {
        Self {
            target: ImageSpec::new(region, image),
            cooldown: false,
        }
    }

    /// The same spec, with the cooldown or not.
    #[must_use]
    pub fn cooldown(mut self, cooldown: bool) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.target.dry_run = dry_run;
        self
    }
}

/// Whether an operation changed the image.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeOutcome {
    /// Changed now.
    Changed,
    /// Already as asked: nothing was called.
    Unchanged,
    /// A dry run: would change.
    Planned,
}

/// What `protect` or `unprotect` did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ProtectReport {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// What happened.
    pub outcome: ChangeOutcome,
    /// The protection before (`None`: not reported, EC2's default of off).
    pub before: Option<DeregistrationProtection>,
    /// The protection as EC2 reports it afterwards (in a dry run, what it would be).
    /// Turning protection off that had the cooldown leaves it `cooling_down` for 24 hours.
    pub after: Option<DeregistrationProtection>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// What `disable` did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct DisableReport {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// What happened.
    pub outcome: ChangeOutcome,
    /// Its state before.
    pub state_before: ImageState,
    /// The launch permissions EC2 removed (or would) on disabling; they are in the audit
    /// record too, as `ami enable` does not restore them.
    pub launch_permissions_removed: Vec<LaunchPermission>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// What `enable` did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct EnableReport {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// What happened.
    pub outcome: ChangeOutcome,
    /// Its state before.
    pub state_before: ImageState,
    /// Tags removed (or that would be): `amiref:retire-after`, so that no later retirement
    /// run deregisters it.
    pub removed_tags: Vec<String>,
    /// What a person should know: [`ENABLE_KEEPS_IMAGE_PRIVATE`] when it was disabled.
    pub notes: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Lifecycle<'_> {
    /// Turns deregistration protection on (EnableImageDeregistrationProtection), with the
    /// cooldown if asked. Unchanged when it is already on with the same cooldown.
    pub async fn protect(&self, spec: &ProtectSpec) -> Result<ProtectReport, LifecycleError> {
        let target = &spec.target;
        let (actor, image) = self.look(target).await?;
        let want = DeregistrationProtection::Enabled {
            cooldown: spec.cooldown,
        };
        let record = record(
            &actor,
            "protect",
            target,
            &image,
            json!({ "cooldown": spec.cooldown, "before": image.deregistration_protection }),
        );
        let outcome = if image.deregistration_protection == Some(want) {
            self.stand_alone(record, ChangeOutcome::Unchanged)?
        } else if target.dry_run {
            self.stand_alone(record, ChangeOutcome::Planned)?
        } else {
            self.write_ahead(record, || {
                self.cloud.enable_deregistration_protection(
                    &target.region,
                    &target.image,
                    spec.cooldown,
                )
            })
            .await?
            .map_err(|e| cloud_error("protecting", target, e))?;
            ChangeOutcome::Changed
        };
        let after = match outcome {
            ChangeOutcome::Changed => self.protection_now(target).await,
            ChangeOutcome::Planned => Some(want),
            ChangeOutcome::Unchanged => image.deregistration_protection,
        };
        Ok(protect_report(target, &image, outcome, after))
    }

    /// Turns deregistration protection off (DisableImageDeregistrationProtection). Unchanged
    /// when it is off or already cooling down; with the cooldown, the image stays protected
    /// for 24 hours more.
    pub async fn unprotect(&self, spec: &ImageSpec) -> Result<ProtectReport, LifecycleError> {
        let (actor, image) = self.look(spec).await?;
        let record = record(
            &actor,
            "unprotect",
            spec,
            &image,
            json!({ "before": image.deregistration_protection }),
        );
        let outcome = match image.deregistration_protection {
            Some(DeregistrationProtection::Enabled { .. }) if spec.dry_run => {
                self.stand_alone(record, ChangeOutcome::Planned)?
            }
            Some(DeregistrationProtection::Enabled { .. }) => {
                self.write_ahead(record, || {
                    self.cloud
                        .disable_deregistration_protection(&spec.region, &spec.image)
                })
                .await?
                .map_err(|e| cloud_error("unprotecting", spec, e))?;
                ChangeOutcome::Changed
            }
            _ => self.stand_alone(record, ChangeOutcome::Unchanged)?,
        };
        let after = match outcome {
            ChangeOutcome::Changed => self.protection_now(spec).await,
            ChangeOutcome::Planned => Some(match image.deregistration_protection {
                Some(DeregistrationProtection::Enabled { cooldown: true }) => {
                    DeregistrationProtection::CoolingDown {
                        until: self.now()
                            + chrono::Duration::hours(amiref_core::DEREGISTRATION_COOLDOWN_HOURS),
                    }
                }
                _ => DeregistrationProtection::Disabled,
            }),
            ChangeOutcome::Unchanged => image.deregistration_protection,
        };
        Ok(protect_report(spec, &image, outcome, after))
    }

    /// Disables the image (DisableImage): no new launches, hidden from listings, its launch
    /// permissions removed (recorded in the audit trail and the report). Unchanged when it
    /// is disabled already; refused unless it is available.
    pub async fn disable(&self, spec: &ImageSpec) -> Result<DisableReport, LifecycleError> {
        let (actor, image) = self.look(spec).await?;
        let report = |outcome, launch_permissions_removed| DisableReport {
            region: spec.region.clone(),
            image: spec.image.clone(),
            name: image.name.clone(),
            outcome,
            state_before: image.state,
            launch_permissions_removed,
            dry_run: spec.dry_run,
        };
        let base = record(&actor, "disable", spec, &image, json!({}));
        match image.state {
            ImageState::Disabled => {
                let outcome = self.stand_alone(base, ChangeOutcome::Unchanged)?;
                return Ok(report(outcome, Vec::new()));
            }
            ImageState::Available => {}
            other => {
                let refusal = LifecycleError::refused(format!(
                    "{} in {} is {other}: only an available image can be disabled",
                    spec.image, spec.region
                ));
                return self.audited(base, Err(refusal));
            }
        }
        let permissions = self
            .cloud
            .launch_permissions(&spec.region, &spec.image)
            .await
            .map_err(|e| cloud_error("reading the launch permissions of", spec, e))?;
        let record = record(
            &actor,
            "disable",
            spec,
            &image,
            json!({ "launch_permissions_removed": permissions }),
        );
        let outcome = if spec.dry_run {
            self.stand_alone(record, ChangeOutcome::Planned)?
        } else {
            self.write_ahead(record, || {
                self.cloud.disable_image(&spec.region, &spec.image)
            })
            .await?
            .map_err(|e| cloud_error("disabling", spec, e))?;
            ChangeOutcome::Changed
        };
        Ok(report(outcome, permissions))
    }

    /// Re-enables a disabled image (EnableImage) and deletes its `amiref:retire-after` tag,
    /// so that no retirement run deregisters it. Unchanged when it is available and carries
    /// no such tag. EC2 does not restore the launch permissions disabling removed
    /// ([`ENABLE_KEEPS_IMAGE_PRIVATE`]).
    pub async fn enable(&self, spec: &ImageSpec) -> Result<EnableReport, LifecycleError> {
        let (actor, image) = self.look(spec).await?;
        let removed_tags: Vec<String> = image
            .tags
            .contains_key(TAG_RETIRE_AFTER)
            .then(|| TAG_RETIRE_AFTER.to_owned())
            .into_iter()
            .collect();
        let disabled = image.state == ImageState::Disabled;
        let report = |outcome| EnableReport {
            region: spec.region.clone(),
            image: spec.image.clone(),
            name: image.name.clone(),
            outcome,
            state_before: image.state,
            removed_tags: removed_tags.clone(),
            notes: if disabled {
                vec![ENABLE_KEEPS_IMAGE_PRIVATE.to_owned()]
            } else {
                Vec::new()
            },
            dry_run: spec.dry_run,
        };
        let base = record(
            &actor,
            "enable",
            spec,
            &image,
            json!({ "removed_tags": removed_tags, "retire_after": retire_after(&image) }),
        );
        if !disabled && image.state != ImageState::Available {
            let refusal = LifecycleError::refused(format!(
                "{} in {} is {}: only a disabled image can be enabled",
                spec.image, spec.region, image.state
            ));
            return self.audited(base, Err(refusal));
        }
        if !disabled && removed_tags.is_empty() {
            return Ok(report(self.stand_alone(base, ChangeOutcome::Unchanged)?));
        }
        if spec.dry_run {
            return Ok(report(self.stand_alone(base, ChangeOutcome::Planned)?));
        }
        if disabled {
            self.write_ahead(base.clone(), || {
                self.cloud.enable_image(&spec.region, &spec.image)
            })
            .await?
            .map_err(|e| cloud_error("enabling", spec, e))?;
        }
        if !removed_tags.is_empty() {
            let untag = record(
                &actor,
                "enable",
                spec,
                &image,
                json!({ "step": "delete_tags", "keys": removed_tags }),
            );
            self.write_ahead(untag, || {
                self.cloud
                    .delete_tags(&spec.region, &spec.image, &removed_tags)
            })
            .await?
            .map_err(|e| cloud_error("removing the retire-after tag of", spec, e))?;
        }
        Ok(report(ChangeOutcome::Changed))
    }

    /// Makes one mutating call written ahead: the intent recorded before (no call when that
    /// fails: the outer error), the outcome after. The inner result is the call's.
    pub(crate) async fn write_ahead<F, Fut>(
        &self,
        record: AuditRecord,
        call: F,
    ) -> Result<Result<(), CloudError>, LifecycleError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), CloudError>>,
    {
        let intent = self.intend(record)?;
        let result = call().await;
        let outcome = match &result {
            Ok(()) => AuditOutcome::Succeeded,
            Err(e) => AuditOutcome::Failed {
                error: e.to_string(),
            },
        };
        self.conclude(intent, outcome)?;
        Ok(result)
    }

    /// Records an operation that makes no call (unchanged, or a dry run) and passes its
    /// outcome through.
    fn stand_alone(
        &self,
        record: AuditRecord,
        outcome: ChangeOutcome,
    ) -> Result<ChangeOutcome, LifecycleError> {
        let audit = match outcome {
            ChangeOutcome::Planned => AuditOutcome::Planned,
            _ => AuditOutcome::Unchanged,
        };
        self.audit(AuditRecord {
            outcome: audit,
            ..record
        })?;
        Ok(outcome)
    }

    /// Who acts, and the image as it is now.
    async fn look(&self, spec: &ImageSpec) -> Result<(Actor, Image), LifecycleError> {
        let actor = self.actor().await?;
        let image = self.find_image(&spec.region, &spec.image).await?;
        Ok((actor, image))
    }

    /// The image by id, disabled or not: DescribeImages by id first, then the caller's own
    /// images including disabled ones (which EC2 may leave out of a lookup by id).
    async fn find_image(&self, region: &Region, image: &AmiId) -> Result<Image, LifecycleError> {
        match self.describe_one(region, image).await {
            Err(LifecycleError::ImageNotFound { .. }) => self
                .own_images(region, ImageFilter::default())
                .await?
                .into_iter()
                .find(|i| &i.id == image)
                .ok_or_else(|| LifecycleError::ImageNotFound {
                    region: region.clone(),
                    image: image.clone(),
                }),
            other => other,
        }
    }

    /// The image's protection as EC2 reports it now; `None` when it cannot be read.
    async fn protection_now(&self, spec: &ImageSpec) -> Option<DeregistrationProtection> {
        match self.find_image(&spec.region, &spec.image).await {
            Ok(image) => image.deregistration_protection,
            Err(e) => {
                tracing::warn!(region = %spec.region, image = %spec.image, error = %e, "could not read the protection back");
                None
            }
        }
    }
}

/// The record of `operation` on the image, its details `details` with the image's name.
fn record(
    actor: &Actor,
    operation: &str,
    spec: &ImageSpec,
    image: &Image,
    mut details: serde_json::Value,
) -> AuditRecord {
    if let Some(map) = details.as_object_mut() {
        map.insert("name".to_owned(), json!(image.name));
    }
    AuditRecord::new(actor.clone(), operation, AuditOutcome::Intended)
        .region(&spec.region)
        .target(&spec.image)
        .dry_run(spec.dry_run)
        .details(details)
}

fn protect_report(
    spec: &ImageSpec,
    image: &Image,
    outcome: ChangeOutcome,
    after: Option<DeregistrationProtection>,
) -> ProtectReport {
    ProtectReport {
        region: spec.region.clone(),
        image: spec.image.clone(),
        name: image.name.clone(),
        outcome,
        before: image.deregistration_protection,
        after,
        dry_run: spec.dry_run,
    }
}

fn cloud_error(doing: &str, spec: &ImageSpec, source: CloudError) -> LifecycleError {
    LifecycleError::cloud(format!("{doing} {} in {}", spec.image, spec.region), source)
}
