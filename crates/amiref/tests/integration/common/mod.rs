//! Shared fixtures: the demo world, its trust policy, and templates built from text.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use amiref::{Resolver, TrustPolicy};
use amiref_core::AccountId;
use amiref_memory::MemoryCloud;
use amiref_template::Template;

pub const DEMO_WORLD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/worlds/demo.yaml"
);

pub fn demo() -> Arc<MemoryCloud> {
    Arc::new(MemoryCloud::from_world_file(DEMO_WORLD).expect("demo world loads"))
}

/// The demo's trust (as examples/worlds/demo.trust.yaml): the community's named owner,
/// Marketplace sellers, plus the defaults.
pub fn trust() -> TrustPolicy {
    TrustPolicy::default()
        .with_trusted(amiref_core::Owner::AwsMarketplace)
        .with_named_owner(
            "prism-community",
            [AccountId::new("111122223333").expect("account id")],
        )
}

pub fn resolver(cloud: &Arc<MemoryCloud>) -> Resolver {
    resolver_with(cloud, |b| b)
}

pub fn resolver_with(
    cloud: &Arc<MemoryCloud>,
    configure: impl FnOnce(amiref::ResolverBuilder) -> amiref::ResolverBuilder,
) -> Resolver {
    let clock_cloud = cloud.clone();
    let builder = Resolver::builder()
        .cloud(cloud.clone())
        .trust_policy(trust())
        .clock(Arc::new(move || clock_cloud.now()));
    configure(builder).build().expect("resolver builds")
}

pub fn template(yaml: &str) -> Template {
    match Template::from_yaml_str(yaml, "test.yml") {
        Ok(t) => t,
        Err(e) => panic!("test template invalid:\n{e}"),
    }
}

/// python-ml as in examples/templates, with the strategy, fallback and user_data chosen.
pub fn python_ml(strategy: &str, fallback: &str, user_data: bool) -> Template {
    let script = if user_data {
        "user_data: |\n  #!/bin/bash\n  dnf install -y python3.12\n"
    } else {
        ""
    };
    template(&format!(
        r#"name: python-ml
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
provisioning_time: 6m
ami_config:
  strategy: {strategy}
  ami_mappings:
    us-east-1: ami-0123456789abcdef0
    us-west-2: ami-0fedcba9876543210
  ami_search:
    owner: prism-community
    name_pattern: "cws-python-ml-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64, arm64]
    min_creation_date: "2024-01-01"
  marketplace_search:
    product_code: cws-python-ml-community
    version_constraint: ">=2.0.0"
  fallback_strategy: {fallback}
  fallback_timeout: 10m
  preferred_architecture: arm64
{script}"#
    ))
}

/// A world from YAML text (docs/worlds.md), for tests that draw their own.
pub fn world(yaml: &str) -> Arc<MemoryCloud> {
    match MemoryCloud::from_world_yaml(yaml, "test-world.yaml") {
        Ok(cloud) => Arc::new(cloud),
        Err(e) => panic!("test world invalid:\n{e}"),
    }
}

/// A resolver on `cloud` under `trust` (not the demo's), on the cloud's clock.
pub fn resolver_trusting(
    cloud: &Arc<MemoryCloud>,
    trust: TrustPolicy,
    configure: impl FnOnce(amiref::ResolverBuilder) -> amiref::ResolverBuilder,
) -> Resolver {
    let clock_cloud = cloud.clone();
    let builder = Resolver::builder()
        .cloud(cloud.clone())
        .trust_policy(trust)
        .clock(Arc::new(move || clock_cloud.now()));
    configure(builder).build().expect("resolver builds")
}

/// Carries out a copy plan the way the session layer does: the lifecycle's one copy engine
/// (its client token, its waiter), then the resolver forgets the destination's cached
/// resolutions. The world's clock judges ages. Each call is another process: its own copy
/// limits.
pub async fn copy(
    cloud: &Arc<MemoryCloud>,
    resolver: &Resolver,
    plan: &amiref::CopyPlan,
) -> Result<amiref_core::Image, amiref::lifecycle::LifecycleError> {
    let limits = Arc::new(amiref::lifecycle::CopyLimits::ec2());
    copy_sharing(cloud, resolver, plan, &limits).await
}

/// [`copy`] in one process: the copy limits (and the copies in flight) `limits` holds, as a
/// session's lifecycles share them.
pub async fn copy_sharing(
    cloud: &Arc<MemoryCloud>,
    resolver: &Resolver,
    plan: &amiref::CopyPlan,
    limits: &Arc<amiref::lifecycle::CopyLimits>,
) -> Result<amiref_core::Image, amiref::lifecycle::LifecycleError> {
    let audit = amiref::lifecycle::MemoryAuditSink::new();
    let clock = cloud.clone();
    let copy = amiref::lifecycle::Lifecycle::new(cloud.as_ref(), &audit)
        .copy_limits(limits.clone())
        .clock(move || clock.now())
        .copy_to_region(
            &plan.source_region,
            &plan.source_image,
            &plan.destination_region,
        )
        .await;
    if copy.is_ok() {
        resolver.forget_region(&plan.destination_region);
    }
    copy
}
