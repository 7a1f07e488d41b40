//! What every tier checks: owners, state, deprecation, architecture; and the deadline.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use amiref::Outcome;
use amiref_core::{Architecture, ResolutionMethod};
use common::{demo, python_ml, resolver, template};

/// In eu-west-1 a stranger publishes a newer image named exactly like the community's, and
/// python-ml's mapping there is stale: the search (owners required) never sees the
/// stranger's image, and the resolution falls back to the script, never to the look-alike.
#[tokio::test(start_paused = true)]
async fn a_strangers_newer_look_alike_is_never_chosen() {
    let cloud = demo();
    let mut t = python_ml("ami_preferred", "script_provisioning", true);
    t.ami_config.as_mut().unwrap().ami_mappings.insert(
        "eu-west-1".parse().unwrap(),
        "ami-0abcdef123456789a".parse().unwrap(),
    );
    for region in ["eu-west-1", "ap-south-1"] {
        let r = resolver(&cloud)
            .resolve(&t, &region.parse().unwrap())
            .await
            .unwrap();
        assert_eq!(r.method, ResolutionMethod::ScriptProvisioning, "{region}");
        assert_eq!(r.image.owner_alias.as_deref(), Some("amazon"), "{region}");
        assert_ne!(r.image.owner.as_str(), "999988887777");
    }
}

/// The selection re-checks owners even if a backend ignored the owner filter.
#[test]
fn selection_rejects_strangers_even_when_the_backend_returns_them() {
    use amiref_core::{Image, Owner};
    use amiref_strategies::{ArchChoice, search};
    let ours = "111122223333".parse().unwrap();
    let stranger = "999988887777".parse().unwrap();
    let region: amiref_core::Region = "us-east-1".parse().unwrap();
    let mk = |id: &str, owner, version: &str, day: u32| {
        let mut i = Image::new(
            id.parse().unwrap(),
            region.clone(),
            format!("cws-python-ml-{version}-x86_64"),
            owner,
            Architecture::X86_64,
            chrono::DateTime::parse_from_rfc3339(&format!("2026-10-{day:02}T00:00:00Z"))
                .unwrap()
                .into(),
        );
        i.tags.insert("Version".into(), format!("v{version}"));
        i
    };
    let images = vec![
        mk("ami-00000001", ours, "2.1.0", 1),
        mk("ami-00000002", stranger, "2.9.9", 30),
    ];
    let t = python_ml("ami_preferred", "script_provisioning", true);
    let s = t.ami_config.as_ref().unwrap().ami_search.as_ref().unwrap();
    let owners = [Owner::Account("111122223333".parse().unwrap())];
    let choices = [ArchChoice::new(
        Architecture::X86_64,
        "m6i.large".parse().unwrap(),
        None,
    )];
    let criteria = search::Criteria {
        search: s,
        owners: &owners,
        caller: None,
        choices: &choices,
        now: chrono::Utc::now(),
        allowed: None,
    };
    let sel = search::select(&images, &criteria).unwrap();
    assert_eq!(sel.image.id.as_str(), "ami-00000001");
    assert_eq!(sel.matching, 1);
}

fn mapped(id: &str, instance_types: &str) -> amiref_template::Template {
    template(&format!(
        r#"name: mapped
{instance_types}
ami_config:
  strategy: ami_preferred
  ami_mappings:
    us-east-1: {id}
  fallback_strategy: error
"#
    ))
}

#[tokio::test(start_paused = true)]
async fn deprecated_and_pending_images_are_skipped_with_a_reason() {
    let cloud = demo();
    let region = "us-east-1".parse().unwrap();
    let deprecated = resolver(&cloud)
        .resolve(
            &mapped("ami-0200a0b1c2d3e4f50", "instance_type: m6i.large"),
            &region,
        )
        .await
        .unwrap_err();
    let entry = &deprecated.chain()[1];
    assert!(matches!(entry.outcome, Outcome::Skipped { .. }));
    assert!(
        entry.reason().contains("deprecated (since 2026-09-01)"),
        "{entry:?}"
    );

    let pending = mapped("ami-0220a0b1c2d3e4f50", "instance_type: m6i.large");
    let err = resolver(&cloud)
        .resolve(&pending, &region)
        .await
        .unwrap_err();
    assert!(
        err.chain()[1]
            .reason()
            .contains("is pending, not available"),
        "{err}"
    );
    // The demo's 2.2.0 becomes available 15 minutes into the world.
    tokio::time::advance(Duration::from_secs(15 * 60)).await;
    let r = resolver(&cloud).resolve(&pending, &region).await.unwrap();
    assert_eq!(r.image.id.as_str(), "ami-0220a0b1c2d3e4f50");
}

#[tokio::test(start_paused = true)]
async fn an_arm64_image_is_never_paired_with_an_x86_64_instance_type() {
    let cloud = demo();
    let region = "us-east-1".parse().unwrap();
    // The community's arm64 2.1.0, mapped for a template that only has an x86_64 type.
    let err = resolver(&cloud)
        .resolve(
            &mapped("ami-0123456789abcdef1", "instance_type: m6i.large"),
            &region,
        )
        .await
        .unwrap_err();
    let reason = &err.chain()[1].reason();
    assert!(
        reason.contains(
            "arm64, which none of the template's instance types offered in us-east-1 runs: m6i.large (x86_64)"
        ),
        "{reason}"
    );

    // With both types, the arm64 image launches on the arm64 type.
    let r = resolver(&cloud)
        .resolve(
            &mapped(
                "ami-0123456789abcdef1",
                "instance_types:\n  x86_64: m6i.large\n  arm64: m7g.large",
            ),
            &region,
        )
        .await
        .unwrap();
    assert_eq!(r.architecture, Architecture::Arm64);
    assert_eq!(r.instance_type.as_str(), "m7g.large");

    // A search allowing both, with only an x86_64 type, finds the x86_64 image.
    let mut t = python_ml("ami_preferred", "error", false);
    let config = t.ami_config.as_mut().unwrap();
    config.ami_mappings.clear();
    t.instance_types.remove(&Architecture::Arm64);
    let r = resolver(&cloud).resolve(&t, &region).await.unwrap();
    assert_eq!(r.method, ResolutionMethod::DynamicSearch);
    assert_eq!(r.image.architecture, Architecture::X86_64);
    assert_eq!(r.image.id.as_str(), "ami-0123456789abcdef0");
}

/// The search orders by version: 2.1.0 beats 2.0.5; the preferred arm64 wins over x86_64;
/// deprecated 2.0.0, pending 2.2.0 and the stranger's 2.9.9 are never candidates.
#[tokio::test(start_paused = true)]
async fn search_picks_the_newest_trusted_version_on_the_preferred_architecture() {
    let cloud = demo();
    let mut t = python_ml("ami_preferred", "error", false);
    t.ami_config.as_mut().unwrap().ami_mappings.clear();
    let r = resolver(&cloud)
        .resolve(&t, &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(r.method, ResolutionMethod::DynamicSearch);
    assert_eq!(r.image.id.as_str(), "ami-0123456789abcdef1");
    assert_eq!(r.image.name, "cws-python-ml-2.1.0-arm64");
    assert_eq!(r.instance_type.as_str(), "m7g.large");
    assert_eq!(r.chain[0].tier, ResolutionMethod::SsmParameter);
    assert!(matches!(r.chain[1].outcome, Outcome::Skipped { .. }));
    assert_eq!(r.chain[2].tier, ResolutionMethod::DynamicSearch);
}

/// A named owner the trust policy does not know fails the search tier with a clear error;
/// no search runs.
#[tokio::test(start_paused = true)]
async fn unknown_named_owners_are_refused() {
    let cloud = demo();
    let mut t = python_ml("ami_preferred", "error", false);
    t.ami_config.as_mut().unwrap().ami_mappings.clear();
    let r = common::resolver_with(&cloud, |b| {
        b.trust_policy(
            amiref::TrustPolicy::default().with_trusted(amiref_core::Owner::AwsMarketplace),
        )
    })
    .resolve(&t, &"us-east-1".parse().unwrap())
    .await;
    // The marketplace tier still finds the product's image; the search tier failed.
    let r = r.unwrap();
    assert_eq!(r.method, ResolutionMethod::Marketplace);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.to_string().starts_with("Dynamic search failed")
                && matches!(
                    w,
                    amiref::Warning::TierFailed {
                        tier: ResolutionMethod::DynamicSearch,
                        error: amiref::TierFailure::Trust { .. }
                    }
                ))
    );
    let search = &r.chain[2];
    assert!(matches!(search.outcome, Outcome::Failed { .. }));
    assert!(
        search
            .reason()
            .contains("named owner \"prism-community\" is not defined"),
        "{}",
        search.reason()
    );
}

/// fallback_timeout is one deadline over the image tiers: a tier still running when it
/// passes is recorded as cut off, and the fallback follows. Every tier's calls go out at
/// once, the script's base image lookup included, so the whole resolution takes as long as
/// its slowest needed call (11 minutes), not the sum.
#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_off_a_slow_tier_and_the_fallback_follows() {
    let cloud = demo();
    // Every DescribeImages takes 11 minutes; the template allows 10 for the image tiers.
    cloud.set_operation_latency("DescribeImages", Duration::from_secs(11 * 60));
    let mut t = python_ml("ami_preferred", "script_provisioning", true);
    t.ami_config.as_mut().unwrap().ami_mappings.clear();
    let region = "ap-south-1".parse().unwrap();
    let start = tokio::time::Instant::now();
    let r = resolver(&cloud).resolve(&t, &region).await.unwrap();
    let outcomes: Vec<_> = r.chain.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "skipped",   // no SSM parameter: no call
            "skipped",   // no mapping for ap-south-1: no call
            "timed_out", // the search's describe is cut off at 10 min
            "skipped",   // no registry configured
            "skipped",   // the product is not offered in ap-south-1: no describe
            "not_tried", // fallback_strategy is script_provisioning
            "found",     // the fallback: base image (11 min, not bounded), started at once
        ],
        "{:#?}",
        r.chain
    );
    assert_eq!(r.chain[2].elapsed_ms, 10 * 60 * 1000);
    assert_eq!(r.method, ResolutionMethod::ScriptProvisioning);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.to_string().contains("cut off by fallback_timeout")
                && matches!(
                    w,
                    amiref::Warning::TierTimedOut {
                        elapsed_ms: 600_000,
                        ..
                    }
                )),
        "{:?}",
        r.warnings
    );
    assert_eq!(start.elapsed(), Duration::from_secs(11 * 60));

    // With an error fallback the resolution fails with the chain, and a failure shaped by
    // the deadline is not cached: the next call tries again.
    let mut strict = t.clone();
    strict.ami_config.as_mut().unwrap().fallback_strategy =
        amiref_template::FallbackStrategy::Error;
    let resolver = resolver(&cloud);
    let err = resolver.resolve(&strict, &region).await.unwrap_err();
    assert!(matches!(err.chain()[2].outcome, Outcome::TimedOut { .. }));
    assert!(err.is_transient());
    cloud.set_operation_latency("DescribeImages", Duration::ZERO);
    let before = cloud.counters().operation("DescribeImages");
    let err = resolver.resolve(&strict, &region).await.unwrap_err();
    assert!(matches!(err.chain()[2].outcome, Outcome::Skipped { .. }));
    assert!(cloud.counters().operation("DescribeImages") > before);
}

/// A registry that answers from a fixed list, as the registry crate's would after its own
/// verification.
struct StaticRegistry(Vec<amiref_core::RegistryCandidate>);

#[async_trait::async_trait]
impl amiref_core::ImageRegistry for StaticRegistry {
    async fn candidates(
        &self,
        template: &str,
        region: &amiref_core::Region,
        _architectures: &[Architecture],
    ) -> Result<Vec<amiref_core::RegistryCandidate>, amiref_core::RegistryError> {
        Ok(self
            .0
            .iter()
            .filter(|c| c.template == template && &c.region == region)
            .cloned()
            .collect())
    }
}

fn candidate(
    image: &str,
    arch: Architecture,
    owner: Option<&str>,
    signed: bool,
) -> amiref_core::RegistryCandidate {
    let mut c = amiref_core::RegistryCandidate::new(
        "python-ml",
        "v2.1.0",
        image.parse().unwrap(),
        "us-east-1".parse().unwrap(),
        arch,
        "community",
    );
    c.expected_owner = owner.map(|o| o.parse().unwrap());
    c.signed_by = signed.then(|| "ed25519:cac933d676e1a0f0".to_owned());
    c.score = 4.8;
    c
}

/// The registry tier checks each entry's image in the region: its real owner must be the
/// one the entry states, and trusted (or vouched for by a signed entry naming it).
#[tokio::test(start_paused = true)]
async fn registry_entries_are_checked_against_the_real_image() {
    let cloud = demo();
    let mut t = python_ml("ami_preferred", "error", false);
    {
        let config = t.ami_config.as_mut().unwrap();
        config.ami_mappings.clear();
        config.ami_search = None;
        config.marketplace_search = None;
    }
    let region: amiref_core::Region = "us-east-1".parse().unwrap();
    let resolve = |candidates: Vec<amiref_core::RegistryCandidate>, trust: amiref::TrustPolicy| {
        let cloud = cloud.clone();
        let t = t.clone();
        let region = region.clone();
        async move {
            common::resolver_with(&cloud, |b| {
                b.registry(std::sync::Arc::new(StaticRegistry(candidates)))
                    .trust_policy(trust)
            })
            .resolve(&t, &region)
            .await
        }
    };
    // The stranger's look-alike listed as the community's: the real owner differs.
    let err = resolve(
        vec![candidate(
            "ami-0bad0bad0bad0bad0",
            Architecture::X86_64,
            Some("111122223333"),
            true,
        )],
        common::trust(),
    )
    .await
    .unwrap_err();
    let reason = &err.chain()[3].reason();
    assert!(
        reason.contains("owned by 999988887777, not by 111122223333"),
        "{reason}"
    );

    // An unsigned entry for an owner the policy does not trust: refused.
    let err = resolve(
        vec![candidate(
            "ami-0123456789abcdef0",
            Architecture::X86_64,
            None,
            false,
        )],
        amiref::TrustPolicy::default(),
    )
    .await
    .unwrap_err();
    assert!(
        err.chain()[3]
            .reason()
            .contains("owned by 111122223333, which the default trust policy (trusts self, amazon) does not trust"),
        "{}",
        err.chain()[3].reason()
    );

    let signed = || {
        vec![
            candidate(
                "ami-0bad0bad0bad0bad0",
                Architecture::X86_64,
                Some("111122223333"),
                true,
            ),
            candidate(
                "ami-0123456789abcdef0",
                Architecture::X86_64,
                Some("111122223333"),
                true,
            ),
        ]
    };
    // Signed and naming its owner, but the policy does not let registry publishers vouch:
    // refused like any other untrusted owner.
    let err = resolve(signed(), amiref::TrustPolicy::default())
        .await
        .unwrap_err();
    assert!(err.chain()[3].reason().contains("does not trust"), "{err}");

    // Where the policy lets them vouch: accepted; the first acceptable wins.
    let r = resolve(
        signed(),
        amiref::TrustPolicy::default().with_registry_vouching(true),
    )
    .await
    .unwrap();
    assert_eq!(r.method, ResolutionMethod::CommunityRegistry);
    assert_eq!(r.image.id.as_str(), "ami-0123456789abcdef0");
    assert_eq!(r.estimate.launch_time.as_secs(), 45);
}
