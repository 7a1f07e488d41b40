//! [`Inventory`]: what an account holds in a region, counted, so a test can check that a
//! failed or interrupted operation left nothing behind.

use std::collections::{BTreeMap, HashMap};

use amiref_core::{ImageState, InstanceState, Region};
use tokio::time::Instant;

use crate::cloud::MemoryCloud;

/// What the caller's account holds in one region, counted ([`MemoryCloud::inventory`]).
///
/// Terminated instances stay described for an hour, as on EC2, so compare
/// [`Inventory::live`] views to ask "did anything stay behind?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inventory {
    /// Instances, by state.
    pub instances: BTreeMap<InstanceState, usize>,
    /// Images the account owns, by state.
    pub images: HashMap<ImageState, usize>,
    /// Snapshots the account owns.
    pub snapshots: usize,
    /// Security groups the account created (the default group is not counted).
    pub security_groups: usize,
    /// SSM parameters the account owns.
    pub parameters: usize,
}

impl Inventory {
    /// The same inventory without terminated instances: what still exists.
    #[must_use]
    pub fn live(&self) -> Self {
        let mut live = self.clone();
        live.instances.remove(&InstanceState::Terminated);
        live
    }

    /// Instances that are not terminated (shutting-down ones still count: they are going,
    /// not gone).
    pub fn live_instances(&self) -> usize {
        self.live().instances.values().sum()
    }

    /// Images of every state.
    pub fn image_count(&self) -> usize {
        self.images.values().sum()
    }
}

impl MemoryCloud {
    /// What this handle's account holds in `region` now: its instances by state, images by
    /// state, snapshots, security groups and parameters. Not a call: nothing is counted.
    pub fn inventory(&self, region: &Region) -> Inventory {
        self.settle(Instant::now());
        let world = self.read();
        let mut inventory = Inventory::default();
        let Some(state) = world.regions.get(region) else {
            return inventory;
        };
        let mine = |owner: &amiref_core::AccountId| *owner == self.caller;
        for instance in state.instances.values().filter(|i| mine(&i.owner)) {
            *inventory.instances.entry(instance.state).or_default() += 1;
        }
        for stored in state.images.values().filter(|s| mine(&s.image.owner)) {
            *inventory.images.entry(stored.image.state).or_default() += 1;
        }
        inventory.snapshots = state.snapshots.values().filter(|s| mine(&s.owner)).count();
        inventory.security_groups = state
            .security_groups
            .values()
            .filter(|g| mine(&g.owner))
            .count();
        inventory.parameters = state
            .parameters
            .values()
            .filter(|p| p.owner.as_ref().is_some_and(mine))
            .count();
        inventory
    }
}

impl MemoryCloud {
    /// What the instance was launched with (user data, IMDSv2, instance profile, subnet,
    /// security groups), whoever owns it: for tests that check what a launch asked for.
    pub fn launch_settings(
        &self,
        region: &Region,
        instance: &amiref_core::InstanceId,
    ) -> Option<crate::LaunchSettings> {
        self.read()
            .regions
            .get(region)
            .and_then(|r| r.instances.get(instance))
            .map(|i| i.launch.clone())
    }
}
