//! A built image's distribution: every region's image, its shares, its SSM parameters and
//! its registry entry, as JSON and for people.

use std::collections::BTreeMap;

use amiref_build::distribute::{
    Distributed, DistributionStage, RegionShare, RegistryOutcome, ShareOutcome,
};
use amiref_core::{AmiId, ParameterName, Region};
use amiref_lifecycle::{ParameterOutcome, ParameterReport, ParameterWrite, RegionCopyOutcome};
use amiref_registry::{BuildEntryChange, WrittenEntry};
use schemars::JsonSchema;
use serde::Serialize;

use crate::Human;
use crate::Report;
use crate::lifecycle::{CopyJson, ShareJson, copy_lines, share_lines};
use crate::schema::string_enum;

/// What distribution did with a tested image.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DistributionJson {
    /// Where it stands.
    #[schemars(schema_with = "distribution_stage_schema")]
    pub stage: &'static str,
    /// For `tag_failed`: per region, why tagging the image `distributed` failed.
    pub tag_errors: BTreeMap<Region, String>,
    /// Every region with an image now, the home region included.
    pub images: BTreeMap<Region, AmiId>,
    /// The copies, region by region.
    pub copies: CopyJson,
    /// The shares, region by region (empty when not sharing).
    pub shares: Vec<RegionShareJson>,
    /// The SSM parameters; `null` when not publishing.
    pub parameters: Option<ParametersJson>,
    /// The registry entry; `null` when not writing one.
    pub registry: Option<RegistryEntryJson>,
}

fn distribution_stage_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "distributed: done everywhere; incomplete: something failed (a re-run completes it); \
         tag_failed: done, but tagging some images failed; planned: a dry run",
        &["distributed", "incomplete", "tag_failed", "planned"],
    )
}

/// One region's share.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RegionShareJson {
    /// The region.
    pub region: Region,
    /// The share, when it was made.
    pub share: Option<ShareJson>,
    /// Why it was not, when it failed.
    pub error: Option<String>,
}

/// The SSM parameters of one template version and architecture, in every region.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ParametersJson {
    /// `<prefix>/<template>/<version>/<arch>`.
    pub version_parameter: ParameterName,
    /// `<prefix>/<template>/latest/<arch>` (written only when the build promotes).
    pub latest_parameter: ParameterName,
    /// Per region.
    pub regions: Vec<RegionParametersJson>,
}

/// The parameters of one region.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RegionParametersJson {
    /// The region.
    pub region: Region,
    /// Each parameter written (or found holding the image already).
    pub writes: Vec<ParameterWriteJson>,
    /// Why nothing could be written here.
    pub error: Option<String>,
}

/// One parameter.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ParameterWriteJson {
    /// The parameter.
    pub name: ParameterName,
    /// The image it holds (or is to hold).
    pub image: AmiId,
    /// What it held before, if it existed.
    pub previous: Option<String>,
    /// How it ended.
    #[schemars(schema_with = "parameter_outcome_schema")]
    pub outcome: &'static str,
    /// For `failed`: why.
    pub error: Option<String>,
}

fn parameter_outcome_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "written: now; unchanged: it held the image already; planned: a dry run; failed: see \
         error",
        &["written", "unchanged", "planned", "failed"],
    )
}

/// The signed registry entry.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RegistryEntryJson {
    /// `written`, `planned` (a dry run) or `failed`.
    #[schemars(schema_with = "registry_outcome_schema")]
    pub outcome: &'static str,
    /// The registry file.
    pub file: Option<std::path::PathBuf>,
    /// The template.
    pub template: Option<String>,
    /// The version as the file writes it.
    pub version: Option<String>,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// Its holder.
    pub publisher: Option<String>,
    /// How the file changed: `created`, `replaced` or `unchanged`.
    #[schemars(schema_with = "entry_change_schema")]
    pub change: Option<&'static str>,
    /// For `failed`: why.
    pub error: Option<String>,
}

fn registry_outcome_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "How the registry entry went",
        &["written", "planned", "failed"],
    )
}

fn entry_change_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let schema = serde_json::json!({
        "description": "How the registry file changed; null when the entry failed",
        "enum": ["created", "replaced", "unchanged", null]
    });
    schemars::Schema::try_from(schema).unwrap_or_default()
}

impl From<&Distributed> for DistributionJson {
    fn from(d: &Distributed) -> Self {
        let (stage, tag_errors) = match &d.stage {
            DistributionStage::Distributed => ("distributed", BTreeMap::new()),
            DistributionStage::TagFailed { errors } => ("tag_failed", errors.clone()),
            DistributionStage::Planned => ("planned", BTreeMap::new()),
            _ => ("incomplete", BTreeMap::new()),
        };
        Self {
            stage,
            tag_errors,
            images: d.images.clone(),
            copies: (&d.copies).into(),
            shares: d.shares.iter().map(share_json).collect(),
            parameters: d.parameters.as_ref().map(parameters_json),
            registry: d.registry.as_ref().map(registry_json),
        }
    }
}

fn share_json(s: &RegionShare) -> RegionShareJson {
    let (share, error) = match &s.outcome {
        ShareOutcome::Shared { report } => (Some(report.to_json()), None),
        ShareOutcome::Failed { error } => (None, Some(error.clone())),
        other => (None, Some(format!("{other:?}"))),
    };
    RegionShareJson {
        region: s.region.clone(),
        share,
        error,
    }
}

fn parameters_json(p: &ParameterReport) -> ParametersJson {
    ParametersJson {
        version_parameter: p.names.version.clone(),
        latest_parameter: p.names.latest.clone(),
        regions: p
            .regions
            .iter()
            .map(|r| RegionParametersJson {
                region: r.region.clone(),
                writes: r.writes.iter().map(write_json).collect(),
                error: r.error.clone(),
            })
            .collect(),
    }
}

fn write_json(w: &ParameterWrite) -> ParameterWriteJson {
    let (outcome, error) = match &w.outcome {
        ParameterOutcome::Written { .. } => ("written", None),
        ParameterOutcome::Unchanged { .. } => ("unchanged", None),
        ParameterOutcome::Planned => ("planned", None),
        ParameterOutcome::Failed { error } => ("failed", Some(error.clone())),
        other => ("failed", Some(format!("{other:?}"))),
    };
    ParameterWriteJson {
        name: w.name.clone(),
        image: w.image.clone(),
        previous: w.previous.clone(),
        outcome,
        error,
    }
}

fn change_name(change: &BuildEntryChange) -> &'static str {
    match change {
        BuildEntryChange::Created => "created",
        BuildEntryChange::Unchanged => "unchanged",
        _ => "replaced",
    }
}

fn registry_json(r: &RegistryOutcome) -> RegistryEntryJson {
    let of_entry = |outcome, e: &WrittenEntry| RegistryEntryJson {
        outcome,
        file: Some(e.registry.clone()),
        template: Some(e.template.clone()),
        version: Some(e.version.clone()),
        key_id: Some(e.key_id.to_string()),
        publisher: Some(e.publisher.clone()),
        change: Some(change_name(&e.change)),
        error: None,
    };
    match r {
        RegistryOutcome::Written { entry } => of_entry("written", entry),
        RegistryOutcome::Planned { entry } => of_entry("planned", entry),
        other => RegistryEntryJson {
            outcome: "failed",
            file: None,
            template: None,
            version: None,
            key_id: None,
            publisher: None,
            change: None,
            error: Some(match other {
                RegistryOutcome::Failed { error } => error.clone(),
                _ => format!("{other:?}"),
            }),
        },
    }
}

/// The distribution for people: each region's image, the shares, the parameters' names
/// and what became of them, the registry entry.
pub(super) fn distribution_lines(d: &Distributed, out: &mut Human) {
    out.line("   images:");
    // Home first: where it was built, then where it was copied to.
    let home = d.images.iter().filter(|(r, _)| **r == d.home);
    for (region, image) in home.chain(d.images.iter().filter(|(r, _)| **r != d.home)) {
        let how = if *region == d.home {
            "built here".to_owned()
        } else {
            copy_words(d, region)
        };
        out.line(format!("     {:<16} {image}  {how}", region.as_str()));
    }
    let mut copies = Human::new();
    copy_lines(&d.copies, &mut copies, true);
    for line in copies
        .lines(crate::Stream::Out)
        .filter(|l| l.contains("failed"))
    {
        out.line(format!("     {line}"));
    }
    for share in &d.shares {
        share_region_lines(share, out);
    }
    if let Some(p) = &d.parameters {
        parameter_lines(p, out);
    }
    if let Some(r) = &d.registry {
        out.line(format!("   registry: {}", registry_words(r)));
    }
}

fn copy_words(d: &Distributed, region: &Region) -> String {
    let outcome = d.copies.regions.iter().find(|c| &c.region == region);
    match outcome.map(|c| &c.outcome) {
        Some(RegionCopyOutcome::Copied { .. }) => format!("copied from {}", d.home),
        Some(RegionCopyOutcome::Existing { .. }) => "copied by an earlier run".to_owned(),
        Some(RegionCopyOutcome::Planned) => "dry run: would be copied".to_owned(),
        _ => String::new(),
    }
}

fn share_region_lines(share: &RegionShare, out: &mut Human) {
    match &share.outcome {
        ShareOutcome::Shared { report } => {
            let mut lines = Human::new();
            share_lines(report, &mut lines);
            for line in lines.lines(crate::Stream::Out) {
                out.line(format!("   shared: {line}"));
            }
        }
        ShareOutcome::Failed { error } => {
            out.line(format!("   not shared in {}: {error}", share.region));
        }
        other => {
            out.line(format!("   {}: {other:?}", share.region));
        }
    }
}

/// `SSM parameters: NAME (written in 2 regions, unchanged in 1)`, for each of the two.
fn parameter_lines(p: &ParameterReport, out: &mut Human) {
    out.line("   SSM parameters (data type aws:ec2:image):");
    let mut by_name: BTreeMap<&str, BTreeMap<&'static str, Vec<&str>>> = BTreeMap::new();
    for region in &p.regions {
        for w in &region.writes {
            by_name
                .entry(w.name.as_str())
                .or_default()
                .entry(write_json(w).outcome)
                .or_default()
                .push(region.region.as_str());
        }
    }
    for (name, outcomes) in &by_name {
        let how: Vec<String> = outcomes
            .iter()
            .map(|(outcome, regions)| format!("{outcome} in {}", regions.join(", ")))
            .collect();
        out.line(format!("     {name}  ({})", how.join("; ")));
    }
    for region in &p.regions {
        for w in region.writes.iter().filter(|w| w.failed()) {
            if let ParameterOutcome::Failed { error } = &w.outcome {
                out.line(format!("     {} in {}: {error}", w.name, region.region));
            }
        }
        if let Some(error) = &region.error {
            out.line(format!("     none written in {}: {error}", region.region));
        }
    }
}

fn registry_words(r: &RegistryOutcome) -> String {
    let entry_words = |e: &WrittenEntry| {
        format!(
            "{} {} in {}, signed by {} ({})",
            e.template,
            e.version,
            e.registry.display(),
            e.publisher,
            e.key_id
        )
    };
    match r {
        RegistryOutcome::Written { entry } => match &entry.change {
            BuildEntryChange::Unchanged => format!("{} (already there)", entry_words(entry)),
            BuildEntryChange::Created => format!("{} (new entry)", entry_words(entry)),
            _ => format!("{} (replaces the version's entry)", entry_words(entry)),
        },
        RegistryOutcome::Planned { entry } => {
            format!("dry run: would write {}", entry_words(entry))
        }
        RegistryOutcome::Failed { error } => format!("not written: {error}"),
        other => format!("{other:?}"),
    }
}
