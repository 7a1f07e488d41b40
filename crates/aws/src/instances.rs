//! [`InstanceTypes`] on DescribeInstanceTypes and DescribeInstanceTypeOfferings, and
//! [`Instances`] on RunInstances.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    Architecture, CloudError, CloudErrorKind, InstanceId, InstanceType, InstanceTypes, Instances,
    Region, RunInstanceRequest,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, LocationType, ResourceType, TagSpecification};
use base64::Engine as _;

use crate::catalog::filter;
use crate::store::no_retries;
use crate::{AwsCloud, error, mapping};

/// The most instance types one DescribeInstanceTypes call takes.
const TYPES_PER_CALL: usize = 100;

/// The largest page DescribeInstanceTypeOfferings returns.
const OFFERINGS_PAGE: i32 = 1000;

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
}
