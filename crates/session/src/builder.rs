//! Building a [`Session`] from configuration, the object_store way: `from_env()`, then
//! `with_*` for what the frontend was told, then `build()`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref_audit::{Durability, FileAuditLog};
use amiref_core::{Cloud, Region};
use amiref_layers::{Circuit, CircuitPolicy, CopyFlights, Layer, RetryPolicy, Retrying};
use amiref_lifecycle::{AuditSink, CopyLimits};
use amiref_resolver::{EstimateModel, InstancePrices, Resolver, Workload};
use amiref_strategies::TrustPolicy;

use crate::SessionError;
use crate::config::{LoadedConfig, WorkloadSetting, default_state_home, vars};
use crate::registries::RegistrySettings;
use crate::session::{Session, SessionParts};
use crate::templates::TemplateLibrary;
use crate::world::{StateLocation, WorldResetReport, WorldSession};

/// The sink every record goes to, and the file log behind it when it is one (a sink handed
/// in with `with_audit` has none).
type AuditSinks = (Arc<dyn AuditSink>, Option<Arc<FileAuditLog>>);

/// The region used when nothing names one (the AWS CLI's usual default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Which cloud a session runs on.
#[derive(Clone, Default)]
enum CloudChoice {
    /// AWS through the SDK's standard configuration chain (feature `aws`).
    #[default]
    Aws,
    /// The in-process cloud a world file describes, with its state kept between sessions.
    World(PathBuf),
    /// A cloud the caller built.
    Given(Arc<dyn Cloud>),
}

/// AWS options the AWS CLI also has.
#[derive(Debug, Clone, Default)]
struct AwsOptions {
    profile: Option<String>,
    endpoint_url: Option<String>,
}

/// Builds a [`Session`].
///
/// ```no_run
/// # async fn demo() -> Result<(), amiref_session::SessionError> {
/// let session = amiref_session::SessionBuilder::from_env()?
///     .with_world_file("examples/worlds/demo.yaml")
///     .with_region_name("eu-west-1", "--region")?
///     .build()
///     .await?;
/// println!("working in {}", session.region());
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct SessionBuilder {
    loaded: LoadedConfig,
    env: EnvSettings,
    cloud: CloudChoice,
    aws: AwsOptions,
    region: Option<Region>,
    trust_policy: Option<TrustPolicySetting>,
    registries: Option<Vec<String>>,
    institutional_registries: Option<Vec<String>>,
    registry_keys: Option<PathBuf>,
    registry_policy: Option<amiref_registry::EntryPolicy>,
    ratings: Option<PathBuf>,
    prices: Option<PathBuf>,
    audit: Option<Arc<dyn AuditSink>>,
    audit_log: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    templates: Option<Vec<PathBuf>>,
    workload: Option<Workload>,
    retry: Option<RetryPolicy>,
    circuit: Option<Option<CircuitPolicy>>,
}

#[derive(Clone)]
enum TrustPolicySetting {
    File(PathBuf),
    Policy(Box<TrustPolicy>),
}

/// What the environment said, read once.
#[derive(Debug, Clone, Default)]
struct EnvSettings {
    region: Option<(String, &'static str)>,
    trust: Option<PathBuf>,
    trust_store: Option<PathBuf>,
    registries: Option<Vec<String>>,
    templates: Option<Vec<PathBuf>>,
    audit_log: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    state_home: Option<PathBuf>,
    ratings: Option<PathBuf>,
    sdk_max_attempts: Option<String>,
}

impl EnvSettings {
    fn read(var: &dyn Fn(&str) -> Option<OsString>) -> Self {
        let text = |name: &str| {
            var(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        };
        let path = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let region = text(vars::AWS_REGION)
            .map(|r| (r, vars::AWS_REGION))
            .or_else(|| text(vars::AWS_DEFAULT_REGION).map(|r| (r, vars::AWS_DEFAULT_REGION)));
        Self {
            region,
            trust: path(vars::TRUST),
            trust_store: path(vars::TRUST_STORE),
            registries: text(vars::REGISTRIES).map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            templates: var(vars::TEMPLATES)
                .filter(|v| !v.is_empty())
                .map(|v| std::env::split_paths(&v).collect()),
            audit_log: path(vars::AUDIT_LOG),
            state_dir: path(vars::STATE_DIR),
            state_home: default_state_home(var),
            ratings: path(vars::RATINGS),
            sdk_max_attempts: text(SDK_MAX_ATTEMPTS),
        }
    }
}

impl Default for SessionBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionBuilder {
    /// A builder with nothing configured: AWS (with feature `aws`), the default region, the
    /// default trust policy (self and amazon), no registry, no template directory.
    pub fn new() -> Self {
        Self {
            loaded: LoadedConfig::default(),
            env: EnvSettings::default(),
            cloud: CloudChoice::default(),
            aws: AwsOptions::default(),
            region: None,
            trust_policy: None,
            registries: None,
            institutional_registries: None,
            registry_keys: None,
            registry_policy: None,
            ratings: None,
            prices: None,
            audit: None,
            audit_log: None,
            state_dir: None,
            templates: None,
            workload: None,
            retry: None,
            circuit: None,
        }
    }

    /// A builder configured by the configuration file and the environment variables (see
    /// [`crate::config`]).
    pub fn from_env() -> Result<Self, SessionError> {
        Self::from_vars(&|name| std::env::var_os(name))
    }

    /// [`SessionBuilder::from_env`] with the variables `var` gives (for tests and
    /// services that keep their own environment).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<OsString>) -> Result<Self, SessionError> {
        let mut builder = Self::new();
        builder.loaded = LoadedConfig::from_vars(var)?;
        builder.env = EnvSettings::read(var);
        Ok(builder)
    }

    /// Uses this configuration instead of the file the environment names.
    pub fn with_config(mut self, loaded: LoadedConfig) -> Self {
        self.loaded = loaded;
        self
    }

    /// Runs on the in-process cloud this world file describes; its state is kept between
    /// sessions in the state directory.
    pub fn with_world_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cloud = CloudChoice::World(path.into());
        self
    }

    /// Runs on this cloud.
    pub fn with_cloud(mut self, cloud: Arc<dyn Cloud>) -> Self {
        self.cloud = CloudChoice::Given(cloud);
        self
    }

    /// On AWS: the profile of the shared config files to use.
    pub fn with_aws_profile(mut self, profile: impl Into<String>) -> Self {
        self.aws.profile = Some(profile.into());
        self
    }

    /// On AWS: send requests to this URL (an emulator such as moto).
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.aws.endpoint_url = Some(url.into());
        self
    }

    /// Works in this region.
    pub fn with_region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Works in the region `name` names, checked against the region catalog; `what` says
    /// where the name came from, for the error (`--region`).
    pub fn with_region_name(self, name: &str, what: &str) -> Result<Self, SessionError> {
        Ok(self.with_region(crate::check_region(name, what)?))
    }

    /// Uses the trust policy in this file.
    pub fn with_trust_policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust_policy = Some(TrustPolicySetting::File(path.into()));
        self
    }

    /// Uses this trust policy.
    pub fn with_trust_policy(mut self, policy: TrustPolicy) -> Self {
        self.trust_policy = Some(TrustPolicySetting::Policy(Box::new(policy)));
        self
    }

    /// Uses these registries (files, directories, https:// URLs) instead of the configured
    /// ones.
    pub fn with_registries(mut self, sources: Vec<String>) -> Self {
        self.registries = Some(sources);
        self
    }

    /// Uses these institutional registries (ranked above the community's) instead of the
    /// configured ones.
    pub fn with_institutional_registries(mut self, sources: Vec<String>) -> Self {
        self.institutional_registries = Some(sources);
        self
    }

    /// The trust store the registries' entries must be signed by.
    pub fn with_registry_keys(mut self, path: impl Into<PathBuf>) -> Self {
        self.registry_keys = Some(path.into());
        self
    }

    /// Which registry entries are admitted besides a valid signature.
    pub fn with_registry_policy(mut self, policy: amiref_registry::EntryPolicy) -> Self {
        self.registry_policy = Some(policy);
        self
    }

    /// The caller's own ratings file (`ami rate` writes it; it ranks above every registry).
    pub fn with_ratings(mut self, path: impl Into<PathBuf>) -> Self {
        self.ratings = Some(path.into());
        self
    }

    /// Instance prices laid over the built-in table.
    pub fn with_prices(mut self, path: impl Into<PathBuf>) -> Self {
        self.prices = Some(path.into());
        self
    }

    /// Sends audit records here instead of the configured audit log.
    pub fn with_audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Appends audit records to this JSON-lines file.
    pub fn with_audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit_log = Some(path.into());
        self
    }

    /// Keeps a world's state in this directory.
    pub fn with_state_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(path.into());
        self
    }

    /// Looks templates up by name in these directories, in order.
    pub fn with_template_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.templates = Some(dirs);
        self
    }

    /// What the instances are for.
    pub fn with_workload(mut self, workload: Workload) -> Self {
        self.workload = Some(workload);
        self
    }

    /// Retries the session's calls by `policy` instead of [`RetryPolicy::interactive`]
    /// ([`RetryPolicy::never`]: each call made once, for measuring without retries).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Gives regions up by `policy` instead of [`CircuitPolicy::per_command`]; `None`: never
    /// gives a region up.
    pub fn with_circuit_policy(mut self, policy: Option<CircuitPolicy>) -> Self {
        self.circuit = Some(policy);
        self
    }

    /// `cloud` as the session uses it: beneath one retry layer (the session's retry
    /// policy), identical concurrent copies made once, and, beneath those, the circuit that
    /// gives failing regions up. Nothing above
    /// retries again: retrying layers stacked on it (a lifecycle's) make each call once.
    fn resilient(
        &self,
        cloud: Arc<dyn Cloud>,
        world: bool,
    ) -> (Arc<dyn Cloud>, Option<Arc<Circuit>>) {
        // On a world the jitter is seeded the same each run, so its runs repeat.
        let seed = if world {
            15
        } else {
            u64::from(std::process::id())
        };
        let policy = self
            .retry
            .clone()
            .unwrap_or_else(|| RetryPolicy::interactive(seed));
        let circuit = self
            .circuit
            .clone()
            .unwrap_or_else(|| Some(CircuitPolicy::per_command()))
            .map(|p| Arc::new(Circuit::new(p)));
        let guarded: Arc<dyn Cloud> = match &circuit {
            Some(c) => Arc::new(Arc::clone(c).over(cloud)),
            None => cloud,
        };
        // Identical concurrent copies (a hundred launches copying one image to one region)
        // are one request; each caller's retries coalesce again.
        let coalesced = CopyFlights::new().over(guarded);
        let retrying: Arc<dyn Cloud> = Arc::new(Retrying::new(Box::new(coalesced), policy));
        (retrying, circuit)
    }

    /// Whether the session runs on a world (simulated time).
    pub fn is_world(&self) -> bool {
        matches!(self.cloud, CloudChoice::World(_))
    }

    /// The async runtime a session of this builder runs on. On a world, tokio's clock
    /// starts paused and jumps ahead whenever every task waits, so a simulated five-minute
    /// copy completes at once, deterministically; on a real cloud the clock is the wall
    /// clock.
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime, SessionError> {
        let built = if self.is_world() {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        };
        built.map_err(SessionError::Runtime)
    }

    /// The region, from the first of: `with_region`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
    /// the configuration file, (on AWS) the profile's region, `us-east-1`.
    fn explicit_region(&self) -> Result<Option<Region>, SessionError> {
        if let Some(r) = &self.region {
            return Ok(Some(r.clone()));
        }
        if let Some((name, what)) = &self.env.region {
            return crate::check_region(name, what).map(Some);
        }
        match &self.loaded.config.region {
            Some(name) => crate::check_region(name, &self.config_field("region")).map(Some),
            None => Ok(None),
        }
    }

    fn config_field(&self, field: &str) -> String {
        match &self.loaded.path {
            Some(p) => format!("{} `{field}`", p.display()),
            None => format!("configuration `{field}`"),
        }
    }

    /// The trust policy: `with_trust_policy*`, `AMIREF_TRUST`, the configuration file, the
    /// world's own (`<world>.trust.yaml` beside it), else the default.
    fn trust_policy(&self) -> Result<TrustPolicy, SessionError> {
        let file = match &self.trust_policy {
            Some(TrustPolicySetting::Policy(p)) => return Ok((**p).clone()),
            Some(TrustPolicySetting::File(p)) => Some(p.clone()),
            None => self
                .env
                .trust
                .clone()
                .or_else(|| self.loaded.config.trust_policy.clone())
                .or_else(|| match &self.cloud {
                    CloudChoice::World(world) => {
                        Some(world_trust_path(world)).filter(|p| p.is_file())
                    }
                    _ => None,
                }),
        };
        match file {
            Some(path) => Ok(TrustPolicy::load_file(&path)?),
            None => Ok(TrustPolicy::default()),
        }
    }

    /// The audit sink, and the file log behind it (none for a sink handed in): a hash-chained
    /// [`FileAuditLog`] (docs/audit.md), synced line by line on a real cloud unless
    /// `audit.fsync` is false, never on a world; digests every `audit.digest_every`
    /// records, signed with `audit.signing_key` when set.
    fn audit_sink(&self, world: Option<&WorldSession>) -> Result<AuditSinks, SessionError> {
        if let Some(sink) = &self.audit {
            return Ok((sink.clone(), None));
        }
        // A world's records stay with the world, never in the real audit log.
        let path = match world {
            Some(w) => w.audit_path(),
            None => self
                .audit_log
                .clone()
                .or_else(|| self.env.audit_log.clone())
                .or_else(|| self.loaded.config.audit_log.clone())
                .or_else(|| self.env.state_home.as_ref().map(|h| h.join("audit.jsonl")))
                .ok_or_else(|| SessionError::NotConfigured {
                    what: "the audit log".into(),
                    setting: "`audit_log:` (or $AMIREF_AUDIT_LOG, or $HOME for the default)".into(),
                    config: self.loaded.path.clone(),
                })?,
        };
        crate::error::create_parent(&path, "create the audit log's directory")?;
        let settings = &self.loaded.config.audit;
        let durable = world.is_none() && settings.fsync.unwrap_or(true);
        let mut log = FileAuditLog::open(&path)?
            .durability(if durable {
                Durability::Fsync
            } else {
                Durability::Cached
            })
            .digest_every(
                settings
                    .digest_every
                    .unwrap_or(amiref_audit::DEFAULT_DIGEST_EVERY),
            );
        if let Some(key) = &settings.signing_key {
            log = log.signing_key(amiref_audit::load_signing_key(key)?);
        }
        let log = Arc::new(log);
        Ok((log.clone(), Some(log)))
    }

    /// Where launches are recorded: the configuration's `build.launch_log`, else
    /// `<state home>/launches.jsonl`; on a world, the world's own (in its state directory).
    fn launch_log(&self, world: Option<&WorldSession>) -> Option<PathBuf> {
        match world {
            Some(w) => Some(w.launch_log_path()),
            None => self.loaded.config.build.launch_log.clone().or_else(|| {
                self.env
                    .state_home
                    .as_ref()
                    .map(|h| h.join("launches.jsonl"))
            }),
        }
    }

    /// Where a world's state lives: `with_state_dir`, `AMIREF_STATE_DIR`, the configuration
    /// file's `state_dir`, else a directory per world file under the state home.
    fn state_location(&self) -> StateLocation {
        StateLocation {
            dir: self
                .state_dir
                .clone()
                .or_else(|| self.env.state_dir.clone())
                .or_else(|| self.loaded.config.state_dir.clone()),
            state_home: self.env.state_home.clone(),
        }
    }

    /// `world reset`: removes the saved state and audit log of the world this builder
    /// names, so the next session starts from the world file. Loads nothing, so it works
    /// when the saved state no longer loads.
    pub async fn reset_world(&self) -> Result<WorldResetReport, SessionError> {
        match &self.cloud {
            CloudChoice::World(path) => crate::world::reset(path, &self.state_location()).await,
            _ => Err(SessionError::InvalidInput {
                field: "world".into(),
                found: "no world file".into(),
                expected: "a world file to reset (with_world_file, --world)".into(),
            }),
        }
    }

    fn workload(&self) -> Workload {
        self.workload.unwrap_or(match self.loaded.config.workload {
            Some(WorkloadSetting::Batch) => Workload::Batch,
            _ => Workload::Interactive,
        })
    }

    fn template_dirs(&self) -> Vec<PathBuf> {
        self.templates
            .clone()
            .or_else(|| self.env.templates.clone())
            .unwrap_or_else(|| self.loaded.config.templates.clone())
    }

    /// Registries: `with_*`, then the environment, then the configuration file. Remote
    /// copies are cached under the state home; ratings default to `ratings.yml` there.
    fn registry_settings(&self) -> RegistrySettings {
        let config = &self.loaded.config;
        RegistrySettings {
            community: self
                .registries
                .clone()
                .or_else(|| self.env.registries.clone())
                .unwrap_or_else(|| config.registries.clone()),
            institutional: self
                .institutional_registries
                .clone()
                .unwrap_or_else(|| config.institutional_registries.clone()),
            trust_store: self
                .registry_keys
                .clone()
                .or_else(|| self.env.trust_store.clone())
                .or_else(|| config.registry_keys.clone()),
            policy: self
                .registry_policy
                .clone()
                .unwrap_or_else(|| config.registry_policy.entry_policy()),
            ratings: self
                .ratings
                .clone()
                .or_else(|| self.env.ratings.clone())
                .or_else(|| config.ratings.clone())
                .or_else(|| self.env.state_home.as_ref().map(|h| h.join("ratings.yml"))),
            cache_dir: self
                .env
                .state_home
                .as_ref()
                .map(|h| h.join("registry-cache")),
        }
    }

    fn prices(&self) -> Result<EstimateModel, SessionError> {
        let path = self
            .prices
            .clone()
            .or_else(|| self.loaded.config.prices.clone());
        Ok(match path {
            Some(path) => {
                let user = InstancePrices::from_file(&path)?;
                EstimateModel::default()
                    .with_instance_prices(InstancePrices::builtin().overridden_by(user))
            }
            None => EstimateModel::default(),
        })
    }

    /// Opens the cloud, loads the trust policy, registries and prices, and builds the
    /// resolver. On AWS nothing is called yet unless registries are configured (they need
    /// the caller's identity to apply their sharing policies).
    pub async fn build(self) -> Result<Session, SessionError> {
        let explicit = self.explicit_region()?;
        let trust = self.trust_policy()?;
        let estimate = self.prices()?;
        let (cloud, region, world) = self.open_cloud(explicit).await?;
        let (cloud, circuit) = self.resilient(cloud, world.is_some());
        let registry_settings = self.registry_settings();
        let registries = registry_settings
            .open(cloud.as_ref(), world.as_ref().map(WorldSession::now))
            .await
            .map_err(|e| e.in_config(self.loaded.path.as_deref()))?;
        let mut resolver = Resolver::builder()
            .cloud(cloud.clone())
            .trust_policy(trust.clone())
            .workload(self.workload())
            .estimate_model(estimate);
        if let Some(registries) = &registries {
            resolver = resolver.registry(registries.registry.clone());
        }
        let clock = crate::session::clock_of(world.as_ref());
        resolver = resolver.clock(clock.clone());
        let (audit, audit_log) = self.audit_sink(world.as_ref())?;
        let launch_log = self.launch_log(world.as_ref());
        Ok(Session::from_parts(SessionParts {
            cloud,
            region,
            resolver: resolver.build()?,
            trust,
            registries,
            registry_settings,
            world,
            audit,
            clock,
            templates: TemplateLibrary::new(self.template_dirs()),
            workload: self.workload(),
            config: self.loaded,
            copy_limits: Arc::new(CopyLimits::ec2()),
            circuit,
            launch_log,
            audit_log,
        }))
    }

    async fn open_cloud(
        &self,
        explicit: Option<Region>,
    ) -> Result<(Arc<dyn Cloud>, Region, Option<WorldSession>), SessionError> {
        match &self.cloud {
            CloudChoice::World(path) => {
                let world = WorldSession::open(path, &self.state_location()).await?;
                Ok((
                    world.cloud(),
                    explicit.unwrap_or_else(default_region),
                    Some(world),
                ))
            }
            CloudChoice::Given(cloud) => {
                Ok((cloud.clone(), explicit.unwrap_or_else(default_region), None))
            }
            CloudChoice::Aws => self.open_aws(explicit).await,
        }
    }

    #[cfg(feature = "aws")]
    async fn open_aws(
        &self,
        explicit: Option<Region>,
    ) -> Result<(Arc<dyn Cloud>, Region, Option<WorldSession>), SessionError> {
        let mut builder = amiref_aws::AwsCloud::builder();
        if let Some(region) = &explicit {
            builder = builder.region(region.clone());
        }
        if let Some(profile) = &self.aws.profile {
            builder = builder.profile(profile.clone());
        }
        if let Some(url) = &self.aws.endpoint_url {
            builder = builder.endpoint_url(url.clone());
        }
        // The session retries every call itself (see `resilient`), so the SDK sends each
        // request once; AMIREF_SDK_MAX_ATTEMPTS lets a benchmark measure the SDK's own.
        builder = builder.max_attempts(sdk_max_attempts(&self.env.sdk_max_attempts)?);
        let aws = builder.build().await;
        let region = match explicit {
            Some(r) => r,
            None => match aws.home_region() {
                Some(r) => crate::check_region(r.as_str(), "the AWS profile's region")?,
                None => default_region(),
            },
        };
        tracing::debug!(%region, endpoint = ?aws.endpoint_url(), "opened AWS");
        Ok((Arc::new(aws), region, None))
    }

    #[cfg(not(feature = "aws"))]
    async fn open_aws(
        &self,
        _explicit: Option<Region>,
    ) -> Result<(Arc<dyn Cloud>, Region, Option<WorldSession>), SessionError> {
        let _ = (&self.aws, &self.env.sdk_max_attempts);
        Err(SessionError::NotConfigured {
            what: "a cloud".into(),
            setting: "a world file (with_world_file, --world), or build amiref-session with the `aws` feature for AWS".into(),
            config: None,
        })
    }
}

/// The SDK's attempts per request on AWS (default 1: the session's retry layer retries).
const SDK_MAX_ATTEMPTS: &str = "AMIREF_SDK_MAX_ATTEMPTS";

/// The SDK's attempts per request: `AMIREF_SDK_MAX_ATTEMPTS` when set (1 to 10), else 1.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
fn sdk_max_attempts(value: &Option<String>) -> Result<u32, SessionError> {
    let Some(text) = value else { return Ok(1) };
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=10).contains(&n) => Ok(n),
        _ => Err(SessionError::InvalidInput {
            field: SDK_MAX_ATTEMPTS.into(),
            found: text.clone(),
            expected: "a number of attempts from 1 to 10".into(),
        }),
    }
}

fn default_region() -> Region {
    // A literal region code, checked by this crate's tests.
    Region::new(DEFAULT_REGION).unwrap_or_else(|e| unreachable!("{DEFAULT_REGION}: {e}"))
}

/// `examples/worlds/demo.yaml` → `examples/worlds/demo.trust.yaml`.
fn world_trust_path(world: &Path) -> PathBuf {
    let stem = world
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    world.with_file_name(format!("{stem}.trust.yaml"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sdk_sends_each_request_once_unless_told_otherwise() {
        assert_eq!(super::sdk_max_attempts(&None).unwrap_or(0), 1);
        assert_eq!(super::sdk_max_attempts(&Some("3".into())).unwrap_or(0), 3);
        for bad in ["0", "eleven", "-1", "11"] {
            let err = super::sdk_max_attempts(&Some(bad.into())).map_err(|e| e.to_string());
            assert!(
                err.as_ref()
                    .is_err_and(|e| e.contains("AMIREF_SDK_MAX_ATTEMPTS")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn the_default_region_is_a_region() {
        assert_eq!(super::default_region().as_str(), super::DEFAULT_REGION);
    }
}
