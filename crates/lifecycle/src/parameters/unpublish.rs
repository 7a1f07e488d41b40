//! Unpublishing a version: deleting its image parameters, as a retired image's must go.

use amiref_core::{AmiId, Architecture, ParameterStore, Parameters, Region};
use futures::future::join_all;
use serde_json::json;

use super::{DEFAULT_PARAMETER_PREFIX, ImageParameterNames, sorted_unique};
use crate::audit::{Actor, AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;

/// Delete a template version's parameter, in each region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct UnpublishSpec {
    /// The template.
    pub template: String,
    /// The version to unpublish.
    pub version: String,
    /// The architecture.
    pub architecture: Architecture,
    /// The regions to unpublish in.
    pub regions: Vec<Region>,
    /// The path published under ([`DEFAULT_PARAMETER_PREFIX`] by default).
    pub prefix: String,
    /// Plan only.
    pub dry_run: bool,
}

impl UnpublishSpec {
    /// Unpublish `template` `version` on `architecture` in `regions`.
    pub fn new(
        template: impl Into<String>,
        version: impl Into<String>,
        architecture: Architecture,
        regions: Vec<Region>,
    ) -> Self {
        Self {
            template: template.into(),
            version: version.into(),
            architecture,
            regions,
            prefix: DEFAULT_PARAMETER_PREFIX.to_owned(),
            dry_run: false,
        }
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// How unpublishing went in one region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnpublishOutcome {
    /// The parameter, which held `image`, was deleted with its history.
    Deleted {
        /// What it held.
        image: String,
    },
    /// There was no such parameter.
    Absent,
    /// A dry run: it would be deleted.
    Planned {
        /// What it holds.
        image: String,
    },
    /// Not deleted: `latest` holds the same image, and would be left pointing at an image
    /// no version names.
    Refused {
        /// Why, and what to do first.
        reason: String,
    },
    /// Reading or deleting failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// One region's unpublishing.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RegionUnpublish {
    /// The region.
    pub region: Region,
    /// How it went.
    #[serde(flatten)]
    pub outcome: UnpublishOutcome,
}

/// What unpublishing did, region by region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct UnpublishReport {
    /// The parameter names.
    pub names: ImageParameterNames,
    /// Per region, sorted by region.
    pub regions: Vec<RegionUnpublish>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl UnpublishReport {
    /// Whether any region was refused or failed.
    pub fn has_failures(&self) -> bool {
        self.regions.iter().any(|r| {
            matches!(
                r.outcome,
                UnpublishOutcome::Refused { .. } | UnpublishOutcome::Failed { .. }
            )
        })
    }
}

impl Lifecycle<'_> {
    /// Deletes `<prefix>/<template>/<version>/<arch>` in each region, as retiring the
    /// version's images asks (a parameter naming a deregistered image would break every
    /// launch that resolves it).
    ///
    /// Idempotent (an absent parameter is [`UnpublishOutcome::Absent`]), audited per region,
    /// and per region: one region's refusal or failure does not stop the others. Refuses
    /// where `latest` holds the version's image: roll `latest` back first
    /// ([`Lifecycle::rollback_latest`]).
    pub async fn unpublish_parameters(
        &self,
        spec: &UnpublishSpec,
    ) -> Result<UnpublishReport, LifecycleError> {
        let actor = self.actor().await?;
        let names = self.names_or_refusal(
            &actor,
            "delete_parameter",
            spec.dry_run,
            ImageParameterNames::new(
                &spec.prefix,
                &spec.template,
                &spec.version,
                spec.architecture,
            ),
            json!({ "template": spec.template, "version": spec.version }),
        )?;
        let regions = join_all(
            sorted_unique(&spec.regions)
                .into_iter()
                .map(|region| async {
                    let outcome = self
                        .unpublish_in(&actor, region, &names, spec.dry_run)
                        .await?;
                    self.audit(unpublish_record(
                        &actor,
                        region,
                        &names,
                        &outcome,
                        spec.dry_run,
                    ))?;
                    Ok::<_, LifecycleError>(RegionUnpublish {
                        region: region.clone(),
                        outcome,
                    })
                }),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        Ok(UnpublishReport {
            names,
            regions,
            dry_run: spec.dry_run,
        })
    }

    /// One region's unpublishing; the delete is written ahead, and when its intent cannot
    /// be recorded nothing is deleted and the error stops the run.
    async fn unpublish_in(
        &self,
        actor: &Actor,
        region: &Region,
        names: &ImageParameterNames,
        dry_run: bool,
    ) -> Result<UnpublishOutcome, LifecycleError> {
        let both = [names.version.clone(), names.latest.clone()];
        let mut current = match self.cloud.get_parameters(region, &both).await {
            Ok(current) => current,
            Err(e) => {
                return Ok(UnpublishOutcome::Failed {
                    error: format!("reading the parameters in {region}: {e}"),
                });
            }
        };
        let Some(version) = current.remove(&names.version) else {
            return Ok(UnpublishOutcome::Absent);
        };
        if current
            .get(&names.latest)
            .is_some_and(|latest| latest.value == version.value)
        {
            return Ok(UnpublishOutcome::Refused {
                reason: format!(
                    "{} holds {} in {region} too: roll latest back to another version first",
                    names.latest, version.value
                ),
            });
        }
        if dry_run {
            return Ok(UnpublishOutcome::Planned {
                image: version.value,
            });
        }
        let record = AuditRecord::new(actor.clone(), "delete_parameter", AuditOutcome::Intended)
            .region(region)
            .target(&names.version)
            .details(json!({ "value": version.value }));
        let call = || self.cloud.delete_parameter(region, &names.version);
        Ok(match self.intended_call(record, call, |_| None).await? {
            Ok(()) => UnpublishOutcome::Deleted {
                image: version.value,
            },
            // Deleted by someone else since it was read: gone, as asked.
            Err(e) if e.kind == amiref_core::CloudErrorKind::NotFound => UnpublishOutcome::Absent,
            Err(e) => UnpublishOutcome::Failed {
                error: format!("deleting {} in {region}: {e}", names.version),
            },
        })
    }
}

/// The audit record of one region's unpublishing.
fn unpublish_record(
    actor: &Actor,
    region: &Region,
    names: &ImageParameterNames,
    outcome: &UnpublishOutcome,
    dry_run: bool,
) -> AuditRecord {
    let audit_outcome = match outcome {
        UnpublishOutcome::Deleted { .. } => AuditOutcome::Succeeded,
        UnpublishOutcome::Absent => AuditOutcome::Unchanged,
        UnpublishOutcome::Planned { .. } => AuditOutcome::Planned,
        UnpublishOutcome::Refused { reason } => AuditOutcome::Refused {
            reason: reason.clone(),
        },
        UnpublishOutcome::Failed { error } => AuditOutcome::Failed {
            error: error.clone(),
        },
    };
    AuditRecord::new(actor.clone(), "delete_parameter", audit_outcome)
        .region(region)
        .target(&names.version)
        .dry_run(dry_run)
        .details(json!({ "result": outcome }))
}

impl RegionUnpublish {
    /// The image the parameter held, when it was (or would be) deleted.
    pub fn image(&self) -> Option<AmiId> {
        match &self.outcome {
            UnpublishOutcome::Deleted { image } | UnpublishOutcome::Planned { image } => {
                AmiId::new(image.clone()).ok()
            }
            _ => None,
        }
    }
}
