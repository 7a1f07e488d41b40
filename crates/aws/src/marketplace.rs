//! [`Marketplace`] and [`MarketplacePublisher`] on the AWS Marketplace Catalog API.
//!
//! An AMI product is an `AmiProduct` entity. Its `Details` document lists versions, and
//! each version's sources name the AMI the seller submitted. The Catalog API lists only the
//! caller's own products (it is the seller's API): buyers find Marketplace images with
//! DescribeImages (`owners = aws-marketplace`, filter `product-code`) instead.

use std::collections::BTreeMap;

use amiref_core::{
    AmiId, ChangeSetRequest, ChangeSetStatus, CloudError, CloudErrorKind, Marketplace,
    MarketplaceProduct, MarketplacePublisher, ProductVersion, Region,
};
use async_trait::async_trait;
use aws_sdk_marketplacecatalog::types::{Change, ChangeStatus, Entity};
use serde_json::Value;

use crate::config::CATALOG_REGION;
use crate::{AwsCloud, error, mapping};

/// The catalog AMI products live in.
const CATALOG: &str = "AWSMarketplace";
/// The entity type of AMI products.
const AMI_PRODUCT: &str = "AmiProduct";

fn catalog_region() -> Option<Region> {
    Region::new(CATALOG_REGION).ok()
}

/// A product described by the catalog, parsed from its `Details` JSON document.
///
/// `product_code` is the code asked for (the document may name it as `ProductCode` too);
/// `fallback_title` is the entity's name, used when the document has no title. Sources
/// name their region where the document says so, and otherwise the region Marketplace
/// takes source AMIs from (`us-east-1`).
pub(crate) fn product_from_details(
    product_id: &str,
    product_code: &str,
    fallback_title: &str,
    details: &str,
) -> Result<MarketplaceProduct, CloudError> {
    let doc: Value = serde_json::from_str(details).map_err(|e| {
        CloudError::new(
            CloudErrorKind::Service,
            "DescribeEntity",
            format!("the Details of {product_id} are not JSON: {e}"),
        )
    })?;
    let title = doc
        .pointer("/Description/ProductTitle")
        .and_then(Value::as_str)
        .unwrap_or(fallback_title);
    let code = doc
        .get("ProductCode")
        .and_then(Value::as_str)
        .unwrap_or(product_code);
    let default_region = catalog_region();
    let mut product = MarketplaceProduct::new(code, product_id, title);
    for version in doc
        .get("Versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(version_title) = version.get("VersionTitle").and_then(Value::as_str) else {
            continue;
        };
        let mut out = ProductVersion::new(version_title);
        out.release_date = version
            .get("CreationDate")
            .and_then(Value::as_str)
            .and_then(mapping::parse_time);
        let mut images = BTreeMap::new();
        for source in version
            .get("Sources")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if source.get("Type").and_then(Value::as_str) != Some("AmiSource") {
                continue;
            }
            let Some(image) = source
                .get("Image")
                .and_then(Value::as_str)
                .and_then(|i| AmiId::new(i).ok())
            else {
                continue;
            };
            let region = source
                .get("Region")
                .and_then(Value::as_str)
                .and_then(|r| Region::new(r).ok())
                .or_else(|| default_region.clone());
            if let Some(region) = region {
                images.insert(region, image);
            }
        }
        out.images = images;
        product.versions.push(out);
    }
    Ok(product)
}

impl AwsCloud {
    async fn describe_product(
        &self,
        product_id: &str,
        product_code: &str,
        name: &str,
    ) -> Result<(MarketplaceProduct, bool), CloudError> {
        let region = catalog_region();
        let out = self
            .clients
            .catalog()
            .describe_entity()
            .catalog(CATALOG)
            .entity_id(product_id)
            .send()
            .await
            .map_err(|e| error::from_sdk("DescribeEntity", region.as_ref(), e))?;
        let details = out.details().unwrap_or("{}");
        let names_code = serde_json::from_str::<Value>(details)
            .ok()
            .and_then(|d| {
                d.get("ProductCode")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .is_some_and(|c| c == product_code);
        let product = product_from_details(product_id, product_code, name, details)?;
        Ok((product, names_code))
    }
}

#[async_trait]
impl Marketplace for AwsCloud {
    #[tracing::instrument(skip(self))]
    async fn product(&self, product_code: &str) -> Result<MarketplaceProduct, CloudError> {
        let region = catalog_region();
        // An entity id names the product directly.
        if product_code.starts_with("prod-") {
            return self
                .describe_product(product_code, product_code, product_code)
                .await
                .map(|(p, _)| p);
        }
        let summaries = self
            .clients
            .catalog()
            .list_entities()
            .catalog(CATALOG)
            .entity_type(AMI_PRODUCT)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("ListEntities", region.as_ref(), e))?;
        for summary in &summaries {
            let Some(id) = summary.entity_id() else {
                continue;
            };
            let name = summary.name().unwrap_or(id);
            let (product, names_code) = self.describe_product(id, product_code, name).await?;
            if names_code {
                return Ok(product);
            }
        }
        let mut err = CloudError::not_found(
            "ListEntities",
            format!(
                "no AMI product with product code {product_code} among the caller's {} \
                 Marketplace products",
                summaries.len()
            ),
        );
        if let Some(region) = &region {
            err = err.in_region(region);
        }
        Err(err)
    }
}

fn invalid_change(e: impl std::fmt::Display) -> CloudError {
    CloudError::new(
        CloudErrorKind::InvalidRequest,
        "StartChangeSet",
        format!("a change is incomplete: {e}"),
    )
}

#[async_trait]
impl MarketplacePublisher for AwsCloud {
    #[tracing::instrument(skip(self, request), fields(name = %request.change_set_name))]
    async fn start_change_set(&self, request: &ChangeSetRequest) -> Result<String, CloudError> {
        let region = catalog_region();
        let changes = request
            .changes
            .iter()
            .map(|c| {
                let entity = Entity::builder()
                    .r#type(&c.entity_type)
                    .identifier(&c.entity_id)
                    .build()
                    .map_err(invalid_change)?;
                Change::builder()
                    .change_type(&c.change_type)
                    .entity(entity)
                    .details(c.details.to_string())
                    .build()
                    .map_err(invalid_change)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The client request token makes a retried submission return the first one.
        let out = self
            .clients
            .catalog()
            .start_change_set()
            .catalog(&request.catalog)
            .change_set_name(&request.change_set_name)
            .client_request_token(&request.client_request_token)
            .set_change_set(Some(changes))
            .send()
            .await
            .map_err(|e| error::from_sdk("StartChangeSet", region.as_ref(), e))?;
        out.change_set_id().map(str::to_owned).ok_or_else(|| {
            CloudError::new(
                CloudErrorKind::Service,
                "StartChangeSet",
                "the catalog answered without a change set id",
            )
        })
    }

    async fn change_set_status(
        &self,
        catalog: &str,
        change_set_id: &str,
    ) -> Result<ChangeSetStatus, CloudError> {
        let region = catalog_region();
        let out = self
            .clients
            .catalog()
            .describe_change_set()
            .catalog(catalog)
            .change_set_id(change_set_id)
            .send()
            .await
            .map_err(|e| error::from_sdk("DescribeChangeSet", region.as_ref(), e))?;
        Ok(match out.status() {
            Some(ChangeStatus::Preparing) => ChangeSetStatus::Preparing,
            Some(ChangeStatus::Applying) => ChangeSetStatus::Applying,
            Some(ChangeStatus::Succeeded) => ChangeSetStatus::Succeeded,
            Some(ChangeStatus::Cancelled) => ChangeSetStatus::Cancelled,
            Some(ChangeStatus::Failed) => ChangeSetStatus::Failed(
                out.failure_description()
                    .or(out.failure_code().map(|c| c.as_str()))
                    .unwrap_or("no reason given")
                    .to_owned(),
            ),
            other => ChangeSetStatus::Failed(format!(
                "the catalog reported an unknown status {:?}",
                other.map(ChangeStatus::as_str)
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAILS: &str = r#"{
        "Description": {"ProductTitle": "CloudWorkstation ML"},
        "Versions": [
            {"Id": "v-1", "VersionTitle": "2.1.0", "CreationDate": "2024-03-01T00:00:00Z",
             "Sources": [{"Type": "AmiSource", "Id": "s-1", "Image": "ami-0123456789abcdef0",
                          "Architecture": "x86_64"}],
             "DeliveryOptions": [{"Id": "d-1", "Type": "AmiDeliveryOption", "SourceId": "s-1"}]},
            {"Id": "v-2", "VersionTitle": "2.2.0",
             "Sources": [{"Type": "AmiSource", "Image": "ami-0fedcba9876543210", "Region": "eu-west-1"},
                         {"Type": "ContainerSource", "Image": "not-an-ami"}]},
            {"Id": "v-3"}
        ]
    }"#;

    #[test]
    fn details_become_versions_with_images_per_region() {
        let p = product_from_details("prod-abc", "code123", "fallback", DETAILS).unwrap();
        assert_eq!(p.title, "CloudWorkstation ML");
        assert_eq!(p.product_code, "code123");
        assert_eq!(p.versions.len(), 2, "a version without a title is skipped");
        let v1 = &p.versions[0];
        assert_eq!(v1.version, "2.1.0");
        assert!(v1.release_date.is_some());
        let us: Region = "us-east-1".parse().unwrap();
        assert_eq!(v1.images[&us].as_str(), "ami-0123456789abcdef0");
        let eu: Region = "eu-west-1".parse().unwrap();
        assert_eq!(p.versions[1].images.len(), 1);
        assert_eq!(p.versions[1].images[&eu].as_str(), "ami-0fedcba9876543210");
    }

    #[test]
    fn broken_details_are_a_service_error() {
        let err = product_from_details("prod-abc", "c", "t", "{not json").unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::Service);
        assert!(err.message.contains("prod-abc"));
    }
}
