//! `amiref build TEMPLATE` and `amiref build --cleanup`: one session operation each
//! (`Session::build`, `Session::sweep_builds`), their progress drawn per stage, their report
//! printed.

use amiref_build::{BuildOutcome, CleanupReport};
use amiref_core::{Architecture, Region};
use amiref_session::{BuildRequest, check_region};
use clap::Args;

use crate::progress::BuildProgress;
use crate::run::Context;

/// A region a person typed, checked against the catalog (with a "did you mean").
pub(crate) fn region(text: &str) -> Result<Region, String> {
    check_region(text, "region").map_err(|e| e.to_string())
}

/// `amiref build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The template: a file, or a name found in the configured template directories.
    #[arg(required_unless_present = "cleanup")]
    pub(crate) template: Option<String>,
    /// The regions, comma-separated; the image is built and tested in the first and copied
    /// to the others [default: the global --region, then the configuration's
    /// build.regions]. With --cleanup: the regions to sweep.
    #[arg(long, value_delimiter = ',', value_parser = region)]
    pub(crate) regions: Vec<Region>,
    /// The version to build as [default: the template's `version`].
    #[arg(long, conflicts_with = "cleanup")]
    pub(crate) version: Option<String>,
    /// An architecture to build for, one image each (repeatable: --arch x86_64 --arch
    /// arm64) [default: the one the resolver chooses].
    #[arg(long = "arch", value_name = "ARCH", conflicts_with = "cleanup")]
    pub(crate) architectures: Vec<Architecture>,
    /// Publish the version's SSM parameters but leave `latest` where it is.
    #[arg(long, conflicts_with = "cleanup")]
    pub(crate) no_promote: bool,
    /// Say what the build would do (its stages, regions, estimated time and cost) and
    /// change nothing.
    #[arg(long, conflicts_with = "cleanup")]
    pub(crate) dry_run: bool,
    /// Instead of building, remove the expired leftovers of any build (instances,
    /// temporary security groups, untested images) in the regions; tested images are never
    /// touched.
    #[arg(long, conflicts_with = "template")]
    pub(crate) cleanup: bool,
}

pub(crate) async fn run(args: BuildArgs, context: &Context) -> u8 {
    let printer = context.printer();
    match args.template {
        Some(template) if !args.cleanup => {
            let concurrent = args.architectures.len() > 1;
            let mut request = BuildRequest::new(template)
                .architectures(args.architectures)
                .promote(!args.no_promote)
                .dry_run(args.dry_run);
            if !args.regions.is_empty() {
                request = request.regions(args.regions);
            }
            if let Some(version) = args.version {
                request = request.version(version);
            }
            let built = context
                .with_session(async |s| {
                    let progress = BuildProgress::new(printer).concurrent(concurrent);
                    Ok(s.build(&request, &progress).await?)
                })
                .await;
            context.print::<BuildOutcome>(built)
        }
        _ => {
            let swept = context
                .with_session(async |s| {
                    let progress = BuildProgress::new(printer);
                    Ok(s.sweep_builds(&args.regions, &progress).await?)
                })
                .await;
            context.print::<CleanupReport>(swept)
        }
    }
}
