//! `ami retire`: the retention policy's decision per image (with what protects it, and
//! where it is in the two steps of retirement: disabled, deregistered after a date), whether
//! the Recycle Bin keeps what is deregistered, and what it frees.

use amiref_core::{
    AmiId, DeregistrationProtection, ImageReference, ImageState, ReferenceKind, Region,
};
use amiref_lifecycle::{
    Decision, KeepReason, Protection, RecycleBinRecovery, RetainedBy, RetireEntry, RetireReport,
};
use chrono::{DateTime, SecondsFormat, Utc};
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

/// A resource that references an image, as DescribeImageReferences reports it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReferenceJson {
    /// EC2's resource type: `ec2:Instance`, `ec2:LaunchTemplate`, `ssm:Parameter`,
    /// `imagebuilder:ImageRecipe`, `imagebuilder:ContainerRecipe`, or another EC2 names.
    pub resource_type: String,
    /// The resource's ARN.
    pub arn: String,
}

impl From<&ImageReference> for ReferenceJson {
    fn from(r: &ImageReference) -> Self {
        Self {
            resource_type: r.kind.as_ec2().to_owned(),
            arn: r.arn.clone(),
        }
    }
}

/// What protects an image the policy would retire.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProtectionJson {
    /// `in_use`, `mapped_by_template`, `in_registry`, `shared`, `unchecked`,
    /// `deregistration_protected`, `referenced`, `recently_launched`.
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
    /// For `deregistration_protected`: EC2's deregistration protection.
    pub protection: Option<DeregistrationProtection>,
    /// For `referenced`: every resource EC2 reports referencing it.
    pub references: Vec<ReferenceJson>,
    /// For `recently_launched`: when an instance was last launched from it.
    pub last_launched: Option<DateTime<Utc>>,
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
            "deregistration_protected",
            "referenced",
            "recently_launched",
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
            protection: None,
            references: Vec::new(),
            last_launched: None,
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
            Protection::DeregistrationProtected { protection } => {
                json.kind = "deregistration_protected";
                json.protection = Some(*protection);
            }
            Protection::Referenced { references } => {
                json.kind = "referenced";
                json.references = references.iter().map(Into::into).collect();
            }
            Protection::RecentlyLaunched { last_launched } => {
                json.kind = "recently_launched";
                json.last_launched = Some(*last_launched);
            }
            other => json.error = Some(format!("{other:?}")),
        }
        json
    }
}

/// A Recycle Bin retention rule that keeps a deregistered image or its deleted snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RetainedJson {
    /// The rule's identifier.
    pub rule: String,
    /// How many days it keeps what it retains.
    pub retention_days: u32,
    /// Until when it can be restored from the Recycle Bin, counted from its deregistration.
    pub recoverable_until: DateTime<Utc>,
}

impl From<&RetainedBy> for RetainedJson {
    fn from(r: &RetainedBy) -> Self {
        Self {
            rule: r.rule.clone(),
            retention_days: r.retention_days,
            recoverable_until: r.recoverable_until,
        }
    }
}

/// Whether the Recycle Bin keeps an image once deregistered, and its snapshots once deleted.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RecycleBinJson {
    /// Whether the region's retention rules could be read; when not, see `error`.
    pub checked: bool,
    /// The rule keeping the image; `null` when none does (gone for good) or unchecked.
    pub image: Option<RetainedJson>,
    /// The rule keeping its snapshots; `null` when none does or unchecked.
    pub snapshots: Option<RetainedJson>,
    /// Why the rules could not be read.
    pub error: Option<String>,
}

impl From<&RecycleBinRecovery> for RecycleBinJson {
    fn from(r: &RecycleBinRecovery) -> Self {
        match r {
            RecycleBinRecovery::Checked { image, snapshots } => Self {
                checked: true,
                image: image.as_ref().map(Into::into),
                snapshots: snapshots.as_ref().map(Into::into),
                error: None,
            },
            RecycleBinRecovery::Unknown { error } => Self::unknown(error.clone()),
            other => Self::unknown(format!("{other:?}")),
        }
    }
}

impl RecycleBinJson {
    fn unknown(error: String) -> Self {
        Self {
            checked: false,
            image: None,
            snapshots: None,
            error: Some(error),
        }
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
    /// Its state when the run looked: `available`, or `disabled` (by an earlier run's
    /// first step, or by hand).
    pub state: ImageState,
    /// Its version (the `amiref:template-version` tag), which ranks it.
    pub version: Option<String>,
    /// When an instance was last launched from it (EC2's LastLaunchedTime).
    pub last_launched: Option<DateTime<Utc>>,
    /// `keep`; `protected`; `disable` (a dry run's first step) or `disabled` (done now),
    /// deregistered by a run after `retire_after`; `in_grace` (disabled by an earlier run,
    /// waiting for `retire_after`); `retire` (a dry run's deregistration) or `retired`
    /// (deregistered now, with its snapshots); or `failed`.
    #[schemars(schema_with = "decision_schema")]
    pub decision: &'static str,
    /// For `disable`, `disabled` and `in_grace`: when a later run may deregister it.
    pub retire_after: Option<DateTime<Utc>>,
    /// For `keep`: why.
    pub keep: Option<KeepJson>,
    /// For `protected`: everything that protects it.
    pub protections: Vec<ProtectionJson>,
    /// For images deregistered now or later: whether the Recycle Bin keeps them.
    pub recycle_bin: Option<RecycleBinJson>,
    /// For `failed`: why.
    pub error: Option<String>,
}

fn decision_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "The policy's decision",
        &[
            "keep",
            "protected",
            "disable",
            "disabled",
            "in_grace",
            "retire",
            "retired",
            "failed",
        ],
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
            state: e.state,
            version: e.version.clone(),
            last_launched: e.last_launched,
            decision: "failed",
            retire_after: None,
            keep: None,
            protections: Vec::new(),
            recycle_bin: e.recycle_bin.as_ref().map(Into::into),
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
            Decision::Disable { retire_after } => {
                json.decision = if executed { "disabled" } else { "disable" };
                json.retire_after = Some(*retire_after);
            }
            Decision::InGrace { retire_after } => {
                json.decision = "in_grace";
                json.retire_after = Some(*retire_after);
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
    /// GiB of snapshot volumes freed (or that would be) by deregistering now; an upper
    /// bound.
    pub freed_gib: u64,
    /// What that storage costs a month, USD: the monthly saving, an upper bound.
    pub monthly_saving_usd: Usd,
    /// How long a disabled image waits before a later run deregisters it, in seconds (0:
    /// deregistered at once).
    pub grace_secs: i64,
    /// GiB of snapshot volumes of images disabled and waiting for their grace period:
    /// freed by a later run.
    pub scheduled_gib: u64,
    /// What that storage costs a month, USD.
    pub scheduled_monthly_saving_usd: Usd,
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
            grace_secs: self.grace_secs,
            scheduled_gib: self.scheduled_gib,
            scheduled_monthly_saving_usd: Usd(self.scheduled_monthly_saving_usd),
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
                decision_text(e, self.executed)
            ));
            if let Some(recovery) = &e.recycle_bin {
                out.line(format!("{:<16} {}", "", recycle_bin_text(recovery)));
            }
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
        if self.scheduled_gib > 0 {
            out.line(format!(
                "{} {} GiB more once disabled images' grace periods end (saving up to {} a \
                 month more); `ami enable IMAGE` keeps one",
                if self.executed { "frees" } else { "would free" },
                self.scheduled_gib,
                usd(self.scheduled_monthly_saving_usd),
            ));
        }
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

fn when(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn decision_text(entry: &RetireEntry, executed: bool) -> String {
    match &entry.decision {
        Decision::Keep { reason } => format!("keep: {}", keep_text(reason)),
        Decision::Protected { reasons } => format!(
            "protected: {}",
            reasons
                .iter()
                .map(|p| protection_text(p, &entry.image))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Decision::Disable { retire_after } if executed => format!(
            "disabled, deregister after {} (ami enable {} to keep it)",
            when(*retire_after),
            entry.image
        ),
        Decision::Disable { retire_after } => {
            format!("would disable, deregister after {}", when(*retire_after))
        }
        Decision::InGrace { retire_after } => {
            format!("disabled, deregister after {}", when(*retire_after))
        }
        Decision::Retire if executed => "retired: deregistered, snapshots deleted".to_owned(),
        Decision::Retire => "would retire: deregister, delete snapshots".to_owned(),
        Decision::Failed { error } => format!("failed: {error}"),
        other => format!("{other:?}"),
    }
}

/// `Recycle Bin: image recoverable until ... (rule r-1, 30 days); no rule keeps the
/// snapshots`.
fn recycle_bin_text(recovery: &RecycleBinRecovery) -> String {
    let kept = |what: &str, kept: &Option<RetainedBy>| match kept {
        Some(k) => format!(
            "{what} recoverable until {} (rule {}, {} days)",
            when(k.recoverable_until),
            k.rule,
            k.retention_days
        ),
        None => format!("no rule keeps the {what}"),
    };
    match recovery {
        RecycleBinRecovery::Checked {
            image: None,
            snapshots: None,
        } => "Recycle Bin: no rule keeps the image or its snapshots: gone for good once deleted"
            .to_owned(),
        RecycleBinRecovery::Checked { image, snapshots } => format!(
            "Recycle Bin: {}; {}",
            kept("image", image),
            kept("snapshots", snapshots)
        ),
        RecycleBinRecovery::Unknown { error } => format!("Recycle Bin: unknown ({error})"),
        other => format!("Recycle Bin: {other:?}"),
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

fn protection_text(p: &Protection, image: &AmiId) -> String {
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
        Protection::DeregistrationProtected { protection } => match protection {
            DeregistrationProtection::CoolingDown { until } => format!(
                "deregistration protection cooling down until {}",
                when(*until)
            ),
            _ => format!("deregistration protection on (ami protect {image} --off to allow)"),
        },
        Protection::Referenced { references } => format!(
            "referenced by {}",
            references
                .iter()
                .map(reference_text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Protection::RecentlyLaunched { last_launched } => format!(
            "launched {} (--keep-launched-within; 30 days for a shared image)",
            when(*last_launched)
        ),
        other => format!("{other:?}"),
    }
}

fn reference_text(r: &ImageReference) -> String {
    let kind = match &r.kind {
        ReferenceKind::Instance => "instance",
        ReferenceKind::LaunchTemplate => "launch template",
        ReferenceKind::SsmParameter => "SSM parameter",
        ReferenceKind::ImageRecipe => "Image Builder recipe",
        ReferenceKind::ContainerRecipe => "Image Builder container recipe",
        other => other.as_ec2(),
    };
    format!("{kind} {}", r.arn)
}
