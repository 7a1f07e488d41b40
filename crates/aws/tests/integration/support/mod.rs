//! The harness the aws-smithy-mocks tests share: canned answers for every client of an
//! [`AwsCloud`], and the EC2 records and errors they are made of.

// Each test crate uses a part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use amiref_aws::AwsCloud;
use amiref_core::{AmiId, Region};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ec2::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ec2::types as ec2;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::ErrorMetadata;

pub(crate) fn region(code: &str) -> Region {
    code.parse().unwrap()
}

pub(crate) fn ami(n: u64) -> AmiId {
    AmiId::new(format!("ami-{n:017x}")).unwrap()
}

pub(crate) fn sdk_config(http: SharedHttpClient) -> SdkConfig {
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

pub(crate) fn interceptor(rules: &[Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        MockResponseInterceptor::with_rule,
    )
}

/// A cloud whose every client (EC2, SSM, Recycle Bin, STS, Marketplace Catalog) answers
/// from `rules`.
pub(crate) async fn mocked_cloud(rules: &[&Rule]) -> AwsCloud {
    let rules: Vec<Rule> = rules.iter().map(|r| (*r).clone()).collect();
    let (ec2_rules, ssm_rules, rbin_rules, sts_rules, catalog_rules) = (
        rules.clone(),
        rules.clone(),
        rules.clone(),
        rules.clone(),
        rules,
    );
    AwsCloud::builder()
        .sdk_config(sdk_config(create_mock_http_client()))
        .customize_ec2(move |_, b| b.interceptor(interceptor(&ec2_rules)))
        .customize_ssm(move |_, b| b.interceptor(interceptor(&ssm_rules)))
        .customize_rbin(move |_, b| b.interceptor(interceptor(&rbin_rules)))
        .customize_sts(move |b| b.interceptor(interceptor(&sts_rules)))
        .customize_catalog(move |b| b.interceptor(interceptor(&catalog_rules)))
        .build()
        .await
}

pub(crate) fn ec2_image(n: u64, state: ec2::ImageState) -> ec2::Image {
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

pub(crate) fn images_output(images: impl IntoIterator<Item = ec2::Image>) -> DescribeImagesOutput {
    DescribeImagesOutput::builder()
        .set_images(Some(images.into_iter().collect()))
        .build()
}

/// A service error with `code` (and a canned message), made by the operation's `generic`.
pub(crate) fn ec2_error<E>(code: &str, make: fn(ErrorMetadata) -> E) -> E {
    make(
        ErrorMetadata::builder()
            .code(code)
            .message(format!("{code} (canned)"))
            .build(),
    )
}

pub(crate) fn filter_values<'a>(filters: &'a [ec2::Filter], name: &str) -> Option<&'a [String]> {
    filters
        .iter()
        .find(|f| f.name() == Some(name))
        .map(|f| f.values())
}
