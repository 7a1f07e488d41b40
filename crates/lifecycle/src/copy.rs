//! Copying an image into many regions, within EC2's limits, resumably.

use std::collections::BTreeMap;

use amiref_core::{AmiId, CopyImageRequest, Image, ImageFilter, ImageState, ImageStore, Region};
use futures::future::join_all;
use serde_json::json;

use crate::audit::{Actor, AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::create::{CreateImageSpec, CreatedImage, validate_image_name};
use crate::error::{Cleanup, LifecycleError};
use crate::progress::ProgressEvent;
use crate::tags::{
    TAG_SOURCE_IMAGE, TAG_SOURCE_REGION, carried_tags, copy_client_token, provenance_tags,
};
use crate::wait::{WaitFailure, wait_until_available};

/// Whether and how to encrypt copies.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "encryption", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Encryption {
    /// Keep the source's encryption (EC2's default).
    #[default]
    AsSource,
    /// Encrypt every copy; with the KMS key given for its region, or the account's default
    /// EBS key where none is given.
    Encrypt {
        /// A KMS key id or ARN per destination region.
        kms_keys: BTreeMap<Region, String>,
    },
}

/// What to copy where.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CopySpec {
    /// The source image's region.
    pub source_region: Region,
    /// The source image.
    pub source_image: AmiId,
    /// The regions to copy into; the source region itself is skipped.
    pub destinations: Vec<Region>,
    /// The copies' name; the source's name when `None`.
    pub name: Option<String>,
    /// Encryption of the copies.
    pub encryption: Encryption,
    /// More tags for every copy.
    pub extra_tags: BTreeMap<String, String>,
    /// Plan only.
    pub dry_run: bool,
}

impl CopySpec {
    /// Copy `source_image` from `source_region` into `destinations`.
    pub fn new(source_region: Region, source_image: AmiId, destinations: Vec<Region>) -> Self {
        Self {
            source_region,
            source_image,
            destinations,
            name: None,
            encryption: Encryption::AsSource,
            extra_tags: BTreeMap::new(),
            dry_run: false,
        }
    }

    /// The same spec, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The same spec, encrypting copies.
    #[must_use]
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }
}

/// What happened in one destination region.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegionCopyOutcome {
    /// Copied now; available.
    Copied {
        /// The copy.
        image: AmiId,
    },
    /// A copy made by an earlier or concurrent run was found and is available.
    Existing {
        /// The copy.
        image: AmiId,
    },
    /// The region is the source's own: nothing to copy.
    Source {
        /// The source image.
        image: AmiId,
    },
    /// A dry run: a copy would be made.
    Planned,
    /// The copy failed; `error` says whether anything remains.
    Failed {
        /// What went wrong, and the cleanup.
        error: String,
    },
}

/// One destination's result.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RegionCopy {
    /// The destination region.
    pub region: Region,
    /// What happened there.
    #[serde(flatten)]
    pub outcome: RegionCopyOutcome,
}

impl RegionCopy {
    /// The image in this region, if there is one now.
    pub fn image(&self) -> Option<&AmiId> {
        match &self.outcome {
            RegionCopyOutcome::Copied { image }
            | RegionCopyOutcome::Existing { image }
            | RegionCopyOutcome::Source { image } => Some(image),
            _ => None,
        }
    }
}

/// The result of copying into many regions: one entry per destination, in the order given.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CopyReport {
    /// The source region.
    pub source_region: Region,
    /// The source image.
    pub source_image: AmiId,
    /// Per destination.
    pub regions: Vec<RegionCopy>,
}

impl CopyReport {
    /// Whether any destination failed.
    pub fn has_failures(&self) -> bool {
        self.regions
            .iter()
            .any(|r| matches!(r.outcome, RegionCopyOutcome::Failed { .. }))
    }
}

/// What `create_multi` did: the image in its home region, then the copies.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct MultiRegionReport {
    /// The image created in the instance's region.
    pub created: CreatedImage,
    /// The copies (empty in a dry run that would create the image).
    pub copies: Option<CopyReport>,
}

/// How many times a copy is re-attempted with a fresh token after its earlier copy failed.
const MAX_COPY_GENERATIONS: u32 = 3;

/// Where a copy into one region ended, before it is reported.
enum Arrival {
    /// An image is there: made now, found, or the source itself.
    Ready(Box<Image>, Reached),
    /// A dry run: a copy would be made.
    Planned,
}

/// How the image in a region came to be there.
#[derive(Clone, Copy)]
enum Reached {
    Copied,
    Existing,
    Source,
}

/// What a destination's result says in a report and an audit record.
fn outcome_of(arrival: &Result<Arrival, LifecycleError>) -> RegionCopyOutcome {
    match arrival {
        Ok(Arrival::Ready(image, how)) => {
            let image = image.id.clone();
            match how {
                Reached::Copied => RegionCopyOutcome::Copied { image },
                Reached::Existing => RegionCopyOutcome::Existing { image },
                Reached::Source => RegionCopyOutcome::Source { image },
            }
        }
        Ok(Arrival::Planned) => RegionCopyOutcome::Planned,
        Err(e) => RegionCopyOutcome::Failed {
            error: e.to_string(),
        },
    }
}

impl Lifecycle<'_> {
    /// Copies an image into each destination region concurrently, within the copy limits,
    /// and waits until every copy is available.
    ///
    /// Resumable and never duplicating: each destination is first searched for a copy of the
    /// caller's carrying this source's provenance tags (reused if pending or available), and
    /// each copy is requested with a deterministic client token, so runs racing each other
    /// from several processes or hosts get one copy per region. A copy that fails is
    /// deregistered with its snapshots. One region's failure does not stop the others; the
    /// report says what happened in each.
    pub async fn copy_image(&self, spec: &CopySpec) -> Result<CopyReport, LifecycleError> {
        let actor = self.actor().await?;
        let (source, name) = self.audited_source(&actor, spec).await?;
        let mut seen = std::collections::BTreeSet::new();
        let destinations: Vec<&Region> = spec
            .destinations
            .iter()
            .filter(|r| seen.insert(*r))
            .collect();
        let results = join_all(destinations.iter().map(|dest| async {
            let arrival = self
                .copy_audited(&actor, spec, &source, &name, dest)
                .await?;
            Ok::<_, LifecycleError>(RegionCopy {
                region: (*dest).clone(),
                outcome: outcome_of(&arrival),
            })
        }))
        .await;
        let regions = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(CopyReport {
            source_region: spec.source_region.clone(),
            source_image: spec.source_image.clone(),
            regions,
        })
    }

    /// Copies an image into one region and returns the copy once it is available: the copy
    /// a launch makes when the image it resolved lives in another region.
    ///
    /// It is [`Lifecycle::copy_image`] of `CopySpec::new(source_region, source_image,
    /// vec![destination])` (the copy's name is the source's, its encryption the source's, no
    /// extra tags), with the same provenance tags, client token and audit record. So this
    /// copy, `amiref ami copy` of the same image into the same region, and either of them on
    /// another host or in a later run find or make the one same copy. A `destination` that
    /// is the source's own region answers the source. Errors are the ones the report of
    /// `copy_image` would name.
    pub async fn copy_to_region(
        &self,
        source_region: &Region,
        source_image: &AmiId,
        destination: &Region,
    ) -> Result<Image, LifecycleError> {
        let spec = CopySpec::new(
            source_region.clone(),
            source_image.clone(),
            vec![destination.clone()],
        );
        let actor = self.actor().await?;
        let (source, name) = self.audited_source(&actor, &spec).await?;
        match self
            .copy_audited(&actor, &spec, &source, &name, destination)
            .await??
        {
            Arrival::Ready(image, _) => Ok(*image),
            // `spec` is no dry run; were it one, there would be no image to return.
            Arrival::Planned => Err(LifecycleError::refused("a dry run copies nothing")),
        }
    }

    /// The source image, available, and the copies' name; a copy stopped here, before any
    /// region was tried, is recorded once, against the source.
    async fn audited_source(
        &self,
        actor: &Actor,
        spec: &CopySpec,
    ) -> Result<(Image, String), LifecycleError> {
        let checked = self.check_copy_source(spec).await;
        if checked.is_ok() {
            return checked;
        }
        let record = AuditRecord::new(actor.clone(), "copy_image", AuditOutcome::Succeeded)
            .region(&spec.source_region)
            .target(&spec.source_image)
            .dry_run(spec.dry_run)
            .details(json!({ "destinations": spec.destinations }));
        self.audited(record, checked)
    }

    /// The source image, available, and the copies' name.
    async fn check_copy_source(&self, spec: &CopySpec) -> Result<(Image, String), LifecycleError> {
        let source = self
            .describe_one(&spec.source_region, &spec.source_image)
            .await?;
        if !source.is_available() {
            return Err(LifecycleError::refused(format!(
                "{} in {} is {}, not available: only an available image can be copied",
                source.id, source.region, source.state
            )));
        }
        let name = spec.name.clone().unwrap_or_else(|| source.name.clone());
        validate_image_name(&name)?;
        Ok((source, name))
    }

    /// Copies into `dest` and records what happened there. The outer error is the audit
    /// sink's; the inner result is the copy's.
    async fn copy_audited(
        &self,
        actor: &Actor,
        spec: &CopySpec,
        source: &Image,
        name: &str,
        dest: &Region,
    ) -> Result<Result<Arrival, LifecycleError>, LifecycleError> {
        let arrival = self.copy_into(spec, source, name, dest).await;
        let outcome = outcome_of(&arrival);
        let record = AuditRecord::new(actor.clone(), "copy_image", AuditOutcome::Succeeded)
            .region(dest)
            .dry_run(spec.dry_run)
            .details(json!({
                "source_region": spec.source_region,
                "source_image": spec.source_image,
                "name": name,
                "encryption": spec.encryption,
                "result": outcome,
            }));
        let record = match outcome {
            RegionCopyOutcome::Copied { image } => record.target(&image),
            RegionCopyOutcome::Existing { image } | RegionCopyOutcome::Source { image } => {
                AuditRecord {
                    outcome: AuditOutcome::Unchanged,
                    ..record.target(&image)
                }
            }
            RegionCopyOutcome::Planned => AuditRecord {
                outcome: AuditOutcome::Planned,
                ..record
            },
            RegionCopyOutcome::Failed { error } => AuditRecord {
                outcome: AuditOutcome::Failed { error },
                ..record
            },
        };
        self.audit(record)?;
        Ok(arrival)
    }

    /// Finds or makes the copy in `dest`, waiting until it is available; a failure is also
    /// reported as a progress event.
    async fn copy_into(
        &self,
        spec: &CopySpec,
        source: &Image,
        name: &str,
        dest: &Region,
    ) -> Result<Arrival, LifecycleError> {
        let failed = |error: LifecycleError| {
            self.progress.emit(ProgressEvent::Failed {
                region: dest.clone(),
                image: None,
                error: error.to_string(),
            });
            error
        };
        if dest == &spec.source_region {
            return Ok(Arrival::Ready(Box::new(source.clone()), Reached::Source));
        }
        if dest.partition() != spec.source_region.partition() {
            return Err(failed(LifecycleError::refused(format!(
                "{dest} is in partition {}, {} in {}: images are never copied across partitions",
                dest.partition(),
                spec.source_region,
                spec.source_region.partition()
            ))));
        }

        let mut generation = 0;
        if let Some(existing) = self.find_copy(spec, dest).await.map_err(failed)? {
            self.progress.emit(ProgressEvent::Reused {
                region: dest.clone(),
                image: existing.id.clone(),
                state: existing.state,
            });
            match existing.state {
                ImageState::Available => {
                    return Ok(Arrival::Ready(Box::new(existing), Reached::Existing));
                }
                ImageState::Pending if spec.dry_run => {
                    return Ok(Arrival::Ready(Box::new(existing), Reached::Existing));
                }
                ImageState::Pending => {
                    // `wait_or_remove` reports its own failure.
                    let image = self.wait_or_remove(dest, &existing.id).await?;
                    return Ok(Arrival::Ready(Box::new(image), Reached::Existing));
                }
                _ if spec.dry_run => return Ok(Arrival::Planned),
                _ => {
                    // An earlier attempt failed and could not be cleaned up then. Its token
                    // would hand back the failed image, so the next copy needs a fresh one.
                    if let cleanup @ Cleanup::Failed { .. } =
                        self.remove_half_made(dest, &existing.id).await
                    {
                        return Err(failed(LifecycleError::ImageFailed {
                            region: dest.clone(),
                            image: existing.id,
                            reason: format!("an earlier copy is {}", existing.state),
                            cleanup,
                        }));
                    }
                    generation = 1;
                }
            }
        }
        if spec.dry_run {
            return Ok(Arrival::Planned);
        }
        self.make_copy(spec, source, name, dest, generation)
            .await
            .map(|image| Arrival::Ready(Box::new(image), Reached::Copied))
            .map_err(failed)
    }

    /// Requests the copy, within the copy limits, and waits until it is available; a copy
    /// that fails is removed.
    async fn make_copy(
        &self,
        spec: &CopySpec,
        source: &Image,
        name: &str,
        dest: &Region,
        mut generation: u32,
    ) -> Result<Image, LifecycleError> {
        self.progress.emit(ProgressEvent::CopyQueued {
            from: spec.source_region.clone(),
            to: dest.clone(),
        });
        let _permits = self.limits.acquire(&spec.source_region, dest).await;

        let kms_key_id = match &spec.encryption {
            Encryption::AsSource => None,
            Encryption::Encrypt { kms_keys } => kms_keys.get(dest).cloned(),
        };
        let mut tags = carried_tags(source);
        tags.extend(provenance_tags(&spec.source_region, &source.id));
        tags.extend(spec.extra_tags.clone());

        loop {
            let token = copy_client_token(
                &spec.source_region,
                &source.id,
                dest,
                name,
                kms_key_id.as_deref(),
                generation,
            );
            let mut request = CopyImageRequest::new(
                spec.source_region.clone(),
                source.id.clone(),
                dest.clone(),
                name,
                token,
            );
            request.description = source.description.clone();
            request.encrypted = matches!(spec.encryption, Encryption::Encrypt { .. });
            request.kms_key_id = kms_key_id.clone();
            request.tags = tags.clone();
            let copy = self
                .cloud
                .copy_image(&request)
                .await
                .map_err(|e| LifecycleError::cloud(format!("copying into {dest}"), e))?;
            // Copies by the same token in other runs tag the same image; tagging again is
            // harmless and makes sure a copy made by a run that died before tagging is found.
            if let Err(e) = self.cloud.create_tags(dest, &copy, &tags).await {
                tracing::debug!(%dest, %copy, error = %e, "tagging the copy failed; the copy request carried the tags");
            }
            self.progress.emit(ProgressEvent::CopyStarted {
                from: spec.source_region.clone(),
                to: dest.clone(),
                image: copy.clone(),
            });
            match wait_until_available(*self.cloud.inner(), dest, &copy, &self.wait, self.progress)
                .await
            {
                Ok(image) => return Ok(image),
                // The token named a copy that an earlier run removed after it failed (EC2
                // remembers tokens longer than it shows deregistered images): try a new token.
                Err(WaitFailure::Vanished | WaitFailure::Terminal(ImageState::Deregistered))
                    if generation + 1 < MAX_COPY_GENERATIONS =>
                {
                    tracing::debug!(%dest, %copy, generation, "copy token named a removed copy; using a new token");
                    generation += 1;
                }
                Err(failure) => {
                    let cleanup = self.remove_half_made(dest, &copy).await;
                    return Err(LifecycleError::ImageFailed {
                        region: dest.clone(),
                        image: copy,
                        reason: failure.to_string(),
                        cleanup,
                    });
                }
            }
        }
    }

    /// A copy of this source in `dest` made by any earlier or concurrent run, found by its
    /// provenance tags.
    async fn find_copy(
        &self,
        spec: &CopySpec,
        dest: &Region,
    ) -> Result<Option<Image>, LifecycleError> {
        let filter = ImageFilter::default()
            .tag(TAG_SOURCE_IMAGE, Some(spec.source_image.to_string()))
            .tag(TAG_SOURCE_REGION, Some(spec.source_region.to_string()));
        let mut found = self.own_images(dest, filter).await?;
        // Prefer an available copy, then a pending one, then a failed one; oldest first.
        found.sort_by_key(|i| {
            let rank = match i.state {
                ImageState::Available => 0,
                ImageState::Pending => 1,
                _ => 2,
            };
            (rank, i.creation_date, i.id.clone())
        });
        Ok(found.into_iter().next())
    }

    /// Creates an image from an instance in its region, then copies it to the other regions
    /// (see [`Lifecycle::create_image`] and [`Lifecycle::copy_image`]).
    pub async fn create_multi(
        &self,
        spec: &CreateImageSpec,
        regions: &[Region],
        encryption: Encryption,
    ) -> Result<MultiRegionReport, LifecycleError> {
        let created = self.create_image(spec).await?;
        // A dry run that would create the image has no source to copy from yet.
        let copies = match &created.image {
            Some(image) => {
                let mut copy = CopySpec::new(spec.region.clone(), image.clone(), regions.to_vec())
                    .dry_run(spec.dry_run)
                    .encryption(encryption);
                copy.name = Some(spec.name.clone());
                Some(self.copy_image(&copy).await?)
            }
            _ => None,
        };
        Ok(MultiRegionReport { created, copies })
    }
}
