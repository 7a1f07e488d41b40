//! Tier 1, direct mapping: the image `ami_mappings` names for the region, checked.

use async_trait::async_trait;

use amiref_core::ResolutionMethod;

use crate::{Attempt, Context, Found, FoundVia, Missing, Pointer, Rejected, Skip, Strategy};

/// Uses `ami_config.ami_mappings[region]` after describing it: it must exist, be
/// `available`, not be deprecated (unless `ami_search.include_deprecated` allows it), belong
/// to an owner the trust policy trusts, and have an architecture an allowed instance type
/// runs.
///
/// With a prefetched batch in the context (`Resolver::resolve_many`), it makes no call.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectMapping;

#[async_trait]
impl Strategy for DirectMapping {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::DirectMapping
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.template
            .ami_config
            .as_ref()
            .is_some_and(|c| c.ami_mappings.contains_key(cx.region))
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(config) = cx.template.ami_config.as_ref() else {
            return Attempt::Skipped(Skip::not_asked(Missing::AmiConfig));
        };
        let Some(id) = config.ami_mappings.get(cx.region) else {
            return Attempt::Skipped(Skip::not_asked(Missing::Mapping {
                region: cx.region.clone(),
            }));
        };
        let via = || Pointer::Mapping {
            region: cx.region.clone(),
        };
        let image = match cx.describe_one(id).await {
            Ok(Some(image)) => image,
            Ok(None) => {
                return Attempt::Skipped(Skip::rejected(Rejected::via(
                    via(),
                    cx.not_visible(id).await,
                )));
            }
            Err(e) => return Attempt::Failed(e.into()),
        };
        let allow_deprecated = config
            .ami_search
            .as_ref()
            .is_some_and(|s| s.include_deprecated);
        let checked = match cx.check(&image, allow_deprecated).await {
            Ok(c) => c,
            Err(why) => return Attempt::Skipped(Skip::rejected(Rejected::via(via(), why))),
        };
        Attempt::Found(Box::new(
            Found::new(image, checked.choice, FoundVia::DirectMapping)
                .with_warnings(checked.warnings),
        ))
    }
}
