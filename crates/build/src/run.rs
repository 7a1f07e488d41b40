//! One architecture's build after its base is known: what every stage shares, and the
//! launches, groups and names the stages make.

use std::collections::BTreeMap;

use amiref_core::completion::{ScriptHeader, ScriptStage, wrap_script};
use amiref_core::{
    AmiId, CloudErrorKind, Instance, InstanceFilter, NAME_TAG, Region, RunInstanceRequest,
    SecurityGroupId, SecurityGroupRequest, SecurityGroups, token_from,
};
use amiref_lifecycle::{Lifecycle, TemplateLineage};
use chrono::{DateTime, Utc};

use crate::BuildId;
use crate::base::Base;
use crate::console::Finished;
use crate::error::StageError;
use crate::events::{BuildEvent, BuildEventSink, Stage};
use crate::resources::{Calls, temporary_tags};
use crate::spec::BuildSpec;
use crate::state::BuildState;
use crate::tags::{ROLE_GROUP, TAG_BUILD_ATTEMPT, TAG_BUILD_ID};

/// How many times the temporary group's creation is tried on passing failures.
const GROUP_ATTEMPTS: u32 = 4;
/// The pause after the first failed try; it doubles after each.
const GROUP_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Everything the stages of one build share.
pub(crate) struct Run<'a> {
    pub(crate) lifecycle: &'a Lifecycle<'a>,
    pub(crate) events: &'a dyn BuildEventSink,
    pub(crate) spec: &'a BuildSpec,
    pub(crate) home: Region,
    pub(crate) build: BuildId,
    pub(crate) base: Base,
    pub(crate) lineage: TemplateLineage,
    pub(crate) build_fingerprint: String,
}

impl<'a> Run<'a> {
    pub(crate) fn calls(&self) -> Calls<'a, 'a> {
        Calls {
            lifecycle: self.lifecycle,
        }
    }

    /// When a temporary resource made now becomes a leftover.
    pub(crate) fn expires(&self) -> DateTime<Utc> {
        let expiry = chrono::Duration::from_std(self.spec.options.leftover_expiry)
            .unwrap_or(chrono::Duration::MAX);
        self.lifecycle.now() + expiry
    }

    /// The image's name: template, version, architecture and build id, in EC2's alphabet.
    pub(crate) fn image_name(&self) -> String {
        let version = self.lineage.version.as_deref().unwrap_or("unversioned");
        let raw = format!(
            "{}-{}-{}-{}",
            self.lineage.template, version, self.base.architecture, self.build
        );
        let allowed = |c: char| c.is_ascii_alphanumeric() || " ()[]./-'@_".contains(c);
        let name: String = raw
            .chars()
            .map(|c| if allowed(c) { c } else { '-' })
            .collect();
        // The build id at the end keeps names unique when a long template name is cut.
        if name.len() > 128 {
            let id = format!("-{}", self.build);
            format!("{}{id}", &name[..128 - id.len()])
        } else {
            name
        }
    }

    /// The security group the instances launch in: the configured one, the build's
    /// temporary group an earlier run made, or a new temporary group with no inbound rule.
    pub(crate) async fn group(&self, state: &BuildState) -> Result<SecurityGroupId, StageError> {
        if let Some(configured) = &self.spec.options.security_group {
            return Ok(configured.clone());
        }
        if let Some(existing) = state.temporary_groups().first() {
            return Ok(existing.id.clone());
        }
        let mut request = SecurityGroupRequest::new(
            format!("amiref-build-{}", self.build),
            format!(
                "amiref build {} of {}: no inbound rule; deleted when the build ends",
                self.build, self.lineage.template
            ),
        );
        request.vpc = self.spec.options.vpc.clone();
        request.tags = temporary_tags(&self.build, ROLE_GROUP, self.expires());
        // CreateSecurityGroup is not idempotent, so the retry layer leaves it alone; the
        // group's name is unique per VPC, so trying again is safe here: a duplicate means
        // an earlier try (or another run of the build) made it, and it is found by tag.
        let mut pause = GROUP_RETRY_PAUSE;
        let mut attempt = 1;
        loop {
            let source = match self.calls().create_group(&self.home, &request).await {
                Ok(id) => return Ok(id),
                Err(StageError::Cloud { source, .. }) => source,
                Err(e) => return Err(e),
            };
            let duplicate = source.kind == CloudErrorKind::InvalidRequest;
            if (duplicate || source.is_retryable())
                && let Some(found) = self.existing_group().await?
            {
                return Ok(found);
            }
            if duplicate || !source.is_retryable() || attempt == GROUP_ATTEMPTS {
                return Err(StageError::cloud(
                    format!("creating security group {}", request.name),
                    source,
                ));
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }

    /// The build's temporary group, if one exists.
    async fn existing_group(&self) -> Result<Option<SecurityGroupId>, StageError> {
        let tags = BTreeMap::from([(TAG_BUILD_ID.to_owned(), Some(self.build.to_string()))]);
        let found = self
            .lifecycle
            .cloud()
            .describe_security_groups(&self.home, &tags)
            .await
            .map_err(|e| StageError::cloud("finding the build's security group", e))?;
        Ok(found.into_iter().next().map(|g| g.id))
    }

    /// Reports a script's completion; a non-zero exit status fails the stage with the
    /// status, the log's place and the console's last lines.
    pub(crate) fn succeeded(
        &self,
        stage: Stage,
        instance: &Instance,
        finished: Finished,
    ) -> Result<Finished, StageError> {
        self.events.emit(BuildEvent::Completed {
            build: self.build.clone(),
            stage,
            instance: instance.id.clone(),
            status: finished.status,
            elapsed_secs: finished.elapsed.as_secs(),
        });
        if finished.status == 0 {
            return Ok(finished);
        }
        Err(StageError::ScriptFailed {
            instance: instance.id.clone(),
            region: self.home.clone(),
            status: finished.status,
            log_stage: script_stage(stage).as_str(),
            console_tail: finished.console_tail,
        })
    }

    /// Launches an instance of `role` for `stage` from `image`, running `script` wrapped
    /// for the completion protocol. The client token names the build, role and attempt,
    /// so a repeated launch of the same attempt (a retry, a crash after the call) finds
    /// the first instance, and a new attempt after a failed one makes a new instance.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn launch(
        &self,
        role: &str,
        stage: Stage,
        image: &AmiId,
        script: &str,
        script_name: &'static str,
        group: &SecurityGroupId,
        first_attempt: u32,
    ) -> Result<Instance, StageError> {
        let header = ScriptHeader::new(
            &self.lineage.template,
            self.build.as_str(),
            script_stage(stage),
        );
        let user_data = wrap_script(script, &header).map_err(|source| StageError::Wrap {
            script: script_name,
            source,
        })?;
        // One more attempt covers EC2 answering a token with an instance it terminated.
        let mut attempt = first_attempt;
        loop {
            let request = self.launch_request(role, image, &user_data, group, attempt);
            let id = self.calls().run_instance(&self.home, &request).await?;
            let described = self
                .calls()
                .instances(&self.home, &InstanceFilter::ids([id.clone()]))
                .await?;
            match described.into_iter().find(|i| i.id == id) {
                Some(instance) if !instance.state.is_gone() => {
                    self.events.emit(BuildEvent::Launched {
                        build: self.build.clone(),
                        stage,
                        region: self.home.clone(),
                        instance: instance.id.clone(),
                        attempt,
                    });
                    return Ok(instance);
                }
                _ if attempt == first_attempt => attempt += 1,
                _ => {
                    return Err(StageError::Instance {
                        instance: id,
                        region: self.home.clone(),
                        what: "EC2 answered two launch attempts with instances already terminated"
                            .to_owned(),
                    });
                }
            }
        }
    }

    /// The launch of attempt `attempt` of `role`.
    fn launch_request(
        &self,
        role: &str,
        image: &AmiId,
        user_data: &str,
        group: &SecurityGroupId,
        attempt: u32,
    ) -> RunInstanceRequest {
        let mut request = RunInstanceRequest::new(image.clone(), self.base.instance_type.clone());
        request.user_data = Some(user_data.to_owned());
        request.tags = temporary_tags(&self.build, role, self.expires());
        request.tags.extend(self.lineage.tags());
        request
            .tags
            .insert(TAG_BUILD_ATTEMPT.to_owned(), attempt.to_string());
        request.tags.insert(
            NAME_TAG.to_owned(),
            format!(
                "amiref-build {} {} {role}",
                self.lineage.template, self.build
            ),
        );
        let token = token_from(&[self.build.as_str(), role, &attempt.to_string()], 40);
        request.client_token = Some(format!("amiref-{token}"));
        request.require_imdsv2 = true;
        request.subnet = self.spec.options.subnet.clone();
        request.security_groups = vec![group.clone()];
        request.instance_profile = self.spec.options.instance_profile.clone();
        request
    }
}

/// The protocol's name of a build stage that runs a script.
pub(crate) fn script_stage(stage: Stage) -> ScriptStage {
    match stage {
        Stage::Test => ScriptStage::Test,
        _ => ScriptStage::Provision,
    }
}
