//! [`InstanceTypes`] on DescribeInstanceTypes and DescribeInstanceTypeOfferings, and
//! [`Instances`] on RunInstances and DescribeInstances.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AmiId, Architecture, CloudError, CloudErrorKind, Instance, InstanceFilter, InstanceId,
    InstanceState, InstanceType, InstanceTypes, Instances, Region, RunInstanceRequest,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, LocationType, ResourceType, TagSpecification};
use base64::Engine as _;

use crate::catalog::{filter, tag_filters};
use crate::store::no_retries;
use crate::{AwsCloud, error, mapping};

/// The most instance types one DescribeInstanceTypes call takes.
const TYPES_PER_CALL: usize = 100;

/// The largest page DescribeInstanceTypeOfferings returns.
const OFFERINGS_PAGE: i32 = 1000;

/// The largest page DescribeInstances returns.
const INSTANCES_PAGE: i32 = 1000;

/// The most values one DescribeInstances filter takes.
const FILTER_VALUES: usize = 200;

/// Metadata options that refuse IMDSv1: the endpoint on, session tokens required, so
/// nothing on the instance reads its role's credentials with a bare GET.
fn imdsv2_required() -> ec2::InstanceMetadataOptionsRequest {
    ec2::InstanceMetadataOptionsRequest::builder()
        .http_endpoint(ec2::InstanceMetadataEndpointState::Enabled)
        .http_tokens(ec2::HttpTokensState::Required)
        .build()
}

/// The instance profile `profile` names: an ARN (`arn:aws:iam::…:instance-profile/…`) goes
/// in `Arn`, anything else is the profile's name.
fn instance_profile(profile: &str) -> ec2::IamInstanceProfileSpecification {
    let spec = ec2::IamInstanceProfileSpecification::builder();
    if profile.starts_with("arn:") {
        spec.arn(profile)
    } else {
        spec.name(profile)
    }
    .build()
}

/// `types` as EC2 names them, sorted, each once.
fn unique_names(types: &[InstanceType]) -> Vec<String> {
    let mut names: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

#[async_trait]
impl InstanceTypes for AwsCloud {
    #[tracing::instrument(skip(self, types), fields(region = %region, types = types.len()))]
    async fn architectures(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeMap<InstanceType, Vec<Architecture>>, CloudError> {
        let names = unique_names(types);
        let client = self.clients.ec2(region);
        // The `instance-type` filter rather than `InstanceTypes`: a type the region does not
        // offer is then absent instead of failing the call (InvalidInstanceType).
        let batches = names.chunks(TYPES_PER_CALL).map(|chunk| {
            client
                .describe_instance_types()
                .filters(filter("instance-type", chunk.iter().cloned()))
                .into_paginator()
                .items()
                .send()
                .try_collect()
        });
        let answers = futures::future::try_join_all(batches)
            .await
            .map_err(|e| error::from_sdk("DescribeInstanceTypes", Some(region), e))?;
        let mut out = BTreeMap::new();
        for info in answers.iter().flatten() {
            let Some(name) = info.instance_type().map(ec2::InstanceType::as_str) else {
                continue;
            };
            let Ok(instance_type) = InstanceType::new(name) else {
                tracing::warn!(name, "skipping an instance type amiref cannot name");
                continue;
            };
            let archs: Vec<Architecture> = info
                .processor_info()
                .map(|p| p.supported_architectures())
                .unwrap_or_default()
                .iter()
                .filter_map(|a| a.as_str().parse().ok())
                .collect();
            out.insert(instance_type, archs);
        }
        Ok(out)
    }

    #[tracing::instrument(skip(self, types), fields(region = %region, types = types.len()))]
    async fn offered_instance_types(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeSet<InstanceType>, CloudError> {
        let names = unique_names(types);
        if names.is_empty() {
            return Ok(BTreeSet::new());
        }
        let client = self.clients.ec2(region);
        // Offerings of the whole region (location type `region`, the default, said
        // explicitly): a type sold in any of its zones is offered. The `instance-type` filter
        // narrows the answer to the asked types; without it a region lists ~800 offerings.
        let batches = names.chunks(TYPES_PER_CALL).map(|chunk| {
            client
                .describe_instance_type_offerings()
                .location_type(LocationType::Region)
                .filters(filter("instance-type", chunk.iter().cloned()))
                .max_results(OFFERINGS_PAGE)
                .into_paginator()
                .items()
                .send()
                .try_collect()
        });
        let answers = futures::future::try_join_all(batches)
            .await
            .map_err(|e| error::from_sdk("DescribeInstanceTypeOfferings", Some(region), e))?;
        let asked: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        Ok(answers
            .iter()
            .flatten()
            .filter_map(|o| o.instance_type().map(ec2::InstanceType::as_str))
            // A server that ignores the filter (or a page of extra types) cannot widen the
            // answer beyond what was asked.
            .filter(|name| asked.contains(name))
            .filter_map(|name| InstanceType::new(name).ok())
            .collect())
    }
}

#[async_trait]
impl Instances for AwsCloud {
    #[tracing::instrument(skip(self, request), fields(region = %region, image = %request.image))]
    async fn run_instance(
        &self,
        region: &Region,
        request: &RunInstanceRequest,
    ) -> Result<InstanceId, CloudError> {
        let mut call = self
            .clients
            .ec2(region)
            .run_instances()
            .image_id(request.image.as_str())
            .instance_type(ec2::InstanceType::from(request.instance_type.as_str()))
            .min_count(1)
            .max_count(1)
            .set_client_token(request.client_token.clone());
        if let Some(script) = &request.user_data {
            call = call.user_data(base64::engine::general_purpose::STANDARD.encode(script));
        }
        if request.require_imdsv2 {
            call = call.metadata_options(imdsv2_required());
        }
        if let Some(subnet) = &request.subnet {
            call = call.subnet_id(subnet.as_str());
        }
        for group in &request.security_groups {
            call = call.security_group_ids(group.as_str());
        }
        if let Some(profile) = &request.instance_profile {
            call = call.iam_instance_profile(instance_profile(profile));
        }
        if !request.tags.is_empty() {
            call = call.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(mapping::tags_to_ec2(&request.tags)))
                    .build(),
            );
        }
        // Without a client token a retried RunInstances could start a second instance.
        let sent = if request.client_token.is_some() {
            call.send().await
        } else {
            call.customize().config_override(no_retries()).send().await
        };
        let out = sent.map_err(|e| error::from_sdk("RunInstances", Some(region), e))?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .unwrap_or_default();
        InstanceId::new(id).map_err(|e| {
            CloudError::new(
                CloudErrorKind::Service,
                "RunInstances",
                format!("the service answered with an unusable instance id: {e}"),
            )
            .in_region(region)
        })
    }

    #[tracing::instrument(skip(self, wanted), fields(region = %region))]
    async fn describe_instances(
        &self,
        region: &Region,
        wanted: &InstanceFilter,
    ) -> Result<Vec<Instance>, CloudError> {
        let client = self.clients.ec2(region);
        let mut common = Vec::new();
        if !wanted.names.is_empty() {
            common.push(filter("tag:Name", wanted.names.iter().cloned()));
        }
        if !wanted.states.is_empty() {
            let states = wanted.states.iter().map(|s| s.as_str().to_owned());
            common.push(filter("instance-state-name", states));
        }
        common.extend(tag_filters(&wanted.tags));
        // Ids go in the `instance-id` filter rather than `InstanceIds`, so an id that does
        // not exist is absent instead of failing the call (InvalidInstanceID.NotFound); a
        // filter takes 200 values, so more ids take more calls, sent together.
        let mut ids: Vec<String> = wanted.ids.iter().map(|i| i.as_str().to_owned()).collect();
        ids.sort();
        ids.dedup();
        let id_batches: Vec<Option<&[String]>> = if ids.is_empty() {
            vec![None]
        } else {
            ids.chunks(FILTER_VALUES).map(Some).collect()
        };
        let calls = id_batches.into_iter().map(|batch| {
            let mut filters = common.clone();
            if let Some(batch) = batch {
                filters.push(filter("instance-id", batch.iter().cloned()));
            }
            client
                .describe_instances()
                .set_filters(Some(filters))
                .max_results(INSTANCES_PAGE)
                .into_paginator()
                .items()
                .send()
                .try_collect()
        });
        let answers = futures::future::try_join_all(calls)
            .await
            .map_err(|e| error::from_sdk("DescribeInstances", Some(region), e))?;
        let mut out: Vec<Instance> = answers
            .iter()
            .flatten()
            .flat_map(|reservation| reservation.instances())
            .filter_map(|raw| match instance_from_ec2(region, raw) {
                Ok(instance) => Some(instance),
                Err(problem) => {
                    tracing::warn!(region = %region, %problem, "skipping an instance EC2 described");
                    None
                }
            })
            // A server that ignores a filter cannot widen the answer beyond what was asked.
            .filter(|i| wanted.matches(i))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }
}

/// Converts one EC2 instance, or says which field amiref cannot represent.
fn instance_from_ec2(region: &Region, raw: &ec2::Instance) -> Result<Instance, String> {
    let raw_id = raw.instance_id().unwrap_or_default();
    let id = InstanceId::new(raw_id).map_err(|e| format!("InstanceId: {e}"))?;
    let field = |name: &str, problem: String| format!("instance {raw_id}: {name} {problem}");
    let state_name = raw
        .state()
        .and_then(|s| s.name())
        .map(ec2::InstanceStateName::as_str)
        .unwrap_or_default();
    let state: InstanceState = state_name
        .parse()
        .map_err(|e: amiref_core::ParseError| field("State.Name", e.to_string()))?;
    let image = AmiId::new(raw.image_id().unwrap_or_default())
        .map_err(|e| field("ImageId", e.to_string()))?;
    let instance_type = InstanceType::new(
        raw.instance_type()
            .map(ec2::InstanceType::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| field("InstanceType", e.to_string()))?;
    let launch_time = raw
        .launch_time()
        .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .ok_or_else(|| field("LaunchTime", "is missing".to_owned()))?;
    let mut instance = Instance::new(id, region.clone(), state, image, instance_type, launch_time);
    instance.architecture = raw.architecture().and_then(|a| a.as_str().parse().ok());
    instance.tags = mapping::tags_from_ec2(raw.tags());
    Ok(instance)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

    use super::*;

    fn described() -> ec2::builders::InstanceBuilder {
        ec2::Instance::builder()
            .instance_id("i-0123456789abcdef0")
            .image_id("ami-0123456789abcdef0")
            .instance_type(ec2::InstanceType::M6iLarge)
            .architecture(ec2::ArchitectureValues::X8664)
            .launch_time(aws_smithy_types::DateTime::from_secs(1_793_523_600))
            .state(
                ec2::InstanceState::builder()
                    .name(ec2::InstanceStateName::ShuttingDown)
                    .build(),
            )
            .tags(ec2::Tag::builder().key("Name").value("my-research").build())
    }

    #[test]
    fn instances_keep_their_facts() {
        let region: Region = "us-east-1".parse().unwrap();
        let got = instance_from_ec2(&region, &described().build()).unwrap();
        assert_eq!(got.id.as_str(), "i-0123456789abcdef0");
        assert_eq!(got.region, region);
        assert_eq!(got.state, InstanceState::ShuttingDown);
        assert_eq!(got.image.as_str(), "ami-0123456789abcdef0");
        assert_eq!(got.instance_type.as_str(), "m6i.large");
        assert_eq!(got.architecture, Some(Architecture::X86_64));
        assert_eq!(got.launch_time.timestamp(), 1_793_523_600);
        assert_eq!(got.name(), Some("my-research"));
    }

    #[test]
    fn instance_profiles_are_named_or_given_by_arn() {
        let by_name = instance_profile("amiref-builder");
        assert_eq!(by_name.name(), Some("amiref-builder"));
        assert_eq!(by_name.arn(), None);
        let arn = "arn:aws:iam::123456789012:instance-profile/amiref-builder";
        let by_arn = instance_profile(arn);
        assert_eq!(by_arn.arn(), Some(arn));
        assert_eq!(by_arn.name(), None);
    }

    #[test]
    fn an_instance_amiref_cannot_represent_says_which_field() {
        let region: Region = "us-east-1".parse().unwrap();
        let no_time = ec2::Instance::builder()
            .instance_id("i-0123456789abcdef0")
            .image_id("ami-0123456789abcdef0")
            .instance_type(ec2::InstanceType::M6iLarge)
            .state(
                ec2::InstanceState::builder()
                    .name(ec2::InstanceStateName::Running)
                    .build(),
            )
            .build();
        let err = instance_from_ec2(&region, &no_time).unwrap_err();
        assert!(err.contains("LaunchTime"), "{err}");
        let bad_image = described().image_id("not-an-ami").build();
        let err = instance_from_ec2(&region, &bad_image).unwrap_err();
        assert!(err.contains("ImageId"), "{err}");
    }
}
