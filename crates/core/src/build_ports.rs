//! The ports an image build needs beyond launching and imaging: controlling instances and
//! reading their serial console, temporary security groups, and writing SSM parameters.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CloudError, InstanceId, Parameter, ParameterName, Region, SecurityGroupId, VpcId};

/// What an instance printed to its serial console, as GetConsoleOutput answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ConsoleOutput {
    /// The output, decoded from base64; `None` while EC2 has none for the instance yet.
    pub text: Option<String>,
    /// When the output was last updated.
    pub timestamp: Option<DateTime<Utc>>,
}

impl ConsoleOutput {
    /// Output `text` captured at `timestamp`.
    pub fn new(text: Option<String>, timestamp: Option<DateTime<Utc>>) -> Self {
        Self { text, timestamp }
    }
}

/// Stops and terminates instances, and reads their serial console.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait InstanceControl: Send + Sync {
    /// Starts stopping the instances (EC2's StopInstances); they go `stopping`, then
    /// `stopped`. Stopping a stopped instance is not an error.
    async fn stop_instances(&self, region: &Region, ids: &[InstanceId]) -> Result<(), CloudError>;

    /// Starts terminating the instances (EC2's TerminateInstances); they go `shutting-down`,
    /// then `terminated`. Terminating a terminated instance is not an error; an id EC2 does
    /// not know fails with [`crate::CloudErrorKind::NotFound`].
    async fn terminate_instances(
        &self,
        region: &Region,
        ids: &[InstanceId],
    ) -> Result<(), CloudError>;

    /// The latest serial console output of the instance (GetConsoleOutput with `Latest`,
    /// which Nitro instances answer; others answer what EC2 last buffered).
    async fn console_output(
        &self,
        region: &Region,
        id: &InstanceId,
    ) -> Result<ConsoleOutput, CloudError>;
}

/// A security group to create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SecurityGroupRequest {
    /// Its name, unique within the VPC (at most 255 characters, not starting with `sg-`).
    pub name: String,
    /// Its description (required by EC2).
    pub description: String,
    /// The VPC; `None`: the region's default VPC.
    pub vpc: Option<VpcId>,
    /// Tags, applied at creation (TagSpecifications), so the group is never untagged.
    pub tags: BTreeMap<String, String>,
}

impl SecurityGroupRequest {
    /// A group `name` with `description` in the default VPC, untagged. EC2 gives a new
    /// group one egress rule (all traffic out) and no ingress rule: nothing can reach an
    /// instance in it.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            vpc: None,
            tags: BTreeMap::new(),
        }
    }
}

/// A security group, as DescribeSecurityGroups answers it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SecurityGroup {
    /// Its id.
    pub id: SecurityGroupId,
    /// Its name.
    pub name: String,
    /// Its VPC.
    pub vpc: Option<VpcId>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl SecurityGroup {
    /// A group with no VPC said and no tags.
    pub fn new(id: SecurityGroupId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            vpc: None,
            tags: BTreeMap::new(),
        }
    }
}

/// Creates, finds and deletes security groups: a build's temporary group.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SecurityGroups: Send + Sync {
    /// Creates the group. A name already taken in the VPC fails with
    /// [`crate::CloudErrorKind::InvalidRequest`] (EC2's `InvalidGroup.Duplicate`).
    async fn create_security_group(
        &self,
        region: &Region,
        request: &SecurityGroupRequest,
    ) -> Result<SecurityGroupId, CloudError>;

    /// The caller's groups in `region` carrying every tag of `tags` (a value, or `None`
    /// for the key with any value), across all pages, sorted by id.
    async fn describe_security_groups(
        &self,
        region: &Region,
        tags: &BTreeMap<String, Option<String>>,
    ) -> Result<Vec<SecurityGroup>, CloudError>;

    /// Deletes the group. One still used by an instance that is not terminated fails with
    /// [`crate::CloudErrorKind::InvalidRequest`] (EC2's `DependencyViolation`); an unknown
    /// group with [`crate::CloudErrorKind::NotFound`].
    async fn delete_security_group(
        &self,
        region: &Region,
        id: &SecurityGroupId,
    ) -> Result<(), CloudError>;
}

/// SSM's data type for a parameter whose value is an image id: SSM checks the image exists
/// before the version counts, and RunInstances resolves `resolve:ssm:NAME` through it.
pub const EC2_IMAGE_DATA_TYPE: &str = "aws:ec2:image";

/// A parameter value to write.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PutParameterRequest {
    /// Its name.
    pub name: ParameterName,
    /// Its value (an image id for [`EC2_IMAGE_DATA_TYPE`]).
    pub value: String,
    /// `text` (None) or [`EC2_IMAGE_DATA_TYPE`].
    pub data_type: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// Whether to write a new version over an existing parameter; without it, an existing
    /// name fails with [`crate::CloudErrorKind::InvalidRequest`] (`ParameterAlreadyExists`).
    pub overwrite: bool,
}

impl PutParameterRequest {
    /// A request to set `name` to the image id `image` (data type [`EC2_IMAGE_DATA_TYPE`]),
    /// overwriting any earlier version.
    pub fn image(name: ParameterName, image: &crate::AmiId) -> Self {
        Self {
            name,
            value: image.as_str().to_owned(),
            data_type: Some(EC2_IMAGE_DATA_TYPE.to_owned()),
            description: None,
            overwrite: true,
        }
    }
}

/// Writes, lists and deletes SSM parameters, and reads their history.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ParameterStore: Send + Sync {
    /// Writes the parameter and answers its new version (1 for a new parameter). Writing
    /// the value it already holds still makes a new version, as SSM does.
    async fn put_parameter(
        &self,
        region: &Region,
        request: &PutParameterRequest,
    ) -> Result<i64, CloudError>;

    /// Every version of the parameter, oldest first (GetParameterHistory, all pages). An
    /// unknown name fails with [`crate::CloudErrorKind::NotFound`].
    async fn parameter_history(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError>;

    /// The parameters under the path `path` (`/amiref/python-ml`), at any depth
    /// (GetParametersByPath, recursive, all pages), sorted by name.
    async fn parameters_by_path(
        &self,
        region: &Region,
        path: &ParameterName,
    ) -> Result<Vec<Parameter>, CloudError>;

    /// Deletes the parameter and its history. An unknown name fails with
    /// [`crate::CloudErrorKind::NotFound`].
    async fn delete_parameter(
        &self,
        region: &Region,
        name: &ParameterName,
    ) -> Result<(), CloudError>;
}
