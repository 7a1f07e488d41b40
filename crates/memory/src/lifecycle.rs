//! Instances over time and `InstanceControl`: `pending` → `running` after a boot,
//! `stopping` → `stopped`, `shutting-down` → `terminated`, terminated instances described
//! for an hour and then forgotten, as EC2 does; stopping, terminating and reading the
//! serial console, with EC2's refusals.

use std::cmp::Reverse;

use amiref_core::{CloudError, ConsoleOutput, InstanceControl, InstanceId, InstanceState, Region};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::cloud::{MemoryCloud, ec2_error};
use crate::knobs::op;
use crate::state::{Instance, Timings, WorldData, later_by};

/// Moves the instance into `state` at `at`, and schedules what follows from it.
fn enter(instance: &mut Instance, state: InstanceState, at: DateTime<Utc>, timings: &Timings) {
    instance.state = state;
    instance.next = None;
    match state {
        InstanceState::Running => instance.running_since = Some(at),
        InstanceState::Stopping => {
            instance.next = Some((later_by(at, timings.stop), InstanceState::Stopped));
        }
        InstanceState::ShuttingDown => {
            instance.next = Some((later_by(at, timings.terminate), InstanceState::Terminated));
        }
        InstanceState::Terminated => {
            instance.forget_at = Some(later_by(at, timings.terminated_visible));
        }
        _ => {}
    }
}

/// When the instance next changes (a state, or being forgotten), if it will.
fn next_event(instance: &Instance) -> Option<DateTime<Utc>> {
    instance.next.map(|(at, _)| at).or(instance.forget_at)
}

impl WorldData {
    /// Files the instance's next change in the event heap.
    pub(crate) fn schedule_instance(&mut self, region: &Region, id: &InstanceId) {
        let at = self
            .regions
            .get(region)
            .and_then(|r| r.instances.get(id))
            .and_then(next_event);
        if let Some(at) = at {
            self.instance_events
                .push(Reverse((at, region.clone(), id.clone())));
        }
    }
}

/// Applies every instance change due by `now`, each at the time it was due, so a chain
/// (shutting-down, then terminated, then forgotten) lands where it would have.
pub(crate) fn settle_instances(world: &mut WorldData, now: DateTime<Utc>) {
    while let Some(Reverse((at, _, _))) = world.instance_events.peek() {
        if *at > now {
            break;
        }
        let Some(Reverse((_, region, id))) = world.instance_events.pop() else {
            break;
        };
        let timings = world.timings;
        let Some(state) = world.regions.get_mut(&region) else {
            continue;
        };
        let Some(instance) = state.instances.get_mut(&id) else {
            continue;
        };
        while let Some((due, next)) = instance.next.filter(|(due, _)| *due <= now) {
            enter(instance, next, due, &timings);
            tracing::debug!(%region, instance = %id, state = %next, "instance state changed");
        }
        if instance.forget_at.is_some_and(|f| f <= now) {
            state.instances.remove(&id);
            tracing::debug!(%region, instance = %id, "terminated instance forgotten");
            continue;
        }
        world.schedule_instance(&region, &id);
    }
}

/// An instance that boots: `pending` now, `running` after the boot time (or, when the
/// launch is to fail, `shutting-down` then `terminated`, as an instance EC2 could not start).
pub(crate) fn start_booting(
    instance: &mut Instance,
    now: DateTime<Utc>,
    timings: &Timings,
    fails: bool,
) {
    instance.state = InstanceState::Pending;
    let after_boot = if fails {
        InstanceState::ShuttingDown
    } else {
        InstanceState::Running
    };
    instance.next = Some((later_by(now, timings.boot), after_boot));
}

fn instance_not_found(op: &'static str, region: &Region, id: &InstanceId) -> CloudError {
    CloudError::not_found(op, format!("The instance ID '{id}' does not exist"))
        .in_region(region)
        .with_code("InvalidInstanceID.NotFound")
}

fn missing_ids(op: &'static str, region: &Region) -> CloudError {
    ec2_error::invalid(
        op,
        region,
        "MissingParameter",
        "The request must contain the parameter InstanceIds",
    )
}

impl MemoryCloud {
    /// Changes the caller's instances `ids` with `change`, all or none: an unknown id, or
    /// one `change` refuses, fails the request before any instance changes, as EC2 does.
    async fn change_instances(
        &self,
        operation: &'static str,
        region: &Region,
        ids: &[InstanceId],
        change: impl Fn(&Instance, &InstanceId) -> Result<Option<InstanceState>, CloudError>,
    ) -> Result<(), CloudError> {
        let now = self.begin(operation, Some(region)).await?;
        if ids.is_empty() {
            return Err(missing_ids(operation, region));
        }
        let mut world = self.write();
        let now_utc = world.now_utc(now);
        let mut changes = Vec::new();
        for id in ids {
            let instance = world
                .regions
                .get(region)
                .and_then(|r| r.instances.get(id))
                .filter(|i| i.owner == self.caller)
                .ok_or_else(|| instance_not_found(operation, region, id))?;
            if let Some(state) = change(instance, id)? {
                changes.push((id.clone(), state));
            }
        }
        let timings = world.timings;
        for (id, state) in changes {
            if let Some(instance) = world
                .regions
                .get_mut(region)
                .and_then(|r| r.instances.get_mut(&id))
            {
                instance.halted_at = instance.halted_at.or(Some(now_utc));
                enter(instance, state, now_utc, &timings);
            }
            world.schedule_instance(region, &id);
            tracing::debug!(%region, instance = %id, %state, "instance state changed");
        }
        Ok(())
    }
}

#[async_trait]
impl InstanceControl for MemoryCloud {
    async fn stop_instances(&self, region: &Region, ids: &[InstanceId]) -> Result<(), CloudError> {
        const OP: &str = op::STOP_INSTANCES;
        self.change_instances(OP, region, ids, |instance, id| match instance.state {
            InstanceState::Running => Ok(Some(InstanceState::Stopping)),
            InstanceState::Stopping | InstanceState::Stopped => Ok(None),
            _ => Err(ec2_error::invalid(
                OP,
                region,
                "IncorrectInstanceState",
                format!("This instance '{id}' is not in a state from which it can be stopped."),
            )),
        })
        .await
    }

    async fn terminate_instances(
        &self,
        region: &Region,
        ids: &[InstanceId],
    ) -> Result<(), CloudError> {
        self.change_instances(op::TERMINATE_INSTANCES, region, ids, |instance, _| {
            Ok((!instance.state.is_gone()).then_some(InstanceState::ShuttingDown))
        })
        .await
    }

    async fn console_output(
        &self,
        region: &Region,
        id: &InstanceId,
    ) -> Result<ConsoleOutput, CloudError> {
        const OP: &str = op::GET_CONSOLE_OUTPUT;
        let now = self.begin(OP, Some(region)).await?;
        let world = self.read();
        let instance = world
            .regions
            .get(region)
            .and_then(|r| r.instances.get(id))
            .filter(|i| i.owner == self.caller)
            .ok_or_else(|| instance_not_found(OP, region, id))?;
        let behaviour = |template: &str| world.builds.get(template).copied().unwrap_or_default();
        Ok(crate::console::console_output(
            id,
            instance,
            behaviour,
            world.now_utc(now),
        ))
    }
}
