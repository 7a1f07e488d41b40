//! The planner over 1,000 templates × 34 regions (issue 12's goal: under one second).
#![allow(missing_docs, clippy::unwrap_used)] // criterion's macros; set-up failures are bugs
//!
//! `cargo bench -p amiref-plan --bench plan`

use std::hint::black_box;

use amiref_core::Region;
use amiref_plan::{PlanInputs, PlanModel, TemplateInput, UsageEntry, UsageFile, plan, render_html};
use criterion::{Criterion, criterion_group, criterion_main};

const TEMPLATES: usize = 1000;
const REGIONS: usize = 34;

/// 1,000 templates with scripts of 2 to 61 minutes, and launches per month in every
/// region from a fixed formula (0 to 96 per month, one cell in seven idle), so the plan
/// has every kind of decision.
fn inputs() -> PlanInputs {
    let regions: Vec<Region> = amiref_regions::commercial_regions()
        .map(|r| r.code.clone())
        .take(REGIONS)
        .collect();
    assert_eq!(
        regions.len(),
        REGIONS,
        "the catalog has 34 commercial regions"
    );
    let mut inputs =
        PlanInputs::new("2026-12-01T00:00:00Z".parse().unwrap()).regions(regions.clone());
    let mut entries = Vec::new();
    for t in 0..TEMPLATES {
        let name = format!("template-{t:04}");
        let yaml = format!(
            "name: {name}\ninstance_type: m6i.large\nprovisioning_time: {}m\nuser_data: |\n  #!/bin/sh\n  true\n",
            2 + t % 60
        );
        let template = amiref_template::Template::from_yaml_str(&yaml, "bench.yml").unwrap();
        inputs = inputs.template(TemplateInput::new(template));
        for (r, region) in regions.iter().enumerate() {
            let n = (t * 31 + r * 17) % 97;
            if n % 7 != 0 {
                entries.push(UsageEntry::new(name.clone(), region.clone(), n as f64));
            }
        }
    }
    inputs.usage(UsageFile::new("bench-usage.yml", entries))
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let model = PlanModel::default();
    let mut group = c.benchmark_group("planner");
    group.sample_size(10);
    group.bench_function("plan 1000 templates x 34 regions", |b| {
        b.iter(|| black_box(plan(black_box(&inputs), &model)))
    });
    let planned = plan(&inputs, &model);
    group.bench_function("render_html 1000 x 34", |b| {
        b.iter(|| black_box(render_html(black_box(&planned))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
