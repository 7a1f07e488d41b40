//! Ranking entries: a Bayesian average of ratings, recency and verification.
//!
//! The mission's sketch multiplied the average by the number of reviews, which lets a
//! flood of mediocre reviews win, ignores recency, and panics without ratings. Here the
//! average is pulled toward a prior (`prior_mean` stars, worth `prior_reviews` reviews), so
//! 5 stars from 1 review (≈3.6) does not beat 4.8 from 200 (≈4.7); a missing rating is
//! the prior itself. Recency halves every `half_life_days`; verification counts tested and
//! a passed scan. Version breaks ties (see `Registry::candidates`). The figures each part
//! is computed from are kept in the [`Score`], for people and for JSON output.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{Entry, Ratings, ScanStatus};
use crate::overlay::LocalRating;

/// How entries are scored.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Scoring {
    /// The stars an entry is assumed to have before its reviews (default 3.5).
    pub prior_mean: f64,
    /// How many reviews the prior is worth (default 10).
    pub prior_reviews: f64,
    /// The age at which recency counts half (default 180 days).
    pub half_life_days: f64,
    /// The weight of the rating (default 0.6).
    pub rating_weight: f64,
    /// The weight of recency (default 0.25).
    pub recency_weight: f64,
    /// The weight of verification (default 0.15).
    pub verification_weight: f64,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            prior_mean: 3.5,
            prior_reviews: 10.0,
            half_life_days: 180.0,
            rating_weight: 0.6,
            recency_weight: 0.25,
            verification_weight: 0.15,
        }
    }
}

/// An entry's score and the figures it is computed from: what `ami list` shows for each
/// entry, so a person can see why one ranks above another. Serializable for JSON output.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Score {
    /// The weighted sum, 0 to 1.
    pub total: f64,
    /// The rating part.
    pub rating: RatingFigures,
    /// The recency part.
    pub recency: RecencyFigures,
    /// The verification part.
    pub verification: VerificationFigures,
    /// How the score was reached, for a person.
    pub explanation: String,
}

/// The ratings behind an entry's score: the published ones, the overlay's, and both merged
/// into the Bayesian average.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RatingFigures {
    /// The Bayesian average of the merged ratings, 0 to 5 stars: what the score uses.
    pub bayesian: f64,
    /// The mean of the merged ratings (published and local), when there are any.
    pub average: Option<f64>,
    /// How many reviews the merged mean is over.
    pub reviews: u64,
    /// The published mean, when the entry has ratings.
    pub published_average: Option<f64>,
    /// How many reviews the published mean is over.
    pub published_reviews: u64,
    /// The mean of the overlay's ratings of this entry, when there are any.
    pub local_average: Option<f64>,
    /// How many overlay ratings there are (one per rater).
    pub local_reviews: u64,
    /// Launches, as published.
    pub downloads: u64,
    /// The weight of this part in the total.
    pub weight: f64,
}

/// How recent an entry is.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RecencyFigures {
    /// 1 when new, halving every half-life; 0 without a date.
    pub value: f64,
    /// The entry's age in days (from `created_at`, else `tested_at`), when dated.
    pub age_days: Option<f64>,
    /// The age at which recency counts half.
    pub half_life_days: f64,
    /// The weight of this part in the total.
    pub weight: f64,
}

/// What was verified about an entry.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct VerificationFigures {
    /// 0 to 1: half for tested, half for a passed scan.
    pub value: f64,
    /// Whether it is marked tested.
    pub tested: bool,
    /// The security scan's outcome.
    pub security_scan: ScanStatus,
    /// The weight of this part in the total.
    pub weight: f64,
}

impl Scoring {
    /// The Bayesian average of `ratings` (the prior when there are none).
    pub fn bayesian_rating(&self, ratings: Option<&Ratings>) -> f64 {
        let (average, reviews) = ratings
            .filter(|r| r.average.is_finite())
            .map_or((0.0, 0.0), |r| {
                (r.average.clamp(0.0, 5.0), r.reviews as f64)
            });
        let weight = self.prior_reviews.max(0.0);
        if weight + reviews == 0.0 {
            return self.prior_mean;
        }
        (self.prior_mean * weight + average * reviews) / (weight + reviews)
    }

    /// Scores `entry` at `now`: its published ratings with `local` (the overlay's ratings
    /// of it) added as reviews, its age and its verification.
    pub fn score(&self, entry: &Entry, local: &[&LocalRating], now: DateTime<Utc>) -> Score {
        let rating = self.rating_figures(entry.ratings.as_ref(), local);
        let recency = self.recency_figures(entry, now);
        let verification = self.verification_figures(entry);
        let total = rating.weight * rating.bayesian / 5.0
            + recency.weight * recency.value
            + verification.weight * verification.value;
        let explanation = format!(
            "{total:.3} = {:.2}×{}/5 + {:.2}×{} + {:.2}×{}",
            rating.weight,
            self.rating_text(&rating),
            recency.weight,
            recency_text(&recency),
            verification.weight,
            verification_text(&verification),
        );
        Score {
            total,
            rating,
            recency,
            verification,
            explanation,
        }
    }

    fn rating_figures(&self, published: Option<&Ratings>, local: &[&LocalRating]) -> RatingFigures {
        let local_reviews = local.len() as u64;
        let local_sum: f64 = local.iter().map(|r| f64::from(r.stars)).sum();
        let (published_average, published_reviews, downloads) = published
            .map_or((None, 0, 0), |r| {
                ((r.reviews > 0).then_some(r.average), r.reviews, r.downloads)
            });
        let reviews = published_reviews + local_reviews;
        let average = (reviews > 0).then(|| {
            (published_average.unwrap_or(0.0) * published_reviews as f64 + local_sum)
                / reviews as f64
        });
        let merged = average.map(|average| Ratings::new(average, reviews, downloads));
        RatingFigures {
            bayesian: self.bayesian_rating(merged.as_ref()),
            average,
            reviews,
            published_average,
            published_reviews,
            local_average: (local_reviews > 0).then(|| local_sum / local_reviews as f64),
            local_reviews,
            downloads,
            weight: self.rating_weight,
        }
    }

    fn recency_figures(&self, entry: &Entry, now: DateTime<Utc>) -> RecencyFigures {
        let dated = entry
            .created_at
            .or_else(|| entry.verification.as_ref().and_then(|v| v.tested_at));
        let age_days = dated.map(|at| ((now - at).num_seconds().max(0) as f64) / 86_400.0);
        let value = match age_days {
            Some(age) if self.half_life_days > 0.0 => 0.5_f64.powf(age / self.half_life_days),
            _ => 0.0,
        };
        RecencyFigures {
            value,
            age_days,
            half_life_days: self.half_life_days,
            weight: self.recency_weight,
        }
    }

    fn verification_figures(&self, entry: &Entry) -> VerificationFigures {
        let tested = entry.verification.as_ref().is_some_and(|v| v.tested);
        let security_scan = entry
            .verification
            .as_ref()
            .map_or(ScanStatus::NotRun, |v| v.security_scan);
        let passed = security_scan == ScanStatus::Passed;
        VerificationFigures {
            value: f64::from(u8::from(tested)) * 0.5 + f64::from(u8::from(passed)) * 0.5,
            tested,
            security_scan,
            weight: self.verification_weight,
        }
    }

    fn rating_text(&self, r: &RatingFigures) -> String {
        let prior = format!(
            "prior {:.1} worth {:.0}",
            self.prior_mean, self.prior_reviews
        );
        let Some(average) = r.average else {
            return format!("rating {:.2} (no reviews: the prior)", r.bayesian);
        };
        let local = match r.local_reviews {
            0 => String::new(),
            n => format!(", {n} of them local"),
        };
        format!(
            "rating {:.2} ({average:.1} from {} review{}{local}, {prior})",
            r.bayesian,
            r.reviews,
            if r.reviews == 1 { "" } else { "s" },
        )
    }
}

fn recency_text(r: &RecencyFigures) -> String {
    match r.age_days {
        Some(age) => format!(
            "recency {:.2} ({age:.0} days old, half-life {:.0} days)",
            r.value, r.half_life_days
        ),
        None => "recency 0 (no date)".to_owned(),
    }
}

fn verification_text(v: &VerificationFigures) -> String {
    let scan = match v.security_scan {
        ScanStatus::Passed => "scan passed",
        ScanStatus::Failed => "scan failed",
        ScanStatus::Pending => "scan pending",
        ScanStatus::NotRun => "no scan",
    };
    format!(
        "verification {:.1} ({}, {scan})",
        v.value,
        if v.tested { "tested" } else { "untested" }
    )
}
