//! Tier 5, cross-region: the image tiers run in the fallback regions, and a copy plan.

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{Image, Region};
use async_trait::async_trait;
use futures::StreamExt;

use crate::{Attempt, Context, CopyPlan, Found, Strategy, Tier, copy_client_token};

/// The regions to look in when the destination has no image, nearest first.
///
/// The resolver implements it on `amiref_regions::FallbackGraph`; the walk must never
/// return the destination, a region twice, or a region of another partition.
pub trait FallbackRegions: Send + Sync {
    /// The fallback regions of `destination`, nearest first.
    fn fallback_regions(&self, destination: &Region) -> Vec<Region>;
}

/// What copying an image would take.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CopyEstimate {
    /// Data moved, GiB.
    pub size_gib: u64,
    /// Time until the copy is available.
    pub duration: Duration,
    /// Transfer cost, USD.
    pub transfer_cost_usd: f64,
    /// Monthly storage cost of the copy, USD.
    pub storage_cost_usd_per_month: f64,
}

impl CopyEstimate {
    /// An estimate from its parts.
    pub fn new(
        size_gib: u64,
        duration: Duration,
        transfer_cost_usd: f64,
        storage_cost_usd_per_month: f64,
    ) -> Self {
        Self {
            size_gib,
            duration,
            transfer_cost_usd,
            storage_cost_usd_per_month,
        }
    }

    fn total_cost(&self) -> f64 {
        self.transfer_cost_usd + self.storage_cost_usd_per_month
    }
}

/// Estimates copies; the resolver's estimate model implements it.
pub trait CopyEstimator: Send + Sync {
    /// What copying `image` from its region into `destination` would take.
    fn estimate_copy(&self, image: &Image, destination: &Region) -> CopyEstimate;
}

/// What to favour when several regions could supply the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CopyPriority {
    /// The copy that is available soonest (interactive work), then the nearest region.
    #[default]
    Speed,
    /// The cheapest copy (batch work), then the soonest.
    Cost,
}

/// Runs the image tiers in every fallback region at once and plans a copy of the best find.
///
/// Nothing is copied: the result carries a [`CopyPlan`]. Marketplace images are never
/// candidates (EC2 refuses to copy paid products), nor are encrypted images owned by
/// another account (their snapshots' keys are not the caller's). Among the finds, the
/// order is set by [`CopyPriority`]: for speed, the soonest copy and then the nearest
/// region (the walk's order); for cost, the cheapest (transfer and a month of storage).
pub struct CrossRegion {
    tiers: Vec<Arc<dyn Strategy>>,
    regions: Arc<dyn FallbackRegions>,
    estimator: Arc<dyn CopyEstimator>,
    priority: CopyPriority,
    concurrency: usize,
}

impl std::fmt::Debug for CrossRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossRegion")
            .field(
                "tiers",
                &self.tiers.iter().map(|t| t.tier()).collect::<Vec<_>>(),
            )
            .field("priority", &self.priority)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl CrossRegion {
    /// Runs `tiers` (in order, per region) over the regions `regions` gives, at most
    /// `concurrency` regions at a time.
    pub fn new(
        tiers: Vec<Arc<dyn Strategy>>,
        regions: Arc<dyn FallbackRegions>,
        estimator: Arc<dyn CopyEstimator>,
        priority: CopyPriority,
        concurrency: usize,
    ) -> Self {
        Self {
            tiers,
            regions,
            estimator,
            priority,
            concurrency: concurrency.max(1),
        }
    }

    async fn search_one(&self, cx: &Context<'_>) -> Result<Option<Found>, String> {
        let mut notes = Vec::new();
        for tier in &self.tiers {
            match tier.attempt(cx).await {
                Attempt::Found(found) => {
                    if found.image.is_marketplace() {
                        notes.push(format!(
                            "{} is a Marketplace image, which cannot be copied",
                            found.image.id
                        ));
                        continue;
                    }
                    if found.image.is_encrypted() && cx.caller != Some(&found.image.owner) {
                        notes.push(format!(
                            "{} is encrypted with another account's key",
                            found.image.id
                        ));
                        continue;
                    }
                    return Ok(Some(*found));
                }
                Attempt::Skipped(_) => {}
                Attempt::Failed(e) => notes.push(e.to_string()),
            }
        }
        if notes.is_empty() {
            Ok(None)
        } else {
            Err(notes.join("; "))
        }
    }
}

#[async_trait]
impl Strategy for CrossRegion {
    fn tier(&self) -> Tier {
        Tier::CrossRegion
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let regions = self.regions.fallback_regions(cx.region);
        if regions.is_empty() {
            return Attempt::skipped(format!("{} has no fallback regions", cx.region));
        }
        // Futures are built in a loop rather than by a closure in `map`: a closure returning
        // a future that borrows its argument is not general enough for `async_trait`.
        let mut searches = Vec::with_capacity(regions.len());
        for (rank, source) in regions.iter().enumerate() {
            let inner = cx.in_region(source);
            searches.push(async move { (rank, source, self.search_one(&inner).await) });
        }
        let results: Vec<(usize, &Region, Result<Option<Found>, String>)> =
            futures::stream::iter(searches)
                .buffer_unordered(self.concurrency)
                .collect()
                .await;

        let mut notes = Vec::new();
        let mut finds: Vec<(usize, Found, CopyEstimate)> = Vec::new();
        for (rank, source, result) in results {
            match result {
                Ok(Some(found)) => {
                    let estimate = self.estimator.estimate_copy(&found.image, cx.region);
                    finds.push((rank, found, estimate));
                }
                Ok(None) => {}
                Err(note) => notes.push(format!("{source}: {note}")),
            }
        }
        let by_cost =
            |a: &CopyEstimate, b: &CopyEstimate| a.total_cost().total_cmp(&b.total_cost());
        let by_time = |a: &CopyEstimate, b: &CopyEstimate| a.duration.cmp(&b.duration);
        // Speed: the soonest copy, then the nearest region (the walk's order), then the
        // cheapest. Cost: the cheapest, then the soonest, then the nearest.
        finds.sort_by(|(ra, _, ea), (rb, _, eb)| match self.priority {
            CopyPriority::Cost => by_cost(ea, eb)
                .then_with(|| by_time(ea, eb))
                .then_with(|| ra.cmp(rb)),
            _ => by_time(ea, eb)
                .then_with(|| ra.cmp(rb))
                .then_with(|| by_cost(ea, eb)),
        });
        let searched = regions
            .iter()
            .map(Region::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let Some((_, found, estimate)) = finds.into_iter().next() else {
            let detail = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            return Attempt::Skipped(format!(
                "no image in the fallback regions {searched}{detail}"
            ));
        };
        let source_region = found.image.region.clone();
        let plan = CopyPlan {
            client_token: copy_client_token(&source_region, &found.image.id, cx.region),
            source_region: source_region.clone(),
            source_image: found.image.id.clone(),
            source_name: found.image.name.clone(),
            destination_region: cx.region.clone(),
            size_gib: estimate.size_gib,
            estimated_duration: estimate.duration,
            transfer_cost_usd: estimate.transfer_cost_usd,
            storage_cost_usd_per_month: estimate.storage_cost_usd_per_month,
        };
        let reason = format!(
            "found in {source_region} ({}); copy {} GiB to {}: ~{} min, ~${:.2} transfer + ${:.2}/month storage",
            found.reason,
            plan.size_gib,
            cx.region,
            plan.estimated_duration.as_secs().div_ceil(60),
            plan.transfer_cost_usd,
            plan.storage_cost_usd_per_month
        );
        Attempt::Found(Box::new(Found {
            reason,
            copy_plan: Some(plan),
            ..found
        }))
    }
}
