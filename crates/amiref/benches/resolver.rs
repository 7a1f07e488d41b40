//! Criterion benchmarks of the resolver: `cargo bench -p amiref --bench resolver`.
//! The figures and the goals they are held to are in docs/performance.md (and checked by
//! the `report` bench).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use amiref::{PreparedTemplate, ResolveOptions};
use amiref_strategies::search;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn all_regions(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cloud, templates, regions) = support::every_region_world(1, Duration::from_millis(50));
    let resolver = support::resolver(&cloud);
    let fresh = ResolveOptions::default().use_cache(false);
    rt.block_on(resolver.resolve_with(&templates[0], &regions[0], &fresh))
        .unwrap();
    let mut group = c.benchmark_group("ami_test_all_regions_50ms");
    group.sample_size(10);
    group.bench_function("concurrent", |b| {
        b.to_async(&rt)
            .iter(|| resolver.resolve_many_with(&templates, &regions, &fresh))
    });
    group.bench_function("serial_baseline", |b| {
        b.to_async(&rt).iter(|| async {
            for region in &regions {
                resolver
                    .resolve_with(&templates[0], region, &fresh)
                    .await
                    .unwrap();
            }
        })
    });
    group.finish();
}

fn selection(c: &mut Criterion) {
    const N: usize = 100_000;
    let images = support::candidates(N, 7);
    let input = support::selection_input();
    let criteria = input.criteria();
    let mut group = c.benchmark_group("select");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("100k_candidates", |b| {
        b.iter(|| search::select(&images, &criteria).unwrap().matching)
    });
    group.finish();
}

fn cache_hit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cloud, templates, regions) = support::every_region_world(1, Duration::from_millis(50));
    let resolver = support::resolver(&cloud);
    let prepared = PreparedTemplate::new(templates[0].clone());
    let options = ResolveOptions::default();
    rt.block_on(resolver.resolve(&templates[0], &regions[0]))
        .unwrap();
    rt.block_on(resolver.resolve_shared(&prepared, &regions[0], &options))
        .unwrap();
    let calls = cloud.counters().total();
    let mut group = c.benchmark_group("cache");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hit_shared", |b| {
        b.to_async(&rt).iter(|| async {
            resolver
                .resolve_shared(&prepared, &regions[0], &options)
                .await
                .unwrap()
        })
    });
    group.bench_function("hit", |b| {
        b.to_async(&rt)
            .iter(|| async { resolver.resolve(&templates[0], &regions[0]).await.unwrap() })
    });
    group.finish();
    assert_eq!(
        cloud.counters().total(),
        calls,
        "cache hits made cloud calls"
    );
}

/// Cold resolutions at 50 ms per call, each on a fresh resolver (caller identity and facts
/// cold): a mapping hit, a search hit, and script provisioning on the default base image,
/// with every tier's first calls at once and with the serial baseline.
fn cold(c: &mut Criterion) {
    use support::scenario::*;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cloud = support::tiers_world(Duration::from_millis(50));
    let template = support::tiers_template(false);
    let mut group = c.benchmark_group("cold_resolution_50ms");
    group.sample_size(10);
    for (name, region) in [
        ("a_mapping", MAPPED),
        ("b_search", SEARCHED),
        ("c_script", SCRIPTED),
    ] {
        let region: amiref_core::Region = region.parse().unwrap();
        for (mode, concurrent) in [("concurrent", true), ("serial", false)] {
            group.bench_function(format!("{name}/{mode}"), |b| {
                b.to_async(&rt).iter(|| async {
                    support::resolver_with(&cloud, concurrent)
                        .resolve(&template, &region)
                        .await
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, cold, all_regions, selection, cache_hit);
criterion_main!(benches);
