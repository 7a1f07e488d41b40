//! The copy a launch makes (`copy_to_region`) is `ami copy`'s copy: whichever caller, command
//! or host asks first, there is one image.

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{CloudErrorKind, CopyImageRequest, ImageState, ImageStore};
use amiref_lifecycle::{
    AuditOutcome, CopyLimits, CopySpec, Lifecycle, LifecycleError, MemoryAuditSink, ProgressEvent,
    RegionCopyOutcome, RetryPolicy, tags,
};
use amiref_memory::op;

use crate::copy::with_source;
use crate::{Recorder, region};

const FROM: &str = "us-east-1";
const TO: &str = "eu-west-1";

#[tokio::test(start_paused = true)]
async fn a_launch_copy_and_an_ami_copy_at_once_make_one_image() {
    let (cloud, source) = with_source().await;
    // Every call takes as long, so both callers look for a copy before either requests one:
    // only the client token can make them share it.
    cloud.set_latency(Duration::from_millis(50));
    let before = cloud.image_count(&region(TO));
    // Two hosts: each its own handle on the cloud, limits and audit log.
    let other_host = cloud.clone();
    let (audit_a, audit_b) = (MemoryAuditSink::new(), MemoryAuditSink::new());
    let ami_copy = Lifecycle::new(&cloud, &audit_a);
    let launch = Lifecycle::new(&other_host, &audit_b).copy_limits(Arc::new(CopyLimits::ec2()));

    let (from, to) = (region(FROM), region(TO));
    let spec = CopySpec::new(from.clone(), source.clone(), vec![to.clone()]);
    let (report, launched) = tokio::join!(
        ami_copy.copy_image(&spec),
        launch.copy_to_region(&from, &source, &to)
    );
    let (report, launched) = (report.unwrap(), launched.unwrap());

    let RegionCopyOutcome::Copied { image } = &report.regions[0].outcome else {
        panic!("{report:#?}");
    };
    assert_eq!(&launched.id, image, "both callers got the same copy");
    assert_eq!(launched.state, ImageState::Available);
    assert_eq!(cloud.image_count(&region(TO)), before + 1, "one image");
    assert_eq!(
        cloud.counters().operation(op::COPY_IMAGE),
        2,
        "both asked: the token, not the search, made them share"
    );
    for audit in [&audit_a, &audit_b] {
        // The intent, its outcome (naming the copy), and the region's result.
        let records = audit.records();
        assert_eq!(records.len(), 3);
        assert!(records.iter().all(|r| r.operation == "copy_image"));
        assert_eq!(records[0].outcome, AuditOutcome::Intended);
        assert_eq!(records[1].operation_id, records[0].operation_id);
        assert_eq!(records[1].details["image"].as_str(), Some(image.as_str()));
        assert_eq!(records[2].target.as_deref(), Some(image.as_str()));
        assert_eq!(records[2].outcome, AuditOutcome::Succeeded);
    }
}

#[tokio::test(start_paused = true)]
async fn each_finds_the_copy_the_other_made() {
    let audit = MemoryAuditSink::new();

    // `ami copy` first, then a launch.
    let (cloud, source) = with_source().await;
    let lc = Lifecycle::new(&cloud, &audit);
    let spec = CopySpec::new(region(FROM), source.clone(), vec![region(TO)]);
    let copied = lc.copy_image(&spec).await.unwrap();
    cloud.reset_counters();
    let launched = lc
        .copy_to_region(&region(FROM), &source, &region(TO))
        .await
        .unwrap();
    assert_eq!(Some(&launched.id), copied.regions[0].image());
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
    let last = audit.records().pop().unwrap();
    assert_eq!(last.outcome, AuditOutcome::Unchanged);

    // A launch first, then `ami copy`.
    let (cloud, source) = with_source().await;
    let lc = Lifecycle::new(&cloud, &audit);
    let launched = lc
        .copy_to_region(&region(FROM), &source, &region(TO))
        .await
        .unwrap();
    cloud.reset_counters();
    let spec = CopySpec::new(region(FROM), source, vec![region(TO)]);
    let copied = lc.copy_image(&spec).await.unwrap();
    assert_eq!(
        copied.regions[0].outcome,
        RegionCopyOutcome::Existing {
            image: launched.id.clone()
        }
    );
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
}

/// The launch's copy request is the documented one: any caller that sends CopyImage with
/// `tags::copy_client_token` and the same parameters is handed the same copy.
#[tokio::test(start_paused = true)]
async fn the_copy_carries_the_documented_token_and_tags() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let launched = Lifecycle::new(&cloud, &audit)
        .copy_to_region(&region(FROM), &source, &region(TO))
        .await
        .unwrap();
    let original = cloud.inspect_image(&region(FROM), &source).unwrap();
    assert_eq!(launched.tag(tags::TAG_SOURCE_IMAGE), Some(source.as_str()));
    assert_eq!(launched.tag(tags::TAG_SOURCE_REGION), Some(FROM));
    assert_eq!(
        launched.name, original.name,
        "the copy keeps the source's name"
    );

    let token =
        tags::copy_client_token(&region(FROM), &source, &region(TO), &original.name, None, 0);
    let mut request = CopyImageRequest::new(
        region(FROM),
        source.clone(),
        region(TO),
        original.name.clone(),
        token,
    );
    request.description = original.description.clone();
    request.tags = tags::carried_tags(&original);
    request
        .tags
        .extend(tags::provenance_tags(&region(FROM), &source));
    assert_eq!(cloud.copy_image(&request).await.unwrap(), launched.id);
}

#[tokio::test(start_paused = true)]
async fn into_the_source_region_the_source_is_the_answer() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let image = Lifecycle::new(&cloud, &audit)
        .copy_to_region(&region(FROM), &source, &region(FROM))
        .await
        .unwrap();
    assert_eq!(image.id, source);
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_copy_is_removed_and_named_in_the_error() {
    let (cloud, source) = with_source().await;
    let before = cloud.image_count(&region(TO));
    let injector = cloud.clone();
    // When the copy starts, the next look at it fails for good.
    let progress = Recorder::with_hook(move |e| {
        if matches!(e, ProgressEvent::CopyStarted { .. }) {
            injector.fail_next(op::DESCRIBE_IMAGES, 1, CloudErrorKind::Service);
        }
    });
    let audit = MemoryAuditSink::new();
    let err = Lifecycle::new(&cloud, &audit)
        .progress(&progress)
        .copy_to_region(&region(FROM), &source, &region(TO))
        .await
        .unwrap_err();
    let LifecycleError::ImageFailed {
        region: failed_in,
        cleanup,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(failed_in, &region(TO));
    assert_eq!(cleanup, &amiref_lifecycle::Cleanup::Removed);
    assert_eq!(
        cloud.image_count(&region(TO)),
        before,
        "nothing left behind"
    );
    // The call itself succeeded (intent, outcome); the copy then failed and was removed.
    let records = audit.records();
    assert_eq!(records[0].outcome, AuditOutcome::Intended);
    assert_eq!(records[1].outcome, AuditOutcome::Succeeded);
    assert!(matches!(
        records.last().unwrap().outcome,
        AuditOutcome::Failed { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_missing_source_is_refused() {
    let (cloud, _) = with_source().await;
    let audit = MemoryAuditSink::new();
    let missing = crate::ami("ami-0bbbbbbbbbbbbbbb0");
    let err = Lifecycle::new(&cloud, &audit)
        .copy_to_region(&region(FROM), &missing, &region(TO))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LifecycleError::ImageNotFound { image, .. } if image == &missing),
        "{err}"
    );
    assert!(matches!(
        audit.records()[0].outcome,
        AuditOutcome::Refused { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn the_lifecycles_retry_policy_decides_what_is_retried() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    cloud.fail_next(op::COPY_IMAGE, 1, CloudErrorKind::Throttled);
    let err = Lifecycle::new(&cloud, &audit)
        .retry_policy(RetryPolicy::never())
        .copy_to_region(&region(FROM), &source, &region(TO))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LifecycleError::Cloud { source, .. } if source.kind == CloudErrorKind::Throttled),
        "{err}"
    );

    cloud.fail_next(op::COPY_IMAGE, 1, CloudErrorKind::Throttled);
    Lifecycle::new(&cloud, &audit)
        .copy_to_region(&region(FROM), &source, &region(TO))
        .await
        .unwrap();
}

/// A hundred launches that need one copy at once (a class starting together) make one
/// CopyImage request and hold one copy slot: another image's copy into the same region is not
/// queued behind the ninety-nine that wait for the first.
#[tokio::test(start_paused = true)]
async fn a_hundred_launches_of_one_copy_make_one_request_and_hold_one_slot() {
    let (cloud, source) = with_source().await;
    cloud.set_latency(Duration::from_millis(50));
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit).copy_limits(Arc::new(CopyLimits::new(2, 25)));
    let (from, to) = (region(FROM), region(TO));
    let other: amiref_core::AmiId = crate::BASE.parse().unwrap();
    cloud.reset_counters();

    let started = tokio::time::Instant::now();
    let launches = futures::future::join_all((0..100).map(|_| async {
        let image = lc.copy_to_region(&from, &source, &to).await.unwrap();
        (image.id, started.elapsed())
    }));
    let other_copy = async {
        let image = lc.copy_to_region(&from, &other, &to).await.unwrap();
        (image.id, started.elapsed())
    };
    let (launched, (other_id, other_took)) = tokio::join!(launches, other_copy);

    let ids: std::collections::BTreeSet<_> = launched.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 1, "one copy for every launch");
    assert!(!ids.contains(&other_id));
    assert_eq!(
        cloud.counters().operation(op::COPY_IMAGE),
        2,
        "one request per image"
    );
    let first_done = launched.iter().map(|(_, took)| *took).min().unwrap();
    assert!(
        other_took <= first_done + Duration::from_secs(1),
        "the other copy ran beside the first ({other_took:?} vs {first_done:?}), not after it"
    );
}
