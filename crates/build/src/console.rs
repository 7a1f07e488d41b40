//! Waiting for a wrapped script's completion marker on an instance's serial console.

use std::time::Duration;

use amiref_core::completion::Completion;
use amiref_core::{
    CloudError, ConsoleOutput, Instance, InstanceControl, InstanceFilter, InstanceState, Instances,
};
use amiref_layers::{Acceptance, WaitError, Waiter};
use chrono::{DateTime, Utc};

use crate::BuildId;
use crate::error::StageError;
use crate::events::{BuildEvent, BuildEventSink, Stage};
use crate::resources::Calls;

/// How many lines of the console a failure quotes.
const TAIL_LINES: usize = 20;

/// A script that reported completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finished {
    /// Its exit status.
    pub(crate) status: i32,
    /// From the instance's launch to the marker, whole seconds.
    pub(crate) elapsed: Duration,
    /// The last lines of the console.
    pub(crate) console_tail: String,
}

/// One look at an instance: its console and whether it still runs.
type Look = (
    Result<ConsoleOutput, CloudError>,
    Result<Vec<Instance>, CloudError>,
);

/// Polls `instance`'s serial console until the marker of `build`'s `stage` appears, or
/// `timeout` after the instance's launch (so a resumed build keeps the first run's
/// deadline).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn wait_for_completion(
    calls: &Calls<'_, '_>,
    events: &dyn BuildEventSink,
    build: &BuildId,
    stage: Stage,
    instance: &Instance,
    timeout: Duration,
    poll: Duration,
) -> Result<Finished, StageError> {
    let script_stage = crate::run::script_stage(stage);
    let lifecycle = calls.lifecycle;
    let cloud = lifecycle.cloud();
    let region = &instance.region;
    let launched = instance.launch_time;
    let since_launch = |now: DateTime<Utc>| (now - launched).to_std().unwrap_or_default();
    let left = timeout.saturating_sub(since_launch(lifecycle.now()));
    let filter = InstanceFilter::ids([instance.id.clone()]);
    let mut errors = 0;
    let waited = Waiter::fixed(poll, left)
        .wait(
            || async {
                futures::join!(
                    cloud.console_output(region, &instance.id),
                    cloud.describe_instances(region, &filter)
                )
            },
            |(console, described): Look, _| {
                let (console, described) = match (console, described) {
                    (Ok(c), Ok(d)) => (c, d),
                    (Err(e), _) | (_, Err(e)) if e.is_retryable() && errors < 5 => {
                        errors += 1;
                        return Acceptance::Retry;
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        return Acceptance::Failure(StageError::cloud(
                            format!("reading the serial console of {}", instance.id),
                            e,
                        ));
                    }
                };
                errors = 0;
                let text = console.text.unwrap_or_default();
                if let Some(done) = Completion::find(&text, build.as_str(), script_stage) {
                    let at = console.timestamp.unwrap_or_else(|| lifecycle.now());
                    let elapsed = Duration::from_secs(since_launch(at).as_secs());
                    return Acceptance::Success(Finished {
                        status: done.status,
                        elapsed,
                        console_tail: tail(&text),
                    });
                }
                match described.iter().find(|i| i.id == instance.id) {
                    Some(i) if matches!(i.state, InstanceState::Pending | InstanceState::Running) => {}
                    other => {
                        let state = other.map_or("gone".to_owned(), |i| i.state.to_string());
                        return Acceptance::Failure(StageError::Instance {
                            instance: instance.id.clone(),
                            region: region.clone(),
                            what: format!(
                                "went {state} before its script reported completion; the serial console ended with:\n{}",
                                tail(&text)
                            ),
                        });
                    }
                }
                events.emit(BuildEvent::Running {
                    build: build.clone(),
                    stage,
                    instance: instance.id.clone(),
                    elapsed_secs: since_launch(lifecycle.now()).as_secs(),
                    timeout_secs: timeout.as_secs(),
                });
                Acceptance::Retry
            },
        )
        .await;
    waited.map_err(|e| match e {
        WaitError::Failed(e) => e,
        _ => StageError::TimedOut {
            instance: instance.id.clone(),
            region: region.clone(),
            timeout,
            log_stage: script_stage.as_str(),
        },
    })
}

/// The last lines of a console output.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}
