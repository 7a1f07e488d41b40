//! `amiref template ...`: check template files and print the format's JSON Schema.

use std::path::PathBuf;

use amiref_report::{TemplateSchema, TemplateValidation};
use clap::Subcommand;

use crate::run::Context;

/// Template commands.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// Check template files (or directories of them): every problem of every file is
    /// printed on stderr. Exits 0 when all are valid, 1 when any is not.
    Validate {
        /// Template files, or directories whose *.yml and *.yaml files are checked together
        /// (names must be unique within a directory).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the template format (for editors and other tools).
    Schema,
}

pub(crate) async fn run(cmd: TemplateCommand, context: &Context) -> u8 {
    let printer = context.printer();
    match cmd {
        TemplateCommand::Validate { files } => printer.report(&TemplateValidation::check(&files)),
        TemplateCommand::Schema => printer.report(&TemplateSchema::current()),
    }
}
