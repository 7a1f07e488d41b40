//! How the resolver's answers are shown: human lines (the mission's transcripts), JSON for
//! scripts, confirmation prompts, and the exit codes.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use amiref::{ChainEntry, CostOption, Estimate, Outcome, Preview, Resolution};
use amiref_core::ResolutionMethod;

/// Exit code: the command ran and failed (invalid template, no image, cloud error).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit code: a confirmation was declined, or needed and impossible (no terminal, no --yes).
pub(crate) const EXIT_ABORTED: u8 = 3;

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// It failed: exit 1.
    Failed(String),
    /// The user declined, or could not be asked: exit 3.
    Aborted(String),
}

impl Failure {
    /// Prints the reason on stderr and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        match self {
            Failure::Failed(msg) => {
                eprintln!("error: {msg}");
                ExitCode::from(EXIT_FAILED)
            }
            Failure::Aborted(msg) => {
                eprintln!("aborted: {msg}");
                ExitCode::from(EXIT_ABORTED)
            }
        }
    }
}

/// Prints a line on stdout; a closed pipe ends the output quietly instead of panicking.
pub(crate) fn say(text: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.as_ref());
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say(text),
        Err(e) => eprintln!("error: cannot serialise the result: {e}"),
    }
}

/// Asks a yes/no question (default no) on the terminal. `--yes` answers yes without
/// asking; without a terminal on stdin, the question cannot be asked and the command is
/// refused rather than left waiting.
pub(crate) fn confirm(question: &str, assume_yes: bool) -> Result<bool, Failure> {
    if assume_yes {
        eprintln!("{question} [y/N]: y (--yes)");
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::Aborted(format!(
            "{question:?} needs an answer, but stdin is not a terminal; rerun with --yes to accept"
        )));
    }
    eprint!("{question} [y/N]: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::Failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// `30 seconds`, `6 minutes`, `17.5 minutes`, `2 hours`.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 90 {
        format!("{secs} seconds")
    } else if secs < 2 * 3600 {
        let minutes = d.as_secs_f64() / 60.0;
        if (minutes - minutes.round()).abs() < 0.05 {
            format!("{} minutes", minutes.round())
        } else {
            format!("{minutes:.1} minutes")
        }
    } else {
        format!("{:.1} hours", d.as_secs_f64() / 3600.0)
    }
}

/// `30s`, `6min`, `17.5min`: the short form used inside parentheses.
pub(crate) fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 90 {
        format!("{secs}s")
    } else {
        let minutes = d.as_secs_f64() / 60.0;
        if (minutes - minutes.round()).abs() < 0.05 {
            format!("{}min", minutes.round())
        } else {
            format!("{minutes:.1}min")
        }
    }
}

/// Money with enough digits to be meaningful for small amounts: `$0.45`, `$0.0082`.
pub(crate) fn money(usd: f64) -> String {
    if usd == 0.0 || usd >= 0.1 {
        format!("${usd:.2}")
    } else if usd >= 0.001 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.6}")
    }
}

pub(crate) fn method_title(m: ResolutionMethod) -> &'static str {
    match m {
        ResolutionMethod::SsmParameter => "SSM parameter",
        ResolutionMethod::DirectMapping => "direct mapping",
        ResolutionMethod::DynamicSearch => "dynamic search",
        ResolutionMethod::CommunityRegistry => "community registry",
        ResolutionMethod::Marketplace => "marketplace",
        ResolutionMethod::CrossRegion => "cross-region copy",
        ResolutionMethod::FallbackScript => "script provisioning",
        _ => "failed",
    }
}

fn mark(entry: &ChainEntry) -> &'static str {
    match entry.outcome {
        Outcome::Found => "✅",
        Outcome::Skipped => "⏭️",
        Outcome::Failed => "❌",
        Outcome::TimedOut => "⏱️",
        _ => "—",
    }
}

/// One line per tier: `  1. Direct mapping ✅ ami_mappings.us-east-1: ...`.
pub(crate) fn chain_lines(chain: &[ChainEntry]) -> Vec<String> {
    chain
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let title = e.tier.title();
            let needed = if e.used || e.outcome == Outcome::NotTried {
                ""
            } else {
                " (not needed)"
            };
            let reason = e
                .reason
                .strip_prefix("not needed (")
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or(&e.reason);
            match e.outcome {
                Outcome::NotTried if reason.starts_with("not needed") => {
                    format!("  {}. {title} ({reason})", i + 1)
                }
                Outcome::NotTried => format!("  {}. {title} (not tried: {reason})", i + 1),
                _ => format!("  {}. {title} {}{needed} {reason}", i + 1, mark(e)),
            }
        })
        .collect()
}

/// How the resolution reads in the launcher's first lines, with its warnings (except the
/// copy notice, which the launcher shows as the copy prompt).
pub(crate) fn resolution_lines(r: &Resolution) -> Vec<String> {
    let mut lines = Vec::new();
    let warnings = r
        .warnings
        .iter()
        .filter(|w| !w.starts_with("No image in "))
        .map(|w| format!("⚠️  {w}"));
    match r.method {
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
        ResolutionMethod::FallbackScript => {
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

/// `📈 Performance: 12.0x faster launch (30s vs 6min)`, when an image beats the script.
pub(crate) fn speedup_line(image: &Estimate, script: Duration) -> Option<String> {
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

fn cost_line(o: &CostOption) -> String {
    let label = match o.method {
        ResolutionMethod::FallbackScript => "Script Launch".to_owned(),
        ResolutionMethod::CrossRegion => "Copy + AMI Launch".to_owned(),
        m => format!("AMI Launch ({})", method_title(m)),
    };
    let hourly = o.estimate.hourly_price_usd.map_or_else(
        || "price unknown".to_owned(),
        |h| format!("{}/hour", money(h)),
    );
    let setup = o
        .estimate
        .setup_cost_usd
        .map_or_else(String::new, |s| format!(" ({} setup cost)", money(s)));
    let copy = o
        .estimate
        .copy_cost_usd
        .map_or_else(String::new, |c| format!(" + {} copy", money(c)));
    let chosen = if o.chosen { "  ← chosen" } else { "" };
    format!(
        "  {label}: {hourly} on {} + {} setup{setup}{copy}{chosen}",
        o.instance_type,
        short_duration(o.estimate.launch_time)
    )
}

/// The dry run, as the mission's preview.
pub(crate) fn preview_lines(p: &Preview, fallback: &str) -> Vec<String> {
    let mut lines = vec![
        format!("🔍 AMI Resolution Preview: {} in {}", p.template, p.region),
        String::new(),
        format!(
            "Strategy: {} (fallback: {fallback})",
            amiref::strategy_name(p.strategy)
        ),
    ];
    match &p.resolution {
        Some(r) => {
            let status = if r.method == ResolutionMethod::FallbackScript {
                "⚠️ script provisioning"
            } else {
                "✅"
            };
            lines.push(format!(
                "Primary: {} ({}) {status} {} on {} via {}",
                r.image.id,
                r.image.region,
                r.architecture,
                r.instance_type,
                method_title(r.method)
            ));
            if let Some(alt) = &r.alternative {
                lines.push(format!(
                    "Alternative: {} ({}) via {}, {}",
                    alt.image.id,
                    alt.image.region,
                    method_title(alt.method),
                    human_duration(alt.estimate.launch_time)
                ));
            }
        }
        None => lines.push(format!(
            "Primary: none ❌ {}",
            p.error.as_deref().unwrap_or("no way to launch")
        )),
    }
    lines.push("Fallback Chain:".to_owned());
    lines.extend(chain_lines(&p.tiers));
    lines.push(String::new());
    if let Some(r) = &p.resolution {
        lines.push(format!(
            "Estimated Launch Time: {}",
            human_duration(r.estimate.launch_time)
        ));
        if let Some(plan) = &r.copy_plan {
            lines.push(format!(
                "Copy plan: {} from {} ({} GiB, ~{}, {} transfer + {}/month storage)",
                plan.source_image,
                plan.source_region,
                plan.size_gib,
                human_duration(plan.estimated_duration),
                money(plan.transfer_cost_usd),
                money(plan.storage_cost_usd_per_month)
            ));
        }
        for w in &r.warnings {
            lines.push(format!("⚠️  {w}"));
        }
    }
    if !p.comparison.is_empty() {
        lines.push("Cost Comparison:".to_owned());
        lines.extend(p.comparison.iter().map(cost_line));
    }
    lines.push("Estimates assume:".to_owned());
    lines.extend(p.estimate_inputs.iter().map(|i| format!("  - {i}")));
    lines
}

/// The status word of a region in `ami test`.
pub(crate) fn test_status(r: &Result<Resolution, amiref::ResolveError>) -> &'static str {
    match r {
        Ok(r) => match r.method {
            ResolutionMethod::CrossRegion => "cross-region copy available",
            ResolutionMethod::FallbackScript => "script fallback",
            _ => "available",
        },
        Err(_) => "failed",
    }
}

/// The one-line error after a chain has been printed (the chain itself is not repeated);
/// without a printed chain (JSON output), the whole error.
pub(crate) fn no_way(e: &amiref::ResolveError, chain_printed: bool) -> Failure {
    match e {
        amiref::ResolveError::NoImage {
            template,
            region,
            strategy,
            ..
        } if chain_printed => Failure::Failed(format!(
            "no way to launch {template} in {region} ({strategy}): every tier above gave nothing"
        )),
        other => Failure::Failed(other.to_string()),
    }
}
