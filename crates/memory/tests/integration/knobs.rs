//! The in-process cloud's own behaviour: its knobs (throttling, latency, faults, counters),
//! its clock (pending images, deprecation, change sets) and EC2's refusals.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, Architecture, CatalogChange, ChangeSetRequest, ChangeSetStatus,
    CloudErrorKind, CopyImageRequest, CreateImageRequest, Image, ImageCatalog, ImageFilter,
    ImageState, ImageStore, InstanceType, Instances, LaunchPermission, Marketplace,
    MarketplacePublisher, Owner, Region, RunInstanceRequest,
};
use amiref_memory::{ImageSeed, MemoryCloud, RateLimit, Throttling, op};
use tokio::time::Instant;

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/worlds/demo.yaml"
);

fn r(code: &str) -> Region {
    code.parse().unwrap()
}

fn ami(id: &str) -> AmiId {
    id.parse().unwrap()
}

fn demo() -> MemoryCloud {
    MemoryCloud::from_world_file(DEMO).unwrap()
}

fn me() -> AccountId {
    "123456789012".parse().unwrap()
}

/// A world of one region holding `n` public images of the caller's.
fn world_of(n: usize) -> amiref_memory::MemoryCloudBuilder {
    let region = r("us-east-1");
    MemoryCloud::builder()
        .caller(me())
        .instance_type("t3.micro".parse().unwrap(), [Architecture::X86_64])
        .images((0..n).map(|i| {
            let mut image = Image::new(
                ami(&format!("ami-0{i:016x}")),
                region.clone(),
                format!("image-{i:06}"),
                me(),
                Architecture::X86_64,
                "2026-01-01T00:00:00Z".parse().unwrap(),
            );
            image.public = true;
            ImageSeed::new(image)
        }))
}

fn copy_of(source: &str, token: &str) -> CopyImageRequest {
    CopyImageRequest::new(
        r("us-east-1"),
        ami(source),
        r("ap-south-1"),
        format!("copy-{token}"),
        token,
    )
}

#[tokio::test(start_paused = true)]
async fn describe_throttles_at_ec2s_bucket_and_refills_on_tokio_time() {
    let cloud = world_of(1).throttling(Throttling::ec2()).build().unwrap();
    let (east, west) = (r("us-east-1"), r("us-west-2"));
    let id = [ami("ami-00000000000000000")];
    for n in 0..100 {
        assert!(cloud.describe_images(&east, &id).await.is_ok(), "call {n}");
    }
    let err = cloud.describe_images(&east, &id).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"));
    assert!(err.is_retryable());
    // Buckets are per region.
    assert!(cloud.describe_images(&west, &id).await.is_ok());
    // 20 tokens a second come back.
    tokio::time::advance(Duration::from_secs(1)).await;
    for n in 0..20 {
        assert!(
            cloud.describe_images(&east, &id).await.is_ok(),
            "refilled call {n}"
        );
    }
    assert!(cloud.describe_images(&east, &id).await.is_err());
    // Every attempt counts, throttled or not.
    assert_eq!(cloud.counters().get(op::DESCRIBE_IMAGES, Some(&east)), 122);
}

#[tokio::test(start_paused = true)]
async fn copy_image_has_its_own_slow_bucket() {
    let cloud = demo();
    cloud.set_throttling(Some(Throttling {
        copy_image: RateLimit::new(3, 1.0),
        ..Throttling::ec2()
    }));
    for n in 0..3 {
        cloud
            .copy_image(&copy_of("ami-0123456789abcdef0", &format!("t{n}")))
            .await
            .unwrap();
    }
    let err = cloud
        .copy_image(&copy_of("ami-0123456789abcdef0", "t3"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    // Describes draw from another bucket.
    assert!(cloud.describe_images(&r("ap-south-1"), &[]).await.is_ok());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(
        cloud
            .copy_image(&copy_of("ami-0123456789abcdef0", "t3"))
            .await
            .is_ok()
    );
    assert_eq!(Throttling::ec2().copy_image, RateLimit::new(100, 1.0));
    assert_eq!(Throttling::ec2().non_mutating, RateLimit::new(100, 20.0));
}

#[tokio::test(start_paused = true)]
async fn latency_delays_each_call_on_tokios_clock() {
    let cloud = world_of(1)
        .latency(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    cloud.describe_images(&r("us-east-1"), &[]).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    cloud.set_operation_latency(op::DESCRIBE_IMAGES, Duration::from_secs(2));
    let started = Instant::now();
    cloud.describe_images(&r("us-east-1"), &[]).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    cloud.set_region_latency(&r("ap-south-1"), Duration::from_secs(1));
    let started = Instant::now();
    cloud.describe_images(&r("ap-south-1"), &[]).await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "the operation's plus the region's"
    );
}

#[tokio::test(start_paused = true)]
async fn injected_faults_fail_calls() {
    let cloud = demo();
    let (east, west) = (r("us-east-1"), r("us-west-2"));
    let filter = ImageFilter::owned_by([Owner::Amazon]);
    cloud.set_region_down(&east, true);
    let err = cloud.search_images(&east, &filter).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable);
    assert_eq!(err.region.as_ref(), Some(&east));
    assert!(cloud.search_images(&west, &filter).await.is_ok());
    cloud.set_region_down(&east, false);
    assert!(cloud.search_images(&east, &filter).await.is_ok());

    cloud.fail_next(op::COPY_IMAGE, 2, CloudErrorKind::Service);
    for _ in 0..2 {
        let err = cloud
            .copy_image(&copy_of("ami-0123456789abcdef0", "x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::Service);
    }
    assert!(
        cloud
            .copy_image(&copy_of("ami-0123456789abcdef0", "x"))
            .await
            .is_ok()
    );

    let down = world_of(1).region_down(east.clone()).build().unwrap();
    assert!(down.describe_images(&east, &[]).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn counters_count_calls_and_pages_per_operation_and_region() {
    let cloud = world_of(2500).build().unwrap();
    let east = r("us-east-1");
    let found = cloud
        .search_images(&east, &ImageFilter::owned_by([Owner::Me]))
        .await
        .unwrap();
    assert_eq!(found.len(), 2500);
    let counters = cloud.counters();
    assert_eq!(
        counters.get(op::DESCRIBE_IMAGES, Some(&east)),
        3,
        "three pages of 1000"
    );
    cloud.describe_images(&r("eu-west-1"), &[]).await.unwrap();
    amiref_core::Identity::caller(&cloud).await.unwrap();
    let counters = cloud.counters();
    assert_eq!(counters.operation(op::DESCRIBE_IMAGES), 4);
    assert_eq!(counters.get(op::GET_CALLER_IDENTITY, None), 1);
    assert_eq!(counters.region(&east), 3);
    assert_eq!(counters.total(), 5);
    assert_eq!(counters.iter().count(), 3);
    cloud.reset_counters();
    assert_eq!(cloud.counters().total(), 0);
    // Handles on the same world share counters.
    cloud
        .as_account("999988887777".parse().unwrap())
        .describe_images(&east, &[])
        .await
        .unwrap();
    assert_eq!(cloud.counters().total(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_copy_is_pending_until_its_time_has_passed() {
    let cloud = demo();
    let dest = r("ap-south-1");
    let copy = cloud
        .copy_image(&copy_of("ami-0123456789abcdef0", "pending"))
        .await
        .unwrap();
    let image = cloud.inspect_image(&dest, &copy).unwrap();
    assert_eq!(image.state, ImageState::Pending);
    assert_eq!(image.owner, me());
    assert_eq!(image.architecture, Architecture::X86_64);
    assert_eq!(image.root_volume_size_gib(), Some(30));
    // Pending copies cannot be launched.
    let launch = RunInstanceRequest::new(copy.clone(), "m6i.large".parse().unwrap());
    let err = cloud.run_instance(&dest, &launch).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidAMIID.Unavailable"));
    // 2 minutes plus 6 seconds per GiB of the 30 GiB source (the demo's timings).
    tokio::time::advance(Duration::from_secs(120 + 6 * 30 - 1)).await;
    assert_eq!(
        cloud.inspect_image(&dest, &copy).unwrap().state,
        ImageState::Pending
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    let found = cloud
        .search_images(&dest, &ImageFilter::owned_by([Owner::Me]))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, ImageState::Available);
    assert!(cloud.run_instance(&dest, &launch).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn copies_are_idempotent_by_client_token() {
    let cloud = demo();
    let request = copy_of("ami-0123456789abcdef0", "same");
    let before = cloud.image_count(&r("ap-south-1"));
    let first = cloud.copy_image(&request).await.unwrap();
    let second = cloud.copy_image(&request).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(cloud.image_count(&r("ap-south-1")), before + 1, "one copy");
    let mut changed = request.clone();
    changed.name = "another-name".into();
    let err = cloud.copy_image(&changed).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("IdempotentParameterMismatch"));
    // Another account's token is its own.
    let other = cloud.as_account("210987654321".parse().unwrap());
    let theirs = other.copy_image(&request).await.unwrap();
    assert_ne!(theirs, first);
    // Tags come from the request.
    let mut tagged = copy_of("ami-0123456789abcdef0", "tagged");
    tagged.tags = BTreeMap::from([("amiref:source".into(), "ami-0123456789abcdef0".into())]);
    let copy = cloud.copy_image(&tagged).await.unwrap();
    let image = cloud.inspect_image(&r("ap-south-1"), &copy).unwrap();
    assert_eq!(image.tag("amiref:source"), Some("ami-0123456789abcdef0"));
    assert_eq!(
        image.tag("Version"),
        None,
        "the source's tags are not copied"
    );
}

#[tokio::test(start_paused = true)]
async fn copies_are_refused_as_aws_refuses_them() {
    let cloud = demo();
    let refused = |source: &str| copy_of(source, &format!("refused-{source}"));
    // A paid Marketplace image.
    let err = cloud
        .copy_image(&refused("ami-0c0de210000000a01"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);
    assert!(err.message.contains("BillingProduct"), "{err}");
    // A free Marketplace image too: it still carries a billing product.
    let err = cloud
        .copy_image(&refused("ami-0c0de200000000a01"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);
    // A paid image of one's own (a billing product without a Marketplace code) can be
    // copied by its owner, and the copy keeps its product codes.
    let mut own = Image::new(
        ami("ami-0000000000000beef"),
        r("us-east-1"),
        "own-licensed",
        me(),
        Architecture::X86_64,
        "2026-01-01T00:00:00Z".parse().unwrap(),
    );
    own.product_codes.push(amiref_core::ProductCode {
        code: "own-code".into(),
        kind: amiref_core::ProductCodeType::Marketplace,
    });
    let cloud_with_own = MemoryCloud::builder()
        .image(ImageSeed::new(own).paid(true))
        .build()
        .unwrap();
    let copy = cloud_with_own
        .copy_image(&refused("ami-0000000000000beef"))
        .await
        .unwrap();
    let image = cloud_with_own
        .inspect_image(&r("ap-south-1"), &copy)
        .unwrap();
    assert!(image.is_marketplace());
    // An encrypted image shared from another account.
    let err = cloud
        .copy_image(&refused("ami-0e1f2a3b4c5d6e7f9"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);
    // A pending image.
    let err = cloud
        .copy_image(&refused("ami-0220a0b1c2d3e4f50"))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("IncorrectState"));
    // A missing one, and one the caller cannot see.
    for missing in ["ami-0000000000000dead", "ami-0bad0bad0bad0bad6"] {
        let err = cloud.copy_image(&refused(missing)).await.unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::NotFound, "{missing}");
        assert_eq!(err.code.as_deref(), Some("InvalidAMIID.NotFound"));
    }
    // Across partitions.
    let mut china = refused("ami-0123456789abcdef0");
    china.destination_region = r("cn-north-1");
    let err = cloud.copy_image(&china).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    // A shared image whose snapshots are not shared: the storage is out of reach, until
    // the owner grants create-volume permission.
    let owner = cloud.as_account("111122223333".parse().unwrap());
    let shared = ami("ami-0e1f2a3b4c5d6e7f8");
    let snapshots: Vec<_> = cloud
        .inspect_image(&r("us-east-1"), &shared)
        .unwrap()
        .snapshot_ids()
        .cloned()
        .collect();
    owner
        .modify_snapshot_permissions(&r("us-east-1"), &snapshots, &[me()], false)
        .await
        .unwrap();
    let err = cloud
        .copy_image(&refused("ami-0e1f2a3b4c5d6e7f8"))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("AuthFailure"));
    owner
        .modify_snapshot_permissions(&r("us-east-1"), &snapshots, &[me()], true)
        .await
        .unwrap();
    assert!(
        cloud
            .copy_image(&refused("ami-0e1f2a3b4c5d6e7f8"))
            .await
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn visibility_follows_organization_and_ou() {
    let cloud = demo();
    let east = r("us-east-1");
    let org_image = ami("ami-0d1e2f3a4b5c6d7e8");
    let ou_image = ami("ami-0d1e2f3a4b5c6d7ea");
    let ids = [org_image.clone(), ou_image.clone()];
    assert_eq!(cloud.describe_images(&east, &ids).await.unwrap().len(), 2);
    // Outside the organization, neither is visible.
    let stranger = cloud.as_account("999988887777".parse().unwrap());
    assert!(
        stranger
            .describe_images(&east, &ids)
            .await
            .unwrap()
            .is_empty()
    );
    let community = cloud.as_account("111122223333".parse().unwrap());
    assert!(
        community
            .describe_images(&east, &ids)
            .await
            .unwrap()
            .is_empty()
    );
    // The owner shares with the community's account.
    let owner = cloud.as_account("210987654321".parse().unwrap());
    owner
        .add_launch_permissions(
            &east,
            &ou_image,
            &[LaunchPermission::Account("111122223333".parse().unwrap())],
        )
        .await
        .unwrap();
    assert_eq!(
        community.describe_images(&east, &ids).await.unwrap().len(),
        1
    );
    // Only the owner may read or change launch permissions.
    let err = cloud
        .launch_permissions(&east, &ou_image)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::AccessDenied);
}

#[tokio::test(start_paused = true)]
async fn organization_and_ou_sharing_reach_their_members_only() {
    use amiref_memory::Account;
    const ORG: &str = "arn:aws:organizations::210987654321:organization/o-a1b2c3d4e5";
    const OU_X: &str = "arn:aws:organizations::210987654321:ou/o-a1b2c3d4e5/ou-ab12-xxxxxxxx";
    const OU_Y: &str = "arn:aws:organizations::210987654321:ou/o-a1b2c3d4e5/ou-ab12-yyyyyyyy";
    let east = r("us-east-1");
    let (owner, in_x, in_y, outside): (AccountId, AccountId, AccountId, AccountId) = (
        "210987654321".parse().unwrap(),
        "100000000001".parse().unwrap(),
        "100000000002".parse().unwrap(),
        "100000000003".parse().unwrap(),
    );
    let shared = |id: &str, name: &str, with: LaunchPermission| {
        ImageSeed::new(Image::new(
            ami(id),
            east.clone(),
            name,
            owner.clone(),
            Architecture::X86_64,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        ))
        .launch_permission(with)
    };
    let cloud = MemoryCloud::builder()
        .caller(owner.clone())
        .account(
            Account::new(in_x.clone())
                .organization(ORG)
                .organizational_unit(OU_X),
        )
        .account(
            Account::new(in_y.clone())
                .organization(ORG)
                .organizational_unit(OU_Y),
        )
        .image(shared(
            "ami-00000000000000001",
            "for-the-org",
            LaunchPermission::Organization(ORG.into()),
        ))
        .image(shared(
            "ami-00000000000000002",
            "for-ou-x",
            LaunchPermission::OrganizationalUnit(OU_X.into()),
        ))
        .build()
        .unwrap();
    let ids = [ami("ami-00000000000000001"), ami("ami-00000000000000002")];
    for (who, expected) in [(in_x, 2), (in_y, 1), (outside, 0)] {
        let seen = cloud
            .as_account(who.clone())
            .describe_images(&east, &ids)
            .await
            .unwrap();
        assert_eq!(seen.len(), expected, "{who}");
        let searched = cloud
            .as_account(who.clone())
            .search_images(
                &east,
                &ImageFilter::owned_by([Owner::Account(owner.clone())]),
            )
            .await
            .unwrap();
        assert_eq!(searched.len(), expected, "{who}");
    }
}

#[tokio::test(start_paused = true)]
async fn deprecation_follows_the_worlds_clock() {
    let cloud = demo();
    let east = r("us-east-1");
    assert_eq!(
        cloud.now(),
        "2026-11-01T09:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    // The community deprecates its 2.1.0 image an hour from now.
    let community_id: AccountId = "111122223333".parse().unwrap();
    let community = cloud.as_account(community_id.clone());
    let image = ami("ami-0123456789abcdef0");
    let filter =
        ImageFilter::owned_by([Owner::Account(community_id)]).name("cws-python-ml-2.1.0-x86_64");
    let in_an_hour = cloud.now() + chrono::Duration::hours(1);
    community
        .enable_deprecation(&east, &image, in_an_hour)
        .await
        .unwrap();
    let found = |c: &MemoryCloud, f: ImageFilter| {
        let c = c.clone();
        let east = east.clone();
        async move { c.search_images(&east, &f).await.unwrap().len() }
    };
    assert_eq!(found(&cloud, filter.clone()).await, 1);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(found(&cloud, filter.clone()).await, 0, "hidden from others");
    assert_eq!(
        found(&cloud, filter.clone().include_deprecated(true)).await,
        1
    );
    assert_eq!(
        found(&community, filter.clone()).await,
        1,
        "its owner still sees it"
    );
    let described = cloud
        .describe_images(&east, std::slice::from_ref(&image))
        .await
        .unwrap();
    assert_eq!(
        described[0].deprecation_time,
        Some(in_an_hour),
        "describable by id"
    );
    community.disable_deprecation(&east, &image).await.unwrap();
    assert_eq!(found(&cloud, filter).await, 1);
}

#[tokio::test(start_paused = true)]
async fn change_sets_move_along_and_take_effect() {
    let cloud = demo();
    let change = CatalogChange::new(
        "AddDeliveryOptions",
        "AmiProduct@1.0",
        "prod-cwspyml2x7k4q",
        serde_json::json!({
            "Version": {"VersionTitle": "2.2.0"},
            "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {"AmiSource": {"AmiId": "ami-0f00dfeed0000cafe"}}}}]
        }),
    );
    let request = ChangeSetRequest::new("AWSMarketplace", "release 2.2.0", "token-1", vec![change]);
    let id = cloud.start_change_set(&request).await.unwrap();
    assert_eq!(cloud.start_change_set(&request).await.unwrap(), id);
    let status = || cloud.change_set_status("AWSMarketplace", &id);
    assert_eq!(status().await.unwrap(), ChangeSetStatus::Preparing);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(status().await.unwrap(), ChangeSetStatus::Applying);
    assert_eq!(
        cloud
            .product("cws-python-ml-community")
            .await
            .unwrap()
            .versions
            .len(),
        2
    );
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    assert_eq!(status().await.unwrap(), ChangeSetStatus::Succeeded);
    let product = cloud.product("cws-python-ml-community").await.unwrap();
    let added = product
        .versions
        .iter()
        .find(|v| v.version == "2.2.0")
        .unwrap();
    assert_eq!(
        added.images.get(&r("us-east-1")),
        Some(&ami("ami-0f00dfeed0000cafe"))
    );

    let unknown = CatalogChange::new(
        "AddDeliveryOptions",
        "AmiProduct@1.0",
        "prod-nope",
        serde_json::json!({}),
    );
    let id = cloud
        .start_change_set(&ChangeSetRequest::new(
            "AWSMarketplace",
            "bad",
            "token-2",
            vec![unknown],
        ))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(matches!(
        status_of(&cloud, &id).await,
        ChangeSetStatus::Failed(_)
    ));
    let wrong_catalog = ChangeSetRequest::new("Nope", "x", "token-3", vec![]);
    assert_eq!(
        cloud
            .start_change_set(&wrong_catalog)
            .await
            .unwrap_err()
            .kind,
        CloudErrorKind::InvalidRequest
    );
}

async fn status_of(cloud: &MemoryCloud, id: &str) -> ChangeSetStatus {
    cloud.change_set_status("AWSMarketplace", id).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn run_instance_refuses_an_architecture_mismatch_as_ec2_does() {
    let cloud = demo();
    let east = r("us-east-1");
    let arm_image = ami("ami-0123456789abcdef1");
    let on_x86 = RunInstanceRequest::new(arm_image.clone(), "m6i.large".parse().unwrap());
    let err = cloud.run_instance(&east, &on_x86).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    assert_eq!(err.code.as_deref(), Some("InvalidParameterValue"));
    assert!(
        err.message
            .contains("'x86_64' of the specified instance type"),
        "{err}"
    );
    assert!(
        err.message.contains("'arm64' of the specified AMI"),
        "{err}"
    );
    let on_arm = RunInstanceRequest::new(arm_image, "m7g.large".parse().unwrap());
    let instance = cloud.run_instance(&east, &on_arm).await.unwrap();
    // Types a region does not offer are refused.
    let gpu: InstanceType = "p4d.24xlarge".parse().unwrap();
    let err = cloud
        .run_instance(
            &r("eu-west-1"),
            &RunInstanceRequest::new(ami("ami-0abcd1234567890e1"), gpu),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("Unsupported"));
    // The new image takes the instance's architecture; names are unique.
    let request = CreateImageRequest::new(instance, "lab-arm-build");
    let image = cloud.create_image(&east, &request).await.unwrap();
    let created = cloud.inspect_image(&east, &image).unwrap();
    assert_eq!(
        (created.architecture, created.state),
        (Architecture::Arm64, ImageState::Pending)
    );
    let err = cloud.create_image(&east, &request).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidAMIName.Duplicate"));
    tokio::time::advance(Duration::from_secs(5 * 60)).await;
    assert_eq!(
        cloud.inspect_image(&east, &image).unwrap().state,
        ImageState::Available
    );
}

#[tokio::test(start_paused = true)]
async fn usage_block_public_access_and_deregistration() {
    let cloud = demo();
    let east = r("us-east-1");
    let mine = ami("ami-0f00dfeed0000cafe");
    let usage = cloud.image_usage(&east, &mine).await.unwrap();
    assert_eq!(usage.instances.len(), 1);
    assert_eq!(usage.launch_templates, vec!["genomics-workers".to_owned()]);
    assert!(!usage.is_unused());

    let london = r("eu-west-2");
    assert!(cloud.image_block_public_access(&london).await.unwrap());
    assert!(!cloud.image_block_public_access(&east).await.unwrap());
    let copy = cloud
        .copy_image(&CopyImageRequest::new(
            east.clone(),
            mine.clone(),
            london.clone(),
            "mine-in-london",
            "london",
        ))
        .await
        .unwrap();
    let err = cloud
        .add_launch_permissions(&london, &copy, &[LaunchPermission::Public])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);

    let snapshots: Vec<_> = cloud
        .inspect_image(&london, &copy)
        .unwrap()
        .snapshot_ids()
        .cloned()
        .collect();
    cloud.deregister_image(&london, &copy, false).await.unwrap();
    assert!(cloud.inspect_image(&london, &copy).is_none());
    assert!(
        snapshots.iter().all(|s| cloud.snapshot_exists(&london, s)),
        "kept snapshots"
    );

    let snapshots: Vec<_> = cloud
        .inspect_image(&east, &mine)
        .unwrap()
        .snapshot_ids()
        .cloned()
        .collect();
    cloud.deregister_image(&east, &mine, true).await.unwrap();
    assert!(
        snapshots.iter().all(|s| !cloud.snapshot_exists(&east, s)),
        "deleted snapshots"
    );
    let err = cloud
        .deregister_image(&east, &mine, true)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    // Others' images cannot be deregistered.
    let err = cloud
        .deregister_image(&east, &ami("ami-0123456789abcdef0"), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::AccessDenied);
}

#[tokio::test(start_paused = true)]
async fn big_worlds_search_by_owner_index() {
    let cloud = world_of(20_000)
        .image(ImageSeed::new(Image::new(
            ami("ami-0ffffffffffffffff"),
            r("us-east-1"),
            "someone-elses",
            "111122223333".parse().unwrap(),
            Architecture::X86_64,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        )))
        .build()
        .unwrap();
    let others = ImageFilter::owned_by([Owner::Account("111122223333".parse().unwrap())]);
    let found = cloud.search_images(&r("us-east-1"), &others).await.unwrap();
    assert!(
        found.is_empty(),
        "a private image of another account is invisible"
    );
    let mine = ImageFilter::owned_by([Owner::Me]).name("image-01999*");
    assert_eq!(
        cloud
            .search_images(&r("us-east-1"), &mine)
            .await
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test(start_paused = true)]
async fn an_alias_belongs_to_the_account_and_all_its_images() {
    let amazon: AccountId = "137112412989".parse().unwrap();
    let east = r("us-east-1");
    let image = |id: &str, name: &str, alias: Option<&str>| {
        let mut image = Image::new(
            ami(id),
            east.clone(),
            name,
            amazon.clone(),
            Architecture::X86_64,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        image.public = true;
        image.owner_alias = alias.map(str::to_owned);
        ImageSeed::new(image)
    };
    let cloud = MemoryCloud::builder()
        .image(image("ami-00000000000000001", "al2023-a", Some("amazon")))
        .image(image("ami-00000000000000002", "al2023-b", None))
        .build()
        .unwrap();
    let found = cloud
        .search_images(&east, &ImageFilter::owned_by([Owner::Amazon]))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|i| i.owner_alias.as_deref() == Some("amazon"))
    );
    // A copy made by the aliased account carries its alias too.
    let copy = cloud
        .as_account(amazon.clone())
        .copy_image(&CopyImageRequest::new(
            east.clone(),
            ami("ami-00000000000000001"),
            r("eu-west-1"),
            "al2023-a",
            "t",
        ))
        .await
        .unwrap();
    let copied = cloud.inspect_image(&r("eu-west-1"), &copy).unwrap();
    assert_eq!(copied.owner_alias.as_deref(), Some("amazon"));
}
