//! Each tier alone, on small in-process worlds built for the case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use amiref_core::{
    AccountId, Architecture, Image, LaunchPermission, MarketplaceProduct, ProductCode,
    ProductCodeType, ProductVersion, Region,
};
use amiref_memory::{ImageSeed, MemoryCloud};
use amiref_strategies::{
    ArchChoice, Attempt, Context, CopyEstimate, CopyEstimator, CopyPriority, CopyRefusal,
    CrossRegion, DirectMapping, DynamicSearch, FallbackRegions, Marketplace, PolicyOrigin,
    Rejection, Skip, StaticFacts, Strategy, StrategyError, TrustError, TrustPolicy,
    architecture_choices,
};
use amiref_template::Template;

const LAB: &str = "123456789012";
const OTHER: &str = "555566667777";
const MARKETPLACE: &str = "679593333241";

fn acct(s: &str) -> AccountId {
    s.parse().unwrap()
}

fn region(s: &str) -> Region {
    s.parse().unwrap()
}

fn image(id: &str, region_code: &str, name: &str, owner: &str) -> Image {
    Image::new(
        id.parse().unwrap(),
        region(region_code),
        name,
        acct(owner),
        Architecture::X86_64,
        "2026-06-01T00:00:00Z".parse().unwrap(),
    )
}

fn template(yaml: &str) -> Template {
    Template::from_yaml_str(yaml, "t.yml").unwrap()
}

fn choices(t: &Template) -> Vec<ArchChoice> {
    architecture_choices(t, None, &|_| None)
}

async fn attempt(
    strategy: &dyn Strategy,
    cloud: &MemoryCloud,
    t: &Template,
    region_code: &str,
    trust: &TrustPolicy,
) -> Attempt {
    let facts = StaticFacts::new(choices(t)).with_caller(acct(LAB));
    attempt_with(strategy, cloud, t, region_code, trust, &facts).await
}

async fn attempt_with(
    strategy: &dyn Strategy,
    cloud: &MemoryCloud,
    t: &Template,
    region_code: &str,
    trust: &TrustPolicy,
    facts: &StaticFacts,
) -> Attempt {
    let r = region(region_code);
    let archs: Vec<Architecture> = choices(t).iter().map(|c| c.architecture).collect();
    let cx = Context::new(t, &r, cloud, trust, &archs, facts, cloud.now());
    strategy.attempt(&cx).await
}

fn skip(a: &Attempt) -> &Skip {
    match a {
        Attempt::Skipped(why) => why,
        other => panic!("expected a skip, got {other:?}"),
    }
}

/// The skip as a person reads it.
fn skipped(a: &Attempt) -> String {
    skip(a).to_string()
}

#[tokio::test(start_paused = true)]
async fn direct_mapping_refuses_an_untrusted_owner() {
    let cloud = MemoryCloud::builder()
        .caller(acct(LAB))
        .region(region("us-east-1"))
        .image(
            ImageSeed::new(image("ami-00000001", "us-east-1", "theirs", OTHER))
                .launch_permission(LaunchPermission::Public),
        )
        .build()
        .unwrap();
    let t = template(
        "name: t\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: error\n  ami_mappings:\n    us-east-1: ami-00000001\n",
    );
    let a = attempt(
        &DirectMapping,
        &cloud,
        &t,
        "us-east-1",
        &TrustPolicy::default(),
    )
    .await;
    assert_eq!(
        skipped(&a),
        "ami_mappings.us-east-1: ami-00000001 is owned by 555566667777, which the default trust policy (trusts self, amazon) does not trust"
    );
    // The same as facts: the refused image, its owner and the policy's origin.
    match skip(&a).rejections()[..] {
        [
            Rejection::Untrusted {
                image,
                owner,
                policy,
            },
        ] => {
            assert_eq!(image.as_str(), "ami-00000001");
            assert_eq!(owner, &acct(OTHER));
            assert_eq!(policy.origin, PolicyOrigin::Default);
        }
        ref other => panic!("{other:?}"),
    }
    let trusting = TrustPolicy::default().with_trusted(acct(OTHER).into());
    let a = attempt(&DirectMapping, &cloud, &t, "us-east-1", &trusting).await;
    assert!(matches!(a, Attempt::Found(_)));
}

#[tokio::test(start_paused = true)]
async fn a_search_without_owners_is_refused() {
    let cloud = MemoryCloud::builder()
        .caller(acct(LAB))
        .region(region("us-east-1"))
        .build()
        .unwrap();
    let mut t = template(
        "name: t\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: error\n  ami_search:\n    owner: amazon\n    name_pattern: x-*\n",
    );
    // The loader requires an owner; a template built in code may still lack one.
    let search = t.ami_config.as_mut().unwrap().ami_search.as_mut().unwrap();
    search.owner = None;
    let a = attempt(
        &DynamicSearch,
        &cloud,
        &t,
        "us-east-1",
        &TrustPolicy::default(),
    )
    .await;
    assert!(
        matches!(
            a,
            Attempt::Failed(StrategyError::Trust(TrustError::NoOwner))
        ),
        "{a:?}"
    );
    assert_eq!(cloud.counters().total(), 0, "no call was made");
}

#[tokio::test(start_paused = true)]
async fn marketplace_checks_the_product_code_and_the_constraint() {
    let mut product = MarketplaceProduct::new("prod-code-1", "prod-1", "Product");
    let mut v1 = ProductVersion::new("1.0.0");
    v1.images
        .insert(region("us-east-1"), "ami-00000011".parse().unwrap());
    let mut v2 = ProductVersion::new("v2.0.0");
    v2.images
        .insert(region("us-east-1"), "ami-00000012".parse().unwrap());
    product.versions = vec![v1, v2];
    let mut coded = image("ami-00000011", "us-east-1", "p-1.0.0", MARKETPLACE);
    coded.owner_alias = Some("aws-marketplace".into());
    coded.product_codes.push(ProductCode {
        code: "prod-code-1".into(),
        kind: ProductCodeType::Marketplace,
    });
    // 2.0.0's image lacks the product code: a catalogue error the tier must not trust.
    let mut uncoded = image("ami-00000012", "us-east-1", "p-2.0.0", MARKETPLACE);
    uncoded.owner_alias = Some("aws-marketplace".into());
    let cloud = MemoryCloud::builder()
        .caller(acct(LAB))
        .region(region("us-east-1"))
        .image(ImageSeed::new(coded).launch_permission(LaunchPermission::Public))
        .image(ImageSeed::new(uncoded).launch_permission(LaunchPermission::Public))
        .product(product)
        .build()
        .unwrap();
    let t = template(
        "name: t\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: error\n  marketplace_search:\n    product_code: prod-code-1\n",
    );
    // The default policy trusts self and amazon only: no Marketplace image, and no call.
    let a = attempt(
        &Marketplace,
        &cloud,
        &t,
        "us-east-1",
        &TrustPolicy::default(),
    )
    .await;
    match &a {
        Attempt::Failed(StrategyError::Trust(TrustError::UntrustedOwners { owners, .. })) => {
            assert_eq!(owners, &[amiref_core::Owner::AwsMarketplace]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cloud.counters().total(), 0);
    let market = TrustPolicy::default().with_trusted(amiref_core::Owner::AwsMarketplace);
    match attempt(&Marketplace, &cloud, &t, "us-east-1", &market).await {
        Attempt::Found(f) => assert_eq!(f.image.id.as_str(), "ami-00000011"),
        other => panic!("{other:?}"),
    }
    let t = template(
        "name: t\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: error\n  marketplace_search:\n    product_code: prod-code-1\n    version_constraint: \">=2\"\n",
    );
    let a = attempt(&Marketplace, &cloud, &t, "us-east-1", &market).await;
    assert!(
        skipped(&a).contains("ami-00000012 does not carry product code prod-code-1"),
        "{a:?}"
    );
    let t = template(
        "name: t\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: error\n  marketplace_search:\n    product_code: no-such-code\n",
    );
    let a = attempt(&Marketplace, &cloud, &t, "us-east-1", &market).await;
    assert_eq!(skipped(&a), "no Marketplace product has code no-such-code");
}

struct Fixed(Vec<Region>);
impl FallbackRegions for Fixed {
    fn fallback_regions(&self, _: &Region) -> Vec<Region> {
        self.0.clone()
    }
}

struct PerRegionCost;
impl CopyEstimator for PerRegionCost {
    fn estimate_copy(&self, image: &Image, _: &Region) -> CopyEstimate {
        // us-west-2 is cheap, everything else dear; all copies take as long.
        let cost = if image.region.as_str() == "us-west-2" {
            1.0
        } else {
            5.0
        };
        CopyEstimate::new(8, std::time::Duration::from_secs(600), cost, 0.4)
    }
}

/// The cross-region tier never plans a copy EC2 would refuse (a paid Marketplace image,
/// another account's encrypted image), and orders finds by the priority.
#[tokio::test(start_paused = true)]
async fn cross_region_skips_uncopyable_images_and_weighs_priority() {
    let mut paid = image("ami-00000021", "eu-west-1", "lab-1.0.0", MARKETPLACE);
    paid.product_codes.push(ProductCode {
        code: "pc".into(),
        kind: ProductCodeType::Marketplace,
    });
    let mut encrypted = image("ami-00000022", "eu-central-1", "lab-1.0.0", OTHER);
    encrypted.block_devices.push(amiref_core::BlockDevice {
        device_name: "/dev/xvda".into(),
        snapshot_id: None,
        volume_size_gib: Some(8),
        encrypted: true,
    });
    let near = image("ami-00000023", "us-east-2", "lab-1.0.0", LAB);
    let cheap = image("ami-00000024", "us-west-2", "lab-1.0.0", LAB);
    let cloud = MemoryCloud::builder()
        .caller(acct(LAB))
        .region(region("ap-south-1"))
        .image(
            ImageSeed::new(paid)
                .launch_permission(LaunchPermission::Public)
                .paid(true),
        )
        .image(ImageSeed::new(encrypted).launch_permission(LaunchPermission::Account(acct(LAB))))
        .image(ImageSeed::new(near))
        .image(ImageSeed::new(cheap))
        .build()
        .unwrap();
    let t = template(
        "name: t\ninstance_type: m6i.large\nami_config:\n  ami_mappings:\n    eu-west-1: ami-00000021\n    eu-central-1: ami-00000022\n    us-east-2: ami-00000023\n    us-west-2: ami-00000024\n  fallback_strategy: cross_region\n",
    );
    let trust = TrustPolicy::default()
        .with_trusted(acct(OTHER).into())
        .with_trusted(acct(MARKETPLACE).into());
    let walk = Arc::new(Fixed(
        ["eu-west-1", "eu-central-1", "us-east-2", "us-west-2"]
            .map(region)
            .to_vec(),
    ));
    let tiers: Vec<Arc<dyn Strategy>> = vec![Arc::new(DirectMapping)];
    for (priority, want) in [
        (CopyPriority::Speed, "us-east-2"),
        (CopyPriority::Cost, "us-west-2"),
    ] {
        let tier = CrossRegion::new(
            tiers.clone(),
            walk.clone(),
            Arc::new(PerRegionCost),
            priority,
            4,
        );
        match attempt(&tier, &cloud, &t, "ap-south-1", &trust).await {
            Attempt::Found(f) => {
                let plan = f.copy_plan.unwrap();
                assert_eq!(plan.source_region.as_str(), want, "{priority:?}");
                assert_eq!(plan.destination_region.as_str(), "ap-south-1");
                assert_eq!(
                    plan.client_token,
                    amiref_core::copy_client_token(
                        &plan.source_region,
                        &plan.source_image,
                        &region("ap-south-1"),
                        &plan.source_name,
                        None,
                        0
                    )
                );
                assert!(plan.client_token.len() <= 64);
            }
            other => panic!("{other:?}"),
        }
    }
    // Only the uncopyable ones left: skipped, with why.
    let walk = Arc::new(Fixed(["eu-west-1", "eu-central-1"].map(region).to_vec()));
    let tier = CrossRegion::new(tiers, walk, Arc::new(PerRegionCost), CopyPriority::Speed, 4);
    let a = attempt(&tier, &cloud, &t, "ap-south-1", &trust).await;
    let Skip::NotInFallbackRegions(search) = skip(&a) else {
        panic!("{a:?}");
    };
    let refusals: Vec<&CopyRefusal> = search.passed_over.iter().map(|p| &p.refusal).collect();
    assert!(
        matches!(
            refusals[..],
            [
                CopyRefusal::MarketplaceProductCode { .. },
                CopyRefusal::EncryptedByOwner { .. }
            ] | [
                CopyRefusal::EncryptedByOwner { .. },
                CopyRefusal::MarketplaceProductCode { .. }
            ]
        ),
        "{refusals:?}"
    );
    let why = skipped(&a);
    assert!(
        why.contains(
            "ami-00000021 carries Marketplace product code pc, and EC2 copies no Marketplace image"
        ),
        "{why}"
    );
    assert!(
        why.contains("ami-00000022 is encrypted with a key of its owner 555566667777"),
        "{why}"
    );
}
