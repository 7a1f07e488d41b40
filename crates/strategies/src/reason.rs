//! What a tier says about what it saw, as facts: why it found an image ([`FoundVia`]), why
//! it found none ([`Skip`]) and why it refused each image it looked at ([`Rejection`]).
//! Every type is serialisable with a JSON Schema, and its `Display` is the sentence a
//! person reads.

use std::fmt::{self, Display};

use amiref_core::{
    AccountId, AmiId, Architecture, ImageState, InstanceType, Owner, ParameterName, Region,
    ResolutionMethod, SnapshotId,
};
use chrono::{DateTime, Utc};

use crate::{ArchChoice, CloudFailure, CopyPlan, TierFailure};

/// Implements `Display` by writing what `f` writes.
macro_rules! display {
    ($ty:ty, |$s:ident, $f:ident| $body:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, $f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $s = self;
                $body
            }
        }
    };
}

/// A trust policy as a report names it: where it came from and whom it trusts.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct PolicySummary {
    /// Where the policy came from.
    pub origin: PolicyOrigin,
    /// The owners and named owners it trusts.
    pub trusts: Vec<String>,
}

/// Where a trust policy came from.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PolicyOrigin {
    /// The default policy (no file).
    Default,
    /// A file.
    File {
        /// Its path.
        path: String,
    },
    /// Built in code.
    Code,
}

display!(PolicySummary, |s, f| {
    let trusted = if s.trusts.is_empty() {
        "nobody".to_owned()
    } else {
        s.trusts.join(", ")
    };
    match &s.origin {
        PolicyOrigin::File { path } => write!(f, "the trust policy {path} (trusts {trusted})"),
        PolicyOrigin::Default => write!(f, "the default trust policy (trusts {trusted})"),
        PolicyOrigin::Code => write!(f, "the trust policy (trusts {trusted})"),
    }
});

/// What a region's instance types left out of a template's choices, or could not tell.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChoiceNote {
    /// The instance type does not run the architecture.
    DoesNotRun {
        /// The type.
        instance_type: InstanceType,
        /// The architecture.
        architecture: Architecture,
    },
    /// The region does not offer the instance type.
    NotOffered {
        /// The type.
        instance_type: InstanceType,
    },
    /// `DescribeInstanceTypes` failed: the type names decide.
    ArchitecturesUnreadable {
        /// The launch region.
        region: Region,
        /// The failed call.
        error: CloudFailure,
    },
    /// `DescribeInstanceTypeOfferings` failed: every type is assumed offered.
    OfferingsUnreadable {
        /// The launch region.
        region: Region,
        /// The failed call.
        error: CloudFailure,
    },
}

display!(ChoiceNote, |s, f| match s {
    ChoiceNote::DoesNotRun {
        instance_type,
        architecture,
    } => write!(f, "{instance_type} does not run {architecture}"),
    ChoiceNote::NotOffered { instance_type } => {
        write!(f, "{instance_type} is not offered in the region")
    }
    ChoiceNote::ArchitecturesUnreadable { region, error } => write!(
        f,
        "the architectures of the instance types could not be read in {region} ({error}); judged by their names"
    ),
    ChoiceNote::OfferingsUnreadable { region, error } => write!(
        f,
        "the instance type offerings of {region} could not be read ({error}); every type assumed offered"
    ),
});

/// What led a tier to an image it then judged.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Pointer {
    /// `ami_mappings[region]`.
    Mapping {
        /// The region of the mapping.
        region: Region,
    },
    /// An SSM parameter.
    Parameter {
        /// Its name.
        parameter: ParameterName,
    },
    /// A registry entry.
    RegistryEntry {
        /// The entry's template.
        template: String,
        /// The entry's version.
        version: String,
    },
    /// A Marketplace product version.
    ProductVersion {
        /// The version.
        version: String,
    },
}

display!(Pointer, |s, f| match s {
    Pointer::Mapping { region } => write!(f, "ami_mappings.{region}"),
    Pointer::Parameter { parameter } => write!(f, "SSM parameter {parameter}"),
    Pointer::RegistryEntry { template, version } => {
        write!(f, "registry entry {template} {version}")
    }
    Pointer::ProductVersion { version } => write!(f, "version {version}"),
});

/// Why one image (or the pointer to one) was not used.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rejection {
    /// The SSM parameter does not exist, or the caller may not read it.
    ParameterMissing {
        /// The region asked.
        region: Region,
    },
    /// The SSM parameter holds something other than an image id.
    ParameterNotAnImage {
        /// Its value, cut to 64 characters.
        value: String,
    },
    /// The image does not exist in the region, or the caller cannot see it.
    NotVisible {
        /// The image.
        image: AmiId,
        /// The region.
        region: Region,
        /// Whether the account's Allowed AMIs is enabled there (EC2 then hides the images
        /// it does not allow, so this may be one of them).
        allowed_images_enabled: bool,
    },
    /// The image is not `available`.
    NotAvailable {
        /// The image.
        image: AmiId,
        /// Its state.
        state: ImageState,
    },
    /// The image is deprecated and the template does not include deprecated images.
    Deprecated {
        /// The image.
        image: AmiId,
        /// Since when.
        since: Option<DateTime<Utc>>,
    },
    /// The trust policy does not trust the image's real owner.
    Untrusted {
        /// The image.
        image: AmiId,
        /// Its owner.
        owner: AccountId,
        /// The policy.
        policy: PolicySummary,
    },
    /// The account's Allowed AMIs, enabled in the region, does not allow the image.
    BlockedByAllowedImages {
        /// The image.
        image: AmiId,
        /// The region.
        region: Region,
    },
    /// No instance type of the template that the launch region offers runs the image.
    Unlaunchable {
        /// The image.
        image: AmiId,
        /// Its architecture.
        architecture: Architecture,
        /// The launch region.
        region: Region,
        /// What the template can launch on there.
        offered: Vec<ArchChoice>,
        /// Why other types were left out.
        notes: Vec<ChoiceNote>,
    },
    /// A registry entry states another architecture than the image has.
    ArchitectureMismatch {
        /// The image.
        image: AmiId,
        /// The image's architecture.
        architecture: Architecture,
        /// The entry's.
        entry_architecture: Architecture,
    },
    /// A registry entry states another owner than the image has.
    OwnerMismatch {
        /// The image.
        image: AmiId,
        /// Its real owner.
        owner: AccountId,
        /// The owner the entry states.
        expected: AccountId,
    },
    /// A Marketplace version's image does not carry the product code.
    MissingProductCode {
        /// The image.
        image: AmiId,
        /// The product code.
        product_code: String,
    },
    /// An image carrying a product code is not owned by the Marketplace's publishing
    /// account.
    NotMarketplaceListing {
        /// The image.
        image: AmiId,
        /// Its owner.
        owner: AccountId,
    },
}

display!(Rejection, |s, f| match s {
    Rejection::ParameterMissing { region } => {
        write!(
            f,
            "does not exist in {region} (or this account may not read it)"
        )
    }
    Rejection::ParameterNotAnImage { value } => write!(f, "holds {value:?}, not an image id"),
    Rejection::NotVisible {
        image,
        region,
        allowed_images_enabled,
    } => {
        write!(
            f,
            "{image} does not exist in {region} or is not visible to this account"
        )?;
        if *allowed_images_enabled {
            write!(
                f,
                " (the account's Allowed AMIs is enabled in {region}: EC2 hides the images it does not allow, so this may be one of them)"
            )?;
        }
        Ok(())
    }
    Rejection::NotAvailable { image, state } => write!(f, "{image} is {state}, not available"),
    Rejection::Deprecated { image, since } => write!(
        f,
        "{image} is deprecated (since {})",
        since
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    ),
    Rejection::Untrusted {
        image,
        owner,
        policy,
    } => write!(
        f,
        "{image} is owned by {owner}, which {policy} does not trust"
    ),
    Rejection::BlockedByAllowedImages { image, region } => write!(
        f,
        "{image} is blocked by the account's Allowed AMIs in {region}"
    ),
    Rejection::Unlaunchable {
        image,
        architecture,
        region,
        offered,
        notes,
    } => {
        if offered.is_empty() {
            write!(
                f,
                "{image} is {architecture}, and no instance type of the template runs it in {region}"
            )?;
        } else {
            let types: Vec<String> = offered
                .iter()
                .map(|c| format!("{} ({})", c.instance_type, c.architecture))
                .collect();
            write!(
                f,
                "{image} is {architecture}, which none of the template's instance types offered in {region} runs: {}",
                types.join(", ")
            )?;
        }
        write_notes(f, notes)
    }
    Rejection::ArchitectureMismatch {
        image,
        architecture,
        entry_architecture,
    } => write!(
        f,
        "{image} is {architecture}, but the entry says {entry_architecture}"
    ),
    Rejection::OwnerMismatch {
        image,
        owner,
        expected,
    } => write!(
        f,
        "{image} is owned by {owner}, not by {expected} as the entry states"
    ),
    Rejection::MissingProductCode {
        image,
        product_code,
    } => write!(f, "{image} does not carry product code {product_code}"),
    Rejection::NotMarketplaceListing { image, owner } => write!(
        f,
        "{image} is owned by {owner}, not by the AWS Marketplace's publishing account (aws-marketplace)"
    ),
});

/// ` (note; note)`, or nothing.
fn write_notes(f: &mut fmt::Formatter<'_>, notes: &[ChoiceNote]) -> fmt::Result {
    if notes.is_empty() {
        return Ok(());
    }
    write!(f, " ({})", join(notes, "; "))
}

fn join<T: fmt::Display>(items: &[T], sep: &str) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// One refused image, with what pointed at it where that is worth saying.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Rejected {
    /// What led to the image (a parameter, a mapping, an entry), when the refusal alone
    /// does not say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Pointer>,
    /// Why it was refused.
    pub why: Rejection,
}

impl Rejected {
    /// A refusal of what `via` pointed at.
    pub fn via(via: Pointer, why: Rejection) -> Self {
        Self {
            via: Some(via),
            why,
        }
    }
}

impl From<Rejection> for Rejected {
    fn from(why: Rejection) -> Self {
        Self { via: None, why }
    }
}

display!(Rejected, |s, f| match (&s.via, &s.why) {
    // "SSM parameter P does not exist in R", "SSM parameter P holds ...": the parameter
    // is the sentence's subject.
    (
        Some(via),
        why @ (Rejection::ParameterMissing { .. } | Rejection::ParameterNotAnImage { .. }),
    ) => write!(f, "{via} {why}"),
    (Some(via), why) => write!(f, "{via}: {why}"),
    (None, why) => why.fmt(f),
});

/// Why a search's candidate was refused, counted per reason in [`NoMatch`].
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SearchRejection {
    /// Not owned by an owner the search may use.
    Untrusted,
    /// Not available.
    NotAvailable,
    /// Deprecated.
    Deprecated,
    /// The name does not match the pattern.
    NameMismatch,
    /// A required tag is missing.
    MissingTags,
    /// Older than `min_creation_date`.
    TooOld,
    /// Another version than `version_tag`.
    OtherVersionTag,
    /// Outside `version_constraint`.
    OutsideVersionConstraint,
    /// Blocked by the account's Allowed AMIs.
    BlockedByAllowedImages,
    /// No offered instance type of the template runs its architecture.
    Unlaunchable,
}

display!(SearchRejection, |s, f| f.write_str(match s {
    SearchRejection::Untrusted => "owned by an account the trust policy does not trust",
    SearchRejection::NotAvailable => "not available",
    SearchRejection::Deprecated => "deprecated",
    SearchRejection::NameMismatch => "name does not match",
    SearchRejection::MissingTags => "missing required tags",
    SearchRejection::TooOld => "older than min_creation_date",
    SearchRejection::OtherVersionTag => "other version than version_tag",
    SearchRejection::OutsideVersionConstraint => "outside version_constraint",
    SearchRejection::BlockedByAllowedImages => "blocked by the account's Allowed AMIs",
    SearchRejection::Unlaunchable => "architecture no offered instance type of the template runs",
}));

/// How many candidates of a search were refused for one reason.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RejectionCount {
    /// The reason.
    pub reason: SearchRejection,
    /// How many.
    pub count: usize,
}

/// The owners of a search that the trust policy kept out of it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct NotSearched {
    /// The owners.
    pub owners: Vec<Owner>,
    /// The policy that does not trust them.
    pub policy: PolicySummary,
}

display!(NotSearched, |s, f| write!(
    f,
    " (not searched: {}, which {} does not trust)",
    owners_text(&s.owners),
    s.policy
));

/// `a, b, c`.
pub(crate) fn owners_text(owners: &[Owner]) -> String {
    owners
        .iter()
        .map(Owner::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A search that matched nothing acceptable.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct NoMatch {
    /// The owners searched (named owners mapped, narrowed by the trust policy).
    pub owners: Vec<Owner>,
    /// The region searched.
    pub region: Region,
    /// Why the candidates were refused, per reason (empty: there were none).
    pub rejected: Vec<RejectionCount>,
    /// Owners the policy kept out of the search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_searched: Option<NotSearched>,
    /// Why instance types were left out, when a candidate's architecture had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choice_notes: Vec<ChoiceNote>,
    /// Whether the account's Allowed AMIs is enabled in the region (EC2 then hides the
    /// images it does not allow).
    pub allowed_images_enabled: bool,
}

display!(NoMatch, |s, f| {
    write!(
        f,
        "no image of {} in {} matches: ",
        owners_text(&s.owners),
        s.region
    )?;
    if s.rejected.is_empty() {
        f.write_str("no candidates")?;
    } else {
        let parts: Vec<String> = s
            .rejected
            .iter()
            .map(|r| format!("{} {}", r.count, r.reason))
            .collect();
        f.write_str(&parts.join(", "))?;
    }
    if let Some(n) = &s.not_searched {
        n.fmt(f)?;
    }
    write_notes(f, &s.choice_notes)?;
    if s.allowed_images_enabled {
        write!(
            f,
            " (the account's Allowed AMIs is enabled in {}: EC2 hides the images it does not allow)",
            s.region
        )?;
    }
    Ok(())
});

/// Why EC2 would refuse the caller a copy of an image.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CopyRefusal {
    /// EC2 copies no Marketplace image.
    MarketplaceProductCode {
        /// The image.
        image: AmiId,
        /// Its product code.
        product_code: String,
    },
    /// An image with a billing product is copied only for its owner.
    BillingProduct {
        /// The image.
        image: AmiId,
        /// Its usage operation, if it is not plain `RunInstances`.
        usage_operation: Option<String>,
        /// Its platform details, if they are not plain `Linux/UNIX`.
        platform_details: Option<String>,
    },
    /// Encrypted with a key of its owner, which the caller cannot use.
    EncryptedByOwner {
        /// The image.
        image: AmiId,
        /// Its owner.
        owner: AccountId,
    },
    /// Shared without create-volume permission on these snapshots.
    SnapshotsNotShared {
        /// The image.
        image: AmiId,
        /// Its owner.
        owner: AccountId,
        /// The snapshots the caller may not create volumes from.
        snapshots: Vec<SnapshotId>,
    },
    /// The snapshots' permissions could not be read.
    SnapshotsUnchecked {
        /// The image.
        image: AmiId,
        /// The failed call.
        error: CloudFailure,
    },
}

display!(CopyRefusal, |s, f| match s {
    CopyRefusal::MarketplaceProductCode {
        image,
        product_code,
    } => write!(
        f,
        "{image} carries Marketplace product code {product_code}, and EC2 copies no Marketplace image"
    ),
    CopyRefusal::BillingProduct {
        image,
        usage_operation,
        platform_details,
    } => {
        let parts: Vec<String> = [
            usage_operation
                .as_deref()
                .map(|u| format!("usage operation {u}")),
            platform_details.as_deref().map(|p| format!("platform {p}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        write!(
            f,
            "{image} has a billing product ({}), and EC2 copies such an image only for its owner",
            parts.join(", ")
        )
    }
    CopyRefusal::EncryptedByOwner { image, owner } => write!(
        f,
        "{image} is encrypted with a key of its owner {owner}, which this account cannot use to copy it"
    ),
    CopyRefusal::SnapshotsNotShared {
        image,
        owner,
        snapshots,
    } => write!(
        f,
        "{image} is shared by {owner} without create-volume permission on its snapshot(s) {}, which EC2 needs to copy it",
        join(snapshots, ", ")
    ),
    CopyRefusal::SnapshotsUnchecked { image, error } => write!(
        f,
        "{image}: create-volume permission on its snapshots could not be checked ({error})"
    ),
});

/// An image a fallback region offered that the caller cannot copy.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct PassedOver {
    /// The region.
    pub region: Region,
    /// Why not.
    pub refusal: CopyRefusal,
}

display!(PassedOver, |s, f| write!(f, "{}: {}", s.region, s.refusal));

/// What one tier answered in one fallback region, when it found nothing there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegionAnswer {
    /// It could not be carried out there.
    Failed {
        /// The region.
        region: Region,
        /// The tier.
        tier: ResolutionMethod,
        /// Why.
        error: TierFailure,
    },
    /// It found nothing there (only tiers the template asks something of are recorded).
    Skipped {
        /// The region.
        region: Region,
        /// The tier.
        tier: ResolutionMethod,
        /// Why.
        reason: Box<Skip>,
    },
}

display!(RegionAnswer, |s, f| match s {
    RegionAnswer::Failed {
        region,
        tier,
        error,
    } => write!(f, "{region}: {}: {error}", tier.title()),
    RegionAnswer::Skipped {
        region,
        tier,
        reason,
    } => write!(f, "{region}: {}: {reason}", tier.title()),
});

/// The fallback regions had nothing the caller can use.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct FallbackSearch {
    /// The regions searched, nearest first.
    pub searched: Vec<Region>,
    /// What the tiers said in them: failures first, then skips.
    pub answers: Vec<RegionAnswer>,
    /// Images found that the caller cannot copy.
    pub passed_over: Vec<PassedOver>,
}

display!(FallbackSearch, |s, f| {
    let what = if s.passed_over.is_empty() {
        "no acceptable image"
    } else {
        "no image the caller can copy"
    };
    write!(
        f,
        "{what} in the fallback regions {}",
        join(&s.searched, ", ")
    )?;
    if !s.answers.is_empty() {
        write!(f, " ({})", join(&s.answers, "; "))?;
    }
    write_passed_over(f, &s.passed_over)
});

fn write_passed_over(f: &mut fmt::Formatter<'_>, passed: &[PassedOver]) -> fmt::Result {
    if passed.is_empty() {
        return Ok(());
    }
    write!(f, "; passed over: {}", join(passed, "; "))
}

/// What the template does not ask of a tier.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Missing {
    /// No `ami_config` at all.
    AmiConfig,
    /// No `ami_mappings` entry for the region.
    Mapping {
        /// The region.
        region: Region,
    },
    /// No `ami_search`.
    Search,
    /// No `marketplace_search`.
    MarketplaceSearch,
    /// No registry configured.
    Registry,
    /// No SSM parameter for the region.
    SsmParameter,
    /// No `user_data`.
    UserData,
    /// A `base_image` of a kind this version does not know.
    BaseImageKind,
}

display!(Missing, |s, f| match s {
    Missing::AmiConfig => f.write_str("the template has no ami_config"),
    Missing::Mapping { region } => write!(f, "ami_mappings has no entry for {region}"),
    Missing::Search => f.write_str("the template has no ami_search"),
    Missing::MarketplaceSearch => f.write_str("the template has no marketplace_search"),
    Missing::Registry => f.write_str("no community registry is configured"),
    Missing::SsmParameter => f.write_str("the template names no SSM parameter"),
    Missing::UserData => f.write_str("the template has no user_data to provision with"),
    Missing::BaseImageKind => {
        f.write_str("the template's base_image is of a kind this tier does not know")
    }
});

/// Why a tier found no image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Skip {
    /// The template asks nothing of this tier (here).
    NotAsked {
        /// What is missing.
        missing: Missing,
    },
    /// The image (or images) the tier was pointed at were refused.
    Rejected {
        /// Each, and why.
        rejections: Vec<Rejected>,
    },
    /// No architecture `ami_search` allows runs on the template's instance types.
    NoSearchArchitecture,
    /// The search matched nothing acceptable.
    NoMatch(Box<NoMatch>),
    /// The registry has no entry for the template in the region.
    NoRegistryEntry {
        /// The template.
        template: String,
        /// The region.
        region: Region,
    },
    /// The registry's entries were all refused (or the registry answered none).
    NoEntryPassed {
        /// Each entry's image, and why.
        rejections: Vec<Rejected>,
    },
    /// No Marketplace product has the code.
    NoProduct {
        /// The product code.
        product_code: String,
    },
    /// No version of the product satisfies the constraint.
    NoProductVersion {
        /// The product's title.
        product: String,
        /// The constraint (`None`: any).
        constraint: Option<String>,
    },
    /// No acceptable version is offered in the region.
    ProductNotInRegion {
        /// The product's title.
        product: String,
        /// The region.
        region: Region,
    },
    /// Every acceptable version's image was refused.
    NoProductImagePassed {
        /// Each image, and why.
        rejections: Vec<Rejected>,
    },
    /// The region has no fallback regions.
    NoFallbackRegions {
        /// The region.
        region: Region,
    },
    /// Nothing usable in the fallback regions.
    NotInFallbackRegions(Box<FallbackSearch>),
    /// Amazon Linux 2023 has no parameter for the template's architectures.
    NoAl2023Parameter {
        /// The architectures.
        architectures: Vec<Architecture>,
    },
    /// Script provisioning found no base image.
    NoBaseImage {
        /// Why.
        because: Box<Skip>,
    },
    /// A caller's own tier found nothing.
    Other {
        /// Why, for a person.
        detail: String,
    },
}

impl Skip {
    /// A caller's tier found nothing, for this reason.
    pub fn other(detail: impl Into<String>) -> Self {
        Self::Other {
            detail: detail.into(),
        }
    }

    /// The template does not ask this of the tier.
    pub fn not_asked(missing: Missing) -> Self {
        Self::NotAsked { missing }
    }

    /// One refusal.
    pub fn rejected(why: impl Into<Rejected>) -> Self {
        Self::Rejected {
            rejections: vec![why.into()],
        }
    }

    /// Every refusal of images the skip names, nested ones included.
    pub fn rejections(&self) -> Vec<&Rejection> {
        match self {
            Skip::Rejected { rejections }
            | Skip::NoEntryPassed { rejections }
            | Skip::NoProductImagePassed { rejections } => {
                rejections.iter().map(|r| &r.why).collect()
            }
            Skip::NoBaseImage { because } => because.rejections(),
            Skip::NotInFallbackRegions(search) => search
                .answers
                .iter()
                .flat_map(|a| match a {
                    RegionAnswer::Skipped { reason, .. } => reason.rejections(),
                    _ => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

display!(Skip, |s, f| match s {
    Skip::NotAsked { missing } => missing.fmt(f),
    Skip::Rejected { rejections } => f.write_str(&join(rejections, "; ")),
    Skip::NoSearchArchitecture =>
        f.write_str("no architecture allowed by ami_search runs on the template's instance types"),
    Skip::NoMatch(m) => m.fmt(f),
    Skip::NoRegistryEntry { template, region } => {
        write!(f, "the registry has no entry for {template} in {region}")
    }
    Skip::NoEntryPassed { rejections } if rejections.is_empty() => {
        f.write_str("no registry entry passed")
    }
    Skip::NoEntryPassed { rejections } => {
        write!(f, "no registry entry passed: {}", join(rejections, "; "))
    }
    Skip::NoProduct { product_code } => {
        write!(f, "no Marketplace product has code {product_code}")
    }
    Skip::NoProductVersion {
        product,
        constraint,
    } => write!(
        f,
        "no version of {product} satisfies {}",
        constraint.as_deref().unwrap_or("any")
    ),
    Skip::ProductNotInRegion { product, region } => write!(
        f,
        "no acceptable version of {product} is offered in {region}"
    ),
    Skip::NoProductImagePassed { rejections } => {
        write!(f, "no product image passed: {}", join(rejections, "; "))
    }
    Skip::NoFallbackRegions { region } => write!(f, "{region} has no fallback regions"),
    Skip::NotInFallbackRegions(search) => search.fmt(f),
    Skip::NoAl2023Parameter { .. } =>
        f.write_str("Amazon Linux 2023 has no parameter for the template's architectures"),
    Skip::NoBaseImage { because } => write!(f, "no base image: {because}"),
    Skip::Other { detail } => f.write_str(detail),
});

/// How a tier came to the image it found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FoundVia {
    /// An SSM parameter named it.
    SsmParameter {
        /// The parameter.
        parameter: ParameterName,
    },
    /// `ami_mappings[region]` named it.
    DirectMapping,
    /// A search found it.
    DynamicSearch(SearchFind),
    /// A registry entry named it.
    CommunityRegistry(RegistryFind),
    /// A Marketplace product version offers it.
    Marketplace {
        /// The product's title.
        product: String,
        /// The version.
        version: String,
    },
    /// The tiers found it in another region, to be copied.
    CrossRegion(Box<CrossRegionFind>),
    /// Script provisioning's base image, found as `base` says.
    BaseImage {
        /// How the base image was found.
        base: Box<FoundVia>,
    },
    /// A caller's own tier found it.
    Other {
        /// Why this image, for a person.
        detail: String,
    },
}

/// What a search saw on the way to its find.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct SearchFind {
    /// The image's version, where the search asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// How many candidates passed every check.
    pub matching: usize,
    /// How many images the cloud returned.
    pub candidates: usize,
    /// The owners searched.
    pub owners: Vec<Owner>,
    /// Owners the policy kept out of the search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_searched: Option<NotSearched>,
}

/// The registry entry a find came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegistryFind {
    /// The entry's template.
    pub template: String,
    /// The entry's version.
    pub version: String,
    /// The layer or source it came from.
    pub source: String,
    /// Its score (higher is better).
    pub score: f64,
    /// The key that signed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Whether that key is retired.
    #[serde(default)]
    pub signer_retired: bool,
}

/// A find in a fallback region, and the copy it needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CrossRegionFind {
    /// How the source region's tier found it.
    pub found: FoundVia,
    /// The copy to make.
    pub plan: CopyPlan,
    /// Better images the caller cannot copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<PassedOver>,
}

/// An image a tier found, as a report records it: which image, on what it launches, and
/// how the tier came to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Find {
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// Its region (for a cross-region find: the source region).
    pub region: Region,
    /// The architecture and instance type it launches on.
    pub choice: ArchChoice,
    /// How the tier came to it.
    pub via: FoundVia,
}

impl Find {
    fn choice_text(&self) -> String {
        format!(
            "{} on {}",
            self.choice.architecture, self.choice.instance_type
        )
    }

    fn write_via(&self, f: &mut fmt::Formatter<'_>, via: &FoundVia) -> fmt::Result {
        let (id, name, region, choice) =
            (&self.image, &self.name, &self.region, self.choice_text());
        match via {
            FoundVia::SsmParameter { parameter } => write!(
                f,
                "SSM parameter {parameter} in {region}: {id} ({name}), {choice}"
            ),
            FoundVia::DirectMapping => {
                write!(f, "ami_mappings.{region}: {id} ({name}), {choice}")
            }
            FoundVia::DynamicSearch(s) => {
                let version = s
                    .version
                    .as_ref()
                    .map(|v| format!(" version {v},"))
                    .unwrap_or_default();
                write!(
                    f,
                    "{id} ({name}):{version} newest of {} match(es) among {} candidate(s) of {}; {choice}",
                    s.matching,
                    s.candidates,
                    owners_text(&s.owners)
                )?;
                match &s.not_searched {
                    Some(n) => n.fmt(f),
                    None => Ok(()),
                }
            }
            FoundVia::CommunityRegistry(r) => {
                let signed = r
                    .signed_by
                    .as_ref()
                    .map(|k| {
                        let retired = if r.signer_retired { ", retired" } else { "" };
                        format!(", signed by {k}{retired}")
                    })
                    .unwrap_or_default();
                write!(
                    f,
                    "{} {} from {} (score {:.2}{signed}), {choice}",
                    r.template, r.version, r.source, r.score
                )
            }
            FoundVia::Marketplace { product, version } => {
                write!(f, "{product} {version}: {id}, {choice}")
            }
            FoundVia::CrossRegion(c) => {
                let plan = &c.plan;
                write!(f, "found in {} (", plan.source_region)?;
                self.write_via(f, &c.found)?;
                write!(
                    f,
                    "); copy {} GiB to {}: ~{} min, ~${:.2} transfer + ${:.2}/month storage",
                    plan.size_gib,
                    plan.destination_region,
                    plan.estimated_duration.as_secs().div_ceil(60),
                    plan.transfer_cost_usd,
                    plan.storage_cost_usd_per_month
                )?;
                write_passed_over(f, &c.passed_over)
            }
            FoundVia::BaseImage { base } => match base.as_ref() {
                FoundVia::SsmParameter { parameter } => write!(
                    f,
                    "user_data on base image {id} ({name}) from SSM parameter {parameter}, {choice}"
                ),
                other => {
                    f.write_str("user_data on base image ")?;
                    self.write_via(f, other)
                }
            },
            FoundVia::Other { detail } => write!(f, "{id} ({name}): {detail}, {choice}"),
        }
    }
}

display!(Find, |s, f| s.write_via(f, &s.via));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_sentences_and_round_trip_as_json() {
        let region: Region = "us-east-1".parse().unwrap();
        let image: AmiId = "ami-12345678".parse().unwrap();
        let skip = Skip::NoBaseImage {
            because: Box::new(Skip::rejected(Rejected::via(
                Pointer::Parameter {
                    parameter: "/golden/x86_64".parse().unwrap(),
                },
                Rejection::Untrusted {
                    image: image.clone(),
                    owner: "555566667777".parse().unwrap(),
                    policy: PolicySummary {
                        origin: PolicyOrigin::File {
                            path: "trust.yaml".into(),
                        },
                        trusts: vec!["self".into(), "amazon".into()],
                    },
                },
            ))),
        };
        assert_eq!(
            skip.to_string(),
            "no base image: SSM parameter /golden/x86_64: ami-12345678 is owned by 555566667777, which the trust policy trust.yaml (trusts self, amazon) does not trust"
        );
        assert!(matches!(
            skip.rejections()[..],
            [Rejection::Untrusted { .. }]
        ));
        let json = serde_json::to_string(&skip).unwrap();
        assert!(json.contains(r#""kind":"no_base_image""#), "{json}");
        assert_eq!(serde_json::from_str::<Skip>(&json).unwrap(), skip);

        let no_match = Skip::NoMatch(Box::new(NoMatch {
            owners: vec![Owner::Amazon],
            region: region.clone(),
            rejected: vec![RejectionCount {
                reason: SearchRejection::Deprecated,
                count: 2,
            }],
            not_searched: None,
            choice_notes: Vec::new(),
            allowed_images_enabled: true,
        }));
        assert_eq!(
            no_match.to_string(),
            "no image of amazon in us-east-1 matches: 2 deprecated (the account's Allowed AMIs is enabled in us-east-1: EC2 hides the images it does not allow)"
        );
        let json = serde_json::to_string(&no_match).unwrap();
        assert_eq!(serde_json::from_str::<Skip>(&json).unwrap(), no_match);
    }
}
