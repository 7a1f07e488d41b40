//! The ratings overlay: people's own ratings (`ami rate`), kept in a file of theirs and
//! layered above every source.
//!
//! Overlay ratings are merged into an entry's published ratings as extra reviews, so
//! experience moves the ranking without anyone having to re-sign the entry. Each rater
//! rates a version once: rating it again **replaces** the earlier rating (a person changing
//! their mind is one opinion, not two), and a file that lists a rater twice for one version
//! is refused, located, rather than guessing which was meant. Only versions a registry
//! offers can be rated ([`RatingsOverlay::rate`] refuses others, with a "did you mean").
//! The overlay never adds or changes images: it cannot make an unsigned or refused entry
//! usable.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::parse_version;
use crate::error::{LoadError, Problem};
use crate::model::Ratings;
use crate::registry::Registry;
use crate::yaml::{LocatedDocument, Segment, format_path, to_yaml_string};

const WHAT: &str = "ratings overlay";

/// The rater of ratings the overlay's owner gave (`ami rate`), and of every rating a file
/// lists without a `rater`.
pub const SELF_RATER: &str = "self";

/// One rating in the overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LocalRating {
    /// Who gave it ([`SELF_RATER`] for the overlay's owner; an account, ARN or name for a
    /// shared overlay). One rating per rater and version.
    #[serde(default = "self_rater")]
    pub rater: String,
    /// 1 to 5 stars.
    pub stars: u8,
    /// A review, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// When it was given.
    pub rated_at: DateTime<Utc>,
}

fn self_rater() -> String {
    SELF_RATER.to_owned()
}

impl LocalRating {
    /// `stars` from `rater`, given at `rated_at`.
    pub fn new(rater: impl Into<String>, stars: u8, rated_at: DateTime<Utc>) -> Self {
        Self {
            rater: rater.into(),
            stars,
            review: None,
            rated_at,
        }
    }

    /// The same rating with a review.
    #[must_use]
    pub fn with_review(mut self, review: impl Into<String>) -> Self {
        self.review = Some(review.into());
        self
    }
}

/// The overlay file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OverlayFile {
    schema_version: u32,
    #[serde(default)]
    ratings: BTreeMap<String, BTreeMap<String, Vec<LocalRating>>>,
}

/// Ratings per template and version, one per rater.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingsOverlay {
    file: OverlayFile,
}

/// What [`RatingsOverlay::rate`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rated {
    /// The template.
    pub template: String,
    /// The version, as the registry writes it.
    pub version: String,
    /// The rater's earlier rating of this version, which the new one replaced.
    pub replaced: Option<LocalRating>,
}

/// A rating that was not recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// Stars outside 1 to 5.
    #[error("{stars} stars: expected 1 to 5 stars")]
    Stars {
        /// The stars given.
        stars: u8,
    },
    /// An empty rater.
    #[error("the rater is empty: expected who gives the rating")]
    EmptyRater,
    /// The version is not a semantic version.
    #[error("version {version:?} is not a semantic version ({source}): expected e.g. \"2.1.0\"")]
    InvalidVersion {
        /// The version given.
        version: String,
        /// Why.
        #[source]
        source: semver::Error,
    },
    /// No registry offers the template.
    #[error("no registry offers template {template:?}{}", did_you_mean(suggestion.as_deref()))]
    UnknownTemplate {
        /// The template given.
        template: String,
        /// The offered template nearest in spelling.
        suggestion: Option<String>,
    },
    /// The registries offer the template, but not that version.
    #[error(
        "the registries offer no version {version} of {template} (they offer {}){}",
        known.join(", "),
        did_you_mean(suggestion.as_deref())
    )]
    UnknownVersion {
        /// The template.
        template: String,
        /// The version given.
        version: String,
        /// The versions offered, as written.
        known: Vec<String>,
        /// The offered version nearest in spelling.
        suggestion: Option<String>,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean {s:?}?"))
        .unwrap_or_default()
}

impl Default for RatingsOverlay {
    fn default() -> Self {
        Self::new()
    }
}

impl RatingsOverlay {
    /// An empty overlay.
    pub fn new() -> Self {
        Self {
            file: OverlayFile {
                schema_version: 1,
                ratings: BTreeMap::new(),
            },
        }
    }

    /// Reads overlay text; `origin` names it in errors. Every problem is reported, located:
    /// stars outside 1 to 5, an empty rater, a version that is not semver, two spellings of
    /// one version, and a rater rating one version twice.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, LoadError> {
        let doc = LocatedDocument::parse(text, origin, WHAT)?;
        let file: OverlayFile = doc.deserialize(WHAT)?;
        let mut problems: Vec<Problem> = Vec::new();
        if file.schema_version != 1 {
            problems.push(doc.problem("schema_version", file.schema_version.to_string(), "1"));
        }
        for (template, versions) in &file.ratings {
            check_template(&doc, template, versions, &mut problems);
        }
        if problems.is_empty() {
            Ok(Self { file })
        } else {
            Err(LoadError::Invalid {
                origin: origin.to_owned(),
                what: WHAT,
                problems,
            })
        }
    }

    /// Reads the overlay at `path`; a missing file is an empty overlay.
    pub fn load_file(path: &Path) -> Result<Self, LoadError> {
        match crate::yaml::read_text_if_exists(path, WHAT)? {
            Some(text) => Self::from_yaml_str(&text, &path.display().to_string()),
            None => Ok(Self::new()),
        }
    }

    /// Writes the overlay to `path`, atomically.
    pub fn save_file(&self, path: &Path) -> Result<(), LoadError> {
        let text = to_yaml_string(&self.file).map_err(|message| LoadError::Io {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::other(message),
        })?;
        crate::source::write_atomically(path, text.as_bytes())
    }

    /// Records `rating` of `template` `version`, which `known` must offer (admitted, or
    /// hidden from this caller by a sharing policy). A rating by the same rater of the same
    /// version (in any spelling) is replaced, and returned in [`Rated::replaced`].
    pub fn rate(
        &mut self,
        known: &Registry,
        template: &str,
        version: &str,
        rating: LocalRating,
    ) -> Result<Rated, RateError> {
        if !(1..=5).contains(&rating.stars) {
            return Err(RateError::Stars {
                stars: rating.stars,
            });
        }
        if rating.rater.trim().is_empty() {
            return Err(RateError::EmptyRater);
        }
        let parsed = parse_version(version).map_err(|source| RateError::InvalidVersion {
            version: version.to_owned(),
            source,
        })?;
        let offered = known.offered_versions(template);
        if offered.is_empty() {
            let templates: Vec<&str> = known.offered_templates().collect();
            return Err(RateError::UnknownTemplate {
                template: template.to_owned(),
                suggestion: closest(template, &templates).map(str::to_owned),
            });
        }
        let Some(written) = offered
            .iter()
            .find(|(v, _)| *v == &parsed)
            .map(|(_, text)| *text)
        else {
            let known: Vec<&str> = offered.iter().map(|(_, text)| *text).collect();
            return Err(RateError::UnknownVersion {
                template: template.to_owned(),
                version: version.to_owned(),
                suggestion: closest(version, &known).map(str::to_owned),
                known: known.into_iter().map(str::to_owned).collect(),
            });
        };
        let versions = self.file.ratings.entry(template.to_owned()).or_default();
        // Keep the spelling the file already has for this version, so it is listed once.
        let key = versions
            .keys()
            .find(|v| parse_version(v).is_ok_and(|p| p == parsed))
            .cloned()
            .unwrap_or_else(|| written.to_owned());
        let ratings = versions.entry(key.clone()).or_default();
        let replaced = match ratings.iter_mut().find(|r| r.rater == rating.rater) {
            Some(earlier) => Some(std::mem::replace(earlier, rating)),
            None => {
                ratings.push(rating);
                None
            }
        };
        Ok(Rated {
            template: template.to_owned(),
            version: key,
            replaced,
        })
    }

    /// The ratings of `template` `version` (any spelling of the version), one per rater.
    pub fn local(&self, template: &str, version: &semver::Version) -> Vec<&LocalRating> {
        self.file
            .ratings
            .get(template)
            .into_iter()
            .flatten()
            .filter(|(v, _)| parse_version(v).is_ok_and(|p| &p == version))
            .flat_map(|(_, r)| r)
            .collect()
    }

    /// Every (template, version as written) the overlay rates.
    pub fn rated(&self) -> impl Iterator<Item = (&str, &str)> {
        self.file
            .ratings
            .iter()
            .flat_map(|(t, versions)| versions.keys().map(move |v| (t.as_str(), v.as_str())))
    }

    /// `published` with the overlay's ratings of `template` `version` added as reviews.
    pub fn merged(
        &self,
        template: &str,
        version: &semver::Version,
        published: Option<&Ratings>,
    ) -> Option<Ratings> {
        let local = self.local(template, version);
        if local.is_empty() {
            return published.cloned();
        }
        let (average, reviews, downloads) =
            published.map_or((0.0, 0, 0), |r| (r.average, r.reviews, r.downloads));
        let local_sum: f64 = local.iter().map(|r| f64::from(r.stars)).sum();
        let total_reviews = reviews + local.len() as u64;
        Some(Ratings {
            average: (average * reviews as f64 + local_sum) / total_reviews as f64,
            reviews: total_reviews,
            downloads,
        })
    }
}

/// The problems of one template's ratings in an overlay file.
fn check_template(
    doc: &LocatedDocument,
    template: &str,
    versions: &BTreeMap<String, Vec<LocalRating>>,
    problems: &mut Vec<Problem>,
) {
    let mut spellings: BTreeMap<semver::Version, &str> = BTreeMap::new();
    // (version, rater) → the index of the rater's first rating, under its spelling.
    let mut first_rating: BTreeMap<(semver::Version, &str), (&str, usize)> = BTreeMap::new();
    for (version, ratings) in versions {
        let base = [
            Segment::Key("ratings".into()),
            Segment::Key(template.to_owned()),
            Segment::Key(version.clone()),
        ];
        let parsed = match parse_version(version) {
            Ok(parsed) => Some(parsed),
            Err(_) => {
                problems.push(doc.problem(
                    &format_path(&base),
                    format!("version {version:?}"),
                    "a semantic version such as \"2.1.0\"",
                ));
                None
            }
        };
        if let Some(p) = &parsed
            && let Some(first) = spellings.insert(p.clone(), version)
        {
            problems.push(doc.problem(
                &format_path(&base),
                format!("version {version:?}, the same version as {first:?}"),
                "each version of a template once",
            ));
        }
        for (i, rating) in ratings.iter().enumerate() {
            let at = |field: &str| {
                let mut path = base.to_vec();
                path.extend([Segment::Index(i), Segment::Key(field.into())]);
                format_path(&path)
            };
            if !(1..=5).contains(&rating.stars) {
                problems.push(doc.problem(&at("stars"), rating.stars.to_string(), "1 to 5 stars"));
            }
            if rating.rater.trim().is_empty() {
                problems.push(doc.problem(&at("rater"), "an empty rater", "who gave the rating"));
            }
            let Some(p) = &parsed else { continue };
            match first_rating.entry((p.clone(), rating.rater.as_str())) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert((version, i));
                }
                std::collections::btree_map::Entry::Occupied(first) => {
                    let (first_version, first_index) = *first.get();
                    let mut path = base.to_vec();
                    path.push(Segment::Index(i));
                    problems.push(doc.problem(
                        &format_path(&path),
                        format!(
                            "a second rating of {template} {version} by {:?} (the first is \
                             {first_version}[{first_index}])",
                            rating.rater
                        ),
                        "one rating per rater and version (`ami rate` replaces a rating)",
                    ));
                }
            }
        }
    }
}

/// The candidate nearest `given` in spelling, if it is near enough to be a typo.
fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let normal = |s: &str| s.trim_start_matches('v').to_ascii_lowercase();
    let given_n = normal(given);
    let limit = (given_n.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&given_n, &normal(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
