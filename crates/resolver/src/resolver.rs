//! The resolver: runs the tiers a template's strategy allows, and carries out copy plans.

use std::collections::BTreeSet;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesSettings, AmiId, Architecture, ImageRegistry, InstanceType, Region,
    ResolutionMethod, ResolutionPorts,
};
use amiref_strategies::{
    ArchCandidates, Attempt, ChoiceNote, Context, CopyPlan, Facts, Found, Prefetched, Strategy,
    StrategyError, TrustPolicy, Warning, architecture_candidates,
};
use amiref_template::{AmiStrategy, FallbackStrategy, Template};
use futures::StreamExt;
use futures::future::Either;
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

use crate::builder::{Clock, ResolverBuilder, Workload};
use crate::cache::FlightCache;
use crate::{
    Alternative, ChainEntry, CostOption, Estimate, EstimateModel, NotTried, Outcome, Preview,
    Resolution, ResolveError,
};

/// Options of one resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ResolveOptions {
    /// Launch only on this architecture.
    pub architecture: Option<Architecture>,
    /// Apply this strategy instead of the template's (`--prefer-script` is `ami_fallback`).
    pub strategy: Option<AmiStrategy>,
    /// Use and fill the cache (default true).
    pub use_cache: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        Self {
            architecture: None,
            strategy: None,
            use_cache: true,
        }
    }
}

impl ResolveOptions {
    /// Only this architecture.
    #[must_use]
    pub fn architecture(mut self, arch: Architecture) -> Self {
        self.architecture = Some(arch);
        self
    }

    /// This strategy instead of the template's.
    #[must_use]
    pub fn strategy(mut self, strategy: AmiStrategy) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// Whether to use the cache.
    #[must_use]
    pub fn use_cache(mut self, use_cache: bool) -> Self {
        self.use_cache = use_cache;
        self
    }
}

/// One result of [`Resolver::resolve_many`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ManyResolution {
    /// The template's name.
    pub template: String,
    /// The region.
    pub region: Region,
    /// The resolution, or why there is none.
    pub result: Result<Resolution, ResolveError>,
}

/// A template ready to be resolved many times: its content hash (the cache key) is computed
/// once, here, rather than on every call. [`Resolver::resolve_shared`] takes it.
///
/// ```
/// # async fn run(resolver: amiref_resolver::Resolver, template: amiref_template::Template) {
/// let prepared = amiref_resolver::PreparedTemplate::new(template);
/// let region = "us-east-1".parse().unwrap();
/// for _ in 0..3 {
///     // After the first call, each is a cache hit: no cloud call, no template hashing.
///     let _ = resolver.resolve_shared(&prepared, &region, &Default::default()).await;
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PreparedTemplate {
    template: Arc<Template>,
    content: u64,
}

impl PreparedTemplate {
    /// Prepares `template`, hashing its content once.
    pub fn new(template: Template) -> Self {
        Self {
            content: fingerprint(&template),
            template: Arc::new(template),
        }
    }

    /// The template.
    pub fn template(&self) -> &Template {
        &self.template
    }
}

impl From<Template> for PreparedTemplate {
    fn from(template: Template) -> Self {
        Self::new(template)
    }
}

/// What the cache is keyed by: the template's content, the region and the options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    content: u64,
    region: Region,
    architecture: Option<Architecture>,
    strategy: Option<AmiStrategy>,
}

/// The tiers, built once.
pub(crate) struct Tiers {
    /// The in-region image tiers in priority order: the built-in ones and the caller's.
    pub(crate) in_region: Vec<Arc<dyn Strategy>>,
    pub(crate) cross_region: Arc<dyn Strategy>,
    pub(crate) script: Arc<dyn Strategy>,
}

pub(crate) struct Inner {
    pub(crate) cloud: Arc<dyn ResolutionPorts>,
    pub(crate) registry: Option<Arc<dyn ImageRegistry>>,
    pub(crate) trust: TrustPolicy,
    pub(crate) model: Arc<EstimateModel>,
    pub(crate) workload: Workload,
    pub(crate) positive_ttl: Duration,
    pub(crate) negative_ttl: Duration,
    pub(crate) concurrency: usize,
    pub(crate) concurrent_tiers: bool,
    pub(crate) permits: Semaphore,
    pub(crate) cache: FlightCache<CacheKey, Result<Arc<Resolution>, ResolveError>>,
    pub(crate) caller: OnceCell<AccountId>,
    pub(crate) region_types:
        FlightCache<(Region, Vec<InstanceType>), Arc<crate::facts::RegionTypesAnswer>>,
    pub(crate) allowed_images:
        FlightCache<Region, Result<Arc<AllowedImagesSettings>, amiref_core::CloudError>>,
    pub(crate) clock: Clock,
    pub(crate) tiers: Tiers,
}

/// Decides, for a template and a region, which image to launch, or that the template's
/// script must run; explains why; and carries out the copies it plans.
///
/// Cheap to clone: clones share the cache, the flights and the cloud.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("workload", &self.inner.workload)
            .field("concurrency", &self.inner.concurrency)
            .field("cached", &self.inner.cache.len())
            .finish_non_exhaustive()
    }
}

/// What running one tier gave.
#[derive(Debug, Clone)]
enum Step {
    Ran {
        attempt: Attempt,
        elapsed: Duration,
    },
    TimedOut {
        elapsed: Duration,
    },
    /// The cloud's faults used up the tier's time: its retries gave up before the deadline.
    CutOffByFaults {
        error: amiref_strategies::TierFailure,
        elapsed: Duration,
    },
    NotRun(NotTried),
}

impl Step {
    /// Whether the tier failed because the cloud was throttling or unavailable (after the
    /// retries), so that trying it again may find what it looks for.
    fn failed_on_a_fault(&self) -> bool {
        matches!(
            self,
            Step::Ran {
                attempt: Attempt::Failed(StrategyError::Cloud(e)),
                ..
            } if e.kind.is_retryable()
        )
    }

    /// How long the tier ran.
    fn elapsed(&self) -> Duration {
        match self {
            Step::Ran { elapsed, .. }
            | Step::TimedOut { elapsed }
            | Step::CutOffByFaults { elapsed, .. } => *elapsed,
            Step::NotRun(_) => Duration::ZERO,
        }
    }

    fn found(&self) -> Option<&Found> {
        match self {
            Step::Ran {
                attempt: Attempt::Found(f),
                ..
            } => Some(f),
            _ => None,
        }
    }

    fn entry(&self, tier: &ResolutionMethod, timeout: Option<Duration>) -> ChainEntry {
        let (outcome, elapsed) = match self {
            Step::Ran { attempt, elapsed } => {
                let outcome = match attempt {
                    Attempt::Found(f) => Outcome::Found(Box::new(f.find())),
                    Attempt::Skipped(why) => Outcome::Skipped {
                        reason: why.clone(),
                    },
                    Attempt::Failed(e) => Outcome::Failed { error: e.into() },
                    // An answer of a kind this resolver does not know (the enum is
                    // non-exhaustive): a failure, retried rather than trusted.
                    _ => Outcome::Failed {
                        error: amiref_strategies::TierFailure::Other {
                            message: "the tier answered in a way this resolver does not know"
                                .into(),
                        },
                    },
                };
                (outcome, *elapsed)
            }
            Step::TimedOut { elapsed } => (
                Outcome::TimedOut {
                    timeout_secs: timeout.unwrap_or_default().as_secs(),
                },
                *elapsed,
            ),
            Step::CutOffByFaults { error, elapsed } => (
                Outcome::CutOffByFaults {
                    timeout_secs: timeout.unwrap_or_default().as_secs(),
                    error: error.clone(),
                },
                *elapsed,
            ),
            Step::NotRun(why) => (
                Outcome::NotTried {
                    reason: why.clone(),
                },
                Duration::ZERO,
            ),
        };
        ChainEntry::new(tier.clone(), outcome, elapsed)
    }
}

/// Every tier's step, in chain order.
struct Steps {
    in_region: Vec<(ResolutionMethod, Step)>,
    cross_region: Step,
    script: Step,
    /// What the facts could not learn (instance types, offerings), for the warnings.
    notes: Vec<ChoiceNote>,
}

/// Which way of launching the decision took, by tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    InRegion(usize),
    CrossRegion,
    Script,
}

/// The per-resolution state the tiers share.
struct Run<'a> {
    template: &'a Template,
    region: &'a Region,
    strategy: AmiStrategy,
    fallback: FallbackStrategy,
    candidates: Vec<ArchCandidates>,
    prefetched: Option<&'a Prefetched>,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
}

impl Resolver {
    /// A builder; only `.cloud(...)` (or `.ports(...)`) is required.
    pub fn builder() -> ResolverBuilder {
        ResolverBuilder::default()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The estimate model in use.
    pub fn estimate_model(&self) -> &EstimateModel {
        &self.inner.model
    }

    /// Resolves `template` in `region` with the default options.
    pub async fn resolve(
        &self,
        template: &Template,
        region: &Region,
    ) -> Result<Resolution, ResolveError> {
        self.resolve_with(template, region, &ResolveOptions::default())
            .await
    }

    /// Resolves `template` in `region`.
    ///
    /// The template's strategy decides which tiers run and what happens when none finds an
    /// image; `fallback_timeout` bounds the image tiers (a tier cut off is recorded in the
    /// chain, and the fallback follows). Results are cached, and identical concurrent
    /// calls share one resolution. Nothing is created or copied.
    pub async fn resolve_with(
        &self,
        template: &Template,
        region: &Region,
        options: &ResolveOptions,
    ) -> Result<Resolution, ResolveError> {
        let content = if options.use_cache {
            fingerprint(template)
        } else {
            0
        };
        self.resolve_inner(template, content, region, options, None)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`resolve_with`](Self::resolve_with) for a template prepared once and resolved many
    /// times: a cache hit hashes nothing and copies nothing (the resolution is shared).
    pub async fn resolve_shared(
        &self,
        prepared: &PreparedTemplate,
        region: &Region,
        options: &ResolveOptions,
    ) -> Result<Arc<Resolution>, ResolveError> {
        self.resolve_inner(&prepared.template, prepared.content, region, options, None)
            .await
    }

    async fn resolve_inner(
        &self,
        template: &Template,
        content: u64,
        region: &Region,
        options: &ResolveOptions,
        prefetched: Option<&Prefetched>,
    ) -> Result<Arc<Resolution>, ResolveError> {
        let span = tracing::info_span!("amiref.resolve", template = %template.name, %region);
        let compute = || async {
            // Bounded: at most `concurrency` resolutions talk to the cloud at once. The
            // semaphore is never closed, so acquiring cannot fail; if it ever did, running
            // unbounded is the safe degradation.
            let _permit = self.inner.permits.acquire().await.ok();
            let steps_run = self.prepare(template, region, options, prefetched).await;
            let steps = self.evaluate(&steps_run, false).await;
            self.decide(&steps_run, &steps).0.map(Arc::new)
        };
        async {
            if !options.use_cache {
                return compute().await;
            }
            let key = CacheKey {
                content,
                region: region.clone(),
                architecture: options.architecture,
                strategy: options.strategy,
            };
            let (positive, negative) = (self.inner.positive_ttl, self.inner.negative_ttl);
            let (result, cached) = self
                .inner
                .cache
                .get_or_compute(
                    key,
                    |r: &Result<Arc<Resolution>, ResolveError>| match r {
                        Ok(res) if res.chain.iter().any(|e| e.transient) => {
                            Some(negative.min(positive))
                        }
                        Ok(_) => Some(positive),
                        Err(e) if e.is_transient() => None,
                        Err(_) => Some(negative),
                    },
                    compute,
                )
                .await;
            tracing::debug!(cached, ok = result.is_ok(), "resolution");
            result
        }
        .instrument(span)
        .await
    }

    /// The dry run: runs every tier (even those an earlier tier makes unnecessary), decides
    /// as [`resolve`](Self::resolve) would, and compares the cost of every way to launch.
    /// Never cached; nothing is created or copied.
    pub async fn preview(
        &self,
        template: &Template,
        region: &Region,
        options: &ResolveOptions,
    ) -> Preview {
        let span = tracing::info_span!("amiref.preview", template = %template.name, %region);
        async {
            let run = self.prepare(template, region, options, None).await;
            let steps = self.evaluate(&run, true).await;
            let (result, tiers) = self.decide(&run, &steps);
            let mut comparison: Vec<CostOption> = Vec::new();
            let chosen_method = result.as_ref().ok().map(|r| r.method.clone());
            let mut add = |tier: &ResolutionMethod, found: &Found| {
                let estimate = self.estimate(&run, tier, found);
                if comparison
                    .iter()
                    .any(|c| &c.method == tier && c.image == found.image.id)
                {
                    return;
                }
                comparison.push(CostOption {
                    method: tier.clone(),
                    image: found.image.id.clone(),
                    instance_type: found.choice.instance_type.clone(),
                    estimate,
                    chosen: chosen_method.as_ref() == Some(tier),
                });
            };
            for (tier, step) in &steps.in_region {
                if let Some(f) = step.found() {
                    add(tier, f);
                }
            }
            if let Some(f) = steps.cross_region.found() {
                add(&ResolutionMethod::CrossRegion, f);
            }
            if let Some(f) = steps.script.found() {
                add(&ResolutionMethod::ScriptProvisioning, f);
            }
            comparison.sort_by(|a, b| {
                let cost = |o: &CostOption| {
                    o.estimate.setup_cost_usd.unwrap_or(f64::INFINITY)
                        + o.estimate.copy_cost_usd.unwrap_or(0.0)
                };
                cost(a).total_cmp(&cost(b))
            });
            let (resolution, error) = match result {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e)),
            };
            Preview {
                template: template.name.clone(),
                region: region.clone(),
                strategy: run.strategy,
                tiers,
                resolution,
                error,
                comparison,
                estimate_inputs: self.inner.model.stated_inputs(),
            }
        }
        .instrument(span)
        .await
    }

    /// Resolves every template in every region. Direct mappings are validated with one
    /// batched describe per region (however many templates); regions and templates run
    /// concurrently, at most `concurrency` resolutions at a time. Results come in the
    /// order of `regions`, then `templates`.
    pub async fn resolve_many(
        &self,
        templates: &[Template],
        regions: &[Region],
    ) -> Vec<ManyResolution> {
        self.resolve_many_with(templates, regions, &ResolveOptions::default())
            .await
    }

    /// [`resolve_many`](Self::resolve_many) with options (for instance, bypassing the
    /// cache).
    pub async fn resolve_many_with(
        &self,
        templates: &[Template],
        regions: &[Region],
        options: &ResolveOptions,
    ) -> Vec<ManyResolution> {
        let span = tracing::info_span!(
            "amiref.resolve_many",
            templates = templates.len(),
            regions = regions.len()
        );
        let mut per_region = Vec::with_capacity(regions.len());
        for region in regions {
            per_region.push(async move {
                // The region's facts are asked beside the batched describe, so that the
                // resolutions after it find them answered.
                let warm = futures::future::join_all(templates.iter().map(|t| async move {
                    self.facts_for(t, region, architecture_candidates(t, options.architecture))
                        .warm()
                        .await
                }));
                let (prefetched, _) = futures::join!(self.prefetch(templates, region), warm);
                let resolutions = templates.iter().map(|t| {
                    let prefetched = prefetched.as_ref();
                    async move {
                        ManyResolution {
                            template: t.name.clone(),
                            region: region.clone(),
                            result: self
                                .resolve_inner(t, fingerprint(t), region, options, prefetched)
                                .await
                                .map(Arc::unwrap_or_clone),
                        }
                    }
                });
                futures::future::join_all(resolutions).await
            });
        }
        let nested: Vec<Vec<ManyResolution>> = futures::stream::iter(per_region)
            .buffered(self.inner.concurrency)
            .collect()
            .instrument(span)
            .await;
        nested.into_iter().flatten().collect()
    }

    /// One describe call for every direct mapping of `templates` in `region`.
    async fn prefetch(&self, templates: &[Template], region: &Region) -> Option<Prefetched> {
        let ids: BTreeSet<AmiId> = templates
            .iter()
            .filter_map(|t| t.ami_config.as_ref()?.ami_mappings.get(region).cloned())
            .collect();
        if ids.is_empty() {
            return None;
        }
        let ids: Vec<AmiId> = ids.into_iter().collect();
        match self.inner.cloud.describe_images(region, &ids).await {
            Ok(images) => Some(images.into_iter().map(|i| (i.id.clone(), i)).collect()),
            Err(e) => {
                // Each direct-mapping tier then describes its own image (and reports the
                // error in its chain if it persists).
                tracing::warn!(%region, error = %e, "batched describe failed");
                None
            }
        }
    }

    /// The state one resolution needs: strategy, choices, caller, deadline.
    async fn prepare<'a>(
        &self,
        template: &'a Template,
        region: &'a Region,
        options: &ResolveOptions,
        prefetched: Option<&'a Prefetched>,
    ) -> Run<'a> {
        let config = template.ami_config.as_ref();
        let strategy = options
            .strategy
            .or(config.map(|c| c.strategy))
            .unwrap_or_default();
        let fallback = config.map(|c| c.fallback_strategy).unwrap_or_default();
        let timeout = config.and_then(|c| c.fallback_timeout).map(|d| d.get());
        Run {
            template,
            region,
            strategy,
            fallback,
            candidates: architecture_candidates(template, options.architecture),
            prefetched,
            timeout,
            // Checked: a deadline past tokio's range is no deadline (the template loader
            // already bounds fallback_timeout; this keeps any caller's template safe).
            deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
        }
    }

    /// The facts of one resolution: what the launch region can run, its Allowed AMIs, and
    /// the caller's account when the trust policy or the template names `self`.
    fn facts<'a>(&'a self, run: &'a Run<'a>) -> crate::facts::ResolutionFacts<'a> {
        self.facts_for(run.template, run.region, run.candidates.clone())
    }

    fn facts_for<'a>(
        &'a self,
        template: &'a Template,
        region: &'a Region,
        candidates: Vec<ArchCandidates>,
    ) -> crate::facts::ResolutionFacts<'a> {
        let names_self = |s: Option<&amiref_template::AmiSearch>| {
            s.is_some_and(|s| s.all_owners().contains(&amiref_core::Owner::Me))
        };
        let needs_caller = self.inner.trust.needs_caller()
            || names_self(
                template
                    .ami_config
                    .as_ref()
                    .and_then(|c| c.ami_search.as_ref()),
            )
            || names_self(template.base_image.as_ref().and_then(|b| b.search()));
        crate::facts::ResolutionFacts::new(
            &self.inner,
            region,
            candidates,
            template
                .ami_config
                .as_ref()
                .and_then(|c| c.preferred_architecture),
            needs_caller,
        )
    }

    fn context<'a>(
        &'a self,
        run: &'a Run<'a>,
        architectures: &'a [Architecture],
        facts: &'a dyn Facts,
    ) -> Context<'a> {
        Context::new(
            run.template,
            run.region,
            self.inner.cloud.as_ref(),
            &self.inner.trust,
            architectures,
            facts,
            (self.inner.clock)(),
        )
        .with_registry(self.inner.registry.as_deref())
        .with_prefetched(run.prefetched)
    }

    async fn run_tier(
        &self,
        cx: &Context<'_>,
        strategy: &dyn Strategy,
        deadline: Option<Instant>,
    ) -> Step {
        let tier = strategy.tier();
        let span = tracing::info_span!("amiref.tier", tier = tier.as_str());
        let start = Instant::now();
        if deadline.is_some_and(|d| d <= start) {
            return Step::NotRun(NotTried::DeadlinePassed);
        }
        // The tier's calls see the deadline, so their retries stop in time and say so.
        let budget = deadline.map(amiref_layers::Deadline::at);
        let attempt = async {
            match (deadline, &budget) {
                (Some(d), Some(budget)) => {
                    tokio::time::timeout_at(d, budget.clone().run(strategy.attempt(cx)))
                        .await
                        .ok()
                }
                _ => Some(strategy.attempt(cx).await),
            }
        }
        .instrument(span.clone())
        .await;
        let elapsed = start.elapsed();
        let _enter = span.enter();
        let faults = budget.and_then(|b| b.cut_off());
        match (attempt, faults) {
            (Some(Attempt::Failed(error)), Some(_)) => {
                tracing::debug!(elapsed_ms = elapsed.as_millis() as u64, %error, "tier cut off by faults");
                Step::CutOffByFaults {
                    error: (&error).into(),
                    elapsed,
                }
            }
            (None, Some(fault)) => {
                tracing::debug!(elapsed_ms = elapsed.as_millis() as u64, %fault, "tier cut off by faults");
                Step::CutOffByFaults {
                    error: amiref_strategies::TierFailure::Cloud {
                        error: (&fault).into(),
                    },
                    elapsed,
                }
            }
            (Some(attempt), _) => {
                tracing::debug!(
                    outcome = match &attempt {
                        Attempt::Found(_) => "found",
                        Attempt::Skipped(_) => "skipped",
                        _ => "failed",
                    },
                    elapsed_ms = elapsed.as_millis() as u64,
                    "tier done"
                );
                Step::Ran { attempt, elapsed }
            }
            (None, None) => {
                tracing::debug!(elapsed_ms = elapsed.as_millis() as u64, "tier cut off");
                Step::TimedOut { elapsed }
            }
        }
    }

    /// The in-region tiers, all started at once. When `stop_at_first`, the answer is taken
    /// as soon as the strategy's priority decides it (a find, with every tier before it
    /// done); the tiers still running are dropped and recorded as not needed.
    async fn in_region(
        &self,
        cx: &Context<'_>,
        deadline: Option<Instant>,
        stop_at_first: bool,
    ) -> Vec<(ResolutionMethod, Step)> {
        let tiers = &self.inner.tiers.in_region;
        let mut steps: Vec<Option<Step>> = vec![None; tiers.len()];
        if !self.inner.concurrent_tiers {
            for (i, strategy) in tiers.iter().enumerate() {
                steps[i] = Some(self.run_tier(cx, strategy.as_ref(), deadline).await);
                if stop_at_first && decided(&steps) {
                    break;
                }
            }
        } else {
            let mut pending = futures::stream::FuturesUnordered::new();
            for (i, strategy) in tiers.iter().enumerate() {
                pending
                    .push(async move { (i, self.run_tier(cx, strategy.as_ref(), deadline).await) });
            }
            while let Some((i, step)) = pending.next().await {
                steps[i] = Some(step);
                if stop_at_first && decided(&steps) {
                    break;
                }
            }
        }
        self.second_chance(cx, deadline, &mut steps).await;
        let winner = steps
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.found().is_some()))
            .map(|i| tiers[i].tier());
        tiers
            .iter()
            .zip(steps)
            .map(|(strategy, step)| {
                let step = step.unwrap_or_else(|| {
                    Step::NotRun(NotTried::NotNeeded {
                        winner: winner.clone(),
                    })
                });
                (strategy.tier(), step)
            })
            .collect()
    }

    /// The tiers before the winner that failed on throttling or an outage are run once more
    /// while the deadline allows, all at once: their answer outranks the winner's, and a
    /// passing fault must not change which image a template gets (under throttling, a failed
    /// mapping would otherwise hand a search's arm64 image to an x86_64 template). Only a
    /// find replaces a failure; when the second try fails too, the lower tier's find stands,
    /// with the first failure in the chain and the warnings.
    async fn second_chance(
        &self,
        cx: &Context<'_>,
        deadline: Option<Instant>,
        steps: &mut [Option<Step>],
    ) {
        let Some(winner) = steps
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.found().is_some()))
        else {
            return;
        };
        // A tier run after the deadline is not run (`run_tier` says so), so never found.
        let tiers = &self.inner.tiers.in_region;
        let faulted: Vec<usize> = (0..winner)
            .filter(|&i| steps[i].as_ref().is_some_and(Step::failed_on_a_fault))
            .collect();
        let again = futures::future::join_all(
            faulted
                .iter()
                .map(|&i| self.run_tier(cx, tiers[i].as_ref(), deadline)),
        )
        .await;
        for (i, step) in faulted.into_iter().zip(again) {
            if let (Step::Ran { attempt, elapsed }, Some(first)) = (step, &steps[i])
                && matches!(attempt, Attempt::Found(_))
            {
                let elapsed = elapsed + first.elapsed();
                steps[i] = Some(Step::Ran { attempt, elapsed });
            }
        }
    }

    /// Runs the tiers the strategy needs (all of them when `full`), every one's first calls
    /// at once: the facts (caller, instance types, Allowed AMIs), the in-region tiers, the
    /// cross-region walk when the fallback allows it, and the script's base image when the
    /// script may be the answer. The strategy's priority decides as answers arrive; what is
    /// no longer needed is dropped.
    async fn evaluate(&self, run: &Run<'_>, full: bool) -> Steps {
        let wants_cross = run.fallback == FallbackStrategy::CrossRegion;
        let script_first = run.strategy == AmiStrategy::AmiFallback;
        let script_allowed = run.strategy != AmiStrategy::AmiRequired;
        let script_wanted =
            script_allowed && (script_first || full || run.fallback != FallbackStrategy::Error);
        let facts = self.facts(run);
        let architectures = facts.architectures();
        let cx = self.context(run, &architectures, &facts);
        if !self.inner.concurrent_tiers {
            return self.evaluate_serially(run, &cx, &facts, full).await;
        }

        let in_region = self.in_region(&cx, run.deadline, !full);
        let cross = async {
            if wants_cross {
                self.run_tier(&cx, self.inner.tiers.cross_region.as_ref(), run.deadline)
                    .await
            } else {
                Step::NotRun(NotTried::FallbackStrategy {
                    fallback: run.fallback,
                })
            }
        };
        let script = async {
            if script_wanted {
                self.run_tier(&cx, self.inner.tiers.script.as_ref(), None)
                    .await
            } else if !script_allowed {
                Step::NotRun(NotTried::AmiRequired)
            } else {
                Step::NotRun(NotTried::FallbackStrategy {
                    fallback: FallbackStrategy::Error,
                })
            }
        };
        // The cross-region walk and the script start with the in-region tiers; when those
        // find an image first, both are dropped unfinished (a resolution never waits for
        // what it does not need), unless this is the dry run or the script comes first.
        let rest = futures::future::join(cross, script);
        let decide = async {
            if full || script_first {
                let (steps, (cross, script)) = futures::join!(in_region, rest);
                (steps, cross, script)
            } else {
                match futures::future::select(pin!(in_region), pin!(rest)).await {
                    Either::Left((steps, rest)) => {
                        if steps.iter().any(|(_, s)| s.found().is_some()) {
                            let cross = if wants_cross {
                                Step::NotRun(not_needed(&steps))
                            } else {
                                Step::NotRun(NotTried::FallbackStrategy {
                                    fallback: run.fallback,
                                })
                            };
                            let script = if script_allowed {
                                Step::NotRun(not_needed(&steps))
                            } else {
                                Step::NotRun(NotTried::AmiRequired)
                            };
                            (steps, cross, script)
                        } else {
                            let (cross, script) = rest.await;
                            (steps, cross, script)
                        }
                    }
                    Either::Right(((cross, script), in_rest)) => (in_rest.await, cross, script),
                }
            }
        };
        let ((in_steps, cross_step, script_step), ()) = futures::join!(decide, facts.warm());
        facts.choices().await;
        let notes = facts.errors();
        Steps {
            in_region: in_steps,
            cross_region: cross_step,
            script: script_step,
            notes,
        }
    }

    /// The serial baseline: the facts first (caller, instance types, Allowed AMIs, one after
    /// another), then the in-region tiers in order, then the cross-region walk and the
    /// script only when they are needed.
    async fn evaluate_serially(
        &self,
        run: &Run<'_>,
        cx: &Context<'_>,
        facts: &crate::facts::ResolutionFacts<'_>,
        full: bool,
    ) -> Steps {
        facts.caller().await;
        facts.choices().await;
        let _ = facts.allowed_images(run.region).await;
        let in_steps = self.in_region(cx, run.deadline, !full).await;
        let found = in_steps.iter().any(|(_, s)| s.found().is_some());
        let script_first = run.strategy == AmiStrategy::AmiFallback;
        let cross_region = if run.fallback != FallbackStrategy::CrossRegion {
            Step::NotRun(NotTried::FallbackStrategy {
                fallback: run.fallback,
            })
        } else if found && !full && !script_first {
            Step::NotRun(not_needed(&in_steps))
        } else {
            self.run_tier(cx, self.inner.tiers.cross_region.as_ref(), run.deadline)
                .await
        };
        let script = if run.strategy == AmiStrategy::AmiRequired {
            Step::NotRun(NotTried::AmiRequired)
        } else if !(script_first || full) && run.fallback == FallbackStrategy::Error {
            Step::NotRun(NotTried::FallbackStrategy {
                fallback: FallbackStrategy::Error,
            })
        } else if found && !full && !script_first {
            Step::NotRun(not_needed(&in_steps))
        } else {
            self.run_tier(cx, self.inner.tiers.script.as_ref(), None)
                .await
        };
        Steps {
            in_region: in_steps,
            cross_region,
            script,
            notes: facts.errors(),
        }
    }

    /// The estimate of launching what `tier` found.
    fn estimate(&self, run: &Run<'_>, tier: &ResolutionMethod, found: &Found) -> Estimate {
        let model = &self.inner.model;
        let hourly = found.choice.hourly_price_usd;
        let (launch, setup, copy_cost) = match tier {
            ResolutionMethod::ScriptProvisioning => {
                let t = model.script_time(run.template);
                (t, t, None)
            }
            ResolutionMethod::CrossRegion => {
                let launch = model.image_launch_time(&ResolutionMethod::DirectMapping);
                let copy = found.copy_plan.as_ref();
                (
                    launch + copy.map(|p| p.estimated_duration).unwrap_or_default(),
                    launch,
                    copy.map(CopyPlan::total_cost_usd),
                )
            }
            other => {
                let t = model.image_launch_time(other);
                (t, t, None)
            }
        };
        Estimate {
            launch_time: launch,
            hourly_price_usd: hourly,
            setup_cost_usd: hourly.map(|h| h * setup.as_secs_f64() / 3600.0),
            copy_cost_usd: copy_cost,
        }
    }

    /// Applies the strategy to the steps: the resolution (or the error) and the chain.
    fn decide(
        &self,
        run: &Run<'_>,
        steps: &Steps,
    ) -> (Result<Resolution, ResolveError>, Vec<ChainEntry>) {
        let image_pick = steps
            .in_region
            .iter()
            .position(|(_, s)| s.found().is_some())
            .map(Pick::InRegion);
        let cross = steps
            .cross_region
            .found()
            .is_some()
            .then_some(Pick::CrossRegion);
        let script = steps.script.found().is_some().then_some(Pick::Script);
        let best_image = image_pick.or(cross);
        let mut warnings = Vec::new();

        let (chosen, alternative) = match run.strategy {
            AmiStrategy::AmiRequired => (best_image, None),
            AmiStrategy::AmiFallback => match script {
                Some(s) => (Some(s), best_image),
                None => {
                    if best_image.is_some()
                        && let Step::Ran {
                            attempt: Attempt::Skipped(why),
                            ..
                        } = &steps.script
                    {
                        warnings.push(Warning::ScriptNotPossible {
                            because: why.clone(),
                        });
                    }
                    (best_image, None)
                }
            },
            _ => match (image_pick, run.fallback) {
                (Some(p), _) => (Some(p), None),
                (None, FallbackStrategy::CrossRegion) => match (cross, script) {
                    (Some(c), Some(s)) => {
                        let ec = self.pick_estimate(run, steps, c);
                        let es = self.pick_estimate(run, steps, s);
                        let script_wins = match (&ec, &es, self.inner.workload) {
                            (Some(ec), Some(es), Workload::Batch) => {
                                total_cost(es) < total_cost(ec)
                            }
                            (Some(ec), Some(es), _) => es.launch_time < ec.launch_time,
                            _ => false,
                        };
                        if script_wins {
                            (Some(s), Some(c))
                        } else {
                            (Some(c), Some(s))
                        }
                    }
                    (c, s) => (c.or(s), None),
                },
                (None, FallbackStrategy::Error) => (None, None),
                (None, _) => (script, None),
            },
        };

        // The chain, with `used` on the tiers whose answers the decision needed.
        let mut chain: Vec<ChainEntry> = Vec::new();
        let first_find = image_pick.map(|p| match p {
            Pick::InRegion(i) => i,
            _ => 0,
        });
        for (i, (tier, step)) in steps.in_region.iter().enumerate() {
            let mut entry = step.entry(tier, run.timeout);
            entry.used = first_find.is_none_or(|f| i <= f) && !matches!(step, Step::NotRun(_));
            chain.push(entry);
        }
        for (pick, tier, step) in [
            (
                Pick::CrossRegion,
                ResolutionMethod::CrossRegion,
                &steps.cross_region,
            ),
            (
                Pick::Script,
                ResolutionMethod::ScriptProvisioning,
                &steps.script,
            ),
        ] {
            let mut entry = step.entry(&tier, run.timeout);
            entry.used = chosen == Some(pick)
                || alternative == Some(pick)
                || (chosen.is_none() && !matches!(step, Step::NotRun(_)));
            chain.push(entry);
        }
        for e in &chain {
            match &e.outcome {
                Outcome::Failed { error } | Outcome::CutOffByFaults { error, .. }
                    if chosen.is_some() =>
                {
                    warnings.push(Warning::TierFailed {
                        tier: e.tier.clone(),
                        error: error.clone(),
                    });
                }
                Outcome::TimedOut { .. } => warnings.push(Warning::TierTimedOut {
                    tier: e.tier.clone(),
                    elapsed_ms: e.elapsed_ms,
                }),
                _ => {}
            }
        }

        let Some((chosen, (tier, found))) =
            chosen.and_then(|p| self.pick_found(steps, p).map(|f| (p, f)))
        else {
            return (
                Err(ResolveError::no_image(
                    &run.template.name,
                    run.region,
                    run.strategy,
                    chain.clone(),
                )),
                chain,
            );
        };
        let estimate = self.estimate(run, &tier, found);
        let notes = steps
            .notes
            .iter()
            .map(|note| Warning::InstanceTypes { note: note.clone() });
        for w in notes.chain(found.warnings.iter().cloned()) {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        match chosen {
            Pick::CrossRegion => {
                if let Some(plan) = &found.copy_plan {
                    warnings.push(Warning::CopyFirst { plan: plan.clone() });
                }
            }
            Pick::Script if run.strategy != AmiStrategy::AmiFallback => {
                warnings.push(Warning::ScriptProvisioning {
                    region: run.region.clone(),
                    template: run.template.name.clone(),
                    minutes: estimate.launch_time.as_secs().div_ceil(60),
                });
            }
            _ => {}
        }
        let alternative = alternative.and_then(|alt| {
            let (tier, f) = self.pick_found(steps, alt)?;
            Some(Alternative {
                estimate: self.estimate(run, &tier, f),
                method: tier,
                image: f.image.clone(),
                instance_type: f.choice.instance_type.clone(),
                copy_plan: f.copy_plan.clone(),
            })
        });
        let resolution = Resolution {
            template: run.template.name.clone(),
            region: run.region.clone(),
            strategy: run.strategy,
            method: tier,
            image: found.image.clone(),
            architecture: found.choice.architecture,
            instance_type: found.choice.instance_type.clone(),
            runs_user_data: chosen == Pick::Script,
            chain: chain.clone(),
            warnings,
            estimate,
            copy_plan: found.copy_plan.clone(),
            alternative,
        };
        (Ok(resolution), chain)
    }

    fn pick_found<'s>(
        &self,
        steps: &'s Steps,
        pick: Pick,
    ) -> Option<(ResolutionMethod, &'s Found)> {
        let (tier, step) = match pick {
            Pick::InRegion(i) => {
                let (tier, step) = steps.in_region.get(i)?;
                (tier.clone(), step)
            }
            Pick::CrossRegion => (ResolutionMethod::CrossRegion, &steps.cross_region),
            Pick::Script => (ResolutionMethod::ScriptProvisioning, &steps.script),
        };
        step.found().map(|f| (tier, f))
    }

    fn pick_estimate(&self, run: &Run<'_>, steps: &Steps, pick: Pick) -> Option<Estimate> {
        let (tier, found) = self.pick_found(steps, pick)?;
        Some(self.estimate(run, &tier, found))
    }

    /// Drops the cached resolutions of `region`: call it after something changed there
    /// that a resolution may find (a copy landed, an image was shared or deregistered).
    pub fn forget_region(&self, region: &Region) {
        self.inner.cache.invalidate(|k| &k.region == region);
    }
}

/// The not-run reason of a tier made unnecessary by the in-region find in `steps`.
fn not_needed(steps: &[(ResolutionMethod, Step)]) -> NotTried {
    NotTried::NotNeeded {
        winner: steps
            .iter()
            .find(|(_, s)| s.found().is_some())
            .map(|(t, _)| t.clone()),
    }
}

/// Whether the in-region steps so far decide the answer: a find with every tier before it
/// done, or every tier done.
fn decided(steps: &[Option<Step>]) -> bool {
    for step in steps {
        match step {
            None => return false,
            Some(s) if s.found().is_some() => return true,
            Some(_) => {}
        }
    }
    true
}

fn total_cost(e: &Estimate) -> f64 {
    e.setup_cost_usd.unwrap_or(f64::INFINITY) + e.copy_cost_usd.unwrap_or(0.0)
}

pub(crate) fn fallback_name(f: FallbackStrategy) -> &'static str {
    match f {
        FallbackStrategy::Error => "error",
        FallbackStrategy::CrossRegion => "cross_region",
        _ => "script_provisioning",
    }
}

/// The template's content hash for the cache: its whole serialised form streamed into
/// SipHash (no copy, no intermediate value), so that a cache hit costs a few microseconds.
///
/// It keys on everything, `user_data` included (whose presence decides the script tier),
/// so it never joins templates that could resolve differently; it is stricter than
/// `Template::fingerprint`, which ignores fields resolution does not read and normalises
/// equivalent spellings, and about ten times cheaper. 64 bits keep collisions between the
/// templates of one process out of reach.
fn fingerprint(template: &Template) -> u64 {
    use std::hash::Hasher;
    struct HashWriter(std::collections::hash_map::DefaultHasher);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = HashWriter(std::collections::hash_map::DefaultHasher::new());
    // Writing into a hasher cannot fail, and a template always serialises (its maps have
    // string keys); should it ever fail, the partial hash still differs per template.
    let _ = serde_json::to_writer(&mut writer, template);
    writer.0.finish()
}
