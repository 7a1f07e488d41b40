//! The plan: a decision and its monthly figures for every template × region, with what the
//! figures were computed from and the actions that carry it out.

use std::fmt;

use amiref_core::{AmiId, Architecture, InstanceType, Region};
use chrono::{DateTime, Utc};

use crate::MeasurementSource;

/// What to do for one template and architecture in one region.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Build the image here (the template's home: the region with most launches, or the
    /// configured one) and refresh it here.
    BuildHere,
    /// Keep a copy here, copied from `source` at every refresh.
    CopyFromNearest {
        /// The nearest region holding the image, on the fallback graph's walk from here.
        source: Region,
    },
    /// Keep nothing here: the resolver's cross-region tier copies from `source` when a
    /// launch asks (worth it for few launches).
    OnDemandCopy {
        /// The region the resolver would copy from.
        source: Region,
    },
    /// No pre-built image: launches run the template's script.
    Script,
}

impl Decision {
    /// A short name for people: `build here`, `copy`, `on-demand copy`, `script`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::BuildHere => "build here",
            Self::CopyFromNearest { .. } => "copy",
            Self::OnDemandCopy { .. } => "on-demand copy",
            Self::Script => "script",
        }
    }

    /// The region a copy comes from, for copies.
    pub fn source(&self) -> Option<&Region> {
        match self {
            Self::CopyFromNearest { source } | Self::OnDemandCopy { source } => Some(source),
            Self::BuildHere | Self::Script => None,
        }
    }

    /// Whether the plan keeps a pre-built image in the region.
    pub fn keeps_image(&self) -> bool {
        matches!(self, Self::BuildHere | Self::CopyFromNearest { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source() {
            Some(source) => write!(f, "{} from {source}", self.label()),
            None => f.write_str(self.label()),
        }
    }
}

/// Where a cell's launch count comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LaunchSource {
    /// A usage file's entry.
    UsageFile {
        /// The file.
        origin: String,
        /// The entry's line.
        line: usize,
    },
    /// The launch log's records in the window.
    LaunchLog {
        /// How many records.
        records_count: usize,
    },
    /// EC2's LastLaunchedTime of an image, within the window: counted as one launch in the
    /// window (a weak signal: it says a launch happened, not how many).
    LastLaunched {
        /// The image.
        image: AmiId,
        /// When it was last launched.
        at: DateTime<Utc>,
    },
    /// Nothing says it was or will be launched here.
    None,
}

/// Where a time to ready comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeSource {
    /// Measured by a build.
    Measured {
        /// Where the measurement was read.
        from: MeasurementSource,
    },
    /// The median of the launch log's measured times to ready for this template,
    /// architecture and method in the window.
    LaunchLogMedian {
        /// How many measured launches.
        samples_count: usize,
    },
    /// The template's `provisioning_time` (an estimate its author wrote).
    TemplateProvisioningTime,
    /// The estimate model's default.
    ModelDefault,
}

/// A time to ready and where it comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TimeFigure {
    /// Seconds from launch to ready.
    pub ready_secs: f64,
    /// Where it comes from.
    pub source: TimeSource,
}

/// Where an image size comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SizeSource {
    /// The EBS volumes of the template's largest image of the architecture.
    LargestImage {
        /// The image.
        image: AmiId,
    },
    /// The estimate model's default size.
    ModelDefault,
}

/// An image size and where it comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct SizeFigure {
    /// GiB of EBS volumes (an upper bound of snapshot storage and copy transfer).
    pub size_gib: u64,
    /// Where it comes from.
    pub source: SizeSource,
}

/// One template × region: the decision and its monthly figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PlanCell {
    /// The region.
    pub region: Region,
    /// Expected launches per month (730 hours).
    pub monthly_launch_count: f64,
    /// Where that count comes from.
    pub launches_source: LaunchSource,
    /// What to do.
    pub decision: Decision,
    /// What the decision saves per month (0 for the script).
    pub saving_usd_per_month: f64,
    /// What the decision costs per month (0 for the script).
    pub cost_usd_per_month: f64,
    /// What a kept image here would save per month (built here at the home, else copied
    /// from the nearest holder), whatever the decision: why the script was chosen.
    pub prebuilt_saving_usd_per_month: f64,
    /// What a kept image here would cost per month.
    pub prebuilt_cost_usd_per_month: f64,
    /// The on-demand price of the row's instance type here; `None`: not in the price
    /// table, so instance time counts as $0 (only waiting time is valued).
    pub hourly_price_usd: Option<f64>,
    /// The template's image already in the region (newest available, not deprecated).
    pub present_image: Option<AmiId>,
}

impl PlanCell {
    /// Saving minus cost, per month.
    pub fn net_usd_per_month(&self) -> f64 {
        self.saving_usd_per_month - self.cost_usd_per_month
    }
}

/// One template and architecture: its figures and a cell per region of the plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PlanRow {
    /// The template.
    pub template: String,
    /// The architecture its images are for.
    pub architecture: Architecture,
    /// The instance type its launches and builds use (the template's type for the
    /// architecture), when it names one.
    pub instance_type: Option<InstanceType>,
    /// Where it is built, when the plan builds it.
    pub home: Option<Region>,
    /// Launch to ready with the script.
    pub script_time: TimeFigure,
    /// Launch to ready from a pre-built image in the region.
    pub image_time: TimeFigure,
    /// The image's size.
    pub image_size: SizeFigure,
    /// The estimated time of a cross-region copy of the image, seconds.
    pub copy_time_secs: f64,
    /// The cells, in the plan's region order.
    pub cells: Vec<PlanCell>,
}

/// Why an image proposed for retirement is not retired by `--apply`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetireBlock {
    /// Instances or launch templates still use it.
    Referenced {
        /// Instances launched from it, not terminated.
        instances_count: usize,
        /// Launch templates naming it.
        launch_templates: Vec<String>,
    },
    /// What uses it could not be asked.
    UsageUnknown {
        /// The cloud's error, for people.
        message: String,
    },
    /// It was launched within the last refresh period: an on-demand copy in use.
    LaunchedRecently {
        /// EC2's LastLaunchedTime.
        at: DateTime<Utc>,
    },
}

/// An existing image the plan does not keep: its cell is left to the script or to an
/// on-demand copy, so its monthly cost exceeds what it brings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RetireProposal {
    /// The template.
    pub template: String,
    /// The image's architecture.
    pub architecture: Architecture,
    /// Its region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// The cell's decision.
    pub decision: Decision,
    /// What keeping it would save per month.
    pub benefit_usd_per_month: f64,
    /// What keeping it costs per month.
    pub cost_usd_per_month: f64,
    /// Why `--apply` leaves it, if it does.
    pub blocked: Option<RetireBlock>,
}

/// The plan's sums.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PlanTotals {
    /// Saving of every decision, per month.
    pub saving_usd_per_month: f64,
    /// Cost of every decision, per month.
    pub cost_usd_per_month: f64,
    /// Saving minus cost.
    pub net_usd_per_month: f64,
    /// Cells built here.
    pub build_count: usize,
    /// Cells kept as copies.
    pub copy_count: usize,
    /// Cells left to on-demand copies.
    pub on_demand_count: usize,
    /// Cells left to the script.
    pub script_count: usize,
    /// Images proposed for retirement.
    pub retire_count: usize,
    /// What the proposed retirements stop paying per month.
    pub retire_cost_usd_per_month: f64,
}

/// The model's inputs as the plan used them, typed (the figures) and stated (for people).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ModelInputs {
    /// Value of a researcher's waiting hour.
    pub waiting_hour_usd: f64,
    /// The refresh cadence.
    pub refresh_every_days: f64,
    /// Builder time beyond the script.
    pub capture_time_secs: f64,
    /// The launch log's window.
    pub window_days: f64,
    /// The least span a young log's counts are spread over.
    pub minimum_span_days: f64,
    /// The script time when the template states none.
    pub default_script_time_secs: f64,
    /// An in-region image's launch time when none was measured.
    pub image_launch_secs: f64,
    /// The fixed part of a copy.
    pub copy_overhead_secs: f64,
    /// Copy time per GiB (the model's throughput, GiB per minute, inverted).
    pub copy_secs_per_gib: f64,
    /// The size of an image whose size is unknown.
    pub default_image_size_gib: u64,
    /// When the instance prices were recorded.
    pub instance_prices_as_of: String,
    /// When the transfer and storage prices were recorded.
    pub region_prices_as_of: String,
    /// Every assumption, in words.
    pub stated: Vec<String>,
}

/// A template the plan leaves out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct SkippedTemplate {
    /// The template.
    pub template: String,
    /// Why.
    pub reason: String,
}

/// The pre-build plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Plan {
    /// When it was made (the end of the launch window).
    pub generated_at: DateTime<Utc>,
    /// The regions, in column order (sorted).
    pub regions: Vec<Region>,
    /// One row per template and architecture, sorted.
    pub rows: Vec<PlanRow>,
    /// Existing images the plan does not keep, sorted by template, region and image.
    pub retire: Vec<RetireProposal>,
    /// Sums.
    pub totals: PlanTotals,
    /// The model's inputs.
    pub model: ModelInputs,
    /// Templates left out, and why.
    pub skipped: Vec<SkippedTemplate>,
    /// What the planner noticed in its inputs (bad log lines, unknown templates, missing
    /// prices), for people.
    pub notes: Vec<String>,
}

/// One thing `--apply` does, in order: builds, then copies (each from a region that
/// already holds the image or is built before it), then retirements.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlanAction {
    /// Build the template for the architecture in the region.
    Build {
        /// The template.
        template: String,
        /// The architecture.
        architecture: Architecture,
        /// Where.
        region: Region,
    },
    /// Copy the template's image for the architecture from one region to another.
    Copy {
        /// The template.
        template: String,
        /// The architecture.
        architecture: Architecture,
        /// The region holding the image.
        from: Region,
        /// The region to copy into.
        to: Region,
    },
    /// Retire (deprecate, then deregister per the lifecycle's retire) an image.
    Retire {
        /// The template.
        template: String,
        /// The image.
        image: AmiId,
        /// Its region.
        region: Region,
    },
}

impl Plan {
    /// The row of `template` for `architecture`.
    pub fn row(&self, template: &str, architecture: Architecture) -> Option<&PlanRow> {
        self.rows
            .iter()
            .find(|r| r.template == template && r.architecture == architecture)
    }

    /// The cell of `template` for `architecture` in `region`.
    pub fn cell(
        &self,
        template: &str,
        architecture: Architecture,
        region: &Region,
    ) -> Option<&PlanCell> {
        self.row(template, architecture)?
            .cells
            .iter()
            .find(|c| &c.region == region)
    }

    /// What `--apply` carries out: a build in each row's home where the template has no
    /// image yet, a copy into each copy cell that has none yet (after the builds, in the
    /// order the planner chose sources, so every source holds the image first), and the
    /// retirement of every proposed image nothing blocks.
    pub fn actions(&self) -> Vec<PlanAction> {
        let mut builds = Vec::new();
        let mut copies = Vec::new();
        for row in &self.rows {
            for cell in row.planning_order() {
                if cell.present_image.is_some() {
                    continue;
                }
                let (template, architecture) = (row.template.clone(), row.architecture);
                match &cell.decision {
                    Decision::BuildHere => builds.push(PlanAction::Build {
                        template,
                        architecture,
                        region: cell.region.clone(),
                    }),
                    Decision::CopyFromNearest { source } => copies.push(PlanAction::Copy {
                        template,
                        architecture,
                        from: source.clone(),
                        to: cell.region.clone(),
                    }),
                    _ => {}
                }
            }
        }
        let retirements =
            self.retire
                .iter()
                .filter(|p| p.blocked.is_none())
                .map(|p| PlanAction::Retire {
                    template: p.template.clone(),
                    image: p.image.clone(),
                    region: p.region.clone(),
                });
        builds
            .into_iter()
            .chain(copies)
            .chain(retirements)
            .collect()
    }
}

impl PlanRow {
    /// The images the row's template already has, by region ([`PlanCell::present_image`]):
    /// the sources of copies whose source the plan does not build (`--apply` seeds what it
    /// holds with them).
    pub fn present_images(&self) -> std::collections::BTreeMap<Region, AmiId> {
        self.cells
            .iter()
            .filter_map(|c| Some((c.region.clone(), c.present_image.clone()?)))
            .collect()
    }

    /// The row's cells in the planner's order: builds first, then by launches, most first
    /// (ties in region order). A copy's source always comes before it.
    pub fn planning_order(&self) -> Vec<&PlanCell> {
        let mut order: Vec<&PlanCell> = self.cells.iter().collect();
        order.sort_by(|a, b| {
            let later = |c: &PlanCell| c.decision != Decision::BuildHere;
            later(a)
                .cmp(&later(b))
                .then(b.monthly_launch_count.total_cmp(&a.monthly_launch_count))
        });
        order
    }
}
