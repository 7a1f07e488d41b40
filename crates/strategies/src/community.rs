//! Tier 3, community registry: entries of the `ImageRegistry` port, with the image checked.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::{Attempt, Context, Found, Ranking, Strategy, Tier};

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

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.registry.is_some()
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        match self.ranked(cx).await {
            Ranking::Found(mut found) if !found.is_empty() => {
                Attempt::Found(Box::new(found.swap_remove(0)))
            }
            Ranking::Found(_) => Attempt::skipped("no registry entry passed"),
            Ranking::Skipped(why) => Attempt::Skipped(why),
            Ranking::Failed(e) => Attempt::Failed(e),
        }
    }

    async fn ranked(&self, cx: &Context<'_>) -> Ranking {
        let Some(registry) = cx.registry else {
            return Ranking::Skipped("no community registry is configured".into());
        };
        let candidates = match registry
            .candidates(&cx.template.name, cx.region, cx.architectures)
            .await
        {
            Ok(c) => c,
            Err(e) => return Ranking::Failed(e.into()),
        };
        if candidates.is_empty() {
            return Ranking::Skipped(format!(
                "the registry has no entry for {} in {}",
                cx.template.name, cx.region
            ));
        }
        let ids: Vec<_> = candidates.iter().map(|c| c.image.clone()).collect();
        let described: HashMap<_, _> = match cx.cloud.describe_images(cx.region, &ids).await {
            Ok(images) => images.into_iter().map(|i| (i.id.clone(), i)).collect(),
            Err(e) => return Ranking::Failed(e.into()),
        };
        let mut reasons = Vec::new();
        let mut found = Vec::new();
        for cand in &candidates {
            let Some(image) = described.get(&cand.image) else {
                reasons.push(format!(
                    "{} does not exist in {}{}",
                    cand.image,
                    cx.region,
                    cx.hidden_note().await
                ));
                continue;
            };
            if image.architecture != cand.architecture {
                reasons.push(format!(
                    "{} is {}, but the entry says {}",
                    image.id, image.architecture, cand.architecture
                ));
                continue;
            }
            if let Some(expected) = &cand.expected_owner
                && expected != &image.owner
            {
                reasons.push(format!(
                    "{} is owned by {}, not by {expected} as the entry states",
                    image.id, image.owner
                ));
                continue;
            }
            // A signed entry that states its owner may vouch for an account outside the
            // trust policy, but only where the policy allows registry publishers to.
            let vouched = cand.signed_by.is_some() && cand.expected_owner.is_some();
            let checked = match cx.check_with(image, false, vouched).await {
                Ok(c) => c,
                Err(why) => {
                    reasons.push(why);
                    continue;
                }
            };
            let mut warnings = checked.warnings;
            if cand.signer_retired {
                warnings.push(format!(
                    "registry entry {} {} is signed by retired key {}: it still verifies, but the key signs nothing new; ask the publisher to re-sign",
                    cand.template,
                    cand.version,
                    cand.signed_by.as_deref().unwrap_or("?")
                ));
            }
            let reason = format!(
                "{} {} from {} (score {:.2}{}), {}",
                cand.template,
                cand.version,
                cand.source,
                cand.score,
                cand.signed_by
                    .as_ref()
                    .map(|k| {
                        let retired = if cand.signer_retired { ", retired" } else { "" };
                        format!(", signed by {k}{retired}")
                    })
                    .unwrap_or_default(),
                crate::strategy::describe_choice(&checked.choice)
            );
            found.push(Found::new(image.clone(), checked.choice, reason).with_warnings(warnings));
        }
        if !found.is_empty() {
            return Ranking::Found(found);
        }
        Ranking::Skipped(format!("no registry entry passed: {}", reasons.join("; ")))
    }
}
