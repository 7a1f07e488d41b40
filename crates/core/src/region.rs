//! AWS region codes.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// An AWS partition: regions in different partitions share no accounts, images or networks,
/// so nothing is ever copied across them.
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
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Partition {
    /// `aws`: the commercial regions.
    Aws,
    /// `aws-cn`: Beijing and Ningxia.
    AwsCn,
    /// `aws-us-gov`: AWS GovCloud (US).
    AwsUsGov,
    /// `aws-iso*`: the isolated partitions.
    AwsIso,
}

impl Partition {
    /// The partition's name as it appears in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsCn => "aws-cn",
            Self::AwsUsGov => "aws-us-gov",
            Self::AwsIso => "aws-iso",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An AWS region code such as `us-east-1` or `ap-southeast-5`.
///
/// Only the *shape* is checked here (lowercase words joined by `-`, ending in a number);
/// whether a region exists is a fact of the region catalog in `amiref-regions`, which changes
/// as AWS opens regions.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

const REGION_EXPECTED: &str =
    "an AWS region code such as \"us-east-1\" (lowercase words joined by '-', ending in a number)";

impl Region {
    /// Parses a region code.
    pub fn new(code: impl Into<String>) -> Result<Self, ParseError> {
        let code = code.into();
        let parts: Vec<&str> = code.split('-').collect();
        let shape_ok = parts.len() >= 3
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts.last().is_some_and(|n| {
                !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit())
            });
        if shape_ok && code.len() <= 32 {
            Ok(Self(code))
        } else {
            Err(ParseError::new("region", code, REGION_EXPECTED))
        }
    }

    /// The region code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The partition this region belongs to, read from its code.
    pub fn partition(&self) -> Partition {
        if self.0.starts_with("cn-") {
            Partition::AwsCn
        } else if self.0.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else if self.0.starts_with("us-iso") || self.0.starts_with("eu-iso") {
            Partition::AwsIso
        } else {
            Partition::Aws
        }
    }
}

impl FromStr for Region {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Region {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<Region> for String {
    fn from(r: Region) -> Self {
        r.0
    }
}

impl AsRef<str> for Region {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Region {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl schemars::JsonSchema for Region {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Region".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An AWS region code such as us-east-1.",
            "pattern": "^[a-z]+(-[a-z]+)+-[0-9]{1,2}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_codes_and_knows_partitions() {
        for (code, partition) in [
            ("us-east-1", Partition::Aws),
            ("ap-southeast-5", Partition::Aws),
            ("us-gov-west-1", Partition::AwsUsGov),
            ("cn-northwest-1", Partition::AwsCn),
            ("us-isob-east-1", Partition::AwsIso),
        ] {
            let r: Region = code.parse().unwrap();
            assert_eq!(r.partition(), partition, "{code}");
            assert_eq!(r.to_string(), code);
        }
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "us-east-1a",
            "us--1",
            "us-east-123",
        ] {
            let err = Region::new(bad).unwrap_err();
            assert_eq!(err.kind, "region", "{bad}");
        }
    }

    #[test]
    fn serde_validates() {
        let r: Region = serde_json::from_str("\"eu-west-1\"").unwrap();
        assert_eq!(r.as_str(), "eu-west-1");
        assert!(serde_json::from_str::<Region>("\"Europe\"").is_err());
    }
}
