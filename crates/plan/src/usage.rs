//! The usage file: launches per month a person expects, template by region.

use std::collections::BTreeMap;
use std::path::Path;

use amiref_core::{Architecture, Region};
use amiref_yaml::{Document, FieldPath, Segment, Target, YamlError};

/// A usage file could not be read, or was refused. Its message reads
/// `file:line:column: field: found X, expected Y`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageFileError {
    /// The text is not valid YAML or JSON, or a field has the wrong type or value.
    #[error(transparent)]
    Invalid(#[from] YamlError),
}

/// Expected launches of a template in a region.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UsageEntry {
    /// The template's name.
    pub template: String,
    /// The region.
    pub region: Region,
    /// The architecture; absent: the template's default (see the planner).
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// Launches per month (a month is 730 hours), 0 or more.
    pub launches_per_month: f64,
    /// The line of the entry in its file, for notes about it.
    #[serde(skip)]
    pub line: usize,
}

impl UsageEntry {
    /// An entry made in code, at line 0.
    pub fn new(template: impl Into<String>, region: Region, launches_per_month: f64) -> Self {
        Self {
            template: template.into(),
            region,
            architecture: None,
            launches_per_month,
            line: 0,
        }
    }

    /// For one architecture.
    #[must_use]
    pub fn architecture(mut self, architecture: Architecture) -> Self {
        self.architecture = Some(architecture);
        self
    }
}

/// A usage file: the launches a person expects, used where it names a template and region
/// in place of the launch log's counts.
///
/// YAML, or JSON (which the YAML reader reads as well):
///
/// ```yaml
/// source: spring term forecast, from the course schedule
/// usage:
///   - template: python-ml
///     region: us-east-1
///     launches_per_month: 120
///   - template: python-ml
///     region: eu-west-1
///     architecture: arm64
///     launches_per_month: 4.5
/// ```
///
/// ```
/// use amiref_plan::UsageFile;
///
/// let err = UsageFile::from_str(
///     "usage:\n  - template: python-ml\n    region: us-east-1\n    launches_per_month: -3\n",
///     "usage.yml",
/// )
/// .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "usage.yml:4:25: usage[0].launches_per_month: found -3, expected a number of launches per month, 0 or more"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UsageFile {
    /// Where the figures come from, for people.
    #[serde(default)]
    pub source: Option<String>,
    /// The entries, in file order.
    pub usage: Vec<UsageEntry>,
    /// The file name or other origin, for notes.
    #[serde(skip)]
    pub origin: String,
}

impl UsageFile {
    /// A usage file made in code.
    pub fn new(origin: impl Into<String>, usage: Vec<UsageEntry>) -> Self {
        Self {
            source: None,
            usage,
            origin: origin.into(),
        }
    }

    /// Parses a usage file; `origin` names it in errors. Refuses, at the field: a region
    /// not in the catalog (with the nearest name), a negative or non-finite count, an empty
    /// template name, and a template, region and architecture named twice.
    #[allow(clippy::should_implement_trait)] // two arguments: the text and its origin
    pub fn from_str(text: &str, origin: &str) -> Result<Self, UsageFileError> {
        let doc = Document::parse(text, origin)?;
        let mut file: Self = doc.deserialize()?;
        file.origin = origin.to_owned();
        let mut seen = BTreeMap::new();
        for (i, entry) in file.usage.iter_mut().enumerate() {
            let at = |field: &str| {
                FieldPath::root()
                    .join(Segment::Key("usage".into()))
                    .join(Segment::Index(i))
                    .join(Segment::Key(field.into()))
            };
            entry.line = doc.locate_nearest(at("template").steps(), Target::Key).line;
            if entry.template.trim().is_empty() {
                let found = format!("{:?}", entry.template);
                return Err(doc
                    .refuse(&at("template"), Target::Value, found, "a template name")
                    .into());
            }
            if let Err(unknown) = amiref_regions::known_region(entry.region.as_str()) {
                let found = format!("{:?}", entry.region.as_str());
                let expected = match unknown.suggestion {
                    Some(near) => format!("an AWS region code: did you mean {near}?"),
                    None => "an AWS region code such as us-east-1 or eu-west-2".to_owned(),
                };
                return Err(doc
                    .refuse(&at("region"), Target::Value, found, expected)
                    .into());
            }
            let count = entry.launches_per_month;
            if !(count.is_finite() && count >= 0.0) {
                return Err(doc
                    .refuse(
                        &at("launches_per_month"),
                        Target::Value,
                        count.to_string(),
                        "a number of launches per month, 0 or more",
                    )
                    .into());
            }
            let key = (
                entry.template.clone(),
                entry.region.clone(),
                entry.architecture,
            );
            if let Some(first) = seen.insert(key, entry.line) {
                return Err(doc
                    .refuse(
                        &at("template"),
                        Target::Key,
                        format!(
                            "`{}` in {}{} a second time (first at line {first})",
                            entry.template,
                            entry.region,
                            entry
                                .architecture
                                .map(|a| format!(" ({a})"))
                                .unwrap_or_default()
                        ),
                        "each template, region and architecture once",
                    )
                    .into());
            }
        }
        Ok(file)
    }

    /// Reads a usage file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, UsageFileError> {
        let path = path.as_ref();
        let text = amiref_yaml::read_text(path)?;
        Self::from_str(&text, &path.display().to_string())
    }
}
