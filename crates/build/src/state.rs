//! A build's state, read from the cloud's tags: what an earlier run (on any host) made.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    Image, ImageFilter, ImageState, Instance, InstanceFilter, InstanceState, Region, SecurityGroup,
    SecurityGroups,
};
use amiref_lifecycle::Lifecycle;

use crate::BuildId;
use crate::error::StageError;
use crate::tags::{
    ROLE_BUILDER, ROLE_GROUP, ROLE_IMAGE, ROLE_TESTER, STAGE_DISTRIBUTED, STAGE_TESTED,
    TAG_BUILD_ATTEMPT, TAG_BUILD_ID, TAG_BUILD_ROLE, TAG_BUILD_STAGE, TAG_SCRIPT_READY_SECONDS,
};

/// Everything of one build in one region, as the cloud's tags tell it.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildState {
    /// Its instances, in any state EC2 still lists.
    pub(crate) instances: Vec<Instance>,
    /// Its security groups.
    pub(crate) groups: Vec<SecurityGroup>,
    /// Its images, in any state.
    pub(crate) images: Vec<Image>,
}

/// How far a build's image got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ImageProgress {
    /// Captured, not yet tested.
    Captured,
    /// Tested: kept.
    Tested,
    /// Distributed to every region.
    Distributed,
}

impl BuildState {
    /// Reads the state of `build` in `region`.
    pub(crate) async fn read(
        lifecycle: &Lifecycle<'_>,
        build: &BuildId,
        region: &Region,
    ) -> Result<Self, StageError> {
        let cloud = lifecycle.cloud();
        let id = Some(build.to_string());
        let instances = InstanceFilter::all().tag(TAG_BUILD_ID, id.clone());
        let groups = BTreeMap::from([(TAG_BUILD_ID.to_owned(), id.clone())]);
        let images = ImageFilter::default().tag(TAG_BUILD_ID, id);
        let (instances, groups, images) = futures::join!(
            amiref_core::Instances::describe_instances(cloud, region, &instances),
            cloud.describe_security_groups(region, &groups),
            lifecycle.own_images(region, images),
        );
        let context = |what: &str| format!("reading build {build}'s {what} in {region}");
        Ok(Self {
            instances: instances.map_err(|e| StageError::cloud(context("instances"), e))?,
            groups: groups.map_err(|e| StageError::cloud(context("security groups"), e))?,
            images: images?,
        })
    }

    /// The instances of `role` that are not going away, latest attempt first.
    pub(crate) fn live(&self, role: &str) -> Vec<&Instance> {
        let mut live: Vec<&Instance> = self
            .instances
            .iter()
            .filter(|i| has_role(&i.tags, role) && !i.state.is_gone())
            .collect();
        live.sort_by_key(|i| std::cmp::Reverse(attempt_of(i)));
        live
    }

    /// The attempt number for a new launch of `role`: one more than any EC2 still lists.
    pub(crate) fn next_attempt(&self, role: &str) -> u32 {
        self.instances
            .iter()
            .filter(|i| has_role(&i.tags, role))
            .map(attempt_of)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Every instance of the build not yet terminated (builders and testers), shutting
    /// down ones included: a security group is only free once they are gone.
    pub(crate) fn unterminated_instances(&self) -> Vec<&Instance> {
        self.instances
            .iter()
            .filter(|i| {
                (has_role(&i.tags, ROLE_BUILDER) || has_role(&i.tags, ROLE_TESTER))
                    && i.state != InstanceState::Terminated
            })
            .collect()
    }

    /// The build's temporary security groups.
    pub(crate) fn temporary_groups(&self) -> Vec<&SecurityGroup> {
        self.groups
            .iter()
            .filter(|g| has_role(&g.tags, ROLE_GROUP))
            .collect()
    }

    /// The build's image that got furthest, if it is usable (available, or pending, which
    /// may still become available), with how far it got.
    pub(crate) fn image(&self) -> Option<(&Image, ImageProgress)> {
        self.images
            .iter()
            .filter(|i| has_role(&i.tags, ROLE_IMAGE))
            .filter(|i| matches!(i.state, ImageState::Available | ImageState::Pending))
            .map(|i| (i, progress_of(i)))
            .max_by_key(|(_, p)| *p)
    }

    /// The build's images that are not kept: captured but not tested, or failed.
    pub(crate) fn half_made_images(&self) -> Vec<&Image> {
        self.images
            .iter()
            .filter(|i| has_role(&i.tags, ROLE_IMAGE))
            .filter(|i| {
                progress_of(i) == ImageProgress::Captured
                    || !matches!(i.state, ImageState::Available | ImageState::Pending)
            })
            .collect()
    }
}

fn has_role(tags: &BTreeMap<String, String>, role: &str) -> bool {
    tags.get(TAG_BUILD_ROLE).is_some_and(|r| r == role)
}

/// An instance's launch attempt; one without the tag is the first.
pub(crate) fn attempt_of(instance: &Instance) -> u32 {
    instance
        .tags
        .get(TAG_BUILD_ATTEMPT)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1)
}

fn progress_of(image: &Image) -> ImageProgress {
    match image.tags.get(TAG_BUILD_STAGE).map(String::as_str) {
        Some(STAGE_DISTRIBUTED) => ImageProgress::Distributed,
        Some(STAGE_TESTED) => ImageProgress::Tested,
        _ => ImageProgress::Captured,
    }
}

/// A duration a build wrote as whole seconds in a tag.
pub(crate) fn seconds_tag(image: &Image, key: &str) -> Option<Duration> {
    image
        .tags
        .get(key)
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The script provisioning time the build recorded on its captured image.
pub(crate) fn script_ready_of(image: &Image) -> Option<Duration> {
    seconds_tag(image, TAG_SCRIPT_READY_SECONDS)
}
