//! Tier 5, cross-region: the image tiers run in the fallback regions, and a copy plan.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use amiref_core::{AccountId, Image, ProductCodeType, Region, ResolutionMethod, SnapshotId};
use async_trait::async_trait;
use futures::StreamExt;
use semver::Version;

use crate::version::image_version;
use crate::{
    Attempt, Context, CopyPlan, CopyRefusal, CrossRegionFind, FallbackSearch, Found, FoundVia,
    PassedOver, Ranking, RegionAnswer, Skip, Strategy,
};

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

/// Runs the image tiers in every fallback region at once and plans a copy of the best find
/// the caller can really copy.
///
/// Nothing is copied: the result carries a [`CopyPlan`]. In each region the tiers' finds are
/// walked in their ranking order and the first one EC2 would let the caller copy is taken
/// ([`copy_refusal`]: no Marketplace product code, no billing product unless the caller owns
/// the image, not encrypted under another account's key, and, for an image shared with the
/// caller, create-volume permission on every snapshot); what was passed over is named in
/// the reason. Among the regions' picks the order is the in-region search's, version first:
/// the higher version wins wherever it is; between equal versions (or copies of one image),
/// [`CopyPriority`] decides: for speed, the soonest copy and then the nearest region (the
/// walk's order); for cost, the cheapest (transfer and a month of storage). Candidates with
/// no version and different names are ordered by creation date first.
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

/// Why EC2 would refuse `caller` a copy of `image`, from the image record alone; `None` when
/// nothing in the record forbids it (a shared image still needs create-volume permission
/// on its snapshots, which [`CrossRegion`] checks with the cloud).
pub fn copy_refusal(image: &Image, caller: Option<&AccountId>) -> Option<CopyRefusal> {
    let own = caller == Some(&image.owner);
    if let Some(code) = image
        .product_codes
        .iter()
        .find(|p| p.kind == ProductCodeType::Marketplace)
    {
        return Some(CopyRefusal::MarketplaceProductCode {
            image: image.id.clone(),
            product_code: code.code.clone(),
        });
    }
    if !own && image.has_billing_product() {
        return Some(CopyRefusal::BillingProduct {
            image: image.id.clone(),
            usage_operation: image.usage_operation.clone(),
            platform_details: image.platform_details.clone(),
        });
    }
    if !own && image.is_encrypted() {
        return Some(CopyRefusal::EncryptedByOwner {
            image: image.id.clone(),
            owner: image.owner.clone(),
        });
    }
    None
}

/// What one source region offers: its best copyable find, and what was passed over.
struct RegionPick {
    rank: usize,
    found: Option<Found>,
    passed_over: Vec<PassedOver>,
    failures: Vec<RegionAnswer>,
    /// Why the tiers the template asks something of found nothing.
    skips: Vec<RegionAnswer>,
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

    /// The first find of the region's tiers, in tier then ranking order, that the caller
    /// can copy. The region's tiers (and its Allowed AMIs setting) are asked at once; their
    /// answers are then walked in priority order.
    async fn pick_in(&self, cx: &Context<'_>, rank: usize) -> RegionPick {
        let mut pick = RegionPick {
            rank,
            found: None,
            passed_over: Vec::new(),
            failures: Vec::new(),
            skips: Vec::new(),
        };
        let rankings = futures::future::join_all(self.tiers.iter().map(|t| t.ranked(cx)));
        let (rankings, caller, _) = futures::join!(
            rankings,
            cx.facts.caller(),
            cx.facts.allowed_images(cx.region)
        );
        for (tier, ranking) in self.tiers.iter().zip(rankings) {
            let finds = match ranking {
                Ranking::Found(f) => f,
                Ranking::Skipped(why) => {
                    if tier.applies(cx) {
                        pick.skips.push(RegionAnswer::Skipped {
                            region: cx.region.clone(),
                            tier: tier.tier(),
                            reason: Box::new(why),
                        });
                    }
                    continue;
                }
                Ranking::Failed(e) => {
                    pick.failures.push(RegionAnswer::Failed {
                        region: cx.region.clone(),
                        tier: tier.tier(),
                        error: (&e).into(),
                    });
                    continue;
                }
            };
            for found in finds {
                match self.copyable(cx, &found.image, caller.as_ref()).await {
                    Ok(()) => {
                        pick.found = Some(found);
                        return pick;
                    }
                    Err(refusal) => pick.passed_over.push(PassedOver {
                        region: cx.region.clone(),
                        refusal,
                    }),
                }
            }
        }
        pick
    }

    /// Whether the caller can copy `image`: the record's rules, then, for an image another
    /// account shares with the caller, create-volume permission on each snapshot.
    async fn copyable(
        &self,
        cx: &Context<'_>,
        image: &Image,
        caller: Option<&AccountId>,
    ) -> Result<(), CopyRefusal> {
        if let Some(why) = copy_refusal(image, caller) {
            return Err(why);
        }
        // The caller's own images need nothing more; public images' snapshots come with
        // the image's public launch permission.
        if caller == Some(&image.owner) || image.public {
            return Ok(());
        }
        let snapshots: Vec<SnapshotId> = image.snapshot_ids().cloned().collect();
        if snapshots.is_empty() {
            return Ok(());
        }
        let access = cx
            .cloud
            .can_create_volumes(cx.region, &snapshots)
            .await
            .map_err(|e| CopyRefusal::SnapshotsUnchecked {
                image: image.id.clone(),
                error: (&e).into(),
            })?;
        let missing: Vec<SnapshotId> = snapshots
            .into_iter()
            .filter(|s| !access.get(s).copied().unwrap_or(false))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(CopyRefusal::SnapshotsNotShared {
                image: image.id.clone(),
                owner: image.owner.clone(),
                snapshots: missing,
            })
        }
    }

    /// The order of two regions' picks, best first: version (a missing one last); between
    /// equal versions, or copies of one image (the same name), the workload's priority; for
    /// different images without versions, the newer first.
    fn order(
        &self,
        a: &(usize, Option<Version>, Found, CopyEstimate),
        b: &(usize, Option<Version>, Found, CopyEstimate),
    ) -> Ordering {
        let by_cost =
            |a: &CopyEstimate, b: &CopyEstimate| a.total_cost().total_cmp(&b.total_cost());
        let by_time = |a: &CopyEstimate, b: &CopyEstimate| a.duration.cmp(&b.duration);
        let (ra, va, fa, ea) = a;
        let (rb, vb, fb, eb) = b;
        let geography = || match self.priority {
            CopyPriority::Cost => by_cost(ea, eb)
                .then_with(|| by_time(ea, eb))
                .then_with(|| ra.cmp(rb)),
            _ => by_time(ea, eb)
                .then_with(|| ra.cmp(rb))
                .then_with(|| by_cost(ea, eb)),
        };
        vb.cmp(va).then_with(|| {
            if va.is_some() || fa.image.name == fb.image.name {
                geography()
            } else {
                fb.image
                    .creation_date
                    .cmp(&fa.image.creation_date)
                    .then_with(geography)
            }
        })
    }
}

#[async_trait]
impl Strategy for CrossRegion {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::CrossRegion
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let regions = self.regions.fallback_regions(cx.region);
        if regions.is_empty() {
            return Attempt::Skipped(Skip::NoFallbackRegions {
                region: cx.region.clone(),
            });
        }
        // Futures are built in a loop rather than by a closure in `map`: a closure returning
        // a future that borrows its argument is not general enough for `async_trait`.
        let mut searches = Vec::with_capacity(regions.len());
        for (rank, source) in regions.iter().enumerate() {
            let inner = cx.in_region(source);
            searches.push(async move { (source, self.pick_in(&inner, rank).await) });
        }
        let picks: Vec<(&Region, RegionPick)> = futures::stream::iter(searches)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        let mut failures = Vec::new();
        let mut skips = Vec::new();
        let mut passed_over = Vec::new();
        let mut finds: Vec<(usize, Option<Version>, Found, CopyEstimate)> = Vec::new();
        for (_, pick) in picks {
            passed_over.extend(pick.passed_over);
            failures.extend(pick.failures);
            skips.extend(pick.skips);
            if let Some(found) = pick.found {
                let estimate = self.estimator.estimate_copy(&found.image, cx.region);
                finds.push((pick.rank, image_version(&found.image), found, estimate));
            }
        }
        finds.sort_by(|a, b| self.order(a, b));
        let Some((_, _, found, estimate)) = finds.into_iter().next() else {
            failures.extend(skips);
            return Attempt::Skipped(Skip::NotInFallbackRegions(Box::new(FallbackSearch {
                searched: regions,
                answers: failures,
                passed_over,
            })));
        };
        let source_region = found.image.region.clone();
        let plan = CopyPlan {
            // The lifecycle's token for a copy under the source's own name with the source's
            // encryption, which is the copy `ami copy` makes: the two share one image.
            client_token: amiref_core::copy_client_token(
                &source_region,
                &found.image.id,
                cx.region,
                &found.image.name,
                None,
                0,
            ),
            source_region: source_region.clone(),
            source_image: found.image.id.clone(),
            source_name: found.image.name.clone(),
            destination_region: cx.region.clone(),
            size_gib: estimate.size_gib,
            estimated_duration: estimate.duration,
            transfer_cost_usd: estimate.transfer_cost_usd,
            storage_cost_usd_per_month: estimate.storage_cost_usd_per_month,
        };
        let via = FoundVia::CrossRegion(Box::new(CrossRegionFind {
            found: found.via.clone(),
            plan: plan.clone(),
            passed_over,
        }));
        Attempt::Found(Box::new(Found {
            via,
            copy_plan: Some(plan),
            ..found
        }))
    }
}
