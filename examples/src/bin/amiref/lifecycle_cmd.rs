//! `amiref ami create|create-multi|copy|share|publish|deprecate|retire`: the image lifecycle
//! (amiref-lifecycle) from the command line.
//!
//! Every mutating command takes `--dry-run` (retire is a dry run unless `--execute`) and
//! appends an audit record per change to `--audit-log` (default
//! `$HOME/.local/state/amiref/audit.jsonl`). Progress is drawn as one line per region on
//! stderr, or printed as JSON lines on stdout with `--output json`.
//!
//! On a world file (`--world`) the in-process cloud's time is tokio's, so these commands run
//! on a paused clock there: simulated minutes of image creation pass at once.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amiref_core::{AccountId, AmiId, InstanceId, InstanceType, LaunchPermission, Region};
use amiref_lifecycle::{
    CopyReport, CopySpec, CreateImageSpec, Decision, DeprecateSpec, Encryption, HourlyPricing,
    ImageOutcome, IngressRule, JsonLinesAuditSink, KeepReason, Lifecycle, LifecycleError,
    ProgressEvent, ProgressSink, ProtectedImages, Protection, PublishSpec, RegionCopyOutcome,
    RetentionPolicy, RetireSpec, ShareSpec, TemplateLineage, change_set_json, parse_age,
};
use amiref_template::{Template, TemplateSet};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cloud::{self, Opened};
use crate::output::{EXIT_FAILED, Failure};
use crate::{GlobalArgs, Output};

/// Image lifecycle commands, flattened into the `ami` group.
#[derive(Debug, Subcommand)]
pub(crate) enum LifecycleCommand {
    /// Create an image from an instance, tagged with its template, and wait until available.
    Create(CreateArgs),
    /// Create an image from an instance, then copy it to other regions.
    CreateMulti(CreateMultiArgs),
    /// Copy an existing image to other regions (resumable; never duplicates a copy).
    Copy(CopyArgs),
    /// Share an image with accounts, organizations, OUs or everyone (or stop sharing it).
    Share(ShareArgs),
    /// Publish an image as a new version of an AWS Marketplace product.
    Publish(Box<PublishArgs>),
    /// Deprecate an image at a time, or undo its deprecation.
    Deprecate(DeprecateArgs),
    /// Retire old versions of a template's images under a retention policy.
    Retire(RetireArgs),
}

/// Options every lifecycle command shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct CommonArgs {
    /// Append audit records to this JSON-lines file.
    #[arg(long, value_name = "FILE", env = "AMIREF_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Report what would be done; change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `ami create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The template: a file, or a name found in templates/ or examples/templates/.
    template: String,
    /// The instance to image (in the global --region).
    instance: InstanceId,
    /// The image's name (default: TEMPLATE-VERSION).
    #[arg(long)]
    name: Option<String>,
    /// Image without rebooting the instance (faster; file systems may be inconsistent).
    #[arg(long)]
    no_reboot: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// `ami create-multi`.
#[derive(Debug, Args)]
pub(crate) struct CreateMultiArgs {
    /// The template: a file, or a name found in templates/ or examples/templates/.
    template: String,
    /// The instance to image, in the global --region if given, else in the first of
    /// --regions.
    instance: InstanceId,
    /// The regions to have the image in, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    regions: Vec<Region>,
    /// The image's name (default: TEMPLATE-VERSION).
    #[arg(long)]
    name: Option<String>,
    /// Image without rebooting the instance.
    #[arg(long)]
    no_reboot: bool,
    #[command(flatten)]
    encryption: EncryptionArgs,
    #[command(flatten)]
    common: CommonArgs,
}

/// Encryption of copies.
#[derive(Debug, Clone, Args)]
pub(crate) struct EncryptionArgs {
    /// Encrypt the copies (with the account's default EBS key unless --kms-key names one).
    #[arg(long)]
    encrypt: bool,
    /// The KMS key to encrypt copies in a region with: REGION=KEY (repeatable; implies
    /// --encrypt).
    #[arg(long = "kms-key", value_name = "REGION=KEY", value_parser = parse_kms_key)]
    kms_keys: Vec<(Region, String)>,
}

fn parse_kms_key(s: &str) -> Result<(Region, String), String> {
    let (region, key) = s
        .split_once('=')
        .ok_or_else(|| format!("expected REGION=KEY, found {s:?}"))?;
    let region: Region = region.parse().map_err(|e| format!("{e}"))?;
    if key.is_empty() {
        return Err(format!("no key given for {region}"));
    }
    Ok((region, key.to_owned()))
}

impl EncryptionArgs {
    fn encryption(&self) -> Encryption {
        if self.encrypt || !self.kms_keys.is_empty() {
            Encryption::Encrypt {
                kms_keys: self.kms_keys.iter().cloned().collect(),
            }
        } else {
            Encryption::AsSource
        }
    }
}

/// `ami copy`.
#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The image to copy (in the global --region).
    image: AmiId,
    /// The regions to copy into.
    #[arg(long, value_delimiter = ',', required = true)]
    to: Vec<Region>,
    /// The copies' name (default: the source's).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    encryption: EncryptionArgs,
    #[command(flatten)]
    common: CommonArgs,
}

/// `ami share`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("whom").required(true).multiple(true)))]
pub(crate) struct ShareArgs {
    /// The image.
    image: AmiId,
    /// Accounts (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', group = "whom")]
    account: Vec<AccountId>,
    /// Organization ARNs.
    #[arg(long, group = "whom")]
    org: Vec<String>,
    /// Organizational unit ARNs.
    #[arg(long, group = "whom")]
    ou: Vec<String>,
    /// Everyone (refused where block public access for AMIs is on).
    #[arg(long, group = "whom")]
    public: bool,
    /// Revoke instead of grant.
    #[arg(long)]
    remove: bool,
    /// Leave the snapshots' create-volume permission alone.
    #[arg(long)]
    no_snapshot_permission: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// Instead: share into a community registry (a file, or NAME.yml), as an entry signed
    /// with --key (see registry_cmd.rs).
    #[arg(long, value_name = "NAME|FILE", group = "whom", requires_all = ["template", "version", "key"], conflicts_with_all = ["account", "org", "ou", "public", "remove"])]
    community: Option<String>,
    #[command(flatten)]
    community_entry: crate::registry_cmd::CommunityEntryArgs,
}

/// `ami publish`.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The image.
    image: AmiId,
    /// Publish to AWS Marketplace (the only destination today).
    #[arg(long, required = true)]
    marketplace: bool,
    /// The product entity id (prod-...).
    #[arg(long)]
    product: String,
    /// The version title.
    #[arg(long)]
    version: String,
    /// An hourly price in USD for each --instance-type, set on --offer.
    #[arg(long, value_name = "USD_PER_HOUR", requires_all = ["offer", "instance_type"])]
    price: Option<f64>,
    /// The product's offer id (offer-...), where the price is set.
    #[arg(long)]
    offer: Option<String>,
    /// Instance types to price (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    instance_type: Vec<InstanceType>,
    /// The IAM role Marketplace assumes to copy and scan the image.
    #[arg(long, value_name = "ARN")]
    access_role: String,
    /// Release notes.
    #[arg(long, default_value = "")]
    release_notes: String,
    /// The user buyers log in as.
    #[arg(long, default_value = "ec2-user")]
    username: String,
    /// The operating system as Marketplace names it.
    #[arg(long, default_value = "AMAZONLINUX")]
    os_name: String,
    /// The operating system version.
    #[arg(long, default_value = "2023")]
    os_version: String,
    /// How buyers use the image.
    #[arg(long, default_value = "Connect with SSH as the login user.")]
    usage_instructions: String,
    /// The instance type recommended to buyers.
    #[arg(long, default_value = "m6i.large")]
    recommended_instance_type: InstanceType,
    /// Inbound rules recommended to buyers: PROTOCOL:PORT[-PORT]:CIDR (repeatable).
    #[arg(long, value_parser = parse_ingress, default_value = "tcp:22:0.0.0.0/0")]
    ingress: Vec<IngressRule>,
    /// The port Marketplace's scanner connects to.
    #[arg(long, default_value_t = 22)]
    scanning_port: u16,
    /// Follow the change set's status this long (e.g. 90s, 30m, 2h).
    #[arg(long, value_name = "DURATION")]
    wait: Option<amiref_template::HumanDuration>,
    #[command(flatten)]
    common: CommonArgs,
}

fn parse_ingress(s: &str) -> Result<IngressRule, String> {
    let expected =
        || format!("expected PROTOCOL:PORT[-PORT]:CIDR such as tcp:22:0.0.0.0/0, found {s:?}");
    let mut parts = s.splitn(3, ':');
    let (Some(protocol), Some(ports), Some(cidr)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(expected());
    };
    let (from, to) = ports.split_once('-').unwrap_or((ports, ports));
    let from: u16 = from.parse().map_err(|_| expected())?;
    let to: u16 = to.parse().map_err(|_| expected())?;
    if !matches!(protocol, "tcp" | "udp") || from > to || !cidr.contains('/') {
        return Err(expected());
    }
    let mut rule = IngressRule::tcp(from, [cidr]);
    rule.protocol = protocol.to_owned();
    rule.to_port = to;
    Ok(rule)
}

/// `ami deprecate`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("when").required(true)))]
pub(crate) struct DeprecateArgs {
    /// The image.
    image: AmiId,
    /// When: an RFC 3339 time (2027-01-31T00:00:00Z), "now", or an age from now (30d, 12w).
    #[arg(long, group = "when")]
    at: Option<String>,
    /// Cancel the deprecation.
    #[arg(long, group = "when")]
    undo: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// `ami retire`.
#[derive(Debug, Args)]
pub(crate) struct RetireArgs {
    /// The template whose images (tag amiref:template) to consider.
    #[arg(long)]
    template: String,
    /// Keep the newest N per region.
    #[arg(long)]
    keep: usize,
    /// Also keep images younger than this (90d, 12w, 36h).
    #[arg(long, value_name = "AGE")]
    max_age: Option<String>,
    /// Keep images carrying this tag: KEY or KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY[=VALUE]")]
    exclude_tag: Vec<String>,
    /// Regions to look in, comma-separated (default: the global --region).
    #[arg(long, value_delimiter = ',')]
    regions: Vec<Region>,
    /// Protect images named by the ami_mappings of the templates in this directory.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Protect every image a registry file lists (repeatable).
    #[arg(long, value_name = "FILE")]
    registry: Vec<PathBuf>,
    /// Protect these images (repeatable, or comma-separated).
    #[arg(long, value_name = "AMI", value_delimiter = ',')]
    protect: Vec<AmiId>,
    /// Retire images shared with other accounts too.
    #[arg(long)]
    force_shared: bool,
    /// Act (the default is a dry run).
    #[arg(long)]
    execute: bool,
    /// Append audit records to this JSON-lines file.
    #[arg(long, value_name = "FILE", env = "AMIREF_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
}

/// Runs a lifecycle command; exit code 0 on success, 1 when it failed or was refused.
///
/// It runs on a runtime of its own, on a thread of its own, so that it may be called from
/// inside another runtime (the `ami` group's) and still use a paused clock on a world.
pub(crate) fn run(cmd: LifecycleCommand, global: &GlobalArgs) -> ExitCode {
    std::thread::scope(|scope| {
        scope
            .spawn(|| run_here(cmd, global))
            .join()
            .unwrap_or_else(|_| Failure::Failed("the lifecycle command panicked".into()).report())
    })
}

fn run_here(cmd: LifecycleCommand, global: &GlobalArgs) -> ExitCode {
    if let LifecycleCommand::Share(a) = &cmd
        && let Some(community) = &a.community
    {
        return crate::registry_cmd::run_share_image(
            &a.image,
            community,
            &a.community_entry,
            global,
        );
    }
    // The in-process cloud's time is tokio's: on a world, a paused clock lets simulated
    // minutes of image creation and copying pass at once instead of taking real minutes.
    // On AWS the clock is the wall clock. The cloud is opened inside the runtime that uses
    // it, since the AWS SDK's connections belong to the runtime they were made on.
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    if global.world.is_some() {
        builder.start_paused(true);
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => return Failure::Failed(format!("cannot start the runtime: {e}")).report(),
    };
    let output = global.output;
    let ran = runtime.block_on(async {
        let opened = cloud::open(global).await?;
        execute(cmd, global, &opened).await
    });
    match ran {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_FAILED),
        Err(e) => {
            if output == Output::Json {
                print_json(&json!({ "ok": false, "error": e.to_string() }));
            }
            Failure::Failed(e.to_string()).report()
        }
    }
}

/// A command's failure before or instead of a report.
#[derive(Debug)]
enum CommandError {
    Lifecycle(LifecycleError),
    Input(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Lifecycle(e) => e.fmt(f),
            Self::Input(m) => f.write_str(m),
        }
    }
}

impl From<LifecycleError> for CommandError {
    fn from(e: LifecycleError) -> Self {
        Self::Lifecycle(e)
    }
}

impl From<Failure> for CommandError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Failed(m) | Failure::Aborted(m) => Self::Input(m),
        }
    }
}

/// A `Lifecycle` on the opened cloud; on a world, its clock is the world's.
fn lifecycle<'a>(
    opened: &'a Opened,
    audit: &'a JsonLinesAuditSink,
    progress: &'a Progress,
) -> Lifecycle<'a> {
    let lc = Lifecycle::new(opened.cloud.as_ref(), audit).progress(progress);
    match &opened.world {
        Some(world) => {
            let world = Arc::clone(world);
            lc.clock(move || world.now())
        }
        None => lc,
    }
}

/// Runs the command; `Ok(false)` when it ran but part of it failed.
async fn execute(
    cmd: LifecycleCommand,
    global: &GlobalArgs,
    opened: &Opened,
) -> Result<bool, CommandError> {
    let output = global.output;
    let progress = Progress::new(output);
    match cmd {
        LifecycleCommand::Create(a) => {
            let audit = open_audit(a.common.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let template = cloud::load_template(&a.template)?;
            let spec = create_spec(
                &template,
                opened.region.clone(),
                a.instance,
                a.name,
                a.no_reboot,
            )
            .dry_run(a.common.dry_run);
            let made = lc.create_image(&spec).await;
            progress.finish();
            let made = made?;
            report(output, &made, || match &made.image {
                Some(id) => format!(
                    "{:?} {id} in {}: {}",
                    made.name,
                    made.region,
                    outcome_word(&made.outcome)
                ),
                None => format!(
                    "dry run: would create {:?} in {} from {}",
                    made.name, made.region, spec.instance
                ),
            });
            Ok(true)
        }
        LifecycleCommand::CreateMulti(a) => {
            let audit = open_audit(a.common.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let template = cloud::load_template(&a.template)?;
            let home = match (&global.cloud.region, a.regions.first()) {
                (Some(_), _) => opened.region.clone(),
                (None, Some(first)) => first.clone(),
                (None, None) => {
                    return Err(CommandError::Input("--regions names no region".into()));
                }
            };
            let spec = create_spec(&template, home, a.instance, a.name, a.no_reboot)
                .dry_run(a.common.dry_run);
            let result = lc
                .create_multi(&spec, &a.regions, a.encryption.encryption())
                .await;
            progress.finish();
            let result = result?;
            let ok = !result.copies.as_ref().is_some_and(|c| c.has_failures());
            report(output, &result, || {
                let mut lines = vec![match &result.created.image {
                    Some(id) => format!(
                        "{:<16} {id}: {}",
                        result.created.region,
                        outcome_word(&result.created.outcome)
                    ),
                    None => format!(
                        "dry run: would create {:?} in {}, then copy it to {}",
                        spec.name,
                        spec.region,
                        a.regions
                            .iter()
                            .map(Region::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }];
                if let Some(copies) = &result.copies {
                    let mut copies = copies.clone();
                    copies
                        .regions
                        .retain(|r| !matches!(r.outcome, RegionCopyOutcome::Source { .. }));
                    lines.extend(copy_lines(&copies));
                }
                lines.join("\n")
            });
            Ok(ok)
        }
        LifecycleCommand::Copy(a) => {
            let audit = open_audit(a.common.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let mut spec = CopySpec::new(opened.region.clone(), a.image, a.to)
                .dry_run(a.common.dry_run)
                .encryption(a.encryption.encryption());
            spec.name = a.name;
            let result = lc.copy_image(&spec).await;
            progress.finish();
            let result = result?;
            report(output, &result, || copy_lines(&result).join("\n"));
            Ok(!result.has_failures())
        }
        LifecycleCommand::Share(a) => {
            let audit = open_audit(a.common.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let mut permissions: Vec<LaunchPermission> = a
                .account
                .into_iter()
                .map(LaunchPermission::Account)
                .collect();
            permissions.extend(a.org.into_iter().map(LaunchPermission::Organization));
            permissions.extend(a.ou.into_iter().map(LaunchPermission::OrganizationalUnit));
            if a.public {
                permissions.push(LaunchPermission::Public);
            }
            let mut spec = if a.remove {
                ShareSpec::remove(opened.region.clone(), a.image, permissions)
            } else {
                ShareSpec::add(opened.region.clone(), a.image, permissions)
            }
            .dry_run(a.common.dry_run);
            spec.snapshot_permissions = !a.no_snapshot_permission;
            let result = lc.share(&spec).await?;
            report(output, &result, || {
                let verb = if a.remove { "revoked" } else { "granted" };
                let mut lines = vec![format!(
                    "{}{} on {} in {}: {}; already so: {}",
                    if result.dry_run {
                        "dry run: would have "
                    } else {
                        ""
                    },
                    verb,
                    result.image,
                    result.region,
                    describe_permissions(&result.changed),
                    describe_permissions(&result.unchanged),
                )];
                if !result.snapshot_accounts.is_empty() {
                    lines.push(format!(
                        "snapshot create-volume permission: {}",
                        result
                            .snapshot_accounts
                            .iter()
                            .map(AccountId::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                lines.extend(result.warnings.iter().map(|w| format!("warning: {w}")));
                lines.join("\n")
            });
            Ok(true)
        }
        LifecycleCommand::Publish(a) => {
            let audit = open_audit(a.common.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let mut spec = PublishSpec::new(
                a.product,
                a.version,
                opened.region.clone(),
                a.image,
                a.access_role,
                a.recommended_instance_type,
            );
            if let (Some(usd), Some(offer)) = (a.price, a.offer) {
                spec.pricing = Some(HourlyPricing::new(offer, usd, a.instance_type));
            }
            spec.release_notes = a.release_notes;
            spec.username = a.username;
            spec.os_name = a.os_name;
            spec.os_version = a.os_version;
            spec.scanning_port = a.scanning_port;
            spec.usage_instructions = a.usage_instructions;
            spec.ingress = a.ingress;
            spec.dry_run = a.common.dry_run;
            let result = lc
                .publish(
                    opened.cloud.as_ref(),
                    &spec,
                    a.wait.map(amiref_template::HumanDuration::get),
                )
                .await;
            progress.finish();
            let result = result?;
            if spec.dry_run {
                // The dry run's product is the change set itself, as StartChangeSet takes it.
                print_json_pretty(&change_set_json(&result.change_set));
                return Ok(true);
            }
            let failed = matches!(result.status, Some(amiref_core::ChangeSetStatus::Failed(_)));
            report(output, &result, || {
                format!(
                    "change set {} submitted for {} version {}; status: {}",
                    result.change_set_id.as_deref().unwrap_or("?"),
                    spec.product_id,
                    spec.version,
                    result.status.as_ref().map_or_else(
                        || "not followed (use --wait)".to_owned(),
                        |s| format!("{s:?}").to_lowercase()
                    )
                )
            });
            Ok(!failed)
        }
        LifecycleCommand::Deprecate(a) => {
            let audit = open_audit(a.common.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let spec = match a.at {
                Some(at) => {
                    DeprecateSpec::at(opened.region.clone(), a.image, parse_time(&at, lc.now())?)
                }
                None => DeprecateSpec::undo(opened.region.clone(), a.image),
            }
            .dry_run(a.common.dry_run);
            let result = lc.deprecate(&spec).await?;
            report(output, &result, || {
                let after = result.after.map_or_else(
                    || "not deprecated".to_owned(),
                    |t| {
                        format!(
                            "deprecated at {}",
                            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        )
                    },
                );
                match (result.changed, result.dry_run) {
                    (false, _) => format!("{} in {}: already {after}", result.image, result.region),
                    (true, true) => format!(
                        "dry run: {} in {} would be {after}",
                        result.image, result.region
                    ),
                    (true, false) => format!("{} in {}: {after}", result.image, result.region),
                }
            });
            Ok(true)
        }
        LifecycleCommand::Retire(a) => {
            let audit = open_audit(a.audit_log.as_deref())?;
            let lc = lifecycle(opened, &audit, &progress);
            let mut policy = RetentionPolicy::keep_newest(a.keep);
            if let Some(age) = &a.max_age {
                policy = policy.max_age(parse_age(age)?);
            }
            for tag in &a.exclude_tag {
                policy = match tag.split_once('=') {
                    Some((k, v)) => policy.exclude_tag(k, Some(v.to_owned())),
                    None => policy.exclude_tag(tag.clone(), None),
                };
            }
            let regions = if a.regions.is_empty() {
                vec![opened.region.clone()]
            } else {
                a.regions
            };
            let mut protected = ProtectedImages::new().registry(a.protect);
            for path in &a.registry {
                protected = protected.registry(registry_images(path)?);
            }
            if let Some(dir) = &a.templates {
                let set =
                    TemplateSet::load_dir(dir).map_err(|e| CommandError::Input(e.to_string()))?;
                protected = protected.templates(set.iter());
            }
            let spec = RetireSpec::new(a.template, regions, policy)
                .protected(protected)
                .force_shared(a.force_shared)
                .execute(a.execute);
            let result = lc.retire(&spec, &amiref_regions::Prices::builtin()).await;
            progress.finish();
            let result = result?;
            let failed = result
                .entries
                .iter()
                .any(|e| matches!(e.decision, Decision::Failed { .. }));
            report(output, &result, || {
                let mut lines: Vec<String> = result
                    .entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{:<16} {}  {:<28} {:>4} GiB  {}",
                            e.region,
                            e.image,
                            e.name,
                            e.size_gib,
                            decision_text(&e.decision, result.executed)
                        )
                    })
                    .collect();
                if result.entries.is_empty() {
                    lines.push(format!(
                        "no images of template {:?} (tag amiref:template) in {}",
                        result.template,
                        spec.regions
                            .iter()
                            .map(Region::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                lines.push(format!(
                    "{} {} GiB of snapshots, saving up to ${:.2} a month{}",
                    if result.executed {
                        "freed"
                    } else {
                        "would free"
                    },
                    result.freed_gib,
                    result.monthly_saving_usd,
                    if result.executed {
                        ""
                    } else {
                        " (dry run: pass --execute to retire)"
                    }
                ));
                lines.join("\n")
            });
            Ok(!failed)
        }
    }
}

/// Draws progress: one line per region on stderr, or JSON lines on stdout.
struct Progress {
    output: Output,
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress {
    fn new(output: Output) -> Self {
        Self {
            output,
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, key: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        bars.entry(key.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:<16} {wide_msg}")
                {
                    bar.set_style(style);
                }
                bar.set_prefix(key.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }

    fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for bar in bars.values() {
            if !bar.is_finished() {
                bar.finish();
            }
        }
        // The last bar's line has no newline; end it so the result starts on its own line.
        if !bars.is_empty() && !self.multi.is_hidden() {
            eprintln!();
        }
    }
}

impl ProgressSink for Progress {
    fn emit(&self, event: ProgressEvent) {
        if self.output == Output::Json {
            print_json(&event);
            return;
        }
        let key = event
            .region()
            .map_or_else(|| "marketplace".to_owned(), |r| r.to_string());
        let bar = self.bar(&key);
        match &event {
            ProgressEvent::CreateStarted { image, name, .. } => {
                bar.set_message(format!("creating {image} ({name})"))
            }
            ProgressEvent::CopyQueued { from, .. } => {
                bar.set_message(format!("waiting for a copy slot out of {from}"))
            }
            ProgressEvent::CopyStarted { from, image, .. } => {
                bar.set_message(format!("copying from {from} as {image}"))
            }
            ProgressEvent::Reused { image, state, .. } => {
                bar.set_message(format!("found {image} from an earlier run ({state})"))
            }
            ProgressEvent::Waiting {
                image,
                state,
                elapsed_secs,
                ..
            } => {
                bar.set_message(format!(
                    "{image} {state}, {}m{:02}s",
                    elapsed_secs / 60,
                    elapsed_secs % 60
                ));
            }
            ProgressEvent::Available {
                image,
                elapsed_secs,
                ..
            } => {
                bar.finish_with_message(format!(
                    "✓ {image} available after {}m{:02}s",
                    elapsed_secs / 60,
                    elapsed_secs % 60
                ));
            }
            ProgressEvent::Failed { error, .. } => bar.finish_with_message(format!("✗ {error}")),
            ProgressEvent::CleanedUp { image, .. } => {
                bar.set_message(format!("removed the half-made {image}"))
            }
            ProgressEvent::ChangeSet { id, status } => {
                bar.set_message(format!("change set {id}: {status}"))
            }
            ProgressEvent::Retired {
                image, freed_gib, ..
            } => bar.set_message(format!("retired {image} ({freed_gib} GiB)")),
            _ => {}
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    if let Ok(line) = serde_json::to_string(value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

fn print_json_pretty(value: &serde_json::Value) {
    if let Ok(text) = serde_json::to_string_pretty(value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }
}

/// Prints a result: as one JSON line with `--output json`, else as text.
fn report<T: serde::Serialize>(output: Output, result: &T, text: impl FnOnce() -> String) {
    match output {
        Output::Json => print_json(&json!({ "result": result })),
        Output::Table => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", text());
        }
    }
}

fn open_audit(path: Option<&Path>) -> Result<JsonLinesAuditSink, CommandError> {
    let path = match path {
        Some(p) => p.to_owned(),
        None => {
            let base = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            let dir = base.join(".local/state/amiref");
            std::fs::create_dir_all(&dir).map_err(|e| {
                CommandError::Input(format!("audit log directory {}: {e}", dir.display()))
            })?;
            dir.join("audit.jsonl")
        }
    };
    JsonLinesAuditSink::open(&path)
        .map(|s| s.fsync(true))
        .map_err(|e| CommandError::Input(e.to_string()))
}

fn create_spec(
    template: &Template,
    region: Region,
    instance: InstanceId,
    name: Option<String>,
    no_reboot: bool,
) -> CreateImageSpec {
    let name = name.unwrap_or_else(|| match &template.version {
        Some(v) => format!("{}-{}", template.name, v.trim_start_matches('v')),
        None => template.name.clone(),
    });
    CreateImageSpec::new(
        region,
        instance,
        name,
        TemplateLineage::from_template(template),
    )
    .no_reboot(no_reboot)
}

fn outcome_word(outcome: &ImageOutcome) -> &'static str {
    match outcome {
        ImageOutcome::Created => "created",
        ImageOutcome::Reused => "found from an earlier run",
        ImageOutcome::Planned => "would be created",
        _ => "done",
    }
}

fn copy_lines(report: &CopyReport) -> Vec<String> {
    report
        .regions
        .iter()
        .map(|r| match &r.outcome {
            RegionCopyOutcome::Copied { image } => format!("{:<16} {image}: copied", r.region),
            RegionCopyOutcome::Existing { image } => {
                format!(
                    "{:<16} {image}: already there (an earlier run's copy)",
                    r.region
                )
            }
            RegionCopyOutcome::Source { image } => format!("{:<16} {image}: the source", r.region),
            RegionCopyOutcome::Planned => format!("{:<16} dry run: would copy", r.region),
            RegionCopyOutcome::Failed { error } => format!("{:<16} failed: {error}", r.region),
            _ => format!("{:<16} {:?}", r.region, r.outcome),
        })
        .collect()
}

fn describe_permissions(permissions: &[LaunchPermission]) -> String {
    if permissions.is_empty() {
        return "none".to_owned();
    }
    permissions
        .iter()
        .map(|p| match p {
            LaunchPermission::Public => "everyone".to_owned(),
            LaunchPermission::Account(a) => format!("account {a}"),
            LaunchPermission::Organization(o) => format!("organization {o}"),
            LaunchPermission::OrganizationalUnit(o) => format!("OU {o}"),
            _ => format!("{p:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn decision_text(decision: &Decision, executed: bool) -> String {
    match decision {
        Decision::Keep { reason } => format!("keep: {}", keep_text(reason)),
        Decision::Protected { reasons } => format!(
            "protected: {}",
            reasons
                .iter()
                .map(protection_text)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Decision::Retire if executed => "retired".to_owned(),
        Decision::Retire => "would retire".to_owned(),
        Decision::Failed { error } => format!("failed: {error}"),
        _ => format!("{decision:?}"),
    }
}

fn keep_text(reason: &KeepReason) -> String {
    match reason {
        KeepReason::AmongNewest { rank } => format!("newest #{rank}"),
        KeepReason::YoungerThanMaxAge => "younger than --max-age".to_owned(),
        KeepReason::Minimum => "the newest is always kept".to_owned(),
        KeepReason::ExcludedByTag { tag } => format!("tagged {tag}"),
        _ => format!("{reason:?}"),
    }
}

fn protection_text(p: &Protection) -> String {
    match p {
        Protection::InUse { usage } => {
            let mut users: Vec<String> = usage
                .instances
                .iter()
                .map(|i| format!("instance {i}"))
                .collect();
            users.extend(
                usage
                    .launch_templates
                    .iter()
                    .map(|t| format!("launch template {t}")),
            );
            format!("in use by {}", users.join(", "))
        }
        Protection::MappedByTemplate { templates } => {
            format!("mapped by template {}", templates.join(", "))
        }
        Protection::InRegistry => "listed in a registry (--registry, --protect)".to_owned(),
        Protection::Shared { permissions } => format!(
            "shared with {} (--force-shared to retire anyway)",
            describe_permissions(permissions)
        ),
        Protection::Unchecked { error } => format!("not checked: {error}"),
        _ => format!("{p:?}"),
    }
}

/// Every image a registry file names, whatever its entries' standing: an entry refused for
/// a bad signature still points people at its images, so they stay protected.
fn registry_images(path: &Path) -> Result<Vec<AmiId>, CommandError> {
    let parsed = amiref_registry::ParsedRegistry::load_file(path)
        .map_err(|e| CommandError::Input(e.to_string()))?;
    Ok(parsed
        .document
        .community_amis
        .values()
        .flat_map(|versions| versions.values())
        .flat_map(|entry| entry.regions.values().cloned())
        .collect())
}

/// A deprecation time: RFC 3339, "now", or an age from now.
fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    if text == "now" {
        return Ok(now);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    match parse_age(text.trim_start_matches('+')) {
        Ok(age) => Ok(now + age),
        Err(_) => Err(CommandError::Input(format!(
            "invalid --at {text:?}: expected an RFC 3339 time (2027-01-31T00:00:00Z), \"now\", or an age from now (30d, 12w, 36h)"
        ))),
    }
}
