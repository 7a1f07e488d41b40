//! `ami protect`, `ami disable`, `ami enable`: idempotent, dry runs, written ahead.

use amiref_core::{AmiId, DeregistrationProtection, ImageState, LaunchPermission, Region};
use amiref_lifecycle::{
    AuditOutcome, AuditSink, ChangeOutcome, ENABLE_KEEPS_IMAGE_PRIVATE, ImageSpec, Lifecycle,
    LifecycleError, MemoryAuditSink, ProtectSpec, tags,
};
use amiref_memory::{ImageSeed, MemoryCloud, op};
use chrono::Duration;

use crate::retire_steps::FullDisk;
use crate::{BASE, ami, other_account, region};

fn base() -> (Region, AmiId) {
    (region("us-east-1"), ami(BASE))
}

/// The base image, shared with another account.
fn world() -> MemoryCloud {
    let mut image = crate::world()
        .build()
        .unwrap()
        .inspect_image(&region("us-east-1"), &ami(BASE))
        .unwrap();
    image.id = ami("ami-0ccccccccccccccc0");
    image.name = "shared-base".into();
    crate::world()
        .image(
            ImageSeed::new(image)
                .root_volume(8, false)
                .launch_permission(LaunchPermission::Account(other_account())),
        )
        .build()
        .unwrap()
}

fn lifecycle<'a>(cloud: &'a MemoryCloud, audit: &'a dyn AuditSink) -> Lifecycle<'a> {
    let clock = cloud.clone();
    Lifecycle::new(cloud, audit).clock(move || clock.now())
}

#[tokio::test(start_paused = true)]
async fn protect_is_idempotent_and_written_ahead() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = lifecycle(&cloud, &audit);
    let (r, image) = base();
    let spec = ProtectSpec::new(r.clone(), image.clone()).cooldown(true);

    let dry = lc.protect(&spec.clone().dry_run(true)).await.unwrap();
    assert_eq!(dry.outcome, ChangeOutcome::Planned);
    assert_eq!(
        dry.after,
        Some(DeregistrationProtection::Enabled { cooldown: true })
    );
    let calls = op::ENABLE_IMAGE_DEREGISTRATION_PROTECTION;
    assert_eq!(
        cloud.counters().operation(calls),
        0,
        "a dry run calls nothing"
    );

    let done = lc.protect(&spec).await.unwrap();
    assert_eq!(done.outcome, ChangeOutcome::Changed);
    assert_eq!(
        done.after,
        Some(DeregistrationProtection::Enabled { cooldown: true }),
        "read back from EC2"
    );
    let again = lc.protect(&spec).await.unwrap();
    assert_eq!(again.outcome, ChangeOutcome::Unchanged);
    assert_eq!(
        cloud.counters().operation(calls),
        1,
        "looked first, called once"
    );

    // The same protection without the cooldown is a change.
    let without = lc
        .protect(&ProtectSpec::new(r.clone(), image.clone()))
        .await
        .unwrap();
    assert_eq!(without.outcome, ChangeOutcome::Changed);

    let outcomes: Vec<_> = audit.records().into_iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AuditOutcome::Planned,
            AuditOutcome::Intended,
            AuditOutcome::Succeeded,
            AuditOutcome::Unchanged,
            AuditOutcome::Intended,
            AuditOutcome::Succeeded,
        ]
    );
    let records = audit.records();
    assert_eq!(records[1].operation_id, records[2].operation_id);
    assert!(records.iter().all(|r| r.operation == "protect"));
}

#[tokio::test(start_paused = true)]
async fn unprotect_with_the_cooldown_leaves_it_cooling_down_and_then_is_unchanged() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = lifecycle(&cloud, &audit);
    let (r, image) = base();
    let target = ImageSpec::new(r.clone(), image.clone());
    let off = lc.unprotect(&target).await.unwrap();
    assert_eq!(off.outcome, ChangeOutcome::Unchanged, "never protected");

    lc.protect(&ProtectSpec::new(r, image).cooldown(true))
        .await
        .unwrap();
    let planned = lc.unprotect(&target.clone().dry_run(true)).await.unwrap();
    assert_eq!(planned.outcome, ChangeOutcome::Planned);
    let off = lc.unprotect(&target).await.unwrap();
    assert_eq!(off.outcome, ChangeOutcome::Changed);
    let until = cloud.now() + Duration::hours(24);
    assert_eq!(
        off.after,
        Some(DeregistrationProtection::CoolingDown { until })
    );
    assert_eq!(
        planned.after, off.after,
        "the dry run said what would happen"
    );
    let again = lc.unprotect(&target).await.unwrap();
    assert_eq!(again.outcome, ChangeOutcome::Unchanged);
    assert_eq!(
        cloud
            .counters()
            .operation(op::DISABLE_IMAGE_DEREGISTRATION_PROTECTION),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn disable_records_the_permissions_it_removes_and_enable_says_they_stay_removed() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = lifecycle(&cloud, &audit);
    let (r, shared) = (region("us-east-1"), ami("ami-0ccccccccccccccc0"));
    let target = ImageSpec::new(r.clone(), shared.clone());

    let disabled = lc.disable(&target).await.unwrap();
    assert_eq!(disabled.outcome, ChangeOutcome::Changed);
    assert_eq!(
        disabled.launch_permissions_removed,
        [LaunchPermission::Account(other_account())]
    );
    let intent = &audit.records()[0];
    assert_eq!(intent.outcome, AuditOutcome::Intended);
    assert_eq!(
        intent.details["launch_permissions_removed"][0]["account"],
        other_account().to_string()
    );
    assert_eq!(
        cloud.inspect_image(&r, &shared).unwrap().state,
        ImageState::Disabled
    );
    let again = lc.disable(&target).await.unwrap();
    assert_eq!(again.outcome, ChangeOutcome::Unchanged);
    assert_eq!(cloud.counters().operation(op::DISABLE_IMAGE), 1);

    let enabled = lc.enable(&target).await.unwrap();
    assert_eq!(enabled.outcome, ChangeOutcome::Changed);
    assert_eq!(enabled.state_before, ImageState::Disabled);
    assert_eq!(enabled.notes, [ENABLE_KEEPS_IMAGE_PRIVATE]);
    let image = cloud.inspect_image(&r, &shared).unwrap();
    assert_eq!(image.state, ImageState::Available);
    assert!(
        amiref_core::ImageStore::launch_permissions(&cloud, &r, &shared)
            .await
            .unwrap()
            .is_empty(),
        "EC2 does not restore them"
    );
    let again = lc.enable(&target).await.unwrap();
    assert_eq!(again.outcome, ChangeOutcome::Unchanged);
    assert_eq!(cloud.counters().operation(op::ENABLE_IMAGE), 1);
}

#[tokio::test(start_paused = true)]
async fn enable_undoes_a_retirements_first_step() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = lifecycle(&cloud, &audit);
    let (r, image) = base();
    let tag = [(
        tags::TAG_RETIRE_AFTER.to_owned(),
        "2026-01-15T00:00:00Z".to_owned(),
    )]
    .into();
    amiref_core::ImageStore::create_tags(&cloud, &r, &image, &tag)
        .await
        .unwrap();
    lc.disable(&ImageSpec::new(r.clone(), image.clone()))
        .await
        .unwrap();
    let target = ImageSpec::new(r.clone(), image.clone());
    let planned = lc.enable(&target.clone().dry_run(true)).await.unwrap();
    assert_eq!(planned.outcome, ChangeOutcome::Planned);
    assert_eq!(planned.removed_tags, [tags::TAG_RETIRE_AFTER]);
    assert_eq!(cloud.counters().operation(op::ENABLE_IMAGE), 0);

    let enabled = lc.enable(&target).await.unwrap();
    assert_eq!(enabled.outcome, ChangeOutcome::Changed);
    let now = cloud.inspect_image(&r, &image).unwrap();
    assert_eq!(now.state, ImageState::Available);
    assert_eq!(
        now.tag(tags::TAG_RETIRE_AFTER),
        None,
        "no later run retires it"
    );
    assert_eq!(cloud.counters().operation(op::DELETE_TAGS), 1);
}

#[tokio::test(start_paused = true)]
async fn a_missing_image_is_named() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = lifecycle(&cloud, &audit);
    let missing = ImageSpec::new(region("us-east-1"), ami("ami-0dddddddddddddddd"));
    let err = lc.enable(&missing).await.unwrap_err();
    assert!(
        matches!(&err, LifecycleError::ImageNotFound { image, .. } if image.as_str() == "ami-0dddddddddddddddd"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unwritable_audit_log_means_no_call() {
    let cloud = world();
    let lc = lifecycle(&cloud, &FullDisk);
    let (r, image) = base();
    let err = lc
        .protect(&ProtectSpec::new(r.clone(), image.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::Audit { .. }), "{err}");
    let err = lc.disable(&ImageSpec::new(r, image)).await.unwrap_err();
    assert!(matches!(err, LifecycleError::Audit { .. }), "{err}");
    for operation in [
        op::ENABLE_IMAGE_DEREGISTRATION_PROTECTION,
        op::DISABLE_IMAGE,
    ] {
        assert_eq!(cloud.counters().operation(operation), 0, "{operation}");
    }
}
