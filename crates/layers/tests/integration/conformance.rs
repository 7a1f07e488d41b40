//! A layered cloud is still a conforming cloud: amiref-testkit's suites pass through
//! `Retrying` and `Counting`, and every method of every port reaches the cloud beneath.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::sync::Arc;

use amiref_core::{
    AccountId, AccountSettings, ChangeSetRequest, Cloud, CopyImageRequest, CreateImageRequest,
    Identity, ImageCatalog, ImageFilter, ImageGovernance, ImageStore, InstanceControl,
    InstanceFilter, InstanceTypes, Instances, LaunchPermission, Marketplace, MarketplacePublisher,
    Owner, ParameterStore, Parameters, PutParameterRequest, RunInstanceRequest,
    SecurityGroupRequest, SecurityGroups,
};
use amiref_layers::{Counting, Operation, RetryPolicy, Retrying};
use amiref_memory::{MemoryCloud, RateLimit, Throttling, op};
use amiref_testkit::{Capabilities, Fixture, Report, fixture};

fn seeded(fixture: &Fixture) -> MemoryCloud {
    MemoryCloud::from_world_yaml(&fixture.world_json().to_string(), "fixture").unwrap()
}

/// Every suite, the sharing and publisher suites included, against `cloud`; `other` is the
/// same cloud as another account.
async fn every_suite(
    cloud: &dyn Cloud,
    other: &dyn Cloud,
    other_account: &AccountId,
    fixture: &Fixture,
) -> Vec<Report> {
    let caps = Capabilities::ec2();
    vec![
        amiref_testkit::run_all(cloud, fixture, &caps).await,
        amiref_testkit::store::run_sharing(cloud, other, other_account, fixture, &caps).await,
        amiref_testkit::marketplace::run_publisher(cloud, fixture, &caps).await,
    ]
}

fn assert_all_passed(reports: &[Report]) {
    for report in reports {
        report.assert_passed();
        assert!(report.skipped().is_empty(), "{report}");
    }
}

#[tokio::test(start_paused = true)]
async fn every_suite_passes_through_retrying() {
    let fixture = fixture::standard().with_bulk(2500);
    let cloud = seeded(&fixture);
    let other_account: AccountId = "222233334444".parse().unwrap();
    let other = cloud.as_account(other_account.clone());
    let report = every_suite(
        &Retrying::new(&cloud, RetryPolicy::standard()),
        &Retrying::new(&other, RetryPolicy::standard()),
        &other_account,
        &fixture,
    )
    .await;
    assert_all_passed(&report);
}

#[tokio::test(start_paused = true)]
async fn every_suite_passes_through_stacked_layers() {
    let fixture = fixture::standard().with_bulk(2500);
    let cloud = seeded(&fixture);
    let other_account: AccountId = "222233334444".parse().unwrap();
    let other = cloud.as_account(other_account.clone());
    let counted = Counting::new(&cloud);
    let retrying: Arc<dyn Cloud> = Arc::new(Retrying::new(&counted, RetryPolicy::standard()));
    let other = Retrying::new(
        Arc::new(Counting::new(Arc::new(other))),
        RetryPolicy::standard(),
    );
    let report = every_suite(retrying.as_ref(), &other, &other_account, &fixture).await;
    assert_all_passed(&report);
    assert!(counted.counter().total() > 0);
    assert!(other.inner().counter().total() > 0);
}

/// Every suite of a whole cloud but the launch suite.
async fn every_suite_but_launches(cloud: &dyn Cloud, fixture: &Fixture) -> Vec<Report> {
    let caps = Capabilities::ec2();
    vec![
        amiref_testkit::catalog::run(cloud, fixture, &caps).await,
        amiref_testkit::identity::run(cloud, fixture, &caps).await,
        amiref_testkit::instance_types::run(cloud, fixture, &caps).await,
        amiref_testkit::marketplace::run(cloud, fixture, &caps).await,
        amiref_testkit::snapshots::run(cloud, fixture, &caps).await,
        amiref_testkit::settings::run(cloud, fixture, &caps).await,
        amiref_testkit::parameters::run(cloud, fixture, &caps).await,
        amiref_testkit::store::run(cloud, fixture, &caps).await,
    ]
}

/// EC2's throttling, tightened so that the suites run out of request tokens: through the
/// retry layer they wait for the buckets to refill and pass; without it they fail, which
/// shows the throttling binds. Launches are not throttled harder than EC2 does (their
/// bucket, the mutating calls', keeps EC2's size) and the launch suite is left out: a launch
/// without a client token is not safe to repeat, so the retry layer rightly lets its
/// throttling through.
#[tokio::test(start_paused = true)]
async fn the_suites_pass_under_throttling_only_through_retrying() {
    let tight = RateLimit::new(3, 1.0);
    let throttling = Throttling {
        non_mutating: tight,
        mutating: Throttling::ec2().mutating,
        copy_image: tight,
        parameters: tight,
    };
    let fixture = fixture::standard();
    let bare = seeded(&fixture);
    bare.set_throttling(Some(throttling));
    let reports = every_suite_but_launches(&bare, &fixture).await;
    assert!(
        reports.iter().any(|r| !r.failures().is_empty()),
        "throttling never bound"
    );

    let cloud = seeded(&fixture);
    cloud.set_throttling(Some(throttling));
    let retrying = Retrying::new(&cloud, RetryPolicy::standard().max_attempts(8));
    for report in every_suite_but_launches(&retrying, &fixture).await {
        report.assert_passed();
    }
}

/// The operation each port method is to the in-process cloud, as it counts calls.
const AWS_OPERATION: [(Operation, &str); 45] = [
    (Operation::DescribeImages, op::DESCRIBE_IMAGES),
    (Operation::SearchImages, op::DESCRIBE_IMAGES),
    (Operation::CanCreateVolumes, op::DESCRIBE_SNAPSHOTS),
    (Operation::CreateImage, op::CREATE_IMAGE),
    (Operation::CopyImage, op::COPY_IMAGE),
    (Operation::LaunchPermissions, op::DESCRIBE_IMAGE_ATTRIBUTE),
    (Operation::AddLaunchPermissions, op::MODIFY_IMAGE_ATTRIBUTE),
    (
        Operation::RemoveLaunchPermissions,
        op::MODIFY_IMAGE_ATTRIBUTE,
    ),
    (
        Operation::ModifySnapshotPermissions,
        op::MODIFY_SNAPSHOT_ATTRIBUTE,
    ),
    (
        Operation::ImageBlockPublicAccess,
        op::GET_IMAGE_BLOCK_PUBLIC_ACCESS_STATE,
    ),
    (Operation::EnableDeprecation, op::ENABLE_IMAGE_DEPRECATION),
    (Operation::DisableDeprecation, op::DISABLE_IMAGE_DEPRECATION),
    (Operation::DeregisterImage, op::DEREGISTER_IMAGE),
    (Operation::CreateTags, op::CREATE_TAGS),
    (Operation::ImageUsage, op::DESCRIBE_INSTANCES),
    (Operation::Product, op::DESCRIBE_ENTITY),
    (Operation::StartChangeSet, op::START_CHANGE_SET),
    (Operation::ChangeSetStatus, op::DESCRIBE_CHANGE_SET),
    (Operation::Caller, op::GET_CALLER_IDENTITY),
    (Operation::Architectures, op::DESCRIBE_INSTANCE_TYPES),
    (
        Operation::OfferedInstanceTypes,
        op::DESCRIBE_INSTANCE_TYPE_OFFERINGS,
    ),
    (Operation::RunInstance, op::RUN_INSTANCES),
    (Operation::DescribeInstances, op::DESCRIBE_INSTANCES),
    (
        Operation::AllowedImagesSettings,
        op::GET_ALLOWED_IMAGES_SETTINGS,
    ),
    (Operation::GetParameters, op::GET_PARAMETERS),
    (Operation::StopInstances, op::STOP_INSTANCES),
    (Operation::TerminateInstances, op::TERMINATE_INSTANCES),
    (Operation::ConsoleOutput, op::GET_CONSOLE_OUTPUT),
    (Operation::CreateSecurityGroup, op::CREATE_SECURITY_GROUP),
    (
        Operation::DescribeSecurityGroups,
        op::DESCRIBE_SECURITY_GROUPS,
    ),
    (Operation::DeleteSecurityGroup, op::DELETE_SECURITY_GROUP),
    (Operation::PutParameter, op::PUT_PARAMETER),
    (Operation::ParameterHistory, op::GET_PARAMETER_HISTORY),
    (Operation::ParametersByPath, op::GET_PARAMETERS_BY_PATH),
    (Operation::DeleteParameter, op::DELETE_PARAMETER),
    (
        Operation::EnableDeregistrationProtection,
        op::ENABLE_IMAGE_DEREGISTRATION_PROTECTION,
    ),
    (
        Operation::DisableDeregistrationProtection,
        op::DISABLE_IMAGE_DEREGISTRATION_PROTECTION,
    ),
    (Operation::DisableImage, op::DISABLE_IMAGE),
    (Operation::EnableImage, op::ENABLE_IMAGE),
    (Operation::DeleteTags, op::DELETE_TAGS),
    (Operation::ImageReferences, op::DESCRIBE_IMAGE_REFERENCES),
    (Operation::RecycleBinRules, op::LIST_RULES),
    (Operation::PublicSnapshots, op::DESCRIBE_SNAPSHOTS),
    (
        Operation::SnapshotBlockPublicAccess,
        op::GET_SNAPSHOT_BLOCK_PUBLIC_ACCESS_STATE,
    ),
    (
        Operation::LaunchTemplateImages,
        op::DESCRIBE_LAUNCH_TEMPLATE_VERSIONS,
    ),
];

/// Calls each method of each port once through a counting layer: each is counted under its
/// own operation, and reaches the cloud beneath as the call it stands for (answered or
/// refused, the in-process cloud counts every call it receives).
#[tokio::test(start_paused = true)]
async fn every_method_of_every_port_is_forwarded() {
    let fixture = fixture::standard();
    let cloud = seeded(&fixture);
    let counted = Counting::new(&cloud);
    let (region, image) = (&fixture.region, fixture.missing_image.clone());
    let snapshot = fixture.missing_snapshot.clone();
    let instance: amiref_core::InstanceId = "i-0123456789abcdef0".parse().unwrap();
    let type_ = fixture.instance_types[0].0.clone();
    let at = fixture.start + chrono::Duration::days(30);
    let tags = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let public = [LaunchPermission::Public];
    let copy = CopyImageRequest::new(
        fixture.other_region.clone(),
        image.clone(),
        region.clone(),
        "n",
        "t",
    );
    let change_set = ChangeSetRequest::new("AWSMarketplace", "n", "t", Vec::new());
    let filter = ImageFilter::owned_by([Owner::Me]);
    let c = &counted;

    let _ = c
        .describe_images(region, std::slice::from_ref(&image))
        .await;
    let _ = c.search_images(region, &filter).await;
    let _ = c
        .can_create_volumes(region, std::slice::from_ref(&snapshot))
        .await;
    let _ = c
        .create_image(region, &CreateImageRequest::new(instance.clone(), "n"))
        .await;
    let _ = c.copy_image(&copy).await;
    let _ = c.launch_permissions(region, &image).await;
    let _ = c.add_launch_permissions(region, &image, &public).await;
    let _ = c.remove_launch_permissions(region, &image, &public).await;
    let _ = c
        .modify_snapshot_permissions(
            region,
            &[snapshot],
            std::slice::from_ref(&fixture.partner),
            true,
        )
        .await;
    let _ = c.image_block_public_access(region).await;
    let _ = c.enable_deprecation(region, &image, at).await;
    let _ = c.disable_deprecation(region, &image).await;
    let _ = c.deregister_image(region, &image, true).await;
    let _ = c.create_tags(region, &image, &tags).await;
    let _ = c.image_usage(region, &image).await;
    let _ = c.product("no-such-product").await;
    let _ = c.start_change_set(&change_set).await;
    let _ = c.change_set_status("AWSMarketplace", "cs-none").await;
    let _ = c.caller().await;
    let _ = c.architectures(region, std::slice::from_ref(&type_)).await;
    let _ = c
        .offered_instance_types(region, std::slice::from_ref(&type_))
        .await;
    let _ = c
        .run_instance(region, &RunInstanceRequest::new(image.clone(), type_))
        .await;
    let _ = c.describe_instances(region, &InstanceFilter::all()).await;
    let _ = c.allowed_images_settings(region).await;
    let _ = c
        .get_parameters(region, std::slice::from_ref(&fixture.missing_parameter))
        .await;

    let ids = std::slice::from_ref(&instance);
    let _ = c.stop_instances(region, ids).await;
    let _ = c.terminate_instances(region, ids).await;
    let _ = c.console_output(region, &instance).await;
    let group = SecurityGroupRequest::new("amiref-build", "a build's group");
    let _ = c.create_security_group(region, &group).await;
    let _ = c.describe_security_groups(region, &BTreeMap::new()).await;
    let missing_group = "sg-0123456789abcdef0".parse().unwrap();
    let _ = c.delete_security_group(region, &missing_group).await;
    let name = &fixture.missing_parameter;
    let _ = c
        .put_parameter(region, &PutParameterRequest::image(name.clone(), &image))
        .await;
    let _ = c.parameter_history(region, name).await;
    let _ = c.parameters_by_path(region, name).await;
    let _ = c.delete_parameter(region, name).await;

    let _ = c
        .enable_deregistration_protection(region, &image, true)
        .await;
    let _ = c.disable_deregistration_protection(region, &image).await;
    let _ = c.disable_image(region, &image).await;
    let _ = c.enable_image(region, &image).await;
    let _ = c.delete_tags(region, &image, &["k".to_owned()]).await;
    let _ = c
        .image_references(region, std::slice::from_ref(&image))
        .await;
    let _ = c.recycle_bin_rules(region).await;
    let _ = c.public_snapshots(region).await;
    let _ = c.snapshot_block_public_access(region).await;
    let _ = c.launch_template_images(region).await;

    let counts = counted.counter().snapshot();
    for operation in Operation::ALL {
        assert_eq!(counts.get(&operation), Some(&1), "{operation}");
    }
    assert_eq!(counts.len(), Operation::ALL.len());
    assert_eq!(
        AWS_OPERATION.map(|(o, _)| o),
        Operation::ALL,
        "the table names every operation"
    );
    let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, aws) in AWS_OPERATION {
        *expected.entry(aws).or_default() += 1;
    }
    let received = cloud.counters();
    for (aws, calls) in expected {
        assert_eq!(received.operation(aws), calls, "{aws}");
    }
    assert_eq!(received.total(), Operation::ALL.len() as u64);
}
