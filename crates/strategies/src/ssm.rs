//! Tier 0, SSM parameter: an image id held in an AWS Systems Manager parameter.

use std::collections::HashMap;

use amiref_core::{AmiId, Architecture, Image, ParameterName, ResolutionMethod};
use async_trait::async_trait;

use crate::{
    Attempt, Context, Found, FoundVia, Missing, Pointer, Rejected, Rejection, Skip, Strategy,
    StrategyError,
};

/// AWS's public parameter naming the newest Amazon Linux 2023 image (standard kernel) of an
/// architecture: the script's base image when a template names none. The `/aws/service/`
/// namespace belongs to AWS alone, so there is no name to squat.
pub fn al2023_parameter(arch: Architecture) -> Option<ParameterName> {
    let suffix = match arch {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "arm64",
        _ => return None,
    };
    ParameterName::new(format!(
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{suffix}"
    ))
    .ok()
}

/// Reads `ami_config.ssm_parameters[region]` (else `ssm_parameter`) and uses the image it
/// names, after every check the other tiers make: a platform's golden-image parameter
/// (`/golden/python-ml/x86_64`) is a pointer, not a reason to trust what it points at.
#[derive(Debug, Clone, Copy, Default)]
pub struct SsmParameter;

#[async_trait]
impl Strategy for SsmParameter {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::SsmParameter
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.template
            .ami_config
            .as_ref()
            .is_some_and(|c| c.ssm_parameter_in(cx.region).is_some())
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(name) = cx
            .template
            .ami_config
            .as_ref()
            .and_then(|c| c.ssm_parameter_in(cx.region))
        else {
            return Attempt::Skipped(Skip::not_asked(Missing::SsmParameter));
        };
        let pointed = match images_named_by(cx, std::slice::from_ref(name)).await {
            Ok(mut p) => p.swap_remove(0).1,
            Err(e) => return Attempt::Failed(e),
        };
        let image = match pointed {
            Ok(image) => image,
            Err(why) => return Attempt::Skipped(Skip::rejected(why)),
        };
        match cx.check(&image, false).await {
            Ok(checked) => {
                let via = FoundVia::SsmParameter {
                    parameter: name.clone(),
                };
                Attempt::Found(Box::new(
                    Found::new(image, checked.choice, via).with_warnings(checked.warnings),
                ))
            }
            Err(why) => Attempt::Skipped(Skip::rejected(Rejected::via(
                Pointer::Parameter {
                    parameter: name.clone(),
                },
                why,
            ))),
        }
    }
}

/// The images `names` point at in `cx.region`, in the order asked: one GetParameters call
/// for all the names, then one DescribeImages for all the ids. Each answer is the image, or
/// why there is none (the refusal names the parameter).
pub(crate) async fn images_named_by(
    cx: &Context<'_>,
    names: &[ParameterName],
) -> Result<Vec<(ParameterName, Result<Image, Rejected>)>, StrategyError> {
    let parameters = cx.cloud.get_parameters(cx.region, names).await?;
    let mut ids: Vec<AmiId> = Vec::new();
    let mut pointed: Vec<(ParameterName, Result<AmiId, Rejection>)> =
        Vec::with_capacity(names.len());
    for name in names {
        let answer = match parameters.get(name) {
            None => Err(Rejection::ParameterMissing {
                region: cx.region.clone(),
            }),
            Some(p) => AmiId::new(p.value.trim()).map_err(|_| Rejection::ParameterNotAnImage {
                value: shorten(&p.value),
            }),
        };
        if let Ok(id) = &answer {
            ids.push(id.clone());
        }
        pointed.push((name.clone(), answer));
    }
    let described: HashMap<AmiId, Image> = if ids.is_empty() {
        HashMap::new()
    } else {
        cx.cloud
            .describe_images(cx.region, &ids)
            .await?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect()
    };
    let hidden = if pointed
        .iter()
        .any(|(_, id)| id.as_ref().is_ok_and(|id| !described.contains_key(id)))
    {
        cx.allowed_images_enabled().await
    } else {
        false
    };
    Ok(pointed
        .into_iter()
        .map(|(name, id)| {
            let image = id
                .and_then(|id| {
                    described
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| Rejection::NotVisible {
                            image: id,
                            region: cx.region.clone(),
                            allowed_images_enabled: hidden,
                        })
                })
                .map_err(|why| {
                    Rejected::via(
                        Pointer::Parameter {
                            parameter: name.clone(),
                        },
                        why,
                    )
                });
            (name, image)
        })
        .collect())
}

/// A value from a parameter, cut for messages (it may be anything): control characters
/// replaced, at most 64 characters, `…` where it was cut.
fn shorten(value: &str) -> String {
    let mut clean: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(64)
        .collect();
    if value.chars().count() > 64 {
        clean.push('…');
    }
    clean
}
