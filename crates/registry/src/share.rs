//! Sharing an image with a community: a signed entry for it in the community's registry
//! file (`ami share --community`), and the launch permissions the registry's `sharing`
//! policy implies.
//!
//! Two steps, so that a dry run is possible and the caller can grant and audit in between:
//! [`ShareRequest::plan`] checks everything and builds the signed entry without writing
//! anything; [`SharePlan::apply`] saves the registry file atomically, unless it changed
//! since it was planned. Granting the launch permissions is the caller's (the session
//! layer's): this crate does not talk to the cloud.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amiref_core::{
    AccountId, AmiId, Architecture, CallerIdentity, Image, ImageState, LaunchPermission, Region,
};
use serde::Serialize;

use crate::admission::admit;
use crate::document::{ParsedRegistry, parse_version};
use crate::error::{LoadError, Problem, ProblemList, SignError};
use crate::model::{Entry, RegistryDocument, ScanStatus, SharingPolicy, Verification};
use crate::policy::EntryPolicy;
use crate::trust::{KeyId, KeyStatus, PublisherKey, TrustStore};

/// The registry file a community name stands for: `NAME.yml` in the current directory,
/// or `name` itself when it has an extension or a directory.
pub fn community_registry_path(name: &str) -> PathBuf {
    let path = PathBuf::from(name);
    if path.extension().is_some() || path.components().count() > 1 {
        path
    } else {
        PathBuf::from(format!("{name}.yml"))
    }
}

/// What to share: an image, as the cloud describes it, by whom, as which entry.
#[derive(Debug, Clone)]
pub struct ShareRequest {
    image: Image,
    caller: CallerIdentity,
    template: String,
    version: String,
    key: PublisherKey,
    description: Option<String>,
    tested: bool,
    security_scan: Option<ScanStatus>,
}

/// A checked, signed entry ready to be written; nothing is written until
/// [`SharePlan::apply`].
#[derive(Debug, Clone)]
pub struct SharePlan {
    share: CommunityShare,
    document: ParsedRegistry,
    /// The registry file's text when planned (`None`: it did not exist).
    original: Option<String>,
}

/// What sharing does (planned) or did (applied).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CommunityShare {
    /// The image.
    pub image: AmiId,
    /// Its region.
    pub region: Region,
    /// The template.
    pub template: String,
    /// The version, as the registry writes it.
    pub version: String,
    /// The registry file.
    pub registry: PathBuf,
    /// The community's name (the file's stem).
    pub community: String,
    /// The signing key.
    pub key_id: KeyId,
    /// Its holder.
    pub publisher: String,
    /// How the entry changes.
    pub change: EntryChange,
    /// The signed entry.
    pub entry: Entry,
    /// The launch permissions the entry's `sharing` policy (else the registry's) implies,
    /// or why there are none.
    #[serde(serialize_with = "serialize_audience")]
    #[schemars(with = "Audience<'static>")]
    pub launch_permissions: Result<Vec<LaunchPermission>, NoShareAudience>,
}

/// How a share changes the registry's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum EntryChange {
    /// A new entry.
    Created,
    /// The image's region added to an existing entry (another region of one build).
    RegionAdded,
    /// The entry already listed an image in this region; it now lists this one.
    RegionRewritten {
        /// The image listed before (this one, when re-shared).
        previous: AmiId,
    },
}

/// The registry names nobody to grant launch permission to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error(
    "{} defines no accounts, organizations or organizational units to share with{}: add a \
     `sharing:` policy (accounts, organizations, organizational_units) to the registry file, \
     or share the image with accounts or an organization directly",
    registry.display(),
    owner_only.as_ref().map(|a| format!(" (its sharing policy names only the image's owner, {a})")).unwrap_or_default()
)]
#[non_exhaustive]
pub struct NoShareAudience {
    /// The registry file.
    pub registry: PathBuf,
    /// When the policy names accounts, but only the owner's own: the owner.
    pub owner_only: Option<AccountId>,
}

/// Why an image was not shared, or a build's entry not written ([`crate::BuildEntry`]).
/// Nothing was written when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// The image belongs to another account.
    #[error("{image} is owned by {owner}, not by you ({caller}): share only your own images")]
    NotOwner {
        /// The image.
        image: AmiId,
        /// Its owner.
        owner: AccountId,
        /// The caller's account.
        caller: AccountId,
    },
    /// The image cannot be launched yet (or any more).
    #[error("{image} is {state}, not available: share an image once it is available")]
    NotAvailable {
        /// The image.
        image: AmiId,
        /// Its state.
        state: ImageState,
    },
    /// The version is listed for another architecture.
    #[error(
        "{template} {version} is {listed} in {}, but {image} is {architecture}: use another \
         version such as {version}+{architecture}",
        registry.display()
    )]
    ArchitectureMismatch {
        /// The template.
        template: String,
        /// The version.
        version: String,
        /// The registry file.
        registry: PathBuf,
        /// The entry's architecture.
        listed: Architecture,
        /// The image.
        image: AmiId,
        /// The image's architecture.
        architecture: Architecture,
    },
    /// The version's entry names another owner.
    #[error(
        "{template} {version} in {} is owned by {owner}, not by {image_owner}: use another \
         version",
        registry.display()
    )]
    OwnedByAnother {
        /// The template.
        template: String,
        /// The version.
        version: String,
        /// The registry file.
        registry: PathBuf,
        /// The entry's owner.
        owner: AccountId,
        /// The image's owner.
        image_owner: AccountId,
    },
    /// The registry file cannot be read, or is not a valid registry.
    #[error(transparent)]
    Registry(LoadError),
    /// The entry could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// Readers would refuse the signed entry.
    #[error(
        "{template} {version} would be refused by readers of {}: {}{}",
        registry.display(),
        reason,
        if problems.is_empty() { String::new() } else { format!("\n{}", ProblemList(problems)) }
    )]
    WouldBeRefused {
        /// The template.
        template: String,
        /// The version.
        version: String,
        /// The registry file.
        registry: PathBuf,
        /// Why, for a person.
        reason: String,
        /// Located problems, when the entry does not add up.
        problems: Vec<Problem>,
    },
    /// The registry file changed between planning and applying.
    #[error("{} changed since the share was planned: plan it again", registry.display())]
    ChangedSincePlanned {
        /// The registry file.
        registry: PathBuf,
    },
    /// The registry file could not be written.
    #[error(transparent)]
    Write(LoadError),
}

impl ShareRequest {
    /// Share `image` (as the cloud describes it), owned by `caller`, as `template`
    /// `version`, signed with `key`.
    pub fn new(
        image: Image,
        caller: CallerIdentity,
        template: impl Into<String>,
        version: impl Into<String>,
        key: PublisherKey,
    ) -> Self {
        Self {
            image,
            caller,
            template: template.into(),
            version: version.into(),
            key,
            description: None,
            tested: false,
            security_scan: None,
        }
    }

    /// What is in it (default: the image's description, else the entry's).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Mark the image tested (an entry marked tested stays so).
    #[must_use]
    pub fn tested(mut self, tested: bool) -> Self {
        self.tested = tested;
        self
    }

    /// The security scan's outcome (default: the entry's, else not run).
    #[must_use]
    pub fn security_scan(mut self, scan: ScanStatus) -> Self {
        self.security_scan = Some(scan);
        self
    }

    /// Checks the share against the image and the registry file at `registry` (created by
    /// [`SharePlan::apply`] if missing), and builds the signed entry. Writes nothing.
    pub fn plan(&self, registry: &Path) -> Result<SharePlan, ShareError> {
        self.check_image()?;
        let (mut document, original) = read_registry(registry)?;
        let version = spelling_in(&document.document, &self.template, &self.version);
        let existing = document
            .document
            .community_amis
            .get(&self.template)
            .and_then(|versions| versions.get(&version));
        if let Some(existing) = existing {
            self.check_existing(existing, &version, registry)?;
        }
        let (entry, change) = self.entry(existing.cloned());
        document.insert_signed(&self.template, &version, entry, &self.key)?;
        let entry = admitted_entry(&document, &self.template, &version, &self.key, registry)?;
        let launch_permissions = audience(&document.document, &entry, &self.image, registry);
        let share = CommunityShare {
            image: self.image.id.clone(),
            region: self.image.region.clone(),
            template: self.template.clone(),
            version,
            registry: registry.to_owned(),
            community: community_name(registry),
            key_id: self.key.key_id(),
            publisher: self.key.publisher().to_owned(),
            change,
            entry,
            launch_permissions,
        };
        Ok(SharePlan {
            share,
            document,
            original,
        })
    }

    fn check_image(&self) -> Result<(), ShareError> {
        let image = &self.image;
        if image.owner != self.caller.account {
            return Err(ShareError::NotOwner {
                image: image.id.clone(),
                owner: image.owner.clone(),
                caller: self.caller.account.clone(),
            });
        }
        if image.state != ImageState::Available {
            return Err(ShareError::NotAvailable {
                image: image.id.clone(),
                state: image.state,
            });
        }
        Ok(())
    }

    fn check_existing(
        &self,
        existing: &Entry,
        version: &str,
        registry: &Path,
    ) -> Result<(), ShareError> {
        if existing.architecture != self.image.architecture {
            return Err(ShareError::ArchitectureMismatch {
                template: self.template.clone(),
                version: version.to_owned(),
                registry: registry.to_owned(),
                listed: existing.architecture,
                image: self.image.id.clone(),
                architecture: self.image.architecture,
            });
        }
        match &existing.owner {
            Some(owner) if owner != &self.image.owner => Err(ShareError::OwnedByAnother {
                template: self.template.clone(),
                version: version.to_owned(),
                registry: registry.to_owned(),
                owner: owner.clone(),
                image_owner: self.image.owner.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// The entry with this image in its region: `existing` extended, or a new one.
    fn entry(&self, existing: Option<Entry>) -> (Entry, EntryChange) {
        let image = &self.image;
        let (mut entry, change) = match existing {
            Some(e) => {
                let change = match e.regions.get(&image.region) {
                    Some(previous) => EntryChange::RegionRewritten {
                        previous: previous.clone(),
                    },
                    None => EntryChange::RegionAdded,
                };
                (e, change)
            }
            None => (
                Entry::new(self.key.publisher(), image.architecture, BTreeMap::new()),
                EntryChange::Created,
            ),
        };
        entry.regions.insert(image.region.clone(), image.id.clone());
        entry.owner = Some(image.owner.clone());
        if let Some(description) = self.description.clone().or(image.description.clone()) {
            entry.description = description;
        }
        entry.created_at.get_or_insert(image.creation_date);
        let mut verification = entry
            .verification
            .take()
            .unwrap_or_else(|| Verification::new(false, ScanStatus::NotRun));
        verification.tested |= self.tested;
        if let Some(scan) = self.security_scan {
            verification.security_scan = scan;
        }
        entry.verification = Some(verification);
        (entry, change)
    }
}

/// The signed entry `template` `version` of `document`, if its readers would admit it: it
/// adds up, its signature verifies with `key`, and the default entry policy admits it (a
/// failed scan never is).
pub(crate) fn admitted_entry(
    document: &ParsedRegistry,
    template: &str,
    version: &str,
    key: &PublisherKey,
    registry: &Path,
) -> Result<Entry, ShareError> {
    let refused = |reason: String, problems: Vec<Problem>| ShareError::WouldBeRefused {
        template: template.to_owned(),
        version: version.to_owned(),
        registry: registry.to_owned(),
        reason,
        problems,
    };
    let id = (template.to_owned(), version.to_owned());
    if let Some(problems) = document.entry_problems.get(&id) {
        return Err(refused("it does not add up".into(), problems.clone()));
    }
    let entry = document
        .document
        .community_amis
        .get(template)
        .and_then(|versions| versions.get(version))
        .cloned()
        .ok_or_else(|| SignError::NoSuchEntry {
            template: id.0.clone(),
            version: id.1.clone(),
        })?;
    let trust = TrustStore::new().with_key(key.publisher(), key.verifying_key(), KeyStatus::Active);
    admit(&trust, &EntryPolicy::new(), template, version, &entry)
        .map_err(|reason| refused(reason, Vec::new()))?;
    Ok(entry)
}

/// Saves `document` to `registry` atomically, unless the file no longer holds `original`
/// (its text when read; `None`: it did not exist).
pub(crate) fn save_unless_changed(
    document: &ParsedRegistry,
    registry: &Path,
    original: &Option<String>,
) -> Result<(), ShareError> {
    let now = read_text(registry).map_err(ShareError::Registry)?;
    if &now != original {
        return Err(ShareError::ChangedSincePlanned {
            registry: registry.to_owned(),
        });
    }
    document.save_file(registry).map_err(ShareError::Write)
}

impl SharePlan {
    /// What the share does.
    pub fn share(&self) -> &CommunityShare {
        &self.share
    }

    /// Saves the registry file atomically, unless it changed since the plan was made.
    pub fn apply(self) -> Result<CommunityShare, ShareError> {
        save_unless_changed(&self.document, &self.share.registry, &self.original)?;
        Ok(self.share)
    }
}

impl CommunityShare {
    /// The launch permissions to grant, or why there are none.
    pub fn launch_permissions(&self) -> Result<&[LaunchPermission], &NoShareAudience> {
        self.launch_permissions.as_deref()
    }
}

/// The registry file's text, `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, LoadError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

pub(crate) fn read_registry(path: &Path) -> Result<(ParsedRegistry, Option<String>), ShareError> {
    let origin = path.display().to_string();
    let original = read_text(path).map_err(ShareError::Registry)?;
    let parsed = match &original {
        Some(text) => ParsedRegistry::from_yaml_str(text, &origin).map_err(ShareError::Registry)?,
        None => ParsedRegistry::from_document(RegistryDocument::new(), &origin),
    };
    Ok((parsed, original))
}

/// The spelling `document` already uses for `version` of `template` (`v1.0.0` for
/// `1.0.0`), so sharing never adds a second spelling of one version; else `version`.
pub(crate) fn spelling_in(document: &RegistryDocument, template: &str, version: &str) -> String {
    let Ok(wanted) = parse_version(version) else {
        return version.to_owned();
    };
    document
        .community_amis
        .get(template)
        .and_then(|versions| {
            versions
                .keys()
                .find(|v| parse_version(v).is_ok_and(|p| p == wanted))
        })
        .cloned()
        .unwrap_or_else(|| version.to_owned())
}

/// The launch permissions the entry's sharing policy (else the document's) implies; the
/// owner's own account needs none.
fn audience(
    document: &RegistryDocument,
    entry: &Entry,
    image: &Image,
    registry: &Path,
) -> Result<Vec<LaunchPermission>, NoShareAudience> {
    let policy = entry
        .sharing
        .as_ref()
        .or(document.sharing.as_ref())
        .cloned()
        .unwrap_or_default();
    let permissions = launch_permissions_of(&policy, &image.owner);
    if permissions.is_empty() {
        return Err(NoShareAudience {
            registry: registry.to_owned(),
            owner_only: policy
                .accounts
                .contains(&image.owner)
                .then(|| image.owner.clone()),
        });
    }
    Ok(permissions)
}

fn launch_permissions_of(policy: &SharingPolicy, owner: &AccountId) -> Vec<LaunchPermission> {
    let accounts = policy
        .accounts
        .iter()
        .filter(|a| *a != owner)
        .cloned()
        .map(LaunchPermission::Account);
    let organizations = policy
        .organizations
        .iter()
        .cloned()
        .map(LaunchPermission::Organization);
    let units = policy
        .organizational_units
        .iter()
        .cloned()
        .map(LaunchPermission::OrganizationalUnit);
    let mut all: Vec<LaunchPermission> = accounts.chain(organizations).chain(units).collect();
    all.sort();
    all.dedup();
    all
}

fn community_name(registry: &Path) -> String {
    registry
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| registry.display().to_string())
}

/// A share's audience in JSON: `{"grant": [...]}` or `{"refused": {"reason": ...}}`.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Audience<'a> {
    /// The launch permissions to grant.
    Grant(&'a [LaunchPermission]),
    /// Why there are none.
    Refused {
        /// The refusal, for a person.
        reason: String,
    },
}

fn serialize_audience<S: serde::Serializer>(
    audience: &Result<Vec<LaunchPermission>, NoShareAudience>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match audience {
        Ok(permissions) => Audience::Grant(permissions),
        Err(refusal) => Audience::Refused {
            reason: refusal.to_string(),
        },
    }
    .serialize(serializer)
}
