//! What each output mode prints for real reports: one document in JSON (success and
//! failure, valid against its schema), progress lines then the result in JSON lines, and
//! human lines that carry no control character from input.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use amiref_lifecycle::{CopyReport, DeprecateReport, LifecycleError, ProgressEvent, RetireReport};
use amiref_report::schema::{validate, validate_lines};
use amiref_report::{ErrorKind, ErrorReport, OutputMode, Printer, TemplateValidation};
use serde_json::{Value, json};

/// A copy into two regions, one of which failed with a message holding a terminal escape
/// (as a cloud or registry could send).
fn copy_with_a_failure() -> CopyReport {
    serde_json::from_value(json!({
        "source_region": "us-east-1",
        "source_image": "ami-0123456789abcdef0",
        "regions": [
            { "region": "us-west-2", "outcome": "copied", "image": "ami-0fedcba9876543210" },
            { "region": "eu-west-1", "outcome": "failed", "error": "quota \u{1b}[2Jexceeded\u{9b}31m" }
        ]
    }))
    .unwrap()
}

fn deprecated() -> DeprecateReport {
    serde_json::from_value(json!({
        "region": "us-east-1", "image": "ami-0123456789abcdef0",
        "before": null, "after": "2027-01-31T00:00:00Z", "changed": true, "dry_run": false
    }))
    .unwrap()
}

fn document(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one document ({e}):\n{stdout}"))
}

#[test]
fn json_prints_one_valid_document_for_a_success() {
    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.say("📋 deprecating");
    assert_eq!(printer.report(&deprecated()), 0);
    let doc = document(&captured.stdout());
    assert_eq!(validate(&doc).unwrap(), "image_deprecate");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["result"]["after"], "2027-01-31T00:00:00Z");
    assert!(doc.get("error").is_none());
    assert_eq!(
        captured.stderr(),
        "📋 deprecating\n",
        "narration goes to stderr"
    );
}

#[test]
fn a_report_that_records_a_failure_is_ok_false_with_result_and_error() {
    let (printer, captured) = Printer::capture(OutputMode::Json);
    assert_eq!(printer.report(&copy_with_a_failure()), 1);
    let doc = document(&captured.stdout());
    validate(&doc).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "partial_failure");
    assert_eq!(doc["error"]["exit_code"], 1);
    assert_eq!(doc["result"]["regions"][1]["outcome"], "failed");
    // JSON keeps the value faithful; the encoder escapes the control characters.
    assert_eq!(
        doc["result"]["regions"][1]["error"],
        "quota \u{1b}[2Jexceeded\u{9b}31m"
    );
    assert!(!captured.stdout().contains('\u{1b}'));
}

#[test]
fn a_failure_without_a_report_is_a_valid_document_of_the_commands_kind() {
    let (printer, captured) = Printer::capture(OutputMode::Json);
    let error = LifecycleError::refused("EC2 refuses a time in the past");
    let code = printer.fail::<DeprecateReport>(&ErrorReport::from(&error));
    assert_eq!(code, 1);
    let doc = document(&captured.stdout());
    assert_eq!(validate(&doc).unwrap(), "image_deprecate");
    assert_eq!(doc["ok"], false);
    assert!(doc.get("result").is_none());
    assert_eq!(doc["error"]["kind"], "lifecycle");
    assert_eq!(
        doc["error"]["message"],
        "refused: EC2 refuses a time in the past"
    );
    assert_eq!(captured.stderr(), "");

    let (printer, captured) = Printer::capture(OutputMode::Json);
    let aborted = ErrorReport::new(ErrorKind::Aborted, "the copy was declined");
    assert_eq!(printer.fail::<CopyReport>(&aborted), 3);
    assert_eq!(document(&captured.stdout())["error"]["exit_code"], 3);
}

#[test]
fn json_lines_are_progress_events_then_the_result() {
    let (printer, captured) = Printer::capture(OutputMode::JsonLines);
    let events: Vec<ProgressEvent> = serde_json::from_value(json!([
        { "event": "copy_started", "from": "us-east-1", "to": "us-west-2", "image": "ami-0fedcba9876543210" },
        { "event": "waiting", "region": "us-west-2", "image": "ami-0fedcba9876543210",
          "state": "pending", "elapsed_secs": 60, "timeout_secs": 3600 },
        { "event": "available", "region": "us-west-2", "image": "ami-0fedcba9876543210", "elapsed_secs": 600 }
    ]))
    .unwrap();
    for e in events {
        amiref_lifecycle::ProgressSink::emit(&printer, e);
    }
    printer.say("narration stays off stdout");
    printer.report(&copy_with_a_failure());
    let out = captured.stdout();
    let kinds = validate_lines(&out).unwrap_or_else(|(line, v)| panic!("line {line}: {v}"));
    assert_eq!(
        kinds,
        ["progress", "progress", "progress", "image_copy"],
        "{out}"
    );
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["result"]["event"], "copy_started");
    assert_eq!(captured.stderr(), "narration stays off stdout\n");
}

#[test]
fn human_output_escapes_control_characters_from_input() {
    let (printer, captured) = Printer::capture(OutputMode::Human);
    printer.say("✅ Found \u{1b}]8;;https://evil\u{7}a link");
    assert_eq!(printer.report(&copy_with_a_failure()), 1);
    let (out, err) = (captured.stdout(), captured.stderr());
    assert!(
        out.contains("eu-west-1        failed: quota \\x1b[2Jexceeded\\x9b31m"),
        "{out}"
    );
    assert!(out.contains("✅ Found \\x1b]8;;https://evil\\x07a link"));
    assert!(err.starts_with("error: the copy of ami-0123456789abcdef0 failed in 1 of 2"));
    for text in [&out, &err] {
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && amiref_report::is_unsafe(c)),
            "{text:?}"
        );
    }
}

#[test]
fn human_progress_goes_to_stderr_without_the_repeated_waits() {
    let (printer, captured) = Printer::capture(OutputMode::Json);
    let events: Vec<ProgressEvent> = serde_json::from_value(json!([
        { "event": "waiting", "region": "us-west-2", "image": "ami-0fedcba9876543210",
          "state": "pending", "elapsed_secs": 60, "timeout_secs": 3600 },
        { "event": "available", "region": "us-west-2", "image": "ami-0fedcba9876543210", "elapsed_secs": 605 }
    ]))
    .unwrap();
    for e in events {
        amiref_lifecycle::ProgressSink::emit(&printer, e);
    }
    assert_eq!(captured.stdout(), "");
    assert_eq!(
        captured.stderr(),
        "us-west-2        ✓ ami-0fedcba9876543210 available after 10m05s\n"
    );
}

#[test]
fn money_is_rounded_in_json_and_for_people() {
    let report: RetireReport = serde_json::from_value(json!({
        "template": "python-ml", "regions": ["us-east-1"], "executed": false, "entries": [],
        "freed_gib": 0, "monthly_saving_usd": 0.0010500000000000002
    }))
    .unwrap();
    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.report(&report);
    let out = captured.stdout();
    assert!(out.contains("\"monthly_saving_usd\": 0.00105"), "{out}");
    validate(&document(&out)).unwrap();

    let (printer, captured) = Printer::capture(OutputMode::Human);
    printer.report(&report);
    assert_eq!(
        captured.stdout(),
        "no images of template \"python-ml\" (tag amiref:template) in us-east-1\n\
         would free 0 GiB of snapshots, saving up to $0.0011 a month (dry run: pass --execute to retire)\n"
    );
}

#[test]
fn template_validation_reports_every_problem_in_each_mode() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yml");
    std::fs::write(
        &good,
        "name: good\ninstance_type: m6i.large\nuser_data: |\n  #!/bin/bash\n  echo hi\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "name: a\nami_config:\n  strategy: ami_prefered\n  fallback_strategy: error\n",
    )
    .unwrap();
    let check = TemplateValidation::check([&good, &bad]);

    let (printer, captured) = Printer::capture(OutputMode::Json);
    assert_eq!(printer.report(&check), 1);
    let doc = document(&captured.stdout());
    assert_eq!(validate(&doc).unwrap(), "template_validation");
    assert_eq!(doc["error"]["kind"], "invalid_template");
    let paths = &doc["result"]["paths"];
    assert_eq!(paths[0]["valid"], true, "{}", paths[0]);
    assert_eq!(paths[0]["templates"][0]["name"], "good");
    let problem = &paths[1]["problems"][0];
    assert_eq!(problem["path"], "ami_config.strategy");
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(3), Some(13))
    );
    assert_eq!(problem["kind"], "invalid_value");
    assert_eq!(problem["help"], "did you mean `ami_preferred`?");

    let (printer, captured) = Printer::capture(OutputMode::Human);
    assert_eq!(printer.report(&check), 1);
    assert!(
        captured.stdout().starts_with("ok  "),
        "{}",
        captured.stdout()
    );
    assert!(captured.stdout().contains("good.yml  good  "));
    let err = captured.stderr();
    assert!(
        err.contains("bad.yml:3:13: ami_config.strategy: found"),
        "{err}"
    );
    assert!(
        err.contains("  help: did you mean `ami_preferred`?"),
        "{err}"
    );
    assert!(
        err.ends_with("error: 1 of 2 invalid (1 problem)\n"),
        "{err}"
    );
}

#[test]
fn documents_that_break_their_schema_are_refused() {
    let mut doc = json!({
        "schema": "amiref/image_deprecate/v1",
        "ok": true,
        "result": {
            "region": "us-east-1", "image": "ami-0123456789abcdef0",
            "before": null, "after": null, "changed": "yes", "dry_run": false
        }
    });
    let violation = validate(&doc).unwrap_err().to_string();
    assert!(violation.contains("/result/changed"), "{violation}");
    doc["result"]["changed"] = json!(true);
    validate(&doc).unwrap();
    // ok: true with an error, ok: false without one, an unknown kind.
    doc["error"] = json!({ "kind": "cloud", "message": "x", "exit_code": 1, "details": null });
    assert!(validate(&doc).is_err());
    let failure = json!({ "schema": "amiref/image_deprecate/v1", "ok": false });
    assert!(validate(&failure).is_err());
    let unknown = json!({ "schema": "amiref/nothing/v1", "ok": true, "result": {} });
    assert!(
        validate(&unknown)
            .unwrap_err()
            .to_string()
            .contains("names no amiref report")
    );
}

#[test]
fn a_progress_poll_that_says_the_same_again_is_not_repeated_for_people() {
    use amiref_lifecycle::ProgressEvent;
    use amiref_lifecycle::ProgressSink;
    let (printer, captured) = amiref_report::Printer::capture(amiref_report::OutputMode::Human);
    let status = |s: &str| ProgressEvent::ChangeSet {
        id: "cs-1".into(),
        status: s.into(),
    };
    for s in ["PREPARING", "APPLYING", "APPLYING", "APPLYING", "SUCCEEDED"] {
        printer.emit(status(s));
    }
    let lines: Vec<_> = captured.stderr().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
}
