//! The session's one retry layer and its circuit, on copies of the demo, on a paused clock:
//! every resolution right at a 30% fault rate, the lifecycle not retrying on top of the
//! session's cloud, and `ami test` naming the regions that answered with faults.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{Cloud, CloudErrorKind, ImageCatalog, ImageFilter, Owner, Region};
use amiref_layers::{Faulty, RetryPolicy, Retrying};
use amiref_lifecycle::NoProgress;
use amiref_memory::{MemoryCloud, op};
use amiref_resolver::ResolveOptions;
use amiref_session::{Availability, Session};
use common::Demo;
use tokio::time::Instant;

fn region(code: &str) -> Region {
    code.parse().expect("a region")
}

/// A session of the demo's configuration on `cloud` (not a world: the cloud is the
/// caller's), trusting as the demo world does.
async fn session_on(demo: &Demo, cloud: Arc<dyn Cloud>) -> Session {
    common::builder_with(&demo.vars())
        .with_cloud(cloud)
        .with_trust_policy_file(demo.path("worlds/demo.trust.yaml"))
        .build()
        .await
        .expect("a session")
}

/// Every template in every one of `regions`: the image (or why there is none) and how it
/// was found, and the longest one resolution took.
async fn resolve_all(session: &Session, regions: &[Region]) -> (Vec<String>, Duration) {
    let options = ResolveOptions::default().use_cache(false);
    let mut answers = Vec::new();
    let mut slowest = Duration::ZERO;
    for template in session.templates_or_all(&[]).expect("the demo templates") {
        for region in regions {
            let started = Instant::now();
            let result = session.resolve(&template, Some(region), &options).await;
            slowest = slowest.max(started.elapsed());
            answers.push(match result {
                Ok(r) => format!("{} {region}: {} by {}", template.name, r.image.id, r.method),
                Err(e) => format!("{} {region}: none ({})", template.name, e.chain().len()),
            });
        }
    }
    (answers, slowest)
}

#[tokio::test(start_paused = true)]
async fn every_resolution_is_right_at_a_30_percent_fault_rate() {
    let demo = Demo::new();
    let memory = Arc::new(
        MemoryCloud::from_world_file(demo.path("worlds/demo.yaml")).expect("the demo world"),
    );
    let regions = [
        region("us-east-1"),
        region("us-west-2"),
        region("eu-west-1"),
        region("ap-south-1"),
    ];
    let clean = session_on(&demo, memory.clone()).await;
    let (expected, _) = resolve_all(&clean, &regions).await;

    let faulty = Faulty::new(
        memory.clone(),
        300,
        [CloudErrorKind::Throttled, CloudErrorKind::Unavailable],
        15,
    );
    let session = session_on(&demo, Arc::new(faulty)).await;
    let (answers, slowest) = resolve_all(&session, &regions).await;
    assert_eq!(answers, expected);
    assert!(
        slowest < Duration::from_secs(5),
        "the slowest resolution paused {slowest:?}"
    );
    let health = session.region_health();
    assert!(health.values().any(|h| h.had_faults()), "faults were seen");
    assert!(
        health.values().all(|h| !h.given_up),
        "no region is given up for passing faults: {health:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_retries_on_top_of_the_sessions_cloud() {
    let demo = Demo::new();
    let session = demo.session().await;
    let memory = session.world().expect("a world").clone();
    let filter = ImageFilter::owned_by([Owner::Me]);
    let failing = |memory: &MemoryCloud| {
        // Throttling: it never gives the region up, so every call gets its retries.
        memory.fail_next(op::DESCRIBE_IMAGES, 1000, CloudErrorKind::Throttled);
        memory.counters().operation(op::DESCRIBE_IMAGES)
    };

    // The session's own attempts at a call that keeps failing (as many as its budget
    // allows, at most the policy's).
    let before = failing(&memory);
    assert!(
        session
            .cloud()
            .search_images(session.region(), &filter)
            .await
            .is_err()
    );
    let attempts = memory.counters().operation(op::DESCRIBE_IMAGES) - before;
    assert!(
        (2..=u64::from(RetryPolicy::interactive(0).max_attempts)).contains(&attempts),
        "{attempts}"
    );

    // The lifecycle's calls: one retry layer, the session's.
    let before = failing(&memory);
    let lifecycle = session.lifecycle(&NoProgress);
    let failed = lifecycle
        .cloud()
        .search_images(session.region(), &filter)
        .await;
    assert!(failed.is_err());
    assert_eq!(
        memory.counters().operation(op::DESCRIBE_IMAGES) - before,
        attempts
    );

    // A caller that wraps the session's cloud in retries of its own (as a build's
    // distribution does) still makes each attempt once.
    let before = failing(&memory);
    let stacked = Retrying::new(session.cloud().as_ref(), RetryPolicy::standard());
    assert!(
        stacked
            .search_images(session.region(), &filter)
            .await
            .is_err()
    );
    assert_eq!(
        memory.counters().operation(op::DESCRIBE_IMAGES) - before,
        attempts
    );

    // And a passing fault is ridden out by the session's retries.
    memory.fail_next(op::DESCRIBE_IMAGES, 0, CloudErrorKind::Throttled);
    memory.fail_next(op::DESCRIBE_IMAGES, 2, CloudErrorKind::Throttled);
    let before = memory.counters().operation(op::DESCRIBE_IMAGES);
    lifecycle
        .cloud()
        .search_images(session.region(), &filter)
        .await
        .expect("retried");
    assert_eq!(memory.counters().operation(op::DESCRIBE_IMAGES) - before, 3);
}

#[tokio::test(start_paused = true)]
async fn a_test_of_every_region_gives_a_sick_region_up_and_names_it() {
    // Two copies of the demo: a world's state is held by one session at a time.
    let (clean_demo, demo) = (Demo::new(), Demo::new());
    let clean = clean_demo.session().await;
    let template = clean.template("python-ml").expect("python-ml");
    let regions = clean.all_regions();
    let expected = clean.availability(&template, &regions).await;
    assert_eq!(expected.counts.with_faults_count, 0);
    assert!(expected.regions.iter().all(|r| r.faults.is_none()));

    let session = demo.session().await;
    let sick = region("eu-west-1");
    assert!(regions.contains(&sick));
    let memory = session.world().expect("a world").clone();
    memory.set_region_down(&sick, true);
    let started = Instant::now();
    let report = session.availability(&template, &regions).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    assert_eq!(report.counts.given_up_count, 1);
    assert_eq!(report.counts.with_faults_count, 1);
    for (row, clean_row) in report.regions.iter().zip(&expected.regions) {
        if row.region == sick {
            let faults = row.faults.as_ref().expect("the sick region's faults");
            assert!(faults.given_up);
            assert!(faults.unavailable_count >= 12, "{faults:?}");
            assert!(
                matches!(row.availability, Availability::Unavailable { .. })
                    || matches!(row.availability, Availability::ScriptFallback { .. }),
                "{:?}",
                row.availability
            );
        } else {
            assert_eq!(row, clean_row, "the other regions answer as without faults");
        }
    }
    let json = serde_json::to_value(&report).expect("JSON");
    let sick_row = json["regions"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["region"] == "eu-west-1"))
        .expect("the sick row");
    assert_eq!(sick_row["faults"]["given_up"], true);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_copies_of_one_image_are_one_copy_request() {
    let demo = Demo::new();
    let session = demo.session().await;
    let template = session.template("python-ml").expect("python-ml");
    let source = session
        .resolve(&template, None, &ResolveOptions::default())
        .await
        .expect("a resolution")
        .image;
    let memory = session.world().expect("a world").clone();
    let request = amiref_core::CopyImageRequest::new(
        source.region.clone(),
        source.id.clone(),
        region("ap-south-1"),
        "python-ml copy",
        amiref_core::copy_client_token(
            &source.region,
            &source.id,
            &region("ap-south-1"),
            "python-ml copy",
            None,
            0,
        ),
    );
    // Calls take time, as on EC2, so that the hundred are in flight together.
    memory.set_latency(Duration::from_millis(50));
    let cloud = session.cloud();
    let copies = futures::future::join_all((0..100).map(|_| cloud.copy_image(&request))).await;
    let ids: std::collections::BTreeSet<_> =
        copies.into_iter().map(|c| c.expect("copied")).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(memory.counters().operation(op::COPY_IMAGE), 1);
}
