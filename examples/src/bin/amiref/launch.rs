//! `amiref launch TEMPLATE NAME`: the session plans the launch, the plan is shown, the
//! prompts answer its questions, and the session carries it out.

use amiref_core::Architecture;
use amiref_report::session::launch_plan_lines;
use amiref_report::{Human, PreviewReport, Report};
use amiref_session::{LaunchReport, LaunchRequest, Session};
use clap::Args;

use crate::progress::Progress;
use crate::prompt::Prompt;
use crate::run::{Context, Failure};

/// `launch` options. The region is the global `--region`.
#[derive(Debug, Args)]
pub(crate) struct LaunchArgs {
    /// The template: a file, or a name found in the configured template directories.
    template: String,
    /// The instance's name (its Name tag).
    name: String,
    /// Plan only: nothing is copied or launched.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: show every tier's outcome, the fallback chain and the cost comparison.
    #[arg(long, requires = "dry_run")]
    show_ami_resolution: bool,
    /// Provision with the template's script even when an image exists (asks first when an
    /// image would be usable sooner).
    #[arg(long)]
    prefer_script: bool,
    /// Launch only on this architecture (x86_64, arm64, ...).
    #[arg(long, value_name = "ARCH")]
    architecture: Option<Architecture>,
    /// Answer yes to every question (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(crate) async fn run(args: LaunchArgs, context: &Context) -> u8 {
    let request = async |session: &Session| -> Result<LaunchRequest, Failure> {
        let template = session.template(&args.template)?;
        let mut request =
            LaunchRequest::new(template, args.name.clone()).prefer_script(args.prefer_script);
        if let Some(arch) = args.architecture {
            request = request.architecture(arch);
        }
        Ok(request)
    };
    if args.show_ami_resolution {
        let preview = context
            .with_session(async |session| {
                let request = request(session).await?;
                Ok((session.preview_launch(&request).await, request.template))
            })
            .await;
        return context.print_view(
            PreviewReport::KIND,
            preview,
            |printer, (preview, template)| printer.report(&PreviewReport::new(preview, template)),
        );
    }
    if args.dry_run {
        let plan = context
            .with_session(async |session| Ok(session.plan_launch(&request(session).await?).await?))
            .await;
        return context.print(plan);
    }
    let printer = context.printer();
    let launched = context
        .with_session(async |session| {
            let plan = session.plan_launch(&request(session).await?).await?;
            let mut lines = Human::new();
            lines.extend(launch_plan_lines(&plan));
            printer.narrate(&lines);
            let prompt = Prompt {
                assume_yes: args.yes,
                printer,
            };
            Ok(session
                .launch(&plan, &prompt, &Progress::new(printer))
                .await?)
        })
        .await;
    context.print::<LaunchReport>(launched)
}
