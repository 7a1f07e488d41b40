//! The image lifecycle's reports: `ami copy`, `share`, `deprecate`, and the parts of
//! `create`, `create-multi` and `publish` the session's reports are made of (retire has its
//! own module, progress too).

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, ChangeSetStatus, InstanceId, LaunchPermission, Region};
use amiref_lifecycle::{
    CopyReport, CreateImageSpec, CreatedImage, DeprecateReport, ImageOutcome, LifecycleError,
    PublishReport, PublishSpec, RegionCopyOutcome, ShareAction, ShareReport, TimeBasedCopyCost,
};
use chrono::SecondsFormat;
use schemars::JsonSchema;
use serde::Serialize;

use crate::schema::string_enum;
use crate::units::{Usd, usd};
use crate::{ErrorKind, ErrorReport, Human, Report};

/// An image made (or found, or planned) in its home region.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreatedImageJson {
    /// The region.
    pub region: Region,
    /// The instance imaged.
    pub instance: InstanceId,
    /// The image; `null` in a dry run.
    pub image: Option<AmiId>,
    /// Its name.
    pub name: String,
    /// What happened.
    #[schemars(schema_with = "image_outcome_schema")]
    pub outcome: &'static str,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

fn image_outcome_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "created: made now; reused: an earlier run's; planned: a dry run",
        &["created", "reused", "planned"],
    )
}

fn outcome_name(outcome: ImageOutcome) -> &'static str {
    match outcome {
        ImageOutcome::Created => "created",
        ImageOutcome::Reused => "reused",
        _ => "planned",
    }
}

fn outcome_words(outcome: ImageOutcome) -> &'static str {
    match outcome {
        ImageOutcome::Created => "created",
        ImageOutcome::Reused => "found from an earlier run",
        _ => "would be created",
    }
}

impl CreatedImageJson {
    pub(crate) fn new(created: &CreatedImage, spec: &CreateImageSpec) -> Self {
        Self {
            region: created.region.clone(),
            instance: spec.instance.clone(),
            image: created.image.clone(),
            name: created.name.clone(),
            outcome: outcome_name(created.outcome),
            tags: created.tags.clone(),
        }
    }
}

/// `"NAME" IMAGE in REGION: created`, or the dry run's `would create` line.
pub(crate) fn created_line(made: &CreatedImage, spec: &CreateImageSpec) -> String {
    match &made.image {
        Some(id) => format!(
            "{:?} {id} in {}: {}",
            made.name,
            made.region,
            outcome_words(made.outcome)
        ),
        None => format!(
            "dry run: would create {:?} in {} from {}",
            made.name, made.region, spec.instance
        ),
    }
}

/// One destination of a copy.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RegionCopyJson {
    /// The destination region.
    pub region: Region,
    /// What happened there.
    #[schemars(schema_with = "copy_outcome_schema")]
    pub outcome: &'static str,
    /// The image there now (the copy, or the source in its own region).
    pub image: Option<AmiId>,
    /// What went wrong, for `failed`.
    pub error: Option<String>,
}

fn copy_outcome_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "copied: now; existing: an earlier run's copy; source: the source's own region; \
         planned: a dry run; failed: see error",
        &["copied", "existing", "source", "planned", "failed"],
    )
}

/// A copy into many regions (`amiref/image_copy/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CopyJson {
    /// The source region.
    pub source_region: Region,
    /// The source image.
    pub source_image: AmiId,
    /// Per destination, in the order given.
    pub regions: Vec<RegionCopyJson>,
    /// For a time-based copy (`--completion-minutes`): its extra cost, at most.
    pub time_based: Option<TimeBasedCopyJson>,
}

/// What a time-based copy costs on top of a standard copy, at most.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TimeBasedCopyJson {
    /// The completion duration asked for.
    pub completion_duration_minutes: u32,
    /// GiB of snapshot volumes copied with it (an upper bound: EBS copies the blocks a
    /// snapshot holds).
    pub copied_gib: u64,
    /// The price per GiB, at most (AWS's price for the shortest duration).
    pub max_price_per_gib_usd: Usd,
    /// The extra cost in all, at most.
    pub max_extra_usd: Usd,
}

impl From<&TimeBasedCopyCost> for TimeBasedCopyJson {
    fn from(c: &TimeBasedCopyCost) -> Self {
        Self {
            completion_duration_minutes: c.completion_duration_minutes,
            copied_gib: c.gib,
            max_price_per_gib_usd: Usd(c.usd_per_gib_at_most),
            max_extra_usd: Usd(c.extra_usd_at_most),
        }
    }
}

impl From<&CopyReport> for CopyJson {
    fn from(r: &CopyReport) -> Self {
        Self {
            source_region: r.source_region.clone(),
            source_image: r.source_image.clone(),
            regions: r
                .regions
                .iter()
                .map(|c| {
                    let (outcome, error) = match &c.outcome {
                        RegionCopyOutcome::Copied { .. } => ("copied", None),
                        RegionCopyOutcome::Existing { .. } => ("existing", None),
                        RegionCopyOutcome::Source { .. } => ("source", None),
                        RegionCopyOutcome::Planned => ("planned", None),
                        RegionCopyOutcome::Failed { error } => ("failed", Some(error.clone())),
                        other => ("failed", Some(format!("unknown outcome {other:?}"))),
                    };
                    RegionCopyJson {
                        region: c.region.clone(),
                        outcome,
                        image: c.image().cloned(),
                        error,
                    }
                })
                .collect(),
            time_based: r.time_based.as_ref().map(Into::into),
        }
    }
}

pub(crate) fn copy_lines(report: &CopyReport, out: &mut Human, skip_source: bool) {
    for r in &report.regions {
        let region = r.region.as_str();
        out.line(match &r.outcome {
            RegionCopyOutcome::Copied { image } => format!("{region:<16} {image}: copied"),
            RegionCopyOutcome::Existing { image } => {
                format!("{region:<16} {image}: already there (an earlier run's copy)")
            }
            RegionCopyOutcome::Source { .. } if skip_source => continue,
            RegionCopyOutcome::Source { image } => format!("{region:<16} {image}: the source"),
            RegionCopyOutcome::Planned => format!("{region:<16} dry run: would copy"),
            RegionCopyOutcome::Failed { error } => format!("{region:<16} failed: {error}"),
            other => format!("{region:<16} {other:?}"),
        });
    }
    if let Some(cost) = &report.time_based {
        out.line(format!(
            "time-based copy, done within {} minutes: up to {} more than a standard copy \
             ({} GiB at up to {} per GiB)",
            cost.completion_duration_minutes,
            usd(cost.extra_usd_at_most),
            cost.gib,
            usd(cost.usd_per_gib_at_most),
        ));
    }
}

pub(crate) fn copy_failure(report: &CopyReport) -> Option<ErrorReport> {
    let failed = report
        .regions
        .iter()
        .filter(|r| matches!(r.outcome, RegionCopyOutcome::Failed { .. }))
        .count();
    (failed > 0).then(|| {
        ErrorReport::new(
            ErrorKind::PartialFailure,
            format!(
                "the copy of {} failed in {failed} of {} regions",
                report.source_image,
                report.regions.len()
            ),
        )
    })
}

/// `ami copy`. A region that failed makes it a `partial_failure`.
impl Report for CopyReport {
    const KIND: &'static str = "image_copy";
    type Json = CopyJson;

    fn to_json(&self) -> CopyJson {
        self.into()
    }

    fn human(&self, out: &mut Human) {
        copy_lines(self, out, false);
    }

    fn failure(&self) -> Option<ErrorReport> {
        copy_failure(self)
    }
}

/// Who may launch an image: `{"kind": "account", "id": "123456789012"}`, `{"kind":
/// "public", "id": null}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PermissionJson {
    /// `public`, `account`, `organization` or `organizational_unit`.
    #[schemars(schema_with = "permission_kind_schema")]
    pub kind: &'static str,
    /// The account id, or the organization's or OU's ARN; `null` for `public`.
    pub id: Option<String>,
}

fn permission_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "Who a launch permission is for",
        &["public", "account", "organization", "organizational_unit"],
    )
}

impl From<&LaunchPermission> for PermissionJson {
    fn from(p: &LaunchPermission) -> Self {
        let (kind, id) = match p {
            LaunchPermission::Public => ("public", None),
            LaunchPermission::Account(a) => ("account", Some(a.to_string())),
            LaunchPermission::Organization(o) => ("organization", Some(o.clone())),
            LaunchPermission::OrganizationalUnit(o) => ("organizational_unit", Some(o.clone())),
            other => ("public", Some(format!("{other:?}"))),
        };
        Self { kind, id }
    }
}

/// Launch permissions for people: `account 123456789012, everyone`, or `none`.
pub fn describe_permissions(permissions: &[LaunchPermission]) -> String {
    if permissions.is_empty() {
        return "none".to_owned();
    }
    join(permissions.iter().map(|p| match p {
        LaunchPermission::Public => "everyone".to_owned(),
        LaunchPermission::Account(a) => format!("account {a}"),
        LaunchPermission::Organization(o) => format!("organization {o}"),
        LaunchPermission::OrganizationalUnit(o) => format!("OU {o}"),
        other => format!("{other:?}"),
    }))
}

fn join<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A share or its revocation (`amiref/image_share/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ShareJson {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// `add` or `remove`.
    #[schemars(schema_with = "share_action_schema")]
    pub action: &'static str,
    /// Permissions granted or revoked now.
    pub changed: Vec<PermissionJson>,
    /// Permissions that already were as asked.
    pub unchanged: Vec<PermissionJson>,
    /// Accounts given (or denied) the snapshots' create-volume permission.
    pub snapshot_accounts: Vec<AccountId>,
    /// Things a person should know.
    pub warnings: Vec<String>,
    /// Whether nothing was changed (a dry run).
    pub dry_run: bool,
}

fn share_action_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum("Grant or revoke", &["add", "remove"])
}

/// `ami share`.
impl Report for ShareReport {
    const KIND: &'static str = "image_share";
    type Json = ShareJson;

    fn to_json(&self) -> ShareJson {
        ShareJson {
            region: self.region.clone(),
            image: self.image.clone(),
            action: match self.action {
                ShareAction::Remove => "remove",
                _ => "add",
            },
            changed: self.changed.iter().map(Into::into).collect(),
            unchanged: self.unchanged.iter().map(Into::into).collect(),
            snapshot_accounts: self.snapshot_accounts.clone(),
            warnings: self.warnings.clone(),
            dry_run: self.dry_run,
        }
    }

    fn human(&self, out: &mut Human) {
        share_lines(self, out);
    }
}

/// What a share did, for people.
pub(crate) fn share_lines(r: &ShareReport, out: &mut Human) {
    let verb = match r.action {
        ShareAction::Remove => "revoked",
        _ => "granted",
    };
    out.line(format!(
        "{}{verb} on {} in {}: {}; already so: {}",
        if r.dry_run {
            "dry run: would have "
        } else {
            ""
        },
        r.image,
        r.region,
        describe_permissions(&r.changed),
        describe_permissions(&r.unchanged),
    ));
    if !r.snapshot_accounts.is_empty() {
        out.line(format!(
            "snapshot create-volume permission: {}",
            join(r.snapshot_accounts.iter().map(AccountId::as_str))
        ));
    }
    out.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
}

/// A Marketplace publication (`amiref/image_publish/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PublishJson {
    /// The product entity id.
    pub product_id: String,
    /// The version title.
    pub version: String,
    /// The image.
    pub image: AmiId,
    /// Whether nothing was submitted (a dry run).
    pub dry_run: bool,
    /// The submitted change set's id; `null` in a dry run.
    pub change_set_id: Option<String>,
    /// The last status read; `null` when not followed.
    #[schemars(schema_with = "change_set_status_schema")]
    pub status: Option<&'static str>,
    /// The catalog's reason, for `failed`.
    pub status_reason: Option<String>,
    /// The change set as `StartChangeSet` takes it.
    pub change_set: serde_json::Value,
}

fn change_set_status_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let schema = serde_json::json!({
        "description": "The change set's last status; null when not followed",
        "enum": ["preparing", "applying", "succeeded", "cancelled", "failed", null]
    });
    schemars::Schema::try_from(schema).unwrap_or_default()
}

fn status_name(status: &ChangeSetStatus) -> (&'static str, Option<String>) {
    match status {
        ChangeSetStatus::Preparing => ("preparing", None),
        ChangeSetStatus::Applying => ("applying", None),
        ChangeSetStatus::Succeeded => ("succeeded", None),
        ChangeSetStatus::Cancelled => ("cancelled", None),
        ChangeSetStatus::Failed(reason) => ("failed", Some(reason.clone())),
        other => ("failed", Some(format!("{other:?}"))),
    }
}

impl PublishJson {
    /// The JSON of a publication: its report and the spec it carried out.
    pub(crate) fn new(report: &PublishReport, spec: &PublishSpec) -> Self {
        let (status, status_reason) = match report.status.as_ref().map(status_name) {
            Some((s, r)) => (Some(s), r),
            None => (None, None),
        };
        Self {
            product_id: spec.product_id.clone(),
            version: spec.version.clone(),
            image: spec.image.clone(),
            dry_run: spec.dry_run,
            change_set_id: report.change_set_id.clone(),
            status,
            status_reason,
            change_set: amiref_lifecycle::change_set_json(&report.change_set),
        }
    }
}

/// A publication for people: in a dry run, the change set itself as `StartChangeSet`
/// takes it; else its id and status.
pub(crate) fn publish_lines(report: &PublishReport, spec: &PublishSpec, out: &mut Human) {
    if spec.dry_run {
        let json = amiref_lifecycle::change_set_json(&report.change_set);
        out.text(serde_json::to_string_pretty(&json).unwrap_or_default());
        return;
    }
    let status = report.status.as_ref().map_or_else(
        || "not followed (use --wait)".to_owned(),
        |s| match status_name(s) {
            (name, Some(reason)) => format!("{name} ({reason})"),
            (name, None) => name.to_owned(),
        },
    );
    out.line(format!(
        "change set {} submitted for {} version {}; status: {status}",
        report.change_set_id.as_deref().unwrap_or("?"),
        spec.product_id,
        spec.version,
    ));
}

/// A change set that failed.
pub(crate) fn publish_failure(report: &PublishReport) -> Option<ErrorReport> {
    match &report.status {
        Some(ChangeSetStatus::Failed(reason)) => Some(ErrorReport::new(
            ErrorKind::Lifecycle,
            format!(
                "change set {} failed: {reason}",
                report.change_set_id.as_deref().unwrap_or("?")
            ),
        )),
        _ => None,
    }
}

/// `ami deprecate`.
impl Report for DeprecateReport {
    const KIND: &'static str = "image_deprecate";
    type Json = DeprecateReport;

    fn to_json(&self) -> DeprecateReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let after = self.after.map_or_else(
            || "not deprecated".to_owned(),
            |t| {
                format!(
                    "deprecated at {}",
                    t.to_rfc3339_opts(SecondsFormat::Secs, true)
                )
            },
        );
        out.line(match (self.changed, self.dry_run) {
            (false, _) => format!("{} in {}: already {after}", self.image, self.region),
            (true, true) => format!(
                "dry run: {} in {} would be {after}",
                self.image, self.region
            ),
            (true, false) => format!("{} in {}: {after}", self.image, self.region),
        });
    }
}

/// A lifecycle operation that did not complete: `lifecycle`, or `cloud` when a call to
/// the cloud failed, `invalid_input` for input that makes no sense.
impl From<&LifecycleError> for ErrorReport {
    fn from(e: &LifecycleError) -> Self {
        let kind = match e {
            LifecycleError::Cloud { .. } => ErrorKind::Cloud,
            LifecycleError::InvalidInput { .. } => ErrorKind::InvalidInput,
            LifecycleError::Audit { .. } => ErrorKind::Io,
            _ => ErrorKind::Lifecycle,
        };
        ErrorReport::from_error(kind, e)
    }
}
