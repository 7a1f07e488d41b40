//! `amiref launch TEMPLATE NAME`: resolve the image, confirm what needs confirming, copy if
//! planned, and launch.

use std::process::ExitCode;

use amiref::{Resolution, ResolveOptions, Resolver};
use amiref_core::{AmiId, Image, InstanceType, Region, ResolutionMethod, RunInstanceRequest};
use amiref_template::{AmiStrategy, Template};
use clap::Args;
use serde_json::json;

use crate::output::{
    Failure, confirm, human_duration, json, money, preview_lines, resolution_lines, say,
    short_duration, speedup_line,
};
use crate::{GlobalArgs, Output, cloud};

/// `launch` options. The region is the global `--region`.
#[derive(Debug, Args)]
pub(crate) struct LaunchArgs {
    /// The template: a file, or a name found in templates/ or examples/templates/.
    template: String,
    /// The instance's name (its Name tag).
    name: String,
    /// Resolve (and preview) only: nothing is copied or launched.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: show every tier's outcome, the fallback chain and the cost comparison.
    #[arg(long)]
    show_ami_resolution: bool,
    /// Provision with the template's script even when an image exists (asks first when an
    /// image would be faster).
    #[arg(long)]
    prefer_script: bool,
    /// Launch only on this architecture (x86_64, arm64, ...).
    #[arg(long, value_name = "ARCH")]
    architecture: Option<amiref_core::Architecture>,
    /// Answer yes to every question (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

pub(crate) fn run(args: LaunchArgs, global: &GlobalArgs) -> ExitCode {
    let runtime = match cloud::runtime(global) {
        Ok(rt) => rt,
        Err(f) => return f.report(),
    };
    match runtime.block_on(launch(&args, global)) {
        Ok(code) => code,
        Err(f) => f.report(),
    }
}

/// What will be launched.
struct Plan {
    image: AmiId,
    instance_type: InstanceType,
    user_data: bool,
    copy: Option<amiref::CopyPlan>,
    method: ResolutionMethod,
}

impl Plan {
    fn chosen(r: &Resolution) -> Self {
        Self {
            image: r.image.id.clone(),
            instance_type: r.instance_type.clone(),
            user_data: r.runs_user_data,
            copy: r.copy_plan.clone(),
            method: r.method,
        }
    }
}

async fn launch(args: &LaunchArgs, global: &GlobalArgs) -> Result<ExitCode, Failure> {
    let human = global.output == Output::Table;
    let template = cloud::load_template(&args.template)?;
    let opened = cloud::open(global).await?;
    let resolver = cloud::resolver(global, &opened).await?;
    let region = opened.region.clone();
    let mut options = ResolveOptions::default();
    if let Some(arch) = args.architecture {
        options = options.architecture(arch);
    }
    if args.prefer_script {
        // Script first, the best image kept as the alternative: exactly ami_fallback.
        options = options.strategy(AmiStrategy::AmiFallback);
    }

    if args.dry_run && args.show_ami_resolution {
        let preview = resolver.preview(&template, &region, &options).await;
        if human {
            let fallback = fallback_name(&template);
            for line in preview_lines(&preview, fallback) {
                say(line);
            }
            say("");
            say("🧪 Dry run: nothing copied or launched.");
        } else {
            json(&json!({ "dry_run": true, "preview": preview }));
        }
        return Ok(if preview.resolution.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(crate::output::EXIT_FAILED)
        });
    }

    if human {
        say(format!(
            "🔍 Resolving AMI for template: {} in {region}",
            template.name
        ));
    }
    let resolution = match resolver.resolve_with(&template, &region, &options).await {
        Ok(r) => r,
        Err(e) => {
            if human {
                say("❌ No way to launch:");
                for line in crate::output::chain_lines(e.chain()) {
                    say(line);
                }
            } else {
                json(&json!({ "ok": false, "error": e.to_string(), "chain": e.chain() }));
            }
            return Err(crate::output::no_way(&e, human));
        }
    };
    if human {
        for line in resolution_lines(&resolution) {
            say(line);
        }
    }
    let mut plan = Plan::chosen(&resolution);

    if args.prefer_script {
        plan = prefer_script(&resolution, plan, args, human)?;
    } else if let (true, Some(alt)) = (human, &resolution.alternative) {
        // The resolver kept another way to launch: say what it was and why it lost.
        let why = match (resolution.strategy, global.cloud.workload) {
            (AmiStrategy::AmiFallback, _) => "the template puts the script first (ami_fallback)",
            (_, cloud::WorkloadArg::Batch) => "script provisioning costs less (batch workload)",
            _ => "script provisioning is usable sooner (interactive workload)",
        };
        let copy = alt
            .copy_plan
            .as_ref()
            .map(|p| format!(" from {}, {}", p.source_region, money(p.total_cost_usd())))
            .unwrap_or_default();
        say(format!(
            "ℹ️  Alternative: {} by {} ({}{copy}); {why}",
            alt.image.id,
            crate::output::method_title(alt.method),
            human_duration(alt.estimate.launch_time)
        ));
    } else if human && resolution.method.uses_image() && resolution.copy_plan.is_none() {
        let script = resolver.estimate_model().script_time(&template);
        if let Some(line) = speedup_line(&resolution.estimate, script) {
            say(line);
        }
    }

    let mut copied: Option<Image> = None;
    if let Some(copy) = plan.copy.clone() {
        if human {
            say(format!(
                "📋 Cross-region copy required ({} + {})",
                short_duration(copy.estimated_duration),
                money(copy.total_cost_usd())
            ));
        }
        if args.dry_run {
            return finish_dry_run(&resolution, &plan, &args.name, human);
        }
        if !confirm("Continue?", args.yes)? {
            return Err(Failure::Aborted(
                "the cross-region copy was declined".into(),
            ));
        }
        if human {
            say(format!(
                "🔄 Copying {} from {} to {}...",
                copy.source_image, copy.source_region, copy.destination_region
            ));
        }
        let image = resolver
            .execute(&copy)
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
        if human {
            say(format!("✅ Copied: {} is available in {region}", image.id));
        }
        plan.image = image.id.clone();
        copied = Some(image);
    }

    if args.dry_run {
        return finish_dry_run(&resolution, &plan, &args.name, human);
    }
    let instance = run_instance(&resolver, &template, &region, &plan, &args.name, human).await?;
    if human {
        say(format!(
            "✅ Launched {instance} ({}) in {region}",
            args.name
        ));
        if global.world.is_some() {
            say("   (in the in-process world: nothing persists after this command)");
        }
    } else {
        json(&json!({
            "dry_run": false,
            "resolution": resolution,
            "launched": {
                "instance": instance.to_string(),
                "name": args.name,
                "image": plan.image,
                "instance_type": plan.instance_type,
                "method": plan.method,
                "user_data": plan.user_data,
            },
            "copy": copied,
        }));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--prefer-script`: the resolution put the script first; offer the faster image.
fn prefer_script(
    resolution: &Resolution,
    plan: Plan,
    args: &LaunchArgs,
    human: bool,
) -> Result<Plan, Failure> {
    if resolution.method != ResolutionMethod::FallbackScript {
        if human {
            say(
                "⚠️  Script provisioning requested, but the template has no usable script: using the image",
            );
        }
        return Ok(plan);
    }
    if human {
        say(format!(
            "⚠️  Script provisioning requested ({} estimated)",
            human_duration(resolution.estimate.launch_time)
        ));
    }
    let Some(alt) = &resolution.alternative else {
        return Ok(plan);
    };
    if alt.estimate.launch_time >= resolution.estimate.launch_time {
        return Ok(plan);
    }
    if human {
        say(format!(
            "🔍 AMI available: {} ({})",
            alt.image.id,
            human_duration(alt.estimate.launch_time)
        ));
    }
    if confirm("Continue with script provisioning?", args.yes)? {
        return Ok(plan);
    }
    if human {
        say(format!("✅ Using AMI: {}", alt.image.id));
    }
    Ok(Plan {
        image: alt.image.id.clone(),
        instance_type: alt.instance_type.clone(),
        user_data: false,
        copy: alt.copy_plan.clone(),
        method: alt.method,
    })
}

fn finish_dry_run(
    resolution: &Resolution,
    plan: &Plan,
    name: &str,
    human: bool,
) -> Result<ExitCode, Failure> {
    if human {
        let script = if plan.user_data {
            " with user_data"
        } else {
            ""
        };
        say(format!(
            "🧪 Dry run: would launch {name} on {} from {}{script}; nothing copied or launched.",
            plan.instance_type, plan.image
        ));
    } else {
        json(&json!({ "dry_run": true, "resolution": resolution }));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_instance(
    resolver: &Resolver,
    template: &Template,
    region: &Region,
    plan: &Plan,
    name: &str,
    human: bool,
) -> Result<amiref_core::InstanceId, Failure> {
    if human {
        say(if plan.user_data {
            "🚀 Launching with script provisioning..."
        } else {
            "🚀 Launching with pre-built environment..."
        });
    }
    let mut request = RunInstanceRequest::new(plan.image.clone(), plan.instance_type.clone());
    if plan.user_data {
        request.user_data = template.user_data.clone();
    }
    request.tags.insert("Name".into(), name.to_owned());
    request
        .tags
        .insert("amiref:template".into(), template.name.clone());
    resolver
        .cloud()
        .run_instance(region, &request)
        .await
        .map_err(|e| Failure::Failed(e.to_string()))
}

pub(crate) fn fallback_name(template: &Template) -> &'static str {
    match template.ami_config.as_ref().map(|c| c.fallback_strategy) {
        Some(amiref_template::FallbackStrategy::Error) => "error",
        Some(amiref_template::FallbackStrategy::CrossRegion) => "cross_region",
        _ => "script_provisioning",
    }
}
