//! The serial console and the simulated user data: an instance prints boot lines once it
//! runs, and one whose user data is a build's wrapped script (it carries an
//! [`amiref_core::completion::ScriptHeader`]) "runs" it: after the instance boots plus the
//! script's simulated run time, its console gains the wrapper's marker line with the
//! script's exit status. How long each script runs and how it ends is set per template
//! ([`BuildBehaviour`], the world file's `builds`), deterministically.

use std::time::Duration;

use amiref_core::completion::{Completion, ScriptHeader, ScriptStage};
use amiref_core::{ConsoleOutput, InstanceId, InstanceState};
use chrono::{DateTime, Utc};

use crate::state::{Instance, later_by};

/// How long a provisioning script runs when the world does not say: a few minutes of
/// package installs.
pub const DEFAULT_PROVISION_RUN: Duration = Duration::from_secs(6 * 60);
/// How long a test script (or an image's readiness check) runs when the world does not say:
/// an image boots with everything installed, so it is ready much sooner than a
/// provisioning script finishes.
pub const DEFAULT_TEST_RUN: Duration = Duration::from_secs(60);

/// How one script of a build runs on the in-process cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptBehaviour {
    /// How long it runs once the instance is running; `None`: it never finishes (it
    /// hangs, and no marker ever reaches the console).
    pub runs_for: Option<Duration>,
    /// The exit status it finishes with (0: success).
    pub exit_status: i32,
}

impl ScriptBehaviour {
    /// Runs for `runs_for`, then succeeds.
    pub fn succeeds_after(runs_for: Duration) -> Self {
        Self {
            runs_for: Some(runs_for),
            exit_status: 0,
        }
    }

    /// Runs for `runs_for`, then exits with `exit_status`.
    pub fn exits_after(runs_for: Duration, exit_status: i32) -> Self {
        Self {
            runs_for: Some(runs_for),
            exit_status,
        }
    }

    /// Never finishes.
    pub fn hangs() -> Self {
        Self {
            runs_for: None,
            exit_status: 0,
        }
    }

    /// When it finishes on an instance running since `running_since`, if ever.
    fn finishes(&self, running_since: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.runs_for.map(|d| later_by(running_since, d))
    }
}

/// How a template's build scripts run: its provisioning script on the builder instance and
/// its test script on the instance booted from the new image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildBehaviour {
    /// The provisioning script (the template's `user_data`).
    pub provision: ScriptBehaviour,
    /// The test script.
    pub test: ScriptBehaviour,
}

impl Default for BuildBehaviour {
    /// Both succeed: provisioning after [`DEFAULT_PROVISION_RUN`], the test after
    /// [`DEFAULT_TEST_RUN`].
    fn default() -> Self {
        Self {
            provision: ScriptBehaviour::succeeds_after(DEFAULT_PROVISION_RUN),
            test: ScriptBehaviour::succeeds_after(DEFAULT_TEST_RUN),
        }
    }
}

impl BuildBehaviour {
    /// Scripts that behave as said.
    pub fn new(provision: ScriptBehaviour, test: ScriptBehaviour) -> Self {
        Self { provision, test }
    }

    /// The behaviour of `stage`'s script.
    pub fn script(&self, stage: ScriptStage) -> ScriptBehaviour {
        match stage {
            ScriptStage::Provision => self.provision,
            _ => self.test,
        }
    }
}

/// One console line, stamped with the world's time.
struct Line {
    at: DateTime<Utc>,
    text: String,
}

/// The instance's console as GetConsoleOutput answers it at `now`: nothing before it first
/// runs; then its boot, the marker of a build script that finished, and its shutdown once
/// it was stopped or terminated.
pub(crate) fn console_output(
    id: &InstanceId,
    instance: &Instance,
    behaviour: impl Fn(&str) -> BuildBehaviour,
    now: DateTime<Utc>,
) -> ConsoleOutput {
    let Some(running_since) = instance.running_since.filter(|t| *t <= now) else {
        return ConsoleOutput::new(None, None);
    };
    let start = instance.launch_time;
    let mut lines = vec![
        Line {
            at: start,
            text: format!(
                "Linux version 6.1.0-amiref ({}) #1 SMP",
                instance.architecture
            ),
        },
        Line {
            at: running_since,
            text: format!("cloud-init[1]: Cloud-init v. 23.4 finished: {id} is up"),
        },
    ];
    let header = instance
        .launch
        .user_data
        .as_deref()
        .and_then(ScriptHeader::parse);
    if let Some(header) = header {
        lines.push(Line {
            at: running_since,
            text: format!(
                "cloud-init[1]: running user data: amiref-build template={} build={} stage={}",
                header.template, header.build, header.stage
            ),
        });
        let script = behaviour(&header.template).script(header.stage);
        let finished = script
            .finishes(running_since)
            .filter(|at| *at <= now && instance.halted_at.is_none_or(|h| *at <= h));
        if let Some(at) = finished {
            let done = Completion::new(header.build.clone(), header.stage, script.exit_status);
            lines.push(Line {
                at,
                text: done.marker_line(),
            });
        }
    }
    if let Some(halted) = instance.halted_at.filter(|t| *t <= now) {
        let what = match instance.state {
            InstanceState::Stopping | InstanceState::Stopped => "Powering off",
            _ => "Halting",
        };
        lines.push(Line {
            at: halted,
            text: format!("systemd-shutdown[1]: {what}."),
        });
    }
    lines.sort_by_key(|l| l.at);
    let timestamp = lines.last().map(|l| l.at);
    let text = lines
        .iter()
        .map(|l| {
            let since = (l.at - start).num_milliseconds().max(0);
            format!(
                "[{:>8}.{:03}000] {}\r\n",
                since / 1000,
                since % 1000,
                l.text
            )
        })
        .collect();
    ConsoleOutput::new(Some(text), timestamp)
}
