//! `amiref build` and `amiref build --cleanup` on the demo world, run as a user runs them:
//! a dry run changes nothing, a build makes a tested image in every region with its SSM
//! parameters, a second build finds it done, a build whose script fails (or hangs) names
//! the stage and leaves nothing behind, and every document is valid against its schema.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::common;

use std::collections::BTreeSet;

use predicates::prelude::*;
use serde_json::Value;

use common::{Sandbox, document_with_code, json_lines, stdout_json, success_json};

/// The document must match the schema its `schema` field names.
fn valid(doc: &Value) -> &Value {
    if let Err(e) = amiref_report::schema::validate(doc) {
        panic!("{e}\n{doc:#}");
    }
    doc
}

/// `world show`'s world: what the account has now.
fn world(s: &Sandbox) -> Value {
    success_json(s.on_demo().args(["--output", "json", "world", "show"]))["world"].clone()
}

/// What a build could leave behind: the instances that are not terminated (nor shutting
/// down), every image, snapshot and security group.
#[derive(Debug, PartialEq, Eq)]
struct Inventory {
    live_instances: BTreeSet<String>,
    images: BTreeSet<String>,
    snapshots: usize,
    security_groups: usize,
}

fn inventory(world: &Value) -> Inventory {
    let ids = |key: &str| -> BTreeSet<String> {
        world[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| {
                let state = i["state"].as_str();
                i["terminated"] != true && !matches!(state, Some("terminated" | "shutting-down"))
            })
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let count = |key: &str| world[key].as_array().map_or(0, Vec::len);
    Inventory {
        live_instances: ids("instances"),
        images: ids("images"),
        snapshots: count("snapshots"),
        security_groups: count("security_groups"),
    }
}

/// `amiref --output json build ARGS...` on the demo world.
fn build_json(s: &Sandbox, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = s.on_demo();
    cmd.args(["--output", "json", "build"]).args(args);
    cmd
}

#[test]
fn a_dry_run_plans_the_stages_and_changes_nothing() {
    let s = Sandbox::new();
    let before = world(&s);
    let doc = stdout_json(
        build_json(
            &s,
            &["python-ml", "--regions", "us-east-1,us-west-2", "--dry-run"],
        )
        .assert()
        .success()
        .get_output(),
    );
    let plan = &valid(&doc)["result"];
    assert_eq!(plan["outcome"], "planned", "{plan:#}");
    assert_eq!(plan["home"], "us-east-1");
    assert_eq!(
        plan["regions"],
        serde_json::json!(["us-east-1", "us-west-2"])
    );
    let image = &plan["images"][0];
    let stages: Vec<&str> = image["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["provision", "capture", "test", "distribute", "cleanup"]
    );
    assert!(
        image["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["done"] == false)
    );
    assert!(plan["estimated_secs"].as_u64().unwrap() > 0, "{plan:#}");
    assert!(
        plan["estimated_cost_usd"].as_f64().unwrap() > 0.0,
        "{plan:#}"
    );
    assert!(!plan["estimate_inputs"].as_array().unwrap().is_empty());
    assert_eq!(inventory(&world(&s)), inventory(&before));
    // For people: the stages, the regions, the estimate and what it assumes.
    s.on_demo()
        .args([
            "build",
            "python-ml",
            "--regions",
            "us-east-1,us-west-2",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Dry run: python-ml 2.1.0 would be built",
        ))
        .stdout(predicate::str::contains("copied to us-west-2"))
        .stdout(predicate::str::contains("provision"))
        .stdout(predicate::str::contains("Estimated:"))
        .stdout(predicate::str::contains(
            "none of these figures is measured",
        ));
    assert_eq!(inventory(&world(&s)), inventory(&before));
}

#[test]
fn a_build_makes_a_tested_image_everywhere_and_a_second_finds_it_done() {
    let s = Sandbox::new();
    let before = inventory(&world(&s));
    let doc = stdout_json(
        build_json(&s, &["python-ml", "--regions", "us-east-1,us-west-2"])
            .assert()
            .success()
            .get_output(),
    );
    let built = &valid(&doc)["result"];
    assert_eq!(built["outcome"], "built", "{built:#}");
    let image = &built["images"][0];
    let distribution = &image["distribution"];
    assert_eq!(distribution["stage"], "distributed");
    let regions: Vec<&String> = distribution["images"].as_object().unwrap().keys().collect();
    assert_eq!(regions, ["us-east-1", "us-west-2"]);
    assert_eq!(distribution["images"]["us-east-1"], image["image"]);
    // The demo world runs python-ml's script for 6 minutes and its test for 45 seconds:
    // both measured from launch to the marker, so both include the boot.
    let measured = &image["measured"];
    let script = measured["script_ready_secs"].as_f64().unwrap();
    let ready = measured["image_ready_secs"].as_f64().unwrap();
    assert!(
        script > 360.0 && ready > 45.0 && script > ready,
        "{measured}"
    );
    let speedup = measured["speedup"].as_f64().unwrap();
    assert!((speedup - script / ready).abs() < 0.01, "{measured}");
    let architecture = image["architecture"].as_str().unwrap();
    let parameters = &distribution["parameters"];
    assert_eq!(
        parameters["version_parameter"],
        format!("/amiref/python-ml/2.1.0/{architecture}")
    );
    assert_eq!(
        parameters["latest_parameter"],
        format!("/amiref/python-ml/latest/{architecture}")
    );
    let stages: Vec<(&str, bool)> = image["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap(),
                s["resumed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("provision", false),
            ("capture", false),
            ("test", false),
            ("distribute", false)
        ]
    );
    // Only the two images are left: no instance, group or other image of the build.
    let after = inventory(&world(&s));
    assert_eq!(after.live_instances, before.live_instances);
    assert_eq!(after.images.len(), before.images.len() + 2, "{after:?}");
    assert_eq!(after.security_groups, before.security_groups);

    // Again: the earlier run's tags say provision, capture and test are done, and the
    // distribution finds its copies and parameters in place.
    let again = stdout_json(
        build_json(&s, &["python-ml", "--regions", "us-east-1,us-west-2"])
            .assert()
            .success()
            .get_output(),
    );
    let image_again = &valid(&again)["result"]["images"][0];
    assert_eq!(image_again["image"], image["image"]);
    assert_eq!(
        image_again["distribution"]["images"],
        distribution["images"]
    );
    for stage in image_again["stages"].as_array().unwrap() {
        if stage["stage"] != "distribute" {
            assert_eq!(stage["resumed"], true, "{stage}");
        }
    }
    assert_eq!(inventory(&world(&s)), after);
}

#[test]
fn people_see_the_stages_the_measured_times_and_the_parameters() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["build", "python-ml", "--regions", "us-east-1,us-west-2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("✅ Built python-ml 2.1.0"))
        .stdout(predicate::str::contains("provision"))
        .stdout(predicate::str::contains(
            "measured: the script was ready in",
        ))
        .stdout(predicate::str::contains("x sooner"))
        .stdout(predicate::str::contains("copied from us-east-1"))
        .stdout(predicate::str::contains("/amiref/python-ml/latest/"))
        // Without a terminal, progress is plain lines on stderr.
        .stderr(predicate::str::contains("provision        started"))
        .stderr(predicate::str::contains("✓ done in"));
}

#[test]
fn jsonl_prints_build_events_then_the_build() {
    let s = Sandbox::new();
    let out = s
        .on_demo()
        .args(["--output", "jsonl", "build", "python-ml", "--no-promote"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let kinds = amiref_report::schema::validate_lines(&text)
        .unwrap_or_else(|(line, e)| panic!("line {line}: {e}\n{text}"));
    assert_eq!(kinds.last(), Some(&"build"));
    let lines = json_lines(&text);
    let events: Vec<&str> = lines
        .iter()
        .filter(|l| l["schema"] == "amiref/build_event/v1")
        .map(|l| l["result"]["event"].as_str().unwrap())
        .collect();
    for expected in [
        "stage_started",
        "launched",
        "completed",
        "image",
        "tested",
        "stage_finished",
    ] {
        assert!(events.contains(&expected), "no {expected} in {events:?}");
    }
    // --no-promote: the version's parameter, not `latest`.
    let built = &lines.last().unwrap()["result"]["images"][0];
    let names: BTreeSet<&str> = built["distribution"]["parameters"]["regions"][0]["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(!names.iter().any(|n| n.contains("/latest/")), "{names:?}");
}

#[test]
fn a_failing_script_names_the_stage_and_leaves_nothing_behind() {
    let s = Sandbox::new();
    let before = inventory(&world(&s));
    // The demo world's jupyter-quickstart provisioning exits 1 after 90 seconds.
    let doc = document_with_code(&mut build_json(&s, &["jupyter-quickstart"]), 1);
    valid(&doc);
    assert_eq!(doc["ok"], false);
    let details = &doc["error"]["details"];
    assert_eq!(details["stage"], "provision", "{doc:#}");
    assert!(
        details["cause"]
            .as_str()
            .unwrap()
            .contains("exited with status 1"),
        "{details}"
    );
    let removed: Vec<&str> = details["cleanup"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(removed.contains(&"instance"), "{removed:?}");
    assert_eq!(details["cleanup"]["failed"], serde_json::json!([]));
    assert_eq!(inventory(&world(&s)), before);
    // For people: the stage, the console's last lines, what was cleaned up.
    s.on_demo()
        .args(["build", "jupyter-quickstart"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("failed in the provision stage"))
        .stderr(predicate::str::contains("AMIREF-BUILD-DONE"))
        .stderr(predicate::str::contains("cleaned up: removed instance"));
    assert_eq!(inventory(&world(&s)), before);
}

#[test]
fn a_hanging_script_times_out_and_leaves_nothing_behind() {
    let s = Sandbox::new();
    let before = inventory(&world(&s));
    // The demo world's genomics-pipeline provisioning never writes its marker; the example
    // template has no script, so this one gives it one.
    let template = s.write(
        "genomics-pipeline.yml",
        "name: genomics-pipeline\nversion: 4.6.0\ninstance_type: m6i.large\nprovisioning_time: 10m\nuser_data: |\n  #!/bin/bash\n  dnf install -y samtools\n",
    );
    let template = template.to_str().unwrap();
    let doc = document_with_code(&mut build_json(&s, &[template]), 1);
    let details = &valid(&doc)["error"]["details"];
    assert_eq!(details["stage"], "provision", "{doc:#}");
    assert!(
        details["cause"]
            .as_str()
            .unwrap()
            .contains("did not report completion"),
        "{details}"
    );
    assert_eq!(inventory(&world(&s)), before);
}

#[test]
fn cleanup_sweeps_the_regions_and_says_when_nothing_is_left() {
    let s = Sandbox::new();
    let doc = stdout_json(
        build_json(&s, &["--cleanup", "--regions", "us-east-1,eu-west-1"])
            .assert()
            .success()
            .get_output(),
    );
    let swept = &valid(&doc)["result"];
    assert_eq!(doc["schema"], "amiref/build_cleanup/v1");
    assert_eq!(swept["removed"], serde_json::json!([]));
    assert_eq!(swept["failed"], serde_json::json!([]));
    s.on_demo()
        .args(["build", "--cleanup"])
        .assert()
        .success()
        .stdout(predicate::str::contains("No expired build leftovers"));
}

#[test]
fn the_command_line_is_checked_before_anything_runs() {
    let s = Sandbox::new();
    // A template or --cleanup, not both, not neither.
    s.on_demo().args(["build"]).assert().code(2);
    s.on_demo()
        .args(["build", "python-ml", "--cleanup"])
        .assert()
        .code(2);
    s.on_demo()
        .args(["build", "python-ml", "--regions", "us-eest-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean us-east-1?"));
    let doc = document_with_code(&mut build_json(&s, &["no-such-template", "--dry-run"]), 2);
    assert_eq!(valid(&doc)["schema"], "amiref/build/v1");
    // The example genomics-pipeline has no user_data: nothing to build, nothing changed.
    let before = inventory(&world(&s));
    let doc = document_with_code(&mut build_json(&s, &["genomics-pipeline"]), 2);
    assert_eq!(valid(&doc)["error"]["kind"], "invalid_input", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user_data"),
        "{doc:#}"
    );
    assert_eq!(inventory(&world(&s)), before);
}

/// A copy of the example python-ml in the sandbox, to change as a template's owner would.
fn own_python_ml(s: &Sandbox) -> String {
    let text = std::fs::read_to_string(common::templates_dir().join("python-ml.yml")).unwrap();
    let path = s.write("python-ml.yml", &text);
    path.to_str().unwrap().to_owned()
}

#[test]
fn refresh_rebuilds_only_what_went_stale_and_says_why() {
    let s = Sandbox::new();
    let template = own_python_ml(&s);
    // No image yet: missing, not stale; a dry run builds nothing.
    let doc = stdout_json(
        s.on_demo()
            .args(["--output", "json", "refresh", &template, "--dry-run"])
            .assert()
            .success()
            .get_output(),
    );
    let check = &valid(&doc)["result"]["checks"][0];
    assert_eq!(doc["result"]["outcome"], "planned");
    assert_eq!(check["status"], "missing", "{check:#}");
    assert_eq!(check["plan"]["action"], "keep");
    let built = success_json(&mut build_json(&s, &[&template]));
    let image = built["images"][0]["image"].clone();
    // Just built: fresh.
    let fresh = success_json(s.on_demo().args(["--output", "json", "refresh", &template]));
    assert_eq!(fresh["outcome"], "refreshed");
    assert_eq!(fresh["plan"]["checks"][0]["status"], "fresh", "{fresh:#}");
    assert_eq!(fresh["rebuilt"], serde_json::json!([]));
    // The template's script changes: its image is stale for that reason alone.
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        text.replace("jupyterlab\n", "jupyterlab pandas\n"),
    )
    .unwrap();
    let before = inventory(&world(&s));
    s.on_demo()
        .args(["refresh", &template, "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("STALE: the template changed"))
        .stdout(predicate::str::contains("would be rebuilt as 2.1.0"));
    assert_eq!(inventory(&world(&s)), before);
    let doc = stdout_json(
        s.on_demo()
            .args(["--output", "json", "refresh", &template])
            .assert()
            .success()
            .get_output(),
    );
    let refreshed = &valid(&doc)["result"];
    let reasons = &refreshed["plan"]["checks"][0]["reasons"];
    assert_eq!(reasons.as_array().unwrap().len(), 1, "{reasons}");
    assert_eq!(reasons[0]["reason"], "fingerprint");
    let rebuilt = &refreshed["rebuilt"];
    assert_eq!(rebuilt.as_array().unwrap().len(), 1, "{refreshed:#}");
    assert_eq!(rebuilt[0]["previous"], image);
    assert_ne!(rebuilt[0]["built"]["image"], image);
    assert_eq!(refreshed["deprecated"][0]["image"], image);
    assert!(refreshed["deprecated"][0]["after"].is_string());
}

#[test]
fn plan_decides_per_region_writes_html_and_applies() {
    let s = Sandbox::new();
    let usage = s.write(
        "usage.yml",
        "usage:\n  - {template: python-ml, region: us-east-1, launches_per_month: 400}\n  - {template: python-ml, region: us-west-2, launches_per_month: 300}\n  - {template: python-ml, region: eu-west-1, launches_per_month: 2}\n",
    );
    let html = s.path().join("plan.html");
    let mut plan = s.on_demo();
    plan.args([
        "plan",
        "python-ml",
        "--regions",
        "us-east-1,us-west-2,eu-west-1",
    ])
    .arg("--usage")
    .arg(&usage)
    .arg("--html")
    .arg(&html);
    let doc = stdout_json(
        plan.args(["--output", "json"])
            .assert()
            .success()
            .get_output(),
    );
    let cells = valid(&doc)["result"]["rows"][0]["cells"]
        .as_array()
        .unwrap();
    let decisions: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| {
            (
                c["region"].as_str().unwrap(),
                c["decision"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("eu-west-1", "script"),
            ("us-east-1", "build_here"),
            ("us-west-2", "copy_from_nearest")
        ]
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        assert!(page.contains(region), "{region} not in the HTML report");
    }
    // For people: the planner's table.
    s.on_demo()
        .args([
            "plan",
            "python-ml",
            "--regions",
            "us-east-1,us-west-2,eu-west-1",
        ])
        .arg("--usage")
        .arg(&usage)
        .assert()
        .success()
        .stdout(predicate::str::contains("build here"))
        .stdout(predicate::str::contains("copy from us-east-1"));
    // --apply builds in us-east-1 and copies to us-west-2; nothing in eu-west-1.
    let before = inventory(&world(&s));
    let doc = stdout_json(
        s.on_demo()
            .args(["--output", "json", "plan", "python-ml"])
            .args(["--regions", "us-east-1,us-west-2,eu-west-1", "--apply"])
            .arg("--usage")
            .arg(&usage)
            .assert()
            .success()
            .get_output(),
    );
    let applied = &valid(&doc)["result"];
    let images = &applied["builds"][0]["images"][0]["distribution"]["images"];
    let regions: Vec<&String> = images.as_object().unwrap().keys().collect();
    assert_eq!(regions, ["us-east-1", "us-west-2"], "{applied:#}");
    let after = inventory(&world(&s));
    assert_eq!(after.images.len(), before.images.len() + 2);
    assert_eq!(after.live_instances, before.live_instances);
}

/// A world with two builders of a build: one past its `amiref:expires`, one not.
const LEFTOVER_WORLD: &str = r#"
description: an interrupted build's builders, one expired
start: 2026-11-01T09:00:00Z
caller: "123456789012"
regions:
  us-east-1:
instance_types:
  - name: m6i.large
images:
  - {name: base, id: ami-00000000000000001, region: us-east-1, architecture: x86_64, created: 2026-10-01T00:00:00Z, volume_gib: 8}
instances:
  - id: i-00000000000000001
    region: us-east-1
    image: ami-00000000000000001
    instance_type: m6i.large
    tags: {"amiref:build-id": bld-0123456789abcdef, "amiref:build-role": builder, "amiref:expires": "2026-10-31T00:00:00Z"}
  - id: i-00000000000000002
    region: us-east-1
    image: ami-00000000000000001
    instance_type: m6i.large
    tags: {"amiref:build-id": bld-0123456789abcdef, "amiref:build-role": builder, "amiref:expires": "2026-11-02T00:00:00Z"}
"#;

#[test]
fn cleanup_removes_expired_leftovers_only() {
    let s = Sandbox::new();
    let world_file = s.write("leftovers.yaml", LEFTOVER_WORLD);
    let doc = stdout_json(
        s.on_world(&world_file)
            .args([
                "--output",
                "json",
                "build",
                "--cleanup",
                "--regions",
                "us-east-1",
            ])
            .assert()
            .success()
            .get_output(),
    );
    let removed = &valid(&doc)["result"]["removed"];
    assert_eq!(
        removed,
        &serde_json::json!([{
            "build": "bld-0123456789abcdef",
            "region": "us-east-1",
            "kind": "instance",
            "id": "i-00000000000000001"
        }]),
        "{doc:#}"
    );
    let shown = success_json(
        s.on_world(&world_file)
            .args(["--output", "json", "world", "show"]),
    );
    let live = inventory(&shown["world"]).live_instances;
    assert_eq!(live, BTreeSet::from(["i-00000000000000002".to_owned()]));
    s.on_world(&world_file)
        .args(["build", "--cleanup", "--regions", "us-east-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("No expired build leftovers"));
}

#[test]
fn a_build_writes_a_signed_registry_entry_with_what_it_measured() {
    let s = Sandbox::new();
    let registry = s.write("lab.yml", "schema_version: 1\ncommunity_amis: {}\n");
    let key = s.path().join("lab.key");
    let trust = s.path().join("trust.yml");
    s.amiref()
        .args(["registry", "keygen", "--publisher", "lab@uni", "--out"])
        .arg(&key)
        .arg("--trust-store")
        .arg(&trust)
        .assert()
        .success();
    s.config(&format!(
        "templates: [{:?}]\ncommunities:\n  lab:\n    registry: {:?}\n    key: {:?}\nbuild:\n  registry: lab\n",
        common::templates_dir().display().to_string(),
        registry.display().to_string(),
        key.display().to_string(),
    ));
    let built = success_json(&mut build_json(
        &s,
        &["python-ml", "--regions", "us-east-1,us-west-2"],
    ));
    let entry = &built["images"][0]["distribution"]["registry"];
    assert_eq!(entry["outcome"], "written", "{entry:#}");
    assert_eq!(entry["change"], "created");
    assert_eq!(entry["publisher"], "lab@uni");
    // The entry holds the measured times and verifies with the publisher's key.
    let text = std::fs::read_to_string(&registry).unwrap();
    assert!(text.contains("script_ready_secs"), "{text}");
    s.amiref()
        .args(["registry", "verify"])
        .arg(&registry)
        .arg("--image-registry-keys")
        .arg(&trust)
        .assert()
        .success();
    // For people: the entry, where and by whom.
    s.on_demo()
        .args(["build", "python-ml", "--regions", "us-east-1,us-west-2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("registry: python-ml 2.1.0 in"))
        .stdout(predicate::str::contains("signed by lab@uni"))
        .stdout(predicate::str::contains("(already there)"));
}
