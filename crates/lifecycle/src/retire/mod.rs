//! Retiring old versions of a template's images under a retention policy.
//!
//! In the spirit of EC2 Image Builder's lifecycle policies: per template and region, keep the
//! newest N images (ranked by the semver of their version tag, creation date breaking ties),
//! or those younger than an age, always at least one; images carrying an exclusion tag are
//! kept. What the policy would retire is then checked against everything that still depends
//! on an image ([`Protection`]), and any dependency protects it. An unprotected image is
//! retired in two steps: first disabled and tagged `amiref:retire-after` (reversible with
//! `ami enable`), then, by a run after the grace period that finds it still unprotected,
//! deregistered with its snapshots. The report says whether the Recycle Bin keeps it.
//!
//! - `policy`: the retention policy and the version ranking;
//! - `protections`: what protects an image;
//! - `report`: the decisions, the report and its prices;
//! - `execute`: the audited changes.

mod execute;
mod policy;
mod protections;
mod report;

use amiref_core::{Image, ImageFilter, ImageGovernance, ImageState, RecycleBinRule, Region};
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use futures::stream::{self, StreamExt};
use serde_json::json;

pub use policy::{
    DEFAULT_RETIRE_GRACE_DAYS, KeepReason, MAX_AGE_DAYS, RetentionPolicy,
    SHARED_LAUNCH_WINDOW_DAYS, image_version, newest_first, parse_age, parse_grace,
};
pub use protections::{ProtectedImages, Protection};
pub use report::{
    Decision, FlatSnapshotPrice, RecycleBinRecovery, RetainedBy, RetireEntry, RetireReport,
    STANDARD_SNAPSHOT_USD_PER_GB_MONTH, SnapshotPrices,
};

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;
use crate::tags::{TAG_RETIRE_AFTER, TAG_TEMPLATE};
use execute::Planned;
use protections::Checked;

/// How many candidates' dependencies are checked at once (two calls each).
const CHECKS_IN_FLIGHT: usize = 8;

/// What to retire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetireSpec {
    /// The template whose images (tagged `amiref:template`) are considered.
    pub template: String,
    /// The regions to look in.
    pub regions: Vec<Region>,
    /// The retention policy.
    pub policy: RetentionPolicy,
    /// Images protected by templates and registries.
    pub protected: ProtectedImages,
    /// Retire images shared with others too. Overrides only the [`Protection::Shared`]
    /// protection: a shared image anyone still references, uses or launched recently is
    /// kept.
    pub force_shared: bool,
    /// Act; without it, only report (the default).
    pub execute: bool,
}

impl RetireSpec {
    /// A dry run of `policy` over `template`'s images in `regions`.
    pub fn new(template: impl Into<String>, regions: Vec<Region>, policy: RetentionPolicy) -> Self {
        Self {
            template: template.into(),
            regions,
            policy,
            protected: ProtectedImages::new(),
            force_shared: false,
            execute: false,
        }
    }

    /// The same spec with these protections.
    #[must_use]
    pub fn protected(mut self, protected: ProtectedImages) -> Self {
        self.protected = protected;
        self
    }

    /// The same spec, acting or not.
    #[must_use]
    pub fn execute(mut self, execute: bool) -> Self {
        self.execute = execute;
        self
    }

    /// The same spec, retiring shared images too or not.
    #[must_use]
    pub fn force_shared(mut self, force: bool) -> Self {
        self.force_shared = force;
        self
    }
}

/// When the image's `amiref:retire-after` tag says it may be deregistered, if it has one
/// that reads as an RFC 3339 time.
pub fn retire_after(image: &Image) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(image.tag(TAG_RETIRE_AFTER)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Lifecycle<'_> {
    /// Applies a retention policy to a template's images. A dry run unless `spec.execute`.
    ///
    /// Never retires an image EC2 protects from deregistration, one referenced by anything
    /// EC2 tracks (DescribeImageReferences), used by an instance or a launch template,
    /// launched recently, named by a template's mappings or by a registry, or shared beyond
    /// the account (unless `force_shared`), nor one whose dependencies could not be
    /// checked. An unprotected image is disabled and tagged `amiref:retire-after` (now plus
    /// the policy's grace); a later run deregisters it with its snapshots once that time has
    /// passed and it is still unprotected. A zero grace deregisters at once. Every change is
    /// written ahead to the audit trail; a change whose intent cannot be written is not
    /// made.
    pub async fn retire(
        &self,
        spec: &RetireSpec,
        prices: &dyn SnapshotPrices,
    ) -> Result<RetireReport, LifecycleError> {
        let actor = self.actor().await?;
        let mut planned = match self.plan(spec).await {
            Ok(planned) => planned,
            Err(e) => {
                let record = AuditRecord::new(actor, "retire", AuditOutcome::Succeeded)
                    .target(&spec.template)
                    .dry_run(!spec.execute)
                    .details(json!({ "policy": spec.policy, "regions": spec.regions }));
                return self.audited(record, Err(e));
            }
        };
        if spec.execute {
            self.carry_out(&actor, spec, &mut planned).await?;
        } else {
            self.record_dry_run(actor, spec, &planned)?;
        }
        let entries: Vec<RetireEntry> = planned.into_iter().map(|p| p.entry).collect();
        let (freed_gib, monthly_saving_usd) =
            report::total(&entries, prices, Decision::deregisters);
        let (scheduled_gib, scheduled_monthly_saving_usd) = report::total(&entries, prices, |d| {
            matches!(d, Decision::Disable { .. } | Decision::InGrace { .. })
        });
        Ok(RetireReport {
            template: spec.template.clone(),
            regions: spec.regions.clone(),
            executed: spec.execute,
            entries,
            freed_gib,
            monthly_saving_usd,
            grace_secs: spec.policy.grace.num_seconds(),
            scheduled_gib,
            scheduled_monthly_saving_usd,
        })
    }

    /// Every image considered, with the policy's decision, region by region.
    async fn plan(&self, spec: &RetireSpec) -> Result<Vec<Planned>, LifecycleError> {
        spec.policy.validate()?;
        let now = self.now();
        let per_region =
            join_all(spec.regions.iter().map(|r| self.plan_region(spec, r, now))).await;
        let mut planned = Vec::new();
        for region in per_region {
            planned.extend(region?);
        }
        Ok(planned)
    }

    async fn plan_region(
        &self,
        spec: &RetireSpec,
        region: &Region,
        now: DateTime<Utc>,
    ) -> Result<Vec<Planned>, LifecycleError> {
        let filter = ImageFilter::default().tag(TAG_TEMPLATE, Some(spec.template.clone()));
        let mut images: Vec<Image> = self
            .own_images(region, filter)
            .await?
            .into_iter()
            .filter(|i| matches!(i.state, ImageState::Available | ImageState::Disabled))
            .collect();
        images.sort_by(policy::newest_first);
        let keeps: Vec<Option<KeepReason>> = images
            .iter()
            .enumerate()
            .map(|(index, image)| spec.policy.keeps(image, index, now))
            .collect();
        let candidates: Vec<_> = images
            .iter()
            .zip(&keeps)
            .filter(|(_, keep)| keep.is_none())
            .map(|(image, _)| image.id.clone())
            .collect();
        let references = self.references(region, &candidates).await;
        // A few candidates at a time: each check is two calls, and a thousand candidates at
        // once would only meet EC2's request rate limits.
        // The futures are collected before they are streamed: a stream over a lazy
        // iterator adapter of borrowing closures is not `Send` for every lifetime, and the
        // session's operations must be `Send` (a service spawns them).
        let references = &references;
        let pending: Vec<_> = images
            .iter()
            .zip(&keeps)
            .map(|(image, keep)| {
                let check = keep.is_none().then(|| {
                    self.check(
                        &spec.protected,
                        &spec.policy,
                        spec.force_shared,
                        image,
                        references,
                        now,
                    )
                });
                async move {
                    match check {
                        Some(check) => Some(check.await),
                        None => None,
                    }
                }
            })
            .collect();
        let checks: Vec<Option<Checked>> = stream::iter(pending)
            .buffered(CHECKS_IN_FLIGHT)
            .collect()
            .await;
        let mut planned: Vec<Planned> = images
            .into_iter()
            .zip(keeps)
            .zip(checks)
            .map(|((image, keep), checked)| plan_image(image, keep, checked, &spec.policy, now))
            .collect();
        if planned.iter().any(|p| p.entry.decision.retires()) {
            let rules = self.recycle_rules(region).await;
            for p in planned.iter_mut() {
                p.entry.recycle_bin = recovery(&p.image, &p.entry.decision, &rules, now);
            }
        }
        Ok(planned)
    }

    /// The region's Recycle Bin rules, or why they could not be read.
    async fn recycle_rules(&self, region: &Region) -> Result<Vec<RecycleBinRule>, String> {
        self.cloud
            .recycle_bin_rules(region)
            .await
            .map_err(|e| format!("could not read the Recycle Bin's rules in {region}: {e}"))
    }

    /// One record of what a dry run would change.
    fn record_dry_run(
        &self,
        actor: crate::audit::Actor,
        spec: &RetireSpec,
        planned: &[Planned],
    ) -> Result<(), LifecycleError> {
        let listed = |want: fn(&Decision) -> bool| -> Vec<_> {
            planned
                .iter()
                .map(|p| &p.entry)
                .filter(|e| want(&e.decision))
                .map(|e| json!({ "region": e.region, "image": e.image, "size_gib": e.size_gib }))
                .collect()
        };
        self.audit(
            AuditRecord::new(actor, "retire", AuditOutcome::Planned)
                .dry_run(true)
                .target(&spec.template)
                .details(json!({
                    "policy": spec.policy,
                    "would_retire": listed(Decision::deregisters),
                    "would_disable": listed(|d| matches!(d, Decision::Disable { .. })),
                })),
        )
    }
}

/// The decision about one image, from the policy's verdict and its protections.
fn plan_image(
    image: Image,
    keep: Option<KeepReason>,
    checked: Option<Checked>,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Planned {
    let (decision, permissions) = match (keep, checked) {
        (Some(reason), _) => (Decision::Keep { reason }, Vec::new()),
        (None, Some(c)) if !c.reasons.is_empty() => {
            (Decision::Protected { reasons: c.reasons }, c.permissions)
        }
        (None, c) => (
            next_step(&image, policy.grace, now),
            c.map(|c| c.permissions).unwrap_or_default(),
        ),
    };
    Planned::new(image, decision, permissions)
}

/// The step an unprotected image the policy retires is at.
fn next_step(image: &Image, grace: Duration, now: DateTime<Utc>) -> Decision {
    match (image.state, retire_after(image)) {
        (ImageState::Disabled, Some(after)) if after <= now => Decision::Retire,
        (ImageState::Disabled, Some(after)) => Decision::InGrace {
            retire_after: after,
        },
        _ if grace.is_zero() => Decision::Retire,
        _ => Decision::Disable {
            retire_after: now + grace,
        },
    }
}

/// Whether the Recycle Bin keeps an image on its way out, at the time it is deregistered.
fn recovery(
    image: &Image,
    decision: &Decision,
    rules: &Result<Vec<RecycleBinRule>, String>,
    now: DateTime<Utc>,
) -> Option<RecycleBinRecovery> {
    let at = match decision {
        Decision::Retire => now,
        Decision::Disable { retire_after } | Decision::InGrace { retire_after } => *retire_after,
        _ => return None,
    };
    Some(match rules {
        Ok(rules) => RecycleBinRecovery::of(image, rules, at),
        Err(error) => RecycleBinRecovery::Unknown {
            error: error.clone(),
        },
    })
}
