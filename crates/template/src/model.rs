//! The template types, as serde reads them. Semantic checks live in `validate`.

use std::collections::BTreeMap;

use amiref_core::{AmiId, Architecture, InstanceType, Owner, ParameterName, Region};
use chrono::NaiveDate;

use crate::HumanDuration;

/// A machine template: what to launch, and how to find a pre-built image for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Template {
    /// The template's name, unique within a directory of templates (`python-ml`).
    pub name: String,
    /// A category for browsing (`machine-learning`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What the template gives a researcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The template's own version (semver, an optional leading `v`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The default instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<InstanceType>,
    /// The instance type to use for each architecture, when the image's architecture decides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub instance_types: BTreeMap<Architecture, InstanceType>,
    /// The image script provisioning boots: an SSM parameter whose value is the image id
    /// (`ssm_parameter: /aws/service/...`), or a search (as `ami_search`). When absent,
    /// Amazon Linux 2023 for the instance's architecture, from AWS's public parameter
    /// `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arch>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image: Option<BaseImage>,
    /// How long the `user_data` script takes to provision, for estimates (default 6m; at
    /// most 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_time: Option<HumanDuration>,
    /// How to find a pre-built image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_config: Option<AmiConfig>,
    /// The provisioning script, run at first boot when no image is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// How `amiref build` and `amiref refresh` make and keep the template's image: the
    /// test script, timeouts, the builder's instance types, the image's maximum age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildConfig>,
}

/// How an image is built from the template, tested, and kept fresh.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BuildConfig {
    /// The test script, run on an instance booted from the new image: the image passes
    /// when it exits 0. A `#!` script. Default: the image boots and reports ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// How long provisioning (`user_data` on the builder) may take. Default: three times
    /// `provisioning_time`, at least 30m (see [`Template::provision_timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// How long the test may take, from the tester's launch (default 20m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_timeout: Option<HumanDuration>,
    /// The builder's and tester's instance type per architecture, instead of the
    /// template's (a larger one often provisions faster).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub instance_types: BTreeMap<Architecture, InstanceType>,
    /// The age past which `amiref refresh` rebuilds the image even when nothing changed
    /// (default 90d, as CIS's compute benchmark asks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<HumanDuration>,
}

/// How a template finds its image, and what happens when there is none.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AmiConfig {
    /// Image first, script first, or image only.
    #[serde(default)]
    pub strategy: AmiStrategy,
    /// An SSM parameter whose value is the image id (`/golden/python-ml/x86_64`), read in
    /// the region resolved in (SSM is regional; the same name everywhere): the first tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_parameter: Option<ParameterName>,
    /// An SSM parameter per region, used instead of `ssm_parameter` in its region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ssm_parameters: BTreeMap<Region, ParameterName>,
    /// An image per region: the tier after the SSM parameter, and the fastest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ami_mappings: BTreeMap<Region, AmiId>,
    /// A search over trusted owners' images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_search: Option<AmiSearch>,
    /// An AWS Marketplace product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_search: Option<MarketplaceSearch>,
    /// What to do when no image is found in the region.
    #[serde(default)]
    pub fallback_strategy: FallbackStrategy,
    /// One deadline over the whole resolution (more than 0s, at most 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_timeout: Option<HumanDuration>,
    /// The architecture to choose when several fit (arm64 is usually cheaper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_architecture: Option<Architecture>,
    /// Instance families in order of preference (`t4g`, `m6i`); matched to the image's
    /// architecture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_family_preference: Vec<String>,
}

impl Template {
    /// A template with only a name, for building one in code (fields are public); check
    /// it with [`Template::validate`].
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            category: None,
            description: None,
            version: None,
            instance_type: None,
            instance_types: BTreeMap::new(),
            base_image: None,
            provisioning_time: None,
            ami_config: None,
            user_data: None,
            build: None,
        }
    }
}

impl MarketplaceSearch {
    /// A search for any version of a product.
    pub fn new(product_code: impl Into<String>) -> Self {
        Self {
            product_code: product_code.into(),
            version_constraint: None,
        }
    }
}

impl AmiConfig {
    /// The SSM parameter to read in `region`: `ssm_parameters[region]`, else
    /// `ssm_parameter`.
    pub fn ssm_parameter_in(&self, region: &Region) -> Option<&ParameterName> {
        self.ssm_parameters
            .get(region)
            .or(self.ssm_parameter.as_ref())
    }

    /// Whether resolution needs the provisioning script (booting the base image and
    /// running `user_data`) on some path, so that a template without one is incomplete:
    /// always with `ami_fallback` (the script comes first), and with `ami_preferred` when
    /// the fallback is `script_provisioning`. `ami_required` never runs the script. With a
    /// `cross_region` fallback the script is optional: when the template has `user_data`,
    /// the resolver may prefer it to a copy (and uses it when no region has the image);
    /// without it, a copy or an error.
    pub fn script_reachable(&self) -> bool {
        match self.strategy {
            AmiStrategy::AmiFallback => true,
            AmiStrategy::AmiPreferred => {
                self.fallback_strategy == FallbackStrategy::ScriptProvisioning
            }
            AmiStrategy::AmiRequired => false,
        }
    }
}

/// Whether a template prefers, requires, or only falls back to an image.
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
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AmiStrategy {
    /// Try the image tiers, then the configured fallback.
    #[default]
    AmiPreferred,
    /// An image or nothing: never fall back to the script.
    AmiRequired,
    /// The script first; the best image is recorded as the alternative.
    AmiFallback,
}

/// What to do when no image is found in the region.
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
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FallbackStrategy {
    /// Boot the base image and run `user_data`.
    #[default]
    ScriptProvisioning,
    /// Fail with the whole chain.
    Error,
    /// Find the image in a fallback region and plan a copy.
    CrossRegion,
}

/// One value or a list of them: `architecture: arm64` or `architecture: [x86_64, arm64]`.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(v) => v,
        }
    }
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

/// A search over trusted owners' images in the region.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AmiSearch {
    /// One owner (an account id, `self`, `amazon`, `aws-marketplace`, or a named owner the
    /// trust policy maps to accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Several owners; combined with `owner`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Owner>,
    /// An EC2 name pattern (`*`, `?`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_pattern: Option<String>,
    /// An exact version, matched against the image's `Version` tag (or its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_tag: Option<String>,
    /// A semver range the image's version must satisfy (`>=2.0.0, <3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub version_constraint: Option<semver::VersionReq>,
    /// The architectures allowed.
    #[serde(default, skip_serializing_if = "is_empty_list")]
    pub architecture: OneOrMany<Architecture>,
    /// Images created before this date are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_creation_date: Option<NaiveDate>,
    /// Tags the image must carry, with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub required_tags: BTreeMap<String, String>,
    /// Whether deprecated images may be chosen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_deprecated: bool,
}

fn is_empty_list<T>(v: &OneOrMany<T>) -> bool {
    v.as_slice().is_empty()
}

impl AmiSearch {
    /// Every owner named, `owner` first.
    pub fn all_owners(&self) -> Vec<Owner> {
        self.owner.iter().chain(&self.owners).cloned().collect()
    }

    /// The allowed architectures (empty: any).
    pub fn architectures(&self) -> &[Architecture] {
        self.architecture.as_slice()
    }
}

/// The image script provisioning boots.
///
/// Written `base_image: {ssm_parameter: NAME}` or `base_image: {owner: ..., name_pattern:
/// ...}`; never both in one `base_image`.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(untagged, deny_unknown_fields)]
#[non_exhaustive]
pub enum BaseImage {
    /// An SSM parameter whose value is the image id, such as AWS's public
    /// `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`.
    Parameter {
        /// The parameter's name, read in the region resolved in.
        ssm_parameter: ParameterName,
    },
    /// A search, as `ami_search`.
    Search(AmiSearch),
}

impl BaseImage {
    /// The search, when the base image is found by one.
    pub fn search(&self) -> Option<&AmiSearch> {
        match self {
            Self::Search(search) => Some(search),
            Self::Parameter { .. } => None,
        }
    }

    /// The SSM parameter, when the base image is named by one.
    pub fn parameter(&self) -> Option<&ParameterName> {
        match self {
            Self::Parameter { ssm_parameter } => Some(ssm_parameter),
            Self::Search(_) => None,
        }
    }
}

impl From<AmiSearch> for BaseImage {
    fn from(search: AmiSearch) -> Self {
        Self::Search(search)
    }
}

impl From<ParameterName> for BaseImage {
    fn from(ssm_parameter: ParameterName) -> Self {
        Self::Parameter { ssm_parameter }
    }
}

/// An AWS Marketplace product and the versions acceptable.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MarketplaceSearch {
    /// The product code.
    pub product_code: String,
    /// A semver range over the product's versions (`>=2.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub version_constraint: Option<semver::VersionReq>,
}
