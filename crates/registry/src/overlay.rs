//! The local ratings overlay: the caller's own ratings (`ami rate`), kept in a file of
//! theirs and layered above every source.
//!
//! Local ratings are merged into an entry's published ratings as extra reviews, so a user's
//! own experience moves the ranking without anyone having to re-sign the entry. The overlay
//! never adds or changes images: it cannot make an unsigned or refused entry usable.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::parse_version;
use crate::error::{LoadError, Problem};
use crate::model::Ratings;
use crate::yaml::{LocatedDocument, Segment, format_path, to_yaml_string};

const WHAT: &str = "ratings overlay";

/// One local rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LocalRating {
    /// 1 to 5 stars.
    pub stars: u8,
    /// A review, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// When it was given.
    pub rated_at: DateTime<Utc>,
}

/// The overlay file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OverlayFile {
    schema_version: u32,
    #[serde(default)]
    ratings: BTreeMap<String, BTreeMap<String, Vec<LocalRating>>>,
}

/// The caller's own ratings, per template and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingsOverlay {
    file: OverlayFile,
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

    /// Reads overlay text; `origin` names it in errors.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, LoadError> {
        let doc = LocatedDocument::parse(text, origin, WHAT)?;
        let file: OverlayFile = doc.deserialize(WHAT)?;
        let mut problems: Vec<Problem> = Vec::new();
        if file.schema_version != 1 {
            problems.push(doc.problem("schema_version", file.schema_version.to_string(), "1"));
        }
        for (template, versions) in &file.ratings {
            for (version, ratings) in versions {
                let base = [
                    Segment::Key("ratings".into()),
                    Segment::Key(template.clone()),
                    Segment::Key(version.clone()),
                ];
                if parse_version(version).is_err() {
                    problems.push(doc.problem(
                        &format_path(&base),
                        format!("version {version:?}"),
                        "a semantic version such as \"2.1.0\"",
                    ));
                }
                for (i, rating) in ratings.iter().enumerate() {
                    if !(1..=5).contains(&rating.stars) {
                        let mut path = base.to_vec();
                        path.extend([Segment::Index(i), Segment::Key("stars".into())]);
                        problems.push(doc.problem(
                            &format_path(&path),
                            rating.stars.to_string(),
                            "1 to 5 stars",
                        ));
                    }
                }
            }
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
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_yaml_str(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(source) => Err(LoadError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the overlay to `path`.
    pub fn save_file(&self, path: &Path) -> Result<(), LoadError> {
        let text = to_yaml_string(&self.file).map_err(|message| LoadError::Io {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::other(message),
        })?;
        crate::source::write_atomically(path, text.as_bytes())
    }

    /// Records a rating of `template` `version`. Stars outside 1 to 5 are refused.
    pub fn rate(
        &mut self,
        template: &str,
        version: &str,
        stars: u8,
        review: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), LoadError> {
        let invalid = |p: Problem| LoadError::Invalid {
            origin: "the rating".into(),
            what: "rating",
            problems: vec![p],
        };
        if !(1..=5).contains(&stars) {
            return Err(invalid(Problem::new(
                "--stars",
                "stars",
                stars.to_string(),
                "1 to 5 stars",
            )));
        }
        if let Err(e) = parse_version(version) {
            return Err(invalid(Problem::new(
                "VERSION",
                "version",
                format!("{version:?} ({e})"),
                "a semantic version such as \"2.1.0\"",
            )));
        }
        self.file
            .ratings
            .entry(template.to_owned())
            .or_default()
            .entry(version.to_owned())
            .or_default()
            .push(LocalRating {
                stars,
                review,
                rated_at: now,
            });
        Ok(())
    }

    /// The local ratings of `template` `version` (any spelling of the version).
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

    /// `published` with the local ratings of `template` `version` added as reviews.
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
