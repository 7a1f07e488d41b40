//! `amiref`: the example launcher, a shell over `amiref-session` (the operations) and
//! `amiref-report` (their output). Flags become a `SessionBuilder` (`flags.rs`, on
//! ripgrep's `hiargs.rs` model), each command calls one session operation on one runtime,
//! and the printer renders its report.
//!
//! Exit codes (docs/cli.md): 0 done, 1 the command ran and failed (no image, a cloud
//! error, a region whose copy failed), 2 bad input or usage (clap's own errors, an unknown
//! region, a template that is not found or not valid), 3 a decision was declined or could
//! not be asked (no terminal and no `--yes`).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod ami;
mod audit;
mod build;
mod compliance;
mod flags;
mod launch;
mod lifecycle;
mod lifecycle_args;
mod plan;
mod progress;
mod prompt;
mod refresh;
mod registry;
mod run;
mod template;
mod world;

/// The exit codes, for `--help`.
const EXIT_CODES: &str = "Exit codes: 0 done; 1 the command ran and failed (no image, a cloud \
error, a region whose copy failed, an invalid template checked); 2 bad input or usage (an \
unknown option, region or template, a file that is not valid); 3 a decision was declined, or \
could not be asked (no terminal and no --yes).\n\nDefaults come from the configuration file \
(--config, $AMIREF_CONFIG, else $XDG_CONFIG_HOME/amiref/config.yaml) and AMIREF_* variables; \
see docs/configuration.md.";

/// Resolve, launch, build and share EC2 images for research-computing templates.
#[derive(Debug, Parser)]
#[command(name = "amiref", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: flags::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check and describe template files.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// Resolve a template's image and launch an instance (the mission's main flow).
    Launch(launch::LaunchArgs),
    /// Resolve, test, list, build and share templates' images.
    #[command(subcommand)]
    Ami(ami::AmiCommand),
    /// Build a template's image: provision, capture, test, distribute, clean up (resumable;
    /// nothing left behind on failure). `--cleanup` removes expired leftovers of any build.
    Build(build::BuildArgs),
    /// Rebuild the images that went stale (a newer base image, a changed template, older
    /// than build.max_age), promote them, deprecate what they replace, apply retention.
    Refresh(refresh::RefreshArgs),
    /// Decide which templates deserve pre-built images, and where: build, copy from the
    /// nearest region, copy on demand, or leave it to the script (table, JSON or HTML).
    Plan(plan::PlanArgs),
    /// Registry keys, signing and verification (community and institutional registries).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Check the account's images, and the images its instances and launch templates use,
    /// against CIS, Security Hub and amiref's own controls (text, JSON or HTML); exits 4
    /// on findings at or above --fail-on, 1 when a read failed.
    Compliance(compliance::ComplianceArgs),
    /// The state a `--world` keeps between commands.
    #[command(subcommand)]
    World(world::WorldCommand),
    /// The audit log: verify its hash chain and signed digests, show its records.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let html = cli.global.output == flags::OutputArg::Html;
    if html && !matches!(cli.command, Command::Compliance(_)) {
        let e = Cli::command().error(
            clap::error::ErrorKind::InvalidValue,
            "--output html is for `amiref compliance` only",
        );
        return usage_error(e);
    }
    if let Err(message) = cli.global.check() {
        let e = Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message);
        return usage_error(e);
    }
    // $AMIREF_LOG, else $RUST_LOG; wire traces capped unless asked; secrets redacted.
    let logging = amiref::telemetry::Logging::from_env();
    let wire = logging.wire_enabled() || cli.global.log_wire;
    // Fails only when a subscriber is already installed, which nothing before this does.
    let _ = logging.wire(wire).init();
    let context = run::Context::new(&cli.global);
    let code = context.block_on(async {
        match cli.command {
            Command::Template(cmd) => template::run(cmd, &context).await,
            Command::Launch(args) => launch::run(args, &context).await,
            Command::Ami(cmd) => ami::run(cmd, &context).await,
            Command::Build(args) => build::run(args, &context).await,
            Command::Refresh(args) => refresh::run(args, &context).await,
            Command::Plan(args) => plan::run(args, &context).await,
            Command::Registry(cmd) => registry::run(cmd, &context).await,
            Command::Compliance(args) => compliance::run(args, html, &context).await,
            Command::World(cmd) => world::run(cmd, &context).await,
            Command::Audit(cmd) => audit::run(cmd, &context).await,
        }
    });
    ExitCode::from(code)
}

/// A command line clap refused (exit 2), or `--help` and `--version` (exit 0). The refusal
/// goes to stderr as clap writes it; asked for JSON, stdout also gets its document
/// (`amiref/usage/v1`, `ok: false`).
fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if !e.use_stderr() {
        return ExitCode::SUCCESS;
    }
    let mode = flags::output_asked().unwrap_or_default();
    if mode == amiref_report::OutputMode::Human {
        return ExitCode::from(amiref_report::exit::USAGE);
    }
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    let error = amiref_report::ErrorReport::new(
        amiref_report::ErrorKind::Usage,
        first.strip_prefix("error: ").unwrap_or(first),
    );
    ExitCode::from(amiref_report::Printer::stdio(mode).fail_as("usage", &error))
}
