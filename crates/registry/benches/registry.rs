//! Registry benchmarks: loading and verifying 10,000 signed entries (entries/s), and
//! lookups for (template, region) after loading (lookups/s).
//!
//! `cargo bench -p amiref-registry --bench registry`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use amiref_core::{AmiId, Architecture, Region};
use amiref_registry::{
    Entry, KeyStatus, Layer, ParsedRegistry, PublisherKey, Ratings, Registry, RegistryDocument,
    ScanStatus, TrustStore, Verification,
};
use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TEMPLATES: usize = 1_000;
const VERSIONS: usize = 10;
const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
];

/// 10,000 signed entries (1,000 templates × 10 versions, 3 regions each), as YAML text.
fn signed_registry_text(key: &PublisherKey) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut doc = RegistryDocument::new();
    let mut next_image: u64 = 0x1000_0000;
    for t in 0..TEMPLATES {
        let versions = doc
            .community_amis
            .entry(format!("template-{t}"))
            .or_default();
        for v in 0..VERSIONS {
            let mut regions = BTreeMap::new();
            let first = rng.gen_range(0..REGIONS.len());
            for r in 0..3 {
                let region: Region = REGIONS[(first + r) % REGIONS.len()].parse().unwrap();
                next_image += 1;
                let image: AmiId = format!("ami-{next_image:08x}").parse().unwrap();
                regions.insert(region, image);
            }
            let mut entry = Entry::new("bench@example.edu", Architecture::X86_64, regions);
            entry.description = format!("template {t} version {v}");
            entry.ratings = Some(Ratings::new(
                rng.gen_range(1.0..5.0),
                rng.gen_range(1..500),
                rng.gen_range(0..10_000),
            ));
            entry.verification = Some(Verification::new(rng.gen_bool(0.8), ScanStatus::Passed));
            entry.created_at = Some(
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::days(rng.gen_range(0..300)),
            );
            versions.insert(format!("1.{v}.0"), entry);
        }
    }
    let mut parsed = ParsedRegistry::from_document(doc, "bench.yml");
    parsed.sign_all(key).unwrap();
    parsed.to_yaml_string().unwrap()
}

fn load(text: &str, trust: &TrustStore) -> Registry {
    let parsed = ParsedRegistry::from_yaml_str(text, "bench.yml").unwrap();
    Registry::builder()
        .trust_store(trust.clone())
        .now(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap())
        .document(Layer::Community, parsed)
        .build_from_documents()
}

fn benches(c: &mut Criterion) {
    let key = PublisherKey::from_seed("bench", [9; 32]);
    let trust = TrustStore::new().with_key("bench", key.verifying_key(), KeyStatus::Active);
    let text = signed_registry_text(&key);
    let entries = (TEMPLATES * VERSIONS) as u64;

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.throughput(Throughput::Elements(entries));
    group.bench_function(BenchmarkId::new("parse_and_verify", entries), |b| {
        b.iter(|| {
            let registry = load(&text, &trust);
            assert_eq!(registry.entries().len(), entries as usize);
            registry
        })
    });
    let parsed = ParsedRegistry::from_yaml_str(&text, "bench.yml").unwrap();
    group.bench_function(BenchmarkId::new("parse_only", entries), |b| {
        b.iter(|| ParsedRegistry::from_yaml_str(&text, "bench.yml").unwrap())
    });
    group.bench_function(BenchmarkId::new("verify_only", entries), |b| {
        b.iter(|| {
            Registry::builder()
                .trust_store(trust.clone())
                .document(Layer::Community, parsed.clone())
                .build_from_documents()
        })
    });
    group.finish();

    let registry = load(&text, &trust);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let queries: Vec<(String, Region)> = (0..1_000)
        .map(|_| {
            (
                format!("template-{}", rng.gen_range(0..TEMPLATES)),
                REGIONS[rng.gen_range(0..REGIONS.len())].parse().unwrap(),
            )
        })
        .collect();
    let mut group = c.benchmark_group("lookup");
    group.throughput(Throughput::Elements(queries.len() as u64));
    group.bench_function("best_of_10000", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for (t, r) in &queries {
                found += usize::from(registry.best(t, r, &[Architecture::X86_64]).is_some());
            }
            found
        })
    });
    group.finish();
}

criterion_group!(registry_benches, benches);
criterion_main!(registry_benches);
