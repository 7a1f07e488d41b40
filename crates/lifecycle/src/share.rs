//! Sharing an image: launch permissions, and the snapshots' create-volume permission.

use amiref_core::{AccountId, AmiId, ImageStore, LaunchPermission, Region};
use serde_json::json;

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;

/// Whether to grant or revoke.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ShareAction {
    /// Grant the permissions.
    Add,
    /// Revoke them.
    Remove,
}

/// Whom to share an image with (or stop sharing it with).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ShareSpec {
    /// The image's region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// The permissions to grant or revoke.
    pub permissions: Vec<LaunchPermission>,
    /// Grant or revoke.
    pub action: ShareAction,
    /// Also grant (revoke) create-volume permission on the image's snapshots to (from) the
    /// accounts named, which they need to copy the image. On by default.
    pub snapshot_permissions: bool,
    /// Plan only.
    pub dry_run: bool,
}

impl ShareSpec {
    /// Grant `permissions` on `image`.
    pub fn add(region: Region, image: AmiId, permissions: Vec<LaunchPermission>) -> Self {
        Self {
            region,
            image,
            permissions,
            action: ShareAction::Add,
            snapshot_permissions: true,
            dry_run: false,
        }
    }

    /// Revoke `permissions` on `image`.
    pub fn remove(region: Region, image: AmiId, permissions: Vec<LaunchPermission>) -> Self {
        Self {
            action: ShareAction::Remove,
            ..Self::add(region, image, permissions)
        }
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What a share did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ShareReport {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Grant or revoke.
    pub action: ShareAction,
    /// Permissions changed now (or, in a dry run, that would be).
    pub changed: Vec<LaunchPermission>,
    /// Permissions already as asked (held when granting, absent when revoking).
    pub unchanged: Vec<LaunchPermission>,
    /// Accounts whose create-volume permission on the snapshots was set.
    pub snapshot_accounts: Vec<AccountId>,
    /// Things the caller should know (encrypted snapshots need the KMS key shared too).
    pub warnings: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Checks an organization or OU ARN's shape, so a typo fails here and not in EC2.
fn validate_permission(p: &LaunchPermission) -> Result<(), LifecycleError> {
    let (field, arn, marker, expected) = match p {
        LaunchPermission::Organization(arn) => (
            "organization",
            arn,
            ":organization/o-",
            "an organization ARN such as arn:aws:organizations::123456789012:organization/o-abc123",
        ),
        LaunchPermission::OrganizationalUnit(arn) => (
            "organizational unit",
            arn,
            ":ou/o-",
            "an OU ARN such as arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cd34ef56",
        ),
        _ => return Ok(()),
    };
    let ok = arn.starts_with("arn:aws")
        && arn.contains(":organizations::")
        && arn.contains(marker)
        && !arn.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(LifecycleError::InvalidInput {
            field,
            found: arn.clone(),
            expected: expected.to_owned(),
        })
    }
}

impl Lifecycle<'_> {
    /// Grants or revokes launch permissions on an image, and create-volume permission on its
    /// snapshots for the accounts named.
    ///
    /// Idempotent: only permissions not already as asked are changed. Refuses, before changing
    /// anything: an image the caller does not own; public sharing where block-public-access
    /// for AMIs is on, or of an image with encrypted snapshots; a malformed organization or OU
    /// ARN; sharing with the owning account itself.
    pub async fn share(&self, spec: &ShareSpec) -> Result<ShareReport, LifecycleError> {
        let actor = self.actor().await?;
        let operation = match spec.action {
            ShareAction::Add => "share",
            ShareAction::Remove => "unshare",
        };
        let record = AuditRecord::new(actor, operation, AuditOutcome::Succeeded)
            .region(&spec.region)
            .target(&spec.image)
            .dry_run(spec.dry_run);
        let result = self.share_inner(spec, &record).await;
        let record = match &result {
            Ok(report) => {
                let outcome = if spec.dry_run {
                    AuditOutcome::Planned
                } else if report.changed.is_empty() {
                    AuditOutcome::Unchanged
                } else {
                    AuditOutcome::Succeeded
                };
                AuditRecord {
                    outcome,
                    ..record.details(json!(report))
                }
            }
            Err(_) => record.details(json!({ "permissions": spec.permissions })),
        };
        self.audited(record, result)
    }

    /// The share itself; `base` is the operation's audit record, which each mutating call's
    /// write-ahead records start from.
    async fn share_inner(
        &self,
        spec: &ShareSpec,
        base: &AuditRecord,
    ) -> Result<ShareReport, LifecycleError> {
        let (region, image_id) = (&spec.region, &spec.image);
        if spec.permissions.is_empty() {
            return Err(LifecycleError::InvalidInput {
                field: "permissions",
                found: String::new(),
                expected: "at least one account, organization, organizational unit or public"
                    .to_owned(),
            });
        }
        for p in &spec.permissions {
            validate_permission(p)?;
        }
        let caller = self.caller().await?;
        let image = self.describe_one(region, image_id).await?;
        if image.owner != caller.account {
            return Err(LifecycleError::refused(format!(
                "{image_id} in {region} belongs to account {}, not the caller's {}: only the owner can change who may launch it",
                image.owner, caller.account
            )));
        }
        if spec
            .permissions
            .contains(&LaunchPermission::Account(caller.account.clone()))
        {
            return Err(LifecycleError::refused(format!(
                "account {} owns {image_id}; an owner always may launch its images, so there is nothing to share with it",
                caller.account
            )));
        }
        let making_public =
            spec.action == ShareAction::Add && spec.permissions.contains(&LaunchPermission::Public);
        if making_public {
            if image.is_encrypted() {
                return Err(LifecycleError::refused(format!(
                    "{image_id} has encrypted snapshots, and EC2 cannot make an image with encrypted snapshots public; share it with accounts or an organization instead"
                )));
            }
            let blocked = self
                .cloud
                .image_block_public_access(region)
                .await
                .map_err(|e| {
                    LifecycleError::cloud(format!("reading block-public-access in {region}"), e)
                })?;
            if blocked {
                return Err(LifecycleError::refused(format!(
                    "block public access for AMIs is on in {region}, so {image_id} cannot be made public; turn it off (aws ec2 disable-image-block-public-access --region {region}) if publishing publicly is intended, or share with accounts, an organization or an OU instead"
                )));
            }
        }

        let current = self
            .cloud
            .launch_permissions(region, image_id)
            .await
            .map_err(|e| {
                LifecycleError::cloud(format!("reading launch permissions of {image_id}"), e)
            })?;
        let (changed, unchanged): (Vec<_>, Vec<_>) =
            spec.permissions
                .iter()
                .cloned()
                .partition(|p| match spec.action {
                    ShareAction::Add => !current.contains(p),
                    ShareAction::Remove => current.contains(p),
                });
        // Snapshot permission follows every account named, changed or not, so a re-run heals
        // a share whose snapshot step failed the first time.
        let snapshot_accounts: Vec<AccountId> = if spec.snapshot_permissions {
            spec.permissions
                .iter()
                .filter_map(|p| match p {
                    LaunchPermission::Account(a) => Some(a.clone()),
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let snapshots: Vec<_> = image.snapshot_ids().cloned().collect();
        let mut warnings = Vec::new();
        if spec.action == ShareAction::Add && image.is_encrypted() {
            warnings.push(format!(
                "{image_id} has encrypted snapshots: the accounts it is shared with also need use of the KMS key, which amiref does not grant"
            ));
        }
        if spec.action == ShareAction::Add
            && spec.snapshot_permissions
            && spec.permissions.iter().any(|p| {
                matches!(
                    p,
                    LaunchPermission::Organization(_) | LaunchPermission::OrganizationalUnit(_)
                )
            })
        {
            warnings.push(
                "EC2 grants snapshot create-volume permission to accounts only: members of an organization or OU can launch the image but not copy it".to_owned(),
            );
        }

        if !spec.dry_run {
            if !changed.is_empty() {
                let operation = match spec.action {
                    ShareAction::Add => "add_launch_permissions",
                    ShareAction::Remove => "remove_launch_permissions",
                };
                let record = AuditRecord {
                    operation: operation.to_owned(),
                    details: json!({ "permissions": changed }),
                    ..base.clone()
                };
                let call = || async {
                    match spec.action {
                        ShareAction::Add => {
                            self.cloud
                                .add_launch_permissions(region, image_id, &changed)
                                .await
                        }
                        ShareAction::Remove => {
                            self.cloud
                                .remove_launch_permissions(region, image_id, &changed)
                                .await
                        }
                    }
                };
                self.intended_call(record, call, |_| None)
                    .await?
                    .map_err(|e| {
                        LifecycleError::cloud(
                            format!("changing launch permissions of {image_id}"),
                            e,
                        )
                    })?;
            }
            if !snapshot_accounts.is_empty() && !snapshots.is_empty() {
                let add = spec.action == ShareAction::Add;
                let record = AuditRecord {
                    operation: "modify_snapshot_permissions".to_owned(),
                    details: json!({
                        "snapshots": snapshots,
                        "accounts": snapshot_accounts,
                        "add": add,
                    }),
                    ..base.clone()
                };
                let call = || {
                    self.cloud.modify_snapshot_permissions(
                        region,
                        &snapshots,
                        &snapshot_accounts,
                        add,
                    )
                };
                self.intended_call(record, call, |_| None)
                    .await?
                    .map_err(|e| {
                        LifecycleError::cloud(
                            format!(
                                "changing create-volume permission on the snapshots of {image_id}"
                            ),
                            e,
                        )
                    })?;
            }
        }
        Ok(ShareReport {
            region: region.clone(),
            image: image_id.clone(),
            action: spec.action,
            changed,
            unchanged,
            snapshot_accounts: if snapshots.is_empty() {
                Vec::new()
            } else {
                snapshot_accounts
            },
            warnings,
            dry_run: spec.dry_run,
        })
    }
}
