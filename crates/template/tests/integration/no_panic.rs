//! No input, however broken, panics the loader: random text, mutations of a real
//! template, and random documents built from the template's own field names. Seeded, so
//! every run checks the same inputs.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use amiref_template::Template;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

const PYTHON_ML: &str = include_str!("../../../../examples/templates/python-ml.yml");

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5eed_a31f),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Loads, and checks what an error must always be: non-empty and located.
fn load(text: &str) {
    if let Err(e) = Template::from_yaml_str(text, "fuzz.yml") {
        let shown = e.to_string();
        assert!(shown.starts_with("fuzz.yml"), "{shown}");
        assert!(!e.problems().is_empty(), "{shown}");
    }
}

const FIELDS: &[&str] = &[
    "name",
    "description",
    "version",
    "instance_type",
    "instance_types",
    "base_image",
    "provisioning_time",
    "ami_config",
    "user_data",
    "strategy",
    "ssm_parameter",
    "ssm_parameters",
    "ami_mappings",
    "ami_search",
    "marketplace_search",
    "fallback_strategy",
    "fallback_timeout",
    "preferred_architecture",
    "instance_family_preference",
    "owner",
    "owners",
    "name_pattern",
    "version_tag",
    "version_constraint",
    "architecture",
    "min_creation_date",
    "required_tags",
    "include_deprecated",
    "product_code",
    "us-east-1",
    "arm64",
    "x86_64",
    "<<",
    "build",
    "test",
    "timeout",
    "test_timeout",
    "max_age",
    "",
];

const SCALARS: &[&str] = &[
    "ami-0123456789abcdef0",
    "ami-1",
    "us-east-1",
    "amazon",
    "\"111122223333\"",
    "111122223333",
    "ami_required",
    "ami_fallback",
    "error",
    "cross_region",
    "script_provisioning",
    "10m",
    "0s",
    "24h",
    "24h0m1s",
    "3000000000000000h",
    "\"3000000000000000h\"",
    "99999999999999999999h",
    "5124095576030431h15m",
    "18446744073709551615s",
    "90d",
    "0d",
    "213503982334601d",
    "/golden/python-ml/x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/servce/x",
    "/ssm/x",
    "golden//x",
    "arm64",
    "x86_64",
    "m6i.large",
    "t4g",
    ">=2.0.0",
    "~>",
    "2024-01-01",
    "true",
    "null",
    "~",
    "\"#!/bin/bash\"",
    "1e999",
    ".nan",
    "-1",
    "''",
    "*anchor",
    "&anchor x",
    "!tag x",
    "[]",
    "{}",
    "|\n  #!/bin/sh\n  true",
    "18446744073709551616",
];

fn document() -> impl Strategy<Value = String> {
    let scalar = prop::sample::select(SCALARS).prop_map(str::to_owned);
    let leaf = scalar.boxed();
    let tree = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..6).prop_map(
                |entries| {
                    let body: Vec<String> =
                        entries.iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
                    format!("{{{}}}", body.join(", "))
                }
            ),
        ]
    });
    prop::collection::vec((prop::sample::select(FIELDS), tree), 0..8)
        .prop_map(|entries| entries.iter().map(|(k, v)| format!("{k}: {v}\n")).collect())
}

fn mutation() -> impl Strategy<Value = String> {
    let edit = (
        0..PYTHON_ML.len(),
        0usize..8,
        prop::sample::select(
            &[
                "", ":", "-", "[", "]", "{", "}", "!", "&a", "*a", "#", "|", ">", "'", "\"", "\n",
                "\t", "  ", "?", "%", "@", "`", "\u{0}", "\u{feff}", "é", "---\n", "<<: *a\n",
            ][..],
        ),
    );
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut text = PYTHON_ML.to_owned();
        for (at, remove, insert) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + remove).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(at..end, insert);
        }
        text
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        load(&text);
    }

    #[test]
    fn mutated_templates_never_panic(text in mutation()) {
        load(&text);
    }

    #[test]
    fn random_documents_never_panic(text in document()) {
        load(&text);
    }
}

/// Durations past any bound, in every duration field: a located validation error, never
/// an overflow or a panic (the resolver adds the deadline to a clock reading).
#[test]
fn enormous_durations_are_located_errors() {
    for huge in [
        "3000000000000000h",
        "99999999999999999999h",
        "18446744073709551615s",
        "5124095576030431h15m",
        "99999999999999999999999999999999999999999h99999999999999999999m",
    ] {
        let text = format!(
            "name: x\nprovisioning_time: \"{huge}\"\nami_config:\n  fallback_timeout: \"{huge}\"\nuser_data: \"#!/bin/sh\"\n"
        );
        load(&text);
        let err = Template::from_yaml_str(&text, "fuzz.yml").unwrap_err();
        let problems = err.problems();
        assert_eq!(problems.len(), 2, "{err}");
        let paths: Vec<String> = problems.iter().map(|p| p.path.to_string()).collect();
        assert_eq!(paths, ["provisioning_time", "ami_config.fallback_timeout"]);
        for p in problems {
            assert!(p.location.is_some(), "{err}");
            assert!(p.expected.contains("at most 24h"), "{err}");
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("name: {}x{}\n", "[".repeat(10_000), "]".repeat(10_000));
    load(&deep);
    let deep_map = format!("name: {}x{}\n", "{a: ".repeat(5_000), "}".repeat(5_000));
    load(&deep_map);
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("name: *a11\n");
    load(&text);
}
