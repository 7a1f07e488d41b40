//! The Recycle Bin of a region: its retention rules, and the deregistered images and
//! deleted snapshots they keep until their retention ends. What is in the bin is not
//! described (it is no longer an image or a snapshot of the account) but can be inspected
//! ([`crate::MemoryCloud::recycle_bin`]).

use std::collections::BTreeMap;

use amiref_core::{AmiId, Image, RecycleBinRule, RecycleResource, Region, SnapshotId};
use chrono::{DateTime, Utc};

use crate::state::{Snapshot, StoredImage, WorldData};
use crate::{MemoryCloud, WorldError};

/// The Recycle Bin's retention: 1 to 365 days (Recycle Bin's CreateRule).
pub(crate) const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=365;

/// A region's Recycle Bin.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecycleBinState {
    pub(crate) rules: Vec<RecycleBinRule>,
    /// Deregistered images kept, with when they are deleted for good.
    pub(crate) images: BTreeMap<AmiId, (StoredImage, DateTime<Utc>)>,
    /// Deleted snapshots kept, with when they are deleted for good.
    pub(crate) snapshots: BTreeMap<SnapshotId, (Snapshot, DateTime<Utc>)>,
}

impl RecycleBinState {
    /// How long a deleted resource of `kind` with `tags` is kept: the longest retention of
    /// the rules that keep it (Recycle Bin applies the longest when several match).
    pub(crate) fn retention(
        &self,
        kind: RecycleResource,
        tags: &BTreeMap<String, String>,
    ) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| r.resource == kind && r.retains(tags))
            .map(|r| r.retention_days)
            .max()
    }

    /// Keeps a deregistered image if a rule retains it; whether it was kept.
    pub(crate) fn keep_image(&mut self, stored: StoredImage, now: DateTime<Utc>) -> bool {
        let Some(days) = self.retention(RecycleResource::Image, &stored.image.tags) else {
            return false;
        };
        let until = now + chrono::Duration::days(i64::from(days));
        self.images.insert(stored.image.id.clone(), (stored, until));
        true
    }

    /// Keeps a deleted snapshot if a rule retains it (by the snapshot's own tags); whether
    /// it was kept.
    pub(crate) fn keep_snapshot(
        &mut self,
        id: SnapshotId,
        snapshot: Snapshot,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(days) = self.retention(RecycleResource::Snapshot, &snapshot.tags) else {
            return false;
        };
        let until = now + chrono::Duration::days(i64::from(days));
        self.snapshots.insert(id, (snapshot, until));
        true
    }

    /// Deletes for good what has outlived its retention at `now`.
    pub(crate) fn expire(&mut self, now: DateTime<Utc>) {
        self.images.retain(|_, (_, until)| *until > now);
        self.snapshots.retain(|_, (_, until)| *until > now);
    }
}

/// Files a retention rule, checking it: a retention Recycle Bin allows, an id used once per
/// region, not both resource tags and exclusion tags.
pub(crate) fn add_rule(
    world: &mut WorldData,
    region: Region,
    rule: RecycleBinRule,
) -> Result<(), WorldError> {
    let field = |f: &str| format!("regions.{region}.recycle_bin_rules[{}].{f}", rule.id);
    if !RETENTION_DAYS.contains(&rule.retention_days) {
        return Err(WorldError::invalid(
            field("retention_days"),
            rule.retention_days.to_string(),
            "a retention of 1 to 365 days",
        ));
    }
    if !rule.resource_tags.is_empty() && !rule.exclude_tags.is_empty() {
        return Err(WorldError::invalid(
            field("exclude_tags"),
            rule.id.as_str(),
            "either `resource_tags` (a tag-level rule) or `exclude_tags` (a region-level rule), not both",
        ));
    }
    let bin = &mut world.regions.entry(region.clone()).or_default().recycle_bin;
    if rule.id.is_empty() || bin.rules.iter().any(|r| r.id == rule.id) {
        return Err(WorldError::invalid(
            field("id"),
            rule.id.as_str(),
            format!("a rule id, each once per region ({region})"),
        ));
    }
    bin.rules.push(rule);
    Ok(())
}

/// What a region's Recycle Bin holds ([`MemoryCloud::recycle_bin`]).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RecycleBin {
    /// Deregistered images a rule keeps, by id.
    pub images: Vec<RecycledImage>,
    /// Deleted snapshots a rule keeps, by id.
    pub snapshots: Vec<RecycledSnapshot>,
}

/// A deregistered image in the Recycle Bin.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecycledImage {
    /// The image as it was when it was deregistered.
    pub image: Image,
    /// When the Recycle Bin deletes it for good.
    pub recoverable_until: DateTime<Utc>,
}

/// A deleted snapshot in the Recycle Bin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecycledSnapshot {
    /// The snapshot's id.
    pub id: SnapshotId,
    /// When the Recycle Bin deletes it for good.
    pub recoverable_until: DateTime<Utc>,
}

impl MemoryCloud {
    /// What the Recycle Bin of `region` holds now: for tests of deregistration under
    /// retention rules. It makes no call (nothing is counted).
    pub fn recycle_bin(&self, region: &Region) -> RecycleBin {
        let now = self.now();
        let world = self.read();
        let Some(bin) = world.regions.get(region).map(|r| &r.recycle_bin) else {
            return RecycleBin::default();
        };
        RecycleBin {
            images: bin
                .images
                .values()
                .filter(|(_, until)| *until > now)
                .map(|(stored, until)| RecycledImage {
                    image: stored.image.clone(),
                    recoverable_until: *until,
                })
                .collect(),
            snapshots: bin
                .snapshots
                .iter()
                .filter(|(_, (_, until))| *until > now)
                .map(|(id, (_, until))| RecycledSnapshot {
                    id: id.clone(),
                    recoverable_until: *until,
                })
                .collect(),
        }
    }
}
