//! Carrying out a retirement: each change written ahead to the audit trail.

use std::collections::BTreeMap;

use amiref_core::{Image, ImageGovernance, ImageState, ImageStore, LaunchPermission};
use chrono::SecondsFormat;
use serde_json::json;

use super::{Decision, RetireEntry, RetireSpec};
use crate::audit::{Actor, AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;
use crate::progress::ProgressEvent;
use crate::tags::TAG_RETIRE_AFTER;

/// An image with the plan's decision, and what carrying it out needs to know.
pub(super) struct Planned {
    pub(super) entry: RetireEntry,
    pub(super) image: Image,
    /// Who may launch it now, recorded before disabling removes them.
    permissions: Vec<LaunchPermission>,
}

impl Planned {
    pub(super) fn new(
        image: Image,
        decision: Decision,
        permissions: Vec<LaunchPermission>,
    ) -> Self {
        let entry = RetireEntry {
            region: image.region.clone(),
            image: image.id.clone(),
            name: image.name.clone(),
            creation_date: image.creation_date,
            size_gib: image.total_volume_size_gib(),
            decision,
            state: image.state,
            version: image
                .tag(crate::tags::TAG_TEMPLATE_VERSION)
                .map(str::to_owned),
            last_launched: image.last_launched,
            recycle_bin: None,
        };
        Self {
            entry,
            image,
            permissions,
        }
    }
}

impl Lifecycle<'_> {
    /// Disables, schedules and deregisters what the plan says. One image's failure is its
    /// entry's; an audit failure stops the run before the next change.
    pub(super) async fn carry_out(
        &self,
        actor: &Actor,
        spec: &RetireSpec,
        planned: &mut [Planned],
    ) -> Result<(), LifecycleError> {
        for p in planned.iter_mut() {
            let result = match p.entry.decision.clone() {
                Decision::Disable { retire_after } => {
                    self.disable_step(actor, spec, p, retire_after).await?
                }
                Decision::Retire => self.deregister_step(actor, spec, p).await?,
                _ => continue,
            };
            if let Err(error) = result {
                p.entry.decision = Decision::Failed { error };
            }
        }
        Ok(())
    }

    /// The record of one step on one image.
    fn step_record(
        &self,
        actor: &Actor,
        spec: &RetireSpec,
        p: &Planned,
        step: &str,
    ) -> AuditRecord {
        AuditRecord::new(actor.clone(), "retire", AuditOutcome::Intended)
            .region(&p.entry.region)
            .target(&p.entry.image)
            .details(json!({
                "step": step,
                "template": spec.template,
                "name": p.entry.name,
                "creation_date": p.entry.creation_date,
                "size_gib": p.entry.size_gib,
                "policy": spec.policy,
                "force_shared": spec.force_shared,
                "launch_permissions": p.permissions,
                "decision": p.entry.decision,
                "recycle_bin": p.entry.recycle_bin,
            }))
    }

    /// The first step: disable (unless already disabled), then tag when it may go.
    async fn disable_step(
        &self,
        actor: &Actor,
        spec: &RetireSpec,
        p: &Planned,
        retire_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<(), String>, LifecycleError> {
        let (region, image) = (&p.entry.region, &p.entry.image);
        if p.image.state != ImageState::Disabled {
            let record = self.step_record(actor, spec, p, "disable");
            let disabled = self
                .write_ahead(record, || self.cloud.disable_image(region, image))
                .await?
                .map_err(|e| e.to_string());
            if disabled.is_err() {
                return Ok(disabled);
            }
        }
        let tags = BTreeMap::from([(
            TAG_RETIRE_AFTER.to_owned(),
            retire_after.to_rfc3339_opts(SecondsFormat::Secs, true),
        )]);
        let record = self.step_record(actor, spec, p, "schedule");
        Ok(self
            .write_ahead(record, || self.cloud.create_tags(region, image, &tags))
            .await?
            .map_err(|e| e.to_string()))
    }

    /// The last step: deregister and delete the snapshots.
    async fn deregister_step(
        &self,
        actor: &Actor,
        spec: &RetireSpec,
        p: &Planned,
    ) -> Result<Result<(), String>, LifecycleError> {
        let (region, image) = (&p.entry.region, &p.entry.image);
        let record = self.step_record(actor, spec, p, "deregister");
        let result = self
            .write_ahead(record, || self.cloud.deregister_image(region, image, true))
            .await?
            .map_err(|e| e.to_string());
        if result.is_ok() {
            self.progress.emit(ProgressEvent::Retired {
                region: region.clone(),
                image: image.clone(),
                freed_gib: p.entry.size_gib,
            });
        }
        Ok(result)
    }
}
