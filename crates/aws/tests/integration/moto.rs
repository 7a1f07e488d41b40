//! amiref-testkit's conformance suites, through [`AwsCloud`], against moto's EC2 emulator.
//!
//! scripts/test (or `eval "$(scripts/moto start target/moto/amis.json)"`) starts the
//! emulator seeded with the standard fixture and exports `AMIREF_TEST_EC2_ENDPOINT`. Under
//! `CI=true` a missing endpoint fails these tests; elsewhere they are skipped with a reason.
//! Every test uses its own run id, so tests share the emulator without colliding.
//! Capabilities switch off what moto does not emulate (docs/aws.md lists each difference;
//! tests/integration/mocks.rs covers those behaviours with aws-smithy-mocks).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use amiref_aws::AwsCloud;
use amiref_core::{ImageStore, Region};
use amiref_testkit::{Capabilities, Fixture, Report, fixture};
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;

const ENDPOINT_VAR: &str = "AMIREF_TEST_EC2_ENDPOINT";

/// The emulator's endpoint, or `None` (with the reason printed) when these tests may skip.
fn endpoint() -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{ENDPOINT_VAR} is not set but CI=true: the moto suites must run in CI \
             (scripts/test starts the emulator)"
        ),
        _ => {
            eprintln!(
                "skipping: {ENDPOINT_VAR} is not set; run scripts/test, or \
                 `eval \"$(scripts/moto start target/moto/amis.json)\"` first"
            );
            None
        }
    }
}

/// What moto 5.2.5 emulates through AwsCloud, as checked against it (docs/aws.md, "moto").
///
/// `copy_tags` holds although moto drops CopyImage's tags, because AwsCloud tags every copy
/// again with CreateTags; `public_parameter_images` holds because examples/moto_fixture.rs
/// adds the images moto's public AL2023 parameters name to the fixture.
/// `AMIREF_TEST_MOTO_PROBE=flag,flag` switches more on, to check a new moto version for them.
fn moto_capabilities() -> Capabilities {
    let mut caps = Capabilities::moto();
    caps.copy_tags = true;
    caps.public_parameter_images = true;
    // Checked against moto 5.2.5: its console answers text (a fixed boot log), it refuses
    // launches into groups and subnets that do not exist, and it keeps 100 versions.
    caps.console_output = true;
    caps.network_validation = true;
    caps.parameter_version_limit = true;
    // moto 5.2.5's DisableImage changes the state but keeps the launch permissions (EC2
    // removes them all); tests/integration/moto.rs checks what it does do, tests/integration/governance.rs the rest.
    caps.disable_image = false;
    if let Ok(flags) = std::env::var("AMIREF_TEST_MOTO_PROBE") {
        // Probing which capabilities moto has: turn these on (comma-separated).
        for flag in flags.split(',') {
            match flag {
                "launch_validation" => caps.launch_validation = true,
                "name_uniqueness" => caps.name_uniqueness = true,
                "block_public_access" => caps.block_public_access = true,
                "copy_tags" => caps.copy_tags = true,
                "owner_aliases" => caps.owner_aliases = true,
                "snapshot_permissions" => caps.snapshot_permissions = true,
                "billing_details" => caps.billing_details = true,
                "allowed_images" => caps.allowed_images = true,
                "seeded_offerings" => caps.seeded_offerings = true,
                "pagination" => caps.pagination = true,
                "instance_lifecycle" => caps.instance_lifecycle = true,
                "console_output" => caps.console_output = true,
                "image_ancestry" => caps.image_ancestry = true,
                "group_dependencies" => caps.group_dependencies = true,
                "network_validation" => caps.network_validation = true,
                "image_parameter_checks" => caps.image_parameter_checks = true,
                "parameter_version_limit" => caps.parameter_version_limit = true,
                "deregistration_protection" => caps.deregistration_protection = true,
                "disable_image" => caps.disable_image = true,
                "image_references" => caps.image_references = true,
                "recycle_bin" => caps.recycle_bin = true,
                "public_snapshots" => caps.public_snapshots = true,
                "snapshot_block_public_access" => caps.snapshot_block_public_access = true,
                "launch_template_images" => caps.launch_template_images = true,
                "copy_image_tags" => caps.copy_image_tags = true,
                "time_based_copy" => caps.time_based_copy = true,
                "last_launched" => caps.last_launched = true,
                _ => {}
            }
        }
    }
    caps
}

/// A run id no other test (of this or an earlier run) uses.
fn run_id(suite: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{suite}-{secs}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The cloud on the emulator, as the fixture's caller (moto's default account).
async fn cloud(endpoint: &str, region: &Region) -> AwsCloud {
    let sdk = sdk_config(endpoint, region).await;
    // moto answers what it does not implement with 500s; retrying them only slows tests.
    AwsCloud::builder()
        .sdk_config(sdk)
        .max_attempts(1)
        .build()
        .await
}

/// The standard fixture under a fresh run id, with its tags applied and its own SSM
/// parameters put (moto's image list carries neither; AwsCloud only reads parameters, so
/// they are put with the plain SDK, `Overwrite` since moto's state outlives a run).
async fn seeded(endpoint: &str, suite: &str) -> (AwsCloud, Fixture) {
    let fixture = fixture::standard().with_run_id(run_id(suite));
    let cloud = cloud(endpoint, &fixture.region).await;
    for (image, tags) in fixture.tags_to_apply() {
        cloud
            .create_tags(&fixture.region, &image, &tags)
            .await
            .unwrap_or_else(|e| panic!("tagging fixture image {image}: {e}"));
    }
    for (region, parameter) in fixture.parameters_to_put() {
        let ssm = aws_sdk_ssm::Client::new(&sdk_config(endpoint, &region).await);
        ssm.put_parameter()
            .name(parameter.name.as_str())
            .value(&parameter.value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .set_data_type(parameter.data_type.clone())
            .overwrite(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("putting fixture parameter {}: {e:?}", parameter.name));
    }
    (cloud, fixture)
}

/// The SDK's configuration for the emulator, as the fixture's caller.
async fn sdk_config(endpoint: &str, region: &Region) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.as_str().to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(endpoint)
        .load()
        .await
}

fn check(report: Report) {
    println!("{report}");
    assert!(
        !report.passed().is_empty(),
        "suite {} ran no check",
        report.suite()
    );
    report.assert_passed();
}

#[tokio::test]
async fn catalog_conforms() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "catalog").await;
    check(amiref_testkit::catalog::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn store_conforms() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "store").await;
    check(amiref_testkit::store::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn identity_conforms() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "identity").await;
    check(amiref_testkit::identity::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn instance_types_conform() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "types").await;
    check(amiref_testkit::instance_types::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn instances_conform() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "instances").await;
    check(amiref_testkit::instances::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn instance_control_conforms() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "instance-control").await;
    check(amiref_testkit::instance_control::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn security_groups_conform() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "security-groups").await;
    check(amiref_testkit::security_groups::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn parameter_store_conforms() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "parameter-store").await;
    check(amiref_testkit::parameter_store::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn snapshots_conform() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "snapshots-suite").await;
    check(amiref_testkit::snapshots::run(&cloud, &fixture, &moto_capabilities()).await);
}

/// The governance suite: of its checks, moto 5.2.5 runs DeleteTags (see
/// `moto_capabilities`); the tests below check what moto's DisableImage, launch templates and
/// DescribeSnapshots do, and tests/integration/governance.rs covers the rest on aws-smithy-mocks.
#[tokio::test]
async fn governance_conforms() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "governance").await;
    check(amiref_testkit::governance::run(&cloud, &fixture, &moto_capabilities()).await);
}

#[tokio::test]
async fn parameters_conform() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "parameters").await;
    let report = amiref_testkit::parameters::run(&cloud, &fixture, &moto_capabilities()).await;
    assert!(
        report
            .passed()
            .contains(&"public_al2023_parameter_names_a_describable_image"),
        "the fixture's AL2023 images let this run on moto:\n{report}"
    );
    check(report);
}

/// Every settings check needs GetAllowedImagesSettings, which moto lacks: all skipped,
/// none failed (tests/integration/mocks.rs covers the setting).
#[tokio::test]
async fn settings_suite_skips_what_moto_lacks() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "settings").await;
    let report = amiref_testkit::settings::run(&cloud, &fixture, &moto_capabilities()).await;
    println!("{report}");
    report.assert_passed();
    assert!(!report.skipped().is_empty(), "{report}");
}

#[tokio::test]
async fn marketplace_suites_skip_what_moto_lacks() {
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "marketplace").await;
    let caps = moto_capabilities();
    for report in [
        amiref_testkit::marketplace::run(&cloud, &fixture, &caps).await,
        amiref_testkit::marketplace::run_publisher(&cloud, &fixture, &caps).await,
    ] {
        println!("{report}");
        report.assert_passed();
    }
}

/// moto forgets client tokens; AwsCloud's provenance tags still make a repeated copy
/// return the first one (the conformance check for this is gated on `client_tokens`).
#[tokio::test]
async fn a_repeated_copy_returns_the_first_even_though_moto_forgets_tokens() {
    use amiref_core::{CopyImageRequest, ImageCatalog, ImageFilter, Owner};
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "dedup").await;
    let source = fixture
        .id(amiref_testkit::fixture::keys::MINE_X86)
        .unwrap_or_else(|e| panic!("{e}"));
    let name = fixture.unique_name("dedup-copy");
    let request = CopyImageRequest::new(
        fixture.region.clone(),
        source,
        fixture.other_region.clone(),
        name.clone(),
        fixture.unique_name("token"),
    );
    let first = cloud.copy_image(&request).await.expect("first copy");
    let again = cloud.copy_image(&request).await.expect("repeated copy");
    assert_eq!(first, again);
    let copies = cloud
        .search_images(
            &fixture.other_region,
            &ImageFilter::owned_by([Owner::Me]).name(&name),
        )
        .await
        .expect("search the destination");
    assert_eq!(copies.len(), 1, "{copies:?}");
    let ready = cloud
        .wait_until_available(
            &fixture.other_region,
            &first,
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("moto's copies are available at once");
    assert_eq!(
        ready.tag(amiref_aws::PROVENANCE_TOKEN_TAG),
        Some(request.client_token.as_str())
    );
}

/// The builder's endpoint and region overrides reach the emulator.
#[tokio::test]
async fn the_builder_points_every_client_at_the_endpoint() {
    use amiref_core::Identity;
    let Some(url) = endpoint() else { return };
    let base = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "static",
            )),
        )
        .build();
    let cloud = AwsCloud::builder()
        .sdk_config(base)
        .region("eu-west-1".parse().expect("region"))
        .endpoint_url(&url)
        .max_attempts(1)
        .build()
        .await;
    let me = cloud.caller().await.expect("STS through the endpoint");
    assert_eq!(me.account.as_str(), "123456789012");
    assert_eq!(cloud.endpoint_url(), Some(url.as_str()));
}

// ---------------------------------------------------------------------------------------
// The calls issue 10 added: SSM public parameters, offerings, snapshot access, Allowed AMIs

/// AWS's public parameter for the latest Amazon Linux 2023 of an architecture.
fn al2023_parameter(arch: &str) -> amiref_core::ParameterName {
    amiref_core::ParameterName::new(format!(
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
    ))
    .expect("a parameter name")
}

/// moto serves AWS's public AL2023 parameters from its own data whatever MOTO_AMIS_PATH
/// says; the images they name exist because examples/moto_fixture.rs appends them to the
/// fixture (moto loads them itself only without MOTO_AMIS_PATH).
#[tokio::test]
async fn the_public_al2023_parameters_name_images_that_exist() {
    use amiref_core::{Architecture, ImageCatalog, Parameters};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    for region in [&fixture.region, &fixture.other_region] {
        let cloud = cloud(&url, region).await;
        let missing = amiref_core::ParameterName::new(format!("/amiref/{}/missing", run_id("ssm")))
            .expect("a parameter name");
        let names = [
            al2023_parameter("x86_64"),
            al2023_parameter("arm64"),
            missing,
        ];
        let got = cloud
            .get_parameters(region, &names)
            .await
            .unwrap_or_else(|e| panic!("GetParameters in {region}: {e}"));
        assert_eq!(got.len(), 2, "the missing name is absent: {got:?}");
        for (arch, architecture) in [
            ("x86_64", Architecture::X86_64),
            ("arm64", Architecture::Arm64),
        ] {
            let parameter = &got[&al2023_parameter(arch)];
            assert!(parameter.version >= 1);
            let image: amiref_core::AmiId = parameter
                .value
                .parse()
                .unwrap_or_else(|e| panic!("{} is not an AMI id: {e}", parameter.value));
            let found = cloud
                .describe_images(region, std::slice::from_ref(&image))
                .await
                .unwrap_or_else(|e| panic!("DescribeImages in {region}: {e}"));
            let [described] = found.as_slice() else {
                panic!(
                    "{image} (named by {} in {region}) is not in moto's EC2: regenerate the \
                     fixture with moto installed (`scripts/moto install`, then \
                     `cargo run -p amiref-aws --example moto_fixture -- target/moto/amis.json`)",
                    parameter.name
                )
            };
            assert_eq!(described.owner.as_str(), "137112412989", "Amazon's account");
            assert_eq!(described.architecture, architecture);
            assert!(
                described.name.starts_with("al2023-ami-"),
                "{}",
                described.name
            );
        }
    }
}

/// moto refuses more than 10 names a call, as SSM does: 13 names pass only in batches.
/// Parameters are put with the plain SDK (AwsCloud only reads them).
#[tokio::test]
async fn parameters_of_many_names_are_read_in_batches_and_secrets_left_out() {
    use amiref_core::{ParameterName, Parameters};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let region = &fixture.region;
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(&url, region).await);
    let prefix = format!("/amiref/{}", run_id("ssm-batches"));
    let name = |n: usize| ParameterName::new(format!("{prefix}/p{n}")).expect("a name");
    for n in 0..12 {
        let kind = if n == 11 {
            aws_sdk_ssm::types::ParameterType::SecureString
        } else {
            aws_sdk_ssm::types::ParameterType::String
        };
        ssm.put_parameter()
            .name(name(n).as_str())
            .value(format!("value-{n}"))
            .r#type(kind)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutParameter {}: {e:?}", name(n)));
    }
    let cloud = cloud(&url, region).await;
    let mut names: Vec<ParameterName> = (0..12).map(name).collect();
    names.push(ParameterName::new(format!("{prefix}/missing")).expect("a name"));
    let got = cloud
        .get_parameters(region, &names)
        .await
        .expect("GetParameters in batches of 10");
    assert_eq!(
        got.len(),
        11,
        "the SecureString and the missing name are absent"
    );
    assert_eq!(got[&name(3)].value, "value-3");
    assert!(!got.contains_key(&name(11)));
}

#[tokio::test]
async fn offerings_answer_only_the_asked_types_the_region_sells() {
    use amiref_core::{InstanceType, InstanceTypes};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let cloud = cloud(&url, &fixture.region).await;
    let asked: Vec<InstanceType> = ["t3.micro", "m7g.large", "m9zz.large", "t3.micro"]
        .iter()
        .map(|t| t.parse().expect("an instance type"))
        .collect();
    let got = cloud
        .offered_instance_types(&fixture.region, &asked)
        .await
        .expect("DescribeInstanceTypeOfferings");
    let want: std::collections::BTreeSet<InstanceType> = ["t3.micro", "m7g.large"]
        .iter()
        .map(|t| t.parse().expect("an instance type"))
        .collect();
    assert_eq!(got, want);
}

/// A plain SDK EC2 client of moto, for what AwsCloud does not do (another account's
/// snapshots, with moto's `x-moto-account-id` header on each request).
async fn raw_ec2(endpoint: &str, region: &Region) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk_config(endpoint, region).await)
}

/// Snapshot access where moto agrees with EC2 (the caller's own snapshots; one that does not
/// exist), and where it does not: moto isolates accounts, so a snapshot another account
/// shares with the caller (or makes public) is invisible to it. That difference is covered
/// by tests/integration/mocks.rs `snapshot_access_is_what_describe_snapshots_shows_the_caller`.
#[tokio::test]
async fn snapshot_access_for_own_missing_and_other_accounts_snapshots() {
    use amiref_core::{ImageCatalog, SnapshotId};
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "snapshots").await;
    let mine = fixture
        .id(amiref_testkit::fixture::keys::MINE_X86)
        .unwrap_or_else(|e| panic!("{e}"));
    let described = cloud
        .describe_images(&fixture.region, &[mine])
        .await
        .expect("DescribeImages");
    let own: Vec<SnapshotId> = described
        .iter()
        .flat_map(|i| i.snapshot_ids().cloned())
        .collect();
    assert!(!own.is_empty(), "moto gives every image a snapshot");
    let missing = SnapshotId::new("snap-0a1b2c3d4e5f60718").expect("a snapshot id");

    // Another account makes a snapshot and shares it with the caller.
    let partner = raw_ec2(&url, &fixture.region).await;
    let as_partner = |r: &mut aws_smithy_runtime_api::client::orchestrator::HttpRequest| {
        r.headers_mut().insert("x-moto-account-id", "444455556666");
    };
    let volume = partner
        .create_volume()
        .availability_zone(format!("{}a", fixture.region))
        .size(8)
        .customize()
        .mutate_request(as_partner)
        .send()
        .await
        .expect("CreateVolume as the partner");
    let shared = partner
        .create_snapshot()
        .volume_id(volume.volume_id().unwrap_or_default())
        .customize()
        .mutate_request(as_partner)
        .send()
        .await
        .expect("CreateSnapshot as the partner");
    let shared = SnapshotId::new(shared.snapshot_id().unwrap_or_default()).expect("an id");
    partner
        .modify_snapshot_attribute()
        .snapshot_id(shared.as_str())
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .create_volume_permission(
            aws_sdk_ec2::types::CreateVolumePermissionModifications::builder()
                .add(
                    aws_sdk_ec2::types::CreateVolumePermission::builder()
                        .user_id(fixture.me.as_str())
                        .build(),
                )
                .build(),
        )
        .customize()
        .mutate_request(as_partner)
        .send()
        .await
        .expect("ModifySnapshotAttribute as the partner");

    let mut asked = own.clone();
    asked.push(missing.clone());
    asked.push(shared.clone());
    let access = cloud
        .can_create_volumes(&fixture.region, &asked)
        .await
        .expect("DescribeSnapshots");
    assert_eq!(
        access.len(),
        asked.len(),
        "every asked snapshot is answered"
    );
    for s in &own {
        assert_eq!(access.get(s), Some(&true), "own snapshot {s}");
    }
    assert_eq!(access.get(&missing), Some(&false));
    // EC2 answers true here; moto's accounts are isolated. If this starts failing, moto
    // learnt cross-account snapshot permissions: say so in docs/aws.md.
    assert_eq!(
        access.get(&shared),
        Some(&false),
        "moto now shows a snapshot shared by another account"
    );
}

/// moto 5.2.5 does not implement GetAllowedImagesSettings (an HTML 500): AwsCloud reports it
/// Unavailable, never a silent "disabled". tests/integration/mocks.rs covers enabled, audit mode,
/// disabled and endpoints without the operation.
#[tokio::test]
async fn allowed_amis_settings_are_not_implemented_by_moto() {
    use amiref_core::{AccountSettings, CloudErrorKind};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let cloud = cloud(&url, &fixture.region).await;
    match cloud.allowed_images_settings(&fixture.region).await {
        Err(e) => {
            assert_eq!(e.kind, CloudErrorKind::Unavailable, "{e}");
            assert_eq!(e.operation, "GetAllowedImagesSettings");
        }
        Ok(settings) => panic!(
            "moto now answers GetAllowedImagesSettings ({settings:?}): run the account \
             settings suite on it and update docs/aws.md"
        ),
    }
}

// ---------------------------------------------------------------------------------------
// The calls issue 12 added: instance control and the serial console, security groups,
// parameter writes and history, and a builder's launch options

/// Asserts that `result` failed with `kind` and the service's `code`.
fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, amiref_core::CloudError>,
    kind: amiref_core::CloudErrorKind,
    code: &str,
) {
    let err = result.expect_err(code);
    assert_eq!(err.kind, kind, "{err}");
    assert_eq!(err.code.as_deref(), Some(code), "{err}");
}

/// A launch that needs no network settings: the fixture's own x86_64 image on t3.micro.
fn builder_request(fixture: &Fixture, build: &str) -> amiref_core::RunInstanceRequest {
    let image = fixture
        .id(amiref_testkit::fixture::keys::MINE_X86)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut request =
        amiref_core::RunInstanceRequest::new(image, "t3.micro".parse().expect("a type"));
    request.tags.insert("amiref:build-id".into(), build.into());
    request
        .tags
        .insert("amiref:build-role".into(), "builder".into());
    request
}

fn build_tags(build: &str) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([
        ("amiref:build-id".to_owned(), build.to_owned()),
        ("amiref:build-role".to_owned(), "group".to_owned()),
        (
            "amiref:expires".to_owned(),
            "2026-12-01T18:00:00Z".to_owned(),
        ),
    ])
}

/// A security group of the build's, in the fixture's region and default VPC.
async fn build_group(
    cloud: &AwsCloud,
    fixture: &Fixture,
    build: &str,
) -> amiref_core::SecurityGroupId {
    use amiref_core::{SecurityGroupRequest, SecurityGroups};
    let mut group = SecurityGroupRequest::new(fixture.unique_name(build), "build group");
    group.tags = build_tags(build);
    cloud
        .create_security_group(&fixture.region, &group)
        .await
        .expect("CreateSecurityGroup")
}

/// A builder launches with IMDSv2 required in a subnet and a group of the build's, is found
/// by its tags, shows a serial console, and stops and terminates as EC2's would (moto's
/// states settle at the next describe).
#[tokio::test]
async fn a_builder_launches_hardened_and_is_found_stopped_and_terminated() {
    use amiref_core::{
        CloudErrorKind, InstanceControl, InstanceFilter, InstanceState, Instances, SecurityGroups,
        SubnetId,
    };
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "builder").await;
    let region = &fixture.region;
    let build = run_id("build");
    let raw = raw_ec2(&url, region).await;
    let subnets = raw
        .describe_subnets()
        .send()
        .await
        .expect("DescribeSubnets");
    let subnet = subnets
        .subnets()
        .first()
        .and_then(|s| s.subnet_id())
        .expect("moto's default VPC has subnets");
    let group = build_group(&cloud, &fixture, &build).await;

    let mut request = builder_request(&fixture, &build);
    request.require_imdsv2 = true;
    request.subnet = Some(SubnetId::new(subnet).expect("a subnet id"));
    request.security_groups = vec![group.clone()];
    let id = cloud
        .run_instance(region, &request)
        .await
        .expect("RunInstances");

    let described = raw
        .describe_instances()
        .instance_ids(id.as_str())
        .send()
        .await
        .expect("DescribeInstances");
    let instance = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .next()
        .expect("the builder");
    let imds = instance.metadata_options().expect("metadata options");
    assert_eq!(
        imds.http_tokens(),
        Some(&aws_sdk_ec2::types::HttpTokensState::Required)
    );
    assert_eq!(instance.subnet_id(), Some(subnet));
    let groups: Vec<&str> = instance
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    assert_eq!(groups, [group.as_str()]);

    let by_tags = InstanceFilter::all()
        .tag("amiref:build-id", Some(build.clone()))
        .tag("amiref:build-role", None);
    let found = cloud
        .describe_instances(region, &by_tags)
        .await
        .expect("DescribeInstances by tags");
    assert_eq!(
        found.iter().map(|i| &i.id).collect::<Vec<_>>(),
        [&id],
        "{found:?}"
    );

    let console = cloud
        .console_output(region, &id)
        .await
        .expect("GetConsoleOutput");
    let text = console.text.expect("moto answers a console");
    assert!(
        text.contains("Linux version"),
        "moto's fixed boot log: {text}"
    );
    assert!(console.timestamp.is_some());

    let state = |wanted: InstanceState| {
        let cloud = cloud.clone();
        let id = id.clone();
        async move {
            let now = cloud
                .describe_instances(region, &InstanceFilter::ids([id.clone()]))
                .await
                .expect("DescribeInstances");
            assert_eq!(now.first().map(|i| i.state), Some(wanted), "{id}");
        }
    };
    let ids = std::slice::from_ref(&id);
    for (terminate, settled) in [
        (false, InstanceState::Stopped),
        (true, InstanceState::Terminated),
    ] {
        // Twice: stopping a stopped instance (terminating a terminated one) is no error.
        for _ in 0..2 {
            let done = if terminate {
                cloud.terminate_instances(region, ids).await
            } else {
                cloud.stop_instances(region, ids).await
            };
            done.unwrap_or_else(|e| panic!("terminate={terminate}: {e}"));
        }
        state(settled).await;
    }
    let unknown = amiref_core::InstanceId::new("i-0123456789abcdef0").expect("an id");
    for err in [
        cloud
            .terminate_instances(region, std::slice::from_ref(&unknown))
            .await,
        cloud
            .stop_instances(region, std::slice::from_ref(&unknown))
            .await,
        cloud.console_output(region, &unknown).await.map(|_| ()),
    ] {
        assert_refused(err, CloudErrorKind::NotFound, "InvalidInstanceID.NotFound");
    }
    cloud
        .delete_security_group(region, &group)
        .await
        .expect("the group, once its instance is terminated");
}

#[tokio::test]
async fn security_groups_are_unique_by_name_found_by_tags_and_deleted() {
    use amiref_core::{CloudErrorKind, SecurityGroupRequest, SecurityGroups};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let region = &fixture.region;
    let cloud = cloud(&url, region).await;
    let build = run_id("groups");
    let mut request = SecurityGroupRequest::new(format!("amiref-{build}"), "build group");
    request.tags = build_tags(&build);
    let id = cloud
        .create_security_group(region, &request)
        .await
        .expect("CreateSecurityGroup");
    assert_refused(
        cloud.create_security_group(region, &request).await,
        CloudErrorKind::InvalidRequest,
        "InvalidGroup.Duplicate",
    );

    // A value, and two keys with any value (tag-key, then tag:KEY=*).
    let wanted = std::collections::BTreeMap::from([
        ("amiref:build-id".to_owned(), Some(build.clone())),
        ("amiref:build-role".to_owned(), None),
        ("amiref:expires".to_owned(), None),
    ]);
    let found = cloud
        .describe_security_groups(region, &wanted)
        .await
        .expect("DescribeSecurityGroups");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id, id);
    assert_eq!(found[0].name, request.name);
    assert_eq!(found[0].tags, request.tags);
    assert!(found[0].vpc.is_some(), "the default VPC");

    cloud
        .delete_security_group(region, &id)
        .await
        .expect("DeleteSecurityGroup");
    assert_refused(
        cloud.delete_security_group(region, &id).await,
        CloudErrorKind::NotFound,
        "InvalidGroup.NotFound",
    );
    let after = cloud
        .describe_security_groups(region, &wanted)
        .await
        .expect("DescribeSecurityGroups");
    assert!(after.is_empty(), "{after:?}");
}

/// EC2 refuses to delete a group a live instance uses (DependencyViolation); moto deletes
/// it. If this starts failing, moto learnt the refusal: say so in docs/aws.md.
#[tokio::test]
async fn moto_deletes_a_group_a_running_instance_uses() {
    use amiref_core::{InstanceControl, Instances, SecurityGroups};
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "in-use").await;
    let region = &fixture.region;
    let build = run_id("in-use");
    let group = build_group(&cloud, &fixture, &build).await;
    let mut request = builder_request(&fixture, &build);
    request.security_groups = vec![group.clone()];
    let id = cloud
        .run_instance(region, &request)
        .await
        .expect("RunInstances");
    let deleted = cloud.delete_security_group(region, &group).await;
    cloud
        .terminate_instances(region, std::slice::from_ref(&id))
        .await
        .expect("TerminateInstances");
    assert!(
        deleted.is_ok(),
        "moto now refuses to delete a group in use ({deleted:?}): update docs/aws.md"
    );
}

#[tokio::test]
async fn parameters_are_written_versioned_listed_by_path_and_deleted() {
    use amiref_core::{CloudErrorKind, EC2_IMAGE_DATA_TYPE, ParameterName, ParameterStore};
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "ssm-writes").await;
    let region = &fixture.region;
    let image = fixture
        .id(amiref_testkit::fixture::keys::MINE_X86)
        .unwrap_or_else(|e| panic!("{e}"));
    let root = format!("/amiref/{}", run_id("ssm-writes"));
    let name = |rest: &str| ParameterName::new(format!("{root}/{rest}")).expect("a name");
    let latest = name("latest/x86_64");

    let mut first = amiref_core::PutParameterRequest::image(latest.clone(), &image);
    first.data_type = None;
    first.overwrite = false;
    first.description = Some("the first".into());
    assert_eq!(cloud.put_parameter(region, &first).await.expect("put"), 1);
    assert_refused(
        cloud.put_parameter(region, &first).await,
        CloudErrorKind::InvalidRequest,
        "ParameterAlreadyExists",
    );
    let second = amiref_core::PutParameterRequest::image(latest.clone(), &image);
    assert_eq!(
        cloud
            .put_parameter(region, &second)
            .await
            .expect("overwrite"),
        2
    );

    let history = cloud
        .parameter_history(region, &latest)
        .await
        .expect("GetParameterHistory");
    let versions: Vec<(i64, Option<&str>)> = history
        .iter()
        .map(|p| (p.version, p.data_type.as_deref()))
        .collect();
    assert_eq!(
        versions,
        [(1, Some("text")), (2, Some(EC2_IMAGE_DATA_TYPE))],
        "{history:?}"
    );

    // Twelve more at three depths: more than one page of ten.
    let mut names = vec![latest.clone()];
    for n in 0..12 {
        let deep = name(&format!("v{}/{}/x86_64", n % 3, n));
        let request = amiref_core::PutParameterRequest::image(deep.clone(), &image);
        cloud.put_parameter(region, &request).await.expect("put");
        names.push(deep);
    }
    names.sort();
    let listed = cloud
        .parameters_by_path(region, &ParameterName::new(root.clone()).expect("a path"))
        .await
        .expect("GetParametersByPath");
    assert_eq!(
        listed.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        names
    );
    assert!(listed.iter().all(|p| p.value == image.as_str()));

    cloud
        .delete_parameter(region, &latest)
        .await
        .expect("DeleteParameter");
    for err in [
        cloud.delete_parameter(region, &latest).await.map(|_| ()),
        cloud.parameter_history(region, &latest).await.map(|_| ()),
    ] {
        assert_refused(err, CloudErrorKind::NotFound, "ParameterNotFound");
    }
}

/// SSM drops an `aws:ec2:image` version whose image does not exist (after answering), so
/// AwsCloud waits for the version and times out; moto keeps any value at once. If this
/// starts failing, moto learnt the check: say so in docs/aws.md.
#[tokio::test]
async fn moto_keeps_an_image_parameter_that_names_no_image() {
    use amiref_core::{ParameterName, ParameterStore};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let cloud = cloud(&url, &fixture.region).await;
    let name = ParameterName::new(format!("/amiref/{}/latest/x86_64", run_id("no-image")))
        .expect("a name");
    let nothing = amiref_core::AmiId::new("ami-0000000000000dead").expect("an id");
    let put = cloud
        .put_parameter(
            &fixture.region,
            &amiref_core::PutParameterRequest::image(name, &nothing),
        )
        .await;
    assert_eq!(put.ok(), Some(1), "moto now checks aws:ec2:image values");
}

// ---------------------------------------------------------------------------------------
// Issue 13's governance calls: what moto 5.2.5 implements (DisableImage/EnableImage,
// DeleteTags, launch template versions, DescribeSnapshots) and what it lacks. The calls it
// lacks are covered by tests/integration/governance.rs on aws-smithy-mocks.

/// A copy of the caller's fixture image in the fixture's region, for a test to change
/// without touching the images the other tests share.
async fn own_copy(cloud: &AwsCloud, fixture: &Fixture, label: &str) -> amiref_core::AmiId {
    let source = fixture
        .id(amiref_testkit::fixture::keys::MINE_X86)
        .unwrap_or_else(|e| panic!("{e}"));
    let request = amiref_core::CopyImageRequest::new(
        fixture.region.clone(),
        source,
        fixture.region.clone(),
        fixture.unique_name(label),
        fixture.unique_name(&format!("{label}-token")),
    );
    cloud.copy_image(&request).await.expect("CopyImage")
}

/// DisableImage hides the image from describes by id and from searches that do not ask
/// for disabled images; EnableImage brings it back.
#[tokio::test]
async fn disabled_images_are_seen_only_when_asked_and_enabled_again() {
    use amiref_core::{ImageCatalog, ImageFilter, ImageGovernance, ImageState, Owner};
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "disable").await;
    let r = &fixture.region;
    let image = own_copy(&cloud, &fixture, "disable").await;
    cloud.disable_image(r, &image).await.expect("DisableImage");

    let by_id = cloud.describe_images(r, std::slice::from_ref(&image)).await;
    assert_eq!(
        by_id.expect("DescribeImages").len(),
        0,
        "disabled images are left out"
    );
    let mine = |include: bool| {
        let states = if include {
            vec![ImageState::Available, ImageState::Disabled]
        } else {
            vec![ImageState::Available]
        };
        ImageFilter::owned_by([Owner::Me])
            .states(states)
            .include_disabled(include)
    };
    let seen = cloud.search_images(r, &mine(true)).await.expect("search");
    let found = seen
        .iter()
        .find(|i| i.id == image)
        .expect("asked for disabled");
    assert_eq!(found.state, ImageState::Disabled);
    let unasked = cloud.search_images(r, &mine(false)).await.expect("search");
    assert!(unasked.iter().all(|i| i.id != image), "not asked for");

    cloud.enable_image(r, &image).await.expect("EnableImage");
    let back = cloud
        .describe_images(r, std::slice::from_ref(&image))
        .await
        .expect("DescribeImages");
    assert_eq!(back.first().map(|i| i.state), Some(ImageState::Available));
}

#[tokio::test]
async fn a_missing_image_cannot_be_disabled() {
    use amiref_core::{CloudErrorKind, ImageGovernance};
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let cloud = cloud(&url, &fixture.region).await;
    let missing = amiref_core::AmiId::new("ami-0a1b2c3d4e5f60718").expect("an id");
    let err = cloud
        .disable_image(&fixture.region, &missing)
        .await
        .expect_err("no such image");
    assert_eq!(
        (err.kind, err.operation),
        (CloudErrorKind::NotFound, "DisableImage")
    );
}

#[tokio::test]
async fn tags_are_deleted_by_key_whatever_their_value() {
    use amiref_core::{ImageCatalog, ImageGovernance};
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "delete-tags").await;
    let r = &fixture.region;
    let image = own_copy(&cloud, &fixture, "delete-tags").await;
    let tags = [
        ("amiref:retire-after", "2026-12-15T00:00:00Z"),
        ("stage", "old"),
        ("team", "hpc"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    cloud
        .create_tags(r, &image, &tags)
        .await
        .expect("CreateTags");
    let keys = ["amiref:retire-after".to_owned(), "stage".to_owned()];
    cloud
        .delete_tags(r, &image, &keys)
        .await
        .expect("DeleteTags");
    cloud
        .delete_tags(r, &image, &[])
        .await
        .expect("no keys, no call");
    let now = cloud
        .describe_images(r, std::slice::from_ref(&image))
        .await
        .expect("DescribeImages");
    let left = &now.first().expect("the copy").tags;
    assert_eq!(
        left.get("team").map(String::as_str),
        Some("hpc"),
        "{left:?}"
    );
    assert!(!left.contains_key("stage") && !left.contains_key("amiref:retire-after"));
}

#[tokio::test]
async fn launch_template_images_are_each_templates_default_and_latest() {
    use amiref_core::ImageGovernance;
    use aws_sdk_ec2::types::RequestLaunchTemplateData;
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "templates").await;
    let r = &fixture.region;
    let (first, second) = (
        own_copy(&cloud, &fixture, "lt-v1").await,
        own_copy(&cloud, &fixture, "lt-v2").await,
    );
    let ec2 = raw_ec2(&url, r).await;
    let data = |image: &amiref_core::AmiId| {
        RequestLaunchTemplateData::builder()
            .image_id(image.as_str())
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .build()
    };
    let created = ec2
        .create_launch_template()
        .launch_template_name(fixture.unique_name("lt"))
        .launch_template_data(data(&first))
        .send()
        .await
        .expect("CreateLaunchTemplate");
    let template = created
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("a template id")
        .to_owned();
    ec2.create_launch_template_version()
        .launch_template_id(&template)
        .launch_template_data(data(&second))
        .send()
        .await
        .expect("CreateLaunchTemplateVersion");

    let all = cloud
        .launch_template_images(r)
        .await
        .expect("template images");
    let mut ours: Vec<(u64, bool, amiref_core::AmiId)> = all
        .into_iter()
        .filter(|t| t.launch_template_id == template)
        .map(|t| (t.version, t.is_default, t.image))
        .collect();
    ours.sort_by_key(|(version, ..)| *version);
    assert_eq!(ours, [(1, true, first), (2, false, second)]);
}

/// moto ignores DescribeSnapshots' OwnerIds and RestorableByUserIds: every snapshot of the
/// account reads as public there. A publicly shared one is listed, as on EC2; a private one
/// is listed too, where EC2 leaves it out (tests/integration/governance.rs covers EC2's answer).
#[tokio::test]
async fn public_snapshots_include_a_public_one_and_moto_lists_private_ones_too() {
    use amiref_core::{ImageGovernance, SnapshotId};
    use aws_sdk_ec2::types::{
        CreateVolumePermission, CreateVolumePermissionModifications, PermissionGroup,
        SnapshotAttributeName,
    };
    let Some(url) = endpoint() else { return };
    let fixture = fixture::standard();
    let r = &fixture.region;
    let cloud = cloud(&url, r).await;
    let ec2 = raw_ec2(&url, r).await;
    let mut made = Vec::new();
    for _ in 0..2 {
        let volume = ec2
            .create_volume()
            .availability_zone(format!("{r}a"))
            .size(8)
            .send()
            .await
            .expect("CreateVolume");
        let snapshot = ec2
            .create_snapshot()
            .volume_id(volume.volume_id().unwrap_or_default())
            .send()
            .await
            .expect("CreateSnapshot");
        made.push(SnapshotId::new(snapshot.snapshot_id().unwrap_or_default()).expect("an id"));
    }
    let (public, private) = (&made[0], &made[1]);
    ec2.modify_snapshot_attribute()
        .snapshot_id(public.as_str())
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .create_volume_permission(
            CreateVolumePermissionModifications::builder()
                .add(
                    CreateVolumePermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("make the snapshot public");
    let listed = cloud.public_snapshots(r).await.expect("DescribeSnapshots");
    assert!(listed.contains(public), "the public snapshot is listed");
    // EC2 leaves this one out. If this starts failing, moto learnt the two parameters:
    // say so in docs/aws.md.
    assert!(
        listed.contains(private),
        "moto now honours RestorableByUserIds"
    );
}

/// What moto 5.2.5 lacks answers as an error, never as an empty "nothing protected,
/// nothing referenced, no rules" (an HTML 500, or for the Recycle Bin no service at all).
#[tokio::test]
async fn governance_calls_moto_lacks_fail_and_are_never_read_as_empty() {
    use amiref_core::ImageGovernance;
    let Some(url) = endpoint() else { return };
    let (cloud, fixture) = seeded(&url, "lacking").await;
    let r = &fixture.region;
    let mine = fixture
        .id(amiref_testkit::fixture::keys::MINE_X86)
        .unwrap_or_else(|e| panic!("{e}"));
    let failures = [
        (
            "DescribeImageReferences",
            cloud
                .image_references(r, std::slice::from_ref(&mine))
                .await
                .err(),
        ),
        (
            "EnableImageDeregistrationProtection",
            cloud
                .enable_deregistration_protection(r, &mine, true)
                .await
                .err(),
        ),
        (
            "DisableImageDeregistrationProtection",
            cloud
                .disable_deregistration_protection(r, &mine)
                .await
                .err(),
        ),
        (
            "GetSnapshotBlockPublicAccessState",
            cloud.snapshot_block_public_access(r).await.err(),
        ),
        ("ListRules", cloud.recycle_bin_rules(r).await.err()),
    ];
    for (operation, err) in failures {
        let err = err.unwrap_or_else(|| {
            panic!("moto now answers {operation}: turn its conformance checks on (docs/aws.md)")
        });
        assert_eq!(err.operation, operation, "{err}");
    }
}
