//! Publishing a version to AWS Marketplace.

use std::time::Duration;

use amiref_core::{ChangeSetStatus, Marketplace, MarketplaceProduct};
use amiref_lifecycle::{
    AuditOutcome, HourlyPricing, Lifecycle, MemoryAuditSink, PublishSpec, change_set_json,
};
use amiref_memory::op;

use crate::{BASE, ami, region, world};

fn spec() -> PublishSpec {
    let mut spec = PublishSpec::new(
        "prod-abc123def4567",
        "2.1.0",
        region("us-east-1"),
        ami(BASE),
        "arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
        "m5.large".parse().unwrap(),
    );
    spec.release_notes = "PyTorch 2.1, CUDA 12".into();
    spec
}

fn product_world() -> amiref_memory::MemoryCloud {
    world()
        .product(MarketplaceProduct::new(
            "prodcode123",
            "prod-abc123def4567",
            "Python ML",
        ))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_builds_the_change_set_with_the_price_and_submits_nothing() {
    let cloud = product_world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let mut spec = spec();
    spec.dry_run = true;
    spec.pricing = Some(HourlyPricing::new(
        "offer-abc123def4567",
        0.05,
        vec!["m5.large".parse().unwrap(), "m5.xlarge".parse().unwrap()],
    ));

    let report = lc.publish(&cloud, &spec, None).await.unwrap();

    assert_eq!(report.change_set_id, None);
    assert_eq!(cloud.counters().operation(op::START_CHANGE_SET), 0);
    let json = change_set_json(&report.change_set);
    assert_eq!(json["Catalog"], "AWSMarketplace");
    let add = &json["ChangeSet"][0];
    assert_eq!(add["ChangeType"], "AddDeliveryOptions");
    assert_eq!(add["Entity"]["Type"], "AmiProduct@1.0");
    assert_eq!(add["Entity"]["Identifier"], "prod-abc123def4567");
    assert_eq!(add["DetailsDocument"]["Version"]["VersionTitle"], "2.1.0");
    let source = &add["DetailsDocument"]["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"]
        ["AmiSource"];
    assert_eq!(source["AmiId"], BASE);
    let price = &json["ChangeSet"][1];
    assert_eq!(price["ChangeType"], "UpdatePricingTerms");
    assert_eq!(price["Entity"]["Type"], "Offer@1.0");
    let card = &price["DetailsDocument"]["Terms"][0]["RateCards"][0]["RateCard"];
    assert_eq!(card[1]["DimensionKey"], "m5.xlarge");
    assert_eq!(card[1]["Price"], "0.05");
    assert_eq!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Planned
    );
}

#[tokio::test(start_paused = true)]
async fn publishing_submits_once_and_polls_until_the_version_is_live() {
    let cloud = product_world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);

    let report = lc
        .publish(&cloud, &spec(), Some(Duration::from_secs(6 * 3600)))
        .await
        .unwrap();

    assert_eq!(report.status, Some(ChangeSetStatus::Succeeded));
    let product = cloud.product("prodcode123").await.unwrap();
    let version = product
        .versions
        .iter()
        .find(|v| v.version == "2.1.0")
        .unwrap();
    assert_eq!(version.images.get(&region("us-east-1")), Some(&ami(BASE)));

    // The same publication again is the same change set (idempotent by its token).
    let again = lc.publish(&cloud, &spec(), None).await.unwrap();
    assert_eq!(again.change_set_id, report.change_set_id);
    assert_eq!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Succeeded
    );
}

#[tokio::test(start_paused = true)]
async fn bad_inputs_are_named() {
    let cloud = product_world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let mut spec = spec();
    spec.access_role_arn = "MarketplaceRole".into();
    let err = lc.publish(&cloud, &spec, None).await.unwrap_err();
    assert!(err.to_string().contains("invalid access role"), "{err}");
    assert!(matches!(
        crate::write_ahead::summaries(&audit)[0].outcome,
        AuditOutcome::Refused { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_price_on_the_products_offer_goes_live_with_the_version_and_an_unknown_offer_fails() {
    let priced = |offer: &str| {
        let mut spec = spec();
        spec.pricing = Some(HourlyPricing::new(
            offer,
            0.05,
            vec!["m5.large".parse().unwrap()],
        ));
        spec
    };
    let cloud = world()
        .product(MarketplaceProduct::new(
            "prodcode123",
            "prod-abc123def4567",
            "Python ML",
        ))
        .offer("prod-abc123def4567", "offer-abc123def4567")
        .build()
        .unwrap();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let wait = Some(Duration::from_secs(6 * 3600));

    let report = lc
        .publish(&cloud, &priced("offer-abc123def4567"), wait)
        .await
        .unwrap();
    assert_eq!(report.status, Some(ChangeSetStatus::Succeeded));

    let mut other = priced("offer-000000000000");
    other.version = "2.1.1".into();
    let failed = lc.publish(&cloud, &other, wait).await;
    let status = failed.map(|r| r.status);
    assert!(
        matches!(&status, Ok(Some(ChangeSetStatus::Failed(why))) if why.contains("offer-000000000000"))
            || status
                .as_ref()
                .is_err_and(|e| e.to_string().contains("offer-000000000000")),
        "{status:?}"
    );
}
