//! `Resolver::builder()`: every dependency and knob of a resolver, validated at `build()`.

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{Cloud, ImageRegistry, Region, ResolutionMethod, ResolutionPorts};
use amiref_regions::{FallbackGraph, WalkOptions};
use amiref_strategies::{
    CommunityRegistry, CopyPriority, CrossRegion, DirectMapping, DynamicSearch, FallbackRegions,
    Marketplace, ScriptProvisioning, SsmParameter, Strategy, TrustPolicy,
};
use chrono::{DateTime, Utc};

use tokio::sync::{OnceCell, Semaphore};

use crate::cache::FlightCache;
use crate::estimate::ModelCopyEstimator;
use crate::resolver::{Inner, Tiers};
use crate::{BuildError, EstimateModel, Resolver};

/// What the work launched is for: it decides between a cross-region copy and script
/// provisioning, and among copy sources.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Workload {
    /// A person is waiting: the way that is usable soonest wins.
    #[default]
    Interactive,
    /// Nobody is waiting: the cheapest way wins.
    Batch,
}

/// The clock deprecation times are judged against.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Builds a [`Resolver`]. Only the cloud is required; everything else has a default.
///
/// The tiers are the built-in ones ([`default_tiers`]) unless [`tiers`](Self::tiers)
/// replaces them; [`tier`](Self::tier) adds a caller's own [`Strategy`], tried after
/// them in the launch region and, unless it is Marketplace, in the fallback regions too.
///
/// ```
/// # fn demo(cloud: std::sync::Arc<dyn amiref_core::Cloud>) -> Result<(), amiref_resolver::BuildError> {
/// use std::time::Duration;
/// let resolver = amiref_resolver::Resolver::builder()
///     .cloud(cloud)
///     .cache_ttl(Duration::from_secs(300), Duration::from_secs(30))
///     .concurrency(16)
///     .workload(amiref_resolver::Workload::Batch)
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct ResolverBuilder {
    ports: Option<Arc<dyn ResolutionPorts>>,
    tiers: Vec<Arc<dyn Strategy>>,
    graph: FallbackGraph,
    walk: WalkOptions,
    registry: Option<Arc<dyn ImageRegistry>>,
    trust: TrustPolicy,
    positive_ttl: Duration,
    negative_ttl: Duration,
    concurrency: usize,
    concurrent_tiers: bool,
    model: EstimateModel,
    workload: Workload,
    clock: Clock,
}

impl std::fmt::Debug for ResolverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolverBuilder")
            .field("cloud", &self.ports.is_some())
            .field(
                "tiers",
                &self.tiers.iter().map(|t| t.tier()).collect::<Vec<_>>(),
            )
            .field("registry", &self.registry.is_some())
            .field("trust", &self.trust)
            .field("positive_ttl", &self.positive_ttl)
            .field("negative_ttl", &self.negative_ttl)
            .field("concurrency", &self.concurrency)
            .field("workload", &self.workload)
            .finish_non_exhaustive()
    }
}

impl Default for ResolverBuilder {
    fn default() -> Self {
        Self {
            ports: None,
            tiers: default_tiers(),
            graph: FallbackGraph::builtin(),
            walk: WalkOptions::new().exclude_opt_in(true).max_regions(6),
            registry: None,
            trust: TrustPolicy::default(),
            positive_ttl: Duration::from_secs(5 * 60),
            negative_ttl: Duration::from_secs(60),
            concurrency: 64,
            concurrent_tiers: true,
            model: EstimateModel::default(),
            workload: Workload::default(),
            clock: Arc::new(Utc::now),
        }
    }
}

impl ResolverBuilder {
    /// The cloud to resolve in: `amiref_memory::MemoryCloud`, `amiref_aws::AwsCloud`, or any
    /// implementation of the ports. Required (or [`ports`](Self::ports)).
    pub fn cloud(mut self, cloud: Arc<dyn Cloud>) -> Self {
        self.ports = Some(Arc::new(cloud));
        self
    }

    /// Resolves through these read-only ports instead of a whole cloud: images,
    /// Marketplace products, the caller's identity, SSM parameters, instance types and
    /// Allowed AMIs. (Resolving never changes anything; copies are made by `amiref-lifecycle`.)
    pub fn ports(mut self, ports: Arc<dyn ResolutionPorts>) -> Self {
        self.ports = Some(ports);
        self
    }

    /// Adds a tier of the caller's, tried in the launch region after the tiers before it
    /// (by default: after Marketplace), and in the fallback regions. Its answers appear
    /// in the chain under its [`Strategy::tier`], like any other tier's; what it finds
    /// passes through the same decision, estimate and cache. It must name a tier of its
    /// own ([`ResolutionMethod::Custom`]) or a built-in image tier not already in the list.
    pub fn tier(mut self, tier: Arc<dyn Strategy>) -> Self {
        self.tiers.push(tier);
        self
    }

    /// Replaces the image tiers tried in the launch region, in priority order (default:
    /// [`default_tiers`]). The cross-region walk runs the same tiers, Marketplace left out
    /// (EC2 copies no Marketplace image); script provisioning stays the last resort.
    pub fn tiers(mut self, tiers: Vec<Arc<dyn Strategy>>) -> Self {
        self.tiers = tiers;
        self
    }

    /// The region fallback graph (default: `FallbackGraph::builtin()`).
    pub fn fallback_graph(mut self, graph: FallbackGraph) -> Self {
        self.graph = graph;
        self
    }

    /// How far the cross-region tier walks the graph (default: at most 6 regions, opt-in
    /// regions left out).
    pub fn walk_options(mut self, walk: WalkOptions) -> Self {
        self.walk = walk;
        self
    }

    /// The community registry (default: none; the tier is skipped).
    pub fn registry(mut self, registry: Arc<dyn ImageRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Whose images are accepted: the ceiling of every tier (default:
    /// [`TrustPolicy::default`]: self and amazon only; no named owners).
    pub fn trust_policy(mut self, trust: TrustPolicy) -> Self {
        self.trust = trust;
        self
    }

    /// How long resolutions are kept: found (default 5 min) and not found (default 1 min).
    /// Zero disables that side of the cache.
    pub fn cache_ttl(mut self, positive: Duration, negative: Duration) -> Self {
        self.positive_ttl = positive;
        self.negative_ttl = negative;
        self
    }

    /// How many resolutions run at once, and how many fallback regions are searched at once
    /// (default 64: every commercial region at once).
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit;
        self
    }

    /// Whether a resolution issues every tier's first calls at once (default `true`: one
    /// round trip when a mapping or search answers). `false` runs the tiers one after
    /// another, in priority order, each only when the ones before it found nothing, with
    /// the caller's identity fetched first: fewer calls, one round trip per tier. It is the
    /// serial baseline the benchmarks compare against, and a choice for an account whose
    /// API rate is the scarce resource.
    pub fn concurrent_tiers(mut self, concurrent: bool) -> Self {
        self.concurrent_tiers = concurrent;
        self
    }

    /// The estimate model (default: [`EstimateModel::default`]).
    pub fn estimate_model(mut self, model: EstimateModel) -> Self {
        self.model = model;
        self
    }

    /// Interactive (speed first, the default) or batch (cost first).
    pub fn workload(mut self, workload: Workload) -> Self {
        self.workload = workload;
        self
    }

    /// The clock deprecation is judged against (default: the system clock). An in-process
    /// cloud on tokio's paused clock passes its own.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the configuration and builds the resolver.
    pub fn build(self) -> Result<Resolver, BuildError> {
        let cloud = self.ports.ok_or(BuildError::MissingCloud)?;
        check_tiers(&self.tiers)?;
        if self.concurrency == 0 {
            return Err(BuildError::InvalidOption {
                option: "concurrency",
                found: "0".into(),
                expected: "at least 1",
            });
        }
        let throughput = self.model.copy_gib_per_minute;
        if !throughput.is_finite() || throughput <= 0.0 {
            return Err(BuildError::InvalidOption {
                option: "estimate_model.copy_gib_per_minute",
                found: throughput.to_string(),
                expected: "a positive number",
            });
        }
        let model = Arc::new(self.model);
        let priority = match self.workload {
            Workload::Batch => CopyPriority::Cost,
            _ => CopyPriority::Speed,
        };
        // Marketplace images cannot be copied, so the cross-region tier leaves that tier out.
        let copyable = self
            .tiers
            .iter()
            .filter(|t| t.tier() != ResolutionMethod::Marketplace)
            .cloned()
            .collect();
        let cross_region: Arc<dyn Strategy> = Arc::new(CrossRegion::new(
            copyable,
            Arc::new(GraphRegions {
                graph: self.graph,
                walk: self.walk,
            }),
            Arc::new(ModelCopyEstimator(model.clone())),
            priority,
            self.concurrency,
        ));
        let tiers = Tiers {
            in_region: self.tiers,
            cross_region,
            script: Arc::new(ScriptProvisioning),
        };
        Ok(Resolver::from_inner(Inner {
            cloud,
            registry: self.registry,
            trust: self.trust,
            model,
            workload: self.workload,
            positive_ttl: self.positive_ttl,
            negative_ttl: self.negative_ttl,
            concurrency: self.concurrency,
            concurrent_tiers: self.concurrent_tiers,
            permits: Semaphore::new(self.concurrency),
            cache: FlightCache::new(),
            caller: OnceCell::new(),
            region_types: FlightCache::new(),
            allowed_images: FlightCache::new(),
            clock: self.clock,
            tiers,
        }))
    }
}

/// The built-in image tiers, in the order a resolution tries them: SSM parameter, direct
/// mapping, dynamic search, community registry, Marketplace.
pub fn default_tiers() -> Vec<Arc<dyn Strategy>> {
    vec![
        Arc::new(SsmParameter),
        Arc::new(DirectMapping),
        Arc::new(DynamicSearch),
        Arc::new(CommunityRegistry),
        Arc::new(Marketplace),
    ]
}

/// Every image tier names a tier of its own: not the cross-region walk or the script
/// (which keep their places after the image tiers), and no tier twice (the chain would
/// not tell them apart).
fn check_tiers(tiers: &[Arc<dyn Strategy>]) -> Result<(), BuildError> {
    let mut seen = std::collections::BTreeSet::new();
    for tier in tiers.iter().map(|t| t.tier()) {
        if matches!(
            tier,
            ResolutionMethod::CrossRegion | ResolutionMethod::ScriptProvisioning
        ) {
            return Err(BuildError::InvalidTier {
                tier,
                reason: "the cross-region walk and script provisioning always follow the image tiers; add image tiers only",
            });
        }
        if !seen.insert(tier.clone()) {
            return Err(BuildError::InvalidTier {
                tier,
                reason: "a tier of this name is already in the list",
            });
        }
    }
    Ok(())
}

/// The fallback graph as the cross-region tier's source of regions.
struct GraphRegions {
    graph: FallbackGraph,
    walk: WalkOptions,
}

impl FallbackRegions for GraphRegions {
    fn fallback_regions(&self, destination: &Region) -> Vec<Region> {
        self.graph.walk(destination, &self.walk)
    }
}
