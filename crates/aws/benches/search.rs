//! What amiref-aws adds to a search: the SDK's serialization, pagination and retries, and
//! the mapping of EC2's records to amiref's, over 5 pages of 1,000 canned images (no
//! network: aws-smithy-mocks answers). `cargo bench -p amiref-aws --bench search`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use amiref_aws::AwsCloud;
use amiref_core::{ImageCatalog, ImageFilter, Owner, Region};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ec2::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ec2::types as ec2;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const PAGES: usize = 5;
const PAGE: usize = 1000;

fn page(index: usize) -> DescribeImagesOutput {
    let images = (0..PAGE).map(|n| {
        let n = index * PAGE + n;
        ec2::Image::builder()
            .image_id(format!("ami-{n:017x}"))
            .owner_id("123456789012")
            .name(format!("cws-python-ml-{n}"))
            .architecture(ec2::ArchitectureValues::X8664)
            .creation_date("2024-05-01T00:00:00.000Z")
            .state(ec2::ImageState::Available)
            .tags(ec2::Tag::builder().key("team").value("hpc").build())
            .block_device_mappings(
                ec2::BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        ec2::EbsBlockDevice::builder()
                            .snapshot_id(format!("snap-{n:017x}"))
                            .volume_size(30)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let out = DescribeImagesOutput::builder().set_images(Some(images.collect()));
    if index + 1 < PAGES {
        out.next_token(format!("page-{}", index + 1)).build()
    } else {
        out.build()
    }
}

fn rules() -> Vec<Rule> {
    (0..PAGES)
        .map(|index| {
            let token = (index > 0).then(|| format!("page-{index}"));
            mock!(Ec2::describe_images)
                .match_requests(move |r| r.next_token() == token.as_deref())
                .then_output(move || page(index))
        })
        .collect()
}

fn search(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKID", "SECRET", None, None, "bench",
        )))
        .http_client(create_mock_http_client())
        .build();
    let rules = rules();
    let cloud = rt.block_on(
        AwsCloud::builder()
            .sdk_config(sdk)
            .customize_ec2(move |_, b| {
                b.interceptor(rules.iter().fold(
                    MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
                    MockResponseInterceptor::with_rule,
                ))
            })
            .build(),
    );
    let region: Region = "us-east-1".parse().unwrap();
    let filter = ImageFilter::owned_by([Owner::Me]).name("cws-python-ml-*");
    let found = rt.block_on(cloud.search_images(&region, &filter)).unwrap();
    assert_eq!(found.len(), PAGES * PAGE);
    let mut group = c.benchmark_group("search_images_mocked");
    group.sample_size(10);
    group.throughput(Throughput::Elements((PAGES * PAGE) as u64));
    group.bench_function("5_pages_of_1000", |b| {
        b.to_async(&rt)
            .iter(|| async { cloud.search_images(&region, &filter).await.unwrap() })
    });
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
