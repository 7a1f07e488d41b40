//! # amiref-plan
//!
//! The pre-build planner (`amiref plan`): for every template × region, what a pre-built
//! image saves against what it costs, and what to do: build here, copy from the nearest
//! region, leave it to an on-demand cross-region copy, or leave it to the script.
//!
//! A library with no cloud calls of its own but one helper ([`image_signals`]): the
//! session gathers the inputs, [`plan`] decides, [`Plan`] carries the result (JSON through
//! serde, its schema through schemars), [`render_table`] and [`render_html`] show it, and
//! [`Plan::actions`] lists what `--apply` does through the session's build, copy and retire.
//!
//! ## Inputs, each with its source
//!
//! - **Launches per month** of each template, architecture and region, in this order of
//!   trust: a [`UsageFile`] entry (what a person expects); else the [`LaunchLog`]'s records
//!   of the last [`PlanModel::window`] (90 days), spread over the window or the time since
//!   the log's first record, at least [`PlanModel::minimum_span`] (7 days); else, when
//!   EC2's LastLaunchedTime of an image ([`Image::last_launched`](amiref_core::Image)) falls
//!   in the window, one launch per window. The last is a weak signal: it says a launch
//!   happened, not how many. What references an image (instances, launch templates:
//!   [`ImageUsage`](amiref_core::ImageUsage)) is weighed only to keep it from being retired.
//! - **Script time and image time** (launch to ready): measured by a build (the registry
//!   entry's, [`TemplateInput::measured`], else the tags amiref-build put on the newest
//!   image), else the launch log's median of measured times, else estimated by the
//!   resolver's [`EstimateModel`](amiref_resolver::EstimateModel): the template's
//!   `provisioning_time` (default 6 min) and an in-region image's 30 s.
//! - **Prices**: instance prices per hour (the resolver's table), EBS snapshot storage per
//!   GiB-month and inter-region transfer per GiB (amiref-regions' [`Prices`](amiref_regions::Prices)).
//! - **Image size**: the template's largest image, else 8 GiB.
//!
//! ## The model
//!
//! Per template × region, with `L` launches per month, `S` and `I` the script and image
//! times in hours, `p` the instance price per hour there, `v` the value of a researcher's
//! waiting hour (default 0), `G` the size in GiB, `st` storage per GiB-month, `tr` transfer
//! per GiB from the source, `R` refreshes per month (730 h / the cadence, 30 days: ≈ 1.014),
//! `T` the copy time in hours and `C` the capture time (10 min):
//!
//! - benefit of a kept image: `L × max(S − I, 0) × (p + v)`;
//! - **build here** (the region with most launches, or the configured home): cost
//!   `G × st + R × p × (S + I + C)`;
//! - **copy from nearest** (the first region on the fallback graph's walk that holds the
//!   image): cost `G × st + R × G × tr`;
//! - **on-demand copy** (the resolver copies when a launch asks): with `c = min(L, R)`
//!   copies a month, benefit `(L × max(S − I, 0) − c × T) × (p + v)`, cost
//!   `c × G × tr + (c / R) × G × st`;
//! - **script**: no benefit, no cost.
//!
//! Each region other than the home takes the option with the highest net (benefit − cost),
//! the script when none is above 0. A template is built only when its cells' nets together
//! are above 0 (per partition: copies never cross one); otherwise every cell is the script.
//! Existing images in cells left to the script or to on-demand copies are proposed for
//! retirement ([`Plan::retire`]); `--apply` retires those nothing references.
//!
//! ```
//! use amiref_plan::{plan, Decision, PlanInputs, PlanModel, TemplateInput, UsageEntry, UsageFile};
//!
//! let template = amiref_template::Template::from_yaml_str(
//!     "name: python-ml\ninstance_type: m6i.large\nprovisioning_time: 30m\nuser_data: |\n  #!/bin/sh\n  pip install torch\n",
//!     "python-ml.yml",
//! )
//! .unwrap();
//! let usage = UsageFile::new(
//!     "usage.yml",
//!     vec![UsageEntry::new("python-ml", "us-east-1".parse().unwrap(), 200.0)],
//! );
//! let inputs = PlanInputs::new("2026-12-01T00:00:00Z".parse().unwrap())
//!     .template(TemplateInput::new(template))
//!     .usage(usage);
//! let plan = plan(&inputs, &PlanModel::default());
//! let cell = &plan.rows[0].cells[0];
//! assert_eq!(cell.decision, Decision::BuildHere);
//! // 200 launches x 29.5 minutes saved x $0.096 an hour
//! assert!((cell.saving_usd_per_month - 200.0 * (29.5 / 60.0) * 0.096).abs() < 1e-9);
//! ```

mod demand;
mod figures;
mod inputs;
mod launch_log;
mod model;
mod plan;
mod planner;
mod render;
mod usage;

pub use inputs::{
    ImageSignal, MeasuredTimes, MeasurementSource, PlanInputs, TemplateInput, image_signals,
};
pub use launch_log::{
    BadLine, LaunchLog, LaunchLogContents, LaunchLogError, LaunchMethod, LaunchRecord,
};
pub use model::{HOURS_PER_MONTH, PlanModel};
pub use plan::{
    Decision, LaunchSource, ModelInputs, Plan, PlanAction, PlanCell, PlanRow, PlanTotals,
    RetireBlock, RetireProposal, SizeFigure, SizeSource, SkippedTemplate, TimeFigure, TimeSource,
};
pub use planner::plan;
pub use render::{render_html, render_table};
pub use usage::{UsageEntry, UsageFile, UsageFileError};
