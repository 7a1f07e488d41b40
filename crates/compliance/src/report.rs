//! The compliance report: findings, each control's outcome per region, and what was read.

use amiref_core::{AccountId, Region};
use chrono::{DateTime, Utc};

use crate::control::{Control, ControlId, Severity};

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resource {
    /// An image (`ami-…`).
    Image(String),
    /// An EBS snapshot (`snap-…`).
    Snapshot(String),
    /// The account's setting in a region.
    AccountSetting(String),
    /// A registry entry: `TEMPLATE VERSION (SOURCE)`.
    RegistryEntry(String),
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Image(id) | Self::Snapshot(id) => f.write_str(id),
            Self::AccountSetting(name) => write!(f, "setting {name}"),
            Self::RegistryEntry(name) => write!(f, "registry entry {name}"),
        }
    }
}

/// How to fix a finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Remedy {
    /// What to do, for a person (with the AWS CLI command where amiref has none).
    pub action: String,
    /// The amiref command that does it, where one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl Remedy {
    /// A remedy amiref has no command for.
    pub fn manual(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            command: None,
        }
    }

    /// A remedy an amiref command carries out.
    pub fn command(action: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            command: Some(command.into()),
        }
    }
}

/// One failure of one control on one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Finding {
    /// The control failed.
    pub control: ControlId,
    /// How bad it is (the control's severity).
    pub severity: Severity,
    /// The region; `None` for what has no region (a registry entry).
    pub region: Option<Region>,
    /// What failed.
    pub resource: Resource,
    /// What was seen, for a person: the facts the control judged.
    pub evidence: String,
    /// How to fix it.
    pub remedy: Remedy,
}

impl Finding {
    /// A finding of `control` (with its severity) on `resource`.
    pub fn new(
        control: ControlId,
        region: Option<&Region>,
        resource: Resource,
        evidence: impl Into<String>,
        remedy: Remedy,
    ) -> Self {
        Self {
            control,
            severity: control.control().severity,
            region: region.cloned(),
            resource,
            evidence: evidence.into(),
            remedy,
        }
    }
}

/// A control's outcome in one scope (a region, or the registries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Checked; nothing failed.
    Passed {
        /// How many resources were checked.
        checked_count: usize,
    },
    /// Checked; some resources failed.
    Failed {
        /// How many resources were checked.
        checked_count: usize,
        /// How many findings.
        finding_count: usize,
    },
    /// Not checked: a read it needs failed.
    Unchecked {
        /// Which read failed, and how.
        reason: String,
    },
    /// Not checked: the configuration does not say what to check against.
    NotConfigured {
        /// The setting that would configure it.
        setting: String,
    },
}

impl Outcome {
    /// The outcome of a check over `checked` resources that made `findings` findings.
    pub fn of(checked_count: usize, findings: usize) -> Self {
        if findings == 0 {
            Self::Passed { checked_count }
        } else {
            Self::Failed {
                checked_count,
                finding_count: findings,
            }
        }
    }
}

/// A control's outcome in one region (or, for the registries, none).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ScopeOutcome {
    /// The region; `None` for the registries.
    pub region: Option<Region>,
    /// The outcome there.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One control and its outcome in every scope.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ControlSummary {
    /// The control.
    pub control: Control,
    /// Its outcome per region (or for the registries).
    pub outcomes: Vec<ScopeOutcome>,
}

impl ControlSummary {
    /// Findings of this control, in every scope.
    pub fn findings(&self) -> usize {
        self.outcomes
            .iter()
            .map(|o| match o.outcome {
                Outcome::Failed { finding_count, .. } => finding_count,
                _ => 0,
            })
            .sum()
    }
}

/// A read that failed, so that the controls needing it are unchecked there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ReadFailure {
    /// The region; `None` for a global read (who the caller is).
    pub region: Option<Region>,
    /// What was read (`DescribeImages`, `GetSnapshotBlockPublicAccessState`, ...).
    pub read: String,
    /// The cloud's error.
    pub error: String,
}

/// What was read in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegionScan {
    /// The region.
    pub region: Option<Region>,
    /// The account's images there (every state, deprecated and disabled included).
    pub own_image_count: usize,
    /// Other accounts' images the account's instances and launch templates use.
    pub used_image_count: usize,
    /// The account's instances (not terminated).
    pub instance_count: usize,
    /// Launch template versions (default and latest) naming an image.
    pub launch_template_version_count: usize,
}

/// `amiref compliance`: every control over the account's images in each region and the
/// images its instances and launch templates use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ComplianceReport {
    /// When the scan judged (ages and deprecations are at this time).
    pub generated_at: DateTime<Utc>,
    /// The account scanned, where the cloud said.
    pub account: Option<AccountId>,
    /// The regions scanned.
    pub regions: Vec<Region>,
    /// Every control with its outcome per region.
    pub controls: Vec<ControlSummary>,
    /// Every finding, worst first, then by control, region and resource.
    pub findings: Vec<Finding>,
    /// What was read per region.
    pub scanned: Vec<RegionScan>,
    /// Reads that failed; the controls needing them are `unchecked` there.
    pub read_failures: Vec<ReadFailure>,
    /// What the scan could not see, said once (launch permissions not read, ...).
    pub notes: Vec<String>,
}

impl ComplianceReport {
    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Findings at `threshold` or worse.
    pub fn at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .count()
    }

    /// Whether every read succeeded (no control is unchecked for a failed read).
    pub fn is_complete(&self) -> bool {
        self.read_failures.is_empty()
    }

    /// Findings per severity, lowest first, for a summary line.
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .into_iter()
            .map(|s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
            .collect()
    }
}
