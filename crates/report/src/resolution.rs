//! The resolver's answers: a resolution (`ami resolve`), the dry-run preview (`launch
//! --dry-run --show-ami-resolution`), and no way to launch.
//!
//! The human form is the mission's transcript: `🔍 Resolving ...`, `✅ Found optimized AMI`,
//! one numbered line per tier. The JSON form keeps the resolver's typed chain entries,
//! estimates, copy plans and warnings as they serialise.

use std::time::Duration;

use amiref_core::{Architecture, InstanceType, Region, ResolutionMethod};
use amiref_resolver::{
    Alternative, ChainEntry, CopyPlan, CostOption, Estimate, NotTried, Outcome, Preview,
    Resolution, ResolveError, Warning,
};
use amiref_template::{AmiStrategy, FallbackStrategy, Template};
use schemars::JsonSchema;
use serde::Serialize;

use crate::image::ImageJson;
use crate::units::{duration, short_duration, usd, usd_price};
use crate::{ErrorKind, ErrorReport, Human, Report};

/// Another way to launch than the one chosen.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlternativeJson {
    /// How it would launch.
    pub method: ResolutionMethod,
    /// The image (for a script: the base image).
    pub image: ImageJson,
    /// On which instance type.
    pub instance_type: InstanceType,
    /// What it would take.
    pub estimate: Estimate,
    /// The copy it needs first.
    pub copy_plan: Option<CopyPlan>,
}

impl From<&Alternative> for AlternativeJson {
    fn from(a: &Alternative) -> Self {
        Self {
            method: a.method.clone(),
            image: (&a.image).into(),
            instance_type: a.instance_type.clone(),
            estimate: a.estimate.clone(),
            copy_plan: a.copy_plan.clone(),
        }
    }
}

/// What to launch, how it was found, and what it will take (`amiref/resolution/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ResolutionJson {
    /// The template's name.
    pub template: String,
    /// The region to launch in.
    pub region: Region,
    /// The strategy applied.
    pub strategy: AmiStrategy,
    /// How the image was found.
    pub method: ResolutionMethod,
    /// The image to launch (for script provisioning: the base image; for a cross-region
    /// result: the source image, see `copy_plan`).
    pub image: ImageJson,
    /// Its architecture.
    pub architecture: Architecture,
    /// The instance type to launch.
    pub instance_type: InstanceType,
    /// Whether the launch runs the template's `user_data`.
    pub runs_user_data: bool,
    /// Every tier tried, in order.
    pub chain: Vec<ChainEntry>,
    /// Things a person should know before launching.
    pub warnings: Vec<Warning>,
    /// What it will take.
    pub estimate: Estimate,
    /// For a cross-region result: the copy to make first.
    pub copy_plan: Option<CopyPlan>,
    /// Another way to launch.
    pub alternative: Option<AlternativeJson>,
}

impl From<&Resolution> for ResolutionJson {
    fn from(r: &Resolution) -> Self {
        Self {
            template: r.template.clone(),
            region: r.region.clone(),
            strategy: r.strategy,
            method: r.method.clone(),
            image: (&r.image).into(),
            architecture: r.architecture,
            instance_type: r.instance_type.clone(),
            runs_user_data: r.runs_user_data,
            chain: r.chain.clone(),
            warnings: r.warnings.clone(),
            estimate: r.estimate.clone(),
            copy_plan: r.copy_plan.clone(),
            alternative: r.alternative.as_ref().map(Into::into),
        }
    }
}

/// `ami resolve`: the header, what was found, the method line, and the chain.
impl Report for Resolution {
    const KIND: &'static str = "resolution";
    type Json = ResolutionJson;

    fn to_json(&self) -> ResolutionJson {
        self.into()
    }

    fn human(&self, out: &mut Human) {
        out.line(resolving_line(&self.template, &self.region));
        out.extend(resolution_lines(self));
        out.line(format!(
            "Method: {} · {} on {} · ~{} to launch",
            method_title(&self.method),
            self.architecture,
            self.instance_type,
            duration(self.estimate.launch_time)
        ));
        out.line("Chain:");
        out.extend(chain_lines(&self.chain));
    }
}

/// `🔍 Resolving AMI for template: NAME in REGION`, the first line of a resolution.
pub fn resolving_line(template: &str, region: &Region) -> String {
    format!("🔍 Resolving AMI for template: {template} in {region}")
}

/// The method as it reads inside a sentence: `direct mapping`, `cross-region copy`, a
/// caller's tier by its name.
pub fn method_title(m: &ResolutionMethod) -> &str {
    match m {
        ResolutionMethod::SsmParameter => "SSM parameter",
        ResolutionMethod::DirectMapping => "direct mapping",
        ResolutionMethod::DynamicSearch => "dynamic search",
        ResolutionMethod::CommunityRegistry => "community registry",
        ResolutionMethod::Marketplace => "marketplace",
        ResolutionMethod::CrossRegion => "cross-region copy",
        ResolutionMethod::ScriptProvisioning => "script provisioning",
        other => other.as_str(),
    }
}

/// The snake_case name of a fallback strategy, as templates write it.
pub fn fallback_name(f: FallbackStrategy) -> &'static str {
    match f {
        FallbackStrategy::Error => "error",
        FallbackStrategy::CrossRegion => "cross_region",
        _ => "script_provisioning",
    }
}

fn mark(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Found(_) => "✅",
        Outcome::Skipped { .. } => "⏭️",
        Outcome::Failed { .. } => "❌",
        Outcome::TimedOut { .. } => "⏱️",
        Outcome::CutOffByFaults { .. } => "🌩️",
        _ => "—",
    }
}

/// One line per tier: `  2. Direct mapping ✅ ami_mappings.us-east-1: ...`; tiers that
/// ran but were not needed say so, tiers not tried say why.
pub fn chain_lines(chain: &[ChainEntry]) -> Vec<String> {
    chain
        .iter()
        .enumerate()
        .map(|(i, e)| chain_line(i + 1, e))
        .collect()
}

fn chain_line(number: usize, e: &ChainEntry) -> String {
    let title = e.tier.title();
    match &e.outcome {
        Outcome::NotTried {
            reason: reason @ NotTried::NotNeeded { .. },
        } => format!("  {number}. {title} ({reason})"),
        Outcome::NotTried { reason } => format!("  {number}. {title} (not tried: {reason})"),
        outcome => {
            let needed = if e.used { "" } else { " (not needed)" };
            format!("  {number}. {title} {}{needed} {outcome}", mark(outcome))
        }
    }
}

/// What a resolution found, as the launcher's first lines, with its warnings (except the
/// copy notice, which the copy's own lines say).
pub fn resolution_lines(r: &Resolution) -> Vec<String> {
    let mut lines = Vec::new();
    let warnings = r
        .warnings
        .iter()
        .filter(|w| !matches!(w, Warning::CopyFirst { .. }))
        .map(|w| format!("⚠️  {w}"));
    match &r.method {
        ResolutionMethod::CrossRegion => {
            lines.push(format!("❌ No AMI in {}", r.region));
            lines.push("🔄 Searching fallback regions...".to_owned());
            if let Some(plan) = &r.copy_plan {
                lines.push(format!(
                    "✅ Found AMI in {}: {} ({})",
                    plan.source_region, plan.source_image, plan.source_name
                ));
            }
            lines.extend(warnings);
        }
        ResolutionMethod::ScriptProvisioning => {
            lines.extend(warnings);
            lines.push(format!(
                "📦 Base image: {} ({}), {} on {}, then user_data",
                r.image.id, r.image.name, r.architecture, r.instance_type
            ));
        }
        m => {
            lines.push(format!(
                "✅ Found optimized AMI: {} ({}) by {}",
                r.image.id,
                r.image.name,
                method_title(m)
            ));
            lines.extend(warnings);
        }
    }
    lines
}

/// `📈 Performance: 12.0x faster launch (30s vs 6min)`, when the image beats the script.
pub fn speedup_line(image: &Estimate, script: Duration) -> Option<String> {
    let t = image.launch_time.as_secs_f64();
    if t <= 0.0 || script <= image.launch_time {
        return None;
    }
    Some(format!(
        "📈 Performance: {:.1}x faster launch ({} vs {})",
        script.as_secs_f64() / t,
        short_duration(image.launch_time),
        short_duration(script)
    ))
}

/// `📋 Cross-region copy required (17min + $4.20)`.
pub fn copy_required_line(plan: &CopyPlan) -> String {
    format!(
        "📋 Cross-region copy required ({} + {})",
        short_duration(plan.estimated_duration),
        usd(plan.total_cost_usd())
    )
}

/// The dry run (`amiref/preview/v1`): every tier's outcome, the resolution or why there is
/// none, and the cost of each way of launching.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PreviewJson {
    /// The template's name.
    pub template: String,
    /// The region.
    pub region: Region,
    /// The strategy applied.
    pub strategy: AmiStrategy,
    /// The template's fallback strategy.
    pub fallback_strategy: FallbackStrategy,
    /// Every tier, in order, with its own outcome; `used` marks those the resolution needed.
    pub tiers: Vec<ChainEntry>,
    /// The resolution, or `null` when nothing can be launched.
    pub resolution: Option<ResolutionJson>,
    /// Why nothing can be launched, when `resolution` is `null`.
    pub error: Option<ResolveError>,
    /// Every way of launching found, cheapest setup first.
    pub comparison: Vec<CostOption>,
    /// The assumptions behind the estimates.
    pub estimate_inputs: Vec<String>,
}

/// The preview with what it does not carry itself: the template's fallback strategy.
#[derive(Debug, Clone, Copy)]
pub struct PreviewReport<'a> {
    /// The preview.
    pub preview: &'a Preview,
    /// The template's `fallback_strategy`.
    pub fallback: FallbackStrategy,
}

impl<'a> PreviewReport<'a> {
    /// The preview of `template`.
    pub fn new(preview: &'a Preview, template: &Template) -> Self {
        let fallback = template
            .ami_config
            .as_ref()
            .map(|c| c.fallback_strategy)
            .unwrap_or_default();
        Self { preview, fallback }
    }
}

/// `launch --dry-run --show-ami-resolution`. A preview with nothing to launch is a
/// `no_image` failure beside its report.
impl Report for PreviewReport<'_> {
    const KIND: &'static str = "preview";
    type Json = PreviewJson;

    fn to_json(&self) -> PreviewJson {
        let p = self.preview;
        PreviewJson {
            template: p.template.clone(),
            region: p.region.clone(),
            strategy: p.strategy,
            fallback_strategy: self.fallback,
            tiers: p.tiers.clone(),
            resolution: p.resolution.as_ref().map(Into::into),
            error: p.error.clone(),
            comparison: p.comparison.clone(),
            estimate_inputs: p.estimate_inputs.clone(),
        }
    }

    fn human(&self, out: &mut Human) {
        preview_lines(self.preview, self.fallback, out);
        out.blank();
        out.line("🧪 Dry run: nothing copied or launched.");
    }

    fn failure(&self) -> Option<ErrorReport> {
        if self.preview.resolution.is_some() {
            return None;
        }
        Some(match &self.preview.error {
            Some(e) => ErrorReport::from_error(ErrorKind::NoImage, e),
            None => ErrorReport::new(
                ErrorKind::NoImage,
                format!(
                    "no way to launch {} in {}",
                    self.preview.template, self.preview.region
                ),
            ),
        })
    }
}

fn preview_lines(p: &Preview, fallback: FallbackStrategy, out: &mut Human) {
    out.line(format!(
        "🔍 AMI Resolution Preview: {} in {}",
        p.template, p.region
    ));
    out.blank();
    out.line(format!(
        "Strategy: {} (fallback: {})",
        amiref_resolver::strategy_name(p.strategy),
        fallback_name(fallback)
    ));
    match (&p.resolution, &p.error) {
        (Some(r), _) => primary_lines(r, out),
        (None, Some(e)) => {
            out.line(format!("Primary: none ❌ {e}"));
        }
        (None, None) => {
            out.line("Primary: none ❌ no way to launch");
        }
    }
    out.line("Fallback Chain:");
    out.extend(chain_lines(&p.tiers));
    out.blank();
    if let Some(r) = &p.resolution {
        out.line(format!(
            "Estimated Launch Time: {}",
            duration(r.estimate.launch_time)
        ));
        if let Some(plan) = &r.copy_plan {
            out.line(format!(
                "Copy plan: {} from {} ({} GiB, ~{}, {} transfer + {}/month storage)",
                plan.source_image,
                plan.source_region,
                plan.size_gib,
                duration(plan.estimated_duration),
                usd(plan.transfer_cost_usd),
                usd(plan.storage_cost_usd_per_month)
            ));
        }
        out.extend(r.warnings.iter().map(|w| format!("⚠️  {w}")));
    }
    if !p.comparison.is_empty() {
        out.line("Cost Comparison:");
        out.extend(p.comparison.iter().map(cost_line));
    }
    out.line("Estimates assume:");
    out.extend(p.estimate_inputs.iter().map(|i| format!("  - {i}")));
}

fn primary_lines(r: &Resolution, out: &mut Human) {
    let status = if r.method == ResolutionMethod::ScriptProvisioning {
        "⚠️ script provisioning"
    } else {
        "✅"
    };
    out.line(format!(
        "Primary: {} ({}) {status} {} on {} via {}",
        r.image.id,
        r.image.region,
        r.architecture,
        r.instance_type,
        method_title(&r.method)
    ));
    if let Some(alt) = &r.alternative {
        out.line(format!(
            "Alternative: {} ({}) via {}, {}",
            alt.image.id,
            alt.image.region,
            method_title(&alt.method),
            duration(alt.estimate.launch_time)
        ));
    }
}

fn cost_line(o: &CostOption) -> String {
    let label = match &o.method {
        ResolutionMethod::ScriptProvisioning => "Script Launch".to_owned(),
        ResolutionMethod::CrossRegion => "Copy + AMI Launch".to_owned(),
        m => format!("AMI Launch ({})", method_title(m)),
    };
    let hourly = o.estimate.hourly_price_usd.map_or_else(
        || "price unknown".to_owned(),
        |h| format!("{}/hour", usd_price(h)),
    );
    let setup = o
        .estimate
        .setup_cost_usd
        .map_or_else(String::new, |s| format!(" ({} setup cost)", usd(s)));
    let copy = o
        .estimate
        .copy_cost_usd
        .map_or_else(String::new, |c| format!(" + {} copy", usd(c)));
    let chosen = if o.chosen { "  ← chosen" } else { "" };
    format!(
        "  {label}: {hourly} on {} + {} setup{setup}{copy}{chosen}",
        o.instance_type,
        short_duration(o.estimate.launch_time)
    )
}

/// No way to launch: `no_image`, with the error itself (template, region, strategy, the
/// typed chain) as details; people see the chain, then the one-line error.
impl From<&ResolveError> for ErrorReport {
    fn from(e: &ResolveError) -> Self {
        let mut human = Human::new();
        human.line("❌ No way to launch:");
        human.extend(chain_lines(e.chain()));
        match e {
            ResolveError::NoImage {
                template,
                region,
                strategy,
                ..
            } => human.err(format!(
                "error: no way to launch {template} in {region} ({}): every tier above gave nothing",
                amiref_resolver::strategy_name(*strategy)
            )),
            other => human.err(format!("error: {other}")),
        };
        ErrorReport::from_error(ErrorKind::NoImage, e)
            .details(e)
            .with_human(human)
    }
}
