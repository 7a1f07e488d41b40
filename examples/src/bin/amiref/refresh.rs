//! `amiref refresh [TEMPLATE…]`: one session operation (`Session::refresh`), its builds'
//! progress drawn per stage, its report printed.

use amiref_build::refresh::RefreshOutcome;
use amiref_core::Region;
use amiref_session::RefreshRequest;
use clap::Args;

use crate::build::region;
use crate::progress::BuildProgress;
use crate::run::Context;

/// `amiref refresh`.
#[derive(Debug, Args)]
pub(crate) struct RefreshArgs {
    /// The templates to check (files or names in the configured template directories)
    /// [default: every template there].
    pub(crate) templates: Vec<String>,
    /// The regions, comma-separated; images are checked and rebuilt in the first and
    /// copied to the others [default: the global --region, then the configuration's
    /// build.regions].
    #[arg(long, value_delimiter = ',', value_parser = region)]
    pub(crate) regions: Vec<Region>,
    /// Also build the templates that have no image yet.
    #[arg(long)]
    pub(crate) build_missing: bool,
    /// Say what would be rebuilt and why; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

pub(crate) async fn run(args: RefreshArgs, context: &Context) -> u8 {
    let mut request = RefreshRequest::default();
    request.templates = args.templates;
    request.regions = (!args.regions.is_empty()).then_some(args.regions);
    request.build_missing = args.build_missing;
    request.dry_run = args.dry_run;
    let printer = context.printer();
    let refreshed = context
        .with_session(async |s| {
            let progress = BuildProgress::new(printer);
            Ok(s.refresh(&request, &progress).await?)
        })
        .await;
    context.print::<RefreshOutcome>(refreshed)
}
