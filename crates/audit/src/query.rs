//! Reading a log's records back, filtered (`amiref audit show`).

use std::io::{BufRead as _, BufReader};
use std::path::Path;

use amiref_lifecycle::AuditRecord;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ReadError;
use crate::line::{ChainLine, LineBody};

/// Which records to read; every filter set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Records before this time.
    pub until: Option<DateTime<Utc>>,
    /// Records about this template: a `template` (or `amiref:template` tag) of this name
    /// anywhere in their details.
    pub template: Option<String>,
    /// Records about this image: their target, or an id anywhere in their details (a copy
    /// names each region's new image there).
    pub image: Option<String>,
    /// Records of this operation (`share`, `copy_image`, `launch`, …).
    pub operation: Option<String>,
}

impl AuditQuery {
    /// Every record.
    pub fn all() -> Self {
        Self::default()
    }

    /// Whether `record` passes every filter set.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.since.is_none_or(|since| record.time >= since)
            && self.until.is_none_or(|until| record.time < until)
            && self
                .operation
                .as_ref()
                .is_none_or(|op| &record.operation == op)
            && self.image.as_ref().is_none_or(|image| {
                record.target.as_ref() == Some(image) || contains_string(&record.details, image)
            })
            && self
                .template
                .as_ref()
                .is_none_or(|name| names_template(&record.details, name))
    }
}

/// A record read back, with its place in the log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ShownRecord {
    /// Its line in the file.
    pub line: u64,
    /// Its `seq`; `None` for a record written before the chain.
    pub seq: Option<u64>,
    /// The record.
    pub record: AuditRecord,
}

/// The records of the log at `path` that `query` matches, in the log's order. Digests are
/// left out; a torn last line (no newline) is skipped, as the writer will move it aside.
pub fn read(path: &Path, query: &AuditQuery) -> Result<Vec<ShownRecord>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut reader = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut shown = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        line += 1;
        let bytes = &buf[..buf.len() - 1];
        let (seq, record) = match serde_json::from_slice::<ChainLine>(bytes) {
            Ok(ChainLine {
                seq,
                body: LineBody::Record(record),
                ..
            }) => (Some(seq), record),
            Ok(_) => continue,
            // A record written before the chain has no seq; anything else is an error.
            Err(chain_error) => match serde_json::from_slice::<AuditRecord>(bytes) {
                Ok(record) => (None, record),
                Err(_) => {
                    return Err(ReadError::Line {
                        path: path.to_owned(),
                        line,
                        column: chain_error.column(),
                        source: chain_error,
                    });
                }
            },
        };
        if query.matches(&record) {
            shown.push(ShownRecord { line, seq, record });
        }
    }
    Ok(shown)
}

/// Whether `value` holds the string `wanted` anywhere.
fn contains_string(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|v| contains_string(v, wanted)),
        Value::Object(fields) => fields.values().any(|v| contains_string(v, wanted)),
        _ => false,
    }
}

/// Whether `value` names template `name` under a `template` or `amiref:template` key.
fn names_template(value: &Value, name: &str) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|v| names_template(v, name)),
        Value::Object(fields) => fields.iter().any(|(key, v)| {
            ((key == "template" || key == amiref_lifecycle::tags::TAG_TEMPLATE)
                && v.as_str() == Some(name))
                || names_template(v, name)
        }),
        _ => false,
    }
}
