//! `amiref ami create|create-multi|copy|share|publish|deprecate|retire` on the demo world,
//! run as a user runs them.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

use common::cases::LAB_IMAGE;
use common::{Sandbox, json_lines, repo_root, success_json};

/// `ami publish LAB_IMAGE --marketplace FLAG` with the demo configuration, whose
/// publishing profile names the demo world's python-ml product.
fn publish_lab_image(s: &Sandbox, flag: &str) -> Command {
    let mut cmd = s.on_demo();
    cmd.arg("--config")
        .arg(repo_root().join("examples/config/demo.yaml"))
        .args(["ami", "publish", LAB_IMAGE, "--marketplace", flag]);
    cmd
}

#[test]
fn create_multi_creates_then_copies_and_audits_each_step() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "create-multi", "python-ml", "i-0123456789abcdef0"])
        .args(["--regions", "us-east-1,us-west-2,eu-west-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("us-east-1").and(predicate::str::contains("created")))
        .stdout(predicate::str::contains("us-west-2").and(predicate::str::contains("copied")));
    let records = s.world_audit();
    let ops: Vec<&str> = records
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops.iter().filter(|o| **o == "create_image").count(), 1);
    assert_eq!(ops.iter().filter(|o| **o == "copy_image").count(), 3);
    assert_eq!(records[0]["actor"]["account"], "123456789012");
    assert_eq!(
        records[0]["details"]["tags"]["amiref:template"],
        "python-ml"
    );
}

#[test]
fn jsonl_output_prints_progress_events_then_the_result() {
    let s = Sandbox::new();
    let out = s
        .on_demo()
        .args([
            "--output",
            "jsonl",
            "ami",
            "create",
            "python-ml",
            "i-0123456789abcdef0",
        ])
        .args(["--name", "python-ml-test"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(&String::from_utf8(out).unwrap());
    assert_eq!(lines[0]["schema"], "amiref/progress/v1");
    assert_eq!(lines[0]["result"]["event"], "create_started");
    assert!(lines.iter().any(|l| l["result"]["event"] == "waiting"));
    let last = lines.last().unwrap();
    assert_eq!(last["ok"], true);
    assert_eq!(last["result"]["image"]["outcome"], "created");
    assert_eq!(last["result"]["image"]["name"], "python-ml-test");
    assert_eq!(last["result"]["instance"]["id"], "i-0123456789abcdef0");
}

#[test]
fn a_dry_run_changes_nothing_and_says_so() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "copy", LAB_IMAGE, "--to", "us-west-2", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("dry run: would copy"));
    assert_eq!(s.world_audit()[0]["dry_run"], true);
}

#[test]
fn sharing_grants_snapshot_permission_and_refuses_a_strangers_image() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "share", LAB_IMAGE, "--account", "210987654321"])
        .assert()
        .success()
        .stdout(predicate::str::contains("granted"))
        .stdout(predicate::str::contains(
            "snapshot create-volume permission: 210987654321",
        ));
    s.on_demo()
        .args(["ami", "share", "ami-0123456789abcdef0", "--public"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("only the owner"));
}

#[test]
fn deprecate_takes_an_age_and_refuses_the_past() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "deprecate", LAB_IMAGE, "--at", "30d"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "deprecated at 2026-12-01T09:00:00Z",
        ));
    s.on_demo()
        .args([
            "ami",
            "deprecate",
            LAB_IMAGE,
            "--at",
            "2020-01-01T00:00:00Z",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("EC2 refuses a time in the past"));
}

#[test]
fn publish_dry_run_prints_the_change_set() {
    let s = Sandbox::new();
    // The mission's command: everything but the image and the price from the publishing
    // profile of the demo configuration.
    let published = success_json(publish_lab_image(&s, "--price").args([
        "0.05",
        "--version",
        "2.2.0",
        "--dry-run",
        "--output",
        "json",
    ]));
    let change_set = &published["change_set"];
    assert_eq!(
        change_set["ChangeSet"][0]["ChangeType"],
        "AddDeliveryOptions"
    );
    assert_eq!(
        change_set["ChangeSet"][1]["ChangeType"],
        "UpdatePricingTerms"
    );
    // Without a profile, the refusal names what is missing.
    s.on_demo()
        .args([
            "ami",
            "publish",
            LAB_IMAGE,
            "--marketplace",
            "--price",
            "0.05",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("product_id"));
}

#[test]
fn publish_follows_the_change_set_until_it_succeeds() {
    let s = Sandbox::new();
    publish_lab_image(&s, "--version")
        .args(["2.2.0", "--wait", "2h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("status: succeeded"));
}

#[test]
fn retire_reports_a_template_without_images() {
    let s = Sandbox::new();
    // The demo world's images carry no amiref:template tag: none is the template's.
    s.on_demo()
        .args(["ami", "retire", "--template", "python-ml", "--keep", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "no images of template \"python-ml\"",
        ))
        .stdout(predicate::str::contains("would free 0 GiB"));
}

const RETIRE_WORLD: &str = r#"
description: four versions of python-ml, one in use
start: 2026-11-01T00:00:00Z
caller: "123456789012"
regions:
  us-east-1:
instance_types:
  - name: m6i.large
images:
  - {name: python-ml v1, id: ami-00000000000000001, region: us-east-1, architecture: x86_64, created: 2025-01-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
  - {name: python-ml v2, id: ami-00000000000000002, region: us-east-1, architecture: x86_64, created: 2025-02-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
  - {name: python-ml v3, id: ami-00000000000000003, region: us-east-1, architecture: x86_64, created: 2025-03-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
  - {name: python-ml v4, id: ami-00000000000000004, region: us-east-1, architecture: x86_64, created: 2025-04-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
instances:
  - {id: i-0aaaaaaaaaaaaaaa1, region: us-east-1, image: ami-00000000000000001, instance_type: m6i.large}
"#;

#[test]
fn retire_executes_the_policy_and_explains_every_image() {
    let s = Sandbox::new();
    let world = s.write("retire.yaml", RETIRE_WORLD);
    s.on_world(&world)
        .args(["ami", "retire", "--template", "python-ml", "--keep", "1"])
        .args(["--protect", "ami-00000000000000002", "--execute"])
        .assert()
        .success()
        .stdout(predicate::str::contains("keep: newest #1"))
        .stdout(predicate::str::contains(
            "protected: in use by instance i-0aaaaaaaaaaaaaaa1",
        ))
        .stdout(predicate::str::contains("protected: listed in a registry"))
        .stdout(predicate::str::contains(
            "ami-00000000000000003  python-ml v3",
        ))
        .stdout(predicate::str::contains("retired"))
        .stdout(predicate::str::contains("freed 10 GiB of snapshots"));
    let records = s.world_audit();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["operation"], "retire");
    assert_eq!(records[0]["target"], "ami-00000000000000003");
}
