//! `ami retire`: the retention policy's decision per image, and what it frees.

use amiref_core::{AmiId, Region};
use amiref_lifecycle::{Decision, KeepReason, Protection, RetireEntry, RetireReport};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::lifecycle::{PermissionJson, describe_permissions};
use crate::schema::string_enum;
use crate::units::{Usd, usd};
use crate::{ErrorKind, ErrorReport, Human, Report};

/// Why the policy keeps an image.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KeepJson {
    /// `among_newest`, `younger_than_max_age`, `minimum`, `excluded_by_tag`.
    #[schemars(schema_with = "keep_kind_schema")]
    pub kind: &'static str,
    /// For `among_newest`: its rank, 1 the newest.
    pub rank: Option<usize>,
    /// For `excluded_by_tag`: the tag.
    pub tag: Option<String>,
}

fn keep_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "Why the policy keeps an image",
        &[
            "among_newest",
            "younger_than_max_age",
            "minimum",
            "excluded_by_tag",
        ],
    )
}

/// What protects an image the policy would retire.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProtectionJson {
    /// `in_use`, `mapped_by_template`, `in_registry`, `shared`, `unchecked`.
    #[schemars(schema_with = "protection_kind_schema")]
    pub kind: &'static str,
    /// For `in_use`: instances launched from it.
    pub instances: Vec<String>,
    /// For `in_use`: launch templates naming it.
    pub launch_templates: Vec<String>,
    /// For `mapped_by_template`: the templates.
    pub templates: Vec<String>,
    /// For `shared`: its launch permissions.
    pub permissions: Vec<PermissionJson>,
    /// For `unchecked`: why it could not be checked.
    pub error: Option<String>,
}

fn protection_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "What protects an image",
        &[
            "in_use",
            "mapped_by_template",
            "in_registry",
            "shared",
            "unchecked",
        ],
    )
}

impl From<&Protection> for ProtectionJson {
    fn from(p: &Protection) -> Self {
        let mut json = Self {
            kind: "unchecked",
            instances: Vec::new(),
            launch_templates: Vec::new(),
            templates: Vec::new(),
            permissions: Vec::new(),
            error: None,
        };
        match p {
            Protection::InUse { usage } => {
                json.kind = "in_use";
                json.instances = usage.instances.iter().map(ToString::to_string).collect();
                json.launch_templates = usage.launch_templates.clone();
            }
            Protection::MappedByTemplate { templates } => {
                json.kind = "mapped_by_template";
                json.templates = templates.clone();
            }
            Protection::InRegistry => json.kind = "in_registry",
            Protection::Shared { permissions } => {
                json.kind = "shared";
                json.permissions = permissions.iter().map(Into::into).collect();
            }
            Protection::Unchecked { error } => json.error = Some(error.clone()),
            other => json.error = Some(format!("{other:?}")),
        }
        json
    }
}

/// One image considered.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RetireEntryJson {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// When it was made.
    pub creation_date: DateTime<Utc>,
    /// The GiB of its snapshots' volumes.
    pub size_gib: u64,
    /// `keep`, `protected`, `retire` (a dry run), `retired`, or `failed`.
    #[schemars(schema_with = "decision_schema")]
    pub decision: &'static str,
    /// For `keep`: why.
    pub keep: Option<KeepJson>,
    /// For `protected`: everything that protects it.
    pub protections: Vec<ProtectionJson>,
    /// For `failed`: why.
    pub error: Option<String>,
}

fn decision_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "The policy's decision",
        &["keep", "protected", "retire", "retired", "failed"],
    )
}

impl RetireEntryJson {
    fn new(e: &RetireEntry, executed: bool) -> Self {
        let mut json = Self {
            region: e.region.clone(),
            image: e.image.clone(),
            name: e.name.clone(),
            creation_date: e.creation_date,
            size_gib: e.size_gib,
            decision: "failed",
            keep: None,
            protections: Vec::new(),
            error: None,
        };
        match &e.decision {
            Decision::Keep { reason } => {
                json.decision = "keep";
                json.keep = Some(keep_json(reason));
            }
            Decision::Protected { reasons } => {
                json.decision = "protected";
                json.protections = reasons.iter().map(Into::into).collect();
            }
            Decision::Retire => json.decision = if executed { "retired" } else { "retire" },
            Decision::Failed { error } => json.error = Some(error.clone()),
            other => json.error = Some(format!("{other:?}")),
        }
        json
    }
}

fn keep_json(reason: &KeepReason) -> KeepJson {
    let (kind, rank, tag) = match reason {
        KeepReason::AmongNewest { rank } => ("among_newest", Some(*rank), None),
        KeepReason::YoungerThanMaxAge => ("younger_than_max_age", None, None),
        KeepReason::ExcludedByTag { tag } => ("excluded_by_tag", None, Some(tag.clone())),
        _ => ("minimum", None, None),
    };
    KeepJson { kind, rank, tag }
}

/// A retention run (`amiref/image_retire/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RetireJson {
    /// The template.
    pub template: String,
    /// The regions looked in.
    pub regions: Vec<Region>,
    /// Whether images were actually retired.
    pub executed: bool,
    /// Every image considered, newest first per region.
    pub entries: Vec<RetireEntryJson>,
    /// GiB of snapshot volumes freed (or that would be); an upper bound.
    pub freed_gib: u64,
    /// What that storage costs a month, USD: the monthly saving, an upper bound.
    pub monthly_saving_usd: Usd,
}

/// `ami retire`. An image whose retirement failed makes it a `partial_failure`.
impl Report for RetireReport {
    const KIND: &'static str = "image_retire";
    type Json = RetireJson;

    fn to_json(&self) -> RetireJson {
        RetireJson {
            template: self.template.clone(),
            regions: self.regions.clone(),
            executed: self.executed,
            entries: self
                .entries
                .iter()
                .map(|e| RetireEntryJson::new(e, self.executed))
                .collect(),
            freed_gib: self.freed_gib,
            monthly_saving_usd: Usd(self.monthly_saving_usd),
        }
    }

    fn human(&self, out: &mut Human) {
        for e in &self.entries {
            out.line(format!(
                "{:<16} {}  {:<28} {:>4} GiB  {}",
                e.region.as_str(),
                e.image,
                e.name,
                e.size_gib,
                decision_text(&e.decision, self.executed)
            ));
        }
        if self.entries.is_empty() {
            out.line(format!(
                "no images of template {:?} (tag amiref:template) in {}",
                self.template,
                self.regions
                    .iter()
                    .map(Region::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.line(format!(
            "{} {} GiB of snapshots, saving up to {} a month{}",
            if self.executed { "freed" } else { "would free" },
            self.freed_gib,
            usd(self.monthly_saving_usd),
            if self.executed {
                ""
            } else {
                " (dry run: pass --execute to retire)"
            }
        ));
    }

    fn failure(&self) -> Option<ErrorReport> {
        let failed = self
            .entries
            .iter()
            .filter(|e| matches!(e.decision, Decision::Failed { .. }))
            .count();
        (failed > 0).then(|| {
            ErrorReport::new(
                ErrorKind::PartialFailure,
                format!(
                    "retiring {failed} image{} of template {:?} failed",
                    if failed == 1 { "" } else { "s" },
                    self.template
                ),
            )
        })
    }
}

fn decision_text(decision: &Decision, executed: bool) -> String {
    match decision {
        Decision::Keep { reason } => format!("keep: {}", keep_text(reason)),
        Decision::Protected { reasons } => format!(
            "protected: {}",
            reasons
                .iter()
                .map(protection_text)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Decision::Retire if executed => "retired".to_owned(),
        Decision::Retire => "would retire".to_owned(),
        Decision::Failed { error } => format!("failed: {error}"),
        other => format!("{other:?}"),
    }
}

fn keep_text(reason: &KeepReason) -> String {
    match reason {
        KeepReason::AmongNewest { rank } => format!("newest #{rank}"),
        KeepReason::YoungerThanMaxAge => "younger than --max-age".to_owned(),
        KeepReason::Minimum => "the newest is always kept".to_owned(),
        KeepReason::ExcludedByTag { tag } => format!("tagged {tag}"),
        other => format!("{other:?}"),
    }
}

fn protection_text(p: &Protection) -> String {
    match p {
        Protection::InUse { usage } => {
            let mut users: Vec<String> = usage
                .instances
                .iter()
                .map(|i| format!("instance {i}"))
                .collect();
            users.extend(
                usage
                    .launch_templates
                    .iter()
                    .map(|t| format!("launch template {t}")),
            );
            format!("in use by {}", users.join(", "))
        }
        Protection::MappedByTemplate { templates } => {
            format!("mapped by template {}", templates.join(", "))
        }
        Protection::InRegistry => "listed in a registry (--registry, --protect)".to_owned(),
        Protection::Shared { permissions } => format!(
            "shared with {} (--force-shared to retire anyway)",
            describe_permissions(permissions)
        ),
        Protection::Unchecked { error } => format!("not checked: {error}"),
        other => format!("{other:?}"),
    }
}
