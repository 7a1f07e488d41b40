//! `amiref compliance` on the demo world, run as a user runs it: the JSON document against
//! its schema, the exit codes `--fail-on` asks for, the HTML page, and bad input.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::common;
use crate::http;

use common::{Sandbox, document_with_code};
use predicates::prelude::*;

const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The demo's report as JSON, checked against docs/reports/compliance.schema.json.
fn report(s: &Sandbox, extra: &[&str]) -> serde_json::Value {
    let mut cmd = s.on_demo();
    cmd.args(["compliance", "--output", "json"]).args(extra);
    let output = cmd.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    amiref_report::schema::validate(&doc).unwrap_or_else(|v| panic!("{v}\n{doc:#}"));
    assert_eq!(doc["schema"], "amiref/compliance/v1");
    doc
}

#[test]
fn the_json_report_matches_its_schema_and_covers_every_control_and_region() {
    let s = Sandbox::new();
    let doc = report(&s, &[]);
    let result = &doc["result"];
    assert_eq!(result["controls"].as_array().unwrap().len(), 13);
    let regions = result["regions"].as_array().unwrap();
    assert!(regions.len() > 1, "every region of the world: {regions:?}");
    for control in result["controls"].as_array().unwrap() {
        // One outcome per region; the registries' control, one for the registries.
        let expected = match control["control"]["id"].as_str() {
            Some("amiref-registry-signature") => 1,
            _ => regions.len(),
        };
        assert_eq!(
            control["outcomes"].as_array().unwrap().len(),
            expected,
            "{control}"
        );
    }
    for finding in result["findings"].as_array().unwrap() {
        for key in ["control", "severity", "resource", "evidence", "remedy"] {
            assert!(!finding[key].is_null(), "{key} in {finding}");
        }
    }
    // Without --fail-on, findings alone never fail the command.
    assert_eq!(
        doc["ok"],
        result["read_failures"].as_array().unwrap().is_empty()
    );

    let one = report(&s, &["--regions", "us-east-1", "--no-launch-permissions"]);
    assert_eq!(one["result"]["scanned"].as_array().unwrap().len(), 1);
    assert!(!one["result"]["notes"].as_array().unwrap().is_empty());
}

#[test]
fn fail_on_exits_4_at_the_worst_severity_found_and_0_above_it() {
    let s = Sandbox::new();
    let doc = report(&s, &["--no-launch-permissions"]);
    let findings = doc["result"]["findings"].as_array().unwrap();
    assert!(
        doc["result"]["read_failures"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let worst = findings
        .iter()
        .filter_map(|f| SEVERITIES.iter().position(|s| f["severity"] == *s))
        .max()
        .expect("the demo world has findings");
    let gated = |severity: &str, code: i32| {
        let mut cmd = s.on_demo();
        cmd.args(["compliance", "--output", "json", "--no-launch-permissions"])
            .args(["--fail-on", severity]);
        document_with_code(&mut cmd, code)
    };
    let failed = gated(SEVERITIES[worst], 4);
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["error"]["kind"], "partial_failure");
    assert_eq!(failed["error"]["exit_code"], 4);
    assert_eq!(failed["error"]["details"]["fail_on"], SEVERITIES[worst]);
    assert!(
        failed["result"]["findings"].is_array(),
        "the report beside the error"
    );
    if let Some(above) = SEVERITIES.get(worst + 1) {
        assert_eq!(gated(above, 0)["ok"], true);
    }
    // Text: the same exit code, the error on stderr.
    s.on_demo()
        .args([
            "compliance",
            "--no-launch-permissions",
            "--fail-on",
            SEVERITIES[worst],
        ])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("cis-2.1.5"))
        .stderr(predicate::str::contains("--fail-on"));
}

/// For a person: a row for each region with something to say, and one for the regions with
/// nothing to check; each finding names its region and its evidence once.
#[test]
fn the_text_report_is_a_row_per_region_that_found_and_one_for_the_rest() {
    let s = Sandbox::new();
    let output = s.on_demo().arg("compliance").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let json = report(&s, &[]);
    let regions = json["result"]["regions"].as_array().unwrap().len();
    assert!(regions > 2, "{json}");

    let encryption: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("cis-2.1.2 "))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    let found = encryption.iter().filter(|l| l.contains(" failed")).count();
    assert!(found >= 1, "{text}");
    assert_eq!(
        encryption.last().copied(),
        Some(format!("    {} other regions: nothing to check", regions - found).as_str()),
        "{text}"
    );
    assert!(!text.contains("passed (0"), "{text}");
    // The finding's line names the image once, through its evidence.
    let unencrypted = text
        .lines()
        .find(|l| l.starts_with("MEDIUM cis-2.1.2 "))
        .unwrap();
    let image = unencrypted.split_whitespace().nth(3).unwrap();
    assert!(image.starts_with("ami-"), "{unencrypted}");
    assert_eq!(unencrypted.matches(image).count(), 1, "{unencrypted}");
}

#[test]
fn the_html_page_is_one_self_contained_document() {
    let s = Sandbox::new();
    let output = s
        .on_demo()
        .args([
            "compliance",
            "--output",
            "html",
            "--regions",
            "us-east-1,eu-west-1",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.trim_end().ends_with("</html>"));
    assert!(page.contains("<th>us-east-1</th>") && page.contains("<th>eu-west-1</th>"));
    // No script, no external resource (the one URL is the XHTML namespace, not fetched).
    assert!(!page.contains("<script") && !page.contains(" src=") && !page.contains(" href="));
}

#[test]
fn html_is_for_compliance_only_and_a_wrong_severity_is_usage() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["--output", "html", "world", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("compliance"));
    let mut cmd = s.on_demo();
    cmd.args(["compliance", "--output", "json", "--fail-on", "severe"]);
    let doc = document_with_code(&mut cmd, 2);
    assert_eq!(doc["error"]["kind"], "usage");
}

#[tokio::test]
async fn the_http_service_serves_the_report_and_gates_on_fail_on() {
    let s = http::Server::start(&[]);
    let a = s
        .get("/v1/compliance?regions=us-east-1&launch_permissions=false")
        .await;
    assert_eq!(a.status, 200, "{}", a.doc);
    amiref_report::schema::validate(&a.doc).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(a.doc["result"]["regions"], serde_json::json!(["us-east-1"]));
    let gated = s
        .get("/v1/compliance?regions=us-east-1&launch_permissions=false&fail_on=low")
        .await;
    assert_eq!(gated.status, 422, "{}", gated.doc);
    assert_eq!(gated.doc["error"]["kind"], "partial_failure");
    assert!(gated.doc["result"]["findings"].is_array());
    let bad = s.get("/v1/compliance?regions=us-esat-1").await;
    assert_eq!(bad.status, 400, "{}", bad.doc);
    let unknown = s.get("/v1/compliance?fail_on=severe").await;
    assert_eq!(unknown.status, 400, "{}", unknown.doc);
}
