//! The fleet simulation of docs/scale.md (examples/scale.rs), run small: a fleet resolving
//! through the session is throttled, one handing `resolve:ssm:` to RunInstances calls
//! nothing, and the one job keeps the parameters true.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    dead_code,
    unreachable_pub
)]

#[path = "../../examples/scale.rs"]
mod scale_example;

use scale_example::{Fleet, Measured, Scenario, Sessions, SimError, simulate};

/// 80 frontends × 20 templates × 2 regions for one minute: 1600 resolutions a minute in each
/// region. Since EC2 throttles each action in its own bucket (DescribeImages: 100, refilled
/// at 20 a second), fewer than this no longer empty DescribeImages' bucket within a minute.
fn fleet() -> Fleet {
    Fleet::small(80, 20, 2, 1)
}

async fn run(fleet: &Fleet, scenario: Scenario) -> Measured {
    simulate(fleet, scenario).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn resolving_through_the_session_at_fleet_scale_is_throttled() {
    let fleet = fleet();
    let m = run(&fleet, Scenario::Describe).await;
    assert_eq!(m.resolutions(), 80 * 20 * 2);
    assert!(
        m.frontends.describe_images() >= m.resolutions(),
        "every resolution describes or searches: {:?}",
        m.frontends.calls
    );
    assert!(
        m.throttled("EC2") > 0,
        "{}",
        scale_example::render(&fleet, std::slice::from_ref(&m))
    );
    assert!(m.job_runs.is_empty(), "no job in this scenario");
    assert!(
        m.outcomes.keys().any(|k| k.ends_with("(a tier failed)")),
        "throttled tiers change what a launch gets: {:?}",
        m.outcomes
    );
    // Throttled attempts are answered requests too: the cloud counted each.
    let describe = m
        .rows()
        .into_iter()
        .find(|r| r.operation == "DescribeImages")
        .unwrap();
    assert!(describe.throttled <= describe.requests);
    assert!(
        describe.busiest_region_per_second > 20.0,
        "above the bucket's refill"
    );
}

#[tokio::test(start_paused = true)]
async fn one_frontend_alone_is_not_throttled() {
    let fleet = Fleet::small(1, 20, 2, 1);
    let m = run(&fleet, Scenario::Describe).await;
    assert_eq!(m.throttled("EC2") + m.throttled("SSM"), 0);
    assert!(
        m.outcomes
            .keys()
            .all(|k| k == "direct_mapping" || k == "dynamic_search"),
        "{:?}",
        m.outcomes
    );
}

#[tokio::test(start_paused = true)]
async fn with_published_parameters_frontends_call_nothing_and_nothing_is_throttled() {
    let fleet = fleet();
    let m = run(&fleet, Scenario::ResolveSsm).await;
    assert_eq!(m.resolutions(), 80 * 20 * 2);
    assert_eq!(m.frontends.total(), 0, "{:?}", m.frontends.calls);
    assert_eq!(m.frontends.describe_images(), 0);
    assert_eq!(m.throttled("EC2") + m.throttled("SSM"), 0);
    assert_eq!(m.frontends.total_throttled() + m.job.total_throttled(), 0);
    assert_eq!(m.job_runs.len(), 1, "one job run in one minute");
    let run = &m.job_runs[0];
    assert_eq!(run.unresolved, 0);
    assert_eq!(run.stale, 0, "the world starts true");
    assert_eq!(m.stale_at_end, 0);
    // The job reads the `latest` parameters in batches of 10: 2 per region.
    assert_eq!(run.reads, 2 * 2);
    // Every request the cloud answered was the job's.
    assert_eq!(m.job.total(), m.requests.total());
    assert_eq!(
        m.latency(1.0),
        std::time::Duration::ZERO,
        "no call, no wait"
    );
}

#[tokio::test(start_paused = true)]
async fn the_ssm_tier_reads_a_parameter_and_describes_its_image_per_resolution() {
    let fleet = fleet();
    let m = run(&fleet, Scenario::SsmTier).await;
    assert!(m.outcomes["ssm_parameter"] > 0, "{:?}", m.outcomes);
    for outcome in m.outcomes.keys() {
        assert!(
            outcome.starts_with("ssm_parameter")
                || outcome.starts_with("script_provisioning (a tier failed)")
                || outcome == "no image (a tier failed)",
            "the parameter names the newest image; anything else is throttling: {outcome}"
        );
    }
    let frontend_reads = m.frontends.calls[&amiref::layers::Operation::GetParameters];
    assert!(
        frontend_reads >= m.resolutions(),
        "one read (at least) per resolution"
    );
    assert!(
        m.frontends.describe_images() >= m.resolutions(),
        "and a describe of its image"
    );
}

#[tokio::test(start_paused = true)]
async fn frontends_reading_the_parameters_read_ten_a_request_and_describe_nothing() {
    let fleet = fleet();
    let m = run(&fleet, Scenario::ReadSsm).await;
    assert_eq!(m.resolutions(), 80 * 20 * 2);
    assert_eq!(
        m.outcomes["parameter read"],
        m.resolutions(),
        "{:?}",
        m.outcomes
    );
    assert_eq!(m.frontends.describe_images(), 0);
    // 20 names: two requests per frontend and region.
    let reads = m.frontends.calls[&amiref::layers::Operation::GetParameters];
    assert_eq!(reads, 80 * 2 * 2);
    assert_eq!(m.throttled("EC2") + m.throttled("SSM"), 0);
    assert_eq!(m.stale_at_end, 0);
}

#[tokio::test(start_paused = true)]
async fn the_job_rewrites_stale_parameters() {
    let mut fleet = Fleet::small(1, 20, 2, 1);
    fleet.stale = 3;
    let m = run(&fleet, Scenario::ResolveSsm).await;
    let run = &m.job_runs[0];
    assert_eq!(run.stale, 3, "{:?}", m.job_runs);
    assert_eq!(run.written, 3, "{:?}", run.failures);
    assert_eq!(m.stale_at_end, 0, "the job made them true");
    let puts = m
        .rows()
        .into_iter()
        .find(|r| r.operation == "PutParameter")
        .unwrap();
    assert_eq!(puts.requests, 3);
}

#[tokio::test(start_paused = true)]
async fn kept_sessions_resolve_from_their_cache() {
    let mut fleet = Fleet::small(5, 20, 2, 2);
    let per_minute = run(&fleet, Scenario::Describe).await;
    fleet.sessions = Sessions::Kept;
    let kept = run(&fleet, Scenario::Describe).await;
    assert_eq!(kept.resolutions(), per_minute.resolutions());
    assert!(
        kept.frontends.describe_images() < per_minute.frontends.describe_images(),
        "the second minute is answered from the cache: {} vs {}",
        kept.frontends.describe_images(),
        per_minute.frontends.describe_images()
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_repeats_exactly() {
    let fleet = Fleet::small(10, 10, 2, 1);
    let (a, b) = (
        run(&fleet, Scenario::Describe).await,
        run(&fleet, Scenario::Describe).await,
    );
    assert_eq!(a.requests, b.requests);
    assert_eq!(a.frontends, b.frontends);
    assert_eq!(a.latencies, b.latencies);
    assert_eq!(a.outcomes, b.outcomes);
}

#[tokio::test(start_paused = true)]
async fn sizes_out_of_range_are_refused() {
    let fleet = Fleet::small(1, 1, 35, 1);
    let e = simulate(&fleet, Scenario::Describe).await.unwrap_err();
    assert!(
        matches!(
            e,
            SimError::Size {
                flag: "regions",
                found: 35,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.to_string(), "--regions is 35: expected 1 to 34");
    let e = simulate(&Fleet::small(0, 1, 1, 1), Scenario::Describe)
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "--frontends is 0: expected at least 1");
}

#[test]
fn the_launch_reference_names_the_latest_parameter() {
    let name = scale_example::parameter_name("python-ml", "latest").unwrap();
    assert_eq!(
        scale_example::launch_reference(&name),
        "resolve:ssm:/amiref/python-ml/latest/x86_64"
    );
}
