//! [`ImageGovernance`] on EC2 and the Recycle Bin: deregistration protection, disabling,
//! tag removal, the references EC2 tracks (DescribeImageReferences), the Recycle Bin's
//! retention rules (ListRules and GetRule), the account's public snapshots and their guard,
//! and the images launch templates name.

use std::collections::BTreeSet;

use amiref_core::{
    AmiId, CloudError, CloudErrorKind, ImageGovernance, ImageReference, LaunchTemplateImage,
    RecycleBinRule, RecycleResource, ReferenceKind, Region, RuleTag, SnapshotBlockPublicAccess,
    SnapshotId,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, SnapshotBlockPublicAccessState};
use aws_sdk_rbin::types as rbin;
use futures::{StreamExt, TryStreamExt};

use crate::catalog::PAGE_SIZE;
use crate::{AwsCloud, error};

/// The most image ids DescribeImageReferences takes in one request (EC2 API Reference:
/// `ImageId.N`, 1 to 10 items).
pub(crate) const REFERENCE_BATCH: usize = 10;

/// The largest page DescribeLaunchTemplateVersions returns (`MaxResults`, 1 to 200).
const TEMPLATE_VERSION_PAGE: i32 = 200;

/// How many requests of one batched read are in flight at once: enough to hide latency,
/// few enough that 10,000 images (1,000 reference batches) do not set off throttling.
const CONCURRENT_REQUESTS: usize = 8;

const DESCRIBE_IMAGE_REFERENCES: &str = "DescribeImageReferences";
const LIST_RULES: &str = "ListRules";
const GET_RULE: &str = "GetRule";

/// An image id EC2 sent that amiref cannot name, or `None` with a debug line.
fn ami_from_ec2(region: &Region, operation: &'static str, raw: Option<&str>) -> Option<AmiId> {
    let raw = raw?;
    match AmiId::new(raw) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::debug!(region = %region, operation, raw, error = %e, "skipping an image id");
            None
        }
    }
}

/// The instance states that make an instance a reference: every state but `terminated`
/// (DescribeImageReferences' default for `ec2:Instance` is every state; a terminated
/// instance stays listed for about an hour and uses nothing).
const LIVE_INSTANCE_STATES: [&str; 5] =
    ["pending", "running", "shutting-down", "stopping", "stopped"];

/// The one resource type whose default scope is narrowed: instances that are not
/// terminated. The other types keep EC2's defaults (for launch templates, the 10 most
/// recent versions of each).
fn live_instances_only() -> ec2::ResourceTypeRequest {
    ec2::ResourceTypeRequest::builder()
        .resource_type(ec2::ImageReferenceResourceType::Ec2Instance)
        .resource_type_options(
            ec2::ResourceTypeOption::builder()
                .option_name(ec2::ImageReferenceOptionName::StateName)
                .set_option_values(Some(LIVE_INSTANCE_STATES.map(str::to_owned).to_vec()))
                .build(),
        )
        .build()
}

/// One DescribeImageReferences answer's references.
fn references_from_ec2(region: &Region, raw: &[ec2::ImageReference]) -> Vec<ImageReference> {
    raw.iter()
        .filter_map(|r| {
            let image = ami_from_ec2(region, DESCRIBE_IMAGE_REFERENCES, r.image_id())?;
            let kind = ReferenceKind::from_ec2(r.resource_type()?.as_str());
            Some(ImageReference::new(
                image,
                kind,
                r.arn().unwrap_or_default(),
            ))
        })
        .collect()
}

/// A Recycle Bin rule's tag as amiref's.
fn rule_tag(tag: &rbin::ResourceTag) -> RuleTag {
    RuleTag::new(
        tag.resource_tag_key(),
        tag.resource_tag_value().map(str::to_owned),
    )
}

/// The retention of a rule in days (the only unit Recycle Bin has), or `None` for a unit or
/// value this version cannot read.
fn retention_days(period: Option<&rbin::RetentionPeriod>) -> Option<u32> {
    let period = period?;
    match period.retention_period_unit() {
        rbin::RetentionPeriodUnit::Days => u32::try_from(period.retention_period_value()).ok(),
        _ => None,
    }
}

/// A rule GetRule described, or `None` for one that retains nothing yet (status `pending`)
/// or that this version cannot read (logged): a rule is only said to keep an image when it
/// surely does.
fn rule_from_rbin(
    region: &Region,
    resource: RecycleResource,
    rule: &aws_sdk_rbin::operation::get_rule::GetRuleOutput,
) -> Option<RecycleBinRule> {
    let id = rule.identifier()?;
    if rule.status() != Some(&rbin::RuleStatus::Available) {
        tracing::debug!(region = %region, rule = id, status = ?rule.status(), "rule not in effect");
        return None;
    }
    let Some(days) = retention_days(rule.retention_period()) else {
        tracing::warn!(region = %region, rule = id, "rule with an unreadable retention period");
        return None;
    };
    let mut out = RecycleBinRule::region_level(id, resource, days);
    out.resource_tags = rule.resource_tags().iter().map(rule_tag).collect();
    out.exclude_tags = rule.exclude_resource_tags().iter().map(rule_tag).collect();
    out.locked = matches!(
        rule.lock_state(),
        Some(rbin::LockState::Locked | rbin::LockState::PendingUnlock)
    );
    Some(out)
}

/// EC2's snapshot block public access state as amiref's.
fn snapshot_guard_from_ec2(
    region: &Region,
    state: Option<&SnapshotBlockPublicAccessState>,
) -> Result<SnapshotBlockPublicAccess, CloudError> {
    match state {
        Some(SnapshotBlockPublicAccessState::BlockAllSharing) => {
            Ok(SnapshotBlockPublicAccess::BlockAllSharing)
        }
        Some(SnapshotBlockPublicAccessState::BlockNewSharing) => {
            Ok(SnapshotBlockPublicAccess::BlockNewSharing)
        }
        Some(SnapshotBlockPublicAccessState::Unblocked) => Ok(SnapshotBlockPublicAccess::Unblocked),
        // Reporting an unknown state as "unblocked" would be a false finding, and as
        // "blocked" a false assurance: it is an error that names the value.
        other => Err(CloudError::new(
            CloudErrorKind::Service,
            "GetSnapshotBlockPublicAccessState",
            format!(
                "the service answered with a state this version does not know: {:?}",
                other.map(SnapshotBlockPublicAccessState::as_str)
            ),
        )
        .in_region(region)),
    }
}

/// The launch template versions' images, each (template, version) once: EC2 may answer the
/// same version twice when it is both the default and the latest.
fn template_images_from_ec2(
    region: &Region,
    versions: &[ec2::LaunchTemplateVersion],
) -> Vec<LaunchTemplateImage> {
    let mut seen = BTreeSet::new();
    versions
        .iter()
        .filter_map(|v| {
            let id = v.launch_template_id()?;
            let number = u64::try_from(v.version_number()?).ok()?;
            if !seen.insert((id.to_owned(), number)) {
                return None;
            }
            // A version may launch no image, or (where ResolveAlias is not honoured) name it
            // through an SSM parameter (`resolve:ssm:...`), which is no image id.
            let raw = v.launch_template_data()?.image_id();
            let image = ami_from_ec2(region, "DescribeLaunchTemplateVersions", raw)?;
            Some(LaunchTemplateImage::new(
                id,
                v.launch_template_name().unwrap_or_default(),
                number,
                v.default_version().unwrap_or(false),
                image,
            ))
        })
        .collect()
}

/// `Err` when an EC2 action answered `Return=false` (it did nothing).
fn returned_true(
    operation: &'static str,
    region: &Region,
    image: &AmiId,
    answer: Option<bool>,
) -> Result<(), CloudError> {
    if answer == Some(false) {
        return Err(CloudError::new(
            CloudErrorKind::Service,
            operation,
            format!("the service answered that {image} was not changed"),
        )
        .in_region(region));
    }
    Ok(())
}

impl AwsCloud {
    /// The rules of one resource type: ListRules (which names no tags), then GetRule for
    /// each. A rule deleted between the two calls is left out.
    async fn rules_of(
        &self,
        region: &Region,
        resource: RecycleResource,
    ) -> Result<Vec<RecycleBinRule>, CloudError> {
        let client = self.clients.rbin(region);
        let kind = match resource {
            RecycleResource::Snapshot => rbin::ResourceType::EbsSnapshot,
            _ => rbin::ResourceType::Ec2Image,
        };
        let summaries: Vec<rbin::RuleSummary> = client
            .list_rules()
            .resource_type(kind)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk(LIST_RULES, Some(region), e))?;
        let ids: Vec<String> = summaries
            .iter()
            .filter_map(|s| s.identifier().map(str::to_owned))
            .collect();
        let described: Vec<Option<RecycleBinRule>> = futures::stream::iter(ids)
            .map(|id| {
                let client = client.clone();
                async move {
                    match client.get_rule().identifier(&id).send().await {
                        Ok(rule) => Ok(rule_from_rbin(region, resource, &rule)),
                        Err(e) => {
                            let e = error::from_sdk(GET_RULE, Some(region), e);
                            if e.kind == CloudErrorKind::NotFound {
                                Ok(None)
                            } else {
                                Err(e)
                            }
                        }
                    }
                }
            })
            .buffered(CONCURRENT_REQUESTS)
            .try_collect()
            .await?;
        Ok(described.into_iter().flatten().collect())
    }
}

#[async_trait]
impl ImageGovernance for AwsCloud {
    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    async fn enable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
        with_cooldown: bool,
    ) -> Result<(), CloudError> {
        self.clients
            .ec2(region)
            .enable_image_deregistration_protection()
            .image_id(image.as_str())
            .with_cooldown(with_cooldown)
            .send()
            .await
            .map_err(|e| error::from_sdk("EnableImageDeregistrationProtection", Some(region), e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    async fn disable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<(), CloudError> {
        self.clients
            .ec2(region)
            .disable_image_deregistration_protection()
            .image_id(image.as_str())
            .send()
            .await
            .map_err(|e| {
                error::from_sdk("DisableImageDeregistrationProtection", Some(region), e)
            })?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    async fn disable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        let out = self
            .clients
            .ec2(region)
            .disable_image()
            .image_id(image.as_str())
            .send()
            .await
            .map_err(|e| error::from_sdk("DisableImage", Some(region), e))?;
        returned_true("DisableImage", region, image, out.r#return())
    }

    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    async fn enable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        let out = self
            .clients
            .ec2(region)
            .enable_image()
            .image_id(image.as_str())
            .send()
            .await
            .map_err(|e| error::from_sdk("EnableImage", Some(region), e))?;
        returned_true("EnableImage", region, image, out.r#return())
    }

    #[tracing::instrument(skip(self, keys), fields(region = %region, image = %image))]
    async fn delete_tags(
        &self,
        region: &Region,
        image: &AmiId,
        keys: &[String],
    ) -> Result<(), CloudError> {
        // DeleteTags without tags deletes every tag of the resource: no keys, no call.
        if keys.is_empty() {
            return Ok(());
        }
        // A tag named by its key alone is deleted whatever its value.
        let tags: Vec<ec2::Tag> = keys
            .iter()
            .map(|k| ec2::Tag::builder().key(k).build())
            .collect();
        self.clients
            .ec2(region)
            .delete_tags()
            .resources(image.as_str())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error::from_sdk("DeleteTags", Some(region), e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self, images), fields(region = %region, images = images.len()))]
    async fn image_references(
        &self,
        region: &Region,
        images: &[AmiId],
    ) -> Result<Vec<ImageReference>, CloudError> {
        let unique: Vec<String> = images
            .iter()
            .map(|i| i.as_str().to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let client = self.clients.ec2(region);
        let batches: Vec<Vec<ec2::ImageReference>> =
            futures::stream::iter(unique.chunks(REFERENCE_BATCH).map(<[String]>::to_vec))
                .map(|chunk| {
                    client
                        .describe_image_references()
                        .set_image_ids(Some(chunk))
                        .include_all_resource_types(true)
                        .resource_types(live_instances_only())
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                })
                .buffered(CONCURRENT_REQUESTS)
                .try_collect()
                .await
                .map_err(|e| error::from_sdk(DESCRIBE_IMAGE_REFERENCES, Some(region), e))?;
        let mut references: Vec<ImageReference> = batches
            .iter()
            .flat_map(|b| references_from_ec2(region, b))
            .collect();
        references.sort();
        references.dedup();
        tracing::debug!(found = references.len(), "read image references");
        Ok(references)
    }

    #[tracing::instrument(skip(self), fields(region = %region))]
    async fn recycle_bin_rules(&self, region: &Region) -> Result<Vec<RecycleBinRule>, CloudError> {
        let (images, snapshots) = futures::try_join!(
            self.rules_of(region, RecycleResource::Image),
            self.rules_of(region, RecycleResource::Snapshot),
        )?;
        Ok(images.into_iter().chain(snapshots).collect())
    }

    #[tracing::instrument(skip(self), fields(region = %region))]
    async fn public_snapshots(&self, region: &Region) -> Result<BTreeSet<SnapshotId>, CloudError> {
        // The caller's own snapshots (`self`) that `all` may restore: the publicly
        // restorable ones, in one paginated listing rather than an attribute read each.
        let snapshots: Vec<ec2::Snapshot> = self
            .clients
            .ec2(region)
            .describe_snapshots()
            .owner_ids("self")
            .restorable_by_user_ids("all")
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("DescribeSnapshots", Some(region), e))?;
        Ok(snapshots
            .iter()
            .filter_map(|s| SnapshotId::new(s.snapshot_id()?).ok())
            .collect())
    }

    #[tracing::instrument(skip(self), fields(region = %region))]
    async fn snapshot_block_public_access(
        &self,
        region: &Region,
    ) -> Result<SnapshotBlockPublicAccess, CloudError> {
        let out = self
            .clients
            .ec2(region)
            .get_snapshot_block_public_access_state()
            .send()
            .await
            .map_err(|e| error::from_sdk("GetSnapshotBlockPublicAccessState", Some(region), e))?;
        snapshot_guard_from_ec2(region, out.state())
    }

    #[tracing::instrument(skip(self), fields(region = %region))]
    async fn launch_template_images(
        &self,
        region: &Region,
    ) -> Result<Vec<LaunchTemplateImage>, CloudError> {
        // `$Latest` and `$Default` without a template id or name describe those versions of
        // every launch template in the account and region: one paginated listing, not a
        // DescribeLaunchTemplates followed by one call per template.
        let versions: Vec<ec2::LaunchTemplateVersion> = self
            .clients
            .ec2(region)
            .describe_launch_template_versions()
            .versions("$Latest")
            .versions("$Default")
            // A version that names its image through an SSM parameter answers the image the
            // parameter names now, not `resolve:ssm:...`.
            .resolve_alias(true)
            .max_results(TEMPLATE_VERSION_PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("DescribeLaunchTemplateVersions", Some(region), e))?;
        Ok(template_images_from_ec2(region, &versions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        "eu-west-1".parse().unwrap()
    }

    #[test]
    fn references_keep_their_kind_and_skip_unnamed_images() {
        let raw = [
            ec2::ImageReference::builder()
                .image_id("ami-0123456789abcdef0")
                .resource_type(ec2::ImageReferenceResourceType::SsmParameter)
                .arn("arn:aws:ssm:eu-west-1:123456789012:parameter/golden")
                .build(),
            ec2::ImageReference::builder()
                .image_id("ami-0123456789abcdef0")
                .resource_type(ec2::ImageReferenceResourceType::from("ec2:NewThing"))
                .arn("arn:aws:ec2:eu-west-1:123456789012:new-thing/x")
                .build(),
            ec2::ImageReference::builder()
                .image_id("not-an-image")
                .resource_type(ec2::ImageReferenceResourceType::Ec2Instance)
                .build(),
        ];
        let got = references_from_ec2(&region(), &raw);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].kind, ReferenceKind::SsmParameter);
        assert_eq!(got[1].kind, ReferenceKind::Other("ec2:NewThing".into()));
    }

    #[test]
    fn rules_in_effect_are_read_with_tags_and_lock() {
        let rule = |status: rbin::RuleStatus, unit: &str| {
            aws_sdk_rbin::operation::get_rule::GetRuleOutput::builder()
                .identifier("rule-1")
                .status(status)
                .retention_period(
                    rbin::RetentionPeriod::builder()
                        .retention_period_value(7)
                        .retention_period_unit(rbin::RetentionPeriodUnit::from(unit))
                        .build()
                        .unwrap(),
                )
                .resource_tags(
                    rbin::ResourceTag::builder()
                        .resource_tag_key("team")
                        .resource_tag_value("hpc")
                        .build()
                        .unwrap(),
                )
                .lock_state(rbin::LockState::PendingUnlock)
                .build()
        };
        let got = rule_from_rbin(
            &region(),
            RecycleResource::Image,
            &rule(rbin::RuleStatus::Available, "DAYS"),
        )
        .unwrap();
        assert_eq!(got.retention_days, 7);
        assert_eq!(
            got.resource_tags,
            vec![RuleTag::new("team", Some("hpc".into()))]
        );
        assert!(got.locked);
        for (status, unit) in [
            (rbin::RuleStatus::Pending, "DAYS"),
            (rbin::RuleStatus::Available, "WEEKS"),
        ] {
            assert_eq!(
                rule_from_rbin(&region(), RecycleResource::Image, &rule(status, unit)),
                None
            );
        }
    }

    #[test]
    fn an_unknown_snapshot_guard_is_an_error_naming_it() {
        let odd = SnapshotBlockPublicAccessState::from("block-some");
        let err = snapshot_guard_from_ec2(&region(), Some(&odd)).unwrap_err();
        assert!(err.message.contains("block-some"), "{err}");
        assert_eq!(
            snapshot_guard_from_ec2(
                &region(),
                Some(&SnapshotBlockPublicAccessState::BlockNewSharing)
            )
            .unwrap(),
            SnapshotBlockPublicAccess::BlockNewSharing
        );
    }
}
