//! Creating an image from an instance.

use std::time::Duration;

use amiref_core::{CloudErrorKind, ImageState};
use amiref_lifecycle::{
    AuditOutcome, Cleanup, CreateImageSpec, ImageOutcome, Lifecycle, LifecycleError,
    MemoryAuditSink, ProgressEvent, WaitOptions, tags,
};
use amiref_memory::op;

use crate::{Recorder, instance, lineage, region, world};

fn spec() -> CreateImageSpec {
    CreateImageSpec::new(
        region("us-east-1"),
        instance(),
        "Python ML v2.1.0",
        lineage(),
    )
}

#[tokio::test(start_paused = true)]
async fn creates_a_tagged_image_and_waits_until_available() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let progress = Recorder::default();
    let lc = Lifecycle::new(&cloud, &audit).progress(&progress);

    let made = lc.create_image(&spec()).await.unwrap();

    assert_eq!(made.outcome, ImageOutcome::Created);
    let id = made.image.unwrap();
    let image = cloud.inspect_image(&region("us-east-1"), &id).unwrap();
    assert_eq!(image.state, ImageState::Available);
    assert_eq!(image.tag(tags::TAG_TEMPLATE), Some("python-ml"));
    assert_eq!(image.tag(tags::TAG_TEMPLATE_VERSION), Some("2.1.0"));
    assert_eq!(
        image.tag(tags::TAG_TEMPLATE_FINGERPRINT),
        Some("ab".repeat(32).as_str())
    );
    assert_eq!(image.tag(tags::TAG_SOURCE_INSTANCE), Some(crate::INSTANCE));

    let events = progress.events();
    assert!(matches!(
        events.first(),
        Some(ProgressEvent::CreateStarted { .. })
    ));
    assert!(events.iter().any(|e| matches!(
        e,
        ProgressEvent::Waiting {
            state: ImageState::Pending,
            ..
        }
    )));
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::Available { .. })
    ));

    let records = crate::write_ahead::summaries(&audit);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].operation, "create_image");
    assert_eq!(records[0].outcome, AuditOutcome::Succeeded);
    assert_eq!(records[0].actor.account, "123456789012");
    assert_eq!(records[0].target.as_deref(), Some(id.as_str()));
}

#[tokio::test(start_paused = true)]
async fn a_rerun_reuses_the_image_instead_of_making_another() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let first = lc.create_image(&spec()).await.unwrap();
    let before = cloud.image_count(&region("us-east-1"));

    let second = lc.create_image(&spec()).await.unwrap();

    assert_eq!(second.outcome, ImageOutcome::Reused);
    assert_eq!(second.image, first.image);
    assert_eq!(cloud.image_count(&region("us-east-1")), before);
    assert_eq!(
        crate::write_ahead::summaries(&audit)[1].outcome,
        AuditOutcome::Unchanged
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_that_finds_its_image_pending_waits_for_it() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    // Two runs at once: one creates, the other finds the pending image (or loses the
    // duplicate-name race) and waits for the same image.
    let spec = spec();
    let (a, b) = tokio::join!(lc.create_image(&spec), lc.create_image(&spec));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.image, b.image);
    assert_eq!(
        cloud.image_count(&region("us-east-1")),
        2,
        "the base image and one new image"
    );
}

#[tokio::test(start_paused = true)]
async fn a_name_taken_by_another_source_is_refused() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let err = lc
        .create_image(&CreateImageSpec::new(
            region("us-east-1"),
            instance(),
            "al2023-base",
            lineage(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(matches!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Refused { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_makes_nothing_and_records_the_plan() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let made = lc.create_image(&spec().dry_run(true)).await.unwrap();
    assert_eq!(made.outcome, ImageOutcome::Planned);
    assert_eq!(made.image, None);
    assert_eq!(cloud.counters().operation(op::CREATE_IMAGE), 0);
    assert_eq!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Planned
    );
    assert!(crate::write_ahead::summaries(&audit)[0].dry_run);
}

#[tokio::test(start_paused = true)]
async fn a_failure_mid_create_leaves_no_image_or_snapshot() {
    let cloud = world().build().unwrap();
    let injector = cloud.clone();
    // As soon as creation starts, the next look at the image fails for good.
    let progress = Recorder::with_hook(move |e| {
        if matches!(e, ProgressEvent::CreateStarted { .. }) {
            injector.fail_next(op::DESCRIBE_IMAGES, 1, CloudErrorKind::Service);
        }
    });
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit).progress(&progress);

    let err = lc.create_image(&spec()).await.unwrap_err();

    let LifecycleError::ImageFailed { image, cleanup, .. } = &err else {
        panic!("expected ImageFailed, got {err}");
    };
    assert_eq!(cleanup, &Cleanup::Removed);
    assert!(cloud.inspect_image(&region("us-east-1"), image).is_none());
    assert_eq!(
        cloud.image_count(&region("us-east-1")),
        1,
        "only the base image remains"
    );
    assert!(
        progress
            .events()
            .iter()
            .any(|e| matches!(e, ProgressEvent::CleanedUp { .. }))
    );
    assert!(matches!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Failed { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_leaves_nothing_behind_and_a_rerun_succeeds() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    // Creating takes 5 minutes in this world; give up after one.
    let lc = Lifecycle::new(&cloud, &audit)
        .wait_options(WaitOptions::default().timeout(Duration::from_secs(60)));
    let err = lc.create_image(&spec()).await.unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(cloud.image_count(&region("us-east-1")), 1);

    let lc = Lifecycle::new(&cloud, &audit);
    let made = lc.create_image(&spec()).await.unwrap();
    assert_eq!(made.outcome, ImageOutcome::Created);
}

#[tokio::test(start_paused = true)]
async fn progress_can_be_read_as_a_stream() {
    let cloud = world().build().unwrap();
    let audit = MemoryAuditSink::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
    let lc = Lifecycle::new(&cloud, &audit).progress(&tx);
    lc.create_image(&spec()).await.unwrap();
    drop(lc);
    drop(tx);
    let mut lines = Vec::new();
    while let Some(event) = rx.recv().await {
        lines.push(serde_json::to_value(&event).unwrap());
    }
    assert_eq!(lines.first().unwrap()["event"], "create_started");
    assert_eq!(lines.last().unwrap()["event"], "available");
    assert!(lines.iter().all(|l| l["region"] == "us-east-1"));
}
