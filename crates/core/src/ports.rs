//! The ports: narrow async traits through which amiref talks to a cloud.
//!
//! Each is implemented on the AWS SDK (`amiref-aws`) and in process (`amiref-memory`), and
//! both pass the same conformance suites (`amiref-testkit`). They are batch-first and carry
//! only what EC2's APIs can answer, so an implementation never has to fake a fact.
//!
//! With the `mock` feature, each trait `Foo` also has a mockall `MockFoo`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AccountId, AllowedImagesSettings, AmiId, Architecture, CloudError, Image, ImageState,
    InstanceId, InstanceType, LaunchPermission, Owner, ParameterName, Region, SecurityGroupId,
    SnapshotId, SubnetId,
};

/// What a search over images asks for. Every field narrows the result.
///
/// `owners` must not be empty: a search by name alone would let anyone who publishes a
/// public image with a matching name win it (name-squatting). Implementations refuse an
/// empty owner list, and [`Owner::Named`] owners, which a trust policy must first map to
/// accounts, with [`crate::CloudErrorKind::InvalidRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ImageFilter {
    /// Whose images: accounts or EC2 aliases. Required.
    pub owners: Vec<Owner>,
    /// An EC2 name pattern: `*` any run of characters, `?` any one character.
    pub name_pattern: Option<String>,
    /// Allowed architectures; empty means any.
    pub architectures: Vec<Architecture>,
    /// Tags the image must carry: a value, or `None` for "the key with any value".
    pub tags: BTreeMap<String, Option<String>>,
    /// Allowed states; empty means `available` only.
    pub states: Vec<ImageState>,
    /// A Marketplace product code the image must carry.
    pub product_code: Option<String>,
    /// Whether to include images deprecated at the time of the call.
    pub include_deprecated: bool,
    /// Whether to include disabled images (EC2's `IncludeDisabled`); they are left out
    /// otherwise, whatever `states` says.
    #[serde(default)]
    pub include_disabled: bool,
}

impl ImageFilter {
    /// A filter for available images of these owners.
    pub fn owned_by(owners: impl IntoIterator<Item = Owner>) -> Self {
        Self {
            owners: owners.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Narrows to names matching an EC2 wildcard pattern.
    #[must_use]
    pub fn name(mut self, pattern: impl Into<String>) -> Self {
        self.name_pattern = Some(pattern.into());
        self
    }

    /// Narrows to these architectures.
    #[must_use]
    pub fn architectures(mut self, archs: impl IntoIterator<Item = Architecture>) -> Self {
        self.architectures = archs.into_iter().collect();
        self
    }

    /// Requires a tag, with a value or (`None`) any value.
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: Option<String>) -> Self {
        self.tags.insert(key.into(), value);
        self
    }

    /// Allows these states instead of `available` only.
    #[must_use]
    pub fn states(mut self, states: impl IntoIterator<Item = ImageState>) -> Self {
        self.states = states.into_iter().collect();
        self
    }

    /// Requires a Marketplace product code.
    #[must_use]
    pub fn product_code(mut self, code: impl Into<String>) -> Self {
        self.product_code = Some(code.into());
        self
    }

    /// Includes disabled images.
    #[must_use]
    pub fn include_disabled(mut self, include: bool) -> Self {
        self.include_disabled = include;
        self
    }

    /// Includes deprecated images.
    #[must_use]
    pub fn include_deprecated(mut self, include: bool) -> Self {
        self.include_deprecated = include;
        self
    }

    /// Whether `image` passes every field but `owners` (which needs the caller's identity to
    /// interpret) at time `now`. In-process implementations use this so that their filtering
    /// is exactly EC2's; the AWS implementation sends the filter to the server instead.
    pub fn matches_ignoring_owners(&self, image: &Image, now: DateTime<Utc>) -> bool {
        let state_ok = if self.states.is_empty() {
            image.state == ImageState::Available
        } else {
            self.states.contains(&image.state)
        };
        state_ok
            && self
                .name_pattern
                .as_deref()
                .is_none_or(|p| wildcard_match(p, &image.name))
            && (self.architectures.is_empty() || self.architectures.contains(&image.architecture))
            && tags_match(&self.tags, &image.tags)
            && self
                .product_code
                .as_deref()
                .is_none_or(|c| image.product_codes.iter().any(|p| p.code == c))
            && (self.include_deprecated || !image.is_deprecated_at(now))
            && (self.include_disabled || image.state != ImageState::Disabled)
    }
}

/// Whether `tags` carry every key of `wanted`, with its value where one is given (EC2's
/// `tag:KEY=VALUE` and `tag-key=KEY` filters).
pub fn tags_match(
    wanted: &BTreeMap<String, Option<String>>,
    tags: &BTreeMap<String, String>,
) -> bool {
    wanted.iter().all(|(k, v)| match v {
        Some(v) => tags.get(k) == Some(v),
        None => tags.contains_key(k),
    })
}

/// EC2's name matching: `*` matches any run of characters (also none), `?` exactly one.
///
/// Runs in O(pattern × name) time without recursion, so no pattern can blow up.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Reads images: by id in batches, and by filter.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImageCatalog: Send + Sync {
    /// Describes these images in `region` in as few calls as the cloud allows.
    ///
    /// Ids the caller cannot see, or that do not exist, are simply absent from the answer:
    /// a batch is not failed by one stale mapping. Deprecated images are included, as EC2
    /// includes them when asked by id.
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError>;

    /// Every image in `region` that the caller can see and that passes `filter`, across all
    /// pages.
    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError>;

    /// Whether the caller may create volumes from each of `snapshots` in `region`: it owns
    /// the snapshot, or holds create-volume permission on it (for its account, or public).
    /// Copying an image shared by another account needs this on every snapshot of the
    /// image; EC2 refuses the copy otherwise. Every asked snapshot is in the answer; one
    /// the caller cannot see answers `false`.
    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
    ) -> Result<BTreeMap<SnapshotId, bool>, CloudError>;
}

/// What to create an image from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CreateImageRequest {
    /// The instance to image.
    pub instance: InstanceId,
    /// The image's name; unique per account and region.
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// Whether to image the instance without rebooting it (file systems may be inconsistent).
    pub no_reboot: bool,
    /// Tags for the image and its snapshots.
    pub tags: BTreeMap<String, String>,
}

impl CreateImageRequest {
    /// A request to image `instance` as `name`, rebooting it, with no tags.
    pub fn new(instance: InstanceId, name: impl Into<String>) -> Self {
        Self {
            instance,
            name: name.into(),
            description: None,
            no_reboot: false,
            tags: BTreeMap::new(),
        }
    }
}

/// What to copy, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CopyImageRequest {
    /// The region the source image lives in.
    pub source_region: Region,
    /// The image to copy.
    pub source_image: AmiId,
    /// The region to copy into.
    pub destination_region: Region,
    /// The copy's name.
    pub name: String,
    /// The copy's description.
    pub description: Option<String>,
    /// Makes the copy idempotent: a repeat with the same token returns the same image.
    pub client_token: String,
    /// Whether to encrypt the copy's snapshots.
    pub encrypted: bool,
    /// The KMS key in the destination region to encrypt with.
    pub kms_key_id: Option<String>,
    /// Tags for the copy (amiref records the copy's provenance here).
    pub tags: BTreeMap<String, String>,
    /// Whether EC2 copies the source image's own tags to the copy (`CopyImageTags`); tags in
    /// `tags` are added on top and win.
    #[serde(default)]
    pub copy_image_tags: bool,
    /// A time-based copy (`SnapshotCopyCompletionDurationMinutes`): EC2 completes the
    /// snapshots' copy within this many minutes, 15 to 2880 in steps of 15, at an extra
    /// per-GiB charge. `None`: a standard, best-effort copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_duration_minutes: Option<u32>,
}

impl CopyImageRequest {
    /// A request to copy `source_image` from `source_region` into `destination_region`.
    pub fn new(
        source_region: Region,
        source_image: AmiId,
        destination_region: Region,
        name: impl Into<String>,
        client_token: impl Into<String>,
    ) -> Self {
        Self {
            source_region,
            source_image,
            destination_region,
            name: name.into(),
            description: None,
            client_token: client_token.into(),
            encrypted: false,
            kms_key_id: None,
            tags: BTreeMap::new(),
            copy_image_tags: false,
            completion_duration_minutes: None,
        }
    }
}

/// What still uses an image, so that retiring it would break something.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ImageUsage {
    /// Instances (not terminated) launched from it.
    pub instances: Vec<InstanceId>,
    /// Launch templates whose latest or default version names it.
    pub launch_templates: Vec<String>,
}

impl ImageUsage {
    /// Whether nothing uses the image.
    pub fn is_unused(&self) -> bool {
        self.instances.is_empty() && self.launch_templates.is_empty()
    }
}

/// Makes, moves, shares and removes images.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Starts creating an image from an instance; the image starts `pending`.
    async fn create_image(
        &self,
        region: &Region,
        request: &CreateImageRequest,
    ) -> Result<AmiId, CloudError>;

    /// Starts copying an image into another region; the copy starts `pending`. A repeat
    /// with the same client token returns the first copy's id.
    async fn copy_image(&self, request: &CopyImageRequest) -> Result<AmiId, CloudError>;

    /// Who besides the owner may launch the image.
    async fn launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Vec<LaunchPermission>, CloudError>;

    /// Grants launch permissions. Granting one already held is not an error.
    async fn add_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError>;

    /// Revokes launch permissions. Revoking one not held is not an error.
    async fn remove_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError>;

    /// Grants (or, with `add == false`, revokes) create-volume permission on snapshots, which
    /// accounts need to copy an image shared with them.
    async fn modify_snapshot_permissions(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
        accounts: &[AccountId],
        add: bool,
    ) -> Result<(), CloudError>;

    /// Whether block-public-access for AMIs is on in the region (public sharing refused).
    async fn image_block_public_access(&self, region: &Region) -> Result<bool, CloudError>;

    /// Deprecates the image at `at`.
    async fn enable_deprecation(
        &self,
        region: &Region,
        image: &AmiId,
        at: DateTime<Utc>,
    ) -> Result<(), CloudError>;

    /// Cancels a deprecation.
    async fn disable_deprecation(&self, region: &Region, image: &AmiId) -> Result<(), CloudError>;

    /// Deregisters the image and, when asked, deletes its snapshots.
    async fn deregister_image(
        &self,
        region: &Region,
        image: &AmiId,
        delete_snapshots: bool,
    ) -> Result<(), CloudError>;

    /// Adds or replaces tags on the image.
    async fn create_tags(
        &self,
        region: &Region,
        image: &AmiId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CloudError>;

    /// What still uses the image in its region.
    async fn image_usage(&self, region: &Region, image: &AmiId) -> Result<ImageUsage, CloudError>;
}

/// One version of a Marketplace product, with its image per region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ProductVersion {
    /// The version title as the seller wrote it (`2.1.0`, `v2.1.0`).
    pub version: String,
    /// When it was released.
    pub release_date: Option<DateTime<Utc>>,
    /// Its image in each region it is offered in.
    pub images: BTreeMap<Region, AmiId>,
}

impl ProductVersion {
    /// A version with no images yet.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            release_date: None,
            images: BTreeMap::new(),
        }
    }
}

/// A Marketplace AMI product.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct MarketplaceProduct {
    /// The product code images carry.
    pub product_code: String,
    /// The catalog's entity id.
    pub product_id: String,
    /// Its title.
    pub title: String,
    /// Its versions, in no particular order.
    pub versions: Vec<ProductVersion>,
}

impl MarketplaceProduct {
    /// A product with no versions yet.
    pub fn new(
        product_code: impl Into<String>,
        product_id: impl Into<String>,
        title: impl Into<String>,
    ) -> Self {
        Self {
            product_code: product_code.into(),
            product_id: product_id.into(),
            title: title.into(),
            versions: Vec::new(),
        }
    }
}

/// Reads AWS Marketplace products.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Marketplace: Send + Sync {
    /// The product with this product code, or a `NotFound` error.
    async fn product(&self, product_code: &str) -> Result<MarketplaceProduct, CloudError>;
}

/// One change of a Marketplace Catalog change set (`StartChangeSet`).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CatalogChange {
    /// The change type, e.g. `AddDeliveryOptions` or `UpdatePricingTerms`.
    pub change_type: String,
    /// The entity type, e.g. `AmiProduct@1.0`.
    pub entity_type: String,
    /// The entity (product) id.
    pub entity_id: String,
    /// The change's details, as the JSON document the catalog expects.
    pub details: serde_json::Value,
}

impl CatalogChange {
    /// A change of `change_type` to the entity, with `details`.
    pub fn new(
        change_type: impl Into<String>,
        entity_type: impl Into<String>,
        entity_id: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            change_type: change_type.into(),
            entity_type: entity_type.into(),
            entity_id: entity_id.into(),
            details,
        }
    }
}

/// A change set to submit to the AWS Marketplace Catalog.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ChangeSetRequest {
    /// The catalog, `AWSMarketplace`.
    pub catalog: String,
    /// A name for people.
    pub change_set_name: String,
    /// Makes the submission idempotent.
    pub client_request_token: String,
    /// The changes, applied together.
    pub changes: Vec<CatalogChange>,
}

impl ChangeSetRequest {
    /// A change set of `changes` for `catalog`, submitted idempotently under
    /// `client_request_token`.
    pub fn new(
        catalog: impl Into<String>,
        change_set_name: impl Into<String>,
        client_request_token: impl Into<String>,
        changes: Vec<CatalogChange>,
    ) -> Self {
        Self {
            catalog: catalog.into(),
            change_set_name: change_set_name.into(),
            client_request_token: client_request_token.into(),
            changes,
        }
    }
}

/// Where a submitted change set is.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeSetStatus {
    /// Accepted, not yet applied.
    Preparing,
    /// Being applied (Marketplace review may take days).
    Applying,
    /// Applied.
    Succeeded,
    /// Cancelled.
    Cancelled,
    /// Failed, with the catalog's reason.
    Failed(String),
}

/// Submits and follows AWS Marketplace Catalog change sets.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MarketplacePublisher: Send + Sync {
    /// Submits a change set and returns its id. A repeat with the same client request
    /// token returns the first submission's id.
    async fn start_change_set(&self, request: &ChangeSetRequest) -> Result<String, CloudError>;

    /// The status of a submitted change set.
    async fn change_set_status(
        &self,
        catalog: &str,
        change_set_id: &str,
    ) -> Result<ChangeSetStatus, CloudError>;
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CallerIdentity {
    /// The caller's account.
    pub account: AccountId,
    /// The caller's ARN.
    pub arn: String,
    /// The caller's organization ARN, where known.
    pub organization: Option<String>,
    /// The caller's organizational unit ARNs, where known.
    pub organizational_units: Vec<String>,
}

impl CallerIdentity {
    /// An identity in `account` with `arn`, outside any organization.
    pub fn new(account: AccountId, arn: impl Into<String>) -> Self {
        Self {
            account,
            arn: arn.into(),
            organization: None,
            organizational_units: Vec::new(),
        }
    }
}

/// Tells who the caller is.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Identity: Send + Sync {
    /// The caller's identity (STS `GetCallerIdentity`).
    async fn caller(&self) -> Result<CallerIdentity, CloudError>;
}

/// Tells which architectures instance types run.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait InstanceTypes: Send + Sync {
    /// The architectures each of `types` supports in `region`, in one batched call. Types
    /// the region does not offer are absent from the answer.
    async fn architectures(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeMap<InstanceType, Vec<Architecture>>, CloudError>;

    /// Which of `types` the region offers (`DescribeInstanceTypeOfferings`, location type
    /// `region`), in one batched call. An instance type the region does not sell cannot
    /// launch there, whatever image it is paired with.
    async fn offered_instance_types(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeSet<InstanceType>, CloudError>;
}

/// Reads the account's settings that bound which images may be used.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AccountSettings: Send + Sync {
    /// The account's Allowed AMIs setting in `region` (`GetAllowedImagesSettings`).
    async fn allowed_images_settings(
        &self,
        region: &Region,
    ) -> Result<AllowedImagesSettings, CloudError>;
}

/// One AWS Systems Manager parameter, as `GetParameters` returns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Parameter {
    /// Its name.
    pub name: ParameterName,
    /// Its value (for an image parameter, an AMI id).
    pub value: String,
    /// Its data type: `text`, or `aws:ec2:image` for values SSM checked to be image ids.
    pub data_type: Option<String>,
    /// Its version, counted from 1.
    pub version: i64,
    /// When its value was last changed.
    pub last_modified: Option<DateTime<Utc>>,
}

impl Parameter {
    /// A `text` parameter at version 1.
    pub fn new(name: ParameterName, value: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
            data_type: None,
            version: 1,
            last_modified: None,
        }
    }
}

/// Reads AWS Systems Manager parameters (such as AWS's public
/// `/aws/service/ami-amazon-linux-latest/...` image parameters).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Parameters: Send + Sync {
    /// The parameters of `names` in `region`, in as few calls as the cloud allows. Names
    /// that do not exist (or that the caller may not read) are absent from the answer.
    async fn get_parameters(
        &self,
        region: &Region,
        names: &[ParameterName],
    ) -> Result<BTreeMap<ParameterName, Parameter>, CloudError>;
}

/// What to launch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RunInstanceRequest {
    /// The image to boot.
    pub image: AmiId,
    /// The instance type.
    pub instance_type: InstanceType,
    /// A script to run at first boot.
    pub user_data: Option<String>,
    /// Tags (the `Name` tag names the instance).
    pub tags: BTreeMap<String, String>,
    /// Makes the launch idempotent.
    pub client_token: Option<String>,
    /// Whether the instance metadata service must be used with session tokens (IMDSv2:
    /// `HttpTokens=required`), so that nothing on the instance can read its credentials
    /// with a bare GET. Builds always ask for it.
    #[serde(default)]
    pub require_imdsv2: bool,
    /// The subnet to launch into; `None`: the default subnet of the default VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<SubnetId>,
    /// The security groups; empty: the VPC's default group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroupId>,
    /// The IAM instance profile (its name or ARN) the instance runs as; `None`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
}

impl RunInstanceRequest {
    /// A request to boot `image` on `instance_type`.
    pub fn new(image: AmiId, instance_type: InstanceType) -> Self {
        Self {
            image,
            instance_type,
            user_data: None,
            tags: BTreeMap::new(),
            client_token: None,
            require_imdsv2: false,
            subnet: None,
            security_groups: Vec::new(),
            instance_profile: None,
        }
    }
}

/// Where an instance is in its life, as EC2 names it (`instance-state-name`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum InstanceState {
    /// Starting: not yet running.
    Pending,
    /// Running.
    Running,
    /// Being terminated.
    ShuttingDown,
    /// Terminated: gone, though EC2 still describes it for a while.
    Terminated,
    /// Being stopped.
    Stopping,
    /// Stopped: its volumes are kept and it can be started again.
    Stopped,
}

impl InstanceState {
    /// Every state, in EC2's order of their codes (0, 16, 32, 48, 64, 80).
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Running,
        Self::ShuttingDown,
        Self::Terminated,
        Self::Stopping,
        Self::Stopped,
    ];

    /// EC2's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        }
    }

    /// Whether the instance is gone or going (shutting down or terminated): it no longer
    /// uses its image and cannot be imaged.
    pub fn is_gone(self) -> bool {
        matches!(self, Self::ShuttingDown | Self::Terminated)
    }
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for InstanceState {
    type Err = crate::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                crate::ParseError::new(
                    "instance state",
                    s,
                    "one of \"pending\", \"running\", \"shutting-down\", \"terminated\", \"stopping\", \"stopped\"",
                )
            })
    }
}

/// The tag whose value names an instance (what the console shows as its name).
pub const NAME_TAG: &str = "Name";

/// An instance, as DescribeInstances answers it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Instance {
    /// Its id.
    pub id: InstanceId,
    /// The region it runs in.
    pub region: Region,
    /// Where it is in its life.
    pub state: InstanceState,
    /// The image it was launched from (which may have been deregistered since).
    pub image: AmiId,
    /// Its instance type.
    pub instance_type: InstanceType,
    /// The architecture it runs, when the cloud says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// When it was launched (the last start, for an instance that was stopped).
    pub launch_time: DateTime<Utc>,
    /// Its tags; [`NAME_TAG`] names it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Instance {
    /// An instance with no tags and no architecture said.
    pub fn new(
        id: InstanceId,
        region: Region,
        state: InstanceState,
        image: AmiId,
        instance_type: InstanceType,
        launch_time: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            region,
            state,
            image,
            instance_type,
            architecture: None,
            launch_time,
            tags: BTreeMap::new(),
        }
    }

    /// Its name: the value of its [`NAME_TAG`] tag.
    pub fn name(&self) -> Option<&str> {
        self.tags.get(NAME_TAG).map(String::as_str)
    }
}

/// Which instances to describe. Each field that is set narrows the answer (EC2's filters
/// `instance-id`, `tag:Name` and `instance-state-name`); within a field, any value matches.
/// The default describes every instance of the caller's in the region.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct InstanceFilter {
    /// Only these instances (empty: any). Ids that do not exist are absent from the
    /// answer rather than failing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<InstanceId>,
    /// Only instances whose [`NAME_TAG`] matches one of these patterns, with EC2's `*` and
    /// `?` wildcards ([`wildcard_match`]); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Only instances in one of these states (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<InstanceState>,
    /// Tags the instance must carry: a value, or `None` for "the key with any value"
    /// (EC2's `tag:KEY` and `tag-key` filters).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, Option<String>>,
}

impl InstanceFilter {
    /// Every instance of the caller's in the region.
    pub fn all() -> Self {
        Self::default()
    }

    /// These instances.
    pub fn ids(ids: impl IntoIterator<Item = InstanceId>) -> Self {
        Self {
            ids: ids.into_iter().collect(),
            ..Self::default()
        }
    }

    /// The instances whose name matches `pattern` (EC2's wildcards).
    pub fn named(pattern: impl Into<String>) -> Self {
        Self {
            names: vec![pattern.into()],
            ..Self::default()
        }
    }

    /// Narrows the filter to instances in one of `states`.
    #[must_use]
    pub fn in_states(mut self, states: impl IntoIterator<Item = InstanceState>) -> Self {
        self.states = states.into_iter().collect();
        self
    }

    /// Narrows the filter to instances carrying the tag `key`, with `value` or (`None`)
    /// any value.
    #[must_use]
    pub fn tag(mut self, key: impl Into<String>, value: Option<String>) -> Self {
        self.tags.insert(key.into(), value);
        self
    }

    /// Whether `instance` passes the filter, as EC2 decides it.
    pub fn matches(&self, instance: &Instance) -> bool {
        (self.ids.is_empty() || self.ids.contains(&instance.id))
            && (self.names.is_empty()
                || instance
                    .name()
                    .is_some_and(|name| self.names.iter().any(|p| wildcard_match(p, name))))
            && (self.states.is_empty() || self.states.contains(&instance.state))
            && tags_match(&self.tags, &instance.tags)
    }
}

/// Launches instances and finds them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Instances: Send + Sync {
    /// Launches one instance. The cloud refuses an image whose architecture the type cannot
    /// run.
    async fn run_instance(
        &self,
        region: &Region,
        request: &RunInstanceRequest,
    ) -> Result<InstanceId, CloudError>;

    /// The caller's instances in `region` that pass `filter`, across all pages, sorted by
    /// id. Instances of other accounts are never described.
    async fn describe_instances(
        &self,
        region: &Region,
        filter: &InstanceFilter,
    ) -> Result<Vec<Instance>, CloudError>;
}

#[cfg(test)]
mod instance_tests {
    use super::*;

    fn instance(name: Option<&str>, state: InstanceState) -> Instance {
        let mut i = Instance::new(
            "i-0123456789abcdef0".parse().unwrap(),
            "us-east-1".parse().unwrap(),
            state,
            "ami-0123456789abcdef0".parse().unwrap(),
            "t3.micro".parse().unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        if let Some(name) = name {
            i.tags.insert(NAME_TAG.to_owned(), name.to_owned());
        }
        i
    }

    #[test]
    fn states_round_trip_by_ec2_names() {
        for state in InstanceState::ALL {
            assert_eq!(state.as_str().parse::<InstanceState>().unwrap(), state);
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert!("shutting_down".parse::<InstanceState>().is_err());
    }

    #[test]
    fn filters_narrow_by_every_field_they_set() {
        let running = instance(Some("my-research"), InstanceState::Running);
        assert!(InstanceFilter::all().matches(&running));
        assert!(InstanceFilter::named("my-research").matches(&running));
        assert!(InstanceFilter::named("my-*").matches(&running));
        assert!(!InstanceFilter::named("my").matches(&running));
        assert!(!InstanceFilter::named("*").matches(&instance(None, InstanceState::Running)));
        assert!(InstanceFilter::ids([running.id.clone()]).matches(&running));
        assert!(!InstanceFilter::ids(["i-0000000000000000f".parse().unwrap()]).matches(&running));
        let live = InstanceFilter::named("my-research")
            .in_states([InstanceState::Pending, InstanceState::Running]);
        assert!(live.matches(&running));
        assert!(!live.matches(&instance(Some("my-research"), InstanceState::Terminated)));
    }
}

/// Every port at once: what the resolver and the lifecycle operations are built on.
///
/// Implemented for every type that implements all ports; `&dyn Cloud` upcasts to any one
/// port.
pub trait Cloud:
    ImageCatalog
    + ImageStore
    + Marketplace
    + MarketplacePublisher
    + Identity
    + InstanceTypes
    + Instances
    + AccountSettings
    + Parameters
    + crate::InstanceControl
    + crate::SecurityGroups
    + crate::ParameterStore
    + crate::ImageGovernance
{
}

impl<T> Cloud for T where
    T: ImageCatalog
        + ImageStore
        + Marketplace
        + MarketplacePublisher
        + Identity
        + InstanceTypes
        + Instances
        + AccountSettings
        + Parameters
        + crate::InstanceControl
        + crate::SecurityGroups
        + crate::ParameterStore
        + crate::ImageGovernance
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_ec2() {
        assert!(wildcard_match("cws-python-ml-*", "cws-python-ml-2.1.0"));
        assert!(wildcard_match("cws-python-ml-*", "cws-python-ml-"));
        assert!(wildcard_match("al2023-ami-?.*", "al2023-ami-2.0"));
        assert!(!wildcard_match("al2023-ami-?.*", "al2023-ami-22.0"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(!wildcard_match("exact", "exactly"));
        // Pathological patterns stay linear-ish.
        let long = "a".repeat(5000);
        assert!(!wildcard_match(
            &"*a".repeat(50).to_string().replace("a", "a*b"),
            &long
        ));
    }
}
