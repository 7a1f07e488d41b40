//! Planning a launch and carrying the plan out: resolve, the prefer-script swap, approve
//! the copy, copy (through the lifecycle's one copy engine), and RunInstances with the
//! standard tags.

use std::time::Duration;

use amiref_core::{
    Architecture, Image, InstanceId, InstanceType, Region, ResolutionMethod, RunInstanceRequest,
};
use amiref_lifecycle::tags::{TAG_TEMPLATE, TAG_TEMPLATE_VERSION, token_from};
use amiref_lifecycle::{Actor, AuditOutcome, AuditRecord, ProgressSink};
use amiref_resolver::{Alternative, Estimate, Preview, Resolution, ResolveOptions, Workload};
use amiref_strategies::CopyPlan;
use amiref_template::{AmiStrategy, Template};
use serde::Serialize;

use crate::{Session, SessionError};

/// What to launch.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LaunchRequest {
    /// The template.
    pub template: Template,
    /// The instance's name (its `Name` tag).
    pub name: String,
    /// Where (the session's region when `None`).
    pub region: Option<Region>,
    /// Only this architecture.
    pub architecture: Option<Architecture>,
    /// Provision with the template's script even when an image exists; launching asks
    /// ([`Decisions::keep_script`]) when the image would be usable sooner.
    pub prefer_script: bool,
}

impl LaunchRequest {
    /// Launch `template` as an instance named `name`.
    pub fn new(template: Template, name: impl Into<String>) -> Self {
        Self {
            template,
            name: name.into(),
            region: None,
            architecture: None,
            prefer_script: false,
        }
    }

    /// In this region.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Only this architecture.
    #[must_use]
    pub fn architecture(mut self, architecture: Architecture) -> Self {
        self.architecture = Some(architecture);
        self
    }

    /// Prefer the script.
    #[must_use]
    pub fn prefer_script(mut self, prefer: bool) -> Self {
        self.prefer_script = prefer;
        self
    }

    /// How the resolution behind this launch is asked for: the architecture, and with the
    /// script preferred, the template's script first and the best image kept as the
    /// alternative (exactly `ami_fallback`).
    fn resolve_options(&self) -> ResolveOptions {
        let mut options = ResolveOptions::default();
        if let Some(arch) = self.architecture {
            options = options.architecture(arch);
        }
        if self.prefer_script {
            options = options.strategy(AmiStrategy::AmiFallback);
        }
        options
    }
}

/// One way of launching.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct LaunchChoice {
    /// How the image was found (or that the script provisions a base image).
    pub method: ResolutionMethod,
    /// The image to boot; for a cross-region choice, the source of the copy.
    pub image: amiref_core::AmiId,
    /// Its name.
    pub image_name: String,
    /// The instance type.
    pub instance_type: InstanceType,
    /// Whether the template's `user_data` runs at boot.
    pub runs_user_data: bool,
    /// The copy to make first, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyPlan>,
    /// Time until usable, including the copy and the script.
    pub launch_time_secs: u64,
    /// The instance type's on-demand price, USD per hour, if known.
    pub hourly_price_usd: Option<f64>,
    /// Instance time before the instance is usable, priced.
    pub setup_cost_usd: Option<f64>,
    /// The copy's transfer plus one month of its storage, USD.
    pub copy_cost_usd: Option<f64>,
}

impl LaunchChoice {
    fn new(
        method: ResolutionMethod,
        image: &Image,
        instance_type: &InstanceType,
        runs_user_data: bool,
        copy: Option<&CopyPlan>,
        estimate: &Estimate,
    ) -> Self {
        Self {
            method,
            image: image.id.clone(),
            image_name: image.name.clone(),
            instance_type: instance_type.clone(),
            runs_user_data,
            copy: copy.cloned(),
            launch_time_secs: estimate.launch_time.as_secs(),
            hourly_price_usd: estimate.hourly_price_usd,
            setup_cost_usd: estimate.setup_cost_usd,
            copy_cost_usd: estimate.copy_cost_usd,
        }
    }

    fn of_resolution(r: &Resolution) -> Self {
        Self::new(
            r.method.clone(),
            &r.image,
            &r.instance_type,
            r.runs_user_data,
            r.copy_plan.as_ref(),
            &r.estimate,
        )
    }

    fn of_alternative(a: &Alternative) -> Self {
        Self::new(
            a.method.clone(),
            &a.image,
            &a.instance_type,
            !a.method.uses_image(),
            a.copy_plan.as_ref(),
            &a.estimate,
        )
    }

    /// The time until usable.
    pub fn launch_time(&self) -> Duration {
        Duration::from_secs(self.launch_time_secs)
    }
}

/// Why the way passed over lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PassedOverReason {
    /// The template puts the script first (`ami_fallback`).
    TemplatePutsScriptFirst,
    /// The caller asked for the script (`--prefer-script`).
    ScriptRequested,
    /// The chosen way is usable sooner (interactive workload).
    ChosenIsSooner,
    /// The chosen way costs less (batch workload).
    ChosenIsCheaper,
}

/// The way of launching that was possible but not chosen, and why.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PassedOver {
    /// The way.
    pub choice: LaunchChoice,
    /// Why it lost.
    pub reason: PassedOverReason,
}

/// A decision launching will ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Question {
    /// Approve a cross-region copy (it costs money and time).
    ApproveCopy,
    /// Keep the requested script although an image is usable sooner.
    KeepScript,
}

/// What a launch will do: the resolution, the way chosen, the way passed over, and the
/// decisions it needs. Planning has no side effects; [`Session::launch`] carries it out.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct LaunchPlan {
    /// The template's name.
    pub template: String,
    /// The instance's name.
    pub instance_name: String,
    /// Where.
    pub region: Region,
    /// The resolution behind the plan.
    pub resolution: Resolution,
    /// The way chosen.
    pub choice: LaunchChoice,
    /// The other possible way, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed_over: Option<PassedOver>,
    /// What launching will ask.
    pub questions: Vec<Question>,
    /// How long the template's script takes, for comparing with an image.
    pub script_time_secs: u64,
    #[serde(skip)]
    user_data: Option<String>,
    #[serde(skip)]
    template_version: Option<String>,
}

impl LaunchPlan {
    /// How many times sooner the chosen image is usable than the script would be, when an
    /// image is chosen in-region.
    pub fn speedup(&self) -> Option<f64> {
        let image = self.choice.launch_time_secs;
        (self.choice.method.uses_image() && self.choice.copy.is_none() && image > 0)
            .then(|| self.script_time_secs as f64 / image as f64)
    }
}

/// An answer to a [`Question`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Go ahead.
    Yes,
    /// Do not.
    No,
    /// Nobody can be asked (no terminal and no standing answer).
    CannotAsk,
}

/// The decisions a launch needs from a person or a policy. The CLI answers with prompts;
/// a service with its request's parameters ([`Policy`]).
pub trait Decisions: Send + Sync {
    /// Whether to make the plan's cross-region copy.
    fn approve_copy(&self, plan: &LaunchPlan, copy: &CopyPlan) -> Answer;
    /// Whether to keep the requested script provisioning although `faster` is usable
    /// sooner.
    fn keep_script(&self, plan: &LaunchPlan, faster: &LaunchChoice) -> Answer;
}

/// Standing answers, for frontends that cannot ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Approve cross-region copies.
    pub approve_copies: bool,
    /// Keep a requested script although an image is faster.
    pub keep_script: bool,
}

impl Decisions for Policy {
    fn approve_copy(&self, _: &LaunchPlan, _: &CopyPlan) -> Answer {
        if self.approve_copies {
            Answer::Yes
        } else {
            Answer::No
        }
    }

    fn keep_script(&self, _: &LaunchPlan, _: &LaunchChoice) -> Answer {
        if self.keep_script {
            Answer::Yes
        } else {
            Answer::No
        }
    }
}

/// What a launch did.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct LaunchReport {
    /// The plan carried out.
    pub plan: LaunchPlan,
    /// The way launched (the plan's choice, or the way passed over when a decision
    /// swapped them).
    pub launched: LaunchChoice,
    /// The image copied into the region first, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_image: Option<amiref_core::AmiId>,
    /// The instance.
    pub instance: InstanceId,
    /// Its name.
    pub instance_name: String,
    /// The image it booted.
    pub image: amiref_core::AmiId,
    /// Where.
    pub region: Region,
}

impl Session {
    /// The dry run of the resolution a launch plan would be made of (`launch --dry-run
    /// --show-ami-resolution`): every tier's outcome, the chain and the cost comparison,
    /// with the request's architecture and script preference. Nothing is changed.
    pub async fn preview_launch(&self, request: &LaunchRequest) -> Preview {
        self.preview(
            &request.template,
            request.region.as_ref(),
            &request.resolve_options(),
        )
        .await
    }

    /// Plans a launch: resolves, and says what launching will do and ask. Nothing is
    /// changed.
    pub async fn plan_launch(&self, request: &LaunchRequest) -> Result<LaunchPlan, SessionError> {
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let resolution = self
            .resolve(&request.template, Some(&region), &request.resolve_options())
            .await?;
        let choice = LaunchChoice::of_resolution(&resolution);
        let passed_over = resolution.alternative.as_ref().map(|alt| PassedOver {
            choice: LaunchChoice::of_alternative(alt),
            reason: if request.prefer_script {
                PassedOverReason::ScriptRequested
            } else if resolution.strategy == AmiStrategy::AmiFallback {
                PassedOverReason::TemplatePutsScriptFirst
            } else if self.workload() == Workload::Batch {
                PassedOverReason::ChosenIsCheaper
            } else {
                PassedOverReason::ChosenIsSooner
            },
        });
        let mut questions = Vec::new();
        let script_chosen = !choice.method.uses_image();
        if request.prefer_script
            && script_chosen
            && passed_over
                .as_ref()
                .is_some_and(|p| p.choice.launch_time_secs < choice.launch_time_secs)
        {
            questions.push(Question::KeepScript);
        }
        let copy_possible = choice.copy.is_some()
            || questions.contains(&Question::KeepScript)
                && passed_over
                    .as_ref()
                    .is_some_and(|p| p.choice.copy.is_some());
        if copy_possible {
            questions.push(Question::ApproveCopy);
        }
        let script_time = self
            .resolver()
            .estimate_model()
            .script_time(&request.template);
        Ok(LaunchPlan {
            template: request.template.name.clone(),
            instance_name: request.name.clone(),
            region,
            resolution,
            choice,
            passed_over,
            questions,
            script_time_secs: script_time.as_secs(),
            user_data: request.template.user_data.clone(),
            template_version: request.template.version.clone(),
        })
    }

    /// Carries a plan out: asks what it needs to ask, copies (the lifecycle's copy, with
    /// the same client token as `ami copy`, so every caller shares one copy), launches with
    /// the standard tags, and audits the launch.
    pub async fn launch(
        &self,
        plan: &LaunchPlan,
        decisions: &dyn Decisions,
        progress: &dyn ProgressSink,
    ) -> Result<LaunchReport, SessionError> {
        let mut launched = plan.choice.clone();
        if plan.questions.contains(&Question::KeepScript)
            && let Some(faster) = &plan.passed_over
        {
            match decisions.keep_script(plan, &faster.choice) {
                Answer::Yes => {}
                Answer::No => launched = faster.choice.clone(),
                Answer::CannotAsk => {
                    return Err(SessionError::Declined(
                        "an image is usable sooner than the requested script: confirm the script (--yes) or drop --prefer-script".into(),
                    ));
                }
            }
        }
        let mut image = launched.image.clone();
        let mut copied_image = None;
        if let Some(copy) = &launched.copy {
            match decisions.approve_copy(plan, copy) {
                Answer::Yes => {}
                Answer::No => {
                    return Err(SessionError::Declined(
                        "the cross-region copy was declined".into(),
                    ));
                }
                Answer::CannotAsk => {
                    return Err(SessionError::Declined(
                        "the launch needs a cross-region copy, and nobody can approve it here: approve it explicitly (--yes)".into(),
                    ));
                }
            }
            let copied = self.copy_for_launch(copy, progress).await?;
            image = copied.clone();
            copied_image = Some(copied);
        }
        let instance = self.run_instance(plan, &launched, &image).await?;
        self.record_launch(plan, &launched);
        Ok(LaunchReport {
            plan: plan.clone(),
            launched,
            copied_image,
            instance,
            instance_name: plan.instance_name.clone(),
            image,
            region: plan.region.clone(),
        })
    }

    /// Appends the launch to the launch log the planner reads. A record that cannot be
    /// written costs the planner one launch, never the launch itself: it is logged.
    fn record_launch(&self, plan: &LaunchPlan, launched: &LaunchChoice) {
        let Some(path) = self.launch_log() else {
            return;
        };
        let method = if launched.runs_user_data {
            amiref_plan::LaunchMethod::Script
        } else {
            amiref_plan::LaunchMethod::Image
        };
        let record = amiref_plan::LaunchRecord::new(
            plan.template.clone(),
            plan.region.clone(),
            plan.resolution.architecture,
            self.now(),
            method,
        );
        let written = crate::error::create_parent(path, "create the launch log's directory")
            .map_err(|e| e.to_string())
            .and_then(|()| amiref_plan::LaunchLog::open(path).map_err(|e| e.to_string()))
            .and_then(|log| log.append(&record).map_err(|e| e.to_string()));
        if let Err(error) = written {
            tracing::warn!(log = %path.display(), %error, "the launch was not recorded for the planner");
        }
    }

    /// The lifecycle's one copy into a region: the same search, client token, tags and
    /// audit record as `ami copy`, so every caller shares one copy.
    async fn copy_for_launch(
        &self,
        copy: &CopyPlan,
        progress: &dyn ProgressSink,
    ) -> Result<amiref_core::AmiId, SessionError> {
        let copied = self
            .lifecycle(progress)
            .copy_to_region(
                &copy.source_region,
                &copy.source_image,
                &copy.destination_region,
            )
            .await?;
        // Resolutions in the destination may now find the copy.
        self.resolver().forget_region(&copy.destination_region);
        Ok(copied.id)
    }

    async fn run_instance(
        &self,
        plan: &LaunchPlan,
        launched: &LaunchChoice,
        image: &amiref_core::AmiId,
    ) -> Result<InstanceId, SessionError> {
        let mut request = RunInstanceRequest::new(image.clone(), launched.instance_type.clone());
        if launched.runs_user_data {
            request.user_data = plan.user_data.clone();
        }
        request
            .tags
            .insert("Name".into(), plan.instance_name.clone());
        request
            .tags
            .insert(TAG_TEMPLATE.into(), plan.template.clone());
        if let Some(v) = &plan.template_version {
            request.tags.insert(TAG_TEMPLATE_VERSION.into(), v.clone());
        }
        // The same launch asked twice (a retry after a lost answer) makes one instance.
        request.client_token = Some(token_from(
            &[
                "launch",
                &plan.template,
                &plan.instance_name,
                plan.region.as_str(),
                image.as_str(),
            ],
            64,
        ));
        let caller = self
            .cloud()
            .caller()
            .await
            .map_err(|e| SessionError::cloud("who is launching (for the audit record)", e))?;
        let record = |outcome| {
            let mut record = AuditRecord::new(Actor::from(&caller), "launch", outcome)
                .region(&plan.region)
                .details(serde_json::json!({
                    "template": plan.template,
                    "name": plan.instance_name,
                    "image": image,
                    "instance_type": launched.instance_type,
                    "method": launched.method,
                }));
            record.time = self.now();
            record
        };
        // Written ahead: no instance is launched unless its intent is on record.
        let lifecycle = self.lifecycle(&amiref_lifecycle::NoProgress);
        let intent = lifecycle.intend(record(AuditOutcome::Intended))?;
        match self.cloud().run_instance(&plan.region, &request).await {
            Ok(id) => {
                lifecycle.conclude(intent.target(&id), AuditOutcome::Succeeded)?;
                Ok(id)
            }
            Err(e) => {
                lifecycle.conclude(
                    intent,
                    AuditOutcome::Failed {
                        error: e.to_string(),
                    },
                )?;
                Err(SessionError::cloud(
                    format!("launching {} in {}", plan.instance_name, plan.region),
                    e,
                ))
            }
        }
    }
}
