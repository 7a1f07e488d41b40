//! Tier 3, community registry: entries of the `ImageRegistry` port, with the image checked.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::{Attempt, Context, Strategy, Tier};

/// Asks the configured registry for entries for the template in the region, best first,
/// and takes the first whose image passes the checks.
///
/// The registry has already verified signatures and its own policy; this tier still
/// describes each image in the region and checks its *real* owner: it must equal the owner
/// the entry states, and be trusted by the trust policy unless a publisher key signed the
/// entry that names it. An entry whose image is now owned by someone else (a deregistered id
/// reused, a wrong entry) is skipped with the reason.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommunityRegistry;

#[async_trait]
impl Strategy for CommunityRegistry {
    fn tier(&self) -> Tier {
        Tier::CommunityRegistry
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(registry) = cx.registry else {
            return Attempt::skipped("no community registry is configured");
        };
        let archs: Vec<_> = cx.choices.iter().map(|c| c.architecture).collect();
        let candidates = match registry
            .candidates(&cx.template.name, cx.region, &archs)
            .await
        {
            Ok(c) => c,
            Err(e) => return Attempt::Failed(e.into()),
        };
        if candidates.is_empty() {
            return Attempt::skipped(format!(
                "the registry has no entry for {} in {}",
                cx.template.name, cx.region
            ));
        }
        let ids: Vec<_> = candidates.iter().map(|c| c.image.clone()).collect();
        let described: HashMap<_, _> = match cx.cloud.describe_images(cx.region, &ids).await {
            Ok(images) => images.into_iter().map(|i| (i.id.clone(), i)).collect(),
            Err(e) => return Attempt::Failed(e.into()),
        };
        let mut reasons = Vec::new();
        for cand in &candidates {
            let Some(image) = described.get(&cand.image) else {
                reasons.push(format!("{} does not exist in {}", cand.image, cx.region));
                continue;
            };
            if image.architecture != cand.architecture {
                reasons.push(format!(
                    "{} is {}, but the entry says {}",
                    image.id, image.architecture, cand.architecture
                ));
                continue;
            }
            let choice = match cx.check_launchable(image, false) {
                Ok(c) => c,
                Err(why) => {
                    reasons.push(why);
                    continue;
                }
            };
            if let Some(expected) = &cand.expected_owner
                && expected != &image.owner
            {
                reasons.push(format!(
                    "{} is owned by {}, not by {expected} as the entry states",
                    image.id, image.owner
                ));
                continue;
            }
            let vouched = cand.signed_by.is_some() && cand.expected_owner.is_some();
            if !cx.trusts(image) && !vouched {
                reasons.push(format!(
                    "{} is owned by {}, which is neither trusted nor named by a signed entry",
                    image.id, image.owner
                ));
                continue;
            }
            let reason = format!(
                "{} {} from {} (score {:.2}{}), {}",
                cand.template,
                cand.version,
                cand.source,
                cand.score,
                cand.signed_by
                    .as_ref()
                    .map(|k| format!(", signed by {k}"))
                    .unwrap_or_default(),
                crate::strategy::describe_choice(choice)
            );
            return Attempt::found(image.clone(), choice.clone(), reason);
        }
        Attempt::Skipped(format!("no registry entry passed: {}", reasons.join("; ")))
    }
}
