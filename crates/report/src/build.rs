//! `amiref build`'s reports: the build (`amiref/build/v1`, a dry run's plan or a finished
//! build, told apart by `outcome`), `build --cleanup` (`amiref/build_cleanup/v1`), the
//! build's progress events (`amiref/build_event/v1`), and why a build failed.
//!
//! A dry run and a build are one kind with two shapes, as the session returns them
//! ([`BuildOutcome`]): a script reads `result.outcome` (`planned` or `built`), and a
//! failure is an `amiref/build/v1` document either way.

mod distribution;
mod events;

use std::time::Duration;

use amiref_build::{
    BuildError, BuildId, BuildOutcome, BuildPlan, BuildReport, BuiltImage, CleanupReport,
    PlannedImage, Resource, Stage, StageError, StageRecord,
};
use amiref_core::{AmiId, Architecture, Region};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

pub use distribution::{
    DistributionJson, ParameterWriteJson, ParametersJson, RegionParametersJson, RegionShareJson,
    RegistryEntryJson,
};
pub use events::{BuildEventLine, build_event_line, build_event_log_line};

use crate::units::{Usd, short_duration, usd};
use crate::{ErrorKind, ErrorReport, Human, Report};

/// A build or its dry run (`amiref/build/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum BuildJson {
    /// A dry run: what a build would do, with estimates; nothing was changed.
    Planned(BuildPlanJson),
    /// A finished build.
    Built(BuildReportJson),
    /// An outcome this version of the report layer does not know, as its debug text.
    Other {
        /// The outcome.
        description: String,
    },
}

/// What a build would do: the build crate's plan (its stages per architecture with their
/// estimates), and the totals over its architectures, which build concurrently.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BuildPlanJson {
    /// The plan.
    #[serde(flatten)]
    pub plan: BuildPlan,
    /// Estimated wall time of the whole build: the longest architecture's.
    pub estimated_secs: u64,
    /// Estimated cost of every architecture's build; `null` when a price is unknown.
    pub estimated_cost_usd: Option<Usd>,
}

/// A finished build.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BuildReportJson {
    /// The template.
    pub template: String,
    /// The version built.
    pub version: Option<String>,
    /// The expired leftovers of earlier builds removed before this one.
    pub swept: CleanupReport,
    /// One image per architecture.
    pub images: Vec<BuiltImageJson>,
}

/// One architecture's image: tested, distributed, its temporary resources removed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BuiltImageJson {
    /// The build.
    pub build: BuildId,
    /// The architecture.
    pub architecture: Architecture,
    /// Where it was built and tested.
    pub region: Region,
    /// The tested image there.
    pub image: AmiId,
    /// The template.
    pub template: String,
    /// Its version.
    pub version: Option<String>,
    /// The template's fingerprint.
    pub template_fingerprint: String,
    /// The build fingerprint (user data, base image choice, test, instance types).
    pub build_fingerprint: String,
    /// The base image the builder booted.
    pub base_image: AmiId,
    /// What the build measured.
    pub measured: MeasuredJson,
    /// When the test passed.
    pub tested_at: DateTime<Utc>,
    /// Each stage after the base, as this run saw it.
    pub stages: Vec<StageRecord>,
    /// The copies, shares, parameters and registry entry.
    pub distribution: DistributionJson,
    /// The temporary resources removed at the end.
    pub cleanup: CleanupReport,
}

/// Times measured during the build, each from an instance's launch to its script's
/// completion marker on the serial console. Their ratio is how many times sooner the
/// image is ready than the script.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct MeasuredJson {
    /// The builder, launched from the base image, running `user_data`: what a launch that
    /// provisions by script waits.
    pub script_ready_secs: f64,
    /// A fresh instance launched from the new image running `build.test`: what a launch
    /// from the pre-built image waits.
    pub image_ready_secs: f64,
    /// `script_ready_secs / image_ready_secs` to two decimals: how many times sooner the
    /// image is ready than the script; `null` when the image took no measurable time.
    pub speedup: Option<f64>,
}

impl From<&BuildPlan> for BuildPlanJson {
    fn from(p: &BuildPlan) -> Self {
        Self {
            plan: p.clone(),
            estimated_secs: plan_secs(p),
            estimated_cost_usd: plan_cost(p).map(Usd),
        }
    }
}

/// The longest architecture's estimated time: they build concurrently.
fn plan_secs(p: &BuildPlan) -> u64 {
    p.images.iter().map(|i| i.estimated_secs).max().unwrap_or(0)
}

/// Every architecture's estimated cost, or `None` when one is unknown.
fn plan_cost(p: &BuildPlan) -> Option<f64> {
    p.images.iter().map(|i| i.estimated_cost_usd).sum()
}

pub(crate) fn built_json(b: &BuiltImage) -> BuiltImageJson {
    let t = &b.tested;
    BuiltImageJson {
        build: t.build.clone(),
        architecture: t.architecture,
        region: t.region.clone(),
        image: t.image.clone(),
        template: t.lineage.template.clone(),
        version: t.lineage.version.clone(),
        template_fingerprint: t.lineage.fingerprint.clone(),
        build_fingerprint: t.build_fingerprint.clone(),
        base_image: t.base_image.clone(),
        measured: MeasuredJson {
            script_ready_secs: t.measured.script_ready.as_secs_f64(),
            image_ready_secs: t.measured.image_ready.as_secs_f64(),
            speedup: Some(t.measured.ratio())
                .filter(|r| r.is_finite())
                .map(|r| (r * 100.0).round() / 100.0),
        },
        tested_at: t.tested_at,
        stages: b.stages.clone(),
        distribution: (&b.distribution).into(),
        cleanup: b.cleanup.clone(),
    }
}

impl From<&BuildReport> for BuildReportJson {
    fn from(r: &BuildReport) -> Self {
        Self {
            template: r.template.clone(),
            version: r.version.clone(),
            swept: r.swept.clone(),
            images: r.images.iter().map(built_json).collect(),
        }
    }
}

/// `amiref build` (`amiref/build/v1`): a dry run's plan, or what the build made. A build
/// whose own temporary resources could not all be removed is a `partial_failure` beside
/// its report: the image is made, but something is left to remove by hand.
impl Report for BuildOutcome {
    const KIND: &'static str = "build";
    type Json = BuildJson;

    fn to_json(&self) -> BuildJson {
        match self {
            BuildOutcome::Planned(plan) => BuildJson::Planned(plan.into()),
            BuildOutcome::Built(report) => BuildJson::Built(report.into()),
            other => BuildJson::Other {
                description: format!("{other:?}"),
            },
        }
    }

    fn human(&self, out: &mut Human) {
        match self {
            BuildOutcome::Planned(plan) => plan_lines(plan, out),
            BuildOutcome::Built(report) => built_lines(report, out),
            other => {
                out.line(format!("{other:?}"));
            }
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        let BuildOutcome::Built(report) = self else {
            return None;
        };
        let left: Vec<String> = report
            .images
            .iter()
            .flat_map(|i| &i.cleanup.failed)
            .map(|f| resource_words(&f.resource))
            .collect();
        (!left.is_empty()).then(|| {
            ErrorReport::new(
                ErrorKind::PartialFailure,
                format!(
                    "the image was built, but the build could not remove {}: remove them by hand \
                     or run `amiref build --cleanup` once they expire",
                    left.join(", ")
                ),
            )
        })
    }
}

fn secs(s: u64) -> String {
    short_duration(Duration::from_secs(s))
}

fn regions_text(regions: &[Region]) -> String {
    regions
        .iter()
        .map(Region::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn name_and_version(template: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{template} {v}"),
        None => template.to_owned(),
    }
}

fn cost_text(cost: Option<f64>) -> String {
    cost.map_or_else(|| "cost unknown (no price)".to_owned(), usd)
}

/// The dry run for people: where, the leftovers, each architecture's stages with their
/// estimates, the totals, and what the estimates assume.
fn plan_lines(plan: &BuildPlan, out: &mut Human) {
    let others: Vec<Region> = plan
        .regions
        .iter()
        .filter(|r| **r != plan.home)
        .cloned()
        .collect();
    let copies = if others.is_empty() {
        String::new()
    } else {
        format!(" and copied to {}", regions_text(&others))
    };
    out.line(format!(
        "🧪 Dry run: {} would be built and tested in {}{copies}; nothing was changed.",
        name_and_version(&plan.template, plan.version.as_deref()),
        plan.home
    ));
    if !plan.leftovers.removed.is_empty() {
        out.line(format!(
            "   first, the sweep would remove expired leftovers: {}",
            resources_text(&plan.leftovers.removed)
        ));
    }
    for image in &plan.images {
        planned_image_lines(image, out);
    }
    out.blank();
    out.line(format!(
        "⏱️  Estimated: {}, {}",
        secs(plan_secs(plan)),
        cost_text(plan_cost(plan))
    ));
    out.line("   The estimates assume (none of these figures is measured):");
    out.extend(plan.estimate_inputs.iter().map(|i| format!("   - {i}")));
}

fn planned_image_lines(image: &PlannedImage, out: &mut Human) {
    out.blank();
    out.line(format!(
        "{} (build {}): from {} ({}) on {}",
        image.architecture.as_str(),
        image.build,
        image.base_image,
        image.base_image_name,
        image.instance_type
    ));
    for s in &image.stages {
        let estimate = if s.done {
            "↻ done by an earlier run".to_owned()
        } else {
            format!(
                "~{:<8} {:<9}",
                secs(s.estimated_secs),
                cost_text(s.estimated_cost_usd)
            )
        };
        out.line(format!(
            "   {:<11} {estimate} {}",
            s.stage.as_str(),
            s.action
        ));
    }
    out.line(format!(
        "   {:<11} ~{} {}",
        "total",
        secs(image.estimated_secs),
        cost_text(image.estimated_cost_usd)
    ));
}

/// The build for people: per image, the stages with their times, the measured times and
/// their ratio, every region's image, the parameters, the registry entry, the clean-up.
pub(crate) fn built_lines(report: &BuildReport, out: &mut Human) {
    if !report.swept.removed.is_empty() || !report.swept.failed.is_empty() {
        out.line(format!("🧹 Before the build: {}", report.swept));
    }
    for (i, image) in report.images.iter().enumerate() {
        if i > 0 {
            out.blank();
        }
        built_image_lines(image, out);
    }
}

pub(crate) fn built_image_lines(image: &BuiltImage, out: &mut Human) {
    let t = &image.tested;
    out.line(format!(
        "✅ Built {} ({}): {} in {}, build {}",
        name_and_version(&t.lineage.template, t.lineage.version.as_deref()),
        t.architecture.as_str(),
        t.image,
        t.region,
        t.build
    ));
    out.line(format!("   from base image {}", t.base_image));
    out.line("   stages:");
    for s in &image.stages {
        out.line(if s.resumed {
            format!("     {:<11} ↻ done by an earlier run", s.stage.as_str())
        } else {
            format!("     {:<11} {}", s.stage.as_str(), secs(s.elapsed_secs))
        });
    }
    out.line(measured_line(&t.measured));
    distribution::distribution_lines(&image.distribution, out);
    out.line(format!("   clean-up: {}", image.cleanup));
}

/// `measured: script ready in 6min, image ready in 1min: 6.0x sooner`.
fn measured_line(m: &amiref_build::Measured) -> String {
    let ratio = m.ratio();
    let sooner = if ratio.is_finite() {
        format!(": the image is ready {ratio:.1}x sooner")
    } else {
        String::new()
    };
    format!(
        "   measured: the script was ready in {}, the image in {}{sooner}",
        short_duration(m.script_ready),
        short_duration(m.image_ready)
    )
}

fn resource_words(r: &Resource) -> String {
    format!("{} {} in {}", r.kind, r.id, r.region)
}

fn resources_text(resources: &[Resource]) -> String {
    resources
        .iter()
        .map(resource_words)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `amiref build --cleanup` (`amiref/build_cleanup/v1`): the expired leftovers removed,
/// and those that could not be (a `partial_failure`: they may remain).
impl Report for CleanupReport {
    const KIND: &'static str = "build_cleanup";
    type Json = CleanupReport;

    fn to_json(&self) -> CleanupReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        if self.removed.is_empty() && self.failed.is_empty() {
            out.line("🧹 No expired build leftovers: nothing to remove.");
            return;
        }
        if !self.removed.is_empty() {
            out.line(format!(
                "🧹 Removed {} expired build leftover{}:",
                self.removed.len(),
                if self.removed.len() == 1 { "" } else { "s" }
            ));
        }
        for r in &self.removed {
            let build = r
                .build
                .as_ref()
                .map(|b| format!(" (build {b})"))
                .unwrap_or_default();
            out.line(format!(
                "   {:<16} {} {}{build}",
                r.region.as_str(),
                r.kind,
                r.id
            ));
        }
        for f in &self.failed {
            out.line(format!(
                "⚠️  could not remove {}: {}",
                resource_words(&f.resource),
                f.error
            ));
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        (!self.failed.is_empty()).then(|| {
            ErrorReport::new(
                ErrorKind::PartialFailure,
                format!(
                    "{} leftover{} could not be removed and may remain",
                    self.failed.len(),
                    if self.failed.len() == 1 { "" } else { "s" }
                ),
            )
        })
    }
}

/// The facts of a failed build, for programs (`error.details`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BuildFailureJson {
    /// The build, when it got as far as having an id.
    pub build: Option<BuildId>,
    /// The stage it failed in (`base` when the base image could not be chosen).
    pub stage: Option<Stage>,
    /// The region, when the failure names one.
    pub region: Option<Region>,
    /// Why the stage failed.
    pub cause: String,
    /// What was removed after the failure; `null` when nothing had been made.
    pub cleanup: Option<CleanupReport>,
}

/// A build that did not complete: the stage, its cause and what was cleaned up after it
/// (also what could not be, which remains). `invalid_input` for a build that makes no
/// sense, `no_image` when the base image cannot be chosen, `cloud` for a call to the
/// cloud that failed, a lifecycle call's own kind outside a stage (`io` for the audit
/// log), `lifecycle` for the rest.
impl From<&BuildError> for ErrorReport {
    fn from(e: &BuildError) -> Self {
        let (kind, details) = match e {
            BuildError::Invalid { .. } => (ErrorKind::InvalidInput, None),
            BuildError::Stage {
                build,
                stage,
                cause,
                cleanup,
            } => {
                let kind = match **cause {
                    StageError::Cloud { .. } => ErrorKind::Cloud,
                    _ => ErrorKind::Lifecycle,
                };
                let details = BuildFailureJson {
                    build: Some(build.clone()),
                    stage: Some(*stage),
                    region: None,
                    cause: crate::message_with_causes(cause.as_ref()),
                    cleanup: Some(cleanup.clone()),
                };
                (kind, Some(details))
            }
            BuildError::Base { region, cause, .. } => {
                let details = BuildFailureJson {
                    build: None,
                    stage: Some(Stage::Base),
                    region: Some(region.clone()),
                    cause: crate::message_with_causes(cause.as_ref()),
                    cleanup: None,
                };
                (ErrorKind::NoImage, Some(details))
            }
            BuildError::Sweep { region, source } => {
                let details = BuildFailureJson {
                    build: None,
                    stage: Some(Stage::Sweep),
                    region: Some(region.clone()),
                    cause: source.to_string(),
                    cleanup: None,
                };
                (ErrorKind::Cloud, Some(details))
            }
            BuildError::Lifecycle(lifecycle) => (ErrorReport::from(lifecycle).kind, None),
            _ => (ErrorKind::Lifecycle, None),
        };
        let report = ErrorReport::from_error(kind, e);
        match details {
            Some(d) => {
                let human = failure_human(&d);
                report.details(&d).with_human(human)
            }
            None => report,
        }
    }
}

/// A failed build for people, on stderr: the stage, the cause (a script's console tail
/// on lines of its own), what was cleaned up and what remains.
fn failure_human(d: &BuildFailureJson) -> Human {
    let mut out = Human::new();
    let stage = d.stage.map_or("a", Stage::as_str);
    out.err(match (&d.build, &d.region) {
        (Some(build), _) => format!("error: build {build} failed in the {stage} stage"),
        (None, Some(region)) => format!("error: the build failed in the {stage} stage in {region}"),
        (None, None) => format!("error: the build failed in the {stage} stage"),
    });
    let mut cause = d.cause.lines();
    out.err(format!("  cause: {}", cause.next().unwrap_or_default()));
    for line in cause {
        out.err(format!("    {line}"));
    }
    if d.stage == Some(Stage::Distribute) {
        out.err("  the tested image is kept: a re-run of the same build completes what is missing");
    }
    if let Some(cleanup) = &d.cleanup {
        if cleanup.removed.is_empty() {
            out.err("  cleaned up: nothing had been left to remove");
        } else {
            out.err(format!(
                "  cleaned up: removed {}",
                resources_text(&cleanup.removed)
            ));
        }
        for f in &cleanup.failed {
            out.err(format!(
                "  LEFT BEHIND: {} ({}): remove it by hand",
                resource_words(&f.resource),
                f.error
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail by panicking

    use amiref_build::{BuildEvent, BuildId, CleanupReport, Stage, StageError};
    use amiref_core::Region;
    use serde_json::json;

    use super::*;
    use crate::{OutputMode, Printer, Stream};

    fn region() -> Region {
        "us-east-1".parse().unwrap()
    }

    fn build_id() -> BuildId {
        BuildId::derive(
            "python-ml",
            Some("2.1.0"),
            "ab12",
            Architecture::X86_64,
            &region(),
        )
    }

    fn event(value: serde_json::Value) -> BuildEvent {
        serde_json::from_value(value).unwrap()
    }

    /// A clean-up that removed the builder and could not remove the group.
    fn cleanup() -> CleanupReport {
        serde_json::from_value(json!({
            "removed": [{"build": build_id(), "region": "us-east-1", "kind": "instance", "id": "i-0123456789abcdef0"}],
            "failed": [{
                "resource": {"build": build_id(), "region": "us-east-1", "kind": "security_group", "id": "sg-0123456789abcdef0"},
                "error": "DependencyViolation"
            }]
        }))
        .unwrap()
    }

    fn script_failed() -> BuildError {
        BuildError::Stage {
            build: build_id(),
            stage: Stage::Provision,
            cause: Box::new(StageError::ScriptFailed {
                instance: "i-0123456789abcdef0".parse().unwrap(),
                region: region(),
                status: 3,
                log_stage: "provision",
                console_tail: "pip: not found\nAMIREF-BUILD-DONE status=3".to_owned(),
            }),
            cleanup: cleanup(),
        }
    }

    #[test]
    fn a_failed_stage_names_the_stage_the_cause_and_what_remains() {
        let report = ErrorReport::from(&script_failed());
        assert_eq!(report.kind, ErrorKind::Lifecycle);
        assert_eq!(report.exit_code, 1);
        let details = report.details.clone().unwrap();
        assert_eq!(details["stage"], "provision");
        assert_eq!(details["build"], build_id().as_str());
        assert!(details["cause"].as_str().unwrap().contains("status 3"));
        assert_eq!(
            details["cleanup"]["failed"][0]["resource"]["kind"],
            "security_group"
        );
        let human = report.human.unwrap();
        let lines: Vec<&str> = human.lines(Stream::Err).collect();
        assert_eq!(
            lines[0],
            format!("error: build {} failed in the provision stage", build_id())
        );
        // The console's lines each on a line of their own, not escaped into one.
        assert!(lines.contains(&"    pip: not found"), "{lines:?}");
        assert!(
            lines.contains(&"  cleaned up: removed instance i-0123456789abcdef0 in us-east-1"),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  LEFT BEHIND: security group sg-0123456789abcdef0")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_base_that_cannot_be_chosen_is_no_image_and_bad_input_is_invalid_input() {
        let base = BuildError::Base {
            template: "python-ml".to_owned(),
            region: region(),
            cause: Box::new(StageError::NoBaseImage {
                region: region(),
                reason: "nothing trusted".to_owned(),
            }),
        };
        let report = ErrorReport::from(&base);
        assert_eq!(report.kind, ErrorKind::NoImage);
        assert_eq!(report.details.unwrap()["stage"], "base");
        let invalid = BuildError::Invalid {
            field: "regions",
            found: "[]".to_owned(),
            expected: "at least one region".to_owned(),
        };
        let report = ErrorReport::from(&invalid);
        assert_eq!(report.kind, ErrorKind::InvalidInput);
        assert!(report.human.is_none());
    }

    #[test]
    fn events_have_unit_named_json_and_bar_text() {
        let launched = event(json!({
            "event": "launched", "build": build_id(), "stage": "provision",
            "region": "us-east-1", "instance": "i-0123456789abcdef0", "attempt_count": 2
        }));
        let json = serde_json::to_value(launched.to_json()).unwrap();
        assert_eq!(json["attempt_count"], 2);
        assert_eq!(json["event"], "launched");
        let completed = event(json!({
            "event": "completed", "build": build_id(), "stage": "test",
            "instance": "i-0123456789abcdef0", "exit_code": 0, "elapsed_secs": 75
        }));
        assert_eq!(
            serde_json::to_value(completed.to_json()).unwrap()["exit_code"],
            0
        );
        let running = build_event_line(&event(json!({
            "event": "running", "build": build_id(), "stage": "provision",
            "instance": "i-0123456789abcdef0", "elapsed_secs": 120, "timeout_secs": 1800
        })));
        assert_eq!(running.key, "provision");
        assert_eq!(running.running, Some((120, 1800)));
        assert!(running.poll && !running.finished);
        let failed = build_event_line(&event(json!({
            "event": "failed", "build": build_id(), "stage": "test",
            "error": "the script exited with status 1; the console ended with:\nboom"
        })));
        assert!(failed.finished && failed.failed);
        assert!(!failed.message.contains("boom"), "{}", failed.message);
    }

    #[test]
    fn polls_stay_out_of_the_log_and_events_are_valid_json_lines() {
        let (printer, captured) = Printer::capture(OutputMode::Human);
        printer.progress_json(&event(json!({
            "event": "running", "build": build_id(), "stage": "provision",
            "instance": "i-0123456789abcdef0", "elapsed_secs": 10, "timeout_secs": 1800
        })));
        printer.progress_json(&event(json!({
            "event": "stage_finished", "build": build_id(), "stage": "provision",
            "elapsed_secs": 390
        })));
        assert_eq!(captured.stderr(), "provision        ✓ done in 6.5min\n");
        let (printer, captured) = Printer::capture(OutputMode::JsonLines);
        printer.progress_json(&event(json!({
            "event": "stage_started", "build": build_id(), "stage": "capture"
        })));
        let code = printer.report(&cleanup());
        assert_eq!(code, 1, "a removal that failed is a partial failure");
        #[cfg(feature = "validate")]
        assert_eq!(
            crate::schema::validate_lines(&captured.stdout()).unwrap(),
            ["build_event", "build_cleanup"]
        );
        assert_eq!(captured.stdout().lines().count(), 2);
    }

    #[test]
    fn concurrent_builds_log_lines_name_their_build() {
        let started = event(json!({
            "event": "stage_started", "build": build_id(), "stage": "provision"
        }));
        let build = build_id();
        let short = &build.as_str()[..12];
        assert_eq!(
            build_event_log_line(&started, true).unwrap(),
            format!("{short} provision        started")
        );
        assert_eq!(
            build_event_log_line(&started, false).unwrap(),
            "provision        started"
        );
    }

    #[test]
    fn a_sweep_for_people_lists_what_it_removed_and_what_remains() {
        let mut out = Human::new();
        cleanup().human(&mut out);
        let text = out.stdout_text();
        assert!(
            text.starts_with("🧹 Removed 1 expired build leftover:\n"),
            "{text}"
        );
        assert!(
            text.contains("instance i-0123456789abcdef0 (build bld-"),
            "{text}"
        );
        assert!(
            text.contains("⚠️  could not remove security group sg-0123456789abcdef0 in us-east-1: DependencyViolation"),
            "{text}"
        );
        let mut out = Human::new();
        CleanupReport::default().human(&mut out);
        assert_eq!(
            out.stdout_text(),
            "🧹 No expired build leftovers: nothing to remove.\n"
        );
    }
}
