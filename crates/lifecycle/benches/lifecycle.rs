//! What the lifecycle's own work costs over the in-process cloud (no latency): planning a
//! retirement over many versions, and copying one image into many regions.
//!
//! `CARGO_TARGET_DIR=target/lifecycle cargo bench -p amiref-lifecycle --bench lifecycle`
//!
//! Goals: planning the retirement of 1,000 versions (2 checks per candidate, what uses it
//! and whom it is shared with, plus DescribeImageReferences in batches and the Recycle Bin's
//! rules once per region) well under a second; a 20-region copy's bookkeeping (search, copy,
//! tag, wait per region, audit) in milliseconds, so that real runs are bound by EC2 alone.
//!
//! Measured on the shared 2-core build machine (2026-11-25): the retirement plan over 1,000
//! versions, ~3.0 ms; copying into 20 regions (copies ready at once), ~0.2 ms. With the
//! issue-13 checks (references, launch permissions read for every candidate, the Recycle Bin;
//! 2026-12-01): the retirement plan over 1,000 versions, ~9.4 ms.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary

use std::hint::black_box;
use std::time::Duration;

use amiref_core::{AccountId, Architecture, Image, Region};
use amiref_lifecycle::{
    CopySpec, FlatSnapshotPrice, Lifecycle, MemoryAuditSink, RetentionPolicy, RetireSpec,
    WaitOptions, tags,
};
use amiref_memory::{ImageSeed, MemoryCloud, Timings};
use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

const VERSIONS: usize = 1_000;

const REGIONS: [&str; 20] = [
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
    "eu-south-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-east-1",
    "me-south-1",
    "af-south-1",
];

fn me() -> AccountId {
    "123456789012".parse().unwrap()
}

fn versions(region: &Region) -> MemoryCloud {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let seeds = (0..VERSIONS).map(|i| {
        let mut image = Image::new(
            format!("ami-0{i:016x}").parse().unwrap(),
            region.clone(),
            format!("python-ml build {i}"),
            me(),
            Architecture::X86_64,
            start - chrono::Duration::hours(i as i64),
        );
        image
            .tags
            .insert(tags::TAG_TEMPLATE.into(), "python-ml".into());
        ImageSeed::new(image)
    });
    MemoryCloud::builder()
        .caller(me())
        .start(start)
        .images(seeds)
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let use1: Region = "us-east-1".parse().unwrap();

    let cloud = versions(&use1);
    let spec = RetireSpec::new(
        "python-ml",
        vec![use1.clone()],
        RetentionPolicy::keep_newest(5),
    );
    c.bench_function("retire plan over 1,000 versions", |b| {
        b.to_async(&rt).iter(|| async {
            let audit = MemoryAuditSink::new();
            let report = Lifecycle::new(&cloud, &audit)
                .retire(&spec, &FlatSnapshotPrice::default())
                .await
                .unwrap();
            black_box(report)
        });
    });

    // Copies that are available at once, polled without pause: only the bookkeeping is
    // measured. A fresh world per iteration, so every copy is made anew.
    let source: Image = Image::new(
        "ami-0aaaaaaaaaaaaaaa0".parse().unwrap(),
        use1.clone(),
        "python-ml 2.1.0",
        me(),
        Architecture::X86_64,
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(),
    );
    let destinations: Vec<Region> = REGIONS.iter().map(|r| r.parse().unwrap()).collect();
    let mut timings = Timings::default();
    timings.copy_image = Duration::ZERO;
    timings.copy_image_per_gib = Duration::ZERO;
    let wait = WaitOptions::default().poll_interval(Duration::from_millis(1));
    c.bench_function("copy into 20 regions", |b| {
        b.to_async(&rt).iter(|| async {
            let cloud = MemoryCloud::builder()
                .caller(me())
                .timings(timings)
                .image(ImageSeed::new(source.clone()))
                .build()
                .unwrap();
            let audit = MemoryAuditSink::new();
            let spec = CopySpec::new(use1.clone(), source.id.clone(), destinations.clone());
            let report = Lifecycle::new(&cloud, &audit)
                .wait_options(wait)
                .copy_image(&spec)
                .await
                .unwrap();
            assert!(!report.has_failures());
            black_box(report)
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
