//! The resolver under a cloud that keeps failing, on a paused clock: retries never outlive
//! `fallback_timeout`, a tier whose time the faults used up is recorded as cut off by
//! faults with the fault, and the fallback follows.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use amiref_core::{AccountId, Cloud, CloudErrorKind, Region, ResolutionMethod};
use amiref_layers::{Jitter, RetryPolicy, Retrying};
use amiref_memory::{MemoryCloud, op};
use amiref_resolver::{Outcome, Resolver};
use amiref_strategies::{TierFailure, TrustPolicy, Warning};
use amiref_template::Template;
use tokio::time::Instant;

const DEMO_WORLD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/worlds/demo.yaml"
);

/// python-ml with no mapping for ap-south-1 (so only its search calls the cloud there) and
/// two seconds for the image tiers.
fn python_ml(fallback: &str) -> Template {
    let yaml = format!(
        r#"name: python-ml
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
provisioning_time: 6m
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: prism-community
    name_pattern: "cws-python-ml-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64, arm64]
  fallback_strategy: {fallback}
  fallback_timeout: 2s
  preferred_architecture: arm64
user_data: |
  #!/bin/bash
  dnf install -y python3.12
"#
    );
    Template::from_yaml_str(&yaml, "test.yml").expect("the test template")
}

/// The resolver over the demo world, every call retried by the interactive policy
/// without jitter (so the pauses below are exact).
fn resolver(memory: &Arc<MemoryCloud>) -> Resolver {
    let policy = RetryPolicy::interactive(0).jitter(Jitter::None);
    let cloud: Arc<dyn Cloud> = Arc::new(Retrying::new(memory.clone(), policy));
    let clock = memory.clone();
    Resolver::builder()
        .cloud(cloud)
        .trust_policy(
            TrustPolicy::default()
                .with_named_owner("prism-community", [AccountId::new("111122223333").unwrap()]),
        )
        .clock(Arc::new(move || clock.now()))
        .build()
        .unwrap()
}

fn region() -> Region {
    "ap-south-1".parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_tier_the_faults_outlast_is_cut_off_by_faults_and_the_error_fallback_says_so() {
    let memory = Arc::new(MemoryCloud::from_world_file(DEMO_WORLD).unwrap());
    memory.fail_next(op::DESCRIBE_IMAGES, 10_000, CloudErrorKind::Unavailable);
    let started = Instant::now();
    let error = resolver(&memory)
        .resolve(&python_ml("error"), &region())
        .await
        .unwrap_err();
    // Attempts at 0, 50, 150, 350, 750 and 1550 ms; the next pause (1 s) would end after
    // the 2 s deadline, so the search gives up at 1.55 s with the fault.
    assert_eq!(started.elapsed(), Duration::from_millis(1550));
    let search = error
        .chain()
        .iter()
        .find(|e| e.tier == ResolutionMethod::DynamicSearch)
        .expect("the search tier in the chain");
    match &search.outcome {
        Outcome::CutOffByFaults {
            timeout_secs: 2,
            error: TierFailure::Cloud { error },
        } => assert_eq!(error.kind, CloudErrorKind::Unavailable),
        other => panic!("expected cut off by faults, got {other:?}"),
    }
    assert_eq!(search.outcome.as_str(), "cut_off_by_faults");
    assert!(search.transient);
    assert!(
        search.outcome.to_string().contains("cut off by faults"),
        "{}",
        search.outcome
    );
    assert!(
        error.is_transient(),
        "a failure shaped by faults is retried later"
    );
    assert_eq!(memory.counters().operation(op::DESCRIBE_IMAGES), 6);
}

#[tokio::test(start_paused = true)]
async fn after_a_tier_is_cut_off_by_faults_the_script_fallback_follows() {
    let memory = Arc::new(MemoryCloud::from_world_file(DEMO_WORLD).unwrap());
    // Twelve faults: the search's six attempts before its deadline, and six of the
    // fallback's base-image search, which is not bounded by fallback_timeout and succeeds
    // on its seventh attempt.
    memory.fail_next(op::DESCRIBE_IMAGES, 12, CloudErrorKind::Throttled);
    let resolution = resolver(&memory)
        .resolve(&python_ml("script_provisioning"), &region())
        .await
        .unwrap();
    assert_eq!(resolution.method, ResolutionMethod::ScriptProvisioning);
    let search = resolution
        .chain
        .iter()
        .find(|e| e.tier == ResolutionMethod::DynamicSearch)
        .unwrap();
    assert!(
        matches!(search.outcome, Outcome::CutOffByFaults { .. }),
        "{:?}",
        search.outcome
    );
    assert!(
        resolution.warnings.iter().any(|w| matches!(
            w,
            Warning::TierFailed {
                tier: ResolutionMethod::DynamicSearch,
                ..
            }
        )),
        "{:?}",
        resolution.warnings
    );
}

#[tokio::test(start_paused = true)]
async fn without_faults_nothing_is_cut_off() {
    let memory = Arc::new(MemoryCloud::from_world_file(DEMO_WORLD).unwrap());
    memory.fail_next(op::DESCRIBE_IMAGES, 2, CloudErrorKind::Throttled);
    let resolution = resolver(&memory)
        .resolve(&python_ml("error"), &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(resolution.method, ResolutionMethod::DynamicSearch);
    assert!(
        resolution
            .chain
            .iter()
            .all(|e| !matches!(e.outcome, Outcome::CutOffByFaults { .. })),
        "{:#?}",
        resolution.chain
    );
}
