//! AwsCloud's ImageGovernance, image fields and copy parameters against canned service
//! answers (aws-smithy-mocks): what moto 5.2.5 does not implement (DescribeImageReferences,
//! deregistration protection, the Recycle Bin, snapshot block public access, the
//! DeregistrationProtection and ImdsSupport fields, CopyImage's CopyImageTags and
//! SnapshotCopyCompletionDurationMinutes) and the request shape of every call. Time is
//! tokio's paused clock, so retries' backoff takes no real time.

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] fns, unwrap fixtures

use crate::support;

use amiref_core::{
    AmiId, CloudErrorKind, CopyImageRequest, DeregistrationProtection, ImageCatalog, ImageFilter,
    ImageGovernance, ImageReference, ImageState, ImageStore, ImdsSupport, Owner, RecycleResource,
    ReferenceKind, RuleTag, SnapshotBlockPublicAccess, SnapshotId,
};
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ec2::operation::copy_image::CopyImageOutput;
use aws_sdk_ec2::operation::create_tags::CreateTagsOutput;
use aws_sdk_ec2::operation::delete_snapshot::DeleteSnapshotOutput;
use aws_sdk_ec2::operation::delete_tags::DeleteTagsOutput;
use aws_sdk_ec2::operation::deregister_image::DeregisterImageOutput;
use aws_sdk_ec2::operation::describe_image_references::{
    DescribeImageReferencesError, DescribeImageReferencesOutput,
};
use aws_sdk_ec2::operation::describe_launch_template_versions::DescribeLaunchTemplateVersionsOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::operation::disable_image::{DisableImageError, DisableImageOutput};
use aws_sdk_ec2::operation::disable_image_deregistration_protection::DisableImageDeregistrationProtectionOutput;
use aws_sdk_ec2::operation::enable_image::{EnableImageError, EnableImageOutput};
use aws_sdk_ec2::operation::enable_image_deregistration_protection::{
    EnableImageDeregistrationProtectionError, EnableImageDeregistrationProtectionOutput,
};
use aws_sdk_ec2::operation::get_snapshot_block_public_access_state::GetSnapshotBlockPublicAccessStateOutput;
use aws_sdk_ec2::types as ec2;
use aws_sdk_rbin::Client as Rbin;
use aws_sdk_rbin::operation::get_rule::{GetRuleError, GetRuleOutput};
use aws_sdk_rbin::operation::list_rules::{ListRulesError, ListRulesOutput};
use aws_sdk_rbin::types as rbin;
use aws_smithy_mocks::mock;
use support::{ami, ec2_error, ec2_image, filter_values, images_output, mocked_cloud, region};

// ---------------------------------------------------------------------------------------
// Deregistration protection, disabling, tags

#[tokio::test(start_paused = true)]
async fn deregistration_protection_is_turned_on_with_or_without_cooldown_and_off() {
    let with = mock!(Ec2::enable_image_deregistration_protection)
        .match_requests(|r| {
            r.image_id() == Some(ami(1).as_str()) && r.with_cooldown() == Some(true)
        })
        .then_output(|| EnableImageDeregistrationProtectionOutput::builder().build());
    let without = mock!(Ec2::enable_image_deregistration_protection)
        .match_requests(|r| {
            r.image_id() == Some(ami(2).as_str()) && r.with_cooldown() == Some(false)
        })
        .then_output(|| EnableImageDeregistrationProtectionOutput::builder().build());
    let off = mock!(Ec2::disable_image_deregistration_protection)
        .match_requests(|r| r.image_id() == Some(ami(1).as_str()))
        .then_output(|| DisableImageDeregistrationProtectionOutput::builder().build());
    let cloud = mocked_cloud(&[&with, &without, &off]).await;
    let r = region("eu-west-1");
    cloud
        .enable_deregistration_protection(&r, &ami(1), true)
        .await
        .unwrap();
    cloud
        .enable_deregistration_protection(&r, &ami(2), false)
        .await
        .unwrap();
    cloud
        .disable_deregistration_protection(&r, &ami(1))
        .await
        .unwrap();
    assert_eq!(
        (with.num_calls(), without.num_calls(), off.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn protection_errors_keep_their_meaning() {
    let missing = mock!(Ec2::enable_image_deregistration_protection).then_error(|| {
        ec2_error(
            "InvalidAMIID.NotFound",
            EnableImageDeregistrationProtectionError::generic,
        )
    });
    let cloud = mocked_cloud(&[&missing]).await;
    let err = cloud
        .enable_deregistration_protection(&region("eu-west-1"), &ami(1), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.operation, "EnableImageDeregistrationProtection");
    assert_eq!(err.region, Some(region("eu-west-1")));
}

#[tokio::test(start_paused = true)]
async fn images_are_disabled_and_enabled_and_a_false_answer_is_an_error() {
    let disable = mock!(Ec2::disable_image)
        .match_requests(|r| r.image_id() == Some(ami(1).as_str()))
        .then_output(|| DisableImageOutput::builder().r#return(true).build());
    let refused = mock!(Ec2::disable_image)
        .match_requests(|r| r.image_id() == Some(ami(2).as_str()))
        .then_output(|| DisableImageOutput::builder().r#return(false).build());
    let enable = mock!(Ec2::enable_image)
        .match_requests(|r| r.image_id() == Some(ami(1).as_str()))
        .then_output(|| EnableImageOutput::builder().r#return(true).build());
    let cloud = mocked_cloud(&[&disable, &refused, &enable]).await;
    let r = region("us-east-1");
    cloud.disable_image(&r, &ami(1)).await.unwrap();
    cloud.enable_image(&r, &ami(1)).await.unwrap();
    let err = cloud.disable_image(&r, &ami(2)).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Service);
    assert!(err.message.contains(ami(2).as_str()), "{err}");
    assert_eq!((disable.num_calls(), enable.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn disabling_a_deregistered_image_or_without_permission_is_typed() {
    let gone = mock!(Ec2::disable_image)
        .then_error(|| ec2_error("InvalidAMIID.Unavailable", DisableImageError::generic));
    let denied = mock!(Ec2::enable_image)
        .then_error(|| ec2_error("UnauthorizedOperation", EnableImageError::generic));
    let cloud = mocked_cloud(&[&gone, &denied]).await;
    let r = region("us-east-1");
    let err = cloud.disable_image(&r, &ami(1)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (CloudErrorKind::NotFound, "DisableImage")
    );
    let err = cloud.enable_image(&r, &ami(1)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (CloudErrorKind::AccessDenied, "EnableImage")
    );
    assert_eq!(denied.num_calls(), 1, "a denial is not retried");
}

#[tokio::test(start_paused = true)]
async fn tags_are_deleted_by_key_and_no_keys_sends_nothing() {
    let delete = mock!(Ec2::delete_tags)
        .match_requests(|r| {
            r.resources() == [ami(1).as_str().to_owned()]
                && r.tags().len() == 2
                && r.tags().iter().all(|t| t.value().is_none())
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some("amiref:retire-after"))
        })
        .then_output(|| DeleteTagsOutput::builder().build());
    let cloud = mocked_cloud(&[&delete]).await;
    let r = region("us-east-1");
    let keys = ["amiref:retire-after".to_owned(), "stage".to_owned()];
    cloud.delete_tags(&r, &ami(1), &keys).await.unwrap();
    // DeleteTags without tags would delete every tag of the image.
    cloud.delete_tags(&r, &ami(1), &[]).await.unwrap();
    assert_eq!(delete.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------
// Image references

fn reference(image: &str, kind: ec2::ImageReferenceResourceType, arn: &str) -> ec2::ImageReference {
    ec2::ImageReference::builder()
        .image_id(image)
        .resource_type(kind)
        .arn(arn)
        .build()
}

#[tokio::test(start_paused = true)]
async fn references_are_read_in_batches_of_ten_over_every_page() {
    // Any request not shaped as EC2 requires falls through to this failing rule.
    let shape = mock!(Ec2::describe_image_references)
        .match_requests(|r| {
            let live_instances = r.resource_types().len() == 1
                && r.resource_types()[0].resource_type()
                    == Some(&ec2::ImageReferenceResourceType::Ec2Instance)
                && r.resource_types()[0].resource_type_options().len() == 1
                && r.resource_types()[0].resource_type_options()[0].option_values()
                    == ["pending", "running", "shutting-down", "stopping", "stopped"];
            !(r.include_all_resource_types() == Some(true)
                && (1..=10).contains(&r.image_ids().len())
                && live_instances)
        })
        .then_error(|| {
            ec2_error(
                "InvalidParameterValue",
                DescribeImageReferencesError::generic,
            )
        });
    let first_page = mock!(Ec2::describe_image_references)
        .match_requests(|r| {
            r.image_ids().contains(&ami(1).as_str().to_owned()) && r.next_token().is_none()
        })
        .then_output(|| {
            DescribeImageReferencesOutput::builder()
                .image_references(reference(
                    ami(1).as_str(),
                    ec2::ImageReferenceResourceType::Ec2Instance,
                    "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
                ))
                .next_token("more")
                .build()
        });
    let second_page = mock!(Ec2::describe_image_references)
        .match_requests(|r| r.next_token() == Some("more"))
        .then_output(|| {
            DescribeImageReferencesOutput::builder()
                .image_references(reference(
                    ami(1).as_str(),
                    ec2::ImageReferenceResourceType::SsmParameter,
                    "arn:aws:ssm:us-east-1:123456789012:parameter/golden/latest",
                ))
                .build()
        });
    let recipes = mock!(Ec2::describe_image_references)
        .match_requests(|r| r.image_ids().contains(&ami(25).as_str().to_owned()))
        .then_output(|| {
            DescribeImageReferencesOutput::builder()
                .image_references(reference(
                    ami(25).as_str(),
                    ec2::ImageReferenceResourceType::ImageBuilderImageRecipe,
                    "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/base/1.0.0",
                ))
                .build()
        });
    let nothing = mock!(Ec2::describe_image_references)
        .then_output(|| DescribeImageReferencesOutput::builder().build());
    let cloud = mocked_cloud(&[&shape, &first_page, &second_page, &recipes, &nothing]).await;
    // 25 images, one asked twice: three batches (10, 10, 5).
    let mut asked: Vec<_> = (1..=25).map(ami).collect();
    asked.push(ami(1));
    let got = cloud
        .image_references(&region("us-east-1"), &asked)
        .await
        .unwrap();
    assert_eq!(
        shape.num_calls(),
        0,
        "every request was shaped as EC2 requires"
    );
    assert_eq!(
        first_page.num_calls()
            + second_page.num_calls()
            + recipes.num_calls()
            + nothing.num_calls(),
        4,
        "three batches, the first over two pages"
    );
    let kinds: Vec<(AmiId, ReferenceKind)> = got
        .iter()
        .map(|r| (r.image.clone(), r.kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ami(1), ReferenceKind::Instance),
            (ami(1), ReferenceKind::SsmParameter),
            (ami(25), ReferenceKind::ImageRecipe),
        ]
    );
    assert!(got.contains(&ImageReference::new(
        ami(25),
        ReferenceKind::ImageRecipe,
        "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/base/1.0.0"
    )));
}

#[tokio::test(start_paused = true)]
async fn no_images_asked_means_no_reference_call() {
    let any = mock!(Ec2::describe_image_references)
        .then_output(|| DescribeImageReferencesOutput::builder().build());
    let cloud = mocked_cloud(&[&any]).await;
    assert!(
        cloud
            .image_references(&region("us-east-1"), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(any.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn reference_reads_that_are_throttled_are_retried_then_reported() {
    let throttled = mock!(Ec2::describe_image_references).then_error(|| {
        ec2_error(
            "RequestLimitExceeded",
            DescribeImageReferencesError::generic,
        )
    });
    let cloud = mocked_cloud(&[&throttled]).await;
    let err = cloud
        .image_references(&region("us-east-1"), &[ami(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    assert_eq!(err.operation, "DescribeImageReferences");
    assert!(throttled.num_calls() > 1, "throttling is retried");
}

// ---------------------------------------------------------------------------------------
// The Recycle Bin

fn rule_summary(id: &str) -> rbin::RuleSummary {
    rbin::RuleSummary::builder().identifier(id).build()
}

fn tag(key: &str, value: Option<&str>) -> rbin::ResourceTag {
    rbin::ResourceTag::builder()
        .resource_tag_key(key)
        .set_resource_tag_value(value.map(str::to_owned))
        .build()
        .unwrap()
}

fn described_rule(id: &str, kind: rbin::ResourceType, days: i32) -> GetRuleOutput {
    GetRuleOutput::builder()
        .identifier(id)
        .resource_type(kind)
        .status(rbin::RuleStatus::Available)
        .retention_period(
            rbin::RetentionPeriod::builder()
                .retention_period_value(days)
                .retention_period_unit(rbin::RetentionPeriodUnit::Days)
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test(start_paused = true)]
async fn recycle_bin_rules_of_images_and_snapshots_are_listed_and_described() {
    let image_rules_1 = mock!(Rbin::list_rules)
        .match_requests(|r| {
            r.resource_type() == Some(&rbin::ResourceType::Ec2Image) && r.next_token().is_none()
        })
        .then_output(|| {
            ListRulesOutput::builder()
                .rules(rule_summary("img-region"))
                .next_token("p2")
                .build()
        });
    let image_rules_2 = mock!(Rbin::list_rules)
        .match_requests(|r| {
            r.resource_type() == Some(&rbin::ResourceType::Ec2Image) && r.next_token() == Some("p2")
        })
        .then_output(|| {
            ListRulesOutput::builder()
                .rules(rule_summary("img-tagged"))
                .rules(rule_summary("img-gone"))
                .build()
        });
    let snapshot_rules = mock!(Rbin::list_rules)
        .match_requests(|r| r.resource_type() == Some(&rbin::ResourceType::EbsSnapshot))
        .then_output(|| {
            ListRulesOutput::builder()
                .rules(rule_summary("snap-pending"))
                .build()
        });
    let region_rule = mock!(Rbin::get_rule)
        .match_requests(|r| r.identifier() == Some("img-region"))
        .then_output(|| {
            let mut rule = described_rule("img-region", rbin::ResourceType::Ec2Image, 10);
            rule.exclude_resource_tags = Some(vec![tag("scratch", None)]);
            rule.lock_state = Some(rbin::LockState::Locked);
            rule
        });
    let tagged_rule = mock!(Rbin::get_rule)
        .match_requests(|r| r.identifier() == Some("img-tagged"))
        .then_output(|| {
            let mut rule = described_rule("img-tagged", rbin::ResourceType::Ec2Image, 30);
            rule.resource_tags = Some(vec![tag("team", Some("hpc"))]);
            rule
        });
    // Deleted between ListRules and GetRule: left out, not an error.
    let gone = mock!(Rbin::get_rule)
        .match_requests(|r| r.identifier() == Some("img-gone"))
        .then_error(|| ec2_error("ResourceNotFoundException", GetRuleError::generic));
    // Not in effect yet: it keeps nothing.
    let pending = mock!(Rbin::get_rule)
        .match_requests(|r| r.identifier() == Some("snap-pending"))
        .then_output(|| {
            let mut rule = described_rule("snap-pending", rbin::ResourceType::EbsSnapshot, 7);
            rule.status = Some(rbin::RuleStatus::Pending);
            rule
        });
    let cloud = mocked_cloud(&[
        &image_rules_1,
        &image_rules_2,
        &snapshot_rules,
        &region_rule,
        &tagged_rule,
        &gone,
        &pending,
    ])
    .await;
    let rules = cloud.recycle_bin_rules(&region("eu-west-1")).await.unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["img-region", "img-tagged"]);
    let (region_level, tagged) = (&rules[0], &rules[1]);
    assert_eq!(
        (
            region_level.resource,
            region_level.retention_days,
            region_level.locked
        ),
        (RecycleResource::Image, 10, true)
    );
    assert_eq!(
        region_level.exclude_tags,
        vec![RuleTag::new("scratch", None)]
    );
    assert_eq!(
        tagged.resource_tags,
        vec![RuleTag::new("team", Some("hpc".into()))]
    );
    assert!(!tagged.locked);
    assert_eq!(
        (
            image_rules_1.num_calls(),
            image_rules_2.num_calls(),
            snapshot_rules.num_calls()
        ),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn recycle_bin_denial_is_access_denied() {
    let denied = mock!(Rbin::list_rules)
        .then_error(|| ec2_error("AccessDeniedException", ListRulesError::generic));
    let cloud = mocked_cloud(&[&denied]).await;
    let err = cloud
        .recycle_bin_rules(&region("eu-west-1"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (CloudErrorKind::AccessDenied, "ListRules")
    );
    assert_eq!(err.region, Some(region("eu-west-1")));
}

// ---------------------------------------------------------------------------------------
// Public snapshots and their guard

fn snapshot(n: u64) -> ec2::Snapshot {
    ec2::Snapshot::builder()
        .snapshot_id(format!("snap-{n:017x}"))
        .owner_id("123456789012")
        .build()
}

#[tokio::test(start_paused = true)]
async fn public_snapshots_are_the_callers_restorable_by_all_over_every_page() {
    let shape = |r: &aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsInput| {
        r.owner_ids() == ["self".to_owned()]
            && r.restorable_by_user_ids() == ["all".to_owned()]
            && r.max_results() == Some(1000)
    };
    let first = mock!(Ec2::describe_snapshots)
        .match_requests(move |r| shape(r) && r.next_token().is_none())
        .then_output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(snapshot(1))
                .snapshots(snapshot(2))
                .next_token("more")
                .build()
        });
    let second = mock!(Ec2::describe_snapshots)
        .match_requests(move |r| shape(r) && r.next_token() == Some("more"))
        .then_output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(snapshot(3))
                .build()
        });
    let cloud = mocked_cloud(&[&first, &second]).await;
    let got = cloud.public_snapshots(&region("us-east-1")).await.unwrap();
    let want: std::collections::BTreeSet<SnapshotId> = (1..=3)
        .map(|n| SnapshotId::new(format!("snap-{n:017x}")).unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn snapshot_block_public_access_reads_every_state() {
    for (state, want) in [
        (
            ec2::SnapshotBlockPublicAccessState::Unblocked,
            SnapshotBlockPublicAccess::Unblocked,
        ),
        (
            ec2::SnapshotBlockPublicAccessState::BlockNewSharing,
            SnapshotBlockPublicAccess::BlockNewSharing,
        ),
        (
            ec2::SnapshotBlockPublicAccessState::BlockAllSharing,
            SnapshotBlockPublicAccess::BlockAllSharing,
        ),
    ] {
        let answer = mock!(Ec2::get_snapshot_block_public_access_state).then_output(move || {
            GetSnapshotBlockPublicAccessStateOutput::builder()
                .state(state.clone())
                .build()
        });
        let cloud = mocked_cloud(&[&answer]).await;
        let got = cloud
            .snapshot_block_public_access(&region("us-east-1"))
            .await
            .unwrap();
        assert_eq!(got, want);
    }
}

// ---------------------------------------------------------------------------------------
// Launch templates

fn template_version(
    id: &str,
    name: &str,
    n: i64,
    default: bool,
    image: &str,
) -> ec2::LaunchTemplateVersion {
    ec2::LaunchTemplateVersion::builder()
        .launch_template_id(id)
        .launch_template_name(name)
        .version_number(n)
        .default_version(default)
        .launch_template_data(
            ec2::ResponseLaunchTemplateData::builder()
                .image_id(image)
                .build(),
        )
        .build()
}

#[tokio::test(start_paused = true)]
async fn launch_template_images_are_the_default_and_latest_of_every_template() {
    let first = mock!(Ec2::describe_launch_template_versions)
        .match_requests(|r| {
            r.versions() == ["$Latest".to_owned(), "$Default".to_owned()]
                && r.resolve_alias() == Some(true)
                && r.launch_template_id().is_none()
                && r.launch_template_name().is_none()
                && r.next_token().is_none()
        })
        .then_output(|| {
            DescribeLaunchTemplateVersionsOutput::builder()
                // One version both latest and default comes twice.
                .launch_template_versions(template_version("lt-1", "web", 2, true, ami(1).as_str()))
                .launch_template_versions(template_version("lt-1", "web", 2, true, ami(1).as_str()))
                .next_token("more")
                .build()
        });
    let second = mock!(Ec2::describe_launch_template_versions)
        .match_requests(|r| r.next_token() == Some("more"))
        .then_output(|| {
            DescribeLaunchTemplateVersionsOutput::builder()
                .launch_template_versions(template_version(
                    "lt-2",
                    "batch",
                    5,
                    false,
                    ami(2).as_str(),
                ))
                .launch_template_versions(template_version(
                    "lt-2",
                    "batch",
                    4,
                    true,
                    ami(3).as_str(),
                ))
                // A version that names its image through an SSM parameter names no image
                // id (DescribeImageReferences reports the parameter's reference).
                .launch_template_versions(template_version(
                    "lt-3",
                    "ssm",
                    1,
                    true,
                    "resolve:ssm:/golden/latest",
                ))
                .build()
        });
    let cloud = mocked_cloud(&[&first, &second]).await;
    let got = cloud
        .launch_template_images(&region("us-east-1"))
        .await
        .unwrap();
    let seen: Vec<(&str, u64, bool, &str)> = got
        .iter()
        .map(|t| {
            (
                t.launch_template_name.as_str(),
                t.version,
                t.is_default,
                t.image.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("web", 2, true, ami(1).as_str()),
            ("batch", 5, false, ami(2).as_str()),
            ("batch", 4, true, ami(3).as_str()),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Image fields, disabled images, copy parameters

#[tokio::test(start_paused = true)]
async fn images_report_their_protection_and_imds_support() {
    let answer = mock!(Ec2::describe_images).then_output(|| {
        let mut images = Vec::new();
        for (n, protection) in [
            (1, Some("enabled-with-cooldown")),
            (2, Some("disabled-until-2026-12-02T10:00:00Z")),
            (3, Some("disabled")),
            (4, Some("protected-in-a-new-way")),
            (5, None),
        ] {
            let mut image = ec2_image(n, ec2::ImageState::Available);
            image.deregistration_protection = protection.map(str::to_owned);
            if n == 1 {
                image.imds_support = Some(ec2::ImdsSupportValues::V20);
            }
            images.push(image);
        }
        images_output(images)
    });
    let cloud = mocked_cloud(&[&answer]).await;
    let got = cloud
        .describe_images(&region("us-east-1"), &(1..=5).map(ami).collect::<Vec<_>>())
        .await
        .unwrap();
    let protections: Vec<Option<DeregistrationProtection>> =
        got.iter().map(|i| i.deregistration_protection).collect();
    assert_eq!(
        protections,
        [
            Some(DeregistrationProtection::Enabled { cooldown: true }),
            Some(DeregistrationProtection::CoolingDown {
                until: "2026-12-02T10:00:00Z".parse().unwrap()
            }),
            Some(DeregistrationProtection::Disabled),
            // A value this version does not know reads as protected.
            Some(DeregistrationProtection::Enabled { cooldown: false }),
            None,
        ]
    );
    assert_eq!(got[0].imds_support, Some(ImdsSupport::V2));
    assert_eq!(got[1].imds_support, None);
}

#[tokio::test(start_paused = true)]
async fn disabled_images_are_asked_for_only_when_a_search_asks() {
    // IncludeDisabled only when the filter asks; an emulator that ignores it still sends
    // a disabled image back, which a search that did not ask leaves out.
    let search = mock!(Ec2::describe_images).then_compute_output(|r| {
        let asked = r.include_disabled() == Some(true);
        let states = filter_values(r.filters(), "state")
            .unwrap_or_default()
            .to_vec();
        assert_eq!(asked, states.contains(&"disabled".to_owned()), "{states:?}");
        images_output([
            ec2_image(1, ec2::ImageState::Disabled),
            ec2_image(2, ec2::ImageState::Available),
        ])
    });
    let cloud = mocked_cloud(&[&search]).await;
    let r = region("us-east-1");
    let mine = ImageFilter::owned_by([Owner::Me]).states([ImageState::Available]);
    let got = cloud.search_images(&r, &mine).await.unwrap();
    assert_eq!(
        got.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        [ami(2)]
    );

    let with_disabled = ImageFilter::owned_by([Owner::Me])
        .states([ImageState::Available, ImageState::Disabled])
        .include_disabled(true);
    let got = cloud.search_images(&r, &with_disabled).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(search.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_describe_by_id_leaves_disabled_images_out_as_ec2_does() {
    // EC2 leaves them out without IncludeDisabled; an emulator that ignores the parameter
    // sends one anyway.
    let by_id = mock!(Ec2::describe_images).then_compute_output(|r| {
        assert_eq!(r.include_disabled(), None);
        images_output([
            ec2_image(1, ec2::ImageState::Disabled),
            ec2_image(2, ec2::ImageState::Pending),
        ])
    });
    let cloud = mocked_cloud(&[&by_id]).await;
    let got = cloud
        .describe_images(&region("us-east-1"), &[ami(1), ami(2)])
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        [ami(2)]
    );
}

#[tokio::test(start_paused = true)]
async fn deregistering_a_disabled_image_deletes_the_snapshots_it_learnt_first() {
    let described = mock!(Ec2::describe_images)
        .match_requests(|r| r.include_disabled() == Some(true))
        .then_output(|| images_output([ec2_image(1, ec2::ImageState::Disabled)]));
    let deregistered = mock!(Ec2::deregister_image)
        .match_requests(|r| r.image_id() == Some(ami(1).as_str()))
        .then_output(|| DeregisterImageOutput::builder().build());
    let deleted = mock!(Ec2::delete_snapshot)
        .match_requests(|r| r.snapshot_id() == Some("snap-00000000000000001"))
        .then_output(|| DeleteSnapshotOutput::builder().build());
    let cloud = mocked_cloud(&[&described, &deregistered, &deleted]).await;
    cloud
        .deregister_image(&region("us-east-1"), &ami(1), true)
        .await
        .unwrap();
    assert_eq!(
        (
            described.num_calls(),
            deregistered.num_calls(),
            deleted.num_calls()
        ),
        (1, 1, 1)
    );
}

fn copy_request() -> CopyImageRequest {
    CopyImageRequest::new(
        region("us-east-1"),
        ami(1),
        region("eu-west-1"),
        "copy-of-1",
        "amiref-copy-token-1",
    )
}

#[tokio::test(start_paused = true)]
async fn copies_send_copy_image_tags_and_the_completion_duration_only_when_asked() {
    let none_yet = mock!(Ec2::describe_images).then_output(|| images_output([]));
    let copy = mock!(Ec2::copy_image).then_compute_output(|r| {
        let asked = r.name() == Some("timed");
        assert_eq!(r.copy_image_tags(), asked.then_some(true));
        assert_eq!(
            r.snapshot_copy_completion_duration_minutes(),
            asked.then_some(30)
        );
        CopyImageOutput::builder().image_id(ami(9).as_str()).build()
    });
    let tag = mock!(Ec2::create_tags).then_output(|| CreateTagsOutput::builder().build());
    let cloud = mocked_cloud(&[&none_yet, &copy, &tag]).await;
    cloud.copy_image(&copy_request()).await.unwrap();
    let mut timed = copy_request();
    timed.name = "timed".into();
    timed.copy_image_tags = true;
    timed.completion_duration_minutes = Some(30);
    assert_eq!(cloud.copy_image(&timed).await.unwrap(), ami(9));
    assert_eq!(copy.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_an_image_that_was_disabled_stops_at_once() {
    let disabled = mock!(Ec2::describe_images)
        .match_requests(|r| r.include_disabled() == Some(true))
        .then_output(|| images_output([ec2_image(9, ec2::ImageState::Disabled)]));
    let cloud = mocked_cloud(&[&disabled]).await;
    let err = cloud
        .wait_until_available(
            &region("eu-west-1"),
            &ami(9),
            std::time::Duration::from_secs(100),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);
    assert!(err.message.contains("disabled"), "{err}");
    assert_eq!(disabled.num_calls(), 1);
}
