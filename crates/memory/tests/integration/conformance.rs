//! amiref-memory passes every conformance suite of amiref-testkit, with every capability.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use amiref_core::{AccountId, AmiId, CloudError, Image, ImageCatalog, ImageFilter, Region};
use amiref_memory::MemoryCloud;
use amiref_testkit::{Capabilities, Fixture, fixture};

fn seeded(fixture: &Fixture) -> MemoryCloud {
    MemoryCloud::from_world_yaml(&fixture.world_json().to_string(), "fixture").unwrap()
}

#[tokio::test(start_paused = true)]
async fn catalog() {
    let fixture = fixture::standard().with_bulk(2500);
    let report =
        amiref_testkit::catalog::run(&seeded(&fixture), &fixture, &Capabilities::ec2()).await;
    report.assert_passed();
    assert!(report.skipped().is_empty(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn store() {
    let fixture = fixture::standard();
    let report =
        amiref_testkit::store::run(&seeded(&fixture), &fixture, &Capabilities::ec2()).await;
    report.assert_passed();
    assert!(report.skipped().is_empty(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn sharing() {
    let fixture = fixture::standard();
    let owner = seeded(&fixture);
    let other_account: AccountId = "222233334444".parse().unwrap();
    let other = owner.as_account(other_account.clone());
    let report = amiref_testkit::store::run_sharing(
        &owner,
        &other,
        &other_account,
        &fixture,
        &Capabilities::ec2(),
    )
    .await;
    report.assert_passed();
    assert!(report.skipped().is_empty(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn instances_identity_and_types() {
    let fixture = fixture::standard();
    let cloud = seeded(&fixture);
    let caps = Capabilities::ec2();
    for report in [
        amiref_testkit::instances::run(&cloud, &fixture, &caps).await,
        amiref_testkit::identity::run(&cloud, &fixture, &caps).await,
        amiref_testkit::instance_types::run(&cloud, &fixture, &caps).await,
    ] {
        report.assert_passed();
        assert!(report.skipped().is_empty(), "{report}");
    }
}

#[tokio::test(start_paused = true)]
async fn marketplace_and_publisher() {
    let fixture = fixture::standard();
    let cloud = seeded(&fixture);
    let caps = Capabilities::ec2();
    for report in [
        amiref_testkit::marketplace::run(&cloud, &fixture, &caps).await,
        amiref_testkit::marketplace::run_publisher(&cloud, &fixture, &caps).await,
    ] {
        report.assert_passed();
        assert!(report.skipped().is_empty(), "{report}");
    }
}

#[tokio::test(start_paused = true)]
async fn snapshots_settings_and_parameters() {
    let fixture = fixture::standard();
    let cloud = seeded(&fixture);
    let caps = Capabilities::ec2();
    for report in [
        amiref_testkit::snapshots::run(&cloud, &fixture, &caps).await,
        amiref_testkit::settings::run(&cloud, &fixture, &caps).await,
        amiref_testkit::parameters::run(&cloud, &fixture, &caps).await,
    ] {
        report.assert_passed();
        assert!(report.skipped().is_empty(), "{report}");
    }
}

#[tokio::test(start_paused = true)]
async fn instance_control_security_groups_and_parameter_store() {
    let fixture = fixture::standard();
    let cloud = seeded(&fixture);
    let caps = Capabilities::ec2();
    for report in [
        amiref_testkit::instance_control::run(&cloud, &fixture, &caps).await,
        amiref_testkit::security_groups::run(&cloud, &fixture, &caps).await,
        amiref_testkit::parameter_store::run(&cloud, &fixture, &caps).await,
    ] {
        report.assert_passed();
        assert!(report.skipped().is_empty(), "{report}");
    }
}

/// With moto's capabilities, the new checks that need what moto lacks are skipped, and
/// the rest still run and pass. (Older checks that expect moto's own deviations, such as
/// deprecated images shown, do not pass here, which is right: memory is not moto.)
#[tokio::test(start_paused = true)]
async fn moto_capabilities_skip_the_new_checks_moto_cannot_pass() {
    let fixture = fixture::standard();
    let cloud = seeded(&fixture);
    let caps = Capabilities::moto();
    let report = amiref_testkit::run_all(&cloud, &fixture, &caps).await;
    let skipped: Vec<&str> = report.skipped().iter().map(|(c, _)| *c).collect();
    for check in [
        "billing_facts_round_trip",
        "shared_snapshots_with_permission_allow_volumes",
        "allowed_images_settings_are_read_as_set",
        "offerings_are_per_region",
        "public_al2023_parameter_names_a_describable_image",
        "states_pass_through_pending_stopping_and_shutting_down",
        "a_wrapped_script_reports_its_exit_status",
        "a_group_in_use_is_kept_until_its_instance_is_terminated",
        "an_image_parameter_naming_no_image_is_refused",
        "only_the_last_hundred_versions_are_kept",
    ] {
        assert!(skipped.contains(&check), "{check} not skipped:\n{report}");
    }
    for check in [
        "own_snapshots_allow_volumes",
        "offerings_answer_the_offered_types",
        "own_parameter_is_read",
        "more_names_than_one_call_takes_are_answered",
        "plain_images_carry_no_billing_product",
        "stop_then_terminate_reach_stopped_and_terminated",
        "a_created_group_is_found_by_its_tags",
        "puts_answer_their_versions_and_keep_history",
    ] {
        assert!(
            report.passed().contains(&check),
            "{check} did not run:\n{report}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn all_suites_at_once() {
    let fixture = fixture::standard();
    let report = amiref_testkit::run_all(&seeded(&fixture), &fixture, &Capabilities::ec2()).await;
    report.assert_passed();
}

/// Switching a capability off skips exactly the checks it gates, and they are reported.
#[tokio::test(start_paused = true)]
async fn capabilities_skip_their_checks() {
    let fixture = fixture::standard();
    let report =
        amiref_testkit::catalog::run(&seeded(&fixture), &fixture, &Capabilities::moto()).await;
    let skipped: Vec<&str> = report.skipped().iter().map(|(c, _)| *c).collect();
    assert!(
        skipped.contains(&"strangers_private_image_is_invisible"),
        "{report}"
    );
    assert!(
        skipped.contains(&"a_search_larger_than_a_page_comes_back_whole"),
        "{report}"
    );
    assert!(!report.passed().is_empty());
}

/// A backend that gets deprecation wrong: the suites must notice.
struct ShowsDeprecated(MemoryCloud);

#[async_trait::async_trait]
impl ImageCatalog for ShowsDeprecated {
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        self.0.describe_images(region, ids).await
    }
    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        let mut filter = filter.clone();
        filter.include_deprecated = true;
        if filter.owners.is_empty() {
            filter.owners.push(amiref_core::Owner::Me);
        }
        self.0.search_images(region, &filter).await
    }
    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[amiref_core::SnapshotId],
    ) -> Result<std::collections::BTreeMap<amiref_core::SnapshotId, bool>, CloudError> {
        self.0.can_create_volumes(region, snapshots).await
    }
}

#[tokio::test(start_paused = true)]
async fn the_suites_catch_a_wrong_backend() {
    let fixture = fixture::standard();
    let broken = ShowsDeprecated(seeded(&fixture));
    let report = amiref_testkit::catalog::run(&broken, &fixture, &Capabilities::ec2()).await;
    let failed: Vec<&str> = report.failures().iter().map(|(c, _)| *c).collect();
    for expected in [
        "deprecated_hidden_unless_asked",
        "owner_account_selects_that_account",
        "search_without_owners_is_refused",
    ] {
        assert!(
            failed.contains(&expected),
            "{expected} not caught:\n{report}"
        );
    }
}

/// A backend that lets the caller create volumes from every snapshot, as one that ignores
/// ownership and permissions would: the snapshot suite must notice.
struct EverySnapshotIsMine(MemoryCloud);

#[async_trait::async_trait]
impl ImageCatalog for EverySnapshotIsMine {
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        self.0.describe_images(region, ids).await
    }
    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        self.0.search_images(region, filter).await
    }
    async fn can_create_volumes(
        &self,
        _region: &Region,
        snapshots: &[amiref_core::SnapshotId],
    ) -> Result<std::collections::BTreeMap<amiref_core::SnapshotId, bool>, CloudError> {
        Ok(snapshots.iter().map(|s| (s.clone(), true)).collect())
    }
}

#[tokio::test(start_paused = true)]
async fn the_snapshot_suite_catches_a_backend_that_ignores_permissions() {
    let fixture = fixture::standard();
    let broken = EverySnapshotIsMine(seeded(&fixture));
    let report = amiref_testkit::snapshots::run(&broken, &fixture, &Capabilities::ec2()).await;
    let failed: Vec<&str> = report.failures().iter().map(|(c, _)| *c).collect();
    for expected in [
        "unknown_snapshots_answer_false",
        "shared_image_without_volume_permission_answers_false",
    ] {
        assert!(
            failed.contains(&expected),
            "{expected} not caught:\n{report}"
        );
    }
}

/// A backend whose instances take a day to boot and whose build scripts fail: the
/// instance-control suite must notice.
#[tokio::test(start_paused = true)]
async fn the_instance_suite_catches_slow_boots_and_failing_scripts() {
    let fixture = fixture::standard();
    let mut timings = amiref_memory::Timings::default();
    timings.boot = std::time::Duration::from_secs(24 * 3600);
    let failing = amiref_memory::BuildBehaviour::new(
        amiref_memory::ScriptBehaviour::exits_after(std::time::Duration::from_secs(1), 1),
        amiref_memory::ScriptBehaviour::hangs(),
    );
    let broken = MemoryCloud::world_yaml_builder(&fixture.world_json().to_string(), "fixture")
        .unwrap()
        .map(|b| b.timings(timings).build_behaviour("conformance", failing))
        .build_located()
        .unwrap();
    let report =
        amiref_testkit::instance_control::run(&broken, &fixture, &Capabilities::ec2()).await;
    let failed: Vec<&str> = report.failures().iter().map(|(c, _)| *c).collect();
    for expected in [
        "a_launched_instance_boots_to_running",
        "a_wrapped_script_reports_its_exit_status",
    ] {
        assert!(
            failed.contains(&expected),
            "{expected} not caught:\n{report}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn governance() {
    let fixture = fixture::standard();
    let report =
        amiref_testkit::governance::run(&seeded(&fixture), &fixture, &Capabilities::ec2()).await;
    report.assert_passed();
    assert!(report.skipped().is_empty(), "{report}");
}

/// The governance suite sees a region that is not as the fixture says.
#[tokio::test(start_paused = true)]
async fn the_governance_suite_catches_a_different_region() {
    let fixture = fixture::standard();
    let mut world = fixture.world_json();
    world["regions"][fixture.region.as_str()] = serde_json::json!({
        "snapshot_block_public_access": "block-all-sharing",
        "recycle_bin_rules": [{"id": "keep", "resource": "image", "retention_days": 1}],
    });
    let cloud = MemoryCloud::from_world_yaml(&world.to_string(), "fixture").unwrap();
    let report = amiref_testkit::governance::run(&cloud, &fixture, &Capabilities::ec2()).await;
    let failed: Vec<&str> = report.failures().iter().map(|(check, _)| *check).collect();
    assert_eq!(
        failed,
        [
            "the_fixture_region_has_no_recycle_bin_rules",
            "snapshot_block_public_access_defaults_to_unblocked"
        ],
        "{report}"
    );
}
