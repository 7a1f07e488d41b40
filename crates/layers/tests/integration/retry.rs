//! The retry layer on the in-process cloud's injected faults, on a paused clock: what is
//! retried, how often, after which pauses, and what is never repeated.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use amiref_core::{
    AmiId, CloudErrorKind, CopyImageRequest, Identity, ImageCatalog, ImageStore, Instances, Region,
    RunInstanceRequest,
};
use amiref_layers::{Jitter, RetryPolicy, Retrying};
use amiref_memory::{MemoryCloud, op};
use amiref_testkit::fixture;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

struct World {
    cloud: MemoryCloud,
    region: Region,
    image: AmiId,
    fixture: amiref_testkit::Fixture,
}

fn world() -> World {
    let fixture = fixture::standard();
    let cloud = MemoryCloud::from_world_yaml(&fixture.world_json().to_string(), "fixture").unwrap();
    World {
        cloud,
        region: fixture.region.clone(),
        image: fixture.id(fixture::keys::MINE_X86).unwrap(),
        fixture,
    }
}

/// Describes the world's image through `policy` with `failures` injected faults of `kind`:
/// the result, the attempts the cloud saw, and the simulated time it took.
async fn describe(
    policy: RetryPolicy,
    failures: u32,
    kind: CloudErrorKind,
) -> (bool, u64, Duration) {
    let w = world();
    w.cloud.fail_next(op::DESCRIBE_IMAGES, failures, kind);
    let started = Instant::now();
    let result = Retrying::new(&w.cloud, policy)
        .describe_images(&w.region, std::slice::from_ref(&w.image))
        .await;
    (
        result.is_ok(),
        w.cloud.counters().operation(op::DESCRIBE_IMAGES),
        started.elapsed(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_throttled_call_is_retried_after_doubling_pauses() {
    let (ok, attempts, took) =
        describe(RetryPolicy::standard(), 3, CloudErrorKind::Throttled).await;
    assert!(ok);
    assert_eq!(attempts, 4);
    assert_eq!(took, (500 + 1000 + 2000) * MS);
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_service_is_given_up_on_after_the_last_attempt() {
    let (ok, attempts, took) =
        describe(RetryPolicy::standard(), 10, CloudErrorKind::Unavailable).await;
    assert!(!ok);
    assert_eq!(attempts, 5);
    assert_eq!(
        took,
        7500 * MS,
        "0.5 + 1 + 2 + 4 s, and no pause after the last"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lasting_error_is_not_retried() {
    for kind in [
        CloudErrorKind::AccessDenied,
        CloudErrorKind::InvalidRequest,
        CloudErrorKind::NotFound,
        CloudErrorKind::Timeout,
    ] {
        let (ok, attempts, took) = describe(RetryPolicy::standard(), 1, kind).await;
        assert!(!ok, "{kind:?}");
        assert_eq!(attempts, 1, "{kind:?}");
        assert_eq!(took, Duration::ZERO, "{kind:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn pauses_are_capped_and_the_total_budget_stops_retrying() {
    let capped = RetryPolicy::standard().max_attempts(6).max_delay(1500 * MS);
    let (_, attempts, took) = describe(capped, 10, CloudErrorKind::Throttled).await;
    assert_eq!(attempts, 6);
    assert_eq!(took, (500 + 1000 + 1500 + 1500 + 1500) * MS);

    // After 0.5 + 1 s, the next 2 s pause would end 3.5 s after the first attempt.
    let budget = RetryPolicy::standard().max_total(3000 * MS);
    let (ok, attempts, took) = describe(budget, 10, CloudErrorKind::Throttled).await;
    assert!(!ok);
    assert_eq!(attempts, 3);
    assert_eq!(took, 1500 * MS);
}

#[tokio::test(start_paused = true)]
async fn the_policy_chooses_among_the_retryable_kinds_only() {
    let throttling_only = RetryPolicy::standard().retry_on([CloudErrorKind::Throttled]);
    let (ok, attempts, _) = describe(throttling_only.clone(), 1, CloudErrorKind::Unavailable).await;
    assert!(!ok);
    assert_eq!(attempts, 1);
    let (ok, attempts, _) = describe(throttling_only, 1, CloudErrorKind::Throttled).await;
    assert!(ok);
    assert_eq!(attempts, 2);

    // Naming a kind the cloud does not mark retryable does not make it retried.
    let widened = RetryPolicy::standard().retry_on([CloudErrorKind::AccessDenied]);
    let (_, attempts, _) = describe(widened, 1, CloudErrorKind::AccessDenied).await;
    assert_eq!(attempts, 1);

    let (ok, attempts, _) = describe(RetryPolicy::never(), 1, CloudErrorKind::Throttled).await;
    assert!(!ok);
    assert_eq!(attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn jittered_pauses_are_shorter_and_repeat_with_their_seed() {
    let jittered = RetryPolicy::standard().jitter(Jitter::full(11));
    let (ok, attempts, first) = describe(jittered.clone(), 4, CloudErrorKind::Throttled).await;
    assert!(ok);
    assert_eq!(attempts, 5);
    let (_, _, second) = describe(jittered, 4, CloudErrorKind::Throttled).await;
    assert_eq!(first, second, "the same seed pauses the same");
    assert!(
        first < 7500 * MS,
        "full jitter never pauses longer: {first:?}"
    );
    let (_, _, other_seed) = describe(
        RetryPolicy::standard().jitter(Jitter::full(12)),
        4,
        CloudErrorKind::Throttled,
    )
    .await;
    assert_ne!(first, other_seed);
}

#[tokio::test(start_paused = true)]
async fn a_launch_without_a_client_token_is_made_once() {
    let w = world();
    let retrying = Retrying::new(&w.cloud, RetryPolicy::standard());
    let type_ = w.fixture.instance_types[0].0.clone();
    let mut request = RunInstanceRequest::new(w.image.clone(), type_);

    w.cloud
        .fail_next(op::RUN_INSTANCES, 1, CloudErrorKind::Unavailable);
    let err = retrying
        .run_instance(&w.region, &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable);
    assert_eq!(w.cloud.counters().operation(op::RUN_INSTANCES), 1);

    // With a client token the launch is idempotent, and is retried.
    request.client_token = Some("launch-1".to_owned());
    w.cloud
        .fail_next(op::RUN_INSTANCES, 1, CloudErrorKind::Unavailable);
    retrying.run_instance(&w.region, &request).await.unwrap();
    assert_eq!(w.cloud.counters().operation(op::RUN_INSTANCES), 3);
}

#[tokio::test(start_paused = true)]
async fn a_retried_copy_makes_one_image() {
    let w = world();
    let retrying = Retrying::new(&w.cloud, RetryPolicy::standard());
    let to = w.fixture.other_region.clone();
    let before = w.cloud.image_count(&to);
    let request = CopyImageRequest::new(
        w.region.clone(),
        w.image.clone(),
        to.clone(),
        "retried copy",
        "t-1",
    );

    w.cloud
        .fail_next(op::COPY_IMAGE, 2, CloudErrorKind::Throttled);
    let first = retrying.copy_image(&request).await.unwrap();
    let again = retrying.copy_image(&request).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(w.cloud.image_count(&to), before + 1);
    assert_eq!(w.cloud.counters().operation(op::COPY_IMAGE), 4);
}

#[tokio::test(start_paused = true)]
async fn a_global_service_is_retried_too() {
    let w = world();
    w.cloud
        .fail_next(op::GET_CALLER_IDENTITY, 1, CloudErrorKind::Unavailable);
    let started = Instant::now();
    let caller = Retrying::new(&w.cloud, RetryPolicy::standard())
        .caller()
        .await
        .unwrap();
    assert_eq!(caller.account, w.fixture.me);
    assert_eq!(started.elapsed(), 500 * MS);
}
