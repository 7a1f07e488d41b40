//! Removing what a build made: its own temporary resources at the end or after a failure,
//! and every build's expired leftovers (`amiref build --cleanup`, and before every build).

use std::collections::BTreeMap;
use std::fmt;

use amiref_core::{
    Image, ImageFilter, InstanceFilter, InstanceId, InstanceState, Region, SecurityGroup,
    SecurityGroups,
};
use amiref_lifecycle::Lifecycle;

use crate::BuildId;
use crate::error::StageError;
use crate::events::{BuildEvent, BuildEventSink, NoEvents};
use crate::resources::{Calls, is_expired};
use crate::spec::BuildOptions;
use crate::state::BuildState;
use crate::tags::{STAGE_DISTRIBUTED, STAGE_TESTED, TAG_BUILD_ID, TAG_BUILD_STAGE, TAG_EXPIRES};

/// What kind of resource a build made.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResourceKind {
    /// A builder or tester instance.
    Instance,
    /// A temporary security group.
    SecurityGroup,
    /// An image not yet tested, with its snapshots.
    Image,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Instance => "instance",
            Self::SecurityGroup => "security group",
            Self::Image => "image",
        })
    }
}

/// One resource removed, or that could not be.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct Resource {
    /// The build it belonged to, when its tag names one.
    pub build: Option<BuildId>,
    /// The region.
    pub region: Region,
    /// What it is.
    pub kind: ResourceKind,
    /// Its id.
    pub id: String,
}

/// A removal that failed: the resource may remain.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct FailedRemoval {
    /// The resource.
    pub resource: Resource,
    /// Why.
    pub error: String,
}

/// What a clean-up or a sweep removed.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CleanupReport {
    /// Removed.
    pub removed: Vec<Resource>,
    /// Could not be removed: they may remain.
    pub failed: Vec<FailedRemoval>,
}

impl CleanupReport {
    /// Whether every removal succeeded.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// How many of `kind` were removed.
    pub fn removed_of(&self, kind: ResourceKind) -> usize {
        self.removed.iter().filter(|r| r.kind == kind).count()
    }

    fn merge(&mut self, other: Self) {
        self.removed.extend(other.removed);
        self.failed.extend(other.failed);
    }
}

impl fmt::Display for CleanupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.removed.is_empty() && self.failed.is_empty() {
            return f.write_str("nothing was left to clean up");
        }
        if !self.removed.is_empty() {
            let ids: Vec<String> = self
                .removed
                .iter()
                .map(|r| format!("{} {}", r.kind, r.id))
                .collect();
            write!(f, "removed {}", ids.join(", "))?;
        }
        for failure in &self.failed {
            let r = &failure.resource;
            write!(
                f,
                "; could not remove {} {} in {} ({}): remove it by hand",
                r.kind, r.id, r.region, failure.error
            )?;
        }
        Ok(())
    }
}

/// Removes resources, recording each outcome in a report and as an event.
struct Remover<'a, 'l, 'c> {
    calls: Calls<'l, 'c>,
    events: &'a dyn BuildEventSink,
    options: &'a BuildOptions,
    report: CleanupReport,
    /// List what would be removed, remove nothing.
    dry_run: bool,
}

impl<'a, 'l, 'c> Remover<'a, 'l, 'c> {
    fn new(
        lifecycle: &'l Lifecycle<'c>,
        events: &'a dyn BuildEventSink,
        options: &'a BuildOptions,
    ) -> Self {
        Self {
            calls: Calls { lifecycle },
            events,
            options,
            report: CleanupReport::default(),
            dry_run: false,
        }
    }

    async fn delete_group(&mut self, region: &Region, group: &SecurityGroup) {
        let result = if self.dry_run {
            Ok(())
        } else {
            self.calls.delete_group(region, &group.id).await
        };
        let resource = Resource {
            build: build_of(&group.tags),
            region: region.clone(),
            kind: ResourceKind::SecurityGroup,
            id: group.id.to_string(),
        };
        self.outcome(resource, result);
    }

    async fn deregister(&mut self, region: &Region, image: &Image) {
        let result = if self.dry_run {
            Ok(())
        } else {
            self.calls.deregister(region, &image.id).await
        };
        let resource = Resource {
            build: build_of(&image.tags),
            region: region.clone(),
            kind: ResourceKind::Image,
            id: image.id.to_string(),
        };
        self.outcome(resource, result);
    }

    fn outcome(&mut self, resource: Resource, result: Result<(), StageError>) {
        match result {
            Ok(()) if self.dry_run => self.report.removed.push(resource),
            Ok(()) => {
                self.events.emit(BuildEvent::Removed {
                    build: resource.build.clone(),
                    region: resource.region.clone(),
                    kind: resource.kind.to_string(),
                    id: resource.id.clone(),
                });
                self.report.removed.push(resource);
            }
            Err(e) => self.report.failed.push(FailedRemoval {
                resource,
                error: e.to_string(),
            }),
        }
    }

    /// Terminates instances (those already shutting down too: terminating them again is
    /// harmless) and waits until they are terminated, since a security group they use
    /// cannot be deleted before.
    async fn instances(&mut self, region: &Region, instances: Vec<(InstanceId, Option<BuildId>)>) {
        if instances.is_empty() {
            return;
        }
        let ids: Vec<InstanceId> = instances.iter().map(|(id, _)| id.clone()).collect();
        let mut result = if self.dry_run {
            Ok(())
        } else {
            self.calls.terminate(region, &ids).await
        };
        if result.is_ok() && !self.dry_run {
            result = self
                .calls
                .wait_instances(
                    region,
                    &ids,
                    InstanceState::Terminated,
                    self.options.instance_poll,
                    self.options.instance_timeout,
                )
                .await;
        }
        for (id, build) in instances {
            let resource = Resource {
                build,
                region: region.clone(),
                kind: ResourceKind::Instance,
                id: id.to_string(),
            };
            let result = result
                .as_ref()
                .map(|_| ())
                .map_err(|e| StageError::Instance {
                    instance: id.clone(),
                    region: region.clone(),
                    what: e.to_string(),
                });
            self.outcome(resource, result);
        }
    }
}

/// The build a resource's tag names.
fn build_of(tags: &BTreeMap<String, String>) -> Option<BuildId> {
    tags.get(TAG_BUILD_ID).and_then(|id| BuildId::parse(id))
}

/// Removes every resource of `build` in `region` except its tested images: instances (then
/// waits for them to go), temporary security groups, and, when `images` is true, its
/// images not yet tested with their snapshots.
pub(crate) async fn clean_up_build(
    lifecycle: &Lifecycle<'_>,
    events: &dyn BuildEventSink,
    options: &BuildOptions,
    build: &BuildId,
    region: &Region,
    images: bool,
) -> CleanupReport {
    let mut remover = Remover::new(lifecycle, events, options);
    let state = match BuildState::read(lifecycle, build, region).await {
        Ok(state) => state,
        Err(e) => {
            remover.report.failed.push(FailedRemoval {
                resource: Resource {
                    build: Some(build.clone()),
                    region: region.clone(),
                    kind: ResourceKind::Instance,
                    id: "(every resource of the build: its state could not be read)".to_owned(),
                },
                error: e.to_string(),
            });
            return remover.report;
        }
    };
    let instances = state
        .unterminated_instances()
        .into_iter()
        .map(|i| (i.id.clone(), Some(build.clone())))
        .collect();
    remover.instances(region, instances).await;
    for group in state.temporary_groups() {
        remover.delete_group(region, group).await;
    }
    if images {
        for image in state.half_made_images() {
            remover.deregister(region, image).await;
        }
    }
    remover.report
}

/// Removes the expired leftovers of any build in `regions`: instances, temporary security
/// groups, and images not yet tested (with their snapshots), whose `amiref:expires` has
/// passed by the lifecycle's clock. Tested images are never touched. Regions are swept
/// concurrently.
pub(crate) async fn sweep(
    lifecycle: &Lifecycle<'_>,
    events: &dyn BuildEventSink,
    options: &BuildOptions,
    regions: &[Region],
) -> Result<CleanupReport, crate::BuildError> {
    let swept = futures::future::join_all(
        regions
            .iter()
            .map(|r| sweep_region(lifecycle, events, options, r, false)),
    )
    .await;
    let mut report = CleanupReport::default();
    for one in swept {
        report.merge(one?);
    }
    Ok(report)
}

/// What [`sweep`] would remove in `regions`, removing nothing.
pub(crate) async fn sweep_dry(
    lifecycle: &Lifecycle<'_>,
    regions: &[Region],
) -> Result<CleanupReport, crate::BuildError> {
    let options = BuildOptions::default();
    let swept = futures::future::join_all(
        regions
            .iter()
            .map(|r| sweep_region(lifecycle, &NoEvents, &options, r, true)),
    )
    .await;
    let mut report = CleanupReport::default();
    for one in swept {
        report.merge(one?);
    }
    Ok(report)
}

async fn sweep_region(
    lifecycle: &Lifecycle<'_>,
    events: &dyn BuildEventSink,
    options: &BuildOptions,
    region: &Region,
    dry_run: bool,
) -> Result<CleanupReport, crate::BuildError> {
    let now = lifecycle.now();
    let cloud = lifecycle.cloud();
    let tagged = BTreeMap::from([
        (TAG_BUILD_ID.to_owned(), None),
        (TAG_EXPIRES.to_owned(), None),
    ]);
    let instance_filter = InstanceFilter::all()
        .tag(TAG_BUILD_ID, None)
        .tag(TAG_EXPIRES, None)
        .in_states([
            InstanceState::Pending,
            InstanceState::Running,
            InstanceState::ShuttingDown,
            InstanceState::Stopping,
            InstanceState::Stopped,
        ]);
    let image_filter = ImageFilter::default()
        .tag(TAG_BUILD_ID, None)
        .tag(TAG_EXPIRES, None);
    let (instances, groups, images) = futures::join!(
        amiref_core::Instances::describe_instances(cloud, region, &instance_filter),
        cloud.describe_security_groups(region, &tagged),
        lifecycle.own_images(region, image_filter),
    );
    let failed = |source| crate::BuildError::Sweep {
        region: region.clone(),
        source,
    };
    let (instances, groups, images) = (
        instances.map_err(failed)?,
        groups.map_err(failed)?,
        images.map_err(crate::BuildError::Lifecycle)?,
    );
    let mut remover = Remover::new(lifecycle, events, options);
    remover.dry_run = dry_run;
    let expired_instances = instances
        .iter()
        .filter(|i| is_expired(&i.tags, now))
        .map(|i| (i.id.clone(), build_of(&i.tags)))
        .collect();
    remover.instances(region, expired_instances).await;
    for group in groups.iter().filter(|g| is_expired(&g.tags, now)) {
        remover.delete_group(region, group).await;
    }
    let kept = |tags: &BTreeMap<String, String>| {
        tags.get(TAG_BUILD_STAGE)
            .is_some_and(|s| s == STAGE_TESTED || s == STAGE_DISTRIBUTED)
    };
    for image in images
        .iter()
        .filter(|i| is_expired(&i.tags, now) && !kept(&i.tags))
    {
        remover.deregister(region, image).await;
    }
    Ok(remover.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: ResourceKind, id: &str) -> Resource {
        Resource {
            build: None,
            region: "us-east-1".parse().expect("a region"),
            kind,
            id: id.to_owned(),
        }
    }

    #[test]
    fn a_report_says_what_was_removed_and_what_remains() {
        assert_eq!(
            CleanupReport::default().to_string(),
            "nothing was left to clean up"
        );
        let report = CleanupReport {
            removed: vec![resource(ResourceKind::Instance, "i-0123456789abcdef0")],
            failed: vec![FailedRemoval {
                resource: resource(ResourceKind::SecurityGroup, "sg-0123456789abcdef0"),
                error: "DependencyViolation".to_owned(),
            }],
        };
        let text = report.to_string();
        assert!(
            text.starts_with("removed instance i-0123456789abcdef0"),
            "{text}"
        );
        assert!(
            text.contains("could not remove security group sg-0123456789abcdef0 in us-east-1 (DependencyViolation): remove it by hand"),
            "{text}"
        );
        assert!(!report.is_complete());
        assert_eq!(report.removed_of(ResourceKind::Instance), 1);
    }
}
