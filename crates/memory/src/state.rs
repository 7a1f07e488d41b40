//! The world's state: regions with their images, snapshots and instances; accounts;
//! Marketplace products and change sets; and the clock that moves states along.
//!
//! Images are indexed by region and, within a region, by owner, so a search reads only the
//! images of the owners it names, never the whole world.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesSettings, AllowedImagesState, AmiId, Architecture, CallerIdentity,
    ChangeSetRequest, DeregistrationProtection, Image, ImageState, InstanceId, InstanceState,
    InstanceType, LaunchPermission, MarketplaceProduct, Parameter, ParameterName, Region,
    SecurityGroupId, SnapshotId, SubnetId,
};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// An image as the world stores it: the record EC2 describes, plus what EC2 keeps elsewhere.
#[derive(Debug, Clone)]
pub(crate) struct StoredImage {
    pub(crate) image: Image,
    pub(crate) launch_permissions: BTreeSet<LaunchPermission>,
    /// Whether a pending image becomes `failed` instead of `available` when it is due (an
    /// injected fault: [`crate::MemoryCloud::fail_next_images`]).
    pub(crate) fails: bool,
}

impl StoredImage {
    /// Whether `who` may see (and launch) the image.
    pub(crate) fn visible_to(&self, who: &CallerIdentity) -> bool {
        self.image.owner == who.account
            || self.launch_permissions.iter().any(|p| granted_to(p, who))
    }
}

/// Whether a launch permission covers the caller.
pub(crate) fn granted_to(permission: &LaunchPermission, who: &CallerIdentity) -> bool {
    match permission {
        LaunchPermission::Public => true,
        LaunchPermission::Account(a) => *a == who.account,
        LaunchPermission::Organization(o) => who.organization.as_deref() == Some(o.as_str()),
        LaunchPermission::OrganizationalUnit(ou) => who.organizational_units.contains(ou),
        _ => false,
    }
}

/// An EBS snapshot behind an image.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) owner: AccountId,
    pub(crate) create_volume_permissions: BTreeSet<AccountId>,
    /// Whether everyone has create-volume permission (`group: all`).
    pub(crate) public: bool,
    /// Besides the owner, the accounts that may use the KMS key an encrypted snapshot is
    /// encrypted with (a customer managed key the owner shared). Empty for the default
    /// `aws/ebs` key, which cannot be shared.
    pub(crate) key_users: BTreeSet<AccountId>,
    /// Its tags (CreateImage tags an image's new snapshots with the request's tags).
    pub(crate) tags: BTreeMap<String, String>,
}

impl Snapshot {
    /// A private snapshot of `owner`'s, shared with no one.
    pub(crate) fn private(owner: AccountId) -> Self {
        Self {
            owner,
            create_volume_permissions: BTreeSet::new(),
            public: false,
            key_users: BTreeSet::new(),
            tags: BTreeMap::new(),
        }
    }

    /// Whether `account` may create volumes from it: it owns it, or holds create-volume
    /// permission (for its account, or public).
    pub(crate) fn volumes_by(&self, account: &AccountId) -> bool {
        self.owner == *account || self.public || self.create_volume_permissions.contains(account)
    }

    /// Whether `account` may use the key the snapshot is encrypted with.
    pub(crate) fn key_usable_by(&self, account: &AccountId) -> bool {
        self.owner == *account || self.key_users.contains(account)
    }
}

/// An SSM parameter as the world stores it.
#[derive(Debug, Clone)]
pub(crate) struct StoredParameter {
    /// Its latest version.
    pub(crate) parameter: Parameter,
    /// Its earlier versions that SSM still keeps, oldest first (with the latest, at most
    /// [`crate::parameter_store::MAX_VERSIONS`]).
    pub(crate) history: Vec<Parameter>,
    /// The account whose parameter it is; `None` for AWS's public parameters
    /// (`/aws/service/...`), which every account reads.
    pub(crate) owner: Option<AccountId>,
}

impl StoredParameter {
    pub(crate) fn readable_by(&self, account: &AccountId) -> bool {
        self.owner.as_ref().is_none_or(|o| o == account)
    }
}

/// Whether a parameter name is in AWS's public namespace, readable by every account.
pub(crate) fn is_public_parameter(name: &ParameterName) -> bool {
    name.as_str().starts_with("/aws/service/")
}

/// An instance launched in the world.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) owner: AccountId,
    pub(crate) image: AmiId,
    pub(crate) instance_type: InstanceType,
    pub(crate) architecture: Architecture,
    pub(crate) root_volume_gib: u32,
    pub(crate) state: InstanceState,
    /// The world's time when it was launched.
    pub(crate) launch_time: DateTime<Utc>,
    pub(crate) tags: BTreeMap<String, String>,
    /// The billing facts of the image it was launched from, which an image created from
    /// it inherits, as on EC2.
    pub(crate) usage_operation: Option<String>,
    pub(crate) platform_details: Option<String>,
    /// What it was launched with: user data (a build's wrapped script runs, simulated),
    /// IMDSv2, an instance profile, its subnet and security groups.
    pub(crate) launch: LaunchSettings,
    /// Where its life goes next: the state it moves to, and when.
    pub(crate) next: Option<(DateTime<Utc>, InstanceState)>,
    /// When it became running (its console's boot), if it did.
    pub(crate) running_since: Option<DateTime<Utc>>,
    /// When it was asked to stop or terminate (its scripts stop running then).
    pub(crate) halted_at: Option<DateTime<Utc>>,
    /// When EC2 stops describing it (an hour after it is terminated).
    pub(crate) forget_at: Option<DateTime<Utc>>,
}

/// What an instance was launched with beyond its image and type, as the world keeps it
/// ([`crate::MemoryCloud::launch_settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaunchSettings {
    /// Its user data (a build's wrapped script runs, simulated).
    pub user_data: Option<String>,
    /// Whether IMDSv2 is required (`HttpTokens=required`).
    pub require_imdsv2: bool,
    /// The instance profile it runs as.
    pub instance_profile: Option<String>,
    /// Its subnet (the region's default subnet unless the launch named one).
    pub subnet: SubnetId,
    /// The security groups the launch named; empty: the VPC's default group.
    pub security_groups: Vec<SecurityGroupId>,
}

impl LaunchSettings {
    /// A plain launch into the region's default subnet and group.
    pub(crate) fn plain(region: &Region) -> Self {
        Self {
            user_data: None,
            require_imdsv2: false,
            instance_profile: None,
            subnet: crate::MemoryCloud::default_subnet(region),
            security_groups: Vec::new(),
        }
    }
}

impl Instance {
    /// The instance as DescribeInstances answers it.
    pub(crate) fn described(&self, id: &InstanceId, region: &Region) -> amiref_core::Instance {
        let mut described = amiref_core::Instance::new(
            id.clone(),
            region.clone(),
            self.state,
            self.image.clone(),
            self.instance_type.clone(),
            self.launch_time,
        );
        described.architecture = Some(self.architecture);
        described.tags = self.tags.clone();
        described
    }
}

/// One region of the world.
#[derive(Debug, Default)]
pub(crate) struct RegionState {
    pub(crate) images: HashMap<AmiId, StoredImage>,
    /// Owner → name → image: names are unique per owner and region, and a search reads
    /// only its owners' images, and of those only the names its pattern's literal prefix
    /// allows.
    pub(crate) by_owner: HashMap<AccountId, BTreeMap<String, AmiId>>,
    pub(crate) snapshots: HashMap<SnapshotId, Snapshot>,
    pub(crate) instances: BTreeMap<InstanceId, Instance>,
    pub(crate) launch_templates: Vec<crate::templates::LaunchTemplate>,
    /// Image Builder recipes whose parent image is an image id.
    pub(crate) image_recipes: Vec<crate::templates::ImageRecipe>,
    pub(crate) block_public_access: bool,
    /// The account's block public access for snapshots.
    pub(crate) snapshot_block_public_access: amiref_core::SnapshotBlockPublicAccess,
    /// The Recycle Bin's retention rules, and what it holds.
    pub(crate) recycle_bin: crate::recycle::RecycleBinState,
    /// CopyImage client tokens: (caller, token) → (request fingerprint, copy).
    pub(crate) copy_tokens: HashMap<(AccountId, String), (String, AmiId)>,
    /// RunInstances client tokens: (caller, token) → instance.
    pub(crate) run_tokens: HashMap<(AccountId, String), InstanceId>,
    /// The Allowed AMIs setting of the world's accounts in this region (one setting for
    /// every caller: the world models one account's view of it).
    pub(crate) allowed_images: AllowedImagesSettings,
    /// SSM parameters by name.
    pub(crate) parameters: BTreeMap<ParameterName, StoredParameter>,
    /// The subnets the world declares besides the default one, with their VPCs.
    pub(crate) subnets: BTreeMap<SubnetId, amiref_core::VpcId>,
    /// Security groups created (or declared), besides each VPC's default group.
    pub(crate) security_groups: BTreeMap<SecurityGroupId, crate::network::StoredGroup>,
}

impl RegionState {
    pub(crate) fn insert_image(&mut self, stored: StoredImage) {
        self.by_owner
            .entry(stored.image.owner.clone())
            .or_default()
            .insert(stored.image.name.clone(), stored.image.id.clone());
        self.images.insert(stored.image.id.clone(), stored);
    }

    pub(crate) fn remove_image(&mut self, id: &AmiId) -> Option<StoredImage> {
        let stored = self.images.remove(id)?;
        if let Some(names) = self.by_owner.get_mut(&stored.image.owner) {
            names.remove(&stored.image.name);
        }
        Some(stored)
    }

    /// The image as `who` is shown it at `now` under the region's Allowed AMIs setting:
    /// `None` when it is hidden (not visible to `who`, or blocked by an enabled setting),
    /// and with `image_allowed` set when the setting is enabled or in audit mode.
    pub(crate) fn shown_to(
        &self,
        stored: &StoredImage,
        who: &CallerIdentity,
        now: DateTime<Utc>,
    ) -> Option<Image> {
        if !stored.visible_to(who) {
            return None;
        }
        let mut image = stored.image.clone();
        // A cooldown that has run out reads as EC2 reads it: off.
        if let Some(DeregistrationProtection::CoolingDown { until }) =
            image.deregistration_protection
            && until <= now
        {
            image.deregistration_protection = Some(DeregistrationProtection::Disabled);
        }
        match self.allowed_images.state {
            AllowedImagesState::Disabled => {}
            AllowedImagesState::Enabled => {
                if !self.allowed_images.allows(&image, Some(&who.account), now) {
                    return None;
                }
                image.image_allowed = Some(true);
            }
            _ => {
                image.image_allowed =
                    Some(self.allowed_images.allows(&image, Some(&who.account), now));
            }
        }
        Some(image)
    }

    /// Whether the region's Allowed AMIs setting blocks `who` from using the image at `now`.
    pub(crate) fn blocks(&self, image: &Image, who: &AccountId, now: DateTime<Utc>) -> bool {
        self.allowed_images.restricts() && !self.allowed_images.allows(image, Some(who), now)
    }

    /// The owner's image of this name, if any.
    pub(crate) fn image_named(&self, owner: &AccountId, name: &str) -> Option<&AmiId> {
        self.by_owner.get(owner)?.get(name)
    }

    /// The owner's images whose names may match `pattern` (all of them without one): those
    /// starting with the pattern's literal prefix, found by a range scan.
    pub(crate) fn candidates<'a>(
        &'a self,
        owner: &AccountId,
        pattern: Option<&'a str>,
    ) -> impl Iterator<Item = &'a StoredImage> + 'a {
        let prefix = pattern.map_or("", |p| {
            p.find(['*', '?']).map_or(p, |wildcard| &p[..wildcard])
        });
        self.by_owner
            .get(owner)
            .into_iter()
            .flat_map(move |names| {
                names
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(move |(name, _)| name.starts_with(prefix))
            })
            .filter_map(|(_, id)| self.images.get(id))
    }
}

/// An account the world knows: its name and place in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The account id.
    pub id: AccountId,
    /// A name for people (world files say whose account it is).
    pub name: Option<String>,
    /// The IAM user name callers of this account appear as.
    pub user: String,
    /// The owner alias EC2 reports for its images (`amazon`, `aws-marketplace`).
    pub alias: Option<String>,
    /// Its organization's ARN.
    pub organization: Option<String>,
    /// The ARNs of the organizational units it sits in, innermost and every ancestor (an
    /// image shared with an OU is shared with the OUs below it).
    pub organizational_units: Vec<String>,
}

impl Account {
    /// An account outside any organization, with no alias, calling as user `amiref`.
    pub fn new(id: AccountId) -> Self {
        Self {
            id,
            name: None,
            user: "amiref".to_owned(),
            alias: None,
            organization: None,
            organizational_units: Vec::new(),
        }
    }

    /// Names it for people.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the IAM user name.
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Sets the owner alias its images carry.
    #[must_use]
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    /// Places the account in an organization.
    #[must_use]
    pub fn organization(mut self, arn: impl Into<String>) -> Self {
        self.organization = Some(arn.into());
        self
    }

    /// Places the account in an organizational unit (call once per OU, ancestors included).
    #[must_use]
    pub fn organizational_unit(mut self, arn: impl Into<String>) -> Self {
        self.organizational_units.push(arn.into());
        self
    }

    pub(crate) fn identity(&self) -> CallerIdentity {
        let mut who = CallerIdentity::new(
            self.id.clone(),
            format!("arn:aws:iam::{}:user/{}", self.id, self.user),
        );
        who.organization = self.organization.clone();
        who.organizational_units = self.organizational_units.clone();
        who
    }
}

/// How long the world's slow operations take, on tokio's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// CreateImage: pending → available.
    pub create_image: Duration,
    /// CopyImage: the fixed part of pending → available.
    pub copy_image: Duration,
    /// CopyImage: added per GiB of the source's volumes.
    pub copy_image_per_gib: Duration,
    /// A change set stays `Preparing` this long...
    pub change_set_preparing: Duration,
    /// ...then `Applying` this long, then `Succeeded`.
    pub change_set_applying: Duration,
    /// RunInstances: `pending` → `running` (the console shows the boot then).
    pub boot: Duration,
    /// StopInstances: `stopping` → `stopped`.
    pub stop: Duration,
    /// TerminateInstances: `shutting-down` → `terminated`.
    pub terminate: Duration,
    /// How long a terminated instance is still described (EC2: about an hour).
    pub terminated_visible: Duration,
}

impl Default for Timings {
    /// Figures of the order EC2 shows for small images: a few minutes to create, a couple of
    /// minutes plus a few seconds per GiB to copy; Marketplace takes much longer.
    fn default() -> Self {
        Self {
            create_image: Duration::from_secs(5 * 60),
            copy_image: Duration::from_secs(2 * 60),
            copy_image_per_gib: Duration::from_secs(6),
            change_set_preparing: Duration::from_secs(60),
            change_set_applying: Duration::from_secs(30 * 60),
            boot: Duration::from_secs(30),
            stop: Duration::from_secs(30),
            terminate: Duration::from_secs(30),
            terminated_visible: Duration::from_secs(60 * 60),
        }
    }
}

/// A submitted Marketplace change set.
#[derive(Debug, Clone)]
pub(crate) struct ChangeSet {
    pub(crate) request: ChangeSetRequest,
    /// The account that submitted it (its client request token is that account's).
    pub(crate) caller: AccountId,
    /// The world's time when it was submitted.
    pub(crate) submitted: DateTime<Utc>,
    /// Why it fails, decided at submission (an unknown entity, a missing image).
    pub(crate) failure: Option<String>,
    pub(crate) applied: bool,
}

/// `time` plus `duration`, saturating at the latest time chrono can hold rather than
/// panicking (a world may hold durations of any size).
pub(crate) fn later_by(time: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| time.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Everything in the world, behind one lock in the cloud.
#[derive(Debug)]
pub(crate) struct WorldData {
    /// What the world file says it is, for people.
    pub(crate) description: Option<String>,
    /// The account calls are made as unless a handle says otherwise
    /// ([`crate::MemoryCloud::as_account`]): the world file's `caller`.
    pub(crate) caller: AccountId,
    pub(crate) start: DateTime<Utc>,
    pub(crate) started: Instant,
    pub(crate) regions: BTreeMap<Region, RegionState>,
    pub(crate) accounts: BTreeMap<AccountId, Account>,
    /// Owner alias → the accounts that carry it.
    pub(crate) aliases: BTreeMap<String, BTreeSet<AccountId>>,
    /// Instance types offered in every region.
    pub(crate) instance_types: BTreeMap<InstanceType, Vec<Architecture>>,
    /// Instance types offered only in some regions.
    pub(crate) regional_instance_types: BTreeMap<Region, BTreeMap<InstanceType, Vec<Architecture>>>,
    pub(crate) products: BTreeMap<String, MarketplaceProduct>,
    /// Offer entity id (`offer-…`) → the product entity id it prices.
    pub(crate) offers: BTreeMap<String, String>,
    pub(crate) change_sets: BTreeMap<String, ChangeSet>,
    /// (submitter, client request token) → change set id.
    pub(crate) change_set_tokens: HashMap<(AccountId, String), String>,
    /// Images waiting to become available, soonest first.
    pub(crate) pending: BinaryHeap<Reverse<(Instant, Region, AmiId)>>,
    /// Instances whose state moves on at a time (world time), soonest first; an entry may
    /// be stale (the instance moved on since), which settling ignores.
    pub(crate) instance_events: BinaryHeap<Reverse<(DateTime<Utc>, Region, InstanceId)>>,
    /// How a build's scripts run, per template (world file `builds`).
    pub(crate) builds: BTreeMap<String, crate::console::BuildBehaviour>,
    pub(crate) timings: Timings,
    pub(crate) next_id: u64,
}

impl WorldData {
    /// The world's wall-clock time: its start plus the time elapsed on tokio's clock.
    pub(crate) fn now_utc(&self, now: Instant) -> DateTime<Utc> {
        let elapsed = now.saturating_duration_since(self.started);
        later_by(self.start, elapsed)
    }

    /// Whether anything is due to change state at `now`.
    pub(crate) fn has_due(&self, now: Instant) -> bool {
        let now_utc = self.now_utc(now);
        self.pending
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
            || self
                .instance_events
                .peek()
                .is_some_and(|Reverse((at, _, _))| *at <= now_utc)
            || self
                .change_sets
                .values()
                .any(|c| !c.applied && c.failure.is_none() && self.change_set_due(c) <= now_utc)
    }

    /// The world's time when a change set succeeds.
    pub(crate) fn change_set_due(&self, change_set: &ChangeSet) -> DateTime<Utc> {
        let preparing_and_applying =
            self.timings.change_set_preparing + self.timings.change_set_applying;
        later_by(change_set.submitted, preparing_and_applying)
    }

    /// Moves every state change that is due at `now`: pending images become available,
    /// succeeded change sets take effect.
    pub(crate) fn settle(&mut self, now: Instant) {
        while let Some(Reverse((at, _, _))) = self.pending.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, region, id))) = self.pending.pop() else {
                break;
            };
            if let Some(stored) = self
                .regions
                .get_mut(&region)
                .and_then(|r| r.images.get_mut(&id))
                && stored.image.state == ImageState::Pending
            {
                stored.image.state = if stored.fails {
                    ImageState::Failed
                } else {
                    ImageState::Available
                };
                tracing::debug!(%region, image = %id, state = %stored.image.state, "pending image settled");
            }
        }
        let now_utc = self.now_utc(now);
        crate::lifecycle::settle_instances(self, now_utc);
        let due: Vec<String> = self
            .change_sets
            .iter()
            .filter(|(_, c)| !c.applied && c.failure.is_none() && self.change_set_due(c) <= now_utc)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(change_set) = self.change_sets.get_mut(&id) {
                change_set.applied = true;
                let change_set = change_set.clone();
                let released = self.change_set_due(&change_set);
                crate::marketplace::apply_change_set(self, &change_set.request, released);
            }
        }
    }

    /// Schedules a pending image to become available at `at`.
    pub(crate) fn schedule(&mut self, at: Instant, region: Region, id: AmiId) {
        self.pending.push(Reverse((at, region, id)));
    }

    /// A fresh id with `prefix`, never used in the world. Deterministic: the n-th id of a
    /// world is always the same, so tests and demos repeat.
    pub(crate) fn fresh_hex(&mut self) -> String {
        self.next_id += 1;
        // splitmix64: spreads consecutive counters over the id space.
        let mut z = self.next_id.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        format!("0{z:016x}")
    }

    pub(crate) fn fresh_image_id(&mut self) -> AmiId {
        loop {
            let candidate = format!("ami-{}", self.fresh_hex());
            if let Ok(id) = AmiId::new(candidate)
                && !self.regions.values().any(|r| r.images.contains_key(&id))
            {
                return id;
            }
        }
    }

    pub(crate) fn fresh_snapshot_id(&mut self) -> SnapshotId {
        loop {
            let candidate = format!("snap-{}", self.fresh_hex());
            if let Ok(id) = SnapshotId::new(candidate)
                && !self.regions.values().any(|r| r.snapshots.contains_key(&id))
            {
                return id;
            }
        }
    }

    pub(crate) fn fresh_group_id(&mut self) -> SecurityGroupId {
        loop {
            let candidate = format!("sg-{}", self.fresh_hex());
            if let Ok(id) = SecurityGroupId::new(candidate)
                && !self
                    .regions
                    .values()
                    .any(|r| r.security_groups.contains_key(&id))
            {
                return id;
            }
        }
    }

    pub(crate) fn fresh_instance_id(&mut self) -> InstanceId {
        loop {
            let candidate = format!("i-{}", self.fresh_hex());
            if let Ok(id) = InstanceId::new(candidate)
                && !self.regions.values().any(|r| r.instances.contains_key(&id))
            {
                return id;
            }
        }
    }

    /// The identity of an account, known to the world or not.
    pub(crate) fn identity_of(&self, account: &AccountId) -> CallerIdentity {
        self.accounts
            .get(account)
            .cloned()
            .unwrap_or_else(|| Account::new(account.clone()))
            .identity()
    }

    /// The owner alias EC2 reports for an account's images, if it has one.
    pub(crate) fn alias_of(&self, account: &AccountId) -> Option<String> {
        self.accounts
            .get(account)
            .and_then(|a| a.alias.clone())
            .or_else(|| {
                self.aliases
                    .iter()
                    .find(|(_, accounts)| accounts.contains(account))
                    .map(|(alias, _)| alias.clone())
            })
    }

    /// The instance types offered in `region` and their architectures.
    pub(crate) fn offered(&self, region: &Region, t: &InstanceType) -> Option<&Vec<Architecture>> {
        self.regional_instance_types
            .get(region)
            .and_then(|m| m.get(t))
            .or_else(|| self.instance_types.get(t))
    }
}
