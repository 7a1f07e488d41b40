//! What can be wrong with a template, said so that a person can fix it.

use std::fmt;
use std::path::PathBuf;

use crate::FieldPath;

/// A place in a template's text: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The kind of a [`Problem`], for programs that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The text is not YAML, or uses a YAML feature templates do not allow (tags, duplicate
    /// keys, several documents).
    Syntax,
    /// A field the format does not have.
    UnknownField,
    /// A field the format requires is absent.
    MissingField,
    /// A value of the wrong shape: a list where text was expected, a number for a name.
    WrongType,
    /// A value of the right shape that is not valid: a malformed AMI id, an unknown region.
    InvalidValue,
    /// Fields that are each valid but contradict each other, or a configuration that would
    /// be unsafe (a search without an owner).
    Conflict,
}

impl ProblemKind {
    /// A stable name for scripts: `syntax`, `unknown_field`, `missing_field`, `wrong_type`,
    /// `invalid_value`, `conflict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::UnknownField => "unknown_field",
            Self::MissingField => "missing_field",
            Self::WrongType => "wrong_type",
            Self::InvalidValue => "invalid_value",
            Self::Conflict => "conflict",
        }
    }
}

/// One thing wrong with a template: where, what was found, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// The field it concerns (empty for the whole document).
    pub path: FieldPath,
    /// Where in the text, when the template came from text.
    pub location: Option<Location>,
    /// What the template says.
    pub found: String,
    /// What would be valid.
    pub expected: String,
    /// A suggestion or an explanation: "did you mean", or why a rule exists.
    pub help: Option<String>,
}

impl Problem {
    /// A problem of `kind` at `path`.
    pub fn new(
        kind: ProblemKind,
        path: FieldPath,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            path,
            location: None,
            found: found.into(),
            expected: expected.into(),
            help: None,
        }
    }

    /// The same problem with a suggestion or explanation.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Writes the problem as one line (and a `help:` line), prefixed by `origin`.
    fn write(&self, origin: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(origin)?;
        if let Some(location) = self.location {
            write!(f, ":{location}")?;
        }
        f.write_str(": ")?;
        if !self.path.is_root() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "found {}, expected {}", self.found, self.expected)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem of one template.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidTemplate {
    /// Where the template came from: a file path, or the origin given with the text.
    pub origin: String,
    /// The problems, in the order they appear in the text.
    pub problems: Vec<Problem>,
    /// How many more problems were found but not listed: past
    /// [`InvalidTemplate::MAX_LISTED`], a template is better fixed and checked again.
    pub omitted: usize,
}

impl InvalidTemplate {
    /// The most problems listed for one template (the first ones in the text): past
    /// these, a template is better fixed and checked again.
    pub const MAX_LISTED: usize = 100;
}

impl fmt::Display for InvalidTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            problem.write(&self.origin, f)?;
        }
        if self.omitted > 0 {
            write!(
                f,
                "\n{}: and {} more problems, not listed: fix these and check again",
                self.origin, self.omitted
            )?;
        }
        Ok(())
    }
}

/// Why templates could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A template is not valid; every problem is listed.
    #[error("{0}")]
    Invalid(InvalidTemplate),
    /// Two files of one directory define templates with the same name.
    #[error(
        "{}: template name {name:?} is already defined in {}; template names must be unique within a directory",
        second.display(),
        first.display()
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// The file read first (in file-name order).
        first: PathBuf,
        /// The file that repeats the name.
        second: PathBuf,
    },
    /// Several templates of a directory failed; each error is listed.
    #[error("{}", join_lines(errors))]
    Several {
        /// The errors, in file-name order.
        errors: Vec<TemplateError>,
    },
}

fn join_lines(errors: &[TemplateError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl TemplateError {
    /// How many problems were found, listed or not (0 for read errors and duplicate
    /// names).
    pub fn problem_count(&self) -> usize {
        match self {
            Self::Invalid(invalid) => invalid.problems.len() + invalid.omitted,
            Self::Several { errors } => errors.iter().map(Self::problem_count).sum(),
            _ => 0,
        }
    }

    /// Every problem this error lists (empty for read errors and duplicate names).
    pub fn problems(&self) -> Vec<&Problem> {
        match self {
            Self::Invalid(invalid) => invalid.problems.iter().collect(),
            Self::Several { errors } => errors.iter().flat_map(Self::problems).collect(),
            _ => Vec::new(),
        }
    }
}
