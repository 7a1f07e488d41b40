//! What decides whether an image can really be copied and launched, as EC2 decides it:
//! snapshot create-volume access, billing products, instance type offerings, the account's
//! Allowed AMIs setting, and SSM parameters; each counted and subject to the knobs.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use amiref_core::{
    AccountId, AccountSettings, AllowedImagesSettings, AllowedImagesState, AmiId, Architecture,
    CloudErrorKind, CopyImageRequest, CreateImageRequest, Image, ImageCatalog, ImageCriterion,
    ImageFilter, ImageStore, InstanceType, InstanceTypes, Instances, Owner, Parameter,
    ParameterName, Parameters, Region, RunInstanceRequest, SnapshotId,
};
use amiref_memory::{
    ImageSeed, InstanceSeed, MemoryCloud, PAID_PLATFORM_DETAILS, PAID_USAGE_OPERATION, RateLimit,
    Throttling, WorldError, op,
};

const WORLD: &str = r#"
start: 2026-11-01T00:00:00Z
caller: "123456789012"
accounts:
  - {id: "137112412989", alias: amazon}
regions:
  us-east-1:
    allowed_images:
      state: enabled
      criteria:
        - {image_providers: [amazon], maximum_days_since_created: 300}
        - {image_providers: ["111122223333"], image_names: ["cws-*"]}
  us-west-2:
    allowed_images:
      state: audit-mode
      criteria:
        - {image_providers: [amazon]}
  eu-west-1:
instance_types:
  - name: t3.micro
  - name: m7g.large
    regions: [us-east-1]
images:
  # --- us-east-1 (Allowed AMIs enabled) and us-west-2 (audit mode) ---
  - {name: al2023-new, owner: "137112412989", architecture: x86_64, created: 2026-10-20T00:00:00Z, public: true,
     ids: {us-east-1: ami-0a00000000000e001, us-west-2: ami-0a00000000000e002}}
  - {name: al2023-old, owner: "137112412989", architecture: x86_64, created: 2025-01-01T00:00:00Z, public: true,
     id: ami-0a00000000000e003, region: us-east-1}
  - {name: cws-python, owner: "111122223333", architecture: x86_64, created: 2026-10-01T00:00:00Z, public: true,
     ids: {us-east-1: ami-0c00000000000e001, us-west-2: ami-0c00000000000e002}}
  - {name: other-python, owner: "111122223333", architecture: x86_64, created: 2026-10-01T00:00:00Z, public: true,
     id: ami-0c00000000000e003, region: us-east-1}
  - {name: stranger-tools, owner: "999988887777", architecture: x86_64, created: 2026-10-01T00:00:00Z, public: true,
     ids: {us-east-1: ami-0b00000000000e001, us-west-2: ami-0b00000000000e002}}
  - {name: mine, architecture: x86_64, created: 2020-01-01T00:00:00Z,
     ids: {us-east-1: ami-0f00000000000e001, us-west-2: ami-0f00000000000e002}}
  # --- eu-west-1 (disabled): what can be copied ---
  - {name: shared-plain, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     shared_with: [{account: "123456789012"}], usage_operation: RunInstances, platform_details: Linux/UNIX,
     id: ami-0d00000000000e001, region: eu-west-1}
  - {name: shared-no-volumes, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     shared_with: [{account: "123456789012"}], volume_permissions: [],
     id: ami-0d00000000000e002, region: eu-west-1}
  - {name: shared-rhel, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     shared_with: [{account: "123456789012"}],
     usage_operation: "RunInstances:0010", platform_details: Red Hat Enterprise Linux,
     id: ami-0d00000000000e003, region: eu-west-1}
  - {name: shared-windows, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     shared_with: [{account: "123456789012"}], platform_details: Windows,
     id: ami-0d00000000000e004, region: eu-west-1}
  - {name: encrypted-key-shared, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     shared_with: [{account: "123456789012"}], encrypted: true, key_shared_with: ["123456789012"],
     id: ami-0d00000000000e005, region: eu-west-1}
  - {name: encrypted-default-key, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     shared_with: [{account: "123456789012"}], encrypted: true,
     id: ami-0d00000000000e006, region: eu-west-1}
  - {name: private-public-snapshot, owner: "444455556666", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     public_snapshots: true, id: ami-0d00000000000e007, region: eu-west-1}
  - {name: stranger-public, owner: "999988887777", architecture: x86_64, created: 2026-07-01T00:00:00Z,
     public: true, id: ami-0d00000000000e008, region: eu-west-1}
  - {name: mine-licensed, architecture: x86_64, created: 2026-07-01T00:00:00Z, paid: true,
     id: ami-0d00000000000e009, region: eu-west-1}
  - {name: mine-windows, architecture: x86_64, created: 2026-07-01T00:00:00Z,
     usage_operation: "RunInstances:0002", platform_details: Windows,
     id: ami-0d00000000000e00a, region: eu-west-1}
instances:
  - {id: i-0d00000000000e001, region: eu-west-1, image: ami-0d00000000000e00a, instance_type: t3.micro}
parameters:
  us-east-1:
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:
      {value: ami-0a00000000000e001, data_type: "aws:ec2:image"}
    /lab/motd: welcome
    /lab/golden/x86_64:
      {value: ami-0f00000000000e001, data_type: "aws:ec2:image", version: 3, last_modified: 2026-10-30T00:00:00Z}
"#;

fn world() -> MemoryCloud {
    MemoryCloud::from_world_yaml(WORLD, "launchability.yaml").unwrap()
}

fn r(code: &str) -> Region {
    code.parse().unwrap()
}

fn ami(id: &str) -> AmiId {
    id.parse().unwrap()
}

fn me() -> AccountId {
    "123456789012".parse().unwrap()
}

fn p(name: &str) -> ParameterName {
    name.parse().unwrap()
}

fn t(name: &str) -> InstanceType {
    name.parse().unwrap()
}

fn snapshots_of(cloud: &MemoryCloud, region: &Region, image: &str) -> Vec<SnapshotId> {
    cloud
        .inspect_image(region, &ami(image))
        .unwrap()
        .snapshot_ids()
        .cloned()
        .collect()
}

fn copy_from_eu(image: &str) -> CopyImageRequest {
    CopyImageRequest::new(
        r("eu-west-1"),
        ami(image),
        r("eu-central-1"),
        format!("copy-of-{image}"),
        format!("token-{image}"),
    )
}

async fn ids_described(cloud: &MemoryCloud, region: &Region, ids: &[&str]) -> Vec<String> {
    let ids: Vec<AmiId> = ids.iter().map(|i| ami(i)).collect();
    let mut got: Vec<String> = cloud
        .describe_images(region, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    got.sort();
    got
}

// --- Snapshot create-volume access ---

#[tokio::test(start_paused = true)]
async fn create_volume_access_follows_ownership_and_permissions() {
    let cloud = world();
    let eu = r("eu-west-1");
    let snap = |image: &str| snapshots_of(&cloud, &eu, image)[0].clone();
    let missing: SnapshotId = "snap-0000000000000dead".parse().unwrap();
    let asked = [
        snap("ami-0d00000000000e009"), // mine
        snap("ami-0d00000000000e001"), // shared, with volume permission
        snap("ami-0d00000000000e002"), // shared, without
        snap("ami-0d00000000000e007"), // another's, public snapshot
        snap("ami-0d00000000000e008"), // a stranger's public image: its snapshot is not public
        missing.clone(),
    ];
    let got = cloud.can_create_volumes(&eu, &asked).await.unwrap();
    let answers: Vec<bool> = asked.iter().map(|s| got[s]).collect();
    assert_eq!(answers, [true, true, false, true, false, false]);
    assert_eq!(got.len(), asked.len(), "every asked snapshot is answered");
    // Another account sees its own view: the partner owns its snapshots, not mine.
    let partner = cloud.as_account("444455556666".parse().unwrap());
    let got = partner.can_create_volumes(&eu, &asked).await.unwrap();
    let answers: Vec<bool> = asked.iter().map(|s| got[s]).collect();
    assert_eq!(answers, [false, true, true, true, false, false]);
    // Snapshots are regional.
    let got = cloud
        .can_create_volumes(&r("us-east-1"), &asked[..1])
        .await
        .unwrap();
    assert!(!got[&asked[0]]);
    // One call each (the counters are the world's, shared by every handle on it).
    assert_eq!(cloud.counters().get(op::DESCRIBE_SNAPSHOTS, Some(&eu)), 2);
}

#[tokio::test(start_paused = true)]
async fn granting_create_volume_permission_is_seen_by_the_grantee() {
    let cloud = world();
    let eu = r("eu-west-1");
    let snapshots = snapshots_of(&cloud, &eu, "ami-0d00000000000e002");
    let partner = cloud.as_account("444455556666".parse().unwrap());
    assert!(!cloud.can_create_volumes(&eu, &snapshots).await.unwrap()[&snapshots[0]]);
    assert_eq!(
        cloud
            .copy_image(&copy_from_eu("ami-0d00000000000e002"))
            .await
            .unwrap_err()
            .kind,
        CloudErrorKind::AccessDenied
    );
    partner
        .modify_snapshot_permissions(&eu, &snapshots, &[me()], true)
        .await
        .unwrap();
    assert!(cloud.can_create_volumes(&eu, &snapshots).await.unwrap()[&snapshots[0]]);
    cloud
        .copy_image(&copy_from_eu("ami-0d00000000000e002"))
        .await
        .unwrap();
}

// --- Billing products and CopyImage ---

#[tokio::test(start_paused = true)]
async fn copy_refusals_follow_billing_products_keys_and_volume_permissions() {
    let cloud = world();
    let refused = |image: &'static str, kind: CloudErrorKind| {
        let cloud = cloud.clone();
        async move {
            let err = cloud.copy_image(&copy_from_eu(image)).await.unwrap_err();
            assert_eq!(err.kind, kind, "{image}: {err}");
            assert_eq!(err.region.as_ref(), Some(&r("eu-central-1")), "{image}");
            err
        }
    };
    let err = refused("ami-0d00000000000e003", CloudErrorKind::NotPermitted).await;
    assert!(err.message.contains("BillingProduct"), "{err}");
    refused("ami-0d00000000000e004", CloudErrorKind::NotPermitted).await; // Windows
    refused("ami-0d00000000000e006", CloudErrorKind::NotPermitted).await; // aws/ebs key
    let err = refused("ami-0d00000000000e002", CloudErrorKind::AccessDenied).await;
    assert_eq!(err.code.as_deref(), Some("AuthFailure"));
    for copyable in [
        "ami-0d00000000000e001", // shared, plain, with volume permission
        "ami-0d00000000000e005", // encrypted with a key shared with the caller
        "ami-0d00000000000e008", // public: no snapshot permission needed
        "ami-0d00000000000e009", // the caller's own licensed image
        "ami-0d00000000000e00a", // the caller's own Windows image
    ] {
        cloud
            .copy_image(&copy_from_eu(copyable))
            .await
            .unwrap_or_else(|e| panic!("{copyable}: {e}"));
    }
}

#[tokio::test(start_paused = true)]
async fn billing_facts_are_described_kept_by_copies_and_inherited_by_new_images() {
    let cloud = world();
    let eu = r("eu-west-1");
    let described = cloud
        .describe_images(
            &eu,
            &[ami("ami-0d00000000000e003"), ami("ami-0d00000000000e001")],
        )
        .await
        .unwrap();
    let rhel = described.iter().find(|i| i.name == "shared-rhel").unwrap();
    assert_eq!(rhel.usage_operation.as_deref(), Some("RunInstances:0010"));
    assert_eq!(
        rhel.platform_details.as_deref(),
        Some("Red Hat Enterprise Linux")
    );
    assert!(rhel.has_billing_product());
    let plain = described.iter().find(|i| i.name == "shared-plain").unwrap();
    assert_eq!(plain.usage_operation.as_deref(), Some("RunInstances"));
    assert!(!plain.has_billing_product());
    // `paid: true` without facts gets a billing product's.
    let licensed = cloud
        .inspect_image(&eu, &ami("ami-0d00000000000e009"))
        .unwrap();
    assert_eq!(
        licensed.usage_operation.as_deref(),
        Some(PAID_USAGE_OPERATION)
    );
    assert_eq!(
        licensed.platform_details.as_deref(),
        Some(PAID_PLATFORM_DETAILS)
    );
    // A copy keeps them.
    let copy = cloud
        .copy_image(&copy_from_eu("ami-0d00000000000e00a"))
        .await
        .unwrap();
    let copy = cloud.inspect_image(&r("eu-central-1"), &copy).unwrap();
    assert_eq!(copy.platform_details.as_deref(), Some("Windows"));
    assert_eq!(copy.usage_operation.as_deref(), Some("RunInstances:0002"));
    // An image of an instance launched from a Windows image is a Windows image.
    let created = cloud
        .create_image(
            &eu,
            &CreateImageRequest::new("i-0d00000000000e001".parse().unwrap(), "from-windows"),
        )
        .await
        .unwrap();
    let created = cloud.inspect_image(&eu, &created).unwrap();
    assert_eq!(created.platform_details.as_deref(), Some("Windows"));
    // And an instance launched now carries the facts on to its images too.
    let launched = cloud
        .run_instance(
            &eu,
            &RunInstanceRequest::new(ami("ami-0d00000000000e003"), t("t3.micro")),
        )
        .await
        .unwrap();
    let again = cloud
        .create_image(&eu, &CreateImageRequest::new(launched, "my-rhel"))
        .await
        .unwrap();
    let again = cloud.inspect_image(&eu, &again).unwrap();
    assert!(again.has_billing_product());
    assert_eq!(again.owner, me());
    // Now the caller owns it, so it may copy it once it is available.
    tokio::time::advance(Duration::from_secs(10 * 60)).await;
    cloud
        .copy_image(&CopyImageRequest::new(
            eu.clone(),
            again.id.clone(),
            r("eu-central-1"),
            "my-rhel-copy",
            "t-rhel",
        ))
        .await
        .unwrap();
}

#[test]
fn the_old_paid_flag_stays_consistent_with_the_facts() {
    let region = r("us-east-1");
    let image = |id: &str| {
        Image::new(
            ami(id),
            region.clone(),
            format!("image-{id}"),
            "111122223333".parse().unwrap(),
            Architecture::X86_64,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        )
    };
    // A seed with billing facts is paid without saying so.
    let windows =
        ImageSeed::new(image("ami-0000000000000a001")).billing("RunInstances:0002", "Windows");
    assert!(windows.is_paid());
    assert!(!ImageSeed::new(image("ami-0000000000000a002")).is_paid());
    // Paid with plain Linux's facts is a contradiction.
    let err = MemoryCloud::builder()
        .image(
            ImageSeed::new(image("ami-0000000000000a003"))
                .billing("RunInstances", "Linux/UNIX")
                .paid(true),
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(".paid"), "{err}");
    // A paid Marketplace listing bills through its product code: its facts stay as given.
    let mut listing = image("ami-0000000000000a005");
    listing.product_codes.push(amiref_core::ProductCode {
        code: "listing".into(),
        kind: amiref_core::ProductCodeType::Marketplace,
    });
    let cloud = MemoryCloud::builder()
        .image(ImageSeed::new(listing).paid(true))
        .build()
        .unwrap();
    let listing = cloud
        .inspect_image(&region, &ami("ami-0000000000000a005"))
        .unwrap();
    assert_eq!(listing.usage_operation, None);
    // In a world file too, located at the image.
    let text = "images:\n  - {name: x, id: ami-0000000000000a004, region: us-east-1, architecture: x86_64,\n     created: 2026-01-01T00:00:00Z, paid: true, usage_operation: RunInstances}\n";
    let err = MemoryCloud::from_world_yaml(text, "w.yaml").unwrap_err();
    match &err {
        WorldError::Invalid { line, field, .. } => {
            assert_eq!(*line, Some(3), "{err}");
            assert!(field.ends_with(".paid"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

// --- Instance type offerings ---

#[tokio::test(start_paused = true)]
async fn offerings_are_per_region_and_counted() {
    let cloud = world();
    let asked = [t("t3.micro"), t("m7g.large"), t("zz9.nano")];
    let east = cloud
        .offered_instance_types(&r("us-east-1"), &asked)
        .await
        .unwrap();
    assert_eq!(
        east.into_iter().collect::<Vec<_>>(),
        [t("m7g.large"), t("t3.micro")]
    );
    let eu = cloud
        .offered_instance_types(&r("eu-west-1"), &asked)
        .await
        .unwrap();
    assert_eq!(eu.into_iter().collect::<Vec<_>>(), [t("t3.micro")]);
    assert_eq!(
        cloud
            .counters()
            .operation(op::DESCRIBE_INSTANCE_TYPE_OFFERINGS),
        2
    );
    // A type the region does not offer cannot launch there.
    let err = cloud
        .run_instance(
            &r("eu-west-1"),
            &RunInstanceRequest::new(ami("ami-0d00000000000e001"), t("m7g.large")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("Unsupported"));
}

// --- Allowed AMIs ---

#[tokio::test(start_paused = true)]
async fn enabled_allowed_amis_hide_what_they_block_but_never_the_callers_own() {
    let cloud = world();
    let east = r("us-east-1");
    let all = [
        "ami-0a00000000000e001", // amazon, recent: allowed
        "ami-0a00000000000e003", // amazon, too old: blocked
        "ami-0c00000000000e001", // community cws-*: allowed
        "ami-0c00000000000e003", // community, another name: blocked
        "ami-0b00000000000e001", // stranger: blocked
        "ami-0f00000000000e001", // mine, old: always allowed
    ];
    assert_eq!(
        ids_described(&cloud, &east, &all).await,
        [
            "ami-0a00000000000e001",
            "ami-0c00000000000e001",
            "ami-0f00000000000e001"
        ]
    );
    let described = cloud
        .describe_images(&east, &[ami("ami-0a00000000000e001")])
        .await
        .unwrap();
    assert_eq!(described[0].image_allowed, Some(true));
    // Searches hide them too.
    let filter = ImageFilter::owned_by([
        Owner::Amazon,
        Owner::Me,
        Owner::Account("111122223333".parse().unwrap()),
        Owner::Account("999988887777".parse().unwrap()),
    ]);
    let mut found: Vec<String> = cloud
        .search_images(&east, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    found.sort();
    assert_eq!(found, ["al2023-new", "cws-python", "mine"]);
    // RunInstances refuses a blocked image with EC2's error, and runs allowed ones.
    let err = cloud
        .run_instance(
            &east,
            &RunInstanceRequest::new(ami("ami-0b00000000000e001"), t("t3.micro")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);
    assert!(err.message.contains("Allowed AMIs"), "{err}");
    for allowed in ["ami-0a00000000000e001", "ami-0f00000000000e001"] {
        cloud
            .run_instance(&east, &RunInstanceRequest::new(ami(allowed), t("t3.micro")))
            .await
            .unwrap();
    }
    // A blocked image is not discoverable as a copy source either.
    let err = cloud
        .copy_image(&CopyImageRequest::new(
            east.clone(),
            ami("ami-0b00000000000e001"),
            r("eu-west-1"),
            "stranger-copy",
            "t1",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    // The setting is the caller's account's view: the stranger sees its own image.
    let stranger = cloud.as_account("999988887777".parse().unwrap());
    assert_eq!(
        ids_described(&stranger, &east, &["ami-0b00000000000e001"]).await,
        ["ami-0b00000000000e001"]
    );
}

#[tokio::test(start_paused = true)]
async fn criteria_follow_the_worlds_clock() {
    let cloud = world();
    let east = r("us-east-1");
    // al2023-new was created 2026-10-20; 300 days later it no longer matches the amazon
    // criterion (creation-date condition).
    assert_eq!(
        ids_described(&cloud, &east, &["ami-0a00000000000e001"])
            .await
            .len(),
        1
    );
    tokio::time::advance(Duration::from_secs(300 * 86_400)).await;
    assert!(
        ids_described(&cloud, &east, &["ami-0a00000000000e001"])
            .await
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn audit_mode_hides_nothing_and_says_what_would_be_allowed() {
    let cloud = world();
    let west = r("us-west-2");
    let described = cloud
        .describe_images(
            &west,
            &[
                ami("ami-0a00000000000e002"),
                ami("ami-0c00000000000e002"),
                ami("ami-0b00000000000e002"),
                ami("ami-0f00000000000e002"),
            ],
        )
        .await
        .unwrap();
    let allowed: Vec<(String, Option<bool>)> = described
        .iter()
        .map(|i| (i.name.clone(), i.image_allowed))
        .collect();
    assert_eq!(allowed.len(), 4, "audit mode hides nothing");
    for (name, want) in [
        ("al2023-new", true),
        ("cws-python", false),
        ("stranger-tools", false),
        ("mine", true),
    ] {
        assert!(
            allowed.contains(&(name.to_owned(), Some(want))),
            "{name}: {allowed:?}"
        );
    }
    // Launching is not restricted in audit mode.
    cloud
        .run_instance(
            &west,
            &RunInstanceRequest::new(ami("ami-0b00000000000e002"), t("t3.micro")),
        )
        .await
        .unwrap();
    // A disabled region reports nothing.
    let eu = cloud
        .describe_images(&r("eu-west-1"), &[ami("ami-0d00000000000e008")])
        .await
        .unwrap();
    assert_eq!(eu[0].image_allowed, None);
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_settings_are_read_and_set_at_run_time() {
    let cloud = world();
    let settings = cloud
        .allowed_images_settings(&r("us-east-1"))
        .await
        .unwrap();
    assert_eq!(settings.state, AllowedImagesState::Enabled);
    assert_eq!(settings.criteria.len(), 2);
    assert_eq!(settings.criteria[0].image_providers, ["amazon"]);
    assert_eq!(settings.criteria[0].maximum_days_since_created, Some(300));
    let default = cloud
        .allowed_images_settings(&r("ap-south-1"))
        .await
        .unwrap();
    assert_eq!(default, AllowedImagesSettings::default());
    assert_eq!(
        cloud.counters().operation(op::GET_ALLOWED_IMAGES_SETTINGS),
        2
    );
    // Turned on at run time in the disabled region, with `none`: only own images.
    let eu = r("eu-west-1");
    let mut none = ImageCriterion::default();
    none.image_providers = vec!["none".to_owned()];
    cloud.set_allowed_images(
        &eu,
        AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![none]),
    );
    assert_eq!(
        ids_described(
            &cloud,
            &eu,
            &["ami-0d00000000000e008", "ami-0d00000000000e009"]
        )
        .await,
        ["ami-0d00000000000e009"]
    );
    cloud.set_allowed_images(&eu, AllowedImagesSettings::default());
    assert_eq!(
        ids_described(&cloud, &eu, &["ami-0d00000000000e008"])
            .await
            .len(),
        1
    );
    // And from the builder.
    let mut deprecated = ImageCriterion::default();
    deprecated.maximum_days_since_deprecated = Some(0);
    let built = MemoryCloud::builder()
        .allowed_images(
            r("us-east-1"),
            AllowedImagesSettings::new(AllowedImagesState::AuditMode, vec![deprecated]),
        )
        .build()
        .unwrap();
    assert_eq!(
        built
            .allowed_images_settings(&r("us-east-1"))
            .await
            .unwrap()
            .state,
        AllowedImagesState::AuditMode
    );
}

// --- SSM parameters ---

#[tokio::test(start_paused = true)]
async fn parameters_are_read_in_batches_of_ten() {
    let cloud = world();
    let east = r("us-east-1");
    let public = p("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
    let golden = p("/lab/golden/x86_64");
    let mut asked = vec![
        public.clone(),
        golden.clone(),
        p("/lab/motd"),
        golden.clone(),
    ];
    asked.extend((0..9).map(|n| p(&format!("/lab/missing/{n}"))));
    let got = cloud.get_parameters(&east, &asked).await.unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[&public].value, "ami-0a00000000000e001");
    assert_eq!(got[&public].data_type.as_deref(), Some("aws:ec2:image"));
    assert_eq!(got[&golden].version, 3);
    assert_eq!(
        got[&golden].last_modified,
        Some("2026-10-30T00:00:00Z".parse().unwrap())
    );
    let motd = &got[&p("/lab/motd")];
    assert_eq!(
        (motd.value.as_str(), motd.data_type.as_deref(), motd.version),
        ("welcome", Some("text"), 1)
    );
    // 12 distinct names: two calls.
    assert_eq!(cloud.counters().get(op::GET_PARAMETERS, Some(&east)), 2);
    // Nothing asked, nothing called.
    assert!(cloud.get_parameters(&east, &[]).await.unwrap().is_empty());
    assert_eq!(cloud.counters().get(op::GET_PARAMETERS, Some(&east)), 2);
    // Parameters are regional.
    assert!(
        cloud
            .get_parameters(&r("us-west-2"), std::slice::from_ref(&public))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn the_callers_parameters_are_its_own_and_aws_public_ones_everyones() {
    let cloud = world();
    let east = r("us-east-1");
    let public = p("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
    let golden = p("/lab/golden/x86_64");
    let stranger = cloud.as_account("999988887777".parse().unwrap());
    let got = stranger
        .get_parameters(&east, &[public.clone(), golden.clone()])
        .await
        .unwrap();
    assert_eq!(got.keys().collect::<Vec<_>>(), [&public]);
    // Putting a parameter bumps its version and stamps it with the world's clock.
    tokio::time::advance(Duration::from_secs(3600)).await;
    cloud.set_parameter(
        &east,
        golden.clone(),
        "ami-0c00000000000e001",
        Some("aws:ec2:image".into()),
    );
    let got = cloud
        .get_parameters(&east, std::slice::from_ref(&golden))
        .await
        .unwrap();
    assert_eq!(got[&golden].version, 4);
    assert_eq!(got[&golden].value, "ami-0c00000000000e001");
    assert_eq!(
        got[&golden].last_modified,
        Some("2026-11-01T01:00:00Z".parse().unwrap())
    );
    cloud.remove_parameter(&east, &golden);
    assert!(
        cloud
            .get_parameters(&east, &[golden])
            .await
            .unwrap()
            .is_empty()
    );
    // And from the builder.
    let mut golden = Parameter::new(p("/golden/x"), "hello");
    golden.version = 2;
    let built = MemoryCloud::builder()
        .parameter(r("us-east-1"), golden)
        .build()
        .unwrap();
    let got = built
        .get_parameters(&r("us-east-1"), &[p("/golden/x")])
        .await
        .unwrap();
    assert_eq!(got[&p("/golden/x")].version, 2);
}

#[test]
fn image_parameters_must_name_an_image_of_their_region() {
    let text = format!(
        "{}parameters:\n  eu-west-1:\n    /lab/bad: {{value: ami-0a00000000000e001, data_type: \"aws:ec2:image\"}}\n",
        WORLD
            .replace("\nparameters:\n", "\nparameters_unused:\n")
            .split("parameters_unused:")
            .next()
            .unwrap()
    );
    let err = MemoryCloud::from_world_yaml(&text, "w.yaml").unwrap_err();
    let line = text.lines().position(|l| l.contains("/lab/bad")).unwrap() + 1;
    match &err {
        WorldError::Invalid {
            line: got,
            field,
            expected,
            ..
        } => {
            assert_eq!(*got, Some(line), "{err}");
            assert_eq!(field, "parameters.eu-west-1./lab/bad.value", "{err}");
            assert!(expected.contains("an image defined in eu-west-1"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    let bad_type = "parameters:\n  us-east-1:\n    /x: {value: y, data_type: number}\n";
    let err = MemoryCloud::from_world_yaml(bad_type, "w.yaml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("w.yaml:3: parameters.us-east-1./x.data_type: found number"),
        "{err}"
    );
    let bad_name = "parameters:\n  us-east-1:\n    /a b: c\n";
    let err = MemoryCloud::from_world_yaml(bad_name, "w.yaml").unwrap_err();
    assert!(matches!(err, WorldError::Syntax { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("SSM parameter name"), "{err}");
    let unknown_field = "parameters:\n  us-east-1:\n    /x: {value: y, type: text}\n";
    let err = MemoryCloud::from_world_yaml(unknown_field, "w.yaml").unwrap_err();
    assert!(err.to_string().contains("unknown field `type`"), "{err}");
}

#[test]
fn allowed_images_mistakes_are_located() {
    let load = |region_body: &str| {
        MemoryCloud::from_world_yaml(
            &format!("caller: \"123456789012\"\nregions:\n  us-east-1:\n{region_body}"),
            "w.yaml",
        )
        .unwrap_err()
    };
    let err = load("    allowed_images: {state: on}\n");
    assert!(matches!(err, WorldError::Syntax { line: 4, .. }), "{err}");
    assert!(err.to_string().contains("audit-mode"), "{err}");
    let err = load(
        "    allowed_images:\n      state: enabled\n      criteria:\n        - {image_providers: [amazon, amazn]}\n",
    );
    assert_eq!(
        err.to_string(),
        "w.yaml:7: regions.us-east-1.allowed_images.criteria[0].image_providers: found amazn, expected amazon, aws-marketplace, aws-backup-vault, none, or a 12-digit account id"
    );
    let err = load(
        "    allowed_images:\n      state: enabled\n      criteria:\n        - {image_names: [x], max_age: 3}\n",
    );
    assert!(err.to_string().contains("unknown field `max_age`"), "{err}");
    let err = load("    allowed_images:\n      state: enabled\n      criteria:\n        - {}\n");
    assert!(
        err.to_string().contains("at least one of image_providers"),
        "{err}"
    );
}

// --- Knobs apply to the new operations like to every other ---

#[tokio::test(start_paused = true)]
async fn the_new_operations_obey_latency_faults_outages_and_throttling() {
    let cloud = world();
    let east = r("us-east-1");
    cloud.set_latency(Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    cloud
        .offered_instance_types(&east, &[t("t3.micro")])
        .await
        .unwrap();
    cloud.allowed_images_settings(&east).await.unwrap();
    cloud.can_create_volumes(&east, &[]).await.unwrap();
    cloud
        .get_parameters(&east, &[p("/lab/motd")])
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(400));
    cloud.set_latency(Duration::ZERO);

    cloud.fail_next(op::GET_PARAMETERS, 1, CloudErrorKind::Unavailable);
    let err = cloud
        .get_parameters(&east, &[p("/lab/motd")])
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (CloudErrorKind::Unavailable, op::GET_PARAMETERS)
    );
    assert!(cloud.get_parameters(&east, &[p("/lab/motd")]).await.is_ok());

    cloud.set_region_down(&east, true);
    assert_eq!(
        cloud.allowed_images_settings(&east).await.unwrap_err().kind,
        CloudErrorKind::Unavailable
    );
    assert_eq!(
        cloud.can_create_volumes(&east, &[]).await.unwrap_err().kind,
        CloudErrorKind::Unavailable
    );
    assert_eq!(
        cloud
            .offered_instance_types(&east, &[])
            .await
            .unwrap_err()
            .kind,
        CloudErrorKind::Unavailable
    );
    cloud.set_region_down(&east, false);

    // GetParameters draws from SSM's bucket, not EC2's.
    cloud.set_throttling(Some(Throttling {
        parameters: RateLimit::new(2, 1.0),
        non_mutating: RateLimit::new(1, 1.0),
        ..Throttling::ec2()
    }));
    cloud
        .get_parameters(&east, &[p("/lab/motd")])
        .await
        .unwrap();
    cloud
        .get_parameters(&east, &[p("/lab/motd")])
        .await
        .unwrap();
    let err = cloud
        .get_parameters(&east, &[p("/lab/motd")])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    cloud.offered_instance_types(&east, &[]).await.unwrap();
    let err = cloud.offered_instance_types(&east, &[]).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    cloud
        .allowed_images_settings(&east)
        .await
        .expect("each EC2 action has a bucket of its own");
    assert_eq!(Throttling::ec2().parameters, RateLimit::new(40, 40.0));
}

#[tokio::test(start_paused = true)]
async fn instances_seeded_from_billing_images_pass_their_facts_on() {
    let region = r("us-east-1");
    let mut image = Image::new(
        ami("ami-0000000000000b001"),
        region.clone(),
        "windows-base",
        me(),
        Architecture::X86_64,
        "2026-01-01T00:00:00Z".parse().unwrap(),
    );
    image.platform_details = Some("Windows".into());
    image.usage_operation = Some("RunInstances:0002".into());
    let cloud = MemoryCloud::builder()
        .instance_type(t("t3.micro"), [Architecture::X86_64])
        .image(ImageSeed::new(image))
        .instance(InstanceSeed::new(
            "i-0000000000000b001".parse().unwrap(),
            region.clone(),
            ami("ami-0000000000000b001"),
            t("t3.micro"),
        ))
        .build()
        .unwrap();
    let created = cloud
        .create_image(
            &region,
            &CreateImageRequest::new("i-0000000000000b001".parse().unwrap(), "windows-child"),
        )
        .await
        .unwrap();
    let created = cloud.inspect_image(&region, &created).unwrap();
    assert_eq!(
        created.usage_operation.as_deref(),
        Some("RunInstances:0002")
    );
}
