//! The configuration a session is built from: a documented file, overridden by environment
//! variables, overridden by what the frontend sets (`SessionBuilder::with_*`).
//!
//! The file is YAML, found at `$AMIREF_CONFIG`, else `$XDG_CONFIG_HOME/amiref/config.yaml`,
//! else `~/.config/amiref/config.yaml`; a missing file is an empty configuration (nothing
//! comes from the demo files). Relative paths in it are relative to the file's directory.
//! docs/configuration.md lists every key and variable.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::SessionError;

/// The environment variables a session reads (besides the AWS SDK's own).
pub mod vars {
    /// The configuration file.
    pub const CONFIG: &str = "AMIREF_CONFIG";
    /// The trust policy file.
    pub const TRUST: &str = "AMIREF_TRUST";
    /// The registries' trust store (publisher keys).
    pub const TRUST_STORE: &str = "AMIREF_TRUST_STORE";
    /// Registry sources, comma-separated (files, directories, https:// URLs).
    pub const REGISTRIES: &str = "AMIREF_REGISTRIES";
    /// Template directories, separated like `PATH`.
    pub const TEMPLATES: &str = "AMIREF_TEMPLATES";
    /// The audit log (JSON lines).
    pub const AUDIT_LOG: &str = "AMIREF_AUDIT_LOG";
    /// Where worlds keep their state.
    pub const STATE_DIR: &str = "AMIREF_STATE_DIR";
    /// The caller's own ratings of registry entries (ranked above every registry).
    pub const RATINGS: &str = "AMIREF_RATINGS";
    /// The region, as the AWS CLI reads it.
    pub const AWS_REGION: &str = "AWS_REGION";
    /// The region, the AWS CLI's older name.
    pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
}

/// The configuration file's contents; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The region to work in when no option or variable names one.
    pub region: Option<String>,
    /// Directories holding templates (`<name>.yml`), searched in order.
    #[serde(default)]
    pub templates: Vec<PathBuf>,
    /// The trust policy file (trusted_owners, named_owners, registry_publishers_may_vouch).
    pub trust_policy: Option<PathBuf>,
    /// Registries for the community tier and `ami list`: files, directories, https:// URLs.
    #[serde(default)]
    pub registries: Vec<String>,
    /// Institutional registries: ranked above the community's (an institutional entry
    /// shadows a community entry of the same version).
    #[serde(default)]
    pub institutional_registries: Vec<String>,
    /// The trust store the registries' entries must be signed by.
    pub registry_keys: Option<PathBuf>,
    /// Which registry entries are admitted besides a valid signature.
    #[serde(default)]
    pub registry_policy: RegistryPolicyConfig,
    /// The caller's own ratings of registry entries (`ami rate`).
    pub ratings: Option<PathBuf>,
    /// Instance prices laid over the built-in table.
    pub prices: Option<PathBuf>,
    /// The audit log of mutating operations on a real cloud.
    pub audit_log: Option<PathBuf>,
    /// How the audit log is sealed and verified (docs/audit.md).
    #[serde(default)]
    pub audit: AuditConfig,
    /// Where worlds keep their state between commands.
    pub state_dir: Option<PathBuf>,
    /// `interactive` (sooner usable wins) or `batch` (cheaper wins).
    pub workload: Option<WorkloadSetting>,
    /// Communities an image can be shared with (`ami share IMAGE --community NAME`).
    #[serde(default)]
    pub communities: BTreeMap<String, CommunityConfig>,
    /// Defaults for publishing (`ami publish IMAGE --marketplace`).
    #[serde(default)]
    pub publishing: PublishingConfig,
    /// How images are built, refreshed and planned (`amiref build`, `refresh`, `plan`).
    #[serde(default)]
    pub build: BuildConfig,
    /// Defaults of `ami retire`.
    #[serde(default)]
    pub retire: RetireConfig,
    /// What `amiref compliance` judges against: the naming convention, the maximum age,
    /// the organization.
    #[serde(default)]
    pub compliance: crate::compliance::ComplianceConfig,
}

/// The `retire` section: defaults of `ami retire` that its flags override. Every key is
/// optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RetireConfig {
    /// How long a retired image stays disabled (reversible with `ami enable`) before a
    /// later run deregisters it (default 14 days; `0s` deregisters at once).
    pub grace: Option<amiref_template::HumanDuration>,
    /// Keep images launched within this long (EC2's LastLaunchedTime; default: no such
    /// rule, but images shared with others are kept when launched within 30 days).
    pub keep_launched_within: Option<amiref_template::HumanDuration>,
}

/// The `build` section: where builder instances run, where a build distributes to, and the
/// refresh and planning policy. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BuildConfig {
    /// Regions a build copies its image to, besides the one it is built in (`--regions`
    /// replaces them).
    #[serde(default)]
    pub regions: Vec<amiref_core::Region>,
    /// The subnet builder and test instances launch into (default: the default VPC's).
    pub subnet: Option<amiref_core::SubnetId>,
    /// A security group for builder and test instances; without one, each build makes a
    /// temporary group with no inbound rule and deletes it at the end.
    pub security_group: Option<amiref_core::SecurityGroupId>,
    /// The VPC the temporary group is made in (default: the region's default VPC).
    pub vpc: Option<amiref_core::VpcId>,
    /// The IAM instance profile builder instances run as (name or ARN); none by default.
    pub instance_profile: Option<String>,
    /// The longest provisioning may take, when the template's `build.timeout` says nothing.
    pub provision_timeout: Option<amiref_template::HumanDuration>,
    /// How long a build's temporary resources live before `build --cleanup` (and every
    /// later build) may remove them as leftovers.
    pub leftover_expiry: Option<amiref_template::HumanDuration>,
    /// The community (a key of `communities`) whose registry file receives a signed entry
    /// for each build, with the figures the build measured.
    pub registry: Option<String>,
    /// Whether builds publish SSM parameters (`/amiref/<template>/<version>/<arch>` and
    /// `.../latest/<arch>`); default true.
    pub ssm_parameters: Option<bool>,
    /// Accounts the built image is shared with (launch permission).
    #[serde(default)]
    pub share_with: Vec<amiref_core::AccountId>,
    /// Where launches are recorded for the planner (JSON lines; default
    /// `$XDG_STATE_HOME/amiref/launches.jsonl`, or the world's state directory).
    pub launch_log: Option<PathBuf>,
    /// A usage file for the planner: launches per template, region and month.
    pub usage: Option<PathBuf>,
    /// The refresh policy.
    #[serde(default)]
    pub refresh: RefreshConfig,
}

/// The `build.refresh` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RefreshConfig {
    /// How many days a replaced image stays undeprecated (default 14), for launch
    /// templates and pinned ids to move to the new one. (How old an image may grow is the
    /// template's `build.max_age`, 90 days by default.)
    pub grace_period_days: Option<u32>,
    /// How many images of each template and architecture to keep per region (default 3,
    /// at least 2); older unused ones are retired.
    pub keep_versions: Option<u32>,
}

/// The `workload` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadSetting {
    /// A person is waiting: the sooner usable way wins.
    Interactive,
    /// Nobody is waiting: the cheaper way wins.
    Batch,
}

/// The `registry_policy` setting: what an entry needs besides a valid signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RegistryPolicyConfig {
    /// Admit unsigned entries (marked UNSIGNED).
    #[serde(default)]
    pub allow_unsigned: bool,
    /// Refuse entries not marked tested.
    #[serde(default)]
    pub require_tested: bool,
    /// Refuse entries whose security scan has not passed.
    #[serde(default)]
    pub require_security_scan: bool,
}

impl RegistryPolicyConfig {
    /// The registry's entry policy these settings make.
    pub fn entry_policy(&self) -> amiref_registry::EntryPolicy {
        amiref_registry::EntryPolicy::new()
            .allow_unsigned(self.allow_unsigned)
            .require_tested(self.require_tested)
            .require_security_scan(self.require_security_scan)
    }
}

/// One community: the registry file its entries are written to and the key that signs them.
/// The registry document's `sharing` policy says which accounts and organizations get
/// launch permission.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CommunityConfig {
    /// The community's registry file.
    pub registry: PathBuf,
    /// The publisher's secret key file.
    pub key: PathBuf,
}

/// Publishing defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PublishingConfig {
    /// The Marketplace publishing profile.
    pub marketplace: Option<MarketplaceProfile>,
}

/// What `ami publish --marketplace` needs besides the image and the price. Every field is
/// optional here; publishing names the ones it lacks (`product_id`, `access_role_arn`,
/// `recommended_instance_type`; with a price `offer_id` and `instance_types`). The rest
/// default to an Amazon Linux 2023 image reached on SSH (user `ec2-user`, port 22 from
/// anywhere).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MarketplaceProfile {
    /// The product entity id (`prod-…`).
    pub product_id: Option<String>,
    /// The offer id (`offer-…`) the price is set on.
    pub offer_id: Option<String>,
    /// The IAM role Marketplace assumes to copy and scan the image.
    pub access_role_arn: Option<String>,
    /// The instance types a price applies to.
    #[serde(default)]
    pub instance_types: Vec<amiref_core::InstanceType>,
    /// The instance type recommended to buyers.
    pub recommended_instance_type: Option<amiref_core::InstanceType>,
    /// The login user buyers connect as.
    pub username: Option<String>,
    /// The operating system, as Marketplace names it (`AMAZONLINUX`, `UBUNTU`).
    pub os_name: Option<String>,
    /// The operating system version.
    pub os_version: Option<String>,
    /// How buyers use the image.
    pub usage_instructions: Option<String>,
    /// The port Marketplace's scanner connects to (default 22).
    pub scanning_port: Option<u16>,
    /// Release notes of the version.
    pub release_notes: Option<String>,
    /// Inbound rules recommended to buyers (default: SSH, TCP port 22, from anywhere).
    #[serde(default)]
    pub ingress: Vec<IngressConfig>,
}

/// One recommended inbound rule of a Marketplace listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IngressConfig {
    /// `tcp` or `udp`.
    pub protocol: IngressProtocol,
    /// The first port.
    pub from_port: u16,
    /// The last port (default: `from_port`).
    pub to_port: Option<u16>,
    /// Where from, as CIDR blocks (`10.0.0.0/8`).
    pub cidrs: Vec<String>,
}

/// The protocol of an inbound rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IngressProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// A configuration file that was read, with where it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedConfig {
    /// The settings.
    pub config: Config,
    /// The file, when there was one.
    pub path: Option<PathBuf>,
}

impl LoadedConfig {
    /// Reads the configuration file at `path`; relative paths in it become relative to its
    /// directory.
    pub fn load_file(path: &Path) -> Result<Self, SessionError> {
        let text = amiref_yaml::read_text(path).map_err(SessionError::Config)?;
        let mut config: Config = amiref_yaml::from_str(&text, &path.display().to_string())
            .map_err(SessionError::Config)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.rebase(base);
        Ok(Self {
            config,
            path: Some(path.to_owned()),
        })
    }

    /// The file the environment names (see the module docs), or an empty configuration
    /// when there is none. `var` reads a variable (`std::env::var_os` in a program, a map in
    /// a test).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<OsString>) -> Result<Self, SessionError> {
        if let Some(path) = var(vars::CONFIG).filter(|p| !p.is_empty()) {
            // Named explicitly: it must exist.
            return Self::load_file(Path::new(&path));
        }
        match default_config_path(var) {
            Some(path) if path.is_file() => Self::load_file(&path),
            _ => Ok(Self::default()),
        }
    }
}

/// The `audit` section: digests, their signing key, and durability. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditConfig {
    /// A registry secret key file (`amiref registry keygen`, mode 0600) that signs the
    /// log's digests. Never created on its own; without it digests are unsigned (still
    /// chained) and `audit verify` says so.
    pub signing_key: Option<PathBuf>,
    /// The trust store `audit verify` checks digests against (default: the signing key's
    /// public half, when a signing key is set).
    pub trust_store: Option<PathBuf>,
    /// Records a writer appends between two digests (default 100); a session also writes
    /// one when it closes.
    pub digest_every: Option<u32>,
    /// Whether each record is synced to disk before the operation goes on (default true;
    /// runs on a world never sync).
    pub fsync: Option<bool>,
}

/// `$XDG_CONFIG_HOME/amiref/config.yaml` (when absolute, as the XDG spec asks), else
/// `$HOME/.config/amiref/config.yaml`.
pub fn default_config_path(var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let base = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("amiref").join("config.yaml"))
}

/// `$XDG_STATE_HOME/amiref` (when absolute, as the XDG spec asks), else
/// `$HOME/.local/state/amiref`: where the audit log of real runs, the ratings, the registry
/// cache and the worlds' state live by default.
pub fn default_state_home(var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let base = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            var("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("amiref"))
}

impl Config {
    /// Makes relative paths relative to `base`.
    fn rebase(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        self.templates.iter_mut().for_each(fix);
        for p in [
            &mut self.trust_policy,
            &mut self.registry_keys,
            &mut self.ratings,
            &mut self.prices,
            &mut self.audit_log,
            &mut self.audit.signing_key,
            &mut self.audit.trust_store,
            &mut self.state_dir,
            &mut self.build.launch_log,
            &mut self.build.usage,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        for c in self.communities.values_mut() {
            fix(&mut c.registry);
            fix(&mut c.key);
        }
        for source in self
            .registries
            .iter_mut()
            .chain(self.institutional_registries.iter_mut())
        {
            if !source.contains("://") && Path::new(source.as_str()).is_relative() {
                *source = base.join(source.as_str()).display().to_string();
            }
        }
    }
}
