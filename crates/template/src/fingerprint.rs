//! Stable hashes of a template: of what its resolution depends on (for caches), and of
//! what makes its image (for builds and refreshes).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{OneOrMany, Template};

/// Changes when the canonical form below changes, so that old cache entries stop matching.
const FORMAT: &str = "amiref-template-fingerprint/v1\n";

/// The SHA-256 of a template's resolution inputs in canonical form; displays as lowercase
/// hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The hash's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Changes when the build fingerprint's canonical form changes.
const BUILD_FORMAT: &str = "amiref-build-fingerprint/v1\n";

impl Template {
    /// A stable hash of everything resolution reads: the name (the community registry is
    /// keyed by it), `ami_config`, `instance_type`, `instance_types`, `base_image` and
    /// `provisioning_time` (resolution's estimates use it).
    ///
    /// It is computed from the typed template, so YAML formatting, key order, comments,
    /// defaults written out or left implicit, and `architecture: arm64` versus
    /// `architecture: [arm64]` all give the same fingerprint. `description`, `category`,
    /// `version`, `user_data` and `build` do not take part: changing them changes no
    /// resolution.
    pub fn fingerprint(&self) -> Fingerprint {
        let t = self.normalized();
        hash(
            FORMAT,
            &serde_json::json!({
                "name": t.name,
                "instance_type": t.instance_type,
                "instance_types": t.instance_types,
                "base_image": t.base_image,
                "provisioning_time": t.provisioning_time,
                "ami_config": t.ami_config,
            }),
        )
    }

    /// A stable hash of everything that makes the template's image: `user_data`, the
    /// `base_image` choice, `instance_type`, `instance_types`, `build.instance_types` and
    /// `build.test` (an image is what passed its test). A build records it on its image
    /// (`amiref:build-fingerprint`, with the architecture and instance type it used), and a
    /// refresh rebuilds an image whose recorded fingerprint differs.
    ///
    /// What names, finds or schedules the image takes no part: `name`, `version` (it names
    /// a build, it does not make one), `description`, `category`, `ami_config` (writing the
    /// new image's id into `ami_mappings` must not make that image stale),
    /// `provisioning_time`, and the build's timeouts and `max_age`. Like
    /// [`fingerprint`](Self::fingerprint) it is computed from the typed template, so
    /// formatting and spelled-out defaults do not change it.
    ///
    /// ```
    /// use amiref_template::Template;
    ///
    /// let a = Template::from_yaml_str("name: a\nversion: 1.0.0\nuser_data: \"#!/bin/sh\\n\"\n", "a.yml")?;
    /// let mut b = a.clone();
    /// b.version = Some("2.0.0".into());
    /// assert_eq!(a.build_fingerprint(), b.build_fingerprint());
    /// b.user_data = Some("#!/bin/sh\necho changed\n".into());
    /// assert_ne!(a.build_fingerprint(), b.build_fingerprint());
    /// # Ok::<(), amiref_template::TemplateError>(())
    /// ```
    pub fn build_fingerprint(&self) -> Fingerprint {
        let t = self.normalized();
        let build = t.build.unwrap_or_default();
        hash(
            BUILD_FORMAT,
            &serde_json::json!({
                "user_data": t.user_data,
                "base_image": t.base_image,
                "instance_type": t.instance_type,
                "instance_types": t.instance_types,
                "build_instance_types": build.instance_types,
                "test": build.test,
            }),
        )
    }

    /// The template with every search in one form: owners in one list, architectures
    /// as a list.
    fn normalized(&self) -> Template {
        let mut t = self.clone();
        let base_search = t.base_image.as_mut().and_then(|b| match b {
            crate::BaseImage::Search(search) => Some(search),
            crate::BaseImage::Parameter { .. } => None,
        });
        for search in base_search.into_iter().chain(
            t.ami_config
                .iter_mut()
                .filter_map(|c| c.ami_search.as_mut()),
        ) {
            search.owners = search.all_owners();
            search.owner = None;
            search.architecture = OneOrMany::Many(search.architectures().to_vec());
        }
        t
    }
}

/// The SHA-256 of `inputs` in canonical JSON after the `format` line.
fn hash(format: &str, inputs: &serde_json::Value) -> Fingerprint {
    let mut canonical = String::from(format);
    amiref_core::write_canonical_json(inputs, &mut canonical);
    Fingerprint(Sha256::digest(canonical.as_bytes()).into())
}
