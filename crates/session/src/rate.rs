//! `ami rate TEMPLATE VERSION --stars N`: the caller's own rating of a registry entry, kept
//! in the ratings file (which ranks above every registry source).

use std::path::PathBuf;

use amiref_registry::{LocalRating, RatingsOverlay, SELF_RATER};
use serde::Serialize;

use crate::{Session, SessionError};

/// `ami rate`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RateRequest {
    /// The template.
    pub template: String,
    /// The entry's version (any spelling of it).
    pub version: String,
    /// 1 to 5.
    pub stars: u8,
    /// A review, for people.
    pub review: Option<String>,
}

impl RateRequest {
    /// `stars` for `template` `version`.
    pub fn new(template: impl Into<String>, version: impl Into<String>, stars: u8) -> Self {
        Self {
            template: template.into(),
            version: version.into(),
            stars,
            review: None,
        }
    }

    /// With a review.
    #[must_use]
    pub fn review(mut self, review: impl Into<String>) -> Self {
        self.review = Some(review.into());
        self
    }
}

/// What `ami rate` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RateReport {
    /// The template.
    pub template: String,
    /// The version, as the registry spells it.
    pub version: String,
    /// The stars given.
    pub stars: u8,
    /// The review.
    pub review: Option<String>,
    /// The stars of the rating this one replaced, if any.
    pub replaced_stars: Option<u8>,
    /// The ratings file.
    pub file: PathBuf,
}

impl Session {
    /// `ami rate`: the entry must be one a configured registry offers; the rating is the
    /// caller's own (`self`), at the session's time, replacing an earlier one of it.
    pub async fn rate_entry(&self, request: &RateRequest) -> Result<RateReport, SessionError> {
        let registries = self.registries().ok_or_else(|| {
            self.name_config(SessionError::NotConfigured {
                what: "no registry (a rating is of a registry's entry)".into(),
                setting: "`registries:` (or $AMIREF_REGISTRIES)".into(),
                config: None,
            })
        })?;
        let file = self.registry_settings().ratings.clone().ok_or_else(|| {
            self.name_config(SessionError::NotConfigured {
                what: "the ratings file".into(),
                setting: "`ratings:` (or $AMIREF_RATINGS, or $HOME for the default)".into(),
                config: None,
            })
        })?;
        let registry_error = |source| SessionError::Registry {
            what: format!("ratings {}", file.display()),
            source,
        };
        let mut overlay = RatingsOverlay::load_file(&file).map_err(registry_error)?;
        let mut rating = LocalRating::new(SELF_RATER, request.stars, self.now());
        if let Some(review) = &request.review {
            rating = rating.with_review(review.clone());
        }
        let rated = overlay.rate(
            &registries.registry,
            &request.template,
            &request.version,
            rating,
        )?;
        crate::error::create_parent(&file, "create the ratings file's directory")?;
        overlay.save_file(&file).map_err(registry_error)?;
        Ok(RateReport {
            template: rated.template,
            version: rated.version,
            stars: request.stars,
            review: request.review.clone(),
            replaced_stars: rated.replaced.map(|r| r.stars),
            file,
        })
    }
}
