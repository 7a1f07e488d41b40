//! Why a world could not be built or loaded.

use std::path::PathBuf;

/// A world that could not be read, parsed or assembled.
///
/// Every variant names where the problem is (the file or `builder`, and the line when the
/// world came from text), the field, what was found and what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorldError {
    /// The world file could not be read.
    #[error("cannot read world file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML of the world's shape (a syntax error, a second document, an
    /// unknown field, a value of the wrong type or an invalid id), located at the
    /// offending value.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// The file name or other origin of the text.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The field path (when the problem is a field's), what was found and what was
        /// expected: `images[0].id: found ..., expected ...`.
        message: String,
        /// The YAML reader's error.
        #[source]
        source: Box<amiref_yaml::YamlError>,
    },
    /// A world could not be written as YAML.
    #[error("cannot write the world as YAML: {source}")]
    Write {
        /// The writer's error.
        #[source]
        source: Box<amiref_yaml::WriteError>,
    },
    /// The world parsed but does not hold together (a duplicate id, a reference to an
    /// image that does not exist, ...).
    #[error("{origin}{}: {field}: found {found}, expected {expected}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file name, or `builder` for worlds built in code.
        origin: String,
        /// The 1-based line the problem is on, when the world came from text.
        line: Option<usize>,
        /// The field path, e.g. `images[3].id`.
        field: String,
        /// What was found.
        found: String,
        /// What was expected.
        expected: String,
    },
}

impl WorldError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            origin: "builder".to_owned(),
            line: None,
            field: field.into(),
            found: found.into(),
            expected: expected.into(),
        }
    }
}
