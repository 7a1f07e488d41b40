//! The options of the image lifecycle commands (`ami create|create-multi|copy|share|
//! publish|deprecate|retire|protect|enable|disable`). Values are parsed into the library's
//! types here (a value the library refuses is a usage error, exit 2); what they mean is the
//! session's business (`lifecycle.rs` hands them over).

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, InstanceType, Region};
use amiref_lifecycle::{CompletionDuration, Encryption};
use amiref_session::{DeprecationTime, InstanceRef, TagSelector, check_region};
use clap::{ArgGroup, Args, ValueEnum};

/// A region a person typed, checked against the catalog (with a "did you mean").
fn region(text: &str) -> Result<Region, String> {
    check_region(text, "region").map_err(|e| e.to_string())
}

/// `REGION=KEY`.
fn kms_key(text: &str) -> Result<(Region, String), String> {
    let (name, key) = text
        .split_once('=')
        .ok_or_else(|| format!("expected REGION=KEY, found {text:?}"))?;
    match key {
        "" => Err(format!("no key given for {name}")),
        key => Ok((region(name)?, key.to_owned())),
    }
}

/// An age: `90d`, `12w`, `36h`, `1d12h`.
fn age(text: &str) -> Result<chrono::Duration, String> {
    amiref_lifecycle::parse_age(text).map_err(|e| e.to_string())
}

/// A time-based copy's completion duration, in minutes (15 to 2880, a multiple of 15).
fn completion_minutes(text: &str) -> Result<CompletionDuration, String> {
    let minutes: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number of minutes, found {text:?}"))?;
    CompletionDuration::from_minutes(minutes).map_err(|e| e.to_string())
}

/// A grace period: an age, or `0` for none.
fn grace(text: &str) -> Result<chrono::Duration, String> {
    amiref_lifecycle::parse_grace(text).map_err(|e| e.to_string())
}

/// What the session parses itself, as clap's value parser.
fn parsed<T: std::str::FromStr<Err = amiref_session::SessionError>>(
    text: &str,
) -> Result<T, String> {
    text.parse()
        .map_err(|e: amiref_session::SessionError| e.to_string())
}

/// `--dry-run`: report what would be done, change nothing.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct DryRunArg {
    /// Report what would be done; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `ami create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The template: a file, or a name found in the configured template directories.
    pub(crate) template: String,
    /// The instance to image: its id, or its Name tag (in the global --region).
    #[arg(value_parser = |t: &str| Ok::<_, String>(InstanceRef::parse(t)))]
    pub(crate) instance: InstanceRef,
    /// The image's name [default: TEMPLATE-VERSION].
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Share the image with everyone once it is available (refused where block public
    /// access for AMIs is on).
    #[arg(long)]
    pub(crate) public: bool,
    /// Image without rebooting the instance (faster; file systems may be inconsistent).
    #[arg(long)]
    pub(crate) no_reboot: bool,
    #[command(flatten)]
    pub(crate) dry_run: DryRunArg,
}

/// `ami create-multi`.
#[derive(Debug, Args)]
pub(crate) struct CreateMultiArgs {
    #[command(flatten)]
    pub(crate) create: CreateArgs,
    /// The regions to have the image in, comma-separated; it is made in the global
    /// --region if given, else in the first of these.
    #[arg(long, value_delimiter = ',', required = true, value_parser = region)]
    pub(crate) regions: Vec<Region>,
    #[command(flatten)]
    pub(crate) encryption: EncryptionArgs,
}

/// Encryption of copies.
#[derive(Debug, Clone, Args)]
pub(crate) struct EncryptionArgs {
    /// Encrypt the copies (with the account's default EBS key unless --kms-key names one).
    #[arg(long)]
    pub(crate) encrypt: bool,
    /// The KMS key to encrypt copies in a region with: REGION=KEY (repeatable; implies
    /// --encrypt).
    #[arg(long = "kms-key", value_name = "REGION=KEY", value_parser = kms_key)]
    pub(crate) kms_keys: Vec<(Region, String)>,
}

impl EncryptionArgs {
    /// What the flags ask for.
    pub(crate) fn encryption(&self) -> Encryption {
        if self.encrypt || !self.kms_keys.is_empty() {
            Encryption::Encrypt {
                kms_keys: self.kms_keys.iter().cloned().collect::<BTreeMap<_, _>>(),
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
    pub(crate) image: AmiId,
    /// The regions to copy into, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_parser = region)]
    pub(crate) to: Vec<Region>,
    /// The copies' name [default: the source's].
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Copy the source's user-defined tags to the copies too (EC2's CopyImageTags).
    #[arg(long)]
    pub(crate) copy_tags: bool,
    /// Ask for a time-based copy that completes within this many minutes (EC2's
    /// SnapshotCopyCompletionDurationMinutes: 15 to 2880, a multiple of 15; it costs more
    /// per GiB, which the dry run states).
    #[arg(long, value_name = "MINUTES", value_parser = completion_minutes)]
    pub(crate) completion_minutes: Option<CompletionDuration>,
    #[command(flatten)]
    pub(crate) encryption: EncryptionArgs,
    #[command(flatten)]
    pub(crate) dry_run: DryRunArg,
}

/// `ami share`: launch permission for accounts, organizations, OUs or everyone; or a
/// signed entry in a community registry (`--community`).
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("whom").required(true).multiple(true)))]
pub(crate) struct ShareArgs {
    /// The image (in the global --region).
    pub(crate) image: AmiId,
    /// Accounts (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', group = "whom")]
    pub(crate) account: Vec<AccountId>,
    /// Organization ARNs.
    #[arg(long, group = "whom")]
    pub(crate) org: Vec<String>,
    /// Organizational unit ARNs.
    #[arg(long, group = "whom")]
    pub(crate) ou: Vec<String>,
    /// Everyone (refused where block public access for AMIs is on).
    #[arg(long, group = "whom")]
    pub(crate) public: bool,
    /// Revoke instead of grant.
    #[arg(long)]
    pub(crate) remove: bool,
    /// Leave the snapshots' create-volume permission alone.
    #[arg(long)]
    pub(crate) no_snapshot_permission: bool,
    /// Share with a community of the configuration file's `communities`: a signed entry
    /// in its registry, and launch permission for whom its sharing policy names.
    #[arg(long, value_name = "NAME", group = "whom",
          conflicts_with_all = ["account", "org", "ou", "public", "remove"])]
    pub(crate) community: Option<String>,
    #[command(flatten)]
    pub(crate) entry: CommunityEntryArgs,
    #[command(flatten)]
    pub(crate) dry_run: DryRunArg,
}

/// What a community entry says beyond the image (with `--community`).
#[derive(Debug, Clone, Args)]
pub(crate) struct CommunityEntryArgs {
    /// The template the image is for [default: its amiref:template tag].
    #[arg(long)]
    pub(crate) template: Option<String>,
    /// The entry's version: semver, +arm64 for another architecture's build [default: its
    /// amiref:template-version tag].
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// What is in it [default: the image's description].
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Mark the image tested.
    #[arg(long)]
    pub(crate) tested: bool,
    /// The security scan's outcome [default: the entry's, else not run].
    #[arg(long, value_enum)]
    pub(crate) scan: Option<ScanArg>,
}

/// `--scan` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanArg {
    /// No scan was run.
    NotRun,
    /// Scanning.
    Pending,
    /// The scan passed.
    Passed,
    /// The scan failed (such an entry is always refused by readers).
    Failed,
}

impl From<ScanArg> for amiref_registry::ScanStatus {
    fn from(s: ScanArg) -> Self {
        match s {
            ScanArg::NotRun => Self::NotRun,
            ScanArg::Pending => Self::Pending,
            ScanArg::Passed => Self::Passed,
            ScanArg::Failed => Self::Failed,
        }
    }
}

/// `ami publish`: a new version of an AWS Marketplace product. What the flags leave out
/// comes from `publishing.marketplace` of the configuration file.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The image (in the global --region).
    pub(crate) image: AmiId,
    /// Publish to AWS Marketplace (the only destination today).
    #[arg(long, required = true)]
    pub(crate) marketplace: bool,
    /// An hourly price in USD for each instance type, set on the offer.
    #[arg(long, value_name = "USD_PER_HOUR")]
    pub(crate) price: Option<f64>,
    /// The product entity id (prod-...) [default: `product_id`].
    #[arg(long)]
    pub(crate) product: Option<String>,
    /// The version title [default: the image's amiref:template-version tag].
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// The offer id (offer-...) the price is set on [default: `offer_id`].
    #[arg(long)]
    pub(crate) offer: Option<String>,
    /// Instance types to price (repeatable, or comma-separated) [default:
    /// `instance_types`].
    #[arg(long, value_delimiter = ',')]
    pub(crate) instance_type: Vec<InstanceType>,
    /// The IAM role Marketplace assumes to copy and scan the image [default:
    /// `access_role_arn`].
    #[arg(long, value_name = "ARN")]
    pub(crate) access_role: Option<String>,
    /// Release notes.
    #[arg(long)]
    pub(crate) release_notes: Option<String>,
    /// Follow the change set's status this long (e.g. 90s, 30m, 2h).
    #[arg(long, value_name = "DURATION")]
    pub(crate) wait: Option<amiref_template::HumanDuration>,
    #[command(flatten)]
    pub(crate) dry_run: DryRunArg,
}

/// `ami deprecate`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("when").required(true)))]
pub(crate) struct DeprecateArgs {
    /// The image (in the global --region).
    pub(crate) image: AmiId,
    /// When: an RFC 3339 time (2027-01-31T00:00:00Z), "now", or an age from now (30d, 12w).
    #[arg(long, group = "when", value_parser = parsed::<DeprecationTime>)]
    pub(crate) at: Option<DeprecationTime>,
    /// Cancel the deprecation.
    #[arg(long, group = "when")]
    pub(crate) undo: bool,
    #[command(flatten)]
    pub(crate) dry_run: DryRunArg,
}

/// `ami retire`.
#[derive(Debug, Args)]
pub(crate) struct RetireArgs {
    /// The template whose images (tag amiref:template) to consider.
    #[arg(long)]
    pub(crate) template: String,
    /// Keep the newest N per region.
    #[arg(long)]
    pub(crate) keep: usize,
    /// Also keep images younger than this (90d, 12w, 36h).
    #[arg(long, value_name = "AGE", value_parser = age)]
    pub(crate) max_age: Option<chrono::Duration>,
    /// Keep images carrying this tag: KEY or KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY[=VALUE]", value_parser = parsed::<TagSelector>)]
    pub(crate) exclude_tag: Vec<TagSelector>,
    /// Regions to look in, comma-separated [default: the global --region].
    #[arg(long, value_delimiter = ',', value_parser = region)]
    pub(crate) regions: Vec<Region>,
    /// Protect these images too (repeatable, or comma-separated). The images the template
    /// directories' mappings and the configured registries name are always protected.
    #[arg(long, value_name = "AMI", value_delimiter = ',')]
    pub(crate) protect: Vec<AmiId>,
    /// Also keep images launched within this long (EC2's LastLaunchedTime: 30d)
    /// [default: `retire.keep_launched_within` of the configuration].
    #[arg(long, value_name = "AGE", value_parser = age)]
    pub(crate) keep_launched_within: Option<chrono::Duration>,
    /// How long a retired image stays disabled (`ami enable` brings it back) before a
    /// later run deregisters it; 0 deregisters at once [default: `retire.grace` of the
    /// configuration, else 14d].
    #[arg(long, value_name = "AGE", value_parser = grace)]
    pub(crate) grace: Option<chrono::Duration>,
    /// Retire images shared with other accounts too, but only those nobody the caller can
    /// see uses: no reference EC2 reports, no instance or launch template, and no launch
    /// within --keep-launched-within (30d for shared images when unset).
    #[arg(long)]
    pub(crate) force_shared: bool,
    /// Act (the default is a dry run).
    #[arg(long)]
    pub(crate) execute: bool,
}

/// `ami protect`.
#[derive(Debug, Args)]
pub(crate) struct ProtectArgs {
    #[command(flatten)]
    pub(crate) target: ImageArgs,
    /// Turn deregistration protection off (an image protected with the cooldown stays
    /// protected for 24 hours more).
    #[arg(long)]
    pub(crate) off: bool,
    /// With EC2's cooldown: turning protection off later keeps the image protected for
    /// 24 hours more.
    #[arg(long, conflicts_with = "off")]
    pub(crate) cooldown: bool,
}

/// `ami enable`, `ami disable`, and the image of `ami protect`.
#[derive(Debug, Args)]
pub(crate) struct ImageArgs {
    /// The image (in the global --region).
    pub(crate) image: AmiId,
    #[command(flatten)]
    pub(crate) dry_run: DryRunArg,
}
