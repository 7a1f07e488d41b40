//! `amiref template ...`

use std::process::ExitCode;

use clap::Subcommand;

use crate::GlobalArgs;

/// Template commands.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// Print the JSON Schema of the template format.
    Schema,
}

pub(crate) fn run(cmd: TemplateCommand, _global: &GlobalArgs) -> ExitCode {
    match cmd {
        TemplateCommand::Schema => {
            let schema = schemars_placeholder();
            println!("{schema}");
            ExitCode::SUCCESS
        }
    }
}

fn schemars_placeholder() -> &'static str {
    "{}"
}
