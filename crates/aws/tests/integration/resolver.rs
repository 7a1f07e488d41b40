//! Issue 10's rules through the AWS adapter: the real `amiref::Resolver` over an `AwsCloud`
//! whose SDK clients (EC2, SSM, STS per region) answer from aws-smithy-mocks rules, so that
//! what decides is what EC2 and SSM answer, shaped as the SDK returns it:
//!
//! 1. billing products (`UsageOperation`, `PlatformDetails`) keep another account's image
//!    from being planned as a copy;
//! 2. snapshot permissions (`DescribeSnapshots`) keep a shared image whose snapshot the caller
//!    may not create volumes from from being planned;
//! 3. offerings (`DescribeInstanceTypeOfferings`) keep an arm64 image off a Graviton type the
//!    region does not sell;
//! 4. the account's Allowed AMIs (`GetAllowedImagesSettings`, `ImageAllowed`): blocked when
//!    enabled, a warning in audit mode, a warning when the setting cannot be read;
//! 5. SSM parameters (`GetParameters`) as a source, and the script's default base image.
//!
//! The same rules on the in-process cloud are in tests/trust_bounded.rs; how each call is
//! shaped (pages, batches, filters, retries) is crates/aws/tests/integration/mocks.rs's subject. Here
//! one fake account answers every region: each rule computes its answer from the request
//! (filters, owners, names) and the region the client is for, as EC2 would, and records
//! the call. Time is tokio's paused clock; the resolver's clock is fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use amiref::{ChainEntry, Outcome, Resolution, ResolveError, Resolver, TrustPolicy};
use amiref_aws::AwsCloud;
use amiref_core::{AccountId, AmiId, Architecture, InstanceType, Region, ResolutionMethod};
use amiref_template::Template;
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ec2::config::{BehaviorVersion, Credentials, SharedCredentialsProvider};
use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ec2::operation::describe_instance_type_offerings::DescribeInstanceTypeOfferingsOutput;
use aws_sdk_ec2::operation::describe_instance_types::DescribeInstanceTypesOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::operation::get_allowed_images_settings::{
    GetAllowedImagesSettingsError, GetAllowedImagesSettingsOutput,
};
use aws_sdk_ec2::types as ec2;
use aws_sdk_ssm::Client as Ssm;
use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
use aws_sdk_sts::Client as Sts;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use chrono::{DateTime, Utc};

fn template(yaml: &str) -> Template {
    match Template::from_yaml_str(yaml, "test.yml") {
        Ok(t) => t,
        Err(e) => panic!("test template invalid:\n{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// The fake account
// ---------------------------------------------------------------------------------------

/// The caller.
const ME: &str = "123456789012";
/// Amazon's account (owner alias `amazon`).
const AMAZON: &str = "137112412989";
/// A vendor, trusted as the named owner `vendor`.
const VENDOR: &str = "444455556666";
/// Someone no policy here trusts.
const STRANGER: &str = "999988887777";

/// What the GetAllowedImagesSettings of a region answers.
#[derive(Clone)]
enum Allowed {
    /// This answer.
    Settings(GetAllowedImagesSettingsOutput),
    /// An error with this code (`UnauthorizedOperation`, ...).
    Error(&'static str),
}

/// What EC2, SSM and STS answer the caller, per region. Unlisted regions have no images,
/// snapshots or parameters, sell every instance type asked about, and have Allowed AMIs
/// disabled.
#[derive(Default)]
struct Account {
    /// Every image the caller can see (owned, public or shared with it), by region.
    images: BTreeMap<String, Vec<ec2::Image>>,
    /// The snapshots DescribeSnapshots lists for the caller (own, public, or shared with
    /// create-volume permission), by region.
    snapshots: BTreeMap<String, BTreeSet<String>>,
    /// The instance types a region offers, where not every type.
    offered: BTreeMap<String, BTreeSet<String>>,
    /// The Allowed AMIs answer, where not `disabled`.
    allowed: BTreeMap<String, Allowed>,
    /// SSM parameters (name -> value), by region.
    parameters: BTreeMap<String, BTreeMap<String, String>>,
    /// Every call answered: (operation, region, detail).
    calls: Mutex<Vec<(&'static str, String, String)>>,
}

impl Account {
    fn image(mut self, region: &str, image: ec2::Image) -> Self {
        self.images
            .entry(region.to_owned())
            .or_default()
            .push(image);
        self
    }

    fn snapshot_visible(mut self, region: &str, snapshot: &str) -> Self {
        self.snapshots
            .entry(region.to_owned())
            .or_default()
            .insert(snapshot.to_owned());
        self
    }

    fn offers(mut self, region: &str, types: &[&str]) -> Self {
        self.offered.insert(
            region.to_owned(),
            types.iter().map(|t| (*t).to_owned()).collect(),
        );
        self
    }

    fn allowed_images(mut self, region: &str, answer: Allowed) -> Self {
        self.allowed.insert(region.to_owned(), answer);
        self
    }

    fn parameter(mut self, region: &str, name: &str, value: &str) -> Self {
        self.parameters
            .entry(region.to_owned())
            .or_default()
            .insert(name.to_owned(), value.to_owned());
        self
    }

    fn record(&self, operation: &'static str, region: &str, detail: String) {
        self.calls
            .lock()
            .unwrap()
            .push((operation, region.to_owned(), detail));
    }

    /// The calls of `operation` made in `region`, each with its detail.
    fn calls_of(&self, operation: &str, region: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, r, _)| *op == operation && r == region)
            .map(|(_, _, detail)| detail.clone())
            .collect()
    }
}

fn filter_values<'a>(filters: &'a [ec2::Filter], name: &str) -> Option<&'a [String]> {
    filters
        .iter()
        .find(|f| f.name() == Some(name))
        .map(|f| f.values())
}

/// EC2's wildcard match (`*` any run, `?` one character), as the `name` filter applies it.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// Whether `image` passes DescribeImages' `Owners` (empty: any visible image).
fn owned_by(image: &ec2::Image, owners: &[String]) -> bool {
    owners.is_empty()
        || owners.iter().any(|o| match o.as_str() {
            "self" => image.owner_id() == Some(ME),
            "amazon" | "aws-marketplace" => image.image_owner_alias() == Some(o.as_str()),
            account => image.owner_id() == Some(account),
        })
}

/// DescribeImages as EC2 answers the caller in `region`: its visible images narrowed by
/// `Owners` and the filters amiref sends. A filter this fake does not know fails the test.
fn describe_images_rule(account: Arc<Account>, region: String) -> Rule {
    mock!(Ec2::describe_images).then_compute_output(move |r| {
        let filters = r.filters();
        for f in filters {
            let name = f.name().unwrap_or_default();
            assert!(
                ["image-id", "name", "architecture", "state"].contains(&name)
                    || name.starts_with("tag:"),
                "the fake EC2 does not know filter {name:?}"
            );
        }
        let images: Vec<ec2::Image> = account
            .images
            .get(&region)
            .into_iter()
            .flatten()
            .filter(|i| owned_by(i, r.owners()))
            .filter(|i| {
                filter_values(filters, "image-id")
                    .is_none_or(|ids| ids.iter().any(|id| i.image_id() == Some(id)))
            })
            .filter(|i| {
                filter_values(filters, "name")
                    .is_none_or(|pats| pats.iter().any(|p| glob(p, i.name().unwrap_or_default())))
            })
            .filter(|i| {
                filter_values(filters, "architecture").is_none_or(|archs| {
                    archs
                        .iter()
                        .any(|a| i.architecture().map(|x| x.as_str()) == Some(a))
                })
            })
            .filter(|i| {
                filter_values(filters, "state").is_none_or(|states| {
                    states
                        .iter()
                        .any(|s| i.state().map(|x| x.as_str()) == Some(s))
                })
            })
            .filter(|i| {
                filters
                    .iter()
                    .filter_map(|f| Some((f.name()?.strip_prefix("tag:")?, f.values())))
                    .all(|(key, values)| {
                        i.tags().iter().any(|t| {
                            t.key() == Some(key)
                                && values
                                    .iter()
                                    .any(|v| v == "*" || t.value() == Some(v.as_str()))
                        })
                    })
            })
            .cloned()
            .collect();
        account.record(
            "DescribeImages",
            &region,
            format!(
                "owners {:?}, {} found",
                r.owners(),
                images
                    .iter()
                    .filter_map(|i| i.image_id())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
        DescribeImagesOutput::builder()
            .set_images(Some(images))
            .build()
    })
}

/// DescribeSnapshots as EC2 answers the caller: of the snapshots asked (`snapshot-id`), those
/// it may create volumes from.
fn describe_snapshots_rule(account: Arc<Account>, region: String) -> Rule {
    mock!(Ec2::describe_snapshots).then_compute_output(move |r| {
        let asked = filter_values(r.filters(), "snapshot-id").unwrap_or_default();
        let visible = account.snapshots.get(&region);
        let listed: Vec<ec2::Snapshot> = asked
            .iter()
            .filter(|id| visible.is_some_and(|v| v.contains(*id)))
            .map(|id| {
                ec2::Snapshot::builder()
                    .snapshot_id(id)
                    .state(ec2::SnapshotState::Completed)
                    .build()
            })
            .collect();
        account.record("DescribeSnapshots", &region, asked.join(" "));
        DescribeSnapshotsOutput::builder()
            .set_snapshots(Some(listed))
            .build()
    })
}

/// DescribeInstanceTypes: each asked type with the architectures it runs.
fn describe_instance_types_rule(account: Arc<Account>, region: String) -> Rule {
    mock!(Ec2::describe_instance_types).then_compute_output(move |r| {
        let asked = filter_values(r.filters(), "instance-type").unwrap_or_default();
        account.record("DescribeInstanceTypes", &region, asked.join(" "));
        let infos = asked
            .iter()
            .filter_map(|name| InstanceType::new(name.as_str()).ok())
            .map(|t| {
                let archs = t.architectures().iter().map(|a| match a {
                    Architecture::Arm64 => ec2::ArchitectureType::Arm64,
                    _ => ec2::ArchitectureType::X8664,
                });
                ec2::InstanceTypeInfo::builder()
                    .instance_type(ec2::InstanceType::from(t.as_str()))
                    .processor_info(
                        ec2::ProcessorInfo::builder()
                            .set_supported_architectures(Some(archs.collect()))
                            .build(),
                    )
                    .build()
            })
            .collect();
        DescribeInstanceTypesOutput::builder()
            .set_instance_types(Some(infos))
            .build()
    })
}

/// DescribeInstanceTypeOfferings: the asked types the region sells.
fn offerings_rule(account: Arc<Account>, region: String) -> Rule {
    mock!(Ec2::describe_instance_type_offerings).then_compute_output(move |r| {
        let asked = filter_values(r.filters(), "instance-type").unwrap_or_default();
        account.record("DescribeInstanceTypeOfferings", &region, asked.join(" "));
        let offered = account.offered.get(&region);
        let offerings = asked
            .iter()
            .filter(|t| offered.is_none_or(|o| o.contains(*t)))
            .map(|t| {
                ec2::InstanceTypeOffering::builder()
                    .instance_type(ec2::InstanceType::from(t.as_str()))
                    .location_type(ec2::LocationType::Region)
                    .location(&region)
                    .build()
            })
            .collect();
        DescribeInstanceTypeOfferingsOutput::builder()
            .set_instance_type_offerings(Some(offerings))
            .build()
    })
}

/// GetAllowedImagesSettings: the region's answer, `disabled` by default.
fn allowed_images_rule(account: Arc<Account>, region: String) -> Rule {
    let answer = account.allowed.get(&region).cloned().unwrap_or_else(|| {
        Allowed::Settings(
            GetAllowedImagesSettingsOutput::builder()
                .state("disabled")
                .build(),
        )
    });
    match answer {
        Allowed::Settings(out) => {
            mock!(Ec2::get_allowed_images_settings).then_compute_output(move |_| {
                account.record("GetAllowedImagesSettings", &region, String::new());
                out.clone()
            })
        }
        Allowed::Error(code) => {
            mock!(Ec2::get_allowed_images_settings).then_compute_response(move |_| {
                account.record("GetAllowedImagesSettings", &region, code.to_owned());
                aws_smithy_mocks::MockResponse::Error(GetAllowedImagesSettingsError::generic(
                    ErrorMetadata::builder()
                        .code(code)
                        .message(format!(
                            "You are not authorized to perform this operation ({code}, canned)"
                        ))
                        .build(),
                ))
            })
        }
    }
}

/// SSM GetParameters: the region's parameters; unknown names in `InvalidParameters`.
fn parameters_rule(account: Arc<Account>, region: String) -> Rule {
    mock!(Ssm::get_parameters).then_compute_output(move |r| {
        account.record("GetParameters", &region, r.names().join(" "));
        let known = account.parameters.get(&region);
        let mut out = GetParametersOutput::builder();
        for name in r.names() {
            match known.and_then(|k| k.get(name)) {
                Some(value) => {
                    out = out.parameters(
                        aws_sdk_ssm::types::Parameter::builder()
                            .name(name)
                            .r#type(aws_sdk_ssm::types::ParameterType::String)
                            .value(value)
                            .data_type("aws:ec2:image")
                            .version(1)
                            .build(),
                    );
                }
                None => out = out.invalid_parameters(name),
            }
        }
        out.build()
    })
}

fn interceptor(rules: Vec<Rule>) -> MockResponseInterceptor {
    rules.into_iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(&r),
    )
}

/// An AwsCloud whose clients answer as `account`: a client for a region gets that region's
/// rules. A call no rule answers (the Marketplace Catalog, CopyImage, ...) fails the test.
async fn aws_cloud(account: &Arc<Account>) -> AwsCloud {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "aws-mocks",
        )))
        .http_client(create_mock_http_client())
        .build();
    let (ec2, ssm) = (account.clone(), account.clone());
    let sts = account.clone();
    AwsCloud::builder()
        .sdk_config(sdk)
        .customize_ec2(move |region, b| {
            let r = region.as_str().to_owned();
            b.interceptor(interceptor(vec![
                describe_images_rule(ec2.clone(), r.clone()),
                describe_snapshots_rule(ec2.clone(), r.clone()),
                describe_instance_types_rule(ec2.clone(), r.clone()),
                offerings_rule(ec2.clone(), r.clone()),
                allowed_images_rule(ec2.clone(), r),
            ]))
        })
        .customize_ssm(move |region, b| {
            b.interceptor(interceptor(vec![parameters_rule(
                ssm.clone(),
                region.as_str().to_owned(),
            )]))
        })
        .customize_sts(move |b| {
            let account = sts.clone();
            b.interceptor(interceptor(vec![
                mock!(Sts::get_caller_identity).then_compute_output(move |_| {
                    account.record("GetCallerIdentity", "us-east-1", String::new());
                    GetCallerIdentityOutput::builder()
                        .account(ME)
                        .arn(format!("arn:aws:iam::{ME}:user/researcher"))
                        .build()
                }),
            ]))
        })
        .customize_catalog(|b| b.interceptor(interceptor(Vec::new())))
        .max_attempts(1)
        .build()
        .await
}

/// The resolver's clock: every image below was created in October 2026.
fn now() -> DateTime<Utc> {
    "2026-11-01T09:00:00Z".parse().unwrap()
}

/// The real resolver over the adapter.
async fn resolver(account: &Arc<Account>, trust: TrustPolicy) -> Resolver {
    Resolver::builder()
        .cloud(Arc::new(aws_cloud(account).await))
        .trust_policy(trust)
        .clock(Arc::new(now))
        .build()
        .unwrap()
}

/// The default policy plus the vendor as the named owner `vendor`.
fn vendor_trust() -> TrustPolicy {
    TrustPolicy::default().with_named_owner("vendor", [AccountId::new(VENDOR).unwrap()])
}

fn r(s: &str) -> Region {
    s.parse().unwrap()
}

fn ami(s: &str) -> AmiId {
    s.parse().unwrap()
}

fn entry(chain: &[ChainEntry], tier: ResolutionMethod) -> &ChainEntry {
    chain
        .iter()
        .find(|e| e.tier == tier)
        .unwrap_or_else(|| panic!("no {tier} entry in {chain:#?}"))
}

async fn resolved(resolver: &Resolver, t: &Template, region: &str) -> Resolution {
    match resolver.resolve(t, &r(region)).await {
        Ok(res) => res,
        Err(e) => panic!(
            "{} in {region} should resolve: {e}\n{:#?}",
            t.name,
            e.chain()
        ),
    }
}

async fn refused(resolver: &Resolver, t: &Template, region: &str) -> ResolveError {
    match resolver.resolve(t, &r(region)).await {
        Ok(res) => panic!(
            "{} in {region} should not resolve, got {} {} ({:?})\n{:#?}",
            t.name, res.method, res.image.id, res.image.name, res.chain
        ),
        Err(e) => e,
    }
}

fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "expected {part:?} in:\n{text}");
}

/// An image as DescribeImages returns it: available, one 8 GiB EBS volume from snapshot
/// `snap-<id's digits>`, a `Version` tag when `version` is given.
fn image(id: &str, name: &str, owner: &str, arch: ec2::ArchitectureValues) -> ec2::Image {
    let snapshot = id.replace("ami-", "snap-");
    let mut builder = ec2::Image::builder()
        .image_id(id)
        .name(name)
        .owner_id(owner)
        .architecture(arch)
        .creation_date("2026-10-01T00:00:00.000Z")
        .state(ec2::ImageState::Available)
        .image_type(ec2::ImageTypeValues::Machine)
        .root_device_type(ec2::DeviceType::Ebs)
        .root_device_name("/dev/xvda")
        .usage_operation("RunInstances")
        .platform_details("Linux/UNIX")
        .block_device_mappings(
            ec2::BlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(
                    ec2::EbsBlockDevice::builder()
                        .snapshot_id(snapshot)
                        .volume_size(8)
                        .volume_type(ec2::VolumeType::Gp3)
                        .encrypted(false)
                        .build(),
                )
                .build(),
        );
    if owner == AMAZON {
        builder = builder.image_owner_alias("amazon");
    }
    builder.build()
}

fn x86(id: &str, name: &str, owner: &str) -> ec2::Image {
    image(id, name, owner, ec2::ArchitectureValues::X8664)
}

/// The vendor's app `name`, tagged with its version, public or not.
fn vendor_app(id: &str, name: &str, version: &str, public: bool) -> ec2::Image {
    let mut i = x86(id, name, VENDOR);
    i.public = Some(public);
    i.tags = Some(vec![
        ec2::Tag::builder().key("Version").value(version).build(),
    ]);
    i
}

// ---------------------------------------------------------------------------------------
// 1. Billing products
// ---------------------------------------------------------------------------------------

/// The vendor's app, searched for in ap-south-1 (which has none; its first fallback region
/// is ap-southeast-1).
const COPY_TEMPLATE: &str = r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_required
  ami_search:
    owner: vendor
    name_pattern: "app-*"
    version_constraint: ">=1.0.0, <3"
  fallback_strategy: cross_region
"#;

#[tokio::test(start_paused = true)]
async fn a_billing_product_in_describe_images_is_passed_over_for_the_plain_image() {
    // ap-southeast-1's newest match is RHEL (usage operation RunInstances:0010): EC2 copies
    // such an image only for its owner. Beside it, an older plain Linux/UNIX one.
    let mut rhel = vendor_app("ami-00000000000000e01", "app-2.0.0", "2.0.0", true);
    rhel.usage_operation = Some("RunInstances:0010".into());
    rhel.platform_details = Some("Red Hat Enterprise Linux".into());
    rhel.creation_date = Some("2026-10-20T00:00:00.000Z".into());
    let account = Arc::new(
        Account::default()
            .image("ap-southeast-1", rhel)
            .image(
                "ap-southeast-1",
                vendor_app("ami-00000000000000e02", "app-1.9.0", "1.9.0", true),
            )
            .image(
                "ap-northeast-1",
                vendor_app("ami-00000000000000e03", "app-1.5.0", "1.5.0", true),
            ),
    );
    let resolver = resolver(&account, vendor_trust()).await;
    let res = resolved(&resolver, &template(COPY_TEMPLATE), "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-southeast-1"), "the same region");
    assert_eq!(plan.source_image, ami("ami-00000000000000e02"));
    assert_eq!(plan.destination_region, r("ap-south-1"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::CrossRegion).reason(),
        "passed over: ap-southeast-1: ami-00000000000000e01 has a billing product (usage operation RunInstances:0010, platform Red Hat Enterprise Linux)",
    );
    // The vendor's account went to EC2 as the search's owner; both images came back.
    let searches = account.calls_of("DescribeImages", "ap-southeast-1");
    assert!(
        searches
            .iter()
            .any(|s| s.contains(&format!("[\"{VENDOR}\"]"))
                && s.contains("ami-00000000000000e01")
                && s.contains("ami-00000000000000e02")),
        "{searches:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_callers_own_billing_product_image_is_copyable() {
    let mut rhel = x86("ami-00000000000000e21", "app-2.0.0", ME);
    rhel.usage_operation = Some("RunInstances:0010".into());
    rhel.platform_details = Some("Red Hat Enterprise Linux".into());
    rhel.tags = Some(vec![
        ec2::Tag::builder().key("Version").value("2.0.0").build(),
    ]);
    let mut plain = x86("ami-00000000000000e22", "app-1.9.0", ME);
    plain.tags = Some(vec![
        ec2::Tag::builder().key("Version").value("1.9.0").build(),
    ]);
    let account = Arc::new(
        Account::default()
            .image("ap-southeast-1", rhel)
            .image("ap-southeast-1", plain),
    );
    let t = template(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_required
  ami_search:
    owner: self
    name_pattern: "app-*"
  fallback_strategy: cross_region
"#,
    );
    let res = resolved(
        &resolver(&account, TrustPolicy::default()).await,
        &t,
        "ap-south-1",
    )
    .await;
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(
        plan.source_image,
        ami("ami-00000000000000e21"),
        "the owner (STS's account) may copy its own RHEL image"
    );
    assert!(
        !entry(&res.chain, ResolutionMethod::CrossRegion)
            .reason()
            .contains("passed over"),
        "{:#?}",
        res.chain
    );
}

// ---------------------------------------------------------------------------------------
// 2. Snapshot permissions
// ---------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_shared_image_whose_snapshot_describe_snapshots_does_not_list_is_passed_over() {
    // Both shared privately with the caller (not public); only the older one's snapshot was
    // shared with create-volume permission, so only it is in DescribeSnapshots' answer.
    let account = Arc::new(
        Account::default()
            .image(
                "ap-southeast-1",
                vendor_app("ami-00000000000000e11", "app-2.0.0", "2.0.0", false),
            )
            .image(
                "ap-southeast-1",
                vendor_app("ami-00000000000000e12", "app-1.9.0", "1.9.0", false),
            )
            .snapshot_visible("ap-southeast-1", "snap-00000000000000e12")
            .image(
                "ap-northeast-1",
                vendor_app("ami-00000000000000e13", "app-1.5.0", "1.5.0", true),
            ),
    );
    let resolver = resolver(&account, vendor_trust()).await;
    let res = resolved(&resolver, &template(COPY_TEMPLATE), "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-southeast-1"), "the same region");
    assert_eq!(plan.source_image, ami("ami-00000000000000e12"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::CrossRegion).reason(),
        "passed over: ap-southeast-1: ami-00000000000000e11 is shared by 444455556666 without create-volume permission on its snapshot(s) snap-00000000000000e11",
    );
    // EC2 was asked about each candidate's snapshot, in the source region.
    let asked = account
        .calls_of("DescribeSnapshots", "ap-southeast-1")
        .join(" ");
    assert_contains(&asked, "snap-00000000000000e11");
    assert_contains(&asked, "snap-00000000000000e12");
}

#[tokio::test(start_paused = true)]
async fn a_shared_image_whose_snapshot_is_listed_is_planned() {
    let account = Arc::new(
        Account::default()
            .image(
                "ap-southeast-1",
                vendor_app("ami-00000000000000e14", "app-2.0.0", "2.0.0", false),
            )
            .snapshot_visible("ap-southeast-1", "snap-00000000000000e14"),
    );
    let res = resolved(
        &resolver(&account, vendor_trust()).await,
        &template(COPY_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_image, ami("ami-00000000000000e14"));
    assert_eq!(plan.size_gib, 8, "the EBS volume DescribeImages gave");
    assert!(
        !entry(&res.chain, ResolutionMethod::CrossRegion)
            .reason()
            .contains("passed over"),
        "{:#?}",
        res.chain
    );
    assert_eq!(
        account.calls_of("DescribeSnapshots", "ap-southeast-1"),
        ["snap-00000000000000e14"]
    );
}

// ---------------------------------------------------------------------------------------
// 3. Offerings
// ---------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_arm64_image_is_not_chosen_where_the_region_does_not_offer_the_graviton_type() {
    let both = |account: Account, region: &str, n: u8| {
        let mut arm = image(
            &format!("ami-00000000000000f{n}1"),
            "app-1.0.0-arm64",
            AMAZON,
            ec2::ArchitectureValues::Arm64,
        );
        arm.creation_date = Some("2026-10-02T00:00:00.000Z".into());
        arm.public = Some(true);
        let mut x = x86(
            &format!("ami-00000000000000f{n}2"),
            "app-1.0.0-x86_64",
            AMAZON,
        );
        x.public = Some(true);
        account.image(region, arm).image(region, x)
    };
    // us-east-1 does not sell m7g.large; us-west-2 does.
    let account = both(both(Account::default(), "us-east-1", 1), "us-west-2", 2)
        .offers("us-east-1", &["m6i.large"])
        .offers("us-west-2", &["m6i.large", "m7g.large"]);
    let account = Arc::new(account);
    let resolver = resolver(&account, TrustPolicy::default()).await;
    let t = template(
        r#"name: app
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "app-*"
    architecture: [x86_64, arm64]
  preferred_architecture: arm64
  instance_family_preference: [m7g, m6i]
  fallback_strategy: error
"#,
    );
    let res = resolved(&resolver, &t, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::DynamicSearch);
    assert_eq!(res.architecture, Architecture::X86_64);
    assert_eq!(res.instance_type.as_str(), "m6i.large");
    assert_eq!(res.image.id, ami("ami-00000000000000f12"));
    let asked = account.calls_of("DescribeInstanceTypeOfferings", "us-east-1");
    assert!(
        asked.iter().any(|a| a.contains("m7g.large")),
        "the offerings of m7g.large were asked: {asked:#?}"
    );
    // Where m7g.large is sold, the preferred arm64 image on it.
    let res = resolved(&resolver, &t, "us-west-2").await;
    assert_eq!(res.architecture, Architecture::Arm64);
    assert_eq!(res.instance_type.as_str(), "m7g.large");
    assert_eq!(res.image.id, ami("ami-00000000000000f21"));

    // An arm64-only template in us-east-1: refused, saying which type is not offered.
    let arm_only = template(
        r#"name: arm-only
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "app-*"
    architecture: [arm64]
  instance_family_preference: [m7g]
  fallback_strategy: error
"#,
    );
    let err = refused(&resolver, &arm_only, "us-east-1").await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::DynamicSearch).reason(),
        "m7g.large is not offered",
    );
}

// ---------------------------------------------------------------------------------------
// 4. Allowed AMIs
// ---------------------------------------------------------------------------------------

/// GetAllowedImagesSettings in `state` with one criterion: images of these providers.
fn allowed_settings(state: &str, providers: &[&str]) -> Allowed {
    Allowed::Settings(
        GetAllowedImagesSettingsOutput::builder()
            .state(state)
            .image_criteria(
                ec2::ImageCriterion::builder()
                    .set_image_providers(Some(providers.iter().map(|p| (*p).to_owned()).collect()))
                    .build(),
            )
            .managed_by(ec2::ManagedBy::Account)
            .build(),
    )
}

/// The vendor's app in a region, mapped and searched for.
fn vendor_template(mapping: Option<&str>, search: bool) -> Template {
    let mut yaml = String::from(
        "name: app\ninstance_type: m6i.large\nami_config:\n  strategy: ami_preferred\n",
    );
    if let Some((region, id)) = mapping.and_then(|m| m.split_once('=')) {
        yaml.push_str(&format!("  ami_mappings:\n    {region}: {id}\n"));
    }
    if search {
        yaml.push_str("  ami_search:\n    owner: vendor\n    name_pattern: \"app-*\"\n");
    }
    yaml.push_str("  fallback_strategy: error\n");
    template(&yaml)
}

#[tokio::test(start_paused = true)]
async fn an_image_the_enabled_criteria_exclude_is_blocked_even_when_describe_images_returns_it() {
    // Allowed AMIs enabled for Amazon's images only. EC2 would hide the vendor's image from
    // DescribeImages; this answer returns it anyway (without ImageAllowed), so the criteria
    // read from GetAllowedImagesSettings must decide.
    let account = Arc::new(
        Account::default()
            .allowed_images("us-east-1", allowed_settings("enabled", &["amazon"]))
            .image(
                "us-east-1",
                vendor_app("ami-0000000000000c101", "app-1.0.0", "1.0.0", true),
            ),
    );
    let resolver = resolver(&account, vendor_trust()).await;
    let mapping = Some("us-east-1=ami-0000000000000c101");
    for (t, tier) in [
        (
            vendor_template(mapping, false),
            ResolutionMethod::DirectMapping,
        ),
        (vendor_template(None, true), ResolutionMethod::DynamicSearch),
        (
            vendor_template(mapping, true),
            ResolutionMethod::DynamicSearch,
        ),
    ] {
        let err = refused(&resolver, &t, "us-east-1").await;
        let e = entry(err.chain(), tier.clone());
        assert!(!matches!(e.outcome, Outcome::Found(_)), "{e:#?}");
        match tier {
            ResolutionMethod::DirectMapping => assert_contains(
                &e.reason(),
                "ami-0000000000000c101 is blocked by the account's Allowed AMIs in us-east-1",
            ),
            // The search counts its rejections: "1 blocked by the account's Allowed AMIs".
            _ => {
                assert_contains(&e.reason(), "1 blocked by the account's Allowed AMIs");
                assert_contains(
                    &e.reason(),
                    "the account's Allowed AMIs is enabled in us-east-1",
                );
            }
        }
    }
    assert!(
        !account
            .calls_of("GetAllowedImagesSettings", "us-east-1")
            .is_empty()
    );
}

/// Allowed AMIs enabled with criteria that name the vendor's account, and EC2's own answer
/// on the image, `ImageAllowed=false`, saying the setting does not allow it (a condition
/// amiref cannot evaluate, a policy managed by the organization): EC2's word wins.
fn not_allowed_by_ec2() -> Arc<Account> {
    let mut app = vendor_app("ami-0000000000000c201", "app-1.0.0", "1.0.0", true);
    app.image_allowed = Some(false);
    Arc::new(
        Account::default()
            .allowed_images(
                "us-east-1",
                allowed_settings("enabled", &["amazon", VENDOR]),
            )
            .image("us-east-1", app)
            .parameter("us-east-1", "/vendor/app/x86_64", "ami-0000000000000c201"),
    )
}

#[tokio::test(start_paused = true)]
async fn a_mapped_or_parameter_image_ec2_says_is_not_allowed_is_blocked_when_enabled() {
    let resolver = resolver(&not_allowed_by_ec2(), vendor_trust()).await;
    let t = vendor_template(Some("us-east-1=ami-0000000000000c201"), false);
    let err = refused(&resolver, &t, "us-east-1").await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::DirectMapping).reason(),
        "ami-0000000000000c201 is blocked by the account's Allowed AMIs in us-east-1",
    );
    // The same image named by an SSM parameter.
    let err = refused(&resolver, &ssm_template("/vendor/app/x86_64"), "us-east-1").await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::SsmParameter).reason(),
        "ami-0000000000000c201 is blocked by the account's Allowed AMIs in us-east-1",
    );
}

#[tokio::test(start_paused = true)]
async fn a_searched_image_ec2_says_is_not_allowed_is_blocked_when_enabled() {
    let resolver = resolver(&not_allowed_by_ec2(), vendor_trust()).await;
    let err = refused(&resolver, &vendor_template(None, true), "us-east-1").await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::DynamicSearch).reason(),
        "blocked by the account's Allowed AMIs",
    );
}

#[tokio::test(start_paused = true)]
async fn audit_mode_with_image_allowed_false_chooses_the_image_with_a_warning() {
    // Audit mode; the criteria would allow the vendor, but EC2 says ImageAllowed=false: the
    // image is used, with the warning that enabling the setting would block it.
    let mut app = vendor_app("ami-0000000000000c102", "app-1.0.0", "1.0.0", true);
    app.image_allowed = Some(false);
    let account = Arc::new(
        Account::default()
            .allowed_images(
                "us-west-2",
                allowed_settings("audit-mode", &["amazon", VENDOR]),
            )
            .image("us-west-2", app),
    );
    let resolver = resolver(&account, vendor_trust()).await;
    for (t, method) in [
        (
            vendor_template(Some("us-west-2=ami-0000000000000c102"), false),
            ResolutionMethod::DirectMapping,
        ),
        (vendor_template(None, true), ResolutionMethod::DynamicSearch),
    ] {
        let res = resolved(&resolver, &t, "us-west-2").await;
        assert_eq!(res.method, method);
        assert_eq!(res.image.id, ami("ami-0000000000000c102"));
        assert!(
            res.warnings.iter().any(|w| w.to_string().contains(
                "ami-0000000000000c102 would be blocked by the account's Allowed AMIs in us-west-2 once enabled (audit mode)"
            )),
            "{method}: {:#?}",
            res.warnings
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_callers_own_image_is_not_restricted_by_enabled_allowed_amis() {
    let account = Arc::new(
        Account::default()
            .allowed_images("us-east-1", allowed_settings("enabled", &["amazon"]))
            .image(
                "us-east-1",
                x86("ami-0000000000000c111", "app-mine-1.0.0", ME),
            ),
    );
    let t = template(
        r#"name: mine
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: self
    name_pattern: "app-mine-*"
  fallback_strategy: error
"#,
    );
    let res = resolved(
        &resolver(&account, TrustPolicy::default()).await,
        &t,
        "us-east-1",
    )
    .await;
    assert_eq!(res.image.id, ami("ami-0000000000000c111"));
    assert!(
        !res.warnings
            .iter()
            .any(|w| w.to_string().contains("Allowed AMIs")),
        "{:#?}",
        res.warnings
    );
}

#[tokio::test(start_paused = true)]
async fn an_allowed_amis_setting_that_cannot_be_read_warns_and_resolution_goes_on() {
    for code in ["UnauthorizedOperation", "AccessDenied"] {
        let account = Arc::new(
            Account::default()
                .allowed_images("us-east-1", Allowed::Error(code))
                .image(
                    "us-east-1",
                    vendor_app("ami-0000000000000c301", "app-1.0.0", "1.0.0", true),
                ),
        );
        let resolver = resolver(&account, vendor_trust()).await;
        let res = resolved(&resolver, &vendor_template(None, true), "us-east-1").await;
        assert_eq!(res.method, ResolutionMethod::DynamicSearch, "{code}");
        assert_eq!(res.image.id, ami("ami-0000000000000c301"), "{code}");
        let warning = res
            .warnings
            .iter()
            .find_map(|w| match w {
                amiref::Warning::AllowedImagesUnreadable { region, error }
                    if region.as_str() == "us-east-1" =>
                {
                    Some((w.to_string(), error))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{code}: no warning in {:#?}", res.warnings));
        // The warning keeps the cloud's error code as a fact, and says it for people.
        assert_eq!(warning.1.code.as_deref(), Some(code));
        assert_eq!(warning.1.operation, "GetAllowedImagesSettings");
        assert_contains(
            &warning.0,
            "the account's Allowed AMIs setting in us-east-1 could not be read",
        );
        assert_contains(&warning.0, "EC2 still enforces it at launch");
        assert_contains(&warning.0, code);
        assert!(
            !account
                .calls_of("GetAllowedImagesSettings", "us-east-1")
                .is_empty()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_allowed_amis_setting_is_asked_once_per_resolution() {
    let account = Arc::new(
        Account::default()
            .allowed_images("us-east-1", Allowed::Error("UnauthorizedOperation"))
            .image(
                "us-east-1",
                vendor_app("ami-0000000000000c301", "app-1.0.0", "1.0.0", true),
            ),
    );
    let resolver = resolver(&account, vendor_trust()).await;
    resolved(&resolver, &vendor_template(None, true), "us-east-1").await;
    assert_eq!(
        account.calls_of("GetAllowedImagesSettings", "us-east-1"),
        ["UnauthorizedOperation"],
        "one resolution, one question (the client makes one attempt: max_attempts(1))"
    );
}

// ---------------------------------------------------------------------------------------
// 5. SSM parameters
// ---------------------------------------------------------------------------------------

/// AL2023's public parameter of `arch`.
fn al2023(arch: &str) -> String {
    format!("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}")
}

/// The caller's golden image behind `/golden/app/x86_64`, a stranger's behind
/// `/golden/stranger/x86_64`, and AWS's AL2023 parameters; the x86_64 one names an AL2023
/// image older than the newest, so that no search could be mistaken for it.
fn ssm_account() -> Account {
    let mut stranger = x86("ami-0000000000000d102", "stranger-app-9.9.9", STRANGER);
    stranger.public = Some(true);
    let al = |id: &str, name: &str, arch, created: &str| {
        let mut i = image(id, name, AMAZON, arch);
        i.public = Some(true);
        i.creation_date = Some(created.into());
        i
    };
    Account::default()
        .image(
            "us-east-1",
            x86("ami-0000000000000d101", "golden-app-1.0.0", ME),
        )
        .image("us-east-1", stranger)
        .image(
            "us-east-1",
            al(
                "ami-0000000000000d111",
                "al2023-ami-2023.9.20261020.0-kernel-6.1-x86_64",
                ec2::ArchitectureValues::X8664,
                "2026-10-20T00:00:00.000Z",
            ),
        )
        .image(
            "us-east-1",
            al(
                "ami-0000000000000d112",
                "al2023-ami-2023.9.20261030.0-kernel-6.1-x86_64",
                ec2::ArchitectureValues::X8664,
                "2026-10-30T00:00:00.000Z",
            ),
        )
        .image(
            "us-east-1",
            al(
                "ami-0000000000000d121",
                "al2023-ami-2023.9.20261020.0-kernel-6.1-arm64",
                ec2::ArchitectureValues::Arm64,
                "2026-10-20T00:00:00.000Z",
            ),
        )
        .parameter("us-east-1", "/golden/app/x86_64", "ami-0000000000000d101")
        .parameter(
            "us-east-1",
            "/golden/stranger/x86_64",
            "ami-0000000000000d102",
        )
        .parameter("us-east-1", &al2023("x86_64"), "ami-0000000000000d111")
        .parameter("us-east-1", &al2023("arm64"), "ami-0000000000000d121")
}

fn ssm_template(parameter: &str) -> Template {
    template(&format!(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ssm_parameter: {parameter}
  fallback_strategy: error
"#
    ))
}

#[tokio::test(start_paused = true)]
async fn get_parameters_names_the_image_of_the_ssm_parameter_tier() {
    let account = Arc::new(ssm_account());
    let resolver = resolver(&account, TrustPolicy::default()).await;
    let res = resolved(&resolver, &ssm_template("/golden/app/x86_64"), "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::SsmParameter);
    assert_eq!(res.image.id, ami("ami-0000000000000d101"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::SsmParameter).reason(),
        "SSM parameter /golden/app/x86_64 in us-east-1: ami-0000000000000d101",
    );
    let asked = account.calls_of("GetParameters", "us-east-1");
    assert!(
        asked.iter().any(|a| a == "/golden/app/x86_64"),
        "{asked:#?}"
    );
    // Then the image it names was described (by id, with no owner).
    assert!(
        account
            .calls_of("DescribeImages", "us-east-1")
            .iter()
            .any(|d| d.starts_with("owners []") && d.contains("ami-0000000000000d101")),
        "{:#?}",
        account.calls_of("DescribeImages", "us-east-1")
    );

    // A parameter is a pointer, not a reason to trust: a stranger's image is refused.
    let err = refused(
        &resolver,
        &ssm_template("/golden/stranger/x86_64"),
        "us-east-1",
    )
    .await;
    let tier = entry(err.chain(), ResolutionMethod::SsmParameter);
    assert!(matches!(tier.outcome, Outcome::Skipped { .. }), "{tier:#?}");
    assert_contains(
        &tier.reason(),
        &format!(
            "ami-0000000000000d102 is owned by {STRANGER}, which the default trust policy (trusts self, amazon) does not trust"
        ),
    );

    // A name SSM does not have (InvalidParameters) skips with the reason.
    let err = refused(
        &resolver,
        &ssm_template("/golden/missing/x86_64"),
        "us-east-1",
    )
    .await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::SsmParameter).reason(),
        "SSM parameter /golden/missing/x86_64 does not exist in us-east-1",
    );
}

#[tokio::test(start_paused = true)]
async fn the_scripts_default_base_image_comes_from_awss_public_al2023_parameter() {
    for (arch, instance_type, id) in [
        ("x86_64", "m6i.large", "ami-0000000000000d111"),
        ("arm64", "m7g.large", "ami-0000000000000d121"),
    ] {
        let account = Arc::new(ssm_account());
        let resolver = resolver(&account, TrustPolicy::default()).await;
        let t = template(&format!(
            r#"name: script-{arch}
instance_types:
  {arch}: {instance_type}
ami_config:
  strategy: ami_preferred
  fallback_strategy: script_provisioning
user_data: |
  #!/bin/bash
  echo provisioning
"#
        ));
        let res = resolved(&resolver, &t, "us-east-1").await;
        assert_eq!(res.method, ResolutionMethod::ScriptProvisioning, "{arch}");
        assert!(res.runs_user_data);
        assert_eq!(res.architecture.as_str(), arch);
        assert_eq!(res.instance_type.as_str(), instance_type);
        assert_eq!(res.image.id, ami(id), "{arch}: the parameter's image");
        assert_contains(
            &entry(&res.chain, ResolutionMethod::ScriptProvisioning).reason(),
            &format!("from SSM parameter {}", al2023(arch)),
        );
        // One GetParameters call, for the architecture's public parameter.
        assert_eq!(
            account.calls_of("GetParameters", "us-east-1"),
            [al2023(arch)],
            "{arch}"
        );
    }
}
