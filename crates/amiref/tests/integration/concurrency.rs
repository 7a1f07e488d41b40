//! Batching, caching, single flights and shared copies, counted by the in-process cloud.
#![allow(clippy::unwrap_used)]

use crate::common;
#[path = "../../benches/support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use amiref::{BuildError, Resolver};
use amiref_core::{Region, ResolutionMethod};
use common::{demo, python_ml, resolver};

#[tokio::test(start_paused = true)]
async fn twenty_templates_in_every_region_cost_one_describe_per_region() {
    let (cloud, templates, regions) = support::every_region_world(20, Duration::from_millis(50));
    let resolver = common::resolver(&cloud);
    let results = resolver.resolve_many(&templates, &regions).await;
    assert_eq!(results.len(), 20 * regions.len());
    for r in &results {
        let res = r.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.method, ResolutionMethod::DirectMapping);
    }
    let counters = cloud.counters();
    for region in &regions {
        assert_eq!(
            counters.get("DescribeImages", Some(region)),
            1,
            "{region}: one batched describe"
        );
    }
    // Resolved again: all from the cache... except the batched describes, which run before
    // the cache is consulted; the tiers themselves make no call.
    cloud.reset_counters();
    let again = resolver.resolve_many(&templates, &regions).await;
    assert!(again.iter().all(|r| r.result.is_ok()));
    assert!(cloud.counters().operation("DescribeImages") <= regions.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn regions_resolve_concurrently() {
    let (cloud, templates, regions) = support::every_region_world(1, Duration::from_millis(50));
    let resolver = common::resolver(&cloud);
    // Warm the caller identity, fetched once per resolver.
    resolver.resolve(&templates[0], &regions[0]).await.unwrap();
    let start = tokio::time::Instant::now();
    let results = resolver.resolve_many(&templates, &regions[1..]).await;
    assert!(results.iter().all(|r| r.result.is_ok()));
    // One call's latency, not one per region.
    assert_eq!(start.elapsed(), Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn cache_hits_make_no_calls_and_expire() {
    let cloud = demo();
    let resolver = common::resolver_with(&cloud, |b| {
        b.cache_ttl(Duration::from_secs(300), Duration::from_secs(60))
    });
    let t = python_ml("ami_preferred", "script_provisioning", true);
    let region = "us-east-1".parse().unwrap();
    let first = resolver.resolve(&t, &region).await.unwrap();
    let calls = cloud.counters().total();
    let second = resolver.resolve(&t, &region).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(cloud.counters().total(), calls, "a hit makes no call");

    // Negative results are cached too, for their own TTL.
    let strict = python_ml("ami_required", "error", false);
    let south = "ap-south-1".parse().unwrap();
    resolver.resolve(&strict, &south).await.unwrap_err();
    let calls = cloud.counters().total();
    resolver.resolve(&strict, &south).await.unwrap_err();
    assert_eq!(cloud.counters().total(), calls);
    tokio::time::advance(Duration::from_secs(61)).await;
    resolver.resolve(&strict, &south).await.unwrap_err();
    assert!(
        cloud.counters().total() > calls,
        "the negative entry expired"
    );

    // A changed template is another key.
    let calls = cloud.counters().total();
    let mut changed = t.clone();
    changed.provisioning_time = Some(Duration::from_secs(600).into());
    resolver.resolve(&changed, &region).await.unwrap();
    assert!(cloud.counters().total() > calls);

    // So is the same template without a script: the script tier cannot succeed then.
    let scripted = python_ml("ami_preferred", "cross_region", true);
    let bare = python_ml("ami_preferred", "cross_region", false);
    let a = resolver.resolve(&scripted, &south).await.unwrap();
    let b = resolver.resolve(&bare, &south).await.unwrap();
    assert_eq!(a.method, ResolutionMethod::ScriptProvisioning);
    assert_eq!(b.method, ResolutionMethod::CrossRegion);
}

#[tokio::test(start_paused = true)]
async fn identical_concurrent_resolutions_share_one_flight() {
    let cloud = demo();
    cloud.set_latency(Duration::from_millis(50));
    let resolver = resolver(&cloud);
    let t = python_ml("ami_preferred", "script_provisioning", true);
    let region: Region = "us-east-1".parse().unwrap();
    // What one resolution costs, on a fresh world and resolver.
    let alone = demo();
    alone.set_latency(Duration::from_millis(50));
    common::resolver(&alone).resolve(&t, &region).await.unwrap();
    let one = alone.counters();
    let all = futures::future::join_all((0..100).map(|_| resolver.resolve(&t, &region))).await;
    assert!(
        all.iter()
            .all(|r| r.as_ref().unwrap().image.id.as_str() == "ami-0123456789abcdef0")
    );
    // A hundred identical callers cost what one does.
    assert_eq!(cloud.counters().total(), one.total());
    assert_eq!(cloud.counters().operation("GetCallerIdentity"), 1);
}

/// 100 callers carrying out the same copy plan at once, through the lifecycle's one copy
/// engine: one copy. In one process (one `CopyLimits`, as a session shares) it is one request;
/// across processes the plan's token is the lifecycle's, so the cloud hands every caller the
/// same image, whichever request arrives first.
#[tokio::test(start_paused = true)]
async fn one_hundred_concurrent_copies_of_one_plan_make_exactly_one_image() {
    let cloud = demo();
    cloud.set_latency(Duration::from_millis(50));
    let resolver = resolver(&cloud);
    let t = python_ml("ami_required", "cross_region", true);
    let region: Region = "ap-south-1".parse().unwrap();
    let resolutions =
        futures::future::join_all((0..100).map(|_| resolver.resolve(&t, &region))).await;
    let plans: Vec<_> = resolutions
        .into_iter()
        .map(|r| r.unwrap().copy_plan.expect("a copy plan"))
        .collect();
    assert!(plans.windows(2).all(|w| w[0] == w[1]));
    let before = cloud.image_count(&region);
    cloud.reset_counters();
    let one_process = Arc::new(amiref::lifecycle::CopyLimits::ec2());
    let copies = futures::future::join_all(
        plans
            .iter()
            .map(|p| common::copy_sharing(&cloud, &resolver, p, &one_process)),
    )
    .await;
    let first = copies[0].as_ref().unwrap();
    assert!(copies.iter().all(|c| c.as_ref().unwrap().id == first.id));
    assert_eq!(first.region, region);
    assert!(first.is_available());
    assert_eq!(
        cloud.image_count(&region),
        before + 1,
        "one image, however many callers"
    );
    assert_eq!(
        cloud.counters().operation("CopyImage"),
        1,
        "the others waited for the copy in flight"
    );

    // Another resolver (another host) with the same plan gets the same copy via the token.
    let other = common::resolver(&cloud);
    let again = common::copy(&cloud, &other, &plans[0]).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(cloud.image_count(&region), before + 1);

    // After the copy, the region's cached resolutions are dropped; the copy is ours (self,
    // trusted) but nothing maps or searches for it, so the template still resolves by copy.
    let r = resolver.resolve(&t, &region).await.unwrap();
    assert_eq!(r.method, ResolutionMethod::CrossRegion);
}

#[tokio::test(start_paused = true)]
async fn preview_runs_every_tier_and_compares_costs() {
    let cloud = demo();
    let t = python_ml("ami_preferred", "script_provisioning", true);
    let preview = resolver(&cloud)
        .preview(&t, &"us-east-1".parse().unwrap(), &Default::default())
        .await;
    let resolution = preview.resolution.as_ref().unwrap();
    assert_eq!(resolution.method, ResolutionMethod::DirectMapping);
    let outcomes: Vec<_> = preview
        .tiers
        .iter()
        .map(|e| (e.tier.clone(), e.outcome.as_str(), e.used))
        .collect();
    use amiref::ResolutionMethod::*;
    assert_eq!(
        outcomes,
        [
            (SsmParameter, "skipped", true),
            (DirectMapping, "found", true),
            (DynamicSearch, "found", false),
            (CommunityRegistry, "skipped", false),
            (Marketplace, "found", false),
            (CrossRegion, "not_tried", false),
            (ScriptProvisioning, "found", false),
        ]
    );
    // The search ran and found an image the resolution did not need: its entry says so
    // by `used`, and keeps its find as facts.
    assert!(preview.tiers[2].not_needed());
    assert!(!preview.tiers[5].not_needed());
    assert!(matches!(
        preview.tiers[5].outcome,
        amiref::Outcome::NotTried {
            reason: amiref::NotTried::FallbackStrategy { .. }
        }
    ));
    let methods: Vec<_> = preview
        .comparison
        .iter()
        .map(|c| c.method.clone())
        .collect();
    assert!(methods.contains(&ResolutionMethod::ScriptProvisioning));
    assert!(methods.contains(&ResolutionMethod::DirectMapping));
    let direct = preview
        .comparison
        .iter()
        .find(|c| c.method == ResolutionMethod::DirectMapping)
        .unwrap();
    assert!(direct.chosen);
    // m6i.large at $0.096/h for 30 s.
    assert!((direct.estimate.setup_cost_usd.unwrap() - 0.096 * 30.0 / 3600.0).abs() < 1e-12);
    let json = serde_json::to_value(&preview).unwrap();
    assert_eq!(json["resolution"]["method"], "direct_mapping");
    // The chain in JSON holds the facts: the outcome's kind, the image, how it was found.
    let found = &json["tiers"][1]["outcome"];
    assert_eq!(found["kind"], "found");
    assert_eq!(found["image"], "ami-0123456789abcdef0");
    assert_eq!(found["via"]["kind"], "direct_mapping");
    assert_eq!(
        json["tiers"][5]["outcome"]["reason"]["kind"],
        "fallback_strategy"
    );
    // ... and reads back as the same preview.
    let back: amiref::Preview = serde_json::from_value(json).unwrap();
    assert_eq!(back, preview);
}

#[test]
fn an_incomplete_build_is_an_error() {
    assert_eq!(
        Resolver::builder().build().unwrap_err(),
        BuildError::MissingCloud
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let cloud = demo();
        let err = Resolver::builder()
            .cloud(cloud)
            .concurrency(0)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("concurrency"), "{err}");
    });
}
