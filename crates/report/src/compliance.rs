//! `amiref compliance`: the report of every control, for people and as JSON, with the exit
//! code `--fail-on` asks for.

use amiref_session::compliance::{ComplianceReport, Outcome, Severity};

use crate::{ErrorKind, ErrorReport, Human, Report};

/// The exit code of a scan with findings at or above `--fail-on`: set apart from 1 (the
/// scan could not read everything) so that a pipeline can tell "non-compliant" from
/// "could not tell".
pub const EXIT_NON_COMPLIANT: u8 = 4;

/// A compliance report and the severity that fails the command (`--fail-on`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComplianceOutcome {
    /// The report.
    pub report: ComplianceReport,
    /// Findings at or above this severity fail the command with
    /// [`EXIT_NON_COMPLIANT`]; `None`: findings alone never fail it.
    pub fail_on: Option<Severity>,
}

impl ComplianceOutcome {
    /// `report`, failing at `fail_on`.
    pub fn new(report: ComplianceReport, fail_on: Option<Severity>) -> Self {
        Self { report, fail_on }
    }
}

/// The facts a program may use when findings fail the command.
#[derive(serde::Serialize)]
struct Gate {
    fail_on: Severity,
    findings_at_or_above: usize,
}

/// A control's outcome in a few words.
fn said(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Passed { checked_count } => format!("passed ({checked_count})"),
        Outcome::Failed {
            checked_count,
            finding_count,
        } => format!("{finding_count} of {checked_count} failed"),
        Outcome::Unchecked { reason } => format!("unchecked: {reason}"),
        Outcome::NotConfigured { setting } => format!("not configured ({setting})"),
        _ => "unknown".to_owned(),
    }
}

impl Report for ComplianceOutcome {
    const KIND: &'static str = "compliance";
    type Json = ComplianceReport;

    fn to_json(&self) -> ComplianceReport {
        self.report.clone()
    }

    fn human(&self, out: &mut Human) {
        let r = &self.report;
        let account = r
            .account
            .as_ref()
            .map_or_else(|| "an unknown account".to_owned(), ToString::to_string);
        let counts: Vec<String> = r
            .counts()
            .into_iter()
            .rev()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        out.line(format!(
            "Compliance of {account} in {} region(s): {} finding(s) ({})",
            r.regions.len(),
            r.findings.len(),
            counts.join(", ")
        ));
        out.blank();
        for summary in &r.controls {
            let c = &summary.control;
            out.line(format!("{} [{}] {}", c.id, c.severity, c.title));
            for scope in &summary.outcomes {
                let place = scope.region.as_ref().map_or("registries", |r| r.as_str());
                out.line(format!("    {place}: {}", said(&scope.outcome)));
            }
        }
        if !r.findings.is_empty() {
            out.blank();
            out.line("Findings, worst first:");
        }
        for f in &r.findings {
            let place = f.region.as_ref().map_or("registries", |r| r.as_str());
            out.line(format!(
                "{} {} {place} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.control,
                f.resource,
                f.evidence
            ));
            match &f.remedy.command {
                Some(command) => out.line(format!("    fix: {} — {command}", f.remedy.action)),
                None => out.line(format!("    fix: {}", f.remedy.action)),
            };
        }
        for failure in &r.read_failures {
            let place = failure.region.as_ref().map_or("global", |r| r.as_str());
            out.err(format!(
                "warning: {} failed in {place}: {}",
                failure.read, failure.error
            ));
        }
        for note in &r.notes {
            out.err(format!("note: {note}"));
        }
    }

    /// Findings at or above `--fail-on` fail with [`EXIT_NON_COMPLIANT`]; otherwise a read
    /// that failed (controls left unchecked) fails with 1.
    fn failure(&self) -> Option<ErrorReport> {
        let r = &self.report;
        if let Some(threshold) = self.fail_on {
            let found = r.at_or_above(threshold);
            if found > 0 {
                let gate = Gate {
                    fail_on: threshold,
                    findings_at_or_above: found,
                };
                return Some(
                    ErrorReport::new(
                        ErrorKind::PartialFailure,
                        format!(
                            "{found} finding(s) at or above {threshold} (--fail-on {threshold})"
                        ),
                    )
                    .details(gate)
                    .exit_code(EXIT_NON_COMPLIANT),
                );
            }
        }
        (!r.is_complete()).then(|| {
            ErrorReport::new(
                ErrorKind::PartialFailure,
                format!(
                    "{} read(s) failed; the controls needing them are unchecked there",
                    r.read_failures.len()
                ),
            )
            .details(&r.read_failures)
        })
    }
}
