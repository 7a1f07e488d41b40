//! `amiref compliance` over 10,000 images in 17 regions on the in-process cloud at 50 ms
//! a call: the wall time of one scan, and (printed once) the calls it made, counted by the
//! cloud. Launch permissions, which EC2 reads one image at a time, are measured both off
//! (the batched reads alone) and on.
//!
//! `cargo bench -p amiref-compliance --bench scan`
//!
//! Measured on the shared 2-core build machine (2026-12-01): batched reads only, 222 calls
//! (13 per region: the one listing page, six single reads, and six DescribeImageReferences
//! for the region's 59 deprecated images at 10 ids a call; plus GetCallerIdentity once),
//! ~460 ms a scan; with launch permissions,
//! 10,222 calls (one DescribeImageAttribute per image, 8 at once per region), ~4.3 s.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary

use std::time::Duration;

use amiref_compliance::{CompliancePolicy, Scanner};
use amiref_core::{AccountId, Architecture, Image, Region};
use amiref_memory::{DEFAULT_CALLER, ImageSeed, InstanceSeed, MemoryCloud};
use amiref_strategies::TrustPolicy;
use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

/// The 17 commercial regions enabled by default.
const REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
];
const IMAGES: u32 = 10_000;
const LATENCY: Duration = Duration::from_millis(50);

/// 10,000 own images spread over the regions (588 or 589 each), a tenth deprecated, and
/// an instance and a launch template per region using one.
fn world() -> MemoryCloud {
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let me = AccountId::new(DEFAULT_CALLER).unwrap();
    let regions: Vec<Region> = REGIONS.iter().map(|r| r.parse().unwrap()).collect();
    let mut builder = MemoryCloud::builder()
        .start(start)
        .instance_type("t3.micro".parse().unwrap(), [Architecture::X86_64]);
    for n in 0..IMAGES {
        let region = regions[n as usize % regions.len()].clone();
        let id = format!("ami-{:017x}", n + 1).parse().unwrap();
        let created = start - chrono::Duration::days(i64::from(n % 200));
        let mut image = Image::new(
            id,
            region,
            format!("research-{n}"),
            me.clone(),
            Architecture::X86_64,
            created,
        );
        if n % 10 == 0 {
            image.deprecation_time = Some(start - chrono::Duration::days(1));
        }
        builder = builder.image(ImageSeed::new(image));
    }
    for (k, region) in regions.iter().enumerate() {
        let used = format!("ami-{:017x}", k + 1).parse().unwrap();
        let instance = format!("i-{:017x}", k + 1).parse().unwrap();
        builder = builder
            .instance(InstanceSeed::new(
                instance,
                region.clone(),
                used,
                "t3.micro".parse().unwrap(),
            ))
            .launch_template(
                region.clone(),
                me.clone(),
                format!("web-{k}"),
                format!("ami-{:017x}", k + 1).parse().unwrap(),
            );
    }
    let cloud = builder.build().expect("the benchmark world builds");
    cloud.set_latency(LATENCY);
    cloud
}

fn policy(read_launch_permissions: bool) -> CompliancePolicy {
    let mut policy = CompliancePolicy::default();
    policy.naming_patterns = vec!["research-*".into()];
    policy.read_launch_permissions = read_launch_permissions;
    policy
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cloud = world();
    let regions: Vec<Region> = REGIONS.iter().map(|r| r.parse().unwrap()).collect();
    let mut group = c.benchmark_group("compliance_10k_images_17_regions_50ms");
    group.sample_size(10);
    for (name, read) in [("batched_reads", false), ("with_launch_permissions", true)] {
        // One scan first, to print what it called.
        cloud.reset_counters();
        let report = runtime.block_on(
            Scanner::new(&cloud, TrustPolicy::default())
                .policy(policy(read))
                .scan(&regions),
        );
        let counters = cloud.counters();
        let own: usize = report.scanned.iter().map(|s| s.own_image_count).sum();
        eprintln!(
            "{name}: {own} images in {} regions, {} findings, {} calls ({} per region at most)",
            regions.len(),
            report.findings.len(),
            counters.total(),
            regions
                .iter()
                .map(|r| counters.region(r))
                .max()
                .unwrap_or(0),
        );
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                Scanner::new(&cloud, TrustPolicy::default())
                    .policy(policy(read))
                    .scan(&regions)
                    .await
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
