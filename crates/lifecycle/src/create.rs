//! Creating an image from an instance.

use std::collections::BTreeMap;

use amiref_core::{
    AmiId, CreateImageRequest, Image, ImageFilter, ImageState, ImageStore, InstanceId, Region,
};
use serde_json::json;

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;
use crate::progress::ProgressEvent;
use crate::tags::{TAG_MANAGED_BY, TAG_SOURCE_INSTANCE, TemplateLineage};
use crate::wait::wait_until_available;

/// What image to create, from which instance, for which template.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CreateImageSpec {
    /// The instance's region.
    pub region: Region,
    /// The instance to image.
    pub instance: InstanceId,
    /// The image's name (3–128 characters: letters, digits, spaces and `()[]./-'@_`).
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// Image without rebooting the instance (faster; file systems may be inconsistent).
    pub no_reboot: bool,
    /// The template the image is built from.
    pub lineage: TemplateLineage,
    /// More tags for the image.
    pub extra_tags: BTreeMap<String, String>,
    /// Plan only: look, report, change nothing.
    pub dry_run: bool,
}

impl CreateImageSpec {
    /// Image `instance` in `region` as `name`, for the template of `lineage`.
    pub fn new(
        region: Region,
        instance: InstanceId,
        name: impl Into<String>,
        lineage: TemplateLineage,
    ) -> Self {
        Self {
            region,
            instance,
            name: name.into(),
            description: None,
            no_reboot: false,
            lineage,
            extra_tags: BTreeMap::new(),
            dry_run: false,
        }
    }

    /// The same spec, without rebooting the instance.
    #[must_use]
    pub fn no_reboot(mut self, no_reboot: bool) -> Self {
        self.no_reboot = no_reboot;
        self
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Every tag the image gets: lineage, source instance, `managed-by`, then the extras.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.lineage.tags();
        tags.insert(TAG_SOURCE_INSTANCE.to_owned(), self.instance.to_string());
        tags.insert(TAG_MANAGED_BY.to_owned(), "amiref".to_owned());
        tags.extend(self.extra_tags.clone());
        tags
    }
}

/// What an operation did about one image.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageOutcome {
    /// Made now.
    Created,
    /// An earlier (or concurrent) run had made it; it was reused.
    Reused,
    /// A dry run: it would be made.
    Planned,
}

/// The image a create produced.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CreatedImage {
    /// The region.
    pub region: Region,
    /// The image; `None` in a dry run that would create one.
    pub image: Option<AmiId>,
    /// Its name.
    pub name: String,
    /// What happened.
    pub outcome: ImageOutcome,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

const NAME_EXPECTED: &str =
    "3 to 128 characters: letters, digits, spaces and ( ) [ ] . / - ' @ _ (EC2's image-name rule)";

/// Checks an image name against EC2's rule, so a bad name fails before anything is made.
pub fn validate_image_name(name: &str) -> Result<(), LifecycleError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || " ()[]./-'@_".contains(c);
    if (3..=128).contains(&name.chars().count()) && name.chars().all(ok_char) {
        Ok(())
    } else {
        Err(LifecycleError::InvalidInput {
            field: "name",
            found: name.to_owned(),
            expected: NAME_EXPECTED.to_owned(),
        })
    }
}

impl Lifecycle<'_> {
    /// Creates an image from an instance, tagged with its template's lineage, and waits until
    /// it is available.
    ///
    /// Idempotent: an image of the caller's with this name made from this instance (by an
    /// earlier or a concurrent run) is reused, waited for if still pending. One with this name
    /// from another source is a refusal. If the image fails or the wait times out, it is
    /// deregistered and its snapshots deleted, so no half-made image remains.
    pub async fn create_image(
        &self,
        spec: &CreateImageSpec,
    ) -> Result<CreatedImage, LifecycleError> {
        let actor = self.actor().await?;
        let record = AuditRecord::new(actor, "create_image", AuditOutcome::Succeeded)
            .region(&spec.region)
            .dry_run(spec.dry_run)
            .details(json!({
                "name": spec.name,
                "instance": spec.instance,
                "no_reboot": spec.no_reboot,
                "tags": spec.tags(),
            }));
        let result = self.create_image_inner(spec).await;
        let record = match &result {
            Ok(made) => {
                let outcome = match made.outcome {
                    ImageOutcome::Created => AuditOutcome::Succeeded,
                    ImageOutcome::Reused => AuditOutcome::Unchanged,
                    ImageOutcome::Planned => AuditOutcome::Planned,
                };
                let record = AuditRecord { outcome, ..record };
                match &made.image {
                    Some(id) => record.target(id),
                    None => record,
                }
            }
            Err(LifecycleError::ImageFailed { image, .. }) => record.target(image),
            Err(_) => record,
        };
        self.audited(record, result)
    }

    async fn create_image_inner(
        &self,
        spec: &CreateImageSpec,
    ) -> Result<CreatedImage, LifecycleError> {
        validate_image_name(&spec.name)?;
        let region = &spec.region;
        let tags = spec.tags();
        let done = |image: Option<AmiId>, outcome| CreatedImage {
            region: region.clone(),
            image,
            name: spec.name.clone(),
            outcome,
            tags: tags.clone(),
        };

        if let Some(existing) = self.find_by_name(spec).await? {
            return match existing.state {
                ImageState::Available | ImageState::Pending => {
                    self.progress.emit(ProgressEvent::Reused {
                        region: region.clone(),
                        image: existing.id.clone(),
                        state: existing.state,
                    });
                    if existing.state == ImageState::Pending && !spec.dry_run {
                        self.wait_or_remove(region, &existing.id).await?;
                    }
                    Ok(done(Some(existing.id), ImageOutcome::Reused))
                }
                // A failed image of an earlier run that could not be cleaned up then: clean
                // it up now, and make a new one under its name.
                _ if spec.dry_run => Ok(done(None, ImageOutcome::Planned)),
                _ => {
                    if let crate::Cleanup::Failed { error } =
                        self.remove_half_made(region, &existing.id).await
                    {
                        return Err(LifecycleError::refused(format!(
                            "an earlier run left the failed image {} named {:?} in {region}, and removing it failed: {error}",
                            existing.id, spec.name
                        )));
                    }
                    self.start_and_wait(spec, &tags)
                        .await
                        .map(|id| done(Some(id), ImageOutcome::Created))
                }
            };
        }
        if spec.dry_run {
            return Ok(done(None, ImageOutcome::Planned));
        }
        let id = self.start_and_wait(spec, &tags).await?;
        Ok(done(Some(id), ImageOutcome::Created))
    }

    /// The caller's image with the spec's name, if it was made from the spec's instance;
    /// a refusal if one with that name was made from something else.
    async fn find_by_name(&self, spec: &CreateImageSpec) -> Result<Option<Image>, LifecycleError> {
        let found = self
            .own_images(&spec.region, ImageFilter::default().name(spec.name.clone()))
            .await?;
        let Some(image) = found.into_iter().find(|i| i.name == spec.name) else {
            return Ok(None);
        };
        if image.tag(TAG_SOURCE_INSTANCE) == Some(spec.instance.as_str()) {
            Ok(Some(image))
        } else {
            Err(LifecycleError::refused(format!(
                "an image named {:?} already exists in {} ({}, made from {}); image names are unique per account and region, so choose another name",
                spec.name,
                spec.region,
                image.id,
                image
                    .tag(TAG_SOURCE_INSTANCE)
                    .unwrap_or("an unknown source")
            )))
        }
    }

    /// Starts the image and waits for it. A concurrent run that started the same image first
    /// wins the name; this run then waits for that image instead.
    async fn start_and_wait(
        &self,
        spec: &CreateImageSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<AmiId, LifecycleError> {
        let mut request = CreateImageRequest::new(spec.instance.clone(), spec.name.clone());
        request.description = spec.description.clone();
        request.no_reboot = spec.no_reboot;
        request.tags = tags.clone();
        let record = AuditRecord::new(self.actor().await?, "create_image", AuditOutcome::Intended)
            .region(&spec.region)
            .details(json!({
                "name": spec.name,
                "instance": spec.instance,
                "no_reboot": spec.no_reboot,
                "tags": tags,
            }));
        let call = || self.cloud.create_image(&spec.region, &request);
        let created = self
            .intended_call(record, call, |id| Some(json!({ "image": id })))
            .await?;
        let id = match created {
            Ok(id) => id,
            Err(e) => match self.find_by_name(spec).await? {
                Some(theirs) => {
                    tracing::debug!(image = %theirs.id, "a concurrent run created the image first");
                    self.progress.emit(ProgressEvent::Reused {
                        region: spec.region.clone(),
                        image: theirs.id.clone(),
                        state: theirs.state,
                    });
                    theirs.id
                }
                None => {
                    return Err(LifecycleError::cloud(
                        format!("creating image {:?} from {}", spec.name, spec.instance),
                        e,
                    ));
                }
            },
        };
        self.progress.emit(ProgressEvent::CreateStarted {
            region: spec.region.clone(),
            image: id.clone(),
            name: spec.name.clone(),
        });
        self.wait_or_remove(&spec.region, &id).await?;
        Ok(id)
    }

    /// Waits for an image and returns it available; if it never becomes available, removes
    /// it.
    pub(crate) async fn wait_or_remove(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Image, LifecycleError> {
        match wait_until_available(
            *self.cloud.inner(),
            region,
            image,
            &self.wait,
            self.progress,
        )
        .await
        {
            Ok(available) => Ok(available),
            Err(failure) => {
                self.progress.emit(ProgressEvent::Failed {
                    region: region.clone(),
                    image: Some(image.clone()),
                    error: failure.to_string(),
                });
                let cleanup = self.remove_half_made(region, image).await;
                Err(LifecycleError::ImageFailed {
                    region: region.clone(),
                    image: image.clone(),
                    reason: failure.to_string(),
                    cleanup,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_ec2() {
        assert!(validate_image_name("Python ML v2.1.0").is_ok());
        assert!(validate_image_name("cws-python-ml-2.1.0 (gpu) [x86_64]").is_ok());
        for bad in ["ab", "star*", "quest?", "new\nline", &"x".repeat(129)] {
            let err = validate_image_name(bad).unwrap_err();
            assert!(err.to_string().contains("EC2's image-name rule"), "{bad}");
        }
    }
}
