//! Deprecation and its undoing.

use amiref_core::ImageCatalog;
use amiref_lifecycle::{AuditOutcome, DeprecateSpec, Lifecycle, MemoryAuditSink};
use chrono::Duration;

use crate::{BASE, ami, region, world};

#[tokio::test(start_paused = true)]
async fn deprecates_at_a_time_idempotently_and_undoes() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    let lc = Lifecycle::new(&cloud, &audit).clock(move || clock.now());
    let at = cloud.now() + Duration::days(30);

    let done = lc
        .deprecate(&DeprecateSpec::at(region("us-east-1"), ami(BASE), at))
        .await
        .unwrap();
    assert!(done.changed);
    let image = &cloud
        .describe_images(&region("us-east-1"), &[ami(BASE)])
        .await
        .unwrap()[0];
    assert_eq!(image.deprecation_time, Some(at));

    let again = lc
        .deprecate(&DeprecateSpec::at(region("us-east-1"), ami(BASE), at))
        .await
        .unwrap();
    assert!(!again.changed);

    let undone = lc
        .deprecate(&DeprecateSpec::undo(region("us-east-1"), ami(BASE)))
        .await
        .unwrap();
    assert!(undone.changed);
    let image = &cloud
        .describe_images(&region("us-east-1"), &[ami(BASE)])
        .await
        .unwrap()[0];
    assert_eq!(image.deprecation_time, None);

    let outcomes: Vec<_> = crate::write_ahead::summaries(&audit)
        .into_iter()
        .map(|r| (r.operation, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("deprecate".to_owned(), AuditOutcome::Succeeded),
            ("deprecate".to_owned(), AuditOutcome::Unchanged),
            ("undeprecate".to_owned(), AuditOutcome::Succeeded),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_time_in_the_past_is_refused_and_a_dry_run_changes_nothing() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    let lc = Lifecycle::new(&cloud, &audit).clock(move || clock.now());

    let err = lc
        .deprecate(&DeprecateSpec::at(
            region("us-east-1"),
            ami(BASE),
            cloud.now() - Duration::days(1),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("in the past"), "{err}");

    let plan = lc
        .deprecate(
            &DeprecateSpec::at(
                region("us-east-1"),
                ami(BASE),
                cloud.now() + Duration::days(1),
            )
            .dry_run(true),
        )
        .await
        .unwrap();
    assert!(plan.changed);
    let image = &cloud
        .describe_images(&region("us-east-1"), &[ami(BASE)])
        .await
        .unwrap()[0];
    assert_eq!(image.deprecation_time, None);
    assert_eq!(
        crate::write_ahead::summaries(&audit)
            .last()
            .unwrap()
            .outcome,
        AuditOutcome::Planned
    );
}

#[tokio::test(start_paused = true)]
async fn another_accounts_image_is_refused() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    Lifecycle::new(&cloud, &audit)
        .share(&amiref_lifecycle::ShareSpec::add(
            region("us-east-1"),
            ami(BASE),
            vec![amiref_core::LaunchPermission::Account(
                crate::other_account(),
            )],
        ))
        .await
        .unwrap();
    // The other account sees the shared image but does not own it.
    let theirs = cloud.as_account(crate::other_account());
    let err = Lifecycle::new(&theirs, &audit)
        .deprecate(&DeprecateSpec::undo(region("us-east-1"), ami(BASE)))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("only the owner can deprecate it"),
        "{err}"
    );
    assert!(matches!(
        crate::write_ahead::summaries(&audit)[1].outcome,
        AuditOutcome::Refused { .. }
    ));
}
