//! `amiref audit ...`: the audit log checked (`verify`) and read back (`show`).

use std::path::PathBuf;

use amiref_audit::AuditQuery;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;

use crate::run::Context;

/// The audit log of every change amiref made.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the log's hash chain and its digests' signatures: intact, or the first record
    /// edited, deleted, reordered or truncated. Exits 1 unless intact.
    Verify {
        /// The log [default: the configured audit log, or the world's].
        file: Option<PathBuf>,
    },
    /// Show the log's records, filtered.
    Show {
        /// The log [default: the configured audit log, or the world's].
        file: Option<PathBuf>,
        /// Records at or after this time (RFC 3339, or a date: 2026-03-01).
        #[arg(long, value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
        /// Records before this time (RFC 3339, or a date).
        #[arg(long, value_parser = parse_time)]
        until: Option<DateTime<Utc>>,
        /// Records about this template.
        #[arg(long)]
        template: Option<String>,
        /// Records about this image (its id as target or anywhere in the details).
        #[arg(long)]
        image: Option<String>,
        /// Records of this operation (share, copy_image, launch, ...).
        #[arg(long)]
        operation: Option<String>,
    },
}

/// An RFC 3339 time, or a date (its midnight, UTC).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!("{text:?} is not a time: expected RFC 3339 (2026-03-01T12:00:00Z) or a date (2026-03-01)")
        })
}

pub(crate) async fn run(cmd: AuditCommand, context: &Context) -> u8 {
    match cmd {
        AuditCommand::Verify { file } => {
            let checked = context
                .with_session(async |s| Ok(s.audit_verify(file.as_deref())?))
                .await;
            context.print(checked)
        }
        AuditCommand::Show {
            file,
            since,
            until,
            template,
            image,
            operation,
        } => {
            let mut query = AuditQuery::all();
            query.since = since;
            query.until = until;
            query.template = template;
            query.image = image;
            query.operation = operation;
            let shown = context
                .with_session(async |s| Ok(s.audit_show(file.as_deref(), &query)?))
                .await;
            context.print(shown)
        }
    }
}
