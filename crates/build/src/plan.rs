//! The dry run: the stages a build would run, where, what the cloud's tags show already
//! done, and the estimated time and cost. It makes no mutating call.

use std::time::Duration;

use amiref_core::{AmiId, Architecture, InstanceType, Region};
use amiref_lifecycle::{AuditOutcome, AuditRecord};
use amiref_resolver::EstimateModel;
use serde_json::json;

use crate::BuildId;
use crate::builder::Builder;
use crate::cleanup::{CleanupReport, sweep_dry};
use crate::error::BuildError;
use crate::events::Stage;
use crate::run::Run;
use crate::spec::BuildSpec;
use crate::state::{BuildState, ImageProgress};

/// Stopping an instance before its capture, assumed.
const STOP_ESTIMATE: Duration = Duration::from_secs(60);

/// What a build of a template would do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct BuildPlan {
    /// The template.
    pub template: String,
    /// The version it would be built as.
    pub version: Option<String>,
    /// Where it would be built and tested.
    pub home: Region,
    /// Every region it would be distributed to, home first.
    pub regions: Vec<Region>,
    /// Expired leftovers the build's sweep would remove first (nothing was removed).
    pub leftovers: CleanupReport,
    /// One image per architecture.
    pub images: Vec<PlannedImage>,
    /// The assumptions behind every estimate: none of the figures is measured.
    pub estimate_inputs: Vec<String>,
}

/// The build of one architecture's image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PlannedImage {
    /// The build's id (the tag its resources would carry).
    pub build: BuildId,
    /// The architecture.
    pub architecture: Architecture,
    /// The base image the resolver chose and the trust rules passed.
    pub base_image: AmiId,
    /// Its name.
    pub base_image_name: String,
    /// The builder's and tester's instance type.
    pub instance_type: InstanceType,
    /// The build fingerprint.
    pub build_fingerprint: String,
    /// Each stage after the base, with its estimate.
    pub stages: Vec<PlannedStage>,
    /// Estimated wall time: provision, capture and test, then the slowest copy (copies run
    /// concurrently), seconds. Stages already done count nothing.
    pub estimated_secs: u64,
    /// Estimated cost: instance time, copy transfer, and one month of snapshot storage in
    /// every region, USD; `None` when the instance type's price is unknown.
    pub estimated_cost_usd: Option<f64>,
}

/// One stage of a planned build.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PlannedStage {
    /// The stage.
    pub stage: Stage,
    /// Whether an earlier run completed it (a build would skip it).
    pub done: bool,
    /// What it would do.
    pub action: String,
    /// Estimated time on the build's critical path, seconds.
    pub estimated_secs: u64,
    /// Estimated cost, USD; `None` when a price is unknown.
    pub estimated_cost_usd: Option<f64>,
}

impl Builder<'_> {
    /// Plans `spec` without changing anything: the base image each architecture would be
    /// built from (resolved through the trust rules), the stages an earlier run's tags show
    /// done, the leftovers a sweep would remove, and estimated time and cost from the
    /// resolver's estimate model. One audit record says the plan was made.
    pub async fn plan(&self, spec: &BuildSpec) -> Result<BuildPlan, BuildError> {
        crate::validate::validate(spec, self.lifecycle.waits().timeout)?;
        let home = spec.home()?.clone();
        let leftovers = sweep_dry(self.lifecycle, &spec.regions).await?;
        let architectures = spec.architecture_choices();
        let mut images = Vec::new();
        for architecture in architectures {
            let run = self.prepare(spec, architecture).await?;
            let state = BuildState::read(self.lifecycle, &run.build, &home)
                .await
                .map_err(|cause| BuildError::Base {
                    template: spec.template.name.clone(),
                    region: home.clone(),
                    cause: Box::new(cause),
                })?;
            images.push(plan_image(&run, &state, self.resolver.estimate_model()));
        }
        let plan = BuildPlan {
            template: spec.template.name.clone(),
            version: spec.effective_version().map(str::to_owned),
            home: home.clone(),
            regions: spec.regions.clone(),
            leftovers,
            images,
            estimate_inputs: estimate_inputs(self.resolver.estimate_model()),
        };
        let actor = amiref_lifecycle::Actor::from(
            self.lifecycle
                .caller()
                .await
                .map_err(BuildError::Lifecycle)?,
        );
        let record = AuditRecord::new(actor, "build", AuditOutcome::Planned)
            .region(&home)
            .target(&spec.template.name)
            .dry_run(true)
            .details(json!({
                "regions": spec.regions,
                "builds": plan.images.iter().map(|i| &i.build).collect::<Vec<_>>(),
            }));
        self.lifecycle
            .record(record)
            .map_err(BuildError::Lifecycle)?;
        Ok(plan)
    }
}

/// One architecture's plan.
fn plan_image(run: &Run<'_>, state: &BuildState, model: &EstimateModel) -> PlannedImage {
    let progress = state.image().map(|(_, p)| p);
    let done = |stage: Stage| match (stage, progress) {
        (Stage::Provision | Stage::Capture, Some(_)) => true,
        (Stage::Test, Some(p)) => p >= ImageProgress::Tested,
        _ => false,
    };
    let base = &run.base.image;
    let size = model.image_size_gib(base);
    let hourly = model
        .instance_prices
        .hourly(&run.home, &run.base.instance_type);
    let instance_cost = |d: Duration| hourly.map(|h| h * d.as_secs_f64() / 3600.0);
    let provision = run.base.resolution.estimate.launch_time;
    let capture = STOP_ESTIMATE
        + model.copy_overhead
        + Duration::from_secs_f64(
            size as f64 / model.copy_gib_per_minute.max(f64::MIN_POSITIVE) * 60.0,
        );
    let test = model.direct_mapping_launch;
    let home_storage = size as f64 * model.region_prices.snapshot_storage_per_gb_month(&run.home);
    let copies: Vec<_> = run
        .spec
        .regions
        .iter()
        .filter(|r| **r != run.home)
        .map(|r| model.copy(base, r))
        .collect();
    let slowest = copies.iter().map(|c| c.duration).max().unwrap_or_default();
    let copy_cost: f64 = copies
        .iter()
        .map(|c| c.transfer_cost_usd + c.storage_cost_usd_per_month)
        .sum();
    let stage = |stage, action: String, time: Duration, cost: Option<f64>| {
        let done = done(stage);
        PlannedStage {
            stage,
            done,
            action,
            estimated_secs: if done { 0 } else { time.as_secs() },
            estimated_cost_usd: if done { Some(0.0) } else { cost },
        }
    };
    let stages = vec![
        stage(
            Stage::Provision,
            format!(
                "launch {} from {} in {} (IMDSv2 required) and run user_data",
                run.base.instance_type, base.id, run.home
            ),
            provision,
            instance_cost(provision),
        ),
        stage(
            Stage::Capture,
            "stop the builder and create the image".to_owned(),
            capture,
            instance_cost(capture).map(|c| c + home_storage),
        ),
        stage(
            Stage::Test,
            "boot the image on a fresh instance and run build.test".to_owned(),
            test,
            instance_cost(test),
        ),
        stage(
            Stage::Distribute,
            match copies.len() {
                0 => "no copy (one region); share, publish".to_owned(),
                1 => format!(
                    "copy to {}, share, publish",
                    run.spec
                        .regions
                        .iter()
                        .find(|r| **r != run.home)
                        .map_or("", |r| r.as_str())
                ),
                n => format!("copy to {n} regions concurrently, share, publish"),
            },
            slowest,
            Some(copy_cost),
        ),
        stage(
            Stage::Cleanup,
            "terminate the instances, delete the temporary group (overlaps the copies)".to_owned(),
            Duration::ZERO,
            Some(0.0),
        ),
    ];
    let estimated_secs = stages.iter().map(|s| s.estimated_secs).sum();
    let estimated_cost_usd = stages
        .iter()
        .map(|s| s.estimated_cost_usd)
        .sum::<Option<f64>>();
    PlannedImage {
        build: run.build.clone(),
        architecture: run.base.architecture,
        base_image: base.id.clone(),
        base_image_name: base.name.clone(),
        instance_type: run.base.instance_type.clone(),
        build_fingerprint: run.build_fingerprint.clone(),
        stages,
        estimated_secs,
        estimated_cost_usd,
    }
}

/// The model's stated inputs and the build's own assumptions.
fn estimate_inputs(model: &EstimateModel) -> Vec<String> {
    let mut inputs = model.stated_inputs();
    inputs.extend([
        "provision: the resolver's script estimate (launch + provisioning_time)".to_owned(),
        format!(
            "capture: {} s to stop + a snapshot of the base image's size at the copy throughput",
            STOP_ESTIMATE.as_secs()
        ),
        "test: boot to ready as a direct-mapped launch".to_owned(),
        "the image is assumed the base image's size; storage is one month in every region"
            .to_owned(),
    ]);
    inputs
}
