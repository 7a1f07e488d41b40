//! Progress of long operations, as a stream of events.
//!
//! Operations emit [`ProgressEvent`]s to a [`ProgressSink`]; the launcher draws them as
//! progress bars or prints them as JSON lines. A sink is a plain callback rather than a
//! channel so that an operation never blocks on a slow reader; a tokio
//! [`UnboundedSender`](tokio::sync::mpsc::UnboundedSender) is a sink, for callers that want a
//! stream.

use amiref_core::{AmiId, ImageState, Region};

/// One step of a long operation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProgressEvent {
    /// Image creation started.
    CreateStarted {
        /// The region.
        region: Region,
        /// The new image.
        image: AmiId,
        /// Its name.
        name: String,
    },
    /// A copy waits for a free slot under EC2's concurrent-copy limits.
    CopyQueued {
        /// The source region.
        from: Region,
        /// The destination region.
        to: Region,
    },
    /// A copy started.
    CopyStarted {
        /// The source region.
        from: Region,
        /// The destination region.
        to: Region,
        /// The copy.
        image: AmiId,
    },
    /// An earlier run's image was found and is reused instead of making another.
    Reused {
        /// The region.
        region: Region,
        /// The image found.
        image: AmiId,
        /// Its state when found.
        state: ImageState,
    },
    /// An image is still not available.
    Waiting {
        /// The region.
        region: Region,
        /// The image.
        image: AmiId,
        /// Its state.
        state: ImageState,
        /// Seconds since the wait began.
        elapsed_secs: u64,
        /// Seconds before the wait gives up.
        timeout_secs: u64,
    },
    /// An image became available.
    Available {
        /// The region.
        region: Region,
        /// The image.
        image: AmiId,
        /// Seconds the wait took.
        elapsed_secs: u64,
    },
    /// A region's part of an operation failed.
    Failed {
        /// The region.
        region: Region,
        /// The image, if one was made.
        #[serde(default)]
        image: Option<AmiId>,
        /// What went wrong.
        error: String,
    },
    /// A half-made image was deregistered and its snapshots deleted.
    CleanedUp {
        /// The region.
        region: Region,
        /// The image removed.
        image: AmiId,
    },
    /// A Marketplace change set's status was read.
    ChangeSet {
        /// The change set id.
        id: String,
        /// Its status.
        status: String,
    },
    /// An image was retired.
    Retired {
        /// The region.
        region: Region,
        /// The image.
        image: AmiId,
        /// GiB of snapshot volume released.
        freed_gib: u64,
    },
}

impl ProgressEvent {
    /// The region an event concerns, if one: the key a launcher groups progress bars by.
    pub fn region(&self) -> Option<&Region> {
        match self {
            Self::CreateStarted { region, .. }
            | Self::Reused { region, .. }
            | Self::Waiting { region, .. }
            | Self::Available { region, .. }
            | Self::Failed { region, .. }
            | Self::CleanedUp { region, .. }
            | Self::Retired { region, .. } => Some(region),
            Self::CopyQueued { to, .. } | Self::CopyStarted { to, .. } => Some(to),
            Self::ChangeSet { .. } => None,
        }
    }
}

/// Receives progress events.
pub trait ProgressSink: Send + Sync {
    /// Takes one event. Must not block for long: operations call it inline.
    fn emit(&self, event: ProgressEvent);
}

/// Discards every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn emit(&self, _event: ProgressEvent) {}
}

impl ProgressSink for tokio::sync::mpsc::UnboundedSender<ProgressEvent> {
    fn emit(&self, event: ProgressEvent) {
        // A receiver that hung up no longer wants progress; the operation goes on.
        let _ = self.send(event);
    }
}

/// Adapts a closure into a [`ProgressSink`].
pub struct ProgressFn<F>(pub F);

impl<F: Fn(ProgressEvent) + Send + Sync> ProgressSink for ProgressFn<F> {
    fn emit(&self, event: ProgressEvent) {
        (self.0)(event);
    }
}

impl<F> std::fmt::Debug for ProgressFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressFn")
    }
}
