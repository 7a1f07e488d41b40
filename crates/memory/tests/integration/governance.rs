//! ImageGovernance in the in-process cloud, on EC2's rules: deregistration protection and
//! its cooldown (paused clock), disabling, LastLaunchedTime, image references, the Recycle
//! Bin, public snapshots, launch template versions, CopyImage's tags and time-based copies,
//! and every fact in world files (loaded, saved, and refused with its location).
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, CloudErrorKind, CopyImageRequest, DeregistrationProtection, ImageCatalog,
    ImageFilter, ImageGovernance, ImageState, ImageStore, ImdsSupport, InstanceControl, Instances,
    LaunchPermission, Owner, ReferenceKind, Region, RunInstanceRequest, SnapshotBlockPublicAccess,
};
use amiref_memory::{MemoryCloud, WorldError, WorldState, op};

const WORLD: &str = r#"
caller: "123456789012"
start: 2026-12-01T10:00:00Z
accounts:
  - id: "123456789012"
  - id: "222233334444"
regions:
  us-east-1:
    snapshot_block_public_access: block-new-sharing
    recycle_bin_rules:
      - id: keep-team-images
        resource: image
        retention_days: 10
        resource_tags: [{key: team, value: genomics}]
      - id: keep-long
        resource: image
        retention_days: 30
        resource_tags: [{key: keep, value: long}]
      - id: keep-snapshots
        resource: snapshot
        retention_days: 3
        exclude_tags: [{key: scratch}]
  us-west-2:
    snapshot_block_public_access: block-all-sharing
instance_types:
  - name: m6i.large
images:
  - id: ami-0aaaaaaaaaaaaaaa1
    region: us-east-1
    name: shared-one
    architecture: x86_64
    created: 2026-01-01T00:00:00Z
    public: true
    shared_with: [{account: "222233334444"}]
    tags: {team: genomics, keep: long}
    last_launched: 2026-11-20T08:00:00Z
    imds_support: v2.0
  - id: ami-0aaaaaaaaaaaaaaa2
    region: us-east-1
    name: plain-two
    architecture: x86_64
    created: 2026-02-01T00:00:00Z
    public_snapshots: true
    tags: {team: physics}
  - id: ami-0aaaaaaaaaaaaaaa3
    region: us-east-1
    name: protected-three
    architecture: x86_64
    created: 2026-03-01T00:00:00Z
    deregistration_protection: enabled-with-cooldown
  - id: ami-0aaaaaaaaaaaaaaa4
    region: us-east-1
    name: disabled-four
    architecture: x86_64
    created: 2026-04-01T00:00:00Z
    state: disabled
  - id: ami-0aaaaaaaaaaaaaaa5
    region: us-east-1
    name: cooling-five
    architecture: x86_64
    created: 2026-04-01T00:00:00Z
    deregistration_protection: disabled-until-2026-12-01T12:00:00Z
  - id: ami-0aaaaaaaaaaaaaaa6
    region: us-east-1
    name: theirs-six
    owner: "222233334444"
    architecture: x86_64
    created: 2026-04-01T00:00:00Z
    public: true
  - id: ami-0aaaaaaaaaaaaaaa7
    region: us-west-2
    name: west-seven
    architecture: x86_64
    created: 2026-04-01T00:00:00Z
    public_snapshots: true
    volume_gib: 500
instances:
  - id: i-0aaaaaaaaaaaaaaa1
    region: us-east-1
    image: ami-0aaaaaaaaaaaaaaa2
    instance_type: m6i.large
  - id: i-0aaaaaaaaaaaaaaa2
    region: us-east-1
    image: ami-0aaaaaaaaaaaaaaa2
    instance_type: m6i.large
    terminated: true
  - id: i-0aaaaaaaaaaaaaaa3
    region: us-east-1
    image: ami-0aaaaaaaaaaaaaaa2
    instance_type: m6i.large
    owner: "222233334444"
launch_templates:
  - name: workers
    region: us-east-1
    id: lt-0aaaaaaaaaaaaaaa1
    image: ami-0aaaaaaaaaaaaaaa2
    default_version: 3
    latest: {version: 5, image: ami-0aaaaaaaaaaaaaaa1}
  - name: others
    region: us-east-1
    owner: "222233334444"
    image: ami-0aaaaaaaaaaaaaaa2
image_recipes:
  - name: pipeline
    version: 1.2.0
    region: us-east-1
    parent_image: ami-0aaaaaaaaaaaaaaa2
  - name: pipeline-container
    version: 1.0.0
    region: us-east-1
    parent_image: ami-0aaaaaaaaaaaaaaa1
    container: true
parameters:
  us-east-1:
    /golden/two: {value: ami-0aaaaaaaaaaaaaaa2, data_type: "aws:ec2:image"}
    /notes/other: plain text
"#;

fn world() -> MemoryCloud {
    MemoryCloud::from_world_yaml(WORLD, "governance.yaml").unwrap()
}

fn r(code: &str) -> Region {
    code.parse().unwrap()
}

fn ami(n: u8) -> AmiId {
    format!("ami-0aaaaaaaaaaaaaaa{n}").parse().unwrap()
}

fn other() -> AccountId {
    "222233334444".parse().unwrap()
}

fn east() -> Region {
    r("us-east-1")
}

async fn protection(cloud: &MemoryCloud, id: &AmiId) -> Option<DeregistrationProtection> {
    let filter = ImageFilter::owned_by([Owner::Me])
        .include_disabled(true)
        .states([ImageState::Available, ImageState::Disabled]);
    let found = cloud.search_images(&east(), &filter).await.unwrap();
    found
        .into_iter()
        .find(|i| i.id == *id)
        .and_then(|i| i.deregistration_protection)
}

#[tokio::test(start_paused = true)]
async fn protection_with_cooldown_keeps_refusing_for_24_hours() {
    let cloud = world();
    let image = ami(1);
    cloud
        .enable_deregistration_protection(&east(), &image, true)
        .await
        .unwrap();
    assert_eq!(
        protection(&cloud, &image).await,
        Some(DeregistrationProtection::Enabled { cooldown: true })
    );
    let refused = cloud
        .deregister_image(&east(), &image, false)
        .await
        .unwrap_err();
    assert_eq!(refused.kind, CloudErrorKind::NotPermitted, "{refused}");
    assert_eq!(refused.code.as_deref(), Some("OperationNotPermitted"));

    cloud
        .disable_deregistration_protection(&east(), &image)
        .await
        .unwrap();
    let until = cloud.now() + chrono::Duration::hours(24);
    assert_eq!(
        protection(&cloud, &image).await,
        Some(DeregistrationProtection::CoolingDown { until })
    );
    tokio::time::sleep(Duration::from_secs(23 * 3600)).await;
    assert!(
        cloud
            .deregister_image(&east(), &image, false)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        protection(&cloud, &image).await,
        Some(DeregistrationProtection::Disabled),
        "an ended cooldown reads as off"
    );
    cloud
        .deregister_image(&east(), &image, false)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn protection_without_cooldown_turns_off_at_once() {
    let cloud = world();
    let image = ami(2);
    cloud
        .enable_deregistration_protection(&east(), &image, false)
        .await
        .unwrap();
    assert!(
        cloud
            .deregister_image(&east(), &image, false)
            .await
            .is_err()
    );
    cloud
        .disable_deregistration_protection(&east(), &image)
        .await
        .unwrap();
    assert_eq!(
        protection(&cloud, &image).await,
        Some(DeregistrationProtection::Disabled)
    );
    cloud
        .deregister_image(&east(), &image, false)
        .await
        .unwrap();
    // A world file's cooling-down image is protected until its time.
    assert!(
        cloud
            .deregister_image(&east(), &ami(5), false)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    cloud
        .deregister_image(&east(), &ami(5), false)
        .await
        .unwrap();
    // Enabling twice is no error, and the world file's protection holds.
    let protected = ami(3);
    assert!(
        cloud
            .deregister_image(&east(), &protected, false)
            .await
            .is_err()
    );
    for _ in 0..2 {
        cloud
            .enable_deregistration_protection(&east(), &protected, false)
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn only_the_owner_governs_an_image() {
    let cloud = world().as_account(other());
    let mine = ami(1); // shared with and public to the other account
    let refusals = [
        cloud
            .enable_deregistration_protection(&east(), &mine, true)
            .await,
        cloud
            .disable_deregistration_protection(&east(), &mine)
            .await,
        cloud.disable_image(&east(), &mine).await,
        cloud.enable_image(&east(), &mine).await,
        cloud.delete_tags(&east(), &mine, &["team".into()]).await,
    ];
    for refusal in refusals {
        let e = refusal.unwrap_err();
        assert_eq!(e.kind, CloudErrorKind::AccessDenied, "{e}");
    }
    let missing: AmiId = "ami-0bbbbbbbbbbbbbbb1".parse().unwrap();
    let e = cloud.disable_image(&east(), &missing).await.unwrap_err();
    assert_eq!(e.kind, CloudErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn a_disabled_image_is_private_hidden_and_not_launchable() {
    let cloud = world();
    let image = ami(1);
    cloud.disable_image(&east(), &image).await.unwrap();
    cloud.disable_image(&east(), &image).await.unwrap(); // again: no error
    assert!(
        cloud
            .launch_permissions(&east(), &image)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cloud
            .describe_images(&east(), std::slice::from_ref(&image))
            .await
            .unwrap()
            .is_empty(),
        "described by id without IncludeDisabled"
    );
    let mine = ImageFilter::owned_by([Owner::Me]);
    let listed = cloud.search_images(&east(), &mine).await.unwrap();
    assert!(listed.iter().all(|i| i.id != image));
    let with_disabled = mine
        .clone()
        .include_disabled(true)
        .states([ImageState::Disabled]);
    let listed = cloud.search_images(&east(), &with_disabled).await.unwrap();
    let ids: Vec<&AmiId> = listed.iter().map(|i| &i.id).collect();
    assert_eq!(
        ids,
        [&image, &ami(4)],
        "the world file's disabled image too"
    );
    assert!(!listed[0].public);

    let launch = RunInstanceRequest::new(image.clone(), "m6i.large".parse().unwrap());
    let e = cloud.run_instance(&east(), &launch).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("InvalidAMIID.Unavailable"), "{e}");
    let theirs = cloud.as_account(other());
    let e = theirs.run_instance(&east(), &launch).await.unwrap_err();
    assert_eq!(e.kind, CloudErrorKind::NotFound, "no longer shared: {e}");
    let share = [LaunchPermission::Account(other())];
    let e = cloud
        .add_launch_permissions(&east(), &image, &share)
        .await
        .unwrap_err();
    assert_eq!(e.kind, CloudErrorKind::NotPermitted, "{e}");

    cloud.enable_image(&east(), &image).await.unwrap();
    let back = cloud
        .describe_images(&east(), std::slice::from_ref(&image))
        .await
        .unwrap();
    assert_eq!(back[0].state, ImageState::Available);
    assert!(!back[0].public, "enabling does not restore the permissions");
    assert!(
        cloud
            .launch_permissions(&east(), &image)
            .await
            .unwrap()
            .is_empty()
    );
    cloud.run_instance(&east(), &launch).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_pending_image_cannot_be_disabled() {
    let cloud = world();
    let mut request = CopyImageRequest::new(east(), ami(2), east(), "copy-of-two", "t1");
    request.tags.insert("k".into(), "v".into());
    let copy = cloud.copy_image(&request).await.unwrap();
    let e = cloud.disable_image(&east(), &copy).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("IncorrectState"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn tags_are_deleted_and_absent_keys_are_no_error() {
    let cloud = world();
    let keys = ["team".to_owned(), "never-there".to_owned()];
    cloud.delete_tags(&east(), &ami(1), &keys).await.unwrap();
    let image = cloud.inspect_image(&east(), &ami(1)).unwrap();
    assert_eq!(image.tags.keys().collect::<Vec<_>>(), ["keep"]);
    assert_eq!(cloud.counters().operation(op::DELETE_TAGS), 1);
}

#[tokio::test(start_paused = true)]
async fn every_launch_moves_last_launched_whoever_launches() {
    let cloud = world();
    let image = ami(1);
    let before = cloud.inspect_image(&east(), &image).unwrap().last_launched;
    assert_eq!(before, Some("2026-11-20T08:00:00Z".parse().unwrap()));
    tokio::time::sleep(Duration::from_secs(600)).await;
    let launch = RunInstanceRequest::new(image.clone(), "m6i.large".parse().unwrap());
    let theirs = cloud.as_account(other());
    let instance = theirs.run_instance(&east(), &launch).await.unwrap();
    let after = cloud.inspect_image(&east(), &image).unwrap().last_launched;
    assert_eq!(after, Some(cloud.now()));
    // ImdsSupport v2.0: the instance requires IMDSv2 though the launch did not ask.
    let settings = theirs.launch_settings(&east(), &instance).unwrap();
    assert!(settings.require_imdsv2);
    let described = cloud
        .describe_images(&east(), std::slice::from_ref(&image))
        .await
        .unwrap();
    assert_eq!(described[0].imds_support, Some(ImdsSupport::V2));
}

#[tokio::test(start_paused = true)]
async fn references_name_every_resource_of_the_caller() {
    let cloud = world();
    let refs = cloud
        .image_references(&east(), &[ami(2), ami(1), ami(3)])
        .await
        .unwrap();
    let got: Vec<(AmiId, ReferenceKind, &str)> = refs
        .iter()
        .map(|r| (r.image.clone(), r.kind.clone(), r.arn.as_str()))
        .collect();
    let want = vec![
        (
            ami(1),
            ReferenceKind::LaunchTemplate,
            "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0aaaaaaaaaaaaaaa1",
        ),
        (
            ami(1),
            ReferenceKind::ContainerRecipe,
            "arn:aws:imagebuilder:us-east-1:123456789012:container-recipe/pipeline-container/1.0.0",
        ),
        (
            ami(2),
            ReferenceKind::Instance,
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0aaaaaaaaaaaaaaa1",
        ),
        (
            ami(2),
            ReferenceKind::LaunchTemplate,
            "arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0aaaaaaaaaaaaaaa1",
        ),
        (
            ami(2),
            ReferenceKind::SsmParameter,
            "arn:aws:ssm:us-east-1:123456789012:parameter/golden/two",
        ),
        (
            ami(2),
            ReferenceKind::ImageRecipe,
            "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/pipeline/1.2.0",
        ),
    ];
    let mut want = want;
    want.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    assert_eq!(
        got, want,
        "terminated instances and other accounts' resources left out"
    );
    assert_eq!(cloud.counters().operation(op::DESCRIBE_IMAGE_REFERENCES), 1);
}

#[tokio::test(start_paused = true)]
async fn references_are_asked_ten_ids_a_call() {
    let cloud = world();
    let mut ids: Vec<AmiId> = (0..25)
        .map(|n| format!("ami-0ccccccccccccc{n:03}").parse().unwrap())
        .collect();
    ids.push(ami(2));
    ids.push(ami(2)); // duplicates asked once
    let refs = cloud.image_references(&east(), &ids).await.unwrap();
    assert_eq!(refs.len(), 4);
    assert_eq!(cloud.counters().operation(op::DESCRIBE_IMAGE_REFERENCES), 3);
    assert!(
        cloud
            .image_references(&east(), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(cloud.counters().operation(op::DESCRIBE_IMAGE_REFERENCES), 3);
}

#[tokio::test(start_paused = true)]
async fn the_recycle_bin_keeps_what_its_rules_retain() {
    let cloud = world();
    let rules = cloud.recycle_bin_rules(&east()).await.unwrap();
    assert_eq!(rules.len(), 3);
    assert!(
        cloud
            .recycle_bin_rules(&r("us-west-2"))
            .await
            .unwrap()
            .is_empty()
    );

    let kept = cloud.inspect_image(&east(), &ami(1)).unwrap();
    let snapshot = kept.snapshot_ids().next().unwrap().clone();
    cloud
        .deregister_image(&east(), &ami(1), true)
        .await
        .unwrap();
    // Not described, but in the bin for the longest matching rule (30 days, not 10).
    assert!(cloud.inspect_image(&east(), &ami(1)).is_none());
    let bin = cloud.recycle_bin(&east());
    assert_eq!(bin.images.len(), 1);
    assert_eq!(bin.images[0].image.id, ami(1));
    let now = cloud.now();
    assert_eq!(
        bin.images[0].recoverable_until,
        now + chrono::Duration::days(30)
    );
    assert_eq!(bin.snapshots.len(), 1);
    assert_eq!(bin.snapshots[0].id, snapshot);
    assert_eq!(
        bin.snapshots[0].recoverable_until,
        now + chrono::Duration::days(3)
    );
    assert!(!cloud.snapshot_exists(&east(), &snapshot));

    // physics images match no image rule: gone for good; its snapshot is kept.
    cloud
        .deregister_image(&east(), &ami(2), true)
        .await
        .unwrap();
    let bin = cloud.recycle_bin(&east());
    assert_eq!(bin.images.len(), 1);
    assert_eq!(bin.snapshots.len(), 2);

    // Retention ends: the bin empties itself.
    tokio::time::sleep(Duration::from_secs(4 * 86_400)).await;
    assert!(cloud.recycle_bin(&east()).snapshots.is_empty());
    tokio::time::sleep(Duration::from_secs(27 * 86_400)).await;
    assert!(cloud.recycle_bin(&east()).images.is_empty());
}

#[tokio::test(start_paused = true)]
async fn public_snapshots_follow_block_public_access() {
    let cloud = world();
    let public = cloud.public_snapshots(&east()).await.unwrap();
    let two = cloud.inspect_image(&east(), &ami(2)).unwrap();
    let want: std::collections::BTreeSet<_> = two.snapshot_ids().cloned().collect();
    assert_eq!(
        public, want,
        "new sharing blocked: already public stays public"
    );
    assert!(
        cloud
            .public_snapshots(&r("us-west-2"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cloud
            .as_account(other())
            .public_snapshots(&east())
            .await
            .unwrap()
            .is_empty()
    );
    let settings = [
        ("us-east-1", SnapshotBlockPublicAccess::BlockNewSharing),
        ("us-west-2", SnapshotBlockPublicAccess::BlockAllSharing),
        ("eu-west-1", SnapshotBlockPublicAccess::Unblocked),
    ];
    for (region, want) in settings {
        let got = cloud
            .snapshot_block_public_access(&r(region))
            .await
            .unwrap();
        assert_eq!(got, want, "{region}");
    }
}

#[tokio::test(start_paused = true)]
async fn launch_templates_answer_default_and_latest_versions() {
    let cloud = world();
    let versions = cloud.launch_template_images(&east()).await.unwrap();
    let got: Vec<(&str, &str, u64, bool, AmiId)> = versions
        .iter()
        .map(|v| {
            (
                v.launch_template_id.as_str(),
                v.launch_template_name.as_str(),
                v.version,
                v.is_default,
                v.image.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("lt-0aaaaaaaaaaaaaaa1", "workers", 3, true, ami(2)),
            ("lt-0aaaaaaaaaaaaaaa1", "workers", 5, false, ami(1)),
        ]
    );
    let usage = cloud.image_usage(&east(), &ami(1)).await.unwrap();
    assert_eq!(
        usage.launch_templates,
        ["workers"],
        "the latest version counts"
    );
}

#[tokio::test(start_paused = true)]
async fn copies_take_source_tags_and_a_requested_completion_time() {
    let cloud = world();
    let (west, source) = (r("us-west-2"), ami(7));
    cloud
        .create_tags(
            &west,
            &source,
            &[
                ("team".into(), "a".into()),
                ("origin".into(), "west".into()),
            ]
            .into(),
        )
        .await
        .unwrap();
    let mut request = CopyImageRequest::new(west.clone(), source.clone(), east(), "timed", "t1");
    request.copy_image_tags = true;
    request.tags.insert("team".into(), "b".into());
    request.completion_duration_minutes = Some(15);
    let copy = cloud.copy_image(&request).await.unwrap();
    let image = cloud.inspect_image(&east(), &copy).unwrap();
    assert_eq!(image.tag("team"), Some("b"), "the request's tags win");
    assert_eq!(image.tag("origin"), Some("west"));
    // 500 GiB would take 2m + 6s/GiB = 52 minutes; the time-based copy takes 15.
    tokio::time::sleep(Duration::from_secs(15 * 60 - 1)).await;
    assert_eq!(
        cloud.inspect_image(&east(), &copy).unwrap().state,
        ImageState::Pending
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        cloud.inspect_image(&east(), &copy).unwrap().state,
        ImageState::Available
    );

    let mut plain = CopyImageRequest::new(west, source, east(), "plain", "t2");
    plain.tags.insert("k".into(), "v".into());
    let copy = cloud.copy_image(&plain).await.unwrap();
    let image = cloud.inspect_image(&east(), &copy).unwrap();
    assert_eq!(
        image.tags.len(),
        1,
        "without CopyImageTags only the request's"
    );
    for bad in [0, 10, 20, 2895, 3000] {
        let mut request = plain.clone();
        request.client_token = format!("bad-{bad}");
        request.name = format!("bad-{bad}");
        request.completion_duration_minutes = Some(bad);
        let e = cloud.copy_image(&request).await.unwrap_err();
        assert_eq!(e.kind, CloudErrorKind::InvalidRequest, "{bad}: {e}");
        assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
    }
    // The same token with another completion time is another request.
    let mut changed = plain.clone();
    changed.completion_duration_minutes = Some(30);
    let e = cloud.copy_image(&changed).await.unwrap_err();
    assert_eq!(e.code.as_deref(), Some("IdempotentParameterMismatch"));
}

#[tokio::test(start_paused = true)]
async fn every_fact_survives_a_saved_world() {
    let cloud = world();
    cloud
        .enable_deregistration_protection(&east(), &ami(2), true)
        .await
        .unwrap();
    cloud
        .disable_image(&east(), &ami(6).clone())
        .await
        .unwrap_err(); // not ours
    cloud
        .deregister_image(&east(), &ami(1), true)
        .await
        .unwrap();
    let terminate = ["i-0aaaaaaaaaaaaaaa1".parse().unwrap()];
    cloud
        .terminate_instances(&east(), &terminate)
        .await
        .unwrap();
    let saved = cloud.to_world();
    let yaml = saved.to_yaml().unwrap();
    for field in [
        "deregistration_protection: enabled-with-cooldown",
        "imds_support: v2.0",
        "recycled_until:",
        "snapshot_block_public_access: block-all-sharing",
        "recycle_bin_rules:",
        "image_recipes:",
        "latest:",
        "state: disabled",
    ] {
        assert!(yaml.contains(field), "{field} missing from\n{yaml}");
    }
    let again = MemoryCloud::from_world_yaml(&yaml, "saved").unwrap();
    assert_eq!(again.to_world(), saved);
    assert_eq!(again.recycle_bin(&east()), cloud.recycle_bin(&east()));
    let refs = again.image_references(&east(), &[ami(2)]).await.unwrap();
    assert_eq!(
        refs,
        cloud.image_references(&east(), &[ami(2)]).await.unwrap()
    );
}

/// One command on a saved world: opens its state, loads it on a paused clock, runs `body`,
/// saves.
fn command(
    world_file: &std::path::Path,
    state_dir: &std::path::Path,
    body: impl AsyncFnOnce(&MemoryCloud),
) {
    let state = WorldState::open(world_file, Some(state_dir)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let cloud = state.load().unwrap();
        body(&cloud).await;
        state.save(&cloud).unwrap();
    });
}

#[test]
fn a_world_state_keeps_governance_between_commands() {
    let dir = tempfile::tempdir().unwrap();
    let world_file = dir.path().join("world.yaml");
    std::fs::write(&world_file, WORLD).unwrap();
    let state_dir = dir.path().join("state");
    command(&world_file, &state_dir, async |cloud| {
        cloud.disable_image(&east(), &ami(2)).await.unwrap();
        cloud
            .enable_deregistration_protection(&east(), &ami(2), true)
            .await
            .unwrap();
        cloud
            .disable_deregistration_protection(&east(), &ami(2))
            .await
            .unwrap();
    });
    command(&world_file, &state_dir, async |cloud| {
        let image = cloud.inspect_image(&east(), &ami(2)).unwrap();
        assert_eq!(image.state, ImageState::Disabled);
        assert!(matches!(
            image.deregistration_protection,
            Some(DeregistrationProtection::CoolingDown { .. })
        ));
        assert!(
            cloud
                .deregister_image(&east(), &ami(2), false)
                .await
                .is_err()
        );
    });
}

fn refused(body: &str) -> WorldError {
    MemoryCloud::from_world_yaml(body, "worlds/broken.yaml").unwrap_err()
}

fn image(extra: &str) -> String {
    format!(
        "images:\n  - id: ami-0aaaaaaaaaaaaaaa1\n    region: us-east-1\n    name: one\n    architecture: x86_64\n    created: 2026-01-01T00:00:00Z\n{extra}"
    )
}

#[test]
fn bad_governance_facts_are_refused_where_they_are_written() {
    let cases: [(String, u32, &str); 9] = [
        (
            image("    deregistration_protection: sometimes\n"),
            7,
            "enabled-with-cooldown",
        ),
        (image("    imds_support: v1.0\n"), 7, "imds_support"),
        (
            image("    state: disabled\n    public: true\n"),
            7,
            "disabled image shared with no one",
        ),
        (
            "regions:\n  us-east-1:\n    recycle_bin_rules:\n      - id: r1\n        resource: image\n        retention_days: 400\n".to_owned(),
            6,
            "1 to 365 days",
        ),
        (
            "regions:\n  us-east-1:\n    recycle_bin_rules:\n      - id: r1\n        resource: volume\n        retention_days: 4\n".to_owned(),
            5,
            "resource",
        ),
        (
            "regions:\n  us-east-1:\n    snapshot_block_public_access: block-some\n".to_owned(),
            3,
            "snapshot_block_public_access",
        ),
        (
            format!("{}launch_templates:\n  - name: t\n    region: us-east-1\n    image: ami-0aaaaaaaaaaaaaaa1\n    id: lt-12\n", image("")),
            11,
            "lt- and 17 hexadecimal digits",
        ),
        (
            format!("{}launch_templates:\n  - name: t\n    region: us-east-1\n    image: ami-0aaaaaaaaaaaaaaa1\n    default_version: 4\n    latest: {{version: 2, image: ami-0aaaaaaaaaaaaaaa1}}\n", image("")),
            12,
            "newer than the default version",
        ),
        (
            "image_recipes:\n  - name: p\n    version: one\n    region: us-east-1\n    parent_image: ami-0aaaaaaaaaaaaaaa1\n".to_owned(),
            3,
            "semantic version",
        ),
    ];
    for (text, line, expected) in cases {
        let err = refused(&text);
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("worlds/broken.yaml:{line}:")),
            "{shown}\n---\n{text}"
        );
        assert!(shown.contains(expected), "{shown}\n---\n{text}");
    }
}
