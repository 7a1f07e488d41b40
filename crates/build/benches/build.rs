//! A build to 10 regions on the in-process cloud's simulated clock: how close its wall time
//! comes to the stages' own durations, against a serial baseline in the same run.
//!
//! `CARGO_TARGET_DIR=target/build cargo bench -p amiref-build --bench build`
//!
//! Goal: the build's simulated wall time within 10% of provision + capture + test + the
//! slowest copy (the critical path: the stages are sequential, the copies concurrent).
//! The baseline does the same work one step at a time: the build to the home region alone,
//! then one copy after another.
//!
//! Each run prints the simulated figures (`simulated:` lines) once, then criterion times
//! the process's own work for one whole simulated build (CPU, not simulated time).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // a benchmark binary

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use amiref_build::{BuildSpec, Builder};
use amiref_core::{Cloud, Region};
use amiref_lifecycle::{CopySpec, Lifecycle, MemoryAuditSink};
use amiref_memory::{BuildBehaviour, MemoryCloud, ScriptBehaviour, Timings};
use amiref_resolver::Resolver;
use amiref_template::Template;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::time::Instant;

const TEMPLATE: &str = "name: web-app
version: 1.2.0
instance_type: t3.micro
provisioning_time: 8m
user_data: |
  #!/bin/bash
  dnf install -y nginx
";

/// The demo world's ten regions, home first.
const REGIONS: [&str; 10] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-northeast-1",
];

const PROVISION_RUN: Duration = Duration::from_secs(8 * 60);
const TEST_RUN: Duration = Duration::from_secs(40);

fn world() -> MemoryCloud {
    let behaviour = BuildBehaviour::new(
        ScriptBehaviour::succeeds_after(PROVISION_RUN),
        ScriptBehaviour::succeeds_after(TEST_RUN),
    );
    MemoryCloud::world_file_builder("../../examples/worlds/demo.yaml")
        .unwrap()
        .map(|b| b.build_behaviour("web-app", behaviour))
        .build_located()
        .unwrap()
}

fn regions(codes: &[&str]) -> Vec<Region> {
    codes.iter().map(|r| r.parse().unwrap()).collect()
}

fn resolver(cloud: &MemoryCloud) -> Resolver {
    let clock = cloud.clone();
    Resolver::builder()
        .cloud(Arc::new(cloud.clone()) as Arc<dyn Cloud>)
        .clock(Arc::new(move || clock.now()))
        .build()
        .unwrap()
}

/// One build of `regions` on a fresh world: its simulated wall time, and the world.
async fn build(codes: &[&str]) -> (Duration, MemoryCloud, amiref_build::BuildReport) {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    let lifecycle = Lifecycle::new(&cloud, &audit).clock(move || clock.now());
    let resolver = resolver(&cloud);
    let template = Template::from_yaml_str(TEMPLATE, "web-app.yml").unwrap();
    let spec = BuildSpec::new(template, regions(codes));
    let started = Instant::now();
    let report = Builder::new(&lifecycle, &resolver)
        .build(&spec)
        .await
        .unwrap();
    (started.elapsed(), cloud.clone(), report)
}

/// The serial baseline: the build to the home region alone, then each copy in turn.
async fn serial() -> Duration {
    let started = Instant::now();
    let (_, cloud, report) = build(&REGIONS[..1]).await;
    let tested = &report.images[0].tested;
    let audit = MemoryAuditSink::new();
    let clock = cloud.clone();
    let lifecycle = Lifecycle::new(&cloud, &audit).clock(move || clock.now());
    for destination in regions(&REGIONS[1..]) {
        let spec = CopySpec::new(
            tested.region.clone(),
            tested.image.clone(),
            vec![destination],
        );
        let copied = lifecycle.copy_image(&spec).await.unwrap();
        assert!(!copied.has_failures());
    }
    started.elapsed()
}

/// Provision + capture + test + the slowest copy, from the world's own timings.
fn critical_path(cloud: &MemoryCloud, report: &amiref_build::BuildReport) -> Duration {
    let timings = Timings::default();
    let tested = &report.images[0].tested;
    let size = cloud
        .inspect_image(&tested.region, &tested.image)
        .unwrap()
        .total_volume_size_gib();
    let provision = timings.boot + PROVISION_RUN;
    let capture = timings.stop + timings.create_image;
    let test = timings.boot + TEST_RUN;
    let copy = timings.copy_image + timings.copy_image_per_gib * u32::try_from(size).unwrap();
    provision + capture + test + copy
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let (wall, cloud, report) = rt.block_on(build(&REGIONS));
    let baseline = rt.block_on(serial());
    let ideal = critical_path(&cloud, &report);
    let over = wall.as_secs_f64() / ideal.as_secs_f64() - 1.0;
    println!(
        "simulated: build to {} regions {} s; provision + capture + test + slowest copy {} s ({:+.1}%, goal within 10%); serial baseline {} s ({:.2}x the build)",
        REGIONS.len(),
        wall.as_secs(),
        ideal.as_secs(),
        over * 100.0,
        baseline.as_secs(),
        baseline.as_secs_f64() / wall.as_secs_f64()
    );
    for stage in &report.images[0].stages {
        println!("simulated:   {:?} {} s", stage.stage, stage.elapsed_secs);
    }

    c.bench_function("build to 10 regions (simulated clock)", |b| {
        b.iter(|| black_box(runtime().block_on(build(&REGIONS))));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
