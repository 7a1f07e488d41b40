//! Retiring old versions of a template's images under a retention policy.
//!
//! In the spirit of EC2 Image Builder's lifecycle policies: per template and region, keep the
//! newest N images, or those younger than an age, always at least one; images carrying an
//! exclusion tag are kept. What the policy would retire is then checked against everything
//! that still depends on an image, and any dependency protects it.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AmiId, Image, ImageFilter, ImageState, ImageStore, ImageUsage, LaunchPermission, Region,
};
use amiref_template::Template;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use serde_json::json;

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;
use crate::progress::ProgressEvent;
use crate::tags::TAG_TEMPLATE;

/// A storage price for EBS snapshots, to say what retiring saves.
pub trait SnapshotPrices: Send + Sync {
    /// US dollars per GB-month of snapshot storage in `region`.
    fn usd_per_gb_month(&self, region: &Region) -> f64;
}

/// The standard-tier EBS snapshot price in us-east-1, USD 0.05 per GB-month (AWS EBS pricing
/// page); other regions cost the same or a little more, so savings computed with it are a
/// floor. For per-region prices pass `amiref_regions::Prices::builtin()`, which implements
/// [`SnapshotPrices`].
pub const STANDARD_SNAPSHOT_USD_PER_GB_MONTH: f64 = 0.05;

/// The region's own price, from `amiref-regions`' dated price table.
impl SnapshotPrices for amiref_regions::Prices {
    fn usd_per_gb_month(&self, region: &Region) -> f64 {
        self.snapshot_storage_per_gb_month(region)
    }
}

/// One price for every region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlatSnapshotPrice(pub f64);

impl Default for FlatSnapshotPrice {
    fn default() -> Self {
        Self(STANDARD_SNAPSHOT_USD_PER_GB_MONTH)
    }
}

impl SnapshotPrices for FlatSnapshotPrice {
    fn usd_per_gb_month(&self, _region: &Region) -> f64 {
        self.0
    }
}

/// Which images of a template to keep.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Keep the newest this many per region.
    pub keep_newest: Option<usize>,
    /// Keep every image younger than this.
    #[serde(with = "duration_secs")]
    pub max_age: Option<Duration>,
    /// Always keep at least this many of the newest per region (raised to 1).
    pub keep_at_least: usize,
    /// Keep images carrying any of these tags: a value, or `None` for the key with any value.
    pub exclude_tags: BTreeMap<String, Option<String>>,
}

mod duration_secs {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.num_seconds()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<i64>::deserialize(d)?.map(Duration::seconds))
    }
}

impl RetentionPolicy {
    /// Keep the newest `n` images per region (and at least one).
    pub fn keep_newest(n: usize) -> Self {
        Self {
            keep_newest: Some(n),
            max_age: None,
            keep_at_least: 1,
            exclude_tags: BTreeMap::new(),
        }
    }

    /// Keep every image younger than `age` (and at least the newest one).
    pub fn younger_than(age: Duration) -> Self {
        Self {
            keep_newest: None,
            max_age: Some(age),
            keep_at_least: 1,
            exclude_tags: BTreeMap::new(),
        }
    }

    /// Also keep images younger than `age`.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Also keep images carrying tag `key` (with `value`, or any value).
    #[must_use]
    pub fn exclude_tag(mut self, key: impl Into<String>, value: Option<String>) -> Self {
        self.exclude_tags.insert(key.into(), value);
        self
    }

    fn validate(&self) -> Result<(), LifecycleError> {
        if self.keep_newest.is_none() && self.max_age.is_none() {
            return Err(LifecycleError::InvalidInput {
                field: "retention policy",
                found: "no rule".to_owned(),
                expected: "keep the newest N, or those younger than an age, or both".to_owned(),
            });
        }
        if self.max_age.is_some_and(|a| a <= Duration::zero()) {
            return Err(LifecycleError::InvalidInput {
                field: "max age",
                found: format!("{:?}", self.max_age),
                expected: "a positive age such as 90d".to_owned(),
            });
        }
        Ok(())
    }

    fn excluded_by(&self, image: &Image) -> Option<String> {
        self.exclude_tags.iter().find_map(|(k, v)| {
            let matches = match v {
                Some(v) => image.tag(k) == Some(v.as_str()),
                None => image.tags.contains_key(k),
            };
            matches.then(|| k.clone())
        })
    }
}

/// Why the policy keeps an image.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kept_because", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeepReason {
    /// Among the newest N.
    AmongNewest {
        /// Its rank, 1 the newest.
        rank: usize,
    },
    /// Younger than the maximum age.
    YoungerThanMaxAge,
    /// Kept so that at least `keep_at_least` remain.
    Minimum,
    /// It carries an exclusion tag.
    ExcludedByTag {
        /// The tag key.
        tag: String,
    },
}

/// What protects an image the policy would retire.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "protected_because", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Protection {
    /// Instances or launch templates use it.
    InUse {
        /// What uses it.
        usage: ImageUsage,
    },
    /// A template's `ami_mappings` names it.
    MappedByTemplate {
        /// The templates.
        templates: Vec<String>,
    },
    /// A registry entry names it.
    InRegistry,
    /// Shared with other accounts, organizations or everyone (override with force).
    Shared {
        /// Its launch permissions.
        permissions: Vec<LaunchPermission>,
    },
    /// Its dependencies could not be checked, so it is not touched.
    Unchecked {
        /// Why.
        error: String,
    },
}

/// The policy's decision about one image.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Kept by the policy.
    Keep {
        /// Why.
        reason: KeepReason,
    },
    /// The policy would retire it, but something depends on it.
    Protected {
        /// Everything that protects it.
        reasons: Vec<Protection>,
    },
    /// Retire it (dry run), or retired (executed).
    Retire,
    /// Retiring it failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// One image considered.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RetireEntry {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// When it was made.
    pub creation_date: DateTime<Utc>,
    /// The GiB of its snapshots' volumes.
    pub size_gib: u64,
    /// What the policy decided.
    #[serde(flatten)]
    pub decision: Decision,
}

/// Images that must not be retired whatever the policy says, besides what the cloud reports
/// as in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedImages {
    /// Per region, per image: the templates whose `ami_mappings` name it.
    mapped: BTreeMap<(Region, AmiId), Vec<String>>,
    /// Images a registry entry names (in any region; AMI ids are unique across regions).
    registry: BTreeSet<AmiId>,
}

impl ProtectedImages {
    /// Nothing protected beyond what the cloud reports.
    pub fn new() -> Self {
        Self::default()
    }

    /// Protects every image named by these templates' `ami_mappings`.
    #[must_use]
    pub fn templates<'t>(mut self, templates: impl IntoIterator<Item = &'t Template>) -> Self {
        for t in templates {
            if let Some(config) = &t.ami_config {
                for (region, ami) in &config.ami_mappings {
                    self.mapped
                        .entry((region.clone(), ami.clone()))
                        .or_default()
                        .push(t.name.clone());
                }
            }
        }
        self
    }

    /// Protects images a registry names.
    #[must_use]
    pub fn registry(mut self, ids: impl IntoIterator<Item = AmiId>) -> Self {
        self.registry.extend(ids);
        self
    }
}

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
    /// Retire images shared with others too.
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

/// What retiring did (or would do), and what it frees.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RetireReport {
    /// The template.
    pub template: String,
    /// The regions looked in (also when no image was found in them).
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Whether images were actually retired.
    pub executed: bool,
    /// Every image considered, newest first per region.
    pub entries: Vec<RetireEntry>,
    /// GiB of snapshot volumes freed (or that would be). An upper bound: EBS bills snapshots
    /// by the blocks they hold, which is at most their volumes' size.
    pub freed_gib: u64,
    /// What that storage costs a month, in US dollars: the monthly saving, an upper bound
    /// as `freed_gib` is.
    pub monthly_saving_usd: f64,
}

impl Lifecycle<'_> {
    /// Applies a retention policy to a template's images. A dry run unless `spec.execute`.
    ///
    /// Never retires an image used by an instance or a launch template, named by a template's
    /// mappings or by a registry, or shared beyond the account (unless `force_shared`), nor one
    /// whose dependencies could not be checked. Retiring deregisters the image and deletes its
    /// snapshots; each is audited.
    pub async fn retire(
        &self,
        spec: &RetireSpec,
        prices: &dyn SnapshotPrices,
    ) -> Result<RetireReport, LifecycleError> {
        let actor = self.actor().await?;
        let mut entries = match self.plan(spec).await {
            Ok(entries) => entries,
            Err(e) => {
                let record = AuditRecord::new(actor, "retire", AuditOutcome::Succeeded)
                    .target(&spec.template)
                    .dry_run(!spec.execute)
                    .details(json!({ "policy": spec.policy, "regions": spec.regions }));
                return self.audited(record, Err(e));
            }
        };
        if spec.execute {
            for entry in entries
                .iter_mut()
                .filter(|e| e.decision == Decision::Retire)
            {
                let result = self
                    .cloud
                    .deregister_image(&entry.region, &entry.image, true)
                    .await;
                let record = AuditRecord::new(actor.clone(), "retire", AuditOutcome::Succeeded)
                    .region(&entry.region)
                    .target(&entry.image)
                    .details(json!({
                        "template": spec.template,
                        "name": entry.name,
                        "creation_date": entry.creation_date,
                        "size_gib": entry.size_gib,
                        "policy": spec.policy,
                        "force_shared": spec.force_shared,
                    }));
                match result {
                    Ok(()) => {
                        self.progress.emit(ProgressEvent::Retired {
                            region: entry.region.clone(),
                            image: entry.image.clone(),
                            freed_gib: entry.size_gib,
                        });
                        self.audit(record)?;
                    }
                    Err(e) => {
                        let error = e.to_string();
                        self.audit(AuditRecord {
                            outcome: AuditOutcome::Failed {
                                error: error.clone(),
                            },
                            ..record
                        })?;
                        entry.decision = Decision::Failed { error };
                    }
                }
            }
        } else {
            let planned: Vec<_> = entries
                .iter()
                .filter(|e| e.decision == Decision::Retire)
                .map(|e| json!({ "region": e.region, "image": e.image, "size_gib": e.size_gib }))
                .collect();
            self.audit(
                AuditRecord::new(actor, "retire", AuditOutcome::Planned)
                    .dry_run(true)
                    .target(&spec.template)
                    .details(json!({ "policy": spec.policy, "would_retire": planned })),
            )?;
        }
        let retired = entries.iter().filter(|e| e.decision == Decision::Retire);
        let freed_gib = retired.clone().map(|e| e.size_gib).sum();
        // A fold from +0.0: an empty f64 sum is -0.0, which prints as "-0.00".
        let monthly_saving_usd = retired.fold(0.0, |sum, e| {
            sum + e.size_gib as f64 * prices.usd_per_gb_month(&e.region)
        });
        Ok(RetireReport {
            template: spec.template.clone(),
            regions: spec.regions.clone(),
            executed: spec.execute,
            entries,
            freed_gib,
            monthly_saving_usd: (monthly_saving_usd * 100.0).round() / 100.0,
        })
    }

    /// Every image considered, with the policy's decision, region by region.
    async fn plan(&self, spec: &RetireSpec) -> Result<Vec<RetireEntry>, LifecycleError> {
        spec.policy.validate()?;
        let now = self.now();
        let per_region =
            join_all(spec.regions.iter().map(|r| self.plan_region(spec, r, now))).await;
        let mut entries = Vec::new();
        for region in per_region {
            entries.extend(region?);
        }
        Ok(entries)
    }

    async fn plan_region(
        &self,
        spec: &RetireSpec,
        region: &Region,
        now: DateTime<Utc>,
    ) -> Result<Vec<RetireEntry>, LifecycleError> {
        let filter = ImageFilter::default().tag(TAG_TEMPLATE, Some(spec.template.clone()));
        let mut images: Vec<Image> = self
            .own_images(region, filter)
            .await?
            .into_iter()
            .filter(|i| matches!(i.state, ImageState::Available | ImageState::Disabled))
            .collect();
        images.sort_by(|a, b| {
            b.creation_date
                .cmp(&a.creation_date)
                .then_with(|| a.id.cmp(&b.id))
        });
        let policy = &spec.policy;
        let minimum = policy.keep_at_least.max(1);
        let mut entries = Vec::with_capacity(images.len());
        for (index, image) in images.into_iter().enumerate() {
            let keep = if let Some(tag) = policy.excluded_by(&image) {
                Some(KeepReason::ExcludedByTag { tag })
            } else if policy.keep_newest.is_some_and(|n| index < n) {
                Some(KeepReason::AmongNewest { rank: index + 1 })
            } else if policy
                .max_age
                .is_some_and(|age| now - image.creation_date < age)
            {
                Some(KeepReason::YoungerThanMaxAge)
            } else if index < minimum {
                Some(KeepReason::Minimum)
            } else {
                None
            };
            let decision = match keep {
                Some(reason) => Decision::Keep { reason },
                None => match self.protections(spec, &image).await {
                    reasons if reasons.is_empty() => Decision::Retire,
                    reasons => Decision::Protected { reasons },
                },
            };
            entries.push(RetireEntry {
                region: region.clone(),
                image: image.id.clone(),
                name: image.name.clone(),
                creation_date: image.creation_date,
                size_gib: image.total_volume_size_gib(),
                decision,
            });
        }
        Ok(entries)
    }

    /// Everything that protects an image from retirement; empty if nothing does.
    async fn protections(&self, spec: &RetireSpec, image: &Image) -> Vec<Protection> {
        let mut reasons = Vec::new();
        if let Some(templates) = spec
            .protected
            .mapped
            .get(&(image.region.clone(), image.id.clone()))
        {
            reasons.push(Protection::MappedByTemplate {
                templates: templates.clone(),
            });
        }
        if spec.protected.registry.contains(&image.id) {
            reasons.push(Protection::InRegistry);
        }
        match self.cloud.image_usage(&image.region, &image.id).await {
            Ok(usage) if usage.is_unused() => {}
            Ok(usage) => reasons.push(Protection::InUse { usage }),
            Err(e) => reasons.push(Protection::Unchecked {
                error: format!("could not read what uses it: {e}"),
            }),
        }
        if !spec.force_shared {
            match self
                .cloud
                .launch_permissions(&image.region, &image.id)
                .await
            {
                Ok(p) if p.is_empty() && !image.public => {}
                Ok(mut permissions) => {
                    if image.public && !permissions.contains(&LaunchPermission::Public) {
                        permissions.push(LaunchPermission::Public);
                    }
                    reasons.push(Protection::Shared { permissions });
                }
                Err(e) => reasons.push(Protection::Unchecked {
                    error: format!("could not read who it is shared with: {e}"),
                }),
            }
        }
        reasons
    }
}

/// Parses an age such as `90d`, `12w`, `36h` or `1d12h` (units w, d, h, m, in that order).
pub fn parse_age(text: &str) -> Result<Duration, LifecycleError> {
    let err = || {
        LifecycleError::InvalidInput {
        field: "age",
        found: text.to_owned(),
        expected: "an age such as 90d, 12w, 36h or 1d12h (whole numbers with units w, d, h, m in that order)"
            .to_owned(),
    }
    };
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut last_rank = 0;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, unit) = match c {
            'w' => (1, Duration::weeks(1)),
            'd' => (2, Duration::days(1)),
            'h' => (3, Duration::hours(1)),
            'm' => (4, Duration::minutes(1)),
            _ => return Err(err()),
        };
        if number.is_empty() || rank <= last_rank {
            return Err(err());
        }
        let n: i32 = number.parse().map_err(|_| err())?;
        total += unit * n;
        number.clear();
        last_rank = rank;
    }
    if !number.is_empty() || last_rank == 0 || total <= Duration::zero() {
        return Err(err());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_age("1d12h").unwrap(), Duration::hours(36));
        assert_eq!(parse_age("2w").unwrap(), Duration::days(14));
        for bad in ["", "90", "d", "12h1d", "0d", "1y", "-3d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_policy_needs_a_rule() {
        let mut p = RetentionPolicy::keep_newest(2);
        p.keep_newest = None;
        assert!(p.validate().is_err());
        assert!(
            RetentionPolicy::younger_than(Duration::days(1))
                .validate()
                .is_ok()
        );
    }
}
