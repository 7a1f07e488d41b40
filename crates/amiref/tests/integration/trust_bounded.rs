//! Issue 10, end to end: every rule of "resolution you can trust on any account", as a user
//! of the library sees it, each on a small in-process world drawn for it, on tokio's paused
//! clock.
//!
//! 1. trust: the policy is the ceiling of every tier;
//! 2. copyability: a cross-region source is one EC2 would let the caller copy;
//! 3. launchable pairings: instance types the region offers, documented defaults;
//! 4. version first across regions;
//! 5. the account's Allowed AMIs;
//! 6. SSM parameters as a source, and the script's default base image;
//! 7. one round trip (and the serial baseline);
//! 8. bounded inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use amiref::strategies::{DEFAULT_INSTANCE_TYPES, al2023_parameter};
use amiref::{ChainEntry, Outcome, Resolution, ResolveError, Resolver, TrustPolicy};
use amiref_core::{
    AccountId, AmiId, Architecture, CopyImageRequest, ImageRegistry, ImageStore, Owner, Region,
    RegistryCandidate, RegistryError, ResolutionMethod,
};
use amiref_memory::{MemoryCloud, op};
use amiref_template::{AmiConfig, FallbackStrategy, HumanDuration, Template};
use async_trait::async_trait;
use common::{resolver_trusting, template};
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// The caller.
const ME: &str = "123456789012";
/// A vendor: trusted only where a policy names it (as the named owner `vendor`).
const VENDOR: &str = "444455556666";
/// Someone no policy here trusts.
const STRANGER: &str = "999988887777";

/// Every world's accounts: the caller, Amazon and the Marketplace (with their aliases), a
/// vendor and a stranger.
const HEADER: &str = r#"start: 2026-11-01T09:00:00Z
caller: "123456789012"
accounts:
  - id: "123456789012"
  - id: "137112412989"
    alias: amazon
  - id: "679593333241"
    alias: aws-marketplace
  - id: "444455556666"
  - id: "999988887777"
"#;

fn world(body: &str) -> Arc<MemoryCloud> {
    common::world(&format!("{HEADER}{body}"))
}

fn r(s: &str) -> Region {
    s.parse().unwrap()
}

fn ami(s: &str) -> AmiId {
    s.parse().unwrap()
}

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// The default policy plus the vendor as the named owner `vendor`.
fn vendor_trust() -> TrustPolicy {
    TrustPolicy::default().with_named_owner("vendor", [acct(VENDOR)])
}

fn resolver(cloud: &Arc<MemoryCloud>, trust: TrustPolicy) -> Resolver {
    resolver_trusting(cloud, trust, |b| b)
}

/// A resolver with no trust policy given: the default (what the launcher uses with no
/// trust file).
fn resolver_default_policy(cloud: &Arc<MemoryCloud>) -> Resolver {
    let clock = cloud.clone();
    Resolver::builder()
        .cloud(cloud.clone())
        .clock(Arc::new(move || clock.now()))
        .build()
        .unwrap()
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
        Err(e) => panic!("{} in {region} should resolve: {e}", t.name),
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

/// A registry that offers fixed entries (the tier's port, as amiref-registry implements it).
struct FixedRegistry(Vec<RegistryCandidate>);

#[async_trait]
impl ImageRegistry for FixedRegistry {
    async fn candidates(
        &self,
        template: &str,
        region: &Region,
        _architectures: &[Architecture],
    ) -> Result<Vec<RegistryCandidate>, RegistryError> {
        Ok(self
            .0
            .iter()
            .filter(|c| c.template == template && &c.region == region)
            .cloned()
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// 1. Trust: the policy is the ceiling of every tier
// ---------------------------------------------------------------------------------------

/// The vendor's newer look-alike and Amazon's image, both named `app-*`.
const LOOKALIKE: &str = r#"instance_types:
  - name: m6i.large
images:
  - name: app-1.0.0
    owner: "444455556666"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-00000000000000a01
    region: us-east-1
  - name: app-0.9.0
    owner: "137112412989"
    architecture: x86_64
    created: 2026-09-01T00:00:00Z
    public: true
    id: ami-00000000000000a02
    region: us-east-1
"#;

#[tokio::test(start_paused = true)]
async fn a_search_owner_the_policy_does_not_trust_is_refused() {
    let cloud = world(LOOKALIKE);
    let t = template(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: "444455556666"
    name_pattern: "app-*"
  fallback_strategy: error
"#,
    );
    let policy = TrustPolicy::default().with_origin("trust.yaml");
    let err = refused(&resolver(&cloud, policy), &t, "us-east-1").await;
    let search = entry(err.chain(), ResolutionMethod::DynamicSearch);
    assert!(
        matches!(search.outcome, Outcome::Failed { .. }),
        "{search:#?}"
    );
    // The refusal names the policy (where it came from, whom it trusts) and the owner.
    assert_contains(
        &search.reason(),
        "the trust policy trust.yaml (trusts self, amazon) does not trust 444455556666",
    );
    assert_contains(&err.to_string(), "444455556666");
    // The policy trusts `self`, and the account could have been the caller's: the search
    // went out at once (one round trip), and nothing it found was used.
    assert_eq!(cloud.counters().operation(op::DESCRIBE_IMAGES), 1);
    // Under a policy that does not trust `self`, it is refused without a call.
    let cloud = world(LOOKALIKE);
    let amazon_only = TrustPolicy::empty()
        .with_trusted(amiref_core::Owner::Amazon)
        .with_origin("amazon.yaml");
    let err = refused(&resolver(&cloud, amazon_only), &t, "us-east-1").await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::DynamicSearch).reason(),
        "the trust policy amazon.yaml (trusts amazon) does not trust 444455556666",
    );
    assert_eq!(cloud.counters().operation(op::DESCRIBE_IMAGES), 0);

    // The caller's own account id is trusted through `self` (judged when the caller's
    // identity arrives, beside the search).
    let cloud = world(&format!(
        "{LOOKALIKE}  - name: app-mine-1.0.0\n    architecture: x86_64\n    created: 2026-10-02T00:00:00Z\n    id: ami-00000000000000a03\n    region: us-east-1\n"
    ));
    let own_id = template(&format!(
        "name: app\ninstance_type: m6i.large\nami_config:\n  strategy: ami_preferred\n  ami_search:\n    owner: \"{ME}\"\n    name_pattern: \"app-*\"\n  fallback_strategy: error\n"
    ));
    let res = resolved(
        &resolver(&cloud, TrustPolicy::default()),
        &own_id,
        "us-east-1",
    )
    .await;
    assert_eq!(res.image.id, ami("ami-00000000000000a03"));

    // With a trusted owner beside it, only the trusted one is searched, and the chain says
    // which was left out.
    let cloud = world(LOOKALIKE);
    let mixed = template(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owners: [amazon, "444455556666"]
    name_pattern: "app-*"
  fallback_strategy: error
"#,
    );
    let res = resolved(
        &resolver(&cloud, TrustPolicy::default()),
        &mixed,
        "us-east-1",
    )
    .await;
    assert_eq!(res.method, ResolutionMethod::DynamicSearch);
    assert_eq!(
        res.image.id,
        ami("ami-00000000000000a02"),
        "Amazon's, not the newer look-alike"
    );
    assert_contains(
        &entry(&res.chain, ResolutionMethod::DynamicSearch).reason(),
        "not searched: 444455556666, which the default trust policy (trusts self, amazon) does not trust",
    );
}

#[tokio::test(start_paused = true)]
async fn a_base_image_owner_the_policy_does_not_trust_is_refused() {
    let cloud = world(LOOKALIKE);
    let script = |owner: &str| {
        template(&format!(
            r#"name: app
instance_type: m6i.large
base_image:
  owner: "{owner}"
  name_pattern: "app-*"
ami_config:
  strategy: ami_preferred
  fallback_strategy: script_provisioning
user_data: |
  #!/bin/bash
  echo provisioning
"#
        ))
    };
    let err = refused(
        &resolver(&cloud, TrustPolicy::default()),
        &script(VENDOR),
        "us-east-1",
    )
    .await;
    let tier = entry(err.chain(), ResolutionMethod::ScriptProvisioning);
    assert!(matches!(tier.outcome, Outcome::Failed { .. }), "{tier:#?}");
    assert_contains(
        &tier.reason(),
        "the default trust policy (trusts self, amazon) does not trust 444455556666",
    );
    // Searched at once (it could have been the caller's account), nothing of it used.
    assert_eq!(cloud.counters().operation(op::DESCRIBE_IMAGES), 1);

    // The same template with a trusted base-image owner provisions on its image.
    let cloud = world(LOOKALIKE);
    let res = resolved(
        &resolver(&cloud, TrustPolicy::default()),
        &script("amazon"),
        "us-east-1",
    )
    .await;
    assert_eq!(res.method, ResolutionMethod::ScriptProvisioning);
    assert_eq!(res.image.id, ami("ami-00000000000000a02"));
}

/// A stranger's image mapped in ap-southeast-1, ap-south-1's first fallback region.
const UNTRUSTED_SOURCE: &str = r#"instance_types:
  - name: m6i.large
images:
  - name: app-1.0.0
    owner: "999988887777"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-00000000000000a11
    region: ap-southeast-1
"#;

const UNTRUSTED_SOURCE_TEMPLATE: &str = r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_required
  ami_mappings:
    ap-southeast-1: ami-00000000000000a11
  fallback_strategy: cross_region
"#;

#[tokio::test(start_paused = true)]
async fn a_cross_region_source_the_policy_does_not_trust_is_never_copied() {
    let cloud = world(UNTRUSTED_SOURCE);
    let err = refused(
        &resolver(&cloud, TrustPolicy::default()),
        &template(UNTRUSTED_SOURCE_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let cross = entry(err.chain(), ResolutionMethod::CrossRegion);
    assert!(
        matches!(cross.outcome, Outcome::Skipped { .. }),
        "{cross:#?}"
    );
    assert_eq!(cloud.counters().operation(op::COPY_IMAGE), 0);
}

#[tokio::test(start_paused = true)]
async fn a_cross_region_refusal_says_why_the_source_was_refused() {
    let cloud = world(UNTRUSTED_SOURCE);
    let err = refused(
        &resolver(&cloud, TrustPolicy::default()),
        &template(UNTRUSTED_SOURCE_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let reason = &entry(err.chain(), ResolutionMethod::CrossRegion).reason();
    assert_contains(reason, "999988887777");
    assert_contains(reason, "does not trust");
}

/// The caller's own image, Amazon's, and a Marketplace listing.
const OWNERS: &str = r#"instance_types:
  - name: m6i.large
images:
  - name: app-mine-1.0.0
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    id: ami-00000000000000b01
    region: us-east-1
  - name: app-amazon-1.0.0
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-00000000000000b02
    region: us-east-1
  - name: app-market-1.0.0
    owner: "679593333241"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    product_codes: [app-code]
    id: ami-00000000000000b03
    region: us-east-1
products:
  - product_code: app-code
    product_id: prod-app0000001
    title: App Pro
    versions:
      - version: 1.0.0
        released: 2026-10-01T00:00:00Z
        images:
          us-east-1: ami-00000000000000b03
"#;

#[tokio::test(start_paused = true)]
async fn a_policy_that_trusts_nobody_refuses_self_amazon_and_the_marketplace() {
    let cloud = world(OWNERS);
    let t = template(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-00000000000000b01
  ami_search:
    owners: [self, amazon]
    name_pattern: "app-*"
  marketplace_search:
    product_code: app-code
  fallback_strategy: error
"#,
    );
    let policy = TrustPolicy::empty().with_origin("nobody.yaml");
    let err = refused(&resolver(&cloud, policy), &t, "us-east-1").await;
    let chain = err.chain();

    // The caller's own image, mapped: refused like anyone's.
    let mapping = entry(chain, ResolutionMethod::DirectMapping);
    assert!(
        matches!(mapping.outcome, Outcome::Skipped { .. }),
        "{mapping:#?}"
    );
    assert_contains(
        &mapping.reason(),
        "owned by 123456789012, which the trust policy nobody.yaml (trusts nobody) does not trust",
    );
    // `self` and `amazon` in a search: refused before any call.
    let search = entry(chain, ResolutionMethod::DynamicSearch);
    assert!(
        matches!(search.outcome, Outcome::Failed { .. }),
        "{search:#?}"
    );
    assert_contains(
        &search.reason(),
        "the trust policy nobody.yaml (trusts nobody) does not trust self, amazon",
    );
    // The Marketplace: refused before the product is looked up.
    let market = entry(chain, ResolutionMethod::Marketplace);
    assert!(
        matches!(market.outcome, Outcome::Failed { .. }),
        "{market:#?}"
    );
    assert_contains(
        &market.reason(),
        "the trust policy nobody.yaml (trusts nobody) does not trust aws-marketplace",
    );
    let counters = cloud.counters();
    assert_eq!(
        counters.operation(op::DESCRIBE_IMAGES),
        1,
        "only the mapping's describe"
    );
    assert_eq!(counters.operation(op::DESCRIBE_ENTITY), 0);
}

/// A policy built in code has no file to name; its refusals must still not call it "the
/// default" policy when it is not.
#[tokio::test(start_paused = true)]
async fn a_policy_built_in_code_is_not_called_the_default() {
    let cloud = world(OWNERS);
    let t = template(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-00000000000000b03
  fallback_strategy: error
"#,
    );
    let err = refused(&resolver(&cloud, TrustPolicy::empty()), &t, "us-east-1").await;
    let reason = &entry(err.chain(), ResolutionMethod::DirectMapping).reason();
    assert_contains(reason, "trusts nobody");
    assert!(
        !reason.contains("the default trust policy"),
        "an empty policy is not the default one: {reason}"
    );
    let marketplace_and_defaults = TrustPolicy::default().with_trusted(Owner::AwsMarketplace);
    assert!(
        !marketplace_and_defaults
            .describe()
            .contains("the default trust policy"),
        "{}",
        marketplace_and_defaults.describe()
    );
}

#[tokio::test(start_paused = true)]
async fn the_default_policy_trusts_self_and_amazon_only_and_says_so() {
    let cloud = world(OWNERS);
    let resolver = resolver_default_policy(&cloud);

    // A Marketplace product finds nothing under it, and the chain says why.
    let product = template(
        r#"name: app-pro
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  marketplace_search:
    product_code: app-code
  fallback_strategy: error
"#,
    );
    let err = refused(&resolver, &product, "us-east-1").await;
    let market = entry(err.chain(), ResolutionMethod::Marketplace);
    assert!(
        matches!(market.outcome, Outcome::Failed { .. }),
        "{market:#?}"
    );
    assert_contains(
        &market.reason(),
        "the default trust policy (trusts self, amazon) does not trust aws-marketplace",
    );
    assert_contains(&err.to_string(), "aws-marketplace");
    assert_eq!(cloud.counters().operation(op::DESCRIBE_ENTITY), 0);

    // Mapping the listing's image does not get round it.
    let mapped = template(
        r#"name: app-mapped
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-00000000000000b03
  fallback_strategy: error
"#,
    );
    let err = refused(&resolver, &mapped, "us-east-1").await;
    assert_contains(
        &entry(err.chain(), ResolutionMethod::DirectMapping).reason(),
        "owned by 679593333241, which the default trust policy (trusts self, amazon) does not trust",
    );

    // The caller's own images and Amazon's are trusted.
    let mine = template(
        r#"name: app-mine
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-00000000000000b01
  fallback_strategy: error
"#,
    );
    let res = resolved(&resolver, &mine, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::DirectMapping);
    assert_eq!(res.image.owner, acct(ME));
    let amazon = template(
        r#"name: app-amazon
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "app-*"
  fallback_strategy: error
"#,
    );
    let res = resolved(&resolver, &amazon, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::DynamicSearch);
    assert_eq!(res.image.id, ami("ami-00000000000000b02"));
}

/// A refusal by the trust policy is not a failure that may pass: a resolution shaped by one
/// is cached for the positive TTL (found) or the negative one (not found), like any other,
/// and says it is not transient.
#[tokio::test(start_paused = true)]
async fn a_trust_refusal_is_cached_like_any_answer() {
    let cloud = world(OWNERS);
    let resolver = resolver_default_policy(&cloud);
    // Found by the script, after the search was refused by the default policy.
    let both = template(
        r#"name: app-both
instance_type: m6i.large
base_image:
  owner: amazon
  name_pattern: "app-*"
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: "444455556666"
    name_pattern: "app-*"
  fallback_strategy: script_provisioning
user_data: |
  #!/bin/bash
  echo provisioning
"#,
    );
    let res = resolved(&resolver, &both, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::ScriptProvisioning);
    let search = entry(&res.chain, ResolutionMethod::DynamicSearch);
    assert!(
        matches!(search.outcome, Outcome::Failed { .. }),
        "{search:#?}"
    );
    assert!(!search.transient, "{search:#?}");
    let calls = cloud.counters().total();
    // Two minutes on (inside the positive TTL, past the negative one): still a hit.
    tokio::time::advance(std::time::Duration::from_secs(120)).await;
    resolved(&resolver, &both, "us-east-1").await;
    assert_eq!(cloud.counters().total(), calls, "a hit makes no call");

    // Not found because of a refusal: cached for the negative TTL, not retried each time.
    let product = template(
        r#"name: app-pro
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  marketplace_search:
    product_code: app-code
  fallback_strategy: error
"#,
    );
    let err = refused(&resolver, &product, "us-east-1").await;
    assert!(!err.is_transient(), "{err}");
    let calls = cloud.counters().total();
    refused(&resolver, &product, "us-east-1").await;
    assert_eq!(
        cloud.counters().total(),
        calls,
        "a cached refusal makes no call"
    );
}

/// App Pro: 3.0.0 is an image that carries the code but is the vendor's, 2.5.0 is the
/// Marketplace's without the code, 2.0.0 is the real listing. App Lite has only the two
/// impostors.
const MARKETPLACE: &str = r#"instance_types:
  - name: m6i.large
images:
  - name: app-pro-2.0.0
    owner: "679593333241"
    architecture: x86_64
    created: 2026-09-01T00:00:00Z
    public: true
    product_codes: [app-pro]
    id: ami-00000000000000c01
    region: us-east-1
  - name: app-2.5.0
    owner: "679593333241"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-00000000000000c02
    region: us-east-1
  - name: app-pro-3.0.0
    owner: "444455556666"
    architecture: x86_64
    created: 2026-10-15T00:00:00Z
    public: true
    product_codes: [app-pro]
    id: ami-00000000000000c03
    region: us-east-1
  - name: app-lite-3.0.0
    owner: "444455556666"
    architecture: x86_64
    created: 2026-10-15T00:00:00Z
    public: true
    product_codes: [app-lite]
    id: ami-00000000000000c04
    region: us-east-1
products:
  - product_code: app-pro
    product_id: prod-apppro00001
    title: App Pro
    versions:
      - version: 2.0.0
        released: 2026-09-01T00:00:00Z
        images: {us-east-1: ami-00000000000000c01}
      - version: 2.5.0
        released: 2026-10-01T00:00:00Z
        images: {us-east-1: ami-00000000000000c02}
      - version: 3.0.0
        released: 2026-10-15T00:00:00Z
        images: {us-east-1: ami-00000000000000c03}
  - product_code: app-lite
    product_id: prod-applite0001
    title: App Lite
    versions:
      - version: 2.5.0
        released: 2026-10-01T00:00:00Z
        images: {us-east-1: ami-00000000000000c02}
      - version: 3.0.0
        released: 2026-10-15T00:00:00Z
        images: {us-east-1: ami-00000000000000c04}
"#;

#[tokio::test(start_paused = true)]
async fn a_marketplace_image_is_the_marketplace_accounts_and_carries_the_product_code() {
    let cloud = world(MARKETPLACE);
    // The vendor is trusted too: it is the Marketplace rule, not the policy, that refuses
    // its image carrying the code.
    let policy = TrustPolicy::default()
        .with_trusted(Owner::AwsMarketplace)
        .with_trusted(Owner::Account(acct(VENDOR)));
    let resolver = resolver(&cloud, policy);
    let product = |code: &str| {
        template(&format!(
            r#"name: {code}
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  marketplace_search:
    product_code: {code}
  fallback_strategy: error
"#
        ))
    };

    let res = resolved(&resolver, &product("app-pro"), "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::Marketplace);
    assert_eq!(
        res.image.id,
        ami("ami-00000000000000c01"),
        "2.0.0: 3.0.0 is not the Marketplace's, 2.5.0 lacks the code"
    );

    let err = refused(&resolver, &product("app-lite"), "us-east-1").await;
    let market = entry(err.chain(), ResolutionMethod::Marketplace);
    assert!(
        matches!(market.outcome, Outcome::Skipped { .. }),
        "{market:#?}"
    );
    assert_contains(
        &market.reason(),
        "ami-00000000000000c04 is owned by 444455556666, not by the AWS Marketplace's publishing account (aws-marketplace)",
    );
    assert_contains(
        &market.reason(),
        "ami-00000000000000c02 does not carry product code app-lite",
    );
}

/// The vendor's public image, which a registry entry offers.
const REGISTRY_WORLD: &str = r#"instance_types:
  - name: m6i.large
images:
  - name: app-community-1.0.0
    owner: "444455556666"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-00000000000000d01
    region: us-east-1
"#;

const REGISTRY_TEMPLATE: &str = r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  fallback_strategy: error
"#;

fn registry_entry(signed: bool, owner_stated: bool, retired: bool) -> RegistryCandidate {
    let mut c = RegistryCandidate::new(
        "app",
        "1.0.0",
        ami("ami-00000000000000d01"),
        r("us-east-1"),
        Architecture::X86_64,
        "community",
    );
    if owner_stated {
        c.expected_owner = Some(acct(VENDOR));
    }
    if signed {
        c.signed_by = Some("publisher-key-1".into());
    }
    c.signer_retired = retired;
    c.score = 1.0;
    c
}

fn with_registry(
    cloud: &Arc<MemoryCloud>,
    trust: TrustPolicy,
    entries: Vec<RegistryCandidate>,
) -> Resolver {
    resolver_trusting(cloud, trust, |b| {
        b.registry(Arc::new(FixedRegistry(entries)))
    })
}

#[tokio::test(start_paused = true)]
async fn a_registry_vouches_for_an_owner_outside_the_policy_only_where_the_policy_lets_it() {
    let cloud = world(REGISTRY_WORLD);
    let t = template(REGISTRY_TEMPLATE);
    let signed = || vec![registry_entry(true, true, false)];

    // By default, a registry entry is held to the policy like every other tier.
    let err = refused(
        &with_registry(&cloud, TrustPolicy::default(), signed()),
        &t,
        "us-east-1",
    )
    .await;
    let tier = entry(err.chain(), ResolutionMethod::CommunityRegistry);
    assert!(matches!(tier.outcome, Outcome::Skipped { .. }), "{tier:#?}");
    assert_contains(
        &tier.reason(),
        "owned by 444455556666, which the default trust policy (trusts self, amazon) does not trust",
    );

    // Where the policy lets registry publishers vouch, the signed entry that states its
    // owner is used.
    let vouching = TrustPolicy::default().with_registry_vouching(true);
    let res = resolved(
        &with_registry(&cloud, vouching.clone(), signed()),
        &t,
        "us-east-1",
    )
    .await;
    assert_eq!(res.method, ResolutionMethod::CommunityRegistry);
    assert_eq!(res.image.id, ami("ami-00000000000000d01"));

    // Even then, an unsigned entry, or one that does not state its owner, vouches for nobody.
    for (case, entry_) in [
        ("unsigned", registry_entry(false, true, false)),
        ("no stated owner", registry_entry(true, false, false)),
    ] {
        let err = refused(
            &with_registry(&cloud, vouching.clone(), vec![entry_]),
            &t,
            "us-east-1",
        )
        .await;
        let tier = entry(err.chain(), ResolutionMethod::CommunityRegistry);
        assert!(
            matches!(tier.outcome, Outcome::Skipped { .. }),
            "{case}: {tier:#?}"
        );
        assert_contains(&tier.reason(), "does not trust");
    }
}

#[tokio::test(start_paused = true)]
async fn an_entry_signed_by_a_retired_key_is_used_with_a_warning() {
    let cloud = world(REGISTRY_WORLD);
    let t = template(REGISTRY_TEMPLATE);
    let res = resolved(
        &with_registry(
            &cloud,
            vendor_trust(),
            vec![registry_entry(true, true, true)],
        ),
        &t,
        "us-east-1",
    )
    .await;
    assert_eq!(res.method, ResolutionMethod::CommunityRegistry);
    assert!(
        res.warnings.iter().any(
            |w| matches!(w, amiref::Warning::RetiredSigner { key, .. } if key == "publisher-key-1")
                && w.to_string().contains("retired key publisher-key-1")
        ),
        "{:#?}",
        res.warnings
    );
    assert_contains(
        &entry(&res.chain, ResolutionMethod::CommunityRegistry).reason(),
        "signed by publisher-key-1, retired",
    );

    // An active key's entry carries no such warning.
    let res = resolved(
        &with_registry(
            &cloud,
            vendor_trust(),
            vec![registry_entry(true, true, false)],
        ),
        &t,
        "us-east-1",
    )
    .await;
    assert!(
        !res.warnings
            .iter()
            .any(|w| w.to_string().contains("retired")),
        "{:#?}",
        res.warnings
    );
}

// ---------------------------------------------------------------------------------------
// 2. Copyability: a cross-region source is one EC2 would let the caller copy
// ---------------------------------------------------------------------------------------

/// The vendor's app, searched for in ap-south-1 (which has none; its fallbacks are
/// ap-southeast-1, then ap-northeast-1, then us-east-1).
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

/// One vendor image: name, version, how it is offered, id, region.
fn vendor_image(name: &str, version: &str, extra: &str, id: &str, region: &str) -> String {
    format!(
        r#"  - name: {name}
    owner: "444455556666"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    tags: {{Version: "{version}"}}
    id: {id}
    region: {region}
{extra}"#
    )
}

#[tokio::test(start_paused = true)]
async fn a_billing_product_of_another_account_is_passed_over_for_the_next_copyable_match() {
    let body = format!(
        "instance_types:\n  - name: m6i.large\nimages:\n{}{}{}",
        // ap-southeast-1's best match is RHEL (a billing product): EC2 refuses to copy it.
        vendor_image(
            "app-2.0.0",
            "2.0.0",
            "    public: true\n    usage_operation: \"RunInstances:0010\"\n    platform_details: Red Hat Enterprise Linux\n",
            "ami-00000000000000e01",
            "ap-southeast-1"
        ),
        // Beside it, a plain Linux/UNIX match in range.
        vendor_image(
            "app-1.9.0",
            "1.9.0",
            "    public: true\n",
            "ami-00000000000000e02",
            "ap-southeast-1"
        ),
        // A farther region has an older one.
        vendor_image(
            "app-1.5.0",
            "1.5.0",
            "    public: true\n",
            "ami-00000000000000e03",
            "ap-northeast-1"
        ),
    );
    let cloud = world(&body);
    let resolver = resolver(&cloud, vendor_trust());
    let res = resolved(&resolver, &template(COPY_TEMPLATE), "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-southeast-1"), "the same region");
    assert_eq!(plan.source_image, ami("ami-00000000000000e02"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::CrossRegion).reason(),
        "passed over: ap-southeast-1: ami-00000000000000e01 has a billing product (usage operation RunInstances:0010, platform Red Hat Enterprise Linux)",
    );

    // EC2 would indeed refuse the one passed over, and copies the one chosen.
    let refused_copy = cloud
        .copy_image(&CopyImageRequest::new(
            r("ap-southeast-1"),
            ami("ami-00000000000000e01"),
            r("ap-south-1"),
            "app-2.0.0",
            "billing-product-copy",
        ))
        .await;
    assert!(refused_copy.is_err(), "{refused_copy:?}");
    let copy = common::copy(&cloud, &resolver, &plan).await.unwrap();
    assert_eq!(copy.region, r("ap-south-1"));
    assert!(copy.is_available());
}

#[tokio::test(start_paused = true)]
async fn a_shared_image_without_create_volume_permission_is_passed_over() {
    let shared = "    shared_with:\n      - account: \"123456789012\"\n";
    let body = format!(
        "instance_types:\n  - name: m6i.large\nimages:\n{}{}{}",
        // Shared with the caller, but not its snapshot.
        vendor_image(
            "app-2.0.0",
            "2.0.0",
            &format!("{shared}    volume_permissions: []\n"),
            "ami-00000000000000e11",
            "ap-southeast-1"
        ),
        // Shared with its snapshot (create-volume permission follows the share).
        vendor_image(
            "app-1.9.0",
            "1.9.0",
            shared,
            "ami-00000000000000e12",
            "ap-southeast-1"
        ),
        vendor_image(
            "app-1.5.0",
            "1.5.0",
            "    public: true\n",
            "ami-00000000000000e13",
            "ap-northeast-1"
        ),
    );
    let cloud = world(&body);
    let resolver = resolver(&cloud, vendor_trust());
    let res = resolved(&resolver, &template(COPY_TEMPLATE), "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-southeast-1"), "the same region");
    assert_eq!(plan.source_image, ami("ami-00000000000000e12"));
    let reason = &entry(&res.chain, ResolutionMethod::CrossRegion).reason();
    assert_contains(
        reason,
        "passed over: ap-southeast-1: ami-00000000000000e11 is shared by 444455556666 without create-volume permission on its snapshot(s) snap-",
    );
    assert!(
        cloud
            .counters()
            .get(op::DESCRIBE_SNAPSHOTS, Some(&r("ap-southeast-1")))
            >= 1,
        "the permission was asked of EC2"
    );

    let refused_copy = cloud
        .copy_image(&CopyImageRequest::new(
            r("ap-southeast-1"),
            ami("ami-00000000000000e11"),
            r("ap-south-1"),
            "app-2.0.0",
            "no-volume-permission-copy",
        ))
        .await;
    assert!(refused_copy.is_err(), "{refused_copy:?}");
    let copy = common::copy(&cloud, &resolver, &plan).await.unwrap();
    assert!(copy.is_available());
}

fn encrypted_world(key_shared: bool) -> Arc<MemoryCloud> {
    let shared = "    shared_with:\n      - account: \"123456789012\"\n    encrypted: true\n";
    let mut body = format!(
        "instance_types:\n  - name: m6i.large\nimages:\n{}{}",
        // Encrypted with the vendor's key, which the caller cannot use.
        vendor_image(
            "app-2.0.0",
            "2.0.0",
            shared,
            "ami-00000000000000e31",
            "ap-southeast-1"
        ),
        vendor_image(
            "app-1.5.0",
            "1.5.0",
            "    public: true\n",
            "ami-00000000000000e33",
            "ap-northeast-1"
        ),
    );
    if key_shared {
        // Encrypted with a customer managed key the vendor shared with the caller.
        body.push_str(&vendor_image(
            "app-1.9.0",
            "1.9.0",
            &format!("{shared}    key_shared_with: [\"123456789012\"]\n"),
            "ami-00000000000000e32",
            "ap-southeast-1",
        ));
    }
    world(&body)
}

#[tokio::test(start_paused = true)]
async fn another_accounts_image_encrypted_with_a_key_the_caller_cannot_use_is_passed_over() {
    let cloud = encrypted_world(false);
    let resolver = resolver(&cloud, vendor_trust());
    let res = resolved(&resolver, &template(COPY_TEMPLATE), "ap-south-1").await;
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_image, ami("ami-00000000000000e33"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::CrossRegion).reason(),
        "passed over: ap-southeast-1: ami-00000000000000e31 is encrypted with a key of its owner 444455556666",
    );
}

/// Documented limit: EC2 copies another account's encrypted image when its customer
/// managed key is shared with the caller, but neither DescribeImages nor the ports say which
/// key encrypts a snapshot or whether the caller may use it (that is KMS's to answer). The
/// resolver therefore passes over every other account's encrypted image, with the reason,
/// rather than plan a copy that may fail at launch; an unencrypted or own match in range is
/// planned instead.
#[tokio::test(start_paused = true)]
async fn an_encrypted_image_of_another_account_is_passed_over_even_with_a_shared_key() {
    let cloud = encrypted_world(true);
    // EC2 would copy it for the caller...
    let copy = cloud
        .copy_image(&CopyImageRequest::new(
            r("ap-southeast-1"),
            ami("ami-00000000000000e32"),
            r("ap-south-1"),
            "app-1.9.0",
            "shared-key-copy",
        ))
        .await;
    assert!(copy.is_ok(), "{copy:?}");
    // ...but the resolver cannot tell the key is usable, so it plans the older copyable one
    // and says what it passed over.
    let cloud = encrypted_world(true);
    let res = resolved(
        &resolver(&cloud, vendor_trust()),
        &template(COPY_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_ne!(plan.source_image, ami("ami-00000000000000e32"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::CrossRegion).reason(),
        "ami-00000000000000e32 is encrypted with a key of its owner 444455556666",
    );
}

#[tokio::test(start_paused = true)]
async fn the_callers_own_billing_product_image_is_copyable() {
    let cloud = world(
        r#"instance_types:
  - name: m6i.large
images:
  - name: app-2.0.0
    architecture: x86_64
    created: 2026-10-20T00:00:00Z
    tags: {Version: "2.0.0"}
    usage_operation: "RunInstances:0010"
    platform_details: Red Hat Enterprise Linux
    id: ami-00000000000000e21
    region: ap-southeast-1
  - name: app-1.9.0
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    tags: {Version: "1.9.0"}
    id: ami-00000000000000e22
    region: ap-southeast-1
"#,
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
    let resolver = resolver(&cloud, TrustPolicy::default());
    let res = resolved(&resolver, &t, "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    let plan = res.copy_plan.clone().expect("a copy plan");
    assert_eq!(plan.source_image, ami("ami-00000000000000e21"));
    assert!(
        !entry(&res.chain, ResolutionMethod::CrossRegion)
            .reason()
            .contains("passed over"),
        "{:#?}",
        res.chain
    );
    let copy = common::copy(&cloud, &resolver, &plan).await.unwrap();
    assert!(copy.is_available());
}

// ---------------------------------------------------------------------------------------
// 3. Launchable pairings
// ---------------------------------------------------------------------------------------

/// Amazon's app for both architectures in three regions; Graviton m7g is sold only in
/// us-west-2, t4g only in eu-west-1.
const OFFERINGS: &str = r#"instance_types:
  - name: m6i.large
  - name: m7g.large
    regions: [us-west-2]
  - name: t4g.large
    regions: [eu-west-1]
images:
  - name: app-1.0.0-arm64
    owner: "137112412989"
    architecture: arm64
    created: 2026-10-02T00:00:00Z
    public: true
    ids:
      us-east-1: ami-00000000000000f01
      us-west-2: ami-00000000000000f02
      eu-west-1: ami-00000000000000f03
  - name: app-1.0.0-x86_64
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    ids:
      us-east-1: ami-00000000000000f11
      us-west-2: ami-00000000000000f12
      eu-west-1: ami-00000000000000f13
"#;

#[tokio::test(start_paused = true)]
async fn an_arm64_image_is_never_paired_with_a_graviton_type_the_region_does_not_offer() {
    let cloud = world(OFFERINGS);
    let resolver = resolver(&cloud, TrustPolicy::default());
    let t = template(
        r#"name: app
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "app-*"
    architecture: [x86_64, arm64]
  preferred_architecture: arm64
  instance_family_preference: [m7g, t4g, m6i]
  fallback_strategy: error
"#,
    );
    // us-east-1 sells no Graviton type of the template: x86_64 on m6i.
    let res = resolved(&resolver, &t, "us-east-1").await;
    assert_eq!(res.architecture, Architecture::X86_64);
    assert_eq!(res.instance_type.as_str(), "m6i.large");
    assert_eq!(res.image.id, ami("ami-00000000000000f11"));
    // us-west-2 sells m7g: the preferred arm64.
    let res = resolved(&resolver, &t, "us-west-2").await;
    assert_eq!(res.architecture, Architecture::Arm64);
    assert_eq!(res.instance_type.as_str(), "m7g.large");
    // eu-west-1 sells no m7g but t4g, the next family of the preference.
    let res = resolved(&resolver, &t, "eu-west-1").await;
    assert_eq!(res.architecture, Architecture::Arm64);
    assert_eq!(res.instance_type.as_str(), "t4g.large");
    assert_eq!(res.image.id, ami("ami-00000000000000f03"));

    // An arm64 image and nothing offered to run it: refused, saying which type is missing.
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
    let mapped = template(
        r#"name: arm-mapped
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-00000000000000f01
  fallback_strategy: error
"#,
    );
    let err = refused(&resolver, &mapped, "us-east-1").await;
    let mapping = entry(err.chain(), ResolutionMethod::DirectMapping);
    assert!(
        matches!(mapping.outcome, Outcome::Skipped { .. }),
        "{mapping:#?}"
    );
    assert_contains(&mapping.reason(), "ami-00000000000000f01 is arm64");
    assert_contains(&mapping.reason(), "m7g.large is not offered");
}

#[tokio::test(start_paused = true)]
async fn a_template_with_no_instance_type_resolves_on_the_documented_defaults() {
    let cloud = world(
        r#"instance_types:
  - name: m7i.large
    regions: [us-east-1]
  - name: m7g.large
    regions: [us-east-1]
  - name: m6i.large
    regions: [eu-west-1]
images:
  - name: app-1.0.0-arm64
    owner: "137112412989"
    architecture: arm64
    created: 2026-10-02T00:00:00Z
    public: true
    ids:
      us-east-1: ami-0000000000000a301
      eu-west-1: ami-0000000000000a302
  - name: app-1.0.0-x86_64
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    ids:
      us-east-1: ami-0000000000000a311
      eu-west-1: ami-0000000000000a312
parameters:
  us-east-1:
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:
      {value: ami-0000000000000a311, data_type: "aws:ec2:image"}
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64:
      {value: ami-0000000000000a301, data_type: "aws:ec2:image"}
"#,
    );
    let resolver = resolver(&cloud, TrustPolicy::default());
    let default_of = |arch: Architecture| -> &'static [&'static str] {
        DEFAULT_INSTANCE_TYPES
            .iter()
            .find(|(a, _)| *a == arch)
            .map(|(_, types)| *types)
            .unwrap()
    };
    assert_eq!(default_of(Architecture::X86_64)[0], "m7i.large");
    assert_eq!(default_of(Architecture::Arm64)[0], "m7g.large");

    let t = template(
        r#"name: app
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "app-*"
  fallback_strategy: error
"#,
    );
    // Both defaults offered: the cheaper one, m7g.large ($0.0816/h against m7i's $0.1008).
    let res = resolved(&resolver, &t, "us-east-1").await;
    assert_eq!(res.architecture, Architecture::Arm64);
    assert_eq!(
        res.instance_type.as_str(),
        default_of(Architecture::Arm64)[0]
    );
    assert_eq!(res.image.id, ami("ami-0000000000000a301"));
    // Neither m7 offered: the next default that is, m6i.large.
    let res = resolved(&resolver, &t, "eu-west-1").await;
    assert_eq!(res.architecture, Architecture::X86_64);
    assert_eq!(
        res.instance_type.as_str(),
        default_of(Architecture::X86_64)[1]
    );
    assert_eq!(res.image.id, ami("ami-0000000000000a312"));

    // The smallest template that validates (a script and nothing else) resolves too.
    let bare = template("name: bare\nuser_data: |\n  #!/bin/bash\n  echo hello\n");
    let res = resolved(&resolver, &bare, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::ScriptProvisioning);
    assert_eq!(res.instance_type.as_str(), "m7g.large");
    assert_eq!(res.image.id, ami("ami-0000000000000a301"));
}

// ---------------------------------------------------------------------------------------
// 4. Version first, everywhere
// ---------------------------------------------------------------------------------------

fn sized(name: &str, version: &str, gib: u32, id: &str, region: &str) -> String {
    vendor_image(
        name,
        version,
        &format!("    public: true\n    volume_gib: {gib}\n"),
        id,
        region,
    )
}

#[tokio::test(start_paused = true)]
async fn a_newer_version_in_a_farther_region_beats_an_older_smaller_one_nearby() {
    let cloud = world(&format!(
        "instance_types:\n  - name: m6i.large\nimages:\n{}{}",
        // The nearest fallback: an older, small image (a 2.1-minute copy).
        sized(
            "app-1.0.0",
            "1.0.0",
            2,
            "ami-0000000000000b101",
            "ap-southeast-1"
        ),
        // The next one: the current release, 100 GiB (a 52-minute copy).
        sized(
            "app-1.1.0",
            "1.1.0",
            100,
            "ami-0000000000000b102",
            "ap-northeast-1"
        ),
    ));
    let res = resolved(
        &resolver(&cloud, vendor_trust()),
        &template(COPY_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let plan = res.copy_plan.expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-northeast-1"));
    assert_eq!(plan.source_image, ami("ami-0000000000000b102"));
}

#[tokio::test(start_paused = true)]
async fn equal_versions_go_to_the_nearer_or_faster_copy() {
    // Same version, same size: the nearer region (ap-southeast-1 comes first).
    let cloud = world(&format!(
        "instance_types:\n  - name: m6i.large\nimages:\n{}{}",
        sized(
            "app-1.1.0",
            "1.1.0",
            30,
            "ami-0000000000000b111",
            "ap-northeast-1"
        ),
        sized(
            "app-1.1.0",
            "1.1.0",
            30,
            "ami-0000000000000b112",
            "ap-southeast-1"
        ),
    ));
    let res = resolved(
        &resolver(&cloud, vendor_trust()),
        &template(COPY_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let plan = res.copy_plan.expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-southeast-1"));
    assert_eq!(plan.source_image, ami("ami-0000000000000b112"));

    // Same version, the farther copy much smaller: interactive work takes the one usable
    // sooner.
    let cloud = world(&format!(
        "instance_types:\n  - name: m6i.large\nimages:\n{}{}",
        sized(
            "app-1.1.0",
            "1.1.0",
            100,
            "ami-0000000000000b121",
            "ap-southeast-1"
        ),
        sized(
            "app-1.1.0",
            "1.1.0",
            8,
            "ami-0000000000000b122",
            "ap-northeast-1"
        ),
    ));
    let res = resolved(
        &resolver(&cloud, vendor_trust()),
        &template(COPY_TEMPLATE),
        "ap-south-1",
    )
    .await;
    let plan = res.copy_plan.expect("a copy plan");
    assert_eq!(plan.source_region, r("ap-northeast-1"));
    assert_eq!(plan.source_image, ami("ami-0000000000000b122"));
}

// ---------------------------------------------------------------------------------------
// 5. Allowed AMIs
// ---------------------------------------------------------------------------------------

/// us-east-1 enforces Allowed AMIs (Amazon's images only), us-west-2 audits the same
/// criteria; the vendor and the caller have an image in each.
const ALLOWED: &str = r#"regions:
  us-east-1:
    allowed_images:
      state: enabled
      criteria:
        - image_providers: [amazon]
  us-west-2:
    allowed_images:
      state: audit-mode
      criteria:
        - image_providers: [amazon]
instance_types:
  - name: m6i.large
images:
  - name: app-1.0.0
    owner: "444455556666"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    ids:
      us-east-1: ami-0000000000000c101
      us-west-2: ami-0000000000000c102
  - name: app-mine-1.0.0
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    ids:
      us-east-1: ami-0000000000000c111
      us-west-2: ami-0000000000000c112
"#;

fn vendor_app(mapping: bool, search: bool) -> Template {
    let mut yaml = String::from(
        "name: app\ninstance_type: m6i.large\nami_config:\n  strategy: ami_preferred\n",
    );
    if mapping {
        yaml.push_str("  ami_mappings:\n    us-east-1: ami-0000000000000c101\n    us-west-2: ami-0000000000000c102\n");
    }
    if search {
        yaml.push_str("  ami_search:\n    owner: vendor\n    name_pattern: \"app-*\"\n");
    }
    yaml.push_str("  fallback_strategy: error\n");
    template(&yaml)
}

#[tokio::test(start_paused = true)]
async fn an_image_blocked_by_allowed_amis_is_never_chosen() {
    let cloud = world(ALLOWED);
    let resolver = resolver(&cloud, vendor_trust());
    let err = refused(&resolver, &vendor_app(true, true), "us-east-1").await;
    for tier in [
        ResolutionMethod::DirectMapping,
        ResolutionMethod::DynamicSearch,
    ] {
        assert!(!matches!(
            entry(err.chain(), tier).outcome,
            Outcome::Found(_)
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn the_chain_says_the_accounts_allowed_amis_blocked_the_image() {
    let cloud = world(ALLOWED);
    let resolver = resolver(&cloud, vendor_trust());
    let mut unexplained = Vec::new();
    for (t, tier) in [
        (vendor_app(true, false), ResolutionMethod::DirectMapping),
        (vendor_app(false, true), ResolutionMethod::DynamicSearch),
    ] {
        let err = refused(&resolver, &t, "us-east-1").await;
        let reason = &entry(err.chain(), tier.clone()).reason();
        if !reason.contains("Allowed AMIs") {
            unexplained.push(format!("{tier}: {reason}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "the chain does not say the account's Allowed AMIs blocked the image:\n{}",
        unexplained.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_in_audit_mode_lets_the_image_through_with_a_warning() {
    let cloud = world(ALLOWED);
    let resolver = resolver(&cloud, vendor_trust());
    for (case, t, method) in [
        (
            "mapping",
            vendor_app(true, false),
            ResolutionMethod::DirectMapping,
        ),
        (
            "search",
            vendor_app(false, true),
            ResolutionMethod::DynamicSearch,
        ),
    ] {
        let res = resolved(&resolver, &t, "us-west-2").await;
        assert_eq!(res.method, method, "{case}");
        assert_eq!(res.image.id, ami("ami-0000000000000c102"), "{case}");
        assert!(
            res.warnings.iter().any(|w| w.to_string().contains(
                "ami-0000000000000c102 would be blocked by the account's Allowed AMIs in us-west-2 once enabled (audit mode)"
            )),
            "{case}: {:#?}",
            res.warnings
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_callers_own_images_are_never_restricted_by_allowed_amis() {
    let cloud = world(ALLOWED);
    let resolver = resolver(&cloud, TrustPolicy::default());
    let mapped = template(
        r#"name: mine
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-0000000000000c111
    us-west-2: ami-0000000000000c112
  fallback_strategy: error
"#,
    );
    let searched = template(
        r#"name: mine-search
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: self
    name_pattern: "app-mine-*"
  fallback_strategy: error
"#,
    );
    for (t, method) in [
        (&mapped, ResolutionMethod::DirectMapping),
        (&searched, ResolutionMethod::DynamicSearch),
    ] {
        for (region, id) in [
            ("us-east-1", "ami-0000000000000c111"),
            ("us-west-2", "ami-0000000000000c112"),
        ] {
            let res = resolved(&resolver, t, region).await;
            assert_eq!(res.method, method, "{} in {region}", t.name);
            assert_eq!(res.image.id, ami(id));
            assert!(
                !res.warnings
                    .iter()
                    .any(|w| w.to_string().contains("Allowed AMIs")),
                "{} in {region}: {:#?}",
                t.name,
                res.warnings
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. SSM parameters
// ---------------------------------------------------------------------------------------

/// A platform's golden-image parameter (the caller's image), one pointing at a stranger's
/// image, and AWS's public AL2023 parameters. The x86_64 one names an AL2023 image older
/// than the newest, so that a search could not be mistaken for it.
const SSM: &str = r#"instance_types:
  - name: m6i.large
  - name: m7g.large
images:
  - name: golden-app-1.0.0
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    id: ami-0000000000000d101
    region: us-east-1
  - name: stranger-app-9.9.9
    owner: "999988887777"
    architecture: x86_64
    created: 2026-10-30T00:00:00Z
    public: true
    id: ami-0000000000000d102
    region: us-east-1
  - name: al2023-ami-2023.9.20261020.0-kernel-6.1-x86_64
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-20T00:00:00Z
    public: true
    id: ami-0000000000000d111
    region: us-east-1
  - name: al2023-ami-2023.9.20261030.0-kernel-6.1-x86_64
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-30T00:00:00Z
    public: true
    id: ami-0000000000000d112
    region: us-east-1
  - name: al2023-ami-2023.9.20261020.0-kernel-6.1-arm64
    owner: "137112412989"
    architecture: arm64
    created: 2026-10-20T00:00:00Z
    public: true
    id: ami-0000000000000d121
    region: us-east-1
parameters:
  us-east-1:
    /golden/app/x86_64: {value: ami-0000000000000d101, data_type: "aws:ec2:image"}
    /golden/stranger/x86_64: {value: ami-0000000000000d102, data_type: "aws:ec2:image"}
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:
      {value: ami-0000000000000d111, data_type: "aws:ec2:image"}
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64:
      {value: ami-0000000000000d121, data_type: "aws:ec2:image"}
"#;

fn ssm_template(parameter: &str, extra: &str) -> Template {
    template(&format!(
        r#"name: app
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ssm_parameter: {parameter}
{extra}  fallback_strategy: error
"#
    ))
}

#[tokio::test(start_paused = true)]
async fn an_ssm_parameter_names_the_image() {
    let cloud = world(SSM);
    let resolver = resolver(&cloud, TrustPolicy::default());
    let res = resolved(
        &resolver,
        &ssm_template("/golden/app/x86_64", ""),
        "us-east-1",
    )
    .await;
    assert_eq!(res.method, ResolutionMethod::SsmParameter);
    assert_eq!(res.image.id, ami("ami-0000000000000d101"));
    assert_contains(
        &entry(&res.chain, ResolutionMethod::SsmParameter).reason(),
        "SSM parameter /golden/app/x86_64 in us-east-1: ami-0000000000000d101",
    );

    // Per region, ssm_parameters wins over ssm_parameter.
    let per_region = ssm_template(
        "/golden/missing/x86_64",
        "  ssm_parameters:\n    us-east-1: /golden/app/x86_64\n",
    );
    let res = resolved(&resolver, &per_region, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::SsmParameter);
    assert_eq!(res.image.id, ami("ami-0000000000000d101"));
}

#[tokio::test(start_paused = true)]
async fn a_parameter_pointing_at_an_untrusted_owners_image_is_refused() {
    let cloud = world(SSM);
    let err = refused(
        &resolver(&cloud, TrustPolicy::default()),
        &ssm_template("/golden/stranger/x86_64", ""),
        "us-east-1",
    )
    .await;
    let tier = entry(err.chain(), ResolutionMethod::SsmParameter);
    assert!(matches!(tier.outcome, Outcome::Skipped { .. }), "{tier:#?}");
    assert_contains(&tier.reason(), "SSM parameter /golden/stranger/x86_64");
    assert_contains(
        &tier.reason(),
        &format!(
            "ami-0000000000000d102 is owned by {STRANGER}, which the default trust policy (trusts self, amazon) does not trust"
        ),
    );

    // The same for a base image named by a parameter.
    let base = template(
        r#"name: app
instance_type: m6i.large
base_image:
  ssm_parameter: /golden/stranger/x86_64
ami_config:
  strategy: ami_preferred
  fallback_strategy: script_provisioning
user_data: |
  #!/bin/bash
  echo provisioning
"#,
    );
    let err = refused(
        &resolver(&cloud, TrustPolicy::default()),
        &base,
        "us-east-1",
    )
    .await;
    let tier = entry(err.chain(), ResolutionMethod::ScriptProvisioning);
    assert!(matches!(tier.outcome, Outcome::Skipped { .. }), "{tier:#?}");
    assert_contains(&tier.reason(), "SSM parameter /golden/stranger/x86_64");
    assert_contains(&tier.reason(), &format!("owned by {STRANGER}"));
}

#[tokio::test(start_paused = true)]
async fn a_missing_parameter_skips_with_a_reason_and_the_next_tier_answers() {
    let cloud = world(SSM);
    let t = ssm_template(
        "/golden/missing/x86_64",
        "  ami_mappings:\n    us-east-1: ami-0000000000000d101\n",
    );
    let res = resolved(&resolver(&cloud, TrustPolicy::default()), &t, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::DirectMapping);
    let tier = entry(&res.chain, ResolutionMethod::SsmParameter);
    assert!(matches!(tier.outcome, Outcome::Skipped { .. }));
    assert_contains(
        &tier.reason(),
        "SSM parameter /golden/missing/x86_64 does not exist in us-east-1",
    );
}

#[tokio::test(start_paused = true)]
async fn the_scripts_default_base_image_is_awss_public_al2023_parameter() {
    let cloud = world(SSM);
    let resolver = resolver(&cloud, TrustPolicy::default());
    for (arch, instance_type, id) in [
        (Architecture::X86_64, "m6i.large", "ami-0000000000000d111"),
        (Architecture::Arm64, "m7g.large", "ami-0000000000000d121"),
    ] {
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
        assert_eq!(res.architecture, arch);
        assert_eq!(res.image.id, ami(id), "{arch}: the parameter's image");
        let parameter = al2023_parameter(arch).unwrap();
        assert_eq!(
            parameter.as_str(),
            format!("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}")
        );
        assert_contains(
            &entry(&res.chain, ResolutionMethod::ScriptProvisioning).reason(),
            &format!("from SSM parameter {parameter}"),
        );
    }
}

// ---------------------------------------------------------------------------------------
// 7. One round trip
// ---------------------------------------------------------------------------------------

/// Every call takes 50 ms.
const ROUND_TRIP: &str = r#"latency: 50ms
instance_types:
  - name: m6i.large
images:
  - name: app-1.0.0
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-0000000000000e101
    region: us-east-1
  - name: al2023-ami-2023.9.20261020.0-kernel-6.1-x86_64
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-20T00:00:00Z
    public: true
    id: ami-0000000000000e111
    region: us-east-1
parameters:
  us-east-1:
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:
      {value: ami-0000000000000e111, data_type: "aws:ec2:image"}
"#;

/// (case, template, method): a mapping hit, a search hit, and a search that finds nothing
/// ending in script provisioning on the default base image.
fn round_trip_cases() -> Vec<(&'static str, Template, ResolutionMethod)> {
    vec![
        (
            "mapping",
            template(
                r#"name: mapped
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: ami-0000000000000e101
  fallback_strategy: error
"#,
            ),
            ResolutionMethod::DirectMapping,
        ),
        (
            "search",
            template(
                r#"name: searched
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "app-*"
  fallback_strategy: error
"#,
            ),
            ResolutionMethod::DynamicSearch,
        ),
        (
            "script",
            template(
                r#"name: scripted
instance_type: m6i.large
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: amazon
    name_pattern: "nothing-*"
  fallback_strategy: script_provisioning
user_data: |
  #!/bin/bash
  echo provisioning
"#,
            ),
            ResolutionMethod::ScriptProvisioning,
        ),
    ]
}

/// A cold resolution (fresh world, fresh resolver: no caller identity, no facts cached) and
/// how long it took on tokio's clock.
async fn cold(t: &Template, concurrent: bool) -> (Resolution, Duration) {
    let cloud = world(ROUND_TRIP);
    let resolver = resolver_trusting(&cloud, TrustPolicy::default(), |b| {
        b.concurrent_tiers(concurrent)
    });
    let start = Instant::now();
    let res = resolved(&resolver, t, "us-east-1").await;
    (res, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_cold_resolution_takes_one_round_trip_or_two_through_the_default_parameter() {
    let ms = Duration::from_millis;
    // Concurrent (the default): mapping and search 1 round trip, the script 2 (the
    // parameter, then the image it names).
    // Serial baseline: caller, instance types, Allowed AMIs one after another (3), then
    // the tiers in order.
    let expected = [
        ("mapping", ms(50), ms(200)),
        ("search", ms(50), ms(200)),
        ("script", ms(100), ms(300)),
    ];
    for ((case, t, method), (name, concurrent_ms, serial_ms)) in
        round_trip_cases().into_iter().zip(expected)
    {
        assert_eq!(case, name);
        let (res, elapsed) = cold(&t, true).await;
        assert_eq!(res.method, method, "{case}");
        assert_eq!(elapsed, concurrent_ms, "{case}: concurrent tiers");
        let (serial, serial_elapsed) = cold(&t, false).await;
        assert_eq!(serial.method, method, "{case}");
        assert_eq!(serial.image.id, res.image.id, "{case}");
        assert_eq!(serial_elapsed, serial_ms, "{case}: serial baseline");
        assert!(serial_elapsed > elapsed, "{case}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_cold_cross_region_plan_takes_one_round_trip() {
    // ap-south-1 has nothing; us-east-1 (its third fallback) has Amazon's public app: the
    // walk's searches go out with the in-region tiers, and a public source needs no
    // snapshot check.
    let t = template(
        r#"name: copied
instance_type: m6i.large
ami_config:
  strategy: ami_required
  ami_search:
    owner: amazon
    name_pattern: "app-*"
  fallback_strategy: cross_region
"#,
    );
    let cloud = world(ROUND_TRIP);
    let resolver = resolver(&cloud, TrustPolicy::default());
    let start = Instant::now();
    let res = resolved(&resolver, &t, "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    assert_eq!(start.elapsed(), Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn identical_concurrent_resolutions_cost_no_more_calls_than_one() {
    for (case, t, method) in round_trip_cases() {
        let alone = world(ROUND_TRIP);
        resolved(&resolver(&alone, TrustPolicy::default()), &t, "us-east-1").await;
        let one = alone.counters();

        let cloud = world(ROUND_TRIP);
        let resolver = resolver(&cloud, TrustPolicy::default());
        let region = r("us-east-1");
        let start = Instant::now();
        let all = futures::future::join_all((0..50).map(|_| resolver.resolve(&t, &region))).await;
        let one_elapsed = if method == ResolutionMethod::ScriptProvisioning {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(50)
        };
        assert_eq!(start.elapsed(), one_elapsed, "{case}: one flight's time");
        assert!(
            all.iter()
                .all(|r| r.as_ref().is_ok_and(|r| r.method == method)),
            "{case}"
        );
        let many = cloud.counters();
        assert_eq!(many.total(), one.total(), "{case}: 50 callers, one's calls");
        for (operation, region, n) in one.iter() {
            assert_eq!(many.get(operation, region), n, "{case}: {operation}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 8. Bounded inputs
// ---------------------------------------------------------------------------------------

/// Amazon's app in us-east-1, and AL2023 with its public parameter in us-east-1 and
/// ap-south-1 (where the script can run beside a copy).
const BOUNDED: &str = r#"instance_types:
  - name: m6i.large
images:
  - name: app-1.0.0
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-01T00:00:00Z
    public: true
    id: ami-0000000000000e101
    region: us-east-1
  - name: al2023-ami-2023.9.20261020.0-kernel-6.1-x86_64
    owner: "137112412989"
    architecture: x86_64
    created: 2026-10-20T00:00:00Z
    public: true
    ids:
      us-east-1: ami-0000000000000e111
      ap-south-1: ami-0000000000000e112
parameters:
  us-east-1:
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:
      {value: ami-0000000000000e111, data_type: "aws:ec2:image"}
  ap-south-1:
    /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:
      {value: ami-0000000000000e112, data_type: "aws:ec2:image"}
"#;

/// A template built in code, past every bound the loader checks: the resolver must still
/// answer, never panic.
fn enormous(mapping_in: Option<&str>, fallback: FallbackStrategy) -> Template {
    let mut t = Template::new("enormous");
    t.instance_type = Some("m6i.large".parse().unwrap());
    t.provisioning_time = Some(HumanDuration::from(Duration::MAX));
    t.user_data = Some("#!/bin/bash\necho provisioning\n".into());
    let mut config = AmiConfig::default();
    config.fallback_timeout = Some(HumanDuration::from(Duration::MAX));
    config.fallback_strategy = fallback;
    if let Some(region) = mapping_in {
        config
            .ami_mappings
            .insert(r(region), ami("ami-0000000000000e101"));
    }
    t.ami_config = Some(config);
    t
}

#[tokio::test(start_paused = true)]
async fn durations_past_every_bound_resolve_without_panicking() {
    // The loader refuses them, with a located error.
    let err = Template::from_yaml_str(
        "name: t\nuser_data: x\nami_config:\n  fallback_timeout: \"3000000000000000h\"\n",
        "huge.yml",
    )
    .unwrap_err()
    .to_string();
    assert_contains(&err, "huge.yml:4");
    assert_contains(&err, "fallback_timeout");
    assert!(
        enormous(None, FallbackStrategy::ScriptProvisioning)
            .validate()
            .is_err()
    );

    let cloud = world(BOUNDED);
    let resolver = resolver_trusting(&cloud, TrustPolicy::default(), |b| {
        b.cache_ttl(Duration::MAX, Duration::MAX)
    });
    // A mapping hit.
    let hit = enormous(Some("us-east-1"), FallbackStrategy::ScriptProvisioning);
    let res = resolved(&resolver, &hit, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::DirectMapping);
    // Again, from the cache kept "forever", then after a year.
    assert_eq!(resolved(&resolver, &hit, "us-east-1").await, res);
    tokio::time::advance(Duration::from_secs(365 * 24 * 3600)).await;
    assert_eq!(
        resolved(&resolver, &hit, "us-east-1").await.method,
        res.method
    );

    // The script, whose estimate is the enormous provisioning time.
    let script = enormous(None, FallbackStrategy::ScriptProvisioning);
    let res = resolved(&resolver, &script, "us-east-1").await;
    assert_eq!(res.method, ResolutionMethod::ScriptProvisioning);

    // A copy weighed against that script (us-east-1 is ap-south-1's third fallback).
    let weighed = enormous(Some("us-east-1"), FallbackStrategy::CrossRegion);
    let res = resolved(&resolver, &weighed, "ap-south-1").await;
    assert_eq!(res.method, ResolutionMethod::CrossRegion);
    assert_eq!(
        res.alternative.as_ref().map(|a| a.method.clone()),
        Some(ResolutionMethod::ScriptProvisioning)
    );

    // The dry run, which estimates every way to launch.
    let preview = resolver
        .preview(
            &weighed,
            &r("ap-south-1"),
            &amiref::ResolveOptions::default(),
        )
        .await;
    assert!(preview.resolution.is_some(), "{:?}", preview.error);
    assert!(!preview.comparison.is_empty());
}
