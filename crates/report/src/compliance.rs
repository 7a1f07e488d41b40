//! `amiref compliance`: the report of every control, for people and as JSON, with the exit
//! code `--fail-on` asks for.

use amiref_session::compliance::{ComplianceReport, ControlSummary, Outcome, Resource, Severity};

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
        Outcome::Passed { checked_count: 0 } => "nothing to check".to_owned(),
        Outcome::Passed { checked_count } => format!("passed ({checked_count} checked)"),
        Outcome::Failed {
            checked_count,
            finding_count,
        } => format!("{finding_count} of {checked_count} failed"),
        Outcome::Unchecked { reason } => format!("unchecked: {reason}"),
        Outcome::NotConfigured { setting } => format!("not configured ({setting})"),
        _ => "unknown".to_owned(),
    }
}

/// A control's rows: one per scope that checked something or could not check, then one for
/// the scopes alike in having nothing to check, or in one setting not configured (a scan of
/// 17 regions would otherwise be 17 rows of "nothing to check" per control).
fn control_rows(summary: &ControlSummary) -> Vec<String> {
    let total = summary.outcomes.len();
    let mut rows = Vec::new();
    let mut alike: Vec<(String, Vec<&str>)> = Vec::new();
    for scope in &summary.outcomes {
        let place = scope.region.as_ref().map_or("registries", |r| r.as_str());
        let text = said(&scope.outcome);
        match &scope.outcome {
            Outcome::Passed { checked_count: 0 } | Outcome::NotConfigured { .. } => {
                match alike.iter_mut().find(|(t, _)| *t == text) {
                    Some((_, places)) => places.push(place),
                    None => alike.push((text, vec![place])),
                }
            }
            _ => rows.push(format!("    {place}: {text}")),
        }
    }
    for (text, places) in alike {
        let label = match places.as_slice() {
            [one] => (*one).to_owned(),
            _ if places.len() == total => format!("all {total} regions"),
            _ if rows.is_empty() => format!("{} regions", places.len()),
            _ => format!("{} other regions", places.len()),
        };
        rows.push(format!("    {label}: {text}"));
    }
    rows
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
            for row in control_rows(summary) {
                out.line(row);
            }
        }
        if !r.findings.is_empty() {
            out.blank();
            out.line("Findings, worst first:");
        }
        for f in &r.findings {
            // An image's or a snapshot's evidence names it, and a setting is the control's in
            // the finding's region; only a registry entry needs naming.
            let place = match (&f.region, &f.resource) {
                (_, entry @ Resource::RegistryEntry(_)) => entry.to_string(),
                (Some(region), _) => region.to_string(),
                (None, resource) => resource.to_string(),
            };
            out.line(format!(
                "{} {} {place}: {}",
                f.severity.as_str().to_uppercase(),
                f.control,
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
