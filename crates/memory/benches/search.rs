//! How fast the in-process cloud answers over a big world: 100,000 images in one region.
//!
//! `CARGO_TARGET_DIR=target/memory cargo bench -p amiref-memory --bench search`
//!
//! Measured on the shared 2-core build machine (2026-11-25): a search of an owner with 1,000
//! images, all matching, ~4.7 ms (cloning the 1,000 answers dominates); a search of an
//! owner with 99,000 images narrowed by a name prefix to ~5,000 arm64 matches, ~36 ms
//! (~230 ms before the name-prefix index); describing 100 ids, ~110 µs.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary

use std::hint::black_box;

use amiref_core::{
    AccountId, AmiId, Architecture, Image, ImageCatalog, ImageFilter, Owner, Region,
};
use amiref_memory::{ImageSeed, MemoryCloud};
use criterion::{Criterion, criterion_group, criterion_main};

const IMAGES: usize = 100_000;
/// The community owns 1 image in 100; a big publisher owns the rest.
const COMMUNITY_EVERY: usize = 100;

fn world(region: &Region) -> MemoryCloud {
    let community: AccountId = "111122223333".parse().unwrap();
    let publisher: AccountId = "444455556666".parse().unwrap();
    let seeds = (0..IMAGES).map(|i| {
        let owner = if i % COMMUNITY_EVERY == 0 {
            &community
        } else {
            &publisher
        };
        let arch = if i % 2 == 0 {
            Architecture::X86_64
        } else {
            Architecture::Arm64
        };
        let mut image = Image::new(
            format!("ami-0{i:016x}").parse().unwrap(),
            region.clone(),
            format!(
                "cws-python-ml-{}.{}.{}-{}",
                i / 10_000,
                (i / 100) % 100,
                i % 100,
                arch
            ),
            owner.clone(),
            arch,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        image.public = true;
        image.tags.insert("Version".into(), format!("v{}", i % 50));
        ImageSeed::new(image)
    });
    MemoryCloud::builder().images(seeds).build().unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let region: Region = "us-east-1".parse().unwrap();
    let cloud = rt.block_on(async { world(&region) });
    let community = Owner::Account("111122223333".parse().unwrap());
    let publisher = Owner::Account("444455556666".parse().unwrap());

    let mut group = c.benchmark_group("memory_100k_images");
    group.sample_size(20);
    let small = ImageFilter::owned_by([community.clone()])
        .name("cws-python-ml-*-x86_64")
        .tag("Version", Some("v0".into()));
    group.bench_function("search_owner_with_1k_images", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cloud.search_images(&region, &small).await.unwrap()) });
    });
    let big = ImageFilter::owned_by([publisher])
        .name("cws-python-ml-9.*")
        .architectures([Architecture::Arm64]);
    group.bench_function("search_owner_with_99k_images", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cloud.search_images(&region, &big).await.unwrap()) });
    });
    let ids: Vec<AmiId> = (0..100)
        .map(|i| format!("ami-0{:016x}", i * 997).parse().unwrap())
        .collect();
    group.bench_function("describe_100_ids", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cloud.describe_images(&region, &ids).await.unwrap()) });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
