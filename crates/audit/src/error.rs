//! Errors of reading a log.

use std::path::PathBuf;

/// A log that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is neither a chain line nor a record of the format before the chain.
    #[error(
        "audit log {path}, line {line}, column {column}: expected an audit record (a JSON object with seq, prev, kind and the record's fields): {source}"
    )]
    Line {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// The column within it (1-based).
        column: usize,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
}
