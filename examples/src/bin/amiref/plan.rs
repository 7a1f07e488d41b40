//! `amiref plan`: the pre-build planner over the session (`Session::plan_prebuilds`), its
//! table or JSON printed and its HTML report written on request; `--apply` carries the plan
//! out (`Session::apply_plan`) with the builds' and copies' progress drawn.

use std::path::{Path, PathBuf};

use amiref_core::Region;
use amiref_plan::{Plan, render_html};
use amiref_report::{ErrorKind, ErrorReport};
use amiref_session::{PlanApplyReport, PlanRequest, Session};
use clap::Args;

use crate::build::region;
use crate::progress::BuildProgress;
use crate::run::{Context, Failure};

/// `amiref plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The templates to plan for (files or names in the configured template directories)
    /// [default: every template there].
    pub(crate) templates: Vec<String>,
    /// The regions, comma-separated: the plan's columns [default: every region of the
    /// session].
    #[arg(long, value_delimiter = ',', value_parser = region)]
    pub(crate) regions: Vec<Region>,
    /// A usage file (launches per template, region and month), over the configuration's
    /// build.usage.
    #[arg(long, value_name = "FILE")]
    pub(crate) usage: Option<PathBuf>,
    /// What an hour of a researcher's waiting is worth, in USD [default: 0, only instance
    /// time counts].
    #[arg(long, value_name = "USD")]
    pub(crate) waiting_hour_usd: Option<f64>,
    /// Also write the plan as a self-contained HTML report (a template × region matrix
    /// coloured by decision) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Carry the plan out: build where it says build, copy where it says copy. Images it
    /// would retire are only proposed (`amiref ami retire` retires them).
    #[arg(long)]
    pub(crate) apply: bool,
}

pub(crate) async fn run(args: PlanArgs, context: &Context) -> u8 {
    let mut request = PlanRequest::default();
    request.templates = args.templates.clone();
    request.regions = (!args.regions.is_empty()).then(|| args.regions.clone());
    request.usage = args.usage.clone();
    request.waiting_hour_usd = args.waiting_hour_usd;
    if args.apply {
        let applied = context
            .with_session(async |s| {
                let plan = planned(s, &request, args.html.as_deref()).await?;
                let progress = BuildProgress::new(context.printer());
                Ok(s.apply_plan(&plan, &progress, &progress).await?)
            })
            .await;
        context.print::<PlanApplyReport>(applied)
    } else {
        let plan = context
            .with_session(async |s| planned(s, &request, args.html.as_deref()).await)
            .await;
        context.print::<Plan>(plan)
    }
}

/// The plan, its HTML report written to `html` when asked.
async fn planned(
    session: &Session,
    request: &PlanRequest,
    html: Option<&Path>,
) -> Result<Plan, Failure> {
    let plan = session.plan_prebuilds(request).await?;
    if let Some(path) = html {
        std::fs::write(path, render_html(&plan)).map_err(|e| {
            Failure(ErrorReport::new(
                ErrorKind::Io,
                format!("cannot write the HTML report to {}: {e}", path.display()),
            ))
        })?;
    }
    Ok(plan)
}
