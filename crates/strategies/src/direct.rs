//! Tier 1, direct mapping: the image `ami_mappings` names for the region, checked.

use async_trait::async_trait;

use crate::{Attempt, Context, Found, Strategy, Tier};

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
    fn tier(&self) -> Tier {
        Tier::DirectMapping
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.template
            .ami_config
            .as_ref()
            .is_some_and(|c| c.ami_mappings.contains_key(cx.region))
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(config) = cx.template.ami_config.as_ref() else {
            return Attempt::skipped("the template has no ami_config");
        };
        let Some(id) = config.ami_mappings.get(cx.region) else {
            return Attempt::skipped(format!("ami_mappings has no entry for {}", cx.region));
        };
        let image = match cx.describe_one(id).await {
            Ok(Some(image)) => image,
            Ok(None) => {
                return Attempt::skipped(format!(
                    "{id} (ami_mappings.{}) does not exist in {} or is not visible to this account{}",
                    cx.region,
                    cx.region,
                    cx.hidden_note().await
                ));
            }
            Err(e) => return Attempt::Failed(e.into()),
        };
        let allow_deprecated = config
            .ami_search
            .as_ref()
            .is_some_and(|s| s.include_deprecated);
        let checked = match cx.check(&image, allow_deprecated).await {
            Ok(c) => c,
            Err(why) => return Attempt::Skipped(why),
        };
        let reason = format!(
            "ami_mappings.{}: {id} ({}), {}",
            cx.region,
            image.name,
            crate::strategy::describe_choice(&checked.choice)
        );
        Attempt::Found(Box::new(
            Found::new(image, checked.choice, reason).with_warnings(checked.warnings),
        ))
    }
}
