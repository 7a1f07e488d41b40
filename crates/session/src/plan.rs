//! `amiref plan`: which templates deserve pre-built images, and where (amiref-plan's model
//! over this session's templates, launch log, usage file, images and prices); `--apply`
//! carries the plan out through the build and the lifecycle's one copy engine, and
//! proposes the retirements it finds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use amiref_build::{BuildEventSink, BuildOutcome, BuildReport};
use amiref_core::{AmiId, Architecture, ImageFilter, Owner, Region};
use amiref_lifecycle::{ProgressSink, tags::TAG_TEMPLATE};
use amiref_plan::{
    LaunchLog, MeasuredTimes, Plan, PlanAction, PlanInputs, PlanModel, RetireProposal,
    TemplateInput, UsageFile, image_signals,
};
use serde::Serialize;

use crate::{BuildRequest, Session, SessionError};

/// How many image-usage questions the planner asks at once.
const USAGE_CONCURRENCY: usize = 8;

/// `amiref plan`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanRequest {
    /// The templates to plan for (names or paths); empty: every template in the template
    /// directories.
    pub templates: Vec<String>,
    /// The regions (the matrix's columns); `None`: every region of the session.
    pub regions: Option<Vec<Region>>,
    /// A usage file (launches per template, region and month) over the configuration's.
    pub usage: Option<PathBuf>,
    /// What an hour of a researcher's waiting is worth, in USD (default 0: only instance
    /// time counts).
    pub waiting_hour_usd: Option<f64>,
}

/// What `plan --apply` did.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PlanApplyReport {
    /// The plan carried out.
    pub plan: Plan,
    /// The builds, one per template and architecture the plan builds.
    pub builds: Vec<BuildReport>,
    /// The copies from a region other than a build's home, as (from, to, image).
    pub copies: Vec<AppliedCopy>,
    /// Retirements proposed, never carried out by `--apply`: `amiref ami retire` does them.
    pub retire_proposals: Vec<RetireProposal>,
}

/// One copy `--apply` made (or found made) outside a build.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct AppliedCopy {
    /// The template.
    pub template: String,
    /// The architecture.
    pub architecture: Architecture,
    /// The source region.
    pub from: Region,
    /// The destination.
    pub to: Region,
    /// The copy.
    pub image: AmiId,
}

impl Session {
    /// `amiref plan`: gathers the inputs (templates, the launch log, usage files, the
    /// images the account holds for the templates and what uses them, this session's
    /// prices) and plans. Reads only.
    pub async fn plan_prebuilds(&self, request: &PlanRequest) -> Result<Plan, SessionError> {
        let templates = self.templates_or_all(&request.templates)?;
        let regions = request
            .regions
            .clone()
            .unwrap_or_else(|| self.all_regions());
        let mut inputs = PlanInputs::new(self.now()).regions(regions.iter().cloned());
        for template in templates {
            let measured = self.measured_in_registry(&template.name);
            let mut input = TemplateInput::new(template);
            if let Some(measured) = measured {
                input = input.with_measured(measured);
            }
            inputs = inputs.template(input);
        }
        if let Some(log) = self.launch_log().filter(|p| p.is_file()) {
            inputs = inputs.launch_log(LaunchLog::read(log)?);
        }
        let usage = [&self.config().config.build.usage, &request.usage];
        for path in usage.into_iter().flatten() {
            inputs = inputs.usage(UsageFile::from_file(path)?);
        }
        let images = self.template_images(&regions).await?;
        let signals = image_signals(self.cloud().as_ref(), images, USAGE_CONCURRENCY).await;
        inputs = inputs.images(signals);
        // No configured home: each template is built where it is launched most.
        let mut model =
            PlanModel::default().with_estimates(self.resolver().estimate_model().clone());
        if let Some(usd) = request.waiting_hour_usd {
            model = model.with_waiting_hour_usd(usd);
        }
        Ok(amiref_plan::plan(&inputs, &model))
    }

    /// `amiref plan --apply`: builds each template the plan builds in its home region and
    /// copies to the regions the plan copies to, through the one build and copy engine
    /// (resumable, idempotent, audited). Retirements are proposed, not made.
    pub async fn apply_plan(
        &self,
        plan: &Plan,
        events: &dyn BuildEventSink,
        progress: &dyn ProgressSink,
    ) -> Result<PlanApplyReport, SessionError> {
        let actions = plan.actions();
        let mut builds = Vec::new();
        // Where each template and architecture has an image: what the plan found, then
        // what builds and copies add.
        let mut images: BTreeMap<(String, Architecture), BTreeMap<Region, AmiId>> = plan
            .rows
            .iter()
            .map(|row| {
                (
                    (row.template.clone(), row.architecture),
                    row.present_images(),
                )
            })
            .collect();
        for action in &actions {
            let PlanAction::Build {
                template,
                architecture,
                region,
            } = action
            else {
                continue;
            };
            let copies_from_home = actions.iter().filter_map(|a| match a {
                PlanAction::Copy {
                    template: t,
                    architecture: a,
                    from,
                    to,
                } if t == template && a == architecture && from == region => Some(to.clone()),
                _ => None,
            });
            let regions = std::iter::once(region.clone())
                .chain(copies_from_home)
                .collect();
            let request = BuildRequest::new(template.clone())
                .regions(regions)
                .architectures(vec![*architecture]);
            if let BuildOutcome::Built(report) = self.build(&request, events).await? {
                for built in &report.images {
                    images
                        .entry((template.clone(), *architecture))
                        .or_default()
                        .extend(built.distribution.images.clone());
                }
                builds.push(report);
            }
        }
        let copies = self.apply_copies(&actions, &mut images, progress).await?;
        Ok(PlanApplyReport {
            plan: plan.clone(),
            builds,
            copies,
            retire_proposals: plan.retire.clone(),
        })
    }

    /// The plan's copies whose source is not a build's home, in the plan's order (a copy's
    /// source is a region an earlier action gave an image).
    async fn apply_copies(
        &self,
        actions: &[PlanAction],
        images: &mut BTreeMap<(String, Architecture), BTreeMap<Region, AmiId>>,
        progress: &dyn ProgressSink,
    ) -> Result<Vec<AppliedCopy>, SessionError> {
        let mut applied = Vec::new();
        for action in actions {
            let PlanAction::Copy {
                template,
                architecture,
                from,
                to,
            } = action
            else {
                continue;
            };
            let held = images.entry((template.clone(), *architecture)).or_default();
            if held.contains_key(to) {
                continue;
            }
            let Some(source) = held.get(from).cloned() else {
                return Err(SessionError::InvalidInput {
                    field: "plan".into(),
                    found: format!("a copy of {template} ({architecture}) from {from} to {to}"),
                    expected: format!("an image of {template} in {from} to copy from"),
                });
            };
            let copied = self
                .lifecycle(progress)
                .copy_to_region(from, &source, to)
                .await?;
            self.resolver().forget_region(to);
            held.insert(to.clone(), copied.id.clone());
            applied.push(AppliedCopy {
                template: template.clone(),
                architecture: *architecture,
                from: from.clone(),
                to: to.clone(),
                image: copied.id,
            });
        }
        Ok(applied)
    }

    /// The script and image times the newest registry entry of `template` records as
    /// measured by its build, if any entry holds both.
    fn measured_in_registry(&self, template: &str) -> Option<MeasuredTimes> {
        let registry = self.registry()?;
        let mut entries = registry.entries_for(template);
        entries.sort_by(|a, b| b.version.cmp(&a.version));
        entries.iter().find_map(|admitted| {
            MeasuredTimes::from_verification(admitted.entry.verification.as_ref()?)
        })
    }

    /// The account's images made from templates (tagged `amiref:template`), deprecated
    /// ones included, in every region of `regions`.
    async fn template_images(
        &self,
        regions: &[Region],
    ) -> Result<Vec<amiref_core::Image>, SessionError> {
        let filter = ImageFilter::owned_by([Owner::Me])
            .tag(TAG_TEMPLATE, None)
            .include_deprecated(true);
        let found = futures::future::join_all(
            regions
                .iter()
                .map(|region| self.cloud().search_images(region, &filter)),
        )
        .await;
        let mut images = Vec::new();
        for (region, result) in regions.iter().zip(found) {
            images.extend(result.map_err(|e| {
                SessionError::cloud(format!("listing the account's images in {region}"), e)
            })?);
        }
        Ok(images)
    }
}
