//! The one report of the service that `amiref-report` has no `Report` for (the launcher
//! has no command that lists templates): the template list, printed in the same envelope
//! as every other document. Should the launcher get a `template list`, this belongs in
//! `amiref-report`, so both frontends print one kind with one shape.

use std::path::Path;

use amiref_report::{Human, Report};
use amiref_template::{AmiStrategy, Template};
use schemars::JsonSchema;
use serde::Serialize;

/// `GET /v1/templates`: every template of the template directories.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub(crate) struct TemplateList {
    /// By name.
    pub(crate) templates: Vec<TemplateEntry>,
}

/// One template of the list.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub(crate) struct TemplateEntry {
    /// Its name, as the other endpoints take it.
    pub(crate) name: String,
    /// Its version, if it says one.
    pub(crate) version: Option<String>,
    /// Its category, if it says one.
    pub(crate) category: Option<String>,
    /// What it is for, if it says.
    pub(crate) description: Option<String>,
    /// How it prefers images to its script (`ami_preferred` when it has no `ami_config`).
    pub(crate) strategy: AmiStrategy,
    /// Its file's name in its template directory.
    pub(crate) file: String,
}

impl TemplateList {
    /// The list of what `TemplateLibrary::all` found, by name.
    pub(crate) fn new(found: &[(Template, std::path::PathBuf)]) -> Self {
        let templates = found
            .iter()
            .map(|(t, file)| TemplateEntry {
                name: t.name.clone(),
                version: t.version.clone(),
                category: t.category.clone(),
                description: t.description.clone(),
                strategy: t
                    .ami_config
                    .as_ref()
                    .map(|c| c.strategy)
                    .unwrap_or_default(),
                file: file
                    .file_name()
                    .map(Path::new)
                    .unwrap_or(file)
                    .display()
                    .to_string(),
            })
            .collect();
        Self { templates }
    }
}

impl Report for TemplateList {
    const KIND: &'static str = "template_list";
    type Json = Self;

    fn to_json(&self) -> Self {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        for t in &self.templates {
            out.line(format!(
                "{} {} ({})",
                t.name,
                t.version.as_deref().unwrap_or("-"),
                t.file
            ));
        }
    }
}
