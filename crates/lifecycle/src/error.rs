//! What can go wrong in a lifecycle operation.

use amiref_core::{AmiId, CloudError, Region};

use crate::audit::AuditError;

/// A lifecycle operation that did not complete.
///
/// Every variant names the image and region it concerns where there is one, so that the
/// message alone tells a person what to look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// A call to the cloud failed.
    #[error("{context}: {source}")]
    Cloud {
        /// What amiref was doing.
        context: String,
        /// The cloud's error.
        #[source]
        source: CloudError,
    },
    /// The operation was refused before anything changed, for a stated reason.
    #[error("refused: {reason}")]
    Refused {
        /// Why, and what to do instead.
        reason: String,
    },
    /// The input does not make sense.
    #[error("invalid {field}: {found:?}: expected {expected}")]
    InvalidInput {
        /// The field or option at fault.
        field: &'static str,
        /// What was given.
        found: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// An image never became available: it failed, vanished or ran out of time. Whatever
    /// was made has been removed unless `cleanup` says otherwise.
    #[error("image {image} in {region} did not become available: {reason}; {cleanup}")]
    ImageFailed {
        /// The region.
        region: Region,
        /// The image.
        image: AmiId,
        /// Why.
        reason: String,
        /// What happened to the half-made image.
        cleanup: Cleanup,
    },
    /// The image does not exist or the caller cannot see it.
    #[error("image {image} not found in {region}")]
    ImageNotFound {
        /// The region.
        region: Region,
        /// The image.
        image: AmiId,
    },
    /// The audit record could not be written. The operation itself has its outcome in the
    /// message; it is not rolled back, because undoing a done change is riskier than a
    /// missing line.
    #[error("could not write the audit record of {operation} (outcome: {outcome}): {source}")]
    Audit {
        /// The operation.
        operation: String,
        /// Its outcome.
        outcome: String,
        /// The sink's error.
        #[source]
        source: AuditError,
    },
}

/// What happened to a half-made image after a failure.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "cleanup", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cleanup {
    /// Deregistered, snapshots deleted: nothing is left behind.
    Removed,
    /// Removing it failed: it may remain and must be removed by hand.
    Failed {
        /// The error of the deregistration.
        error: String,
    },
}

impl std::fmt::Display for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Removed => f.write_str("it was deregistered and its snapshots deleted"),
            Self::Failed { error } => write!(
                f,
                "removing it failed ({error}), so it may remain: deregister it by hand"
            ),
        }
    }
}

impl LifecycleError {
    /// A cloud error, with what amiref was doing when it happened.
    pub fn cloud(context: impl Into<String>, source: CloudError) -> Self {
        Self::Cloud {
            context: context.into(),
            source,
        }
    }

    /// A refusal with a reason.
    pub fn refused(reason: impl Into<String>) -> Self {
        Self::Refused {
            reason: reason.into(),
        }
    }
}
