//! AwsCloud against canned service answers (aws-smithy-mocks): what moto cannot show —
//! throttling, 5xx, denied and expired credentials, a region that does not answer, pages,
//! client tokens and the copy dedup, pending images, deprecation, snapshot access across
//! accounts, Allowed AMIs (GetAllowedImagesSettings), offerings' pages, SSM batches — and how
//! each call is shaped. Time is tokio's paused clock, so retries' backoff and waits take no real time.

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] fns, unwrap fixtures

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_aws::{AwsCloud, PROVENANCE_SOURCE_IMAGE_TAG, PROVENANCE_TOKEN_TAG};
use amiref_core::{
    AccountSettings, AllowedImagesState, AmiId, ChangeSetRequest, CloudErrorKind, CopyImageRequest,
    Identity, ImageCatalog, ImageFilter, ImageState, ImageStore, InstanceControl, InstanceFilter,
    InstanceId, InstanceType, InstanceTypes, Instances, LaunchPermission, Marketplace,
    MarketplacePublisher, Owner, ParameterName, ParameterStore, Parameters, PutParameterRequest,
    Region, RunInstanceRequest, SecurityGroupId, SecurityGroupRequest, SecurityGroups, SnapshotId,
    SubnetId, VpcId,
};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ec2::operation::copy_image::{CopyImageError, CopyImageOutput};
use aws_sdk_ec2::operation::create_security_group::{
    CreateSecurityGroupError, CreateSecurityGroupOutput,
};
use aws_sdk_ec2::operation::create_tags::CreateTagsOutput;
use aws_sdk_ec2::operation::delete_security_group::{
    DeleteSecurityGroupError, DeleteSecurityGroupOutput,
};
use aws_sdk_ec2::operation::delete_snapshot::{DeleteSnapshotError, DeleteSnapshotOutput};
use aws_sdk_ec2::operation::deregister_image::DeregisterImageOutput;
use aws_sdk_ec2::operation::describe_image_attribute::DescribeImageAttributeOutput;
use aws_sdk_ec2::operation::describe_images::{DescribeImagesError, DescribeImagesOutput};
use aws_sdk_ec2::operation::describe_instance_type_offerings::DescribeInstanceTypeOfferingsOutput;
use aws_sdk_ec2::operation::describe_instance_types::DescribeInstanceTypesOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_launch_template_versions::DescribeLaunchTemplateVersionsOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::describe_snapshots::{DescribeSnapshotsError, DescribeSnapshotsOutput};
use aws_sdk_ec2::operation::disable_image_deprecation::DisableImageDeprecationOutput;
use aws_sdk_ec2::operation::enable_image_deprecation::EnableImageDeprecationOutput;
use aws_sdk_ec2::operation::get_allowed_images_settings::{
    GetAllowedImagesSettingsError, GetAllowedImagesSettingsOutput,
};
use aws_sdk_ec2::operation::get_console_output::{GetConsoleOutputError, GetConsoleOutputOutput};
use aws_sdk_ec2::operation::modify_image_attribute::{
    ModifyImageAttributeError, ModifyImageAttributeOutput,
};
use aws_sdk_ec2::operation::run_instances::RunInstancesOutput;
use aws_sdk_ec2::operation::stop_instances::{StopInstancesError, StopInstancesOutput};
use aws_sdk_ec2::operation::terminate_instances::{
    TerminateInstancesError, TerminateInstancesOutput,
};
use aws_sdk_ec2::types as ec2;
use aws_sdk_marketplacecatalog::Client as Catalog;
use aws_sdk_marketplacecatalog::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_marketplacecatalog::operation::describe_entity::DescribeEntityOutput;
use aws_sdk_marketplacecatalog::operation::list_entities::ListEntitiesOutput;
use aws_sdk_marketplacecatalog::operation::start_change_set::StartChangeSetOutput;
use aws_sdk_ssm::Client as Ssm;
use aws_sdk_ssm::operation::delete_parameter::{DeleteParameterError, DeleteParameterOutput};
use aws_sdk_ssm::operation::get_parameter_history::{
    GetParameterHistoryError, GetParameterHistoryOutput,
};
use aws_sdk_ssm::operation::get_parameters::{GetParametersError, GetParametersOutput};
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput;
use aws_sdk_ssm::operation::put_parameter::{PutParameterError, PutParameterOutput};
use aws_sdk_ssm::types::ParameterHistory;
use aws_sdk_sts::Client as Sts;
use aws_sdk_sts::operation::get_caller_identity::{
    GetCallerIdentityError, GetCallerIdentityOutput,
};
use aws_smithy_mocks::{Rule, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::ErrorMetadata;

// ---------------------------------------------------------------------------------------
// Harness

use crate::support;

use support::{
    ami, ec2_error, ec2_image, filter_values, images_output, interceptor, region, sdk_config,
};

/// A cloud whose every client answers from `rules`.
async fn cloud(rules: &[&Rule]) -> AwsCloud {
    cloud_with(rules, None).await
}

/// A cloud whose clients answer from `rules`, except that `dead` (a region and a connector)
/// never gets an answer.
async fn cloud_with(rules: &[&Rule], dead: Option<(Region, DeadConnector)>) -> AwsCloud {
    let rules: Vec<Rule> = rules.iter().map(|r| (*r).clone()).collect();
    let (ec2_rules, ssm_rules, sts_rules, catalog_rules) =
        (rules.clone(), rules.clone(), rules.clone(), rules);
    AwsCloud::builder()
        .sdk_config(sdk_config(create_mock_http_client()))
        .customize_ec2(move |region, b| match &dead {
            Some((r, connector)) if r == region => b.http_client(connector.clone()),
            _ => b.interceptor(interceptor(&ec2_rules)),
        })
        .customize_ssm(move |_, b| b.interceptor(interceptor(&ssm_rules)))
        .customize_sts(move |b| b.interceptor(interceptor(&sts_rules)))
        .customize_catalog(move |b| b.interceptor(interceptor(&catalog_rules)))
        .build()
        .await
}

/// A connection that never answers, or that is refused.
#[derive(Debug, Clone)]
enum DeadConnector {
    Hangs,
    Refused,
}

impl HttpConnector for DeadConnector {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        match self {
            Self::Hangs => HttpConnectorFuture::new(std::future::pending::<
                Result<HttpResponse, ConnectorError>,
            >()),
            Self::Refused => {
                HttpConnectorFuture::ready(Err(ConnectorError::io("connection refused".into())))
            }
        }
    }
}

impl HttpClient for DeadConnector {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn copy_request() -> CopyImageRequest {
    let mut request = CopyImageRequest::new(
        region("us-east-1"),
        ami(1),
        region("eu-west-1"),
        "copy-of-1",
        "amiref-copy-token-1",
    );
    request.tags = BTreeMap::from([("team".to_owned(), "hpc".to_owned())]);
    request
}

// ---------------------------------------------------------------------------------------
// Retries and errors

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_until_success() {
    let rule = mock!(Ec2::describe_images)
        .sequence()
        .error(|| ec2_error("RequestLimitExceeded", DescribeImagesError::generic))
        .times(2)
        .output(|| images_output([ec2_image(1, ec2::ImageState::Available)]))
        .build();
    let cloud = cloud(&[&rule]).await;
    let images = cloud
        .search_images(&region("us-east-1"), &ImageFilter::owned_by([Owner::Me]))
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(
        rule.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_that_persists_is_reported_after_bounded_attempts() {
    let rule = mock!(Ec2::describe_images)
        .sequence()
        .error(|| ec2_error("RequestLimitExceeded", DescribeImagesError::generic))
        .repeatedly()
        .build();
    let cloud = cloud(&[&rule]).await;
    let err = cloud
        .search_images(&region("us-east-1"), &ImageFilter::owned_by([Owner::Me]))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(err.operation, "DescribeImages");
    assert_eq!(err.region, Some(region("us-east-1")));
    assert_eq!(rule.num_calls(), 4, "the default bound is 4 attempts");
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_then_reported_unavailable() {
    let rule = mock!(Ec2::describe_images)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let failing = cloud(&[&rule]).await;
    let err = failing
        .describe_images(&region("ap-south-1"), &[ami(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.region, Some(region("ap-south-1")));
    assert_eq!(rule.num_calls(), 4);

    let recovering = mock!(Ec2::describe_images)
        .sequence()
        .http_status(500, None)
        .output(|| images_output([ec2_image(1, ec2::ImageState::Available)]))
        .build();
    let recovered = cloud(&[&recovering]).await;
    let images = recovered
        .describe_images(&region("ap-south-1"), &[ami(1)])
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(recovering.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn access_denied_is_not_retried() {
    let rule = mock!(Ec2::modify_image_attribute)
        .then_error(|| ec2_error("UnauthorizedOperation", ModifyImageAttributeError::generic));
    let cloud = cloud(&[&rule]).await;
    let err = cloud
        .add_launch_permissions(&region("us-east-1"), &ami(1), &[LaunchPermission::Public])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::AccessDenied);
    assert_eq!(err.operation, "ModifyImageAttribute");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_invalid_credentials_and_never_shows_the_secret() {
    let rule = mock!(Sts::get_caller_identity)
        .then_error(|| ec2_error("ExpiredToken", GetCallerIdentityError::generic));
    let cloud = cloud(&[&rule]).await;
    let err = cloud.caller().await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidCredentials);
    assert_eq!(err.code.as_deref(), Some("ExpiredToken"));
    assert_eq!(rule.num_calls(), 1);
    let shown = format!("{err} {err:?} {cloud:?}");
    assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
    assert!(!shown.contains("AKIDEXAMPLE"), "{shown}");
}

/// A credentials chain that finds nothing.
#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials in the chain",
            ),
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn missing_credentials_are_invalid_credentials() {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(NoCredentials))
        .http_client(create_mock_http_client())
        .build();
    let cloud = AwsCloud::from_sdk_config(&sdk);
    let err = cloud.caller().await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidCredentials, "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_region_that_does_not_answer_times_out_as_unavailable() {
    let healthy = mock!(Ec2::describe_images)
        .then_output(|| images_output([ec2_image(1, ec2::ImageState::Available)]));
    let cloud = cloud_with(
        &[&healthy],
        Some((region("me-south-1"), DeadConnector::Hangs)),
    )
    .await;
    let started = tokio::time::Instant::now();
    let err = cloud
        .describe_images(&region("me-south-1"), &[ami(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable, "{err}");
    assert_eq!(err.region, Some(region("me-south-1")));
    assert!(
        started.elapsed() <= Duration::from_secs(121),
        "bounded by the operation timeout, took {:?}",
        started.elapsed()
    );
    // Other regions are unaffected.
    let images = cloud
        .describe_images(&region("us-east-1"), &[ami(1)])
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_unavailable() {
    let cloud = cloud_with(&[], Some((region("af-south-1"), DeadConnector::Refused))).await;
    let err = cloud
        .search_images(
            &region("af-south-1"),
            &ImageFilter::owned_by([Owner::Amazon]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("could not be sent"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn run_instances_without_a_client_token_is_sent_once() {
    let rule = mock!(Ec2::run_instances)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let cloud = cloud(&[&rule]).await;
    let request = RunInstanceRequest::new(ami(1), "t3.micro".parse().unwrap());
    let err = cloud
        .run_instance(&region("us-east-1"), &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable);
    assert_eq!(rule.num_calls(), 1, "a retry could start a second instance");
}

#[tokio::test(start_paused = true)]
async fn run_instances_with_a_client_token_is_retried_and_shaped() {
    let rule = mock!(Ec2::run_instances)
        .match_requests(|r| {
            r.client_token() == Some("launch-1")
                && r.image_id() == Some(ami(1).as_str())
                && r.instance_type() == Some(&ec2::InstanceType::T3Micro)
                && r.min_count() == Some(1)
                && r.max_count() == Some(1)
                // "echo hi" in base64
                && r.user_data() == Some("ZWNobyBoaQ==")
                && r.tag_specifications().iter().any(|t| {
                    t.resource_type() == Some(&ec2::ResourceType::Instance)
                        && t.tags().iter().any(|tag| tag.key() == Some("Name"))
                })
        })
        .sequence()
        .http_status(503, None)
        .output(|| {
            RunInstancesOutput::builder()
                .instances(
                    ec2::Instance::builder()
                        .instance_id("i-0123456789abcdef0")
                        .build(),
                )
                .build()
        })
        .build();
    let cloud = cloud(&[&rule]).await;
    let mut request = RunInstanceRequest::new(ami(1), "t3.micro".parse().unwrap());
    request.client_token = Some("launch-1".into());
    request.user_data = Some("echo hi".into());
    request.tags.insert("Name".into(), "workstation".into());
    let id = cloud
        .run_instance(&region("us-east-1"), &request)
        .await
        .unwrap();
    assert_eq!(id.as_str(), "i-0123456789abcdef0");
    assert_eq!(rule.num_calls(), 2);
}

// ---------------------------------------------------------------------------------------
// DescribeImages

#[tokio::test(start_paused = true)]
async fn searches_read_every_page_at_the_largest_size() {
    let first = mock!(Ec2::describe_images)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeImagesOutput::builder()
                .set_images(Some(
                    (1..=1000)
                        .map(|n| ec2_image(n, ec2::ImageState::Available))
                        .collect(),
                ))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Ec2::describe_images)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeImagesOutput::builder()
                .set_images(Some(
                    (1001..=1500)
                        .map(|n| ec2_image(n, ec2::ImageState::Available))
                        .collect(),
                ))
                .build()
        });
    let shape = mock!(Ec2::describe_images)
        .match_requests(|r| {
            // Any request not shaped as expected falls through to this failing rule.
            !(r.max_results() == Some(1000)
                && r.owners() == ["123456789012".to_owned()]
                && filter_values(r.filters(), "name") == Some(&["cws-*".to_owned()][..])
                && filter_values(r.filters(), "architecture") == Some(&["arm64".to_owned()][..])
                && filter_values(r.filters(), "tag:team") == Some(&["hpc".to_owned()][..])
                && filter_values(r.filters(), "state") == Some(&["available".to_owned()][..])
                && r.include_deprecated() == Some(false))
        })
        .then_error(|| ec2_error("InvalidParameterValue", DescribeImagesError::generic));
    let cloud = cloud(&[&shape, &first, &second]).await;
    let filter = ImageFilter::owned_by([Owner::Account("123456789012".parse().unwrap())])
        .name("cws-*")
        .architectures([amiref_core::Architecture::Arm64])
        .tag("team", Some("hpc".into()));
    let images = cloud
        .search_images(&region("us-east-1"), &filter)
        .await
        .unwrap();
    assert_eq!(images.len(), 1500);
    assert_eq!(shape.num_calls(), 0, "every request carried the filter");
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn deprecated_images_are_left_out_unless_asked() {
    let rule = mock!(Ec2::describe_images).then_compute_output(|r| {
        let mut deprecated = ec2_image(2, ec2::ImageState::Available);
        deprecated.deprecation_time = Some("2025-01-01T00:00:00.000Z".into());
        // EC2 shows an owner their deprecated images whatever IncludeDeprecated says.
        let _ = r.include_deprecated();
        images_output([ec2_image(1, ec2::ImageState::Available), deprecated])
    });
    let cloud = cloud(&[&rule]).await;
    let r = region("us-east-1");
    let hidden = cloud
        .search_images(&r, &ImageFilter::owned_by([Owner::Me]))
        .await
        .unwrap();
    assert_eq!(hidden.len(), 1);
    let shown = cloud
        .search_images(
            &r,
            &ImageFilter::owned_by([Owner::Me]).include_deprecated(true),
        )
        .await
        .unwrap();
    assert_eq!(shown.len(), 2);
    assert!(shown.iter().any(|i| i.deprecation_time.is_some()));
}

#[tokio::test(start_paused = true)]
async fn describes_by_id_go_in_batches_through_the_image_id_filter() {
    let rule = mock!(Ec2::describe_images)
        .match_requests(|r| {
            r.image_ids().is_empty()
                && r.include_deprecated() == Some(true)
                && filter_values(r.filters(), "image-id").is_some_and(|v| v.len() <= 200)
        })
        .then_compute_output(|r| {
            // Answer only the odd ids: the even ones "no longer exist".
            let ids = filter_values(r.filters(), "image-id").unwrap_or_default();
            images_output(ids.iter().filter_map(|id| {
                let n = u64::from_str_radix(id.trim_start_matches("ami-"), 16).ok()?;
                (n % 2 == 1).then(|| ec2_image(n, ec2::ImageState::Available))
            }))
        });
    let cloud = cloud(&[&rule]).await;
    let mut ids: Vec<AmiId> = (1..=450).map(ami).collect();
    ids.push(ami(1)); // a duplicate is asked once
    let images = cloud
        .describe_images(&region("us-east-1"), &ids)
        .await
        .unwrap();
    assert_eq!(images.len(), 225);
    assert_eq!(rule.num_calls(), 3, "450 ids in batches of at most 200");
    assert!(
        cloud
            .describe_images(&region("us-east-1"), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(rule.num_calls(), 3, "nothing asked, nothing sent");
}

#[tokio::test(start_paused = true)]
async fn searches_without_an_ec2_owner_are_refused_before_any_call() {
    let cloud = cloud(&[]).await;
    for filter in [
        ImageFilter::default().name("cws-*"),
        ImageFilter::owned_by([Owner::Named("prism-community".into())]),
    ] {
        let err = cloud
            .search_images(&region("us-east-1"), &filter)
            .await
            .unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    }
}

#[tokio::test(start_paused = true)]
async fn clients_are_made_once_per_region() {
    let rule = mock!(Ec2::describe_images).then_output(|| images_output([]));
    let cloud = cloud(&[&rule]).await;
    for code in [
        "us-east-1",
        "eu-west-1",
        "us-east-1",
        "eu-west-1",
        "us-east-1",
    ] {
        cloud
            .describe_images(&region(code), &[ami(1)])
            .await
            .unwrap();
    }
    assert_eq!(cloud.ec2_client_count(), 2);
    assert_eq!(cloud.clone().ec2_client_count(), 2, "clones share clients");
}

// ---------------------------------------------------------------------------------------
// CopyImage

#[tokio::test(start_paused = true)]
async fn copy_sends_the_token_and_provenance_and_tags_the_copy() {
    let none_yet = mock!(Ec2::describe_images)
        .match_requests(|r| {
            r.owners() == ["self".to_owned()]
                && filter_values(r.filters(), &format!("tag:{PROVENANCE_TOKEN_TAG}"))
                    == Some(&["amiref-copy-token-1".to_owned()][..])
                && filter_values(r.filters(), &format!("tag:{PROVENANCE_SOURCE_IMAGE_TAG}"))
                    == Some(&[ami(1).as_str().to_owned()][..])
        })
        .then_output(|| images_output([]));
    let copy = mock!(Ec2::copy_image)
        .match_requests(|r| {
            let tags: BTreeMap<_, _> = r
                .tag_specifications()
                .iter()
                .flat_map(|t| t.tags())
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect();
            r.client_token() == Some("amiref-copy-token-1")
                && r.source_region() == Some("us-east-1")
                && r.source_image_id() == Some(ami(1).as_str())
                && r.name() == Some("copy-of-1")
                && tags.get("team").map(String::as_str) == Some("hpc")
                && tags.get("amiref:source-region").map(String::as_str) == Some("us-east-1")
                && tags.get(PROVENANCE_TOKEN_TAG).map(String::as_str) == Some("amiref-copy-token-1")
        })
        .then_output(|| CopyImageOutput::builder().image_id(ami(9).as_str()).build());
    let retag = mock!(Ec2::create_tags)
        .match_requests(|r| {
            r.resources() == [ami(9).as_str().to_owned()]
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some(PROVENANCE_TOKEN_TAG))
        })
        .then_output(|| CreateTagsOutput::builder().build());
    let cloud = cloud(&[&none_yet, &copy, &retag]).await;
    let id = cloud.copy_image(&copy_request()).await.unwrap();
    assert_eq!(id, ami(9));
    assert_eq!(
        (none_yet.num_calls(), copy.num_calls(), retag.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_repeated_copy_finds_the_first_by_its_tags_and_copies_nothing() {
    let existing = mock!(Ec2::describe_images).then_output(|| {
        let mut first = ec2_image(9, ec2::ImageState::Pending);
        first.tags = Some(vec![
            ec2::Tag::builder()
                .key(PROVENANCE_TOKEN_TAG)
                .value("amiref-copy-token-1")
                .build(),
        ]);
        images_output([first])
    });
    let copy = mock!(Ec2::copy_image).then_output(|| {
        CopyImageOutput::builder()
            .image_id(ami(10).as_str())
            .build()
    });
    let cloud = cloud(&[&existing, &copy]).await;
    for _ in 0..3 {
        assert_eq!(cloud.copy_image(&copy_request()).await.unwrap(), ami(9));
    }
    assert_eq!(
        copy.num_calls(),
        0,
        "no second copy, even where tokens are forgotten"
    );
}

#[tokio::test(start_paused = true)]
async fn a_copy_that_loses_its_answer_is_retried_with_the_same_token() {
    let none_yet = mock!(Ec2::describe_images).then_output(|| images_output([]));
    let copy = mock!(Ec2::copy_image)
        .match_requests(|r| r.client_token() == Some("amiref-copy-token-1"))
        .sequence()
        .http_status(500, None)
        .output(|| CopyImageOutput::builder().image_id(ami(9).as_str()).build())
        .build();
    let tags = mock!(Ec2::create_tags).then_output(|| CreateTagsOutput::builder().build());
    let cloud = cloud(&[&none_yet, &copy, &tags]).await;
    assert_eq!(cloud.copy_image(&copy_request()).await.unwrap(), ami(9));
    assert_eq!(copy.num_calls(), 2, "the token makes the retry safe");
}

#[tokio::test(start_paused = true)]
async fn copy_refusals_keep_their_meaning_behind_generic_codes() {
    for (message, kind) in [
        (
            "You do not have permission to access the storage of this ami",
            CloudErrorKind::AccessDenied,
        ),
        (
            "Images with EC2 BillingProduct codes cannot be copied to another AWS account",
            CloudErrorKind::NotPermitted,
        ),
        (
            "The image name must be unique",
            CloudErrorKind::InvalidRequest,
        ),
    ] {
        let none_yet = mock!(Ec2::describe_images).then_output(|| images_output([]));
        let copy = mock!(Ec2::copy_image).then_error(move || {
            CopyImageError::generic(
                ErrorMetadata::builder()
                    .code("InvalidRequest")
                    .message(message)
                    .build(),
            )
        });
        let refusing = cloud(&[&none_yet, &copy]).await;
        let err = refusing.copy_image(&copy_request()).await.unwrap_err();
        assert_eq!(err.kind, kind, "{message}");
        assert_eq!(err.code.as_deref(), Some("InvalidRequest"));
        assert_eq!(copy.num_calls(), 1, "a refusal is not retried");
    }
}

#[tokio::test(start_paused = true)]
async fn copy_refuses_an_unusable_token_before_any_call() {
    let cloud = cloud(&[]).await;
    let mut request = copy_request();
    request.client_token = "x".repeat(65);
    let err = cloud.copy_image(&request).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    request.client_token = String::new();
    assert!(cloud.copy_image(&request).await.is_err());
}

// ---------------------------------------------------------------------------------------
// Waiting

#[tokio::test(start_paused = true)]
async fn waits_through_pending_to_available_on_the_paused_clock() {
    let rule = mock!(Ec2::describe_images)
        .sequence()
        .output(|| images_output([]))
        .output(|| images_output([ec2_image(9, ec2::ImageState::Pending)]))
        .times(3)
        .output(|| images_output([ec2_image(9, ec2::ImageState::Available)]))
        .build();
    let cloud = cloud(&[&rule]).await;
    let started = tokio::time::Instant::now();
    let image = cloud
        .wait_until_available(&region("eu-west-1"), &ami(9), Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(image.state, ImageState::Available);
    assert_eq!(rule.num_calls(), 5);
    // Pauses of 2, 4, 8 and 16 seconds.
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn waiting_ends_at_the_deadline() {
    let rule = mock!(Ec2::describe_images)
        .then_output(|| images_output([ec2_image(9, ec2::ImageState::Pending)]));
    let cloud = cloud(&[&rule]).await;
    let started = tokio::time::Instant::now();
    let err = cloud
        .wait_until_available(&region("eu-west-1"), &ami(9), Duration::from_secs(100))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Timeout);
    assert!(err.message.contains("still pending"), "{err}");
    assert_eq!(started.elapsed(), Duration::from_secs(100));
}

#[tokio::test(start_paused = true)]
async fn waiting_stops_at_once_when_the_image_fails() {
    let rule = mock!(Ec2::describe_images)
        .then_output(|| images_output([ec2_image(9, ec2::ImageState::Failed)]));
    let cloud = cloud(&[&rule]).await;
    let err = cloud
        .wait_until_available(&region("eu-west-1"), &ami(9), Duration::from_secs(100))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotPermitted);
    assert_eq!(rule.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------
// The rest of the store

#[tokio::test(start_paused = true)]
async fn deprecation_is_enabled_at_the_time_and_disabled() {
    let at = chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let enable = mock!(Ec2::enable_image_deprecation)
        .match_requests(move |r| {
            r.image_id() == Some(ami(1).as_str())
                && r.deprecate_at().map(|t| t.secs()) == Some(at.timestamp())
        })
        .then_output(|| {
            EnableImageDeprecationOutput::builder()
                .r#return(true)
                .build()
        });
    let disable = mock!(Ec2::disable_image_deprecation)
        .match_requests(|r| r.image_id() == Some(ami(1).as_str()))
        .then_output(|| {
            DisableImageDeprecationOutput::builder()
                .r#return(true)
                .build()
        });
    let cloud = cloud(&[&enable, &disable]).await;
    let r = region("us-east-1");
    cloud.enable_deprecation(&r, &ami(1), at).await.unwrap();
    cloud.disable_deprecation(&r, &ami(1)).await.unwrap();
    assert_eq!((enable.num_calls(), disable.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn launch_permissions_name_accounts_organizations_and_units() {
    let describe = mock!(Ec2::describe_image_attribute)
        .match_requests(|r| r.attribute() == Some(&ec2::ImageAttributeName::LaunchPermission))
        .then_output(|| {
            DescribeImageAttributeOutput::builder()
                .launch_permissions(
                    ec2::LaunchPermission::builder()
                        .group(ec2::PermissionGroup::All)
                        .build(),
                )
                .launch_permissions(
                    ec2::LaunchPermission::builder()
                        .user_id("444455556666")
                        .build(),
                )
                .launch_permissions(
                    ec2::LaunchPermission::builder()
                        .organization_arn("arn:aws:organizations::123456789012:organization/o-abc")
                        .build(),
                )
                .launch_permissions(
                    ec2::LaunchPermission::builder()
                        .organizational_unit_arn(
                            "arn:aws:organizations::123456789012:ou/o-abc/ou-x",
                        )
                        .build(),
                )
                .build()
        });
    let modify = mock!(Ec2::modify_image_attribute)
        .match_requests(|r| {
            r.launch_permission().is_some_and(|m| {
                m.remove().len() == 1
                    && m.remove()[0].organization_arn().is_some()
                    && m.add().is_empty()
            })
        })
        .then_output(|| ModifyImageAttributeOutput::builder().build());
    let cloud = cloud(&[&describe, &modify]).await;
    let r = region("us-east-1");
    let got = cloud.launch_permissions(&r, &ami(1)).await.unwrap();
    assert_eq!(got.len(), 4);
    assert!(got.contains(&LaunchPermission::Public));
    assert!(got.contains(&LaunchPermission::Account("444455556666".parse().unwrap())));
    cloud
        .remove_launch_permissions(
            &r,
            &ami(1),
            &[LaunchPermission::Organization(
                "arn:aws:organizations::123456789012:organization/o-abc".into(),
            )],
        )
        .await
        .unwrap();
    cloud
        .add_launch_permissions(&r, &ami(1), &[])
        .await
        .unwrap();
    assert_eq!(modify.num_calls(), 1, "an empty change is not sent");
}

#[tokio::test(start_paused = true)]
async fn deregistering_deletes_the_snapshots_it_learnt_first() {
    let describe = mock!(Ec2::describe_images)
        .then_output(|| images_output([ec2_image(1, ec2::ImageState::Available)]));
    let deregister =
        mock!(Ec2::deregister_image).then_output(|| DeregisterImageOutput::builder().build());
    let delete = mock!(Ec2::delete_snapshot)
        .match_requests(|r| r.snapshot_id() == Some("snap-00000000000000001"))
        .sequence()
        .output(|| DeleteSnapshotOutput::builder().build())
        .error(|| ec2_error("InvalidSnapshot.NotFound", DeleteSnapshotError::generic))
        .build();
    let cloud = cloud(&[&describe, &deregister, &delete]).await;
    let r = region("us-east-1");
    cloud.deregister_image(&r, &ami(1), true).await.unwrap();
    // A repeat whose snapshot is already gone still succeeds.
    cloud.deregister_image(&r, &ami(1), true).await.unwrap();
    assert_eq!((deregister.num_calls(), delete.num_calls()), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn deregistering_a_missing_image_is_not_found() {
    let describe = mock!(Ec2::describe_images).then_output(|| images_output([]));
    let cloud = cloud(&[&describe]).await;
    let err = cloud
        .deregister_image(&region("us-east-1"), &ami(1), true)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn instance_types_are_asked_through_a_filter_and_unknown_ones_are_absent() {
    let rule = mock!(Ec2::describe_instance_types)
        .match_requests(|r| r.instance_types().is_empty())
        .then_compute_output(|r| {
            let asked = filter_values(r.filters(), "instance-type").unwrap_or_default();
            DescribeInstanceTypesOutput::builder()
                .set_instance_types(Some(
                    asked
                        .iter()
                        .filter(|t| t.as_str() != "m9z.large")
                        .map(|t| {
                            let arch = if t.starts_with("t4g") {
                                ec2::ArchitectureType::Arm64
                            } else {
                                ec2::ArchitectureType::X8664
                            };
                            ec2::InstanceTypeInfo::builder()
                                .instance_type(ec2::InstanceType::from(t.as_str()))
                                .processor_info(
                                    ec2::ProcessorInfo::builder()
                                        .supported_architectures(arch)
                                        .build(),
                                )
                                .build()
                        })
                        .collect(),
                ))
                .build()
        });
    let cloud = cloud(&[&rule]).await;
    let types: Vec<InstanceType> = ["t4g.micro", "m6i.large", "m9z.large"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let got = cloud
        .architectures(&region("us-east-1"), &types)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[&types[0]], vec![amiref_core::Architecture::Arm64]);
    assert_eq!(got[&types[1]], vec![amiref_core::Architecture::X86_64]);
}

#[tokio::test(start_paused = true)]
async fn the_caller_comes_from_sts() {
    let rule = mock!(Sts::get_caller_identity).then_output(|| {
        GetCallerIdentityOutput::builder()
            .account("123456789012")
            .arn("arn:aws:iam::123456789012:user/ci")
            .build()
    });
    let cloud = cloud(&[&rule]).await;
    let me = cloud.caller().await.unwrap();
    assert_eq!(me.account.as_str(), "123456789012");
    assert_eq!(me.arn, "arn:aws:iam::123456789012:user/ci");
}

// ---------------------------------------------------------------------------------------
// Marketplace Catalog

const DETAILS: &str = r#"{"ProductCode": "abc123code",
  "Description": {"ProductTitle": "Research Workstation"},
  "Versions": [{"VersionTitle": "1.2.0", "CreationDate": "2025-02-01T00:00:00Z",
                "Sources": [{"Type": "AmiSource", "Image": "ami-0123456789abcdef0"}]}]}"#;

#[tokio::test(start_paused = true)]
async fn a_product_is_found_by_its_code_among_the_sellers_products() {
    let list = mock!(Catalog::list_entities)
        .match_requests(|r| {
            r.catalog() == Some("AWSMarketplace") && r.entity_type() == Some("AmiProduct")
        })
        .then_output(|| {
            ListEntitiesOutput::builder()
                .entity_summary_list(
                    aws_sdk_marketplacecatalog::types::EntitySummary::builder()
                        .entity_id("prod-other")
                        .name("Other")
                        .build(),
                )
                .entity_summary_list(
                    aws_sdk_marketplacecatalog::types::EntitySummary::builder()
                        .entity_id("prod-ws")
                        .name("Workstation")
                        .build(),
                )
                .build()
        });
    let describe = mock!(Catalog::describe_entity).then_compute_output(|r| {
        let details = if r.entity_id() == Some("prod-ws") {
            DETAILS
        } else {
            r#"{"ProductCode": "someoneelse", "Versions": []}"#
        };
        DescribeEntityOutput::builder().details(details).build()
    });
    let cloud = cloud(&[&list, &describe]).await;
    let product = cloud.product("abc123code").await.unwrap();
    assert_eq!(product.product_id, "prod-ws");
    assert_eq!(product.title, "Research Workstation");
    assert_eq!(product.versions.len(), 1);
    assert_eq!(
        product.versions[0].images[&region("us-east-1")].as_str(),
        "ami-0123456789abcdef0"
    );
    let err = cloud.product("nosuchcode").await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn change_sets_are_submitted_with_their_token_and_followed() {
    let start = mock!(Catalog::start_change_set)
        .match_requests(|r| {
            r.client_request_token() == Some("token-1")
                && r.change_set().len() == 1
                && r.change_set()[0].change_type() == "AddDeliveryOptions"
                && r.change_set()[0].details() == Some(r#"{"Version":{"VersionTitle":"1.3.0"}}"#)
        })
        .sequence()
        .http_status(503, None)
        .output(|| {
            StartChangeSetOutput::builder()
                .change_set_id("cs-1")
                .build()
        })
        .build();
    let status = mock!(Catalog::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(aws_sdk_marketplacecatalog::types::ChangeStatus::Applying)
                .build()
        })
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(aws_sdk_marketplacecatalog::types::ChangeStatus::Failed)
                .failure_description("the AMI failed the scan")
                .build()
        })
        .build();
    let cloud = cloud(&[&start, &status]).await;
    let request: ChangeSetRequest = serde_json::from_value(serde_json::json!({
        "catalog": "AWSMarketplace",
        "change_set_name": "add 1.3.0",
        "client_request_token": "token-1",
        "changes": [{
            "change_type": "AddDeliveryOptions",
            "entity_type": "AmiProduct@1.0",
            "entity_id": "prod-ws",
            "details": {"Version": {"VersionTitle": "1.3.0"}}
        }]
    }))
    .unwrap();
    assert_eq!(cloud.start_change_set(&request).await.unwrap(), "cs-1");
    assert_eq!(start.num_calls(), 2, "the token makes the retry safe");
    use amiref_core::ChangeSetStatus;
    assert_eq!(
        cloud
            .change_set_status("AWSMarketplace", "cs-1")
            .await
            .unwrap(),
        ChangeSetStatus::Applying
    );
    assert_eq!(
        cloud
            .change_set_status("AWSMarketplace", "cs-1")
            .await
            .unwrap(),
        ChangeSetStatus::Failed("the AMI failed the scan".into())
    );
}

// ---------------------------------------------------------------------------------------
// Configuration

#[tokio::test(start_paused = true)]
async fn builder_overrides_region_and_endpoint_of_a_given_config() {
    let plain = AwsCloud::from_sdk_config(&sdk_config(create_mock_http_client()));
    assert_eq!(plain.home_region(), Some(&region("us-east-1")));
    assert_eq!(plain.endpoint_url(), None);
    let overridden = AwsCloud::builder()
        .sdk_config(sdk_config(create_mock_http_client()))
        .region(region("eu-central-1"))
        .endpoint_url("http://127.0.0.1:4566")
        .build()
        .await;
    assert_eq!(overridden.home_region(), Some(&region("eu-central-1")));
    assert_eq!(overridden.endpoint_url(), Some("http://127.0.0.1:4566"));
    let shown = format!("{overridden:?}");
    assert!(
        shown.contains("eu-central-1") && !shown.contains("wJalrXUtnFEMI"),
        "{shown}"
    );
}

#[tokio::test(start_paused = true)]
async fn usage_lists_live_instances_and_launch_templates() {
    let instances = mock!(Ec2::describe_instances)
        .match_requests(|r| {
            filter_values(r.filters(), "image-id") == Some(&[ami(1).as_str().to_owned()][..])
                && filter_values(r.filters(), "instance-state-name").is_some_and(|s| {
                    s.contains(&"stopped".to_owned()) && !s.contains(&"terminated".to_owned())
                })
        })
        .then_output(|| {
            DescribeInstancesOutput::builder()
                .reservations(
                    ec2::Reservation::builder()
                        .instances(
                            ec2::Instance::builder()
                                .instance_id("i-0123456789abcdef0")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let templates = mock!(Ec2::describe_launch_template_versions)
        .match_requests(|r| {
            r.versions() == ["$Latest".to_owned(), "$Default".to_owned()]
                && r.launch_template_id().is_none()
                && filter_values(r.filters(), "image-id").is_some()
        })
        .then_output(|| {
            // $Latest and $Default of one template are the same version: named once.
            let version = || {
                ec2::LaunchTemplateVersion::builder()
                    .launch_template_name("hpc-workstation")
                    .build()
            };
            DescribeLaunchTemplateVersionsOutput::builder()
                .launch_template_versions(version())
                .launch_template_versions(version())
                .build()
        });
    let cloud = cloud(&[&instances, &templates]).await;
    let usage = cloud
        .image_usage(&region("us-east-1"), &ami(1))
        .await
        .unwrap();
    assert_eq!(usage.instances.len(), 1);
    assert_eq!(usage.launch_templates, vec!["hpc-workstation".to_owned()]);
    assert!(!usage.is_unused());
}

#[tokio::test(start_paused = true)]
async fn a_product_entity_id_is_described_directly() {
    let describe = mock!(Catalog::describe_entity)
        .match_requests(|r| r.entity_id() == Some("prod-ws"))
        .then_output(|| DescribeEntityOutput::builder().details(DETAILS).build());
    let cloud = cloud(&[&describe]).await;
    let product = cloud.product("prod-ws").await.unwrap();
    assert_eq!(product.product_id, "prod-ws");
    assert_eq!(product.product_code, "abc123code");
    assert_eq!(describe.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------
// Billing products and Allowed AMIs on images

fn billed(n: u64, usage: &str, platform: &str) -> ec2::Image {
    let mut image = ec2_image(n, ec2::ImageState::Available);
    image.usage_operation = Some(usage.to_owned());
    image.platform_details = Some(platform.to_owned());
    image
}

#[tokio::test(start_paused = true)]
async fn billing_products_come_from_usage_operation_and_platform_details() {
    let rule = mock!(Ec2::describe_images).then_output(|| {
        images_output([
            billed(1, "RunInstances", "Linux/UNIX"),
            billed(2, "RunInstances:0010", "Red Hat Enterprise Linux"),
            billed(3, "RunInstances:0002", "Windows"),
            billed(4, "RunInstances:0006", "Windows with SQL Server Standard"),
            // Ubuntu Pro: a plain usage operation but another platform.
            billed(5, "RunInstances:0g00", "Ubuntu Pro"),
            ec2_image(6, ec2::ImageState::Available),
        ])
    });
    let cloud = cloud(&[&rule]).await;
    let images = cloud
        .describe_images(&region("us-east-1"), &(1..=6).map(ami).collect::<Vec<_>>())
        .await
        .unwrap();
    let by_id: BTreeMap<AmiId, &amiref_core::Image> =
        images.iter().map(|i| (i.id.clone(), i)).collect();
    let plain = by_id[&ami(1)];
    assert_eq!(plain.usage_operation.as_deref(), Some("RunInstances"));
    assert_eq!(plain.platform_details.as_deref(), Some("Linux/UNIX"));
    assert!(!plain.has_billing_product());
    let rhel = by_id[&ami(2)];
    assert_eq!(rhel.usage_operation.as_deref(), Some("RunInstances:0010"));
    assert_eq!(
        rhel.platform_details.as_deref(),
        Some("Red Hat Enterprise Linux")
    );
    for n in 2..=5 {
        assert!(by_id[&ami(n)].has_billing_product(), "image {n}");
    }
    let unknown = by_id[&ami(6)];
    assert_eq!(
        (
            unknown.usage_operation.as_deref(),
            unknown.platform_details.as_deref()
        ),
        (None, None),
        "not reported stays unknown"
    );
    assert!(!unknown.has_billing_product());
}

fn allowed_settings(state: &'static str) -> GetAllowedImagesSettingsOutput {
    let amazon_al2023 = ec2::ImageCriterion::builder()
        .image_providers("amazon")
        .image_names("al2023-ami-*")
        .creation_date_condition(
            ec2::CreationDateCondition::builder()
                .maximum_days_since_created(365)
                .build(),
        )
        .deprecation_time_condition(
            ec2::DeprecationTimeCondition::builder()
                .maximum_days_since_deprecated(0)
                .build(),
        )
        .build();
    let community = ec2::ImageCriterion::builder()
        .image_providers("111122223333")
        .build();
    let marketplace = ec2::ImageCriterion::builder()
        .image_providers("aws-marketplace")
        .marketplace_product_codes("abc123code")
        .build();
    let out = GetAllowedImagesSettingsOutput::builder().state(state);
    if state == "disabled" {
        return out.build();
    }
    out.image_criteria(amazon_al2023)
        .image_criteria(community)
        .image_criteria(marketplace)
        .managed_by(ec2::ManagedBy::Account)
        .build()
}

fn owned_image(n: u64, owner: &str, alias: Option<&str>, name: &str) -> amiref_core::Image {
    let mut i = amiref_core::Image::new(
        ami(n),
        region("us-east-1"),
        name,
        owner.parse().unwrap(),
        amiref_core::Architecture::X86_64,
        chrono::Utc::now() - chrono::Duration::days(10),
    );
    i.owner_alias = alias.map(str::to_owned);
    i
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_enabled_reads_every_criterion() {
    let rule = mock!(Ec2::get_allowed_images_settings).then_output(|| allowed_settings("enabled"));
    let cloud = cloud(&[&rule]).await;
    let settings = cloud
        .allowed_images_settings(&region("eu-west-1"))
        .await
        .unwrap();
    assert_eq!(settings.state, AllowedImagesState::Enabled);
    assert!(settings.restricts());
    assert_eq!(settings.managed_by.as_deref(), Some("account"));
    assert_eq!(settings.criteria.len(), 3);
    let first = &settings.criteria[0];
    assert_eq!(first.image_providers, ["amazon"]);
    assert_eq!(first.image_names, ["al2023-ami-*"]);
    assert_eq!(first.maximum_days_since_created, Some(365));
    assert_eq!(first.maximum_days_since_deprecated, Some(0));
    assert_eq!(
        settings.criteria[2].marketplace_product_codes,
        ["abc123code"]
    );
    // The criteria read from EC2 decide as EC2 does.
    let now = chrono::Utc::now();
    let me: amiref_core::AccountId = "123456789012".parse().unwrap();
    let al2023 = owned_image(
        1,
        "137112412989",
        Some("amazon"),
        "al2023-ami-2023.9-x86_64",
    );
    let ubuntu = owned_image(2, "099720109477", None, "ubuntu-24.04");
    let community = owned_image(3, "111122223333", None, "cws-python-ml-2.1.0");
    let mine = owned_image(4, "123456789012", None, "anything");
    assert!(settings.allows(&al2023, Some(&me), now));
    assert!(!settings.allows(&ubuntu, Some(&me), now));
    assert!(settings.allows(&community, Some(&me), now));
    assert!(
        settings.allows(&mine, Some(&me), now),
        "own images are never restricted"
    );
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_in_audit_mode_restricts_nothing_and_images_say_whether_allowed() {
    let settings_rule =
        mock!(Ec2::get_allowed_images_settings).then_output(|| allowed_settings("audit-mode"));
    let images_rule = mock!(Ec2::describe_images).then_output(|| {
        let mut allowed = ec2_image(1, ec2::ImageState::Available);
        allowed.image_allowed = Some(true);
        let mut not_allowed = ec2_image(2, ec2::ImageState::Available);
        not_allowed.image_allowed = Some(false);
        images_output([allowed, not_allowed])
    });
    let cloud = cloud(&[&settings_rule, &images_rule]).await;
    let r = region("us-east-1");
    let settings = cloud.allowed_images_settings(&r).await.unwrap();
    assert_eq!(settings.state, AllowedImagesState::AuditMode);
    assert!(!settings.restricts());
    assert_eq!(settings.criteria.len(), 3, "audit mode keeps its criteria");
    let images = cloud.describe_images(&r, &[ami(1), ami(2)]).await.unwrap();
    let flags: BTreeMap<AmiId, Option<bool>> = images
        .iter()
        .map(|i| (i.id.clone(), i.image_allowed))
        .collect();
    assert_eq!(flags[&ami(1)], Some(true));
    assert_eq!(flags[&ami(2)], Some(false));
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_disabled_has_no_criteria() {
    let rule = mock!(Ec2::get_allowed_images_settings).then_output(|| allowed_settings("disabled"));
    let cloud = cloud(&[&rule]).await;
    let settings = cloud
        .allowed_images_settings(&region("us-east-1"))
        .await
        .unwrap();
    assert_eq!(settings.state, AllowedImagesState::Disabled);
    assert!(!settings.restricts());
    assert!(settings.criteria.is_empty());
    assert_eq!(settings.managed_by, None);
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_where_ec2_lacks_the_operation_is_not_permitted_never_disabled() {
    for code in ["InvalidAction", "UnsupportedOperation"] {
        let rule = mock!(Ec2::get_allowed_images_settings)
            .then_error(move || ec2_error(code, GetAllowedImagesSettingsError::generic));
        let unsupported = cloud(&[&rule]).await;
        let err = unsupported
            .allowed_images_settings(&region("us-gov-west-1"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::NotPermitted, "{code}: {err}");
        assert_eq!(err.code.as_deref(), Some(code));
        assert_eq!(err.operation, "GetAllowedImagesSettings");
        assert_eq!(err.region, Some(region("us-gov-west-1")));
        assert!(err.message.contains("Allowed AMIs"), "{err}");
        assert_eq!(rule.num_calls(), 1, "{code} is not retried");
    }
    // A caller without ec2:GetAllowedImagesSettings is denied, not "unsupported".
    let denied = mock!(Ec2::get_allowed_images_settings).then_error(|| {
        ec2_error(
            "UnauthorizedOperation",
            GetAllowedImagesSettingsError::generic,
        )
    });
    let denying = cloud(&[&denied]).await;
    let err = denying
        .allowed_images_settings(&region("us-east-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::AccessDenied);
    // moto's HTML 500 for an unimplemented operation: sent once (the setting is advisory to a
    // resolution, which must not wait on retries), then unavailable.
    let broken = mock!(Ec2::get_allowed_images_settings)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let failing = cloud(&[&broken]).await;
    let err = failing
        .allowed_images_settings(&region("us-east-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Unavailable);
    assert_eq!(broken.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------
// Snapshot access (DescribeSnapshots)

fn snap(n: u64) -> SnapshotId {
    SnapshotId::new(format!("snap-{n:017x}")).unwrap()
}

fn ec2_snapshot(id: &str, owner: &str) -> ec2::Snapshot {
    ec2::Snapshot::builder()
        .snapshot_id(id)
        .owner_id(owner)
        .state(ec2::SnapshotState::Completed)
        .build()
}

/// DescribeSnapshots as EC2 answers account 123456789012: its own snapshots, public ones and
/// those shared with it; never another account's private snapshot.
fn snapshots_visible_to_me() -> Rule {
    mock!(Ec2::describe_snapshots)
        .match_requests(|r| {
            r.snapshot_ids().is_empty()
                && r.owner_ids().is_empty()
                && r.restorable_by_user_ids().is_empty()
                && r.max_results() == Some(1000)
                && filter_values(r.filters(), "snapshot-id").is_some_and(|v| v.len() <= 200)
        })
        .then_compute_output(|r| {
            let asked = filter_values(r.filters(), "snapshot-id").unwrap_or_default();
            let visible: BTreeMap<String, &str> = [
                (snap(1), "123456789012"), // owned
                (snap(2), "444455556666"), // shared with create-volume permission
                (snap(4), "137112412989"), // public (group all)
            ]
            .into_iter()
            .map(|(s, owner)| (s.as_str().to_owned(), owner))
            .collect();
            DescribeSnapshotsOutput::builder()
                .set_snapshots(Some(
                    asked
                        .iter()
                        .filter_map(|id| visible.get(id).map(|owner| ec2_snapshot(id, owner)))
                        .collect(),
                ))
                .build()
        })
}

#[tokio::test(start_paused = true)]
async fn snapshot_access_is_what_describe_snapshots_shows_the_caller() {
    let shape = snapshots_visible_to_me();
    // The image a partner shared: its first snapshot is shared with us, its second is not.
    let image = mock!(Ec2::describe_images).then_output(|| {
        let mut shared = ec2_image(7, ec2::ImageState::Available);
        shared.owner_id = Some("444455556666".into());
        shared.block_device_mappings = Some(
            [snap(2), snap(3)]
                .iter()
                .enumerate()
                .map(|(n, s)| {
                    ec2::BlockDeviceMapping::builder()
                        .device_name(format!("/dev/xvd{}", ['a', 'b'][n]))
                        .ebs(
                            ec2::EbsBlockDevice::builder()
                                .snapshot_id(s.as_str())
                                .build(),
                        )
                        .build()
                })
                .collect(),
        );
        images_output([shared])
    });
    let cloud = cloud(&[&shape, &image]).await;
    let r = region("us-east-1");
    let got = cloud
        .can_create_volumes(&r, &[snap(1), snap(2), snap(3), snap(4), snap(1)])
        .await
        .unwrap();
    assert_eq!(
        got,
        BTreeMap::from([
            (snap(1), true),  // owned
            (snap(2), true),  // shared with permission
            (snap(3), false), // shared image, snapshot not shared
            (snap(4), true),  // public
        ])
    );
    assert_eq!(
        shape.num_calls(),
        1,
        "one batched call, duplicates asked once"
    );
    let shared = cloud.describe_images(&r, &[ami(7)]).await.unwrap();
    let snapshots: Vec<SnapshotId> = shared[0].snapshot_ids().cloned().collect();
    let access = cloud.can_create_volumes(&r, &snapshots).await.unwrap();
    assert!(
        !access.values().all(|ok| *ok),
        "a copy of this shared image would fail: {access:?}"
    );
    assert!(cloud.can_create_volumes(&r, &[]).await.unwrap().is_empty());
    assert_eq!(shape.num_calls(), 2, "nothing asked, nothing sent");
}

#[tokio::test(start_paused = true)]
async fn snapshot_access_goes_in_batches_and_keeps_error_meaning() {
    let shape = snapshots_visible_to_me();
    let batched = cloud(&[&shape]).await;
    let many: Vec<SnapshotId> = (1..=450).map(snap).collect();
    let got = batched
        .can_create_volumes(&region("us-east-1"), &many)
        .await
        .unwrap();
    assert_eq!(got.len(), 450, "every asked snapshot is answered");
    assert_eq!(got.values().filter(|ok| **ok).count(), 3);
    assert_eq!(shape.num_calls(), 3, "450 ids in batches of at most 200");

    let denied = mock!(Ec2::describe_snapshots)
        .then_error(|| ec2_error("UnauthorizedOperation", DescribeSnapshotsError::generic));
    let denying = cloud(&[&denied]).await;
    let err = denying
        .can_create_volumes(&region("eu-west-1"), &[snap(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::AccessDenied);
    assert_eq!(err.operation, "DescribeSnapshots");
    assert_eq!(err.region, Some(region("eu-west-1")));
}

// ---------------------------------------------------------------------------------------
// Instance type offerings

fn offering(name: &str) -> ec2::InstanceTypeOffering {
    ec2::InstanceTypeOffering::builder()
        .instance_type(ec2::InstanceType::from(name))
        .location_type(ec2::LocationType::Region)
        .location("us-east-1")
        .build()
}

#[tokio::test(start_paused = true)]
async fn offerings_read_every_page_and_only_asked_types() {
    let shape = mock!(Ec2::describe_instance_type_offerings)
        .match_requests(|r| {
            !(r.location_type() == Some(&ec2::LocationType::Region)
                && r.max_results() == Some(1000)
                && filter_values(r.filters(), "instance-type").is_some_and(|v| v.len() <= 100))
        })
        .then_error(|| {
            ec2_error(
                "InvalidParameterValue",
                aws_sdk_ec2::operation::describe_instance_type_offerings::DescribeInstanceTypeOfferingsError::generic,
            )
        });
    let first = mock!(Ec2::describe_instance_type_offerings)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeInstanceTypeOfferingsOutput::builder()
                .instance_type_offerings(offering("m6i.large"))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Ec2::describe_instance_type_offerings)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeInstanceTypeOfferingsOutput::builder()
                .instance_type_offerings(offering("t4g.micro"))
                // A type nobody asked for (a server that ignores the filter) is left out.
                .instance_type_offerings(offering("x2iedn.32xlarge"))
                .build()
        });
    let cloud = cloud(&[&shape, &first, &second]).await;
    let asked: Vec<InstanceType> = ["m6i.large", "t4g.micro", "m7g.large", "m6i.large"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let got = cloud
        .offered_instance_types(&region("us-east-1"), &asked)
        .await
        .unwrap();
    let want: std::collections::BTreeSet<InstanceType> = ["m6i.large", "t4g.micro"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(got, want, "m7g.large is not offered in the region");
    assert_eq!(
        shape.num_calls(),
        0,
        "every request had the filter and page size"
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn offerings_of_many_types_go_in_batches() {
    let rule = mock!(Ec2::describe_instance_type_offerings).then_compute_output(|r| {
        let asked = filter_values(r.filters(), "instance-type").unwrap_or_default();
        DescribeInstanceTypeOfferingsOutput::builder()
            .set_instance_type_offerings(Some(asked.iter().map(|t| offering(t)).collect()))
            .build()
    });
    let cloud = cloud(&[&rule]).await;
    let many: Vec<InstanceType> = (1..=150)
        .map(|n| format!("m{n}.large").parse().unwrap())
        .collect();
    let got = cloud
        .offered_instance_types(&region("us-east-1"), &many)
        .await
        .unwrap();
    assert_eq!(got.len(), 150);
    assert_eq!(rule.num_calls(), 2, "150 types in batches of at most 100");
    assert!(
        cloud
            .offered_instance_types(&region("us-east-1"), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(rule.num_calls(), 2, "nothing asked, nothing sent");
}

// ---------------------------------------------------------------------------------------
// SSM parameters

fn parameter_name(text: &str) -> ParameterName {
    ParameterName::new(text).unwrap()
}

/// GetParameters as SSM answers: at most ten names a call (more is a ValidationException),
/// names containing "missing" come back as InvalidParameters.
fn ssm_parameters() -> Rule {
    mock!(Ssm::get_parameters).then_compute_output(|r| {
        assert!(r.names().len() <= 10, "SSM takes at most 10 names");
        assert_eq!(r.with_decryption(), Some(false));
        let mut out = GetParametersOutput::builder();
        for name in r.names() {
            if name.contains("missing") {
                out = out.invalid_parameters(name);
            } else {
                out = out.parameters(
                    aws_sdk_ssm::types::Parameter::builder()
                        .name(name)
                        .r#type(aws_sdk_ssm::types::ParameterType::String)
                        .value(format!("ami-{:017x}", name.len()))
                        .data_type("aws:ec2:image")
                        .version(3)
                        .build(),
                );
            }
        }
        out.build()
    })
}

#[tokio::test(start_paused = true)]
async fn parameters_go_in_batches_of_ten_and_invalid_names_are_absent() {
    let rule = ssm_parameters();
    let cloud = cloud(&[&rule]).await;
    let mut names: Vec<ParameterName> = (0..22)
        .map(|n| parameter_name(&format!("/golden/python-ml/v{n}/x86_64")))
        .collect();
    names.extend((0..3).map(|n| parameter_name(&format!("/golden/missing-{n}"))));
    names.push(parameter_name("/golden/python-ml/v0/x86_64")); // asked twice, sent once
    let got = cloud
        .get_parameters(&region("eu-west-1"), &names)
        .await
        .unwrap();
    assert_eq!(got.len(), 22, "the three missing names are absent");
    assert_eq!(rule.num_calls(), 3, "25 distinct names: 10 + 10 + 5");
    let first = &got[&parameter_name("/golden/python-ml/v0/x86_64")];
    assert_eq!(first.data_type.as_deref(), Some("aws:ec2:image"));
    assert_eq!(first.version, 3);
    assert!(first.value.starts_with("ami-"));
    assert!(
        cloud
            .get_parameters(&region("eu-west-1"), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(rule.num_calls(), 3, "nothing asked, nothing sent");
}

#[tokio::test(start_paused = true)]
async fn parameters_use_one_client_per_region_and_keep_error_meaning() {
    let rule = ssm_parameters();
    let regional = cloud(&[&rule]).await;
    let name =
        parameter_name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
    for code in ["us-east-1", "eu-west-1", "us-east-1"] {
        let got = regional
            .get_parameters(&region(code), std::slice::from_ref(&name))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
    }
    assert_eq!(regional.ssm_client_count(), 2);

    let throttled = mock!(Ssm::get_parameters)
        .sequence()
        .error(|| ec2_error("ThrottlingException", GetParametersError::generic))
        .output(|| GetParametersOutput::builder().build())
        .build();
    let retrying = cloud_with(&[&throttled], None).await;
    let got = retrying
        .get_parameters(&region("us-east-1"), std::slice::from_ref(&name))
        .await
        .unwrap();
    assert!(got.is_empty());
    assert_eq!(throttled.num_calls(), 2, "throttling is retried");

    let denied = mock!(Ssm::get_parameters)
        .then_error(|| ec2_error("AccessDeniedException", GetParametersError::generic));
    let denying = cloud_with(&[&denied], None).await;
    let err = denying
        .get_parameters(&region("ap-south-1"), std::slice::from_ref(&name))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::AccessDenied);
    assert_eq!(err.operation, "GetParameters");
    assert_eq!(err.region, Some(region("ap-south-1")));
    assert_eq!(denied.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------
// The build's calls: instance control and the serial console, security groups, parameter
// writes and history, and the launch options a builder needs

fn instance_id(n: u64) -> InstanceId {
    InstanceId::new(format!("i-{n:017x}")).unwrap()
}

fn group_id(n: u64) -> SecurityGroupId {
    SecurityGroupId::new(format!("sg-{n:017x}")).unwrap()
}

fn ids_of(ids: &[String]) -> Vec<String> {
    ids.to_vec()
}

#[tokio::test(start_paused = true)]
async fn stop_and_terminate_send_every_id_and_nothing_for_none() {
    let want = vec![instance_id(1).to_string(), instance_id(2).to_string()];
    let (stop_want, end_want) = (want.clone(), want.clone());
    let stop = mock!(Ec2::stop_instances)
        .match_requests(move |r| ids_of(r.instance_ids()) == stop_want && r.force().is_none())
        .then_output(|| StopInstancesOutput::builder().build());
    let terminate = mock!(Ec2::terminate_instances)
        .match_requests(move |r| ids_of(r.instance_ids()) == end_want)
        .then_output(|| TerminateInstancesOutput::builder().build());
    let cloud = cloud(&[&stop, &terminate]).await;
    let r = region("us-east-1");
    let both = [instance_id(1), instance_id(2)];
    cloud.stop_instances(&r, &both).await.unwrap();
    cloud.terminate_instances(&r, &both).await.unwrap();
    cloud.stop_instances(&r, &[]).await.unwrap();
    cloud.terminate_instances(&r, &[]).await.unwrap();
    assert_eq!(
        (stop.num_calls(), terminate.num_calls()),
        (1, 1),
        "no ids, no call"
    );
}

#[tokio::test(start_paused = true)]
async fn stopping_and_terminating_keep_error_meaning() {
    let unknown = mock!(Ec2::terminate_instances).then_error(|| {
        ec2_error(
            "InvalidInstanceID.NotFound",
            TerminateInstancesError::generic,
        )
    });
    let throttled = mock!(Ec2::stop_instances)
        .sequence()
        .error(|| ec2_error("RequestLimitExceeded", StopInstancesError::generic))
        .repeatedly()
        .build();
    let cloud = cloud(&[&unknown, &throttled]).await;
    // A region no timed test uses: the SDK's adaptive rate limiter, which throttling
    // slows, is shared by every client of a service and region in the process.
    let r = region("ca-central-1");
    let err = cloud
        .terminate_instances(&r, &[instance_id(9)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("InvalidInstanceID.NotFound"));
    assert_eq!(err.operation, "TerminateInstances");
    assert_eq!(err.region, Some(r.clone()));
    let err = cloud
        .stop_instances(&r, &[instance_id(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    assert_eq!(err.operation, "StopInstances");
    assert_eq!(throttled.num_calls(), 4, "stopping is idempotent: retried");
}

/// The serial console as EC2 sends it: base64 of the bytes.
fn console(text: &str) -> GetConsoleOutputOutput {
    use base64::Engine as _;
    GetConsoleOutputOutput::builder()
        .instance_id(instance_id(1).as_str())
        .output(base64::engine::general_purpose::STANDARD.encode(text))
        .timestamp(aws_smithy_types::DateTime::from_secs(1_796_000_000))
        .build()
}

#[tokio::test(start_paused = true)]
async fn console_output_is_the_latest_decoded() {
    let marker = "cloud-init: done\nAMIREF-BUILD-DONE build=b1 stage=provision status=0\n";
    let rule = mock!(Ec2::get_console_output)
        .match_requests(|r| {
            r.latest() == Some(true) && r.instance_id() == Some(instance_id(1).as_str())
        })
        .then_output(move || console(marker));
    let cloud = cloud(&[&rule]).await;
    let out = cloud
        .console_output(&region("us-east-1"), &instance_id(1))
        .await
        .unwrap();
    assert_eq!(out.text.as_deref(), Some(marker));
    assert_eq!(out.timestamp.map(|t| t.timestamp()), Some(1_796_000_000));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn console_output_falls_back_to_the_buffered_one_where_latest_is_unsupported() {
    let latest = mock!(Ec2::get_console_output)
        .match_requests(|r| r.latest() == Some(true))
        .then_error(|| ec2_error("UnsupportedOperation", GetConsoleOutputError::generic));
    let buffered = mock!(Ec2::get_console_output)
        .match_requests(|r| r.latest() == Some(false))
        .then_output(|| console("buffered boot log\n"));
    let cloud = cloud(&[&latest, &buffered]).await;
    let out = cloud
        .console_output(&region("us-east-1"), &instance_id(1))
        .await
        .unwrap();
    assert_eq!(out.text.as_deref(), Some("buffered boot log\n"));
    assert_eq!((latest.num_calls(), buffered.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn console_output_before_any_output_is_none_and_an_unknown_instance_not_found() {
    let empty = mock!(Ec2::get_console_output)
        .match_requests(|r| r.instance_id() == Some(instance_id(1).as_str()))
        .then_output(|| {
            GetConsoleOutputOutput::builder()
                .instance_id(instance_id(1).as_str())
                .build()
        });
    let unknown = mock!(Ec2::get_console_output)
        .match_requests(|r| r.instance_id() == Some(instance_id(2).as_str()))
        .then_error(|| ec2_error("InvalidInstanceID.NotFound", GetConsoleOutputError::generic));
    let cloud = cloud(&[&empty, &unknown]).await;
    let r = region("us-east-1");
    let out = cloud.console_output(&r, &instance_id(1)).await.unwrap();
    assert_eq!(out.text, None);
    let err = cloud.console_output(&r, &instance_id(2)).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.operation, "GetConsoleOutput");
    assert_eq!(
        unknown.num_calls(),
        1,
        "no fallback for an unknown instance"
    );
}

#[tokio::test(start_paused = true)]
async fn run_instances_requires_imdsv2_and_sends_network_and_profile() {
    let arn = "arn:aws:iam::123456789012:instance-profile/amiref-builder";
    let hardened = mock!(Ec2::run_instances)
        .match_requests(move |r| {
            let imds = r.metadata_options();
            imds.and_then(|m| m.http_tokens()) == Some(&ec2::HttpTokensState::Required)
                && imds.and_then(|m| m.http_endpoint())
                    == Some(&ec2::InstanceMetadataEndpointState::Enabled)
                && r.subnet_id() == Some("subnet-0123456789abcdef0")
                && r.security_group_ids() == [group_id(1).to_string(), group_id(2).to_string()]
                && r.iam_instance_profile().and_then(|p| p.arn()) == Some(arn)
                && r.iam_instance_profile().and_then(|p| p.name()).is_none()
        })
        .then_output(|| {
            RunInstancesOutput::builder()
                .instances(
                    ec2::Instance::builder()
                        .instance_id("i-0000000000000000a")
                        .build(),
                )
                .build()
        });
    let plain = mock!(Ec2::run_instances)
        .match_requests(|r| {
            r.metadata_options().is_none()
                && r.subnet_id().is_none()
                && r.security_group_ids().is_empty()
                && r.iam_instance_profile().and_then(|p| p.name()) == Some("amiref-builder")
        })
        .then_output(|| {
            RunInstancesOutput::builder()
                .instances(
                    ec2::Instance::builder()
                        .instance_id("i-0000000000000000b")
                        .build(),
                )
                .build()
        });
    let cloud = cloud(&[&hardened, &plain]).await;
    let r = region("us-east-1");
    let mut request = RunInstanceRequest::new(ami(1), "t3.micro".parse().unwrap());
    request.require_imdsv2 = true;
    request.subnet = Some(SubnetId::new("subnet-0123456789abcdef0").unwrap());
    request.security_groups = vec![group_id(1), group_id(2)];
    request.instance_profile = Some(arn.to_owned());
    assert_eq!(
        cloud.run_instance(&r, &request).await.unwrap().as_str(),
        "i-0000000000000000a"
    );
    let mut request = RunInstanceRequest::new(ami(1), "t3.micro".parse().unwrap());
    request.instance_profile = Some("amiref-builder".to_owned());
    assert_eq!(
        cloud.run_instance(&r, &request).await.unwrap().as_str(),
        "i-0000000000000000b"
    );
    assert_eq!((hardened.num_calls(), plain.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn instances_are_described_by_their_tags() {
    let rule = mock!(Ec2::describe_instances)
        .match_requests(|r| {
            let f = r.filters();
            filter_values(f, "tag:amiref:build-id") == Some(&["b1".to_owned()][..])
                && filter_values(f, "tag-key") == Some(&["amiref:build-role".to_owned()][..])
        })
        .then_output(|| {
            let instance = |n: u64, build: &str| {
                ec2::Instance::builder()
                    .instance_id(instance_id(n).as_str())
                    .image_id(ami(1).as_str())
                    .instance_type(ec2::InstanceType::T3Micro)
                    .launch_time(aws_smithy_types::DateTime::from_secs(1_796_000_000))
                    .state(
                        ec2::InstanceState::builder()
                            .name(ec2::InstanceStateName::Running)
                            .build(),
                    )
                    .tags(
                        ec2::Tag::builder()
                            .key("amiref:build-id")
                            .value(build)
                            .build(),
                    )
                    .tags(
                        ec2::Tag::builder()
                            .key("amiref:build-role")
                            .value("builder")
                            .build(),
                    )
                    .build()
            };
            DescribeInstancesOutput::builder()
                .reservations(
                    ec2::Reservation::builder()
                        .instances(instance(2, "b1"))
                        .instances(instance(1, "b1"))
                        // A server that ignored the filters: left out on our side.
                        .instances(instance(3, "b2"))
                        .build(),
                )
                .build()
        });
    let cloud = cloud(&[&rule]).await;
    let filter = InstanceFilter::all()
        .tag("amiref:build-id", Some("b1".to_owned()))
        .tag("amiref:build-role", None);
    let found = cloud
        .describe_instances(&region("us-east-1"), &filter)
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [instance_id(1).as_str(), instance_id(2).as_str()]);
}

#[tokio::test(start_paused = true)]
async fn security_groups_are_created_tagged_in_their_vpc() {
    let rule = mock!(Ec2::create_security_group)
        .match_requests(|r| {
            r.group_name() == Some("amiref-build-b1")
                && r.description() == Some("amiref build b1")
                && r.vpc_id() == Some("vpc-0123456789abcdef0")
                && r.tag_specifications().iter().any(|t| {
                    t.resource_type() == Some(&ec2::ResourceType::SecurityGroup)
                        && t.tags().iter().any(|tag| {
                            tag.key() == Some("amiref:build-id") && tag.value() == Some("b1")
                        })
                })
        })
        .then_output(|| {
            CreateSecurityGroupOutput::builder()
                .group_id(group_id(7).as_str())
                .build()
        });
    let cloud = cloud(&[&rule]).await;
    let mut request = SecurityGroupRequest::new("amiref-build-b1", "amiref build b1");
    request.vpc = Some(VpcId::new("vpc-0123456789abcdef0").unwrap());
    request.tags.insert("amiref:build-id".into(), "b1".into());
    let id = cloud
        .create_security_group(&region("us-east-1"), &request)
        .await
        .unwrap();
    assert_eq!(id, group_id(7));
}

#[tokio::test(start_paused = true)]
async fn a_taken_group_name_is_an_invalid_request_and_is_not_retried() {
    let rule = mock!(Ec2::create_security_group)
        .then_error(|| ec2_error("InvalidGroup.Duplicate", CreateSecurityGroupError::generic));
    let cloud = cloud(&[&rule]).await;
    let err = cloud
        .create_security_group(
            &region("us-east-1"),
            &SecurityGroupRequest::new("amiref-build-b1", "amiref build b1"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    assert_eq!(err.code.as_deref(), Some("InvalidGroup.Duplicate"));
    assert_eq!(err.operation, "CreateSecurityGroup");
    assert_eq!(rule.num_calls(), 1);
}

fn ec2_group(n: u64, build: &str) -> ec2::SecurityGroup {
    ec2::SecurityGroup::builder()
        .group_id(group_id(n).as_str())
        .group_name(format!("amiref-build-{n}"))
        .vpc_id("vpc-0123456789abcdef0")
        .tags(
            ec2::Tag::builder()
                .key("amiref:build-id")
                .value(build)
                .build(),
        )
        .tags(
            ec2::Tag::builder()
                .key("amiref:expires")
                .value("2026-12-01T18:00:00Z")
                .build(),
        )
        .build()
}

#[tokio::test(start_paused = true)]
async fn security_groups_are_found_by_tag_across_pages() {
    let tagged =
        |r: &aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsInput| {
            filter_values(r.filters(), "tag:amiref:build-id") == Some(&["b1".to_owned()][..])
                && filter_values(r.filters(), "tag-key") == Some(&["amiref:expires".to_owned()][..])
                && r.max_results() == Some(1000)
        };
    let first = mock!(Ec2::describe_security_groups)
        .match_requests(move |r| tagged(r) && r.next_token().is_none())
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(ec2_group(3, "b1"))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Ec2::describe_security_groups)
        .match_requests(move |r| tagged(r) && r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(ec2_group(1, "b1"))
                // A server that ignored the filters: left out on our side.
                .security_groups(ec2_group(2, "b2"))
                .build()
        });
    let untagged = mock!(Ec2::describe_security_groups)
        .match_requests(|r| r.filters().is_empty())
        .then_output(|| {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(ec2_group(2, "b2"))
                .build()
        });
    let cloud = cloud(&[&first, &second, &untagged]).await;
    let r = region("us-east-1");
    let wanted = BTreeMap::from([
        ("amiref:build-id".to_owned(), Some("b1".to_owned())),
        ("amiref:expires".to_owned(), None),
    ]);
    let found = cloud.describe_security_groups(&r, &wanted).await.unwrap();
    let ids: Vec<&SecurityGroupId> = found.iter().map(|g| &g.id).collect();
    assert_eq!(
        ids,
        [&group_id(1), &group_id(3)],
        "every page, sorted by id"
    );
    assert_eq!(
        found[0].vpc,
        Some(VpcId::new("vpc-0123456789abcdef0").unwrap())
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    let all = cloud
        .describe_security_groups(&r, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "no tags asked: no filter sent");
}

#[tokio::test(start_paused = true)]
async fn deleting_a_group_in_use_is_an_invalid_request_and_an_unknown_one_not_found() {
    let in_use = mock!(Ec2::delete_security_group)
        .match_requests(|r| r.group_id() == Some(group_id(1).as_str()))
        .then_error(|| ec2_error("DependencyViolation", DeleteSecurityGroupError::generic));
    let unknown = mock!(Ec2::delete_security_group)
        .match_requests(|r| r.group_id() == Some(group_id(2).as_str()))
        .then_error(|| ec2_error("InvalidGroup.NotFound", DeleteSecurityGroupError::generic));
    let deleted = mock!(Ec2::delete_security_group)
        .match_requests(|r| r.group_id() == Some(group_id(3).as_str()))
        .then_output(|| DeleteSecurityGroupOutput::builder().build());
    let cloud = cloud(&[&in_use, &unknown, &deleted]).await;
    let r = region("us-east-1");
    let err = cloud
        .delete_security_group(&r, &group_id(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    assert_eq!(err.code.as_deref(), Some("DependencyViolation"));
    assert_eq!(in_use.num_calls(), 1, "not retried");
    let err = cloud
        .delete_security_group(&r, &group_id(2))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.operation, "DeleteSecurityGroup");
    cloud.delete_security_group(&r, &group_id(3)).await.unwrap();
}

fn ssm_parameter(name: &str, value: &str, version: i64) -> aws_sdk_ssm::types::Parameter {
    aws_sdk_ssm::types::Parameter::builder()
        .name(name)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .value(value)
        .data_type("aws:ec2:image")
        .version(version)
        .build()
}

const LATEST: &str = "/amiref/python-ml/latest/x86_64";

fn image_put(version: i64) -> Rule {
    mock!(Ssm::put_parameter)
        .match_requests(|r| {
            r.name() == Some(LATEST)
                && r.value() == Some(ami(2).as_str())
                && r.r#type() == Some(&aws_sdk_ssm::types::ParameterType::String)
                && r.data_type() == Some("aws:ec2:image")
                && r.description() == Some("python-ml 2.1.0")
                && r.overwrite() == Some(true)
        })
        .then_output(move || PutParameterOutput::builder().version(version).build())
}

fn image_request() -> PutParameterRequest {
    let mut request = PutParameterRequest::image(parameter_name(LATEST), &ami(2));
    request.description = Some("python-ml 2.1.0".to_owned());
    request
}

#[tokio::test(start_paused = true)]
async fn an_image_parameter_counts_once_ssm_shows_its_version() {
    let put = image_put(4);
    // SSM checks the image after answering: the new version shows on the second look.
    let shown = mock!(Ssm::get_parameters)
        .sequence()
        .output(|| {
            GetParametersOutput::builder()
                .parameters(ssm_parameter(LATEST, ami(1).as_str(), 3))
                .build()
        })
        .output(|| {
            GetParametersOutput::builder()
                .parameters(ssm_parameter(LATEST, ami(2).as_str(), 4))
                .build()
        })
        .build();
    let cloud = cloud(&[&put, &shown]).await;
    let version = cloud
        .put_parameter(&region("us-east-1"), &image_request())
        .await
        .unwrap();
    assert_eq!(version, 4);
    assert_eq!((put.num_calls(), shown.num_calls()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn an_image_parameter_ssm_never_shows_times_out_and_text_is_not_waited_for() {
    let put = image_put(4);
    let stale = mock!(Ssm::get_parameters).then_output(|| {
        GetParametersOutput::builder()
            .parameters(ssm_parameter(LATEST, ami(1).as_str(), 3))
            .build()
    });
    let text = mock!(Ssm::put_parameter)
        .match_requests(|r| r.data_type().is_none() && r.overwrite() == Some(false))
        .then_output(|| PutParameterOutput::builder().version(1).build());
    let cloud = cloud(&[&put, &stale, &text]).await;
    let started = tokio::time::Instant::now();
    let err = cloud
        .put_parameter(&region("us-east-1"), &image_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Timeout, "{err}");
    assert_eq!(err.operation, "PutParameter");
    assert!(err.message.contains("aws:ec2:image"), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(60));
    // Looks at 0, 1, 3, 7 and 15 s, then every 8 s, and a last one at the deadline.
    let looks = stale.num_calls();
    assert!((2..=11).contains(&looks), "{looks} looks");

    let mut note = PutParameterRequest::image(parameter_name("/amiref/notes/a"), &ami(1));
    note.data_type = None;
    note.overwrite = false;
    let version = cloud
        .put_parameter(&region("us-east-1"), &note)
        .await
        .unwrap();
    assert_eq!(version, 1);
    assert_eq!(stale.num_calls(), looks, "a text value is not waited for");
}

#[tokio::test(start_paused = true)]
async fn parameter_writes_keep_error_meaning() {
    let exists = mock!(Ssm::put_parameter)
        .match_requests(|r| r.overwrite() == Some(false))
        .then_error(|| ec2_error("ParameterAlreadyExists", PutParameterError::generic));
    let busy = mock!(Ssm::put_parameter)
        .match_requests(|r| r.overwrite() == Some(true) && r.description().is_some())
        .sequence()
        .error(|| ec2_error("ThrottlingException", PutParameterError::generic))
        .repeatedly()
        .build();
    // SSM's answer to concurrent writes of one parameter: retried as throttling.
    let contended = mock!(Ssm::put_parameter)
        .match_requests(|r| r.overwrite() == Some(true) && r.description().is_none())
        .sequence()
        .error(|| ec2_error("TooManyUpdates", PutParameterError::generic))
        .repeatedly()
        .build();
    let cloud = cloud(&[&exists, &busy, &contended]).await;
    let r = region("ca-central-1");
    let mut request = image_request();
    request.overwrite = false;
    let err = cloud.put_parameter(&r, &request).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    assert_eq!(err.code.as_deref(), Some("ParameterAlreadyExists"));
    let err = cloud.put_parameter(&r, &image_request()).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    assert_eq!(err.region, Some(r.clone()));
    assert_eq!(busy.num_calls(), 4, "throttled writes are retried");
    let mut request = image_request();
    request.description = None;
    // Another region: the throttling above slowed this one's adaptive rate limiter.
    let err = cloud
        .put_parameter(&region("sa-east-1"), &request)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("TooManyUpdates"));
    assert_eq!(
        contended.num_calls(),
        4,
        "contention is retried as throttling"
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_that_meets_contention_succeeds_when_it_clears() {
    let contended = mock!(Ssm::put_parameter)
        .sequence()
        .error(|| ec2_error("TooManyUpdates", PutParameterError::generic))
        .output(|| PutParameterOutput::builder().version(2).build())
        .build();
    let cloud = cloud(&[&contended]).await;
    let mut request = image_request();
    request.data_type = None;
    // A region no other test throttles (the adaptive rate limiter is shared per region).
    let version = cloud
        .put_parameter(&region("ap-northeast-3"), &request)
        .await
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(contended.num_calls(), 2);
}

fn history_entry(version: i64, kind: aws_sdk_ssm::types::ParameterType) -> ParameterHistory {
    ParameterHistory::builder()
        .name(LATEST)
        .r#type(kind)
        .value(ami(version as u64).as_str())
        .data_type("aws:ec2:image")
        .version(version)
        .build()
}

#[tokio::test(start_paused = true)]
async fn parameter_history_reads_every_page_oldest_first() {
    use aws_sdk_ssm::types::ParameterType::{SecureString, String as Text};
    let first = mock!(Ssm::get_parameter_history)
        .match_requests(|r| {
            r.name() == Some(LATEST)
                && r.max_results() == Some(50)
                && r.with_decryption() == Some(false)
                && r.next_token().is_none()
        })
        .then_output(|| {
            GetParameterHistoryOutput::builder()
                .parameters(history_entry(1, Text))
                .parameters(history_entry(2, SecureString))
                .next_token("more")
                .build()
        });
    let second = mock!(Ssm::get_parameter_history)
        .match_requests(|r| r.next_token() == Some("more"))
        .then_output(|| {
            GetParameterHistoryOutput::builder()
                .parameters(history_entry(4, Text))
                .parameters(history_entry(3, Text))
                .build()
        });
    let unknown = mock!(Ssm::get_parameter_history)
        .match_requests(|r| r.name() == Some("/amiref/missing"))
        .then_error(|| ec2_error("ParameterNotFound", GetParameterHistoryError::generic));
    let cloud = cloud(&[&first, &second, &unknown]).await;
    let r = region("us-east-1");
    let history = cloud
        .parameter_history(&r, &parameter_name(LATEST))
        .await
        .unwrap();
    let versions: Vec<i64> = history.iter().map(|p| p.version).collect();
    assert_eq!(
        versions,
        [1, 3, 4],
        "oldest first; the SecureString left out"
    );
    assert_eq!(history[2].value, ami(4).as_str());
    let err = cloud
        .parameter_history(&r, &parameter_name("/amiref/missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.operation, "GetParameterHistory");
}

#[tokio::test(start_paused = true)]
async fn parameters_under_a_path_are_read_recursively_across_pages() {
    let path = "/amiref/python-ml";
    let first = mock!(Ssm::get_parameters_by_path)
        .match_requests(move |r| {
            r.path() == Some(path)
                && r.recursive() == Some(true)
                && r.max_results() == Some(10)
                && r.with_decryption() == Some(false)
                && r.next_token().is_none()
        })
        .then_output(move || {
            GetParametersByPathOutput::builder()
                .parameters(ssm_parameter(
                    &format!("{path}/latest/x86_64"),
                    ami(2).as_str(),
                    4,
                ))
                .next_token("more")
                .build()
        });
    let second = mock!(Ssm::get_parameters_by_path)
        .match_requests(|r| r.next_token() == Some("more"))
        .then_output(move || {
            GetParametersByPathOutput::builder()
                .parameters(ssm_parameter(
                    &format!("{path}/2.1.0/x86_64"),
                    ami(2).as_str(),
                    1,
                ))
                .parameters(ssm_parameter(
                    &format!("{path}/2.0.0/arm64"),
                    ami(1).as_str(),
                    1,
                ))
                .build()
        });
    let cloud = cloud(&[&first, &second]).await;
    let found = cloud
        .parameters_by_path(&region("us-east-1"), &parameter_name(path))
        .await
        .unwrap();
    let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "/amiref/python-ml/2.0.0/arm64",
            "/amiref/python-ml/2.1.0/x86_64",
            "/amiref/python-ml/latest/x86_64",
        ]
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn deleting_a_parameter_sends_its_name_and_an_unknown_one_is_not_found() {
    let deleted = mock!(Ssm::delete_parameter)
        .match_requests(|r| r.name() == Some(LATEST))
        .then_output(|| DeleteParameterOutput::builder().build());
    let unknown = mock!(Ssm::delete_parameter)
        .match_requests(|r| r.name() == Some("/amiref/missing"))
        .then_error(|| ec2_error("ParameterNotFound", DeleteParameterError::generic));
    let cloud = cloud(&[&deleted, &unknown]).await;
    let r = region("us-east-1");
    cloud
        .delete_parameter(&r, &parameter_name(LATEST))
        .await
        .unwrap();
    let err = cloud
        .delete_parameter(&r, &parameter_name("/amiref/missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("ParameterNotFound"));
    assert_eq!(deleted.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn images_carry_their_ancestry_and_last_launch() {
    let rule = mock!(Ec2::describe_images).then_output(|| {
        let mut image = ec2_image(2, ec2::ImageState::Available);
        image.source_image_id = Some(ami(1).as_str().to_owned());
        image.source_image_region = Some("us-west-2".to_owned());
        image.last_launched_time = Some("2026-11-30T08:15:00.000Z".to_owned());
        images_output([image])
    });
    let cloud = cloud(&[&rule]).await;
    let found = cloud
        .describe_images(&region("us-east-1"), &[ami(2)])
        .await
        .unwrap();
    assert_eq!(found[0].source_image, Some(ami(1)));
    assert_eq!(found[0].source_region, Some(region("us-west-2")));
    assert_eq!(
        found[0].last_launched.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-30T08:15:00+00:00")
    );
}
