//! `amiref`: the example launcher. Resolves templates to images, launches them, and manages
//! images over their lifecycle.
//!
//! Each command group lives in its own module; this file only parses and dispatches.
//! Exit codes: 0 success, 1 the command ran and failed (an invalid template, no image),
//! 2 usage errors (clap's own), 3 a confirmation was declined or could not be asked (no
//! terminal and no `--yes`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

mod ami_cmd;
mod cloud;
mod launch_cmd;
mod lifecycle_cmd;
mod output;
mod registry_cmd;
mod template_cmd;

/// Resolve, launch, build and share EC2 images for research-computing templates.
#[derive(Debug, Parser)]
#[command(name = "amiref", version, about)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Args)]
struct GlobalArgs {
    /// Run on the in-process cloud described by this world file instead of AWS.
    #[arg(long, global = true, value_name = "FILE")]
    world: Option<PathBuf>,
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
    #[command(flatten)]
    cloud: cloud::CloudArgs,
    /// Let the AWS SDK's wire and signing traces into the log (otherwise capped at info or
    /// warn, whatever $AMIREF_LOG or $RUST_LOG ask); credentials stay redacted either way
    /// [also: AMIREF_LOG_WIRE=1].
    #[arg(long, global = true)]
    log_wire: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Human-readable lines and tables.
    Table,
    /// JSON for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check and describe template files.
    #[command(subcommand)]
    Template(template_cmd::TemplateCommand),
    /// Resolve a template's image and launch an instance (the mission's main flow).
    Launch(launch_cmd::LaunchArgs),
    /// Resolve and test templates' images across regions.
    #[command(subcommand)]
    Ami(ami_cmd::AmiCommand),
    /// Registry keys, signing and verification (community and institutional registries).
    #[command(subcommand)]
    Registry(registry_cmd::RegistryCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let (Some(_), Some(flag)) = (&cli.global.world, cli.global.cloud.aws_only_flag()) {
        // clap's conflicts_with misses global options given after the subcommand.
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("{flag} is for AWS and cannot be used with --world (the in-process cloud)"),
            )
            .exit();
    }
    // $AMIREF_LOG, else $RUST_LOG; wire traces capped unless asked; secrets redacted.
    let logging = amiref::telemetry::Logging::from_env();
    let wire = logging.wire_enabled() || cli.global.log_wire;
    // Fails only when a subscriber is already installed, which nothing before this does.
    let _ = logging.wire(wire).init();
    match cli.command {
        Command::Template(cmd) => template_cmd::run(cmd, &cli.global),
        Command::Launch(args) => launch_cmd::run(args, &cli.global),
        Command::Ami(cmd) => ami_cmd::run(cmd, &cli.global),
        Command::Registry(cmd) => registry_cmd::run(cmd, &cli.global),
    }
}
