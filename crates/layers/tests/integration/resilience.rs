//! Resilience on the in-process cloud's fault knobs, on a paused clock: stacked retries do
//! not multiply, deadlines and budgets bound the retries, the circuit gives a failing region
//! up and fails fast, and a 30% fault rate is ridden out.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{AccountSettings, AmiId, CloudErrorKind, ImageCatalog, Region};
use amiref_layers::{
    Circuit, CircuitPolicy, Counting, Deadline, Faulty, Jitter, Layer, Operation, RetryPolicy,
    Retrying,
};
use amiref_memory::{MemoryCloud, Throttling, op};
use amiref_testkit::fixture;
use tokio::time::Instant;

struct World {
    cloud: MemoryCloud,
    region: Region,
    other_region: Region,
    image: AmiId,
}

fn world() -> World {
    let fixture = fixture::standard();
    let cloud = MemoryCloud::from_world_yaml(&fixture.world_json().to_string(), "fixture").unwrap();
    World {
        cloud,
        region: fixture.region.clone(),
        other_region: fixture.other_region.clone(),
        image: fixture.id(fixture::keys::MINE_X86).unwrap(),
    }
}

fn interactive() -> RetryPolicy {
    RetryPolicy::interactive(7)
}

#[tokio::test(start_paused = true)]
async fn stacked_retrying_layers_retry_once_not_twice() {
    let w = world();
    let counted = Counting::new(&w.cloud);
    let session = Retrying::new(&counted, interactive());
    // A lifecycle's standard retries over a cloud that already retries.
    let lifecycle = Retrying::new(&session, RetryPolicy::standard());
    w.cloud
        .fail_next(op::DESCRIBE_IMAGES, 100, CloudErrorKind::Unavailable);
    let result = lifecycle
        .describe_images(&w.region, std::slice::from_ref(&w.image))
        .await;
    assert_eq!(result.unwrap_err().kind, CloudErrorKind::Unavailable);
    assert_eq!(
        counted.counter().calls(Operation::DescribeImages),
        u64::from(interactive().max_attempts),
        "the lowest retrying layer's attempts, not 5 x 8"
    );
}

#[tokio::test(start_paused = true)]
async fn an_advisory_read_is_tried_twice_at_most() {
    let w = world();
    let counted = Counting::new(&w.cloud);
    let session = Retrying::new(&counted, interactive());
    w.cloud.fail_next(
        op::GET_ALLOWED_IMAGES_SETTINGS,
        100,
        CloudErrorKind::Unavailable,
    );
    let started = Instant::now();
    let result = session.allowed_images_settings(&w.region).await;
    assert_eq!(result.unwrap_err().kind, CloudErrorKind::Unavailable);
    assert_eq!(
        counted.counter().calls(Operation::AllowedImagesSettings),
        u64::from(amiref_layers::ADVISORY_ATTEMPTS)
    );
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "one short pause"
    );
    // A passing fault is still ridden out (this replaces the faults injected above).
    w.cloud.fail_next(
        op::GET_ALLOWED_IMAGES_SETTINGS,
        1,
        CloudErrorKind::Throttled,
    );
    assert!(session.allowed_images_settings(&w.region).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_layer_that_never_retries_leaves_the_retrying_to_the_one_above() {
    let w = world();
    let counted = Counting::new(&w.cloud);
    let never = Retrying::new(&counted, RetryPolicy::never());
    let above = Retrying::new(&never, RetryPolicy::standard());
    w.cloud
        .fail_next(op::DESCRIBE_IMAGES, 2, CloudErrorKind::Throttled);
    above
        .describe_images(&w.region, std::slice::from_ref(&w.image))
        .await
        .unwrap();
    assert_eq!(counted.counter().calls(Operation::DescribeImages), 3);
}

#[tokio::test(start_paused = true)]
async fn a_call_spends_at_most_its_budget() {
    let w = world();
    let counted = Counting::new(&w.cloud);
    let retrying = Retrying::new(&counted, interactive());
    w.cloud
        .fail_next(op::DESCRIBE_IMAGES, 1000, CloudErrorKind::Throttled);
    let started = Instant::now();
    let result = retrying
        .describe_images(&w.region, std::slice::from_ref(&w.image))
        .await;
    assert!(result.is_err());
    let budget = interactive().max_total.unwrap();
    assert!(
        started.elapsed() <= budget,
        "{:?} > {budget:?}",
        started.elapsed()
    );
    assert!(counted.counter().calls(Operation::DescribeImages) <= 8);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_before_the_deadline_and_say_they_were_cut_off() {
    let w = world();
    let counted = Counting::new(&w.cloud);
    let retrying = Retrying::new(&counted, interactive().jitter(Jitter::None));
    w.cloud
        .fail_next(op::DESCRIBE_IMAGES, 1000, CloudErrorKind::Unavailable);
    let started = Instant::now();
    // Pauses 50, 100, 200 ms end at 350 ms; the next (400 ms) would end after 500 ms.
    let deadline = Deadline::after(Duration::from_millis(500));
    let result = deadline
        .clone()
        .run(retrying.describe_images(&w.region, std::slice::from_ref(&w.image)))
        .await;
    let error = result.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_millis(350));
    assert_eq!(counted.counter().calls(Operation::DescribeImages), 4);
    assert_eq!(deadline.cut_off(), Some(error));
}

#[tokio::test(start_paused = true)]
async fn work_without_faults_is_not_cut_off() {
    let w = world();
    let retrying = Retrying::new(&w.cloud, interactive());
    let deadline = Deadline::after(Duration::from_millis(100));
    w.cloud
        .fail_next(op::DESCRIBE_IMAGES, 1, CloudErrorKind::Throttled);
    let found = deadline
        .clone()
        .run(retrying.describe_images(&w.region, std::slice::from_ref(&w.image)))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(deadline.cut_off().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_region_that_keeps_failing_is_given_up_and_then_fails_fast() {
    let w = world();
    w.cloud.set_region_down(&w.region, true);
    let counted = Counting::new(&w.cloud);
    let circuit = Arc::new(Circuit::new(CircuitPolicy::per_command().threshold(5)));
    let guarded = Arc::clone(&circuit).over(&counted);
    let retrying = Retrying::new(&guarded, interactive());
    let ids = std::slice::from_ref(&w.image);

    let first = retrying.describe_images(&w.region, ids).await.unwrap_err();
    assert_eq!(first.kind, CloudErrorKind::RegionGivenUp, "{first}");
    assert_eq!(counted.counter().calls(Operation::DescribeImages), 5);
    assert_eq!(circuit.given_up(), vec![w.region.clone()]);

    let started = Instant::now();
    let again = retrying.describe_images(&w.region, ids).await.unwrap_err();
    assert_eq!(again.kind, CloudErrorKind::RegionGivenUp);
    assert!(!again.is_retryable());
    assert_eq!(started.elapsed(), Duration::ZERO, "fails fast, no pauses");
    assert_eq!(
        counted.counter().calls(Operation::DescribeImages),
        5,
        "not called"
    );

    // The other region is not slowed.
    let other = retrying.describe_images(&w.other_region, &[]).await;
    assert!(other.is_ok(), "{other:?}");
    let health = circuit.region_health(&w.region);
    assert!(health.given_up && health.faults == 5 && health.refused == 2);
    assert!(!circuit.region_health(&w.other_region).had_faults());
}

#[tokio::test(start_paused = true)]
async fn a_given_up_region_is_tried_again_after_reopen_after() {
    let w = world();
    w.cloud.set_region_down(&w.region, true);
    let policy = CircuitPolicy::per_command()
        .threshold(2)
        .reopen_after(Duration::from_secs(30));
    let circuit = Arc::new(Circuit::new(policy));
    let guarded = Arc::clone(&circuit).over(&w.cloud);
    let ids = std::slice::from_ref(&w.image);
    for _ in 0..2 {
        let _ = guarded.describe_images(&w.region, ids).await;
    }
    assert_eq!(circuit.given_up(), vec![w.region.clone()]);
    w.cloud.set_region_down(&w.region, false);
    tokio::time::sleep(Duration::from_secs(30)).await;
    guarded.describe_images(&w.region, ids).await.unwrap();
    assert!(circuit.given_up().is_empty());
}

#[tokio::test(start_paused = true)]
async fn throttling_never_gives_a_region_up() {
    let w = world();
    w.cloud.set_throttling(Some(Throttling::ec2()));
    let circuit = Arc::new(Circuit::new(CircuitPolicy::per_command().threshold(3)));
    let guarded = Arc::clone(&circuit).over(&w.cloud);
    w.cloud
        .fail_next(op::DESCRIBE_IMAGES, 50, CloudErrorKind::Throttled);
    for _ in 0..50 {
        let e = guarded
            .describe_images(&w.region, std::slice::from_ref(&w.image))
            .await
            .unwrap_err();
        assert_eq!(e.kind, CloudErrorKind::Throttled);
    }
    let health = circuit.region_health(&w.region);
    assert!(!health.given_up);
    assert_eq!(health.throttled, 50);
    assert!(health.had_faults());
}

#[tokio::test(start_paused = true)]
async fn a_30_percent_fault_rate_is_ridden_out_within_the_budget() {
    let w = world();
    let faulty = Faulty::new(
        &w.cloud,
        300,
        [CloudErrorKind::Throttled, CloudErrorKind::Unavailable],
        15,
    );
    let counted = Counting::new(&faulty);
    let circuit = Arc::new(Circuit::new(CircuitPolicy::per_command()));
    let guarded = Arc::clone(&circuit).over(&counted);
    let retrying = Retrying::new(&guarded, interactive());
    let ids = std::slice::from_ref(&w.image);
    let mut slowest = Duration::ZERO;
    for _ in 0..200 {
        let started = Instant::now();
        let images = retrying.describe_images(&w.region, ids).await.unwrap();
        assert_eq!(images.len(), 1);
        slowest = slowest.max(started.elapsed());
    }
    let attempts = counted.counter().calls(Operation::DescribeImages);
    assert!(
        (240..=340).contains(&attempts),
        "about 200 / 0.7 attempts: {attempts}"
    );
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
    assert!(circuit.given_up().is_empty());
    assert!(circuit.region_health(&w.region).had_faults());
}

#[tokio::test(start_paused = true)]
async fn the_in_process_cloud_throttles_each_action_in_its_own_bucket() {
    use amiref_core::InstanceTypes;
    let w = world();
    w.cloud.set_throttling(Some(Throttling::ec2()));
    let ids = std::slice::from_ref(&w.image);
    let burst = Throttling::ec2().non_mutating.burst;
    for _ in 0..burst {
        w.cloud.describe_images(&w.region, ids).await.unwrap();
    }
    let throttled = w.cloud.describe_images(&w.region, ids).await.unwrap_err();
    assert_eq!(throttled.kind, CloudErrorKind::Throttled);
    // Another non-mutating action has a bucket of its own, as on EC2.
    let types: Vec<amiref_core::InstanceType> = vec!["m6i.large".parse().unwrap()];
    assert!(w.cloud.architectures(&w.region, &types).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_identical_copies_are_one_request() {
    use amiref_core::{CopyImageRequest, ImageStore};
    use amiref_layers::Coalesced;
    let w = world();
    w.cloud.set_latency(Duration::from_millis(50));
    let counted = Counting::new(&w.cloud);
    let coalesced = Coalesced::new(&counted);
    let retrying = Retrying::new(&coalesced, interactive());
    let request = CopyImageRequest::new(
        w.region.clone(),
        w.image.clone(),
        w.other_region.clone(),
        "one copy",
        "t-flight",
    );
    let copies = futures::future::join_all((0..100).map(|_| retrying.copy_image(&request))).await;
    let ids: std::collections::BTreeSet<_> = copies.into_iter().map(|c| c.unwrap()).collect();
    assert_eq!(ids.len(), 1, "one copy: {ids:?}");
    assert_eq!(counted.counter().calls(Operation::CopyImage), 1);
    assert_eq!(coalesced.layer().in_flight(), 0);

    // Throttled twice: the callers share each answer, and their jittered retries coalesce
    // again (four requests on this seed), never a hundred.
    let mut throttled = request.clone();
    throttled.client_token = "t-flight-2".into();
    throttled.name = "another copy".into();
    w.cloud
        .fail_next(op::COPY_IMAGE, 2, CloudErrorKind::Throttled);
    let copies = futures::future::join_all((0..100).map(|_| retrying.copy_image(&throttled))).await;
    let second: std::collections::BTreeSet<_> = copies.into_iter().map(|c| c.unwrap()).collect();
    assert_eq!(second.len(), 1, "one copy: {second:?}");
    let requests = counted.counter().calls(Operation::CopyImage) - 1;
    assert!((3..=10).contains(&requests), "{requests} requests");

    // A copy asked for after the flight ended makes its own request: the same copy, by its
    // token.
    let before = counted.counter().calls(Operation::CopyImage);
    let again = retrying.copy_image(&request).await.unwrap();
    assert!(ids.contains(&again));
    assert_eq!(counted.counter().calls(Operation::CopyImage), before + 1);
}
