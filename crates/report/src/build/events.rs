//! A build's progress: `amiref/build_event/v1` lines with `--output jsonl`, a line on
//! stderr per step otherwise, and the text of a progress bar per stage.

use amiref_build::{BuildEvent, BuildId, Stage};
use amiref_lifecycle::ProgressEvent;

use crate::progress::progress_line;
use crate::units::short_duration;
use crate::{Human, Report};

/// What a progress bar shows for a build event: one bar per stage of a build (a copy's
/// region has a bar of its own in the distribute stage). The message is not sanitized: a
/// bar drawer must pass it through [`crate::sanitize`] (a [`crate::Printer`] does itself).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildEventLine {
    /// The build the event belongs to, when it names one.
    pub build: Option<BuildId>,
    /// The bar: the stage (`provision`), or `distribute us-west-2` for one region's copy.
    pub key: String,
    /// What is happening (the first line of it: a failure's full text is in the report).
    pub message: String,
    /// Whether this is the last word about `key` (a stage finished, resumed or failed).
    pub finished: bool,
    /// Whether the event failed a stage.
    pub failed: bool,
    /// A running script: seconds since its launch and seconds before it times out.
    pub running: Option<(u64, u64)>,
    /// Whether the event is a poll that says much the same every few seconds (a script
    /// still running, an image still pending): a bar shows it, a log leaves it out.
    pub poll: bool,
}

impl BuildEventLine {
    fn new(build: Option<&BuildId>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            build: build.cloned(),
            key: key.into(),
            message: message.into(),
            finished: false,
            failed: false,
            running: None,
            poll: false,
        }
    }

    fn finished(mut self) -> Self {
        self.finished = true;
        self
    }
}

fn secs(s: u64) -> String {
    short_duration(std::time::Duration::from_secs(s))
}

/// The progress-bar text of a build event.
pub fn build_event_line(event: &BuildEvent) -> BuildEventLine {
    use BuildEventLine as L;
    match event {
        BuildEvent::StageStarted { build, stage } => L::new(Some(build), stage.as_str(), "started"),
        BuildEvent::StageResumed {
            build,
            stage,
            evidence,
        } => L::new(
            Some(build),
            stage.as_str(),
            format!("↻ done by an earlier run ({evidence})"),
        )
        .finished(),
        BuildEvent::StageFinished {
            build,
            stage,
            elapsed_secs,
        } => L::new(
            Some(build),
            stage.as_str(),
            format!("✓ done in {}", secs(*elapsed_secs)),
        )
        .finished(),
        BuildEvent::Launched {
            build,
            stage,
            region,
            instance,
            attempt,
        } => L::new(
            Some(build),
            stage.as_str(),
            format!("launched {instance} in {region} (attempt {attempt})"),
        ),
        BuildEvent::Running {
            build,
            stage,
            instance,
            elapsed_secs,
            timeout_secs,
        } => {
            let mut line = L::new(
                Some(build),
                stage.as_str(),
                format!(
                    "script running on {instance}: {} of at most {}",
                    secs(*elapsed_secs),
                    secs(*timeout_secs)
                ),
            );
            line.running = Some((*elapsed_secs, *timeout_secs));
            line.poll = true;
            line
        }
        BuildEvent::Completed {
            build,
            stage,
            instance,
            status,
            elapsed_secs,
        } => L::new(
            Some(build),
            stage.as_str(),
            format!(
                "script on {instance} exited with status {status} after {}",
                secs(*elapsed_secs)
            ),
        ),
        BuildEvent::Image {
            build,
            stage,
            progress,
        } => image_line(build, *stage, progress),
        BuildEvent::Removed {
            build,
            region,
            kind,
            id,
        } => L::new(
            build.as_ref(),
            Stage::Cleanup.as_str(),
            format!("removed {kind} {id} in {region}"),
        ),
        BuildEvent::Tested {
            build,
            image,
            script_ready_secs,
            image_ready_secs,
        } => L::new(
            Some(build),
            Stage::Test.as_str(),
            format!(
                "{image} passed its test: ready in {} (the script took {})",
                secs(*image_ready_secs),
                secs(*script_ready_secs)
            ),
        ),
        BuildEvent::Failed {
            build,
            stage,
            error,
        } => {
            let first = error.lines().next().unwrap_or_default();
            let mut line = L::new(Some(build), stage.as_str(), format!("✗ {first}")).finished();
            line.failed = true;
            line
        }
        other => L::new(None, "build", format!("{other:?}")),
    }
}

impl BuildEventLine {
    /// The bar's label: the key, after the build's short id when several builds run at
    /// once (one per architecture) and their bars would otherwise look alike.
    pub fn label(&self, show_build: bool) -> String {
        match (&self.build, show_build) {
            (Some(build), true) => format!("{} {}", short_build(build), self.key),
            _ => self.key.clone(),
        }
    }
}

/// `bld-89ec66a6`: enough of a build's id to tell concurrent builds apart.
fn short_build(build: &BuildId) -> &str {
    let id = build.as_str();
    id.get(..12).unwrap_or(id)
}

/// A build event as a log line (`provision        launched i-... in us-east-1`), the
/// build's short id first when `show_build`; `None` for a poll, which suits a progress bar,
/// not a log.
pub fn build_event_log_line(event: &BuildEvent, show_build: bool) -> Option<String> {
    let line = build_event_line(event);
    // The key's column, and the short id's (`bld-` and 8 digits) before it.
    let width = if show_build { 16 + 13 } else { 16 };
    (!line.poll).then(|| format!("{:<width$} {}", line.label(show_build), line.message))
}

/// A lifecycle event inside a stage: the capture's image on the stage's bar, each copy on
/// a bar of its region.
fn image_line(build: &BuildId, stage: Stage, progress: &ProgressEvent) -> BuildEventLine {
    let inner = progress_line(progress);
    let key = match stage {
        Stage::Distribute => format!("{stage} {}", inner.key),
        _ => stage.as_str().to_owned(),
    };
    let mut line = BuildEventLine::new(Some(build), key, inner.message);
    // A capture's image being available is not the end of the stage; a copy's is the end
    // of its region's bar.
    line.finished = inner.finished && stage == Stage::Distribute;
    line.poll = matches!(progress, ProgressEvent::Waiting { .. });
    line
}

/// A build's progress event as a report: `amiref/build_event/v1` lines with `--output
/// jsonl`; as a plain line on stderr (`provision        launched i-... in us-east-1`),
/// polls are left out: they repeat, which suits a progress bar, not a log.
impl Report for BuildEvent {
    const KIND: &'static str = "build_event";
    type Json = BuildEvent;

    fn to_json(&self) -> BuildEvent {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        if let Some(line) = build_event_log_line(self, false) {
            out.err(line);
        }
    }
}
