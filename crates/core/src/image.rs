//! The image record every port returns, and its parts.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::{AccountId, AmiId, Architecture, Region, SnapshotId};

/// The state of an image, as `DescribeImages` reports it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageState {
    /// Being created or copied; cannot launch yet.
    Pending,
    /// Ready to launch.
    Available,
    /// Creation failed.
    Failed,
    /// Invalid.
    Invalid,
    /// Deregistered; kept visible for a while by EC2.
    Deregistered,
    /// Transient.
    Transient,
    /// An error occurred.
    Error,
    /// Disabled (EC2 `DisableImage`): hidden from launches.
    Disabled,
}

impl ImageState {
    /// EC2's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Failed => "failed",
            Self::Invalid => "invalid",
            Self::Deregistered => "deregistered",
            Self::Transient => "transient",
            Self::Error => "error",
            Self::Disabled => "disabled",
        }
    }
}

impl fmt::Display for ImageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a product code is a Marketplace or a DevPay code.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProductCodeType {
    /// An AWS Marketplace product.
    Marketplace,
    /// A legacy DevPay product.
    Devpay,
}

/// A product code attached to an image: the image belongs to a Marketplace product.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ProductCode {
    /// The product code.
    pub code: String,
    /// Its type.
    pub kind: ProductCodeType,
}

/// One block device of an image: where its data lives, for copy and storage estimates.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct BlockDevice {
    /// The device name, `/dev/xvda`.
    pub device_name: String,
    /// The EBS snapshot behind it, if it is an EBS volume.
    pub snapshot_id: Option<SnapshotId>,
    /// The volume size in GiB.
    pub volume_size_gib: Option<u32>,
    /// Whether the snapshot is encrypted.
    pub encrypted: bool,
}

/// Who may launch an image besides its owner.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LaunchPermission {
    /// Everyone (`group: all`).
    Public,
    /// One account.
    Account(AccountId),
    /// Every account of an AWS Organization, by organization ARN.
    Organization(String),
    /// Every account of an organizational unit, by OU ARN.
    OrganizationalUnit(String),
}

/// An image's launch permissions.
pub type LaunchPermissions = Vec<LaunchPermission>;

/// An Amazon Machine Image as a region describes it.
///
/// Construct with [`Image::new`] and set the optional facts on the public fields; the type is
/// `#[non_exhaustive]` so that new facts can be added without breaking callers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Image {
    /// The image id, unique within its region.
    pub id: AmiId,
    /// The region it lives in.
    pub region: Region,
    /// Its name, unique per owner and region.
    pub name: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning account.
    pub owner: AccountId,
    /// The owner's alias, `amazon` or `aws-marketplace`, when EC2 reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_alias: Option<String>,
    /// When it was created (or copied).
    pub creation_date: DateTime<Utc>,
    /// Its state.
    pub state: ImageState,
    /// Its architecture.
    pub architecture: Architecture,
    /// When it is (or was) deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation_time: Option<DateTime<Utc>>,
    /// Its tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Marketplace product codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_codes: Vec<ProductCode>,
    /// Whether anyone may launch it.
    #[serde(default)]
    pub public: bool,
    /// Its block devices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block_devices: Vec<BlockDevice>,
    /// EC2's `UsageOperation`, the billing code of instances launched from it: `RunInstances`
    /// for plain Linux/UNIX, `RunInstances:0002` for Windows, `RunInstances:0010` for RHEL,
    /// and so on. Unknown where the cloud does not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_operation: Option<String>,
    /// EC2's `PlatformDetails`: `Linux/UNIX`, `Windows`, `Red Hat Enterprise Linux`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_details: Option<String>,
    /// EC2's `ImageAllowed`, reported while the account's Allowed AMIs setting is in audit
    /// mode: whether the image would be allowed once the setting is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_allowed: Option<bool>,
    /// EC2's `SourceImageId`: the image this one was made from, by CopyImage or by
    /// CreateImage from an instance launched from it (its ancestry). Unknown where the cloud
    /// does not report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_image: Option<AmiId>,
    /// EC2's `SourceImageRegion`: the region of [`Image::source_image`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_region: Option<Region>,
    /// EC2's `LastLaunchedTime`: when an instance was last launched from it (EC2 updates
    /// it within about a day of a launch). `None`: never launched, or not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_launched: Option<DateTime<Utc>>,
    /// EC2's `DeregistrationProtection`. `None`: not reported (treated as off by EC2's
    /// default, and checked again by DeregisterImage's refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration_protection: Option<crate::DeregistrationProtection>,
    /// EC2's `ImdsSupport`: `v2.0` when instances launched from it must use IMDSv2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imds_support: Option<crate::ImdsSupport>,
}

impl Image {
    /// An available, private, untagged image with the required facts.
    pub fn new(
        id: AmiId,
        region: Region,
        name: impl Into<String>,
        owner: AccountId,
        architecture: Architecture,
        creation_date: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            region,
            name: name.into(),
            description: None,
            owner,
            owner_alias: None,
            creation_date,
            state: ImageState::Available,
            architecture,
            deprecation_time: None,
            tags: BTreeMap::new(),
            product_codes: Vec::new(),
            public: false,
            block_devices: Vec::new(),
            usage_operation: None,
            platform_details: None,
            image_allowed: None,
            source_image: None,
            source_region: None,
            last_launched: None,
            deregistration_protection: None,
            imds_support: None,
        }
    }

    /// Whether the image carries a billing product: a usage operation other than
    /// `RunInstances` or platform details other than `Linux/UNIX` (Windows, RHEL, SQL Server,
    /// Ubuntu Pro, paid listings). EC2 refuses to copy such an image for anyone but its
    /// owner. Unknown facts count as no billing product.
    pub fn has_billing_product(&self) -> bool {
        self.usage_operation
            .as_deref()
            .is_some_and(|u| u != "RunInstances")
            || self
                .platform_details
                .as_deref()
                .is_some_and(|p| p != "Linux/UNIX")
    }

    /// Whether the image is deprecated at `now`.
    pub fn is_deprecated_at(&self, now: DateTime<Utc>) -> bool {
        self.deprecation_time.is_some_and(|t| t <= now)
    }

    /// Whether it can be launched now (state `available`).
    pub fn is_available(&self) -> bool {
        self.state == ImageState::Available
    }

    /// The size of the root volume in GiB: the first block device's, if known.
    pub fn root_volume_size_gib(&self) -> Option<u32> {
        self.block_devices.first().and_then(|b| b.volume_size_gib)
    }

    /// The total size of all EBS volumes in GiB: what a copy moves and what storage costs.
    pub fn total_volume_size_gib(&self) -> u64 {
        self.block_devices
            .iter()
            .filter_map(|b| b.volume_size_gib)
            .map(u64::from)
            .sum()
    }

    /// The EBS snapshots behind the image.
    pub fn snapshot_ids(&self) -> impl Iterator<Item = &SnapshotId> {
        self.block_devices
            .iter()
            .filter_map(|b| b.snapshot_id.as_ref())
    }

    /// Whether any of its snapshots is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.block_devices.iter().any(|b| b.encrypted)
    }

    /// Whether it carries a Marketplace product code.
    pub fn is_marketplace(&self) -> bool {
        self.product_codes
            .iter()
            .any(|p| p.kind == ProductCodeType::Marketplace)
    }

    /// A tag's value.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }
}
