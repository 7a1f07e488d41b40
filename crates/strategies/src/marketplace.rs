//! Tier 4, marketplace: the newest acceptable product version's image in the region.

use std::collections::HashMap;

use amiref_core::{CloudErrorKind, Owner, ResolutionMethod};
use async_trait::async_trait;

use crate::version::parse_lenient;
use crate::{
    Attempt, Context, Found, FoundVia, Missing, Pointer, Rejected, Rejection, Skip, Strategy,
    TrustError,
};

/// Looks up `marketplace_search.product_code`, keeps the versions that satisfy
/// `version_constraint`, newest first, and takes the first whose image in the region exists,
/// carries the product code, and passes the checks every tier makes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marketplace;

#[async_trait]
impl Strategy for Marketplace {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::Marketplace
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
            return Attempt::Skipped(Skip::not_asked(Missing::MarketplaceSearch));
        };
        let code = &search.product_code;
        if !cx.trust.trusted_owners.contains(&Owner::AwsMarketplace) {
            return Attempt::Failed(
                TrustError::UntrustedOwners {
                    owners: vec![Owner::AwsMarketplace],
                    policy: cx.trust.summary(),
                }
                .into(),
            );
        }
        let product = match cx.cloud.product(code).await {
            Ok(p) => p,
            Err(e) if e.kind == CloudErrorKind::NotFound => {
                return Attempt::Skipped(Skip::NoProduct {
                    product_code: code.clone(),
                });
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
            return Attempt::Skipped(Skip::NoProductVersion {
                product: product.title.clone(),
                constraint: search.version_constraint.as_ref().map(ToString::to_string),
            });
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
            return Attempt::Skipped(Skip::ProductNotInRegion {
                product: product.title.clone(),
                region: cx.region.clone(),
            });
        }
        let ids: Vec<_> = in_region.iter().map(|(_, id)| (*id).clone()).collect();
        let described: HashMap<_, _> = match cx.cloud.describe_images(cx.region, &ids).await {
            Ok(images) => images.into_iter().map(|i| (i.id.clone(), i)).collect(),
            Err(e) => return Attempt::Failed(e.into()),
        };
        let mut rejections = Vec::new();
        for (version, id) in in_region {
            let via = || Pointer::ProductVersion {
                version: version.to_string(),
            };
            let Some(image) = described.get(id) else {
                rejections.push(Rejected::via(via(), cx.not_visible(id).await));
                continue;
            };
            if !image.product_codes.iter().any(|p| &p.code == code) {
                rejections.push(Rejected::via(
                    via(),
                    Rejection::MissingProductCode {
                        image: id.clone(),
                        product_code: code.clone(),
                    },
                ));
                continue;
            }
            // Marketplace listings are published by the Marketplace's own account; an image
            // carrying the code but owned by anyone else is not the listing's.
            if image.owner_alias.as_deref() != Some("aws-marketplace") {
                rejections.push(Rejected::via(
                    via(),
                    Rejection::NotMarketplaceListing {
                        image: id.clone(),
                        owner: image.owner.clone(),
                    },
                ));
                continue;
            }
            match cx.check(image, false).await {
                Ok(checked) => {
                    let via = FoundVia::Marketplace {
                        product: product.title.clone(),
                        version: version.to_string(),
                    };
                    return Attempt::Found(Box::new(
                        Found::new(image.clone(), checked.choice, via)
                            .with_warnings(checked.warnings),
                    ));
                }
                Err(why) => rejections.push(Rejected::via(via(), why)),
            }
        }
        Attempt::Skipped(Skip::NoProductImagePassed { rejections })
    }
}
