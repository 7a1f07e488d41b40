//! How long loading takes: a valid template (parse, decode, validate), an invalid one
//! (each problem located in the one parse), a 200 KB deeply nested one (refused at the
//! depth limit: serde_yaml took over 10 s on it), and the fingerprint.
//!
//! `cargo bench -p amiref-template --bench load`

#![allow(missing_docs, clippy::unwrap_used)] // criterion's macros; benches panic on bad input

use amiref_template::Template;
use criterion::{Criterion, black_box, criterion_group, criterion_main};

const VALID: &str = include_str!("../../../examples/templates/python-ml.yml");
const INVALID: &str = include_str!("../tests/malformed/34-many-problems.yml");

fn load(c: &mut Criterion) {
    c.bench_function("load python-ml.yml (valid)", |b| {
        b.iter(|| Template::from_yaml_str(black_box(VALID), "python-ml.yml").unwrap())
    });
    c.bench_function("load 34-many-problems.yml (6 problems)", |b| {
        b.iter(|| Template::from_yaml_str(black_box(INVALID), "bad.yml").unwrap_err())
    });
    let nested = format!("name: deep\nuser_data: {}\n", "[".repeat(200_000));
    c.bench_function("load a 200 KB nested template (refused)", |b| {
        b.iter(|| Template::from_yaml_str(black_box(&nested), "deep.yml").unwrap_err())
    });
    let template = Template::from_yaml_str(VALID, "python-ml.yml").unwrap();
    c.bench_function("fingerprint python-ml", |b| {
        b.iter(|| black_box(&template).fingerprint())
    });
}

criterion_group!(benches, load);
criterion_main!(benches);
