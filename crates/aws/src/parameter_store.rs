//! [`ParameterStore`] on SSM PutParameter, GetParameterHistory, GetParametersByPath and
//! DeleteParameter.

use std::time::Duration;

use amiref_core::{
    CloudError, CloudErrorKind, EC2_IMAGE_DATA_TYPE, Parameter, ParameterName, ParameterStore,
    Parameters, PutParameterRequest, Region,
};
use async_trait::async_trait;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::types as ssm;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::parameters::parameter_from_ssm;
use crate::{AwsCloud, error};

const PUT_PARAMETER: &str = "PutParameter";

/// The largest page GetParameterHistory returns.
const HISTORY_PAGE: i32 = 50;

/// The largest page GetParametersByPath returns.
const PATH_PAGE: i32 = 10;

/// How long a write of an `aws:ec2:image` value is waited for: SSM checks such a value
/// after PutParameter has answered, and drops the version if the image does not exist.
const IMAGE_CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// The first and the longest pause between two looks at a version SSM is still checking.
const FIRST_LOOK: Duration = Duration::from_secs(1);
const LONGEST_LOOK: Duration = Duration::from_secs(8);

/// SSM's answer to concurrent writes of one parameter, `TooManyUpdates`, counted as
/// throttling so that PutParameter backs off and tries again: the SDK's own list of
/// throttling codes does not name it.
#[derive(Debug)]
struct ContendedWrites;

impl ClassifyRetry for ContendedWrites {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let code = match ctx.output_or_error() {
            Some(Err(err)) => err
                .as_operation_error()
                .and_then(|e| e.downcast_ref::<PutParameterError>())
                .and_then(|e| e.code()),
            _ => None,
        };
        if code == Some("TooManyUpdates") {
            RetryAction::throttling_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "SSM TooManyUpdates"
    }
}

/// A history entry in the shape of a parameter, so that both are read by one rule.
fn history_as_parameter(entry: &ssm::ParameterHistory) -> ssm::Parameter {
    ssm::Parameter::builder()
        .set_name(entry.name().map(str::to_owned))
        .set_type(entry.r#type().cloned())
        .set_value(entry.value().map(str::to_owned))
        .set_data_type(entry.data_type().map(str::to_owned))
        .version(entry.version())
        .set_last_modified_date(entry.last_modified_date().cloned())
        .build()
}

impl AwsCloud {
    /// Waits until `name` shows `version` (or a later one). SSM answers PutParameter of an
    /// `aws:ec2:image` value before it has checked the image, and a version whose image
    /// does not exist never becomes visible; reporting it written would publish nothing.
    async fn confirm_image_version(
        &self,
        region: &Region,
        name: &ParameterName,
        version: i64,
    ) -> Result<(), CloudError> {
        let deadline = tokio::time::Instant::now() + IMAGE_CHECK_TIMEOUT;
        let mut pause = FIRST_LOOK;
        loop {
            let found = self
                .get_parameters(region, std::slice::from_ref(name))
                .await?;
            if found.get(name).is_some_and(|p| p.version >= version) {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(CloudError::new(
                    CloudErrorKind::Timeout,
                    PUT_PARAMETER,
                    format!(
                        "version {version} of {name} did not become visible within \
                         {IMAGE_CHECK_TIMEOUT:?}: SSM checks an {EC2_IMAGE_DATA_TYPE} value \
                         after answering, and drops the version when the image does not \
                         exist or is not available in this region"
                    ),
                )
                .in_region(region));
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(LONGEST_LOOK);
        }
    }
}

#[async_trait]
impl ParameterStore for AwsCloud {
    #[tracing::instrument(skip(self, request), fields(region = %region, name = %request.name))]
    async fn put_parameter(
        &self,
        region: &Region,
        request: &PutParameterRequest,
    ) -> Result<i64, CloudError> {
        // Retried like any call: throttling (SSM allows few writes a second) and contention
        // are common, and a repeat after a lost answer writes the same value as one more
        // version.
        let out = self
            .clients
            .ssm(region)
            .put_parameter()
            .name(request.name.as_str())
            .value(&request.value)
            .r#type(ssm::ParameterType::String)
            .set_data_type(request.data_type.clone())
            .set_description(request.description.clone())
            .overwrite(request.overwrite)
            .customize()
            .config_override(
                aws_sdk_ssm::config::Builder::default().retry_classifier(ContendedWrites),
            )
            .send()
            .await
            .map_err(|e| error::from_sdk(PUT_PARAMETER, Some(region), e))?;
        let version = out.version();
        if request.data_type.as_deref() == Some(EC2_IMAGE_DATA_TYPE) {
            self.confirm_image_version(region, &request.name, version)
                .await?;
        }
        Ok(version)
    }

    #[tracing::instrument(skip(self), fields(region = %region, name = %name))]
    async fn parameter_history(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        let pages = self
            .clients
            .ssm(region)
            .get_parameter_history()
            .name(name.as_str())
            .with_decryption(false)
            .max_results(HISTORY_PAGE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("GetParameterHistory", Some(region), e))?;
        let mut versions: Vec<Parameter> = pages
            .iter()
            .flat_map(|page| page.parameters())
            .filter_map(|entry| parameter_from_ssm(&history_as_parameter(entry)))
            .collect();
        versions.sort_by_key(|p| p.version);
        versions.dedup_by_key(|p| p.version);
        Ok(versions)
    }

    #[tracing::instrument(skip(self), fields(region = %region, path = %path))]
    async fn parameters_by_path(
        &self,
        region: &Region,
        path: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        let pages = self
            .clients
            .ssm(region)
            .get_parameters_by_path()
            .path(path.as_str())
            .recursive(true)
            .with_decryption(false)
            .max_results(PATH_PAGE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("GetParametersByPath", Some(region), e))?;
        let mut found: Vec<Parameter> = pages
            .iter()
            .flat_map(|page| page.parameters())
            .filter_map(parameter_from_ssm)
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        Ok(found)
    }

    #[tracing::instrument(skip(self), fields(region = %region, name = %name))]
    async fn delete_parameter(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<(), CloudError> {
        self.clients
            .ssm(region)
            .delete_parameter()
            .name(name.as_str())
            .send()
            .await
            .map_err(|e| error::from_sdk("DeleteParameter", Some(region), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_entries_are_read_as_parameters() {
        let entry = ssm::ParameterHistory::builder()
            .name("/amiref/python-ml/latest/x86_64")
            .r#type(ssm::ParameterType::String)
            .value("ami-0123456789abcdef0")
            .data_type(EC2_IMAGE_DATA_TYPE)
            .version(3)
            .last_modified_date(aws_smithy_types::DateTime::from_secs(1_790_810_907))
            .build();
        let got = parameter_from_ssm(&history_as_parameter(&entry)).unwrap();
        assert_eq!(got.name.as_str(), "/amiref/python-ml/latest/x86_64");
        assert_eq!(got.value, "ami-0123456789abcdef0");
        assert_eq!(got.data_type.as_deref(), Some(EC2_IMAGE_DATA_TYPE));
        assert_eq!(got.version, 3);
        assert_eq!(
            got.last_modified.map(|t| t.timestamp()),
            Some(1_790_810_907)
        );
    }
}
