//! Parse time against text size: it should grow linearly, for files that are wide (many
//! entries), for files nested to the depth limit, and for deeply nested files refused at
//! the limit (whose time should not grow with size at all).
//!
//! `cargo bench -p amiref-yaml --bench parse`

#![allow(missing_docs)] // criterion's macros

use amiref_yaml::{Document, Limits};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A registry-like file of `entries` mappings, about 60 bytes each.
fn wide(entries: usize) -> String {
    let mut text = String::from("images:\n");
    for i in 0..entries {
        text.push_str(&format!(
            "  - {{id: ami-{i:017x}, region: us-east-1, owner: \"111122223333\"}}\n"
        ));
    }
    text
}

/// `bytes` of `[` nesting: refused at the depth limit.
fn deep(bytes: usize) -> String {
    "[".repeat(bytes)
}

/// Many documents each nested to just under the depth limit, as list items.
fn nested_within_limit(items: usize) -> String {
    let depth = Limits::DEFAULT.max_depth - 2;
    let one = format!("- {}1{}\n", "[".repeat(depth), "]".repeat(depth));
    one.repeat(items)
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for size in [10_000usize, 100_000, 1_000_000] {
        let text = wide(size / 60);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("wide", size), &text, |b, text| {
            b.iter(|| Document::parse(text, "bench.yml").map(|_| ()))
        });
        let text = nested_within_limit(size / 130);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("nested", size), &text, |b, text| {
            b.iter(|| Document::parse(text, "bench.yml").map(|_| ()))
        });
        let text = deep(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("too_deep", size), &text, |b, text| {
            b.iter(|| Document::parse(text, "bench.yml").map(|_| ()))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
