//! An image as reports show it.

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, Architecture, Image, ImageState, Region};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

/// An image in a JSON report: what `DescribeImages` said of it that a person or script
/// acts on. Every key is present; an unknown fact is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImageJson {
    /// The image id.
    pub id: AmiId,
    /// Its region.
    pub region: Region,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// The owning account.
    pub owner: AccountId,
    /// The owner's alias (`amazon`, `aws-marketplace`), when EC2 reports one.
    pub owner_alias: Option<String>,
    /// When it was created (or copied).
    pub creation_date: DateTime<Utc>,
    /// Its architecture.
    pub architecture: Architecture,
    /// Its state.
    pub state: ImageState,
    /// When it is (or was) deprecated.
    pub deprecation_time: Option<DateTime<Utc>>,
    /// Whether anyone may launch it.
    pub public: bool,
    /// EC2's `PlatformDetails` (`Linux/UNIX`, `Windows`, ...).
    pub platform_details: Option<String>,
    /// Marketplace product codes.
    pub product_codes: Vec<String>,
    /// The size of its EBS volumes, GiB, when known.
    pub size_gib: Option<u64>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl From<&Image> for ImageJson {
    fn from(image: &Image) -> Self {
        let sizes: Vec<u64> = image
            .block_devices
            .iter()
            .filter_map(|d| d.volume_size_gib.map(u64::from))
            .collect();
        Self {
            id: image.id.clone(),
            region: image.region.clone(),
            name: image.name.clone(),
            description: image.description.clone(),
            owner: image.owner.clone(),
            owner_alias: image.owner_alias.clone(),
            creation_date: image.creation_date,
            architecture: image.architecture,
            state: image.state,
            deprecation_time: image.deprecation_time,
            public: image.public,
            platform_details: image.platform_details.clone(),
            product_codes: image.product_codes.iter().map(|p| p.code.clone()).collect(),
            size_gib: (!sizes.is_empty()).then(|| sizes.iter().sum()),
            tags: image.tags.clone(),
        }
    }
}
