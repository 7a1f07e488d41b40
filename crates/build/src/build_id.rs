//! The build's id: the same inputs give the same id, so a re-run finds its own resources.

use std::fmt;

use amiref_core::{Architecture, Region};
use sha2::{Digest, Sha256};

/// Prefix of every build id.
const PREFIX: &str = "bld-";
/// Hex digits of the digest kept in the id (64 bits: collisions between builds of one
/// account are not a concern at this length).
const DIGEST_HEX_LEN: usize = 16;

/// A build's id: `bld-` and 16 lowercase hex digits of a sha256 over the build's inputs
/// (template name, version, build fingerprint, architecture, home region).
///
/// Deterministic, so a re-run of the same build (on any host) finds the resources an
/// earlier attempt made by their `amiref:build-id` tag. Printable, valid as a tag value and
/// inside resource names (security group names, image names, client tokens).
///
/// ```
/// use amiref_build::BuildId;
/// use amiref_core::{Architecture, Region};
///
/// let region: Region = "us-east-1".parse().unwrap();
/// let a = BuildId::derive("web", Some("1.2.0"), "ab12", Architecture::X86_64, &region);
/// let b = BuildId::derive("web", Some("1.2.0"), "ab12", Architecture::X86_64, &region);
/// assert_eq!(a, b);
/// assert!(a.as_str().starts_with("bld-"));
/// assert_eq!(BuildId::parse(a.as_str()), Some(a));
/// ```
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
#[serde(transparent)]
pub struct BuildId(String);

impl BuildId {
    /// The id of the build of `template` at `version` with `build_fingerprint`, for
    /// `architecture`, built in `home`.
    pub fn derive(
        template: &str,
        version: Option<&str>,
        build_fingerprint: &str,
        architecture: Architecture,
        home: &Region,
    ) -> Self {
        let mut hasher = Sha256::new();
        // Each field is length-prefixed so that no two different inputs hash the same text.
        for field in [
            template,
            version.unwrap_or(""),
            build_fingerprint,
            architecture.as_str(),
            home.as_str(),
        ] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        // A version of None and Some("") differ.
        hasher.update([u8::from(version.is_some())]);
        let digest = hasher.finalize();
        let hex: String = digest
            .iter()
            .take(DIGEST_HEX_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self(format!("{PREFIX}{hex}"))
    }

    /// The id of a rebuild that replaces the build `replaced` with the same inputs (a
    /// refresh after a new base image or for age): derived from this id and the replaced
    /// one, so it differs from both, and a re-run of an interrupted rebuild finds it again.
    pub fn succeeding(&self, replaced: &BuildId) -> Self {
        let mut hasher = Sha256::new();
        for field in ["rebuild", self.as_str(), replaced.as_str()] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .take(DIGEST_HEX_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self(format!("{PREFIX}{hex}"))
    }

    /// Reads an id from a tag value; `None` unless it has the form [`derive`](Self::derive)
    /// gives.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix(PREFIX)?;
        let valid = hex.len() == DIGEST_HEX_LEN
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(text.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rebuild_succeeds_the_build_it_replaces_with_an_id_of_its_own() {
        let old = BuildId::derive(
            "t",
            Some("1.0.0"),
            "f",
            Architecture::X86_64,
            &region("us-east-1"),
        );
        let new = old.succeeding(&old);
        assert_ne!(new, old);
        assert_eq!(new, old.succeeding(&old), "a re-run finds the same rebuild");
        assert_ne!(
            new.succeeding(&new),
            new,
            "a later rebuild is another build"
        );
        assert_eq!(BuildId::parse(new.as_str()), Some(new));
    }

    fn region(code: &str) -> Region {
        code.parse().expect("valid region")
    }

    #[test]
    fn every_input_changes_the_id() {
        let base = BuildId::derive(
            "web",
            Some("1"),
            "f",
            Architecture::X86_64,
            &region("us-east-1"),
        );
        let variants = [
            BuildId::derive(
                "web2",
                Some("1"),
                "f",
                Architecture::X86_64,
                &region("us-east-1"),
            ),
            BuildId::derive(
                "web",
                Some("2"),
                "f",
                Architecture::X86_64,
                &region("us-east-1"),
            ),
            BuildId::derive("web", None, "f", Architecture::X86_64, &region("us-east-1")),
            BuildId::derive(
                "web",
                Some("1"),
                "g",
                Architecture::X86_64,
                &region("us-east-1"),
            ),
            BuildId::derive(
                "web",
                Some("1"),
                "f",
                Architecture::Arm64,
                &region("us-east-1"),
            ),
            BuildId::derive(
                "web",
                Some("1"),
                "f",
                Architecture::X86_64,
                &region("eu-west-1"),
            ),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
    }

    #[test]
    fn parse_accepts_only_the_derived_form() {
        assert!(BuildId::parse("bld-0123456789abcdef").is_some());
        for bad in ["bld-0123", "bld-0123456789ABCDEF", "x-0123456789abcdef", ""] {
            assert_eq!(BuildId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn field_boundaries_matter() {
        let r = region("us-east-1");
        let a = BuildId::derive("ab", Some("c"), "f", Architecture::X86_64, &r);
        let b = BuildId::derive("a", Some("bc"), "f", Architecture::X86_64, &r);
        assert_ne!(a, b);
    }
}
