//! What EC2 now knows about keeping images safe, and the port that reads and sets it:
//! deregistration protection, disabling, the references EC2 tracks, the Recycle Bin's
//! retention rules, and the account-wide guards on public sharing of snapshots.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AmiId, CloudError, Region, SnapshotId};

/// How long EC2 keeps deregistration protection after it is turned off, when it was turned
/// on with the cooldown (`EnableImageDeregistrationProtection --with-cooldown`).
pub const DEREGISTRATION_COOLDOWN_HOURS: i64 = 24;

/// An image's deregistration protection, as DescribeImages reports it
/// (`DeregistrationProtection`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "protection", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeregistrationProtection {
    /// Off: the image can be deregistered.
    Disabled,
    /// On: DeregisterImage is refused.
    Enabled {
        /// Whether turning it off keeps the image protected for another 24 hours.
        cooldown: bool,
    },
    /// Turned off with the cooldown: still protected until `until`.
    CoolingDown {
        /// When the image can be deregistered.
        until: DateTime<Utc>,
    },
}

impl DeregistrationProtection {
    /// Whether DeregisterImage would be refused at `now`.
    pub fn blocks_deregistration_at(self, now: DateTime<Utc>) -> bool {
        match self {
            Self::Disabled => false,
            Self::Enabled { .. } => true,
            Self::CoolingDown { until } => now < until,
        }
    }

    /// Parses EC2's value: `disabled`, `enabled` (also `enabled-without-cooldown`),
    /// `enabled-with-cooldown`, or `disabled-until-<RFC 3339 time>`. `None` for a value this
    /// version does not know; callers treat that as protected, the safe reading.
    pub fn from_ec2(text: &str) -> Option<Self> {
        match text {
            "disabled" => Some(Self::Disabled),
            "enabled" | "enabled-without-cooldown" => Some(Self::Enabled { cooldown: false }),
            "enabled-with-cooldown" => Some(Self::Enabled { cooldown: true }),
            other => other
                .strip_prefix("disabled-until-")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| Self::CoolingDown {
                    until: t.with_timezone(&Utc),
                }),
        }
    }

    /// EC2's value for this protection (the inverse of [`DeregistrationProtection::from_ec2`]).
    pub fn to_ec2(self) -> String {
        match self {
            Self::Disabled => "disabled".to_owned(),
            Self::Enabled { cooldown: false } => "enabled-without-cooldown".to_owned(),
            Self::Enabled { cooldown: true } => "enabled-with-cooldown".to_owned(),
            Self::CoolingDown { until } => format!(
                "disabled-until-{}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }
    }
}

/// The instance metadata service versions an image asks instances to use (`ImdsSupport`).
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
#[non_exhaustive]
pub enum ImdsSupport {
    /// `v2.0`: instances launched from the image require IMDSv2 (session tokens).
    #[serde(rename = "v2.0")]
    V2,
}

/// The kind of resource that references an image (DescribeImageReferences' `ResourceType`).
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
pub enum ReferenceKind {
    /// `ec2:Instance`: an instance launched from it (not terminated).
    Instance,
    /// `ec2:LaunchTemplate`: a launch template's latest or default version.
    LaunchTemplate,
    /// `ssm:Parameter`: an SSM parameter whose value is the image id.
    SsmParameter,
    /// `imagebuilder:ImageRecipe`: an EC2 Image Builder image recipe's parent image.
    ImageRecipe,
    /// `imagebuilder:ContainerRecipe`: an Image Builder container recipe's parent image.
    ContainerRecipe,
    /// A resource type this version does not know, by EC2's name.
    Other(String),
}

impl ReferenceKind {
    /// The kind EC2 names `name` (`ec2:Instance`, `ssm:Parameter`, ...).
    pub fn from_ec2(name: &str) -> Self {
        match name {
            "ec2:Instance" => Self::Instance,
            "ec2:LaunchTemplate" => Self::LaunchTemplate,
            "ssm:Parameter" => Self::SsmParameter,
            "imagebuilder:ImageRecipe" => Self::ImageRecipe,
            "imagebuilder:ContainerRecipe" => Self::ContainerRecipe,
            other => Self::Other(other.to_owned()),
        }
    }

    /// EC2's name for the kind.
    pub fn as_ec2(&self) -> &str {
        match self {
            Self::Instance => "ec2:Instance",
            Self::LaunchTemplate => "ec2:LaunchTemplate",
            Self::SsmParameter => "ssm:Parameter",
            Self::ImageRecipe => "imagebuilder:ImageRecipe",
            Self::ContainerRecipe => "imagebuilder:ContainerRecipe",
            Self::Other(name) => name,
        }
    }
}

/// One resource that references an image, as DescribeImageReferences reports it.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ImageReference {
    /// The image referenced.
    pub image: AmiId,
    /// What kind of resource references it.
    pub kind: ReferenceKind,
    /// The resource's ARN.
    pub arn: String,
}

impl ImageReference {
    /// A reference to `image` by the resource `arn` of `kind`.
    pub fn new(image: AmiId, kind: ReferenceKind, arn: impl Into<String>) -> Self {
        Self {
            image,
            kind,
            arn: arn.into(),
        }
    }
}

/// What a Recycle Bin retention rule keeps.
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
pub enum RecycleResource {
    /// `EC2_IMAGE`: deregistered images.
    Image,
    /// `EBS_SNAPSHOT`: deleted snapshots.
    Snapshot,
}

/// A tag a Recycle Bin rule matches: the key, with a value or any value.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RuleTag {
    /// The tag key.
    pub key: String,
    /// The value, or `None` for any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl RuleTag {
    /// A tag `key` with `value` (or any value).
    pub fn new(key: impl Into<String>, value: Option<String>) -> Self {
        Self {
            key: key.into(),
            value,
        }
    }

    /// Whether `tags` carry this tag.
    pub fn matches(&self, tags: &std::collections::BTreeMap<String, String>) -> bool {
        match (&self.value, tags.get(&self.key)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(want), Some(have)) => want == have,
        }
    }
}

/// A Recycle Bin retention rule (Recycle Bin's ListRules and GetRule).
///
/// A tag-level rule (with `resource_tags`) keeps the resources carrying any of its tags; a
/// region-level rule (no `resource_tags`) keeps every resource of its type in the region
/// except those carrying any of its `exclude_tags`.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RecycleBinRule {
    /// The rule's identifier.
    pub id: String,
    /// What it keeps.
    pub resource: RecycleResource,
    /// How many days a deleted resource stays recoverable.
    pub retention_days: u32,
    /// Tag-level rules: the tags a resource needs (any one of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_tags: Vec<RuleTag>,
    /// Region-level rules: the tags that exclude a resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tags: Vec<RuleTag>,
    /// Whether the rule is locked (it cannot be changed or deleted while locked).
    #[serde(default)]
    pub locked: bool,
}

impl RecycleBinRule {
    /// A region-level rule keeping every `resource` for `retention_days`.
    pub fn region_level(
        id: impl Into<String>,
        resource: RecycleResource,
        retention_days: u32,
    ) -> Self {
        Self {
            id: id.into(),
            resource,
            retention_days,
            resource_tags: Vec::new(),
            exclude_tags: Vec::new(),
            locked: false,
        }
    }

    /// Whether a deleted resource with `tags` would be kept by this rule.
    pub fn retains(&self, tags: &std::collections::BTreeMap<String, String>) -> bool {
        if self.resource_tags.is_empty() {
            !self.exclude_tags.iter().any(|t| t.matches(tags))
        } else {
            self.resource_tags.iter().any(|t| t.matches(tags))
        }
    }
}

/// The account's block public access for snapshots in a region
/// (GetSnapshotBlockPublicAccessState).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SnapshotBlockPublicAccess {
    /// `unblocked`: snapshots may be shared publicly (EC2's default).
    #[default]
    Unblocked,
    /// `block-new-sharing`: new public sharing is refused; snapshots already public stay so.
    BlockNewSharing,
    /// `block-all-sharing`: no snapshot is publicly restorable.
    BlockAllSharing,
}

/// The image a launch template's default or latest version launches
/// (DescribeLaunchTemplateVersions).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct LaunchTemplateImage {
    /// The launch template's id (`lt-...`).
    pub launch_template_id: String,
    /// Its name.
    pub launch_template_name: String,
    /// The version that names the image.
    pub version: u64,
    /// Whether that version is the default.
    pub is_default: bool,
    /// The image it names (which may be another account's, or gone).
    pub image: AmiId,
}

impl LaunchTemplateImage {
    /// Version `version` of launch template `id` (`name`), naming `image`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        version: u64,
        is_default: bool,
        image: AmiId,
    ) -> Self {
        Self {
            launch_template_id: id.into(),
            launch_template_name: name.into(),
            version,
            is_default,
            image,
        }
    }
}

/// Keeps images safe the way EC2 now allows: deregistration protection, disabling, the
/// references EC2 tracks, the Recycle Bin, and the account's guards on public snapshots.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ImageGovernance: Send + Sync {
    /// Turns deregistration protection on (EnableImageDeregistrationProtection), with EC2's
    /// 24-hour cooldown after it is later turned off when `with_cooldown`. Turning it on
    /// again is not an error.
    async fn enable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
        with_cooldown: bool,
    ) -> Result<(), CloudError>;

    /// Turns deregistration protection off (DisableImageDeregistrationProtection); with the
    /// cooldown, the image stays protected for 24 hours more.
    async fn disable_deregistration_protection(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<(), CloudError>;

    /// Disables the image (DisableImage): state `disabled`, hidden from DescribeImages unless
    /// asked for, no new launches, and every launch permission removed. Reversible with
    /// [`ImageGovernance::enable_image`] (which does not restore the permissions).
    async fn disable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError>;

    /// Re-enables a disabled image (EnableImage): state `available` again, private.
    async fn enable_image(&self, region: &Region, image: &AmiId) -> Result<(), CloudError>;

    /// Removes tags from the image (DeleteTags). Removing a tag it lacks is not an error.
    async fn delete_tags(
        &self,
        region: &Region,
        image: &AmiId,
        keys: &[String],
    ) -> Result<(), CloudError>;

    /// Every resource of the caller's account in `region` that references any of `images`
    /// (DescribeImageReferences with every resource type), in as few calls as the cloud
    /// allows. An image nothing references is absent from the answer.
    async fn image_references(
        &self,
        region: &Region,
        images: &[AmiId],
    ) -> Result<Vec<ImageReference>, CloudError>;

    /// The Recycle Bin's retention rules in `region` for images and snapshots.
    async fn recycle_bin_rules(&self, region: &Region) -> Result<Vec<RecycleBinRule>, CloudError>;

    /// The caller's snapshots in `region` that anyone may restore (create-volume permission
    /// for `all`), in one paginated listing.
    async fn public_snapshots(&self, region: &Region) -> Result<BTreeSet<SnapshotId>, CloudError>;

    /// The account's block public access for snapshots in `region`.
    async fn snapshot_block_public_access(
        &self,
        region: &Region,
    ) -> Result<SnapshotBlockPublicAccess, CloudError>;

    /// The images the caller's launch templates in `region` launch: each template's default
    /// and latest version.
    async fn launch_template_images(
        &self,
        region: &Region,
    ) -> Result<Vec<LaunchTemplateImage>, CloudError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_reads_every_ec2_value() {
        let until = "2026-12-02T10:00:00Z";
        for (text, blocks_now) in [
            ("disabled", false),
            ("enabled", true),
            ("enabled-without-cooldown", true),
            ("enabled-with-cooldown", true),
            (&format!("disabled-until-{until}") as &str, true),
        ] {
            let p = DeregistrationProtection::from_ec2(text).unwrap();
            let now = "2026-12-01T10:00:00Z".parse().unwrap();
            assert_eq!(p.blocks_deregistration_at(now), blocks_now, "{text}");
        }
        let cooling = DeregistrationProtection::from_ec2(&format!("disabled-until-{until}"));
        let later = "2026-12-02T10:00:01Z".parse().unwrap();
        assert!(!cooling.unwrap().blocks_deregistration_at(later));
        assert_eq!(
            DeregistrationProtection::from_ec2(&cooling.unwrap().to_ec2()),
            cooling
        );
        assert_eq!(DeregistrationProtection::from_ec2("sometimes"), None);
    }

    #[test]
    fn rules_keep_by_tag_or_by_region() {
        let tags: std::collections::BTreeMap<String, String> =
            [("team".to_owned(), "genomics".to_owned())].into();
        let region = RecycleBinRule::region_level("r1", RecycleResource::Image, 7);
        assert!(region.retains(&tags));
        let mut excluding = region.clone();
        excluding.exclude_tags = vec![RuleTag::new("team", None)];
        assert!(!excluding.retains(&tags));
        let mut tagged = region;
        tagged.resource_tags = vec![RuleTag::new("team", Some("physics".into()))];
        assert!(!tagged.retains(&tags));
        tagged
            .resource_tags
            .push(RuleTag::new("team", Some("genomics".into())));
        assert!(tagged.retains(&tags));
    }
}
