//! `amiref audit verify` and `amiref audit show` on the demo world's audit log, run as a
//! user runs them (HOME and the XDG directories in a sandbox).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::common;

use predicates::prelude::*;

use common::cases::LAB_IMAGE;
use common::{Sandbox, document_with_code, success_json};

/// A sandbox whose world log holds a deprecation (written ahead) and its undoing.
fn with_changes() -> Sandbox {
    let s = Sandbox::new();
    for args in [
        ["ami", "deprecate", LAB_IMAGE, "--at", "30d"].as_slice(),
        ["ami", "deprecate", LAB_IMAGE, "--undo"].as_slice(),
    ] {
        s.on_demo().args(args).assert().success();
    }
    s
}

fn log(s: &Sandbox) -> std::path::PathBuf {
    s.state_dir().join("audit.jsonl")
}

#[test]
fn verify_reports_an_intact_log_and_says_signatures_were_not_checked() {
    let s = with_changes();
    s.on_demo()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("intact")
                .and(predicate::str::contains("signatures not checked")),
        );
    let result = success_json(s.on_demo().args(["audit", "verify", "--output", "json"]));
    assert_eq!(result["verification"]["problem"], serde_json::Value::Null);
    assert!(result["verification"]["record_count"].as_u64().unwrap() >= 4);
    assert_eq!(result["verification"]["signatures_checked"], false);
}

#[test]
fn verify_finds_an_edited_record_and_exits_1() {
    let s = with_changes();
    let path = log(&s);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen(
        "\"operation\":\"enable_deprecation\"",
        "\"operation\":\"disable_deprecation\"",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let doc = document_with_code(s.on_demo().args(["audit", "verify", "--output", "json"]), 1);
    assert_eq!(doc["ok"], false);
    assert_eq!(
        doc["result"]["verification"]["problem"]["kind"], "edited",
        "{doc}"
    );
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was edited")
    );
    // A file named on the command line is checked the same way.
    s.on_demo()
        .args(["audit", "verify"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("was edited"));
}

#[test]
fn verify_checks_digests_against_the_configured_key() {
    let s = Sandbox::new();
    let key = s.path().join("audit.key");
    s.amiref()
        .args(["registry", "keygen", "--publisher", "audit@lab", "--out"])
        .arg(&key)
        .assert()
        .success();
    s.config(&format!(
        "templates: [{:?}]\naudit:\n  signing_key: {:?}\n  digest_every: 2\n",
        common::templates_dir().display().to_string(),
        key.display().to_string()
    ));
    s.on_demo()
        .args(["ami", "deprecate", LAB_IMAGE, "--at", "30d"])
        .assert()
        .success();
    let result = success_json(s.on_demo().args(["audit", "verify", "--output", "json"]));
    let digests = result["verification"]["digests"].as_array().unwrap();
    assert!(!digests.is_empty());
    assert!(
        digests.iter().all(|d| d["status"]["status"] == "valid"),
        "{digests:?}"
    );
    assert_eq!(result["verification"]["signatures_checked"], true);
}

#[test]
fn show_filters_records_and_prints_json() {
    let s = with_changes();
    s.on_demo()
        .args(["audit", "show", "--operation", "enable_deprecation"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("intended")
                .and(predicate::str::contains("enable_deprecation")),
        );
    let result = success_json(s.on_demo().args([
        "audit",
        "show",
        "--image",
        LAB_IMAGE,
        "--operation",
        "undeprecate",
        "--output",
        "json",
    ]));
    let records = result["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["record"]["target"], LAB_IMAGE);
    let none = success_json(s.on_demo().args([
        "audit",
        "show",
        "--since",
        "2999-01-01",
        "--output",
        "json",
    ]));
    assert_eq!(none["records"].as_array().unwrap().len(), 0);
    s.on_demo()
        .args(["audit", "show", "--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
}
