//! The fingerprint changes exactly when resolution could change.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use amiref_template::Template;

fn load(text: &str) -> Template {
    Template::from_yaml_str(text, "t.yml").unwrap_or_else(|e| panic!("{e}"))
}

const BASE: &str = r##"
name: python-ml
description: one
ami_config:
  ami_mappings: {us-east-1: ami-0123456789abcdef0}
  ami_search:
    owner: amazon
    name_pattern: "al2023-*"
    architecture: arm64
user_data: "#!/bin/bash\necho one\n"
"##;

#[test]
fn ignores_formatting_order_defaults_and_descriptions() {
    let base = load(BASE).fingerprint();
    let same = load(
        r#"
# reordered, block style, defaults written out, another description and script
user_data: |
  #!/bin/bash
  echo two
description: two
category: other
ami_config:
  fallback_strategy: script_provisioning
  strategy: ami_preferred
  ami_search:
    architecture: [arm64]
    name_pattern: al2023-*
    owners: [amazon]
  ami_mappings:
    us-east-1: "ami-0123456789abcdef0"
name: "python-ml"
"#,
    )
    .fingerprint();
    assert_eq!(base, same);
    assert_eq!(base.to_string().len(), 64);
    assert!(
        base.to_string()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[test]
fn changes_with_anything_resolution_reads() {
    let base = load(BASE).fingerprint();
    for (from, to) in [
        ("name: python-ml", "name: python-ml2"),
        ("ami-0123456789abcdef0", "ami-0123456789abcdef1"),
        ("owner: amazon", "owner: self"),
        ("al2023-*", "al2023-ami-*"),
        ("architecture: arm64", "architecture: [arm64, x86_64]"),
        ("ami_config:\n", "instance_type: t4g.large\nami_config:\n"),
        ("ami_config:\n", "ami_config:\n  fallback_strategy: error\n"),
        ("ami_config:\n", "ami_config:\n  fallback_timeout: 2m\n"),
        ("ami_config:\n", "provisioning_time: 3m\nami_config:\n"),
        (
            "ami_config:\n",
            "ami_config:\n  ssm_parameter: /golden/python-ml/x86_64\n",
        ),
        (
            "ami_config:\n",
            "ami_config:\n  ssm_parameters: {eu-west-1: /golden/python-ml/x86_64}\n",
        ),
        (
            "ami_config:\n",
            "base_image: {ssm_parameter: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64}\nami_config:\n",
        ),
    ] {
        let text = BASE.replacen(from, to, 1);
        assert_ne!(text, BASE);
        assert_ne!(load(&text).fingerprint(), base, "{from} -> {to}");
    }
}

#[test]
fn base_images_differ_by_parameter_and_by_search() {
    let with = |base: &str| {
        load(&BASE.replacen("ami_config:\n", &format!("{base}\nami_config:\n"), 1)).fingerprint()
    };
    let x86 = with("base_image: {ssm_parameter: /aws/service/al2023-x86_64}");
    let arm = with("base_image: {ssm_parameter: /aws/service/al2023-arm64}");
    let search = with("base_image: {owner: amazon, name_pattern: al2023-*}");
    let same_search = with("base_image: {owners: [amazon], name_pattern: al2023-*}");
    assert_ne!(x86, arm);
    assert_ne!(x86, search);
    assert_eq!(
        search, same_search,
        "owner: x and owners: [x] are one search"
    );
}

#[test]
fn is_stable_across_releases() {
    // A cache written by one build must be found by the next: changing the canonical form
    // on purpose means changing FORMAT in fingerprint.rs, and this value.
    assert_eq!(
        load(BASE).fingerprint().to_string(),
        include_str!("../fingerprint.expected").trim()
    );
}

#[test]
fn the_build_fingerprint_ignores_what_names_finds_or_schedules_the_image() {
    let base = load(BASE).build_fingerprint();
    for (from, to) in [
        ("name: python-ml", "name: python-ml2"),
        ("description: one", "description: two\nversion: 3.0.0"),
        ("ami-0123456789abcdef0", "ami-0123456789abcdef1"),
        ("ami_config:\n", "ami_config:\n  fallback_strategy: error\n"),
        ("ami_config:\n", "provisioning_time: 3m\nami_config:\n"),
        (
            "user_data: \"#!/bin/bash\\necho one\\n\"",
            "user_data: |\n  #!/bin/bash\n  echo one\nbuild: {timeout: 1h, test_timeout: 5m, max_age: 30d}",
        ),
    ] {
        let text = BASE.replacen(from, to, 1);
        assert_ne!(text, BASE, "{from}");
        assert_eq!(load(&text).build_fingerprint(), base, "{from} -> {to}");
    }
}

#[test]
fn the_build_fingerprint_changes_with_what_makes_the_image() {
    let base = load(BASE).build_fingerprint();
    assert_ne!(base, load(BASE).fingerprint(), "two hashes, two formats");
    for (from, to) in [
        ("echo one", "echo two"),
        ("ami_config:\n", "instance_type: t4g.large\nami_config:\n"),
        (
            "ami_config:\n",
            "instance_types: {arm64: t4g.large}\nami_config:\n",
        ),
        (
            "ami_config:\n",
            "base_image: {ssm_parameter: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64}\nami_config:\n",
        ),
        (
            "ami_config:\n",
            "base_image: {owner: amazon, name_pattern: al2023-*}\nami_config:\n",
        ),
        (
            "ami_config:\n",
            "build: {test: \"#!/bin/sh\\ntrue\\n\"}\nami_config:\n",
        ),
        (
            "ami_config:\n",
            "build: {instance_types: {arm64: c7g.2xlarge}}\nami_config:\n",
        ),
    ] {
        let text = BASE.replacen(from, to, 1);
        assert_ne!(text, BASE, "{from}");
        assert_ne!(load(&text).build_fingerprint(), base, "{from} -> {to}");
    }
}

#[test]
fn the_build_fingerprint_is_stable_across_releases() {
    // Images carry it in amiref:build-fingerprint: a new release that hashed differently
    // would make every image stale at once. Changing the form on purpose means changing
    // BUILD_FORMAT in fingerprint.rs, and this value.
    assert_eq!(
        load(BASE).build_fingerprint().to_string(),
        include_str!("../build_fingerprint.expected").trim()
    );
}
