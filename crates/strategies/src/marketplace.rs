//! Tier 4, marketplace: the newest acceptable product version's image in the region.

use std::collections::HashMap;

use amiref_core::{CloudErrorKind, Owner};
use async_trait::async_trait;

use crate::version::parse_lenient;
use crate::{Attempt, Context, Found, Strategy, Tier, TrustError};

/// Looks up `marketplace_search.product_code`, keeps the versions that satisfy
/// `version_constraint`, newest first, and takes the first whose image in the region exists,
/// carries the product code, and passes the checks every tier makes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marketplace;

#[async_trait]
impl Strategy for Marketplace {
    fn tier(&self) -> Tier {
        Tier::Marketplace
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.template
            .ami_config
            .as_ref()
            .is_some_and(|c| c.marketplace_search.is_some())
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(search) = cx
            .template
            .ami_config
            .as_ref()
            .and_then(|c| c.marketplace_search.as_ref())
        else {
            return Attempt::skipped("the template has no marketplace_search");
        };
        let code = &search.product_code;
        if !cx.trust.trusted_owners.contains(&Owner::AwsMarketplace) {
            return Attempt::Failed(
                TrustError::UntrustedOwners {
                    owners: Owner::AwsMarketplace.as_str().to_owned(),
                    policy: cx.trust.describe(),
                }
                .into(),
            );
        }
        let product = match cx.cloud.product(code).await {
            Ok(p) => p,
            Err(e) if e.kind == CloudErrorKind::NotFound => {
                return Attempt::skipped(format!("no Marketplace product has code {code}"));
            }
            Err(e) => return Attempt::Failed(e.into()),
        };
        let mut versions: Vec<_> = product
            .versions
            .iter()
            .filter_map(|v| parse_lenient(&v.version).map(|parsed| (parsed, v)))
            .filter(|(parsed, _)| {
                search
                    .version_constraint
                    .as_ref()
                    .is_none_or(|req| req.matches(parsed))
            })
            .collect();
        if versions.is_empty() {
            let constraint = search
                .version_constraint
                .as_ref()
                .map_or_else(|| "any".to_owned(), ToString::to_string);
            return Attempt::skipped(format!(
                "no version of {} satisfies {constraint}",
                product.title
            ));
        }
        versions.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| b.1.release_date.cmp(&a.1.release_date))
        });
        let in_region: Vec<_> = versions
            .iter()
            .filter_map(|(parsed, v)| v.images.get(cx.region).map(|id| (parsed, id)))
            .collect();
        if in_region.is_empty() {
            return Attempt::skipped(format!(
                "no acceptable version of {} is offered in {}",
                product.title, cx.region
            ));
        }
        let ids: Vec<_> = in_region.iter().map(|(_, id)| (*id).clone()).collect();
        let described: HashMap<_, _> = match cx.cloud.describe_images(cx.region, &ids).await {
            Ok(images) => images.into_iter().map(|i| (i.id.clone(), i)).collect(),
            Err(e) => return Attempt::Failed(e.into()),
        };
        let mut reasons = Vec::new();
        for (version, id) in in_region {
            let Some(image) = described.get(id) else {
                reasons.push(format!(
                    "{id} ({version}) does not exist{}",
                    cx.hidden_note().await
                ));
                continue;
            };
            if !image.product_codes.iter().any(|p| &p.code == code) {
                reasons.push(format!("{id} does not carry product code {code}"));
                continue;
            }
            // Marketplace listings are published by the Marketplace's own account; an image
            // carrying the code but owned by anyone else is not the listing's.
            if image.owner_alias.as_deref() != Some("aws-marketplace") {
                reasons.push(format!(
                    "{id} is owned by {}, not by the AWS Marketplace's publishing account (aws-marketplace)",
                    image.owner
                ));
                continue;
            }
            match cx.check(image, false).await {
                Ok(checked) => {
                    let reason = format!(
                        "{} {version}: {id}, {}",
                        product.title,
                        crate::strategy::describe_choice(&checked.choice)
                    );
                    return Attempt::Found(Box::new(
                        Found::new(image.clone(), checked.choice, reason)
                            .with_warnings(checked.warnings),
                    ));
                }
                Err(why) => reasons.push(why),
            }
        }
        Attempt::Skipped(format!("no product image passed: {}", reasons.join("; ")))
    }
}
