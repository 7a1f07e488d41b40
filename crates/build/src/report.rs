//! What a build did.

use std::time::Duration;

use crate::TestedImage;
use crate::cleanup::CleanupReport;
use crate::distribute::Distributed;
use crate::events::Stage;
use crate::plan::BuildPlan;

/// What [`Builder::run`](crate::Builder::run) did: planned (a dry run) or built.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BuildOutcome {
    /// A dry run: what a build would do, and its estimated time and cost.
    Planned(BuildPlan),
    /// A build.
    Built(BuildReport),
}

/// A finished build of one template, one image per architecture.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct BuildReport {
    /// The template.
    pub template: String,
    /// The version built.
    pub version: Option<String>,
    /// The expired leftovers of earlier builds removed before this one.
    pub swept: CleanupReport,
    /// One image per architecture.
    pub images: Vec<BuiltImage>,
}

/// One architecture's image: tested, distributed, its temporary resources removed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct BuiltImage {
    /// The tested image in the home region, with what was measured.
    pub tested: TestedImage,
    /// Each stage after the base, as this run saw it.
    pub stages: Vec<StageRecord>,
    /// The copies, shares, parameters and registry entry.
    pub distribution: Distributed,
    /// The temporary resources removed at the end.
    pub cleanup: CleanupReport,
}

/// How one stage went in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct StageRecord {
    /// The stage.
    pub stage: Stage,
    /// Whether an earlier run had completed it (then this run skipped it).
    pub resumed: bool,
    /// Seconds this run spent in it (0 when resumed).
    pub elapsed_secs: u64,
}

impl StageRecord {
    pub(crate) fn ran(stage: Stage, elapsed: Duration) -> Self {
        Self {
            stage,
            resumed: false,
            elapsed_secs: elapsed.as_secs(),
        }
    }

    pub(crate) fn resumed(stage: Stage) -> Self {
        Self {
            stage,
            resumed: true,
            elapsed_secs: 0,
        }
    }
}
