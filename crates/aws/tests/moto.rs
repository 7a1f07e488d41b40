//! amiref-testkit's conformance suites, through [`AwsCloud`], against moto's EC2 emulator.
//!
//! scripts/test (or `eval "$(scripts/moto start target/moto/amis.json)"`) starts the
//! emulator seeded with the standard fixture and exports `AMIREF_TEST_EC2_ENDPOINT`. Under
//! `CI=true` a missing endpoint fails these tests; elsewhere they are skipped with a reason.
//! Every test uses its own run id, so tests share the emulator without colliding.
//! Capabilities switch off what moto does not emulate (docs/aws.md lists each difference;
//! tests/mocks.rs covers those behaviours with aws-smithy-mocks).

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
/// again with CreateTags. `AMIREF_TEST_MOTO_PROBE=flag,flag` switches more on, to check a
/// new moto version for them.
fn moto_capabilities() -> Capabilities {
    let mut caps = Capabilities::moto();
    caps.copy_tags = true;
    if let Ok(flags) = std::env::var("AMIREF_TEST_MOTO_PROBE") {
        // Probing which capabilities moto has: turn these on (comma-separated).
        for flag in flags.split(',') {
            match flag {
                "launch_validation" => caps.launch_validation = true,
                "name_uniqueness" => caps.name_uniqueness = true,
                "block_public_access" => caps.block_public_access = true,
                "copy_tags" => caps.copy_tags = true,
                "owner_aliases" => caps.owner_aliases = true,
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
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.as_str().to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(endpoint)
        .load()
        .await;
    // moto answers what it does not implement with 500s; retrying them only slows tests.
    AwsCloud::builder()
        .sdk_config(sdk)
        .max_attempts(1)
        .build()
        .await
}

/// The standard fixture under a fresh run id, with its tags applied (moto's image list
/// cannot carry tags).
async fn seeded(endpoint: &str, suite: &str) -> (AwsCloud, Fixture) {
    let fixture = fixture::standard().with_run_id(run_id(suite));
    let cloud = cloud(endpoint, &fixture.region).await;
    for (image, tags) in fixture.tags_to_apply() {
        cloud
            .create_tags(&fixture.region, &image, &tags)
            .await
            .unwrap_or_else(|e| panic!("tagging fixture image {image}: {e}"));
    }
    (cloud, fixture)
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
