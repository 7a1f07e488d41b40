//! [`Lifecycle`]: the cloud, the audit sink, progress and limits every operation shares.

use std::sync::Arc;

use amiref_core::{
    AmiId, CallerIdentity, Cloud, Identity, Image, ImageCatalog, ImageFilter, ImageState,
    ImageStore, Owner, Region,
};
use amiref_layers::{RetryPolicy, Retrying};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::audit::{Actor, AuditOutcome, AuditRecord, AuditSink};
use crate::error::{Cleanup, LifecycleError};
use crate::limits::CopyLimits;
use crate::progress::{NoProgress, ProgressEvent, ProgressSink};
use crate::wait::WaitOptions;

/// A change recorded as intended and not yet concluded ([`Lifecycle::intend`]).
#[derive(Debug, Clone)]
#[must_use = "conclude an intent with Lifecycle::conclude once its call returns"]
pub struct Intent {
    record: AuditRecord,
}

impl Intent {
    /// The record as it will be concluded (its outcome aside).
    pub fn record(&self) -> &AuditRecord {
        &self.record
    }

    /// The id joining the intent to its outcome.
    pub fn operation_id(&self) -> &str {
        self.record.operation_id.as_deref().unwrap_or_default()
    }

    /// The same intent, with the details its outcome record will carry (ids the call
    /// returned, for example).
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.record.details = details;
        self
    }

    /// The same intent, its outcome record naming `target` (the resource the call made,
    /// such as a launched instance).
    pub fn target(mut self, target: impl ToString) -> Self {
        self.record.target = Some(target.to_string());
        self
    }
}

/// A fresh id for an intent: random, 16 hex digits, so that records from several processes
/// appending to one log never collide in practice.
fn new_operation_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

type Clock<'a> = Box<dyn Fn() -> DateTime<Utc> + Send + Sync + 'a>;

/// Runs lifecycle operations against one cloud, recording each change in one audit sink.
///
/// Borrowing (rather than owning) the cloud and the sinks lets one `Lifecycle` run many
/// operations concurrently on the same task (`tokio::join!`, `futures::join_all`) with no
/// `Arc` or `'static` bound, and lets a caller hand in whatever it already holds (a
/// `Box<dyn Cloud>`, an `AwsCloud`, a `MemoryCloud`).
///
/// ```no_run
/// # async fn demo(cloud: &dyn amiref_core::Cloud) -> Result<(), Box<dyn std::error::Error>> {
/// use amiref_lifecycle::{Lifecycle, DeprecateSpec, MemoryAuditSink};
/// // A frontend hands in amiref-audit's `FileAuditLog`; any `AuditSink` will do.
/// let audit = MemoryAuditSink::new();
/// let lifecycle = Lifecycle::new(cloud, &audit);
/// let region = "us-east-1".parse()?;
/// let image = "ami-0123456789abcdef0".parse()?;
/// let at = chrono::Utc::now() + chrono::Duration::days(30);
/// lifecycle.deprecate(&DeprecateSpec::at(region, image, at)).await?;
/// # Ok(()) }
/// ```
pub struct Lifecycle<'a> {
    /// The cloud, its calls retried by one policy (see `amiref_layers`); the waiter looks
    /// through `cloud.inner()`, since it has its own tolerance of failed looks.
    pub(crate) cloud: Retrying<&'a dyn Cloud>,
    audit: &'a dyn AuditSink,
    pub(crate) progress: &'a dyn ProgressSink,
    pub(crate) limits: Arc<CopyLimits>,
    pub(crate) wait: WaitOptions,
    clock: Clock<'a>,
    caller: OnceCell<CallerIdentity>,
}

impl std::fmt::Debug for Lifecycle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("retry", self.cloud.policy())
            .field("limits", &self.limits)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl<'a> Lifecycle<'a> {
    /// Operations on `cloud`, audited into `audit`, with no progress reporting, the standard
    /// retry policy ([`RetryPolicy::standard`]), EC2's copy limits, default waits and the
    /// system clock.
    pub fn new(cloud: &'a dyn Cloud, audit: &'a dyn AuditSink) -> Self {
        Self {
            cloud: Retrying::new(cloud, RetryPolicy::standard()),
            audit,
            progress: &NoProgress,
            limits: Arc::new(CopyLimits::ec2()),
            wait: WaitOptions::default(),
            clock: Box::new(Utc::now),
            caller: OnceCell::new(),
        }
    }

    /// Reports progress to `progress`.
    #[must_use]
    pub fn progress(mut self, progress: &'a dyn ProgressSink) -> Self {
        self.progress = progress;
        self
    }

    /// Retries calls that failed for a passing reason by `policy` instead of the standard
    /// one (only calls safe to repeat are ever retried; see `amiref_layers::Retrying`).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.cloud = Retrying::new(*self.cloud.inner(), policy);
        self
    }

    /// Shares copy limits with other `Lifecycle`s of this process, so that together they stay
    /// within EC2's concurrent-copy limits.
    #[must_use]
    pub fn copy_limits(mut self, limits: Arc<CopyLimits>) -> Self {
        self.limits = limits;
        self
    }

    /// Waits for images with these options.
    #[must_use]
    pub fn wait_options(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// Reads the time from `clock` instead of the system clock (ages, deprecation times).
    #[must_use]
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'a) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// `port` with its calls retried by this lifecycle's policy, for a port handed in beside
    /// the cloud (a Marketplace publisher).
    pub(crate) fn retrying<'p, P: ?Sized>(&self, port: &'p P) -> Retrying<&'p P> {
        Retrying::new(port, self.cloud.policy().clone())
    }

    /// The current time by this lifecycle's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The cloud, its calls retried by this lifecycle's policy: for work beyond the
    /// lifecycle's own operations (a build's instances and security groups) that should
    /// share its retries.
    pub fn cloud(&self) -> &Retrying<&'a dyn Cloud> {
        &self.cloud
    }

    /// How this lifecycle waits for images.
    pub fn waits(&self) -> &WaitOptions {
        &self.wait
    }

    /// Writes an audit record of a change made beside the lifecycle's own operations (a
    /// build's launches, stops, terminations and security groups), into the same sink.
    pub fn record(&self, record: AuditRecord) -> Result<(), LifecycleError> {
        self.audit(record)
    }

    /// This lifecycle reporting progress to `progress` instead: the same cloud, retry
    /// policy, audit sink, copy limits, waits, clock and caller. A build uses it to label
    /// the lifecycle's events with the stage they belong to.
    pub fn reporting_to<'b>(&'b self, progress: &'b dyn ProgressSink) -> Lifecycle<'b> {
        Lifecycle {
            cloud: Retrying::new(*self.cloud.inner(), self.cloud.policy().clone()),
            audit: self.audit,
            progress,
            limits: self.limits.clone(),
            wait: self.wait,
            clock: Box::new(move || (self.clock)()),
            caller: self.caller.clone(),
        }
    }

    /// The caller, asked of the cloud once and remembered.
    pub async fn caller(&self) -> Result<&CallerIdentity, LifecycleError> {
        self.caller
            .get_or_try_init(|| async {
                self.cloud
                    .caller()
                    .await
                    .map_err(|e| LifecycleError::cloud("asking who the caller is", e))
            })
            .await
    }

    pub(crate) async fn actor(&self) -> Result<Actor, LifecycleError> {
        Ok(Actor::from(self.caller().await?))
    }

    /// Records, before a mutating call, the change it is about to make (write-ahead), at
    /// this lifecycle's clock's time. When
    /// the record cannot be written the caller must not make the call: the error says so.
    /// Conclude the returned [`Intent`] with [`Lifecycle::conclude`] once the call returns.
    pub fn intend(&self, record: AuditRecord) -> Result<Intent, LifecycleError> {
        let record = AuditRecord {
            time: self.now(),
            outcome: AuditOutcome::Intended,
            operation_id: Some(new_operation_id()),
            ..record
        };
        self.audit(record.clone())?;
        Ok(Intent { record })
    }

    /// Records how an intended change ended: the intent's record, with `outcome`, the same
    /// operation id, and the details the intent carries now ([`Intent::details`]).
    pub fn conclude(&self, intent: Intent, outcome: AuditOutcome) -> Result<(), LifecycleError> {
        self.audit(AuditRecord {
            time: self.now(),
            outcome,
            ..intent.record
        })
    }

    /// Makes one mutating cloud call written ahead: `record` is written as intended first
    /// (when that fails the call is not made, and the outer error says the audit log could
    /// not be written), then the call, then its outcome, with what `made` says the call
    /// returned added to the details. The inner result is the call's own.
    pub(crate) async fn intended_call<T, Fut>(
        &self,
        record: AuditRecord,
        call: impl FnOnce() -> Fut,
        made: impl FnOnce(&T) -> Option<serde_json::Value>,
    ) -> Result<Result<T, amiref_core::CloudError>, LifecycleError>
    where
        Fut: std::future::Future<Output = Result<T, amiref_core::CloudError>>,
    {
        let intent = self.intend(record)?;
        let result = call().await;
        let mut details = intent.record().details.clone();
        let outcome = match &result {
            Ok(value) => {
                if let (Some(map), Some(result)) = (details.as_object_mut(), made(value)) {
                    map.insert("result".to_owned(), result);
                }
                AuditOutcome::Succeeded
            }
            Err(e) => AuditOutcome::Failed {
                error: e.to_string(),
            },
        };
        let operation = intent.record().operation.clone();
        match self.conclude(intent.details(details), outcome) {
            Ok(()) => Ok(result),
            // The change may have been made: say so, rather than the bare sink failure.
            Err(LifecycleError::Audit { source, .. }) => Err(LifecycleError::Audit {
                operation,
                outcome: match &result {
                    Ok(_) => "the call was made and succeeded".to_owned(),
                    Err(e) => format!("the call was made and failed: {e}"),
                },
                source,
            }),
            Err(other) => Err(other),
        }
    }

    /// Writes an audit record, turning a sink failure into an error that still carries the
    /// operation's outcome.
    pub(crate) fn audit(&self, record: AuditRecord) -> Result<(), LifecycleError> {
        self.audit
            .record(&record)
            .map_err(|source| LifecycleError::Audit {
                operation: record.operation.clone(),
                outcome: record.outcome.to_string(),
                source,
            })
    }

    /// Writes a record of `operation`'s outcome and passes `result` through, so that every
    /// exit of an operation is audited.
    pub(crate) fn audited<T>(
        &self,
        record: AuditRecord,
        result: Result<T, LifecycleError>,
    ) -> Result<T, LifecycleError> {
        let record = match &result {
            // Stopped before anything changed: a refusal, with the reason as the error says it.
            Err(
                e @ (LifecycleError::Refused { .. }
                | LifecycleError::InvalidInput { .. }
                | LifecycleError::ImageNotFound { .. }),
            ) => AuditRecord {
                outcome: AuditOutcome::Refused {
                    reason: match e {
                        LifecycleError::Refused { reason } => reason.clone(),
                        other => other.to_string(),
                    },
                },
                ..record
            },
            Err(e) => AuditRecord {
                outcome: AuditOutcome::Failed {
                    error: e.to_string(),
                },
                ..record
            },
            Ok(_) => record,
        };
        self.audit(record)?;
        result
    }

    /// One image by id, or `ImageNotFound`.
    pub(crate) async fn describe_one(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Image, LifecycleError> {
        self.cloud
            .describe_images(region, std::slice::from_ref(image))
            .await
            .map_err(|e| LifecycleError::cloud(format!("describing {image} in {region}"), e))?
            .into_iter()
            .find(|i| &i.id == image)
            .ok_or_else(|| LifecycleError::ImageNotFound {
                region: region.clone(),
                image: image.clone(),
            })
    }

    /// The caller's own images in `region` passing `filter`, in any state a run can leave
    /// behind (pending, available, failed) or a retirement can (disabled), deprecated or not.
    pub async fn own_images(
        &self,
        region: &Region,
        filter: ImageFilter,
    ) -> Result<Vec<Image>, LifecycleError> {
        let mut filter = filter;
        filter.owners = vec![Owner::Me];
        let filter = filter
            .states([
                ImageState::Pending,
                ImageState::Available,
                ImageState::Failed,
                ImageState::Error,
                ImageState::Invalid,
                ImageState::Disabled,
            ])
            .include_deprecated(true)
            .include_disabled(true);
        self.cloud
            .search_images(region, &filter)
            .await
            .map_err(|e| LifecycleError::cloud(format!("searching own images in {region}"), e))
    }

    /// Deregisters a half-made image and deletes its snapshots, reporting what happened.
    /// Written ahead like every change: when the intent cannot be recorded nothing is
    /// removed, and the cleanup says why.
    pub(crate) async fn remove_half_made(&self, region: &Region, image: &AmiId) -> Cleanup {
        let actor = match self.actor().await {
            Ok(actor) => actor,
            Err(e) => {
                return Cleanup::Failed {
                    error: e.to_string(),
                };
            }
        };
        let record = AuditRecord::new(actor, "deregister_image", AuditOutcome::Intended)
            .region(region)
            .target(image)
            .details(serde_json::json!({ "delete_snapshots": true, "why": "half-made" }));
        let call = || self.cloud.deregister_image(region, image, true);
        let result = match self.intended_call(record, call, |_| None).await {
            Ok(result) => result,
            Err(e) => {
                return Cleanup::Failed {
                    error: e.to_string(),
                };
            }
        };
        match result {
            Ok(()) => {
                self.progress.emit(ProgressEvent::CleanedUp {
                    region: region.clone(),
                    image: image.clone(),
                });
                Cleanup::Removed
            }
            Err(e) if e.kind == amiref_core::CloudErrorKind::NotFound => Cleanup::Removed,
            Err(e) => {
                tracing::warn!(%region, %image, error = %e, "could not remove a half-made image");
                Cleanup::Failed {
                    error: e.to_string(),
                }
            }
        }
    }
}
