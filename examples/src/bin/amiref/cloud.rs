//! Opens the cloud and the resolver from the global options.
//!
//! `--world FILE` runs on the in-process cloud (amiref-memory); without it, the command runs
//! on AWS (amiref-aws), configured the AWS CLI's way: `--profile`, `--region` and
//! `--endpoint-url` override the standard chain (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, the shared config files, SSO, instance metadata). The region comes
//! from `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else (on AWS) the
//! profile's region, else `us-east-1` (the AWS CLI's order, with its usual default).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref::{InstancePrices, Resolver, TrustPolicy, Workload};
use amiref_core::{Cloud, Region};
use amiref_memory::MemoryCloud;
use clap::{Args, ValueEnum};

use crate::GlobalArgs;
use crate::output::Failure;

/// The async runtime for a command. On a world, time is simulated: tokio's clock starts
/// paused and jumps ahead whenever every task is waiting, so a copy the world makes
/// available after 5 minutes is available at once, deterministically. On a real cloud the
/// clock is the wall clock.
pub(crate) fn runtime(global: &GlobalArgs) -> Result<tokio::runtime::Runtime, Failure> {
    let built = if global.world.is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    built.map_err(|e| Failure::Failed(format!("cannot start the async runtime: {e}")))
}

/// The region used when none is given anywhere.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// Options that choose the cloud, the region and how the resolver judges images.
#[derive(Debug, Clone, Args)]
pub(crate) struct CloudArgs {
    /// The region to work in [default: $AWS_REGION, else $AWS_DEFAULT_REGION, else the
    /// profile's region (on AWS), else us-east-1].
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The AWS profile to use from the shared config and credentials files (on AWS, i.e.
    /// without --world) [default: $AWS_PROFILE, else the default profile].
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Send AWS requests to this URL instead of AWS's own endpoints, e.g. an emulator such
    /// as moto or LocalStack (`http://127.0.0.1:5000`) [default: $AWS_ENDPOINT_URL, else
    /// AWS].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// The trust policy (YAML: trusted_owners, named_owners, registry_publishers_may_vouch)
    /// [default: $AMIREF_TRUST, else (with --world) <world>.trust.yaml beside the world
    /// file, else the default policy: self and amazon only].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) trust: Option<PathBuf>,
    /// Instance prices laid over the built-in table (YAML: as_of, source, prices, regions).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) prices: Option<PathBuf>,
    /// Community or institutional registries for the resolver's community tier: files,
    /// directories or https:// URLs (repeatable) [default: none; the tier is skipped].
    #[arg(long, global = true, value_name = "SOURCE")]
    pub(crate) image_registry: Vec<String>,
    /// The publisher keys the registries' entries must be signed with
    /// [default: $AMIREF_TRUST_STORE, else trust.yml beside the first registry].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) image_registry_keys: Option<PathBuf>,
    /// What the instance is for: interactive (sooner usable wins) or batch (cheaper wins).
    #[arg(long, global = true, value_enum, default_value_t = WorkloadArg::Interactive)]
    pub(crate) workload: WorkloadArg,
}

impl CloudArgs {
    /// The first option given that only AWS understands, if any.
    pub(crate) fn aws_only_flag(&self) -> Option<&'static str> {
        if self.profile.is_some() {
            Some("--profile")
        } else if self.endpoint_url.is_some() {
            Some("--endpoint-url")
        } else {
            None
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

/// The cloud a command runs on.
pub(crate) struct Opened {
    pub(crate) cloud: Arc<dyn Cloud>,
    /// The region to work in (see the module docs for where it comes from).
    pub(crate) region: Region,
    /// The in-process world, when running on one.
    pub(crate) world: Option<Arc<MemoryCloud>>,
}

/// Opens the cloud the global options name: the world file given with `--world`, else AWS.
///
/// On AWS nothing is called yet: credentials and clients are resolved on first use, so a
/// missing credential shows up as the first call's error (with its operation and region).
pub(crate) async fn open(global: &GlobalArgs) -> Result<Opened, Failure> {
    let explicit = explicit_region(global)?;
    match &global.world {
        Some(path) => {
            let world = MemoryCloud::from_world_file(path).map_err(|e| {
                Failure::Failed(format!("cannot load world {}: {e}", path.display()))
            })?;
            let world = Arc::new(world);
            Ok(Opened {
                cloud: world.clone(),
                region: explicit.unwrap_or_else(default_region),
                world: Some(world),
            })
        }
        None => {
            let mut builder = amiref::AwsCloud::builder();
            if let Some(region) = &explicit {
                builder = builder.region(region.clone());
            }
            if let Some(profile) = &global.cloud.profile {
                builder = builder.profile(profile.clone());
            }
            if let Some(url) = &global.cloud.endpoint_url {
                builder = builder.endpoint_url(url.clone());
            }
            let aws = Arc::new(builder.build().await);
            let region = explicit
                .or_else(|| aws.home_region().cloned())
                .unwrap_or_else(default_region);
            tracing::debug!(%region, endpoint = ?aws.endpoint_url(), "opened AWS");
            Ok(Opened {
                cloud: aws,
                region,
                world: None,
            })
        }
    }
}

fn default_region() -> Region {
    // A literal region code, checked by this module's test.
    Region::new(DEFAULT_REGION).unwrap_or_else(|e| unreachable!("{DEFAULT_REGION}: {e}"))
}

/// The region given explicitly: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`.
fn explicit_region(global: &GlobalArgs) -> Result<Option<Region>, Failure> {
    let given = match &global.cloud.region {
        Some(r) => Some((r.clone(), "--region")),
        None => match std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
            Some(r) => Some((r, "AWS_REGION")),
            None => std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
                .map(|r| (r, "AWS_DEFAULT_REGION")),
        },
    };
    given
        .map(|(text, source)| {
            text.parse()
                .map_err(|e| Failure::Failed(format!("{source}: {e}")))
        })
        .transpose()
}

/// The trust policy file to use, if any: `--trust`, `AMIREF_TRUST`, or the world's own.
fn trust_file(global: &GlobalArgs) -> Option<PathBuf> {
    if let Some(p) = &global.cloud.trust {
        return Some(p.clone());
    }
    if let Some(p) = std::env::var_os("AMIREF_TRUST").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let world = global.world.as_deref()?;
    let beside = world_trust_path(world);
    beside.is_file().then_some(beside)
}

/// `examples/worlds/demo.yaml` → `examples/worlds/demo.trust.yaml`.
fn world_trust_path(world: &Path) -> PathBuf {
    let stem = world
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    world.with_file_name(format!("{stem}.trust.yaml"))
}

fn load_trust(global: &GlobalArgs) -> Result<TrustPolicy, Failure> {
    let Some(path) = trust_file(global) else {
        return Ok(TrustPolicy::default());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Failure::Failed(format!("cannot read trust policy {}: {e}", path.display()))
    })?;
    let policy: TrustPolicy = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        Failure::Failed(format!(
            "{}{at}: {e}; expected a trust policy: `trusted_owners: [self, amazon, ...]`, \
             `named_owners: {{name: [account ids]}}` and optionally \
             `registry_publishers_may_vouch: true|false`",
            path.display()
        ))
    })?;
    Ok(policy.with_origin(path.display().to_string()))
}

/// The registry the `--image-registry` options name, verified against its trust store.
async fn image_registry(
    global: &GlobalArgs,
    opened: &Opened,
) -> Result<Option<Arc<dyn amiref_core::ImageRegistry>>, Failure> {
    let sources = &global.cloud.image_registry;
    let Some(first) = sources.first() else {
        return Ok(None);
    };
    let keys = global
        .cloud
        .image_registry_keys
        .clone()
        .or_else(|| std::env::var_os("AMIREF_TRUST_STORE").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(first).with_file_name("trust.yml"));
    let store = amiref_registry::TrustStore::load_file(&keys)
        .map_err(|e| Failure::Failed(format!("--image-registry-keys {}: {e}", keys.display())))?;
    let caller = opened
        .cloud
        .caller()
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let mut builder = amiref_registry::Registry::builder()
        .trust_store(store)
        .caller(caller)
        .skip_unavailable_sources(true);
    if let Some(world) = &opened.world {
        builder = builder.now(world.now());
    }
    for source in sources {
        builder = builder.community(amiref_registry::RegistrySource::path(source));
    }
    let registry = builder
        .build()
        .await
        .map_err(|e| Failure::Failed(format!("--image-registry: {e}")))?;
    Ok(Some(Arc::new(registry)))
}

/// The resolver over the opened cloud, configured by the global options.
pub(crate) async fn resolver(global: &GlobalArgs, opened: &Opened) -> Result<Resolver, Failure> {
    let mut builder = Resolver::builder()
        .cloud(opened.cloud.clone())
        .trust_policy(load_trust(global)?)
        .workload(match global.cloud.workload {
            WorkloadArg::Batch => Workload::Batch,
            WorkloadArg::Interactive => Workload::Interactive,
        });
    if let Some(registry) = image_registry(global, opened).await? {
        builder = builder.registry(registry);
    }
    if let Some(path) = &global.cloud.prices {
        let user = InstancePrices::from_file(path).map_err(|e| Failure::Failed(e.to_string()))?;
        let prices = InstancePrices::builtin().overridden_by(user);
        builder =
            builder.estimate_model(amiref::EstimateModel::default().with_instance_prices(prices));
    }
    if let Some(world) = &opened.world {
        // Deprecation is judged at the world's time, which follows tokio's clock.
        let world = world.clone();
        builder = builder.clock(Arc::new(move || world.now()));
    }
    builder.build().map_err(|e| Failure::Failed(e.to_string()))
}

/// The regions `--all-regions` means: on a world, the commercial regions the world defines;
/// on AWS, every commercial region of amiref-regions' catalog that is enabled by default
/// (opt-in regions such as af-south-1 are left out, since an account that has not enabled
/// them gets only errors there; name them with --regions instead).
pub(crate) fn all_regions(opened: &Opened) -> Vec<Region> {
    let commercial = amiref_regions::commercial_regions();
    match &opened.world {
        Some(world) => {
            let defined = world.regions();
            commercial
                .map(|r| r.code.clone())
                .filter(|r| defined.contains(r))
                .collect()
        }
        None => commercial
            .filter(|r| !r.opt_in)
            .map(|r| r.code.clone())
            .collect(),
    }
}

/// Reads a template: a file path, or a name found as `<name>.yml` / `<name>.yaml` in
/// `templates/` or `examples/templates/`.
pub(crate) fn load_template(arg: &str) -> Result<amiref_template::Template, Failure> {
    let direct = PathBuf::from(arg);
    let path = if direct.is_file() {
        direct
    } else {
        ["templates", "examples/templates"]
            .iter()
            .flat_map(|dir| ["yml", "yaml"].map(|ext| Path::new(dir).join(format!("{arg}.{ext}"))))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Failure::Failed(format!(
                    "template {arg:?} not found: give a file path, or a name found as templates/{arg}.yml or examples/templates/{arg}.yml"
                ))
            })?
    };
    amiref_template::Template::load_file(&path).map_err(|e| Failure::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_region_is_a_region() {
        assert_eq!(super::default_region().as_str(), super::DEFAULT_REGION);
    }
}
