//! `amiref template ...`: check template files and print the format's JSON Schema.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amiref_template::{Problem, Template, TemplateError, TemplateSet};
use clap::Subcommand;
use serde_json::json;

use crate::{GlobalArgs, Output};

/// Template commands.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// Check template files (or directories of them): every problem of every file is
    /// printed on stderr. Exits 0 when all are valid, 1 when any is not.
    Validate {
        /// Template files, or directories whose *.yml and *.yaml files are checked together
        /// (names must be unique within a directory).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the template format (for editors and other tools).
    Schema,
}

pub(crate) fn run(cmd: TemplateCommand, global: &GlobalArgs) -> ExitCode {
    match cmd {
        TemplateCommand::Validate { files } => validate(&files, global.output),
        TemplateCommand::Schema => {
            // A Value always serializes.
            let text =
                serde_json::to_string_pretty(&amiref_template::json_schema()).unwrap_or_default();
            print_out(&text);
            ExitCode::SUCCESS
        }
    }
}

/// What checking one argument gave: the templates read, or the error.
struct Checked {
    path: PathBuf,
    result: Result<Vec<(PathBuf, Template)>, TemplateError>,
}

/// Prints to stdout; a closed pipe (`| head`) ends the output quietly instead of
/// panicking as `println!` would.
fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn check(path: &Path) -> Checked {
    let result = if path.is_dir() {
        TemplateSet::load_dir(path).map(|set| {
            set.iter()
                .map(|t| {
                    let source = set.source(&t.name).unwrap_or(path);
                    (source.to_owned(), t.clone())
                })
                .collect()
        })
    } else {
        Template::load_file(path).map(|t| vec![(path.to_owned(), t)])
    };
    Checked {
        path: path.to_owned(),
        result,
    }
}

fn validate(paths: &[PathBuf], output: Output) -> ExitCode {
    let checked: Vec<Checked> = paths.iter().map(|p| check(p)).collect();
    let invalid = checked.iter().filter(|c| c.result.is_err()).count();
    for c in &checked {
        if let Err(e) = &c.result {
            eprintln!("{e}");
        }
    }
    match output {
        Output::Table => {
            for c in &checked {
                if let Ok(templates) = &c.result {
                    for (source, t) in templates {
                        print_out(&format!(
                            "ok  {}  {}  {}",
                            source.display(),
                            t.name,
                            t.fingerprint()
                        ));
                    }
                }
            }
            if invalid > 0 {
                let problems: usize = checked
                    .iter()
                    .filter_map(|c| c.result.as_ref().err())
                    .map(|e| e.problem_count().max(1))
                    .sum();
                eprintln!(
                    "{invalid} of {} invalid ({problems} problem{})",
                    checked.len(),
                    if problems == 1 { "" } else { "s" }
                );
            }
        }
        Output::Json => {
            let report: Vec<_> = checked.iter().map(json_report).collect();
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            print_out(&text);
        }
    }
    if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn json_report(c: &Checked) -> serde_json::Value {
    match &c.result {
        Ok(templates) => json!({
            "path": c.path.display().to_string(),
            "valid": true,
            "templates": templates
                .iter()
                .map(|(source, t)| json!({
                    "name": t.name,
                    "file": source.display().to_string(),
                    "fingerprint": t.fingerprint().to_string(),
                }))
                .collect::<Vec<_>>(),
        }),
        Err(e) => json!({
            "path": c.path.display().to_string(),
            "valid": false,
            "error": e.to_string(),
            "problems": e.problems().into_iter().map(json_problem).collect::<Vec<_>>(),
        }),
    }
}

fn json_problem(p: &Problem) -> serde_json::Value {
    json!({
        "kind": p.kind.as_str(),
        "path": p.path.to_string(),
        "line": p.location.map(|l| l.line),
        "column": p.location.map(|l| l.column),
        "found": p.found,
        "expected": p.expected,
        "help": p.help,
    })
}
