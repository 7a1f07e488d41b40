//! `amiref ami ...`: resolve a template's image, test it across regions, list and rate the
//! registries' images, and (flattened in from `lifecycle.rs`) build and share images.

use amiref_core::Architecture;
use amiref_session::{RateRequest, check_regions};
use clap::Subcommand;

use crate::run::Context;

/// Image commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AmiCommand {
    /// Resolve a template's image in a region (the global --region) and explain how.
    /// Exits 0 when something can be launched, 1 when not.
    Resolve {
        /// The template: a file, or a name found in the configured template directories.
        template: String,
        /// Launch only on this architecture (x86_64, arm64, ...).
        #[arg(long, value_name = "ARCH")]
        architecture: Option<Architecture>,
    },
    /// Test a template's image availability in many regions at once: one line per region
    /// (available / cross-region copy available / script fallback / unavailable). Exits 0
    /// when every region can launch it, 1 otherwise.
    Test {
        /// The template: a file, or a name found in the configured template directories.
        template: String,
        /// Regions to test, comma-separated [default: the global --region].
        #[arg(long, value_delimiter = ',', conflicts_with = "all_regions")]
        regions: Vec<String>,
        /// Every commercial region enabled by default (on AWS: the region catalog less the
        /// opt-in regions such as af-south-1, which fail unless the account enabled them;
        /// name those with --regions. On a world: the commercial regions it defines).
        #[arg(long)]
        all_regions: bool,
    },
    /// List a template's images per region: registry entries (with ratings, verification
    /// and signer) and your own images.
    List {
        /// The template name.
        #[arg(long)]
        template: String,
    },
    /// Rate a registry entry; kept in your ratings file, which ranks above every source.
    Rate {
        /// The template name.
        template: String,
        /// The entry's version.
        version: String,
        /// 1 to 5 stars.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        stars: u8,
        /// A review, for people.
        #[arg(long)]
        review: Option<String>,
    },
    #[command(flatten)]
    Lifecycle(crate::lifecycle::LifecycleCommand),
}

pub(crate) async fn run(cmd: AmiCommand, context: &Context) -> u8 {
    match cmd {
        AmiCommand::Resolve {
            template,
            architecture,
        } => {
            let resolved = context
                .with_session(async |session| {
                    let template = session.template(&template)?;
                    let mut options = amiref::ResolveOptions::default();
                    if let Some(arch) = architecture {
                        options = options.architecture(arch);
                    }
                    let resolution = session.resolve(&template, None, &options).await;
                    Ok(resolution.map_err(amiref_session::SessionError::from)?)
                })
                .await;
            context.print(resolved)
        }
        AmiCommand::Test {
            template,
            regions,
            all_regions,
        } => {
            let tested = context
                .with_session(async |session| {
                    let template = session.template(&template)?;
                    let regions = match (all_regions, regions.is_empty()) {
                        (true, _) => session.all_regions(),
                        (false, true) => vec![session.region().clone()],
                        (false, false) => check_regions(&regions, "--regions")?,
                    };
                    Ok(session.availability(&template, &regions).await)
                })
                .await;
            context.print(tested)
        }
        AmiCommand::List { template } => {
            let listed = context
                .with_session(async |session| Ok(session.list_images(&template).await))
                .await;
            context.print(listed)
        }
        AmiCommand::Rate {
            template,
            version,
            stars,
            review,
        } => {
            let rated = context
                .with_session(async |session| {
                    let mut request = RateRequest::new(template, version, stars);
                    request.review = review;
                    Ok(session.rate_entry(&request).await?)
                })
                .await;
            context.print(rated)
        }
        AmiCommand::Lifecycle(cmd) => crate::lifecycle::run(cmd, context).await,
    }
}
