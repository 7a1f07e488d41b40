//! Identifiers: images, snapshots, instances, accounts and image owners.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// Whether `s` is `prefix` followed by 8 or 17 lowercase hex digits, EC2's two id lengths.
fn is_ec2_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Defines a string newtype validated by `$check`, with the conversions every id shares.
macro_rules! validated_string {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $expected:literal, $pattern:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and validates the id.
            pub fn new(s: impl Into<String>) -> Result<Self, ParseError> {
                let s = s.into();
                let check: fn(&str) -> bool = $check;
                if check(&s) {
                    Ok(Self(s))
                } else {
                    Err(ParseError::new($kind, s, $expected))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $expected,
                    "pattern": $pattern
                })
            }
        }
    };
}

validated_string!(
    /// An Amazon Machine Image id: `ami-` and 8 or 17 lowercase hex digits.
    AmiId,
    "AMI id",
    "\"ami-\" followed by 8 or 17 lowercase hexadecimal digits, e.g. \"ami-0123456789abcdef0\"",
    "^ami-([0-9a-f]{8}|[0-9a-f]{17})$",
    |s| is_ec2_id(s, "ami-")
);

validated_string!(
    /// An EBS snapshot id: `snap-` and 8 or 17 lowercase hex digits.
    SnapshotId,
    "snapshot id",
    "\"snap-\" followed by 8 or 17 lowercase hexadecimal digits",
    "^snap-([0-9a-f]{8}|[0-9a-f]{17})$",
    |s| is_ec2_id(s, "snap-")
);

validated_string!(
    /// An EC2 instance id: `i-` and 8 or 17 lowercase hex digits.
    InstanceId,
    "instance id",
    "\"i-\" followed by 8 or 17 lowercase hexadecimal digits",
    "^i-([0-9a-f]{8}|[0-9a-f]{17})$",
    |s| is_ec2_id(s, "i-")
);

validated_string!(
    /// An EC2 security group id: `sg-` and 8 or 17 lowercase hex digits.
    SecurityGroupId,
    "security group id",
    "\"sg-\" followed by 8 or 17 lowercase hexadecimal digits",
    "^sg-([0-9a-f]{8}|[0-9a-f]{17})$",
    |s| is_ec2_id(s, "sg-")
);

validated_string!(
    /// A VPC subnet id: `subnet-` and 8 or 17 lowercase hex digits.
    SubnetId,
    "subnet id",
    "\"subnet-\" followed by 8 or 17 lowercase hexadecimal digits",
    "^subnet-([0-9a-f]{8}|[0-9a-f]{17})$",
    |s| is_ec2_id(s, "subnet-")
);

validated_string!(
    /// A VPC id: `vpc-` and 8 or 17 lowercase hex digits.
    VpcId,
    "VPC id",
    "\"vpc-\" followed by 8 or 17 lowercase hexadecimal digits",
    "^vpc-([0-9a-f]{8}|[0-9a-f]{17})$",
    |s| is_ec2_id(s, "vpc-")
);

validated_string!(
    /// A 12-digit AWS account id.
    AccountId,
    "account id",
    "a 12-digit AWS account id such as \"123456789012\"",
    "^[0-9]{12}$",
    |s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
);

validated_string!(
    /// An AWS Systems Manager parameter name, such as
    /// `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`: letters,
    /// digits, `_`, `.`, `-`, and `/` between levels (a name with levels starts with `/`),
    /// at most 15 levels and 2048 characters, as SSM allows.
    ParameterName,
    "SSM parameter name",
    "an SSM parameter name: letters, digits, '_', '.', '-', levels separated by '/' with a leading '/', at most 15 levels and 2048 characters, e.g. \"/golden/python-ml/x86_64\"",
    "^(/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$",
    is_parameter_name
);

/// SSM's rules for a parameter name.
fn is_parameter_name(s: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    if s.is_empty() || s.len() > 2048 {
        return false;
    }
    match s.strip_prefix('/') {
        Some(path) => {
            let levels: Vec<&str> = path.split('/').collect();
            levels.len() <= 15 && levels.iter().all(|l| word(l))
        }
        None => word(s),
    }
}

/// Who owns an image, as a search names it.
///
/// EC2 knows three aliases (`self`, `amazon`, `aws-marketplace`) besides account ids. A
/// *named* owner (`prism-community`) is an alias of this project's: it means nothing to EC2
/// and must be mapped to accounts by a trust policy before any search runs, so that the
/// name never reaches EC2 and no stranger can claim it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum Owner {
    /// The calling account (`self`).
    Me,
    /// Amazon's own images (`amazon`).
    Amazon,
    /// Images of AWS Marketplace sellers (`aws-marketplace`).
    AwsMarketplace,
    /// A specific account.
    Account(AccountId),
    /// A name that a trust policy maps to accounts.
    Named(String),
}

const OWNER_EXPECTED: &str = "a 12-digit account id, \"self\", \"amazon\", \"aws-marketplace\", or a named owner (lowercase letters, digits and '-')";

impl Owner {
    /// Parses an owner.
    pub fn new(s: impl Into<String>) -> Result<Self, ParseError> {
        let s = s.into();
        match s.as_str() {
            "self" => Ok(Self::Me),
            "amazon" => Ok(Self::Amazon),
            "aws-marketplace" => Ok(Self::AwsMarketplace),
            _ if s.bytes().all(|b| b.is_ascii_digit()) => AccountId::new(s).map(Self::Account),
            _ if !s.is_empty()
                && s.len() <= 64
                && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
            {
                Ok(Self::Named(s))
            }
            _ => Err(ParseError::new("owner", s, OWNER_EXPECTED)),
        }
    }

    /// The text EC2 (or a trust policy, for named owners) understands.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Me => "self",
            Self::Amazon => "amazon",
            Self::AwsMarketplace => "aws-marketplace",
            Self::Account(a) => a.as_str(),
            Self::Named(n) => n,
        }
    }

    /// Whether EC2 understands this owner without a trust policy's help.
    pub fn is_ec2_owner(&self) -> bool {
        !matches!(self, Self::Named(_))
    }
}

impl FromStr for Owner {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Owner {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<Owner> for String {
    fn from(o: Owner) -> Self {
        o.as_str().to_owned()
    }
}

impl From<AccountId> for Owner {
    fn from(a: AccountId) -> Self {
        Self::Account(a)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl schemars::JsonSchema for Owner {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Owner".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": OWNER_EXPECTED,
            "pattern": "^([0-9]{12}|self|amazon|aws-marketplace|[a-z][a-z0-9-]{0,63})$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ami_ids_have_two_lengths() {
        assert!(AmiId::new("ami-12345678").is_ok());
        assert!(AmiId::new("ami-0123456789abcdef0").is_ok());
        for bad in [
            "ami-1234567",
            "ami-0123456789ABCDEF0",
            "ami-0123456789abcdef",
            "ami-xyz12345",
            "snap-12345678",
            "",
        ] {
            assert!(AmiId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parameter_names_follow_ssm() {
        for good in [
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            "/golden/python-ml/x86_64",
            "golden_image",
            "/a.b-c_d",
        ] {
            assert!(ParameterName::new(good).is_ok(), "{good}");
        }
        let deep = "/a".repeat(16);
        for bad in [
            "",
            "/",
            "a/b",
            "/a//b",
            "/a/",
            "/a b",
            "/a/$x",
            deep.as_str(),
        ] {
            assert!(ParameterName::new(bad).is_err(), "{bad}");
        }
        assert!(ParameterName::new("/a".repeat(15)).is_ok());
        assert!(ParameterName::new("x".repeat(2049)).is_err());
    }

    #[test]
    fn accounts_are_twelve_digits() {
        assert!(AccountId::new("123456789012").is_ok());
        assert!(AccountId::new("12345678901").is_err());
        assert!(AccountId::new("12345678901a").is_err());
    }

    #[test]
    fn owners_parse_aliases_accounts_and_names() {
        assert_eq!(Owner::new("self").unwrap(), Owner::Me);
        assert_eq!(Owner::new("amazon").unwrap(), Owner::Amazon);
        assert_eq!(
            Owner::new("aws-marketplace").unwrap(),
            Owner::AwsMarketplace
        );
        assert!(matches!(
            Owner::new("123456789012").unwrap(),
            Owner::Account(_)
        ));
        assert_eq!(
            Owner::new("prism-community").unwrap(),
            Owner::Named("prism-community".into())
        );
        assert!(
            Owner::new("1234").is_err(),
            "a short number is a mistyped account, not a name"
        );
        assert!(Owner::new("Prism Community").is_err());
        assert!(!Owner::new("prism-community").unwrap().is_ec2_owner());
    }

    #[test]
    fn serde_round_trip() {
        let id: AmiId = serde_json::from_str("\"ami-0123456789abcdef0\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"ami-0123456789abcdef0\""
        );
        let o: Owner = serde_json::from_str("\"self\"").unwrap();
        assert_eq!(serde_json::to_string(&o).unwrap(), "\"self\"");
    }
}
