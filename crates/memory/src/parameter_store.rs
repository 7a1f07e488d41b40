//! `ParameterStore`: SSM parameters written with versions and history, listed by path and
//! deleted, in the same store `Parameters::get_parameters` reads.
//!
//! One difference from SSM, on purpose: SSM validates an `aws:ec2:image` value
//! asynchronously (PutParameter answers 200 and a version, and a value naming no image the
//! account can use is then silently not stored, reported only through EventBridge). Here
//! the check is synchronous: such a put fails with `InvalidRequest` (code
//! `ValidationException`) and stores nothing, so a caller learns at once what SSM would
//! have dropped.

use amiref_core::{
    CloudError, CloudErrorKind, EC2_IMAGE_DATA_TYPE, ImageState, Parameter, ParameterName,
    ParameterStore, PutParameterRequest, Region,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::cloud::MemoryCloud;
use crate::knobs::op;
use crate::state::{StoredParameter, WorldData, is_public_parameter};

/// How many versions of a parameter SSM keeps: writing the 101st deletes the oldest.
pub(crate) const MAX_VERSIONS: usize = 100;
/// SSM's limit on a standard parameter's value.
const MAX_VALUE_BYTES: usize = 4096;
/// GetParameterHistory answers at most 50 versions a call.
const HISTORY_PER_CALL: usize = 50;
/// GetParametersByPath answers at most 10 parameters a call.
const BY_PATH_PER_CALL: usize = 10;

impl StoredParameter {
    /// A new latest version with `value` and `data_type`, written at `now`; the version it
    /// replaces goes to the history, of which SSM keeps the last [`MAX_VERSIONS`] in all.
    pub(crate) fn push_version(&mut self, value: String, data_type: String, now: DateTime<Utc>) {
        let mut next = Parameter::new(self.parameter.name.clone(), value);
        next.data_type = Some(data_type);
        next.version = self.parameter.version + 1;
        next.last_modified = Some(now);
        let previous = std::mem::replace(&mut self.parameter, next);
        self.history.push(previous);
        let excess = (self.history.len() + 1).saturating_sub(MAX_VERSIONS);
        self.history.drain(..excess);
    }

    /// Every version SSM keeps, oldest first.
    pub(crate) fn versions(&self) -> Vec<Parameter> {
        let mut all = self.history.clone();
        all.push(self.parameter.clone());
        all
    }
}

/// Writes `value` as the newest version of `name` in `region`, creating the parameter at
/// version 1: what both PutParameter and the knob [`MemoryCloud::set_parameter`] do once
/// their checks pass. Answers the new version.
pub(crate) fn write_version(
    world: &mut WorldData,
    region: &Region,
    owner: Option<amiref_core::AccountId>,
    name: &ParameterName,
    value: String,
    data_type: String,
    now: DateTime<Utc>,
) -> i64 {
    let state = world.regions.entry(region.clone()).or_default();
    match state.parameters.get_mut(name) {
        Some(stored) => {
            stored.push_version(value, data_type, now);
            stored.parameter.version
        }
        None => {
            let mut parameter = Parameter::new(name.clone(), value);
            parameter.data_type = Some(data_type);
            parameter.last_modified = Some(now);
            state.parameters.insert(
                name.clone(),
                StoredParameter {
                    parameter,
                    history: Vec::new(),
                    owner,
                },
            );
            1
        }
    }
}

fn ssm_error(
    op: &'static str,
    region: &Region,
    kind: CloudErrorKind,
    code: &str,
    message: String,
) -> CloudError {
    CloudError::new(kind, op, message)
        .in_region(region)
        .with_code(code)
}

fn validation(region: &Region, message: String) -> CloudError {
    ssm_error(
        op::PUT_PARAMETER,
        region,
        CloudErrorKind::InvalidRequest,
        "ValidationException",
        message,
    )
}

fn parameter_not_found(op: &'static str, region: &Region, name: &ParameterName) -> CloudError {
    ssm_error(
        op,
        region,
        CloudErrorKind::NotFound,
        "ParameterNotFound",
        format!("Parameter {name} not found."),
    )
}

/// Whether SSM reserves the name: its first level starts with `aws` or `ssm`, in any case.
fn is_reserved(name: &ParameterName) -> bool {
    let first = name.as_str().trim_start_matches('/');
    let lower = first.get(..3).map(str::to_ascii_lowercase);
    matches!(lower.as_deref(), Some("aws" | "ssm"))
}

impl MemoryCloud {
    /// PutParameter's checks, in SSM's order, against the world as it is.
    fn check_put(
        &self,
        world: &WorldData,
        region: &Region,
        request: &PutParameterRequest,
        data_type: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CloudError> {
        let name = &request.name;
        if is_reserved(name) {
            return Err(validation(
                region,
                format!(
                    "Parameter name {name}: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive)."
                ),
            ));
        }
        if request.value.is_empty() || request.value.len() > MAX_VALUE_BYTES {
            return Err(validation(
                region,
                format!(
                    "A standard parameter's value is 1 to {MAX_VALUE_BYTES} characters; {name}'s is {}",
                    request.value.len()
                ),
            ));
        }
        if data_type != "text" && data_type != EC2_IMAGE_DATA_TYPE {
            return Err(validation(
                region,
                format!(
                    "The data type {data_type:?} is not supported: text or {EC2_IMAGE_DATA_TYPE}"
                ),
            ));
        }
        let state = world.regions.get(region);
        if let Some(existing) = state.and_then(|r| r.parameters.get(name)) {
            if existing.owner.as_ref() != Some(&self.caller) {
                return Err(ssm_error(
                    op::PUT_PARAMETER,
                    region,
                    CloudErrorKind::AccessDenied,
                    "AccessDeniedException",
                    format!("The caller may not write the parameter {name}"),
                ));
            }
            if !request.overwrite {
                return Err(ssm_error(
                    op::PUT_PARAMETER,
                    region,
                    CloudErrorKind::InvalidRequest,
                    "ParameterAlreadyExists",
                    format!(
                        "The parameter {name} already exists. To overwrite this value, set the overwrite option in the request to true."
                    ),
                ));
            }
            let was = existing.parameter.data_type.as_deref().unwrap_or("text");
            if was != data_type && (was == EC2_IMAGE_DATA_TYPE || data_type == EC2_IMAGE_DATA_TYPE)
            {
                return Err(validation(
                    region,
                    format!("The data type of {name} cannot change from {was} to {data_type}"),
                ));
            }
        }
        if data_type == EC2_IMAGE_DATA_TYPE {
            self.check_image_value(world, region, request, now)?;
        }
        Ok(())
    }

    /// An `aws:ec2:image` value must name an image the caller can launch in the region.
    fn check_image_value(
        &self,
        world: &WorldData,
        region: &Region,
        request: &PutParameterRequest,
        now: DateTime<Utc>,
    ) -> Result<(), CloudError> {
        let who = world.identity_of(&self.caller);
        let launchable = amiref_core::AmiId::new(request.value.as_str())
            .ok()
            .and_then(|id| {
                let state = world.regions.get(region)?;
                let stored = state.images.get(&id)?;
                let image = state.shown_to(stored, &who, now)?;
                let usable = matches!(image.state, ImageState::Available | ImageState::Pending)
                    && !state.blocks(&image, &who.account, now);
                usable.then_some(())
            });
        launchable.ok_or_else(|| {
            validation(
                region,
                format!(
                    "Parameter value, {}, for parameter {} is not valid for {EC2_IMAGE_DATA_TYPE} data type: no image of that id the caller can launch exists in {region}",
                    request.value, request.name
                ),
            )
        })
    }

    /// Counts the further calls of a paged answer of `len` items, `per_call` a call (the
    /// first call was the prologue's).
    pub(crate) async fn further_pages(
        &self,
        operation: &'static str,
        region: &Region,
        len: usize,
        per_call: usize,
    ) -> Result<(), CloudError> {
        for _ in 1..len.div_ceil(per_call) {
            self.begin(operation, Some(region)).await?;
        }
        Ok(())
    }

    /// Sets an SSM parameter in `region` as PutParameter with overwrite does: a new one
    /// starts at version 1, a changed one goes up a version (its earlier value kept in its
    /// history); either way it was last modified now. Parameters under `/aws/service/` are
    /// AWS's, readable by every account; others are this handle's account's. Unlike the
    /// port ([`ParameterStore::put_parameter`]), no call is counted and the value is not
    /// checked: a knob for tests.
    pub fn set_parameter(
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
        let data_type = data_type.unwrap_or_else(|| "text".to_owned());
        write_version(
            &mut world,
            region,
            owner,
            &name,
            value.into(),
            data_type,
            now_utc,
        );
    }

    /// Removes an SSM parameter and its history from `region`; removing one that does not
    /// exist does nothing. A knob: no call is counted (the port is
    /// [`ParameterStore::delete_parameter`]).
    pub fn remove_parameter(&self, region: &Region, name: &ParameterName) {
        if let Some(state) = self.write().regions.get_mut(region) {
            state.parameters.remove(name);
        }
    }
}

#[async_trait]
impl ParameterStore for MemoryCloud {
    async fn put_parameter(
        &self,
        region: &Region,
        request: &PutParameterRequest,
    ) -> Result<i64, CloudError> {
        let now = self.begin(op::PUT_PARAMETER, Some(region)).await?;
        let data_type = request
            .data_type
            .clone()
            .unwrap_or_else(|| "text".to_owned());
        let mut world = self.write();
        let now_utc = world.now_utc(now);
        self.check_put(&world, region, request, &data_type, now_utc)?;
        let version = write_version(
            &mut world,
            region,
            Some(self.caller.clone()),
            &request.name,
            request.value.clone(),
            data_type,
            now_utc,
        );
        tracing::debug!(%region, parameter = %request.name, version, "parameter put");
        Ok(version)
    }

    async fn parameter_history(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        const OP: &str = op::GET_PARAMETER_HISTORY;
        self.begin(OP, Some(region)).await?;
        let versions = self
            .read()
            .regions
            .get(region)
            .and_then(|r| r.parameters.get(name))
            .filter(|p| p.readable_by(&self.caller))
            .map(StoredParameter::versions)
            .ok_or_else(|| parameter_not_found(OP, region, name))?;
        self.further_pages(OP, region, versions.len(), HISTORY_PER_CALL)
            .await?;
        Ok(versions)
    }

    async fn parameters_by_path(
        &self,
        region: &Region,
        path: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        const OP: &str = op::GET_PARAMETERS_BY_PATH;
        self.begin(OP, Some(region)).await?;
        let prefix = format!("{}/", path.as_str().trim_end_matches('/'));
        let found: Vec<Parameter> = self
            .read()
            .regions
            .get(region)
            .into_iter()
            .flat_map(|r| r.parameters.values())
            .filter(|p| p.parameter.name.as_str().starts_with(&prefix))
            .filter(|p| p.readable_by(&self.caller))
            .map(|p| p.parameter.clone())
            .collect();
        self.further_pages(OP, region, found.len(), BY_PATH_PER_CALL)
            .await?;
        Ok(found)
    }

    async fn delete_parameter(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<(), CloudError> {
        const OP: &str = op::DELETE_PARAMETER;
        self.begin(OP, Some(region)).await?;
        let mut world = self.write();
        let state = world.regions.entry(region.clone()).or_default();
        match state.parameters.get(name) {
            Some(p) if p.owner.as_ref() == Some(&self.caller) => {
                state.parameters.remove(name);
                tracing::debug!(%region, parameter = %name, "parameter deleted");
                Ok(())
            }
            Some(p) if p.readable_by(&self.caller) => Err(ssm_error(
                OP,
                region,
                CloudErrorKind::AccessDenied,
                "AccessDeniedException",
                format!("The caller may not delete the parameter {name}"),
            )),
            _ => Err(parameter_not_found(OP, region, name)),
        }
    }
}
