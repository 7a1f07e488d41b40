//! Worlds and inputs shared by the benchmarks (and, through `#[path]`, the concurrency tests).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use amiref::{Resolver, TrustPolicy};
use amiref_core::{AccountId, Architecture, Image, Owner, Region};
use amiref_memory::{ImageSeed, MemoryCloud};
use amiref_strategies::{ArchChoice, architecture_choices, search};
use amiref_template::Template;
use rand::{Rng, SeedableRng};

/// The lab's account: the caller, and the owner of the benchmark images.
pub const LAB: &str = "123456789012";
/// A stranger who publishes look-alikes.
pub const STRANGER: &str = "999988887777";

/// Every commercial region, one lab image in each, and `n` templates mapping it everywhere;
/// each call to the cloud takes `latency`.
pub fn every_region_world(
    n: usize,
    latency: Duration,
) -> (Arc<MemoryCloud>, Vec<Template>, Vec<Region>) {
    let me: AccountId = LAB.parse().unwrap();
    let regions: Vec<Region> = amiref_regions::commercial_regions()
        .map(|r| r.code.clone())
        .collect();
    let mut builder = MemoryCloud::builder()
        .caller(me.clone())
        .latency(latency)
        .instance_type("m6i.large".parse().unwrap(), [Architecture::X86_64]);
    let mut mappings = String::new();
    for (i, region) in regions.iter().enumerate() {
        let id = format!("ami-{:08x}", 0x1000 + i);
        let image = Image::new(
            id.parse().unwrap(),
            region.clone(),
            "lab-image-1.0.0",
            me.clone(),
            Architecture::X86_64,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        builder = builder.region(region.clone()).image(ImageSeed::new(image));
        mappings.push_str(&format!("    {region}: {id}\n"));
    }
    let cloud = Arc::new(builder.build().unwrap());
    let templates = (0..n)
        .map(|i| {
            Template::from_yaml_str(
                &format!(
                    "name: lab-{i}\ninstance_type: m6i.large\nami_config:\n  fallback_strategy: error\n  ami_mappings:\n{mappings}"
                ),
                "bench.yml",
            )
            .unwrap()
        })
        .collect();
    (cloud, templates, regions)
}

/// A resolver over `cloud` judging deprecation at the world's time.
pub fn resolver(cloud: &Arc<MemoryCloud>) -> Resolver {
    resolver_with(cloud, true)
}

/// [`resolver`], with every tier's first calls at once (`concurrent`, the default) or the
/// serial baseline (`ResolverBuilder::concurrent_tiers(false)`).
pub fn resolver_with(cloud: &Arc<MemoryCloud>, concurrent: bool) -> Resolver {
    let clock = cloud.clone();
    Resolver::builder()
        .cloud(cloud.clone())
        .trust_policy(
            TrustPolicy::default()
                .with_named_owner("prism-community", ["111122223333".parse().unwrap()]),
        )
        .clock(Arc::new(move || clock.now()))
        .concurrent_tiers(concurrent)
        .build()
        .unwrap()
}

/// Amazon's account, the owner of Amazon Linux (owner alias `amazon`).
pub const AMAZON: &str = "137112412989";

/// Where each cold-resolution scenario of [`tiers_world`] resolves.
pub mod scenario {
    /// (a) The template's `ami_mappings` names the lab's image here.
    pub const MAPPED: &str = "us-east-1";
    /// (b) No mapping here; the search finds the lab's image.
    pub const SEARCHED: &str = "us-west-2";
    /// (c) Nothing of the lab's here: script provisioning on AWS's public Amazon Linux 2023
    /// parameter's image.
    pub const SCRIPTED: &str = "eu-west-1";
    /// (d) Nothing of the lab's here either, with a cross-region fallback: a copy from a
    /// region of the fallback graph that has the lab's image.
    pub const COPIED: &str = "us-west-1";
}

/// AWS's public parameter naming the newest Amazon Linux 2023 image of `arch`.
pub fn al2023_parameter(arch: &str) -> amiref_core::ParameterName {
    amiref_core::ParameterName::new(format!(
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
    ))
    .unwrap()
}

/// The world of the cold-resolution scenarios (see [`scenario`]), every call taking
/// `latency`: the lab's image (x86_64 and arm64) in us-east-1 and us-west-2, Amazon Linux
/// 2023 and AWS's public parameters naming it in every scenario region, m6i.large and
/// m7g.large offered everywhere.
pub fn tiers_world(latency: Duration) -> Arc<MemoryCloud> {
    use scenario::*;
    let me: AccountId = LAB.parse().unwrap();
    let amazon: AccountId = AMAZON.parse().unwrap();
    let created: chrono::DateTime<chrono::Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut builder = MemoryCloud::builder()
        .caller(me.clone())
        .latency(latency)
        .instance_type("m6i.large".parse().unwrap(), [Architecture::X86_64])
        .instance_type("m7g.large".parse().unwrap(), [Architecture::Arm64]);
    let regions = [MAPPED, SEARCHED, SCRIPTED, COPIED];
    for (r, region) in regions.iter().enumerate() {
        let region: Region = region.parse().unwrap();
        builder = builder.region(region.clone());
        for (a, (arch, suffix)) in [
            (Architecture::X86_64, "x86_64"),
            (Architecture::Arm64, "arm64"),
        ]
        .into_iter()
        .enumerate()
        {
            if r < 2 {
                let lab = Image::new(
                    format!("ami-{:017x}", 0x100 + r * 2 + a).parse().unwrap(),
                    region.clone(),
                    format!("cws-python-ml-2.1.0-{suffix}"),
                    me.clone(),
                    arch,
                    created,
                );
                builder = builder.image(ImageSeed::new(lab));
            }
            let id: amiref_core::AmiId = format!("ami-{:017x}", 0xa1 + r * 2 + a).parse().unwrap();
            let mut al2023 = Image::new(
                id.clone(),
                region.clone(),
                format!("al2023-ami-2023.9.20261020.0-kernel-6.1-{suffix}"),
                amazon.clone(),
                arch,
                created,
            );
            al2023.owner_alias = Some("amazon".into());
            al2023.public = true;
            builder = builder.image(ImageSeed::new(al2023)).parameter(
                region.clone(),
                amiref_core::Parameter::new(al2023_parameter(suffix), id.to_string()),
            );
        }
    }
    Arc::new(builder.build().unwrap())
}

/// The template of the cold-resolution scenarios: python-ml as a lab writes it, a direct
/// mapping in us-east-1, a search of its own images, and its script as the fallback
/// (`cross_region` instead when `cross_region`, without the script).
pub fn tiers_template(cross_region: bool) -> Template {
    tiers_template_owned_by("self", cross_region)
}

/// [`tiers_template`] with the search naming `owner` (`self`, or the lab's account id).
pub fn tiers_template_owned_by(owner: &str, cross_region: bool) -> Template {
    let (fallback, script) = if cross_region {
        ("cross_region", "")
    } else {
        (
            "script_provisioning",
            "user_data: |\n  #!/bin/bash\n  dnf install -y python3.12\n",
        )
    };
    Template::from_yaml_str(
        &format!(
            r#"name: python-ml
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
ami_config:
  ami_mappings:
    us-east-1: ami-00000000000000100
  ami_search:
    owner: "{owner}"
    name_pattern: "cws-python-ml-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64, arm64]
  fallback_strategy: {fallback}
  preferred_architecture: arm64
{script}"#
        ),
        "bench.yml",
    )
    .unwrap()
}

/// `n` candidate images of a search, seeded: half the lab's, half a stranger's look-alikes
/// (newer, higher versions), mixed architectures, versions 1.0.0 to 3.9.9, some deprecated.
pub fn candidates(n: usize, seed: u64) -> Vec<Image> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let region: Region = "us-east-1".parse().unwrap();
    let lab: AccountId = LAB.parse().unwrap();
    let stranger: AccountId = STRANGER.parse().unwrap();
    let base: chrono::DateTime<chrono::Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
    (0..n)
        .map(|i| {
            let strange = rng.gen_bool(0.5);
            let (major, minor, patch) = if strange {
                (
                    rng.gen_range(3..5),
                    rng.gen_range(0..10),
                    rng.gen_range(0..10),
                )
            } else {
                (
                    rng.gen_range(1..3),
                    rng.gen_range(0..10),
                    rng.gen_range(0..10),
                )
            };
            let arch = if rng.gen_bool(0.5) {
                Architecture::X86_64
            } else {
                Architecture::Arm64
            };
            let mut image = Image::new(
                format!("ami-{:017x}", i).parse().unwrap(),
                region.clone(),
                format!("cws-python-ml-{major}.{minor}.{patch}-{arch}-b{i}"),
                if strange {
                    stranger.clone()
                } else {
                    lab.clone()
                },
                arch,
                base + chrono::Duration::minutes(rng.gen_range(0..1_000_000)),
            );
            image
                .tags
                .insert("Version".into(), format!("v{major}.{minor}.{patch}"));
            if rng.gen_bool(0.05) {
                image.deprecation_time = Some(base);
            }
            image
        })
        .collect()
}

/// The search template the candidates are chosen for.
pub fn search_template() -> Template {
    Template::from_yaml_str(
        r#"name: python-ml
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
ami_config:
  ami_search:
    owner: "123456789012"
    name_pattern: "cws-python-ml-*"
    version_constraint: ">=1.0.0, <3"
    architecture: [x86_64, arm64]
  fallback_strategy: error
  preferred_architecture: arm64
"#,
        "bench.yml",
    )
    .unwrap()
}

/// What a selection among [`candidates`] is judged by: the [`search_template`]'s search,
/// the lab as its one owner, and the template's architectures.
pub struct SelectionInput {
    template: Template,
    owners: [Owner; 1],
    choices: Vec<ArchChoice>,
}

/// The input for a selection among [`candidates`] by the [`search_template`].
pub fn selection_input() -> SelectionInput {
    let template = search_template();
    let choices = architecture_choices(&template, None, &|_| None);
    SelectionInput {
        template,
        owners: [Owner::Account(LAB.parse().unwrap())],
        choices,
    }
}

impl SelectionInput {
    /// The criteria, judging deprecation at the time of the call.
    pub fn criteria(&self) -> search::Criteria<'_> {
        let search = self
            .template
            .ami_config
            .as_ref()
            .unwrap()
            .ami_search
            .as_ref()
            .unwrap();
        search::Criteria {
            search,
            owners: &self.owners,
            caller: None,
            choices: &self.choices,
            now: chrono::Utc::now(),
            allowed: None,
        }
    }
}

/// The demo world (for the shared-copy scenario).
pub fn demo() -> Arc<MemoryCloud> {
    Arc::new(
        MemoryCloud::from_world_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/worlds/demo.yaml"
        ))
        .unwrap(),
    )
}

/// python-ml with a cross-region fallback and no script: ap-south-1 must copy.
pub fn cross_region_template() -> Template {
    Template::from_yaml_str(
        r#"name: python-ml-xr
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
ami_config:
  ami_search:
    owner: prism-community
    name_pattern: "cws-python-ml-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64, arm64]
  fallback_strategy: cross_region
"#,
        "bench.yml",
    )
    .unwrap()
}

/// The process's peak resident memory (VmHWM), KiB, on Linux.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// The process's resident memory (VmRSS), KiB, on Linux.
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak (VmHWM) to the current RSS, on Linux: `5` to /proc/self/clear_refs.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
