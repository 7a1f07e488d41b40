//! What a retirement reports: the decision about every image, whether the Recycle Bin keeps
//! what it deregisters, and what it frees.

use amiref_core::{AmiId, Image, ImageState, RecycleBinRule, RecycleResource, Region};
use chrono::{DateTime, Duration, Utc};

use super::policy::KeepReason;
use super::protections::Protection;

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
    /// Deregister it and delete its snapshots (dry run), or deregistered (executed): its
    /// grace period is over, or the policy's grace is zero.
    Retire,
    /// Retiring it failed.
    Failed {
        /// Why.
        error: String,
    },
    /// The first step of retiring it: disable it (launch permissions removed, reversible
    /// with `ami enable`) and tag it `amiref:retire-after`; a run after `retire_after`
    /// deregisters it, checking its protections again first. Planned (dry run) or done.
    Disable {
        /// When a later run may deregister it.
        retire_after: DateTime<Utc>,
    },
    /// Disabled by an earlier run and still in its grace period: nothing to do until
    /// `retire_after`.
    InGrace {
        /// When a later run may deregister it.
        retire_after: DateTime<Utc>,
    },
}

impl Decision {
    /// Whether the image is (or would be) deregistered by this run.
    pub fn deregisters(&self) -> bool {
        matches!(self, Self::Retire)
    }

    /// Whether the image is on its way out: deregistered now, or disabled to be later.
    pub fn retires(&self) -> bool {
        matches!(
            self,
            Self::Retire | Self::Disable { .. } | Self::InGrace { .. }
        )
    }
}

/// How long the Recycle Bin keeps a deregistered image or a deleted snapshot.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RetainedBy {
    /// The retention rule's id.
    pub rule: String,
    /// Its retention.
    pub retention_days: u32,
    /// Until when it can be restored, counted from the deregistration (this run's time, or
    /// the end of the grace period for an image deregistered later).
    pub recoverable_until: DateTime<Utc>,
}

/// Whether the Recycle Bin keeps an image once deregistered, and its snapshots once deleted.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "recycle_bin", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecycleBinRecovery {
    /// The region's rules were read: the longest-keeping rule that matches each, or `None`
    /// when none does (gone for good).
    Checked {
        /// The rule keeping the image (`EC2_IMAGE`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<RetainedBy>,
        /// The rule keeping its snapshots (`EBS_SNAPSHOT`), matched against the image's
        /// tags.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshots: Option<RetainedBy>,
    },
    /// The rules could not be read.
    Unknown {
        /// Why.
        error: String,
    },
}

impl RecycleBinRecovery {
    /// What `rules` keep of `image` deregistered at `at`.
    pub fn of(image: &Image, rules: &[RecycleBinRule], at: DateTime<Utc>) -> Self {
        let kept = |resource| {
            rules
                .iter()
                .filter(|r| r.resource == resource && r.retains(&image.tags))
                .max_by_key(|r| (r.retention_days, std::cmp::Reverse(r.id.clone())))
                .map(|r| RetainedBy {
                    rule: r.id.clone(),
                    retention_days: r.retention_days,
                    recoverable_until: at + Duration::days(i64::from(r.retention_days)),
                })
        };
        Self::Checked {
            image: kept(RecycleResource::Image),
            snapshots: kept(RecycleResource::Snapshot),
        }
    }

    /// Until when the image itself can be restored, if the Recycle Bin keeps it.
    pub fn image_recoverable_until(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Checked {
                image: Some(kept), ..
            } => Some(kept.recoverable_until),
            _ => None,
        }
    }
}

fn available() -> ImageState {
    ImageState::Available
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
    /// Its state when the run looked: `available`, or `disabled` (by an earlier run's
    /// first step, or by hand).
    #[serde(default = "available")]
    pub state: ImageState,
    /// Its version (the `amiref:template-version` tag), which ranks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When an instance was last launched from it (EC2's `LastLaunchedTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_launched: Option<DateTime<Utc>>,
    /// Whether the Recycle Bin keeps it once deregistered: set for images this run
    /// deregisters or disables (or would).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recycle_bin: Option<RecycleBinRecovery>,
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
    /// GiB of snapshot volumes freed (or that would be) by deregistering now. An upper
    /// bound: EBS bills snapshots by the blocks they hold, which is at most their volumes'
    /// size.
    pub freed_gib: u64,
    /// What that storage costs a month, in US dollars: the monthly saving, an upper bound
    /// as `freed_gib` is.
    pub monthly_saving_usd: f64,
    /// How long a disabled image waits before a later run deregisters it, in seconds.
    #[serde(default)]
    pub grace_secs: i64,
    /// GiB of snapshot volumes of images disabled (now or by an earlier run) and waiting
    /// for their grace period: freed by a later run.
    #[serde(default)]
    pub scheduled_gib: u64,
    /// What that storage costs a month, in US dollars.
    #[serde(default)]
    pub scheduled_monthly_saving_usd: f64,
}

impl RetireReport {
    /// The entries that failed.
    pub fn failures(&self) -> impl Iterator<Item = &RetireEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.decision, Decision::Failed { .. }))
    }
}

/// GiB and monthly USD of the entries `select` picks, rounded to cents. A fold from +0.0:
/// an empty f64 sum is -0.0, which prints as "-0.00".
pub(super) fn total(
    entries: &[RetireEntry],
    prices: &dyn SnapshotPrices,
    select: impl Fn(&Decision) -> bool,
) -> (u64, f64) {
    let picked = entries.iter().filter(|e| select(&e.decision));
    let gib = picked.clone().map(|e| e.size_gib).sum();
    let usd = picked.fold(0.0, |sum, e| {
        sum + e.size_gib as f64 * prices.usd_per_gb_month(&e.region)
    });
    (gib, (usd * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use amiref_core::{Architecture, RuleTag};
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_longest_matching_rule_says_how_long_an_image_stays_recoverable() {
        let mut image = Image::new(
            "ami-00000000000000001".parse().unwrap(),
            "us-east-1".parse().unwrap(),
            "x",
            "123456789012".parse().unwrap(),
            Architecture::X86_64,
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        );
        image.tags.insert("team".into(), "ml".into());
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut tagged = RecycleBinRule::region_level("tagged", RecycleResource::Image, 30);
        tagged.resource_tags = vec![RuleTag::new("team", Some("ml".into()))];
        let mut other = RecycleBinRule::region_level("other", RecycleResource::Image, 90);
        other.resource_tags = vec![RuleTag::new("team", Some("web".into()))];
        let short = RecycleBinRule::region_level("short", RecycleResource::Image, 7);
        let rules = [tagged, other, short];
        let found = RecycleBinRecovery::of(&image, &rules, at);
        assert_eq!(
            found.image_recoverable_until(),
            Some(at + Duration::days(30))
        );
        let RecycleBinRecovery::Checked {
            image: kept,
            snapshots,
        } = found
        else {
            panic!("checked")
        };
        assert_eq!(kept.unwrap().rule, "tagged");
        assert_eq!(snapshots, None, "no snapshot rule");
        let none = RecycleBinRecovery::of(&image, &[], at);
        assert_eq!(none.image_recoverable_until(), None);
    }
}
