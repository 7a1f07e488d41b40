//! Publishing an image as a new version of an AWS Marketplace AMI product.
//!
//! The change set follows the AWS Marketplace Catalog API's documented shapes for AMI
//! products: `AddDeliveryOptions` on the `AmiProduct@1.0` entity adds a version (its
//! `Version` and one `AmiDeliveryOptionDetails` naming the image, the role Marketplace uses to
//! copy and scan it, and how buyers use it); an hourly price is set with `UpdatePricingTerms`
//! on the product's `Offer@1.0` entity, a `UsageBasedPricingTerm` whose rate card prices each
//! instance-type dimension. Submission is idempotent through a client request token derived
//! from the product, version and image.

use std::time::Duration;

use amiref_core::{
    AmiId, CatalogChange, ChangeSetRequest, ChangeSetStatus, CloudError, CloudErrorKind,
    InstanceType, MarketplacePublisher, Region,
};
use amiref_layers::{Acceptance, WaitError, Waiter};
use serde_json::{Value, json};

use crate::audit::{AuditOutcome, AuditRecord};
use crate::context::Lifecycle;
use crate::error::LifecycleError;
use crate::progress::ProgressEvent;
use crate::tags::token_from;

/// The catalog every AMI product lives in.
pub const CATALOG: &str = "AWSMarketplace";
/// The entity type of an AMI product.
pub const AMI_PRODUCT_ENTITY: &str = "AmiProduct@1.0";
/// The entity type of an offer.
pub const OFFER_ENTITY: &str = "Offer@1.0";

/// One inbound rule of the security group Marketplace recommends to buyers.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct IngressRule {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// First port.
    pub from_port: u16,
    /// Last port.
    pub to_port: u16,
    /// Source CIDR ranges.
    pub cidrs: Vec<String>,
}

impl IngressRule {
    /// TCP on one port from the given CIDRs.
    pub fn tcp(port: u16, cidrs: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            protocol: "tcp".to_owned(),
            from_port: port,
            to_port: port,
            cidrs: cidrs.into_iter().map(Into::into).collect(),
        }
    }
}

/// An hourly price for the product's offer, the same for each instance type named.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct HourlyPricing {
    /// The product's public offer (`offer-...`).
    pub offer_id: String,
    /// US dollars per instance-hour.
    pub usd_per_hour: f64,
    /// The instance-type dimensions priced.
    pub instance_types: Vec<InstanceType>,
}

impl HourlyPricing {
    /// `usd_per_hour` for each of `instance_types`, on offer `offer_id`.
    pub fn new(
        offer_id: impl Into<String>,
        usd_per_hour: f64,
        instance_types: Vec<InstanceType>,
    ) -> Self {
        Self {
            offer_id: offer_id.into(),
            usd_per_hour,
            instance_types,
        }
    }
}

/// A new version of a Marketplace AMI product.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PublishSpec {
    /// The product entity id (`prod-...`).
    pub product_id: String,
    /// The version title (`2.1.0`).
    pub version: String,
    /// Release notes.
    pub release_notes: String,
    /// The image's region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// The IAM role Marketplace assumes to copy and scan the image.
    pub access_role_arn: String,
    /// The login user buyers connect as (`ec2-user`).
    pub username: String,
    /// The operating system, as Marketplace names it (`AMAZONLINUX`, `UBUNTU`).
    pub os_name: String,
    /// The operating system version (`2023`).
    pub os_version: String,
    /// The port Marketplace's scanner connects to.
    pub scanning_port: u16,
    /// How buyers use the image.
    pub usage_instructions: String,
    /// The instance type recommended to buyers.
    pub recommended_instance_type: InstanceType,
    /// The security group recommended to buyers.
    pub ingress: Vec<IngressRule>,
    /// An hourly price, where one is set.
    pub pricing: Option<HourlyPricing>,
    /// Print the change set; submit nothing.
    pub dry_run: bool,
}

/// What a publish did.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct PublishReport {
    /// The change set, as submitted (or, in a dry run, as it would be).
    pub change_set: ChangeSetRequest,
    /// The submitted change set's id; `None` in a dry run.
    pub change_set_id: Option<String>,
    /// The last status read, if any.
    pub status: Option<ChangeSetStatus>,
}

fn invalid(field: &'static str, found: impl Into<String>, expected: &str) -> LifecycleError {
    LifecycleError::InvalidInput {
        field,
        found: found.into(),
        expected: expected.to_owned(),
    }
}

/// A price as the catalog writes it: a decimal string with no trailing zeros.
fn price_string(usd: f64) -> String {
    let s = format!("{usd:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

impl PublishSpec {
    /// Version `version` of product `product_id`, delivering `image` from `region`, which
    /// Marketplace reads through the role `access_role_arn`, recommended to buyers on
    /// `recommended_instance_type`. The rest starts as an Amazon Linux 2023 image (user
    /// `ec2-user`, scanned and reached on SSH port 22 from anywhere), with no price; set the
    /// public fields to change it.
    pub fn new(
        product_id: impl Into<String>,
        version: impl Into<String>,
        region: Region,
        image: AmiId,
        access_role_arn: impl Into<String>,
        recommended_instance_type: InstanceType,
    ) -> Self {
        Self {
            product_id: product_id.into(),
            version: version.into(),
            release_notes: String::new(),
            region,
            image,
            access_role_arn: access_role_arn.into(),
            username: "ec2-user".to_owned(),
            os_name: "AMAZONLINUX".to_owned(),
            os_version: "2023".to_owned(),
            scanning_port: 22,
            usage_instructions: "Connect with SSH as ec2-user.".to_owned(),
            recommended_instance_type,
            ingress: vec![IngressRule::tcp(22, ["0.0.0.0/0"])],
            pricing: None,
            dry_run: false,
        }
    }

    /// Checks the fields the catalog would reject, naming each.
    pub fn validate(&self) -> Result<(), LifecycleError> {
        if !self.product_id.starts_with("prod-") || self.product_id.len() < 6 {
            return Err(invalid(
                "product",
                &self.product_id,
                "a product entity id such as prod-abc123def4567",
            ));
        }
        if self.version.trim().is_empty() || self.version.len() > 255 {
            return Err(invalid(
                "version",
                &self.version,
                "a version title of 1 to 255 characters",
            ));
        }
        if !(self.access_role_arn.starts_with("arn:aws")
            && self.access_role_arn.contains(":iam::")
            && self.access_role_arn.contains(":role/"))
        {
            return Err(invalid(
                "access role",
                &self.access_role_arn,
                "an IAM role ARN such as arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
            ));
        }
        if let Some(p) = &self.pricing {
            if !p.usd_per_hour.is_finite() || p.usd_per_hour < 0.0 {
                return Err(invalid(
                    "price",
                    p.usd_per_hour.to_string(),
                    "a non-negative number of US dollars per hour, such as 0.05",
                ));
            }
            if !p.offer_id.starts_with("offer-") {
                return Err(invalid(
                    "offer",
                    &p.offer_id,
                    "the product's offer id such as offer-abc123def4567 (a price is set on the offer)",
                ));
            }
            if p.instance_types.is_empty() {
                return Err(invalid(
                    "instance types",
                    "",
                    "at least one instance type to price (the offer's dimensions)",
                ));
            }
        }
        Ok(())
    }

    /// The change set that adds this version (and price).
    pub fn change_set(&self) -> ChangeSetRequest {
        let ingress: Vec<Value> = self
            .ingress
            .iter()
            .map(|r| {
                json!({
                    "IpProtocol": r.protocol,
                    "FromPort": r.from_port,
                    "ToPort": r.to_port,
                    "IpRanges": r.cidrs,
                })
            })
            .collect();
        let mut changes = vec![CatalogChange::new(
            "AddDeliveryOptions",
            AMI_PRODUCT_ENTITY,
            &self.product_id,
            json!({
                "Version": {
                    "VersionTitle": self.version,
                    "ReleaseNotes": self.release_notes,
                },
                "DeliveryOptions": [{
                    "Details": {
                        "AmiDeliveryOptionDetails": {
                            "AmiSource": {
                                "AmiId": self.image,
                                "AccessRoleArn": self.access_role_arn,
                                "UserName": self.username,
                                "OperatingSystemName": self.os_name,
                                "OperatingSystemVersion": self.os_version,
                                "ScanningPort": self.scanning_port,
                            },
                            "UsageInstructions": self.usage_instructions,
                            "RecommendedInstanceType": self.recommended_instance_type,
                            "SecurityGroups": ingress,
                        }
                    }
                }]
            }),
        )];
        if let Some(p) = &self.pricing {
            let price = price_string(p.usd_per_hour);
            let rate_card: Vec<Value> = p
                .instance_types
                .iter()
                .map(|t| json!({ "DimensionKey": t, "Price": price }))
                .collect();
            changes.push(CatalogChange::new(
                "UpdatePricingTerms",
                OFFER_ENTITY,
                &p.offer_id,
                json!({
                    "PricingModel": "Usage",
                    "Terms": [{
                        "Type": "UsageBasedPricingTerm",
                        "CurrencyCode": "USD",
                        "RateCards": [{ "RateCard": rate_card }],
                    }]
                }),
            ));
        }
        let price = self
            .pricing
            .as_ref()
            .map(|p| price_string(p.usd_per_hour))
            .unwrap_or_default();
        ChangeSetRequest::new(
            CATALOG,
            format!("amiref: add version {}", self.version),
            token_from(
                &[
                    "publish-v1",
                    &self.product_id,
                    &self.version,
                    self.image.as_str(),
                    &price,
                ],
                36,
            ),
            changes,
        )
    }
}

/// The change set as the AWS CLI and `StartChangeSet` write it (`ChangeType`, `Entity`,
/// `DetailsDocument`): what a dry run prints.
pub fn change_set_json(request: &ChangeSetRequest) -> Value {
    json!({
        "Catalog": request.catalog,
        "ChangeSetName": request.change_set_name,
        "ClientRequestToken": request.client_request_token,
        "ChangeSet": request.changes.iter().map(|c| json!({
            "ChangeType": c.change_type,
            "Entity": { "Type": c.entity_type, "Identifier": c.entity_id },
            "DetailsDocument": c.details,
        })).collect::<Vec<_>>(),
    })
}

fn status_name(s: &ChangeSetStatus) -> String {
    match s {
        ChangeSetStatus::Preparing => "PREPARING".to_owned(),
        ChangeSetStatus::Applying => "APPLYING".to_owned(),
        ChangeSetStatus::Succeeded => "SUCCEEDED".to_owned(),
        ChangeSetStatus::Cancelled => "CANCELLED".to_owned(),
        ChangeSetStatus::Failed(why) => format!("FAILED: {why}"),
        _ => format!("{s:?}"),
    }
}

fn is_terminal(s: &ChangeSetStatus) -> bool {
    matches!(
        s,
        ChangeSetStatus::Succeeded | ChangeSetStatus::Cancelled | ChangeSetStatus::Failed(_)
    )
}

impl Lifecycle<'_> {
    /// Adds a version to a Marketplace AMI product (and its price, where given) through a
    /// catalog change set, and, with `wait`, follows its status until it ends or `wait` runs
    /// out (Marketplace review can take days; the report then holds the last status).
    ///
    /// The image must exist, be available, and be the caller's. A dry run builds and returns
    /// the change set without submitting it.
    pub async fn publish(
        &self,
        publisher: &dyn MarketplacePublisher,
        spec: &PublishSpec,
        wait: Option<Duration>,
    ) -> Result<PublishReport, LifecycleError> {
        let actor = self.actor().await?;
        let change_set = spec.change_set();
        let record = AuditRecord::new(actor, "publish", AuditOutcome::Succeeded)
            .region(&spec.region)
            .target(&spec.product_id)
            .dry_run(spec.dry_run);
        let result = self
            .publish_inner(publisher, spec, change_set.clone(), wait, &record)
            .await;
        let details = json!({
            "image": spec.image,
            "version": spec.version,
            "change_set": change_set_json(&change_set),
            "change_set_id": result.as_ref().ok().and_then(|r| r.change_set_id.clone()),
            "status": result.as_ref().ok().and_then(|r| r.status.as_ref().map(status_name)),
        });
        let record = record.details(details);
        let record = match &result {
            Ok(_) if spec.dry_run => AuditRecord {
                outcome: AuditOutcome::Planned,
                ..record
            },
            Ok(PublishReport {
                status: Some(ChangeSetStatus::Failed(why)),
                ..
            }) => AuditRecord {
                outcome: AuditOutcome::Failed { error: why.clone() },
                ..record
            },
            _ => record,
        };
        self.audited(record, result)
    }

    async fn publish_inner(
        &self,
        publisher: &dyn MarketplacePublisher,
        spec: &PublishSpec,
        change_set: ChangeSetRequest,
        wait: Option<Duration>,
        base: &AuditRecord,
    ) -> Result<PublishReport, LifecycleError> {
        spec.validate()?;
        let caller = self.caller().await?;
        let image = self.describe_one(&spec.region, &spec.image).await?;
        if image.owner != caller.account {
            return Err(LifecycleError::refused(format!(
                "{} belongs to account {}, not the caller's {}: only an image the seller owns can be published",
                spec.image, image.owner, caller.account
            )));
        }
        if !image.is_available() {
            return Err(LifecycleError::refused(format!(
                "{} is {}, not available: Marketplace can only ingest an available image",
                spec.image, image.state
            )));
        }
        if spec.dry_run {
            return Ok(PublishReport {
                change_set,
                change_set_id: None,
                status: None,
            });
        }
        let record = AuditRecord {
            operation: "start_change_set".to_owned(),
            outcome: AuditOutcome::Intended,
            details: json!({ "image": spec.image, "change_set": change_set_json(&change_set) }),
            ..base.clone()
        };
        let publisher_retried = self.retrying(publisher);
        let call = || publisher_retried.start_change_set(&change_set);
        let id = self
            .intended_call(record, call, |id| Some(json!({ "change_set_id": id })))
            .await?
            .map_err(|e| {
                LifecycleError::cloud(
                    format!("submitting the change set for {}", spec.product_id),
                    e,
                )
            })?;
        let status = match wait {
            Some(wait) => Some(self.poll_change_set(publisher, &id, wait).await?),
            None => None,
        };
        Ok(PublishReport {
            change_set,
            change_set_id: Some(id),
            status,
        })
    }

    /// Reads a change set's status every minute until it ends or `wait` runs out, and returns
    /// the last status read.
    pub async fn poll_change_set(
        &self,
        publisher: &dyn MarketplacePublisher,
        change_set_id: &str,
        wait: Duration,
    ) -> Result<ChangeSetStatus, LifecycleError> {
        const INTERVAL: Duration = Duration::from_secs(60);
        let publisher = self.retrying(publisher);
        let reading = || format!("reading change set {change_set_id}");
        let mut last = None;
        let waited = Waiter::fixed(INTERVAL, wait)
            .wait(
                || publisher.change_set_status(CATALOG, change_set_id),
                |answer, _| match answer {
                    Ok(status) => {
                        self.progress.emit(ProgressEvent::ChangeSet {
                            id: change_set_id.to_owned(),
                            status: status_name(&status),
                        });
                        if is_terminal(&status) {
                            Acceptance::Success(status)
                        } else {
                            last = Some(status);
                            Acceptance::Retry
                        }
                    }
                    Err(e) => Acceptance::Failure(e),
                },
            )
            .await;
        match waited {
            Ok(status) => Ok(status),
            Err(WaitError::Failed(e)) => Err(LifecycleError::cloud(reading(), e)),
            // Timed out: the last status read, which every wait reads at least once.
            Err(_) => last.ok_or_else(|| {
                let e = CloudError::new(
                    CloudErrorKind::Timeout,
                    "DescribeChangeSet",
                    "the wait ran out before any status was read",
                );
                LifecycleError::cloud(reading(), e)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_print_as_the_catalog_writes_them() {
        assert_eq!(price_string(0.05), "0.05");
        assert_eq!(price_string(1.0), "1");
        assert_eq!(price_string(0.0), "0");
        assert_eq!(price_string(0.1234), "0.1234");
    }
}
