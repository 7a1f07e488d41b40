//! # amiref-lifecycle
//!
//! The half of amiref that makes images, moves them and cleans up after them: create an
//! image from an instance, copy it to many regions, share it, publish it to AWS Marketplace,
//! deprecate it, and retire old versions under a retention policy. Every operation runs on
//! the ports of `amiref-core`, so the same code runs against AWS (`amiref-aws`) and the
//! in-process cloud (`amiref-memory`).
//!
//! ## Design choices
//!
//! - **One context, borrowed.** A [`Lifecycle`] borrows a `&dyn Cloud`, an [`AuditSink`] and
//!   a [`ProgressSink`]; operations are `async fn(&self, &Spec)` and run concurrently on one
//!   task with `join!`, so nothing needs to be `'static` or spawned.
//! - **Safe by construction.** Every mutating operation is idempotent (it looks before it
//!   acts, and copies use deterministic client tokens), has a dry run (`dry_run` on every
//!   spec; retiring is a dry run unless told to execute), and writes an [`AuditRecord`] of
//!   who did what, when, and how it ended, including refusals and failures.
//! - **Nothing half-made.** An image that fails or times out while being created or copied is
//!   deregistered with its snapshots; the error says whether that cleanup worked.
//! - **State lives in tags.** Lineage (template, version, fingerprint, source instance) and
//!   provenance (source image and region of a copy) are tags on the images, so a re-run on
//!   another host finds what an earlier run made without any local state ([`tags`]).
//! - **One copy engine.** [`Lifecycle::copy_image`] (many regions, `ami copy`) and
//!   [`Lifecycle::copy_to_region`] (one region, a launch) run the same steps with the same
//!   client token and tags, so every caller of any command on any host shares one copy.
//! - **One retry policy, one waiter.** Every call goes through `amiref_layers::Retrying`
//!   ([`RetryPolicy`], [`Lifecycle::retry_policy`]), which repeats only calls safe to repeat;
//!   every wait is an `amiref_layers::Waiter`.
//! - **Limits are shared.** Concurrent copies are bounded by per-region semaphores in a
//!   [`CopyLimits`] that every `Lifecycle` of a process can share, at EC2's limits; the
//!   same copy asked for twice at once is made once, the second caller waiting for it.
//! - **Progress is events.** Long operations emit [`ProgressEvent`]s to a callback; the
//!   launcher turns them into progress bars or JSON lines.
//! - **Time is tokio's.** Waits use `tokio::time`, so tests run with a paused clock; ages and
//!   deprecation times use the `Lifecycle`'s clock, which tests may replace.

mod audit;
mod context;
mod copy;
mod create;
mod deprecate;
mod error;
mod governance;
mod limits;
mod parameters;
mod progress;
mod publish;
mod retire;
mod share;
pub mod tags;
mod wait;

pub use audit::{Actor, AuditError, AuditOutcome, AuditRecord, AuditSink, MemoryAuditSink};
pub use context::{Intent, Lifecycle};
pub use copy::{
    CompletionDuration, CopyReport, CopySpec, Encryption, MultiRegionReport, RegionCopy,
    RegionCopyOutcome, TIME_BASED_COPY_USD_PER_GIB_AT_MOST, TimeBasedCopyCost,
};
pub use create::{CreateImageSpec, CreatedImage, ImageOutcome, validate_image_name};
pub use deprecate::{DeprecateReport, DeprecateSpec};
pub use error::{Cleanup, LifecycleError};
pub use governance::{
    ChangeOutcome, DisableReport, ENABLE_KEEPS_IMAGE_PRIVATE, EnableReport, ImageSpec,
    ProtectReport, ProtectSpec,
};
pub use limits::{CopyLimits, EC2_MAX_COPIES_INTO_REGION, EC2_MAX_COPIES_OUT_OF_REGION};
pub use parameters::{
    DEFAULT_PARAMETER_PREFIX, ImageParameterNames, LATEST_LEVEL, ParameterOutcome, ParameterReport,
    ParameterWrite, PublishParametersSpec, RegionParameters, RegionUnpublish, RollbackSpec,
    RollbackTarget, UnpublishOutcome, UnpublishReport, UnpublishSpec,
};
pub use progress::{NoProgress, ProgressEvent, ProgressFn, ProgressSink};
pub use publish::{
    AMI_PRODUCT_ENTITY, CATALOG, HourlyPricing, IngressRule, OFFER_ENTITY, PublishReport,
    PublishSpec, change_set_json,
};
pub use retire::{
    DEFAULT_RETIRE_GRACE_DAYS, Decision, FlatSnapshotPrice, KeepReason, MAX_AGE_DAYS,
    ProtectedImages, Protection, RecycleBinRecovery, RetainedBy, RetentionPolicy, RetireEntry,
    RetireReport, RetireSpec, SHARED_LAUNCH_WINDOW_DAYS, STANDARD_SNAPSHOT_USD_PER_GB_MONTH,
    SnapshotPrices, image_version, newest_first, parse_age, parse_grace, retire_after,
};
pub use share::{ShareAction, ShareReport, ShareSpec};
pub use tags::TemplateLineage;
pub use wait::WaitOptions;

/// The retry policy a [`Lifecycle`] retries passing failures by ([`Lifecycle::retry_policy`]).
pub use amiref_layers::RetryPolicy;
