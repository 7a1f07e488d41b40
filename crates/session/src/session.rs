//! The session: one cloud, one region, one trust policy, the resolver over them, and the
//! operations every frontend offers.

use std::sync::Arc;

use amiref_core::{Cloud, Region};
use amiref_lifecycle::{AuditSink, CopyLimits, Lifecycle, ProgressSink};
use amiref_registry::Registry;
use amiref_resolver::{
    Clock, Preview, Resolution, ResolveError, ResolveOptions, Resolver, Workload,
};
use amiref_strategies::TrustPolicy;
use amiref_template::Template;
use chrono::{DateTime, Utc};

use crate::SessionError;
use crate::config::LoadedConfig;
use crate::registries::{Registries, RegistrySettings};
use crate::templates::TemplateLibrary;
use crate::world::WorldSession;

/// What a [`crate::SessionBuilder`] assembled.
pub(crate) struct SessionParts {
    pub(crate) cloud: Arc<dyn Cloud>,
    pub(crate) region: Region,
    pub(crate) resolver: Resolver,
    pub(crate) trust: TrustPolicy,
    pub(crate) registries: Option<Registries>,
    pub(crate) registry_settings: RegistrySettings,
    pub(crate) world: Option<WorldSession>,
    pub(crate) audit: Arc<dyn AuditSink>,
    pub(crate) clock: Clock,
    pub(crate) templates: TemplateLibrary,
    pub(crate) workload: Workload,
    pub(crate) config: LoadedConfig,
    pub(crate) copy_limits: Arc<CopyLimits>,
    /// The circuit beneath the session's cloud, when regions are given up.
    pub(crate) circuit: Option<Arc<amiref_layers::Circuit>>,
    /// Where launches are recorded for the planner; `None`: nowhere (no state home).
    pub(crate) launch_log: Option<std::path::PathBuf>,
    /// The audit log file (the same sink as `audit`); `None` when the frontend handed in
    /// its own sink.
    pub(crate) audit_log: Option<Arc<amiref_audit::FileAuditLog>>,
}

/// Everything a frontend needs to resolve, launch and manage images, built once from
/// configuration ([`crate::SessionBuilder`]). Operations return typed plans and reports;
/// rendering them is the frontend's (or `amiref-report`'s) job, and decisions that need a
/// person are asked through [`crate::Decisions`].
pub struct Session {
    parts: SessionParts,
}

/// The clock a session judges ages and deprecation by: the world's on a world (it follows
/// tokio's clock), else the wall clock.
pub(crate) fn clock_of(world: Option<&WorldSession>) -> Clock {
    match world {
        Some(w) => {
            let memory = w.memory().clone();
            Arc::new(move || memory.now())
        }
        None => Arc::new(Utc::now),
    }
}

impl Session {
    pub(crate) fn from_parts(parts: SessionParts) -> Self {
        Self { parts }
    }

    /// The region the session works in.
    pub fn region(&self) -> &Region {
        &self.parts.region
    }

    /// The cloud, its calls retried by the session's policy and its failing regions given
    /// up (see [`crate::SessionBuilder::with_retry_policy`]); nothing needs to retry on top.
    pub fn cloud(&self) -> &Arc<dyn Cloud> {
        &self.parts.cloud
    }

    /// What each region the session called answered, faults and throttling included, and
    /// whether it was given up; empty when the session gives no region up
    /// ([`crate::SessionBuilder::with_circuit_policy`]).
    pub fn region_health(&self) -> std::collections::BTreeMap<Region, amiref_layers::RegionHealth> {
        self.parts
            .circuit
            .as_ref()
            .map(|c| c.health())
            .unwrap_or_default()
    }

    /// The resolver over the session's cloud, trust policy and registries.
    pub fn resolver(&self) -> &Resolver {
        &self.parts.resolver
    }

    /// The owner trust policy every tier is bounded by.
    pub fn trust_policy(&self) -> &TrustPolicy {
        &self.parts.trust
    }

    /// The registries, when any are configured.
    pub fn registry(&self) -> Option<&Arc<Registry>> {
        self.parts.registries.as_ref().map(|r| &r.registry)
    }

    pub(crate) fn registries(&self) -> Option<&Registries> {
        self.parts.registries.as_ref()
    }

    pub(crate) fn registry_settings(&self) -> &RegistrySettings {
        &self.parts.registry_settings
    }

    /// A "not configured" error naming this session's configuration file.
    pub(crate) fn name_config(&self, error: SessionError) -> SessionError {
        error.in_config(self.parts.config.path.as_deref())
    }

    /// Where templates are looked up by name.
    pub fn templates(&self) -> &TemplateLibrary {
        &self.parts.templates
    }

    /// The template a name or path refers to, validated.
    pub fn template(&self, name_or_path: &str) -> Result<Template, SessionError> {
        self.parts.templates.load(name_or_path)
    }

    /// The templates `names` refer to (names or paths), validated; every template in the
    /// template directories when `names` is empty.
    pub fn templates_or_all(&self, names: &[String]) -> Result<Vec<Template>, SessionError> {
        if names.is_empty() {
            return Ok(self
                .templates()
                .all()?
                .into_iter()
                .map(|(t, _)| t)
                .collect());
        }
        names.iter().map(|name| self.template(name)).collect()
    }

    /// The configuration the session was built from.
    pub fn config(&self) -> &LoadedConfig {
        &self.parts.config
    }

    /// What the instances are for.
    pub fn workload(&self) -> Workload {
        self.parts.workload
    }

    /// Where audit records go.
    pub fn audit(&self) -> &Arc<dyn AuditSink> {
        &self.parts.audit
    }

    /// The audit log records go to (the world's own on a world); `None` when the
    /// frontend handed in its own sink (`SessionBuilder::with_audit`).
    pub fn audit_log(&self) -> Option<&amiref_audit::FileAuditLog> {
        self.parts.audit_log.as_deref()
    }

    /// Where launches are recorded for the planner (`build.launch_log`, else
    /// `launches.jsonl` in the world's state directory or the state home).
    pub fn launch_log(&self) -> Option<&std::path::Path> {
        self.parts.launch_log.as_deref()
    }

    /// The session's time: the world's on a world, else the wall clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.parts.clock)()
    }

    /// Whether the session runs on a world (simulated cloud and time).
    pub fn is_world(&self) -> bool {
        self.parts.world.is_some()
    }

    /// The in-process cloud, on a world.
    pub fn world(&self) -> Option<&Arc<amiref_memory::MemoryCloud>> {
        self.parts.world.as_ref().map(WorldSession::memory)
    }

    pub(crate) fn world_session(&self) -> Option<&WorldSession> {
        self.parts.world.as_ref()
    }

    /// The copy limits every lifecycle operation of this session shares.
    pub fn copy_limits(&self) -> &Arc<CopyLimits> {
        &self.parts.copy_limits
    }

    /// The lifecycle operations on this session's cloud, audit sink, clock and copy limits,
    /// reporting progress to `progress`. The session's cloud already retries, so the
    /// lifecycle's own retry policy is [`amiref_lifecycle::RetryPolicy::never`].
    pub fn lifecycle<'a>(&'a self, progress: &'a dyn ProgressSink) -> Lifecycle<'a> {
        let clock = self.parts.clock.clone();
        Lifecycle::new(self.parts.cloud.as_ref(), self.parts.audit.as_ref())
            .retry_policy(amiref_lifecycle::RetryPolicy::never())
            .progress(progress)
            .copy_limits(self.parts.copy_limits.clone())
            .clock(move || clock())
    }

    /// The regions "all regions" means: on a world, the commercial regions the world
    /// defines; on AWS, every commercial region enabled by default (opt-in regions such as
    /// af-south-1 are left out: an account that has not enabled them gets only errors
    /// there; name them explicitly instead).
    pub fn all_regions(&self) -> Vec<Region> {
        let commercial = amiref_regions::commercial_regions();
        match self.world() {
            Some(world) => {
                let defined = world.regions();
                commercial
                    .map(|r| r.code.clone())
                    .filter(|r| defined.contains(r))
                    .collect()
            }
            None => commercial
                .filter(|r| !r.opt_in)
                .map(|r| r.code.clone())
                .collect(),
        }
    }

    /// Resolves `template` in `region` (the session's when `None`).
    pub async fn resolve(
        &self,
        template: &Template,
        region: Option<&Region>,
        options: &ResolveOptions,
    ) -> Result<Resolution, ResolveError> {
        let region = region.unwrap_or(&self.parts.region);
        self.parts
            .resolver
            .resolve_with(template, region, options)
            .await
    }

    /// The dry run of a resolution: every tier's outcome, the chain and the cost comparison.
    pub async fn preview(
        &self,
        template: &Template,
        region: Option<&Region>,
        options: &ResolveOptions,
    ) -> Preview {
        let region = region.unwrap_or(&self.parts.region);
        self.parts.resolver.preview(template, region, options).await
    }

    /// Ends the session: on a world, saves its state for the next session. A session
    /// dropped without `finish` keeps nothing it changed.
    pub async fn finish(self) -> Result<(), SessionError> {
        match &self.parts.world {
            Some(world) => world.save(),
            None => Ok(()),
        }
    }
}
