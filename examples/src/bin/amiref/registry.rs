//! `amiref registry ...`: publisher keys, signing registry files, and verifying them
//! against the configured trust store (`--image-registry-keys`).

use std::path::PathBuf;

use amiref_registry::{Keygen, Overwrite, SignRequest};
use amiref_report::ErrorReport;
use clap::Subcommand;

use crate::run::{Context, Failure};

/// Registry keys and files.
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Make a publisher key pair: the secret key file, and the public half added to a trust
    /// store.
    Keygen {
        /// Who holds the key (a person, group or address).
        #[arg(long)]
        publisher: String,
        /// Where to write the secret key (refused if it exists, unless --force).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Add the public half to this trust store (created if missing).
        #[arg(long, value_name = "FILE")]
        trust_store: Option<PathBuf>,
        /// Overwrite an existing key file (entries signed with the old key stop verifying
        /// once it is gone from trust stores).
        #[arg(long)]
        force: bool,
    },
    /// Sign a registry file's entries in place (all, or a template's, or one version).
    Sign {
        /// The registry file.
        file: PathBuf,
        /// The secret key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Only this template's entries.
        #[arg(long)]
        template: Option<String>,
        /// Only this version (with --template).
        #[arg(long, requires = "template")]
        version: Option<String>,
    },
    /// Verify registry files (or the configured registries) against the trust store: every
    /// problem, located. Exits 1 when any entry would be refused.
    Verify {
        /// Registry files, directories or https:// URLs [default: the configured ones].
        files: Vec<String>,
    },
}

pub(crate) async fn run(cmd: RegistryCommand, context: &Context) -> u8 {
    match cmd {
        RegistryCommand::Keygen {
            publisher,
            out,
            trust_store,
            force,
        } => {
            let mut keygen = Keygen::new(publisher, out).overwrite(if force {
                Overwrite::Replace
            } else {
                Overwrite::Refuse
            });
            if let Some(path) = trust_store {
                keygen = keygen.trust_store(path);
            }
            context.print(keygen.run().map_err(|e| Failure(ErrorReport::from(&e))))
        }
        RegistryCommand::Sign {
            file,
            key,
            template,
            version,
        } => {
            let mut request = SignRequest::new(file, key);
            request.template = template;
            request.version = version;
            context.print(request.run().map_err(|e| Failure(ErrorReport::from(&e))))
        }
        RegistryCommand::Verify { files } => {
            let verified = context
                .with_session(async |s| {
                    let sources = (!files.is_empty()).then_some(files.as_slice());
                    Ok(s.verify_registries(sources).await?)
                })
                .await;
            context.print(verified)
        }
    }
}
