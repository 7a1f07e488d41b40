//! The last tier, script provisioning: a base image and the template's `user_data`.

use amiref_core::{ParameterName, ResolutionMethod};
use amiref_template::BaseImage;
use async_trait::async_trait;

use crate::ssm::{al2023_parameter, images_named_by};
use crate::{
    Attempt, Context, Found, FoundVia, Missing, Rejected, Skip, Strategy, search::search_region,
};

/// The name pattern of Amazon Linux 2023's standard images (not the minimal ones).
pub const AL2023_NAME_PATTERN: &str = "al2023-ami-2023.*-kernel-*";

/// Boots a base image and runs the template's `user_data` at first boot.
///
/// The base image is `template.base_image`: an SSM parameter, or a search (as
/// `ami_search`). When the template names none, it is AWS's public parameter for Amazon
/// Linux 2023 of each architecture the template allows
/// (`/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-<arch>`), read in one
/// call. The image is checked like every tier's. A template without `user_data` cannot use
/// this tier.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptProvisioning;

#[async_trait]
impl Strategy for ScriptProvisioning {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::ScriptProvisioning
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        if cx
            .template
            .user_data
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
        {
            return Attempt::Skipped(Skip::not_asked(Missing::UserData));
        }
        match &cx.template.base_image {
            Some(BaseImage::Search(search)) => match search_region(cx, search, false).await {
                Ok(Ok(mut found)) => {
                    let f = found.swap_remove(0);
                    let via = FoundVia::BaseImage {
                        base: Box::new(f.via.clone()),
                    };
                    Attempt::Found(Box::new(Found { via, ..f }))
                }
                Ok(Err(why)) => Attempt::Skipped(no_base_image(why)),
                Err(e) => Attempt::Failed(e),
            },
            Some(BaseImage::Parameter { ssm_parameter }) => {
                from_parameters(cx, std::slice::from_ref(ssm_parameter)).await
            }
            Some(_) => Attempt::Skipped(Skip::not_asked(Missing::BaseImageKind)),
            None => {
                let names: Vec<ParameterName> = cx
                    .architectures
                    .iter()
                    .filter_map(|a| al2023_parameter(*a))
                    .collect();
                if names.is_empty() {
                    return Attempt::Skipped(no_base_image(Skip::NoAl2023Parameter {
                        architectures: cx.architectures.to_vec(),
                    }));
                }
                from_parameters(cx, &names).await
            }
        }
    }
}

/// The base image among those `names` point at that launches on the best choice.
async fn from_parameters(cx: &Context<'_>, names: &[ParameterName]) -> Attempt {
    let pointed = match images_named_by(cx, names).await {
        Ok(p) => p,
        Err(e) => return Attempt::Failed(e),
    };
    let mut passed = Vec::new();
    let mut rejections = Vec::new();
    for (name, image) in pointed {
        let image = match image {
            Ok(i) => i,
            Err(why) => {
                rejections.push(why);
                continue;
            }
        };
        match cx.check(&image, false).await {
            Ok(checked) => passed.push((name, image, checked)),
            Err(why) => rejections.push(Rejected::via(
                crate::Pointer::Parameter {
                    parameter: name.clone(),
                },
                why,
            )),
        }
    }
    let choices = cx.facts.choices().await;
    let rank = |arch| {
        choices
            .list
            .iter()
            .position(|c| c.architecture == arch)
            .unwrap_or(usize::MAX)
    };
    passed.sort_by_key(|(_, image, _)| rank(image.architecture));
    match passed.into_iter().next() {
        Some((name, image, checked)) => {
            let via = FoundVia::BaseImage {
                base: Box::new(FoundVia::SsmParameter { parameter: name }),
            };
            Attempt::Found(Box::new(
                Found::new(image, checked.choice, via).with_warnings(checked.warnings),
            ))
        }
        None => Attempt::Skipped(no_base_image(Skip::Rejected { rejections })),
    }
}

fn no_base_image(because: Skip) -> Skip {
    Skip::NoBaseImage {
        because: Box::new(because),
    }
}
