//! Progress of a build, as typed events: what progress bars and JSON event streams show.

use std::fmt;

use amiref_core::{AmiId, InstanceId, Region};
use amiref_lifecycle::{ProgressEvent, ProgressSink};

use crate::BuildId;

/// The stages of a build, in order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stage {
    /// Removing expired leftovers of any build in the build's regions.
    Sweep,
    /// Resolving the template's base image through the trust rules.
    Base,
    /// Running the template's `user_data` on a builder instance.
    Provision,
    /// Stopping the builder and imaging it.
    Capture,
    /// Booting the new image and running the test script.
    Test,
    /// Copying, sharing, publishing the tested image.
    Distribute,
    /// Removing the build's temporary resources.
    Cleanup,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Self; 7] = [
        Self::Sweep,
        Self::Base,
        Self::Provision,
        Self::Capture,
        Self::Test,
        Self::Distribute,
        Self::Cleanup,
    ];

    /// The stage's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sweep => "sweep",
            Self::Base => "base",
            Self::Provision => "provision",
            Self::Capture => "capture",
            Self::Test => "test",
            Self::Distribute => "distribute",
            Self::Cleanup => "cleanup",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a build.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BuildEvent {
    /// A stage began.
    StageStarted {
        /// The build.
        build: BuildId,
        /// The stage.
        stage: Stage,
    },
    /// A stage was found done by an earlier run (read from the cloud's tags) and skipped.
    StageResumed {
        /// The build.
        build: BuildId,
        /// The stage.
        stage: Stage,
        /// What the earlier run left that shows it done.
        evidence: String,
    },
    /// A stage ended.
    StageFinished {
        /// The build.
        build: BuildId,
        /// The stage.
        stage: Stage,
        /// Seconds it took.
        elapsed_secs: u64,
    },
    /// An instance was launched (or an earlier run's launch of the same attempt found).
    Launched {
        /// The build.
        build: BuildId,
        /// `provision` or `test`.
        stage: Stage,
        /// The region.
        region: Region,
        /// The instance.
        instance: InstanceId,
        /// The launch attempt of this stage (1, 2, ...): in JSON `attempt_count`, the
        /// launches of this stage so far, this one included.
        #[serde(rename = "attempt_count")]
        attempt: u32,
    },
    /// A script is still running: its completion marker is not yet on the serial console.
    Running {
        /// The build.
        build: BuildId,
        /// `provision` or `test`.
        stage: Stage,
        /// The instance.
        instance: InstanceId,
        /// Seconds since the instance launched.
        elapsed_secs: u64,
        /// Seconds before the stage gives up.
        timeout_secs: u64,
    },
    /// A script reported completion.
    Completed {
        /// The build.
        build: BuildId,
        /// `provision` or `test`.
        stage: Stage,
        /// The instance.
        instance: InstanceId,
        /// Its exit status (0: it succeeded); in JSON `exit_code`.
        #[serde(rename = "exit_code")]
        status: i32,
        /// Seconds from launch to the marker.
        elapsed_secs: u64,
    },
    /// An image operation of the lifecycle (capture, copies) made progress.
    Image {
        /// The build.
        build: BuildId,
        /// The stage.
        stage: Stage,
        /// The lifecycle's event.
        progress: ProgressEvent,
    },
    /// A temporary resource was removed.
    Removed {
        /// The build it belonged to.
        build: Option<BuildId>,
        /// The region.
        region: Region,
        /// What it was: `instance`, `security_group`, `image`.
        kind: String,
        /// Its id.
        id: String,
    },
    /// The build's image passed its test.
    Tested {
        /// The build.
        build: BuildId,
        /// The image.
        image: AmiId,
        /// Script provisioning time, seconds.
        script_ready_secs: u64,
        /// The image's time to ready, seconds.
        image_ready_secs: u64,
    },
    /// A stage failed.
    Failed {
        /// The build.
        build: BuildId,
        /// The stage.
        stage: Stage,
        /// What went wrong.
        error: String,
    },
}

/// Receives build events.
pub trait BuildEventSink: Send + Sync {
    /// Takes one event. Must not block for long: the build calls it inline.
    fn emit(&self, event: BuildEvent);
}

/// Discards every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl BuildEventSink for NoEvents {
    fn emit(&self, _event: BuildEvent) {}
}

impl BuildEventSink for tokio::sync::mpsc::UnboundedSender<BuildEvent> {
    fn emit(&self, event: BuildEvent) {
        // A receiver that hung up no longer wants progress; the build goes on.
        let _ = self.send(event);
    }
}

/// Adapts a closure into a [`BuildEventSink`].
pub struct BuildEventFn<F>(pub F);

impl<F: Fn(BuildEvent) + Send + Sync> BuildEventSink for BuildEventFn<F> {
    fn emit(&self, event: BuildEvent) {
        (self.0)(event);
    }
}

impl<F> fmt::Debug for BuildEventFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BuildEventFn")
    }
}

/// The lifecycle's progress during one stage of one build, as [`BuildEvent::Image`]s.
pub(crate) struct StageProgress<'s> {
    pub(crate) sink: &'s dyn BuildEventSink,
    pub(crate) build: BuildId,
    pub(crate) stage: Stage,
}

impl ProgressSink for StageProgress<'_> {
    fn emit(&self, progress: ProgressEvent) {
        self.sink.emit(BuildEvent::Image {
            build: self.build.clone(),
            stage: self.stage,
            progress,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json_with_snake_case_stages() {
        let event = BuildEvent::StageStarted {
            build: BuildId::parse("bld-0123456789abcdef").expect("an id"),
            stage: Stage::Provision,
        };
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"event": "stage_started", "build": "bld-0123456789abcdef", "stage": "provision"})
        );
        for stage in Stage::ALL {
            let json = serde_json::to_value(stage).expect("json");
            assert_eq!(json, stage.as_str());
        }
    }
}
