//! [`ImageGovernance`]: SCAFFOLDING written by the lead so the tree compiles; the owner of
//! this crate replaces every method with the real behaviour.

use std::collections::BTreeSet;

use amiref_core::{
    AmiId, CloudError, CloudErrorKind, ImageGovernance, ImageReference, LaunchTemplateImage,
    RecycleBinRule, Region, SnapshotBlockPublicAccess, SnapshotId,
};
use async_trait::async_trait;

use crate::AwsCloud;

fn not_yet(operation: &'static str) -> CloudError {
    CloudError::new(CloudErrorKind::Service, operation, "not implemented yet")
}

#[async_trait]
impl ImageGovernance for AwsCloud {
    async fn enable_deregistration_protection(
        &self,
        _region: &Region,
        _image: &AmiId,
        _with_cooldown: bool,
    ) -> Result<(), CloudError> {
        Err(not_yet("EnableImageDeregistrationProtection"))
    }

    async fn disable_deregistration_protection(
        &self,
        _region: &Region,
        _image: &AmiId,
    ) -> Result<(), CloudError> {
        Err(not_yet("DisableImageDeregistrationProtection"))
    }

    async fn disable_image(&self, _region: &Region, _image: &AmiId) -> Result<(), CloudError> {
        Err(not_yet("DisableImage"))
    }

    async fn enable_image(&self, _region: &Region, _image: &AmiId) -> Result<(), CloudError> {
        Err(not_yet("EnableImage"))
    }

    async fn delete_tags(
        &self,
        _region: &Region,
        _image: &AmiId,
        _keys: &[String],
    ) -> Result<(), CloudError> {
        Err(not_yet("DeleteTags"))
    }

    async fn image_references(
        &self,
        _region: &Region,
        _images: &[AmiId],
    ) -> Result<Vec<ImageReference>, CloudError> {
        Err(not_yet("DescribeImageReferences"))
    }

    async fn recycle_bin_rules(&self, _region: &Region) -> Result<Vec<RecycleBinRule>, CloudError> {
        Err(not_yet("ListRules"))
    }

    async fn public_snapshots(&self, _region: &Region) -> Result<BTreeSet<SnapshotId>, CloudError> {
        Err(not_yet("DescribeSnapshots"))
    }

    async fn snapshot_block_public_access(
        &self,
        _region: &Region,
    ) -> Result<SnapshotBlockPublicAccess, CloudError> {
        Err(not_yet("GetSnapshotBlockPublicAccessState"))
    }

    async fn launch_template_images(
        &self,
        _region: &Region,
    ) -> Result<Vec<LaunchTemplateImage>, CloudError> {
        Err(not_yet("DescribeLaunchTemplateVersions"))
    }
}
