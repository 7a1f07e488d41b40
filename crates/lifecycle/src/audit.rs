//! The audit trail: who did what to which image, when, and how it ended.
//!
//! Every mutating operation writes one [`AuditRecord`] per change it makes (or, in a dry run,
//! would make) through an [`AuditSink`]. Records carry identities, ids and parameters only:
//! credentials never reach this module, and no operation puts a secret in `details`.
//!
//! The file the records go to in amiref's frontends is `amiref_audit::FileAuditLog`: a
//! hash-chained log with signed digests, its verifier and its reader (docs/audit.md).

use std::path::PathBuf;
use std::sync::Mutex;

use amiref_core::{CallerIdentity, Region};
use chrono::{DateTime, Utc};

/// Who performed an operation: the caller's identity as the cloud reported it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Actor {
    /// The caller's account.
    pub account: String,
    /// The caller's ARN (a role session or user; never a key).
    pub arn: String,
}

impl From<&CallerIdentity> for Actor {
    fn from(c: &CallerIdentity) -> Self {
        Self {
            account: c.account.to_string(),
            arn: c.arn.clone(),
        }
    }
}

/// How an audited operation ended.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditOutcome {
    /// Written before a mutating call (write-ahead): the change is about to be made. A
    /// record with the same [`AuditRecord::operation_id`] and the outcome follows; when none
    /// does, the process stopped during the call, and the change may or may not have been
    /// made.
    Intended,
    /// The change was made.
    Succeeded,
    /// Nothing needed doing: the state asked for already held (a re-run).
    Unchanged,
    /// A dry run: the change that would be made, not made.
    Planned,
    /// Refused before anything changed.
    Refused {
        /// Why.
        reason: String,
    },
    /// Tried and failed; `error` says what is left behind.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intended => f.write_str("intended"),
            Self::Succeeded => f.write_str("succeeded"),
            Self::Unchanged => f.write_str("unchanged"),
            Self::Planned => f.write_str("planned"),
            Self::Refused { reason } => write!(f, "refused: {reason}"),
            Self::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the operation ended.
    pub time: DateTime<Utc>,
    /// Who ran it.
    pub actor: Actor,
    /// What: `create_image`, `copy_image`, `share`, `unshare`, `publish`, `deprecate`,
    /// `undeprecate`, `retire`.
    pub operation: String,
    /// The region acted in, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The resource acted on: an image id, or a Marketplace product id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The operation's parameters and results (ids, names, regions, permissions).
    pub details: serde_json::Value,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Joins an [`AuditOutcome::Intended`] record to the record of how that change ended;
    /// `None` on records that stand alone (refusals, dry runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
}

impl AuditRecord {
    /// A record of `operation` by `actor`, now.
    pub fn new(actor: Actor, operation: impl Into<String>, outcome: AuditOutcome) -> Self {
        Self {
            time: Utc::now(),
            actor,
            operation: operation.into(),
            region: None,
            target: None,
            dry_run: false,
            details: serde_json::Value::Null,
            outcome,
            operation_id: None,
        }
    }

    /// The same record, naming the region.
    #[must_use]
    pub fn region(mut self, region: &Region) -> Self {
        self.region = Some(region.clone());
        self
    }

    /// The same record, naming the resource acted on.
    #[must_use]
    pub fn target(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// The same record, marked as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The same record, with these details.
    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A failure to write an audit record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file could not be opened or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The record could not be serialized.
    #[error("audit record could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A lock was poisoned by a panic in another thread.
    #[error("audit sink lock poisoned")]
    Poisoned,
}

/// Where audit records go.
///
/// Synchronous on purpose: a record is one short line, and an operation must not report
/// success before its record is written.
pub trait AuditSink: Send + Sync {
    /// Writes one record durably enough for the sink's purpose.
    fn record(&self, record: &AuditRecord) -> Result<(), AuditError>;
}

/// Keeps records in memory: for tests, and for callers that forward them elsewhere.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    records: Mutex<Vec<AuditRecord>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record written so far, in order.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        self.records
            .lock()
            .map_err(|_| AuditError::Poisoned)?
            .push(record.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(op: &str) -> AuditRecord {
        let actor = Actor {
            account: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:user/ada".into(),
        };
        let mut r = AuditRecord::new(actor, op, AuditOutcome::Succeeded);
        r.target = Some("ami-12345678".into());
        r
    }

    #[test]
    fn the_memory_sink_keeps_records_in_order() {
        let sink = MemoryAuditSink::new();
        sink.record(&record("share")).unwrap();
        sink.record(&record("deprecate")).unwrap();
        let ops: Vec<_> = sink.records().into_iter().map(|r| r.operation).collect();
        assert_eq!(ops, ["share", "deprecate"]);
        let line = serde_json::to_string(&record("share")).unwrap();
        assert!(line.contains("\"status\":\"succeeded\""));
    }
}
