//! Every stage's failure leaves nothing behind: the instances, the temporary security
//! group, and any image not yet tested with its snapshots are removed, and the error names
//! the stage and what was cleaned up.

use crate::common;

use std::time::Duration;

use amiref_build::{BuildError, Builder, ResourceKind, Stage, StageError};
use amiref_core::CloudErrorKind;
use amiref_memory::{BuildBehaviour, ScriptBehaviour, op};
use common::*;

const HOME: &str = "us-east-1";

/// Builds `spec` on `cloud` and returns the error, after checking the home region holds
/// what it held before.
async fn failed_build(
    cloud: &amiref_memory::MemoryCloud,
    spec: &amiref_build::BuildSpec,
) -> BuildError {
    let before = live(cloud, HOME);
    let host = Host::new(cloud);
    let lifecycle = host.lifecycle();
    let error = Builder::new(&lifecycle, &host.resolver)
        .build(spec)
        .await
        .expect_err("the build fails");
    assert_nothing_left(cloud, HOME, &before);
    let cleanup = error.cleanup().expect("a stage failure cleans up");
    assert!(cleanup.is_complete(), "{cleanup:?}");
    error
}

fn cause(error: &BuildError) -> &StageError {
    match error {
        BuildError::Stage { cause, .. } => cause,
        other => panic!("not a stage failure: {other}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_user_data_fails_the_provision_stage_with_its_status() {
    let cloud = world(BuildBehaviour::new(
        ScriptBehaviour::exits_after(Duration::from_secs(120), 3),
        ScriptBehaviour::succeeds_after(TEST),
    ));
    let error = failed_build(&cloud, &spec(&[HOME, "eu-west-1"])).await;
    assert_eq!(error.stage(), Some(Stage::Provision));
    assert!(
        matches!(
            cause(&error),
            StageError::ScriptFailed {
                status: 3,
                log_stage: "provision",
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("status 3"), "{message}");
    assert!(
        message.contains("/var/log/amiref-provision.log"),
        "{message}"
    );
    let cleanup = error.cleanup().expect("cleaned");
    assert_eq!(cleanup.removed_of(ResourceKind::Instance), 1, "{cleanup:?}");
    assert_eq!(
        cleanup.removed_of(ResourceKind::SecurityGroup),
        1,
        "{cleanup:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_script_that_never_finishes_times_out() {
    let cloud = world(BuildBehaviour::new(
        ScriptBehaviour::hangs(),
        ScriptBehaviour::succeeds_after(TEST),
    ));
    let mut spec = spec(&[HOME]);
    spec.options.provision_timeout = Some(Duration::from_secs(20 * 60));
    let started = tokio::time::Instant::now();
    let error = failed_build(&cloud, &spec).await;
    assert_eq!(error.stage(), Some(Stage::Provision));
    assert!(
        matches!(cause(&error), StageError::TimedOut { timeout, .. } if *timeout == Duration::from_secs(1200)),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(25 * 60));
}

#[tokio::test(start_paused = true)]
async fn a_builder_that_fails_to_boot_fails_the_provision_stage() {
    let cloud = world(succeeding());
    cloud.fail_next_launches(1);
    let error = failed_build(&cloud, &spec(&[HOME])).await;
    assert_eq!(error.stage(), Some(Stage::Provision));
    assert!(
        matches!(cause(&error), StageError::Instance { .. }),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_image_fails_the_capture_stage_and_is_deregistered_with_its_snapshots() {
    let cloud = world(succeeding());
    cloud.fail_next_images(op::CREATE_IMAGE, 1);
    let error = failed_build(&cloud, &spec(&[HOME])).await;
    assert_eq!(error.stage(), Some(Stage::Capture));
    assert!(matches!(cause(&error), StageError::Lifecycle(_)), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_failing_test_fails_the_test_stage_and_removes_the_untested_image() {
    let cloud = world(BuildBehaviour::new(
        ScriptBehaviour::succeeds_after(PROVISION),
        ScriptBehaviour::exits_after(TEST, 1),
    ));
    let error = failed_build(&cloud, &spec(&[HOME, "eu-west-1"])).await;
    assert_eq!(error.stage(), Some(Stage::Test));
    assert!(
        matches!(
            cause(&error),
            StageError::ScriptFailed {
                status: 1,
                log_stage: "test",
                ..
            }
        ),
        "{error}"
    );
    let cleanup = error.cleanup().expect("cleaned");
    assert_eq!(cleanup.removed_of(ResourceKind::Image), 1, "{cleanup:?}");
    assert_eq!(
        live(&cloud, "eu-west-1").image_count(),
        0,
        "nothing was copied"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_to_stop_the_builder_fails_the_capture_stage() {
    let cloud = world(succeeding());
    cloud.fail_next(op::STOP_INSTANCES, 10, CloudErrorKind::AccessDenied);
    let error = failed_build(&cloud, &spec(&[HOME])).await;
    assert_eq!(error.stage(), Some(Stage::Capture));
}

#[tokio::test(start_paused = true)]
async fn a_failed_distribution_keeps_the_tested_image_and_nothing_temporary() {
    let cloud = world(succeeding());
    cloud.fail_next(op::COPY_IMAGE, 10, CloudErrorKind::AccessDenied);
    let before = live(&cloud, HOME);
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let error = Builder::new(&lifecycle, &host.resolver)
        .build(&spec(&[HOME, "eu-west-1"]))
        .await
        .expect_err("the copy fails");
    assert_eq!(error.stage(), Some(Stage::Distribute), "{error}");
    let after = live(&cloud, HOME);
    assert_eq!(after.live_instances(), before.live_instances(), "{after:?}");
    assert_eq!(after.security_groups, before.security_groups);
    assert_eq!(
        after.image_count(),
        before.image_count() + 1,
        "the tested image stays"
    );
}

#[tokio::test(start_paused = true)]
async fn a_template_without_user_data_is_refused_before_any_call() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let mut spec = spec(&[HOME]);
    spec.template.user_data = None;
    let error = Builder::new(&lifecycle, &host.resolver)
        .build(&spec)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            error,
            BuildError::Invalid {
                field: "user_data",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(cloud.counters().total(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_expiry_shorter_than_a_build_and_a_region_given_twice_are_refused() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);

    let mut short = spec(&[HOME]);
    short.options.leftover_expiry = Duration::from_secs(60 * 60);
    let error = builder.build(&short).await.expect_err("refused");
    assert!(
        matches!(
            error,
            BuildError::Invalid {
                field: "leftover_expiry",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("no sweep removes a running build"),
        "{error}"
    );

    let twice = spec(&[HOME, "eu-west-1", HOME]);
    let error = builder.build(&twice).await.expect_err("refused");
    assert!(
        matches!(
            error,
            BuildError::Invalid {
                field: "regions",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(cloud.counters().total(), 0, "refused before any call");
}

#[tokio::test(start_paused = true)]
async fn passing_failures_of_every_build_call_are_retried() {
    for operation in [
        op::RUN_INSTANCES,
        op::DESCRIBE_INSTANCES,
        op::GET_CONSOLE_OUTPUT,
        op::STOP_INSTANCES,
        op::TERMINATE_INSTANCES,
        op::CREATE_SECURITY_GROUP,
        op::DESCRIBE_SECURITY_GROUPS,
        op::DELETE_SECURITY_GROUP,
        op::CREATE_TAGS,
    ] {
        let cloud = world(succeeding());
        let before = live(&cloud, HOME);
        cloud.fail_next(operation, 2, CloudErrorKind::Throttled);
        let host = Host::new(&cloud);
        let lifecycle = host.lifecycle();
        let report = Builder::new(&lifecycle, &host.resolver)
            .build(&spec(&[HOME]))
            .await;
        assert!(
            report.is_ok(),
            "{operation}: {:?}",
            report.err().map(|e| e.to_string())
        );
        let after = live(&cloud, HOME);
        assert_eq!(
            after.live_instances(),
            before.live_instances(),
            "{operation}"
        );
        assert_eq!(after.security_groups, before.security_groups, "{operation}");
    }
}
