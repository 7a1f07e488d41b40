//! The tags amiref puts on images, and the deterministic tokens that make copies idempotent.
//!
//! Tags are the only record a cloud keeps for us, so they carry everything a later run needs:
//! which template and version an image was built from, the template's fingerprint (to tell
//! a rebuilt template from an unchanged one), the instance it was imaged from, and, on a
//! copy, the image and region it was copied from (its provenance), which is how a re-run
//! finds a copy an earlier run made.

use std::collections::BTreeMap;

use amiref_core::{AmiId, Image, Region};
use sha2::{Digest, Sha256};

/// The template an image was built from.
pub const TAG_TEMPLATE: &str = "amiref:template";
/// The template's version.
pub const TAG_TEMPLATE_VERSION: &str = "amiref:template-version";
/// The template's content fingerprint (lowercase hex sha256).
pub const TAG_TEMPLATE_FINGERPRINT: &str = "amiref:template-fingerprint";
/// The instance the image was created from.
pub const TAG_SOURCE_INSTANCE: &str = "amiref:source-instance";
/// On a copy: the image it was copied from.
pub const TAG_SOURCE_IMAGE: &str = "amiref:source-image";
/// On a copy: the region it was copied from.
pub const TAG_SOURCE_REGION: &str = "amiref:source-region";
/// The tool that made the image.
pub const TAG_MANAGED_BY: &str = "amiref:managed-by";

/// What ties an image to the template it was built from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct TemplateLineage {
    /// The template's name.
    pub template: String,
    /// The template's version, if it declares one.
    pub version: Option<String>,
    /// The template's fingerprint.
    pub fingerprint: String,
}

impl TemplateLineage {
    /// A lineage from its parts.
    pub fn new(
        template: impl Into<String>,
        version: Option<String>,
        fingerprint: impl Into<String>,
    ) -> Self {
        Self {
            template: template.into(),
            version,
            fingerprint: fingerprint.into(),
        }
    }

    /// The lineage of images built from `template`: its name, version and
    /// [fingerprint](amiref_template::Template::fingerprint).
    pub fn from_template(template: &amiref_template::Template) -> Self {
        Self::new(
            template.name.clone(),
            template.version.clone(),
            template.fingerprint().to_string(),
        )
    }

    /// The tags that record this lineage.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        tags.insert(TAG_TEMPLATE.to_owned(), self.template.clone());
        if let Some(v) = &self.version {
            tags.insert(TAG_TEMPLATE_VERSION.to_owned(), v.clone());
        }
        tags.insert(
            TAG_TEMPLATE_FINGERPRINT.to_owned(),
            self.fingerprint.clone(),
        );
        tags
    }
}

/// The tags a copy carries over from its source: all but the `aws:` ones, which only AWS
/// may set.
pub fn carried_tags(source: &Image) -> BTreeMap<String, String> {
    source
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The provenance tags of a copy of `source` from `source_region`.
pub fn provenance_tags(source_region: &Region, source: &AmiId) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_SOURCE_IMAGE.to_owned(), source.to_string()),
        (TAG_SOURCE_REGION.to_owned(), source_region.to_string()),
    ])
}

/// The client token of a copy: the same for the same copy, on any host, in any run.
///
/// It hashes everything that defines the copy, so that changing a parameter (a KMS key) makes
/// a new token rather than EC2's `IdempotentParameterMismatch`. `generation` counts attempts
/// after an earlier copy with the same parameters failed and was removed: EC2 remembers a
/// token for a while and would hand back the failed copy's id otherwise. 7 + 40 characters,
/// under EC2's 64.
pub fn copy_client_token(
    source_region: &Region,
    source: &AmiId,
    destination: &Region,
    name: &str,
    kms_key_id: Option<&str>,
    generation: u32,
) -> String {
    let mut h = Sha256::new();
    for part in [
        "copy-v1",
        source_region.as_str(),
        source.as_str(),
        destination.as_str(),
        name,
        kms_key_id.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(generation.to_be_bytes());
    let digest = hex::encode(h.finalize());
    format!("amiref-{}", &digest[..40])
}

/// A deterministic token for anything else amiref submits (a Marketplace change set), of at
/// most `len` characters, from the parts that define the submission.
pub fn token_from(parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let mut digest = hex::encode(h.finalize());
    digest.truncate(len);
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tokens_are_stable_and_distinguish_parameters() {
        let r1: Region = "us-east-1".parse().unwrap();
        let r2: Region = "eu-west-1".parse().unwrap();
        let ami: AmiId = "ami-12345678".parse().unwrap();
        let t = copy_client_token(&r1, &ami, &r2, "n", None, 0);
        assert_eq!(t, copy_client_token(&r1, &ami, &r2, "n", None, 0));
        assert!(t.len() <= 64 && t.is_ascii());
        assert_ne!(t, copy_client_token(&r1, &ami, &r2, "n", Some("k"), 0));
        assert_ne!(t, copy_client_token(&r1, &ami, &r2, "n", None, 1));
        assert_ne!(t, copy_client_token(&r2, &ami, &r1, "n", None, 0));
    }
}
