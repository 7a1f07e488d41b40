//! The tier list is open: a caller's own `Strategy` runs beside the built-in tiers, in the
//! launch region and in the fallback regions, and its answers appear in the chain like any
//! other tier's. And the resolver reads through less than a whole cloud.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use amiref::strategies::{Attempt, Context, Found, FoundVia, Rejected, Skip, Strategy};
use amiref::{BuildError, Outcome, ResolutionMethod, Resolver, TierName};
use amiref_core::{
    AccountSettings, AllowedImagesSettings, AmiId, Architecture, CallerIdentity, CloudError,
    Identity, Image, ImageCatalog, ImageFilter, InstanceType, InstanceTypes, Marketplace,
    MarketplaceProduct, Parameter, ParameterName, Parameters, Region, SnapshotId,
};
use amiref_memory::MemoryCloud;
use async_trait::async_trait;
use common::{demo, resolver_with, template, trust};

/// A lab's own catalog of golden images: one image id per region, checked like any find.
struct GoldenCatalog(BTreeMap<Region, AmiId>);

fn golden() -> ResolutionMethod {
    ResolutionMethod::Custom(TierName::new("golden_catalog").unwrap())
}

#[async_trait]
impl Strategy for GoldenCatalog {
    fn tier(&self) -> ResolutionMethod {
        golden()
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(id) = self.0.get(cx.region) else {
            return Attempt::Skipped(Skip::other(format!(
                "the golden catalog has no image for {}",
                cx.region
            )));
        };
        let image = match cx.describe_one(id).await {
            Ok(Some(image)) => image,
            Ok(None) => return Attempt::Skipped(Skip::rejected(cx.not_visible(id).await)),
            Err(e) => return Attempt::Failed(e.into()),
        };
        match cx.check(&image, false).await {
            Ok(checked) => {
                let via = FoundVia::Other {
                    detail: "the lab's golden catalog".into(),
                };
                Attempt::Found(Box::new(
                    Found::new(image, checked.choice, via).with_warnings(checked.warnings),
                ))
            }
            Err(why) => Attempt::Skipped(Skip::rejected(Rejected::from(why))),
        }
    }
}

fn catalog(entries: &[(&str, &str)]) -> Arc<dyn Strategy> {
    Arc::new(GoldenCatalog(
        entries
            .iter()
            .map(|(r, id)| (r.parse().unwrap(), id.parse().unwrap()))
            .collect(),
    ))
}

/// A template that asks nothing of the built-in image tiers.
fn lab_tool(fallback: &str) -> amiref::template::Template {
    template(&format!(
        "name: lab-tool\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: {fallback}\n"
    ))
}

#[tokio::test(start_paused = true)]
async fn a_callers_tier_finds_the_image_and_stands_in_the_chain() {
    let cloud = demo();
    let resolver = resolver_with(&cloud, |b| {
        b.tier(catalog(&[("us-east-1", "ami-0123456789abcdef0")]))
    });
    let r = resolver
        .resolve(&lab_tool("error"), &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(r.method, golden());
    assert_eq!(r.image.id.as_str(), "ami-0123456789abcdef0");
    let tiers: Vec<ResolutionMethod> = r.chain.iter().map(|e| e.tier.clone()).collect();
    let mut expected = ResolutionMethod::IN_REGION.to_vec();
    expected.extend([
        golden(),
        ResolutionMethod::CrossRegion,
        ResolutionMethod::ScriptProvisioning,
    ]);
    assert_eq!(tiers, expected);
    let entry = &r.chain[5];
    assert!(entry.used);
    match &entry.outcome {
        Outcome::Found(find) => {
            assert_eq!(find.image.as_str(), "ami-0123456789abcdef0");
            assert!(matches!(find.via, FoundVia::Other { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        entry.reason().contains("the lab's golden catalog"),
        "{}",
        entry.reason()
    );
    // Its JSON names the tier as the caller's.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["method"]["custom"], "golden_catalog");
    assert_eq!(json["chain"][5]["tier"]["custom"], "golden_catalog");

    // Where the catalog has nothing, its skip is in the chain and the error says it.
    let err = resolver
        .resolve(&lab_tool("error"), &"eu-west-2".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(
        &err.chain()[5].outcome,
        Outcome::Skipped {
            reason: Skip::Other { .. }
        }
    ));
    assert!(
        err.to_string()
            .contains("golden_catalog skipped: the golden catalog has no image for eu-west-2"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_callers_tier_is_checked_like_any_and_runs_in_the_fallback_regions() {
    let cloud = demo();
    // A stranger's look-alike in the catalog is refused by the trust policy.
    let resolver = resolver_with(&cloud, |b| {
        b.tier(catalog(&[("us-east-1", "ami-0bad0bad0bad0bad0")]))
    });
    let err = resolver
        .resolve(&lab_tool("error"), &"us-east-1".parse().unwrap())
        .await
        .unwrap_err();
    match &err.chain()[5].outcome {
        Outcome::Skipped { reason } => assert!(
            matches!(
                reason.rejections()[..],
                [amiref::Rejection::Untrusted { .. }]
            ),
            "{reason:?}"
        ),
        other => panic!("{other:?}"),
    }

    // ap-south-1 has nothing; its first fallback region, ap-southeast-1, has the image in
    // the catalog: the plan copies it from there.
    let resolver = resolver_with(&cloud, |b| {
        b.tier(catalog(&[("ap-southeast-1", "ami-0a5e123456789def0")]))
    });
    let r = resolver
        .resolve(&lab_tool("cross_region"), &"ap-south-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(r.method, ResolutionMethod::CrossRegion);
    let plan = r.copy_plan.as_ref().unwrap();
    assert_eq!(plan.source_image.as_str(), "ami-0a5e123456789def0");
    assert_eq!(plan.source_region.as_str(), "ap-southeast-1");
    let cross = r
        .chain
        .iter()
        .find(|e| e.tier == ResolutionMethod::CrossRegion)
        .unwrap();
    match cross.outcome.found().map(|f| &f.via) {
        Some(FoundVia::CrossRegion(c)) => assert!(matches!(c.found, FoundVia::Other { .. })),
        other => panic!("{other:?}"),
    }
    assert!(
        r.warnings
            .iter()
            .any(|w| matches!(w, amiref::Warning::CopyFirst { .. })),
        "{:?}",
        r.warnings
    );
    // Everything in it, warnings and the nested finds included, reads back from JSON.
    let back: amiref::Resolution =
        serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[tokio::test(start_paused = true)]
async fn the_tier_list_can_be_replaced_and_is_checked_when_built() {
    let cloud = demo();
    let t = common::python_ml("ami_preferred", "error", false);
    // The catalog first, then only the direct mapping: the catalog wins.
    let resolver = resolver_with(&cloud, |b| {
        b.tiers(vec![
            catalog(&[("us-east-1", "ami-0123456789abcdef1")]),
            Arc::new(amiref::strategies::DirectMapping),
        ])
    });
    let r = resolver
        .resolve(&t, &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(r.method, golden());
    let tiers: Vec<ResolutionMethod> = r.chain.iter().map(|e| e.tier.clone()).collect();
    assert_eq!(
        tiers,
        [
            golden(),
            ResolutionMethod::DirectMapping,
            ResolutionMethod::CrossRegion,
            ResolutionMethod::ScriptProvisioning
        ]
    );

    let build = |tiers: Vec<Arc<dyn Strategy>>| {
        Resolver::builder()
            .cloud(cloud.clone())
            .tiers(tiers)
            .build()
            .unwrap_err()
    };
    let twice = build(vec![catalog(&[]), catalog(&[])]);
    assert!(
        matches!(&twice, BuildError::InvalidTier { tier, .. } if *tier == golden()),
        "{twice}"
    );
    let walk = build(vec![Arc::new(amiref::strategies::ScriptProvisioning)]);
    assert!(
        matches!(
            &walk,
            BuildError::InvalidTier {
                tier: ResolutionMethod::ScriptProvisioning,
                ..
            }
        ),
        "{walk}"
    );
}

/// What a resolution reads, and nothing else: no image store, no launches.
struct ReadOnly(Arc<MemoryCloud>);

#[async_trait]
impl ImageCatalog for ReadOnly {
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        self.0.describe_images(region, ids).await
    }
    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        self.0.search_images(region, filter).await
    }
    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
    ) -> Result<BTreeMap<SnapshotId, bool>, CloudError> {
        self.0.can_create_volumes(region, snapshots).await
    }
}

#[async_trait]
impl Marketplace for ReadOnly {
    async fn product(&self, code: &str) -> Result<MarketplaceProduct, CloudError> {
        self.0.product(code).await
    }
}

#[async_trait]
impl Identity for ReadOnly {
    async fn caller(&self) -> Result<CallerIdentity, CloudError> {
        self.0.caller().await
    }
}

#[async_trait]
impl Parameters for ReadOnly {
    async fn get_parameters(
        &self,
        region: &Region,
        names: &[ParameterName],
    ) -> Result<BTreeMap<ParameterName, Parameter>, CloudError> {
        self.0.get_parameters(region, names).await
    }
}

#[async_trait]
impl InstanceTypes for ReadOnly {
    async fn architectures(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeMap<InstanceType, Vec<Architecture>>, CloudError> {
        self.0.architectures(region, types).await
    }
    async fn offered_instance_types(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeSet<InstanceType>, CloudError> {
        self.0.offered_instance_types(region, types).await
    }
}

#[async_trait]
impl AccountSettings for ReadOnly {
    async fn allowed_images_settings(
        &self,
        region: &Region,
    ) -> Result<AllowedImagesSettings, CloudError> {
        self.0.allowed_images_settings(region).await
    }
}

#[tokio::test(start_paused = true)]
async fn the_resolver_reads_through_less_than_a_whole_cloud() {
    let cloud = demo();
    let clock = cloud.clone();
    let resolver = Resolver::builder()
        .ports(Arc::new(ReadOnly(cloud.clone())))
        .trust_policy(trust())
        .clock(Arc::new(move || clock.now()))
        .build()
        .unwrap();
    let t = common::python_ml("ami_preferred", "cross_region", false);
    let mapped = resolver
        .resolve(&t, &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(mapped.method, ResolutionMethod::DirectMapping);
    // It plans a copy, and changes nothing: resolving has no side effects.
    let copy = resolver
        .resolve(&t, &"ap-south-1".parse().unwrap())
        .await
        .unwrap();
    assert!(copy.copy_plan.is_some(), "a copy plan");
    assert_eq!(cloud.counters().operation("CopyImage"), 0);
}

/// A tier that fails on throttling at first, then answers as `inner` does.
struct ThrottledOnce {
    inner: Arc<dyn Strategy>,
    attempts: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Strategy for ThrottledOnce {
    fn tier(&self) -> ResolutionMethod {
        self.inner.tier()
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        if self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            == 0
        {
            let throttled = CloudError::new(
                amiref_core::CloudErrorKind::Throttled,
                "DescribeImages",
                "Request limit exceeded.",
            );
            return Attempt::Failed(throttled.into());
        }
        self.inner.attempt(cx).await
    }
}

/// The second catalog, a tier after the golden one.
struct Fallback(GoldenCatalog);

#[async_trait]
impl Strategy for Fallback {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::Custom(TierName::new("fallback_catalog").unwrap())
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        self.0.attempt(cx).await
    }
}

/// A tier that failed on throttling is tried once more before a lower tier's find is taken:
/// a passing fault does not change which image the template gets.
#[tokio::test(start_paused = true)]
async fn a_tier_that_failed_on_throttling_is_tried_again_before_a_lower_find_stands() {
    let cloud = demo();
    let first = Arc::new(ThrottledOnce {
        inner: catalog(&[("us-east-1", "ami-0123456789abcdef0")]),
        attempts: Default::default(),
    });
    let second: Arc<dyn Strategy> = Arc::new(Fallback(GoldenCatalog(
        [(
            "us-east-1".parse().unwrap(),
            "ami-0a1b2c3d4e5f60718".parse().unwrap(),
        )]
        .into(),
    )));
    let resolver = resolver_with(&cloud, |b| b.tiers(vec![first.clone(), second]));
    let r = resolver
        .resolve(&lab_tool("error"), &"us-east-1".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(r.image.id.as_str(), "ami-0123456789abcdef0", "{r:#?}");
    assert_eq!(r.method, golden());
    assert_eq!(first.attempts.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}
