//! The provision stage: a builder instance from the base image runs the template's
//! `user_data`, and the build learns from the serial console that it finished and how.

use std::time::Duration;

use amiref_core::completion::{Completion, ScriptStage};
use amiref_core::{Instance, InstanceControl, InstanceState, SecurityGroupId};

use crate::console::{Finished, wait_for_completion};
use crate::error::StageError;
use crate::events::Stage;
use crate::run::Run;
use crate::state::BuildState;
use crate::tags::ROLE_BUILDER;

impl Run<'_> {
    /// Runs `user_data` on a builder (an earlier run's, when it is still there) and returns
    /// the builder with the script provisioning time: launch to completion marker.
    pub(crate) async fn provision(
        &self,
        state: &BuildState,
        group: &SecurityGroupId,
    ) -> Result<(Instance, Duration), StageError> {
        let builder = match state.live(ROLE_BUILDER).first() {
            Some(&earlier) => earlier.clone(),
            None => {
                let user_data = self.spec.template.user_data.as_deref().unwrap_or_default();
                self.launch(
                    ROLE_BUILDER,
                    Stage::Provision,
                    &self.base.image.id,
                    user_data,
                    "user_data",
                    group,
                    state.next_attempt(ROLE_BUILDER),
                )
                .await?
            }
        };
        let finished = if matches!(
            builder.state,
            InstanceState::Pending | InstanceState::Running
        ) {
            wait_for_completion(
                &self.calls(),
                self.events,
                &self.build,
                Stage::Provision,
                &builder,
                self.spec.provision_timeout(),
                self.spec.options.console_poll,
            )
            .await?
        } else {
            // Stopping or stopped: an earlier run saw the script succeed and began the
            // capture. The console keeps the marker.
            self.marker_of_stopped(&builder).await?
        };
        let finished = self.succeeded(Stage::Provision, &builder, finished)?;
        Ok((builder, finished.elapsed))
    }

    /// The provisioning marker a stopped builder left on its console.
    async fn marker_of_stopped(&self, builder: &Instance) -> Result<Finished, StageError> {
        let console = self
            .lifecycle
            .cloud()
            .console_output(&self.home, &builder.id)
            .await
            .map_err(|e| StageError::cloud(format!("reading the console of {}", builder.id), e))?;
        let text = console.text.unwrap_or_default();
        let done = Completion::find(&text, self.build.as_str(), ScriptStage::Provision)
            .ok_or_else(|| StageError::Instance {
                instance: builder.id.clone(),
                region: self.home.clone(),
                what: format!(
                    "is {} but its console holds no completion marker of build {}",
                    builder.state, self.build
                ),
            })?;
        let at = console.timestamp.unwrap_or_else(|| self.lifecycle.now());
        let elapsed = (at - builder.launch_time).to_std().unwrap_or_default();
        Ok(Finished {
            status: done.status,
            elapsed: Duration::from_secs(elapsed.as_secs()),
            console_tail: String::new(),
        })
    }
}
