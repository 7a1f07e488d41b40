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
    /// The configuration file could not be read or is not valid (located: file, line,
    /// column, field, what was found and what was expected).
    #[error("configuration {0}")]
    Config(#[source] amiref_yaml::YamlError),
    /// A setting the operation needs is not in the configuration.
    #[error("{what} is not configured: set {setting} in {}", config_text(.config))]
    NotConfigured {
        /// What is missing, for a person (`the community "prism"`).
        what: String,
        /// The key or keys to set (`communities.prism`).
        setting: String,
        /// The configuration file, when there is one.
        config: Option<PathBuf>,
    },
    /// A value given to an operation is not valid.
    #[error("invalid {field}: {found:?}: expected {expected}")]
    InvalidInput {
        /// The field, option or setting at fault.
        field: String,
        /// What was given.
        found: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// No instance by that id or name.
    #[error("no {reference} in {region} (instances are found by id, or by their Name tag)")]
    InstanceNotFound {
        /// What was asked for.
        reference: crate::InstanceRef,
        /// Where it was looked for.
        region: amiref_core::Region,
    },
    /// A name shared by several instances.
    #[error("{name} names {} instances in {region}: {}; give the instance id", .ids.len(), ids_text(.ids))]
    InstanceAmbiguous {
        /// The name, for a person.
        name: String,
        /// Where.
        region: amiref_core::Region,
        /// The instances it names.
        ids: Vec<amiref_core::InstanceId>,
    },
    /// The instance is terminated or shutting down.
    #[error(
        "instance {id} in {region} is {state}: only a running or stopped instance can be imaged"
    )]
    InstanceGone {
        /// The instance.
        id: amiref_core::InstanceId,
        /// Where.
        region: amiref_core::Region,
        /// Its state.
        state: String,
    },
    /// A community share was refused before anything changed: everything that is missing
    /// or wrong, each with what to do.
    #[error("{0}")]
    CommunityShareRefused(Box<crate::CommunityRefusal>),
    /// A community share granted its launch permissions, then could not write the entry
    /// (the registry file changed meanwhile, or could not be written). Running it again
    /// finishes it: the grant is idempotent.
    #[error(
        "{image}: launch permissions were granted, but the {community} community's entry was not written: {source}"
    )]
    CommunityEntryNotWritten {
        /// The community.
        community: String,
        /// The image.
        image: amiref_core::AmiId,
        /// Why.
        #[source]
        source: Box<amiref_registry::ShareError>,
    },
    /// `publish` lacks settings the publishing profile must give.
    #[error("cannot publish: missing {}: set them under `publishing.marketplace` in {} (or pass them)", .missing.join(", "), config_text(.config))]
    PublishingIncomplete {
        /// The missing settings, by their configuration key.
        missing: Vec<&'static str>,
        /// The configuration file, when there is one.
        config: Option<PathBuf>,
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
    /// The world file or its saved state could not be loaded, locked or saved.
    #[error(transparent)]
    World(#[from] amiref_memory::StateError),
    /// The trust policy file could not be read or is not valid (every problem, located).
    #[error(transparent)]
    TrustPolicy(#[from] amiref_strategies::TrustFileError),
    /// A registry or its trust store could not be loaded.
    #[error("{what}: {source}")]
    Registry {
        /// Which option or file.
        what: String,
        /// The registry's error.
        #[source]
        source: amiref_registry::LoadError,
    },
    /// A registry source that is not a file, a directory or an https:// URL.
    #[error(transparent)]
    RegistrySource(#[from] amiref_registry::SourceError),
    /// A rating that cannot be recorded (stars out of range, an entry no registry offers).
    #[error(transparent)]
    Rate(#[from] amiref_registry::RateError),
    /// The instance price file could not be read.
    #[error(transparent)]
    Prices(#[from] amiref_resolver::PriceFileError),
    /// The resolver could not be configured.
    #[error(transparent)]
    Build(#[from] amiref_resolver::BuildError),
    /// An image build did not complete (the stage, the cause, what was cleaned up).
    #[error(transparent)]
    ImageBuild(Box<amiref_build::BuildError>),
    /// A refresh could not check or act on its templates.
    #[error(transparent)]
    Refresh(Box<amiref_build::refresh::RefreshError>),
    /// The launch log could not be read (a bad line is a note of the plan, not this).
    #[error(transparent)]
    LaunchLog(#[from] amiref_plan::LaunchLogError),
    /// A usage file is not valid (located: file, line, field).
    #[error(transparent)]
    Usage(#[from] amiref_plan::UsageFileError),
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
    /// The audit log's signing key (`audit.signing_key`) could not be loaded.
    #[error(transparent)]
    AuditKey(#[from] amiref_audit::SigningKeyError),
    /// An audit log could not be read (`audit verify`, `audit show`).
    #[error(transparent)]
    AuditRead(#[from] amiref_audit::ReadError),
    /// A file operation of the session's own failed (a directory for the audit log or
    /// the ratings).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl From<amiref_build::BuildError> for SessionError {
    fn from(e: amiref_build::BuildError) -> Self {
        Self::ImageBuild(Box::new(e))
    }
}

impl From<amiref_build::refresh::RefreshError> for SessionError {
    fn from(e: amiref_build::refresh::RefreshError) -> Self {
        Self::Refresh(Box::new(e))
    }
}

impl SessionError {
    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Lifecycle(amiref_lifecycle::LifecycleError::InvalidInput { .. }) => {
                FailureKind::BadInput
            }
            Self::World(amiref_memory::StateError::Io { .. }) => FailureKind::Failed,
            Self::Config(_)
            | Self::NotConfigured { .. }
            | Self::InvalidInput { .. }
            | Self::InstanceNotFound { .. }
            | Self::InstanceAmbiguous { .. }
            | Self::PublishingIncomplete { .. }
            | Self::UnknownRegion { .. }
            | Self::TemplateNotFound { .. }
            | Self::Template(_)
            | Self::World(_)
            | Self::TrustPolicy(_)
            | Self::Registry { .. }
            | Self::RegistrySource(_)
            | Self::Rate(_)
            | Self::Prices(_)
            | Self::Build(_)
            | Self::AuditKey(_)
            | Self::AuditRead(amiref_audit::ReadError::Line { .. })
            | Self::Usage(_) => FailureKind::BadInput,
            Self::Declined(_) => FailureKind::Declined,
            Self::ImageBuild(e) if matches!(**e, amiref_build::BuildError::Invalid { .. }) => {
                FailureKind::BadInput
            }
            Self::Refresh(e)
                if matches!(**e, amiref_build::refresh::RefreshError::Invalid { .. }) =>
            {
                FailureKind::BadInput
            }
            Self::Resolve(_)
            | Self::ImageBuild(_)
            | Self::LaunchLog(_)
            | Self::Refresh(_)
            | Self::InstanceGone { .. }
            | Self::CommunityShareRefused(_)
            | Self::CommunityEntryNotWritten { .. }
            | Self::Cloud { .. }
            | Self::Lifecycle(_)
            | Self::Audit(_)
            | Self::AuditRead(_)
            | Self::Io { .. }
            | Self::Runtime(_) => FailureKind::Failed,
        }
    }

    /// A "not configured" error that names `config`, the configuration file in use.
    pub(crate) fn in_config(self, config: Option<&std::path::Path>) -> Self {
        match self {
            Self::NotConfigured {
                what,
                setting,
                config: None,
            } => Self::NotConfigured {
                what,
                setting,
                config: config.map(std::path::Path::to_path_buf),
            },
            other => other,
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

fn config_text(config: &Option<PathBuf>) -> String {
    match config {
        Some(p) => p.display().to_string(),
        None => {
            "the configuration file ($AMIREF_CONFIG, else ~/.config/amiref/config.yaml)".to_owned()
        }
    }
}

fn ids_text(ids: &[amiref_core::InstanceId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates the directory `file` is to be written in.
pub(crate) fn create_parent(
    file: &std::path::Path,
    action: &'static str,
) -> Result<(), SessionError> {
    match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| SessionError::Io {
            action,
            path: dir.to_owned(),
            source,
        }),
        None => Ok(()),
    }
}
