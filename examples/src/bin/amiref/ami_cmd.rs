//! `amiref ami ...`: resolve a template's image, and test its availability across regions.

use std::process::ExitCode;

use amiref_core::Region;
use clap::Subcommand;
use serde_json::json;

use crate::output::{
    EXIT_FAILED, Failure, chain_lines, human_duration, json, method_title, resolution_lines, say,
    test_status,
};
use crate::{GlobalArgs, Output, cloud};

/// Image commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AmiCommand {
    /// Resolve a template's image in a region (the global --region) and explain how.
    /// Exits 0 when something can be launched, 1 when not.
    Resolve {
        /// The template: a file, or a name found in templates/ or examples/templates/.
        template: String,
        /// Launch only on this architecture (x86_64, arm64, ...).
        #[arg(long, value_name = "ARCH")]
        architecture: Option<amiref_core::Architecture>,
    },
    /// Test a template's image availability in many regions at once: one line per region
    /// (available / cross-region copy available / script fallback / failed). Exits 0 when
    /// no region failed, 1 otherwise.
    Test {
        /// The template: a file, or a name found in templates/ or examples/templates/.
        template: String,
        /// Regions to test, comma-separated [default: the global --region].
        #[arg(long, value_delimiter = ',', conflicts_with = "all_regions")]
        regions: Vec<String>,
        /// Every commercial region enabled by default (on AWS: amiref-regions' catalog less
        /// the opt-in regions such as af-south-1, which fail unless the account enabled them;
        /// name those with --regions. On a world: the commercial regions it defines).
        #[arg(long)]
        all_regions: bool,
    },
    #[command(flatten)]
    Lifecycle(crate::lifecycle_cmd::LifecycleCommand),
    #[command(flatten)]
    Registry(crate::registry_cmd::AmiRegistryCommand),
}

pub(crate) fn run(cmd: AmiCommand, global: &GlobalArgs) -> ExitCode {
    let runtime = match cloud::runtime(global) {
        Ok(rt) => rt,
        Err(f) => return f.report(),
    };
    let result = runtime.block_on(async {
        match cmd {
            AmiCommand::Resolve {
                template,
                architecture,
            } => resolve(&template, architecture, global).await,
            AmiCommand::Test {
                template,
                regions,
                all_regions,
            } => test(&template, &regions, all_regions, global).await,
            AmiCommand::Lifecycle(cmd) => Ok(crate::lifecycle_cmd::run(cmd, global)),
            AmiCommand::Registry(cmd) => crate::registry_cmd::run_ami(cmd, global).await,
        }
    });
    result.unwrap_or_else(Failure::report)
}

async fn resolve(
    template: &str,
    architecture: Option<amiref_core::Architecture>,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let human = global.output == Output::Table;
    let template = cloud::load_template(template)?;
    let opened = cloud::open(global).await?;
    let resolver = cloud::resolver(global, &opened).await?;
    let region = opened.region.clone();
    let mut options = amiref::ResolveOptions::default();
    if let Some(arch) = architecture {
        options = options.architecture(arch);
    }
    let result = resolver.resolve_with(&template, &region, &options).await;
    if !human {
        match &result {
            Ok(r) => json(&json!({ "ok": true, "resolution": r })),
            Err(e) => json(&json!({ "ok": false, "error": e.to_string(), "chain": e.chain() })),
        }
        return Ok(if result.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_FAILED)
        });
    }
    say(format!(
        "🔍 Resolving AMI for template: {} in {region}",
        template.name
    ));
    match result {
        Ok(r) => {
            for line in resolution_lines(&r) {
                say(line);
            }
            say(format!(
                "Method: {} · {} on {} · ~{} to launch",
                method_title(r.method),
                r.architecture,
                r.instance_type,
                human_duration(r.estimate.launch_time)
            ));
            say("Chain:");
            for line in chain_lines(&r.chain) {
                say(line);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            say("❌ No way to launch:");
            for line in chain_lines(e.chain()) {
                say(line);
            }
            Err(crate::output::no_way(&e, true))
        }
    }
}

async fn test(
    template: &str,
    regions: &[String],
    all_regions: bool,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let human = global.output == Output::Table;
    let template = cloud::load_template(template)?;
    let opened = cloud::open(global).await?;
    let resolver = cloud::resolver(global, &opened).await?;
    let regions: Vec<Region> = if all_regions {
        cloud::all_regions(&opened)
    } else if regions.is_empty() {
        vec![opened.region.clone()]
    } else {
        regions
            .iter()
            .map(|r| {
                r.trim()
                    .parse()
                    .map_err(|e| Failure::Failed(format!("--regions: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    let start = tokio::time::Instant::now();
    let results = resolver
        .resolve_many(std::slice::from_ref(&template), &regions)
        .await;
    let elapsed = start.elapsed();
    let failed = results.iter().filter(|r| r.result.is_err()).count();

    if !human {
        let rows: Vec<_> = results
            .iter()
            .map(|r| match &r.result {
                Ok(res) => json!({
                    "region": r.region,
                    "status": test_status(&r.result),
                    "method": res.method,
                    "image": res.copy_plan.as_ref().map_or(&res.image.id, |p| &p.source_image),
                    "source_region": res.copy_plan.as_ref().map(|p| &p.source_region),
                    "instance_type": res.instance_type,
                }),
                Err(e) => json!({
                    "region": r.region,
                    "status": "failed",
                    "error": e.to_string(),
                }),
            })
            .collect();
        json(&json!({
            "template": template.name,
            "regions": rows,
            "failed": failed,
            "elapsed_ms": elapsed.as_millis() as u64,
        }));
    } else {
        say(format!(
            "🧪 Testing AMI availability for template: {}",
            template.name
        ));
        say("");
        for r in &results {
            say(match &r.result {
                Ok(res) => match res.method {
                    amiref_core::ResolutionMethod::CrossRegion => {
                        let from = res
                            .copy_plan
                            .as_ref()
                            .map(|p| format!(" from {}", p.source_region))
                            .unwrap_or_default();
                        format!(
                            "✅ {}: {} (cross-region copy available{from})",
                            r.region, res.image.id
                        )
                    }
                    amiref_core::ResolutionMethod::FallbackScript => format!(
                        "❌ {}: No AMI available (fallback: script provisioning on {})",
                        r.region, res.image.id
                    ),
                    _ => format!("✅ {}: {} (available)", r.region, res.image.id),
                },
                Err(e) => {
                    let why = e
                        .chain()
                        .iter()
                        .rev()
                        .find(|c| c.outcome != amiref::Outcome::NotTried)
                        .map(|c| c.reason.clone())
                        .unwrap_or_else(|| e.to_string());
                    format!("💥 {}: failed ({why})", r.region)
                }
            });
        }
        let count = |status: &str| {
            results
                .iter()
                .filter(|r| test_status(&r.result) == status)
                .count()
        };
        say("");
        say(format!(
            "{} available, {} cross-region copy, {} script fallback, {} failed; {} regions in {} ms{}",
            count("available"),
            count("cross-region copy available"),
            count("script fallback"),
            failed,
            regions.len(),
            elapsed.as_millis(),
            if global.world.is_some() {
                " (world time)"
            } else {
                ""
            }
        ));
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
