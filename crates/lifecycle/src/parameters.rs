//! Publishing images as SSM parameters, so that anything on AWS can launch them by name.
//!
//! A template's image is published per region as two parameters of data type
//! [`EC2_IMAGE_DATA_TYPE`]: `/amiref/<template>/<version>/<arch>`, which names one build
//! for good, and `/amiref/<template>/latest/<arch>`, which moves to a new version only when
//! it is promoted. RunInstances and launch templates resolve them with `resolve:ssm:NAME`,
//! Karpenter with `ssmParameter`, CloudFormation with `AWS::SSM::Parameter::Value<...>`, and
//! amiref's own SSM tier reads them like any parameter.
//!
//! Publishing is idempotent: a parameter that already holds the image is not written again,
//! so re-runs make no new parameter versions (which would bury the history a rollback reads).
//! Every write, skip, plan or failure is one audit record.

use std::collections::BTreeMap;

use amiref_core::{
    AmiId, Architecture, EC2_IMAGE_DATA_TYPE, Parameter, ParameterName, ParameterStore, Parameters,
    PutParameterRequest, Region,
};
use futures::future::join_all;
use serde_json::json;

use crate::audit::{Actor, AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;

/// The path amiref publishes under unless told otherwise.
pub const DEFAULT_PARAMETER_PREFIX: &str = "/amiref";

/// The level that names the promoted version, in place of a version.
pub const LATEST_LEVEL: &str = "latest";

/// The two parameters of one template version and architecture.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ImageParameterNames {
    /// `<prefix>/<template>/<version>/<arch>`: this version's image.
    pub version: ParameterName,
    /// `<prefix>/<template>/latest/<arch>`: the promoted version's image.
    pub latest: ParameterName,
}

/// Whether `level` is one level of an SSM parameter name.
fn is_level(level: &str) -> bool {
    !level.is_empty()
        && level
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

const LEVEL_CHARACTERS: &str =
    "letters, digits, '_', '.' and '-' (SSM's characters for a level of a parameter name)";

/// Checks the prefix: levels with a leading `/`, and not under `aws` or `ssm`, which SSM
/// reserves (in any case).
fn check_prefix(prefix: &str) -> Result<(), LifecycleError> {
    let invalid = |expected: String| LifecycleError::InvalidInput {
        field: "parameter prefix",
        found: prefix.to_owned(),
        expected,
    };
    let Some(levels) = prefix.strip_prefix('/') else {
        return Err(invalid(format!(
            "a path starting with '/', such as {DEFAULT_PARAMETER_PREFIX}"
        )));
    };
    if !levels.split('/').all(is_level) {
        return Err(invalid(format!(
            "levels of {LEVEL_CHARACTERS}, separated by single '/', with no '/' at the end"
        )));
    }
    let first = levels.to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(invalid(
            "a path that does not start with `aws` or `ssm` (in any case): SSM reserves those names"
                .to_owned(),
        ));
    }
    Ok(())
}

impl ImageParameterNames {
    /// The names for `template` `version` on `architecture` under `prefix` (such as
    /// [`DEFAULT_PARAMETER_PREFIX`]).
    ///
    /// Refuses, naming the part at fault: a prefix that is not a path of SSM levels or that
    /// starts with `aws` or `ssm`; a template name or version that is not one level (a
    /// space, a `/`, or a `+` of semver build metadata cannot be in a parameter name); the
    /// version `latest`, which would be the promoted version's name; a name past SSM's 15
    /// levels or 2048 characters.
    pub fn new(
        prefix: &str,
        template: &str,
        version: &str,
        architecture: Architecture,
    ) -> Result<Self, LifecycleError> {
        check_prefix(prefix)?;
        if !is_level(template) {
            return Err(LifecycleError::InvalidInput {
                field: "template name (in an SSM parameter name)",
                found: template.to_owned(),
                expected: format!("{LEVEL_CHARACTERS}; name the template so, e.g. python-ml"),
            });
        }
        if !is_level(version) || version.eq_ignore_ascii_case(LATEST_LEVEL) {
            return Err(LifecycleError::InvalidInput {
                field: "template version (in an SSM parameter name)",
                found: version.to_owned(),
                expected: format!(
                    "{LEVEL_CHARACTERS}, other than `{LATEST_LEVEL}` (a version such as 2.1.0; semver build metadata after '+' cannot be published)"
                ),
            });
        }
        let name = |level: &str| {
            let text = format!("{prefix}/{template}/{level}/{}", architecture.as_str());
            ParameterName::new(text.clone()).map_err(|e| LifecycleError::InvalidInput {
                field: "parameter name",
                found: text,
                expected: e.to_string(),
            })
        };
        Ok(Self {
            version: name(version)?,
            latest: name(LATEST_LEVEL)?,
        })
    }
}

/// Publish a template version's image in each of its regions.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct PublishParametersSpec {
    /// The template.
    pub template: String,
    /// Its version.
    pub version: String,
    /// The images' architecture.
    pub architecture: Architecture,
    /// The image in each region to publish in.
    pub images: BTreeMap<Region, AmiId>,
    /// Also point `latest` at these images. Off by default: a build publishes its version,
    /// and a refresh promotes what it rebuilt.
    pub promote: bool,
    /// The path published under ([`DEFAULT_PARAMETER_PREFIX`] by default).
    pub prefix: String,
    /// Plan only: read what is there, write nothing.
    pub dry_run: bool,
}

impl PublishParametersSpec {
    /// Publish `images` as `template` `version` on `architecture`, without promoting them.
    pub fn new(
        template: impl Into<String>,
        version: impl Into<String>,
        architecture: Architecture,
        images: BTreeMap<Region, AmiId>,
    ) -> Self {
        Self {
            template: template.into(),
            version: version.into(),
            architecture,
            images,
            promote: false,
            prefix: DEFAULT_PARAMETER_PREFIX.to_owned(),
            dry_run: false,
        }
    }

    /// The same spec, promoting (pointing `latest` at the images) or not.
    #[must_use]
    pub fn promote(mut self, promote: bool) -> Self {
        self.promote = promote;
        self
    }

    /// The same spec, publishing under another path.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// How one parameter write ended.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParameterOutcome {
    /// Written now, as this version of the parameter.
    Written {
        /// The parameter's new version.
        version: i64,
    },
    /// It already held the image: not written again.
    Unchanged {
        /// The parameter's version, as it stays.
        version: i64,
    },
    /// A dry run: it would be written.
    Planned,
    /// Not written.
    Failed {
        /// Why.
        error: String,
    },
}

/// One parameter of one region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ParameterWrite {
    /// The parameter.
    pub name: ParameterName,
    /// The image it is to hold.
    pub image: AmiId,
    /// What it held before, if it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: ParameterOutcome,
}

impl ParameterWrite {
    /// Whether the write failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, ParameterOutcome::Failed { .. })
    }
}

/// The parameters of one region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RegionParameters {
    /// The region.
    pub region: Region,
    /// The version parameter, then (when promoting or rolling back) `latest`.
    pub writes: Vec<ParameterWrite>,
    /// Why nothing could be written here, when that was decided before any write (a
    /// rollback with no earlier image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What publishing (or a rollback) did, region by region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ParameterReport {
    /// The parameters' names (the same in every region).
    pub names: ImageParameterNames,
    /// Per region, sorted by region.
    pub regions: Vec<RegionParameters>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl ParameterReport {
    /// Whether any write failed.
    pub fn has_failures(&self) -> bool {
        self.regions
            .iter()
            .any(|r| r.error.is_some() || r.writes.iter().any(ParameterWrite::failed))
    }

    /// Every write, region by region.
    pub fn writes(&self) -> impl Iterator<Item = &ParameterWrite> {
        self.regions.iter().flat_map(|r| r.writes.iter())
    }
}

/// Which earlier image `latest` goes back to.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "to", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RollbackTarget {
    /// The last image `latest` held before its current one, from the parameter's history.
    Previous,
    /// The image a version's parameter holds.
    Version {
        /// The version.
        version: String,
    },
}

/// Point `latest` back at an earlier image, in each region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RollbackSpec {
    /// The template.
    pub template: String,
    /// The architecture.
    pub architecture: Architecture,
    /// The regions to roll back in.
    pub regions: Vec<Region>,
    /// Where to.
    pub target: RollbackTarget,
    /// The path published under ([`DEFAULT_PARAMETER_PREFIX`] by default).
    pub prefix: String,
    /// Plan only.
    pub dry_run: bool,
}

impl RollbackSpec {
    /// Roll `template`'s `latest` on `architecture` back to `target` in `regions`.
    pub fn new(
        template: impl Into<String>,
        architecture: Architecture,
        regions: Vec<Region>,
        target: RollbackTarget,
    ) -> Self {
        Self {
            template: template.into(),
            architecture,
            regions,
            target,
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

    /// The same spec, under another path.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The names to read and write: `latest`, and the version's when rolling back to one.
    fn names(&self) -> Result<ImageParameterNames, LifecycleError> {
        // With no version named, any valid level stands in: only `latest` is used.
        let version = match &self.target {
            RollbackTarget::Version { version } => version.as_str(),
            RollbackTarget::Previous => "0",
        };
        ImageParameterNames::new(&self.prefix, &self.template, version, self.architecture)
    }
}

/// One parameter to set to an image in a region, with a description for people.
struct Wanted<'a> {
    name: &'a ParameterName,
    image: AmiId,
    description: String,
}

impl Lifecycle<'_> {
    /// Publishes each region's image as `<prefix>/<template>/<version>/<arch>`, and, when
    /// promoting, as `<prefix>/<template>/latest/<arch>` too (data type `aws:ec2:image`).
    ///
    /// Regions run concurrently. Idempotent: a parameter already holding its image is left
    /// alone (no new version); one holding another image gets a new version, whose previous
    /// value the report gives; a `text` parameter of the name is refused (SSM cannot change a
    /// parameter's data type), saying how to clear it. `latest` is written only after the
    /// version's parameter holds the image. A region whose writes fail is reported as failed
    /// and the other regions complete; only bad names, the caller's identity or the audit
    /// log fail the whole call.
    pub async fn publish_parameters(
        &self,
        spec: &PublishParametersSpec,
    ) -> Result<ParameterReport, LifecycleError> {
        let actor = self.actor().await?;
        let names = self.names_or_refusal(
            &actor,
            "put_parameter",
            spec.dry_run,
            ImageParameterNames::new(
                &spec.prefix,
                &spec.template,
                &spec.version,
                spec.architecture,
            ),
            json!({ "template": spec.template, "version": spec.version }),
        )?;
        let described = format!(
            "amiref: {} {} ({})",
            spec.template,
            spec.version,
            spec.architecture.as_str()
        );
        let regions = join_all(spec.images.iter().map(|(region, image)| {
            let mut wanted = vec![Wanted {
                name: &names.version,
                image: image.clone(),
                description: described.clone(),
            }];
            if spec.promote {
                wanted.push(Wanted {
                    name: &names.latest,
                    image: image.clone(),
                    description: format!("{described}, promoted to latest"),
                });
            }
            self.set_parameters(&actor, region, wanted, spec.dry_run)
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        Ok(ParameterReport {
            names,
            regions,
            dry_run: spec.dry_run,
        })
    }

    /// Points `latest` back at an earlier image in each region: the one it held before (from
    /// its history), or a version's. Idempotent, audited and per region like
    /// [`Lifecycle::publish_parameters`]; a region with no earlier image, or where the
    /// version was never published, fails alone.
    pub async fn rollback_latest(
        &self,
        spec: &RollbackSpec,
    ) -> Result<ParameterReport, LifecycleError> {
        let actor = self.actor().await?;
        let names = self.names_or_refusal(
            &actor,
            "put_parameter",
            spec.dry_run,
            spec.names(),
            json!({ "template": spec.template, "rollback": spec.target }),
        )?;
        let regions = join_all(
            sorted_unique(&spec.regions)
                .into_iter()
                .map(|region| async {
                    match self.rollback_image(region, spec, &names).await {
                        Ok(image) => {
                            let wanted = Wanted {
                                name: &names.latest,
                                description: format!(
                                    "amiref: {} ({}), rolled back to {image}",
                                    spec.template,
                                    spec.architecture.as_str()
                                ),
                                image,
                            };
                            self.set_parameters(&actor, region, vec![wanted], spec.dry_run)
                                .await
                        }
                        Err(error) => {
                            let record = AuditRecord::new(
                                actor.clone(),
                                "put_parameter",
                                AuditOutcome::Failed {
                                    error: error.clone(),
                                },
                            )
                            .region(region)
                            .target(&names.latest)
                            .dry_run(spec.dry_run)
                            .details(json!({ "rollback": spec.target }));
                            self.audit(record)?;
                            Ok(RegionParameters {
                                region: region.clone(),
                                writes: Vec::new(),
                                error: Some(error),
                            })
                        }
                    }
                }),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        Ok(ParameterReport {
            names,
            regions,
            dry_run: spec.dry_run,
        })
    }
}

/// Whether `current` is another data type than an image's (`text`): SSM cannot change a
/// parameter's data type, so it cannot become an image parameter in place.
fn other_data_type(current: &Parameter) -> Option<&str> {
    current
        .data_type
        .as_deref()
        .filter(|t| *t != EC2_IMAGE_DATA_TYPE)
}

impl Lifecycle<'_> {
    /// The names, or their refusal, audited as `operation` with `details`.
    pub(super) fn names_or_refusal(
        &self,
        actor: &Actor,
        operation: &str,
        dry_run: bool,
        names: Result<ImageParameterNames, LifecycleError>,
        details: serde_json::Value,
    ) -> Result<ImageParameterNames, LifecycleError> {
        if names.is_ok() {
            return names;
        }
        let record = AuditRecord::new(actor.clone(), operation, AuditOutcome::Succeeded)
            .dry_run(dry_run)
            .details(details);
        self.audited(record, names)
    }

    /// Sets each wanted parameter of `region` in order, each only if it does not hold its
    /// image yet, and audits each. A write follows only once those before it hold their
    /// images. The error is the audit sink's; the cloud's failures are in the report.
    async fn set_parameters(
        &self,
        actor: &Actor,
        region: &Region,
        wanted: Vec<Wanted<'_>>,
        dry_run: bool,
    ) -> Result<RegionParameters, LifecycleError> {
        let names: Vec<ParameterName> = wanted.iter().map(|w| w.name.clone()).collect();
        let current = self
            .cloud
            .get_parameters(region, &names)
            .await
            .map_err(|e| format!("reading the parameters in {region}: {e}"));
        let mut writes: Vec<ParameterWrite> = Vec::new();
        for want in wanted {
            let previous = current.as_ref().ok().and_then(|c| c.get(want.name));
            let outcome = match (&current, writes.iter().find(|w| w.failed())) {
                (Err(error), _) => ParameterOutcome::Failed {
                    error: error.clone(),
                },
                (Ok(_), Some(earlier)) => ParameterOutcome::Failed {
                    error: format!("not written, since {} was not", earlier.name),
                },
                (Ok(_), None) => match previous {
                    Some(p) if let Some(data_type) = other_data_type(p) => {
                        ParameterOutcome::Failed {
                            error: format!(
                                "{} exists in {region} as a {data_type} parameter, and SSM cannot change a parameter's data type: delete it (aws ssm delete-parameter --region {region} --name {}) and publish again",
                                want.name, want.name
                            ),
                        }
                    }
                    Some(p) if p.value == want.image.as_str() => {
                        ParameterOutcome::Unchanged { version: p.version }
                    }
                    _ if dry_run => ParameterOutcome::Planned,
                    _ => self.put_image_parameter(actor, region, &want).await?,
                },
            };
            let write = ParameterWrite {
                name: want.name.clone(),
                image: want.image,
                previous: previous.map(|p| p.value.clone()),
                outcome,
            };
            self.audit(parameter_record(actor, region, &write, dry_run))?;
            writes.push(write);
        }
        Ok(RegionParameters {
            region: region.clone(),
            writes,
            error: None,
        })
    }

    /// Writes one parameter, written ahead: when its intent cannot be recorded nothing is
    /// written and the error stops the run.
    async fn put_image_parameter(
        &self,
        actor: &Actor,
        region: &Region,
        want: &Wanted<'_>,
    ) -> Result<ParameterOutcome, LifecycleError> {
        let mut request = PutParameterRequest::image(want.name.clone(), &want.image);
        request.description = Some(want.description.clone());
        let record = AuditRecord::new(actor.clone(), "put_parameter", AuditOutcome::Intended)
            .region(region)
            .target(want.name)
            .details(json!({ "value": want.image, "data_type": EC2_IMAGE_DATA_TYPE }));
        let call = || self.cloud.put_parameter(region, &request);
        let written = self
            .intended_call(record, call, |version| Some(json!({ "version": version })))
            .await?;
        Ok(match written {
            Ok(version) => ParameterOutcome::Written { version },
            Err(e) => ParameterOutcome::Failed {
                error: format!("writing {} in {region}: {e}", want.name),
            },
        })
    }

    /// The image `latest` goes back to in `region`, or why there is none.
    async fn rollback_image(
        &self,
        region: &Region,
        spec: &RollbackSpec,
        names: &ImageParameterNames,
    ) -> Result<AmiId, String> {
        let value = match &spec.target {
            RollbackTarget::Previous => {
                let history = self
                    .cloud
                    .parameter_history(region, &names.latest)
                    .await
                    .map_err(|e| match e.kind {
                        amiref_core::CloudErrorKind::NotFound => format!(
                            "{} does not exist in {region}: nothing was promoted there",
                            names.latest
                        ),
                        _ => format!("reading the history of {} in {region}: {e}", names.latest),
                    })?;
                let mut values = history.iter().rev().map(|p| p.value.as_str());
                let current = values.next().unwrap_or_default();
                values.find(|v| *v != current).map(str::to_owned).ok_or_else(|| {
                    format!(
                        "{} has held only {current} in {region}: there is no earlier image to go back to",
                        names.latest
                    )
                })?
            }
            RollbackTarget::Version { version } => self
                .cloud
                .get_parameters(region, std::slice::from_ref(&names.version))
                .await
                .map_err(|e| format!("reading {} in {region}: {e}", names.version))?
                .remove(&names.version)
                .map(|p| p.value)
                .ok_or_else(|| {
                    format!(
                        "{} does not exist in {region}: version {version} was never published there",
                        names.version
                    )
                })?,
        };
        AmiId::new(value.clone()).map_err(|e| {
            format!(
                "the earlier value of {} in {region} is not an image id: {e}",
                names.latest
            )
        })
    }
}

/// Each region once, in order.
pub(super) fn sorted_unique(regions: &[Region]) -> Vec<&Region> {
    let mut regions: Vec<&Region> = regions.iter().collect();
    regions.sort();
    regions.dedup();
    regions
}

/// The audit record of one parameter write.
fn parameter_record(
    actor: &Actor,
    region: &Region,
    write: &ParameterWrite,
    dry_run: bool,
) -> AuditRecord {
    let outcome = match &write.outcome {
        ParameterOutcome::Written { .. } => AuditOutcome::Succeeded,
        ParameterOutcome::Unchanged { .. } => AuditOutcome::Unchanged,
        ParameterOutcome::Planned => AuditOutcome::Planned,
        ParameterOutcome::Failed { error } => AuditOutcome::Failed {
            error: error.clone(),
        },
    };
    AuditRecord::new(actor.clone(), "put_parameter", outcome)
        .region(region)
        .target(&write.name)
        .dry_run(dry_run)
        .details(json!({
            "value": write.image,
            "data_type": EC2_IMAGE_DATA_TYPE,
            "previous": write.previous,
            "result": write.outcome,
        }))
}

#[cfg(test)]
mod tests;
mod unpublish;

pub use unpublish::{RegionUnpublish, UnpublishOutcome, UnpublishReport, UnpublishSpec};
