//! The tags amiref puts on images, and the deterministic tokens that make copies idempotent.
//!
//! Tags are the only record a cloud keeps for us, so they carry everything a later run needs:
//! which template and version an image was built from, the template's fingerprint (to tell
//! a rebuilt template from an unchanged one), the instance it was imaged from, and, on a
//! copy, the image and region it was copied from (its provenance), which is how a re-run
//! finds a copy an earlier run made.

use std::collections::BTreeMap;

use amiref_core::{AmiId, Image, Region};

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
/// On an image disabled by a retirement's first step: when (RFC 3339) a later run may
/// deregister it. `ami enable` deletes it.
pub const TAG_RETIRE_AFTER: &str = "amiref:retire-after";

/// What ties an image to the template it was built from.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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

/// The tokens are core's, so that the resolver's copy plans and the lifecycle's copies
/// compute the same one.
pub use amiref_core::{copy_client_token, token_from};

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
