//! The test stage: a fresh instance from the new image runs the test script; the build
//! measures the image's time to ready and marks the image tested.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{AmiId, Image, SecurityGroupId};
use chrono::{DateTime, Utc};

use crate::console::wait_for_completion;
use crate::error::StageError;
use crate::events::{BuildEvent, Stage};
use crate::resources::{NEVER, expires_value};
use crate::run::Run;
use crate::state::{BuildState, seconds_tag};
use crate::tags::{
    ROLE_TESTER, STAGE_TESTED, TAG_BUILD_STAGE, TAG_EXPIRES, TAG_IMAGE_READY_SECONDS,
    TAG_SCRIPT_READY_SECONDS, TAG_TESTED_AT,
};
use crate::{Measured, TestedImage};

impl Run<'_> {
    /// Boots `image` on a tester (an earlier run's, when it is still there), runs the test
    /// script, and on success tags the image tested with both measured times and no
    /// expiry.
    pub(crate) async fn test(
        &self,
        state: &BuildState,
        group: &SecurityGroupId,
        image: &AmiId,
        base_image: &AmiId,
        script_ready: Duration,
    ) -> Result<TestedImage, StageError> {
        let earlier = state
            .live(ROLE_TESTER)
            .into_iter()
            .find(|t| &t.image == image)
            .cloned();
        let tester = match earlier {
            Some(tester) => tester,
            None => {
                self.launch(
                    ROLE_TESTER,
                    Stage::Test,
                    image,
                    self.spec.test_script(),
                    "build.test",
                    group,
                    state.next_attempt(ROLE_TESTER),
                )
                .await?
            }
        };
        let finished = wait_for_completion(
            &self.calls(),
            self.events,
            &self.build,
            Stage::Test,
            &tester,
            self.spec.test_timeout(),
            self.spec.options.console_poll,
        )
        .await?;
        let finished = self.succeeded(Stage::Test, &tester, finished)?;
        let measured = Measured::new(script_ready, finished.elapsed);
        let tested_at = self.lifecycle.now();
        let tags = BTreeMap::from([
            (TAG_BUILD_STAGE.to_owned(), STAGE_TESTED.to_owned()),
            (TAG_EXPIRES.to_owned(), NEVER.to_owned()),
            (
                TAG_SCRIPT_READY_SECONDS.to_owned(),
                script_ready.as_secs().to_string(),
            ),
            (
                TAG_IMAGE_READY_SECONDS.to_owned(),
                finished.elapsed.as_secs().to_string(),
            ),
            (TAG_TESTED_AT.to_owned(), expires_value(tested_at)),
        ]);
        self.calls().tag_image(&self.home, image, &tags).await?;
        self.events.emit(BuildEvent::Tested {
            build: self.build.clone(),
            image: image.clone(),
            script_ready_secs: script_ready.as_secs(),
            image_ready_secs: finished.elapsed.as_secs(),
        });
        Ok(self.tested(image.clone(), base_image.clone(), measured, tested_at))
    }

    /// The tested image an earlier run left, from its tags; `None` when a figure is
    /// missing (then the test runs again).
    pub(crate) fn tested_from_tags(&self, image: &Image) -> Option<TestedImage> {
        let measured = Measured::new(
            seconds_tag(image, TAG_SCRIPT_READY_SECONDS)?,
            seconds_tag(image, TAG_IMAGE_READY_SECONDS)?,
        );
        let tested_at = image
            .tag(TAG_TESTED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
            .with_timezone(&Utc);
        let base = image
            .tag(crate::tags::TAG_BASE_IMAGE)
            .and_then(|b| b.parse().ok())?;
        Some(self.tested(image.id.clone(), base, measured, tested_at))
    }

    fn tested(
        &self,
        image: AmiId,
        base_image: AmiId,
        measured: Measured,
        tested_at: DateTime<Utc>,
    ) -> TestedImage {
        TestedImage {
            build: self.build.clone(),
            region: self.home.clone(),
            image,
            architecture: self.base.architecture,
            lineage: self.lineage.clone(),
            build_fingerprint: self.build_fingerprint.clone(),
            base_image,
            measured,
            tested_at,
        }
    }
}
