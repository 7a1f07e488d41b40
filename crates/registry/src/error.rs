//! Errors of loading, verifying and writing registries.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong in a registry, trust store or overlay file, located as precisely as the
/// YAML allows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Problem {
    /// The file or URL the text came from.
    pub origin: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// The field path, e.g. `community_amis.python-ml["v2.1.0"].ratings.average`.
    pub path: String,
    /// What was found.
    pub found: String,
    /// What was expected.
    pub expected: String,
}

impl Problem {
    /// A problem at `path` in `origin`, not yet located.
    pub fn new(
        origin: impl Into<String>,
        path: impl Into<String>,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            origin: origin.into(),
            line: None,
            column: None,
            path: path.into(),
            found: found.into(),
            expected: expected.into(),
        }
    }

    /// The same problem at a line and column.
    #[must_use]
    pub fn at(mut self, location: Option<(usize, usize)>) -> Self {
        if let Some((line, column)) = location {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        write!(
            f,
            ": {path}: found {}, expected {}",
            self.found, self.expected
        )
    }
}

/// Formats problems one per line, for error messages.
pub(crate) struct ProblemList<'a>(pub(crate) &'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// A registry, trust store, key or overlay that could not be loaded or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The text is not a valid document: every problem found, each located.
    #[error("{origin} is not a valid {what} ({} problem{}):\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, ProblemList(problems))]
    Invalid {
        /// The file or URL.
        origin: String,
        /// What kind of document was expected (`registry`, `trust store`, ...).
        what: &'static str,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write`, `list`.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A remote source could not be fetched and no last good copy exists.
    #[error("registry {url} is unreachable and no cached copy exists: {message}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A source URL or option is not acceptable (e.g. plain `http://` without opting in).
    #[error("registry source {source_name} is not acceptable: {message}")]
    BadSource {
        /// The source.
        source_name: String,
        /// Why.
        message: String,
    },
}

impl LoadError {
    /// The located problems, when the error is [`LoadError::Invalid`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Signing or verifying could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The entry named does not exist in the document.
    #[error("no entry {template} {version} in the registry")]
    NoSuchEntry {
        /// The template.
        template: String,
        /// The version.
        version: String,
    },
    /// The entry could not be put in canonical form.
    #[error("cannot put {template} {version} in canonical form: {message}")]
    Canonical {
        /// The template.
        template: String,
        /// The version.
        version: String,
        /// Why.
        message: String,
    },
}

/// A registry source, as a person wrote it, that is not one amiref reads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Nothing was given.
    #[error("an empty registry source: expected a file, a directory or an https:// URL")]
    Empty,
    /// A plain `http://` URL.
    #[error(
        "registry source {text} is refused: plain http:// is not accepted (anyone on the path \
         could withhold or replace entries); use https://"
    )]
    PlainHttp {
        /// The source as written.
        text: String,
    },
    /// A `file://` URL.
    #[error("registry source {text}: give the file's path itself, not a file:// URL")]
    FileUrl {
        /// The source as written.
        text: String,
    },
    /// A URL of another scheme.
    #[error(
        "registry source {text}: the scheme {scheme:?} is not supported; expected a file, a \
         directory or an https:// URL"
    )]
    UnsupportedScheme {
        /// The source as written.
        text: String,
        /// The scheme.
        scheme: String,
    },
    /// An `https://` URL that is not a valid URL (or for which no client can be built).
    #[error("registry source {text}: {source}")]
    Url {
        /// The source as written.
        text: String,
        /// Why.
        #[source]
        source: LoadError,
    },
}
