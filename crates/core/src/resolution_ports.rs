//! The ports a resolution reads: less than a whole [`Cloud`](crate::Cloud).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    AccountSettings, AllowedImagesSettings, AmiId, Architecture, CallerIdentity, CloudError,
    Identity, Image, ImageCatalog, ImageFilter, InstanceType, InstanceTypes, Marketplace,
    MarketplaceProduct, Parameter, ParameterName, Parameters, Region, SnapshotId,
};

/// What resolving an image reads, and nothing it would change: images, Marketplace
/// products, the caller's identity, SSM parameters, instance types and the account's
/// Allowed AMIs setting.
///
/// Implemented for every type that implements those ports, so a whole
/// [`Cloud`](crate::Cloud) is one, and so is a consumer's read-only view that cannot
/// create, copy, share or launch anything. `Arc<P>` implements each port `P` does, so an
/// `Arc<dyn Cloud>` is one too.
///
/// ```
/// use std::sync::Arc;
/// use amiref_core::{Cloud, ResolutionPorts};
///
/// fn reader(cloud: Arc<dyn Cloud>) -> Arc<dyn ResolutionPorts> {
///     Arc::new(cloud)
/// }
/// ```
pub trait ResolutionPorts:
    ImageCatalog + Marketplace + Identity + Parameters + InstanceTypes + AccountSettings
{
}

impl<T> ResolutionPorts for T where
    T: ImageCatalog
        + Marketplace
        + Identity
        + Parameters
        + InstanceTypes
        + AccountSettings
        + ?Sized
{
}

#[async_trait]
impl<T: ImageCatalog + ?Sized> ImageCatalog for Arc<T> {
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        (**self).describe_images(region, ids).await
    }

    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        (**self).search_images(region, filter).await
    }

    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
    ) -> Result<BTreeMap<SnapshotId, bool>, CloudError> {
        (**self).can_create_volumes(region, snapshots).await
    }
}

#[async_trait]
impl<T: Marketplace + ?Sized> Marketplace for Arc<T> {
    async fn product(&self, product_code: &str) -> Result<MarketplaceProduct, CloudError> {
        (**self).product(product_code).await
    }
}

#[async_trait]
impl<T: Identity + ?Sized> Identity for Arc<T> {
    async fn caller(&self) -> Result<CallerIdentity, CloudError> {
        (**self).caller().await
    }
}

#[async_trait]
impl<T: Parameters + ?Sized> Parameters for Arc<T> {
    async fn get_parameters(
        &self,
        region: &Region,
        names: &[ParameterName],
    ) -> Result<BTreeMap<ParameterName, Parameter>, CloudError> {
        (**self).get_parameters(region, names).await
    }
}

#[async_trait]
impl<T: InstanceTypes + ?Sized> InstanceTypes for Arc<T> {
    async fn architectures(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeMap<InstanceType, Vec<Architecture>>, CloudError> {
        (**self).architectures(region, types).await
    }

    async fn offered_instance_types(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeSet<InstanceType>, CloudError> {
        (**self).offered_instance_types(region, types).await
    }
}

#[async_trait]
impl<T: AccountSettings + ?Sized> AccountSettings for Arc<T> {
    async fn allowed_images_settings(
        &self,
        region: &Region,
    ) -> Result<AllowedImagesSettings, CloudError> {
        (**self).allowed_images_settings(region).await
    }
}
