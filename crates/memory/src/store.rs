//! `ImageStore`: creating, copying, sharing, deprecating and removing images, as EC2 does.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AccountId, AmiId, BlockDevice, CloudError, CopyImageRequest, CreateImageRequest, Image,
    ImageState, ImageStore, ImageUsage, LaunchPermission, Region, SnapshotId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::cloud::{MemoryCloud, ec2_error};
use crate::knobs::op;
use crate::state::{RegionState, Snapshot, StoredImage, WorldData};

/// EC2's rule for image names: 3 to 128 characters of letters, digits and `()[] ./-'@_`.
fn valid_image_name(name: &str) -> bool {
    (3..=128).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c))
}

/// Files a new image and its new snapshots in `state`, all owned by `owner` and shared
/// with no one: what CreateImage and CopyImage both leave behind while the image is pending.
fn file_unshared(
    state: &mut RegionState,
    owner: &AccountId,
    image: Image,
    snapshots: impl IntoIterator<Item = (SnapshotId, BTreeMap<String, String>)>,
    fails: bool,
) {
    for (snapshot, tags) in snapshots {
        let mut stored = Snapshot::private(owner.clone());
        stored.tags = tags;
        state.snapshots.insert(snapshot, stored);
    }
    state.insert_image(StoredImage {
        image,
        launch_permissions: BTreeSet::new(),
        fails,
    });
}

fn check_name(
    world: &WorldData,
    operation: &'static str,
    region: &Region,
    owner: &AccountId,
    name: &str,
) -> Result<(), CloudError> {
    if !valid_image_name(name) {
        return Err(ec2_error::invalid(
            operation,
            region,
            "InvalidAMIName.Malformed",
            format!(
                "AMI name {name:?} is invalid: 3 to 128 letters, digits, spaces and ()[]./-'@_"
            ),
        ));
    }
    if let Some(other) = world
        .regions
        .get(region)
        .and_then(|r| r.image_named(owner, name))
    {
        return Err(ec2_error::invalid(
            operation,
            region,
            "InvalidAMIName.Duplicate",
            format!("AMI name {name} is already in use by AMI {other}"),
        ));
    }
    Ok(())
}

impl MemoryCloud {
    /// The caller's own image, for the operations only an owner may do.
    pub(crate) fn owned_image<'w>(
        &self,
        world: &'w mut WorldData,
        operation: &'static str,
        region: &Region,
        image: &AmiId,
    ) -> Result<&'w mut StoredImage, CloudError> {
        let who = world.identity_of(&self.caller);
        let stored = world
            .regions
            .get_mut(region)
            .and_then(|r| r.images.get_mut(image))
            .filter(|s| s.visible_to(&who))
            .ok_or_else(|| ec2_error::image_not_found(operation, region, image))?;
        if stored.image.owner != self.caller {
            return Err(ec2_error::not_owner(operation, region, image));
        }
        Ok(stored)
    }
}

#[async_trait]
impl ImageStore for MemoryCloud {
    async fn create_image(
        &self,
        region: &Region,
        request: &CreateImageRequest,
    ) -> Result<AmiId, CloudError> {
        const OP: &str = op::CREATE_IMAGE;
        let now = self.begin(OP, Some(region)).await?;
        crate::tagging::check_tags(OP, region, &request.tags)?;
        let fails = self.knobs().take_failing_image(OP);
        let created = self.create_from_instance(region, request, now, fails);
        if fails && created.is_err() {
            self.knobs().give_back_failing_image(OP);
        }
        created
    }

    async fn copy_image(&self, request: &CopyImageRequest) -> Result<AmiId, CloudError> {
        const OP: &str = op::COPY_IMAGE;
        let now = self.begin(OP, Some(&request.destination_region)).await?;
        let fails = self.knobs().take_failing_image(OP);
        let copied = self.copy_locked(request, now, fails);
        if fails && !matches!(copied, Ok((_, true))) {
            self.knobs().give_back_failing_image(OP);
        }
        copied.map(|(id, _)| id)
    }
    async fn launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Vec<LaunchPermission>, CloudError> {
        const OP: &str = op::DESCRIBE_IMAGE_ATTRIBUTE;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let stored = self.owned_image(&mut world, OP, region, image)?;
        Ok(stored.launch_permissions.iter().cloned().collect())
    }

    async fn add_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        const OP: &str = op::MODIFY_IMAGE_ATTRIBUTE;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let blocked = world
            .regions
            .get(region)
            .is_some_and(|r| r.block_public_access);
        let stored = self.owned_image(&mut world, OP, region, image)?;
        if stored.image.state == ImageState::Disabled {
            return Err(ec2_error::not_permitted(
                OP,
                region,
                "OperationNotPermitted",
                format!("The image {image} is disabled and cannot be shared: enable it first"),
            ));
        }
        if blocked && permissions.contains(&LaunchPermission::Public) {
            return Err(ec2_error::not_permitted(
                OP,
                region,
                "OperationNotPermitted",
                "Image block public access is enabled in this region: the image cannot be made public",
            ));
        }
        stored
            .launch_permissions
            .extend(permissions.iter().cloned());
        stored.image.public = stored
            .launch_permissions
            .contains(&LaunchPermission::Public);
        Ok(())
    }

    async fn remove_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        const OP: &str = op::MODIFY_IMAGE_ATTRIBUTE;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let stored = self.owned_image(&mut world, OP, region, image)?;
        for permission in permissions {
            stored.launch_permissions.remove(permission);
        }
        stored.image.public = stored
            .launch_permissions
            .contains(&LaunchPermission::Public);
        Ok(())
    }

    async fn modify_snapshot_permissions(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
        accounts: &[AccountId],
        add: bool,
    ) -> Result<(), CloudError> {
        const OP: &str = op::MODIFY_SNAPSHOT_ATTRIBUTE;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let state = world.regions.entry(region.clone()).or_default();
        for id in snapshots {
            match state.snapshots.get(id) {
                None => {
                    return Err(CloudError::not_found(
                        OP,
                        format!("The snapshot '{id}' does not exist."),
                    )
                    .in_region(region)
                    .with_code("InvalidSnapshot.NotFound"));
                }
                Some(s) if s.owner != self.caller => {
                    return Err(CloudError::new(
                        amiref_core::CloudErrorKind::AccessDenied,
                        OP,
                        format!("Not authorized for snapshot:{id}"),
                    )
                    .in_region(region)
                    .with_code("AuthFailure"));
                }
                Some(_) => {}
            }
        }
        for id in snapshots {
            if let Some(snapshot) = state.snapshots.get_mut(id) {
                for account in accounts {
                    if add {
                        snapshot.create_volume_permissions.insert(account.clone());
                    } else {
                        snapshot.create_volume_permissions.remove(account);
                    }
                }
            }
        }
        Ok(())
    }

    async fn image_block_public_access(&self, region: &Region) -> Result<bool, CloudError> {
        self.begin(op::GET_IMAGE_BLOCK_PUBLIC_ACCESS_STATE, Some(region))
            .await?;
        Ok(self
            .read()
            .regions
            .get(region)
            .is_some_and(|r| r.block_public_access))
    }

    async fn enable_deprecation(
        &self,
        region: &Region,
        image: &AmiId,
        at: DateTime<Utc>,
    ) -> Result<(), CloudError> {
        const OP: &str = op::ENABLE_IMAGE_DEPRECATION;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let stored = self.owned_image(&mut world, OP, region, image)?;
        stored.image.deprecation_time = Some(at);
        Ok(())
    }

    async fn disable_deprecation(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        const OP: &str = op::DISABLE_IMAGE_DEPRECATION;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let stored = self.owned_image(&mut world, OP, region, image)?;
        stored.image.deprecation_time = None;
        Ok(())
    }

    async fn deregister_image(
        &self,
        region: &Region,
        image: &AmiId,
        delete_snapshots: bool,
    ) -> Result<(), CloudError> {
        const OP: &str = op::DEREGISTER_IMAGE;
        let now = self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let now_utc = world.now_utc(now);
        let stored = self.owned_image(&mut world, OP, region, image)?;
        if let Some(protection) = stored.image.deregistration_protection
            && protection.blocks_deregistration_at(now_utc)
        {
            return Err(ec2_error::not_permitted(
                OP,
                region,
                "OperationNotPermitted",
                format!(
                    "The image {image} has deregistration protection ({}): turn it off before deregistering",
                    protection.to_ec2()
                ),
            ));
        }
        let state = world.regions.entry(region.clone()).or_default();
        let Some(removed) = state.remove_image(image) else {
            return Err(ec2_error::image_not_found(OP, region, image));
        };
        let snapshots: Vec<SnapshotId> = removed.image.snapshot_ids().cloned().collect();
        state.recycle_bin.expire(now_utc);
        let recycled = state.recycle_bin.keep_image(removed, now_utc);
        if delete_snapshots {
            for snapshot in snapshots {
                let still_used = state
                    .images
                    .values()
                    .any(|other| other.image.snapshot_ids().any(|s| *s == snapshot));
                if !still_used && let Some(deleted) = state.snapshots.remove(&snapshot) {
                    state.recycle_bin.keep_snapshot(snapshot, deleted, now_utc);
                }
            }
        }
        tracing::debug!(%region, %image, delete_snapshots, recycled, "image deregistered");
        Ok(())
    }

    async fn create_tags(
        &self,
        region: &Region,
        image: &AmiId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        const OP: &str = op::CREATE_TAGS;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let stored = self.owned_image(&mut world, OP, region, image)?;
        stored
            .image
            .tags
            .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    async fn image_usage(&self, region: &Region, image: &AmiId) -> Result<ImageUsage, CloudError> {
        const OP: &str = op::DESCRIBE_INSTANCES;
        self.begin(OP, Some(region)).await?;
        let world = self.read();
        let mut usage = ImageUsage::default();
        if let Some(state) = world.regions.get(region) {
            usage.instances = state
                .instances
                .iter()
                .filter(|(_, i)| i.owner == self.caller && i.image == *image && !i.state.is_gone())
                .map(|(id, _)| id.clone())
                .collect();
            usage.launch_templates = state
                .launch_templates
                .iter()
                .filter(|t| t.owner == self.caller && t.names(image))
                .map(|t| t.name.clone())
                .collect();
        }
        Ok(usage)
    }
}

impl MemoryCloud {
    /// CreateImage once its call is admitted; `fails`: the image ends `failed`.
    fn create_from_instance(
        &self,
        region: &Region,
        request: &CreateImageRequest,
        now: tokio::time::Instant,
        fails: bool,
    ) -> Result<AmiId, CloudError> {
        const OP: &str = op::CREATE_IMAGE;
        let mut world = self.write();
        let instance = world
            .regions
            .get(region)
            .and_then(|r| r.instances.get(&request.instance))
            .filter(|i| i.owner == self.caller && !i.state.is_gone())
            .cloned()
            .ok_or_else(|| {
                ec2_error::invalid(
                    OP,
                    region,
                    "InvalidInstanceID.NotFound",
                    format!("The instance ID '{}' does not exist", request.instance),
                )
            })?;
        check_name(&world, OP, region, &self.caller, &request.name)?;
        let id = world.fresh_image_id();
        let snapshot = world.fresh_snapshot_id();
        let mut image = Image::new(
            id.clone(),
            region.clone(),
            request.name.clone(),
            self.caller.clone(),
            instance.architecture,
            world.now_utc(now),
        );
        image.description = request.description.clone();
        image.owner_alias = world.alias_of(&self.caller);
        image.state = ImageState::Pending;
        image.tags = request.tags.clone();
        // An image of an instance keeps the billing facts of the image it was launched
        // from, as on EC2.
        image.usage_operation = instance.usage_operation.clone();
        image.platform_details = instance.platform_details.clone();
        // EC2's SourceImageId: the image the instance was launched from.
        image.source_image = Some(instance.image.clone());
        image.source_region = Some(region.clone());
        image.block_devices.push(BlockDevice {
            device_name: "/dev/xvda".to_owned(),
            snapshot_id: Some(snapshot.clone()),
            volume_size_gib: Some(instance.root_volume_gib),
            encrypted: false,
        });
        let ready = now + world.timings.create_image;
        let state = world.regions.entry(region.clone()).or_default();
        // The request's tags go on the new snapshots too (TagSpecifications for both).
        file_unshared(
            state,
            &self.caller,
            image,
            [(snapshot, request.tags.clone())],
            fails,
        );
        world.schedule(ready, region.clone(), id.clone());
        tracing::debug!(%region, image = %id, instance = %request.instance, "image creation started");
        Ok(id)
    }

    /// CopyImage once its call is admitted: the new copy (and `true`), or the one a
    /// repeated client token made before (and `false`); `fails`: a new copy ends `failed`.
    fn copy_locked(
        &self,
        request: &CopyImageRequest,
        now: tokio::time::Instant,
        fails: bool,
    ) -> Result<(AmiId, bool), CloudError> {
        const OP: &str = op::COPY_IMAGE;
        let destination = &request.destination_region;
        check_completion_duration(request)?;
        let who = self.identity();
        let mut world = self.write();
        let token_key = (self.caller.clone(), request.client_token.clone());
        let fingerprint = copy_fingerprint(request);
        if !request.client_token.is_empty()
            && let Some((first, id)) = world
                .regions
                .get(destination)
                .and_then(|r| r.copy_tokens.get(&token_key))
        {
            return if *first == fingerprint {
                Ok((id.clone(), false))
            } else {
                Err(ec2_error::invalid(
                    OP,
                    destination,
                    "IdempotentParameterMismatch",
                    "the client token was already used for a different CopyImage request",
                ))
            };
        }
        if request.source_region.partition() != destination.partition() {
            return Err(ec2_error::invalid(
                OP,
                destination,
                "InvalidRequest",
                format!(
                    "images cannot be copied between partitions ({} to {})",
                    request.source_region.partition(),
                    destination.partition()
                ),
            ));
        }
        let now_utc = world.now_utc(now);
        let source_state = world.regions.get(&request.source_region);
        // An image the source region's Allowed AMIs setting blocks is not discoverable there.
        let source = source_state
            .and_then(|r| {
                let stored = r.images.get(&request.source_image)?;
                r.shown_to(stored, &who, now_utc).map(|_| stored.clone())
            })
            .ok_or_else(|| {
                ec2_error::image_not_found(OP, &request.source_region, &request.source_image)
                    .in_region(destination)
            })?;
        if !source.image.is_available() {
            return Err(ec2_error::not_permitted(
                OP,
                destination,
                "IncorrectState",
                format!(
                    "Image {} is {} and cannot be copied until it is available",
                    source.image.id, source.image.state
                ),
            ));
        }
        let snapshot = |id: &SnapshotId| source_state.and_then(|r| r.snapshots.get(id));
        refuse_uncopyable(&source.image, &self.caller, snapshot)
            .map_err(|e| e.in_region(destination))?;
        check_name(&world, OP, destination, &self.caller, &request.name)?;
        let id = world.fresh_image_id();
        let mut image = Image::new(
            id.clone(),
            destination.clone(),
            request.name.clone(),
            self.caller.clone(),
            source.image.architecture,
            world.now_utc(now),
        );
        image.description = request
            .description
            .clone()
            .or_else(|| source.image.description.clone());
        image.owner_alias = world.alias_of(&self.caller);
        image.state = ImageState::Pending;
        // CopyImageTags: the source's own tags, with the request's on top.
        image.tags = if request.copy_image_tags {
            let mut tags = source.image.tags.clone();
            tags.extend(request.tags.clone());
            tags
        } else {
            request.tags.clone()
        };
        image.imds_support = source.image.imds_support;
        image.product_codes = source.image.product_codes.clone();
        image.usage_operation = source.image.usage_operation.clone();
        image.platform_details = source.image.platform_details.clone();
        image.source_image = Some(source.image.id.clone());
        image.source_region = Some(request.source_region.clone());
        let mut snapshots = Vec::new();
        for device in &source.image.block_devices {
            let snapshot = device
                .snapshot_id
                .as_ref()
                .map(|_| world.fresh_snapshot_id());
            let encrypted = device.encrypted || request.encrypted;
            if let Some(s) = &snapshot {
                snapshots.push((s.clone(), BTreeMap::new()));
            }
            image.block_devices.push(BlockDevice {
                device_name: device.device_name.clone(),
                snapshot_id: snapshot,
                volume_size_gib: device.volume_size_gib,
                encrypted,
            });
        }
        let ready = now + copy_duration(&world, request, &source.image);
        let state = world.regions.entry(destination.clone()).or_default();
        file_unshared(state, &self.caller, image, snapshots, fails);
        if !request.client_token.is_empty() {
            state
                .copy_tokens
                .insert(token_key, (fingerprint, id.clone()));
        }
        world.schedule(ready, destination.clone(), id.clone());
        tracing::debug!(from = %request.source_region, to = %destination, source = %request.source_image, copy = %id, "copy started");
        Ok((id, true))
    }
}

/// EC2's refusals of a copy of an available, visible `image` by `caller`, in EC2's order;
/// `snapshot` finds the image's snapshots in its region.
///
/// - An image with a billing product (a usage operation other than `RunInstances` or
///   platform details other than `Linux/UNIX`: Windows, RHEL, paid listings) or an AWS
///   Marketplace product code, unless the caller owns it: launch it and image the instance.
/// - An encrypted image of another account's whose key the caller cannot use (the default
///   `aws/ebs` key can never be shared).
/// - A private image shared by another account without create-volume permission for the
///   caller on each of its snapshots. Public images are copyable without it.
fn refuse_uncopyable<'s>(
    image: &Image,
    caller: &AccountId,
    snapshot: impl Fn(&SnapshotId) -> Option<&'s Snapshot>,
) -> Result<(), CloudError> {
    const OP: &str = op::COPY_IMAGE;
    if image.owner == *caller {
        return Ok(());
    }
    if image.has_billing_product() || image.is_marketplace() {
        return Err(CloudError::new(
            amiref_core::CloudErrorKind::NotPermitted,
            OP,
            "Images with EC2 BillingProduct codes cannot be copied to another AWS account",
        )
        .with_code("InvalidRequest"));
    }
    let encrypted_snapshots = image
        .block_devices
        .iter()
        .filter(|d| d.encrypted)
        .filter_map(|d| d.snapshot_id.as_ref());
    let keys_usable = image.is_encrypted()
        && encrypted_snapshots
            .clone()
            .all(|id| snapshot(id).is_some_and(|s| s.key_usable_by(caller)));
    if image.is_encrypted() && !keys_usable {
        return Err(CloudError::new(
            amiref_core::CloudErrorKind::NotPermitted,
            OP,
            "You can't copy an encrypted AMI that was shared with you from another account unless its owner shared the KMS key with you: copy its snapshots with your own key instead",
        )
        .with_code("InvalidRequest"));
    }
    if !image.public {
        let readable = image
            .snapshot_ids()
            .all(|id| snapshot(id).is_some_and(|s| s.volumes_by(caller)));
        if !readable {
            return Err(CloudError::new(
                amiref_core::CloudErrorKind::AccessDenied,
                OP,
                "You do not have permission to access the storage of this ami",
            )
            .with_code("AuthFailure"));
        }
    }
    Ok(())
}

/// What makes two CopyImage requests "the same" for their client token.
fn copy_fingerprint(request: &CopyImageRequest) -> String {
    format!(
        "{}|{}|{}|{:?}|{}|{:?}|{:?}|{}|{:?}",
        request.source_region,
        request.source_image,
        request.name,
        request.description,
        request.encrypted,
        request.kms_key_id,
        request.tags,
        request.copy_image_tags,
        request.completion_duration_minutes
    )
}

/// The minutes a time-based copy may ask for (`SnapshotCopyCompletionDurationMinutes`):
/// 15 to 2880 (48 hours), in steps of 15.
pub(crate) const COMPLETION_MINUTES: std::ops::RangeInclusive<u32> = 15..=2880;

/// EC2's refusal of a completion duration it does not offer.
fn check_completion_duration(request: &CopyImageRequest) -> Result<(), CloudError> {
    match request.completion_duration_minutes {
        Some(m) if !COMPLETION_MINUTES.contains(&m) || m % 15 != 0 => Err(ec2_error::invalid(
            op::COPY_IMAGE,
            &request.destination_region,
            "InvalidParameterValue",
            format!(
                "SnapshotCopyCompletionDurationMinutes {m} is invalid: 15 to 2880 minutes, in increments of 15"
            ),
        )),
        _ => Ok(()),
    }
}

/// How long the copy stays pending: the requested completion duration of a time-based
/// copy, or the world's fixed time plus its time per GiB of the source's volumes.
fn copy_duration(
    world: &WorldData,
    request: &CopyImageRequest,
    source: &Image,
) -> std::time::Duration {
    match request.completion_duration_minutes {
        Some(minutes) => std::time::Duration::from_secs(u64::from(minutes) * 60),
        None => {
            let size = u32::try_from(source.total_volume_size_gib()).unwrap_or(u32::MAX);
            world.timings.copy_image + world.timings.copy_image_per_gib * size
        }
    }
}
