//! `audit verify` and `audit show`: whether the audit log proves itself, and its records
//! read back.

use amiref_audit::DigestStatus;
use amiref_lifecycle::AuditOutcome;
use amiref_session::{AuditCheck, AuditListing};
use chrono::SecondsFormat;

use crate::{ErrorKind, ErrorReport, Human, Report};

/// `audit verify` (`amiref/audit_verify/v1`): the chain's first break, if any, and each
/// digest's signature check. Fails (exit 1) unless the log is intact.
impl Report for AuditCheck {
    const KIND: &'static str = "audit_verify";
    type Json = AuditCheck;

    fn to_json(&self) -> AuditCheck {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let v = &self.verification;
        let path = v.path.display();
        match &v.problem {
            None if self.is_sound() => out.line(format!(
                "✅ {path}: intact, {} records in {} lines, {} digests",
                v.record_count,
                v.line_count,
                v.digests.len()
            )),
            None => out.line(format!("❌ {path}: the chain holds, but digests fail")),
            Some(problem) => out.line(format!("❌ {path}: {problem}")),
        };
        if let Some(head) = &v.head {
            out.line(format!("   head: seq {} sha256 {}", head.seq, head.hash));
        }
        if v.unchained_line_count > 0 {
            out.line(format!(
                "   {} lines before the chain (written before it existed) cannot be checked",
                v.unchained_line_count
            ));
        }
        for d in &v.digests {
            if let Some(text) = digest_line(&d.status) {
                out.line(format!(
                    "   digest at line {} (seq {}): {text}",
                    d.line, d.seq
                ));
            }
        }
        match &self.keys_from {
            Some(from) => {
                let signed = v
                    .digests
                    .iter()
                    .filter(|d| matches!(d.status, DigestStatus::Valid { .. }))
                    .count();
                out.line(format!(
                    "   signatures: {signed} of {} digests signed by a trusted key (keys: {from})",
                    v.digests.len()
                ))
            }
            None => out.line(
                "   signatures not checked: no audit.signing_key or audit.trust_store is configured; the chain shows edits, not who could have rewritten the whole file",
            ),
        };
        if v.unsealed_record_count > 0 {
            out.line(format!(
                "   {} records after the last digest are not sealed yet (a session still running or stopped before closing; a tail cut off at a line shows only against a copy of the log kept elsewhere)",
                v.unsealed_record_count
            ));
        }
        for aside in &self.set_aside {
            out.line(format!(
                "⚠️  a torn last line (a write cut off by a crash) was moved to {}",
                aside.display()
            ));
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        if self.is_sound() {
            return None;
        }
        let v = &self.verification;
        let message = match (&v.problem, v.bad_digests().next()) {
            (Some(problem), _) => format!("{}: {problem}", v.path.display()),
            (None, Some(d)) => format!(
                "{}: the digest at line {} fails its signature check: {}",
                v.path.display(),
                d.line,
                digest_line(&d.status).unwrap_or_default()
            ),
            (None, None) => format!("{}: not intact", v.path.display()),
        };
        Some(ErrorReport::new(ErrorKind::InvalidInput, message).exit_code(crate::exit::FAILED))
    }
}

/// A digest check for people; `None` for one that passed without remark.
fn digest_line(status: &DigestStatus) -> Option<String> {
    Some(match status {
        DigestStatus::Valid { retired: false, .. } | DigestStatus::NotChecked { .. } => {
            return None;
        }
        DigestStatus::Valid {
            key_id,
            publisher,
            retired: true,
        } => format!("signed by {publisher} ({key_id}), a retired key"),
        DigestStatus::Unsigned => "unsigned, where the trust store asks for a signature".into(),
        DigestStatus::UnknownKey { key_id } => {
            format!("signed by {key_id}, a key the trust store does not hold (forged?)")
        }
        DigestStatus::RevokedKey { key_id } => format!("signed by {key_id}, a revoked key"),
        DigestStatus::Invalid { key_id } => format!(
            "the signature by {key_id} does not match: the digest or the chain before it was rewritten"
        ),
        DigestStatus::Malformed { reason } => format!("malformed signature: {reason}"),
        other => format!("{other:?}"),
    })
}

/// `audit show` (`amiref/audit_show/v1`): the records a query matched, one a line for
/// people, the records themselves in JSON.
impl Report for AuditListing {
    const KIND: &'static str = "audit_show";
    type Json = AuditListing;

    fn to_json(&self) -> AuditListing {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        if self.records.is_empty() {
            out.line(format!("no records in {} match", self.path.display()));
            return;
        }
        for shown in &self.records {
            let r = &shown.record;
            let mut line = format!(
                "{} {:<8} {}",
                r.time.to_rfc3339_opts(SecondsFormat::Secs, true),
                outcome_word(&r.outcome),
                r.operation
            );
            if let Some(region) = &r.region {
                line.push_str(&format!(" {region}"));
            }
            if let Some(target) = &r.target {
                line.push_str(&format!(" {target}"));
            }
            if r.dry_run {
                line.push_str(" (dry run)");
            }
            line.push_str(&format!(" by {}", r.actor.arn));
            match &r.outcome {
                AuditOutcome::Refused { reason } => line.push_str(&format!(": {reason}")),
                AuditOutcome::Failed { error } => line.push_str(&format!(": {error}")),
                _ => {}
            }
            out.line(line);
        }
        out.line(format!("{} records", self.records.len()));
    }
}

fn outcome_word(outcome: &AuditOutcome) -> &'static str {
    match outcome {
        AuditOutcome::Intended => "intended",
        AuditOutcome::Succeeded => "ok",
        AuditOutcome::Unchanged => "unchanged",
        AuditOutcome::Planned => "planned",
        AuditOutcome::Refused { .. } => "refused",
        AuditOutcome::Failed { .. } => "failed",
        _ => "other",
    }
}
