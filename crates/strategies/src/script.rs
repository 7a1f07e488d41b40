//! The last tier, script provisioning: a base image and the template's `user_data`.

use amiref_core::Owner;
use amiref_template::AmiSearch;
use async_trait::async_trait;

use crate::{Attempt, Context, Strategy, Tier, search::search_region};

/// The name pattern of Amazon Linux 2023's standard images (not the minimal ones).
pub const AL2023_NAME_PATTERN: &str = "al2023-ami-2023.*-kernel-*";

/// Boots a base image and runs the template's `user_data` at first boot.
///
/// The base image is `template.base_image` (a search, as `ami_search`), or else the newest
/// Amazon Linux 2023 image owned by Amazon for an architecture the template allows. A
/// template without `user_data` cannot use this tier.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptProvisioning;

/// The search for the base image of `template`.
pub fn base_image_search(template: &amiref_template::Template) -> AmiSearch {
    template.base_image.clone().unwrap_or_else(|| {
        let mut s = AmiSearch::default();
        s.owner = Some(Owner::Amazon);
        s.name_pattern = Some(AL2023_NAME_PATTERN.to_owned());
        s
    })
}

#[async_trait]
impl Strategy for ScriptProvisioning {
    fn tier(&self) -> Tier {
        Tier::ScriptProvisioning
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        if cx
            .template
            .user_data
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
        {
            return Attempt::skipped("the template has no user_data to provision with");
        }
        let search = base_image_search(cx.template);
        match search_region(cx, &search).await {
            Ok(Ok((image, choice, why))) => {
                let reason = format!("user_data on base image {why}");
                Attempt::found(image, choice, reason)
            }
            Ok(Err(why)) => Attempt::Skipped(format!("no base image: {why}")),
            Err(e) => Attempt::Failed(e),
        }
    }
}
