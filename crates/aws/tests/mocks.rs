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
    Identity, ImageCatalog, ImageFilter, ImageState, ImageStore, InstanceType, InstanceTypes,
    Instances, LaunchPermission, Marketplace, MarketplacePublisher, Owner, ParameterName,
    Parameters, Region, RunInstanceRequest, SnapshotId,
};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ec2::operation::copy_image::{CopyImageError, CopyImageOutput};
use aws_sdk_ec2::operation::create_tags::CreateTagsOutput;
use aws_sdk_ec2::operation::delete_snapshot::{DeleteSnapshotError, DeleteSnapshotOutput};
use aws_sdk_ec2::operation::deregister_image::DeregisterImageOutput;
use aws_sdk_ec2::operation::describe_image_attribute::DescribeImageAttributeOutput;
use aws_sdk_ec2::operation::describe_images::{DescribeImagesError, DescribeImagesOutput};
use aws_sdk_ec2::operation::describe_instance_type_offerings::DescribeInstanceTypeOfferingsOutput;
use aws_sdk_ec2::operation::describe_instance_types::DescribeInstanceTypesOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_launch_template_versions::DescribeLaunchTemplateVersionsOutput;
use aws_sdk_ec2::operation::describe_snapshots::{DescribeSnapshotsError, DescribeSnapshotsOutput};
use aws_sdk_ec2::operation::disable_image_deprecation::DisableImageDeprecationOutput;
use aws_sdk_ec2::operation::enable_image_deprecation::EnableImageDeprecationOutput;
use aws_sdk_ec2::operation::get_allowed_images_settings::{
    GetAllowedImagesSettingsError, GetAllowedImagesSettingsOutput,
};
use aws_sdk_ec2::operation::modify_image_attribute::{
    ModifyImageAttributeError, ModifyImageAttributeOutput,
};
use aws_sdk_ec2::operation::run_instances::RunInstancesOutput;
use aws_sdk_ec2::types as ec2;
use aws_sdk_marketplacecatalog::Client as Catalog;
use aws_sdk_marketplacecatalog::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_marketplacecatalog::operation::describe_entity::DescribeEntityOutput;
use aws_sdk_marketplacecatalog::operation::list_entities::ListEntitiesOutput;
use aws_sdk_marketplacecatalog::operation::start_change_set::StartChangeSetOutput;
use aws_sdk_ssm::Client as Ssm;
use aws_sdk_ssm::operation::get_parameters::{GetParametersError, GetParametersOutput};
use aws_sdk_sts::Client as Sts;
use aws_sdk_sts::operation::get_caller_identity::{
    GetCallerIdentityError, GetCallerIdentityOutput,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::ErrorMetadata;

// ---------------------------------------------------------------------------------------
// Harness

fn region(code: &str) -> Region {
    code.parse().unwrap()
}

fn ami(n: u64) -> AmiId {
    AmiId::new(format!("ami-{n:017x}")).unwrap()
}

fn sdk_config(http: SharedHttpClient) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )))
        .http_client(http)
        .build()
}

fn interceptor(rules: &[Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        MockResponseInterceptor::with_rule,
    )
}

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

fn ec2_image(n: u64, state: ec2::ImageState) -> ec2::Image {
    ec2::Image::builder()
        .image_id(ami(n).as_str())
        .owner_id("123456789012")
        .name(format!("image-{n}"))
        .architecture(ec2::ArchitectureValues::X8664)
        .creation_date("2024-05-01T00:00:00.000Z")
        .state(state)
        .block_device_mappings(
            ec2::BlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(
                    ec2::EbsBlockDevice::builder()
                        .snapshot_id(format!("snap-{n:017x}"))
                        .volume_size(8)
                        .build(),
                )
                .build(),
        )
        .build()
}

fn images_output(images: impl IntoIterator<Item = ec2::Image>) -> DescribeImagesOutput {
    DescribeImagesOutput::builder()
        .set_images(Some(images.into_iter().collect()))
        .build()
}

fn ec2_error<E>(code: &str, make: fn(ErrorMetadata) -> E) -> E {
    make(
        ErrorMetadata::builder()
            .code(code)
            .message(format!("{code} (canned)"))
            .build(),
    )
}

fn filter_values<'a>(filters: &'a [ec2::Filter], name: &str) -> Option<&'a [String]> {
    filters
        .iter()
        .find(|f| f.name() == Some(name))
        .map(|f| f.values())
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
