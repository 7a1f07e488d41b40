//! `amiref plan`'s reports: the pre-build plan (`amiref/plan/v1`: the planner's own JSON,
//! its table for people) and what `plan --apply` carried out (`amiref/plan_apply/v1`:
//! the plan, the builds, the copies and the retirements proposed).

use amiref_plan::{Plan, RetireBlock, RetireProposal, render_table};
use amiref_session::{AppliedCopy, PlanApplyReport};
use schemars::JsonSchema;
use serde::Serialize;

use crate::build::{BuildReportJson, built_lines};
use crate::units::usd;
use crate::{Human, Report};

/// `amiref plan` (`amiref/plan/v1`): for every template × region, the decision with the
/// monthly saving and cost, the model's inputs and where each figure came from. For people,
/// the planner's table.
impl Report for Plan {
    const KIND: &'static str = "plan";
    type Json = Plan;

    fn to_json(&self) -> Plan {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        out.text(render_table(self).trim_end());
    }
}

/// What `plan --apply` did (`amiref/plan_apply/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlanApplyJson {
    /// The plan carried out.
    pub plan: Plan,
    /// The builds, one per template and architecture the plan builds.
    pub builds: Vec<BuildReportJson>,
    /// The copies made (or found made) from a region other than a build's home.
    pub copies: Vec<AppliedCopy>,
    /// Retirements proposed, never carried out by `--apply` (`amiref ami retire` does them).
    pub retire_proposals: Vec<RetireProposal>,
}

/// `amiref plan --apply`: the plan's table, then each build, each copy, and the images
/// proposed for retirement.
impl Report for PlanApplyReport {
    const KIND: &'static str = "plan_apply";
    type Json = PlanApplyJson;

    fn to_json(&self) -> PlanApplyJson {
        PlanApplyJson {
            plan: self.plan.clone(),
            builds: self.builds.iter().map(Into::into).collect(),
            copies: self.copies.clone(),
            retire_proposals: self.retire_proposals.clone(),
        }
    }

    fn human(&self, out: &mut Human) {
        self.plan.human(out);
        for build in &self.builds {
            out.blank();
            built_lines(build, out);
        }
        if !self.copies.is_empty() {
            out.blank();
        }
        for c in &self.copies {
            out.line(format!(
                "📦 {} ({}) copied from {} to {}: {}",
                c.template,
                c.architecture.as_str(),
                c.from,
                c.to,
                c.image
            ));
        }
        if !self.retire_proposals.is_empty() {
            out.blank();
            out.line("Proposed for retirement (not retired: `amiref ami retire` does it):");
        }
        for p in &self.retire_proposals {
            out.line(retire_line(p));
        }
    }
}

/// `us-east-1  ami-...  python-ml (x86_64): costs $0.40 a month, saves $0.02 (script)`.
fn retire_line(p: &RetireProposal) -> String {
    let blocked = match &p.blocked {
        Some(RetireBlock::Referenced {
            instances_count,
            launch_templates,
        }) => format!(
            "; kept: {instances_count} instance(s) and {} launch template(s) use it",
            launch_templates.len()
        ),
        Some(RetireBlock::UsageUnknown { message }) => {
            format!("; kept: what uses it is unknown ({message})")
        }
        Some(RetireBlock::LaunchedRecently { at }) => {
            format!("; kept: launched {}", at.format("%Y-%m-%d"))
        }
        Some(other) => format!("; kept: {other:?}"),
        None => String::new(),
    };
    format!(
        "  {:<16} {}  {} ({}): costs {} a month, saves {} ({}){blocked}",
        p.region.as_str(),
        p.image,
        p.template,
        p.architecture.as_str(),
        usd(p.cost_usd_per_month),
        usd(p.benefit_usd_per_month),
        p.decision
    )
}
