//! The `Marketplace` and `MarketplacePublisher` suites: products and their versions; change
//! sets, idempotent by client token, moving to Succeeded.

use std::time::Duration;

use amiref_core::{
    CatalogChange, ChangeSetRequest, ChangeSetStatus, CloudErrorKind, Marketplace,
    MarketplacePublisher,
};

use crate::fixture::PRODUCT_CODE;
use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

/// Checks reading the fixture's Marketplace product.
pub async fn run(marketplace: &dyn Marketplace, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("marketplace");
    r.check_if(
        caps.marketplace,
        "marketplace",
        "product_with_versions",
        async {
            let want = fixture
                .products
                .iter()
                .find(|p| p.product_code == PRODUCT_CODE)
                .ok_or_else(|| Failure("the fixture has no product".into()))?;
            let got = marketplace.product(PRODUCT_CODE).await?;
            ensure!(
                got.product_id == want.product_id,
                "product id {}",
                got.product_id
            );
            ensure!(
                got.versions.len() == want.versions.len(),
                "{} versions, expected {}",
                got.versions.len(),
                want.versions.len()
            );
            for v in &want.versions {
                let found = got
                    .versions
                    .iter()
                    .find(|g| g.version == v.version)
                    .ok_or_else(|| Failure(format!("version {} missing", v.version)))?;
                ensure!(
                    found.images == v.images,
                    "version {} offers {:?}, expected {:?}",
                    v.version,
                    found.images,
                    v.images
                );
            }
            Ok(())
        },
    )
    .await;
    r.check_if(
        caps.marketplace,
        "marketplace",
        "unknown_product_is_not_found",
        async {
            match marketplace.product("no-such-product-code").await {
                Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
                Err(e) => Err(Failure(format!("wrong error: {e}"))),
                Ok(p) => Err(Failure(format!("an unknown code answered {p:?}"))),
            }
        },
    )
    .await;
    r
}

/// Checks submitting and following change sets. With `change_set_progress`, it waits on
/// tokio's clock (paused in tests, so instantly) until the change set succeeds, at most
/// two simulated hours.
pub async fn run_publisher(
    publisher: &dyn MarketplacePublisher,
    fixture: &Fixture,
    caps: &Capabilities,
) -> Report {
    let mut r = Report::new("marketplace_publisher");
    let product_id = fixture
        .products
        .first()
        .map(|p| p.product_id.clone())
        .unwrap_or_default();
    let image = fixture
        .products
        .first()
        .and_then(|p| p.versions.first())
        .and_then(|v| v.images.values().next().cloned());
    let request = ChangeSetRequest::new(
        "AWSMarketplace",
        fixture.unique_name("release"),
        fixture.unique_name("release-token"),
        vec![CatalogChange::new(
            "AddDeliveryOptions",
            "AmiProduct@1.0",
            product_id,
            serde_json::json!({
                "Version": { "VersionTitle": "9.9.9", "ReleaseNotes": "conformance" },
                "DeliveryOptions": [{ "Details": { "AmiDeliveryOptionDetails": {
                    "AmiSource": { "AmiId": image, "AccessRoleArn": "arn:aws:iam::123456789012:role/mp" }
                } } }]
            }),
        )],
    );
    r.check_if(
        caps.marketplace,
        "marketplace",
        "change_set_is_idempotent_by_token",
        async {
            let first = publisher.start_change_set(&request).await?;
            let second = publisher.start_change_set(&request).await?;
            ensure!(
                first == second,
                "one token gave change sets {first} and {second}"
            );
            Ok(())
        },
    )
    .await;
    r.check_if(
        caps.marketplace,
        "marketplace",
        "unknown_change_set_is_not_found",
        async {
            match publisher
                .change_set_status("AWSMarketplace", "cs-doesnotexist0")
                .await
            {
                Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
                other => Err(Failure(format!("expected NotFound, got {other:?}"))),
            }
        },
    )
    .await;
    r.check_if(
        caps.marketplace && caps.change_set_progress,
        "change_set_progress",
        "change_set_moves_to_succeeded",
        async {
            let id = publisher.start_change_set(&request).await?;
            let mut seen = Vec::new();
            for _ in 0..240 {
                let status = publisher.change_set_status("AWSMarketplace", &id).await?;
                if seen.last() != Some(&status) {
                    seen.push(status.clone());
                }
                match status {
                    ChangeSetStatus::Succeeded => break,
                    ChangeSetStatus::Failed(why) => {
                        return Err(Failure(format!("change set failed: {why}")));
                    }
                    _ => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            }
            ensure!(
                seen.last() == Some(&ChangeSetStatus::Succeeded),
                "statuses seen: {seen:?}"
            );
            ensure!(
                !seen.iter().any(|s| matches!(s, ChangeSetStatus::Cancelled)),
                "statuses seen: {seen:?}"
            );
            Ok(())
        },
    )
    .await;
    r
}
