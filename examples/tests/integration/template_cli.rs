//! `amiref template validate` and `amiref template schema`, run as a user runs them.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::common;

use std::path::PathBuf;

use predicates::prelude::*;

use common::{Sandbox, repo_root, stdout_json, success_json};

fn templates() -> PathBuf {
    repo_root().join("examples/templates")
}

const VALID: &str = "name: ok\nuser_data: |\n  #!/bin/bash\n  echo hi\n";

#[test]
fn valid_templates_exit_zero_and_say_so() {
    let s = Sandbox::new();
    s.amiref()
        .args(["template", "validate"])
        .arg(templates().join("python-ml.yml"))
        .arg(templates().join("r-research.yml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("python-ml").and(predicate::str::contains("r-research")))
        .stderr(predicate::str::is_empty());
}

#[test]
fn a_directory_is_checked_as_a_whole() {
    let s = Sandbox::new();
    s.amiref()
        .args(["template", "validate"])
        .arg(templates())
        .assert()
        .success()
        .stdout(predicate::str::contains("genomics-pipeline.yml"));
}

#[test]
fn every_problem_of_every_file_goes_to_stderr_with_exit_one() {
    let s = Sandbox::new();
    let good = s.write("good.yml", VALID);
    let bad1 = s.write(
        "bad1.yml",
        "name: a\nami_config:\n  strateg: ami_required\n  ami_search:\n    name_pattern: x-*\n",
    );
    let bad2 = s.write("bad2.yml", "name: [b]\nuser_data: echo\n");
    let assert = s
        .amiref()
        .args(["template", "validate"])
        .args([&good, &bad1, &bad2])
        .assert()
        .code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let bad1 = bad1.display().to_string();
    let bad2 = bad2.display().to_string();
    assert!(
        !stderr.contains("user_data: found `fallback_strategy"),
        "a misspelled strategy must not also be reported as the default strategy:\n{stderr}"
    );
    for expected in [
        format!("{bad1}:3:3: ami_config.strateg: found unknown field `strateg`"),
        "help: did you mean `strategy`?".to_owned(),
        format!("{bad1}:4:3: ami_config.ami_search: found a search with no `owner`"),
        "name-squatting".to_owned(),
        format!("{bad2}:1:7: name: found a list, expected text"),
        format!("{bad2}:2:12: user_data: found a script starting \"echo\""),
        "2 of 3 invalid (4 problems)".to_owned(),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("good.yml"), "{stdout}");
}

#[test]
fn duplicate_names_in_a_directory_name_both_files() {
    let s = Sandbox::new();
    s.write("a.yml", VALID);
    s.write("b.yaml", VALID);
    s.amiref()
        .args(["template", "validate"])
        .arg(s.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("b.yaml: template name \"ok\" is already defined in")
                .and(predicate::str::contains("a.yml")),
        );
}

#[test]
fn unreadable_files_are_failures_not_usage_errors() {
    let s = Sandbox::new();
    s.amiref()
        .args(["template", "validate", "does-not-exist.yml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does-not-exist.yml: cannot read"));
}

#[test]
fn usage_errors_exit_two() {
    let s = Sandbox::new();
    s.amiref().args(["template", "validate"]).assert().code(2);
    s.amiref().args(["template", "frobnicate"]).assert().code(2);
}

#[test]
fn json_output_reports_each_problem_with_its_position() {
    let s = Sandbox::new();
    let bad = s.write(
        "bad.yml",
        "name: a\nami_config:\n  strategy: ami_prefered\n  fallback_strategy: error\n",
    );
    let assert = s
        .amiref()
        .args(["--output", "json", "template", "validate"])
        .arg(&bad)
        .assert()
        .code(1);
    let doc = stdout_json(assert.get_output());
    assert_eq!(doc["schema"], "amiref/template_validation/v1");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "invalid_template");
    let report = &doc["result"]["paths"];
    let problem = &report[0]["problems"][0];
    assert_eq!(report[0]["valid"], false);
    assert_eq!(problem["path"], "ami_config.strategy");
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(3), Some(13))
    );
    assert_eq!(problem["kind"], "invalid_value");
    assert_eq!(problem["help"], "did you mean `ami_preferred`?");
}

#[test]
fn schema_prints_the_checked_in_schema() {
    let s = Sandbox::new();
    // For people (and editors) the schema itself; in JSON, a document's result.
    let out = s.amiref().args(["template", "schema"]).assert().success();
    let printed = stdout_json(out.get_output());
    assert_eq!(
        success_json(s.amiref().args(["--output", "json", "template", "schema"])),
        printed
    );
    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("docs/template.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, checked_in);
    assert_eq!(printed["title"], "amiref template");
}
