//! [`SecurityGroups`] on CreateSecurityGroup, DescribeSecurityGroups and
//! DeleteSecurityGroup.

use std::collections::BTreeMap;

use amiref_core::{
    CloudError, CloudErrorKind, Region, SecurityGroup, SecurityGroupId, SecurityGroupRequest,
    SecurityGroups, VpcId,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, ResourceType, TagSpecification};

use crate::catalog::tag_filters;
use crate::{AwsCloud, error, mapping};

/// The largest page DescribeSecurityGroups returns.
const GROUPS_PAGE: i32 = 1000;

/// One EC2 security group as amiref's, or what amiref cannot represent in it.
fn group_from_ec2(raw: &ec2::SecurityGroup) -> Result<SecurityGroup, String> {
    let raw_id = raw.group_id().unwrap_or_default();
    let id = SecurityGroupId::new(raw_id).map_err(|e| format!("GroupId: {e}"))?;
    let mut group = SecurityGroup::new(id, raw.group_name().unwrap_or_default());
    group.vpc = raw
        .vpc_id()
        .map(VpcId::new)
        .transpose()
        .map_err(|e| format!("group {raw_id}: VpcId {e}"))?;
    group.tags = mapping::tags_from_ec2(raw.tags());
    Ok(group)
}

#[async_trait]
impl SecurityGroups for AwsCloud {
    #[tracing::instrument(skip(self, request), fields(region = %region, group = %request.name))]
    async fn create_security_group(
        &self,
        region: &Region,
        request: &SecurityGroupRequest,
    ) -> Result<SecurityGroupId, CloudError> {
        let mut call = self
            .clients
            .ec2(region)
            .create_security_group()
            .group_name(&request.name)
            .description(&request.description)
            .set_vpc_id(request.vpc.as_ref().map(|v| v.as_str().to_owned()));
        if !request.tags.is_empty() {
            call = call.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .set_tags(Some(mapping::tags_to_ec2(&request.tags)))
                    .build(),
            );
        }
        // Retried like any call: a repeat cannot make a second group (the name is unique in
        // the VPC); after a lost answer it fails InvalidGroup.Duplicate, and the group made
        // first is found by its tags.
        let out = call
            .send()
            .await
            .map_err(|e| error::from_sdk("CreateSecurityGroup", Some(region), e))?;
        SecurityGroupId::new(out.group_id().unwrap_or_default()).map_err(|e| {
            CloudError::new(
                CloudErrorKind::Service,
                "CreateSecurityGroup",
                format!("the service answered with an unusable group id: {e}"),
            )
            .in_region(region)
        })
    }

    #[tracing::instrument(skip(self, tags), fields(region = %region))]
    async fn describe_security_groups(
        &self,
        region: &Region,
        tags: &BTreeMap<String, Option<String>>,
    ) -> Result<Vec<SecurityGroup>, CloudError> {
        let raw = self
            .clients
            .ec2(region)
            .describe_security_groups()
            .set_filters(Some(tag_filters(tags)).filter(|f| !f.is_empty()))
            .max_results(GROUPS_PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk("DescribeSecurityGroups", Some(region), e))?;
        let mut groups: Vec<SecurityGroup> = raw
            .iter()
            .filter_map(|g| match group_from_ec2(g) {
                Ok(group) => Some(group),
                Err(problem) => {
                    tracing::warn!(region = %region, %problem, "skipping a group EC2 described");
                    None
                }
            })
            // A server that ignores a filter cannot widen the answer beyond what was asked.
            .filter(|g| amiref_core::tags_match(tags, &g.tags))
            .collect();
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        groups.dedup_by(|a, b| a.id == b.id);
        Ok(groups)
    }

    #[tracing::instrument(skip(self), fields(region = %region, group = %id))]
    async fn delete_security_group(
        &self,
        region: &Region,
        id: &SecurityGroupId,
    ) -> Result<(), CloudError> {
        self.clients
            .ec2(region)
            .delete_security_group()
            .group_id(id.as_str())
            .send()
            .await
            .map_err(|e| error::from_sdk("DeleteSecurityGroup", Some(region), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_their_facts_and_say_which_field_is_wrong() {
        let raw = ec2::SecurityGroup::builder()
            .group_id("sg-0123456789abcdef0")
            .group_name("amiref-build-b1")
            .vpc_id("vpc-0123456789abcdef0")
            .tags(
                ec2::Tag::builder()
                    .key("amiref:build-id")
                    .value("b1")
                    .build(),
            )
            .build();
        let group = group_from_ec2(&raw).unwrap();
        assert_eq!(group.id.as_str(), "sg-0123456789abcdef0");
        assert_eq!(group.name, "amiref-build-b1");
        assert_eq!(
            group.vpc.as_ref().map(VpcId::as_str),
            Some("vpc-0123456789abcdef0")
        );
        assert_eq!(
            group.tags.get("amiref:build-id").map(String::as_str),
            Some("b1")
        );
        let bad_vpc = ec2::SecurityGroup::builder()
            .group_id("sg-0123456789abcdef0")
            .vpc_id("subnet-1")
            .build();
        assert!(group_from_ec2(&bad_vpc).unwrap_err().contains("VpcId"));
        let bad_id = ec2::SecurityGroup::builder().group_id("ami-1").build();
        assert!(group_from_ec2(&bad_id).unwrap_err().contains("GroupId"));
    }
}
