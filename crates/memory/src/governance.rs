//! [`ImageGovernance`]: deregistration protection with EC2's cooldown, DisableImage and
//! EnableImage, DeleteTags, DescribeImageReferences (instances, launch templates, SSM
//! parameters, Image Builder recipes), the Recycle Bin's rules, public snapshots and the
//! snapshot block public access setting, and the images launch templates name.

use std::collections::{BTreeSet, HashSet};

use amiref_core::{
    AmiId, CloudError, DEREGISTRATION_COOLDOWN_HOURS, DeregistrationProtection, ImageGovernance,
    ImageReference, ImageState, InstanceState, LaunchTemplateImage, RecycleBinRule, ReferenceKind,
    Region, SnapshotBlockPublicAccess, SnapshotId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::cloud::{MemoryCloud, ec2_error};
use crate::knobs::op;
use crate::state::RegionState;

/// DescribeImageReferences takes at most 10 image ids per call (`ImageId.N`).
pub const REFERENCE_IDS_PER_CALL: usize = 10;

/// DescribeImageReferences answers at most this many references per page (`MaxResults`).
pub const REFERENCES_PER_PAGE: usize = 1000;

/// DescribeLaunchTemplateVersions answers at most this many versions per page.
pub const TEMPLATE_VERSIONS_PER_PAGE: usize = 200;

/// Protection after DisableImageDeregistrationProtection at `now`: a protection enabled
/// with the cooldown stays on for 24 hours more; one cooling down keeps its end.
fn turned_off(
    current: Option<DeregistrationProtection>,
    now: DateTime<Utc>,
) -> DeregistrationProtection {
    match current {
        Some(DeregistrationProtection::Enabled { cooldown: true }) => {
            DeregistrationProtection::CoolingDown {
                until: now + chrono::Duration::hours(DEREGISTRATION_COOLDOWN_HOURS),
            }
        }
        Some(cooling @ DeregistrationProtection::CoolingDown { until }) if until > now => cooling,
        _ => DeregistrationProtection::Disabled,
    }
}

fn incorrect_state(
    op: &'static str,
    region: &Region,
    image: &AmiId,
    state: ImageState,
) -> CloudError {
    ec2_error::not_permitted(
        op,
        region,
        "IncorrectState",
        format!(
            "The image {image} is {state}: only an available or disabled image can be disabled or enabled"
        ),
    )
}

impl MemoryCloud {
    /// Changes one of the caller's own images under the write lock: `change` gets the image
    /// and the world's time, and may refuse.
    async fn change_own_image(
        &self,
        operation: &'static str,
        region: &Region,
        image: &AmiId,
        change: impl FnOnce(&mut crate::state::StoredImage, DateTime<Utc>) -> Result<(), CloudError>,
    ) -> Result<(), CloudError> {
        let now = self.begin(operation, Some(region)).await?;
        let mut world = self.write();
        let now_utc = world.now_utc(now);
        let stored = self.owned_image(&mut world, operation, region, image)?;
        change(stored, now_utc)?;
        tracing::debug!(%region, %image, operation, "image changed");
        Ok(())
    }

    /// Every reference of the caller's resources in `state` to one of `images`.
    fn references_in(
        &self,
        region: &Region,
        state: &RegionState,
        images: &HashSet<&AmiId>,
    ) -> Vec<ImageReference> {
        let me = &self.caller;
        let mut found = Vec::new();
        for (id, instance) in &state.instances {
            if instance.owner == *me
                && instance.state != InstanceState::Terminated
                && images.contains(&instance.image)
            {
                let arn = format!("arn:aws:ec2:{region}:{me}:instance/{id}");
                found.push(ImageReference::new(
                    instance.image.clone(),
                    ReferenceKind::Instance,
                    arn,
                ));
            }
        }
        for template in state.launch_templates.iter().filter(|t| t.owner == *me) {
            let named: BTreeSet<&AmiId> = template
                .versions()
                .map(|(_, _, image)| image)
                .filter(|image| images.contains(image))
                .collect();
            for image in named {
                let kind = ReferenceKind::LaunchTemplate;
                found.push(ImageReference::new(
                    image.clone(),
                    kind,
                    template.arn(region),
                ));
            }
        }
        for (name, stored) in &state.parameters {
            let Ok(image) = AmiId::new(stored.parameter.value.as_str()) else {
                continue;
            };
            if stored.owner.as_ref() == Some(me) && images.contains(&image) {
                let name = name.as_str();
                let sep = if name.starts_with('/') { "" } else { "/" };
                let arn = format!("arn:aws:ssm:{region}:{me}:parameter{sep}{name}");
                found.push(ImageReference::new(image, ReferenceKind::SsmParameter, arn));
            }
        }
        for recipe in &state.image_recipes {
            if recipe.owner == *me && images.contains(&recipe.parent_image) {
                let kind = if recipe.container {
                    ReferenceKind::ContainerRecipe
                } else {
                    ReferenceKind::ImageRecipe
                };
                found.push(ImageReference::new(
                    recipe.parent_image.clone(),
                    kind,
                    recipe.arn(region),
                ));
            }
        }
        found
    }
}

#[async_trait]
impl ImageGovernance for MemoryCloud {
    async fn enable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
        with_cooldown: bool,
    ) -> Result<(), CloudError> {
        const OP: &str = op::ENABLE_IMAGE_DEREGISTRATION_PROTECTION;
        self.change_own_image(OP, region, image, |stored, _| {
            stored.image.deregistration_protection = Some(DeregistrationProtection::Enabled {
                cooldown: with_cooldown,
            });
            Ok(())
        })
        .await
    }

    async fn disable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<(), CloudError> {
        const OP: &str = op::DISABLE_IMAGE_DEREGISTRATION_PROTECTION;
        self.change_own_image(OP, region, image, |stored, now| {
            let current = stored.image.deregistration_protection;
            stored.image.deregistration_protection = Some(turned_off(current, now));
            Ok(())
        })
        .await
    }

    async fn disable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        const OP: &str = op::DISABLE_IMAGE;
        self.change_own_image(OP, region, image, |stored, _| match stored.image.state {
            ImageState::Available | ImageState::Disabled => {
                // EC2 makes a disabled image private: every launch permission goes, and
                // enabling it again does not bring them back.
                stored.image.state = ImageState::Disabled;
                stored.launch_permissions.clear();
                stored.image.public = false;
                Ok(())
            }
            other => Err(incorrect_state(OP, region, image, other)),
        })
        .await
    }

    async fn enable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        const OP: &str = op::ENABLE_IMAGE;
        self.change_own_image(OP, region, image, |stored, _| match stored.image.state {
            ImageState::Available | ImageState::Disabled => {
                stored.image.state = ImageState::Available;
                Ok(())
            }
            other => Err(incorrect_state(OP, region, image, other)),
        })
        .await
    }

    async fn delete_tags(
        &self,
        region: &Region,
        image: &AmiId,
        keys: &[String],
    ) -> Result<(), CloudError> {
        self.change_own_image(op::DELETE_TAGS, region, image, |stored, _| {
            for key in keys {
                stored.image.tags.remove(key);
            }
            Ok(())
        })
        .await
    }

    async fn image_references(
        &self,
        region: &Region,
        images: &[AmiId],
    ) -> Result<Vec<ImageReference>, CloudError> {
        const OP: &str = op::DESCRIBE_IMAGE_REFERENCES;
        let mut seen = HashSet::new();
        let unique: Vec<&AmiId> = images.iter().filter(|id| seen.insert(*id)).collect();
        let mut found = Vec::new();
        for batch in unique.chunks(REFERENCE_IDS_PER_CALL) {
            self.begin(OP, Some(region)).await?;
            let asked: HashSet<&AmiId> = batch.iter().copied().collect();
            let references = {
                let world = self.read();
                world
                    .regions
                    .get(region)
                    .map(|state| self.references_in(region, state, &asked))
                    .unwrap_or_default()
            };
            self.further_pages(OP, region, references.len(), REFERENCES_PER_PAGE)
                .await?;
            found.extend(references);
        }
        found.sort();
        Ok(found)
    }

    async fn recycle_bin_rules(&self, region: &Region) -> Result<Vec<RecycleBinRule>, CloudError> {
        self.begin(op::LIST_RULES, Some(region)).await?;
        let world = self.read();
        Ok(world
            .regions
            .get(region)
            .map(|r| r.recycle_bin.rules.clone())
            .unwrap_or_default())
    }

    async fn public_snapshots(&self, region: &Region) -> Result<BTreeSet<SnapshotId>, CloudError> {
        const OP: &str = op::DESCRIBE_SNAPSHOTS;
        self.begin(OP, Some(region)).await?;
        let (owned, public) = {
            let world = self.read();
            let Some(state) = world.regions.get(region) else {
                return Ok(BTreeSet::new());
            };
            let owned: Vec<(&SnapshotId, bool)> = state
                .snapshots
                .iter()
                .filter(|(_, s)| s.owner == self.caller)
                .map(|(id, s)| (id, s.public))
                .collect();
            // Blocking all sharing makes every snapshot private while it is on.
            let blocked =
                state.snapshot_block_public_access == SnapshotBlockPublicAccess::BlockAllSharing;
            let public: BTreeSet<SnapshotId> = owned
                .iter()
                .filter(|(_, public)| *public && !blocked)
                .map(|(id, _)| (*id).clone())
                .collect();
            (owned.len(), public)
        };
        self.further_pages(OP, region, owned, self.shared.page_size)
            .await?;
        Ok(public)
    }

    async fn snapshot_block_public_access(
        &self,
        region: &Region,
    ) -> Result<SnapshotBlockPublicAccess, CloudError> {
        self.begin(op::GET_SNAPSHOT_BLOCK_PUBLIC_ACCESS_STATE, Some(region))
            .await?;
        Ok(self
            .read()
            .regions
            .get(region)
            .map(|r| r.snapshot_block_public_access)
            .unwrap_or_default())
    }

    async fn launch_template_images(
        &self,
        region: &Region,
    ) -> Result<Vec<LaunchTemplateImage>, CloudError> {
        const OP: &str = op::DESCRIBE_LAUNCH_TEMPLATE_VERSIONS;
        self.begin(OP, Some(region)).await?;
        let versions: Vec<LaunchTemplateImage> = {
            let world = self.read();
            let templates = world
                .regions
                .get(region)
                .map(|r| r.launch_templates.as_slice());
            templates
                .unwrap_or_default()
                .iter()
                .filter(|t| t.owner == self.caller)
                .flat_map(|t| {
                    t.versions().map(|(version, is_default, image)| {
                        LaunchTemplateImage::new(&t.id, &t.name, version, is_default, image.clone())
                    })
                })
                .collect()
        };
        self.further_pages(OP, region, versions.len(), TEMPLATE_VERSIONS_PER_PAGE)
            .await?;
        Ok(versions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turning_protection_off_keeps_the_cooldown() {
        let now: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap_or_default();
        let until = now + chrono::Duration::hours(24);
        let with = Some(DeregistrationProtection::Enabled { cooldown: true });
        assert_eq!(
            turned_off(with, now),
            DeregistrationProtection::CoolingDown { until }
        );
        let without = Some(DeregistrationProtection::Enabled { cooldown: false });
        assert_eq!(turned_off(without, now), DeregistrationProtection::Disabled);
        let cooling = DeregistrationProtection::CoolingDown { until };
        assert_eq!(turned_off(Some(cooling), now), cooling);
        assert_eq!(
            turned_off(Some(cooling), until),
            DeregistrationProtection::Disabled
        );
        assert_eq!(turned_off(None, now), DeregistrationProtection::Disabled);
    }
}
