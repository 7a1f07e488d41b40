//! Sharing and unsharing.

use amiref_core::{CopyImageRequest, ImageStore, LaunchPermission};
use amiref_lifecycle::{AuditOutcome, Lifecycle, LifecycleError, MemoryAuditSink, ShareSpec};
use amiref_memory::op;

use crate::{BASE, ami, me, other_account, region, world};

#[tokio::test(start_paused = true)]
async fn sharing_with_an_account_lets_it_launch_and_copy_and_is_idempotent() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let spec = ShareSpec::add(
        region("us-east-1"),
        ami(BASE),
        vec![LaunchPermission::Account(other_account())],
    );

    let report = lc.share(&spec).await.unwrap();
    assert_eq!(report.changed, spec.permissions);
    assert_eq!(report.snapshot_accounts, vec![other_account()]);

    // The other account can now copy it, which needs the snapshots' create-volume permission.
    let theirs = cloud.as_account(other_account());
    let copy = CopyImageRequest::new(
        region("us-east-1"),
        ami(BASE),
        region("eu-west-1"),
        "their-copy",
        "t-1",
    );
    theirs.copy_image(&copy).await.unwrap();

    let again = lc.share(&spec).await.unwrap();
    assert!(again.changed.is_empty());
    assert_eq!(again.unchanged, spec.permissions);
    let records = crate::write_ahead::summaries(&audit);
    assert_eq!(records[0].outcome, AuditOutcome::Succeeded);
    assert_eq!(records[1].outcome, AuditOutcome::Unchanged);
}

#[tokio::test(start_paused = true)]
async fn unsharing_revokes_and_a_dry_run_changes_nothing() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let perms = vec![
        LaunchPermission::Account(other_account()),
        LaunchPermission::Organization(
            "arn:aws:organizations::123456789012:organization/o-abc123".into(),
        ),
    ];
    lc.share(&ShareSpec::add(
        region("us-east-1"),
        ami(BASE),
        perms.clone(),
    ))
    .await
    .unwrap();

    cloud.reset_counters();
    let planned = lc
        .share(&ShareSpec::remove(region("us-east-1"), ami(BASE), perms.clone()).dry_run(true))
        .await
        .unwrap();
    assert_eq!(planned.changed, perms);
    assert_eq!(cloud.counters().operation(op::MODIFY_IMAGE_ATTRIBUTE), 0);

    lc.share(&ShareSpec::remove(region("us-east-1"), ami(BASE), perms))
        .await
        .unwrap();
    let now = cloud
        .launch_permissions(&region("us-east-1"), &ami(BASE))
        .await
        .unwrap();
    assert!(now.is_empty());
    assert_eq!(
        crate::write_ahead::summaries(&audit)
            .last()
            .unwrap()
            .operation,
        "unshare"
    );
}

#[tokio::test(start_paused = true)]
async fn public_sharing_is_refused_where_block_public_access_is_on() {
    let cloud = world()
        .block_public_access(region("us-east-1"))
        .build()
        .unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let err = lc
        .share(&ShareSpec::add(
            region("us-east-1"),
            ami(BASE),
            vec![LaunchPermission::Public],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::Refused { .. }));
    assert!(
        err.to_string()
            .contains("block public access for AMIs is on in us-east-1"),
        "{err}"
    );
    assert_eq!(cloud.counters().operation(op::MODIFY_IMAGE_ATTRIBUTE), 0);
    assert!(matches!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Refused { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn public_sharing_works_where_it_is_allowed() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    lc.share(&ShareSpec::add(
        region("us-east-1"),
        ami(BASE),
        vec![LaunchPermission::Public],
    ))
    .await
    .unwrap();
    assert!(
        cloud
            .inspect_image(&region("us-east-1"), &ami(BASE))
            .unwrap()
            .public
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_organization_arns_and_self_shares_are_refused() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let err = lc
        .share(&ShareSpec::add(
            region("us-east-1"),
            ami(BASE),
            vec![LaunchPermission::OrganizationalUnit("ou-abc".into())],
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("an OU ARN such as"), "{err}");

    let err = lc
        .share(&ShareSpec::add(
            region("us-east-1"),
            ami(BASE),
            vec![LaunchPermission::Account(me())],
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("owns"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_passing_failure_is_retried_and_a_lasting_one_is_reported() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let spec = ShareSpec::add(
        region("us-east-1"),
        ami(BASE),
        vec![LaunchPermission::Account(other_account())],
    );
    cloud.fail_next(
        op::MODIFY_IMAGE_ATTRIBUTE,
        1,
        amiref_core::CloudErrorKind::Unavailable,
    );
    lc.share(&spec).await.unwrap();

    let spec = ShareSpec::remove(region("us-east-1"), ami(BASE), spec.permissions);
    cloud.fail_next(
        op::MODIFY_IMAGE_ATTRIBUTE,
        1,
        amiref_core::CloudErrorKind::AccessDenied,
    );
    let err = lc.share(&spec).await.unwrap_err();
    assert!(
        err.to_string().contains("changing launch permissions"),
        "{err}"
    );
    assert!(matches!(
        crate::write_ahead::summaries(&audit)[1].outcome,
        AuditOutcome::Failed { .. }
    ));
}
