//! The world file's shape: what a world file may say, field by field (docs/worlds.md), read
//! by [`super::load`] and written by [`super::save`].
//!
//! Every optional field is skipped when written at its default, so a saved world reads like
//! a hand-written one.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesState, AmiId, Architecture, ChangeSetRequest, DeregistrationProtection,
    ImageCriterion, ImageState, ImdsSupport, InstanceId, InstanceState, InstanceType,
    ParameterName, ProductCodeType, RecycleResource, Region, SecurityGroupId,
    SnapshotBlockPublicAccess, SnapshotId, SubnetId, VpcId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorldFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) caller: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) accounts: Vec<AccountEntry>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) regions: BTreeMap<Region, Option<RegionEntry>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) instance_types: Vec<InstanceTypeEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) images: Vec<ImageEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) snapshots: Vec<SnapshotEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) instances: Vec<InstanceEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) launch_templates: Vec<LaunchTemplateEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) image_recipes: Vec<RecipeEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) products: Vec<ProductEntry>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) parameters: BTreeMap<Region, BTreeMap<ParameterName, ParameterEntry>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) builds: BTreeMap<String, BuildEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) security_groups: Vec<SecurityGroupEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) change_sets: Vec<ChangeSetEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) client_tokens: Vec<ClientTokenEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ids_minted: Option<u64>,
    #[serde(default, skip_serializing_if = "TimingsEntry::is_default")]
    pub(crate) timings: TimingsEntry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latency: Option<Dur>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) throttling: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountEntry {
    pub(crate) id: AccountId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) organization: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) organizational_units: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegionEntry {
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) block_public_access: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latency: Option<Dur>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) down: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) allowed_images: Option<AllowedImagesEntry>,
    /// Subnets besides the default one, each with its VPC.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) subnets: BTreeMap<SubnetId, VpcId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) snapshot_block_public_access: Option<SnapshotBlockPublicAccess>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) recycle_bin_rules: Vec<RecycleRuleEntry>,
}

/// A Recycle Bin retention rule of a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecycleRuleEntry {
    pub(crate) id: String,
    pub(crate) resource: RecycleResource,
    pub(crate) retention_days: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) resource_tags: Vec<RuleTagEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) exclude_tags: Vec<RuleTagEntry>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) locked: bool,
}

/// A tag a rule matches: the key, with a value or (none) any value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleTagEntry {
    pub(crate) key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<String>,
}

/// An image's deregistration protection, written as EC2 writes it (`enabled`,
/// `enabled-with-cooldown`, `disabled`, `disabled-until-<RFC 3339 time>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProtectionEntry(pub(crate) DeregistrationProtection);

pub(crate) const PROTECTION_EXPECTED: &str = "`enabled` (or `enabled-without-cooldown`), `enabled-with-cooldown`, `disabled`, or `disabled-until-<RFC 3339 time>` (cooling down)";

impl<'de> Deserialize<'de> for ProtectionEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DeregistrationProtection::from_ec2(&text)
            .map(ProtectionEntry)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid deregistration protection {text:?}: expected {PROTECTION_EXPECTED}"
                ))
            })
    }
}

impl Serialize for ProtectionEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_ec2())
    }
}

/// An EC2 Image Builder recipe whose parent image is an image id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecipeEntry {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) region: Region,
    pub(crate) parent_image: AmiId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) container: bool,
}

/// How a template's build scripts run.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuildEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provision: Option<ScriptEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) test: Option<ScriptEntry>,
}

/// How one build script runs: for how long and with which exit status, or it hangs.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScriptEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) runs_for: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exit_status: Option<i32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) hangs: bool,
}

/// A security group an earlier run created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecurityGroupEntry {
    pub(crate) id: SecurityGroupId,
    pub(crate) region: Region,
    pub(crate) name: String,
    pub(crate) description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vpc: Option<VpcId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: BTreeMap<String, String>,
}

/// An instance's next state and when it reaches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NextStateEntry {
    pub(crate) state: InstanceState,
    pub(crate) at: DateTime<Utc>,
}

/// An earlier version of a parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionFields {
    pub(crate) version: i64,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AllowedImagesEntry {
    pub(crate) state: AllowedImagesState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) criteria: Vec<ImageCriterion>,
}

/// A parameter: its value alone (a `text` parameter), or a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParameterEntry(pub(crate) ParameterFields);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParameterFields {
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_modified: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub(crate) checked: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) history: Vec<VersionFields>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Serialize for ParameterEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ParameterEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ParameterEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a parameter value, or a mapping with `value` and optionally `data_type` (text or aws:ec2:image), `version`, `last_modified`, `owner`, `checked`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ParameterEntry(ParameterFields {
                    value: v.to_owned(),
                    data_type: None,
                    version: None,
                    last_modified: None,
                    owner: None,
                    checked: true,
                    history: Vec::new(),
                }))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                ParameterFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ParameterEntry)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstanceTypeEntry {
    pub(crate) name: InstanceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) architectures: Option<Vec<Architecture>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) regions: Option<Vec<Region>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<AmiId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<Region>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) ids: BTreeMap<Region, AmiId>,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    pub(crate) architecture: Architecture,
    pub(crate) created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<ImageState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) available_after: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deprecation_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) public: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) shared_with: Vec<ShareEntry>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) product_codes: Vec<ProductCodeEntry>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) paid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) usage_operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform_details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) volume_gib: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) encrypted: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) block_devices: Vec<BlockDeviceEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) volume_permissions: Option<Vec<AccountId>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) public_snapshots: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) key_shared_with: Vec<AccountId>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) fails: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source_image: Option<AmiId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source_region: Option<Region>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_launched: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deregistration_protection: Option<ProtectionEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) imds_support: Option<ImdsSupport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) recycled_until: Option<DateTime<Utc>>,
}

/// A product code: its code alone (an AWS Marketplace code), or a mapping with its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum ProductCodeEntry {
    Marketplace(String),
    Typed { code: String, kind: ProductCodeType },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlockDeviceEntry {
    pub(crate) device: String,
    pub(crate) snapshot: SnapshotId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) volume_gib: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShareEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ou: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotEntry {
    pub(crate) id: SnapshotId,
    pub(crate) region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) volume_permissions: Vec<AccountId>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) public: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) key_shared_with: Vec<AccountId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) recycled_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstanceEntry {
    pub(crate) id: InstanceId,
    pub(crate) region: Region,
    pub(crate) image: AmiId,
    pub(crate) instance_type: InstanceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<InstanceState>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) terminated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) launch_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) architecture: Option<Architecture>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) volume_gib: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) usage_operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) platform_details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_data: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) require_imdsv2: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) instance_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subnet: Option<SubnetId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) security_groups: Vec<SecurityGroupId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_state: Option<NextStateEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) running_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) halted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) forget_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LaunchTemplateEntry {
    pub(crate) name: String,
    pub(crate) region: Region,
    pub(crate) image: AmiId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latest: Option<LatestVersionEntry>,
}

/// A launch template's latest version, when it is newer than its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LatestVersionEntry {
    pub(crate) version: u64,
    pub(crate) image: AmiId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProductEntry {
    pub(crate) product_code: String,
    pub(crate) product_id: String,
    pub(crate) title: String,
    /// The product's offers (`offer-…`), which pricing change sets name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) offers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) versions: Vec<VersionEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionEntry {
    pub(crate) version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) released: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) images: BTreeMap<Region, AmiId>,
}

/// A change set submitted in an earlier run, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeSetEntry {
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) caller: Option<AccountId>,
    pub(crate) submitted: DateTime<Utc>,
    pub(crate) request: ChangeSetRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) failure: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) applied: bool,
}

/// A client token an earlier run used: for CopyImage (`copy`, with the request it was
/// used for) or RunInstances (`instance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientTokenEntry {
    pub(crate) region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) caller: Option<AccountId>,
    pub(crate) token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) copy: Option<AmiId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) instance: Option<InstanceId>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimingsEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) create_image: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) copy_image: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) copy_image_per_gib: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) change_set_preparing: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) change_set_applying: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) boot: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stop: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) terminate: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) terminated_visible: Option<Dur>,
}

impl TimingsEntry {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A duration written `500ms`, `90s`, `10m`, `1h30m`, `2d` (and `us`, `ns` below a
/// millisecond, which saved worlds may need).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur(pub(crate) Duration);

pub(crate) const DURATION_EXPECTED: &str = "a duration such as \"500ms\", \"90s\", \"10m\", \"1h30m\" or \"2d\" (units d, h, m, s, ms, us, ns)";

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Dur).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}: expected {DURATION_EXPECTED}"
            ))
        })
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// The units a duration is written in, largest first, in nanoseconds.
const UNITS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: u128 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (_, nanos) = UNITS.iter().find(|(unit, _)| *unit == &rest[..unit_len])?;
        total = total.checked_add(n.checked_mul(*nanos)?)?;
        rest = &rest[unit_len..];
    }
    let secs = u64::try_from(total / 1_000_000_000).ok()?;
    let nanos = u32::try_from(total % 1_000_000_000).ok()?;
    Some(Duration::new(secs, nanos))
}

/// Writes a duration so that [`parse_duration`] reads it back exactly: `1h30m`, `2m5s`,
/// `0s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let mut left = duration.as_nanos();
    if left == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, nanos) in UNITS {
        let n = left / nanos;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left %= nanos;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s5us3ns"), Some(Duration::new(1, 5_003)));
        for bad in ["", "10", "m", "10x", "1h-3m", "99999999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_are_written_as_they_are_read() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        for d in [
            Duration::new(0, 1),
            Duration::new(86_400 * 3 + 61, 7_000_123),
            Duration::new(u64::MAX / 2, 999_999_999),
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Some(d), "{d:?}");
        }
    }
}
