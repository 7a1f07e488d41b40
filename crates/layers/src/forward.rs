//! Every port, implemented on [`Layered`] by handing each method to its layer.
//!
//! This is the one place that decides which calls are safe to repeat. Each method says why
//! in a comment; the crate documentation has the same table for readers of the API.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use amiref_core::{
    AccountId, AccountSettings, AllowedImagesSettings, AmiId, Architecture, CallerIdentity,
    ChangeSetRequest, ChangeSetStatus, CloudError, CopyImageRequest, CreateImageRequest, Identity,
    Image, ImageCatalog, ImageFilter, ImageStore, ImageUsage, Instance, InstanceFilter, InstanceId,
    InstanceType, InstanceTypes, Instances, LaunchPermission, Marketplace, MarketplaceProduct,
    MarketplacePublisher, Parameter, ParameterName, Parameters, Region, RunInstanceRequest,
    SnapshotId,
};
use amiref_core::{
    ConsoleOutput, InstanceControl, ParameterStore, PutParameterRequest, SecurityGroup,
    SecurityGroupId, SecurityGroupRequest, SecurityGroups,
};
use amiref_core::{
    ImageGovernance, ImageReference, LaunchTemplateImage, RecycleBinRule, SnapshotBlockPublicAccess,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::call::{Call, Operation};
use crate::layer::{Layer, Layered};

#[async_trait]
impl<L, C> ImageCatalog for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: ImageCatalog,
{
    // Reads.
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        let call = Call::idempotent(Operation::DescribeImages, Some(region));
        self.layer
            .around(call, || self.port().describe_images(region, ids))
            .await
    }

    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        let call = Call::idempotent(Operation::SearchImages, Some(region));
        self.layer
            .around(call, || self.port().search_images(region, filter))
            .await
    }

    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
    ) -> Result<BTreeMap<SnapshotId, bool>, CloudError> {
        let call = Call::idempotent(Operation::CanCreateVolumes, Some(region));
        self.layer
            .around(call, || self.port().can_create_volumes(region, snapshots))
            .await
    }
}

#[async_trait]
impl<L, C> ImageStore for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: ImageStore,
{
    // An image name is unique per account and region, and CreateImage refuses a taken one
    // (`InvalidAMIName.Duplicate`), so a repeat can never make a second image. A repeat
    // after a first attempt that succeeded unseen answers that refusal: the caller must
    // recognise its own image by name (amiref-lifecycle's create does).
    async fn create_image(
        &self,
        region: &Region,
        request: &CreateImageRequest,
    ) -> Result<AmiId, CloudError> {
        let call = Call::idempotent(Operation::CreateImage, Some(region));
        self.layer
            .around(call, || self.port().create_image(region, request))
            .await
    }

    // The client token makes a repeat return the first copy (EC2 and the port promise it).
    async fn copy_image(&self, request: &CopyImageRequest) -> Result<AmiId, CloudError> {
        let call = Call::idempotent(Operation::CopyImage, Some(&request.destination_region));
        self.layer
            .copy_image(call, request, || self.port().copy_image(request))
            .await
    }

    // A read.
    async fn launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Vec<LaunchPermission>, CloudError> {
        let call = Call::idempotent(Operation::LaunchPermissions, Some(region));
        self.layer
            .around(call, || self.port().launch_permissions(region, image))
            .await
    }

    // Sets a state: granting a held permission is not an error (the port's promise).
    async fn add_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::AddLaunchPermissions, Some(region));
        self.layer
            .around(call, || {
                self.port()
                    .add_launch_permissions(region, image, permissions)
            })
            .await
    }

    // Sets a state: revoking a permission not held is not an error (the port's promise).
    async fn remove_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::RemoveLaunchPermissions, Some(region));
        self.layer
            .around(call, || {
                self.port()
                    .remove_launch_permissions(region, image, permissions)
            })
            .await
    }

    // Sets a state: the accounts hold the permission, or do not, after any number of calls.
    async fn modify_snapshot_permissions(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
        accounts: &[AccountId],
        add: bool,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::ModifySnapshotPermissions, Some(region));
        self.layer
            .around(call, || {
                self.port()
                    .modify_snapshot_permissions(region, snapshots, accounts, add)
            })
            .await
    }

    // A read.
    async fn image_block_public_access(&self, region: &Region) -> Result<bool, CloudError> {
        let call = Call::idempotent(Operation::ImageBlockPublicAccess, Some(region));
        self.layer
            .around(call, || self.port().image_block_public_access(region))
            .await
    }

    // Sets a state: the deprecation time.
    async fn enable_deprecation(
        &self,
        region: &Region,
        image: &AmiId,
        at: DateTime<Utc>,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::EnableDeprecation, Some(region));
        self.layer
            .around(call, || self.port().enable_deprecation(region, image, at))
            .await
    }

    // Sets a state: no deprecation.
    async fn disable_deprecation(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DisableDeprecation, Some(region));
        self.layer
            .around(call, || self.port().disable_deprecation(region, image))
            .await
    }

    // Sets a state: no such image. A repeat after a first attempt that succeeded unseen
    // answers `NotFound`, which callers removing an image take as done.
    async fn deregister_image(
        &self,
        region: &Region,
        image: &AmiId,
        delete_snapshots: bool,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DeregisterImage, Some(region));
        self.layer
            .around(call, || {
                self.port()
                    .deregister_image(region, image, delete_snapshots)
            })
            .await
    }

    // Sets a state: the tags' values.
    async fn create_tags(
        &self,
        region: &Region,
        image: &AmiId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::CreateTags, Some(region));
        self.layer
            .around(call, || self.port().create_tags(region, image, tags))
            .await
    }

    // A read.
    async fn image_usage(&self, region: &Region, image: &AmiId) -> Result<ImageUsage, CloudError> {
        let call = Call::idempotent(Operation::ImageUsage, Some(region));
        self.layer
            .around(call, || self.port().image_usage(region, image))
            .await
    }
}

#[async_trait]
impl<L, C> Marketplace for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: Marketplace,
{
    // A read.
    async fn product(&self, product_code: &str) -> Result<MarketplaceProduct, CloudError> {
        let call = Call::idempotent(Operation::Product, None);
        self.layer
            .around(call, || self.port().product(product_code))
            .await
    }
}

#[async_trait]
impl<L, C> MarketplacePublisher for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: MarketplacePublisher,
{
    // The client request token makes a repeat return the first submission's id.
    async fn start_change_set(&self, request: &ChangeSetRequest) -> Result<String, CloudError> {
        let call = Call::idempotent(Operation::StartChangeSet, None);
        self.layer
            .around(call, || self.port().start_change_set(request))
            .await
    }

    // A read.
    async fn change_set_status(
        &self,
        catalog: &str,
        change_set_id: &str,
    ) -> Result<ChangeSetStatus, CloudError> {
        let call = Call::idempotent(Operation::ChangeSetStatus, None);
        self.layer
            .around(call, || {
                self.port().change_set_status(catalog, change_set_id)
            })
            .await
    }
}

#[async_trait]
impl<L, C> Identity for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: Identity,
{
    // A read.
    async fn caller(&self) -> Result<CallerIdentity, CloudError> {
        let call = Call::idempotent(Operation::Caller, None);
        self.layer.around(call, || self.port().caller()).await
    }
}

#[async_trait]
impl<L, C> InstanceTypes for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: InstanceTypes,
{
    // Reads.
    async fn architectures(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeMap<InstanceType, Vec<Architecture>>, CloudError> {
        let call = Call::idempotent(Operation::Architectures, Some(region));
        self.layer
            .around(call, || self.port().architectures(region, types))
            .await
    }

    async fn offered_instance_types(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeSet<InstanceType>, CloudError> {
        let call = Call::idempotent(Operation::OfferedInstanceTypes, Some(region));
        self.layer
            .around(call, || self.port().offered_instance_types(region, types))
            .await
    }
}

#[async_trait]
impl<L, C> Instances for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: Instances,
{
    // With a client token, a repeat returns the first instance (RunInstances' idempotency);
    // without one, a repeat after a first attempt that succeeded unseen would launch a
    // second instance, so the call is made once.
    async fn run_instance(
        &self,
        region: &Region,
        request: &RunInstanceRequest,
    ) -> Result<InstanceId, CloudError> {
        let call = if request.client_token.is_some() {
            Call::idempotent(Operation::RunInstance, Some(region))
        } else {
            Call::not_idempotent(Operation::RunInstance, Some(region))
        };
        self.layer
            .around(call, || self.port().run_instance(region, request))
            .await
    }

    // A read.
    async fn describe_instances(
        &self,
        region: &Region,
        filter: &InstanceFilter,
    ) -> Result<Vec<Instance>, CloudError> {
        let call = Call::idempotent(Operation::DescribeInstances, Some(region));
        self.layer
            .around(call, || self.port().describe_instances(region, filter))
            .await
    }
}

#[async_trait]
impl<L, C> AccountSettings for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: AccountSettings,
{
    // A read.
    async fn allowed_images_settings(
        &self,
        region: &Region,
    ) -> Result<AllowedImagesSettings, CloudError> {
        let call = Call::idempotent(Operation::AllowedImagesSettings, Some(region));
        self.layer
            .around(call, || self.port().allowed_images_settings(region))
            .await
    }
}

#[async_trait]
impl<L, C> Parameters for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: Parameters,
{
    // A read.
    async fn get_parameters(
        &self,
        region: &Region,
        names: &[ParameterName],
    ) -> Result<BTreeMap<ParameterName, Parameter>, CloudError> {
        let call = Call::idempotent(Operation::GetParameters, Some(region));
        self.layer
            .around(call, || self.port().get_parameters(region, names))
            .await
    }
}

#[async_trait]
impl<L, C> InstanceControl for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: InstanceControl,
{
    // Sets a state: stopping a stopped instance again changes nothing.
    async fn stop_instances(&self, region: &Region, ids: &[InstanceId]) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::StopInstances, Some(region));
        self.layer
            .around(call, || self.port().stop_instances(region, ids))
            .await
    }

    // Sets a state: terminating a terminated instance again changes nothing.
    async fn terminate_instances(
        &self,
        region: &Region,
        ids: &[InstanceId],
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::TerminateInstances, Some(region));
        self.layer
            .around(call, || self.port().terminate_instances(region, ids))
            .await
    }

    // A read.
    async fn console_output(
        &self,
        region: &Region,
        id: &InstanceId,
    ) -> Result<ConsoleOutput, CloudError> {
        let call = Call::idempotent(Operation::ConsoleOutput, Some(region));
        self.layer
            .around(call, || self.port().console_output(region, id))
            .await
    }
}

#[async_trait]
impl<L, C> SecurityGroups for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: SecurityGroups,
{
    // A repeat after a first attempt that succeeded unseen fails as a duplicate name, which
    // the caller must see, so the call is made once.
    async fn create_security_group(
        &self,
        region: &Region,
        request: &SecurityGroupRequest,
    ) -> Result<SecurityGroupId, CloudError> {
        let call = Call::not_idempotent(Operation::CreateSecurityGroup, Some(region));
        self.layer
            .around(call, || self.port().create_security_group(region, request))
            .await
    }

    // A read.
    async fn describe_security_groups(
        &self,
        region: &Region,
        tags: &BTreeMap<String, Option<String>>,
    ) -> Result<Vec<SecurityGroup>, CloudError> {
        let call = Call::idempotent(Operation::DescribeSecurityGroups, Some(region));
        self.layer
            .around(call, || self.port().describe_security_groups(region, tags))
            .await
    }

    // A repeat after an unseen success answers NotFound, which callers that clean up treat
    // as done; nothing is deleted twice.
    async fn delete_security_group(
        &self,
        region: &Region,
        id: &SecurityGroupId,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DeleteSecurityGroup, Some(region));
        self.layer
            .around(call, || self.port().delete_security_group(region, id))
            .await
    }
}

#[async_trait]
impl<L, C> ParameterStore for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: ParameterStore,
{
    // With overwrite, a repeat writes the same value as one more version: the parameter
    // ends as the first call left it. Without overwrite, a repeat fails as existing, which
    // the caller must see, so the call is made once.
    async fn put_parameter(
        &self,
        region: &Region,
        request: &PutParameterRequest,
    ) -> Result<i64, CloudError> {
        let call = if request.overwrite {
            Call::idempotent(Operation::PutParameter, Some(region))
        } else {
            Call::not_idempotent(Operation::PutParameter, Some(region))
        };
        self.layer
            .around(call, || self.port().put_parameter(region, request))
            .await
    }

    // A read.
    async fn parameter_history(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        let call = Call::idempotent(Operation::ParameterHistory, Some(region));
        self.layer
            .around(call, || self.port().parameter_history(region, name))
            .await
    }

    // A read.
    async fn parameters_by_path(
        &self,
        region: &Region,
        path: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        let call = Call::idempotent(Operation::ParametersByPath, Some(region));
        self.layer
            .around(call, || self.port().parameters_by_path(region, path))
            .await
    }

    // A repeat after an unseen success answers NotFound, which callers that clean up treat
    // as done.
    async fn delete_parameter(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DeleteParameter, Some(region));
        self.layer
            .around(call, || self.port().delete_parameter(region, name))
            .await
    }
}

#[async_trait]
impl<L, C> ImageGovernance for Layered<L, C>
where
    L: Layer,
    C: Deref + Send + Sync,
    C::Target: ImageGovernance,
{
    // Sets a state: turning protection on twice leaves it on.
    async fn enable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
        with_cooldown: bool,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::EnableDeregistrationProtection, Some(region));
        self.layer
            .around(call, || {
                self.port()
                    .enable_deregistration_protection(region, image, with_cooldown)
            })
            .await
    }

    // Sets a state: turning protection off twice leaves it off (a cooldown, once started,
    // is not restarted by a repeat).
    async fn disable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DisableDeregistrationProtection, Some(region));
        self.layer
            .around(call, || {
                self.port().disable_deregistration_protection(region, image)
            })
            .await
    }

    // Sets a state.
    async fn disable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DisableImage, Some(region));
        self.layer
            .around(call, || self.port().disable_image(region, image))
            .await
    }

    // Sets a state.
    async fn enable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::EnableImage, Some(region));
        self.layer
            .around(call, || self.port().enable_image(region, image))
            .await
    }

    // Removing a tag already gone changes nothing.
    async fn delete_tags(
        &self,
        region: &Region,
        image: &AmiId,
        keys: &[String],
    ) -> Result<(), CloudError> {
        let call = Call::idempotent(Operation::DeleteTags, Some(region));
        self.layer
            .around(call, || self.port().delete_tags(region, image, keys))
            .await
    }

    // Reads.
    async fn image_references(
        &self,
        region: &Region,
        images: &[AmiId],
    ) -> Result<Vec<ImageReference>, CloudError> {
        let call = Call::idempotent(Operation::ImageReferences, Some(region));
        self.layer
            .around(call, || self.port().image_references(region, images))
            .await
    }

    async fn recycle_bin_rules(&self, region: &Region) -> Result<Vec<RecycleBinRule>, CloudError> {
        let call = Call::idempotent(Operation::RecycleBinRules, Some(region));
        self.layer
            .around(call, || self.port().recycle_bin_rules(region))
            .await
    }

    async fn public_snapshots(&self, region: &Region) -> Result<BTreeSet<SnapshotId>, CloudError> {
        let call = Call::idempotent(Operation::PublicSnapshots, Some(region));
        self.layer
            .around(call, || self.port().public_snapshots(region))
            .await
    }

    async fn snapshot_block_public_access(
        &self,
        region: &Region,
    ) -> Result<SnapshotBlockPublicAccess, CloudError> {
        let call = Call::idempotent(Operation::SnapshotBlockPublicAccess, Some(region));
        self.layer
            .around(call, || self.port().snapshot_block_public_access(region))
            .await
    }

    async fn launch_template_images(
        &self,
        region: &Region,
    ) -> Result<Vec<LaunchTemplateImage>, CloudError> {
        let call = Call::idempotent(Operation::LaunchTemplateImages, Some(region));
        self.layer
            .around(call, || self.port().launch_template_images(region))
            .await
    }
}
