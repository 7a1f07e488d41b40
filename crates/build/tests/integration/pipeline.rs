//! A build on the in-process cloud: every stage, what it leaves, and what it measured.

use crate::common;

use std::sync::Mutex;

use amiref_build::{BuildEvent, BuildEventFn, Builder, Stage, tags};
use amiref_core::{Architecture, ImageState, InstanceId};
use amiref_lifecycle::AuditOutcome;
use amiref_memory::op;
use common::*;

#[tokio::test(start_paused = true)]
async fn a_build_runs_every_stage_and_leaves_only_its_images() {
    let cloud = world(succeeding());
    let before = live(&cloud, "us-east-1");
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let report = builder
        .build(&spec(&["us-east-1", "eu-west-1"]))
        .await
        .expect("the build succeeds");
    let image = &report.images[0];
    let stages: Vec<Stage> = image.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Provision,
            Stage::Capture,
            Stage::Test,
            Stage::Distribute
        ]
    );
    assert!(image.stages.iter().all(|s| !s.resumed));
    let after = live(&cloud, "us-east-1");
    assert_eq!(after.live_instances(), before.live_instances(), "{after:?}");
    assert_eq!(after.security_groups, before.security_groups);
    assert_eq!(after.image_count(), before.image_count() + 1);
    let made = cloud
        .inspect_image(&region("us-east-1"), &image.tested.image)
        .expect("the image");
    assert_eq!(made.state, ImageState::Available);
    assert_eq!(
        made.tag(tags::TAG_BUILD_STAGE),
        Some(tags::STAGE_DISTRIBUTED)
    );
}

/// Every event of a build of `spec` on `cloud`, and its report.
async fn build_with_events(
    cloud: &amiref_memory::MemoryCloud,
    spec: &amiref_build::BuildSpec,
) -> (amiref_build::BuildReport, Vec<BuildEvent>) {
    let host = Host::new(cloud);
    let lifecycle = host.lifecycle();
    let events = Mutex::new(Vec::new());
    let sink = BuildEventFn(|e: BuildEvent| events.lock().expect("events").push(e));
    let report = Builder::new(&lifecycle, &host.resolver)
        .events(&sink)
        .build(spec)
        .await
        .expect("the build succeeds");
    (report, events.into_inner().expect("events"))
}

fn launched(events: &[BuildEvent]) -> Vec<(Stage, InstanceId)> {
    events
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Launched {
                stage, instance, ..
            } => Some((*stage, instance.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn launches_require_imdsv2_run_the_wrapped_script_and_carry_the_build_tags() {
    let cloud = world(succeeding());
    let home = region("us-east-1");
    let (report, events) = build_with_events(&cloud, &spec(&["us-east-1"])).await;
    let build = report.images[0].tested.build.clone();
    let launches = launched(&events);
    assert_eq!(
        launches.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [Stage::Provision, Stage::Test]
    );
    for (stage, instance) in &launches {
        let settings = cloud.launch_settings(&home, instance).expect("launched");
        assert!(settings.require_imdsv2, "{stage}");
        let user_data = settings.user_data.expect("user data");
        let script = if *stage == Stage::Test {
            "test"
        } else {
            "provision"
        };
        assert!(
            user_data.contains(&format!(
                "# amiref-build template=web-app build={build} stage={script}"
            )),
            "{user_data}"
        );
        assert_eq!(settings.security_groups.len(), 1, "the temporary group");
        assert_ne!(
            settings.security_groups[0],
            amiref_memory::MemoryCloud::default_security_group(&home)
        );
    }
    let image = cloud
        .inspect_image(&home, &report.images[0].tested.image)
        .expect("the image");
    for key in [
        tags::TAG_BUILD_ID,
        tags::TAG_BASE_IMAGE,
        tags::TAG_BUILD_FINGERPRINT,
        tags::TAG_SCRIPT_READY_SECONDS,
        tags::TAG_IMAGE_READY_SECONDS,
        amiref_lifecycle::tags::TAG_TEMPLATE,
        amiref_lifecycle::tags::TAG_TEMPLATE_VERSION,
        amiref_lifecycle::tags::TAG_TEMPLATE_FINGERPRINT,
    ] {
        assert!(image.tag(key).is_some(), "{key}: {:?}", image.tags);
    }
    assert_eq!(image.tag(tags::TAG_BUILD_ID), Some(build.as_str()));
    assert_eq!(image.tag(tags::TAG_EXPIRES), Some("never"));
    assert_eq!(
        image.tag(tags::TAG_BUILD_FINGERPRINT),
        Some(template().build_fingerprint().to_string().as_str())
    );
    let snapshots: Vec<_> = image
        .block_devices
        .iter()
        .filter_map(|d| d.snapshot_id.as_ref())
        .collect();
    assert!(!snapshots.is_empty(), "{image:?}");
    for snapshot in snapshots {
        let tags = cloud.snapshot_tags(&home, snapshot).expect("the snapshot");
        assert_eq!(tags.get(tags::TAG_BUILD_ID), Some(&build.to_string()));
    }
}

#[tokio::test(start_paused = true)]
async fn the_measured_times_are_launch_to_marker() {
    let cloud = world(succeeding());
    let (report, _) = build_with_events(&cloud, &spec(&["us-east-1"])).await;
    let measured = &report.images[0].tested.measured;
    let boot = amiref_memory::Timings::default().boot;
    assert_eq!(measured.script_ready, boot + PROVISION);
    assert_eq!(measured.image_ready, boot + TEST);
    let ratio = measured.ratio();
    assert!((ratio - (510.0 / 70.0)).abs() < 1e-9, "{ratio}");
}

#[tokio::test(start_paused = true)]
async fn a_configured_security_group_and_subnet_are_used_and_no_group_is_made() {
    let cloud = world(succeeding());
    let home = region("us-east-1");
    let before = live(&cloud, "us-east-1");
    let mut spec = spec(&["us-east-1"]);
    let group = amiref_memory::MemoryCloud::default_security_group(&home);
    spec.options.security_group = Some(group.clone());
    spec.options.subnet = Some(amiref_memory::MemoryCloud::default_subnet(&home));
    spec.options.instance_profile = Some("amiref-builder".to_owned());
    let (_, events) = build_with_events(&cloud, &spec).await;
    for (_, instance) in launched(&events) {
        let settings = cloud.launch_settings(&home, &instance).expect("launched");
        assert_eq!(settings.security_groups, std::slice::from_ref(&group));
        assert_eq!(settings.instance_profile.as_deref(), Some("amiref-builder"));
    }
    assert_eq!(cloud.counters().operation(op::CREATE_SECURITY_GROUP), 0);
    assert_eq!(
        live(&cloud, "us-east-1").security_groups,
        before.security_groups
    );
}

#[tokio::test(start_paused = true)]
async fn each_architecture_is_its_own_build() {
    let cloud = world(succeeding());
    let mut spec = spec(&["us-east-1"]).architectures([Architecture::X86_64, Architecture::Arm64]);
    spec.template.instance_types = [
        (Architecture::X86_64, "t3.micro".parse().expect("a type")),
        (Architecture::Arm64, "t4g.micro".parse().expect("a type")),
    ]
    .into();
    let (report, _) = build_with_events(&cloud, &spec).await;
    let built: Vec<Architecture> = report
        .images
        .iter()
        .map(|i| i.tested.architecture)
        .collect();
    assert_eq!(built, [Architecture::X86_64, Architecture::Arm64]);
    assert_ne!(report.images[0].tested.build, report.images[1].tested.build);
}

#[tokio::test(start_paused = true)]
async fn every_call_the_build_makes_itself_is_audited() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    Builder::new(&lifecycle, &host.resolver)
        .build(&spec(&["us-east-1", "eu-west-1"]))
        .await
        .expect("the build succeeds");
    let records = host.audit.records();
    let counters = cloud.counters();
    for (operation, record) in [
        (op::RUN_INSTANCES, "run_instance"),
        (op::STOP_INSTANCES, "stop_instances"),
        (op::TERMINATE_INSTANCES, "terminate_instances"),
        (op::CREATE_SECURITY_GROUP, "create_security_group"),
        (op::DELETE_SECURITY_GROUP, "delete_security_group"),
        (op::CREATE_IMAGE, "create_image"),
    ] {
        // Written ahead: one intent per call, each concluded under its operation id.
        let intents: Vec<_> = records
            .iter()
            .filter(|r| r.operation == record && r.outcome == AuditOutcome::Intended)
            .collect();
        assert!(counters.operation(operation) > 0, "{operation} was called");
        assert_eq!(
            intents.len() as u64,
            counters.operation(operation),
            "{record}"
        );
        for intent in intents {
            let concluded = records.iter().filter(|r| {
                r.operation_id == intent.operation_id && r.outcome != AuditOutcome::Intended
            });
            assert_eq!(concluded.count(), 1, "{record} {:?}", intent.operation_id);
        }
    }
}
