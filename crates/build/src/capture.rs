//! The capture stage: stop the builder, image it, wait until the image is available.

use std::time::Duration;

use amiref_core::{AmiId, Instance, InstanceId, InstanceState};
use amiref_lifecycle::CreateImageSpec;
use amiref_lifecycle::tags::TAG_MANAGED_BY;

use crate::error::StageError;
use crate::events::{Stage, StageProgress};
use crate::resources::temporary_tags;
use crate::run::Run;
use crate::tags::{
    ROLE_IMAGE, STAGE_CAPTURED, TAG_BASE_IMAGE, TAG_BUILD_FINGERPRINT, TAG_BUILD_STAGE,
    TAG_SCRIPT_READY_SECONDS,
};

impl Run<'_> {
    /// Stops `builder` and images it; returns the available image. The image is tagged
    /// `captured` with an expiry until its test passes. A failed image is deregistered
    /// with its snapshots (the lifecycle's create does it).
    pub(crate) async fn capture(
        &self,
        builder: &Instance,
        script_ready: Duration,
    ) -> Result<AmiId, StageError> {
        if builder.state != InstanceState::Stopped {
            if builder.state != InstanceState::Stopping {
                self.calls().stop(&self.home, &builder.id).await?;
            }
            self.calls()
                .wait_instances(
                    &self.home,
                    std::slice::from_ref(&builder.id),
                    InstanceState::Stopped,
                    self.spec.options.instance_poll,
                    self.spec.options.instance_timeout,
                )
                .await?;
        }
        self.image_of(&builder.id, &builder.image, script_ready)
            .await
    }

    /// Creates (or, on a re-run, finds and waits for) the build's image of `builder`.
    pub(crate) async fn image_of(
        &self,
        builder: &InstanceId,
        base_image: &AmiId,
        script_ready: Duration,
    ) -> Result<AmiId, StageError> {
        let mut spec = CreateImageSpec::new(
            self.home.clone(),
            builder.clone(),
            self.image_name(),
            self.lineage.clone(),
        );
        spec.description = Some(format!(
            "amiref build {} of {}, from {base_image}",
            self.build, self.lineage.template
        ));
        let mut tags = temporary_tags(&self.build, ROLE_IMAGE, self.expires());
        tags.insert(TAG_BUILD_STAGE.to_owned(), STAGE_CAPTURED.to_owned());
        tags.insert(TAG_BASE_IMAGE.to_owned(), base_image.to_string());
        tags.insert(
            TAG_BUILD_FINGERPRINT.to_owned(),
            self.build_fingerprint.clone(),
        );
        tags.insert(
            TAG_SCRIPT_READY_SECONDS.to_owned(),
            script_ready.as_secs().to_string(),
        );
        tags.remove(TAG_MANAGED_BY); // the lifecycle sets it
        spec.extra_tags = tags;
        let progress = StageProgress {
            sink: self.events,
            build: self.build.clone(),
            stage: Stage::Capture,
        };
        let created = self
            .lifecycle
            .reporting_to(&progress)
            .create_image(&spec)
            .await?;
        created.image.ok_or_else(|| StageError::Instance {
            instance: builder.clone(),
            region: self.home.clone(),
            what: "the image create answered no image".to_owned(),
        })
    }
}
