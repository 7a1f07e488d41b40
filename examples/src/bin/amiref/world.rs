//! `amiref world show|reset`: the state a `--world` keeps between commands.

use clap::Subcommand;

use amiref_report::{ErrorKind, ErrorReport};
use amiref_session::{WorldReport, WorldResetReport};

use crate::run::{Context, Failure};

/// World state commands (they need `--world FILE`).
#[derive(Debug, Subcommand)]
pub(crate) enum WorldCommand {
    /// Print the world as it is now, in the world-file format (YAML; with --output json,
    /// the same as a JSON document's result): loading it gives the same world.
    Show,
    /// Forget what earlier commands did: the next command starts from the world file.
    Reset,
}

pub(crate) async fn run(cmd: WorldCommand, context: &Context) -> u8 {
    match cmd {
        WorldCommand::Show => {
            let shown = context
                .with_session(async |s| s.world_show().await?.ok_or_else(needs_world))
                .await;
            context.print::<WorldReport>(shown)
        }
        WorldCommand::Reset => {
            let reset = match context.builder() {
                Ok(builder) => builder.reset_world().await.map_err(Failure::from),
                Err(e) => Err(e),
            };
            context.print::<WorldResetReport>(reset)
        }
    }
}

fn needs_world() -> Failure {
    Failure(ErrorReport::new(
        ErrorKind::Usage,
        "`world show` needs --world FILE: there is no world to show on a real cloud",
    ))
}
