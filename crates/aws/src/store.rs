//! [`ImageStore`]: create, copy, share, deprecate, tag and retire images; and waiting for
//! an image to become available.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, CloudError, CloudErrorKind, CopyImageRequest, CreateImageRequest, Image,
    ImageState, ImageStore, ImageUsage, InstanceId, LaunchPermission, Region, SnapshotId,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    CreateVolumePermission, CreateVolumePermissionModifications, ImageAttributeName,
    LaunchPermissionModifications, ResourceType, SnapshotAttributeName, TagSpecification,
};
use aws_smithy_types::retry::RetryConfig;
use chrono::{DateTime, Utc};

use crate::catalog::{PAGE_SIZE, filter};
use crate::{AwsCloud, error, mapping};

/// The tag naming the image a copy was made from.
pub const PROVENANCE_SOURCE_IMAGE_TAG: &str = "amiref:source-image";
/// The tag naming the region a copy was made from.
pub const PROVENANCE_SOURCE_REGION_TAG: &str = "amiref:source-region";
/// The tag holding the client token a copy was made with.
pub const PROVENANCE_TOKEN_TAG: &str = "amiref:copy-token";

/// EC2's limit on a client token's length.
const MAX_CLIENT_TOKEN: usize = 64;

/// The first and the longest pause between two looks at a pending image.
const FIRST_POLL: Duration = Duration::from_secs(2);
const LONGEST_POLL: Duration = Duration::from_secs(30);

/// A per-call override that sends a call exactly once: for calls that are not idempotent.
pub(crate) fn no_retries() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// A CopyImage failure with the kind its reason has. EC2 answers the refusals of a copy with
/// generic codes (`InvalidRequest`) and says why only in the message: no create-volume
/// permission on the source's snapshots ("You do not have permission to access the storage
/// of this ami") is [`CloudErrorKind::AccessDenied`]; a billing product of another account
/// ("...BillingProduct...") or an AWS Marketplace image is [`CloudErrorKind::NotPermitted`],
/// as amiref-memory and the conformance suites say. The code is kept.
pub(crate) fn copy_refusal(mut err: CloudError) -> CloudError {
    if !matches!(
        err.kind,
        CloudErrorKind::InvalidRequest | CloudErrorKind::Service
    ) {
        return err;
    }
    let message = err.message.to_ascii_lowercase();
    if message.contains("permission to access the storage") {
        err.kind = CloudErrorKind::AccessDenied;
    } else if message.contains("billingproduct")
        || message.contains("billing product")
        || message.contains("marketplace")
    {
        err.kind = CloudErrorKind::NotPermitted;
    }
    err
}

/// The tags that record where a copy came from.
pub(crate) fn provenance_tags(request: &CopyImageRequest) -> BTreeMap<String, String> {
    let mut tags = request.tags.clone();
    tags.insert(
        PROVENANCE_SOURCE_IMAGE_TAG.to_owned(),
        request.source_image.as_str().to_owned(),
    );
    tags.insert(
        PROVENANCE_SOURCE_REGION_TAG.to_owned(),
        request.source_region.as_str().to_owned(),
    );
    tags.insert(
        PROVENANCE_TOKEN_TAG.to_owned(),
        request.client_token.clone(),
    );
    tags
}

fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(mapping::tags_to_ec2(tags)))
        .build()
}

impl AwsCloud {
    /// A copy of the same source with the same token that already exists (pending or
    /// available) in the destination, the newest first.
    async fn existing_copy(&self, request: &CopyImageRequest) -> Result<Option<AmiId>, CloudError> {
        let region = &request.destination_region;
        let found = self
            .clients
            .ec2(region)
            .describe_images()
            .owners("self")
            .filters(filter(
                format!("tag:{PROVENANCE_SOURCE_IMAGE_TAG}"),
                [request.source_image.as_str().to_owned()],
            ))
            .filters(filter(
                format!("tag:{PROVENANCE_TOKEN_TAG}"),
                [request.client_token.clone()],
            ))
            .filters(filter(
                "state",
                ["pending".to_owned(), "available".to_owned()],
            ))
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("DescribeImages", Some(region), e))?;
        let mut images = mapping::images_from_ec2(region, found.iter());
        images.sort_by_key(|i| std::cmp::Reverse(i.creation_date));
        Ok(images.into_iter().next().map(|i| i.id))
    }

    /// Waits until `image` in `region` is available and returns it, looking at it with a
    /// growing pause (2 s up to 30 s), for at most `timeout`.
    ///
    /// Fails with [`CloudErrorKind::Timeout`] when the deadline passes first, and with
    /// [`CloudErrorKind::NotPermitted`] as soon as the image fails (state `failed`, `error`,
    /// `invalid`, `deregistered` or `disabled`). An image not yet visible (EC2 is eventually
    /// consistent right after a copy) is waited for like a pending one.
    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    pub async fn wait_until_available(
        &self,
        region: &Region,
        image: &AmiId,
        timeout: Duration,
    ) -> Result<Image, CloudError> {
        // Checked: a timeout past the clock's range waits without a deadline.
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        let mut pause = FIRST_POLL;
        let mut last_state = None;
        loop {
            // Disabled images too: one disabled while waited for fails at once.
            let found = self
                .describe_by_id(region, std::slice::from_ref(image), true)
                .await?;
            if let Some(current) = found.into_iter().next() {
                match current.state {
                    ImageState::Available => return Ok(current),
                    ImageState::Pending | ImageState::Transient => {}
                    failed => {
                        return Err(CloudError::new(
                            CloudErrorKind::NotPermitted,
                            "DescribeImages",
                            format!("{image} will never be available: it is {failed}"),
                        )
                        .in_region(region));
                    }
                }
                last_state = Some(current.state);
            }
            let now = tokio::time::Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                let seen =
                    last_state.map_or_else(|| "never visible".to_owned(), |s| format!("still {s}"));
                return Err(CloudError::new(
                    CloudErrorKind::Timeout,
                    "DescribeImages",
                    format!("{image} was not available within {timeout:?} ({seen})"),
                )
                .in_region(region));
            }
            tracing::debug!(state = ?last_state, ?pause, "image not available yet");
            let left = deadline.map_or(pause, |d| d - now);
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(LONGEST_POLL);
        }
    }

    async fn modify_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
        add: bool,
    ) -> Result<(), CloudError> {
        if permissions.is_empty() {
            return Ok(());
        }
        let list: Vec<_> = permissions.iter().map(mapping::permission_to_ec2).collect();
        let modifications = if add {
            LaunchPermissionModifications::builder().set_add(Some(list))
        } else {
            LaunchPermissionModifications::builder().set_remove(Some(list))
        }
        .build();
        self.clients
            .ec2(region)
            .modify_image_attribute()
            .image_id(image.as_str())
            .launch_permission(modifications)
            .send()
            .await
            .map_err(|e| error::from_sdk("ModifyImageAttribute", Some(region), e))?;
        Ok(())
    }
}

#[async_trait]
impl ImageStore for AwsCloud {
    #[tracing::instrument(skip(self, request), fields(region = %region, instance = %request.instance))]
    async fn create_image(
        &self,
        region: &Region,
        request: &CreateImageRequest,
    ) -> Result<AmiId, CloudError> {
        let mut call = self
            .clients
            .ec2(region)
            .create_image()
            .instance_id(request.instance.as_str())
            .name(&request.name)
            .set_description(request.description.clone())
            .no_reboot(request.no_reboot);
        if !request.tags.is_empty() {
            call = call
                .tag_specifications(tag_spec(ResourceType::Image, &request.tags))
                .tag_specifications(tag_spec(ResourceType::Snapshot, &request.tags));
        }
        // CreateImage has no client token: a retry after a lost answer could start a second
        // image, so it is sent once.
        let out = call
            .customize()
            .config_override(no_retries())
            .send()
            .await
            .map_err(|e| error::from_sdk("CreateImage", Some(region), e))?;
        parse_ami("CreateImage", region, out.image_id())
    }

    #[tracing::instrument(skip(self, request), fields(
        from = %request.source_region, image = %request.source_image, to = %request.destination_region
    ))]
    async fn copy_image(&self, request: &CopyImageRequest) -> Result<AmiId, CloudError> {
        let region = &request.destination_region;
        let token = &request.client_token;
        if token.is_empty() || token.len() > MAX_CLIENT_TOKEN || !token.is_ascii() {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                "CopyImage",
                format!(
                    "client token {token:?}: expected 1 to {MAX_CLIENT_TOKEN} ASCII characters"
                ),
            )
            .in_region(region));
        }
        if let Some(existing) = self.existing_copy(request).await? {
            tracing::info!(copy = %existing, "a copy with this token already exists");
            return Ok(existing);
        }
        let tags = provenance_tags(request);
        let out = self
            .clients
            .ec2(region)
            .copy_image()
            .source_region(request.source_region.as_str())
            .source_image_id(request.source_image.as_str())
            .name(&request.name)
            .set_description(request.description.clone())
            .client_token(token)
            .encrypted(request.encrypted)
            .set_kms_key_id(request.kms_key_id.clone())
            .tag_specifications(tag_spec(ResourceType::Image, &tags))
            // Sent only when asked: `CopyImageTags=false` is EC2's default anyway.
            .set_copy_image_tags(request.copy_image_tags.then_some(true))
            .set_snapshot_copy_completion_duration_minutes(
                request.completion_duration_minutes.map(i64::from),
            )
            .send()
            .await
            .map_err(|e| copy_refusal(error::from_sdk("CopyImage", Some(region), e)))?;
        let copy = parse_ami("CopyImage", region, out.image_id())?;
        // Tag again: emulators drop CopyImage's tag specifications, and without the tags a
        // repeat could not find this copy. On EC2 this rewrites the same tags.
        if let Err(e) = self.create_tags(region, &copy, &tags).await {
            tracing::warn!(copy = %copy, error = %e, "could not tag the copy with its provenance");
        }
        Ok(copy)
    }

    async fn launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Vec<LaunchPermission>, CloudError> {
        let out = self
            .clients
            .ec2(region)
            .describe_image_attribute()
            .image_id(image.as_str())
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .map_err(|e| error::from_sdk("DescribeImageAttribute", Some(region), e))?;
        Ok(out
            .launch_permissions()
            .iter()
            .filter_map(mapping::permission_from_ec2)
            .collect())
    }

    async fn add_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        self.modify_launch_permissions(region, image, permissions, true)
            .await
    }

    async fn remove_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        self.modify_launch_permissions(region, image, permissions, false)
            .await
    }

    async fn modify_snapshot_permissions(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
        accounts: &[AccountId],
        add: bool,
    ) -> Result<(), CloudError> {
        if accounts.is_empty() {
            return Ok(());
        }
        let client = self.clients.ec2(region);
        let permissions: Vec<_> = accounts
            .iter()
            .map(|a| {
                CreateVolumePermission::builder()
                    .user_id(a.as_str())
                    .build()
            })
            .collect();
        for snapshot in snapshots {
            let modifications = if add {
                CreateVolumePermissionModifications::builder().set_add(Some(permissions.clone()))
            } else {
                CreateVolumePermissionModifications::builder().set_remove(Some(permissions.clone()))
            }
            .build();
            client
                .modify_snapshot_attribute()
                .snapshot_id(snapshot.as_str())
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .create_volume_permission(modifications)
                .send()
                .await
                .map_err(|e| error::from_sdk("ModifySnapshotAttribute", Some(region), e))?;
        }
        Ok(())
    }

    async fn image_block_public_access(&self, region: &Region) -> Result<bool, CloudError> {
        let out = self
            .clients
            .ec2(region)
            .get_image_block_public_access_state()
            .send()
            .await
            .map_err(|e| error::from_sdk("GetImageBlockPublicAccessState", Some(region), e))?;
        Ok(out.image_block_public_access_state() == Some("block-new-sharing"))
    }

    async fn enable_deprecation(
        &self,
        region: &Region,
        image: &AmiId,
        at: DateTime<Utc>,
    ) -> Result<(), CloudError> {
        self.clients
            .ec2(region)
            .enable_image_deprecation()
            .image_id(image.as_str())
            .deprecate_at(aws_smithy_types::DateTime::from_secs(at.timestamp()))
            .send()
            .await
            .map_err(|e| error::from_sdk("EnableImageDeprecation", Some(region), e))?;
        Ok(())
    }

    async fn disable_deprecation(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        self.clients
            .ec2(region)
            .disable_image_deprecation()
            .image_id(image.as_str())
            .send()
            .await
            .map_err(|e| error::from_sdk("DisableImageDeprecation", Some(region), e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    async fn deregister_image(
        &self,
        region: &Region,
        image: &AmiId,
        delete_snapshots: bool,
    ) -> Result<(), CloudError> {
        // The snapshots are learnt before deregistering: afterwards the image is gone. A
        // disabled image (the first step of a retirement) is described too.
        let snapshots: Vec<SnapshotId> = if delete_snapshots {
            let found = self
                .describe_by_id(region, std::slice::from_ref(image), true)
                .await?;
            let described = found.into_iter().next().ok_or_else(|| {
                CloudError::not_found("DeregisterImage", format!("{image} does not exist"))
                    .in_region(region)
                    .with_code("InvalidAMIID.NotFound")
            })?;
            described.snapshot_ids().cloned().collect()
        } else {
            Vec::new()
        };
        let client = self.clients.ec2(region);
        client
            .deregister_image()
            .image_id(image.as_str())
            .send()
            .await
            .map_err(|e| error::from_sdk("DeregisterImage", Some(region), e))?;
        for snapshot in &snapshots {
            match client
                .delete_snapshot()
                .snapshot_id(snapshot.as_str())
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) => {
                    let mut e = error::from_sdk("DeleteSnapshot", Some(region), e);
                    // Deleted already (by a repeat, or by EC2 itself): the goal is reached.
                    if e.kind != CloudErrorKind::NotFound {
                        e.message = format!(
                            "{image} was deregistered but its snapshot {snapshot} was not \
                             deleted: {}",
                            e.message
                        );
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    async fn create_tags(
        &self,
        region: &Region,
        image: &AmiId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        if tags.is_empty() {
            return Ok(());
        }
        self.clients
            .ec2(region)
            .create_tags()
            .resources(image.as_str())
            .set_tags(Some(mapping::tags_to_ec2(tags)))
            .send()
            .await
            .map_err(|e| error::from_sdk("CreateTags", Some(region), e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(region = %region, image = %image))]
    async fn image_usage(&self, region: &Region, image: &AmiId) -> Result<ImageUsage, CloudError> {
        let client = self.clients.ec2(region);
        let reservations = client
            .describe_instances()
            .filters(filter("image-id", [image.as_str().to_owned()]))
            .filters(filter(
                "instance-state-name",
                ["pending", "running", "shutting-down", "stopping", "stopped"].map(str::to_owned),
            ))
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("DescribeInstances", Some(region), e))?;
        let mut usage = ImageUsage::default();
        usage.instances = reservations
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| InstanceId::new(i.instance_id()?).ok())
            .collect();
        let versions = client
            .describe_launch_template_versions()
            .versions("$Latest")
            .versions("$Default")
            .filters(filter("image-id", [image.as_str().to_owned()]))
            .max_results(200)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("DescribeLaunchTemplateVersions", Some(region), e))?;
        let mut templates: Vec<String> = versions
            .iter()
            .filter_map(|v| {
                v.launch_template_name()
                    .or(v.launch_template_id())
                    .map(str::to_owned)
            })
            .collect();
        templates.sort();
        templates.dedup();
        usage.launch_templates = templates;
        Ok(usage)
    }
}

/// The image id an operation answered with, checked.
fn parse_ami(
    operation: &'static str,
    region: &Region,
    id: Option<&str>,
) -> Result<AmiId, CloudError> {
    let id = id.unwrap_or_default();
    AmiId::new(id).map_err(|e| {
        CloudError::new(
            CloudErrorKind::Service,
            operation,
            format!("the service answered with an unusable image id: {e}"),
        )
        .in_region(region)
    })
}
