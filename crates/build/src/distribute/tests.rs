//! Distribution on the in-process cloud, paused clock: copies with the build's tags, a
//! re-run that changes nothing, SSM names and promotion, dry runs, the signed entry with
//! the measured figures, and a region that fails while the others complete.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

use amiref_core::{AccountId, Architecture, Image, ImageState, ParameterName, Parameters};
use amiref_lifecycle::{
    AuditOutcome, MemoryAuditSink, ParameterOutcome, TemplateLineage, tags as lineage_tags,
};
use amiref_memory::{ImageSeed, MemoryCloud, op};
use amiref_registry::{KeyStatus, ParsedRegistry, SignatureCheck, TrustStore};
use chrono::{TimeZone, Utc};

use super::*;
use crate::tags::{STAGE_TESTED, TAG_BUILD_ID};
use crate::{Measured, TestedImage};

const HOME: &str = "us-east-1";
const OTHERS: [&str; 3] = ["us-west-2", "eu-west-1", "ap-southeast-1"];
const IMAGE: &str = "ami-0123456789abcdef0";
const PARTNER: &str = "210987654321";

/// Calls that change something.
const MUTATING: [&str; 8] = [
    op::CREATE_IMAGE,
    op::COPY_IMAGE,
    op::CREATE_TAGS,
    op::MODIFY_IMAGE_ATTRIBUTE,
    op::MODIFY_SNAPSHOT_ATTRIBUTE,
    op::DEREGISTER_IMAGE,
    op::PUT_PARAMETER,
    op::DELETE_PARAMETER,
];

fn region(code: &str) -> Region {
    code.parse().unwrap()
}

fn me() -> AccountId {
    "123456789012".parse().unwrap()
}

fn others() -> Vec<Region> {
    OTHERS.iter().map(|r| region(r)).collect()
}

fn tested() -> TestedImage {
    let lineage = TemplateLineage::new("python-ml", Some("2.1.0".into()), "ab".repeat(32));
    let home = region(HOME);
    TestedImage {
        build: BuildId::derive(
            "python-ml",
            Some("2.1.0"),
            "cd12",
            Architecture::X86_64,
            &home,
        ),
        region: home,
        image: IMAGE.parse().unwrap(),
        architecture: Architecture::X86_64,
        lineage,
        build_fingerprint: "cd12".into(),
        base_image: "ami-0aaaaaaaaaaaaaaa0".parse().unwrap(),
        measured: Measured::new(Duration::from_secs(630), Duration::from_secs(150)),
        tested_at: Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
    }
}

/// A world with the build's tested image in its home region, tagged as the build tags it.
fn world() -> MemoryCloud {
    let t = tested();
    let mut image = Image::new(
        t.image.clone(),
        t.region.clone(),
        "python-ml-2.1.0",
        me(),
        Architecture::X86_64,
        Utc.with_ymd_and_hms(2026, 11, 30, 11, 0, 0).unwrap(),
    );
    image.tags = t.lineage.tags();
    image.tags.insert(TAG_BUILD_ID.into(), t.build.to_string());
    image
        .tags
        .insert(TAG_BUILD_STAGE.into(), STAGE_TESTED.into());
    let mut builder = MemoryCloud::builder()
        .caller(me())
        .image(ImageSeed::new(image).root_volume(8, false));
    for r in OTHERS {
        builder = builder.region(region(r));
    }
    builder.build().unwrap()
}

/// A publisher key file in `dir`, and the trust store that trusts it.
fn publisher(dir: &Path) -> (PathBuf, TrustStore) {
    let key = PublisherKey::from_seed("research-computing", [3; 32]);
    let path = dir.join("publisher.key");
    std::fs::write(&path, key.to_secret_yaml()).unwrap();
    let trust = TrustStore::new().with_key(key.publisher(), key.verifying_key(), KeyStatus::Active);
    (path, trust)
}

fn full_spec(dir: &Path) -> DistributeSpec {
    let (key, _) = publisher(dir);
    DistributeSpec::new(others())
        .share_with(vec![LaunchPermission::Account(PARTNER.parse().unwrap())])
        .publish_parameters(false)
        .registry(RegistryTarget::new(dir.join("builds.yml"), key))
}

fn mutating_calls(cloud: &MemoryCloud) -> u64 {
    let counters = cloud.counters();
    MUTATING.iter().map(|o| counters.operation(o)).sum()
}

async fn parameter(cloud: &MemoryCloud, region_code: &str, name: &str) -> Option<String> {
    let name: ParameterName = name.parse().unwrap();
    cloud
        .get_parameters(&region(region_code), std::slice::from_ref(&name))
        .await
        .unwrap()
        .remove(&name)
        .map(|p| p.value)
}

async fn run(cloud: &MemoryCloud, spec: &DistributeSpec) -> Distributed {
    let audit = MemoryAuditSink::new();
    let lifecycle = Lifecycle::new(cloud, &audit);
    distribute(&lifecycle, cloud, spec, &tested())
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn copies_land_in_every_region_with_the_builds_tags_and_are_shared() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let report = run(&cloud, &full_spec(dir.path())).await;

    assert!(report.complete(), "{report:#?}");
    assert_eq!(report.images.len(), 4);
    let build = tested().build;
    for (r, image) in &report.images {
        let seen = cloud.inspect_image(r, image).unwrap();
        assert_eq!(seen.state, ImageState::Available);
        assert_eq!(seen.tag(TAG_BUILD_ID), Some(build.as_str()), "{r}");
        assert_eq!(
            seen.tag(lineage_tags::TAG_TEMPLATE),
            Some("python-ml"),
            "{r}"
        );
        assert_eq!(
            seen.tag(lineage_tags::TAG_TEMPLATE_VERSION),
            Some("2.1.0"),
            "{r}"
        );
        assert_eq!(seen.tag(TAG_BUILD_STAGE), Some(STAGE_DISTRIBUTED), "{r}");
        if r.as_str() != HOME {
            assert_eq!(seen.tag(lineage_tags::TAG_SOURCE_IMAGE), Some(IMAGE), "{r}");
        }
    }
    assert_eq!(report.shares.len(), 4);
    for share in &report.shares {
        let ShareOutcome::Shared { report: shared } = &share.outcome else {
            panic!("{share:?}");
        };
        assert_eq!(shared.changed.len(), 1, "{share:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_rerun_changes_nothing() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let spec = full_spec(dir.path()).publish_parameters(true);
    let first = run(&cloud, &spec).await;
    assert!(first.complete(), "{first:#?}");
    let registry = std::fs::read_to_string(dir.path().join("builds.yml")).unwrap();
    let before = mutating_calls(&cloud);
    let snapshot_grants = cloud.counters().operation(op::MODIFY_SNAPSHOT_ATTRIBUTE);

    let again = run(&cloud, &spec).await;
    assert!(again.complete(), "{again:#?}");
    // The lifecycle's share grants the snapshots' create-volume permission again on every
    // run (EC2 cannot be asked whom it is granted to, and granting again is a no-op that
    // heals a share whose snapshot step failed): one call per region, and nothing else.
    let regrants = cloud.counters().operation(op::MODIFY_SNAPSHOT_ATTRIBUTE) - snapshot_grants;
    assert_eq!(regrants, 4);
    assert_eq!(
        mutating_calls(&cloud) - regrants,
        before,
        "no other call that changes anything"
    );
    assert!(again.shares.iter().all(|s| matches!(
        &s.outcome,
        ShareOutcome::Shared { report } if report.changed.is_empty()
    )));
    assert_eq!(
        again.images, first.images,
        "the same copies, found by their tags"
    );
    assert!(
        again
            .copies
            .regions
            .iter()
            .all(|r| matches!(r.outcome, RegionCopyOutcome::Existing { .. }))
    );
    assert!(
        again
            .parameters
            .as_ref()
            .unwrap()
            .writes()
            .all(|w| matches!(w.outcome, ParameterOutcome::Unchanged { version: 1 }))
    );
    let Some(RegistryOutcome::Written { entry }) = &again.registry else {
        panic!("{:?}", again.registry);
    };
    assert_eq!(entry.change, amiref_registry::BuildEntryChange::Unchanged);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("builds.yml")).unwrap(),
        registry
    );
}

#[tokio::test(start_paused = true)]
async fn parameters_name_the_version_everywhere_and_latest_only_on_promote() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let version = "/amiref/python-ml/2.1.0/x86_64";
    let latest = "/amiref/python-ml/latest/x86_64";

    let report = run(&cloud, &full_spec(dir.path())).await;
    for (r, image) in &report.images {
        assert_eq!(
            parameter(&cloud, r.as_str(), version).await.as_deref(),
            Some(image.as_str())
        );
        assert_eq!(
            parameter(&cloud, r.as_str(), latest).await,
            None,
            "not promoted"
        );
    }

    let promoted = run(&cloud, &full_spec(dir.path()).publish_parameters(true)).await;
    assert!(promoted.complete());
    for (r, image) in &promoted.images {
        assert_eq!(
            parameter(&cloud, r.as_str(), latest).await.as_deref(),
            Some(image.as_str())
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_says_what_would_happen_and_makes_no_mutating_call() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let audit = MemoryAuditSink::new();
    let lifecycle = Lifecycle::new(&cloud, &audit);
    let spec = full_spec(dir.path()).publish_parameters(true).dry_run(true);

    let report = distribute(&lifecycle, &cloud, &spec, &tested())
        .await
        .unwrap();
    assert_eq!(mutating_calls(&cloud), 0);
    assert_eq!(report.stage, DistributionStage::Planned);
    assert_eq!(report.pending, others());
    assert_eq!(report.images.len(), 1, "only the home image exists yet");
    assert!(matches!(
        report.shares[0].outcome,
        ShareOutcome::Shared { .. }
    ));
    assert!(
        report
            .parameters
            .as_ref()
            .unwrap()
            .writes()
            .all(|w| w.outcome == ParameterOutcome::Planned)
    );
    assert!(matches!(
        report.registry,
        Some(RegistryOutcome::Planned { .. })
    ));
    assert!(!dir.path().join("builds.yml").exists());
    assert!(
        audit
            .records()
            .iter()
            .all(|r| r.dry_run
                && matches!(r.outcome, AuditOutcome::Planned | AuditOutcome::Unchanged))
    );
    let home = cloud
        .inspect_image(&region(HOME), &IMAGE.parse().unwrap())
        .unwrap();
    assert_eq!(home.tag(TAG_BUILD_STAGE), Some(STAGE_TESTED));
}

#[tokio::test(start_paused = true)]
async fn the_registry_entry_verifies_and_carries_the_measured_figures() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let (_, trust) = publisher(dir.path());
    let report = run(&cloud, &full_spec(dir.path())).await;

    let parsed = ParsedRegistry::load_file(&dir.path().join("builds.yml")).unwrap();
    assert!(
        parsed.entry_problems.is_empty(),
        "{:?}",
        parsed.entry_problems
    );
    let entry = &parsed.document.community_amis["python-ml"]["2.1.0"];
    assert!(matches!(
        trust.verify("python-ml", "2.1.0", entry),
        SignatureCheck::Valid { .. }
    ));
    assert_eq!(entry.regions, report.images, "every region's image");
    assert_eq!(entry.owner, Some(me()));
    assert_eq!(entry.architecture, Architecture::X86_64);
    assert_eq!(
        entry.created_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 30, 11, 0, 0).unwrap())
    );
    let v = entry.verification.as_ref().unwrap();
    assert!(v.tested);
    assert_eq!(v.tested_at, Some(tested().tested_at));
    assert_eq!(v.script_ready_secs, Some(630.0));
    assert_eq!(v.image_ready_secs, Some(150.0));
    assert_eq!(v.speedup, Some(4.2));
    assert!(
        v.performance_benchmark
            .as_deref()
            .unwrap()
            .starts_with("4.2x faster")
    );
}

#[tokio::test(start_paused = true)]
async fn a_region_that_fails_is_reported_the_others_complete_and_a_rerun_finishes() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let spec = full_spec(dir.path());
    let down = region("eu-west-1");
    cloud.set_region_down(&down, true);

    let report = run(&cloud, &spec).await;
    assert_eq!(report.stage, DistributionStage::Incomplete);
    let failed: Vec<&Region> = report
        .copies
        .regions
        .iter()
        .filter(|r| matches!(r.outcome, RegionCopyOutcome::Failed { .. }))
        .map(|r| &r.region)
        .collect();
    assert_eq!(failed, [&down]);
    assert_eq!(
        report.images.len(),
        3,
        "home and the two regions that were up"
    );
    assert!(!report.images.contains_key(&down));
    for (r, image) in &report.images {
        let seen = cloud.inspect_image(r, image).unwrap();
        assert_eq!(
            seen.tag(TAG_BUILD_STAGE),
            Some(STAGE_TESTED),
            "not distributed yet: {r}"
        );
        let published = parameter(&cloud, r.as_str(), "/amiref/python-ml/2.1.0/x86_64").await;
        assert_eq!(published.as_deref(), Some(image.as_str()), "{r}");
    }
    let parsed = ParsedRegistry::load_file(&dir.path().join("builds.yml")).unwrap();
    assert_eq!(
        parsed.document.community_amis["python-ml"]["2.1.0"].regions, report.images,
        "the entry lists the regions that have an image"
    );

    cloud.set_region_down(&down, false);
    let finished = run(&cloud, &spec).await;
    assert!(finished.complete(), "{finished:#?}");
    assert_eq!(finished.images.len(), 4);
    for r in OTHERS.iter().filter(|r| **r != "eu-west-1") {
        let copy = finished
            .copies
            .regions
            .iter()
            .find(|c| c.region.as_str() == *r)
            .unwrap();
        assert!(
            matches!(copy.outcome, RegionCopyOutcome::Existing { .. }),
            "{copy:?}"
        );
    }
    let parsed = ParsedRegistry::load_file(&dir.path().join("builds.yml")).unwrap();
    assert_eq!(
        parsed.document.community_amis["python-ml"]["2.1.0"].regions,
        finished.images
    );
}

#[tokio::test(start_paused = true)]
async fn a_spec_that_cannot_work_is_refused_before_anything_changes() {
    let cloud = world();
    let dir = tempfile::tempdir().unwrap();
    let audit = MemoryAuditSink::new();
    let lifecycle = Lifecycle::new(&cloud, &audit);

    let mut unversioned = tested();
    unversioned.lineage.version = None;
    let err = distribute(&lifecycle, &cloud, &full_spec(dir.path()), &unversioned)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DistributeError::InvalidSpec {
                field: "template version",
                ..
            }
        ),
        "{err}"
    );

    let missing_key = DistributeSpec::new(others()).registry(RegistryTarget::new(
        dir.path().join("builds.yml"),
        dir.path().join("nope.key"),
    ));
    let err = distribute(&lifecycle, &cloud, &missing_key, &tested())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope.key"), "{err}");

    let mut unpublishable = tested();
    unpublishable.lineage.version = Some("2.1.0+cuda".into());
    let err = distribute(
        &lifecycle,
        &cloud,
        &DistributeSpec::new(others()).publish_parameters(false),
        &unpublishable,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("template version"), "{err}");

    assert_eq!(mutating_calls(&cloud), 0);
    assert!(!dir.path().join("builds.yml").exists());
}

#[tokio::test(start_paused = true)]
async fn copies_run_concurrently_within_the_lifecycles_copy_limits() {
    // One copy of the 8 GiB image takes the world's 2 minutes and 6 s per GiB.
    let one_copy = Duration::from_secs(120 + 6 * 8);
    let spec = DistributeSpec::new(others());
    let audit = MemoryAuditSink::new();

    let cloud = world();
    let started = tokio::time::Instant::now();
    let lifecycle = Lifecycle::new(&cloud, &audit);
    assert!(
        distribute(&lifecycle, &cloud, &spec, &tested())
            .await
            .unwrap()
            .complete()
    );
    let concurrent = started.elapsed();
    assert!(
        concurrent >= one_copy && concurrent < 2 * one_copy,
        "{concurrent:?}"
    );

    // With one copy at a time out of the home region, the three copies queue.
    let cloud = world();
    let started = tokio::time::Instant::now();
    let one_at_a_time = std::sync::Arc::new(amiref_lifecycle::CopyLimits::new(50, 1));
    let lifecycle = Lifecycle::new(&cloud, &audit).copy_limits(one_at_a_time);
    assert!(
        distribute(&lifecycle, &cloud, &spec, &tested())
            .await
            .unwrap()
            .complete()
    );
    let queued = started.elapsed();
    assert!(queued >= 3 * one_copy, "{queued:?}");
}
