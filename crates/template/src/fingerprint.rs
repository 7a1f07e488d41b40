//! A stable hash of what a template's resolution depends on, for caches.

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

impl Template {
    /// A stable hash of everything resolution reads: the name (the community registry is
    /// keyed by it), `ami_config`, `instance_type`, `instance_types`, `base_image` and
    /// `provisioning_time` (resolution's estimates use it).
    ///
    /// It is computed from the typed template, so YAML formatting, key order, comments,
    /// defaults written out or left implicit, and `architecture: arm64` versus
    /// `architecture: [arm64]` all give the same fingerprint. `description`, `category`,
    /// `version` and `user_data` do not take part: changing them changes no resolution.
    pub fn fingerprint(&self) -> Fingerprint {
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
        let inputs = serde_json::json!({
            "name": t.name,
            "instance_type": t.instance_type,
            "instance_types": t.instance_types,
            "base_image": t.base_image,
            "provisioning_time": t.provisioning_time,
            "ami_config": t.ami_config,
        });
        let mut canonical = String::from(FORMAT);
        amiref_core::write_canonical_json(&inputs, &mut canonical);
        Fingerprint(Sha256::digest(canonical.as_bytes()).into())
    }
}
