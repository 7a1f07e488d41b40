//! The retention policy: what it retires, what it keeps, and every refusal, one test each.
//! The two-step retirement and EC2's own protections are in `retire_steps`.

use amiref_core::{Architecture, CloudErrorKind, Image, LaunchPermission, ReferenceKind};
use amiref_lifecycle::{
    AuditOutcome, Decision, FlatSnapshotPrice, KeepReason, Lifecycle, MemoryAuditSink,
    ProtectedImages, Protection, RetentionPolicy, RetireReport, RetireSpec, tags,
};
use amiref_memory::{ImageSeed, InstanceSeed, MemoryCloud, MemoryCloudBuilder, op};
use amiref_template::Template;
use chrono::{Duration, TimeZone, Utc};

use crate::{ami, me, other_account, region};

/// Five versions of python-ml in us-east-1, v1 oldest, made on the first five days of 2025,
/// 10 GiB each.
pub(crate) fn version_id(n: u8) -> String {
    format!("ami-0000000000000000{n}")
}

pub(crate) fn versions() -> MemoryCloudBuilder {
    versions_changed(|_, _| {})
}

/// `versions()` with each image changed by `change(n, image)` before it is seeded.
pub(crate) fn versions_changed(change: impl Fn(u8, &mut Image)) -> MemoryCloudBuilder {
    let seeds = (1..=5).map(|n| {
        let mut image = Image::new(
            ami(&version_id(n)),
            region("us-east-1"),
            format!("python-ml v{n}"),
            me(),
            Architecture::X86_64,
            Utc.with_ymd_and_hms(2025, 1, u32::from(n), 0, 0, 0)
                .unwrap(),
        );
        image
            .tags
            .insert(tags::TAG_TEMPLATE.into(), "python-ml".into());
        change(n, &mut image);
        ImageSeed::new(image).root_volume(10, false)
    });
    crate::world().images(seeds.collect::<Vec<_>>())
}

/// Keep the newest two, retiring in two steps (the default grace).
pub(crate) fn keep_two() -> RetireSpec {
    RetireSpec::new(
        "python-ml",
        vec![region("us-east-1")],
        RetentionPolicy::keep_newest(2),
    )
}

/// Keep the newest two, deregistering at once (no grace).
pub(crate) fn keep_two_at_once() -> RetireSpec {
    RetireSpec::new(
        "python-ml",
        vec![region("us-east-1")],
        RetentionPolicy::keep_newest(2).grace(Duration::zero()),
    )
}

pub(crate) async fn run(cloud: &MemoryCloud, spec: &RetireSpec) -> RetireReport {
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    Lifecycle::new(cloud, &audit)
        .clock(move || clock.now())
        .retire(spec, &FlatSnapshotPrice(0.05))
        .await
        .unwrap()
}

pub(crate) fn decision_of(report: &RetireReport, n: u8) -> Decision {
    report
        .entries
        .iter()
        .find(|e| e.image.as_str() == version_id(n))
        .unwrap()
        .decision
        .clone()
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_reports_what_would_go_and_touches_nothing() {
    let cloud = versions().build().unwrap();
    let report = run(&cloud, &keep_two()).await;
    assert!(!report.executed);
    assert_eq!(
        decision_of(&report, 5),
        Decision::Keep {
            reason: KeepReason::AmongNewest { rank: 1 }
        }
    );
    assert_eq!(
        decision_of(&report, 4),
        Decision::Keep {
            reason: KeepReason::AmongNewest { rank: 2 }
        }
    );
    let retire_after = cloud.now() + Duration::days(14);
    for n in 1..=3 {
        assert_eq!(
            decision_of(&report, n),
            Decision::Disable { retire_after },
            "v{n}: disabled first, by default for 14 days"
        );
    }
    assert_eq!(report.grace_secs, 14 * 86_400);
    assert_eq!(
        report.freed_gib, 0,
        "nothing is deregistered by a first step"
    );
    assert_eq!(report.scheduled_gib, 30);
    assert!((report.scheduled_monthly_saving_usd - 1.5).abs() < 1e-9);
    for operation in [op::DEREGISTER_IMAGE, op::DISABLE_IMAGE, op::CREATE_TAGS] {
        assert_eq!(cloud.counters().operation(operation), 0, "{operation}");
    }
    assert_eq!(cloud.image_count(&region("us-east-1")), 6);

    let at_once = run(&cloud, &keep_two_at_once()).await;
    for n in 1..=3 {
        assert_eq!(decision_of(&at_once, n), Decision::Retire, "v{n}");
    }
    assert_eq!(at_once.freed_gib, 30);
    assert!((at_once.monthly_saving_usd - 1.5).abs() < 1e-9);
    assert_eq!(cloud.counters().operation(op::DEREGISTER_IMAGE), 0);
}

#[tokio::test(start_paused = true)]
async fn executing_deregisters_and_deletes_snapshots_and_a_rerun_does_nothing() {
    let cloud = versions().build().unwrap();
    let snapshot = cloud
        .inspect_image(&region("us-east-1"), &ami(&version_id(1)))
        .unwrap()
        .snapshot_ids()
        .next()
        .unwrap()
        .clone();
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    let lc = Lifecycle::new(&cloud, &audit).clock(move || clock.now());

    let report = lc
        .retire(&keep_two_at_once().execute(true), &FlatSnapshotPrice(0.05))
        .await
        .unwrap();

    assert!(report.executed);
    assert_eq!(report.freed_gib, 30);
    for n in 1..=3 {
        assert!(
            cloud
                .inspect_image(&region("us-east-1"), &ami(&version_id(n)))
                .is_none()
        );
    }
    assert!(!cloud.snapshot_exists(&region("us-east-1"), &snapshot));
    // Each deregistration written ahead: the intent, then its outcome with the same id.
    let records = audit.records();
    assert_eq!(records.len(), 6);
    for pair in records.chunks(2) {
        assert_eq!(pair[0].outcome, AuditOutcome::Intended);
        assert_eq!(pair[1].outcome, AuditOutcome::Succeeded);
        assert_eq!(pair[0].operation_id, pair[1].operation_id);
        assert!(pair.iter().all(|r| r.operation == "retire"));
        assert_eq!(pair[0].details["step"], "deregister");
    }

    let again = lc
        .retire(&keep_two_at_once().execute(true), &FlatSnapshotPrice(0.05))
        .await
        .unwrap();
    assert_eq!(again.freed_gib, 0);
    assert_eq!(again.entries.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_age_limit_keeps_young_images_and_at_least_one() {
    let cloud = versions().build().unwrap();
    // Every version is a year old: an age rule alone would retire them all.
    let spec = RetireSpec::new(
        "python-ml",
        vec![region("us-east-1")],
        RetentionPolicy::younger_than(Duration::days(30)),
    );
    let report = run(&cloud, &spec).await;
    assert_eq!(
        decision_of(&report, 5),
        Decision::Keep {
            reason: KeepReason::Minimum
        }
    );
    for n in 1..=4 {
        assert!(
            matches!(decision_of(&report, n), Decision::Disable { .. }),
            "v{n}"
        );
    }
    let spec = RetireSpec::new(
        "python-ml",
        vec![region("us-east-1")],
        RetentionPolicy::younger_than(Duration::days(364)),
    );
    let report = run(&cloud, &spec).await;
    assert_eq!(
        decision_of(&report, 4),
        Decision::Keep {
            reason: KeepReason::YoungerThanMaxAge
        }
    );
}

#[tokio::test(start_paused = true)]
async fn refuses_an_image_an_instance_runs_from() {
    let cloud = versions()
        .instance(InstanceSeed::new(
            "i-0fedcba9876543210".parse().unwrap(),
            region("us-east-1"),
            ami(&version_id(1)),
            "m5.large".parse().unwrap(),
        ))
        .build()
        .unwrap();
    let report = run(&cloud, &keep_two_at_once().execute(true)).await;
    let Decision::Protected { reasons } = decision_of(&report, 1) else {
        panic!()
    };
    // EC2's references and the caller's own look at its instances both name it.
    assert!(
        matches!(
            &reasons[..],
            [Protection::Referenced { references }, Protection::InUse { usage }]
                if usage.instances.len() == 1
                    && references.len() == 1
                    && references[0].kind == ReferenceKind::Instance
        ),
        "{reasons:?}"
    );
    assert!(
        cloud
            .inspect_image(&region("us-east-1"), &ami(&version_id(1)))
            .is_some()
    );
    assert_eq!(report.freed_gib, 20);
}

#[tokio::test(start_paused = true)]
async fn refuses_an_image_a_launch_template_names() {
    let cloud = versions()
        .launch_template(region("us-east-1"), me(), "ml-workers", ami(&version_id(2)))
        .build()
        .unwrap();
    let report = run(&cloud, &keep_two_at_once().execute(true)).await;
    let Decision::Protected { reasons } = decision_of(&report, 2) else {
        panic!()
    };
    assert!(
        matches!(
            &reasons[..],
            [Protection::Referenced { references }, Protection::InUse { usage }]
                if usage.launch_templates == ["ml-workers"]
                    && references[0].kind == ReferenceKind::LaunchTemplate
        ),
        "{reasons:?}"
    );
    assert!(
        cloud
            .inspect_image(&region("us-east-1"), &ami(&version_id(2)))
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn refuses_an_image_a_template_maps() {
    let cloud = versions().build().unwrap();
    let template: Template = serde_json::from_value(serde_json::json!({
        "name": "python-ml-pinned",
        "ami_config": { "ami_mappings": { "us-east-1": version_id(3) } }
    }))
    .unwrap();
    let spec = keep_two().protected(ProtectedImages::new().templates([&template]));
    let report = run(&cloud, &spec).await;
    assert_eq!(
        decision_of(&report, 3),
        Decision::Protected {
            reasons: vec![Protection::MappedByTemplate {
                templates: vec!["python-ml-pinned".into()]
            }]
        }
    );
}

#[tokio::test(start_paused = true)]
async fn refuses_an_image_a_registry_names() {
    let cloud = versions().build().unwrap();
    let spec = keep_two().protected(ProtectedImages::new().registry([ami(&version_id(1))]));
    let report = run(&cloud, &spec).await;
    assert_eq!(
        decision_of(&report, 1),
        Decision::Protected {
            reasons: vec![Protection::InRegistry]
        }
    );
}

#[tokio::test(start_paused = true)]
async fn refuses_a_shared_image_unless_forced() {
    let mut image = Image::new(
        ami("ami-00000000000000000"),
        region("us-east-1"),
        "python-ml v0",
        me(),
        Architecture::X86_64,
        Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).unwrap(),
    );
    image
        .tags
        .insert(tags::TAG_TEMPLATE.into(), "python-ml".into());
    let cloud = versions()
        .image(ImageSeed::new(image).launch_permission(LaunchPermission::Account(other_account())))
        .build()
        .unwrap();
    let report = run(&cloud, &keep_two()).await;
    let shared = report
        .entries
        .iter()
        .find(|e| e.name == "python-ml v0")
        .unwrap();
    assert_eq!(
        shared.decision,
        Decision::Protected {
            reasons: vec![Protection::Shared {
                permissions: vec![LaunchPermission::Account(other_account())]
            }]
        }
    );
    let forced = run(&cloud, &keep_two().force_shared(true)).await;
    let shared = forced
        .entries
        .iter()
        .find(|e| e.name == "python-ml v0")
        .unwrap();
    assert!(
        matches!(shared.decision, Decision::Disable { .. }),
        "never launched, nothing references it: forced, it goes"
    );
}

#[tokio::test(start_paused = true)]
async fn keeps_an_image_with_an_exclusion_tag() {
    let cloud = versions().build().unwrap();
    amiref_core::ImageStore::create_tags(
        &cloud,
        &region("us-east-1"),
        &ami(&version_id(1)),
        &[("keep".to_owned(), "forever".to_owned())].into(),
    )
    .await
    .unwrap();
    let mut spec = keep_two();
    spec.policy = RetentionPolicy::keep_newest(2).exclude_tag("keep", None);
    let report = run(&cloud, &spec).await;
    assert_eq!(
        decision_of(&report, 1),
        Decision::Keep {
            reason: KeepReason::ExcludedByTag { tag: "keep".into() }
        }
    );
}

#[tokio::test(start_paused = true)]
async fn refuses_an_image_whose_use_cannot_be_checked() {
    let cloud = versions().build().unwrap();
    cloud.fail_next(op::DESCRIBE_INSTANCES, 1, CloudErrorKind::AccessDenied);
    let report = run(&cloud, &keep_two_at_once().execute(true)).await;
    let unchecked = report
        .entries
        .iter()
        .filter(|e| matches!(&e.decision, Decision::Protected { reasons } if matches!(reasons[..], [Protection::Unchecked { .. }])))
        .count();
    assert_eq!(unchecked, 1);
    assert_eq!(report.freed_gib, 20);
}

#[tokio::test(start_paused = true)]
async fn savings_use_the_region_price_table() {
    let cloud = versions().build().unwrap();
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    let prices = amiref_regions::Prices::builtin();
    let report = Lifecycle::new(&cloud, &audit)
        .clock(move || clock.now())
        .retire(&keep_two_at_once(), &prices)
        .await
        .unwrap();
    let expected = 30.0 * prices.snapshot_storage_per_gb_month(&region("us-east-1"));
    assert!((report.monthly_saving_usd - expected).abs() < 0.01);
}

#[tokio::test(start_paused = true)]
async fn references_of_all_candidates_are_read_in_one_call() {
    let cloud = versions().build().unwrap();
    run(&cloud, &keep_two()).await;
    assert_eq!(
        cloud.counters().operation(op::DESCRIBE_IMAGE_REFERENCES),
        1,
        "three candidates, one DescribeImageReferences"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_reference_read_protects_every_candidate() {
    let cloud = versions().build().unwrap();
    cloud.fail_next(
        op::DESCRIBE_IMAGE_REFERENCES,
        1,
        CloudErrorKind::AccessDenied,
    );
    let report = run(&cloud, &keep_two_at_once().execute(true)).await;
    for n in 1..=3 {
        assert!(
            matches!(&decision_of(&report, n), Decision::Protected { reasons }
                if matches!(reasons[..], [Protection::Unchecked { .. }])),
            "v{n}: {:?}",
            decision_of(&report, n)
        );
    }
    assert_eq!(cloud.counters().operation(op::DEREGISTER_IMAGE), 0);
}
