//! `ami deprecate`: when an image becomes deprecated, as a person writes it (an RFC 3339
//! time, `now`, or an age from now such as `+30d`), judged by the session's clock (the
//! world's on a world).

use std::str::FromStr;

use amiref_core::{AmiId, Region};
use amiref_lifecycle::{DeprecateReport, DeprecateSpec, NoProgress};
use chrono::{DateTime, Duration, Utc};

use crate::{Session, SessionError};

/// When an image becomes deprecated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeprecationTime {
    /// At this time.
    At(DateTime<Utc>),
    /// Now.
    Now,
    /// This long from now.
    In(Duration),
}

const TIME_EXPECTED: &str = "an RFC 3339 time (2027-01-31T00:00:00Z), \"now\", or an age from now (+30d, 12w, 1d12h: whole numbers with units w, d, h, m, s in that order, at most 36500d)";

impl FromStr for DeprecationTime {
    type Err = SessionError;

    /// `2027-01-31T00:00:00Z`, `now`, `+30d` or `30d`.
    fn from_str(text: &str) -> Result<Self, SessionError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("now") {
            return Ok(Self::Now);
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(Self::At(at.with_timezone(&Utc)));
        }
        let age = text.strip_prefix('+').unwrap_or(text);
        amiref_lifecycle::parse_age(age)
            .map(Self::In)
            .map_err(|_| SessionError::InvalidInput {
                field: "deprecation time".into(),
                found: text.to_owned(),
                expected: TIME_EXPECTED.into(),
            })
    }
}

impl DeprecationTime {
    /// The time this is, `now` being now.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::At(at) => at,
            Self::Now => now,
            Self::In(age) => now + age,
        }
    }
}

/// `ami deprecate`: deprecate an image at a time, or cancel its deprecation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeprecateRequest {
    /// The image.
    pub image: AmiId,
    /// Where it is (the session's region when `None`).
    pub region: Option<Region>,
    /// When; `None` cancels the deprecation.
    pub when: Option<DeprecationTime>,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
}

impl DeprecateRequest {
    /// Deprecate `image` at `when`.
    pub fn at(image: AmiId, when: DeprecationTime) -> Self {
        Self {
            image,
            region: None,
            when: Some(when),
            dry_run: false,
        }
    }

    /// Cancel `image`'s deprecation.
    pub fn undo(image: AmiId) -> Self {
        Self {
            image,
            region: None,
            when: None,
            dry_run: false,
        }
    }

    /// In this region.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

impl Session {
    /// `ami deprecate`: relative times are from the session's now; audited by the
    /// lifecycle.
    pub async fn deprecate_image(
        &self,
        request: &DeprecateRequest,
    ) -> Result<DeprecateReport, SessionError> {
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let spec = match request.when {
            Some(when) => {
                DeprecateSpec::at(region, request.image.clone(), when.resolve(self.now()))
            }
            None => DeprecateSpec::undo(region, request.image.clone()),
        }
        .dry_run(request.dry_run);
        Ok(self.lifecycle(&NoProgress).deprecate(&spec).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_people_write_them() {
        let now = DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("a time");
        let at = |text: &str| text.parse::<DeprecationTime>().map(|t| t.resolve(now));
        assert_eq!(at("now").ok(), Some(now));
        assert_eq!(at("+30d").ok(), Some(now + Duration::days(30)));
        assert_eq!(at("12w").ok(), Some(now + Duration::weeks(12)));
        assert_eq!(
            at("2027-01-31T00:00:00+01:00").ok().map(|t| t.to_rfc3339()),
            Some("2027-01-30T23:00:00+00:00".to_owned())
        );
        // An age too large for a time is refused here, not a panic in `resolve`.
        for bad in ["", "tomorrow", "+", "-3d", "2027-01-31", "+2147483647w"] {
            let err = at(bad).expect_err(bad);
            assert!(
                err.to_string().contains("expected an RFC 3339 time"),
                "{err}"
            );
            assert_eq!(err.kind(), crate::FailureKind::BadInput);
        }
    }
}
