//! Copying to many regions: tags, limits, resumption, failures, concurrency.

use std::collections::BTreeMap;
use std::sync::Arc;

use amiref_core::{AmiId, CloudErrorKind, ImageState, Region};
use amiref_lifecycle::{
    AuditError, AuditOutcome, AuditRecord, AuditSink, CompletionDuration, CopyLimits, CopySpec,
    CreateImageSpec, Encryption, Lifecycle, LifecycleError, MemoryAuditSink, ProgressEvent,
    RegionCopyOutcome, tags,
};
use amiref_memory::{MemoryCloud, op};

use crate::{Recorder, instance, lineage, region, world};

const DESTINATIONS: [&str; 3] = ["us-west-2", "eu-west-1", "ap-southeast-1"];

fn destinations() -> Vec<Region> {
    DESTINATIONS.iter().map(|r| region(r)).collect()
}

/// A world with an available image of the template in us-east-1, made through the library.
pub(crate) async fn with_source() -> (MemoryCloud, AmiId) {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let spec = CreateImageSpec::new(
        region("us-east-1"),
        instance(),
        "Python ML v2.1.0",
        lineage(),
    );
    let made = Lifecycle::new(&cloud, &audit)
        .create_image(&spec)
        .await
        .unwrap();
    let id = made.image.unwrap();
    let mut team = BTreeMap::new();
    team.insert("team".to_owned(), "research-computing".to_owned());
    amiref_core::ImageStore::create_tags(&cloud, &region("us-east-1"), &id, &team)
        .await
        .unwrap();
    (cloud, id)
}

fn own_images_in(cloud: &MemoryCloud, r: &str) -> usize {
    cloud.image_count(&region(r))
}

#[tokio::test(start_paused = true)]
async fn copies_into_every_region_with_tags_and_provenance() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let progress = Recorder::default();
    let lc = Lifecycle::new(&cloud, &audit).progress(&progress);

    let report = lc
        .copy_image(&CopySpec::new(
            region("us-east-1"),
            source.clone(),
            destinations(),
        ))
        .await
        .unwrap();

    assert!(!report.has_failures());
    for entry in &report.regions {
        let RegionCopyOutcome::Copied { image } = &entry.outcome else {
            panic!("{entry:?}");
        };
        let copy = cloud.inspect_image(&entry.region, image).unwrap();
        assert_eq!(copy.state, ImageState::Available);
        assert_eq!(copy.name, "Python ML v2.1.0");
        assert_eq!(copy.tag(tags::TAG_SOURCE_IMAGE), Some(source.as_str()));
        assert_eq!(copy.tag(tags::TAG_SOURCE_REGION), Some("us-east-1"));
        assert_eq!(
            copy.tag(tags::TAG_TEMPLATE),
            Some("python-ml"),
            "lineage carried over"
        );
        assert_eq!(
            copy.tag("team"),
            Some("research-computing"),
            "other tags carried over"
        );
    }
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 3);
    for r in DESTINATIONS {
        assert!(
            progress.events().iter().any(|e| matches!(
                e, ProgressEvent::Available { region, .. } if region.as_str() == r
            )),
            "{r} reported"
        );
    }
    // Per region: the intent before CopyImage, its outcome with the copy's id, and the
    // region's result once the copy is available.
    let records = audit.records();
    assert_eq!(records.len(), 9, "three records per region");
    let results: Vec<_> = records
        .iter()
        .filter(|r| r.operation_id.is_none())
        .collect();
    assert_eq!(results.len(), 3, "one result per region");
    assert!(results.iter().all(|r| r.outcome == AuditOutcome::Succeeded));
    for intent in records
        .iter()
        .filter(|r| r.outcome == AuditOutcome::Intended)
    {
        let concluded = records
            .iter()
            .find(|r| r.operation_id == intent.operation_id && r.outcome == AuditOutcome::Succeeded)
            .expect("each intent concluded");
        let copy = concluded.details["image"].as_str().unwrap();
        assert!(
            results
                .iter()
                .any(|r| r.target.as_deref() == Some(copy) && r.region == intent.region),
            "the concluded id is the region's copy"
        );
        assert!(intent.details["client_token"].is_string());
    }
}

#[tokio::test(start_paused = true)]
async fn a_rerun_finds_the_copies_and_copies_nothing() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let spec = CopySpec::new(region("us-east-1"), source, destinations());
    let first = lc.copy_image(&spec).await.unwrap();
    cloud.reset_counters();

    let second = lc.copy_image(&spec).await.unwrap();

    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
    for (a, b) in first.regions.iter().zip(&second.regions) {
        assert!(
            matches!(b.outcome, RegionCopyOutcome::Existing { .. }),
            "{b:?}"
        );
        assert_eq!(a.image(), b.image());
    }
}

#[tokio::test(start_paused = true)]
async fn the_source_region_is_not_copied_into_and_a_dry_run_copies_nothing() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let mut regions = destinations();
    regions.push(region("us-east-1"));
    let report = lc
        .copy_image(&CopySpec::new(region("us-east-1"), source.clone(), regions).dry_run(true))
        .await
        .unwrap();
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
    assert_eq!(
        report.regions[3].outcome,
        RegionCopyOutcome::Source { image: source }
    );
    assert!(
        report.regions[..3]
            .iter()
            .all(|r| r.outcome == RegionCopyOutcome::Planned)
    );
    assert!(audit.records().iter().all(|r| r.dry_run));
}

#[tokio::test(start_paused = true)]
async fn a_failed_copy_request_fails_one_region_and_a_rerun_resumes_it() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let spec = CopySpec::new(region("us-east-1"), source, destinations());
    cloud.fail_next(op::COPY_IMAGE, 1, CloudErrorKind::Service);

    let first = lc.copy_image(&spec).await.unwrap();

    let failed: Vec<_> = first
        .regions
        .iter()
        .filter(|r| matches!(r.outcome, RegionCopyOutcome::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        own_images_in(&cloud, failed[0].region.as_str()),
        0,
        "nothing left behind"
    );

    let second = lc.copy_image(&spec).await.unwrap();
    assert!(!second.has_failures());
    for r in DESTINATIONS {
        assert_eq!(own_images_in(&cloud, r), 1, "exactly one copy in {r}");
    }
    let resumed = second
        .regions
        .iter()
        .find(|r| r.region == failed[0].region)
        .unwrap();
    assert!(matches!(resumed.outcome, RegionCopyOutcome::Copied { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_failure_mid_copy_removes_that_copy_only() {
    let (cloud, source) = with_source().await;
    let injector = cloud.clone();
    let armed = std::sync::atomic::AtomicBool::new(true);
    // When the first copy starts, the next look at an image fails for good.
    let progress = Recorder::with_hook(move |e| {
        if matches!(e, ProgressEvent::CopyStarted { .. })
            && armed.swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            injector.fail_next(op::DESCRIBE_IMAGES, 1, CloudErrorKind::Service);
        }
    });
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit).progress(&progress);
    let spec = CopySpec::new(region("us-east-1"), source, destinations());

    let report = lc.copy_image(&spec).await.unwrap();

    let failed: Vec<_> = report
        .regions
        .iter()
        .filter(|r| matches!(r.outcome, RegionCopyOutcome::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    let RegionCopyOutcome::Failed { error } = &failed[0].outcome else {
        unreachable!()
    };
    assert!(error.contains("deregistered"), "{error}");
    assert_eq!(own_images_in(&cloud, failed[0].region.as_str()), 0);
    assert!(
        progress
            .events()
            .iter()
            .any(|e| matches!(e, ProgressEvent::CleanedUp { .. }))
    );
    assert!(
        audit
            .records()
            .iter()
            .any(|r| matches!(r.outcome, AuditOutcome::Failed { .. }))
    );

    // The re-run copies into the failed region with a fresh token: EC2 would otherwise hand
    // back the removed copy.
    let again = lc.copy_image(&spec).await.unwrap();
    assert!(!again.has_failures(), "{again:#?}");
    for r in DESTINATIONS {
        assert_eq!(own_images_in(&cloud, r), 1, "exactly one copy in {r}");
    }
}

#[tokio::test(start_paused = true)]
async fn copies_stay_within_the_concurrency_limits() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let progress = Recorder::default();
    // One copy at a time out of us-east-1.
    let lc = Lifecycle::new(&cloud, &audit)
        .progress(&progress)
        .copy_limits(Arc::new(CopyLimits::new(50, 1)));

    let report = lc
        .copy_image(&CopySpec::new(region("us-east-1"), source, destinations()))
        .await
        .unwrap();
    assert!(!report.has_failures());

    let mut in_flight = 0;
    let mut peak = 0;
    for e in progress.events() {
        match e {
            ProgressEvent::CopyStarted { .. } => in_flight += 1,
            ProgressEvent::Available { .. } => in_flight -= 1,
            _ => {}
        }
        peak = peak.max(in_flight);
    }
    assert_eq!(peak, 1);
}

#[tokio::test(start_paused = true)]
async fn encrypted_copies_use_the_key_of_their_region() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let kms_keys = BTreeMap::from([(
        region("eu-west-1"),
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
    )]);
    let report = lc
        .copy_image(
            &CopySpec::new(region("us-east-1"), source, vec![region("eu-west-1")])
                .encryption(Encryption::Encrypt { kms_keys }),
        )
        .await
        .unwrap();
    let copy = cloud
        .inspect_image(&region("eu-west-1"), report.regions[0].image().unwrap())
        .unwrap();
    assert!(copy.is_encrypted());
    let details = &audit.records()[0].details;
    assert!(
        details.to_string().contains("key/1234abcd"),
        "the key is recorded: {details}"
    );
}

#[tokio::test(start_paused = true)]
async fn two_create_multi_runs_at_once_make_one_copy_per_region() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let limits = Arc::new(CopyLimits::ec2());
    let a = Lifecycle::new(&cloud, &audit).copy_limits(Arc::clone(&limits));
    let b = Lifecycle::new(&cloud, &audit).copy_limits(limits);
    let spec = CreateImageSpec::new(
        region("us-east-1"),
        instance(),
        "Python ML v2.1.0",
        lineage(),
    );
    let mut all = destinations();
    all.insert(0, region("us-east-1"));

    let (ra, rb) = tokio::join!(
        a.create_multi(&spec, &all, Encryption::AsSource),
        b.create_multi(&spec, &all, Encryption::AsSource)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());

    assert_eq!(ra.created.image, rb.created.image);
    assert_eq!(
        own_images_in(&cloud, "us-east-1"),
        2,
        "the base image and one new image"
    );
    for r in DESTINATIONS {
        assert_eq!(own_images_in(&cloud, r), 1, "exactly one copy in {r}");
    }
    let ca = ra.copies.unwrap();
    let cb = rb.copies.unwrap();
    for (x, y) in ca.regions.iter().zip(&cb.regions) {
        assert_eq!(x.image(), y.image());
    }
}

#[tokio::test(start_paused = true)]
async fn throttled_copy_requests_are_retried() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    cloud.fail_next(op::COPY_IMAGE, 2, CloudErrorKind::Throttled);

    let report = lc
        .copy_image(&CopySpec::new(region("us-east-1"), source, destinations()))
        .await
        .unwrap();

    assert!(!report.has_failures(), "{report:#?}");
    assert_eq!(
        cloud.counters().operation(op::COPY_IMAGE),
        5,
        "3 copies and 2 retries"
    );
    for r in DESTINATIONS {
        assert_eq!(own_images_in(&cloud, r), 1, "exactly one copy in {r}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_copy_of_a_missing_image_is_refused_and_recorded() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let err = lc
        .copy_image(&CopySpec::new(
            region("us-east-1"),
            crate::ami("ami-0bbbbbbbbbbbbbbb0"),
            destinations(),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].target.as_deref(), Some("ami-0bbbbbbbbbbbbbbb0"));
    assert!(matches!(records[0].outcome, AuditOutcome::Refused { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_time_based_copy_asks_ec2_for_its_duration_and_states_the_extra_cost() {
    let (cloud, source) = with_source().await;
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    // Four hours: longer than the default 90-minute wait, which a time-based copy extends.
    let four_hours = CompletionDuration::from_minutes(240).unwrap();
    let spec = CopySpec::new(region("us-east-1"), source.clone(), destinations())
        .completion_duration(Some(four_hours))
        .copy_image_tags(true);

    let planned = lc.copy_image(&spec.clone().dry_run(true)).await.unwrap();
    let cost = planned
        .time_based
        .clone()
        .expect("the dry run states the cost");
    assert_eq!(cost.completion_duration_minutes, 240);
    assert_eq!(cost.gib, 3 * 8, "three regions of the 8 GiB source");
    assert!((cost.extra_usd_at_most - 24.0 * 0.02).abs() < 1e-9);

    let started = tokio::time::Instant::now();
    let report = lc.copy_image(&spec).await.unwrap();
    assert!(!report.has_failures(), "{report:#?}");
    assert_eq!(report.time_based, planned.time_based);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(240 * 60),
        "the in-process cloud takes the duration asked for"
    );
    let intents: Vec<_> = audit
        .records()
        .into_iter()
        .filter(|r| r.outcome == AuditOutcome::Intended)
        .collect();
    assert_eq!(intents.len(), 3);
    for intent in intents {
        assert_eq!(intent.details["completion_duration_minutes"], 240);
        assert_eq!(intent.details["copy_image_tags"], true);
    }
    // A best-effort copy states no extra cost.
    let plain = lc
        .copy_image(&CopySpec::new(region("us-east-1"), source, destinations()).dry_run(true))
        .await
        .unwrap();
    assert_eq!(plain.time_based, None);
}

#[test]
fn completion_durations_are_quarter_hours_from_15_minutes_to_48_hours() {
    for good in [15, 30, 60, 2880] {
        assert_eq!(
            CompletionDuration::from_minutes(good).unwrap().minutes(),
            good
        );
    }
    for bad in [0, 10, 20, 2895, 3000] {
        let err = CompletionDuration::from_minutes(bad).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                LifecycleError::InvalidInput {
                    field: "completion duration",
                    ..
                }
            ),
            "{text}"
        );
        assert!(
            text.contains(&format!("{bad} minutes")) && text.contains("steps of 15"),
            "{text}"
        );
    }
    // A spec read from JSON is checked the same way.
    let json = |minutes: u32| {
        serde_json::json!({
            "source_region": "us-east-1", "source_image": "ami-0aaaaaaaaaaaaaaa0",
            "destinations": ["eu-west-1"], "name": null, "encryption": {"encryption": "as_source"},
            "extra_tags": {}, "dry_run": false, "completion_duration_minutes": minutes
        })
    };
    assert!(serde_json::from_value::<CopySpec>(json(45)).is_ok());
    let err = serde_json::from_value::<CopySpec>(json(50)).unwrap_err();
    assert!(err.to_string().contains("completion duration"), "{err}");
}

/// Writes the first `ok` records, then fails like a full disk.
struct FillsUp {
    ok: usize,
    written: std::sync::Mutex<Vec<AuditRecord>>,
}

impl FillsUp {
    fn after(ok: usize) -> Self {
        Self {
            ok,
            written: Default::default(),
        }
    }
}

/// Copies the source into every destination with `log`, which fails: the audit error.
async fn copy_on_a_full_disk(cloud: &MemoryCloud, source: AmiId, log: &FillsUp) -> LifecycleError {
    let err = Lifecycle::new(cloud, log)
        .copy_image(&CopySpec::new(region("us-east-1"), source, destinations()))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::Audit { .. }), "{err}");
    err
}

impl AuditSink for FillsUp {
    fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let mut written = self.written.lock().unwrap();
        if written.len() >= self.ok {
            return Err(AuditError::Io {
                path: "/full/audit.jsonl".into(),
                source: std::io::Error::other("no space left on device"),
            });
        }
        written.push(record.clone());
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_audit_log_that_fails_before_the_call_means_no_copy() {
    let (cloud, source) = with_source().await;
    cloud.reset_counters();
    let full = FillsUp::after(0);
    copy_on_a_full_disk(&cloud, source, &full).await;
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
}

#[tokio::test(start_paused = true)]
async fn an_audit_log_that_fails_after_the_call_still_names_every_copy() {
    let (cloud, source) = with_source().await;
    // Every call takes as long, so the regions go in step: the three intents are written
    // before any CopyImage answers; the outcomes are not written.
    cloud.set_latency(std::time::Duration::from_millis(50));
    let full = FillsUp::after(3);
    let err = copy_on_a_full_disk(&cloud, source, &full).await;
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 3);
    let text = err.to_string();
    for r in DESTINATIONS {
        let copy = amiref_core::ImageCatalog::search_images(
            &cloud,
            &region(r),
            &amiref_core::ImageFilter::owned_by([amiref_core::Owner::Me])
                .states([ImageState::Pending, ImageState::Available]),
        )
        .await
        .unwrap();
        assert_eq!(copy.len(), 1, "{r}");
        assert!(
            text.contains(&format!("{r}: CopyImage made {}", copy[0].id)),
            "{r}'s copy is named: {text}"
        );
    }
    let intents = full.written.lock().unwrap().clone();
    assert!(intents.iter().all(|r| r.outcome == AuditOutcome::Intended));
    assert!(
        intents
            .iter()
            .all(|r| r.details["client_token"].is_string())
    );
}
