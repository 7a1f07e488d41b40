//! `Resolver::builder()`: every dependency and knob of a resolver, validated at `build()`.

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{Cloud, ImageRegistry, Region};
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
    cloud: Option<Arc<dyn Cloud>>,
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
    copy_poll: Duration,
    copy_wait_limit: Duration,
}

impl std::fmt::Debug for ResolverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolverBuilder")
            .field("cloud", &self.cloud.is_some())
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
            cloud: None,
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
            copy_poll: Duration::from_secs(15),
            copy_wait_limit: Duration::from_secs(60 * 60),
        }
    }
}

impl ResolverBuilder {
    /// The cloud to resolve in: `amiref_memory::MemoryCloud`, `amiref_aws::AwsCloud`, or any
    /// implementation of the ports. Required.
    pub fn cloud(mut self, cloud: Arc<dyn Cloud>) -> Self {
        self.cloud = Some(cloud);
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

    /// How often `execute` polls a copy (default 15 s) and how long it waits at most
    /// (default 60 min).
    pub fn copy_wait(mut self, poll: Duration, limit: Duration) -> Self {
        self.copy_poll = poll;
        self.copy_wait_limit = limit;
        self
    }

    /// Checks the configuration and builds the resolver.
    pub fn build(self) -> Result<Resolver, BuildError> {
        let cloud = self.cloud.ok_or(BuildError::MissingCloud)?;
        if self.concurrency == 0 {
            return Err(BuildError::InvalidOption {
                option: "concurrency",
                found: "0".into(),
                expected: "at least 1",
            });
        }
        if self.copy_poll.is_zero() || self.copy_wait_limit < self.copy_poll {
            return Err(BuildError::InvalidOption {
                option: "copy_wait",
                found: format!(
                    "poll {:?}, limit {:?}",
                    self.copy_poll, self.copy_wait_limit
                ),
                expected: "a non-zero poll interval no longer than the limit",
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
        let ssm: Arc<dyn Strategy> = Arc::new(SsmParameter);
        let direct: Arc<dyn Strategy> = Arc::new(DirectMapping);
        let search: Arc<dyn Strategy> = Arc::new(DynamicSearch);
        let community: Arc<dyn Strategy> = Arc::new(CommunityRegistry);
        let marketplace: Arc<dyn Strategy> = Arc::new(Marketplace);
        // Marketplace images cannot be copied, so the cross-region tier leaves that tier out.
        let cross_region: Arc<dyn Strategy> = Arc::new(CrossRegion::new(
            vec![
                ssm.clone(),
                direct.clone(),
                search.clone(),
                community.clone(),
            ],
            Arc::new(GraphRegions {
                graph: self.graph,
                walk: self.walk,
            }),
            Arc::new(ModelCopyEstimator(model.clone())),
            priority,
            self.concurrency,
        ));
        let tiers = Tiers {
            in_region: [ssm, direct, search, community, marketplace],
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
            copies: FlightCache::new(),
            caller: OnceCell::new(),
            region_types: FlightCache::new(),
            allowed_images: FlightCache::new(),
            clock: self.clock,
            copy_poll: self.copy_poll,
            copy_wait_limit: self.copy_wait_limit,
            tiers,
        }))
    }
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
