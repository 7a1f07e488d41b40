//! How a resolution ended.

use std::fmt;

/// How the resolver found what to launch, in the order the tiers are tried.
#[derive(
    Debug,
    Clone,
    Copy,
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
pub enum ResolutionMethod {
    /// An SSM parameter the template names held the image id (`ami_config.ssm_parameter`).
    SsmParameter,
    /// The template's `ami_mappings` named an image for the region.
    DirectMapping,
    /// An `ami_search` over trusted owners found it.
    DynamicSearch,
    /// A verified entry of the community or institutional registry.
    CommunityRegistry,
    /// An AWS Marketplace product version.
    Marketplace,
    /// An image in another region, to be copied here.
    CrossRegion,
    /// No image: the template's `user_data` script provisions a base image.
    FallbackScript,
    /// Nothing fits.
    Failed,
}

impl ResolutionMethod {
    /// The snake_case name used in JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SsmParameter => "ssm_parameter",
            Self::DirectMapping => "direct_mapping",
            Self::DynamicSearch => "dynamic_search",
            Self::CommunityRegistry => "community_registry",
            Self::Marketplace => "marketplace",
            Self::CrossRegion => "cross_region",
            Self::FallbackScript => "fallback_script",
            Self::Failed => "failed",
        }
    }

    /// Whether this method launches a pre-built image.
    pub fn uses_image(self) -> bool {
        !matches!(self, Self::FallbackScript | Self::Failed)
    }
}

impl fmt::Display for ResolutionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
