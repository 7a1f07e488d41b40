//! `AccountSettings` and `Parameters`: the account's Allowed AMIs setting per region, and
//! SSM parameters per region, with the setters tests turn at run time.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AccountSettings, AllowedImagesSettings, CloudError, Parameter, ParameterName, Parameters,
    Region,
};
use async_trait::async_trait;
use tokio::time::Instant;

use crate::cloud::MemoryCloud;
use crate::knobs::op;
use crate::state::{StoredParameter, is_public_parameter};

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

    /// Puts an SSM parameter in `region` as PutParameter with overwrite does: a new one
    /// starts at version 1, a changed one goes up a version; either way it was last
    /// modified now. Parameters under `/aws/service/` are AWS's, readable by every account;
    /// others are this handle's account's. The value is not checked (see
    /// [`crate::MemoryCloudBuilder::parameter`] for the checks a world gets).
    pub fn put_parameter(
        &self,
        region: &Region,
        name: ParameterName,
        value: impl Into<String>,
        data_type: Option<String>,
    ) {
        let now = Instant::now();
        self.settle(now);
        let mut world = self.write();
        let now_utc = world.now_utc(now);
        let owner = (!is_public_parameter(&name)).then(|| self.caller.clone());
        let state = world.regions.entry(region.clone()).or_default();
        let version = state
            .parameters
            .get(&name)
            .map_or(1, |p| p.parameter.version + 1);
        let mut parameter = Parameter::new(name.clone(), value);
        parameter.data_type = data_type.or_else(|| Some("text".to_owned()));
        parameter.version = version;
        parameter.last_modified = Some(now_utc);
        state
            .parameters
            .insert(name, StoredParameter { parameter, owner });
    }

    /// Deletes an SSM parameter from `region` (DeleteParameter); deleting one that does not
    /// exist does nothing.
    pub fn delete_parameter(&self, region: &Region, name: &ParameterName) {
        if let Some(state) = self.write().regions.get_mut(region) {
            state.parameters.remove(name);
        }
    }
}
