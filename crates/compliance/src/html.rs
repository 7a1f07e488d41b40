//! The report as one self-contained HTML page: inline CSS, no script, no external
//! resource, every value from the cloud escaped. It is well-formed XML (XHTML syntax), so
//! any XML parser can check it.

use std::fmt::Write;

use amiref_core::escape_html;

use crate::control::Severity;
use crate::report::{ComplianceReport, ControlSummary, Finding, Outcome};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1a1a1a; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; font-size: 0.85em; }
th { background: #f0f0f0; text-align: left; }
td.passed { background: #d9f0d3; }
td.failed { background: #f4a582; }
td.unchecked { background: #fee08b; }
td.not-configured { background: #eee; color: #666; }
.sev-critical { color: #fff; background: #b2182b; }
.sev-high { background: #ef8a62; }
.sev-medium { background: #fddbc7; }
.sev-low { background: #f7f7f7; }
code { font-size: 0.95em; }
";

/// The report as a self-contained HTML page: the findings per severity, a control × region
/// summary, every finding with its evidence and remedy, and the reads that failed.
pub fn render_html(report: &ComplianceReport) -> String {
    let mut out = String::with_capacity(4096 + report.findings.len() * 600);
    out.push_str(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<title>amiref compliance report</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>amiref compliance report</h1>\n");
    let account = report
        .account
        .as_ref()
        .map_or_else(|| "an unknown account".to_owned(), ToString::to_string);
    let _ = writeln!(
        out,
        "<p>Account {} at {}, {} region(s). Findings: {}.</p>",
        escape_html(&account),
        escape_html(&report.generated_at.to_rfc3339()),
        report.regions.len(),
        escape_html(&counts(report))
    );
    summary(&mut out, report);
    findings(&mut out, &report.findings);
    failures(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn counts(report: &ComplianceReport) -> String {
    let parts: Vec<String> = report
        .counts()
        .into_iter()
        .rev()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    parts.join(", ")
}

fn class(severity: Severity) -> String {
    format!("sev-{severity}")
}

/// The control × scope table: each cell says passed, how many findings, or why unchecked.
fn summary(out: &mut String, report: &ComplianceReport) {
    out.push_str("<h2>Controls per region</h2>\n<table>\n<tr><th>Control</th><th>Framework</th><th>Severity</th>");
    for region in &report.regions {
        let _ = write!(out, "<th>{}</th>", escape_html(region.as_str()));
    }
    out.push_str("<th>Registries</th></tr>\n");
    for control in &report.controls {
        row(out, report, control);
    }
    out.push_str("</table>\n");
}

fn row(out: &mut String, report: &ComplianceReport, summary: &ControlSummary) {
    let c = &summary.control;
    let _ = write!(
        out,
        "<tr><td><code>{}</code> {}</td><td>{}</td><td class=\"{}\">{}</td>",
        escape_html(c.id.as_str()),
        escape_html(c.title),
        escape_html(c.reference),
        class(c.severity),
        c.severity
    );
    let scopes = report.regions.iter().map(Some).chain([None]);
    for scope in scopes {
        let outcome = summary
            .outcomes
            .iter()
            .find(|o| o.region.as_ref() == scope)
            .map(|o| &o.outcome);
        let (class, text, title) = match outcome {
            Some(Outcome::Passed { checked_count }) => {
                ("passed", format!("passed ({checked_count})"), None)
            }
            Some(Outcome::Failed {
                finding_count,
                checked_count,
            }) => (
                "failed",
                format!("{finding_count} of {checked_count}"),
                None,
            ),
            Some(Outcome::Unchecked { reason }) => ("unchecked", "unchecked".into(), Some(reason)),
            Some(Outcome::NotConfigured { setting }) => {
                ("not-configured", "not configured".into(), Some(setting))
            }
            _ => ("not-configured", "—".into(), None),
        };
        let title = title
            .map(|t| format!(" title=\"{}\"", escape_html(t)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<td class=\"{class}\"{title}>{}</td>",
            escape_html(&text)
        );
    }
    out.push_str("</tr>\n");
}

fn findings(out: &mut String, findings: &[Finding]) {
    let _ = writeln!(out, "<h2>Findings ({})</h2>", findings.len());
    if findings.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str(
        "<table>\n<tr><th>Severity</th><th>Control</th><th>Region</th><th>Resource</th>\
         <th>Evidence</th><th>Remedy</th></tr>\n",
    );
    for f in findings {
        let region = f.region.as_ref().map_or("—", |r| r.as_str());
        let command = f
            .remedy
            .command
            .as_deref()
            .map(|c| format!("<br/><code>{}</code>", escape_html(c)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td class=\"{}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}{command}</td></tr>",
            class(f.severity),
            f.severity,
            escape_html(f.control.as_str()),
            escape_html(region),
            escape_html(&f.resource.to_string()),
            escape_html(&f.evidence),
            escape_html(&f.remedy.action),
        );
    }
    out.push_str("</table>\n");
}

fn failures(out: &mut String, report: &ComplianceReport) {
    if report.read_failures.is_empty() && report.notes.is_empty() {
        return;
    }
    out.push_str("<h2>Not seen</h2>\n<ul>\n");
    for f in &report.read_failures {
        let region = f.region.as_ref().map_or("global", |r| r.as_str());
        let _ = writeln!(
            out,
            "<li>{} in {}: {}</li>",
            escape_html(&f.read),
            escape_html(region),
            escape_html(&f.error)
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "<li>{}</li>", escape_html(note));
    }
    out.push_str("</ul>\n");
}
