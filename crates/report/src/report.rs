//! What every report is: a kind, a JSON form with a schema, a human form; and what a
//! failure is.

use schemars::JsonSchema;
use serde::Serialize;

use crate::Human;

/// Exit codes every command shares.
pub mod exit {
    /// It worked.
    pub const OK: u8 = 0;
    /// The command ran and failed: an invalid template, no image, a cloud error, a region
    /// whose copy failed.
    pub const FAILED: u8 = 1;
    /// The command line was wrong (clap's own errors also exit 2).
    pub const USAGE: u8 = 2;
    /// A confirmation was declined, or needed and impossible (no terminal, no `--yes`).
    pub const ABORTED: u8 = 3;
}

/// A command's result, printable as human lines or as the `result` of a JSON document.
///
/// Implement it once per report and every output mode follows: [`crate::Printer::report`]
/// prints it, [`crate::schema::document_schema`] describes its JSON, and the schema file
/// `docs/reports/<KIND>.schema.json` is checked against the types by a test.
pub trait Report {
    /// The report's name, `resolution`: the JSON document says `"schema":
    /// "amiref/resolution/v1"`, described by `docs/reports/resolution.schema.json`.
    const KIND: &'static str;

    /// The JSON form: keys end in their unit (`_secs`, `_usd`, `_gib`), money is
    /// [`crate::Usd`].
    type Json: Serialize + JsonSchema;

    /// This report as JSON.
    fn to_json(&self) -> Self::Json;

    /// This report for people. Lines are sanitized by [`Human`] itself.
    fn human(&self, out: &mut Human);

    /// When the report records a failure of its own (a region whose copy failed, an
    /// invalid template, a refused registry entry): the error printed beside it, whose exit
    /// code the command ends with. `None` when it is a success.
    fn failure(&self) -> Option<ErrorReport> {
        None
    }
}

/// What kind of failure: stable names scripts may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A wrong argument or option value the command line parser could not catch.
    Usage,
    /// A file or value given as input is not valid (a trust store, a key file, a time).
    InvalidInput,
    /// A template is not valid, or not found.
    InvalidTemplate,
    /// A registry file or source could not be read, or has entries readers refuse.
    Registry,
    /// The resolver found no way to launch the template.
    NoImage,
    /// A call to the cloud failed.
    Cloud,
    /// An image operation (create, copy, share, publish, deprecate, retire) failed or was
    /// refused.
    Lifecycle,
    /// Part of the command failed; the `result` says which part.
    PartialFailure,
    /// A confirmation was declined, or could not be asked.
    Aborted,
    /// Reading or writing a local file failed.
    Io,
    /// A bug: the output could not be produced.
    Internal,
}

impl ErrorKind {
    /// The exit code a failure of this kind ends the command with.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Usage => exit::USAGE,
            Self::Aborted => exit::ABORTED,
            _ => exit::FAILED,
        }
    }

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::InvalidInput => "invalid_input",
            Self::InvalidTemplate => "invalid_template",
            Self::Registry => "registry",
            Self::NoImage => "no_image",
            Self::Cloud => "cloud",
            Self::Lifecycle => "lifecycle",
            Self::PartialFailure => "partial_failure",
            Self::Aborted => "aborted",
            Self::Io => "io",
            Self::Internal => "internal",
        }
    }
}

/// Why a command failed: the `error` of a JSON document, `error: ...` on stderr for people.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct ErrorReport {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, for a person (with its causes).
    pub message: String,
    /// The exit code the command ends with.
    pub exit_code: u8,
    /// Facts a program may use, by kind: for `no_image`, the template, region, strategy
    /// and the chain of tiers tried; for `invalid_template`, the problems.
    pub details: Option<serde_json::Value>,
    /// What people see instead of `error: MESSAGE` (the chain of a `no_image`, say).
    /// (Boxed: an error travels through every frontend's `Result`s, which stay small.)
    #[serde(skip)]
    #[schemars(skip)]
    pub human: Option<Box<Human>>,
}

impl ErrorReport {
    /// A failure of `kind`, exiting with the kind's code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            exit_code: kind.exit_code(),
            details: None,
            human: None,
        }
    }

    /// A failure from an error value: its message followed by each of its causes
    /// (`source()`) that the message does not already say.
    pub fn from_error(kind: ErrorKind, error: &(dyn std::error::Error + 'static)) -> Self {
        Self::new(kind, message_with_causes(error))
    }

    /// The same failure with facts for programs.
    pub fn details(mut self, details: impl Serialize) -> Self {
        self.details = serde_json::to_value(details).ok();
        self
    }

    /// The same failure, shown to people as `human` (stdout and stderr lines) instead of
    /// the one line `error: MESSAGE` on stderr.
    pub fn with_human(mut self, human: Human) -> Self {
        self.human = Some(Box::new(human));
        self
    }

    /// The same failure ending with another exit code.
    pub fn exit_code(mut self, code: u8) -> Self {
        self.exit_code = code;
        self
    }
}

/// An error's message and its causes, `top: cause: root`, skipping a cause the message
/// already contains (many errors print their source themselves).
pub fn message_with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot read trust.yml")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_appended_once() {
        let e = Outer(std::io::Error::other("permission denied"));
        assert_eq!(
            message_with_causes(&e),
            "cannot read trust.yml: permission denied"
        );
        let report = ErrorReport::from_error(ErrorKind::Io, &e);
        assert_eq!(report.exit_code, 1);
        assert_eq!(ErrorReport::new(ErrorKind::Aborted, "no").exit_code, 3);
    }
}
