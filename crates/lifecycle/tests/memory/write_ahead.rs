//! Write-ahead auditing: every mutating call is recorded as intended before it is made and
//! concluded after; when the intent cannot be written, the call is not made.

use amiref_core::{ImageStore, LaunchPermission};
use amiref_lifecycle::{
    AuditError, AuditOutcome, AuditRecord, AuditSink, CopySpec, DeprecateSpec, Lifecycle,
    LifecycleError, MemoryAuditSink, ShareSpec,
};
use amiref_memory::op;

use crate::{BASE, ami, other_account, region, world};

/// The records that summarise operations (those not joined to a write-ahead intent).
pub(crate) fn summaries(audit: &MemoryAuditSink) -> Vec<AuditRecord> {
    audit
        .records()
        .into_iter()
        .filter(|r| r.operation_id.is_none())
        .collect()
}

/// A sink on a full disk: every write fails.
struct FullDisk;

impl AuditSink for FullDisk {
    fn record(&self, _: &AuditRecord) -> Result<(), AuditError> {
        Err(AuditError::Io {
            path: "/var/log/amiref/audit.jsonl".into(),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        })
    }
}

/// The mutating calls the in-process cloud counted.
fn mutations(cloud: &amiref_memory::MemoryCloud) -> u64 {
    let counters = cloud.counters();
    [
        op::MODIFY_IMAGE_ATTRIBUTE,
        op::MODIFY_SNAPSHOT_ATTRIBUTE,
        op::COPY_IMAGE,
        op::CREATE_IMAGE,
        op::CREATE_TAGS,
        op::DEREGISTER_IMAGE,
        op::ENABLE_IMAGE_DEPRECATION,
        op::DISABLE_IMAGE_DEPRECATION,
    ]
    .iter()
    .map(|o| counters.operation(o))
    .sum()
}

#[tokio::test(start_paused = true)]
async fn a_share_on_a_full_disk_does_not_go_ahead() {
    let cloud = world().build().unwrap();
    let lc = Lifecycle::new(&cloud, &FullDisk);
    let spec = ShareSpec::add(
        region("us-east-1"),
        ami(BASE),
        vec![LaunchPermission::Account(other_account())],
    );
    let err = lc.share(&spec).await.unwrap_err();
    assert!(matches!(err, LifecycleError::Audit { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "could not write the audit record of add_launch_permissions (outcome: intended)"
        ),
        "{err}"
    );
    assert_eq!(mutations(&cloud), 0);
    let permissions = cloud
        .launch_permissions(&region("us-east-1"), &ami(BASE))
        .await
        .unwrap();
    assert!(permissions.is_empty(), "{permissions:?}");
}

#[tokio::test(start_paused = true)]
async fn a_copy_on_a_full_disk_does_not_go_ahead() {
    let (cloud, source) = crate::copy::with_source().await;
    cloud.reset_counters();
    let lc = Lifecycle::new(&cloud, &FullDisk);
    let spec = CopySpec::new(
        region("us-east-1"),
        source,
        vec![region("eu-west-1"), region("ap-southeast-2")],
    );
    let stopped = match lc.copy_image(&spec).await {
        Err(e) => matches!(e, LifecycleError::Audit { .. }),
        Ok(report) => report.has_failures(),
    };
    assert!(stopped);
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
    assert_eq!(mutations(&cloud), 0);
    assert_eq!(cloud.image_count(&region("eu-west-1")), 0);
}

#[tokio::test(start_paused = true)]
async fn a_share_writes_each_call_ahead_and_concludes_it() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let spec = ShareSpec::add(
        region("us-east-1"),
        ami(BASE),
        vec![LaunchPermission::Account(other_account())],
    );
    lc.share(&spec).await.unwrap();
    let records = audit.records();
    let steps: Vec<_> = records
        .iter()
        .map(|r| (r.operation.as_str(), r.outcome.clone()))
        .collect();
    assert_eq!(
        steps,
        [
            ("add_launch_permissions", AuditOutcome::Intended),
            ("add_launch_permissions", AuditOutcome::Succeeded),
            ("modify_snapshot_permissions", AuditOutcome::Intended),
            ("modify_snapshot_permissions", AuditOutcome::Succeeded),
            ("share", AuditOutcome::Succeeded),
        ]
    );
    assert_eq!(records[0].operation_id, records[1].operation_id);
    assert_ne!(records[0].operation_id, records[2].operation_id);
    assert!(records[0].operation_id.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_deprecation_on_a_full_disk_does_not_go_ahead() {
    let cloud = world().build().unwrap();
    let lc = Lifecycle::new(&cloud, &FullDisk);
    let at = cloud.now() + chrono::Duration::days(30);
    let err = lc
        .deprecate(&DeprecateSpec::at(region("us-east-1"), ami(BASE), at))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::Audit { .. }), "{err:?}");
    assert_eq!(mutations(&cloud), 0);
}
