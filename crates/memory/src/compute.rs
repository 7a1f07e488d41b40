//! `Identity`, `InstanceTypes` and `Instances`: who is calling, what instance types run, and
//! launching.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    Architecture, CallerIdentity, CloudError, CloudErrorKind, Identity, InstanceFilter, InstanceId,
    InstanceState, InstanceType, InstanceTypes, Instances, Region, RunInstanceRequest,
};
use async_trait::async_trait;

use crate::cloud::{MemoryCloud, ec2_error};
use crate::knobs::op;
use crate::state::{Instance, LaunchSettings};

#[async_trait]
impl Identity for MemoryCloud {
    async fn caller(&self) -> Result<CallerIdentity, CloudError> {
        self.begin(op::GET_CALLER_IDENTITY, None).await?;
        Ok(self.identity())
    }
}

#[async_trait]
impl InstanceTypes for MemoryCloud {
    async fn architectures(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeMap<InstanceType, Vec<Architecture>>, CloudError> {
        self.begin(op::DESCRIBE_INSTANCE_TYPES, Some(region))
            .await?;
        let world = self.read();
        Ok(types
            .iter()
            .filter_map(|t| world.offered(region, t).map(|a| (t.clone(), a.clone())))
            .collect())
    }

    async fn offered_instance_types(
        &self,
        region: &Region,
        types: &[InstanceType],
    ) -> Result<BTreeSet<InstanceType>, CloudError> {
        self.begin(op::DESCRIBE_INSTANCE_TYPE_OFFERINGS, Some(region))
            .await?;
        let world = self.read();
        Ok(types
            .iter()
            .filter(|t| world.offered(region, t).is_some())
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Instances for MemoryCloud {
    async fn run_instance(
        &self,
        region: &Region,
        request: &RunInstanceRequest,
    ) -> Result<InstanceId, CloudError> {
        let now = self.begin(op::RUN_INSTANCES, Some(region)).await?;
        // Taken before the world's lock (the knobs are never locked inside it), and given
        // back unless a new instance took it.
        let fails = self.knobs().take_failing_launch();
        let launched = self.launch(region, request, now, fails);
        if fails && !matches!(launched, Ok((_, true))) {
            self.knobs().failing_launches += 1;
        }
        launched.map(|(id, _)| id)
    }

    async fn describe_instances(
        &self,
        region: &Region,
        filter: &InstanceFilter,
    ) -> Result<Vec<amiref_core::Instance>, CloudError> {
        self.begin(op::DESCRIBE_INSTANCES, Some(region)).await?;
        let world = self.read();
        let Some(state) = world.regions.get(region) else {
            return Ok(Vec::new());
        };
        // BTreeMap order: sorted by id, as the port promises.
        Ok(state
            .instances
            .iter()
            .filter(|(_, i)| i.owner == self.caller)
            .map(|(id, i)| i.described(id, region))
            .filter(|i| filter.matches(i))
            .collect())
    }
}

impl MemoryCloud {
    /// RunInstances once its call is admitted: the new instance (and `true`), or the one a
    /// repeated client token launched before (and `false`).
    fn launch(
        &self,
        region: &Region,
        request: &RunInstanceRequest,
        now: tokio::time::Instant,
        fails: bool,
    ) -> Result<(InstanceId, bool), CloudError> {
        const OP: &str = op::RUN_INSTANCES;
        let who = self.identity();
        let mut world = self.write();
        let token_key = request
            .client_token
            .as_ref()
            .map(|t| (who.account.clone(), t.clone()));
        if let Some(key) = &token_key
            && let Some(id) = world
                .regions
                .get(region)
                .and_then(|r| r.run_tokens.get(key))
        {
            return Ok((id.clone(), false));
        }
        let Some(archs) = world.offered(region, &request.instance_type).cloned() else {
            return Err(CloudError::new(
                CloudErrorKind::InvalidRequest,
                OP,
                format!(
                    "The requested configuration is currently not supported: instance type {} is not offered in {region}",
                    request.instance_type
                ),
            )
            .in_region(region)
            .with_code("Unsupported"));
        };
        let image = world
            .regions
            .get(region)
            .and_then(|r| r.images.get(&request.image))
            .filter(|s| s.visible_to(&who))
            .map(|s| s.image.clone())
            .ok_or_else(|| ec2_error::image_not_found(OP, region, &request.image))?;
        let now_utc = world.now_utc(now);
        if world
            .regions
            .get(region)
            .is_some_and(|r| r.blocks(&image, &who.account, now_utc))
        {
            return Err(ec2_error::not_allowed_image(OP, region, &image.id));
        }
        if !image.is_available() {
            return Err(ec2_error::invalid(
                OP,
                region,
                "InvalidAMIID.Unavailable",
                format!("AMI '{}' is {}, and cannot be run", image.id, image.state),
            ));
        }
        if !archs.contains(&image.architecture) {
            let type_arch = archs.first().copied().unwrap_or(Architecture::X86_64);
            return Err(ec2_error::invalid(
                OP,
                region,
                "InvalidParameterValue",
                format!(
                    "The architecture '{type_arch}' of the specified instance type does not match the architecture '{}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.",
                    image.architecture
                ),
            ));
        }
        crate::network::check_launch_network(
            world.regions.get(region),
            region,
            &who.account,
            request.subnet.as_ref(),
            &request.security_groups,
        )?;
        crate::tagging::check_tags(OP, region, &request.tags)?;
        let id = world.fresh_instance_id();
        let launch = LaunchSettings {
            user_data: request.user_data.clone(),
            // An image with ImdsSupport v2.0 launches instances that require IMDSv2.
            require_imdsv2: request.require_imdsv2
                || image.imds_support == Some(amiref_core::ImdsSupport::V2),
            instance_profile: request.instance_profile.clone(),
            subnet: request
                .subnet
                .clone()
                .unwrap_or_else(|| Self::default_subnet(region)),
            security_groups: request.security_groups.clone(),
        };
        let mut instance = Instance {
            owner: who.account.clone(),
            image: image.id.clone(),
            instance_type: request.instance_type.clone(),
            architecture: image.architecture,
            root_volume_gib: image.root_volume_size_gib().unwrap_or(8),
            state: InstanceState::Pending,
            launch_time: now_utc,
            tags: request.tags.clone(),
            usage_operation: image.usage_operation.clone(),
            platform_details: image.platform_details.clone(),
            launch,
            next: None,
            running_since: None,
            halted_at: None,
            forget_at: None,
        };
        crate::lifecycle::start_booting(&mut instance, now_utc, &world.timings, fails);
        let state = world.regions.entry(region.clone()).or_default();
        state.instances.insert(id.clone(), instance);
        if let Some(key) = token_key {
            state.run_tokens.insert(key, id.clone());
        }
        // EC2's LastLaunchedTime: the image remembers its latest launch.
        if let Some(stored) = state.images.get_mut(&image.id) {
            stored.image.last_launched = Some(now_utc);
        }
        world.schedule_instance(region, &id);
        tracing::debug!(%region, instance = %id, image = %image.id, "instance launched");
        Ok((id, true))
    }
}
