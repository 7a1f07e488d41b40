//! `ami publish IMAGE --marketplace [--price USD]`: a new version of a Marketplace
//! product, with everything but the image and the price taken from the publishing profile
//! (`publishing.marketplace` in the configuration), or a refusal naming exactly what is
//! missing.

use std::time::Duration;

use amiref_core::{AmiId, Region};
use amiref_lifecycle::{HourlyPricing, IngressRule, ProgressSink, PublishReport, PublishSpec};
use serde::Serialize;

use crate::community::{VersionSource, image_version};
use crate::config::{IngressConfig, IngressProtocol, MarketplaceProfile};
use crate::{Session, SessionError};

/// `ami publish IMAGE --marketplace`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PublishRequest {
    /// The image (the caller's, available).
    pub image: AmiId,
    /// Where it is (the session's region when `None`).
    pub region: Option<Region>,
    /// An hourly price in USD, set on the profile's offer for its instance types.
    pub price_usd_per_hour: Option<f64>,
    /// The version title (when `None`: a version in the image's name, else its
    /// `amiref:template-version` tag).
    pub version: Option<String>,
    /// Settings that override the profile's, field by field.
    pub overrides: MarketplaceProfile,
    /// Follow the change set's status this long.
    pub wait: Option<Duration>,
    /// Build the change set; submit nothing.
    pub dry_run: bool,
}

impl PublishRequest {
    /// Publish `image`.
    pub fn new(image: AmiId) -> Self {
        Self {
            image,
            region: None,
            price_usd_per_hour: None,
            version: None,
            overrides: MarketplaceProfile::default(),
            wait: None,
            dry_run: false,
        }
    }

    /// At this hourly price.
    #[must_use]
    pub fn price(mut self, usd_per_hour: f64) -> Self {
        self.price_usd_per_hour = Some(usd_per_hour);
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What `ami publish` did.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct PublishOutcome {
    /// What was submitted (or, in a dry run, would be).
    pub spec: PublishSpec,
    /// The change set, its id and last status.
    pub report: PublishReport,
    /// Where the version title came from.
    pub version_from: VersionSource,
}

impl PublishOutcome {
    /// Whether Marketplace refused the change set.
    pub fn failed(&self) -> bool {
        matches!(
            self.report.status,
            Some(amiref_core::ChangeSetStatus::Failed(_))
        )
    }
}

impl Session {
    /// `ami publish IMAGE --marketplace`: the profile (overridden by the request) makes
    /// the change set; a missing setting is a [`SessionError::PublishingIncomplete`]
    /// naming every one, before anything is asked of Marketplace. Audited by the
    /// lifecycle.
    pub async fn publish_image(
        &self,
        request: &PublishRequest,
        progress: &dyn ProgressSink,
    ) -> Result<PublishOutcome, SessionError> {
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let profile = merged(
            &request.overrides,
            self.config().config.publishing.marketplace.as_ref(),
        );
        let (version, version_from) = match &request.version {
            Some(v) => (Some(v.clone()), VersionSource::Given),
            None => match self.image_version_of(&region, &request.image).await? {
                Some((v, from)) => (Some(v), from),
                None => (None, VersionSource::Given),
            },
        };
        let spec = spec(&profile, request, region, version).map_err(|missing| {
            SessionError::PublishingIncomplete {
                missing,
                config: self.config().path.clone(),
            }
        })?;
        let report = self
            .lifecycle(progress)
            .publish(self.cloud().as_ref(), &spec, request.wait)
            .await?;
        Ok(PublishOutcome {
            spec,
            report,
            version_from,
        })
    }

    async fn image_version_of(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Option<(String, VersionSource)>, SessionError> {
        let found = self
            .cloud()
            .describe_images(region, std::slice::from_ref(image))
            .await
            .map_err(|e| SessionError::cloud(format!("describing {image} in {region}"), e))?;
        Ok(found.first().and_then(image_version))
    }
}

/// The request's settings over the profile's.
fn merged(
    overrides: &MarketplaceProfile,
    profile: Option<&MarketplaceProfile>,
) -> MarketplaceProfile {
    let base = profile.cloned().unwrap_or_default();
    let o = overrides.clone();
    MarketplaceProfile {
        product_id: o.product_id.or(base.product_id),
        offer_id: o.offer_id.or(base.offer_id),
        access_role_arn: o.access_role_arn.or(base.access_role_arn),
        instance_types: if o.instance_types.is_empty() {
            base.instance_types
        } else {
            o.instance_types
        },
        recommended_instance_type: o
            .recommended_instance_type
            .or(base.recommended_instance_type),
        username: o.username.or(base.username),
        os_name: o.os_name.or(base.os_name),
        os_version: o.os_version.or(base.os_version),
        usage_instructions: o.usage_instructions.or(base.usage_instructions),
        scanning_port: o.scanning_port.or(base.scanning_port),
        release_notes: o.release_notes.or(base.release_notes),
        ingress: if o.ingress.is_empty() {
            base.ingress
        } else {
            o.ingress
        },
    }
}

/// The lifecycle's spec, or the settings that are missing (by their configuration key).
fn spec(
    p: &MarketplaceProfile,
    request: &PublishRequest,
    region: Region,
    version: Option<String>,
) -> Result<PublishSpec, Vec<&'static str>> {
    let mut missing = Vec::new();
    let mut need = |present: bool, key: &'static str| {
        if !present {
            missing.push(key);
        }
    };
    need(p.product_id.is_some(), "product_id");
    need(p.access_role_arn.is_some(), "access_role_arn");
    need(
        p.recommended_instance_type.is_some(),
        "recommended_instance_type",
    );
    need(version.is_some(), "version");
    if request.price_usd_per_hour.is_some() {
        need(p.offer_id.is_some(), "offer_id");
        need(!p.instance_types.is_empty(), "instance_types");
    }
    let (Some(product), Some(role), Some(recommended), Some(version)) = (
        &p.product_id,
        &p.access_role_arn,
        &p.recommended_instance_type,
        version,
    ) else {
        return Err(missing);
    };
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut spec = PublishSpec::new(
        product.clone(),
        version,
        region,
        request.image.clone(),
        role.clone(),
        recommended.clone(),
    );
    if let (Some(usd), Some(offer)) = (request.price_usd_per_hour, &p.offer_id) {
        spec.pricing = Some(HourlyPricing::new(
            offer.clone(),
            usd,
            p.instance_types.clone(),
        ));
    }
    if let Some(user) = &p.username {
        spec.usage_instructions = format!("Connect with SSH as {user}.");
        spec.username = user.clone();
    }
    if let Some(v) = &p.os_name {
        spec.os_name = v.clone();
    }
    if let Some(v) = &p.os_version {
        spec.os_version = v.clone();
    }
    if let Some(v) = &p.usage_instructions {
        spec.usage_instructions = v.clone();
    }
    if let Some(port) = p.scanning_port {
        spec.scanning_port = port;
    }
    if let Some(notes) = &p.release_notes {
        spec.release_notes = notes.clone();
    }
    if !p.ingress.is_empty() {
        spec.ingress = p.ingress.iter().map(ingress_rule).collect();
    }
    spec.dry_run = request.dry_run;
    Ok(spec)
}

fn ingress_rule(rule: &IngressConfig) -> IngressRule {
    let mut r = IngressRule::tcp(rule.from_port, rule.cidrs.iter().cloned());
    r.protocol = match rule.protocol {
        IngressProtocol::Tcp => "tcp",
        IngressProtocol::Udp => "udp",
    }
    .to_owned();
    r.to_port = rule.to_port.unwrap_or(rule.from_port);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PublishRequest {
        PublishRequest::new("ami-0123456789abcdef0".parse().expect("an id")).price(0.05)
    }

    #[test]
    fn an_empty_profile_names_everything_it_lacks() {
        let region: Region = "us-east-1".parse().expect("a region");
        let missing = spec(
            &MarketplaceProfile::default(),
            &request(),
            region.clone(),
            None,
        )
        .expect_err("incomplete");
        assert_eq!(
            missing,
            [
                "product_id",
                "access_role_arn",
                "recommended_instance_type",
                "version",
                "offer_id",
                "instance_types"
            ]
        );
        let overrides = MarketplaceProfile {
            product_id: Some("prod-given".into()),
            ..MarketplaceProfile::default()
        };
        let profile = MarketplaceProfile {
            product_id: Some("prod-profile".into()),
            offer_id: Some("offer-profile".into()),
            ..MarketplaceProfile::default()
        };
        let m = merged(&overrides, Some(&profile));
        assert_eq!(m.product_id.as_deref(), Some("prod-given"));
        assert_eq!(m.offer_id.as_deref(), Some("offer-profile"));
    }
}
