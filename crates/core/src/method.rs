//! The tiers of a resolution, which are also the ways a resolution can end.

use std::fmt;
use std::sync::Arc;

use crate::ParseError;

/// One tier of a resolution, and so the way a resolution found what to launch; the
/// built-in tiers in the order they are tried.
///
/// A caller may add tiers of its own (`ResolverBuilder::tier` in `amiref-resolver`):
/// they are [`ResolutionMethod::Custom`], named by a [`TierName`]. "Nothing fits" is not a
/// method: a resolution that finds nothing is an error, with the chain of every tier.
///
/// In JSON the built-in tiers are snake_case strings (`"direct_mapping"`); a caller's tier
/// is `{"custom": "NAME"}`.
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
    /// No pre-built image: a base image boots and the template's `user_data` script
    /// provisions it (the template's own word: `fallback_strategy: script_provisioning`).
    ScriptProvisioning,
    /// A tier the caller added, by its name.
    Custom(TierName),
}

impl ResolutionMethod {
    /// The built-in tiers that look for an image in the launch region itself, in order.
    pub const IN_REGION: [ResolutionMethod; 5] = [
        Self::SsmParameter,
        Self::DirectMapping,
        Self::DynamicSearch,
        Self::CommunityRegistry,
        Self::Marketplace,
    ];

    /// Every built-in tier, in the order a resolution's chain lists them.
    pub const BUILT_IN: [ResolutionMethod; 7] = [
        Self::SsmParameter,
        Self::DirectMapping,
        Self::DynamicSearch,
        Self::CommunityRegistry,
        Self::Marketplace,
        Self::CrossRegion,
        Self::ScriptProvisioning,
    ];

    /// The snake_case name used in JSON and logs (a caller's tier: its name).
    pub fn as_str(&self) -> &str {
        match self {
            Self::SsmParameter => "ssm_parameter",
            Self::DirectMapping => "direct_mapping",
            Self::DynamicSearch => "dynamic_search",
            Self::CommunityRegistry => "community_registry",
            Self::Marketplace => "marketplace",
            Self::CrossRegion => "cross_region",
            Self::ScriptProvisioning => "script_provisioning",
            Self::Custom(name) => name.as_str(),
        }
    }

    /// The name people read: `Direct mapping` (a caller's tier: its name).
    pub fn title(&self) -> &str {
        match self {
            Self::SsmParameter => "SSM parameter",
            Self::DirectMapping => "Direct mapping",
            Self::DynamicSearch => "Dynamic search",
            Self::CommunityRegistry => "Community registry",
            Self::Marketplace => "Marketplace",
            Self::CrossRegion => "Cross-region copy",
            Self::ScriptProvisioning => "Script provisioning",
            Self::Custom(name) => name.as_str(),
        }
    }

    /// Whether this method launches a pre-built image (everything but script
    /// provisioning, which boots a base image and runs the template's script).
    pub fn uses_image(&self) -> bool {
        !matches!(self, Self::ScriptProvisioning)
    }
}

impl fmt::Display for ResolutionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of a caller's own tier: 1 to 64 characters, lowercase ASCII letters, digits,
/// `_` and `-`, starting with a letter, and not the name of a built-in tier (so that the
/// chain never shows two tiers called the same).
///
/// ```
/// use amiref_core::{ResolutionMethod, TierName};
///
/// let tier = ResolutionMethod::Custom(TierName::new("golden_catalog").unwrap());
/// assert_eq!(tier.to_string(), "golden_catalog");
/// assert!(TierName::new("direct_mapping").is_err());
/// assert!(TierName::new("Golden Catalog").is_err());
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct TierName(Arc<str>);

const TIER_NAME_EXPECTED: &str = "1 to 64 lowercase ASCII letters, digits, '_' or '-', starting with a letter, other than a built-in tier's name";

impl TierName {
    /// Parses and validates a tier name.
    pub fn new(name: impl Into<String>) -> Result<Self, ParseError> {
        let name = name.into();
        let well_formed = (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        let built_in = ResolutionMethod::BUILT_IN
            .iter()
            .any(|m| m.as_str() == name);
        if well_formed && !built_in {
            Ok(Self(name.into()))
        } else {
            Err(ParseError::new("tier name", name, TIER_NAME_EXPECTED))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TierName {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<TierName> for String {
    fn from(name: TierName) -> Self {
        name.0.as_ref().to_owned()
    }
}

impl std::str::FromStr for TierName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for TierName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl schemars::JsonSchema for TierName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TierName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": TIER_NAME_EXPECTED,
            "pattern": "^[a-z][a-z0-9_-]{0,63}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_serialise_as_their_names_and_custom_tiers_by_name() {
        let json = serde_json::to_string(&ResolutionMethod::BUILT_IN).unwrap();
        assert_eq!(
            json,
            r#"["ssm_parameter","direct_mapping","dynamic_search","community_registry","marketplace","cross_region","script_provisioning"]"#
        );
        for m in ResolutionMethod::BUILT_IN {
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
        let custom = ResolutionMethod::Custom(TierName::new("golden").unwrap());
        let json = serde_json::to_string(&custom).unwrap();
        assert_eq!(json, r#"{"custom":"golden"}"#);
        assert_eq!(
            serde_json::from_str::<ResolutionMethod>(&json).unwrap(),
            custom
        );
        // A built-in name is not a caller's tier, in JSON either.
        assert!(serde_json::from_str::<ResolutionMethod>(r#"{"custom":"marketplace"}"#).is_err());
        assert!(!ResolutionMethod::ScriptProvisioning.uses_image());
        assert!(custom.uses_image());
    }

    #[test]
    fn tier_names_are_checked() {
        for bad in [
            "",
            "9lives",
            "Upper",
            "with space",
            &"a".repeat(65),
            "cross_region",
        ] {
            let err = TierName::new(bad).unwrap_err();
            assert_eq!(err.kind, "tier name", "{bad}");
        }
        assert_eq!(
            TierName::new("lab-golden_2").unwrap().as_str(),
            "lab-golden_2"
        );
    }
}
