//! Copying an image into many regions, within EC2's limits, resumably.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use amiref_core::{AmiId, CopyImageRequest, Image, ImageFilter, ImageState, Region};
use futures::future::join_all;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::create::{CreateImageSpec, CreatedImage, validate_image_name};
use crate::error::LifecycleError;
use crate::progress::ProgressEvent;
use crate::tags::{
    TAG_SOURCE_IMAGE, TAG_SOURCE_REGION, carried_tags, copy_client_token, provenance_tags,
};
use crate::wait::{WaitFailure, wait_until_available};

/// How many copies may run at once into one region, and out of one region.
///
/// EC2 allows at most 50 concurrent AMI copies into one destination region, of which at most
/// 25 from one source region; amiref also caps the copies out of one source region at 25 in
/// total, which satisfies both readings of that rule. The semaphores are per process: share one `Arc<CopyLimits>`
/// between every [`Lifecycle`] of a process. A copy holds its permits until it is available,
/// because EC2 counts it until then.
#[derive(Debug)]
pub struct CopyLimits {
    into_region: usize,
    out_of_region: usize,
    semaphores: Mutex<HashMap<(Direction, Region), Arc<Semaphore>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    In,
    Out,
}

/// The concurrent copies EC2 allows into one destination region.
pub const EC2_MAX_COPIES_INTO_REGION: usize = 50;
/// The concurrent copies amiref runs out of one source region.
pub const EC2_MAX_COPIES_OUT_OF_REGION: usize = 25;

impl CopyLimits {
    /// EC2's limits: 50 into a region, 25 out of one.
    pub fn ec2() -> Self {
        Self::new(EC2_MAX_COPIES_INTO_REGION, EC2_MAX_COPIES_OUT_OF_REGION)
    }

    /// Other limits (a quota raised by AWS, or lower to be gentle). Zero is taken as one.
    pub fn new(into_region: usize, out_of_region: usize) -> Self {
        Self {
            into_region: into_region.max(1),
            out_of_region: out_of_region.max(1),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    fn semaphore(&self, direction: Direction, region: &Region) -> Arc<Semaphore> {
        let permits = match direction {
            Direction::In => self.into_region,
            Direction::Out => self.out_of_region,
        };
        let mut map = self
            .semaphores
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry((direction, region.clone()))
            .or_insert_with(|| Arc::new(Semaphore::new(permits)))
            .clone()
    }

    /// Waits for a slot out of `from` and a slot into `to`. Every copy takes the source slot
    /// first, so two copies can never each hold the slot the other waits for.
    ///
    /// The semaphores are never closed, so a permit is always granted; were one closed, the
    /// copy would go ahead unlimited rather than fail.
    async fn acquire(&self, from: &Region, to: &Region) -> Vec<OwnedSemaphorePermit> {
        let out = self
            .semaphore(Direction::Out, from)
            .acquire_owned()
            .await
            .ok();
        let into = self.semaphore(Direction::In, to).acquire_owned().await.ok();
        out.into_iter().chain(into).collect()
    }

    /// The free slots into `region` now (for tests and diagnostics).
    pub fn available_into(&self, region: &Region) -> usize {
        self.semaphore(Direction::In, region).available_permits()
    }
}

/// Whether and how to encrypt copies.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct MultiRegionReport {
    /// The image created in the instance's region.
    pub created: CreatedImage,
    /// The copies (empty in a dry run that would create the image).
    pub copies: Option<CopyReport>,
}

/// How many times a copy is re-attempted with a fresh token after its earlier copy failed.
const MAX_COPY_GENERATIONS: u32 = 3;

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
        // A copy stopped before any region was tried is recorded once, against the source.
        let checked = self.check_copy_source(spec).await;
        let (source, name) = match checked {
            Ok(found) => found,
            Err(e) => {
                let record = AuditRecord::new(actor, "copy_image", AuditOutcome::Succeeded)
                    .region(&spec.source_region)
                    .target(&spec.source_image)
                    .dry_run(spec.dry_run)
                    .details(json!({ "destinations": spec.destinations }));
                return self.audited(record, Err(e));
            }
        };

        let mut seen = std::collections::BTreeSet::new();
        let destinations: Vec<&Region> = spec
            .destinations
            .iter()
            .filter(|r| seen.insert(*r))
            .collect();
        let results = join_all(destinations.iter().map(|dest| async {
            let outcome = self.copy_into(spec, &source, &name, dest).await;
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
            let record = match &outcome {
                RegionCopyOutcome::Copied { image } => record.target(image),
                RegionCopyOutcome::Existing { image } | RegionCopyOutcome::Source { image } => {
                    AuditRecord {
                        outcome: AuditOutcome::Unchanged,
                        ..record.target(image)
                    }
                }
                RegionCopyOutcome::Planned => AuditRecord {
                    outcome: AuditOutcome::Planned,
                    ..record
                },
                RegionCopyOutcome::Failed { error } => AuditRecord {
                    outcome: AuditOutcome::Failed {
                        error: error.clone(),
                    },
                    ..record
                },
            };
            self.audit(record)?;
            Ok::<_, LifecycleError>(RegionCopy {
                region: (*dest).clone(),
                outcome,
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

    async fn copy_into(
        &self,
        spec: &CopySpec,
        source: &Image,
        name: &str,
        dest: &Region,
    ) -> RegionCopyOutcome {
        let failed = |error: String| {
            self.progress.emit(ProgressEvent::Failed {
                region: dest.clone(),
                image: None,
                error: error.clone(),
            });
            RegionCopyOutcome::Failed { error }
        };
        if dest == &spec.source_region {
            return RegionCopyOutcome::Source {
                image: source.id.clone(),
            };
        }
        if dest.partition() != spec.source_region.partition() {
            return failed(format!(
                "{dest} is in partition {}, {} in {}: images are never copied across partitions",
                dest.partition(),
                spec.source_region,
                spec.source_region.partition()
            ));
        }

        let mut generation = 0;
        let existing = match self.find_copy(spec, dest).await {
            Ok(existing) => existing,
            Err(e) => return failed(e.to_string()),
        };
        if let Some(existing) = existing {
            self.progress.emit(ProgressEvent::Reused {
                region: dest.clone(),
                image: existing.id.clone(),
                state: existing.state,
            });
            match existing.state {
                ImageState::Available => {
                    return RegionCopyOutcome::Existing { image: existing.id };
                }
                ImageState::Pending if spec.dry_run => {
                    return RegionCopyOutcome::Existing { image: existing.id };
                }
                ImageState::Pending => {
                    // `wait_or_remove` reports its own failure.
                    return match self.wait_or_remove(dest, &existing.id).await {
                        Ok(()) => RegionCopyOutcome::Existing { image: existing.id },
                        Err(e) => RegionCopyOutcome::Failed {
                            error: e.to_string(),
                        },
                    };
                }
                _ if spec.dry_run => return RegionCopyOutcome::Planned,
                _ => {
                    // An earlier attempt failed and could not be cleaned up then. Its token
                    // would hand back the failed image, so the next copy needs a fresh one.
                    if let crate::Cleanup::Failed { error } =
                        self.remove_half_made(dest, &existing.id).await
                    {
                        return failed(format!(
                            "an earlier failed copy {} could not be removed: {error}",
                            existing.id
                        ));
                    }
                    generation = 1;
                }
            }
        }
        if spec.dry_run {
            return RegionCopyOutcome::Planned;
        }

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
            let copy = match self.cloud.copy_image(&request).await {
                Ok(id) => id,
                Err(e) => return failed(format!("copying into {dest}: {e}")),
            };
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
            match wait_until_available(self.cloud.inner(), dest, &copy, &self.wait, self.progress)
                .await
            {
                Ok(()) => return RegionCopyOutcome::Copied { image: copy },
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
                    return failed(
                        LifecycleError::ImageFailed {
                            region: dest.clone(),
                            image: copy,
                            reason: failure.to_string(),
                            cleanup,
                        }
                        .to_string(),
                    );
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
