//! Progress of long operations: a JSON line each with `--output jsonl`, a human line on
//! stderr otherwise; the same text for progress bars.

use amiref_lifecycle::{ProgressEvent, ProgressSink};

use crate::{Human, Printer, Report};

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
    type Json = ProgressEvent;

    fn to_json(&self) -> ProgressEvent {
        self.clone()
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
