//! The JSON contract: with `--output json` every command prints exactly one JSON document
//! on stdout, success or failure, in one envelope (`schema`, `ok`, `result`, `error`),
//! valid against its schema in docs/reports/; with `--output jsonl` every line is a
//! document, progress events (`amiref/progress/v1`) first and the result last.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeMap;

use serde_json::Value;

use common::Sandbox;
use common::cases::cases;

/// The schema of a document's `schema` id (`amiref/resolution/v1` →
/// docs/reports/resolution.schema.json), compiled once.
struct Schemas(BTreeMap<String, jsonschema::Validator>);

impl Schemas {
    fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// The problems of `doc` against its schema; the schema file must exist.
    fn problems(&mut self, doc: &Value) -> Vec<String> {
        let Some(id) = doc["schema"].as_str() else {
            return vec![format!("no `schema` string: {doc}")];
        };
        let Some(kind) = id
            .strip_prefix("amiref/")
            .and_then(|rest| rest.strip_suffix("/v1"))
        else {
            return vec![format!("`schema` is {id:?}, expected amiref/<kind>/v1")];
        };
        let path = common::repo_root().join(format!("docs/reports/{kind}.schema.json"));
        if !self.0.contains_key(kind) {
            let Ok(text) = std::fs::read_to_string(&path) else {
                return vec![format!("{id}: no schema file {}", path.display())];
            };
            let schema: Value = serde_json::from_str(&text).unwrap();
            self.0
                .insert(kind.to_owned(), jsonschema::validator_for(&schema).unwrap());
        }
        self.0[kind]
            .iter_errors(doc)
            .map(|e| format!("{id}: {e} at {}", e.instance_path))
            .collect()
    }
}

/// The envelope every document shares, whatever the command.
fn envelope_problems(doc: &Value, code: i32) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(object) = doc.as_object() else {
        return vec![format!("not an object: {doc}")];
    };
    for key in object.keys() {
        if !["schema", "ok", "result", "error"].contains(&key.as_str()) {
            problems.push(format!("unexpected top-level key {key:?}"));
        }
    }
    let ok = doc["ok"].as_bool();
    if ok != Some(code == 0) {
        problems.push(format!("`ok` is {:?} for exit {code}", doc["ok"]));
    }
    if code == 0 && doc.get("result").is_none() {
        problems.push("a success without `result`".into());
    }
    if code != 0 {
        if doc["error"]["exit_code"].as_i64() != Some(i64::from(code)) {
            problems.push(format!(
                "error.exit_code is {} for exit {code}",
                doc["error"]["exit_code"]
            ));
        }
        if !doc["error"]["kind"].is_string() || !doc["error"]["message"].is_string() {
            problems.push("a failure without error.kind and error.message".into());
        }
    }
    problems
}

#[test]
fn every_command_prints_one_document_valid_against_its_schema() {
    let sandbox = Sandbox::new();
    let mut schemas = Schemas::new();
    let mut wrong = Vec::new();
    for case in cases(&sandbox) {
        let output = case
            .command(&sandbox)
            .args(["--output", "json"])
            .output()
            .unwrap();
        let code = output.status.code().unwrap_or(-1);
        // Usage errors too: the parser's refusal is an `amiref/usage/v1` document.
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut problems = Vec::new();
        if code != case.code {
            problems.push(format!("exit {code}"));
        }
        match serde_json::from_str::<Value>(&stdout) {
            Ok(doc) => {
                problems.extend(envelope_problems(&doc, code));
                problems.extend(schemas.problems(&doc));
            }
            Err(e) => problems.push(format!("stdout is not one JSON document: {e}")),
        }
        if !problems.is_empty() {
            wrong.push(format!(
                "{}:\n  {}\nstdout:\n{stdout}\nstderr:\n{}",
                case.label(),
                problems.join("\n  "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn bad_input_the_session_refuses_is_a_document_too() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .on_demo()
        .args([
            "--output",
            "json",
            "--region",
            "us-eest-1",
            "ami",
            "resolve",
            "python-ml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let doc = common::stdout_json(&output);
    assert_eq!(doc["schema"], "amiref/resolution/v1", "{doc}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["exit_code"], 2);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean us-east-1?"),
        "{doc}"
    );
}

#[test]
fn jsonl_prints_progress_events_then_the_result() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .on_demo()
        .args(["--output", "jsonl", "ami", "create-multi", "python-ml"])
        .args([common::cases::INSTANCE, "--regions", "us-east-1,us-west-2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines = common::json_lines(&String::from_utf8(output.stdout).unwrap());
    let (last, events) = lines.split_last().unwrap();
    assert!(events.len() > 2, "{lines:?}");
    let mut schemas = Schemas::new();
    for event in events {
        assert_eq!(event["schema"], "amiref/progress/v1", "{event}");
        assert!(schemas.problems(event).is_empty(), "{event}");
    }
    assert_eq!(events[0]["result"]["event"], "create_started");
    assert!(
        events
            .iter()
            .any(|e| e["result"]["event"] == "copy_started")
    );
    assert_eq!(last["ok"], true, "{last}");
    assert!(schemas.problems(last).is_empty(), "{last}");
    // With --output json the same progress goes to stderr, and stdout is one document.
    let output = sandbox
        .on_demo()
        .args(["--output", "json", "ami", "copy", common::cases::LAB_IMAGE])
        .args(["--to", "eu-west-1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let doc = common::stdout_json(&output);
    assert_eq!(doc["ok"], true);
    assert!(!output.stderr.is_empty(), "progress went nowhere");
}
