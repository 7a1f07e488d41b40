//! Deprecating an image at a time, and undoing it.

use amiref_core::{AmiId, ImageStore, Region};
use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use serde_json::json;

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;

/// Deprecate an image at a time, or (`at: None`) cancel its deprecation.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct DeprecateSpec {
    /// The image's region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// When it becomes deprecated; `None` to undo a deprecation.
    pub at: Option<DateTime<Utc>>,
    /// Plan only.
    pub dry_run: bool,
}

impl DeprecateSpec {
    /// Deprecate `image` at `at`.
    pub fn at(region: Region, image: AmiId, at: DateTime<Utc>) -> Self {
        Self {
            region,
            image,
            at: Some(at),
            dry_run: false,
        }
    }

    /// Cancel `image`'s deprecation.
    pub fn undo(region: Region, image: AmiId) -> Self {
        Self {
            region,
            image,
            at: None,
            dry_run: false,
        }
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What a deprecation did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct DeprecateReport {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// The deprecation time before; `None` when it was not deprecated.
    pub before: Option<DateTime<Utc>>,
    /// The deprecation time after (or, in a dry run, that it would have); `None` when not
    /// deprecated.
    pub after: Option<DateTime<Utc>>,
    /// Whether anything changed (or would).
    pub changed: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// EC2 accepts deprecation times at most ten years ahead.
const MAX_YEARS_AHEAD: i64 = 10;

impl Lifecycle<'_> {
    /// Deprecates an image at a time (EC2 rounds it to the minute; so does amiref, to compare
    /// it with the current one), or cancels its deprecation.
    ///
    /// Idempotent: an image already deprecated at that minute, or not deprecated when undoing,
    /// is left alone. Refuses a time in the past (EC2 does) or more than ten years ahead.
    pub async fn deprecate(&self, spec: &DeprecateSpec) -> Result<DeprecateReport, LifecycleError> {
        let actor = self.actor().await?;
        let operation = if spec.at.is_some() {
            "deprecate"
        } else {
            "undeprecate"
        };
        let record = AuditRecord::new(actor, operation, AuditOutcome::Succeeded)
            .region(&spec.region)
            .target(&spec.image)
            .dry_run(spec.dry_run);
        let result = self.deprecate_inner(spec, &record).await;
        let record = match &result {
            Ok(report) => AuditRecord {
                outcome: if spec.dry_run {
                    AuditOutcome::Planned
                } else if report.changed {
                    AuditOutcome::Succeeded
                } else {
                    AuditOutcome::Unchanged
                },
                ..record.details(json!({ "before": report.before, "after": report.after }))
            },
            Err(_) => record.details(json!({ "at": spec.at })),
        };
        self.audited(record, result)
    }

    /// The change itself; `base` is the operation's audit record, which the write-ahead
    /// record of its call starts from.
    async fn deprecate_inner(
        &self,
        spec: &DeprecateSpec,
        base: &AuditRecord,
    ) -> Result<DeprecateReport, LifecycleError> {
        let now = self.now();
        let at = match spec.at {
            Some(at) => {
                let at = at.duration_round(Duration::minutes(1)).unwrap_or(at);
                if at < now.duration_trunc(Duration::minutes(1)).unwrap_or(now) {
                    return Err(LifecycleError::InvalidInput {
                        field: "deprecation time",
                        found: at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        expected: format!(
                            "a time from now ({}) on; EC2 refuses a time in the past",
                            now.to_rfc3339_opts(SecondsFormat::Secs, true)
                        ),
                    });
                }
                if at > now + Duration::days(365 * MAX_YEARS_AHEAD + 2) {
                    return Err(LifecycleError::InvalidInput {
                        field: "deprecation time",
                        found: at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        expected: "a time at most 10 years ahead (EC2's limit)".to_owned(),
                    });
                }
                Some(at)
            }
            None => None,
        };
        let image = self.describe_one(&spec.region, &spec.image).await?;
        let caller = self.caller().await?;
        if image.owner != caller.account {
            return Err(LifecycleError::refused(format!(
                "{} in {} belongs to account {}, not the caller's {}: only the owner can deprecate it",
                spec.image, spec.region, image.owner, caller.account
            )));
        }
        let before = image.deprecation_time;
        let same_minute = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).num_seconds().abs() < 60;
        let changed = match (before, at) {
            (Some(b), Some(a)) => !same_minute(a, b),
            (None, None) => false,
            _ => true,
        };
        if changed && !spec.dry_run {
            let record = AuditRecord {
                operation: if at.is_some() {
                    "enable_deprecation"
                } else {
                    "disable_deprecation"
                }
                .to_owned(),
                details: json!({ "before": before, "at": at }),
                ..base.clone()
            };
            let call = || async {
                match at {
                    Some(at) => {
                        self.cloud
                            .enable_deprecation(&spec.region, &spec.image, at)
                            .await
                    }
                    None => {
                        self.cloud
                            .disable_deprecation(&spec.region, &spec.image)
                            .await
                    }
                }
            };
            self.intended_call(record, call, |_| None)
                .await?
                .map_err(|e| {
                    LifecycleError::cloud(format!("changing the deprecation of {}", spec.image), e)
                })?;
        }
        Ok(DeprecateReport {
            region: spec.region.clone(),
            image: spec.image.clone(),
            before,
            after: if changed { at } else { before },
            changed,
            dry_run: spec.dry_run,
        })
    }
}
