//! Reading a region: one paginated listing of the account's images and a fixed number of
//! batched reads, whatever the number of images. A read that fails is recorded, and the
//! controls needing it are unchecked there; the rest still run.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AllowedImagesSettings, AmiId, Cloud, CloudError, Image, ImageFilter, ImageReference,
    ImageState, Instance, InstanceFilter, LaunchPermission, LaunchTemplateImage, Owner, Region,
    SnapshotBlockPublicAccess, SnapshotId,
};
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};

use crate::policy::CompliancePolicy;
use crate::report::ReadFailure;

/// Every state an own image can be found in: a compliance view hides nothing.
const ALL_STATES: [ImageState; 7] = [
    ImageState::Available,
    ImageState::Pending,
    ImageState::Disabled,
    ImageState::Failed,
    ImageState::Error,
    ImageState::Invalid,
    ImageState::Transient,
];

/// A read that may have failed: its value, or the failure the report records.
pub(crate) type Read<T> = Result<T, String>;

/// What one region said.
#[derive(Debug)]
pub(crate) struct RegionFacts {
    pub(crate) region: Region,
    /// The account's images, by id.
    pub(crate) own: Read<BTreeMap<AmiId, Image>>,
    /// The account's instances that are not gone.
    pub(crate) instances: Read<Vec<Instance>>,
    /// Launch template versions naming images.
    pub(crate) templates: Read<Vec<LaunchTemplateImage>>,
    /// Other accounts' images that instances and templates use, by id (those that could not
    /// be described are absent).
    pub(crate) used_foreign: Read<BTreeMap<AmiId, Image>>,
    /// What EC2 reports referencing the account's deprecated or disabled images.
    pub(crate) references: Read<Vec<ImageReference>>,
    pub(crate) public_snapshots: Read<BTreeSet<SnapshotId>>,
    pub(crate) snapshot_block: Read<SnapshotBlockPublicAccess>,
    pub(crate) image_block: Read<bool>,
    pub(crate) allowed: Read<AllowedImagesSettings>,
    /// Launch permissions per own image; `None` when not read (off by policy).
    pub(crate) permissions: Option<Read<BTreeMap<AmiId, Vec<LaunchPermission>>>>,
    pub(crate) failures: Vec<ReadFailure>,
}

fn kept<T>(
    failures: &mut Vec<ReadFailure>,
    region: &Region,
    read: &str,
    result: Result<T, CloudError>,
) -> Read<T> {
    result.map_err(|e| {
        let error = e.to_string();
        failures.push(ReadFailure {
            region: Some(region.clone()),
            read: read.to_owned(),
            error: error.clone(),
        });
        format!("{read} failed: {error}")
    })
}

/// The image ids instances and launch templates use.
pub(crate) fn used_ids(
    instances: &Read<Vec<Instance>>,
    templates: &Read<Vec<LaunchTemplateImage>>,
) -> BTreeSet<AmiId> {
    let from_instances = instances.iter().flatten().map(|i| i.image.clone());
    let from_templates = templates.iter().flatten().map(|t| t.image.clone());
    from_instances.chain(from_templates).collect()
}

fn by_id(images: Vec<Image>) -> BTreeMap<AmiId, Image> {
    images.into_iter().map(|i| (i.id.clone(), i)).collect()
}

/// Whether an image is deprecated at `now` or disabled: what must not be in use.
pub(crate) fn is_retiring(image: &Image, now: DateTime<Utc>) -> bool {
    image.state == ImageState::Disabled || image.is_deprecated_at(now)
}

/// Reads everything the controls need in `region`.
pub(crate) async fn read_region(
    cloud: &dyn Cloud,
    policy: &CompliancePolicy,
    region: Region,
    now: DateTime<Utc>,
) -> RegionFacts {
    let listing = ImageFilter::owned_by([Owner::Me])
        .states(ALL_STATES)
        .include_deprecated(true)
        .include_disabled(true);
    let every_instance = InstanceFilter::all();
    let (own, instances, templates, public_snapshots, snapshot_block, image_block, allowed) = futures::join!(
        cloud.search_images(&region, &listing),
        cloud.describe_instances(&region, &every_instance),
        cloud.launch_template_images(&region),
        cloud.public_snapshots(&region),
        cloud.snapshot_block_public_access(&region),
        cloud.image_block_public_access(&region),
        cloud.allowed_images_settings(&region),
    );
    let mut failures = Vec::new();
    let f = &mut failures;
    let own: Read<BTreeMap<AmiId, Image>> = kept(f, &region, "DescribeImages", own).map(by_id);
    let instances = kept(f, &region, "DescribeInstances", instances)
        .map(|all| all.into_iter().filter(|i| !i.state.is_gone()).collect());
    let templates = kept(f, &region, "DescribeLaunchTemplateVersions", templates);
    let public_snapshots = kept(f, &region, "DescribeSnapshots", public_snapshots);
    let snapshot_block = kept(
        f,
        &region,
        "GetSnapshotBlockPublicAccessState",
        snapshot_block,
    );
    let image_block = kept(f, &region, "GetImageBlockPublicAccessState", image_block);
    let allowed = kept(f, &region, "GetAllowedImagesSettings", allowed);

    let own_ids: BTreeSet<AmiId> = own.iter().flat_map(|m| m.keys().cloned()).collect();
    let foreign: Vec<AmiId> = used_ids(&instances, &templates)
        .into_iter()
        .filter(|id| !own_ids.contains(id))
        .collect();
    let retiring: Vec<AmiId> = own
        .iter()
        .flat_map(|m| m.values())
        .filter(|i| is_retiring(i, now))
        .map(|i| i.id.clone())
        .collect();
    let (used_foreign, references) = futures::join!(
        async {
            if foreign.is_empty() {
                return Ok(Vec::new());
            }
            cloud.describe_images(&region, &foreign).await
        },
        async {
            if retiring.is_empty() {
                return Ok(Vec::new());
            }
            cloud.image_references(&region, &retiring).await
        },
    );
    let used_foreign = kept(f, &region, "DescribeImages (images in use)", used_foreign).map(by_id);
    let references = kept(f, &region, "DescribeImageReferences", references);

    let permissions = match (&own, policy.read_launch_permissions) {
        (Ok(images), true) => Some(
            launch_permissions(cloud, &region, images, policy.launch_permission_concurrency).await,
        ),
        _ => None,
    };
    let permissions = permissions.map(|p| kept(f, &region, "DescribeImageAttribute", p));
    RegionFacts {
        region,
        own,
        instances,
        templates,
        used_foreign,
        references,
        public_snapshots,
        snapshot_block,
        image_block,
        allowed,
        permissions,
        failures,
    }
}

/// Each own image's launch permissions. EC2's DescribeImageAttribute takes one image, so
/// this is the one read that is made per image (bounded concurrency). Disabled images are
/// not asked about: DisableImage removed their launch permissions.
async fn launch_permissions(
    cloud: &dyn Cloud,
    region: &Region,
    images: &BTreeMap<AmiId, Image>,
    concurrency: usize,
) -> Result<BTreeMap<AmiId, Vec<LaunchPermission>>, CloudError> {
    let asked = images
        .values()
        .filter(|i| i.state != ImageState::Disabled)
        .map(|i| i.id.clone());
    let answers: Vec<_> = stream::iter(asked)
        .map(|id| async move {
            let permissions = cloud.launch_permissions(region, &id).await?;
            Ok::<_, CloudError>((id, permissions))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    answers.into_iter().collect()
}
