//! TEMPORARY (lead, issue 12): the build ports, not yet implemented; replaced by their owner.

use std::collections::BTreeMap;

use amiref_core::{
    CloudError, CloudErrorKind, ConsoleOutput, InstanceControl, InstanceId, Parameter,
    ParameterName, ParameterStore, PutParameterRequest, Region, SecurityGroup, SecurityGroupId,
    SecurityGroupRequest, SecurityGroups,
};
use async_trait::async_trait;

use crate::AwsCloud;

fn unsupported(op: &'static str) -> CloudError {
    CloudError::new(CloudErrorKind::Service, op, "not implemented yet")
}

#[async_trait]
impl InstanceControl for AwsCloud {
    async fn stop_instances(&self, _: &Region, _: &[InstanceId]) -> Result<(), CloudError> {
        Err(unsupported("StopInstances"))
    }
    async fn terminate_instances(&self, _: &Region, _: &[InstanceId]) -> Result<(), CloudError> {
        Err(unsupported("TerminateInstances"))
    }
    async fn console_output(
        &self,
        _: &Region,
        _: &InstanceId,
    ) -> Result<ConsoleOutput, CloudError> {
        Err(unsupported("GetConsoleOutput"))
    }
}

#[async_trait]
impl SecurityGroups for AwsCloud {
    async fn create_security_group(
        &self,
        _: &Region,
        _: &SecurityGroupRequest,
    ) -> Result<SecurityGroupId, CloudError> {
        Err(unsupported("CreateSecurityGroup"))
    }
    async fn describe_security_groups(
        &self,
        _: &Region,
        _: &BTreeMap<String, Option<String>>,
    ) -> Result<Vec<SecurityGroup>, CloudError> {
        Err(unsupported("DescribeSecurityGroups"))
    }
    async fn delete_security_group(
        &self,
        _: &Region,
        _: &SecurityGroupId,
    ) -> Result<(), CloudError> {
        Err(unsupported("DeleteSecurityGroup"))
    }
}

#[async_trait]
impl ParameterStore for AwsCloud {
    async fn put_parameter(&self, _: &Region, _: &PutParameterRequest) -> Result<i64, CloudError> {
        Err(unsupported("PutParameter"))
    }
    async fn parameter_history(
        &self,
        _: &Region,
        _: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        Err(unsupported("GetParameterHistory"))
    }
    async fn parameters_by_path(
        &self,
        _: &Region,
        _: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError> {
        Err(unsupported("GetParametersByPath"))
    }
    async fn delete_parameter(&self, _: &Region, _: &ParameterName) -> Result<(), CloudError> {
        Err(unsupported("DeleteParameter"))
    }
}
