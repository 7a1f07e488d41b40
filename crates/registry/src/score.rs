//! Ranking entries: a Bayesian average of ratings, recency and verification.
//!
//! The mission's sketch multiplied the average by the number of reviews, which lets a
//! flood of mediocre reviews win, ignores recency, and panics without ratings. Here the
//! average is pulled toward a prior (`prior_mean` stars, worth `prior_reviews` reviews), so
//! 5 stars from 1 review (≈3.6) does not beat 4.8 from 200 (≈4.7); a missing rating is
//! the prior itself. Recency halves every `half_life_days`; verification counts tested and
//! a passed scan. Version breaks ties (see `Registry::candidates`).

use chrono::{DateTime, Utc};

use crate::model::{Entry, Ratings, ScanStatus};

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

/// An entry's score and its parts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Score {
    /// The weighted sum, 0 to 1.
    pub total: f64,
    /// The Bayesian average, 0 to 5 stars.
    pub bayesian_rating: f64,
    /// 1 when new, halving every half-life; 0 without a date.
    pub recency: f64,
    /// 0 to 1: half for tested, half for a passed scan.
    pub verification: f64,
    /// How the score was reached, for a person.
    pub explanation: String,
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

    /// Scores `entry` at `now`, with `ratings` (the entry's, with any local ratings merged).
    pub fn score(&self, entry: &Entry, ratings: Option<&Ratings>, now: DateTime<Utc>) -> Score {
        let bayesian = self.bayesian_rating(ratings);
        let rating_part = bayesian / 5.0;
        let dated = entry
            .created_at
            .or_else(|| entry.verification.as_ref().and_then(|v| v.tested_at));
        let (recency, recency_text) = match dated {
            Some(at) => {
                let age_days = ((now - at).num_seconds().max(0) as f64) / 86_400.0;
                let recency = if self.half_life_days > 0.0 {
                    0.5_f64.powf(age_days / self.half_life_days)
                } else {
                    0.0
                };
                (
                    recency,
                    format!(
                        "recency {recency:.2} ({age_days:.0} days old, half-life {:.0} days)",
                        self.half_life_days
                    ),
                )
            }
            None => (0.0, "recency 0 (no date)".to_owned()),
        };
        let tested = entry.verification.as_ref().is_some_and(|v| v.tested);
        let scan = entry
            .verification
            .as_ref()
            .map_or(ScanStatus::NotRun, |v| v.security_scan);
        let verification =
            f64::from(u8::from(tested)) * 0.5 + if scan == ScanStatus::Passed { 0.5 } else { 0.0 };
        let scan_text = match scan {
            ScanStatus::Passed => "scan passed",
            ScanStatus::Failed => "scan failed",
            ScanStatus::Pending => "scan pending",
            ScanStatus::NotRun => "no scan",
        };
        let rating_text = match ratings {
            Some(r) if r.reviews > 0 => format!(
                "rating {bayesian:.2} ({:.1} from {} review{}, prior {:.1} worth {:.0})",
                r.average,
                r.reviews,
                if r.reviews == 1 { "" } else { "s" },
                self.prior_mean,
                self.prior_reviews
            ),
            _ => format!("rating {bayesian:.2} (no reviews: the prior)"),
        };
        let total = self.rating_weight * rating_part
            + self.recency_weight * recency
            + self.verification_weight * verification;
        let explanation = format!(
            "{total:.3} = {:.2}×{rating_text}/5 + {:.2}×{recency_text} + {:.2}×verification {verification:.1} ({}, {scan_text})",
            self.rating_weight,
            self.recency_weight,
            self.verification_weight,
            if tested { "tested" } else { "untested" },
        );
        Score {
            total,
            bayesian_rating: bayesian,
            recency,
            verification,
            explanation,
        }
    }
}
