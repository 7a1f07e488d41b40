//! CPU architectures of images and instance types.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// A CPU architecture as EC2 names it in `DescribeImages` and `DescribeInstanceTypes`.
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
pub enum Architecture {
    /// 64-bit x86 (Intel, AMD).
    #[serde(rename = "x86_64", alias = "amd64")]
    X86_64,
    /// 64-bit Arm: AWS Graviton.
    #[serde(alias = "aarch64")]
    Arm64,
    /// 32-bit x86.
    I386,
    /// x86 Mac instances (`mac1`).
    #[serde(rename = "x86_64_mac")]
    X86_64Mac,
    /// Apple silicon Mac instances (`mac2`).
    #[serde(rename = "arm64_mac")]
    Arm64Mac,
}

impl Architecture {
    /// Every architecture, in EC2's order.
    pub const ALL: [Self; 5] = [
        Self::I386,
        Self::X86_64,
        Self::Arm64,
        Self::X86_64Mac,
        Self::Arm64Mac,
    ];

    /// EC2's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
            Self::I386 => "i386",
            Self::X86_64Mac => "x86_64_mac",
            Self::Arm64Mac => "arm64_mac",
        }
    }
}

impl FromStr for Architecture {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "amd64" => Ok(Self::X86_64),
            "arm64" | "aarch64" => Ok(Self::Arm64),
            "i386" => Ok(Self::I386),
            "x86_64_mac" => Ok(Self::X86_64Mac),
            "arm64_mac" => Ok(Self::Arm64Mac),
            _ => Err(ParseError::new(
                "architecture",
                s,
                "one of \"x86_64\", \"arm64\", \"i386\", \"x86_64_mac\", \"arm64_mac\"",
            )),
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Architecture::ALL {
            assert_eq!(a.as_str().parse::<Architecture>().unwrap(), a);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(serde_json::from_str::<Architecture>(&json).unwrap(), a);
        }
        assert_eq!(
            "aarch64".parse::<Architecture>().unwrap(),
            Architecture::Arm64
        );
        assert!("sparc".parse::<Architecture>().is_err());
    }
}
