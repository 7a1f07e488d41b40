//! `ami list --template NAME`: a template's images per region, as the mission's listing
//! shows them: the registries' entries with the figures they are ranked by, and the
//! caller's own images tagged with the template.

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, Architecture, Image, ImageFilter, ImageState, Owner, Region};
use amiref_lifecycle::tags::{TAG_TEMPLATE, TAG_TEMPLATE_VERSION};
use amiref_registry::{AdmittedEntry, RankedBy, ScanStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Session;
use crate::verify::RefusedEntry;

/// Where a registry entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistryLayer {
    /// An institutional registry: ranked above every community entry.
    Institutional,
    /// A community registry.
    Community,
}

impl RegistryLayer {
    pub(crate) fn of(layer: amiref_registry::Layer) -> Self {
        match layer {
            amiref_registry::Layer::Institutional => Self::Institutional,
            _ => Self::Community,
        }
    }
}

/// Who vouches for an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Signer {
    /// Signed by a publisher of the trust store.
    Signed {
        /// The key id (`ed25519:…`).
        key_id: String,
        /// Its holder.
        publisher: String,
        /// Whether the key is retired (its signatures verify until re-signed).
        retired: bool,
    },
    /// Unsigned, admitted because the entry policy allows unsigned entries.
    Unsigned,
}

impl Signer {
    pub(crate) fn of(provenance: &amiref_registry::Provenance) -> Self {
        match provenance {
            amiref_registry::Provenance::Signed {
                key,
                publisher,
                retired,
            } => Self::Signed {
                key_id: key.to_string(),
                publisher: publisher.clone(),
                retired: *retired,
            },
            _ => Self::Unsigned,
        }
    }
}

/// A registry entry's image in one region.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegistryImage {
    /// The image.
    pub image: AmiId,
    /// The entry's version as written (`v2.1.0`, `v2.1.0+arm64`).
    pub version: String,
    /// The image's architecture.
    pub architecture: Architecture,
    /// What is in it.
    pub description: String,
    /// Who built it.
    pub creator: String,
    /// The account the entry says owns the image.
    pub owner: Option<AccountId>,
    /// Institutional or community.
    pub layer: RegistryLayer,
    /// The file or URL the entry comes from.
    pub source: String,
    /// Who vouches for it.
    pub signer: Signer,
    /// Whether it is marked tested.
    pub tested: bool,
    /// Its security scan's outcome.
    pub security_scan: ScanStatus,
    /// The figures it is ranked by: layer, score (rating, recency, verification, each with
    /// what it is computed from), version, source.
    pub ranked_by: RankedBy,
}

impl RegistryImage {
    fn new(entry: &AdmittedEntry, image: &AmiId) -> Self {
        let verification = entry.entry.verification.as_ref();
        Self {
            image: image.clone(),
            version: entry.version_text.clone(),
            architecture: entry.entry.architecture,
            description: entry.entry.description.clone(),
            creator: entry.entry.creator.clone(),
            owner: entry.entry.owner.clone(),
            layer: RegistryLayer::of(entry.layer),
            source: entry.source.clone(),
            signer: Signer::of(&entry.provenance),
            tested: verification.is_some_and(|v| v.tested),
            security_scan: verification.map_or(ScanStatus::NotRun, |v| v.security_scan),
            ranked_by: entry.ranked_by(),
        }
    }
}

/// One of the caller's own images made from the template (tagged `amiref:template`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct OwnImage {
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// The template version it was built from (`amiref:template-version`).
    pub version: Option<String>,
    /// Its architecture.
    pub architecture: Architecture,
    /// Its state.
    pub state: ImageState,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it is (or was) deprecated.
    pub deprecation_time: Option<DateTime<Utc>>,
    /// Whether everyone may launch it.
    pub public: bool,
}

impl From<Image> for OwnImage {
    fn from(image: Image) -> Self {
        Self {
            version: image.tags.get(TAG_TEMPLATE_VERSION).cloned(),
            image: image.id,
            name: image.name,
            architecture: image.architecture,
            state: image.state,
            created: image.creation_date,
            deprecation_time: image.deprecation_time,
            public: image.public,
        }
    }
}

/// An image of the listing.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ListedImage {
    /// A registry entry's image.
    Registry(Box<RegistryImage>),
    /// One of the caller's own images.
    Yours(OwnImage),
}

/// One region's images: registry entries best first, then the caller's, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegionImages {
    /// The region.
    pub region: Region,
    /// Its images.
    pub images: Vec<ListedImage>,
}

/// A region whose images could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegionFailure {
    /// The region.
    pub region: Region,
    /// Why.
    pub error: String,
}

/// `ami list --template NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ImageListReport {
    /// The template.
    pub template: String,
    /// Regions with images, in region order.
    pub regions: Vec<RegionImages>,
    /// Whether any registry is configured (without one, only the caller's images are
    /// listed).
    pub registries_configured: bool,
    /// Registry entries refused (bad signature, unknown key, policy), whatever their
    /// template.
    pub refused: Vec<RefusedEntry>,
    /// Registry warnings (a stale cached copy was used, a source was unreachable).
    pub warnings: Vec<String>,
    /// Regions where the caller's images could not be listed.
    pub failed_regions: Vec<RegionFailure>,
}

impl Session {
    /// `ami list --template NAME`: the configured registries' entries for `template` (as the
    /// caller may see them, ratings overlay included, best first) and the caller's images
    /// tagged with it in every region ([`Session::all_regions`]), grouped by region.
    pub async fn list_images(&self, template: &str) -> ImageListReport {
        let mut rows: BTreeMap<Region, Vec<ListedImage>> = BTreeMap::new();
        let (refused, warnings) = match self.registries() {
            Some(registries) => {
                let registry = &registries.registry;
                for entry in registry.entries_for(template) {
                    for (region, image) in &entry.entry.regions {
                        rows.entry(region.clone())
                            .or_default()
                            .push(ListedImage::Registry(Box::new(RegistryImage::new(
                                entry, image,
                            ))));
                    }
                }
                let report = registry.report();
                (
                    report.refused.iter().map(RefusedEntry::from).collect(),
                    report.warnings.clone(),
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        let (own, failed_regions) = self.own_images(template).await;
        for (region, mut images) in own {
            images.sort_by(|a, b| {
                b.created
                    .cmp(&a.created)
                    .then_with(|| a.image.cmp(&b.image))
            });
            rows.entry(region)
                .or_default()
                .extend(images.into_iter().map(ListedImage::Yours));
        }
        ImageListReport {
            template: template.to_owned(),
            regions: rows
                .into_iter()
                .map(|(region, images)| RegionImages { region, images })
                .collect(),
            registries_configured: self.registries().is_some(),
            refused,
            warnings,
            failed_regions,
        }
    }

    /// The caller's images tagged with `template`, per region, asked of every region at
    /// once.
    async fn own_images(
        &self,
        template: &str,
    ) -> (BTreeMap<Region, Vec<OwnImage>>, Vec<RegionFailure>) {
        let filter = ImageFilter::owned_by([Owner::Me])
            .tag(TAG_TEMPLATE, Some(template.to_owned()))
            .include_deprecated(true);
        let mut regions = self.all_regions();
        if !regions.contains(self.region()) {
            regions.push(self.region().clone());
        }
        let answers = futures::future::join_all(
            regions
                .iter()
                .map(|region| self.cloud().search_images(region, &filter)),
        )
        .await;
        let mut found = BTreeMap::new();
        let mut failed = Vec::new();
        for (region, answer) in regions.into_iter().zip(answers) {
            match answer {
                Ok(images) if images.is_empty() => {}
                Ok(images) => {
                    found.insert(region, images.into_iter().map(OwnImage::from).collect());
                }
                Err(e) => failed.push(RegionFailure {
                    region,
                    error: e.to_string(),
                }),
            }
        }
        (found, failed)
    }
}
