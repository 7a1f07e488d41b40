//! EC2 instance types and what their names say.

use std::fmt;
use std::str::FromStr;

use crate::{Architecture, ParseError};

/// An EC2 instance type such as `m6i.large`, `t4g.micro` or `c7gn.16xlarge`.
///
/// The name is read as EC2 documents it: a *series* (`m`, `c`, `im`, `hpc`, `mac`), a
/// *generation* number, *attributes* (`g` Graviton, `i` Intel, `a` AMD, `d` local NVMe, `n`
/// network, ...), then `.` and a *size*. The architecture derived from the name is a good
/// offline guess; the `InstanceTypes` port gives the cloud's word.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceType {
    name: String,
    family_len: usize,
    series_len: usize,
    generation: u32,
}

const INSTANCE_TYPE_EXPECTED: &str =
    "an EC2 instance type: family, '.', size, such as \"m6i.large\" or \"t4g.micro\"";

impl InstanceType {
    /// Parses an instance type name.
    pub fn new(name: impl Into<String>) -> Result<Self, ParseError> {
        let name = name.into();
        let invalid = || ParseError::new("instance type", name.clone(), INSTANCE_TYPE_EXPECTED);
        let (family, size) = name.split_once('.').ok_or_else(invalid)?;
        let word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !word(family) || !word(size) || size.contains('.') {
            return Err(invalid());
        }
        let series_len = family.bytes().take_while(u8::is_ascii_lowercase).count();
        let rest = family[series_len..].trim_start_matches('-');
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if series_len == 0 || digits.is_empty() {
            return Err(invalid());
        }
        let generation = digits.parse().map_err(|_| invalid())?;
        Ok(Self {
            family_len: family.len(),
            series_len,
            generation,
            name,
        })
    }

    /// The whole name, `m6i.large`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The family, `m6i`: what `instance_family_preference` lists.
    pub fn family(&self) -> &str {
        &self.name[..self.family_len]
    }

    /// The series letters, `m`.
    pub fn series(&self) -> &str {
        &self.name[..self.series_len]
    }

    /// The generation number, `6`.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The attribute letters after the generation, `i` for `m6i`, `gn` for `c7gn`.
    pub fn attributes(&self) -> &str {
        let after_series = self.family()[self.series_len..].trim_start_matches('-');
        after_series.trim_start_matches(|c: char| c.is_ascii_digit())
    }

    /// The size, `large`.
    pub fn size(&self) -> &str {
        &self.name[self.family_len + 1..]
    }

    /// Whether the type runs on AWS Graviton (arm64): a `g` among the attributes
    /// (`t4g`, `c7gn`, `im4gn`, `x2gd`, `g5g`) or the first-generation `a1`.
    pub fn is_graviton(&self) -> bool {
        if self.series() == "mac" {
            return false;
        }
        let attrs = self.attributes();
        let attr_letters = attrs.split('-').next().unwrap_or_default();
        attr_letters.contains('g') || (self.series() == "a" && self.generation == 1)
    }

    /// The architectures this type is expected to run, read from its name.
    pub fn architectures(&self) -> &'static [Architecture] {
        match (self.series(), self.generation) {
            ("mac", 1) => &[Architecture::X86_64Mac],
            ("mac", _) => &[Architecture::Arm64Mac],
            _ if self.is_graviton() => &[Architecture::Arm64],
            ("t" | "m" | "c", 1) | ("t" | "m", 2) | ("m" | "c", 3) => {
                &[Architecture::I386, Architecture::X86_64]
            }
            _ => &[Architecture::X86_64],
        }
    }

    /// Whether an image of `arch` can boot on this type (by name).
    pub fn runs(&self, arch: Architecture) -> bool {
        self.architectures().contains(&arch)
    }
}

impl FromStr for InstanceType {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for InstanceType {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<InstanceType> for String {
    fn from(t: InstanceType) -> Self {
        t.name
    }
}

impl fmt::Display for InstanceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl schemars::JsonSchema for InstanceType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "InstanceType".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": INSTANCE_TYPE_EXPECTED,
            "pattern": "^[a-z]+-?[0-9][a-z0-9-]*\\.[a-z0-9-]+$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Architecture::*;

    #[test]
    fn reads_the_parts_of_a_name() {
        let t: InstanceType = "c7gn.16xlarge".parse().unwrap();
        assert_eq!(
            (
                t.family(),
                t.series(),
                t.generation(),
                t.attributes(),
                t.size()
            ),
            ("c7gn", "c", 7, "gn", "16xlarge")
        );
        let t: InstanceType = "u-6tb1.112xlarge".parse().unwrap();
        assert_eq!((t.family(), t.series(), t.generation()), ("u-6tb1", "u", 6));
    }

    #[test]
    fn knows_graviton() {
        for arm in [
            "t4g.micro",
            "m6g.large",
            "c7gn.xlarge",
            "im4gn.large",
            "x2gd.medium",
            "g5g.xlarge",
            "is4gen.large",
            "hpc7g.4xlarge",
            "a1.medium",
            "r8g.large",
        ] {
            let t: InstanceType = arm.parse().unwrap();
            assert!(t.is_graviton(), "{arm}");
            assert_eq!(t.architectures(), &[Arm64], "{arm}");
        }
        for x86 in [
            "m6i.large",
            "g5.xlarge",
            "p5e.48xlarge",
            "m7i-flex.large",
            "r7iz.large",
            "c6a.large",
            "inf2.xlarge",
            "trn1.2xlarge",
        ] {
            let t: InstanceType = x86.parse().unwrap();
            assert!(!t.is_graviton(), "{x86}");
            assert!(t.runs(X86_64) && !t.runs(Arm64), "{x86}");
        }
        assert_eq!(
            "mac2-m2pro.metal"
                .parse::<InstanceType>()
                .unwrap()
                .architectures(),
            &[Arm64Mac]
        );
        assert_eq!(
            "mac1.metal"
                .parse::<InstanceType>()
                .unwrap()
                .architectures(),
            &[X86_64Mac]
        );
        assert!("t2.micro".parse::<InstanceType>().unwrap().runs(I386));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "m6i",
            ".large",
            "m6i.",
            "M6I.large",
            "large.m6i.x",
            "xlarge.m",
            "6i.large",
        ] {
            assert!(InstanceType::new(bad).is_err(), "{bad}");
        }
    }
}
