//! The world, template and builder the build tests share.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use amiref_build::{BuildOptions, BuildSpec};
use amiref_core::{Cloud, Region};
use amiref_lifecycle::{Lifecycle, MemoryAuditSink};
use amiref_memory::{BuildBehaviour, Inventory, MemoryCloud, ScriptBehaviour};
use amiref_resolver::Resolver;
use amiref_template::Template;

/// The template the tests build.
pub const TEMPLATE: &str = "name: web-app
version: 1.2.0
instance_type: t3.micro
provisioning_time: 6m
user_data: |
  #!/bin/bash
  dnf install -y nginx
";

pub const PROVISION: Duration = Duration::from_secs(8 * 60);
pub const TEST: Duration = Duration::from_secs(40);

pub fn region(code: &str) -> Region {
    code.parse().expect("a region")
}

pub fn template() -> Template {
    Template::from_yaml_str(TEMPLATE, "web-app.yml").expect("a valid template")
}

/// The demo world, where `web-app`'s scripts behave as `behaviour` says.
pub fn world(behaviour: BuildBehaviour) -> MemoryCloud {
    MemoryCloud::world_file_builder("../../examples/worlds/demo.yaml")
        .expect("the demo world")
        .map(|b| b.build_behaviour("web-app", behaviour))
        .build_located()
        .expect("the demo world builds")
}

/// Both scripts succeed: provisioning after [`PROVISION`], the test after [`TEST`].
pub fn succeeding() -> BuildBehaviour {
    BuildBehaviour::new(
        ScriptBehaviour::succeeds_after(PROVISION),
        ScriptBehaviour::succeeds_after(TEST),
    )
}

/// A host: its own audit sink, lifecycle and resolver over the shared cloud; no local
/// state beyond that.
pub struct Host {
    pub cloud: MemoryCloud,
    pub audit: MemoryAuditSink,
    pub resolver: Resolver,
}

impl Host {
    pub fn new(cloud: &MemoryCloud) -> Self {
        let clock_cloud = cloud.clone();
        let resolver = Resolver::builder()
            .cloud(Arc::new(cloud.clone()) as Arc<dyn Cloud>)
            .clock(Arc::new(move || clock_cloud.now()))
            .build()
            .expect("a resolver");
        Self {
            cloud: cloud.clone(),
            audit: MemoryAuditSink::default(),
            resolver,
        }
    }

    pub fn lifecycle(&self) -> Lifecycle<'_> {
        let cloud = self.cloud.clone();
        Lifecycle::new(&self.cloud, &self.audit).clock(move || cloud.now())
    }
}

/// A build of the template in `regions`.
pub fn spec(regions: &[&str]) -> BuildSpec {
    BuildSpec::new(template(), regions.iter().map(|r| region(r)).collect()).options(options())
}

pub fn options() -> BuildOptions {
    BuildOptions::default()
}

/// What the account holds in `region` that still exists.
pub fn live(cloud: &MemoryCloud, code: &str) -> Inventory {
    cloud.inventory(&region(code)).live()
}

/// Every call that changes something in the cloud.
pub const MUTATING: [&str; 14] = [
    amiref_memory::op::RUN_INSTANCES,
    amiref_memory::op::STOP_INSTANCES,
    amiref_memory::op::TERMINATE_INSTANCES,
    amiref_memory::op::CREATE_SECURITY_GROUP,
    amiref_memory::op::DELETE_SECURITY_GROUP,
    amiref_memory::op::CREATE_IMAGE,
    amiref_memory::op::COPY_IMAGE,
    amiref_memory::op::CREATE_TAGS,
    amiref_memory::op::DEREGISTER_IMAGE,
    amiref_memory::op::MODIFY_IMAGE_ATTRIBUTE,
    amiref_memory::op::MODIFY_SNAPSHOT_ATTRIBUTE,
    amiref_memory::op::PUT_PARAMETER,
    amiref_memory::op::DELETE_PARAMETER,
    amiref_memory::op::ENABLE_IMAGE_DEPRECATION,
];

/// How many mutating calls the cloud has answered.
pub fn mutations(cloud: &MemoryCloud) -> u64 {
    let counters = cloud.counters();
    MUTATING.iter().map(|op| counters.operation(op)).sum()
}

/// Asserts that `region` holds exactly what it held `before`: no instance still alive,
/// no extra image, snapshot or security group.
pub fn assert_nothing_left(cloud: &MemoryCloud, code: &str, before: &Inventory) {
    let after = live(cloud, code);
    assert_eq!(
        after.live_instances(),
        before.live_instances(),
        "instances: {after:?}"
    );
    assert_eq!(after.images, before.images, "images: {after:?}");
    assert_eq!(after.snapshots, before.snapshots, "snapshots: {after:?}");
    assert_eq!(
        after.security_groups, before.security_groups,
        "groups: {after:?}"
    );
}
