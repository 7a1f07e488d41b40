//! The loaded registry: layers, admission of entries, and choosing among them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use amiref_core::{
    AmiId, Architecture, CallerIdentity, ImageRegistry, Region, RegistryCandidate, RegistryError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::admission::admit;
use crate::document::{ParsedRegistry, parse_version};
use crate::duplicates::{IdenticalCopy, resolve_duplicates};
use crate::error::{LoadError, Problem};
use crate::model::Entry;
use crate::overlay::RatingsOverlay;
use crate::policy::EntryPolicy;
use crate::score::{Score, Scoring};
use crate::source::RegistrySource;
use crate::trust::{KeyId, TrustStore};

/// A layer of the registry. Precedence: an institutional entry always ranks above any
/// community entry, and shadows a community entry of the same template and version.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Layer {
    /// The caller's institution's registry: its standard images.
    Institutional,
    /// A community registry: images strangers built.
    Community,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Institutional => "institutional",
            Self::Community => "community",
        })
    }
}

/// How an admitted entry is vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provenance {
    /// Signed by a trusted publisher.
    Signed {
        /// The key.
        key: KeyId,
        /// Its holder.
        publisher: String,
        /// Whether the key is retired: rotated out, its signatures still verify until the
        /// entry is re-signed with an active key.
        retired: bool,
    },
    /// Unsigned, admitted because the policy allows unsigned entries.
    Unsigned,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signed {
                key,
                publisher,
                retired: false,
            } => write!(f, "signed by {publisher} ({key})"),
            Self::Signed {
                key,
                publisher,
                retired: true,
            } => write!(
                f,
                "signed by {publisher} ({key}, a RETIRED key: it verifies until the entry \
                 is re-signed with an active key)"
            ),
            Self::Unsigned => f.write_str("UNSIGNED (allowed by policy)"),
        }
    }
}

/// An entry that passed verification and policy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdmittedEntry {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version_text: String,
    /// The version.
    pub version: semver::Version,
    /// The entry.
    pub entry: Entry,
    /// Its layer.
    pub layer: Layer,
    /// The file or URL it came from.
    pub source: String,
    /// Who vouches for it.
    pub provenance: Provenance,
    /// Its score (ratings merged with the local overlay).
    pub score: Score,
}

/// The figures an entry is ranked by, in rank order: its layer, then its score (with the
/// figures the score is computed from), then its version, then its source. What `ami list`
/// shows beside each entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RankedBy {
    /// The layer (institutional entries rank above every community entry).
    pub layer: Layer,
    /// The score and its parts.
    pub score: Score,
    /// The version as written (newer ranks first among equal scores).
    pub version: String,
    /// The source (the last tie-break).
    pub source: String,
}

impl AdmittedEntry {
    /// The figures the entry is ranked by.
    pub fn ranked_by(&self) -> RankedBy {
        RankedBy {
            layer: self.layer,
            score: self.score.clone(),
            version: self.version_text.clone(),
            source: self.source.clone(),
        }
    }
}

/// An entry that was not admitted, and why.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Refusal {
    /// The template.
    pub template: String,
    /// The version as written.
    pub version: String,
    /// The file or URL.
    pub source: String,
    /// Why, for a person.
    pub reason: String,
    /// Located problems, when the entry does not add up.
    pub problems: Vec<Problem>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} from {}: {}",
            self.template, self.version, self.source, self.reason
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// What loading found besides the admitted entries.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoadReport {
    /// Warnings (a stale cached copy, a retired key, a skipped source).
    pub warnings: Vec<String>,
    /// Entries refused.
    pub refused: Vec<Refusal>,
    /// Community entries shadowed by an institutional entry of the same version.
    pub shadowed: Vec<String>,
    /// Copies of an entry another source of the same layer serves identically (counted
    /// once).
    pub identical_copies: Vec<IdenticalCopy>,
    /// Entries not shared with the caller.
    pub not_shared: usize,
}

/// One image a registry offers for a template in a region.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Candidate<'a> {
    /// The entry.
    pub entry: &'a AdmittedEntry,
    /// The region.
    pub region: &'a Region,
    /// The image there.
    pub image: &'a AmiId,
}

/// Builds a [`Registry`] from sources.
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    sources: Vec<(Layer, RegistrySource)>,
    parsed: Vec<(Layer, ParsedRegistry)>,
    trust: TrustStore,
    policy: EntryPolicy,
    caller: Option<CallerIdentity>,
    overlay: Option<RatingsOverlay>,
    scoring: Scoring,
    now: Option<DateTime<Utc>>,
    skip_unavailable: bool,
}

impl RegistryBuilder {
    /// Adds an institutional source.
    #[must_use]
    pub fn institutional(mut self, source: RegistrySource) -> Self {
        self.sources.push((Layer::Institutional, source));
        self
    }

    /// Adds a community source.
    #[must_use]
    pub fn community(mut self, source: RegistrySource) -> Self {
        self.sources.push((Layer::Community, source));
        self
    }

    /// Adds an already parsed document to `layer`.
    #[must_use]
    pub fn document(mut self, layer: Layer, parsed: ParsedRegistry) -> Self {
        self.parsed.push((layer, parsed));
        self
    }

    /// Adds the publisher keys of `trust` to those to trust. Call it once per trust store:
    /// the stores are merged ([`TrustStore::merge`]), so a key revoked in any of them is
    /// revoked, and a key retired in any (revoked in none) is retired. One merged store
    /// verifies every layer: a key revoked for one layer is revoked for all.
    #[must_use]
    pub fn trust_store(mut self, trust: TrustStore) -> Self {
        self.trust.merge(&trust);
        self
    }

    /// The policy entries must meet (what they must be signed, tested and scanned with).
    #[must_use]
    pub fn entry_policy(mut self, policy: EntryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Who is asking, for sharing policies. Without it, entries restricted by a sharing
    /// policy are hidden.
    #[must_use]
    pub fn caller(mut self, caller: CallerIdentity) -> Self {
        self.caller = Some(caller);
        self
    }

    /// Asks `identity` who is calling (STS `GetCallerIdentity` on AWS), for sharing
    /// policies.
    pub async fn caller_from(
        self,
        identity: &dyn amiref_core::Identity,
    ) -> Result<Self, amiref_core::CloudError> {
        Ok(self.caller(identity.caller().await?))
    }

    /// The caller's own ratings, layered above every source.
    #[must_use]
    pub fn overlay(mut self, overlay: RatingsOverlay) -> Self {
        self.overlay = Some(overlay);
        self
    }

    /// How entries are scored.
    #[must_use]
    pub fn scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }

    /// The time scores are computed at (default: when built).
    #[must_use]
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Turn a source that is unreachable (and has no cached copy) into a warning instead
    /// of an error.
    #[must_use]
    pub fn skip_unavailable_sources(mut self, skip: bool) -> Self {
        self.skip_unavailable = skip;
        self
    }

    /// Reads every source and admits the entries that pass.
    #[tracing::instrument(skip_all, fields(sources = self.sources.len()))]
    pub async fn build(mut self) -> Result<Registry, LoadError> {
        let mut warnings = Vec::new();
        let sources = std::mem::take(&mut self.sources);
        for (layer, source) in sources {
            match source.load().await {
                Ok(loaded) => {
                    warnings.extend(loaded.warnings);
                    self.parsed
                        .extend(loaded.documents.into_iter().map(|d| (layer, d)));
                }
                Err(e @ LoadError::Unreachable { .. }) if self.skip_unavailable => {
                    tracing::warn!(source = %source.name(), error = %e, "skipping registry source");
                    warnings.push(format!("skipped {layer} registry: {e}"));
                }
                Err(e) => return Err(e),
            }
        }
        let mut registry = self.assemble();
        registry.report.warnings.splice(0..0, warnings);
        Ok(registry)
    }

    /// Admits the entries of the documents added with [`RegistryBuilder::document`],
    /// without reading any source.
    pub fn build_from_documents(mut self) -> Registry {
        self.sources.clear();
        self.assemble()
    }

    fn assemble(self) -> Registry {
        let now = self.now.unwrap_or_else(Utc::now);
        let mut report = LoadReport::default();
        let mut admitted: Vec<AdmittedEntry> = Vec::new();
        let mut offered = Offered::default();
        for (layer, parsed) in &self.parsed {
            for (template, versions) in &parsed.document.community_amis {
                for (version_text, entry) in versions {
                    let refuse = |reason: String, problems: Vec<Problem>| Refusal {
                        template: template.clone(),
                        version: version_text.clone(),
                        source: parsed.origin.clone(),
                        reason,
                        problems,
                    };
                    if let Some(problems) = parsed
                        .entry_problems
                        .get(&(template.clone(), version_text.clone()))
                    {
                        report
                            .refused
                            .push(refuse("it does not add up".into(), problems.clone()));
                        continue;
                    }
                    let Ok(version) = parse_version(version_text) else {
                        continue; // reported among the entry's problems
                    };
                    let provenance =
                        match admit(&self.trust, &self.policy, template, version_text, entry) {
                            Ok(provenance) => provenance,
                            Err(reason) => {
                                report.refused.push(refuse(reason, Vec::new()));
                                continue;
                            }
                        };
                    if let Provenance::Signed {
                        key,
                        publisher,
                        retired: true,
                    } = &provenance
                    {
                        report.warnings.push(format!(
                            "{template} {version_text} from {} is signed with retired key {key} of {publisher}",
                            parsed.origin
                        ));
                    }
                    let sharing = entry.sharing.as_ref().or(parsed.document.sharing.as_ref());
                    if let Some(policy) = sharing
                        && !policy.allows(self.caller.as_ref())
                    {
                        report.not_shared += 1;
                        offered.add(template, &version, version_text);
                        continue;
                    }
                    let local = match &self.overlay {
                        Some(o) => o.local(template, &version),
                        None => Vec::new(),
                    };
                    let score = self.scoring.score(entry, &local, now);
                    admitted.push(AdmittedEntry {
                        template: template.clone(),
                        version_text: version_text.clone(),
                        version,
                        entry: entry.clone(),
                        layer: *layer,
                        source: parsed.origin.clone(),
                        provenance,
                        score,
                    });
                }
            }
        }
        let admitted = resolve_duplicates(admitted, &mut report);
        for e in &admitted {
            offered.add(&e.template, &e.version, &e.version_text);
        }
        if let Some(overlay) = &self.overlay {
            report.warnings.extend(offered.unmatched(overlay));
        }
        let mut index: HashMap<String, HashMap<Region, Vec<usize>>> = HashMap::new();
        for (i, e) in admitted.iter().enumerate() {
            let by_region = index.entry(e.template.clone()).or_default();
            for region in e.entry.regions.keys() {
                by_region.entry(region.clone()).or_default().push(i);
            }
        }
        // Pre-sort each list best first, so a lookup only filters.
        for by_region in index.values_mut() {
            for list in by_region.values_mut() {
                list.sort_by(|&a, &b| rank(&admitted[a], &admitted[b]));
            }
        }
        for refusal in &report.refused {
            tracing::warn!(%refusal, "registry entry refused");
        }
        tracing::debug!(
            admitted = admitted.len(),
            refused = report.refused.len(),
            not_shared = report.not_shared,
            "registry assembled"
        );
        Registry {
            entries: admitted,
            index,
            report,
            offered,
        }
    }
}

/// Best first: layer precedence, then score, then the newer version.
fn rank(a: &AdmittedEntry, b: &AdmittedEntry) -> std::cmp::Ordering {
    a.layer
        .cmp(&b.layer)
        .then(b.score.total.total_cmp(&a.score.total))
        .then(b.version.cmp(&a.version))
        .then(a.source.cmp(&b.source))
}

/// A loaded, verified registry.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: Vec<AdmittedEntry>,
    index: HashMap<String, HashMap<Region, Vec<usize>>>,
    report: LoadReport,
    offered: Offered,
}

/// Every (template, version) the sources offer: admitted, or verified and hidden from
/// this caller by a sharing policy. What may be rated.
#[derive(Debug, Clone, Default)]
struct Offered(BTreeMap<String, BTreeMap<semver::Version, String>>);

impl Offered {
    fn add(&mut self, template: &str, version: &semver::Version, written: &str) {
        self.0
            .entry(template.to_owned())
            .or_default()
            .entry(version.clone())
            .or_insert_with(|| written.to_owned());
    }

    /// A warning for each version the overlay rates that no source offers.
    fn unmatched(&self, overlay: &RatingsOverlay) -> Vec<String> {
        overlay
            .rated()
            .filter(|(template, version)| {
                !parse_version(version).is_ok_and(|v| {
                    self.0
                        .get(*template)
                        .is_some_and(|versions| versions.contains_key(&v))
                })
            })
            .map(|(template, version)| {
                format!(
                    "the ratings overlay rates {template} {version}, which no registry source \
                     offers: its ratings are not used"
                )
            })
            .collect()
    }
}

impl Registry {
    /// A builder.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// Every template the sources offer (admitted, or hidden from this caller by a sharing
    /// policy), in name order.
    pub fn offered_templates(&self) -> impl Iterator<Item = &str> {
        self.offered.0.keys().map(String::as_str)
    }

    /// The versions of `template` the sources offer, newest first, each with its spelling
    /// in the registry.
    pub fn offered_versions(&self, template: &str) -> Vec<(&semver::Version, &str)> {
        self.offered
            .0
            .get(template)
            .into_iter()
            .flat_map(|versions| versions.iter().rev())
            .map(|(v, text)| (v, text.as_str()))
            .collect()
    }

    /// What loading found besides admitted entries.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// Every admitted entry.
    pub fn entries(&self) -> &[AdmittedEntry] {
        &self.entries
    }

    /// The admitted entries of `template`, best first.
    pub fn entries_for(&self, template: &str) -> Vec<&AdmittedEntry> {
        let mut out: Vec<&AdmittedEntry> = self
            .entries
            .iter()
            .filter(|e| e.template == template)
            .collect();
        out.sort_by(|a, b| rank(a, b));
        out
    }

    /// The admitted images for `template` in `region` among `architectures` (any, when
    /// empty), best first: institutional before community, then by score, then by version.
    pub fn candidates(
        &self,
        template: &str,
        region: &Region,
        architectures: &[Architecture],
    ) -> Vec<Candidate<'_>> {
        self.iter_candidates(template, region, architectures)
            .collect()
    }

    /// The best image for `template` in `region`, if any.
    pub fn best(
        &self,
        template: &str,
        region: &Region,
        architectures: &[Architecture],
    ) -> Option<Candidate<'_>> {
        self.iter_candidates(template, region, architectures).next()
    }

    fn iter_candidates<'a, 'q>(
        &'a self,
        template: &str,
        region: &'q Region,
        architectures: &'q [Architecture],
    ) -> impl Iterator<Item = Candidate<'a>> + use<'a, 'q> {
        let list = self
            .index
            .get(template)
            .and_then(|r| r.get(region))
            .map_or(&[][..], Vec::as_slice);
        list.iter().filter_map(move |&i| {
            let e = &self.entries[i];
            if !architectures.is_empty() && !architectures.contains(&e.entry.architecture) {
                return None;
            }
            // Only the image the entry lists for this very region: never another's.
            let (region, image) = e.entry.regions.get_key_value(region)?;
            Some(Candidate {
                entry: e,
                region,
                image,
            })
        })
    }
}

impl Candidate<'_> {
    /// The candidate in the resolver's terms.
    pub fn to_registry_candidate(&self) -> RegistryCandidate {
        let e = self.entry;
        let mut c = RegistryCandidate::new(
            e.template.clone(),
            e.version_text.clone(),
            self.image.clone(),
            self.region.clone(),
            e.entry.architecture,
            format!("{} {}", e.layer, e.source),
        );
        c.expected_owner = e.entry.owner.clone();
        (c.signed_by, c.signer_retired) = match &e.provenance {
            Provenance::Signed { key, retired, .. } => (Some(key.to_string()), *retired),
            Provenance::Unsigned => (None, false),
        };
        c.score = e.score.total;
        c.explanation = format!(
            "{} layer; {}; score {}",
            e.layer, e.provenance, e.score.explanation
        );
        c
    }
}

#[async_trait]
impl ImageRegistry for Registry {
    async fn candidates(
        &self,
        template: &str,
        region: &Region,
        architectures: &[Architecture],
    ) -> Result<Vec<RegistryCandidate>, RegistryError> {
        Ok(Registry::candidates(self, template, region, architectures)
            .iter()
            .map(Candidate::to_registry_candidate)
            .collect())
    }
}
