//! Retirement on today's EC2: the two steps across the grace period, EC2's deregistration
//! protection, the references it tracks, LastLaunchedTime, disabled images, the Recycle Bin,
//! semver ranking, and `force_shared` against another account's launch.

use amiref_core::{
    Architecture, DeregistrationProtection, Image, ImageGovernance, ImageState, Instances,
    LaunchPermission, RecycleBinRule, RecycleResource, ReferenceKind, RunInstanceRequest,
};
use amiref_lifecycle::{
    AuditError, AuditOutcome, AuditRecord, AuditSink, Decision, FlatSnapshotPrice, KeepReason,
    Lifecycle, LifecycleError, MemoryAuditSink, Protection, RecycleBinRecovery, RetentionPolicy,
    RetireReport, RetireSpec, tags,
};
use amiref_memory::{ImageSeed, MemoryCloud, MemoryCloudBuilder, RecipeSeed, op};
use chrono::{Duration, TimeZone, Utc};

use crate::retire::{
    decision_of, keep_two, keep_two_at_once, run, version_id, versions, versions_changed,
};
use crate::{ami, me, other_account, region};

fn image_in(cloud: &MemoryCloud, n: u8) -> Option<Image> {
    cloud.inspect_image(&region("us-east-1"), &ami(&version_id(n)))
}

async fn execute(cloud: &MemoryCloud, audit: &dyn AuditSink, spec: &RetireSpec) -> RetireReport {
    let clock = cloud.clone();
    Lifecycle::new(cloud, audit)
        .clock(move || clock.now())
        .retire(&spec.clone().execute(true), &FlatSnapshotPrice(0.05))
        .await
        .unwrap()
}

/// `versions()` with version `n` changed before it is seeded.
fn versions_with(n: u8, change: impl Fn(&mut Image)) -> MemoryCloudBuilder {
    versions_changed(move |m, image| {
        if m == n {
            change(image);
        }
    })
}

/// The world's start (the builder's default), from which seeded times are counted.
fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

#[tokio::test(start_paused = true)]
async fn two_steps_disable_then_deregister_after_the_grace_rechecking_protections() {
    let cloud = versions().build().unwrap();
    let audit = MemoryAuditSink::new();
    let start = cloud.now();

    // First run: v1..v3 disabled and tagged; nothing deregistered.
    let first = execute(&cloud, &audit, &keep_two()).await;
    let retire_after = start + Duration::days(14);
    for n in 1..=3 {
        assert_eq!(decision_of(&first, n), Decision::Disable { retire_after });
        let image = image_in(&cloud, n).unwrap();
        assert_eq!(image.state, ImageState::Disabled, "v{n}");
        assert_eq!(
            image.tag(tags::TAG_RETIRE_AFTER),
            Some(
                retire_after
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    .as_str()
            )
        );
    }
    assert_eq!(cloud.counters().operation(op::DISABLE_IMAGE), 3);
    assert_eq!(cloud.counters().operation(op::DEREGISTER_IMAGE), 0);
    let steps: Vec<_> = audit
        .records()
        .iter()
        .filter(|r| r.outcome == AuditOutcome::Intended)
        .map(|r| r.details["step"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(steps, ["disable", "schedule"].repeat(3));

    // A day later: the disabled images are listed, waiting; nothing is called.
    tokio::time::advance(std::time::Duration::from_secs(86_400)).await;
    cloud.reset_counters();
    let waiting = execute(&cloud, &audit, &keep_two()).await;
    for n in 1..=3 {
        assert_eq!(decision_of(&waiting, n), Decision::InGrace { retire_after });
        let entry = waiting
            .entries
            .iter()
            .find(|e| e.image.as_str() == version_id(n))
            .unwrap();
        assert_eq!(entry.state, ImageState::Disabled);
    }
    assert_eq!(waiting.scheduled_gib, 30);
    for operation in [op::DISABLE_IMAGE, op::CREATE_TAGS, op::DEREGISTER_IMAGE] {
        assert_eq!(cloud.counters().operation(operation), 0, "{operation}");
    }

    // During the grace someone protects v3: the second step checks again and spares it.
    cloud
        .enable_deregistration_protection(&region("us-east-1"), &ami(&version_id(3)), false)
        .await
        .unwrap();
    tokio::time::advance(std::time::Duration::from_secs(14 * 86_400)).await;
    let last = execute(&cloud, &audit, &keep_two()).await;
    assert_eq!(decision_of(&last, 1), Decision::Retire);
    assert_eq!(decision_of(&last, 2), Decision::Retire);
    assert!(matches!(
        &decision_of(&last, 3),
        Decision::Protected { reasons }
            if matches!(reasons[..], [Protection::DeregistrationProtected { .. }])
    ));
    assert!(image_in(&cloud, 1).is_none() && image_in(&cloud, 2).is_none());
    assert_eq!(image_in(&cloud, 3).unwrap().state, ImageState::Disabled);
    assert_eq!(last.freed_gib, 20);
}

#[tokio::test(start_paused = true)]
async fn deregistration_protection_is_reported_never_a_mid_run_failure() {
    // v1 protected; v3's cooldown ended yesterday; v2 is turned on and off with the
    // cooldown below, so it is cooling down for 24 hours.
    let cloud = versions_changed(|n, image| {
        image.deregistration_protection = match n {
            1 => Some(DeregistrationProtection::Enabled { cooldown: true }),
            3 => Some(DeregistrationProtection::CoolingDown {
                until: start() - Duration::days(1),
            }),
            _ => return,
        }
    })
    .build()
    .unwrap();
    let (use1, v2) = (region("us-east-1"), ami(&version_id(2)));
    cloud
        .enable_deregistration_protection(&use1, &v2, true)
        .await
        .unwrap();
    cloud
        .disable_deregistration_protection(&use1, &v2)
        .await
        .unwrap();
    assert!(matches!(
        image_in(&cloud, 2).unwrap().deregistration_protection,
        Some(DeregistrationProtection::CoolingDown { .. })
    ));
    let audit = MemoryAuditSink::new();
    let report = execute(&cloud, &audit, &keep_two_at_once()).await;
    for n in [1, 2] {
        assert!(
            matches!(&decision_of(&report, n), Decision::Protected { reasons }
                if matches!(reasons[..], [Protection::DeregistrationProtected { .. }])),
            "v{n}: {:?}",
            decision_of(&report, n)
        );
        assert!(image_in(&cloud, n).is_some());
    }
    assert_eq!(decision_of(&report, 3), Decision::Retire);
    assert_eq!(
        report.failures().count(),
        0,
        "no deregistration was refused"
    );
    assert_eq!(cloud.counters().operation(op::DEREGISTER_IMAGE), 1);
}

#[tokio::test(start_paused = true)]
async fn an_image_builder_recipe_reference_protects_it() {
    let cloud = versions()
        .recipe(RecipeSeed::new(
            region("us-east-1"),
            me(),
            "ml-recipe",
            "1.0.0",
            ami(&version_id(3)),
        ))
        .build()
        .unwrap();
    let report = run(&cloud, &keep_two_at_once()).await;
    let Decision::Protected { reasons } = decision_of(&report, 3) else {
        panic!("{:?}", decision_of(&report, 3))
    };
    // Only EC2's references know of a recipe: the caller's own look finds nothing.
    assert!(
        matches!(&reasons[..], [Protection::Referenced { references }]
            if references[0].kind == ReferenceKind::ImageRecipe),
        "{reasons:?}"
    );
    assert_eq!(decision_of(&report, 2), Decision::Retire);
}

#[tokio::test(start_paused = true)]
async fn a_recent_launch_keeps_an_image_when_the_policy_asks() {
    // v2 was launched from five days ago, v1 sixty days ago.
    let cloud = versions_changed(|n, image| {
        let days = match n {
            2 => 5,
            1 => 60,
            _ => return,
        };
        image.last_launched = Some(start() - Duration::days(days));
    })
    .build()
    .unwrap();
    let policy = RetentionPolicy::keep_newest(2)
        .keep_launched_within(Duration::days(30))
        .grace(Duration::zero());
    let spec = RetireSpec::new("python-ml", vec![region("us-east-1")], policy);
    let report = run(&cloud, &spec).await;
    let launched = start() - Duration::days(5);
    assert_eq!(
        decision_of(&report, 2),
        Decision::Protected {
            reasons: vec![Protection::RecentlyLaunched {
                last_launched: launched
            }]
        }
    );
    assert_eq!(decision_of(&report, 1), Decision::Retire);
    let entry = report
        .entries
        .iter()
        .find(|e| e.image.as_str() == version_id(1));
    assert!(entry.unwrap().last_launched.is_some());
    // Without the option, a private image's launches do not keep it.
    assert_eq!(
        decision_of(&run(&cloud, &keep_two_at_once()).await, 2),
        Decision::Retire
    );
}

#[tokio::test(start_paused = true)]
async fn disabled_images_are_in_the_report() {
    let cloud = versions_with(4, |i| i.state = ImageState::Disabled)
        .build()
        .unwrap();
    let report = run(&cloud, &keep_two()).await;
    let entry = report
        .entries
        .iter()
        .find(|e| e.image.as_str() == version_id(4))
        .expect("the disabled image is listed");
    assert_eq!(entry.state, ImageState::Disabled);
    // Disabled by hand (no retire-after tag) and among the newest two: kept.
    assert_eq!(
        entry.decision,
        Decision::Keep {
            reason: KeepReason::AmongNewest { rank: 2 }
        }
    );
    assert_eq!(report.entries.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_disabled_image_without_the_tag_is_only_scheduled() {
    let cloud = versions_with(1, |i| i.state = ImageState::Disabled)
        .build()
        .unwrap();
    let audit = MemoryAuditSink::new();
    let report = execute(&cloud, &audit, &keep_two()).await;
    assert!(matches!(decision_of(&report, 1), Decision::Disable { .. }));
    assert_eq!(
        cloud.counters().operation(op::DISABLE_IMAGE),
        2,
        "v2 and v3 only: v1 is disabled already"
    );
    assert!(
        image_in(&cloud, 1)
            .unwrap()
            .tag(tags::TAG_RETIRE_AFTER)
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn the_report_says_what_the_recycle_bin_keeps() {
    let mut snapshots = RecycleBinRule::region_level("snaps", RecycleResource::Snapshot, 7);
    snapshots.exclude_tags = vec![amiref_core::RuleTag::new("scratch", None)];
    let cloud = versions()
        .recycle_bin_rule(
            region("us-east-1"),
            RecycleBinRule::region_level("images", RecycleResource::Image, 14),
        )
        .recycle_bin_rule(region("us-east-1"), snapshots)
        .build()
        .unwrap();
    let now = cloud.now();
    let audit = MemoryAuditSink::new();
    let report = execute(&cloud, &audit, &keep_two_at_once()).await;
    let entry = report
        .entries
        .iter()
        .find(|e| e.image.as_str() == version_id(1))
        .unwrap();
    let Some(RecycleBinRecovery::Checked {
        image: Some(image),
        snapshots: Some(snaps),
    }) = &entry.recycle_bin
    else {
        panic!("{:?}", entry.recycle_bin)
    };
    assert_eq!((image.rule.as_str(), image.retention_days), ("images", 14));
    assert_eq!(image.recoverable_until, now + Duration::days(14));
    assert_eq!(snaps.recoverable_until, now + Duration::days(7));
    // The cloud agrees: the deregistered image is in its Recycle Bin until then.
    let bin = cloud.recycle_bin(&region("us-east-1"));
    let kept = bin
        .images
        .iter()
        .find(|r| r.image.id.as_str() == version_id(1))
        .expect("in the Recycle Bin");
    assert_eq!(kept.recoverable_until, image.recoverable_until);
    // Kept images say nothing about the Recycle Bin.
    let newest = report
        .entries
        .iter()
        .find(|e| e.image.as_str() == version_id(5));
    assert_eq!(newest.unwrap().recycle_bin, None);
}

#[tokio::test(start_paused = true)]
async fn without_rules_a_retired_image_is_gone_for_good_and_says_so() {
    let cloud = versions().build().unwrap();
    let report = run(&cloud, &keep_two()).await;
    let entry = report
        .entries
        .iter()
        .find(|e| e.image.as_str() == version_id(1))
        .unwrap();
    assert_eq!(
        entry.recycle_bin,
        Some(RecycleBinRecovery::Checked {
            image: None,
            snapshots: None
        })
    );
    assert_eq!(
        cloud.counters().operation(op::LIST_RULES),
        1,
        "once per region"
    );
}

#[tokio::test(start_paused = true)]
async fn versions_rank_by_semver_so_a_rebuilt_old_version_is_not_the_newest() {
    let version = |n: u8, v: &'static str| {
        move |i: &mut Image| {
            i.tags.insert(tags::TAG_TEMPLATE_VERSION.into(), v.into());
            // v2.1.1 was built first; 2.0.6 rebuilt a month later.
            i.creation_date = Utc
                .with_ymd_and_hms(2025, u32::from(n), 1, 0, 0, 0)
                .unwrap();
        }
    };
    let mut rebuilt = Image::new(
        ami("ami-000000000000000a6"),
        region("us-east-1"),
        "python-ml 2.0.6 rebuilt",
        me(),
        Architecture::X86_64,
        start(),
    );
    rebuilt
        .tags
        .insert(tags::TAG_TEMPLATE.into(), "python-ml".into());
    version(2, "2.0.6")(&mut rebuilt);
    let cloud = versions_with(1, version(1, "2.1.1"))
        .image(ImageSeed::new(rebuilt).root_volume(10, false))
        .build()
        .unwrap();
    let spec = RetireSpec::new(
        "python-ml",
        vec![region("us-east-1")],
        RetentionPolicy::keep_newest(1),
    );
    let report = run(&cloud, &spec).await;
    assert_eq!(report.entries[0].image, ami(&version_id(1)), "2.1.1 first");
    assert_eq!(report.entries[0].version.as_deref(), Some("2.1.1"));
    assert_eq!(
        report.entries[0].decision,
        Decision::Keep {
            reason: KeepReason::AmongNewest { rank: 1 }
        }
    );
    assert_eq!(report.entries[1].image, ami("ami-000000000000000a6"));
    assert!(matches!(
        report.entries[1].decision,
        Decision::Disable { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn force_shared_never_removes_an_image_another_account_launched_recently() {
    let cloud = versions().build().unwrap();
    let use1 = region("us-east-1");
    let shared = ami(&version_id(1));
    amiref_core::ImageStore::add_launch_permissions(
        &cloud,
        &use1,
        &shared,
        &[LaunchPermission::Account(other_account())],
    )
    .await
    .unwrap();
    // The other account runs an instance from it: the caller cannot see the instance, only
    // the image's LastLaunchedTime.
    cloud
        .as_account(other_account())
        .run_instance(
            &use1,
            &RunInstanceRequest::new(shared.clone(), "m5.large".parse().unwrap()),
        )
        .await
        .unwrap();
    let forced = keep_two().force_shared(true);
    let report = run(&cloud, &forced).await;
    let Decision::Protected { reasons } = decision_of(&report, 1) else {
        panic!("{:?}", decision_of(&report, 1))
    };
    assert!(
        matches!(reasons[..], [Protection::RecentlyLaunched { .. }]),
        "{reasons:?}"
    );
    // Not forced, it is shared as well.
    let Decision::Protected { reasons } = decision_of(&run(&cloud, &keep_two()).await, 1) else {
        panic!()
    };
    assert!(matches!(
        reasons[..],
        [
            Protection::RecentlyLaunched { .. },
            Protection::Shared { .. }
        ]
    ));
    // A month on with no launch, forcing retires it.
    tokio::time::advance(std::time::Duration::from_secs(31 * 86_400)).await;
    let later = run(&cloud, &forced).await;
    assert!(matches!(decision_of(&later, 1), Decision::Disable { .. }));
}

/// An audit sink that cannot write.
pub(crate) struct FullDisk;

impl AuditSink for FullDisk {
    fn record(&self, _: &AuditRecord) -> Result<(), AuditError> {
        Err(AuditError::Io {
            path: "/full/audit.jsonl".into(),
            source: std::io::Error::other("no space left on device"),
        })
    }
}

#[tokio::test(start_paused = true)]
async fn an_unwritable_audit_log_stops_retirement_before_any_change() {
    let cloud = versions().build().unwrap();
    let clock = cloud.clone();
    let err = Lifecycle::new(&cloud, &FullDisk)
        .clock(move || clock.now())
        .retire(&keep_two().execute(true), &FlatSnapshotPrice(0.05))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::Audit { .. }), "{err}");
    assert!(err.to_string().contains("audit"), "{err}");
    for operation in [op::DISABLE_IMAGE, op::CREATE_TAGS, op::DEREGISTER_IMAGE] {
        assert_eq!(cloud.counters().operation(operation), 0, "{operation}");
    }
}
