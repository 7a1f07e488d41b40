//! Progress of long operations: a JSON line each with `--output jsonl`, a human line on
//! stderr otherwise; the same text for progress bars.

use amiref_core::{AmiId, ImageState, Region};
use amiref_lifecycle::{ProgressEvent, ProgressSink};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{Human, Printer, Report};

/// One progress event in JSON (`amiref/progress/v1`), tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProgressJson {
    /// Image creation started.
    CreateStarted {
        /// The region.
        region: Region,
        /// The new image.
        image: AmiId,
        /// Its name.
        name: String,
    },
    /// A copy waits for a slot under EC2's concurrent-copy limits.
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
    /// An earlier run's image was found and is reused.
    Reused {
        /// The region.
        region: Region,
        /// The image.
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
    /// An event this version of the output layer does not know.
    Other {
        /// What it is, for a person.
        description: String,
    },
}

impl From<&ProgressEvent> for ProgressJson {
    fn from(event: &ProgressEvent) -> Self {
        use ProgressEvent as E;
        match event.clone() {
            E::CreateStarted {
                region,
                image,
                name,
            } => Self::CreateStarted {
                region,
                image,
                name,
            },
            E::CopyQueued { from, to } => Self::CopyQueued { from, to },
            E::CopyStarted { from, to, image } => Self::CopyStarted { from, to, image },
            E::Reused {
                region,
                image,
                state,
            } => Self::Reused {
                region,
                image,
                state,
            },
            E::Waiting {
                region,
                image,
                state,
                elapsed_secs,
                timeout_secs,
            } => Self::Waiting {
                region,
                image,
                state,
                elapsed_secs,
                timeout_secs,
            },
            E::Available {
                region,
                image,
                elapsed_secs,
            } => Self::Available {
                region,
                image,
                elapsed_secs,
            },
            E::Failed {
                region,
                image,
                error,
            } => Self::Failed {
                region,
                image,
                error,
            },
            E::CleanedUp { region, image } => Self::CleanedUp { region, image },
            E::ChangeSet { id, status } => Self::ChangeSet { id, status },
            E::Retired {
                region,
                image,
                freed_gib,
            } => Self::Retired {
                region,
                image,
                freed_gib,
            },
            other => Self::Other {
                description: format!("{other:?}"),
            },
        }
    }
}

/// What a progress bar shows for an event: the bar's key (the region, or `marketplace`),
/// its message, and whether the bar is done. The message is not sanitized: a bar drawer
/// must pass it through [`crate::sanitize`] (a [`Printer`] does so itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressLine {
    /// The region the event concerns, or `marketplace`.
    pub key: String,
    /// What is happening.
    pub message: String,
    /// Whether this is the last word about `key` (available, failed).
    pub finished: bool,
}

/// The progress-bar text of an event.
pub fn progress_line(event: &ProgressEvent) -> ProgressLine {
    let key = event
        .region()
        .map_or_else(|| "marketplace".to_owned(), ToString::to_string);
    let mut finished = false;
    let message = match event {
        ProgressEvent::CreateStarted { image, name, .. } => format!("creating {image} ({name})"),
        ProgressEvent::CopyQueued { from, .. } => format!("waiting for a copy slot out of {from}"),
        ProgressEvent::CopyStarted { from, image, .. } => {
            format!("copying from {from} as {image}")
        }
        ProgressEvent::Reused { image, state, .. } => {
            format!("found {image} from an earlier run ({state})")
        }
        ProgressEvent::Waiting {
            image,
            state,
            elapsed_secs,
            ..
        } => format!("{image} {state}, {}", minutes_seconds(*elapsed_secs)),
        ProgressEvent::Available {
            image,
            elapsed_secs,
            ..
        } => {
            finished = true;
            format!(
                "✓ {image} available after {}",
                minutes_seconds(*elapsed_secs)
            )
        }
        ProgressEvent::Failed { error, .. } => {
            finished = true;
            format!("✗ {error}")
        }
        ProgressEvent::CleanedUp { image, .. } => format!("removed the half-made {image}"),
        ProgressEvent::ChangeSet { id, status } => format!("change set {id}: {status}"),
        ProgressEvent::Retired {
            image, freed_gib, ..
        } => format!("retired {image} ({freed_gib} GiB)"),
        other => format!("{other:?}"),
    };
    ProgressLine {
        key,
        message,
        finished,
    }
}

fn minutes_seconds(secs: u64) -> String {
    format!("{}m{:02}s", secs / 60, secs % 60)
}

/// A progress event as a report: `amiref/progress/v1` lines with `--output jsonl`. As a
/// plain line (`us-west-2        copying from us-east-1 as ami-...`), `waiting` events are
/// left out: they repeat every poll, which suits a progress bar, not a log.
impl Report for ProgressEvent {
    const KIND: &'static str = "progress";
    type Json = ProgressJson;

    fn to_json(&self) -> ProgressJson {
        self.into()
    }

    fn human(&self, out: &mut Human) {
        if matches!(self, ProgressEvent::Waiting { .. }) {
            return;
        }
        let line = progress_line(self);
        out.err(format!("{:<16} {}", line.key, line.message));
    }
}

/// A printer takes progress: JSON lines on stdout with `--output jsonl`, else lines on
/// stderr.
impl ProgressSink for Printer {
    fn emit(&self, event: ProgressEvent) {
        self.progress_json(&event);
    }
}
