//! `amiref compliance`: every control over the account's images and what uses them
//! (`Session::compliance`), printed as text, JSON (`amiref/compliance/v1`) or a
//! self-contained HTML page (`--output html`), with `--fail-on` setting the exit code.

use std::io::Write;

use amiref_core::Region;
use amiref_report::compliance::ComplianceOutcome;
use amiref_report::{ErrorKind, ErrorReport, Report};
use amiref_session::ComplianceRequest;
use amiref_session::compliance::{Severity, render_html};
use clap::Args;

use crate::build::region;
use crate::run::{Context, Failure};

/// `amiref compliance`.
#[derive(Debug, Args)]
pub(crate) struct ComplianceArgs {
    /// The regions, comma-separated [default: every commercial region enabled by default;
    /// on a world, the regions it defines].
    #[arg(long, value_delimiter = ',', value_parser = region)]
    pub(crate) regions: Vec<Region>,
    /// Exit 4 when any finding is at least this severe: low, medium, high or critical
    /// [default: findings alone never fail the command].
    #[arg(long, value_name = "SEVERITY", value_parser = severity)]
    pub(crate) fail_on: Option<Severity>,
    /// Do not read each image's launch permissions (one call per image: EC2 has no batched
    /// form); shares with accounts, organizations and OUs are then not seen [default:
    /// `compliance.read_launch_permissions`, else read].
    #[arg(long)]
    pub(crate) no_launch_permissions: bool,
}

fn severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: amiref_session::compliance::UnknownSeverity| e.to_string())
}

pub(crate) async fn run(args: ComplianceArgs, html: bool, context: &Context) -> u8 {
    let mut request = ComplianceRequest::default();
    request.regions = (!args.regions.is_empty()).then(|| args.regions.clone());
    if args.no_launch_permissions {
        request.read_launch_permissions = Some(false);
    }
    let outcome = context
        .with_session(async |s| Ok(s.compliance(&request).await?))
        .await
        .map(|report| ComplianceOutcome::new(report, args.fail_on));
    match (html, outcome) {
        (true, Ok(outcome)) => print_html(&outcome, context),
        (_, outcome) => context.print(outcome),
    }
}

/// The HTML page on stdout; the failure `--fail-on` (or a failed read) makes, on stderr.
fn print_html(outcome: &ComplianceOutcome, context: &Context) -> u8 {
    let page = render_html(&outcome.report);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(page.as_bytes())
        .and_then(|()| stdout.flush())
    {
        let error = ErrorReport::new(ErrorKind::Io, format!("cannot write the page: {e}"));
        return context.fail(ComplianceOutcome::KIND, Failure(error));
    }
    match outcome.failure() {
        Some(failure) => {
            context
                .printer()
                .note(format!("error: {}", failure.message));
            failure.exit_code
        }
        None => amiref_report::exit::OK,
    }
}
