//! The controls over what a region said: each control is one function from the facts to
//! its findings (or why it could not be checked).

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, AllowedImagesState, AmiId, CallerIdentity, Image, ImageState, LaunchPermission,
    Owner, Region, SnapshotBlockPublicAccess, wildcard_match,
};
use amiref_strategies::TrustPolicy;
use chrono::{DateTime, Utc};

use crate::control::ControlId;
use crate::policy::{CompliancePolicy, RegistryEntry, Signing};
use crate::report::{Finding, Outcome, Remedy, Resource};
use crate::scan::{RegionFacts, is_retiring};

/// The tag naming the template an image was built from (amiref-lifecycle's
/// `TAG_TEMPLATE`).
pub const TEMPLATE_TAG: &str = "amiref:template";

/// One control's verdict in one scope.
pub(crate) struct Verdict {
    pub(crate) control: ControlId,
    pub(crate) outcome: Outcome,
    pub(crate) findings: Vec<Finding>,
}

/// Why a control was not checked: a failed read, or a missing setting.
enum Skip {
    Unchecked(String),
    NotConfigured(String),
}

impl From<&String> for Skip {
    fn from(reason: &String) -> Self {
        Self::Unchecked(reason.clone())
    }
}

type Checked = Result<(usize, Vec<Finding>), Skip>;

/// What every control is judged against.
pub(crate) struct Judge<'a> {
    pub(crate) policy: &'a CompliancePolicy,
    pub(crate) trust: &'a TrustPolicy,
    pub(crate) caller: Option<&'a CallerIdentity>,
    pub(crate) registry: Option<&'a [RegistryEntry]>,
    pub(crate) now: DateTime<Utc>,
}

fn verdict(control: ControlId, checked_count: Checked) -> Verdict {
    let (outcome, findings) = match checked_count {
        Ok((checked_count, findings)) => (Outcome::of(checked_count, findings.len()), findings),
        Err(Skip::Unchecked(reason)) => (Outcome::Unchecked { reason }, Vec::new()),
        Err(Skip::NotConfigured(setting)) => (Outcome::NotConfigured { setting }, Vec::new()),
    };
    Verdict {
        control,
        outcome,
        findings,
    }
}

/// `amiref --region R ` for a remedy command.
fn at(region: &Region) -> String {
    format!("amiref --region {region} ")
}

fn image_finding(control: ControlId, image: &Image, evidence: String, remedy: Remedy) -> Finding {
    Finding::new(
        control,
        Some(&image.region),
        Resource::Image(image.id.to_string()),
        format!("{} ({}): {evidence}", image.id, image.name),
        remedy,
    )
}

/// The own images a control over images judges: every state but failed ones (which never
/// launch and hold no data).
fn judged_images(own: &BTreeMap<AmiId, Image>) -> impl Iterator<Item = &Image> {
    own.values()
        .filter(|i| !matches!(i.state, ImageState::Failed | ImageState::Error))
}

/// A per-image control: `check` says what is wrong with an image, and the remedy.
fn each_image(
    facts: &RegionFacts,
    control: ControlId,
    check: impl Fn(&Image) -> Option<(String, Remedy)>,
) -> Checked {
    let own = facts.own.as_ref()?;
    let findings: Vec<Finding> = judged_images(own)
        .filter_map(|image| {
            check(image).map(|(evidence, remedy)| image_finding(control, image, evidence, remedy))
        })
        .collect();
    Ok((judged_images(own).count(), findings))
}

impl Judge<'_> {
    /// Every per-region control over `facts`.
    pub(crate) fn region(&self, facts: &RegionFacts) -> Vec<Verdict> {
        vec![
            verdict(ControlId::NamingConvention, self.naming(facts)),
            verdict(ControlId::Encrypted, encrypted(facts)),
            verdict(ControlId::Approved, self.approved(facts)),
            verdict(ControlId::MaximumAge, self.maximum_age(facts)),
            verdict(ControlId::NotPublic, not_public(facts)),
            verdict(ControlId::SnapshotsNotPublic, snapshots_not_public(facts)),
            verdict(ControlId::ImdsV2, imds_v2(facts)),
            verdict(ControlId::BlockPublicAccess, block_public_access(facts)),
            verdict(ControlId::AllowedAmis, self.allowed_amis(facts)),
            verdict(ControlId::DeprecatedInUse, self.deprecated_in_use(facts)),
            verdict(ControlId::TemplateTag, template_tag(facts)),
            verdict(
                ControlId::SharedOutsideOrganization,
                self.shared_outside(facts),
            ),
        ]
    }

    fn naming(&self, facts: &RegionFacts) -> Checked {
        let patterns = &self.policy.naming_patterns;
        if patterns.is_empty() {
            return Err(Skip::NotConfigured("compliance.naming_convention".into()));
        }
        let region = &facts.region;
        each_image(facts, ControlId::NamingConvention, |image| {
            if patterns.iter().any(|p| wildcard_match(p, &image.name)) {
                return None;
            }
            Some((
                format!(
                    "the name matches none of the naming convention's patterns ({})",
                    patterns.join(", ")
                ),
                Remedy::command(
                    "copy the image under a conforming name, then retire this one",
                    format!(
                        "{}ami copy {} --to {region} --name <NAME>",
                        at(region),
                        image.id
                    ),
                ),
            ))
        })
    }

    fn maximum_age(&self, facts: &RegionFacts) -> Checked {
        let max = i64::from(self.policy.maximum_age_days);
        let region = &facts.region;
        each_image(facts, ControlId::MaximumAge, |image| {
            let days = (self.now - image.creation_date).num_days();
            if days <= max {
                return None;
            }
            let remedy = match image.tag(TEMPLATE_TAG) {
                Some(template) => Remedy::command(
                    "rebuild the template's stale images (refresh deprecates what they replace)",
                    format!("{}refresh {template}", at(region)),
                ),
                None => Remedy::command(
                    "deprecate the image so that nothing new launches it, then retire it",
                    format!("{}ami deprecate {} --at now", at(region), image.id),
                ),
            };
            Some((
                format!(
                    "created {} ({days} days ago); the maximum age is {max} days",
                    image.creation_date.format("%Y-%m-%d")
                ),
                remedy,
            ))
        })
    }

    /// The account the caller is, or the owner of the account's own images.
    fn account(&self, facts: &RegionFacts) -> Option<AccountId> {
        self.caller.map(|c| c.account.clone()).or_else(|| {
            let own = facts.own.as_ref().ok()?;
            own.values().next().map(|i| i.owner.clone())
        })
    }

    fn vouched(&self, region: &Region, image: &AmiId) -> Option<&RegistryEntry> {
        self.registry?
            .iter()
            .find(|e| e.signing.vouches() && e.images.get(region) == Some(image))
    }

    fn approved(&self, facts: &RegionFacts) -> Checked {
        let own = facts.own.as_ref()?;
        let foreign = facts.used_foreign.as_ref()?;
        let users = Users::of(facts)?;
        let account = self.account(facts);
        let region = &facts.region;
        let mut findings = Vec::new();
        for (id, used_by) in &users.by_image {
            let image = own.get(id).or_else(|| foreign.get(id));
            let trusted = image.is_some_and(|i| self.trust.trusts(i, account.as_ref()));
            if trusted || self.vouched(region, id).is_some() {
                continue;
            }
            let why = match image {
                Some(i) => format!(
                    "owner {}{} is not trusted by the trust policy{}, and no signed registry \
                     entry names the image",
                    i.owner,
                    i.owner_alias
                        .as_deref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default(),
                    self.trust
                        .origin
                        .as_deref()
                        .map(|o| format!(" ({o})"))
                        .unwrap_or_default(),
                ),
                None => "the image cannot be described (deregistered, no longer shared with \
                         the account, or not allowed by Allowed AMIs), so nothing vouches for it"
                    .to_owned(),
            };
            findings.push(Finding::new(
                ControlId::Approved,
                Some(region),
                Resource::Image(id.to_string()),
                format!("{id} is used by {}; {why}", used_by.join(", ")),
                Remedy::manual(
                    "launch from an approved image instead (a trusted owner's, or one a signed \
                     registry entry names: `amiref launch <TEMPLATE>`); or trust the owner in \
                     the trust policy, or publish a signed entry for it (`amiref registry sign`)",
                ),
            ));
        }
        Ok((users.by_image.len(), findings))
    }

    fn allowed_amis(&self, facts: &RegionFacts) -> Checked {
        let settings = facts.allowed.as_ref()?;
        let region = &facts.region;
        let setting = || Resource::AccountSetting(format!("Allowed AMIs in {region}"));
        let providers = self.trusted_providers();
        let enable = Remedy::manual(format!(
            "enable Allowed AMIs with the trust policy's owners as image providers: `aws ec2 \
             replace-image-criteria-in-allowed-images-settings --region {region} \
             --image-criteria ImageProviders={}` then `aws ec2 \
             enable-allowed-images-settings --region {region} \
             --allowed-images-settings-state enabled`",
            providers.join(",")
        ));
        let mut findings = Vec::new();
        let state_problem = match settings.state {
            AllowedImagesState::Enabled => None,
            AllowedImagesState::AuditMode => {
                Some("Allowed AMIs is in audit mode: it reports, it blocks nothing")
            }
            _ => Some("Allowed AMIs is not enabled: any image anyone shares can be launched"),
        };
        if let Some(problem) = state_problem {
            findings.push(Finding::new(
                ControlId::AllowedAmis,
                Some(region),
                setting(),
                problem,
                enable.clone(),
            ));
        }
        if settings.state != AllowedImagesState::Disabled {
            for problem in self.criteria_disagreements(settings) {
                findings.push(Finding::new(
                    ControlId::AllowedAmis,
                    Some(region),
                    setting(),
                    problem,
                    enable.clone(),
                ));
            }
        }
        Ok((1, findings))
    }

    /// The trust policy's owners as Allowed AMIs image providers (`self` needs none: the
    /// account's own images are always allowed).
    fn trusted_providers(&self) -> Vec<String> {
        let mut providers: Vec<String> = self
            .trust
            .trusted_owners
            .iter()
            .filter_map(|o| match o {
                Owner::Amazon => Some("amazon".to_owned()),
                Owner::AwsMarketplace => Some("aws-marketplace".to_owned()),
                Owner::Account(a) => Some(a.to_string()),
                _ => None,
            })
            .chain(
                self.trust
                    .named_owners
                    .values()
                    .flatten()
                    .map(ToString::to_string),
            )
            .collect();
        providers.sort();
        providers.dedup();
        if providers.is_empty() {
            providers.push("none".to_owned());
        }
        providers
    }

    /// Where the Allowed AMIs criteria and the trust policy disagree, for a person.
    fn criteria_disagreements(&self, settings: &amiref_core::AllowedImagesSettings) -> Vec<String> {
        let trusted = self.trusted_providers();
        let mut problems = Vec::new();
        for (n, criterion) in settings.criteria.iter().enumerate() {
            if criterion.image_providers.is_empty() {
                problems.push(format!(
                    "criterion {} allows images of any provider; the trust policy trusts only {}",
                    n + 1,
                    trusted.join(", ")
                ));
            }
            for provider in &criterion.image_providers {
                if provider != "none" && !trusted.contains(provider) {
                    problems.push(format!(
                        "criterion {} allows provider {provider}, which the trust policy does \
                         not trust",
                        n + 1
                    ));
                }
            }
        }
        for provider in trusted.iter().filter(|p| *p != "none") {
            let allowed = settings
                .criteria
                .iter()
                .any(|c| c.image_providers.is_empty() || c.image_providers.contains(provider));
            if !allowed {
                problems.push(format!(
                    "the trust policy trusts {provider}, but no criterion allows its images: \
                     amiref would find images EC2 then refuses to launch"
                ));
            }
        }
        problems
    }

    fn deprecated_in_use(&self, facts: &RegionFacts) -> Checked {
        let own = facts.own.as_ref()?;
        let foreign = facts.used_foreign.as_ref()?;
        let references = facts.references.as_ref()?;
        let mut users = Users::of(facts)?;
        for r in references {
            users.add(&r.image, format!("{} {}", r.kind.as_ec2(), r.arn));
        }
        let region = &facts.region;
        let mut findings = Vec::new();
        let mut checked_count = 0;
        for (id, used_by) in &users.by_image {
            let Some(image) = own.get(id).or_else(|| foreign.get(id)) else {
                continue;
            };
            checked_count += 1;
            if !is_retiring(image, self.now) {
                continue;
            }
            let (what, remedy) = retiring_remedy(image, own.contains_key(id), region);
            let evidence = format!("{what}, but used by {}", used_by.join(", "));
            findings.push(image_finding(
                ControlId::DeprecatedInUse,
                image,
                evidence,
                remedy,
            ));
        }
        Ok((checked_count, findings))
    }

    fn shared_outside(&self, facts: &RegionFacts) -> Checked {
        let Some(permissions) = &facts.permissions else {
            return Err(Skip::NotConfigured(
                "compliance.read_launch_permissions (off: only public images are seen, by \
                 cis-2.1.5)"
                    .into(),
            ));
        };
        let permissions = permissions.as_ref()?;
        let own = facts.own.as_ref()?;
        let region = &facts.region;
        let mut findings = Vec::new();
        for (id, granted) in permissions {
            let outside: Vec<&LaunchPermission> =
                granted.iter().filter(|p| self.is_outside(p)).collect();
            let Some(image) = own.get(id).filter(|_| !outside.is_empty()) else {
                continue;
            };
            let (names, flags): (Vec<String>, Vec<String>) =
                outside.iter().map(|p| grantee(p)).unzip();
            findings.push(image_finding(
                ControlId::SharedOutsideOrganization,
                image,
                format!(
                    "launch permission for {}, outside the organization{}",
                    names.join(", "),
                    self.organization()
                        .map(|o| format!(" {o}"))
                        .unwrap_or_else(|| " (none configured: compliance.organization)".into())
                ),
                Remedy::command(
                    "revoke the launch permissions",
                    format!("{}ami share {id} {} --remove", at(region), flags.join(" ")),
                ),
            ));
        }
        Ok((permissions.len(), findings))
    }

    fn organization(&self) -> Option<&str> {
        self.policy
            .organization
            .as_deref()
            .or_else(|| self.caller.and_then(|c| c.organization.as_deref()))
    }

    /// Whether a launch permission reaches outside the organization. Public sharing is
    /// cis-2.1.5's finding, not this control's.
    fn is_outside(&self, permission: &LaunchPermission) -> bool {
        let org = self.organization();
        // `arn:aws:organizations::111122223333:organization/o-abc` → `o-abc`, which every OU
        // ARN of the organization carries (`…:ou/o-abc/ou-…`).
        let org_id = org.and_then(|o| o.rsplit('/').next());
        match permission {
            LaunchPermission::Public => false,
            LaunchPermission::Account(a) => {
                self.caller.is_none_or(|c| &c.account != a)
                    && !self.policy.organization_accounts.contains(a)
            }
            LaunchPermission::Organization(arn) => org != Some(arn.as_str()),
            LaunchPermission::OrganizationalUnit(arn) => {
                let listed = self.policy.organizational_units.contains(arn)
                    || self
                        .caller
                        .is_some_and(|c| c.organizational_units.contains(arn));
                let in_org = org_id.is_some_and(|id| arn.contains(&format!("/{id}/")));
                !(listed || in_org)
            }
            _ => true,
        }
    }

    /// The registry control: every entry's signature.
    pub(crate) fn registry(&self) -> Verdict {
        let Some(entries) = self.registry else {
            return verdict(
                ControlId::RegistrySignature,
                Err(Skip::NotConfigured("registries".into())),
            );
        };
        let findings = entries.iter().filter_map(registry_finding).collect();
        verdict(ControlId::RegistrySignature, Ok((entries.len(), findings)))
    }
}

/// A launch permission's grantee for a person, and the `ami share` flag revoking it.
fn grantee(permission: &LaunchPermission) -> (String, String) {
    match permission {
        LaunchPermission::Account(a) => (format!("account {a}"), format!("--account {a}")),
        LaunchPermission::Organization(o) => (format!("organization {o}"), format!("--org {o}")),
        LaunchPermission::OrganizationalUnit(u) => (format!("OU {u}"), format!("--ou {u}")),
        _ => ("everyone".to_owned(), "--public".to_owned()),
    }
}

/// What is wrong with a retiring image, and the remedy (an own image can be brought back).
fn retiring_remedy(image: &Image, own: bool, region: &Region) -> (String, Remedy) {
    let move_users = "move its instances and launch templates to a current image";
    if image.state == ImageState::Disabled {
        let remedy = if own {
            Remedy::command(
                format!("{move_users}; or, if it must stay in use, enable it again"),
                format!("{}ami enable {}", at(region), image.id),
            )
        } else {
            Remedy::manual(move_users)
        };
        return ("disabled".to_owned(), remedy);
    }
    let since = image
        .deprecation_time
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let remedy = if own {
        Remedy::command(
            format!("{move_users}; or, if it must stay in use, cancel its deprecation"),
            format!("{}ami deprecate {} --undo", at(region), image.id),
        )
    } else {
        Remedy::manual(move_users)
    };
    (format!("deprecated since {since}"), remedy)
}

/// Who uses each image: instances and launch template versions, for a person.
struct Users {
    by_image: BTreeMap<AmiId, Vec<String>>,
}

impl Users {
    fn of(facts: &RegionFacts) -> Result<Self, Skip> {
        let instances = facts.instances.as_ref()?;
        let templates = facts.templates.as_ref()?;
        let mut users = Self {
            by_image: BTreeMap::new(),
        };
        for i in instances {
            users.add(&i.image, format!("instance {}", i.id));
        }
        for t in templates {
            let which = if t.is_default { "default" } else { "latest" };
            let name = format!(
                "launch template {} ({}, version {} {which})",
                t.launch_template_name, t.launch_template_id, t.version
            );
            users.add(&t.image, name);
        }
        Ok(users)
    }

    fn add(&mut self, image: &AmiId, user: String) {
        let list = self.by_image.entry(image.clone()).or_default();
        if !list.contains(&user) {
            list.push(user);
        }
    }
}

fn encrypted(facts: &RegionFacts) -> Checked {
    let region = &facts.region;
    each_image(facts, ControlId::Encrypted, |image| {
        let plain: Vec<String> = image
            .block_devices
            .iter()
            .filter(|b| b.snapshot_id.is_some() && !b.encrypted)
            .map(|b| b.device_name.clone())
            .collect();
        (!plain.is_empty()).then(|| {
            (
                format!("unencrypted EBS volumes: {}", plain.join(", ")),
                Remedy::command(
                    "make an encrypted copy, move users to it, then retire this image",
                    format!(
                        "{}ami copy {} --to {region} --encrypt",
                        at(region),
                        image.id
                    ),
                ),
            )
        })
    })
}

fn not_public(facts: &RegionFacts) -> Checked {
    let region = &facts.region;
    each_image(facts, ControlId::NotPublic, |image| {
        image.public.then(|| {
            (
                "launch permission for everyone (group all)".to_owned(),
                Remedy::command(
                    "make the image private",
                    format!("{}ami share {} --public --remove", at(region), image.id),
                ),
            )
        })
    })
}

fn imds_v2(facts: &RegionFacts) -> Checked {
    let region = &facts.region;
    each_image(facts, ControlId::ImdsV2, |image| {
        image.imds_support.is_none().then(|| {
            (
                "ImdsSupport is not v2.0: instances launched from it allow IMDSv1 unless each \
                 launch asks for tokens"
                    .to_owned(),
                Remedy::manual(format!(
                    "set it on the image: `aws ec2 modify-image-attribute --region {region} \
                     --image-id {} --imds-support v2.0` (amiref's builds launch with IMDSv2 \
                     required)",
                    image.id
                )),
            )
        })
    })
}

fn template_tag(facts: &RegionFacts) -> Checked {
    let region = &facts.region;
    each_image(facts, ControlId::TemplateTag, |image| {
        image.tag(TEMPLATE_TAG).is_none().then(|| {
            (
                format!("no {TEMPLATE_TAG} tag: nothing says how to rebuild it"),
                Remedy::manual(format!(
                    "tag it with its template: `aws ec2 create-tags --region {region} \
                     --resources {} --tags Key={TEMPLATE_TAG},Value=<TEMPLATE>`, or rebuild it \
                     with `amiref build <TEMPLATE>`",
                    image.id
                )),
            )
        })
    })
}

fn snapshots_not_public(facts: &RegionFacts) -> Checked {
    let public = facts.public_snapshots.as_ref()?;
    let block = facts.snapshot_block.as_ref()?;
    let own = facts.own.as_ref()?;
    let region = &facts.region;
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for image in own.values() {
        for snapshot in image.snapshot_ids() {
            users
                .entry(snapshot.to_string())
                .or_default()
                .push(image.id.to_string());
        }
    }
    let checked_count = users.len().max(public.len());
    if *block == SnapshotBlockPublicAccess::BlockAllSharing {
        // Block all sharing: EC2 treats public snapshots as private.
        return Ok((checked_count, Vec::new()));
    }
    let state = match block {
        SnapshotBlockPublicAccess::BlockNewSharing => {
            "block-new-sharing (existing public \
                                                       snapshots stay public)"
        }
        _ => "unblocked",
    };
    let findings = public
        .iter()
        .map(|snapshot| {
            let of = users
                .get(snapshot.as_str())
                .map(|images| format!(", behind {}", images.join(", ")))
                .unwrap_or_default();
            Finding::new(
                ControlId::SnapshotsNotPublic,
                Some(region),
                Resource::Snapshot(snapshot.to_string()),
                format!(
                    "{snapshot}{of} is restorable by anyone (create-volume permission for \
                     all); snapshot block public access is {state}"
                ),
                Remedy::manual(format!(
                    "`aws ec2 modify-snapshot-attribute --region {region} --snapshot-id \
                     {snapshot} --attribute createVolumePermission --operation-type remove \
                     --group-names all`, or block it for the region: `aws ec2 \
                     enable-snapshot-block-public-access --region {region} --state \
                     block-all-sharing`"
                )),
            )
        })
        .collect();
    Ok((checked_count, findings))
}

fn block_public_access(facts: &RegionFacts) -> Checked {
    let on = *facts.image_block.as_ref()?;
    let region = &facts.region;
    let findings = (!on)
        .then(|| {
            Finding::new(
                ControlId::BlockPublicAccess,
                Some(region),
                Resource::AccountSetting(format!("image block public access in {region}")),
                "block public access for AMIs is off: any image can be made public",
                Remedy::manual(format!(
                    "`aws ec2 enable-image-block-public-access --region {region} \
                     --image-block-public-access-state block-new-sharing`"
                )),
            )
        })
        .into_iter()
        .collect();
    Ok((1, findings))
}

fn registry_finding(entry: &RegistryEntry) -> Option<Finding> {
    let name = format!("{} {} ({})", entry.template, entry.version, entry.source);
    let sign = format!(
        "amiref registry sign {} --key <KEY> --template {} --version {}",
        entry.source, entry.template, entry.version
    );
    let (evidence, action) = match &entry.signing {
        Signing::Signed { .. } => return None,
        Signing::RetiredKey { key, publisher } => (
            format!("signed by {publisher} with retired key {key}"),
            "re-sign the entry with an active key",
        ),
        Signing::Unsigned => (
            "unsigned (admitted only because the entry policy allows unsigned entries)".into(),
            "sign the entry",
        ),
        Signing::Refused { reason } => (
            format!("refused by readers: {reason}"),
            "sign the entry with an active key of the trust store (or remove it)",
        ),
    };
    let remedy = if entry.source.contains("://") {
        Remedy::manual(format!("{action}: `{sign}` on the file behind the URL"))
    } else {
        Remedy::command(action, sign)
    };
    Some(Finding::new(
        ControlId::RegistrySignature,
        None,
        Resource::RegistryEntry(name),
        evidence,
        remedy,
    ))
}
