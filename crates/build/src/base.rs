//! The base stage: the template's base image, resolved by the resolver's script tier and
//! checked by its trust rules like any tier's image.

use amiref_core::{Architecture, Image, InstanceType, Region, ResolutionMethod};
use amiref_resolver::{Resolution, ResolveOptions, Resolver};
use amiref_template::AmiStrategy;

use crate::error::StageError;
use crate::spec::BuildSpec;

/// The image a build boots and the instance type it boots it on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Base {
    /// The base image, as the resolver found and checked it.
    pub(crate) image: Image,
    /// Its architecture.
    pub(crate) architecture: Architecture,
    /// The builder's and tester's instance type: the configuration's override, else the
    /// template's `build.instance_types`, else the template's for the architecture as the
    /// resolver chose it.
    pub(crate) instance_type: InstanceType,
    /// The resolution, for estimates.
    pub(crate) resolution: Resolution,
}

/// Resolves the base image of `spec`'s template in `region` for `architecture` (`None`: the
/// one the resolver prefers), through the resolver's script tier: the same search, SSM
/// parameter and trust rules as a launch that provisions by script.
pub(crate) async fn resolve_base(
    resolver: &Resolver,
    spec: &BuildSpec,
    region: &Region,
    architecture: Option<Architecture>,
) -> Result<Base, StageError> {
    // `ami_fallback` puts the script first; the cache is skipped so that a rebuild sees a
    // base image released since the last resolution.
    let mut options = ResolveOptions::default()
        .strategy(AmiStrategy::AmiFallback)
        .use_cache(false);
    if let Some(arch) = architecture {
        options = options.architecture(arch);
    }
    let resolution = resolver
        .resolve_with(&spec.template, region, &options)
        .await?;
    if resolution.method != ResolutionMethod::ScriptProvisioning {
        let reason = resolution
            .chain
            .iter()
            .find(|e| e.tier == ResolutionMethod::ScriptProvisioning)
            .map_or_else(
                || "the script tier did not run".to_owned(),
                |entry| entry.reason(),
            );
        return Err(StageError::NoBaseImage {
            region: region.clone(),
            reason,
        });
    }
    let instance_type = spec
        .options
        .instance_type
        .clone()
        .or_else(|| {
            spec.template
                .builder_instance_type(resolution.architecture)
                .cloned()
        })
        .unwrap_or_else(|| resolution.instance_type.clone());
    Ok(Base {
        image: resolution.image.clone(),
        architecture: resolution.architecture,
        instance_type,
        resolution,
    })
}
