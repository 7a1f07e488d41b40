//! `Marketplace` and `MarketplacePublisher`: products with versions, and change sets that
//! move Preparing → Applying → Succeeded on tokio's clock.

use amiref_core::{
    AmiId, ChangeSetRequest, ChangeSetStatus, CloudError, CloudErrorKind, Marketplace,
    MarketplaceProduct, MarketplacePublisher, ProductVersion,
};
use async_trait::async_trait;

use crate::cloud::MemoryCloud;
use crate::knobs::op;
use crate::state::{ChangeSet, WorldData, later_by};

/// The only catalog the Marketplace Catalog API knows.
const CATALOG: &str = "AWSMarketplace";

#[async_trait]
impl Marketplace for MemoryCloud {
    async fn product(&self, product_code: &str) -> Result<MarketplaceProduct, CloudError> {
        self.begin(op::DESCRIBE_ENTITY, None).await?;
        self.read()
            .products
            .get(product_code)
            .cloned()
            .ok_or_else(|| {
                CloudError::not_found(
                    op::DESCRIBE_ENTITY,
                    format!("no Marketplace product has product code {product_code:?}"),
                )
                .with_code("ResourceNotFoundException")
            })
    }
}

#[async_trait]
impl MarketplacePublisher for MemoryCloud {
    async fn start_change_set(&self, request: &ChangeSetRequest) -> Result<String, CloudError> {
        let now = self.begin(op::START_CHANGE_SET, None).await?;
        let validation = |message: String| {
            CloudError::new(
                CloudErrorKind::InvalidRequest,
                op::START_CHANGE_SET,
                message,
            )
            .with_code("ValidationException")
        };
        if request.catalog != CATALOG {
            return Err(validation(format!(
                "catalog {:?} does not exist; expected {CATALOG:?}",
                request.catalog
            )));
        }
        if request.changes.is_empty() {
            return Err(validation("a change set needs at least one change".into()));
        }
        let mut world = self.write();
        let token_key = (self.caller.clone(), request.client_request_token.clone());
        if let Some(id) = world.change_set_tokens.get(&token_key) {
            let same = world
                .change_sets
                .get(id)
                .is_some_and(|c| c.request == *request);
            return if same {
                Ok(id.clone())
            } else {
                Err(CloudError::new(
                    CloudErrorKind::InvalidRequest,
                    op::START_CHANGE_SET,
                    "the client request token was already used for a different change set",
                )
                .with_code("ConflictException"))
            };
        }
        let failure = check_changes(&world, request);
        let id = format!("cs-{}", &world.fresh_hex()[1..]);
        tracing::debug!(change_set = %id, ?failure, "change set submitted");
        let submitted = world.now_utc(now);
        world.change_sets.insert(
            id.clone(),
            ChangeSet {
                request: request.clone(),
                caller: self.caller.clone(),
                submitted,
                failure,
                applied: false,
            },
        );
        world.change_set_tokens.insert(token_key, id.clone());
        Ok(id)
    }

    async fn change_set_status(
        &self,
        catalog: &str,
        change_set_id: &str,
    ) -> Result<ChangeSetStatus, CloudError> {
        let now = self.begin(op::DESCRIBE_CHANGE_SET, None).await?;
        let world = self.read();
        let change_set = world
            .change_sets
            .get(change_set_id)
            .filter(|c| c.request.catalog == catalog)
            .ok_or_else(|| {
                CloudError::not_found(
                    op::DESCRIBE_CHANGE_SET,
                    format!("change set {change_set_id} does not exist in catalog {catalog}"),
                )
                .with_code("ResourceNotFoundException")
            })?;
        let now = world.now_utc(now);
        let prepared = later_by(change_set.submitted, world.timings.change_set_preparing);
        Ok(if now < prepared {
            ChangeSetStatus::Preparing
        } else if let Some(reason) = &change_set.failure {
            ChangeSetStatus::Failed(reason.clone())
        } else if now < world.change_set_due(change_set) {
            ChangeSetStatus::Applying
        } else {
            ChangeSetStatus::Succeeded
        })
    }
}

/// Why the catalog would fail the change set, if it would: every change must name a known
/// AMI product, and a new version's image must exist.
fn check_changes(world: &WorldData, request: &ChangeSetRequest) -> Option<String> {
    for change in &request.changes {
        // A price is set on the product's offer, as the catalog's UpdatePricingTerms does.
        if change.entity_type.starts_with("Offer@") {
            if !world.offers.contains_key(&change.entity_id) {
                return Some(format!(
                    "ResourceNotFound: offer {} does not exist",
                    change.entity_id
                ));
            }
            if change.change_type != "UpdatePricingTerms" {
                return Some(format!(
                    "change type {:?} is not one this world applies to an offer (UpdatePricingTerms)",
                    change.change_type
                ));
            }
            continue;
        }
        if !change.entity_type.starts_with("AmiProduct@") {
            return Some(format!(
                "entity type {:?} is not an AMI product (AmiProduct@1.0)",
                change.entity_type
            ));
        }
        if !world
            .products
            .values()
            .any(|p| p.product_id == change.entity_id)
        {
            return Some(format!(
                "ResourceNotFound: entity {} does not exist",
                change.entity_id
            ));
        }
        if change.change_type == "AddDeliveryOptions" {
            match delivered_image(&change.details) {
                Some(image) if image_region(world, &image).is_some() => {}
                Some(image) => return Some(format!("AMI {image} does not exist")),
                None => {
                    return Some(
                        "AddDeliveryOptions needs DeliveryOptions[].Details.AmiDeliveryOptionDetails.AmiSource.AmiId"
                            .into(),
                    );
                }
            }
        }
    }
    None
}

fn delivered_image(details: &serde_json::Value) -> Option<AmiId> {
    details
        .pointer("/DeliveryOptions/0/Details/AmiDeliveryOptionDetails/AmiSource/AmiId")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn image_region(world: &WorldData, image: &AmiId) -> Option<amiref_core::Region> {
    world
        .regions
        .iter()
        .find(|(_, r)| r.images.contains_key(image))
        .map(|(region, _)| region.clone())
}

/// Applies a succeeded change set: `AddDeliveryOptions` adds a version (its title from
/// `Version.VersionTitle`) offering the delivered image in its region.
pub(crate) fn apply_change_set(
    world: &mut WorldData,
    request: &ChangeSetRequest,
    released: chrono::DateTime<chrono::Utc>,
) {
    for change in &request.changes {
        if change.change_type != "AddDeliveryOptions" {
            continue;
        }
        let Some(image) = delivered_image(&change.details) else {
            continue;
        };
        let Some(region) = image_region(world, &image) else {
            continue;
        };
        let title = change
            .details
            .pointer("/Version/VersionTitle")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unnamed")
            .to_owned();
        if let Some(product) = world
            .products
            .values_mut()
            .find(|p| p.product_id == change.entity_id)
        {
            let mut version = ProductVersion::new(title);
            version.release_date = Some(released);
            version.images.insert(region, image);
            product.versions.push(version);
        }
    }
}
