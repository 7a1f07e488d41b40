//! Tier 3, community registry: entries of the `ImageRegistry` port, with the image checked.

use std::collections::HashMap;

use amiref_core::ResolutionMethod;
use async_trait::async_trait;

use crate::{
    Attempt, Context, Found, FoundVia, Missing, Pointer, Ranking, RegistryFind, Rejected,
    Rejection, Skip, Strategy, Warning,
};

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
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::CommunityRegistry
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.registry.is_some()
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        match self.ranked(cx).await {
            Ranking::Found(mut found) if !found.is_empty() => {
                Attempt::Found(Box::new(found.swap_remove(0)))
            }
            Ranking::Found(_) => Attempt::Skipped(Skip::NoEntryPassed {
                rejections: Vec::new(),
            }),
            Ranking::Skipped(why) => Attempt::Skipped(why),
            Ranking::Failed(e) => Attempt::Failed(e),
        }
    }

    async fn ranked(&self, cx: &Context<'_>) -> Ranking {
        let Some(registry) = cx.registry else {
            return Ranking::Skipped(Skip::not_asked(Missing::Registry));
        };
        let candidates = match registry
            .candidates(&cx.template.name, cx.region, cx.architectures)
            .await
        {
            Ok(c) => c,
            Err(e) => return Ranking::Failed(e.into()),
        };
        if candidates.is_empty() {
            return Ranking::Skipped(Skip::NoRegistryEntry {
                template: cx.template.name.clone(),
                region: cx.region.clone(),
            });
        }
        let ids: Vec<_> = candidates.iter().map(|c| c.image.clone()).collect();
        let described: HashMap<_, _> = match cx.cloud.describe_images(cx.region, &ids).await {
            Ok(images) => images.into_iter().map(|i| (i.id.clone(), i)).collect(),
            Err(e) => return Ranking::Failed(e.into()),
        };
        let mut rejections = Vec::new();
        let mut found = Vec::new();
        for cand in &candidates {
            let via = || Pointer::RegistryEntry {
                template: cand.template.clone(),
                version: cand.version.clone(),
            };
            let Some(image) = described.get(&cand.image) else {
                rejections.push(Rejected::via(via(), cx.not_visible(&cand.image).await));
                continue;
            };
            if image.architecture != cand.architecture {
                rejections.push(Rejected::via(
                    via(),
                    Rejection::ArchitectureMismatch {
                        image: image.id.clone(),
                        architecture: image.architecture,
                        entry_architecture: cand.architecture,
                    },
                ));
                continue;
            }
            if let Some(expected) = &cand.expected_owner
                && expected != &image.owner
            {
                rejections.push(Rejected::via(
                    via(),
                    Rejection::OwnerMismatch {
                        image: image.id.clone(),
                        owner: image.owner.clone(),
                        expected: expected.clone(),
                    },
                ));
                continue;
            }
            // A signed entry that states its owner may vouch for an account outside the
            // trust policy, but only where the policy allows registry publishers to.
            let vouched = cand.signed_by.is_some() && cand.expected_owner.is_some();
            let checked = match cx.check_with(image, false, vouched).await {
                Ok(c) => c,
                Err(why) => {
                    rejections.push(Rejected::via(via(), why));
                    continue;
                }
            };
            let mut warnings = checked.warnings;
            if cand.signer_retired {
                warnings.push(Warning::RetiredSigner {
                    template: cand.template.clone(),
                    version: cand.version.clone(),
                    key: cand.signed_by.clone().unwrap_or_else(|| "?".into()),
                });
            }
            let via = FoundVia::CommunityRegistry(RegistryFind {
                template: cand.template.clone(),
                version: cand.version.clone(),
                source: cand.source.clone(),
                score: cand.score,
                signed_by: cand.signed_by.clone(),
                signer_retired: cand.signer_retired,
            });
            found.push(Found::new(image.clone(), checked.choice, via).with_warnings(warnings));
        }
        if !found.is_empty() {
            return Ranking::Found(found);
        }
        Ranking::Skipped(Skip::NoEntryPassed { rejections })
    }
}
