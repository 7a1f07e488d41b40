//! `template validate` and `template schema`, and a template that cannot be loaded.

use std::path::{Path, PathBuf};

use amiref_template::{Problem, Template, TemplateError, TemplateSet};
use schemars::JsonSchema;
use serde::Serialize;

use crate::schema::string_enum;
use crate::{ErrorKind, ErrorReport, Human, Report};

/// One problem of a template, located.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProblemJson {
    /// The file (or origin) the problem is in.
    pub file: String,
    /// `syntax`, `unknown_field`, `missing_field`, `wrong_type`, `invalid_value`,
    /// `conflict`.
    #[schemars(schema_with = "problem_kind_schema")]
    pub kind: &'static str,
    /// The field, `ami_config.strategy` (empty for the whole document).
    pub path: String,
    /// The line, from 1, when known.
    pub line: Option<usize>,
    /// The column, from 1, when known.
    pub column: Option<usize>,
    /// What the template says.
    pub found: String,
    /// What would be valid.
    pub expected: String,
    /// A suggestion or an explanation.
    pub help: Option<String>,
}

fn problem_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "The kind of a template problem",
        &[
            "syntax",
            "unknown_field",
            "missing_field",
            "wrong_type",
            "invalid_value",
            "conflict",
        ],
    )
}

impl ProblemJson {
    fn new(file: &str, p: &Problem) -> Self {
        Self {
            file: file.to_owned(),
            kind: p.kind.as_str(),
            path: p.path.to_string(),
            line: p.location.map(|l| l.line),
            column: p.location.map(|l| l.column),
            found: p.found.clone(),
            expected: p.expected.clone(),
            help: p.help.clone(),
        }
    }
}

/// Every problem of an error, each with the file it is in.
pub fn problems(error: &TemplateError) -> Vec<ProblemJson> {
    let mut all = Vec::new();
    collect_problems(error, &mut all);
    all
}

fn collect_problems(error: &TemplateError, into: &mut Vec<ProblemJson>) {
    match error {
        TemplateError::Invalid(invalid) => into.extend(
            invalid
                .problems
                .iter()
                .map(|p| ProblemJson::new(&invalid.origin, p)),
        ),
        TemplateError::Several { errors } => {
            for e in errors {
                collect_problems(e, into);
            }
        }
        _ => {}
    }
}

/// A template that could not be loaded: `invalid_template` with its problems as details,
/// or `io` when the file could not be read.
impl From<&TemplateError> for ErrorReport {
    fn from(e: &TemplateError) -> Self {
        let kind = match e {
            TemplateError::Read { .. } => ErrorKind::Io,
            _ => ErrorKind::InvalidTemplate,
        };
        let report = ErrorReport::from_error(kind, e);
        let problems = problems(e);
        if problems.is_empty() {
            report
        } else {
            report.details(serde_json::json!({ "problems": problems }))
        }
    }
}

/// A template read from a file.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ValidTemplateJson {
    /// Its name.
    pub name: String,
    /// The file it is in.
    pub file: String,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// One argument of `template validate`: a file, or a directory checked together.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CheckedPathJson {
    /// The argument.
    pub path: String,
    /// Whether every template in it is valid.
    pub valid: bool,
    /// The templates read (empty when invalid).
    pub templates: Vec<ValidTemplateJson>,
    /// The error, for a person; `null` when valid.
    pub error: Option<String>,
    /// Every problem, located.
    pub problems: Vec<ProblemJson>,
}

/// What `template validate` found (`amiref/template_validation/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TemplateValidationJson {
    /// Whether every argument is valid.
    pub valid: bool,
    /// How many arguments are not.
    pub invalid: usize,
    /// How many problems were found, listed or not.
    pub problem_count: usize,
    /// Per argument, in the order given.
    pub paths: Vec<CheckedPathJson>,
}

/// One argument checked.
#[derive(Debug)]
pub struct CheckedPath {
    /// The argument.
    pub path: PathBuf,
    /// The templates read, each with the file it came from, or the error.
    pub result: Result<Vec<(PathBuf, Template)>, TemplateError>,
}

impl CheckedPath {
    /// Checks a file, or a directory's `*.yml` and `*.yaml` files together.
    pub fn check(path: &Path) -> Self {
        let result = if path.is_dir() {
            TemplateSet::load_dir(path).map(|set| {
                set.iter()
                    .map(|t| (set.source(&t.name).unwrap_or(path).to_owned(), t.clone()))
                    .collect()
            })
        } else {
            Template::load_file(path).map(|t| vec![(path.to_owned(), t)])
        };
        Self {
            path: path.to_owned(),
            result,
        }
    }
}

/// `template validate FILE...`: `ok  FILE  NAME  FINGERPRINT` per template on stdout, every
/// problem on stderr. Any invalid argument is an `invalid_template` failure.
#[derive(Debug)]
pub struct TemplateValidation {
    /// Per argument, in the order given.
    pub paths: Vec<CheckedPath>,
}

impl TemplateValidation {
    /// Checks each path.
    pub fn check<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Self {
        Self {
            paths: paths
                .into_iter()
                .map(|p| CheckedPath::check(p.as_ref()))
                .collect(),
        }
    }

    fn invalid(&self) -> usize {
        self.paths.iter().filter(|c| c.result.is_err()).count()
    }

    fn problem_count(&self) -> usize {
        self.paths
            .iter()
            .filter_map(|c| c.result.as_ref().err())
            .map(|e| e.problem_count().max(1))
            .sum()
    }
}

impl Report for TemplateValidation {
    const KIND: &'static str = "template_validation";
    type Json = TemplateValidationJson;

    fn to_json(&self) -> TemplateValidationJson {
        let paths = self
            .paths
            .iter()
            .map(|c| match &c.result {
                Ok(templates) => CheckedPathJson {
                    path: c.path.display().to_string(),
                    valid: true,
                    templates: templates
                        .iter()
                        .map(|(file, t)| ValidTemplateJson {
                            name: t.name.clone(),
                            file: file.display().to_string(),
                            fingerprint: t.fingerprint().to_string(),
                        })
                        .collect(),
                    error: None,
                    problems: Vec::new(),
                },
                Err(e) => CheckedPathJson {
                    path: c.path.display().to_string(),
                    valid: false,
                    templates: Vec::new(),
                    error: Some(e.to_string()),
                    problems: problems(e),
                },
            })
            .collect();
        TemplateValidationJson {
            valid: self.invalid() == 0,
            invalid: self.invalid(),
            problem_count: self.problem_count(),
            paths,
        }
    }

    fn human(&self, out: &mut Human) {
        for c in &self.paths {
            match &c.result {
                Ok(templates) => {
                    for (file, t) in templates {
                        out.line(format!(
                            "ok  {}  {}  {}",
                            file.display(),
                            t.name,
                            t.fingerprint()
                        ));
                    }
                }
                Err(e) => {
                    out.err(e.to_string());
                }
            }
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        let invalid = self.invalid();
        (invalid > 0).then(|| {
            let problems = self.problem_count();
            ErrorReport::new(
                ErrorKind::InvalidTemplate,
                format!(
                    "{invalid} of {} invalid ({problems} problem{})",
                    self.paths.len(),
                    if problems == 1 { "" } else { "s" }
                ),
            )
        })
    }
}

/// `template schema`: the template format's JSON Schema, printed as it is for people (and
/// editors), as the `result` of a document in JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSchema(pub serde_json::Value);

impl TemplateSchema {
    /// The format's schema, from `amiref_template::json_schema`.
    pub fn current() -> Self {
        Self(amiref_template::json_schema())
    }
}

/// The template format's JSON Schema, as a JSON value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct TemplateSchemaJson(pub serde_json::Value);

impl JsonSchema for TemplateSchemaJson {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TemplateSchema".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "The template format's JSON Schema (docs/template.schema.json)",
            "required": ["$schema"]
        })
    }
}

impl Report for TemplateSchema {
    const KIND: &'static str = "template_schema";
    type Json = TemplateSchemaJson;

    fn to_json(&self) -> TemplateSchemaJson {
        TemplateSchemaJson(self.0.clone())
    }

    fn human(&self, out: &mut Human) {
        out.text(serde_json::to_string_pretty(&self.0).unwrap_or_default());
    }
}
