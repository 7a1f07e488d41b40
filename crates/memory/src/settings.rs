//! `AccountSettings` and `Parameters`: the account's Allowed AMIs setting per region, and
//! SSM parameters per region (written by `ParameterStore`, in crate::parameter_store), with
//! the Allowed AMIs setter tests turn at run time.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AccountSettings, AllowedImagesSettings, CloudError, Parameter, ParameterName, Parameters,
    Region,
};
use async_trait::async_trait;

use crate::cloud::MemoryCloud;
use crate::knobs::op;

/// How many names SSM's GetParameters takes in one call.
pub(crate) const PARAMETERS_PER_CALL: usize = 10;

#[async_trait]
impl AccountSettings for MemoryCloud {
    async fn allowed_images_settings(
        &self,
        region: &Region,
    ) -> Result<AllowedImagesSettings, CloudError> {
        self.begin(op::GET_ALLOWED_IMAGES_SETTINGS, Some(region))
            .await?;
        Ok(self
            .read()
            .regions
            .get(region)
            .map(|r| r.allowed_images.clone())
            .unwrap_or_default())
    }
}

#[async_trait]
impl Parameters for MemoryCloud {
    async fn get_parameters(
        &self,
        region: &Region,
        names: &[ParameterName],
    ) -> Result<BTreeMap<ParameterName, Parameter>, CloudError> {
        let unique: BTreeSet<&ParameterName> = names.iter().collect();
        // SSM takes at most 10 names a call (and refuses none), so an empty ask makes no call.
        for _ in 0..unique.len().div_ceil(PARAMETERS_PER_CALL) {
            self.begin(op::GET_PARAMETERS, Some(region)).await?;
        }
        let world = self.read();
        let Some(state) = world.regions.get(region) else {
            return Ok(BTreeMap::new());
        };
        Ok(unique
            .into_iter()
            .filter_map(|name| state.parameters.get(name))
            .filter(|p| p.readable_by(&self.caller))
            .map(|p| (p.parameter.name.clone(), p.parameter.clone()))
            .collect())
    }
}

impl MemoryCloud {
    /// Sets the Allowed AMIs setting of `region` from now on (as EnableAllowedImagesSettings
    /// and ReplaceImageCriteriaInAllowedImagesSettings would): a knob for tests.
    pub fn set_allowed_images(&self, region: &Region, settings: AllowedImagesSettings) {
        self.write()
            .regions
            .entry(region.clone())
            .or_default()
            .allowed_images = settings;
    }
}
