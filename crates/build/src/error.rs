//! What can go wrong in a build, named by the stage it happened in.

use std::time::Duration;

use amiref_core::{CloudError, InstanceId, Region, completion::WrapError};
use amiref_lifecycle::LifecycleError;

use crate::cleanup::CleanupReport;
use crate::{BuildId, Stage};

/// A build that did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The spec does not make sense; nothing was looked at or changed.
    #[error("invalid {field}: {found}: expected {expected}")]
    Invalid {
        /// The field or option at fault.
        field: &'static str,
        /// What was given.
        found: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// A stage failed. Everything the build had made that is not a tested image was removed
    /// unless `cleanup` says otherwise.
    #[error("build {build} failed in the {stage} stage: {cause}; {cleanup}")]
    Stage {
        /// The build.
        build: BuildId,
        /// The stage.
        stage: Stage,
        /// What went wrong.
        #[source]
        cause: Box<StageError>,
        /// What was cleaned up after it.
        cleanup: CleanupReport,
    },
    /// The base stage failed: nothing was made.
    #[error("the base image of {template} in {region}: {cause}")]
    Base {
        /// The template.
        template: String,
        /// The home region.
        region: Region,
        /// What went wrong.
        #[source]
        cause: Box<StageError>,
    },
    /// Sweeping expired leftovers failed before the build started.
    #[error("sweeping expired build leftovers in {region}: {source}")]
    Sweep {
        /// The region.
        region: Region,
        /// The cloud's error.
        #[source]
        source: CloudError,
    },
    /// A lifecycle call outside any stage failed: the caller's identity, an audit record,
    /// a search for leftovers.
    #[error(transparent)]
    Lifecycle(LifecycleError),
}

impl BuildError {
    /// The stage a build failed in, if it got that far.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Self::Stage { stage, .. } => Some(*stage),
            _ => None,
        }
    }

    /// What was cleaned up after the failure, if anything was tried.
    pub fn cleanup(&self) -> Option<&CleanupReport> {
        match self {
            Self::Stage { cleanup, .. } => Some(cleanup),
            _ => None,
        }
    }
}

/// Why a stage failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// A call to the cloud failed.
    #[error("{context}: {source}")]
    Cloud {
        /// What the build was doing.
        context: String,
        /// The cloud's error.
        #[source]
        source: CloudError,
    },
    /// A lifecycle operation (capture, tagging, copies) failed.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The template's base image could not be resolved or did not pass the trust rules.
    #[error("no base image in {region}: {reason}")]
    NoBaseImage {
        /// The region.
        region: Region,
        /// Why, as the resolver says it.
        reason: String,
    },
    /// The base image resolution failed.
    #[error(transparent)]
    Resolve(#[from] amiref_resolver::ResolveError),
    /// The template's script could not be wrapped for the completion protocol.
    #[error("the {script} cannot run under the completion protocol: {source}")]
    Wrap {
        /// Which script: `user_data` or `build.test`.
        script: &'static str,
        /// Why.
        #[source]
        source: WrapError,
    },
    /// The script finished with a non-zero exit status.
    #[error(
        "the script on {instance} in {region} exited with status {status}; its output was in /var/log/amiref-{log_stage}.log on the instance (terminated now), and the serial console ended with:\n{console_tail}"
    )]
    ScriptFailed {
        /// The instance.
        instance: InstanceId,
        /// Its region.
        region: Region,
        /// The exit status.
        status: i32,
        /// `provision` or `test`: the log's name on the instance.
        log_stage: &'static str,
        /// The last lines of the serial console.
        console_tail: String,
    },
    /// The script did not report completion in time.
    #[error(
        "the script on {instance} in {region} did not report completion within {} s; its output is in /var/log/amiref-{log_stage}.log on the instance (terminated now)", .timeout.as_secs()
    )]
    TimedOut {
        /// The instance.
        instance: InstanceId,
        /// Its region.
        region: Region,
        /// The timeout.
        timeout: Duration,
        /// `provision` or `test`.
        log_stage: &'static str,
    },
    /// Distribution failed before it changed anything.
    #[error(transparent)]
    Distribute(#[from] crate::distribute::DistributeError),
    /// Distribution did not complete in every region: the image stays tested, and a
    /// re-run completes what is missing.
    #[error("distribution did not complete: {}", incomplete_regions(.distributed))]
    Incomplete {
        /// What was done.
        distributed: Box<crate::distribute::Distributed>,
    },
    /// What an earlier run left cannot be resumed from.
    #[error("cannot resume the earlier run: {what}")]
    Resume {
        /// What is wrong with it.
        what: String,
    },
    /// An instance stopped being usable before its script finished, or did not reach the
    /// state the stage waits for.
    #[error("instance {instance} in {region}: {what}")]
    Instance {
        /// The instance.
        instance: InstanceId,
        /// Its region.
        region: Region,
        /// What happened.
        what: String,
    },
}

impl StageError {
    /// A cloud error with what the build was doing.
    pub(crate) fn cloud(context: impl Into<String>, source: CloudError) -> Self {
        Self::Cloud {
            context: context.into(),
            source,
        }
    }
}

/// The regions a distribution left without an image.
fn incomplete_regions(distributed: &crate::distribute::Distributed) -> String {
    let missing: Vec<String> = distributed
        .copies
        .regions
        .iter()
        .filter(|r| r.image().is_none())
        .map(|r| r.region.to_string())
        .collect();
    if missing.is_empty() {
        "every region has its copy, but sharing, parameters or the registry entry failed somewhere (see the report)".to_owned()
    } else {
        format!("no image yet in {}", missing.join(", "))
    }
}
