//! Why a session could not be built or an operation could not be carried out.

use std::path::PathBuf;

use amiref_core::CloudError;

/// What kind of failure an error is, for exit codes and the JSON envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The input was wrong: a file, a flag's value, a name. Exit code 2.
    BadInput,
    /// The operation ran and failed: no image, a cloud error, a refusal. Exit code 1.
    Failed,
    /// A decision the operation needed was declined, or could not be asked. Exit code 3.
    Declined,
}

impl FailureKind {
    /// The launcher's exit code for this kind (0 is success): 1 failed, 2 bad input or
    /// usage, 3 declined.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::BadInput => 2,
            Self::Declined => 3,
        }
    }
}

/// Why a session operation failed. Every variant keeps its cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The configuration file could not be read or is not valid.
    #[error("configuration {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, located.
        message: String,
    },
    /// A region name that is not a region.
    #[error("{what}: {source}")]
    UnknownRegion {
        /// Where the name came from (`--region`, `AWS_REGION`, the configuration file…).
        what: String,
        /// The refusal, with its "did you mean".
        #[source]
        source: amiref_regions::UnknownRegion,
    },
    /// No template by that name in the template directories.
    #[error("template {name:?} not found: give a file path, or a name found as <name>.yml in {}", searched_text(.searched))]
    TemplateNotFound {
        /// The name asked for.
        name: String,
        /// The directories looked in.
        searched: Vec<PathBuf>,
    },
    /// A template file that is not valid (every problem of the file).
    #[error(transparent)]
    Template(#[from] amiref_template::TemplateError),
    /// The world file could not be loaded or its state saved.
    #[error("world {path}: {message}")]
    World {
        /// The world file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The trust policy file could not be read.
    #[error("trust policy {path}: {message}")]
    TrustPolicy {
        /// The file.
        path: PathBuf,
        /// What is wrong, located.
        message: String,
    },
    /// A registry or its trust store could not be loaded.
    #[error("{what}: {source}")]
    Registry {
        /// Which option or file.
        what: String,
        /// The registry's error.
        #[source]
        source: amiref_registry::LoadError,
    },
    /// The instance price file could not be read.
    #[error(transparent)]
    Prices(#[from] amiref_resolver::PriceFileError),
    /// The resolver could not be configured.
    #[error(transparent)]
    Build(#[from] amiref_resolver::BuildError),
    /// Nothing can be launched: every tier the strategy allows was tried.
    #[error(transparent)]
    Resolve(#[from] amiref_resolver::ResolveError),
    /// A call to the cloud failed.
    #[error("{context}: {source}")]
    Cloud {
        /// What the session was doing.
        context: String,
        /// The cloud's error.
        #[source]
        source: CloudError,
    },
    /// A lifecycle operation failed or was refused.
    #[error(transparent)]
    Lifecycle(#[from] amiref_lifecycle::LifecycleError),
    /// A decision the operation needs was declined or could not be asked.
    #[error("{0}")]
    Declined(String),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] amiref_lifecycle::AuditError),
    /// A value given to the session is not valid (named, with what was expected).
    #[error("{0}")]
    Invalid(String),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl SessionError {
    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Config { .. }
            | Self::UnknownRegion { .. }
            | Self::TemplateNotFound { .. }
            | Self::Template(_)
            | Self::World { .. }
            | Self::TrustPolicy { .. }
            | Self::Registry { .. }
            | Self::Prices(_)
            | Self::Build(_)
            | Self::Invalid(_) => FailureKind::BadInput,
            Self::Declined(_) => FailureKind::Declined,
            Self::Resolve(_)
            | Self::Cloud { .. }
            | Self::Lifecycle(_)
            | Self::Audit(_)
            | Self::Runtime(_) => FailureKind::Failed,
        }
    }

    pub(crate) fn cloud(context: impl Into<String>, source: CloudError) -> Self {
        Self::Cloud {
            context: context.into(),
            source,
        }
    }
}

fn searched_text(dirs: &[PathBuf]) -> String {
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    if shown.is_empty() {
        "no template directory (set `templates:` in the configuration file)".to_owned()
    } else {
        shown.join(", ")
    }
}
