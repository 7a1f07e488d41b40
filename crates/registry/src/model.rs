//! The registry document: the mission's `community_amis` YAML, versioned, with publisher
//! keys, signatures, owners and sharing policies. docs/registry.md specifies it and
//! docs/registry.schema.json is generated from these types.

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, Architecture, Region};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The format version this crate reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A registry file: entries per template and version, and who published them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RegistryDocument {
    /// The format version; this crate reads `1`.
    pub schema_version: u32,
    /// The publisher keys that signed entries in this file. Informational: trust comes only
    /// from the reader's trust store, never from the file that is being verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publishers: Vec<PublisherKeyInfo>,
    /// Who may use this registry's entries; an entry's own `sharing` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<SharingPolicy>,
    /// Entries: template name, then version (semver, `v` prefix allowed), then the entry.
    #[serde(default)]
    pub community_amis: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl Default for RegistryDocument {
    fn default() -> Self {
        Self::new()
    }
}

impl RegistryDocument {
    /// An empty document of the current version.
    pub fn new() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            publishers: Vec::new(),
            sharing: None,
            community_amis: BTreeMap::new(),
        }
    }

    /// The number of (template, version) entries.
    pub fn entry_count(&self) -> usize {
        self.community_amis.values().map(BTreeMap::len).sum()
    }
}

/// A publisher key as a registry file announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PublisherKeyInfo {
    /// The key id (`ed25519:` and 16 hex digits of the key's SHA-256).
    pub key_id: String,
    /// Who holds the key, e.g. `stats-dept@college.edu`.
    pub publisher: String,
    /// The 32-byte ed25519 public key, base64.
    pub public_key: String,
}

/// One image build for a template, in one or more regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Entry {
    /// Who built it (a person, group or address).
    pub creator: String,
    /// What is in it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The image in each region. An AMI id is specific to one region.
    pub regions: BTreeMap<Region, AmiId>,
    /// The images' architecture (`x86_64` when not given, as in the mission's examples).
    #[serde(default = "default_architecture")]
    pub architecture: Architecture,
    /// The account expected to own the images; the resolver checks the real owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<AccountId>,
    /// What was checked about the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// What users thought of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratings: Option<Ratings>,
    /// When it was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Who may use this entry; replaces the document's `sharing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<SharingPolicy>,
    /// The publisher's signature over the entry's canonical form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<EntrySignature>,
}

fn default_architecture() -> Architecture {
    Architecture::X86_64
}

impl Entry {
    /// An unsigned entry by `creator` with images in `regions`.
    pub fn new(
        creator: impl Into<String>,
        architecture: Architecture,
        regions: BTreeMap<Region, AmiId>,
    ) -> Self {
        Self {
            creator: creator.into(),
            description: String::new(),
            regions,
            architecture,
            owner: None,
            verification: None,
            ratings: None,
            created_at: None,
            sharing: None,
            signature: None,
        }
    }
}

/// What was verified about an image.
///
/// The measured figures (`script_ready_secs`, `image_ready_secs`, `speedup`) are
/// written only from a build's measurement ([`Verification::measured`]); an entry without
/// them says nothing about speed, and readers never fill them in from an estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Verification {
    /// Whether the image was launched and its template's checks passed.
    #[serde(default)]
    pub tested: bool,
    /// The outcome of a security scan.
    #[serde(default)]
    pub security_scan: ScanStatus,
    /// A benchmark result, for people (e.g. `4.2x faster than script install`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_benchmark: Option<String>,
    /// Measured: seconds from launching the base image to the template's script finishing
    /// (what a launch that provisions by script waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_ready_secs: Option<f64>,
    /// Measured: seconds from launching this image to its test reporting ready (what a
    /// launch of the pre-built image waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_ready_secs: Option<f64>,
    /// `script_ready_secs / image_ready_secs`, to two decimals: how many times sooner
    /// the image is ready than the script. Present only with both times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup: Option<f64>,
    /// When it was tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tested_at: Option<DateTime<Utc>>,
}

impl Verification {
    /// Whether it was tested and how its scan went, with no benchmark, figures or date.
    pub fn new(tested: bool, security_scan: ScanStatus) -> Self {
        Self {
            tested,
            security_scan,
            performance_benchmark: None,
            script_ready_secs: None,
            image_ready_secs: None,
            speedup: None,
            tested_at: None,
        }
    }

    /// The same verification with the times a build measured, in seconds, and their ratio.
    /// A time that is not a positive finite number is not a measurement: it leaves all
    /// three figures out.
    #[must_use]
    pub fn measured(mut self, script_ready_secs: f64, image_ready_secs: f64) -> Self {
        let measured = |s: f64| s.is_finite() && s > 0.0;
        if measured(script_ready_secs) && measured(image_ready_secs) {
            self.script_ready_secs = Some(script_ready_secs);
            self.image_ready_secs = Some(image_ready_secs);
            self.speedup = Some(round_speedup(script_ready_secs / image_ready_secs));
        } else {
            self.script_ready_secs = None;
            self.image_ready_secs = None;
            self.speedup = None;
        }
        self
    }
}

/// A speedup as entries write it: to two decimals.
pub(crate) fn round_speedup(ratio: f64) -> f64 {
    (ratio * 100.0).round() / 100.0
}

/// The outcome of a security scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScanStatus {
    /// No scan was run.
    #[default]
    NotRun,
    /// A scan ran and is not finished.
    Pending,
    /// A scan found nothing to block the image.
    Passed,
    /// A scan found problems: such an entry is always refused.
    Failed,
}

/// Users' ratings of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Ratings {
    /// Mean stars, 0 to 5 (0 only with no reviews).
    pub average: f64,
    /// How many reviews the mean is over.
    #[serde(default)]
    pub reviews: u64,
    /// How many times it was launched.
    #[serde(default)]
    pub downloads: u64,
}

impl Ratings {
    /// `average` stars over `reviews` reviews, launched `downloads` times.
    pub fn new(average: f64, reviews: u64, downloads: u64) -> Self {
        Self {
            average,
            reviews,
            downloads,
        }
    }
}

/// Which callers may use an entry: any listed account, or any account in a listed
/// organization or organizational unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SharingPolicy {
    /// Accounts allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountId>,
    /// Organization ARNs allowed (`arn:aws:organizations::111122223333:organization/o-...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<String>,
    /// Organizational unit ARNs allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizational_units: Vec<String>,
}

impl SharingPolicy {
    /// Whether `caller` may use what this policy covers. Nobody is allowed by an empty
    /// policy; an unknown caller by none.
    pub fn allows(&self, caller: Option<&amiref_core::CallerIdentity>) -> bool {
        let Some(caller) = caller else {
            return false;
        };
        self.accounts.contains(&caller.account)
            || caller
                .organization
                .as_ref()
                .is_some_and(|o| self.organizations.contains(o))
            || caller
                .organizational_units
                .iter()
                .any(|ou| self.organizational_units.contains(ou))
    }
}

/// A publisher's ed25519 signature over an entry's canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EntrySignature {
    /// The signing key's id.
    pub key_id: String,
    /// The 64-byte signature, base64.
    pub ed25519: String,
}

/// The JSON Schema of registry files, as checked in at docs/registry.schema.json.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(RegistryDocument);
    amiref_core::sorted_json(serde_json::to_value(schema).unwrap_or(serde_json::Value::Null))
}
