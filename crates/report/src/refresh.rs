//! `amiref refresh`'s report (`amiref/refresh/v1`): every template checked, what is stale
//! and why, and (unless a dry run) what was rebuilt, deprecated and retired. A dry run and
//! a refresh are one kind told apart by `result.outcome` (`planned` or `refreshed`), as the
//! session returns them ([`RefreshOutcome`]).

use amiref_build::refresh::{
    Action, Rebuilt, RefreshFailure, RefreshOutcome, RefreshPlan, RefreshReport, TemplateCheck,
    Verdict,
};
use amiref_core::AmiId;
use amiref_lifecycle::DeprecateReport;
use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::build::{BuiltImageJson, built_image_lines, built_json};
use crate::retire::RetireJson;
use crate::{ErrorKind, ErrorReport, Human, Report};

/// A refresh or its dry run (`amiref/refresh/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RefreshJson {
    /// A dry run: what would be rebuilt and why; nothing was changed.
    Planned(RefreshPlan),
    /// A refresh.
    Refreshed(RefreshReportJson),
    /// An outcome this version of the report layer does not know, as its debug text.
    Other {
        /// The outcome.
        description: String,
    },
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RefreshReportJson {
    /// The plan it followed: every template checked, its verdict (`status`: `fresh`,
    /// `stale` with its `reasons`, `missing`, `unchecked`) and what is done about it.
    pub plan: RefreshPlan,
    /// The images built and promoted.
    pub rebuilt: Vec<RebuiltJson>,
    /// The builds that failed (each cleaned up after itself; the current image stays).
    pub failed: Vec<RefreshFailure>,
    /// The replaced images given a deprecation time, every region's copy.
    pub deprecated: Vec<DeprecateReport>,
    /// Deprecations that failed.
    pub deprecate_errors: Vec<String>,
    /// The retention policy, applied per template.
    pub retention: Vec<RetireJson>,
    /// Retention runs that failed.
    pub retention_errors: Vec<String>,
}

/// One image a refresh built.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RebuiltJson {
    /// The template.
    pub template: String,
    /// The image it replaces; `null` when the template had none.
    pub previous: Option<AmiId>,
    /// The build.
    pub built: BuiltImageJson,
}

fn rebuilt_json(r: &Rebuilt) -> RebuiltJson {
    RebuiltJson {
        template: r.template.clone(),
        previous: r.previous.clone(),
        built: built_json(&r.built),
    }
}

impl From<&RefreshReport> for RefreshReportJson {
    fn from(r: &RefreshReport) -> Self {
        Self {
            plan: r.plan.clone(),
            rebuilt: r.rebuilt.iter().map(rebuilt_json).collect(),
            failed: r.failed.clone(),
            deprecated: r.deprecated.clone(),
            deprecate_errors: r.deprecate_errors.clone(),
            retention: r.retention.iter().map(Report::to_json).collect(),
            retention_errors: r.retention_errors.clone(),
        }
    }
}

/// `amiref refresh`. A refresh that did not do everything its plan called for (a build,
/// a deprecation or a retention run failed) is a `partial_failure` beside its report.
impl Report for RefreshOutcome {
    const KIND: &'static str = "refresh";
    type Json = RefreshJson;

    fn to_json(&self) -> RefreshJson {
        match self {
            RefreshOutcome::Planned(plan) => RefreshJson::Planned(plan.clone()),
            RefreshOutcome::Refreshed(report) => RefreshJson::Refreshed(report.into()),
            other => RefreshJson::Other {
                description: format!("{other:?}"),
            },
        }
    }

    fn human(&self, out: &mut Human) {
        match self {
            RefreshOutcome::Planned(plan) => plan_lines(plan, out),
            RefreshOutcome::Refreshed(report) => refreshed_lines(report, out),
            other => {
                out.line(format!("{other:?}"));
            }
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        let RefreshOutcome::Refreshed(report) = self else {
            return None;
        };
        if report.complete() {
            return None;
        }
        let mut parts: Vec<String> = report
            .failed
            .iter()
            .map(|f| format!("the rebuild of {} failed: {}", f.template, f.error))
            .collect();
        parts.extend(report.deprecate_errors.iter().cloned());
        parts.extend(report.retention_errors.iter().cloned());
        Some(ErrorReport::new(
            ErrorKind::PartialFailure,
            format!("the refresh did not complete: {}", parts.join("; ")),
        ))
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One check for people: `python-ml (x86_64)  ami-...  STALE: reason; reason`, then what
/// is done about it.
fn check_lines(check: &TemplateCheck, dry_run: bool, out: &mut Human) {
    let architecture = check.architecture.map_or("-", |a| a.as_str());
    let image = check
        .current
        .as_ref()
        .map_or_else(|| "(no image)".to_owned(), |c| c.image.to_string());
    let verdict = match &check.verdict {
        Verdict::Fresh => "fresh".to_owned(),
        Verdict::Stale { reasons } => format!(
            "STALE: {}",
            reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Verdict::Missing => "missing: the template has no image yet".to_owned(),
        Verdict::Unchecked { error } => format!("not checked: {error}"),
        other => format!("{other:?}"),
    };
    out.line(format!(
        "  {:<28} {image:<22} {verdict}",
        format!("{} ({architecture})", check.template)
    ));
    if let Action::Build {
        version,
        previous,
        deprecate_at,
        ..
    } = &check.plan
    {
        let verb = if dry_run {
            "would be rebuilt"
        } else {
            "rebuilt"
        };
        let version = version
            .as_deref()
            .map(|v| format!(" as {v}"))
            .unwrap_or_default();
        let replaced = match (previous, deprecate_at) {
            (Some(p), Some(at)) => format!(", deprecating {p} at {}", when(*at)),
            (Some(p), None) => format!(", replacing {p}"),
            _ => String::new(),
        };
        out.line(format!("    → {verb}{version} and promoted{replaced}"));
    }
}

fn policy_line(plan: &RefreshPlan) -> String {
    format!(
        "   grace period {} days before a replaced image is deprecated; retention keeps {} images per region and architecture",
        plan.grace_seconds / 86_400,
        plan.keep
    )
}

fn plan_lines(plan: &RefreshPlan, out: &mut Human) {
    let rebuilds = plan.builds().count();
    out.line(format!(
        "🔄 Dry run: {} template check{} in {} at {}; {rebuilds} would be rebuilt. Nothing was changed.",
        plan.checks.len(),
        if plan.checks.len() == 1 { "" } else { "s" },
        plan.home,
        when(plan.checked_at)
    ));
    for check in &plan.checks {
        check_lines(check, true, out);
    }
    out.line(policy_line(plan));
}

fn refreshed_lines(report: &RefreshReport, out: &mut Human) {
    let plan = &report.plan;
    out.line(format!(
        "🔄 Refresh: {} template check{} in {} at {}; {} rebuilt, {} failed.",
        plan.checks.len(),
        if plan.checks.len() == 1 { "" } else { "s" },
        plan.home,
        when(plan.checked_at),
        report.rebuilt.len(),
        report.failed.len()
    ));
    for check in &plan.checks {
        check_lines(check, false, out);
    }
    out.line(policy_line(plan));
    for rebuilt in &report.rebuilt {
        out.blank();
        built_image_lines(&rebuilt.built, out);
    }
    for failed in &report.failed {
        out.line(format!(
            "❌ the rebuild of {} failed (cleaned up; the current image stays): {}",
            failed.template, failed.error
        ));
    }
    if !report.deprecated.is_empty() {
        out.blank();
        out.line("Deprecated:");
        for d in &report.deprecated {
            d.human(out);
        }
    }
    if !report.retention.is_empty() {
        out.blank();
        out.line("Retention:");
        for r in &report.retention {
            r.human(out);
        }
    }
    for e in report
        .deprecate_errors
        .iter()
        .chain(&report.retention_errors)
    {
        out.line(format!("⚠️  {e}"));
    }
}
