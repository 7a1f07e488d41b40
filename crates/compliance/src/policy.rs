//! What the controls are judged against: the naming convention, the maximum age, the
//! organization, and what the registries vouch for.

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, Region};

/// The organization's rules the controls need. Every field has a default that makes the
/// control it feeds either use the framework's own default (90 days) or say it is not
/// configured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CompliancePolicy {
    /// CIS 2.1.1: the names images must have, as EC2 wildcard patterns (`*` any run, `?` one
    /// character); an image matching any one passes. Empty: the control is not configured.
    pub naming_patterns: Vec<String>,
    /// CIS 2.1.4: how many days old an image may be (default 90, the benchmark's).
    pub maximum_age_days: u32,
    /// The organization's ARN (`arn:aws:organizations::…:organization/o-…`); `None`: the
    /// caller's own organization, where the cloud says.
    pub organization: Option<String>,
    /// Organizational unit ARNs images may be shared with (besides any OU of the
    /// organization, which its ARN names).
    pub organizational_units: Vec<String>,
    /// The organization's accounts images may be shared with. Launch permission for any
    /// other account is a share outside the organization.
    pub organization_accounts: Vec<AccountId>,
    /// Whether to read each own image's launch permissions (DescribeImageAttribute: EC2
    /// has no batched form, so this is one call per image) for the
    /// shared-outside-organization control. Off: only public images are seen.
    pub read_launch_permissions: bool,
    /// How many launch-permission reads run at once per region.
    pub launch_permission_concurrency: usize,
}

/// CIS 2.1.4's own figure.
pub const DEFAULT_MAXIMUM_AGE_DAYS: u32 = 90;

impl Default for CompliancePolicy {
    fn default() -> Self {
        Self {
            naming_patterns: Vec::new(),
            maximum_age_days: DEFAULT_MAXIMUM_AGE_DAYS,
            organization: None,
            organizational_units: Vec::new(),
            organization_accounts: Vec::new(),
            read_launch_permissions: true,
            launch_permission_concurrency: 8,
        }
    }
}

/// How a registry entry is vouched for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "signing", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Signing {
    /// Signed by an active key of the trust store.
    Signed {
        /// The key id.
        key: String,
        /// Its holder.
        publisher: String,
    },
    /// Signed by a retired key: it still verifies, until re-signed.
    RetiredKey {
        /// The key id.
        key: String,
        /// Its holder.
        publisher: String,
    },
    /// Admitted unsigned (the entry policy allows unsigned entries).
    Unsigned,
    /// Refused by readers: unsigned, tampered with, or signed by a revoked or unknown key.
    Refused {
        /// Why, as the registry says it.
        reason: String,
    },
}

impl Signing {
    /// Whether the entry vouches for its images (signed by an active or retired key).
    pub fn vouches(&self) -> bool {
        matches!(self, Self::Signed { .. } | Self::RetiredKey { .. })
    }
}

/// One registry entry, as far as compliance needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegistryEntry {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version: String,
    /// The file or URL it came from.
    pub source: String,
    /// Its image in each region (empty for a refused entry).
    pub images: BTreeMap<Region, AmiId>,
    /// How it is vouched for.
    pub signing: Signing,
}

impl RegistryEntry {
    /// An entry of `template` `version` from `source`.
    pub fn new(
        template: impl Into<String>,
        version: impl Into<String>,
        source: impl Into<String>,
        signing: Signing,
    ) -> Self {
        Self {
            template: template.into(),
            version: version.into(),
            source: source.into(),
            images: BTreeMap::new(),
            signing,
        }
    }

    /// The same entry naming `image` in `region`.
    #[must_use]
    pub fn with_image(mut self, region: Region, image: AmiId) -> Self {
        self.images.insert(region, image);
        self
    }
}
