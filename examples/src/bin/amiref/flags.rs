//! The global flags, and how they become a `SessionBuilder` (ripgrep's `hiargs.rs`: the
//! parsed flags are turned into the library's configuration in one place).
//!
//! Precedence, lowest first: the configuration file (`--config`, else `$AMIREF_CONFIG`,
//! else `$XDG_CONFIG_HOME/amiref/config.yaml`), the environment variables, then these
//! flags. docs/configuration.md lists every key and variable.

use std::ffi::OsString;
use std::path::PathBuf;

use amiref::Workload;
use amiref_report::{ErrorReport, OutputMode};
use amiref_session::{SessionBuilder, SessionError, config::vars};
use clap::{Args, ValueEnum};

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub(crate) struct GlobalArgs {
    /// Run on the in-process cloud described by this world file instead of AWS; its state
    /// is kept between commands (see --state and `amiref world`).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) world: Option<PathBuf>,
    /// Where a --world keeps its state between commands [default: $AMIREF_STATE_DIR, else
    /// `state_dir` of the configuration file, else $XDG_STATE_HOME/amiref/worlds/NAME].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) state: Option<PathBuf>,
    /// How to print results: table (for people; also `text`), json (one document on
    /// stdout), jsonl (progress events, then the result, one JSON document a line), html
    /// (a self-contained page; `compliance` only).
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Table)]
    pub(crate) output: OutputArg,
    /// The configuration file [default: $AMIREF_CONFIG, else
    /// $XDG_CONFIG_HOME/amiref/config.yaml, else ~/.config/amiref/config.yaml].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The region to work in [default: $AWS_REGION, else $AWS_DEFAULT_REGION, else the
    /// configuration file's, else the profile's (on AWS), else us-east-1].
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The AWS profile of the shared config and credentials files (on AWS, i.e. without
    /// --world) [default: $AWS_PROFILE, else the default profile].
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Send AWS requests to this URL instead of AWS's own endpoints, e.g. an emulator such
    /// as moto (`http://127.0.0.1:5000`) [default: $AWS_ENDPOINT_URL, else AWS].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// The trust policy (YAML: trusted_owners, named_owners, registry_publishers_may_vouch)
    /// [default: $AMIREF_TRUST, else `trust_policy` of the configuration file, else (with
    /// --world) <world>.trust.yaml beside the world file, else self and amazon only].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) trust: Option<PathBuf>,
    /// Instance prices laid over the built-in table (YAML: as_of, source, prices, regions).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
    /// Community or institutional registries: files, directories or https:// URLs
    /// (repeatable) [default: $AMIREF_REGISTRIES, else `registries` of the configuration
    /// file, else none: the community tier is skipped].
    #[arg(long, global = true, value_name = "SOURCE")]
    pub(crate) image_registry: Vec<String>,
    /// The publisher keys registry entries must be signed with [default:
    /// $AMIREF_TRUST_STORE, else `registry_keys` of the configuration file, else trust.yml
    /// beside the first registry].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) image_registry_keys: Option<PathBuf>,
    /// What the instances are for: interactive (sooner usable wins) or batch (cheaper
    /// wins) [default: `workload` of the configuration file, else interactive].
    #[arg(long, global = true, value_enum)]
    pub(crate) workload: Option<WorkloadArg>,
    /// Append audit records of changes on a real cloud to this JSON-lines file [default:
    /// $AMIREF_AUDIT_LOG, else `audit_log` of the configuration file, else
    /// $XDG_STATE_HOME/amiref/audit.jsonl]; a --world keeps its records in its state.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
    /// Let the AWS SDK's wire and signing traces into the log (otherwise capped whatever
    /// $AMIREF_LOG or $RUST_LOG ask); credentials stay redacted either way [also:
    /// AMIREF_LOG_WIRE=1].
    #[arg(long, global = true)]
    pub(crate) log_wire: bool,
}

/// The `--output` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputArg {
    /// Lines and tables for people.
    #[value(alias = "human", alias = "text")]
    Table,
    /// Exactly one JSON document on stdout, success or failure.
    Json,
    /// One JSON document a line: each progress event, then the result.
    Jsonl,
    /// A self-contained HTML page on stdout (`amiref compliance` only).
    Html,
}

impl From<OutputArg> for OutputMode {
    fn from(output: OutputArg) -> Self {
        match output {
            OutputArg::Table => Self::Human,
            OutputArg::Json => Self::Json,
            OutputArg::Jsonl => Self::JsonLines,
            // The page is the command's own; its failures are told to people.
            OutputArg::Html => Self::Human,
        }
    }
}

/// The `--workload` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WorkloadArg {
    /// A person is waiting.
    Interactive,
    /// Nobody is waiting.
    Batch,
}

impl GlobalArgs {
    /// Combinations clap cannot check: its `conflicts_with` misses global options given
    /// after the subcommand.
    pub(crate) fn check(&self) -> Result<(), String> {
        let aws_only = match (&self.profile, &self.endpoint_url) {
            (Some(_), _) => Some("--profile"),
            (None, Some(_)) => Some("--endpoint-url"),
            (None, None) => None,
        };
        match (&self.world, aws_only) {
            (Some(_), Some(flag)) => Err(format!(
                "{flag} is for AWS and cannot be used with --world (the in-process cloud)"
            )),
            _ => Ok(()),
        }
    }

    /// The session these flags describe, over the configuration file and the environment,
    /// or why the session refuses them (an unknown region, a configuration file that is not
    /// valid).
    pub(crate) fn session_builder(&self) -> Result<SessionBuilder, ErrorReport> {
        let refused = |e: SessionError| ErrorReport::from(&e);
        let config = self.config.clone().map(OsString::from);
        // --config stands for $AMIREF_CONFIG: a named file must exist.
        let var = |name: &str| match (name, &config) {
            (vars::CONFIG, Some(path)) => Some(path.clone()),
            _ => std::env::var_os(name),
        };
        let mut builder = SessionBuilder::from_vars(&var).map_err(refused)?;
        if let Some(world) = &self.world {
            builder = builder.with_world_file(world);
        }
        if let Some(dir) = &self.state {
            builder = builder.with_state_dir(dir);
        }
        if let Some(region) = &self.region {
            builder = builder
                .with_region_name(region, "--region")
                .map_err(refused)?;
        }
        if let Some(profile) = &self.profile {
            builder = builder.with_aws_profile(profile);
        }
        if let Some(url) = &self.endpoint_url {
            builder = builder.with_endpoint_url(url);
        }
        if let Some(path) = &self.trust {
            builder = builder.with_trust_policy_file(path);
        }
        if let Some(path) = &self.prices {
            builder = builder.with_prices(path);
        }
        if !self.image_registry.is_empty() {
            builder = builder.with_registries(self.image_registry.clone());
        }
        if let Some(path) = &self.image_registry_keys {
            builder = builder.with_registry_keys(path);
        }
        if let Some(workload) = self.workload {
            builder = builder.with_workload(match workload {
                WorkloadArg::Interactive => Workload::Interactive,
                WorkloadArg::Batch => Workload::Batch,
            });
        }
        if let Some(path) = &self.audit_log {
            builder = builder.with_audit_log(path);
        }
        Ok(builder)
    }
}

/// The `--output` of a command line clap could not parse, read from the raw arguments, so
/// that even a usage error is printed as asked.
pub(crate) fn output_asked() -> Option<OutputMode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter().enumerate().rev().find_map(|(i, arg)| {
        let value = match arg.strip_prefix("--output") {
            Some("") => args.get(i + 1)?.as_str(),
            Some(rest) => rest.strip_prefix('=')?,
            None => return None,
        };
        OutputMode::parse(value)
    })
}
