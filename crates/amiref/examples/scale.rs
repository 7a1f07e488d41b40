//! A fleet of frontends resolving images on the in-process cloud, with EC2's request token
//! buckets and SSM's GetParameters bucket: the simulation of docs/scale.md.
//!
//! ```text
//! cargo run --release -p amiref --example scale              # 50 frontends × 20 templates × 34 regions, 10 minutes
//! cargo run --release -p amiref --example scale -- --frontends 5 --regions 3 --minutes 2
//! cargo run --release -p amiref --example scale -- --help
//! ```
//!
//! Every frontend resolves every template in every region once a minute, at a seeded random
//! moment of the minute, on tokio's paused clock. Four scenarios run on the same world,
//! each on a fresh cloud (full buckets, counters at zero):
//!
//! - `describe`: templates with a mapping in one region and a DescribeImages search, resolved
//!   through the session as the launcher resolves them (`Session::plan_launch`);
//! - `ssm-tier`: templates naming `/amiref/<template>/latest/<arch>` in
//!   `ami_config.ssm_parameter`, resolved through the session (the resolver's SSM tier);
//! - `read-ssm`: the frontends read the `latest` parameters themselves, ten names a
//!   GetParameters request, once a minute per region;
//! - `resolve-ssm`: a launch hands `resolve:ssm:/amiref/<template>/latest/<arch>` to
//!   RunInstances, so a frontend makes no call to resolve.
//!
//! In the last three, one job keeps the parameters true: it resolves each template once per
//! region (the `describe` templates, without the cache), reads the `latest` parameters in
//! batches of 10 and rewrites those that name another image; it runs at the start and every
//! `--refresh-minutes`.
//!
//! Every call goes through amiref-layers' retry layer as AwsCloud configures the SDK's
//! (4 attempts; 1 s base, 20 s cap, full jitter, seeded per frontend and minute). What is
//! printed is counted by the cloud (requests per operation and region) and by a layer
//! beneath the retries (throttled attempts), and timed on the simulated clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use amiref::core::{
    AccountId, AmiId, Architecture, Cloud, CloudError, CloudErrorKind, Image, Parameter,
    ParameterName, Parameters as _, PutParameterRequest, Region, ResolutionMethod,
};
use amiref::layers::{Call, Jitter, Layer, Layered, Operation, RetryPolicy, Retrying};
use amiref::lifecycle::MemoryAuditSink;
use amiref::memory::{Counters, IMAGE_DATA_TYPE, ImageSeed, MemoryCloud, Throttling};
use amiref::session::{LaunchRequest, Session, SessionBuilder, SessionError};
use amiref::template::Template;
use amiref::{ResolveOptions, TrustPolicy};
use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The fleet's account: the caller of every frontend and the job, and the images' owner.
pub const LAB: &str = "123456789012";
/// The one architecture of the simulated templates.
pub const ARCH: Architecture = Architecture::X86_64;
/// How many versions of each template's image every region holds.
pub const VERSIONS: usize = 3;
const INSTANCE_TYPE: &str = "m6i.large";
/// The amazon account (owner alias `amazon`) of the script's base image.
const AMAZON: &str = "137112412989";
/// SSM's GetParameters takes at most this many names per request.
const PARAMETER_BATCH: usize = 10;

/// The sizes and knobs of a run.
#[derive(Debug, Clone, Parser)]
#[command(about = "Simulate a fleet of amiref frontends on the in-process cloud")]
pub struct Fleet {
    /// Frontends, each resolving every template in every region once a minute.
    #[arg(long, default_value_t = 50)]
    pub frontends: usize,
    /// Templates.
    #[arg(long, default_value_t = 20)]
    pub templates: usize,
    /// Regions: the first N commercial regions of amiref-regions' catalog (34 is all).
    #[arg(long, default_value_t = 34)]
    pub regions: usize,
    /// Simulated minutes.
    #[arg(long, default_value_t = 10)]
    pub minutes: u32,
    /// Latency of every call to the cloud, milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// How long a frontend's session lives: `per-minute` (a session per round, as the CLI
    /// and amiref-http open one per command or request) or `kept` (one for the whole run:
    /// the resolver's cache, 5 minutes for a found image, applies).
    #[arg(long, value_enum, default_value_t = Sessions::PerMinute)]
    pub sessions: Sessions,
    /// The templates' `fallback_strategy`.
    #[arg(long, value_enum, default_value_t = Fallback::ScriptProvisioning)]
    pub fallback: Fallback,
    /// Minutes between two runs of the job that keeps the parameters true.
    #[arg(long, default_value_t = 60)]
    pub refresh_minutes: u32,
    /// How many `latest` parameters start stale (naming the previous version), for the job
    /// to find and rewrite.
    #[arg(long, default_value_t = 0)]
    pub stale: usize,
    /// The seed of every random draw (moments of resolution, retry jitter).
    #[arg(long, default_value_t = 12)]
    pub seed: u64,
    /// Which scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Scenario::ALL)]
    pub scenarios: Vec<Scenario>,
}

/// How long a frontend's session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sessions {
    /// A new session every minute.
    PerMinute,
    /// One session for the whole run.
    Kept,
}

/// The templates' `fallback_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fallback {
    /// `script_provisioning`, with `user_data`: the script's base image is looked up
    /// beside the image tiers.
    ScriptProvisioning,
    /// `error`: no script, no base image.
    Error,
}

impl Fallback {
    fn yaml(self) -> &'static str {
        match self {
            Self::ScriptProvisioning => {
                "  fallback_strategy: script_provisioning\nuser_data: |\n  #!/bin/bash\n  dnf install -y python3.12\n"
            }
            Self::Error => "  fallback_strategy: error\n",
        }
    }
}

/// How the frontends of a scenario find the image of a launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// Through the session: mappings and DescribeImages searches.
    Describe,
    /// Through the session's SSM tier: `ami_config.ssm_parameter`.
    SsmTier,
    /// The frontends read the `latest` parameters themselves, ten a GetParameters request.
    ReadSsm,
    /// `resolve:ssm:` handed to RunInstances: no call.
    ResolveSsm,
}

impl Scenario {
    /// Every scenario, in the order they are printed.
    pub const ALL: [Self; 4] = [
        Self::Describe,
        Self::SsmTier,
        Self::ReadSsm,
        Self::ResolveSsm,
    ];

    /// The name of the scenario on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Describe => "describe",
            Self::SsmTier => "ssm-tier",
            Self::ReadSsm => "read-ssm",
            Self::ResolveSsm => "resolve-ssm",
        }
    }

    fn has_job(self) -> bool {
        self != Self::Describe
    }
}

/// Why a run could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A size out of range.
    #[error("--{flag} is {found}: expected {expected}")]
    Size {
        /// The flag.
        flag: &'static str,
        /// Its value.
        found: usize,
        /// What it may be.
        expected: String,
    },
    /// The world could not be built.
    #[error("building the simulated world")]
    World(#[source] amiref::memory::WorldError),
    /// A generated template did not load.
    #[error("loading the simulated template {name}")]
    Template {
        /// The template's name.
        name: String,
        /// Why.
        #[source]
        source: amiref::template::TemplateError,
    },
    /// A session could not be built.
    #[error("building a session")]
    Session(#[source] Box<SessionError>),
    /// A generated name or id does not parse.
    #[error("the generated name {name}")]
    Name {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: amiref::core::ParseError,
    },
}

impl Fleet {
    /// The default sizes with these four changed (for tests and small runs).
    pub fn small(frontends: usize, templates: usize, regions: usize, minutes: u32) -> Self {
        let mut fleet = Self::parse_from(["scale"]);
        fleet.frontends = frontends;
        fleet.templates = templates;
        fleet.regions = regions;
        fleet.minutes = minutes;
        fleet
    }

    /// Checks the sizes.
    pub fn check(&self) -> Result<(), SimError> {
        let all = amiref::regions::commercial_regions().count();
        let checks = [
            ("frontends", self.frontends, None),
            ("templates", self.templates, Some(10_000)),
            ("regions", self.regions, Some(all)),
            ("minutes", self.minutes as usize, Some(24 * 60)),
            ("refresh-minutes", self.refresh_minutes as usize, None),
        ];
        for (flag, found, most) in checks {
            if found == 0 || most.is_some_and(|most| found > most) {
                return Err(SimError::Size {
                    flag,
                    found,
                    expected: match most {
                        Some(most) => format!("1 to {most}"),
                        None => "at least 1".to_owned(),
                    },
                });
            }
        }
        if self.stale > self.templates * self.regions {
            return Err(SimError::Size {
                flag: "stale",
                found: self.stale,
                expected: format!(
                    "at most templates × regions ({})",
                    self.templates * self.regions
                ),
            });
        }
        Ok(())
    }
}

/// The `latest` (or any version's) parameter of a template: `/amiref/<template>/<version>/<arch>`.
pub fn parameter_name(template: &str, version: &str) -> Result<ParameterName, SimError> {
    let name = format!("/amiref/{template}/{version}/{ARCH}");
    ParameterName::new(name.clone()).map_err(|source| SimError::Name { name, source })
}

/// `text` parsed as a name or id of amiref-core.
fn parsed<T>(text: &str) -> Result<T, SimError>
where
    T: std::str::FromStr<Err = amiref::core::ParseError>,
{
    text.parse().map_err(|source| SimError::Name {
        name: text.to_owned(),
        source,
    })
}

/// What a launch hands to RunInstances instead of an image id.
pub fn launch_reference(parameter: &ParameterName) -> String {
    format!("resolve:ssm:{parameter}")
}

fn template_name(t: usize) -> String {
    format!("lab-t{t}")
}

/// The simulated world: the regions, and the newest image of each template in each.
pub struct World {
    /// The in-process cloud, throttled as EC2 and SSM throttle.
    pub cloud: Arc<MemoryCloud>,
    /// The regions, in catalog order.
    pub regions: Vec<Region>,
    /// The newest image of (template index, region).
    pub newest: BTreeMap<(usize, Region), AmiId>,
}

/// Builds the world with amiref-memory's builder: in each region, [`VERSIONS`] images of
/// every template and their parameters (`latest` naming the newest, except the first
/// `fleet.stale`), and Amazon Linux 2023 with AWS's public parameter for the script.
pub fn world(fleet: &Fleet) -> Result<World, SimError> {
    let regions: Vec<Region> = amiref::regions::commercial_regions()
        .take(fleet.regions)
        .map(|r| r.code.clone())
        .collect();
    let mut seeder = Seeder::new()?;
    let mut newest = BTreeMap::new();
    let mut stale_left = fleet.stale;
    for region in &regions {
        seeder.base_image(region)?;
        for t in 0..fleet.templates {
            let stale = stale_left > 0;
            stale_left = stale_left.saturating_sub(1);
            let id = seeder.template_images(region, &template_name(t), stale)?;
            newest.insert((t, region.clone()), id);
        }
    }
    let cloud = Arc::new(seeder.builder.build().map_err(SimError::World)?);
    cloud.set_latency(Duration::from_millis(fleet.latency_ms));
    cloud.set_throttling(Some(Throttling::ec2()));
    Ok(World {
        cloud,
        regions,
        newest,
    })
}

/// Adds the world's images and parameters to amiref-memory's builder, minting ids in order.
struct Seeder {
    builder: amiref::memory::MemoryCloudBuilder,
    lab: AccountId,
    amazon: AccountId,
    created: chrono::DateTime<chrono::Utc>,
    next_id: u64,
}

impl Seeder {
    fn new() -> Result<Self, SimError> {
        let lab: AccountId = parsed(LAB)?;
        Ok(Self {
            builder: MemoryCloud::builder()
                .caller(lab.clone())
                .instance_type(parsed(INSTANCE_TYPE)?, [ARCH]),
            lab,
            amazon: parsed(AMAZON)?,
            created: chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
            next_id: 0x1000,
        })
    }

    fn fresh_id(&mut self) -> Result<AmiId, SimError> {
        self.next_id += 1;
        parsed(&format!("ami-{:017x}", self.next_id))
    }

    fn add(&mut self, region: &Region, image: Option<Image>, parameter: Option<Parameter>) {
        let mut builder = std::mem::take(&mut self.builder).region(region.clone());
        if let Some(image) = image {
            builder = builder.image(ImageSeed::new(image));
        }
        if let Some(parameter) = parameter {
            builder = builder.parameter(region.clone(), parameter);
        }
        self.builder = builder;
    }

    /// Amazon Linux 2023, public, and AWS's parameter naming it: the script's base image.
    fn base_image(&mut self, region: &Region) -> Result<(), SimError> {
        let id = self.fresh_id()?;
        let name = "al2023-ami-2023.9.20261020.0-kernel-6.1-x86_64";
        let mut al2023 = Image::new(
            id.clone(),
            region.clone(),
            name,
            self.amazon.clone(),
            ARCH,
            self.created,
        );
        al2023.owner_alias = Some("amazon".into());
        al2023.public = true;
        let parameter = amiref::strategies::al2023_parameter(ARCH)
            .map(|name| Parameter::new(name, id.as_str()));
        self.add(region, Some(al2023), parameter);
        Ok(())
    }

    /// The template's [`VERSIONS`] images and their parameters, and `latest` (naming the
    /// previous version when `stale`). Answers the newest image.
    fn template_images(
        &mut self,
        region: &Region,
        template: &str,
        stale: bool,
    ) -> Result<AmiId, SimError> {
        let mut ids = Vec::with_capacity(VERSIONS);
        for v in 0..VERSIONS {
            let id = self.fresh_id()?;
            let version = format!("1.{v}.0");
            let image = Image::new(
                id.clone(),
                region.clone(),
                format!("{template}-{version}-{ARCH}"),
                self.lab.clone(),
                ARCH,
                self.created + chrono::Duration::days(v as i64),
            );
            let parameter = image_parameter(parameter_name(template, &version)?, &id);
            self.add(region, Some(image), Some(parameter));
            ids.push(id);
        }
        let latest = &ids[if stale { VERSIONS - 2 } else { VERSIONS - 1 }];
        let parameter = image_parameter(parameter_name(template, "latest")?, latest);
        self.add(region, None, Some(parameter));
        Ok(ids[VERSIONS - 1].clone())
    }
}

/// A parameter of data type `aws:ec2:image` naming `id`.
fn image_parameter(name: ParameterName, id: &AmiId) -> Parameter {
    let mut parameter = Parameter::new(name, id.as_str());
    parameter.data_type = Some(IMAGE_DATA_TYPE.to_owned());
    parameter
}

/// The templates the frontends of `scenario` resolve. `describe` (and the job, in every
/// scenario): a mapping of the newest image in one home region (template `t`'s is region
/// `t` modulo the regions), a search of the lab's own images, and the fallback. `ssm-tier`:
/// the `latest` parameter and the fallback. `resolve-ssm` resolves nothing, but its
/// frontends name the same templates.
pub fn templates(
    fleet: &Fleet,
    world: &World,
    scenario: Scenario,
) -> Result<Vec<Template>, SimError> {
    (0..fleet.templates)
        .map(|t| {
            let name = template_name(t);
            let tier = match scenario {
                Scenario::SsmTier => {
                    format!("  ssm_parameter: {}\n", parameter_name(&name, "latest")?)
                }
                Scenario::Describe | Scenario::ReadSsm | Scenario::ResolveSsm => {
                    let home = &world.regions[t % world.regions.len()];
                    let mapped = &world.newest[&(t, home.clone())];
                    format!(
                        "  ami_mappings:\n    {home}: {mapped}\n  ami_search:\n    owner: self\n    name_pattern: \"{name}-*\"\n    architecture: [{ARCH}]\n"
                    )
                }
            };
            let yaml = format!(
                "name: {name}\ninstance_type: {INSTANCE_TYPE}\nami_config:\n{tier}{}",
                fleet.fallback.yaml()
            );
            Template::from_yaml_str(&yaml, &format!("{name}.yml"))
                .map_err(|source| SimError::Template { name, source })
        })
        .collect()
}

/// What a layer beneath the retries saw: port calls, and throttled attempts per operation
/// (as AWS names it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Port calls (each attempt), per method.
    pub calls: BTreeMap<Operation, u64>,
    /// Attempts answered with throttling, per operation.
    pub throttled: BTreeMap<&'static str, u64>,
}

impl Tally {
    /// Port calls that read images (DescribeImages by ids and searches).
    pub fn describe_images(&self) -> u64 {
        [Operation::DescribeImages, Operation::SearchImages]
            .iter()
            .map(|o| self.calls.get(o).copied().unwrap_or(0))
            .sum()
    }

    /// Every port call.
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Every throttled attempt.
    pub fn total_throttled(&self) -> u64 {
        self.throttled.values().sum()
    }
}

/// The layer that keeps a [`Tally`], shared by every handle of one client (the frontends,
/// the job).
#[derive(Debug, Clone, Default)]
struct Tap(Arc<Mutex<Tally>>);

impl Tap {
    fn snapshot(&self) -> Tally {
        lock(&self.0).clone()
    }
}

impl Layer for Tap {
    fn around<'a, T, F, Fut>(
        &'a self,
        call: Call<'a>,
        mut attempt: F,
    ) -> impl std::future::Future<Output = Result<T, CloudError>> + Send + 'a
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: std::future::Future<Output = Result<T, CloudError>> + Send + 'a,
    {
        // Counted before it is made: a resolution drops the calls of tiers it no longer
        // needs, and the cloud has counted those requests too.
        *lock(&self.0).calls.entry(call.operation).or_insert(0) += 1;
        async move {
            let result = attempt().await;
            if let Err(e) = &result
                && e.kind == CloudErrorKind::Throttled
            {
                *lock(&self.0).throttled.entry(e.operation).or_insert(0) += 1;
            }
            result
        }
    }
}

/// A client's view of the cloud: retried as AwsCloud retries (seeded full jitter), tallied
/// beneath the retries.
fn client(cloud: &Arc<MemoryCloud>, tap: &Tap, seed: u64) -> Arc<dyn Cloud> {
    let tapped = Arc::new(Layered::from_parts(tap.clone(), cloud.clone()));
    let policy = RetryPolicy::standard()
        .max_attempts(4)
        .base_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(20))
        .jitter(Jitter::full(seed));
    Arc::new(Retrying::new(tapped, policy))
}

/// A session as a frontend opens one, on `cloud`.
async fn session(cloud: Arc<dyn Cloud>) -> Result<Session, SimError> {
    SessionBuilder::new()
        .with_cloud(cloud)
        .with_trust_policy(TrustPolicy::default())
        .with_audit(Arc::new(MemoryAuditSink::new()))
        .build()
        .await
        .map_err(|e| SimError::Session(Box::new(e)))
}

/// One run of the job that keeps the parameters true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// When it started, seconds after the start.
    pub started_secs: u64,
    /// How long it took on the simulated clock.
    pub took: Duration,
    /// Templates × regions the job could not resolve to an image in the region.
    pub unresolved: usize,
    /// GetParameters requests for the `latest` parameters (batches of 10 per region).
    pub reads: usize,
    /// `latest` parameters that named another image than the resolution (or were missing).
    pub stale: usize,
    /// Parameters rewritten.
    pub written: usize,
    /// Reads and writes that failed, each with its error.
    pub failures: Vec<String>,
}

/// The job: resolves every template in every region once (no cache), reads the `latest`
/// parameters in batches of 10, and rewrites those that name another image.
async fn keep_parameters_true(
    session: &Session,
    cloud: &Arc<dyn Cloud>,
    templates: &[Template],
    regions: &[Region],
    t0: Instant,
) -> Result<JobRun, SimError> {
    let started = Instant::now();
    let (wanted, unresolved) = wanted_images(session, templates, regions).await;
    let mut run = JobRun {
        started_secs: started.duration_since(t0).as_secs(),
        took: Duration::ZERO,
        unresolved,
        reads: 0,
        stale: 0,
        written: 0,
        failures: Vec::new(),
    };
    let names = templates
        .iter()
        .map(|t| Ok((t.name.clone(), parameter_name(&t.name, "latest")?)))
        .collect::<Result<Vec<_>, SimError>>()?;
    for region in regions {
        for batch in names.chunks(PARAMETER_BATCH) {
            rewrite_stale(cloud, region, batch, &wanted, &mut run).await;
        }
    }
    run.took = started.elapsed();
    Ok(run)
}

/// The image each template should launch in each region (found in the region by its
/// mapping or its search), and how many resolved to nothing of the sort.
async fn wanted_images(
    session: &Session,
    templates: &[Template],
    regions: &[Region],
) -> (BTreeMap<(Region, String), AmiId>, usize) {
    let options = ResolveOptions::default().use_cache(false);
    let resolved = session
        .resolver()
        .resolve_many_with(templates, regions, &options)
        .await;
    let mut wanted = BTreeMap::new();
    let mut unresolved = 0;
    for r in resolved {
        match r.result {
            Ok(res)
                if matches!(
                    res.method,
                    ResolutionMethod::DirectMapping | ResolutionMethod::DynamicSearch
                ) =>
            {
                wanted.insert((r.region, r.template), res.image.id);
            }
            _ => unresolved += 1,
        }
    }
    (wanted, unresolved)
}

/// One GetParameters request for a batch of (template, `latest` name), and a PutParameter
/// for each that names another image than `wanted`.
async fn rewrite_stale(
    cloud: &Arc<dyn Cloud>,
    region: &Region,
    batch: &[(String, ParameterName)],
    wanted: &BTreeMap<(Region, String), AmiId>,
    run: &mut JobRun,
) {
    let asked: Vec<ParameterName> = batch.iter().map(|(_, n)| n.clone()).collect();
    run.reads += 1;
    let current = match cloud.get_parameters(region, &asked).await {
        Ok(c) => c,
        Err(e) => return run.failures.push(format!("reading in {region}: {e}")),
    };
    for (template, name) in batch {
        let Some(id) = wanted.get(&(region.clone(), template.clone())) else {
            continue;
        };
        if current.get(name).is_some_and(|p| p.value == id.as_str()) {
            continue;
        }
        run.stale += 1;
        let request = PutParameterRequest::image(name.clone(), id);
        match cloud.put_parameter(region, &request).await {
            Ok(_) => run.written += 1,
            Err(e) => run.failures.push(format!("{name} in {region}: {e}")),
        }
    }
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The scenario.
    pub scenario: Scenario,
    /// From the start until the last call answered, simulated seconds.
    pub seconds: f64,
    /// Requests the cloud answered (throttled attempts included), per operation and region.
    pub requests: Counters,
    /// What the frontends' layer saw.
    pub frontends: Tally,
    /// What the job's layer saw.
    pub job: Tally,
    /// Resolutions by outcome (the method chosen, or the error).
    pub outcomes: BTreeMap<String, u64>,
    /// Every resolution's time, sorted.
    pub latencies: Vec<Duration>,
    /// Every run of the job.
    pub job_runs: Vec<JobRun>,
    /// `latest` parameters naming another image than the newest at the end.
    pub stale_at_end: usize,
}

/// One row of the table: an operation of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// EC2, SSM or STS.
    pub service: &'static str,
    /// As AWS names it.
    pub operation: String,
    /// Requests (attempts).
    pub requests: u64,
    /// Requests per second over the run, all regions.
    pub per_second: f64,
    /// Requests per second over the run in the region that had the most.
    pub busiest_region_per_second: f64,
    /// Attempts answered with throttling.
    pub throttled: u64,
}

fn service_of(operation: &str) -> &'static str {
    match operation {
        "GetParameters"
        | "PutParameter"
        | "GetParameterHistory"
        | "GetParametersByPath"
        | "DeleteParameter" => "SSM",
        "GetCallerIdentity" => "STS",
        _ => "EC2",
    }
}

impl Measured {
    /// The table's rows: one per operation, EC2 first, then SSM, then STS.
    pub fn rows(&self) -> Vec<Row> {
        let mut per_op: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (op, _, n) in self.requests.iter() {
            let entry = per_op.entry(op).or_default();
            entry.0 += n;
        }
        let mut by_region: BTreeMap<&str, u64> = BTreeMap::new();
        for (op, region, n) in self.requests.iter() {
            if region.is_some() {
                let busiest = by_region.entry(op).or_default();
                *busiest = (*busiest).max(n);
            }
        }
        for (op, n) in self.frontends.throttled.iter().chain(&self.job.throttled) {
            per_op.entry(op).or_default().1 += n;
        }
        let mut rows: Vec<Row> = per_op
            .into_iter()
            .map(|(op, (requests, throttled))| Row {
                service: service_of(op),
                operation: op.to_owned(),
                requests,
                per_second: requests as f64 / self.seconds,
                busiest_region_per_second: by_region.get(op).copied().unwrap_or(0) as f64
                    / self.seconds,
                throttled,
            })
            .collect();
        let order = |s: &str| match s {
            "EC2" => 0,
            "SSM" => 1,
            _ => 2,
        };
        rows.sort_by_key(|r| order(r.service));
        rows
    }

    /// Requests of `service` answered with throttling.
    pub fn throttled(&self, service: &str) -> u64 {
        self.rows()
            .iter()
            .filter(|r| r.service == service)
            .map(|r| r.throttled)
            .sum()
    }

    /// Requests to `service`.
    pub fn requests_to(&self, service: &str) -> u64 {
        self.rows()
            .iter()
            .filter(|r| r.service == service)
            .map(|r| r.requests)
            .sum()
    }

    /// The `q` quantile of the resolution times (0.5 is the median).
    pub fn latency(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i]
    }

    /// Resolutions in all.
    pub fn resolutions(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

#[derive(Default)]
struct Outcomes {
    counts: BTreeMap<String, u64>,
    latencies: Vec<Duration>,
}

impl Outcomes {
    fn record(&mut self, outcome: String, took: Duration) {
        *self.counts.entry(outcome).or_insert(0) += 1;
        self.latencies.push(took);
    }
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A seed of its own for every (frontend, minute), from the run's seed.
fn seed_of(seed: u64, frontend: usize, minute: u32) -> u64 {
    seed ^ ((frontend as u64) << 32) ^ (u64::from(minute) << 8) ^ 0x9e37_79b9_7f4a_7c15
}

/// Runs one scenario on a fresh world, on tokio's clock (paused, in the example and tests).
pub async fn simulate(fleet: &Fleet, scenario: Scenario) -> Result<Measured, SimError> {
    fleet.check()?;
    let world = world(fleet)?;
    let (frontend_tap, job_tap) = (Tap::default(), Tap::default());
    let t0 = Instant::now();
    let job = if scenario.has_job() {
        Some(start_job(fleet, &world, &job_tap, t0).await?)
    } else {
        None
    };
    let outcomes = run_frontends(fleet, scenario, &world, &frontend_tap, t0).await?;
    let job_runs = match job {
        Some(handle) => handle
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?,
        None => Vec::new(),
    };
    let seconds = t0.elapsed().as_secs_f64().max(1.0);
    let requests = world.cloud.counters();
    let stale_at_end = if scenario.has_job() {
        stale_parameters(&world).await
    } else {
        0
    };
    let Outcomes {
        counts,
        mut latencies,
    } = outcomes;
    latencies.sort_unstable();
    Ok(Measured {
        scenario,
        seconds,
        requests,
        frontends: frontend_tap.snapshot(),
        job: job_tap.snapshot(),
        outcomes: counts,
        latencies,
        job_runs,
        stale_at_end,
    })
}

/// The job that keeps the parameters true, on its own session: at the start, then every
/// `--refresh-minutes` until the run ends.
async fn start_job(
    fleet: &Fleet,
    world: &World,
    tap: &Tap,
    t0: Instant,
) -> Result<tokio::task::JoinHandle<Result<Vec<JobRun>, SimError>>, SimError> {
    let templates = templates(fleet, world, Scenario::Describe)?;
    let cloud = client(&world.cloud, tap, fleet.seed);
    let session = session(cloud.clone()).await?;
    let regions = world.regions.clone();
    let every = Duration::from_secs(u64::from(fleet.refresh_minutes) * 60);
    let end = t0 + Duration::from_secs(u64::from(fleet.minutes) * 60);
    Ok(tokio::spawn(async move {
        let mut runs = Vec::new();
        let mut next = t0;
        while next < end {
            tokio::time::sleep_until(next).await;
            runs.push(keep_parameters_true(&session, &cloud, &templates, &regions, t0).await?);
            next += every;
        }
        Ok(runs)
    }))
}

/// How one frontend finds images during one minute.
#[derive(Clone)]
enum Frontend {
    /// Through a session's launch plans (`describe`, `ssm-tier`).
    Session(Arc<Session>),
    /// Reading the `latest` parameters itself (`read-ssm`).
    Reader(Arc<dyn Cloud>),
    /// Naming the parameters to RunInstances (`resolve-ssm`).
    Naming,
}

/// Every frontend, every minute: each template in each region at a seeded moment of the
/// minute, each resolution a task of its own (a slow one delays no other); a reader reads a
/// region's parameters together, at one moment.
async fn run_frontends(
    fleet: &Fleet,
    scenario: Scenario,
    world: &World,
    tap: &Tap,
    t0: Instant,
) -> Result<Outcomes, SimError> {
    let templates = Arc::new(templates(fleet, world, scenario)?);
    let outcomes: Shared<Outcomes> = Arc::default();
    let mut kept: Vec<Option<Arc<Session>>> = vec![None; fleet.frontends];
    let mut tasks = JoinSet::new();
    for minute in 0..fleet.minutes {
        let round = t0 + Duration::from_secs(u64::from(minute) * 60);
        tokio::time::sleep_until(round).await;
        while tasks.try_join_next().is_some() {}
        for (f, kept) in kept.iter_mut().enumerate() {
            let seed = seed_of(fleet.seed, f, minute);
            let frontend = match (scenario, fleet.sessions, kept.as_ref()) {
                (Scenario::ResolveSsm, _, _) => Frontend::Naming,
                (Scenario::ReadSsm, _, _) => Frontend::Reader(client(&world.cloud, tap, seed)),
                (_, Sessions::Kept, Some(s)) => Frontend::Session(s.clone()),
                _ => {
                    let s = Arc::new(session(client(&world.cloud, tap, seed)).await?);
                    if fleet.sessions == Sessions::Kept {
                        *kept = Some(s.clone());
                    }
                    Frontend::Session(s)
                }
            };
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut moment = || round + Duration::from_millis(rng.gen_range(0..60_000));
            for region in &world.regions {
                let picks: Vec<(Instant, Option<usize>)> = match frontend {
                    Frontend::Reader(_) => vec![(moment(), None)],
                    _ => (0..fleet.templates).map(|t| (moment(), Some(t))).collect(),
                };
                for (at, t) in picks {
                    let (frontend, templates, outcomes) =
                        (frontend.clone(), templates.clone(), outcomes.clone());
                    let region = region.clone();
                    tasks.spawn(async move {
                        tokio::time::sleep_until(at).await;
                        let started = Instant::now();
                        let asked = t.map_or(&templates[..], |t| &templates[t..=t]);
                        let answers = find_images(&frontend, asked, &region).await;
                        let mut outcomes = lock(&outcomes);
                        for answer in answers {
                            outcomes.record(answer, started.elapsed());
                        }
                    });
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    let outcomes = std::mem::take(&mut *lock(&outcomes));
    Ok(outcomes)
}

/// What a frontend does to find the images of `templates` in `region`: one outcome each.
async fn find_images(frontend: &Frontend, templates: &[Template], region: &Region) -> Vec<String> {
    match frontend {
        Frontend::Session(session) => {
            let mut answers = Vec::with_capacity(templates.len());
            for template in templates {
                answers.push(plan_once(session, template, region).await);
            }
            answers
        }
        Frontend::Reader(cloud) => read_latest(cloud.as_ref(), templates, region).await,
        Frontend::Naming => templates
            .iter()
            .map(|t| match parameter_name(&t.name, "latest") {
                Ok(name) if launch_reference(&name).starts_with("resolve:ssm:/amiref/") => {
                    "resolve:ssm (no call)".to_owned()
                }
                _ => "error (parameter name)".to_owned(),
            })
            .collect(),
    }
}

/// The session's launch plan, as the launcher asks for it: the method chosen, marked when
/// a tier failed (here, always throttling after the retries), so that the outcome is not
/// what the world holds.
async fn plan_once(session: &Session, template: &Template, region: &Region) -> String {
    let request = LaunchRequest::new(template.clone(), "fleet").region(region.clone());
    match session.plan_launch(&request).await {
        Ok(plan) if plan.resolution.chain.iter().any(|e| e.transient) => {
            format!("{} (a tier failed)", plan.choice.method)
        }
        Ok(plan) => plan.choice.method.to_string(),
        Err(SessionError::Resolve(e)) if e.is_transient() => "no image (a tier failed)".to_owned(),
        Err(e) => format!("error ({:?})", e.kind()),
    }
}

/// A frontend reading the `latest` parameters of `templates` itself: GetParameters requests
/// of ten names at once, and no DescribeImages (it takes the pointer as RunInstances does:
/// the job that writes it has judged the image).
async fn read_latest(cloud: &dyn Cloud, templates: &[Template], region: &Region) -> Vec<String> {
    let reads = templates.chunks(PARAMETER_BATCH).map(|batch| async move {
        let names: Result<Vec<ParameterName>, SimError> = batch
            .iter()
            .map(|t| parameter_name(&t.name, "latest"))
            .collect();
        let Ok(names) = names else {
            return vec!["error (parameter name)".to_owned(); batch.len()];
        };
        match cloud.get_parameters(region, &names).await {
            Ok(found) => names
                .iter()
                .map(|n| match found.get(n) {
                    Some(_) => "parameter read".to_owned(),
                    None => "parameter missing".to_owned(),
                })
                .collect(),
            Err(e) => vec![format!("read failed ({:?})", e.kind); batch.len()],
        }
    });
    futures::future::join_all(reads).await.concat()
}

/// After the run (counters already read): `latest` parameters naming another image than the
/// newest, read straight from the world.
async fn stale_parameters(world: &World) -> usize {
    world.cloud.set_throttling(None);
    let mut stale = 0;
    for ((t, region), newest) in &world.newest {
        let Ok(name) = parameter_name(&template_name(*t), "latest") else {
            stale += 1;
            continue;
        };
        let found = world
            .cloud
            .get_parameters(region, std::slice::from_ref(&name))
            .await
            .ok()
            .and_then(|mut p| p.remove(&name));
        if found.is_none_or(|p| p.value != newest.as_str()) {
            stale += 1;
        }
    }
    stale
}

/// What a run printed: the setup, then three tables (requests per operation; resolutions
/// and their times; the calls of the frontends and the job).
pub fn render(fleet: &Fleet, measured: &[Measured]) -> String {
    format!(
        "{} frontends × {} templates × {} regions, each resolved once a minute for {} min; {} ms per call; EC2/SSM token buckets on; sessions {:?}; fallback {:?}; seed {}\n\n{}\n{}\n{}",
        fleet.frontends,
        fleet.templates,
        fleet.regions,
        fleet.minutes,
        fleet.latency_ms,
        fleet.sessions,
        fleet.fallback,
        fleet.seed,
        requests_table(measured),
        resolutions_table(measured),
        clients_table(measured),
    )
}

fn requests_table(measured: &[Measured]) -> String {
    let mut out = String::from(
        "| scenario | service | operation | requests | req/s (all regions) | req/s (busiest region) | throttled |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for m in measured {
        for r in m.rows() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {:.2} | {} |\n",
                m.scenario.name(),
                r.service,
                r.operation,
                r.requests,
                r.per_second,
                r.busiest_region_per_second,
                r.throttled
            ));
        }
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn resolutions_table(measured: &[Measured]) -> String {
    let mut out = String::from(
        "| scenario | resolutions | outcomes | p50 | p90 | p99 | max |\n|---|---:|---|---:|---:|---:|---:|\n",
    );
    for m in measured {
        let outcomes: Vec<String> = m
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            m.scenario.name(),
            m.resolutions(),
            outcomes.join(", "),
            ms(m.latency(0.5)),
            ms(m.latency(0.9)),
            ms(m.latency(0.99)),
            ms(m.latency(1.0)),
        ));
    }
    out
}

fn clients_table(measured: &[Measured]) -> String {
    let mut out = String::from(
        "| scenario | frontends: port calls | DescribeImages | throttled | job: runs | port calls | throttled | longest run | stale found | written | stale at end |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in measured {
        let f = &m.frontends;
        let job = if m.scenario.has_job() {
            let runs = &m.job_runs;
            format!(
                "{} | {} | {} | {} | {} | {} | {}",
                runs.len(),
                m.job.total(),
                m.job.total_throttled(),
                ms(runs.iter().map(|r| r.took).max().unwrap_or_default()),
                runs.iter().map(|r| r.stale).sum::<usize>(),
                runs.iter().map(|r| r.written).sum::<usize>(),
                m.stale_at_end
            )
        } else {
            "- | - | - | - | - | - | -".to_owned()
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {job} |\n",
            m.scenario.name(),
            f.total(),
            f.describe_images(),
            f.total_throttled(),
        ));
        for failure in m.job_runs.iter().flat_map(|r| r.failures.first()) {
            out.push_str(&format!("\njob failure: {failure}\n"));
        }
    }
    out
}

fn main() -> std::process::ExitCode {
    let fleet = Fleet::parse();
    if let Err(e) = fleet.check() {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let wall = std::time::Instant::now();
    let mut measured = Vec::new();
    for scenario in &fleet.scenarios {
        let started = std::time::Instant::now();
        match runtime.block_on(simulate(&fleet, *scenario)) {
            Ok(m) => {
                eprintln!(
                    "{}: {} resolutions in {:.1} s of wall time",
                    scenario.name(),
                    m.resolutions(),
                    started.elapsed().as_secs_f64()
                );
                measured.push(m);
            }
            Err(e) => {
                let mut message = format!("error: {e}");
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    message.push_str(&format!(": {s}"));
                    source = s.source();
                }
                eprintln!("{message}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    print!("{}", render(&fleet, &measured));
    println!();
    println!("wall time: {:.1} s", wall.elapsed().as_secs_f64());
    std::process::ExitCode::SUCCESS
}
