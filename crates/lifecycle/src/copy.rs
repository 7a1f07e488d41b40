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
use crate::wait::{WaitFailure, WaitOptions, wait_until_available};

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
    /// Ask EC2 to copy the source's user tags too (`CopyImageTags`); amiref's own tags and
    /// the source's tags it carries are set either way.
    #[serde(default)]
    pub copy_image_tags: bool,
    /// A time-based copy: each snapshot copied within this duration
    /// (`SnapshotCopyCompletionDurationMinutes`), at an extra cost per GiB
    /// ([`TimeBasedCopyCost`]). `None`: EC2's best effort, at no extra cost.
    #[serde(
        default,
        rename = "completion_duration_minutes",
        skip_serializing_if = "Option::is_none"
    )]
    pub completion_duration: Option<CompletionDuration>,
}

/// How long a time-based copy may take: whole quarter hours from 15 minutes to 48 hours, as
/// EC2 accepts them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct CompletionDuration(u32);

impl CompletionDuration {
    /// The shortest duration EC2 accepts, in minutes.
    pub const MIN_MINUTES: u32 = 15;
    /// The longest, 48 hours, in minutes.
    pub const MAX_MINUTES: u32 = 2880;
    /// Durations are whole multiples of this many minutes.
    pub const STEP_MINUTES: u32 = 15;

    /// A duration of `minutes`, or an `InvalidInput` error saying what EC2 accepts.
    pub fn from_minutes(minutes: u32) -> Result<Self, LifecycleError> {
        if (Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(&minutes)
            && minutes.is_multiple_of(Self::STEP_MINUTES)
        {
            Ok(Self(minutes))
        } else {
            Err(LifecycleError::InvalidInput {
                field: "completion duration",
                found: format!("{minutes} minutes"),
                expected: format!(
                    "{} to {} minutes (48 hours) in steps of {}, such as 15, 60 or 120",
                    Self::MIN_MINUTES,
                    Self::MAX_MINUTES,
                    Self::STEP_MINUTES
                ),
            })
        }
    }

    /// The duration in minutes.
    pub fn minutes(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for CompletionDuration {
    type Error = LifecycleError;

    fn try_from(minutes: u32) -> Result<Self, LifecycleError> {
        Self::from_minutes(minutes)
    }
}

impl From<CompletionDuration> for u32 {
    fn from(d: CompletionDuration) -> u32 {
        d.0
    }
}

impl schemars::JsonSchema for CompletionDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CompletionDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "description": "A time-based copy's completion duration in minutes: 15 to 2880 in steps of 15.",
            "minimum": 15,
            "maximum": 2880,
            "multipleOf": 15
        })
    }
}

/// What a time-based copy of an EBS snapshot or EBS-backed AMI costs on top of a standard
/// copy, at most, in US dollars per GiB copied: the price of the shortest completion
/// duration, 15 minutes. Longer durations cost less, so for them this is an upper bound.
///
/// Source: AWS's EBS pricing chart for time-based copies, as quoted by "Creating Time-Based
/// Copies of Your EBS Snapshots on AWS", awsinsider.net, 2024-12-13 ("a 15 minute copy costs
/// two cents per GiB of data"); AWS's own pages are
/// <https://aws.amazon.com/ebs/pricing/> and
/// <https://docs.aws.amazon.com/ebs/latest/userguide/time-based-copies.html> (Pricing and
/// billing). Figure as of 2024-12-13.
pub const TIME_BASED_COPY_USD_PER_GIB_AT_MOST: f64 = 0.02;

/// The extra cost of a time-based copy, stated in a copy's report (and its dry run).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TimeBasedCopyCost {
    /// The completion duration asked for, in minutes.
    pub completion_duration_minutes: u32,
    /// GiB of snapshot volumes copied (or to be) with it: the source's volumes times the
    /// regions copied into now. An upper bound: EBS copies the blocks a snapshot holds.
    pub gib: u64,
    /// At most this many US dollars per GiB ([`TIME_BASED_COPY_USD_PER_GIB_AT_MOST`]).
    pub usd_per_gib_at_most: f64,
    /// At most this many US dollars in all, on top of a standard copy's charges.
    pub extra_usd_at_most: f64,
}

impl TimeBasedCopyCost {
    /// The extra cost of copying `gib` GiB within `duration`.
    pub fn of(duration: CompletionDuration, gib: u64) -> Self {
        let usd = gib as f64 * TIME_BASED_COPY_USD_PER_GIB_AT_MOST;
        Self {
            completion_duration_minutes: duration.minutes(),
            gib,
            usd_per_gib_at_most: TIME_BASED_COPY_USD_PER_GIB_AT_MOST,
            extra_usd_at_most: (usd * 100.0).round() / 100.0,
        }
    }
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
            copy_image_tags: false,
            completion_duration: None,
        }
    }

    /// The same spec, asking EC2 to copy the source's tags (`CopyImageTags`) or not.
    #[must_use]
    pub fn copy_image_tags(mut self, copy: bool) -> Self {
        self.copy_image_tags = copy;
        self
    }

    /// The same spec, as a time-based copy completing within `duration`, or (`None`) a
    /// best-effort one.
    #[must_use]
    pub fn completion_duration(mut self, duration: Option<CompletionDuration>) -> Self {
        self.completion_duration = duration;
        self
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CopyReport {
    /// The source region.
    pub source_region: Region,
    /// The source image.
    pub source_image: AmiId,
    /// Per destination.
    pub regions: Vec<RegionCopy>,
    /// A time-based copy's extra cost for the copies made now (or, in a dry run, planned);
    /// `None` for a best-effort copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_based: Option<TimeBasedCopyCost>,
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
        let regions = copies_or_unrecorded(results, &destinations)?;
        let time_based = spec.completion_duration.map(|duration| {
            let copied = regions
                .iter()
                .filter(|r| {
                    matches!(
                        r.outcome,
                        RegionCopyOutcome::Copied { .. } | RegionCopyOutcome::Planned
                    )
                })
                .count() as u64;
            TimeBasedCopyCost::of(duration, copied * source.total_volume_size_gib())
        });
        Ok(CopyReport {
            source_region: spec.source_region.clone(),
            source_image: spec.source_image.clone(),
            regions,
            time_based,
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
        // The audit trail failed during the copy: a further record would fail too, and the
        // error already says what the copy made.
        if let Err(unrecorded @ LifecycleError::Audit { .. }) = arrival {
            return Err(unrecorded);
        }
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

        // Held until the copy is available: a concurrent caller of the same copy then finds it.
        let _flight = if spec.dry_run {
            None
        } else {
            let flight = self
                .limits
                .one_copy_of(&spec.source_region, &source.id, dest);
            Some(flight.await)
        };
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
                // Disabled by hand or by a retirement: not ours to undo or replace.
                ImageState::Disabled => {
                    return Err(failed(LifecycleError::refused(format!(
                        "the copy of {} in {dest}, {}, is disabled: re-enable it (ami enable) or deregister it, then copy again",
                        spec.source_image, existing.id
                    ))));
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
        let waits = copy_waits(self.wait, spec.completion_duration);
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
            request.copy_image_tags = spec.copy_image_tags;
            request.completion_duration_minutes = spec.completion_duration.map(u32::from);
            let copy = self.request_copy(spec, &request, generation).await?;
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
            match wait_until_available(*self.cloud.inner(), dest, &copy, &waits, self.progress)
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

    /// Requests one copy, written ahead: the intent (with the client token, by which the
    /// copy can be found again) before the call, and the copy's id after. No call when the
    /// intent cannot be written; when the outcome cannot be, the error names the copy.
    async fn request_copy(
        &self,
        spec: &CopySpec,
        request: &CopyImageRequest,
        generation: u32,
    ) -> Result<AmiId, LifecycleError> {
        let dest = &request.destination_region;
        let details = json!({
            "source_region": request.source_region,
            "source_image": request.source_image,
            "name": request.name,
            "client_token": request.client_token,
            "generation": generation,
            "encryption": spec.encryption,
            "copy_image_tags": request.copy_image_tags,
            "completion_duration_minutes": request.completion_duration_minutes,
        });
        let record = AuditRecord::new(self.actor().await?, "copy_image", AuditOutcome::Intended)
            .region(dest)
            .details(details.clone());
        let intent = self.intend(record)?;
        let result = self.cloud.copy_image(request).await;
        let mut details = details;
        let outcome = match &result {
            Ok(copy) => {
                if let Some(map) = details.as_object_mut() {
                    map.insert("image".to_owned(), json!(copy));
                }
                AuditOutcome::Succeeded
            }
            Err(e) => AuditOutcome::Failed {
                error: e.to_string(),
            },
        };
        match (self.conclude(intent.details(details), outcome), result) {
            (Ok(()), Ok(copy)) => Ok(copy),
            (Ok(()), Err(e)) => Err(LifecycleError::cloud(format!("copying into {dest}"), e)),
            (Err(LifecycleError::Audit { source, .. }), Ok(copy)) => Err(LifecycleError::Audit {
                operation: "copy_image".to_owned(),
                outcome: format!("CopyImage made {copy} in {dest}"),
                source,
            }),
            (Err(audit), _) => Err(audit),
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
        // Prefer an available copy, then a pending one, then a disabled one, then a failed
        // one; oldest first.
        found.sort_by_key(|i| {
            let rank = match i.state {
                ImageState::Available => 0,
                ImageState::Pending => 1,
                ImageState::Disabled => 2,
                _ => 3,
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

/// How long to wait for a copy: a time-based copy may take its whole completion duration,
/// so the wait lasts at least that and a quarter of an hour more.
fn copy_waits(waits: WaitOptions, duration: Option<CompletionDuration>) -> WaitOptions {
    match duration {
        Some(d) => {
            let needed = std::time::Duration::from_secs(u64::from(d.minutes() + 15) * 60);
            waits.timeout(waits.timeout.max(needed))
        }
        None => waits,
    }
}

/// Every destination's copy; when the audit trail failed for any of them, one audit error
/// that names what happened in every region (the ids of copies made included), so that no
/// copy's id is lost with the records that could not be written.
fn copies_or_unrecorded(
    results: Vec<Result<RegionCopy, LifecycleError>>,
    destinations: &[&Region],
) -> Result<Vec<RegionCopy>, LifecycleError> {
    if results.iter().all(Result::is_ok) {
        return Ok(results.into_iter().flatten().collect());
    }
    let mut source = None;
    let mut lines = Vec::new();
    for (result, region) in results.into_iter().zip(destinations) {
        match result {
            Ok(copy) => lines.push(match copy.image() {
                Some(image) => format!("{region}: {image}"),
                None => format!("{region}: {}", outcome_text(&copy.outcome)),
            }),
            Err(LifecycleError::Audit {
                outcome,
                source: cause,
                ..
            }) => {
                lines.push(format!("{region}: {outcome}"));
                source.get_or_insert(cause);
            }
            Err(other) => return Err(other),
        }
    }
    match source {
        Some(source) => Err(LifecycleError::Audit {
            operation: "copy_image".to_owned(),
            outcome: lines.join("; "),
            source,
        }),
        None => unreachable!("a failed result is an audit error or returned above"),
    }
}

fn outcome_text(outcome: &RegionCopyOutcome) -> String {
    match outcome {
        RegionCopyOutcome::Planned => "planned".to_owned(),
        RegionCopyOutcome::Failed { error } => format!("failed: {error}"),
        other => format!("{other:?}"),
    }
}
