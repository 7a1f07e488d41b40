//! The network a launch lands in and `SecurityGroups`: each region's default VPC, its
//! default subnet and default security group, the subnets a world declares, and the
//! security groups created in them, with EC2's refusals.

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, CloudError, CloudErrorKind, InstanceState, Region, SecurityGroup, SecurityGroupId,
    SecurityGroupRequest, SecurityGroups, SubnetId, VpcId, tags_match, token_from,
};
use async_trait::async_trait;

use crate::cloud::{MemoryCloud, ec2_error};
use crate::knobs::op;
use crate::state::{RegionState, WorldData};

/// The name EC2 gives (and reserves for) each VPC's default security group.
pub(crate) const DEFAULT_GROUP_NAME: &str = "default";

/// EC2's limit on a group's name and description.
const MAX_GROUP_TEXT: usize = 255;

/// A security group as the world stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredGroup {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) vpc: VpcId,
    pub(crate) owner: AccountId,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A deterministic EC2 id with `prefix` for `what` in `region`: the same in every world and
/// run, so the default network needs no saving.
fn derived_id(prefix: &str, what: &str, region: &Region) -> String {
    format!(
        "{prefix}-{}",
        token_from(&["amiref-memory", what, region.as_str()], 17)
    )
}

impl MemoryCloud {
    /// The region's default VPC (every region has one, as a new account's regions do).
    pub fn default_vpc(region: &Region) -> VpcId {
        VpcId::new(derived_id("vpc", "default vpc", region)).expect(DERIVED_ID)
    }

    /// The default subnet of the region's default VPC: where a launch without a subnet goes.
    pub fn default_subnet(region: &Region) -> SubnetId {
        SubnetId::new(derived_id("subnet", "default subnet", region)).expect(DERIVED_ID)
    }

    /// The default security group of the region's default VPC (named `default`): what a
    /// launch without security groups gets. It cannot be deleted.
    pub fn default_security_group(region: &Region) -> SecurityGroupId {
        SecurityGroupId::new(derived_id("sg", "default security group", region)).expect(DERIVED_ID)
    }
}

/// Why a derived id always parses: `token_from` answers 17 lowercase hex digits, an EC2
/// id's long form.
const DERIVED_ID: &str = "a derived id is a prefix and 17 lowercase hex digits";

impl RegionState {
    /// The VPC of a subnet, the default one included.
    pub(crate) fn subnet_vpc(&self, region: &Region, subnet: &SubnetId) -> Option<VpcId> {
        if *subnet == MemoryCloud::default_subnet(region) {
            return Some(MemoryCloud::default_vpc(region));
        }
        self.subnets.get(subnet).cloned()
    }

    /// Whether the region has this VPC (the default one, or one a declared subnet is in).
    pub(crate) fn has_vpc(&self, region: &Region, vpc: &VpcId) -> bool {
        *vpc == MemoryCloud::default_vpc(region) || self.subnets.values().any(|v| v == vpc)
    }

    /// The VPC of `owner`'s group `id`, the default group included.
    pub(crate) fn group_vpc(
        &self,
        region: &Region,
        owner: &AccountId,
        id: &SecurityGroupId,
    ) -> Option<VpcId> {
        if *id == MemoryCloud::default_security_group(region) {
            return Some(MemoryCloud::default_vpc(region));
        }
        self.security_groups
            .get(id)
            .filter(|g| g.owner == *owner)
            .map(|g| g.vpc.clone())
    }

    /// Whether an instance that is not terminated uses the group.
    fn group_in_use(&self, region: &Region, id: &SecurityGroupId) -> bool {
        let default = MemoryCloud::default_security_group(region);
        self.instances.values().any(|i| {
            i.state != InstanceState::Terminated
                && (i.launch.security_groups.contains(id)
                    || (i.launch.security_groups.is_empty() && *id == default))
        })
    }
}

/// Checks a launch's subnet and groups as RunInstances does: each must exist, and the
/// groups must be in the subnet's VPC.
pub(crate) fn check_launch_network(
    state: Option<&RegionState>,
    region: &Region,
    owner: &AccountId,
    subnet: Option<&SubnetId>,
    groups: &[SecurityGroupId],
) -> Result<(), CloudError> {
    const OP: &str = op::RUN_INSTANCES;
    let empty = RegionState::default();
    let state = state.unwrap_or(&empty);
    let subnet = subnet
        .cloned()
        .unwrap_or_else(|| MemoryCloud::default_subnet(region));
    let vpc = state.subnet_vpc(region, &subnet).ok_or_else(|| {
        CloudError::not_found(OP, format!("The subnet ID '{subnet}' does not exist"))
            .in_region(region)
            .with_code("InvalidSubnetID.NotFound")
    })?;
    for group in groups {
        let group_vpc = state
            .group_vpc(region, owner, group)
            .ok_or_else(|| group_not_found(OP, region, group))?;
        if group_vpc != vpc {
            return Err(ec2_error::invalid(
                OP,
                region,
                "InvalidParameter",
                format!("Security group {group} and subnet {subnet} belong to different networks."),
            ));
        }
    }
    Ok(())
}

fn group_not_found(op: &'static str, region: &Region, id: &SecurityGroupId) -> CloudError {
    CloudError::not_found(op, format!("The security group '{id}' does not exist"))
        .in_region(region)
        .with_code("InvalidGroup.NotFound")
}

/// EC2's checks of a new group's name and description.
fn check_group_request(region: &Region, request: &SecurityGroupRequest) -> Result<(), CloudError> {
    const OP: &str = op::CREATE_SECURITY_GROUP;
    let invalid =
        |message: String| ec2_error::invalid(OP, region, "InvalidParameterValue", message);
    if request.name.is_empty() || request.description.is_empty() {
        return Err(ec2_error::invalid(
            OP,
            region,
            "MissingParameter",
            "A security group needs a GroupName and a GroupDescription",
        ));
    }
    if request.name.len() > MAX_GROUP_TEXT || request.description.len() > MAX_GROUP_TEXT {
        return Err(invalid(format!(
            "A security group's name and description are at most {MAX_GROUP_TEXT} characters"
        )));
    }
    if request.name.starts_with("sg-") {
        return Err(invalid(format!(
            "Invalid value '{}' for GroupName: it cannot start with sg-",
            request.name
        )));
    }
    if request.name.eq_ignore_ascii_case(DEFAULT_GROUP_NAME) {
        return Err(invalid(
            "Cannot use reserved security group name: default".to_owned(),
        ));
    }
    Ok(())
}

fn described(id: &SecurityGroupId, group: &StoredGroup) -> SecurityGroup {
    let mut out = SecurityGroup::new(id.clone(), group.name.clone());
    out.vpc = Some(group.vpc.clone());
    out.tags = group.tags.clone();
    out
}

/// The caller's groups of a region that carry `tags`, the default group included, by id.
fn groups_matching(
    world: &WorldData,
    region: &Region,
    caller: &AccountId,
    tags: &BTreeMap<String, Option<String>>,
) -> Vec<SecurityGroup> {
    let default = StoredGroup {
        name: DEFAULT_GROUP_NAME.to_owned(),
        description: "default VPC security group".to_owned(),
        vpc: MemoryCloud::default_vpc(region),
        owner: caller.clone(),
        tags: BTreeMap::new(),
    };
    let default_id = MemoryCloud::default_security_group(region);
    let stored = world
        .regions
        .get(region)
        .into_iter()
        .flat_map(|r| r.security_groups.iter())
        .filter(|(_, g)| g.owner == *caller);
    let mut out: Vec<SecurityGroup> = std::iter::once((&default_id, &default))
        .chain(stored)
        .filter(|(_, g)| tags_match(tags, &g.tags))
        .map(|(id, g)| described(id, g))
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[async_trait]
impl SecurityGroups for MemoryCloud {
    async fn create_security_group(
        &self,
        region: &Region,
        request: &SecurityGroupRequest,
    ) -> Result<SecurityGroupId, CloudError> {
        const OP: &str = op::CREATE_SECURITY_GROUP;
        self.begin(OP, Some(region)).await?;
        check_group_request(region, request)?;
        crate::tagging::check_tags(OP, region, &request.tags)?;
        let mut world = self.write();
        let vpc = request
            .vpc
            .clone()
            .unwrap_or_else(|| Self::default_vpc(region));
        let state = world.regions.entry(region.clone()).or_default();
        if !state.has_vpc(region, &vpc) {
            return Err(
                CloudError::not_found(OP, format!("The vpc ID '{vpc}' does not exist"))
                    .in_region(region)
                    .with_code("InvalidVpcID.NotFound"),
            );
        }
        let taken = state
            .security_groups
            .values()
            .any(|g| g.owner == self.caller && g.vpc == vpc && g.name == request.name);
        if taken {
            return Err(ec2_error::invalid(
                OP,
                region,
                "InvalidGroup.Duplicate",
                format!(
                    "The security group '{}' already exists for VPC '{vpc}'",
                    request.name
                ),
            ));
        }
        let id = world.fresh_group_id();
        let group = StoredGroup {
            name: request.name.clone(),
            description: request.description.clone(),
            vpc,
            owner: self.caller.clone(),
            tags: request.tags.clone(),
        };
        world
            .regions
            .entry(region.clone())
            .or_default()
            .security_groups
            .insert(id.clone(), group);
        tracing::debug!(%region, group = %id, name = %request.name, "security group created");
        Ok(id)
    }

    async fn describe_security_groups(
        &self,
        region: &Region,
        tags: &BTreeMap<String, Option<String>>,
    ) -> Result<Vec<SecurityGroup>, CloudError> {
        self.begin(op::DESCRIBE_SECURITY_GROUPS, Some(region))
            .await?;
        let found = groups_matching(&self.read(), region, &self.caller, tags);
        // Each further page of EC2's answer is one more counted, throttled call.
        for _ in 1..found.len().div_ceil(self.shared.page_size) {
            self.begin(op::DESCRIBE_SECURITY_GROUPS, Some(region))
                .await?;
        }
        Ok(found)
    }

    async fn delete_security_group(
        &self,
        region: &Region,
        id: &SecurityGroupId,
    ) -> Result<(), CloudError> {
        const OP: &str = op::DELETE_SECURITY_GROUP;
        self.begin(OP, Some(region)).await?;
        if *id == Self::default_security_group(region) {
            return Err(ec2_error::invalid(
                OP,
                region,
                "CannotDelete",
                format!(
                    "the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"
                ),
            ));
        }
        let mut world = self.write();
        let state = world.regions.entry(region.clone()).or_default();
        if state.security_groups.get(id).map(|g| &g.owner) != Some(&self.caller) {
            return Err(group_not_found(OP, region, id));
        }
        if state.group_in_use(region, id) {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                OP,
                format!("resource {id} has a dependent object"),
            )
            .in_region(region)
            .with_code("DependencyViolation"));
        }
        state.security_groups.remove(id);
        tracing::debug!(%region, group = %id, "security group deleted");
        Ok(())
    }
}
