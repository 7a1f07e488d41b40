//! Loading templates from text, files and directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::decode::{Decoder, Finding};
use crate::validate::Checker;
use crate::yaml::{self, Target};
use crate::{FieldPath, InvalidTemplate, Problem, ProblemKind, Segment, Template, TemplateError};
use amiref_yaml::Document;

impl Template {
    /// Reads a template from YAML (or JSON, which YAML includes) and validates it.
    ///
    /// `origin` names the text in error messages: a file path, or something like
    /// `"<stdin>"`. Every problem is reported at once, each with its line and column.
    ///
    /// ```
    /// let text = "name: demo\nuser_data: |\n  #!/bin/bash\n  echo hello\n";
    /// let template = amiref_template::Template::from_yaml_str(text, "demo.yml")?;
    /// assert_eq!(template.name, "demo");
    /// # Ok::<(), amiref_template::TemplateError>(())
    /// ```
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Template, TemplateError> {
        load_text(text, origin).map_err(TemplateError::Invalid)
    }

    /// Reads and validates a template file. A file that is not UTF-8 is refused at the
    /// line and column of its first bad byte.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Template, TemplateError> {
        let path = path.as_ref();
        let text = match amiref_yaml::read_text(path) {
            Ok(text) => text,
            Err(amiref_yaml::YamlError::Io { source, .. }) => {
                return Err(TemplateError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
            Err(e) => {
                return Err(TemplateError::Invalid(InvalidTemplate {
                    origin: path.display().to_string(),
                    problems: vec![yaml::problem(&e)],
                    omitted: 0,
                }));
            }
        };
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// Checks a template built in code (not read from text) against the same rules as
    /// [`Template::from_yaml_str`]; the problems carry no locations.
    pub fn validate(&self) -> Result<(), InvalidTemplate> {
        let mut checker = Checker {
            failed: &[],
            written: &|_| true,
            findings: Vec::new(),
        };
        checker.template(self);
        if checker.findings.is_empty() {
            return Ok(());
        }
        Err(InvalidTemplate {
            origin: format!("template {:?}", self.name),
            problems: checker.findings.into_iter().map(|f| f.problem).collect(),
            omitted: 0,
        })
    }

    /// The template as YAML, in the form [`Template::from_yaml_str`] reads back.
    pub fn to_yaml_string(&self) -> String {
        // Serializing these types cannot fail: every map key is text and every value is
        // text, a number, a boolean, a list or a mapping.
        amiref_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot serialize: {e}\n"))
    }

    /// Whether resolving this template needs the provisioning script on some path (so
    /// `user_data` is required): always when there is no `ami_config`, else as
    /// [`crate::AmiConfig::script_reachable`] says.
    pub fn script_reachable(&self) -> bool {
        self.ami_config
            .as_ref()
            .is_none_or(crate::AmiConfig::script_reachable)
    }
}

fn load_text(text: &str, origin: &str) -> Result<Template, InvalidTemplate> {
    let invalid = |problems| InvalidTemplate {
        origin: origin.to_owned(),
        problems,
        omitted: 0,
    };
    let parsed = yaml::parse(text, origin).map_err(|e| invalid(vec![yaml::problem(&e)]))?;
    let (doc, yaml_problems, stand_ins) = (parsed.document, parsed.problems, parsed.stand_ins);
    let value = doc.value();
    let mut findings = Vec::new();
    let mut template = None;
    if value.is_null() {
        findings.push(Finding {
            problem: Problem::new(
                ProblemKind::MissingField,
                FieldPath::root(),
                "an empty document",
                "a template: a mapping with at least `name`, and `ami_config` or `user_data`",
            ),
            target: Target::Value,
            anchor: None,
        });
    } else {
        let mut decoder = Decoder::default();
        template = decoder.template(value);
        // A value the YAML refused is a stand-in: what it leads to is not reported again.
        decoder.failed.extend(stand_ins.iter().cloned());
        findings = decoder.findings;
        findings.retain(|f| !stand_ins.iter().any(|s| is_under(&f.problem.path, s)));
        if let Some(template) = &template {
            let written = |path: &FieldPath| is_written(value, path);
            let mut checker = Checker {
                failed: &decoder.failed,
                written: &written,
                findings: Vec::new(),
            };
            checker.template(template);
            findings.extend(checker.findings);
        }
    }
    match template {
        Some(template) if findings.is_empty() && yaml_problems.is_empty() => Ok(template),
        _ => {
            let mut problems = yaml_problems;
            problems.extend(located(&doc, findings));
            sort_by_location(&mut problems);
            let omitted = problems.len().saturating_sub(InvalidTemplate::MAX_LISTED);
            problems.truncate(InvalidTemplate::MAX_LISTED);
            Err(InvalidTemplate {
                omitted,
                ..invalid(problems)
            })
        }
    }
}

/// Gives each finding its line and column.
fn located(doc: &Document, findings: Vec<Finding>) -> impl Iterator<Item = Problem> + '_ {
    findings.into_iter().map(|finding| {
        let mut problem = finding.problem;
        let anchor = finding.anchor.unwrap_or_else(|| problem.path.clone());
        problem.location = Some(yaml::locate_nearest(doc, &anchor, finding.target));
        problem
    })
}

/// Orders problems as they appear in the text, each once.
fn sort_by_location(problems: &mut Vec<Problem>) {
    problems.sort_by(|a, b| {
        // Total, so the order never depends on the map type serde_json was built with.
        let key = |p: &Problem| {
            (
                p.location.is_none(),
                p.location,
                p.path.clone(),
                p.found.clone(),
                p.expected.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    problems.dedup();
}

/// Whether `path` is `ancestor` or below it.
fn is_under(path: &FieldPath, ancestor: &FieldPath) -> bool {
    path.segments().starts_with(ancestor.segments())
}

/// Whether the document has a value at `path`.
fn is_written(doc: &Value, path: &FieldPath) -> bool {
    let mut node = doc;
    for segment in path.segments() {
        let next = match segment {
            Segment::Key(k) => node.get(k.as_str()),
            Segment::Index(i) => node.get(*i),
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

/// The templates of a directory, by name.
///
/// ```no_run
/// let set = amiref_template::TemplateSet::load_dir("examples/templates")?;
/// for template in set.iter() {
///     println!("{} {}", template.name, template.fingerprint());
/// }
/// # Ok::<(), amiref_template::TemplateError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    templates: BTreeMap<String, (Template, PathBuf)>,
}

impl TemplateSet {
    /// Loads every `*.yml` and `*.yaml` file of a directory (not its subdirectories), in
    /// file-name order. Every file is read even when one fails, and every failure is
    /// reported; two files with the same template name are an error naming both.
    pub fn load_dir(path: impl AsRef<Path>) -> Result<TemplateSet, TemplateError> {
        let dir = path.as_ref();
        let read_error = |source| TemplateError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            let file = entry.map_err(read_error)?.path();
            let is_yaml = file.extension().is_some_and(|e| e == "yml" || e == "yaml");
            let hidden = file
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if is_yaml && !hidden && file.is_file() {
                files.push(file);
            }
        }
        files.sort();
        let mut set = TemplateSet::default();
        let mut errors = Vec::new();
        for file in files {
            match Template::load_file(&file) {
                Ok(template) => {
                    if let Err(e) = set.insert(template, file) {
                        errors.push(e);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            0 => Ok(set),
            1 => Err(errors.remove(0)),
            _ => Err(TemplateError::Several { errors }),
        }
    }

    /// Adds a template read from `source`; refuses a name already present.
    pub fn insert(&mut self, template: Template, source: PathBuf) -> Result<(), TemplateError> {
        if let Some((_, first)) = self.templates.get(&template.name) {
            return Err(TemplateError::DuplicateName {
                name: template.name,
                first: first.clone(),
                second: source,
            });
        }
        self.templates
            .insert(template.name.clone(), (template, source));
        Ok(())
    }

    /// The template of this name.
    pub fn get(&self, name: &str) -> Option<&Template> {
        self.templates.get(name).map(|(t, _)| t)
    }

    /// The file a template was read from.
    pub fn source(&self, name: &str) -> Option<&Path> {
        self.templates.get(name).map(|(_, p)| p.as_path())
    }

    /// The templates, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Template> {
        self.templates.values().map(|(t, _)| t)
    }

    /// The template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    /// How many templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}
