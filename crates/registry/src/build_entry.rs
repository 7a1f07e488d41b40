//! A build's entry: one template version's images in every region it was distributed to,
//! with what the build measured, signed by the publisher.
//!
//! Planned (checked and signed, nothing written) then applied, like a community share
//! ([`crate::ShareRequest`]), and idempotent: planning the entry a file already holds gives
//! [`BuildEntryChange::Unchanged`] (ed25519 signatures are deterministic), and applying that
//! writes nothing. So a distribution that is run again after an interruption rewrites the
//! entry only when it has more regions to list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amiref_core::{AccountId, AmiId, Architecture, Region};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::document::ParsedRegistry;
use crate::model::{Entry, Verification};
use crate::share::{ShareError, admitted_entry, read_registry, save_unless_changed, spelling_in};
use crate::trust::{KeyId, PublisherKey};

/// A template version's images, as a build distributed them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BuildEntry {
    /// The template.
    pub template: String,
    /// Its version (semver, as the template declares it).
    pub version: String,
    /// The images' architecture.
    pub architecture: Architecture,
    /// The account that owns the images.
    pub owner: AccountId,
    /// The image in each region.
    pub images: BTreeMap<Region, AmiId>,
    /// When the image was built.
    pub created_at: DateTime<Utc>,
    /// What the build checked and measured ([`Verification::measured`]).
    pub verification: Verification,
    /// Who built it; the signing key's publisher when `None`.
    pub creator: Option<String>,
    /// What is in it; an existing entry's description is kept when `None`.
    pub description: Option<String>,
}

/// How planning changes the registry file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum BuildEntryChange {
    /// A new entry.
    Created,
    /// The version's entry is replaced by this build's.
    Replaced {
        /// The regions and images it listed before.
        previous: BTreeMap<Region, AmiId>,
    },
    /// The file already holds exactly this signed entry.
    Unchanged,
}

/// The entry a build writes (planned) or wrote (applied).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct WrittenEntry {
    /// The registry file.
    pub registry: PathBuf,
    /// The template.
    pub template: String,
    /// The version as the file writes it: the file's spelling of the version, or the version
    /// with `+<arch>` when the version is listed for another architecture.
    pub version: String,
    /// The signing key.
    pub key_id: KeyId,
    /// Its holder.
    pub publisher: String,
    /// How the file changes.
    pub change: BuildEntryChange,
    /// The signed entry.
    pub entry: Entry,
}

/// A checked, signed build entry; nothing is written until [`BuildEntryPlan::apply`].
#[derive(Debug, Clone)]
pub struct BuildEntryPlan {
    written: WrittenEntry,
    document: ParsedRegistry,
    original: Option<String>,
}

impl BuildEntry {
    /// `template` `version`'s images on `architecture`, owned by `owner`, built at
    /// `created_at`, with what the build verified; no creator (the key's publisher) or
    /// description of its own.
    pub fn new(
        template: impl Into<String>,
        version: impl Into<String>,
        architecture: Architecture,
        owner: AccountId,
        images: BTreeMap<Region, AmiId>,
        created_at: DateTime<Utc>,
        verification: Verification,
    ) -> Self {
        Self {
            template: template.into(),
            version: version.into(),
            architecture,
            owner,
            images,
            created_at,
            verification,
            creator: None,
            description: None,
        }
    }

    /// Checks the entry against the registry file at `registry` (created by
    /// [`BuildEntryPlan::apply`] if missing) and signs it with `key`. Writes nothing.
    ///
    /// The version's entry is this build's: its regions, architecture, owner, creation time
    /// and verification replace an earlier one's (a rebuild of a version lists only the new
    /// images); the earlier entry's ratings, sharing policy and (unless one is given)
    /// description are kept, and its security scan while the images are the same. Refuses a version listed with another owner, and an
    /// entry readers would refuse.
    pub fn plan(&self, registry: &Path, key: &PublisherKey) -> Result<BuildEntryPlan, ShareError> {
        let (mut document, original) = read_registry(registry)?;
        let version = self.version_in(&document, registry)?;
        let existing = document
            .document
            .community_amis
            .get(&self.template)
            .and_then(|versions| versions.get(&version))
            .cloned();
        if let Some(owner) = existing.as_ref().and_then(|e| e.owner.as_ref())
            && owner != &self.owner
        {
            return Err(ShareError::OwnedByAnother {
                template: self.template.clone(),
                version,
                registry: registry.to_owned(),
                owner: owner.clone(),
                image_owner: self.owner.clone(),
            });
        }
        document.insert_signed(
            &self.template,
            &version,
            self.entry(existing.as_ref(), key),
            key,
        )?;
        let entry = admitted_entry(&document, &self.template, &version, key, registry)?;
        let change = match existing {
            None => BuildEntryChange::Created,
            Some(e) if e == entry => BuildEntryChange::Unchanged,
            Some(e) => BuildEntryChange::Replaced {
                previous: e.regions,
            },
        };
        Ok(BuildEntryPlan {
            written: WrittenEntry {
                registry: registry.to_owned(),
                template: self.template.clone(),
                version,
                key_id: key.key_id(),
                publisher: key.publisher().to_owned(),
                change,
                entry,
            },
            document,
            original,
        })
    }

    /// The version's key in the file: its existing spelling when listed for this
    /// architecture (or not listed), else `<version>+<arch>`, the format's convention for
    /// another architecture's build of one version.
    fn version_in(&self, document: &ParsedRegistry, registry: &Path) -> Result<String, ShareError> {
        let listed = |version: &str| {
            document
                .document
                .community_amis
                .get(&self.template)
                .and_then(|versions| versions.get(version))
                .map(|e| e.architecture)
        };
        let plain = spelling_in(&document.document, &self.template, &self.version);
        let Some(architecture) = listed(&plain).filter(|a| *a != self.architecture) else {
            return Ok(plain);
        };
        let tagged = format!("{}+{}", self.version, self.architecture.as_str());
        let tagged = spelling_in(&document.document, &self.template, &tagged);
        match listed(&tagged) {
            Some(other) if other != self.architecture => Err(ShareError::WouldBeRefused {
                template: self.template.clone(),
                version: tagged.clone(),
                registry: registry.to_owned(),
                reason: format!(
                    "{plain} is listed for {architecture} and {tagged} for {other}, so this {} build has no version to be listed as",
                    self.architecture.as_str()
                ),
                problems: Vec::new(),
            }),
            _ => {
                tracing::debug!(version = %plain, %architecture, "version listed for another architecture; using {tagged}");
                Ok(tagged)
            }
        }
    }

    /// The unsigned entry: this build's figures over what an earlier entry keeps.
    fn entry(&self, existing: Option<&Entry>, key: &PublisherKey) -> Entry {
        let creator = self
            .creator
            .clone()
            .unwrap_or_else(|| key.publisher().to_owned());
        let mut entry = Entry::new(creator, self.architecture, self.images.clone());
        entry.owner = Some(self.owner.clone());
        entry.created_at = Some(self.created_at);
        let mut verification = self.verification.clone();
        if let Some(earlier) = existing {
            entry.ratings = earlier.ratings.clone();
            entry.sharing = earlier.sharing.clone();
            entry.description = earlier.description.clone();
            // A scan is of the images it ran on: kept only while they are the same.
            if earlier.regions == self.images
                && let Some(scan) = earlier.verification.as_ref().map(|v| v.security_scan)
            {
                verification.security_scan = scan;
            }
        }
        if let Some(description) = &self.description {
            entry.description = description.clone();
        }
        entry.verification = Some(verification);
        entry
    }
}

impl BuildEntryPlan {
    /// What applying writes.
    pub fn entry(&self) -> &WrittenEntry {
        &self.written
    }

    /// Saves the registry file atomically, unless it changed since the plan was made; an
    /// unchanged entry writes nothing.
    pub fn apply(self) -> Result<WrittenEntry, ShareError> {
        if self.written.change != BuildEntryChange::Unchanged {
            save_unless_changed(&self.document, &self.written.registry, &self.original)?;
        }
        Ok(self.written)
    }
}
