//! The JSON Schema of every report's document, as checked in under `docs/reports/`.
//!
//! Each document is the envelope `{"schema", "ok", "result", "error"}` with the report's
//! `result`; [`catalog`] lists every kind, and a test keeps `docs/reports/<kind>.schema.json`
//! equal to what the types generate (`AMIREF_BLESS=1` rewrites them).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use crate::printer::schema_id;
use crate::report::{ErrorReport, Report};

/// A string schema that allows only `values`.
pub fn string_enum(description: &str, values: &[&str]) -> Schema {
    let schema = json!({ "type": "string", "description": description, "enum": values });
    Schema::try_from(schema).unwrap_or_default()
}

/// The schema of the document a command producing `R` prints, success or failure.
pub fn document_schema<R: Report>() -> Value {
    document_schema_for::<R::Json>(R::KIND)
}

/// The schema of a document of `kind` whose `result` is a `T`.
pub fn document_schema_for<T: JsonSchema>(kind: &str) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let result = generator.subschema_for::<T>();
    let error = generator.subschema_for::<ErrorReport>();
    let definitions = generator.take_definitions(true);
    let id = schema_id(kind);
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("amiref {kind} report"),
        "description": format!(
            "What an amiref command prints on stdout with --output json (the last line with \
             --output jsonl): `{id}`. `ok` is true exactly when there is no `error`; `result` \
             is present whenever the command got as far as a report, also beside an error the \
             report itself records."
        ),
        "type": "object",
        "properties": {
            "schema": { "const": id },
            "ok": { "type": "boolean" },
            "result": result,
            "error": error,
        },
        "required": ["schema", "ok"],
        "additionalProperties": false,
        "if": { "properties": { "ok": { "const": true } } },
        "then": { "required": ["result"], "not": { "required": ["error"] } },
        "else": { "required": ["error"] },
    });
    if !definitions.is_empty() {
        schema["$defs"] = Value::Object(definitions);
    }
    schema
}

/// One report kind and its document's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSchema {
    /// The kind: the file is `docs/reports/<kind>.schema.json`.
    pub kind: &'static str,
    /// The schema.
    pub schema: Value,
}

impl ReportSchema {
    /// The entry of report `R`.
    pub fn of<R: Report>() -> Self {
        Self {
            kind: R::KIND,
            schema: document_schema::<R>(),
        }
    }

    /// The file name under `docs/reports/`.
    pub fn file_name(&self) -> String {
        format!("{}.schema.json", self.kind)
    }
}

/// Every report kind any command prints, in name order.
pub fn catalog() -> Vec<ReportSchema> {
    use amiref_lifecycle as lc;
    use amiref_session as ss;
    let mut all = vec![
        ReportSchema::of::<ss::CreateImageReport>(),
        ReportSchema::of::<ss::CreateMultiReport>(),
        ReportSchema::of::<ss::PublishOutcome>(),
        ReportSchema::of::<ss::LaunchPlan>(),
        ReportSchema::of::<ss::LaunchReport>(),
        ReportSchema::of::<ss::AvailabilityReport>(),
        ReportSchema::of::<ss::ImageListReport>(),
        ReportSchema::of::<ss::RateReport>(),
        ReportSchema::of::<ss::VerifyReport>(),
        ReportSchema::of::<ss::CommunityShareReport>(),
        ReportSchema::of::<ss::AuditCheck>(),
        ReportSchema::of::<ss::AuditListing>(),
        ReportSchema::of::<ss::WorldReport>(),
        ReportSchema::of::<ss::WorldResetReport>(),
        ReportSchema::of::<amiref_registry::KeygenReport>(),
        ReportSchema::of::<amiref_registry::SignReport>(),
        ReportSchema::of::<lc::CopyReport>(),
        ReportSchema::of::<lc::ShareReport>(),
        ReportSchema::of::<lc::DeprecateReport>(),
        ReportSchema::of::<lc::RetireReport>(),
        ReportSchema::of::<lc::ProtectReport>(),
        ReportSchema::of::<lc::DisableReport>(),
        ReportSchema::of::<lc::EnableReport>(),
        ReportSchema::of::<lc::ProgressEvent>(),
        ReportSchema::of::<amiref_resolver::Resolution>(),
        ReportSchema::of::<crate::PreviewReport<'static>>(),
        ReportSchema::of::<crate::TemplateValidation>(),
        ReportSchema::of::<crate::TemplateSchema>(),
        ReportSchema::of::<amiref_build::BuildOutcome>(),
        ReportSchema::of::<amiref_build::CleanupReport>(),
        ReportSchema::of::<amiref_build::BuildEvent>(),
        ReportSchema::of::<amiref_build::refresh::RefreshOutcome>(),
        ReportSchema::of::<amiref_plan::Plan>(),
        ReportSchema::of::<ss::PlanApplyReport>(),
        ReportSchema::of::<crate::compliance::ComplianceOutcome>(),
        // A command line the launcher's parser refused, before any command ran: a failure
        // only (`error.kind` is `usage`), whatever the command.
        ReportSchema {
            kind: "usage",
            schema: document_schema_for::<()>("usage"),
        },
    ];
    all.sort_by_key(|s: &ReportSchema| s.kind);
    all
}

/// The schema of the document whose `schema` field is `id` (`amiref/resolution/v1`).
pub fn schema_for_id(id: &str) -> Option<ReportSchema> {
    catalog().into_iter().find(|s| schema_id(s.kind) == id)
}

/// Why a document does not match its report's schema.
#[cfg(feature = "validate")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The document has no `schema` string naming a known report (`amiref/<kind>/v1`).
    UnknownSchema {
        /// What its `schema` field says, if anything.
        found: Option<String>,
    },
    /// The schema itself does not compile (a bug of this crate).
    BadSchema {
        /// The report kind.
        kind: &'static str,
        /// The validator's complaint.
        message: String,
    },
    /// The document breaks its schema.
    Invalid {
        /// The report kind.
        kind: &'static str,
        /// Each error: `/result/estimate/launch_time_secs: "30" is not of type "integer"`.
        errors: Vec<String>,
    },
}

#[cfg(feature = "validate")]
impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownSchema { found: Some(id) } => write!(
                f,
                "the document's schema {id:?} names no amiref report; expected amiref/<kind>/v1 \
                 with a kind of {}",
                catalog()
                    .iter()
                    .map(|s| s.kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::UnknownSchema { found: None } => f.write_str(
                "the document has no \"schema\" string; expected an object with \"schema\": \
                 \"amiref/<kind>/v1\"",
            ),
            Self::BadSchema { kind, message } => {
                write!(f, "the schema of {kind} does not compile: {message}")
            }
            Self::Invalid { kind, errors } => write!(
                f,
                "the document does not match docs/reports/{kind}.schema.json:\n  {}",
                errors.join("\n  ")
            ),
        }
    }
}

#[cfg(feature = "validate")]
impl std::error::Error for Violation {}

/// Checks a document (one JSON value a command printed) against the schema its `schema`
/// field names.
///
/// ```
/// # #[cfg(feature = "validate")] {
/// let doc = serde_json::json!({
///     "schema": "amiref/image_deprecate/v1",
///     "ok": false,
///     "error": { "kind": "lifecycle", "message": "refused", "exit_code": 1, "details": null }
/// });
/// amiref_report::schema::validate(&doc).unwrap();
/// assert!(amiref_report::schema::validate(&serde_json::json!({"ok": true})).is_err());
/// # }
/// ```
#[cfg(feature = "validate")]
pub fn validate(document: &Value) -> Result<&'static str, Violation> {
    let id = document.get("schema").and_then(Value::as_str);
    let Some(entry) = id.and_then(schema_for_id) else {
        return Err(Violation::UnknownSchema {
            found: id.map(str::to_owned),
        });
    };
    let validator = jsonschema::validator_for(&entry.schema).map_err(|e| Violation::BadSchema {
        kind: entry.kind,
        message: e.to_string(),
    })?;
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(entry.kind)
    } else {
        Err(Violation::Invalid {
            kind: entry.kind,
            errors,
        })
    }
}

/// The kinds of progress lines `--output jsonl` prints before its result: the lifecycle's
/// events and a build's.
pub const PROGRESS_KINDS: [&str; 2] = ["progress", "build_event"];

/// Checks every line of `--output jsonl` output: each a document of its schema, the
/// progress lines ([`PROGRESS_KINDS`]) first and one result last. Returns the kinds, in
/// order.
#[cfg(feature = "validate")]
pub fn validate_lines(text: &str) -> Result<Vec<&'static str>, (usize, Violation)> {
    let mut kinds = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let value: Value = serde_json::from_str(line).map_err(|e| {
            (
                i + 1,
                Violation::Invalid {
                    kind: "progress",
                    errors: vec![format!("not JSON: {e}")],
                },
            )
        })?;
        kinds.push(validate(&value).map_err(|v| (i + 1, v))?);
    }
    let is_progress = |k: &&str| PROGRESS_KINDS.contains(k);
    let results = kinds.iter().filter(|k| !is_progress(k)).count();
    let last_is_result = kinds.last().is_some_and(|k| !is_progress(k));
    if results != 1 || !last_is_result {
        return Err((
            text.lines().count(),
            Violation::Invalid {
                kind: "progress",
                errors: vec![format!(
                    "expected progress lines then exactly one result line, found {kinds:?}"
                )],
            },
        ));
    }
    Ok(kinds)
}
