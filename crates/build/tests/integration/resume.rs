//! Interrupted builds resume from the cloud's tags, on the same host or another; leftovers
//! of a build that is not resumed are abandoned or swept once expired; a dry run changes
//! nothing.

use crate::common;

use std::sync::Mutex;
use std::time::Duration;

use amiref_build::{BuildEvent, BuildEventFn, BuildSpec, Builder, ResourceKind, Stage};
use amiref_memory::op;
use common::*;

const HOME: &str = "us-east-1";
const MINUTE: Duration = Duration::from_secs(60);

/// Runs a build of `spec` on a fresh host and drops it after `after` (an interruption:
/// the process stopped, nothing ran after).
async fn interrupted(cloud: &amiref_memory::MemoryCloud, spec: &BuildSpec, after: Duration) {
    let host = Host::new(cloud);
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let outcome = tokio::time::timeout(after, builder.build(spec)).await;
    assert!(outcome.is_err(), "the build was still running: {outcome:?}");
}

/// A fresh host's build of `spec`, to its end, with the stages it resumed.
async fn completed(cloud: &amiref_memory::MemoryCloud, spec: &BuildSpec) -> Vec<Stage> {
    let host = Host::new(cloud);
    let lifecycle = host.lifecycle();
    let report = Builder::new(&lifecycle, &host.resolver)
        .build(spec)
        .await
        .expect("the build completes");
    report.images[0]
        .stages
        .iter()
        .filter(|s| s.resumed)
        .map(|s| s.stage)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_build_interrupted_while_provisioning_picks_up_its_builder() {
    let cloud = world(succeeding());
    let before = live(&cloud, HOME);
    let spec = spec(&[HOME, "eu-west-1"]);
    interrupted(&cloud, &spec, 4 * MINUTE).await;
    assert_eq!(
        live(&cloud, HOME).live_instances(),
        before.live_instances() + 1
    );

    let resumed = completed(&cloud, &spec).await;
    assert!(
        resumed.is_empty(),
        "provision continued, not skipped: {resumed:?}"
    );
    assert_eq!(
        cloud.counters().operation(op::RUN_INSTANCES),
        2,
        "one builder and one tester in all"
    );
    let after = live(&cloud, HOME);
    assert_eq!(after.live_instances(), before.live_instances());
    assert_eq!(after.security_groups, before.security_groups);
}

#[tokio::test(start_paused = true)]
async fn a_build_interrupted_while_capturing_resumes_after_provision() {
    let cloud = world(succeeding());
    let spec = spec(&[HOME]);
    // Provisioning ends at 8.5 min; stopping takes 30 s; the image is pending after that.
    interrupted(&cloud, &spec, 10 * MINUTE).await;
    assert_eq!(cloud.counters().operation(op::CREATE_IMAGE), 1);

    let resumed = completed(&cloud, &spec).await;
    assert_eq!(resumed, [Stage::Provision]);
    assert_eq!(
        cloud.counters().operation(op::CREATE_IMAGE),
        1,
        "the image was reused"
    );
}

#[tokio::test(start_paused = true)]
async fn a_build_interrupted_while_testing_resumes_after_capture_on_another_host() {
    let cloud = world(succeeding());
    let before = live(&cloud, HOME);
    let spec = spec(&[HOME, "eu-west-1"]);
    // Provision 8.5 min, stop and capture 6 min: the tester runs from about 14.5 min.
    interrupted(&cloud, &spec, 15 * MINUTE).await;
    assert_eq!(cloud.counters().operation(op::RUN_INSTANCES), 2);

    // Another host: nothing but the cloud in common.
    let resumed = completed(&cloud, &spec).await;
    assert_eq!(resumed, [Stage::Provision, Stage::Capture]);
    assert_eq!(
        cloud.counters().operation(op::RUN_INSTANCES),
        2,
        "the tester was reused"
    );
    let after = live(&cloud, HOME);
    assert_eq!(after.live_instances(), before.live_instances());
    assert_eq!(after.image_count(), before.image_count() + 1);
}

#[tokio::test(start_paused = true)]
async fn a_finished_build_run_again_changes_nothing() {
    let cloud = world(succeeding());
    let spec = spec(&[HOME, "eu-west-1"]);
    completed(&cloud, &spec).await;
    let launches = cloud.counters().operation(op::RUN_INSTANCES);
    let resumed = completed(&cloud, &spec).await;
    assert_eq!(resumed, [Stage::Provision, Stage::Capture, Stage::Test]);
    assert_eq!(cloud.counters().operation(op::RUN_INSTANCES), launches);
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 1);
}

#[tokio::test(start_paused = true)]
async fn another_host_abandons_an_interrupted_build() {
    let cloud = world(succeeding());
    let before = live(&cloud, HOME);
    let spec = spec(&[HOME]);
    interrupted(&cloud, &spec, 15 * MINUTE).await;

    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let plan = builder.plan(&spec).await.expect("a plan");
    let build = &plan.images[0].build;
    let cleanup = builder.abandon(build, &region(HOME), &spec.options).await;
    assert!(cleanup.is_complete(), "{cleanup:?}");
    assert_eq!(cleanup.removed_of(ResourceKind::Image), 1, "{cleanup:?}");
    assert_eq!(
        cleanup.removed_of(ResourceKind::SecurityGroup),
        1,
        "{cleanup:?}"
    );
    assert_nothing_left(&cloud, HOME, &before);
}

#[tokio::test(start_paused = true)]
async fn expired_leftovers_are_swept_and_fresh_ones_are_not() {
    let cloud = world(succeeding());
    let before = live(&cloud, HOME);
    let spec = spec(&[HOME]);
    interrupted(&cloud, &spec, 15 * MINUTE).await;
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);

    let early = builder
        .sweep(&[region(HOME)], &spec.options)
        .await
        .expect("a sweep");
    assert!(
        early.removed.is_empty(),
        "nothing has expired yet: {early:?}"
    );

    tokio::time::advance(spec.options.leftover_expiry).await;
    let swept = builder
        .sweep(&[region(HOME)], &spec.options)
        .await
        .expect("a sweep");
    assert!(swept.is_complete(), "{swept:?}");
    assert_eq!(
        swept.removed_of(ResourceKind::Instance),
        1,
        "the tester: {swept:?}"
    );
    assert_eq!(swept.removed_of(ResourceKind::Image), 1, "{swept:?}");
    assert_eq!(
        swept.removed_of(ResourceKind::SecurityGroup),
        1,
        "{swept:?}"
    );
    assert_nothing_left(&cloud, HOME, &before);
}

#[tokio::test(start_paused = true)]
async fn every_build_sweeps_first_and_then_starts_over() {
    let cloud = world(succeeding());
    let spec = spec(&[HOME]);
    interrupted(&cloud, &spec, 15 * MINUTE).await;
    tokio::time::advance(spec.options.leftover_expiry).await;

    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let report = Builder::new(&lifecycle, &host.resolver)
        .build(&spec)
        .await
        .expect("the build completes");
    assert_eq!(
        report.swept.removed_of(ResourceKind::Image),
        1,
        "{:?}",
        report.swept
    );
    assert!(report.images[0].stages.iter().all(|s| !s.resumed));
    assert_eq!(cloud.counters().operation(op::CREATE_IMAGE), 2);
}

#[tokio::test(start_paused = true)]
async fn a_launch_after_a_failed_attempt_is_a_new_attempt() {
    let cloud = world(succeeding());
    cloud.fail_next_launches(1);
    let spec = spec(&[HOME]);
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    Builder::new(&lifecycle, &host.resolver)
        .build(&spec)
        .await
        .expect_err("the builder did not boot");

    let events = Mutex::new(Vec::new());
    let sink = BuildEventFn(|e: BuildEvent| events.lock().expect("events").push(e));
    Builder::new(&lifecycle, &host.resolver)
        .events(&sink)
        .build(&spec)
        .await
        .expect("the second attempt succeeds");
    let attempts: Vec<(Stage, u32)> = events
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| match e {
            BuildEvent::Launched { stage, attempt, .. } => Some((*stage, *attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [(Stage::Provision, 2), (Stage::Test, 1)]);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_plans_every_stage_and_makes_no_mutating_call() {
    let cloud = world(succeeding());
    let spec = spec(&[HOME, "eu-west-1", "ap-south-1"]).dry_run(true);
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let outcome = Builder::new(&lifecycle, &host.resolver)
        .run(&spec)
        .await
        .expect("a plan");
    assert_eq!(mutations(&cloud), 0);
    let amiref_build::BuildOutcome::Planned(plan) = outcome else {
        panic!("a dry run plans");
    };
    let image = &plan.images[0];
    let stages: Vec<Stage> = image.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Provision,
            Stage::Capture,
            Stage::Test,
            Stage::Distribute,
            Stage::Cleanup
        ]
    );
    assert!(image.stages.iter().all(|s| !s.done));
    assert!(
        image.estimated_secs > 6 * 60,
        "provisioning alone takes 6 min: {image:?}"
    );
    assert!(
        image.estimated_cost_usd.is_some_and(|c| c > 0.0),
        "{image:?}"
    );
    assert!(!plan.estimate_inputs.is_empty());
    let records = host.audit.records();
    assert!(records.iter().all(|r| r.dry_run), "{records:?}");
    assert!(records.iter().any(|r| r.operation == "build"));
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_after_an_interruption_says_what_is_done() {
    let cloud = world(succeeding());
    let spec = spec(&[HOME]);
    interrupted(&cloud, &spec, 15 * MINUTE).await;
    let mutated = mutations(&cloud);
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let plan = Builder::new(&lifecycle, &host.resolver)
        .plan(&spec)
        .await
        .expect("a plan");
    assert_eq!(mutations(&cloud), mutated);
    let done: Vec<Stage> = plan.images[0]
        .stages
        .iter()
        .filter(|s| s.done)
        .map(|s| s.stage)
        .collect();
    assert_eq!(done, [Stage::Provision, Stage::Capture]);
}

#[tokio::test(start_paused = true)]
async fn a_build_interrupted_while_stopping_its_builder_reads_the_marker_again() {
    let cloud = world(succeeding());
    let spec = spec(&[HOME]);
    // Provisioning ends at 8.5 min; the stop is under way 10 s later.
    interrupted(&cloud, &spec, PROVISION + Duration::from_secs(40)).await;
    assert_eq!(cloud.counters().operation(op::STOP_INSTANCES), 1);
    assert_eq!(cloud.counters().operation(op::CREATE_IMAGE), 0);

    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let report = Builder::new(&lifecycle, &host.resolver)
        .build(&spec)
        .await
        .expect("the build completes");
    let measured = &report.images[0].tested.measured;
    let boot = amiref_memory::Timings::default().boot;
    assert_eq!(
        measured.script_ready,
        boot + PROVISION,
        "read from the console again"
    );
    assert_eq!(cloud.counters().operation(op::RUN_INSTANCES), 2);
}
