//! Building a world in code: [`MemoryCloudBuilder`] and the seeds it takes.
//!
//! The YAML loader builds its worlds through this builder too, so a world has one set of
//! rules whether it is written in a file or in a test.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesSettings, AmiId, Architecture, BlockDevice, Image, ImageState,
    InstanceId, InstanceState, InstanceType, LaunchPermission, MarketplaceProduct, Parameter,
    RecycleBinRule, Region, SecurityGroupId, SnapshotBlockPublicAccess, SnapshotId, SubnetId,
    VpcId,
};
use chrono::{DateTime, TimeZone, Utc};
use tokio::time::Instant;

use crate::WorldError;
use crate::cloud::{MemoryCloud, Shared};
use crate::console::BuildBehaviour;
use crate::knobs::{Knobs, Throttling};
use crate::network::StoredGroup;
use crate::state::{
    Account, ChangeSet, Instance, RegionState, Snapshot, StoredImage, StoredParameter, Timings,
    WorldData, is_public_parameter,
};
use crate::templates::{LaunchTemplateSeed, RecipeSeed};

/// The billing facts a seed marked [`ImageSeed::paid`] gets when it sets none itself: Red
/// Hat Enterprise Linux's, a typical billing product without a Marketplace code.
pub const PAID_USAGE_OPERATION: &str = "RunInstances:0010";
/// See [`PAID_USAGE_OPERATION`].
pub const PAID_PLATFORM_DETAILS: &str = "Red Hat Enterprise Linux";

/// The SSM data type of parameters whose value SSM checked to be an image id.
pub const IMAGE_DATA_TYPE: &str = "aws:ec2:image";

/// An image to put in the world, with what EC2 keeps beside the image record.
#[derive(Debug, Clone)]
pub struct ImageSeed {
    image: Image,
    launch_permissions: Vec<LaunchPermission>,
    paid: bool,
    available_after: Option<Duration>,
    volume_permissions: Option<Vec<AccountId>>,
    public_snapshots: bool,
    key_users: Vec<AccountId>,
    root_volume: Option<(u32, bool)>,
    fails: bool,
    recycled_until: Option<DateTime<Utc>>,
}

impl ImageSeed {
    /// Seeds `image` as it is. Its `public` flag becomes a public launch permission; an
    /// image without block devices gets an 8 GiB root volume backed by a fresh snapshot.
    pub fn new(image: Image) -> Self {
        Self {
            image,
            launch_permissions: Vec::new(),
            paid: false,
            available_after: None,
            volume_permissions: None,
            public_snapshots: false,
            key_users: Vec::new(),
            root_volume: None,
            fails: false,
            recycled_until: None,
        }
    }

    /// Puts it in its region's Recycle Bin, deregistered, until `until` (when the Recycle
    /// Bin deletes it for good): it is not described, and
    /// [`MemoryCloud::recycle_bin`] lists it.
    #[must_use]
    pub fn recycled_until(mut self, until: DateTime<Utc>) -> Self {
        self.recycled_until = Some(until);
        self
    }

    /// Makes a pending image end `failed` instead of `available` when it is due (an image
    /// whose creation fails).
    #[must_use]
    pub fn fails(mut self, fails: bool) -> Self {
        self.fails = fails;
        self
    }

    /// Gives an image without block devices a root volume of this size, encrypted or not,
    /// backed by a fresh snapshot (the default is 8 GiB, unencrypted).
    #[must_use]
    pub fn root_volume(mut self, size_gib: u32, encrypted: bool) -> Self {
        self.root_volume = Some((size_gib, encrypted));
        self
    }

    /// Lets someone besides the owner launch it.
    #[must_use]
    pub fn launch_permission(mut self, permission: LaunchPermission) -> Self {
        self.launch_permissions.push(permission);
        self
    }

    /// Marks it as carrying a billing product (a paid Marketplace listing, Windows, RHEL):
    /// it can be launched by those allowed, but not copied by other accounts (neither can
    /// any AWS Marketplace image).
    ///
    /// Outside the Marketplace, a billing product is what EC2 reports as a usage operation
    /// other than `RunInstances` or platform details other than `Linux/UNIX`
    /// ([`Image::has_billing_product`]): an image that sets neither gets
    /// [`PAID_USAGE_OPERATION`] and [`PAID_PLATFORM_DETAILS`]; one that sets plain Linux's
    /// facts cannot also be paid (the build refuses it). An image whose facts already name
    /// a billing product is paid without this. A paid image with a Marketplace product code
    /// bills through the code and keeps the facts it has.
    #[must_use]
    pub fn paid(mut self, paid: bool) -> Self {
        self.paid = paid;
        self
    }

    /// Sets EC2's billing facts: the usage operation (`RunInstances`, `RunInstances:0002`
    /// for Windows, ...) and the platform details (`Linux/UNIX`, `Windows`, ...).
    #[must_use]
    pub fn billing(
        mut self,
        usage_operation: impl Into<String>,
        platform_details: impl Into<String>,
    ) -> Self {
        self.image.usage_operation = Some(usage_operation.into());
        self.image.platform_details = Some(platform_details.into());
        self
    }

    /// Gives everyone create-volume permission on its snapshots (`group: all`).
    #[must_use]
    pub fn public_snapshots(mut self, public: bool) -> Self {
        self.public_snapshots = public;
        self
    }

    /// The accounts besides the owner that may use the KMS key its encrypted snapshots are
    /// encrypted with (a customer managed key shared with them), which copying an encrypted
    /// image shared with them needs. By default no one: the default `aws/ebs` key cannot be
    /// shared.
    #[must_use]
    pub fn key_shared_with(mut self, accounts: impl IntoIterator<Item = AccountId>) -> Self {
        self.key_users = accounts.into_iter().collect();
        self
    }

    /// Starts it `pending`; it becomes `available` this long after the world starts.
    #[must_use]
    pub fn available_after(mut self, after: Duration) -> Self {
        self.image.state = ImageState::Pending;
        self.available_after = Some(after);
        self
    }

    /// The accounts with create-volume permission on its snapshots (what copying a shared
    /// image needs). By default, the accounts it is shared with.
    #[must_use]
    pub fn volume_permissions(mut self, accounts: impl IntoIterator<Item = AccountId>) -> Self {
        self.volume_permissions = Some(accounts.into_iter().collect());
        self
    }

    /// The image record.
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Whether it carries a billing product: marked [`ImageSeed::paid`], or its facts say
    /// so.
    pub fn is_paid(&self) -> bool {
        self.paid || self.image.has_billing_product()
    }
}

/// An instance in the world from the start (something to create images from).
#[derive(Debug, Clone)]
pub struct InstanceSeed {
    id: InstanceId,
    region: Region,
    image: AmiId,
    instance_type: InstanceType,
    owner: Option<AccountId>,
    state: InstanceState,
    launch_time: Option<DateTime<Utc>>,
    tags: BTreeMap<String, String>,
    architecture: Option<Architecture>,
    root_volume_gib: Option<u32>,
    billing: Option<(Option<String>, Option<String>)>,
    launch: Option<SeedLaunch>,
    life: InstanceLife,
}

/// What a seeded instance was launched with (a saved world's instances carry it).
#[derive(Debug, Clone, Default)]
pub(crate) struct SeedLaunch {
    pub(crate) user_data: Option<String>,
    pub(crate) require_imdsv2: bool,
    pub(crate) instance_profile: Option<String>,
    pub(crate) subnet: Option<amiref_core::SubnetId>,
    pub(crate) security_groups: Vec<amiref_core::SecurityGroupId>,
}

/// Where a seeded instance's life stands beyond its state (a saved world's instances carry
/// it): its next change, when it came up, when it was halted, when it is forgotten.
#[derive(Debug, Clone, Default)]
pub(crate) struct InstanceLife {
    pub(crate) next: Option<(DateTime<Utc>, InstanceState)>,
    pub(crate) running_since: Option<DateTime<Utc>>,
    pub(crate) halted_at: Option<DateTime<Utc>>,
    pub(crate) forget_at: Option<DateTime<Utc>>,
}

impl InstanceSeed {
    /// A running instance of the caller's, launched from `image` when the world starts. It
    /// takes its architecture, root volume size and billing facts from the image, which
    /// must then be in the world (see [`InstanceSeed::architecture`] for one that is not).
    pub fn new(id: InstanceId, region: Region, image: AmiId, instance_type: InstanceType) -> Self {
        Self {
            id,
            region,
            image,
            instance_type,
            owner: None,
            state: InstanceState::Running,
            launch_time: None,
            tags: BTreeMap::new(),
            architecture: None,
            root_volume_gib: None,
            billing: None,
            launch: None,
            life: InstanceLife::default(),
        }
    }

    /// What it was launched with, and where its life stands (a saved world's instance).
    pub(crate) fn saved(mut self, launch: SeedLaunch, life: InstanceLife) -> Self {
        self.launch = Some(launch);
        self.life = life;
        self
    }

    /// Makes it another account's.
    #[must_use]
    pub fn owner(mut self, owner: AccountId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Makes it terminated (it no longer counts as using its image).
    #[must_use]
    pub fn terminated(self) -> Self {
        self.state(InstanceState::Terminated)
    }

    /// Puts it in `state` (default running).
    #[must_use]
    pub fn state(mut self, state: InstanceState) -> Self {
        self.state = state;
        self
    }

    /// When it was launched (default: when the world starts).
    #[must_use]
    pub fn launch_time(mut self, at: DateTime<Utc>) -> Self {
        self.launch_time = Some(at);
        self
    }

    /// Tags it; the `Name` tag names it.
    #[must_use]
    pub fn tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// The architecture it runs. Without it, the image's; with it, the image need not be
    /// in the world (an instance outlives the image it was launched from).
    #[must_use]
    pub fn architecture(mut self, architecture: Architecture) -> Self {
        self.architecture = Some(architecture);
        self
    }

    /// Its root volume's size (default: the image's, else 8 GiB), which an image created
    /// from it gets.
    #[must_use]
    pub fn root_volume_gib(mut self, size_gib: u32) -> Self {
        self.root_volume_gib = Some(size_gib);
        self
    }

    /// The billing facts an image created from it inherits (default: its image's).
    #[must_use]
    pub fn billing(
        mut self,
        usage_operation: Option<String>,
        platform_details: Option<String>,
    ) -> Self {
        self.billing = Some((usage_operation, platform_details));
        self
    }
}

/// An EBS snapshot to put in the world with its permissions. An image's snapshots are made
/// for it (see [`ImageSeed`]); seed one here to give it permissions of its own, or to keep
/// a snapshot no image uses.
#[derive(Debug, Clone)]
pub struct SnapshotSeed {
    id: SnapshotId,
    region: Region,
    owner: Option<AccountId>,
    volume_permissions: Vec<AccountId>,
    public: bool,
    key_users: Vec<AccountId>,
    tags: BTreeMap<String, String>,
    recycled_until: Option<DateTime<Utc>>,
}

impl SnapshotSeed {
    /// A private snapshot of the caller's.
    pub fn new(id: SnapshotId, region: Region) -> Self {
        Self {
            id,
            region,
            owner: None,
            volume_permissions: Vec::new(),
            public: false,
            key_users: Vec::new(),
            tags: BTreeMap::new(),
            recycled_until: None,
        }
    }

    /// Puts it in its region's Recycle Bin, deleted, until `until`.
    #[must_use]
    pub fn recycled_until(mut self, until: DateTime<Utc>) -> Self {
        self.recycled_until = Some(until);
        self
    }

    /// Tags it.
    #[must_use]
    pub fn tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// Makes it another account's.
    #[must_use]
    pub fn owner(mut self, owner: AccountId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// The accounts with create-volume permission on it.
    #[must_use]
    pub fn volume_permissions(mut self, accounts: impl IntoIterator<Item = AccountId>) -> Self {
        self.volume_permissions = accounts.into_iter().collect();
        self
    }

    /// Gives everyone create-volume permission on it.
    #[must_use]
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// The accounts besides the owner that may use the KMS key it is encrypted with.
    #[must_use]
    pub fn key_shared_with(mut self, accounts: impl IntoIterator<Item = AccountId>) -> Self {
        self.key_users = accounts.into_iter().collect();
        self
    }
}

/// What an earlier run says of a parameter beyond the parameter itself.
#[derive(Debug, Clone)]
pub(crate) struct SavedParameter {
    /// Whose it is (default: the caller's); AWS's public parameters are no one's.
    pub(crate) owner: Option<AccountId>,
    /// Whether its value and data type are checked as SSM checks a new one.
    pub(crate) checked: bool,
    /// Its earlier versions, oldest first.
    pub(crate) history: Vec<Parameter>,
}

impl Default for SavedParameter {
    fn default() -> Self {
        Self {
            owner: None,
            checked: true,
            history: Vec::new(),
        }
    }
}

/// What a world carries over from an earlier run of it (a saved world): change sets in
/// flight, client tokens, and how many ids it has minted.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunState {
    pub(crate) change_sets: Vec<(String, ChangeSet)>,
    /// (region, caller, token, request fingerprint, copy).
    pub(crate) copy_tokens: Vec<(Region, AccountId, String, String, AmiId)>,
    /// (region, caller, token, instance).
    pub(crate) run_tokens: Vec<(Region, AccountId, String, InstanceId)>,
    pub(crate) ids_minted: u64,
}

/// Builds a [`MemoryCloud`]: the world's contents and the knobs' initial settings.
///
/// ```
/// use amiref_core::{AccountId, Architecture, Image, Region};
/// use amiref_memory::{ImageSeed, MemoryCloud};
///
/// let me: AccountId = "123456789012".parse()?;
/// let region: Region = "us-east-1".parse()?;
/// let image = Image::new(
///     "ami-0123456789abcdef0".parse()?, region, "my-image", me.clone(),
///     Architecture::X86_64, "2026-01-01T00:00:00Z".parse()?,
/// );
/// let cloud = MemoryCloud::builder()
///     .caller(me)
///     .image(ImageSeed::new(image))
///     .instance_type("t3.micro".parse()?, [Architecture::X86_64])
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryCloudBuilder {
    description: Option<String>,
    start: DateTime<Utc>,
    caller: Option<AccountId>,
    accounts: Vec<Account>,
    regions: BTreeSet<Region>,
    block_public_access: BTreeSet<Region>,
    instance_types: Vec<(InstanceType, Vec<Architecture>, Option<Vec<Region>>)>,
    images: Vec<ImageSeed>,
    snapshots: Vec<SnapshotSeed>,
    instances: Vec<InstanceSeed>,
    launch_templates: Vec<LaunchTemplateSeed>,
    recipes: Vec<RecipeSeed>,
    recycle_bin_rules: Vec<(Region, RecycleBinRule)>,
    snapshot_block_public_access: BTreeMap<Region, SnapshotBlockPublicAccess>,
    products: Vec<MarketplaceProduct>,
    offers: Vec<(String, String)>,
    allowed_images: BTreeMap<Region, AllowedImagesSettings>,
    parameters: Vec<(Region, Parameter, SavedParameter)>,
    builds: BTreeMap<String, BuildBehaviour>,
    subnets: Vec<(Region, SubnetId, VpcId)>,
    security_groups: Vec<(Region, SecurityGroupId, StoredGroup)>,
    timings: Timings,
    latency: Duration,
    operation_latency: HashMap<String, Duration>,
    region_latency: HashMap<Region, Duration>,
    throttling: Option<Throttling>,
    regions_down: BTreeSet<Region>,
    page_size: usize,
    run_state: RunState,
}

/// The caller of a world that names none: moto's default account.
pub const DEFAULT_CALLER: &str = "123456789012";

impl Default for MemoryCloudBuilder {
    fn default() -> Self {
        Self {
            description: None,
            start: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            caller: None,
            accounts: Vec::new(),
            regions: BTreeSet::new(),
            block_public_access: BTreeSet::new(),
            instance_types: Vec::new(),
            images: Vec::new(),
            snapshots: Vec::new(),
            instances: Vec::new(),
            launch_templates: Vec::new(),
            recipes: Vec::new(),
            recycle_bin_rules: Vec::new(),
            snapshot_block_public_access: BTreeMap::new(),
            products: Vec::new(),
            offers: Vec::new(),
            allowed_images: BTreeMap::new(),
            parameters: Vec::new(),
            builds: BTreeMap::new(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            timings: Timings::default(),
            latency: Duration::ZERO,
            operation_latency: HashMap::new(),
            region_latency: HashMap::new(),
            throttling: None,
            regions_down: BTreeSet::new(),
            page_size: 1000,
            run_state: RunState::default(),
        }
    }
}

impl MemoryCloudBuilder {
    /// Says what the world is, for people.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The world's wall-clock time when it is built (default 2026-01-01T00:00:00Z). The
    /// world's "now" is this plus the time elapsed on tokio's clock since, so deprecation
    /// is deterministic under a paused clock.
    pub fn start(mut self, start: DateTime<Utc>) -> Self {
        self.start = start;
        self
    }

    /// The account calls are made as (default `123456789012`, moto's default).
    pub fn caller(mut self, account: AccountId) -> Self {
        self.caller = Some(account);
        self
    }

    /// Describes an account: its user name, owner alias, organization and OUs.
    pub fn account(mut self, account: Account) -> Self {
        self.accounts.push(account);
        self
    }

    /// Declares a region (regions named by images, instances or products are declared
    /// implicitly; calls to undeclared regions see an empty region).
    pub fn region(mut self, region: Region) -> Self {
        self.regions.insert(region);
        self
    }

    /// Turns block-public-access for AMIs on in a region.
    pub fn block_public_access(mut self, region: Region) -> Self {
        self.block_public_access.insert(region.clone());
        self.regions.insert(region);
        self
    }

    /// Offers an instance type, running these architectures, in every region.
    pub fn instance_type(
        mut self,
        instance_type: InstanceType,
        architectures: impl IntoIterator<Item = Architecture>,
    ) -> Self {
        self.instance_types
            .push((instance_type, architectures.into_iter().collect(), None));
        self
    }

    /// Offers an instance type only in these regions.
    pub fn instance_type_in(
        mut self,
        instance_type: InstanceType,
        architectures: impl IntoIterator<Item = Architecture>,
        regions: impl IntoIterator<Item = Region>,
    ) -> Self {
        self.instance_types.push((
            instance_type,
            architectures.into_iter().collect(),
            Some(regions.into_iter().collect()),
        ));
        self
    }

    /// Adds an image.
    pub fn image(mut self, seed: ImageSeed) -> Self {
        self.images.push(seed);
        self
    }

    /// Adds images.
    pub fn images(mut self, seeds: impl IntoIterator<Item = ImageSeed>) -> Self {
        self.images.extend(seeds);
        self
    }

    /// Adds a snapshot with permissions of its own (see [`SnapshotSeed`]).
    pub fn snapshot(mut self, seed: SnapshotSeed) -> Self {
        self.snapshots.push(seed);
        self
    }

    /// Adds an instance.
    pub fn instance(mut self, seed: InstanceSeed) -> Self {
        self.instances.push(seed);
        self
    }

    /// Adds a launch template of `owner`'s whose default version names `image`.
    pub fn launch_template(
        self,
        region: Region,
        owner: AccountId,
        name: impl Into<String>,
        image: AmiId,
    ) -> Self {
        self.template(LaunchTemplateSeed::new(region, owner, name, image))
    }

    /// Adds a launch template with its id and versions ([`LaunchTemplateSeed`]).
    pub fn template(mut self, seed: LaunchTemplateSeed) -> Self {
        self.regions.insert(seed.region.clone());
        self.launch_templates.push(seed);
        self
    }

    /// Adds an EC2 Image Builder recipe whose parent image is an image id.
    pub fn recipe(mut self, seed: RecipeSeed) -> Self {
        self.regions.insert(seed.region.clone());
        self.recipes.push(seed);
        self
    }

    /// Adds a Recycle Bin retention rule in `region`: images deregistered (or snapshots
    /// deleted) there that it retains are kept for its retention period.
    pub fn recycle_bin_rule(mut self, region: Region, rule: RecycleBinRule) -> Self {
        self.regions.insert(region.clone());
        self.recycle_bin_rules.push((region, rule));
        self
    }

    /// Sets the account's block public access for snapshots in `region` (default
    /// `unblocked`).
    pub fn snapshot_block_public_access(
        mut self,
        region: Region,
        setting: SnapshotBlockPublicAccess,
    ) -> Self {
        self.regions.insert(region.clone());
        self.snapshot_block_public_access.insert(region, setting);
        self
    }

    /// Adds a Marketplace product; every image its versions name must be in the world.
    pub fn product(mut self, product: MarketplaceProduct) -> Self {
        self.products.push(product);
        self
    }

    /// Adds the public offer `offer_id` (`offer-…`) of the product `product_id`: the entity
    /// an `UpdatePricingTerms` change set prices.
    pub fn offer(mut self, product_id: impl Into<String>, offer_id: impl Into<String>) -> Self {
        self.offers.push((product_id.into(), offer_id.into()));
        self
    }

    /// Sets the account's Allowed AMIs setting in `region` (the default is `disabled`):
    /// while it is `enabled`, images it does not allow are not discoverable and cannot be
    /// launched; in `audit-mode`, described images say whether they would be allowed.
    pub fn allowed_images(mut self, region: Region, settings: AllowedImagesSettings) -> Self {
        self.allowed_images.insert(region.clone(), settings);
        self.regions.insert(region);
        self
    }

    /// Adds an SSM parameter in `region`. Names under `/aws/service/` are AWS's public
    /// parameters, which every account reads; others belong to the caller. A parameter of
    /// data type `aws:ec2:image` must name an image of the region, as SSM checks.
    pub fn parameter(mut self, region: Region, parameter: Parameter) -> Self {
        self.regions.insert(region.clone());
        self.parameters
            .push((region, parameter, SavedParameter::default()));
        self
    }

    /// Adds a parameter as an earlier run left it: whose it is, and whether to check its
    /// value (SSM checked it when it was put; its image may have gone since).
    pub(crate) fn saved_parameter(
        mut self,
        region: Region,
        parameter: Parameter,
        saved: SavedParameter,
    ) -> Self {
        self.regions.insert(region.clone());
        self.parameters.push((region, parameter, saved));
        self
    }

    /// How the build scripts of `template` run: how long its provisioning and test scripts
    /// take and how they end (templates not given succeed after
    /// [`crate::DEFAULT_PROVISION_RUN`] and [`crate::DEFAULT_TEST_RUN`]).
    pub fn build_behaviour(
        mut self,
        template: impl Into<String>,
        behaviour: BuildBehaviour,
    ) -> Self {
        self.builds.insert(template.into(), behaviour);
        self
    }

    /// Declares a subnet of `vpc` in `region` (which declares the VPC too), besides the
    /// region's default subnet ([`MemoryCloud::default_subnet`]).
    pub fn subnet(mut self, region: Region, subnet: SubnetId, vpc: VpcId) -> Self {
        self.regions.insert(region.clone());
        self.subnets.push((region, subnet, vpc));
        self
    }

    /// Adds a security group an earlier run created.
    pub(crate) fn security_group(
        mut self,
        region: Region,
        id: SecurityGroupId,
        group: StoredGroup,
    ) -> Self {
        self.regions.insert(region.clone());
        self.security_groups.push((region, id, group));
        self
    }

    /// How long slow operations take.
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Delays every call this long (on tokio's clock).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Delays calls of one operation (see [`crate::op`]) this long instead.
    pub fn operation_latency(mut self, operation: &str, latency: Duration) -> Self {
        self.operation_latency.insert(operation.to_owned(), latency);
        self
    }

    /// Adds this much latency to every call to `region` (on top of the operation's).
    pub fn region_latency(mut self, region: Region, latency: Duration) -> Self {
        self.region_latency.insert(region, latency);
        self
    }

    /// Throttles calls with token buckets ([`Throttling::ec2`] for EC2's).
    pub fn throttling(mut self, throttling: Throttling) -> Self {
        self.throttling = Some(throttling);
        self
    }

    /// Starts with `region` down: every call to it fails as unavailable.
    pub fn region_down(mut self, region: Region) -> Self {
        self.regions_down.insert(region);
        self
    }

    /// How many images one DescribeImages page holds (default 1000, EC2's maximum); each
    /// page of a search is one counted, throttled call.
    pub fn page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Carries over what an earlier run of the world left (a saved world).
    pub(crate) fn run_state(mut self, run_state: RunState) -> Self {
        self.run_state = run_state;
        self
    }

    /// Assembles the world, checking that it holds together.
    pub fn build(self) -> Result<MemoryCloud, WorldError> {
        let started = Instant::now();
        let caller = match self.caller {
            Some(c) => c,
            None => AccountId::new(DEFAULT_CALLER)
                .map_err(|e| WorldError::invalid("caller", e.found, e.expected))?,
        };
        let mut world = WorldData {
            description: self.description,
            caller: caller.clone(),
            start: self.start,
            started,
            regions: BTreeMap::new(),
            accounts: BTreeMap::new(),
            aliases: BTreeMap::new(),
            instance_types: BTreeMap::new(),
            regional_instance_types: BTreeMap::new(),
            products: BTreeMap::new(),
            offers: BTreeMap::new(),
            change_sets: BTreeMap::new(),
            change_set_tokens: HashMap::new(),
            pending: BinaryHeap::new(),
            instance_events: BinaryHeap::new(),
            builds: BTreeMap::new(),
            timings: self.timings,
            // Ids minted from here on continue the earlier run's sequence.
            next_id: self.run_state.ids_minted,
        };
        for region in &self.regions {
            world.regions.entry(region.clone()).or_default();
        }
        for region in &self.block_public_access {
            world
                .regions
                .entry(region.clone())
                .or_default()
                .block_public_access = true;
        }
        for account in self.accounts {
            if world.accounts.contains_key(&account.id) {
                return Err(WorldError::invalid(
                    "accounts[].id",
                    account.id.as_str(),
                    "each account described once",
                ));
            }
            if let Some(alias) = &account.alias {
                world
                    .aliases
                    .entry(alias.clone())
                    .or_default()
                    .insert(account.id.clone());
            }
            world.accounts.insert(account.id.clone(), account);
        }
        world
            .accounts
            .entry(caller.clone())
            .or_insert_with(|| Account::new(caller.clone()));
        for (t, archs, regions) in self.instance_types {
            if archs.is_empty() {
                return Err(WorldError::invalid(
                    format!("instance_types[{t}].architectures"),
                    "an empty list",
                    "at least one architecture",
                ));
            }
            match regions {
                None => {
                    world.instance_types.insert(t, archs);
                }
                Some(regions) => {
                    for r in regions {
                        world
                            .regional_instance_types
                            .entry(r)
                            .or_default()
                            .insert(t.clone(), archs.clone());
                    }
                }
            }
        }
        for seed in self.snapshots {
            add_snapshot(&mut world, &caller, seed)?;
        }
        for seed in self.images {
            add_image(&mut world, seed, started)?;
        }
        for (template, behaviour) in self.builds {
            check_template_name(&template)?;
            world.builds.insert(template, behaviour);
        }
        for (region, subnet, vpc) in self.subnets {
            add_subnet(&mut world, region, subnet, vpc)?;
        }
        for (region, id, group) in self.security_groups {
            add_group(&mut world, region, id, group)?;
        }
        for seed in self.instances {
            add_instance(&mut world, &caller, seed)?;
        }
        for seed in self.launch_templates {
            crate::templates::add_template(&mut world, seed)?;
        }
        for seed in self.recipes {
            crate::templates::add_recipe(&mut world, seed)?;
        }
        for (region, rule) in self.recycle_bin_rules {
            crate::recycle::add_rule(&mut world, region, rule)?;
        }
        for (region, setting) in self.snapshot_block_public_access {
            world
                .regions
                .entry(region)
                .or_default()
                .snapshot_block_public_access = setting;
        }
        for product in self.products {
            for version in &product.versions {
                for (region, image) in &version.images {
                    let known = world
                        .regions
                        .get(region)
                        .is_some_and(|r| r.images.contains_key(image));
                    if !known {
                        return Err(WorldError::invalid(
                            format!(
                                "products[{}].versions[{}].images.{region}",
                                product.product_code, version.version
                            ),
                            image.as_str(),
                            format!("an image defined in {region}"),
                        ));
                    }
                }
            }
            if world.products.contains_key(&product.product_code) {
                return Err(WorldError::invalid(
                    "products[].product_code",
                    product.product_code.as_str(),
                    "each product code once",
                ));
            }
            world.products.insert(product.product_code.clone(), product);
        }
        for (product_id, offer_id) in self.offers {
            if !world.products.values().any(|p| p.product_id == product_id) {
                return Err(WorldError::invalid(
                    format!("products[{product_id}].offers"),
                    offer_id.as_str(),
                    "an offer of a product defined in the world",
                ));
            }
            if world.offers.insert(offer_id.clone(), product_id).is_some() {
                return Err(WorldError::invalid(
                    "products[].offers",
                    offer_id.as_str(),
                    "each offer id once",
                ));
            }
        }
        for (region, settings) in self.allowed_images {
            check_allowed_images(&region, &settings)?;
            world.regions.entry(region).or_default().allowed_images = settings;
        }
        for (region, parameter, saved) in self.parameters {
            add_parameter(&mut world, &caller, region, parameter, saved)?;
        }
        restore_run_state(&mut world, self.run_state)?;
        let mut knobs = Knobs::default();
        knobs.latency = self.latency;
        knobs.operation_latency = self.operation_latency;
        knobs.region_latency = self.region_latency;
        knobs.regions_down = self.regions_down.into_iter().collect();
        knobs.set_throttling(self.throttling);
        Ok(MemoryCloud::from_shared(
            Arc::new(Shared {
                world: RwLock::new(world),
                knobs: Mutex::new(knobs),
                page_size: self.page_size,
            }),
            caller,
        ))
    }
}

/// A template name a build's script header can carry: not empty, no whitespace.
fn check_template_name(template: &str) -> Result<(), WorldError> {
    if template.is_empty() || template.chars().any(char::is_whitespace) {
        return Err(WorldError::invalid(
            format!("builds.{template}"),
            template,
            "a template name without whitespace (as a build's script header carries it)",
        ));
    }
    Ok(())
}

fn add_subnet(
    world: &mut WorldData,
    region: Region,
    subnet: SubnetId,
    vpc: VpcId,
) -> Result<(), WorldError> {
    let state = world.regions.entry(region.clone()).or_default();
    let taken =
        subnet == MemoryCloud::default_subnet(&region) || state.subnets.contains_key(&subnet);
    if taken {
        return Err(WorldError::invalid(
            format!("regions.{region}.subnets"),
            subnet.as_str(),
            format!(
                "each subnet id once per region (and not the default subnet, {})",
                MemoryCloud::default_subnet(&region)
            ),
        ));
    }
    state.subnets.insert(subnet, vpc);
    Ok(())
}

fn add_group(
    world: &mut WorldData,
    region: Region,
    id: SecurityGroupId,
    group: StoredGroup,
) -> Result<(), WorldError> {
    let field = format!("security_groups[{id}]");
    let state = world.regions.entry(region.clone()).or_default();
    if !state.has_vpc(&region, &group.vpc) {
        return Err(WorldError::invalid(
            format!("{field}.vpc"),
            group.vpc.as_str(),
            format!(
                "the default VPC of {region} or the VPC of a subnet `regions.{region}.subnets` declares"
            ),
        ));
    }
    let duplicate = state.security_groups.contains_key(&id)
        || id == MemoryCloud::default_security_group(&region)
        || state
            .security_groups
            .values()
            .any(|g| g.owner == group.owner && g.vpc == group.vpc && g.name == group.name);
    if duplicate {
        return Err(WorldError::invalid(
            field,
            id.as_str(),
            "each security group id once, and each name once per VPC and owner",
        ));
    }
    state.security_groups.insert(id, group);
    Ok(())
}

fn add_snapshot(
    world: &mut WorldData,
    caller: &AccountId,
    seed: SnapshotSeed,
) -> Result<(), WorldError> {
    let region = world.regions.entry(seed.region.clone()).or_default();
    if region.snapshots.contains_key(&seed.id) {
        return Err(WorldError::invalid(
            format!("snapshots[{}].id", seed.id),
            seed.id.as_str(),
            format!("each snapshot id once per region ({})", seed.region),
        ));
    }
    let snapshot = Snapshot {
        owner: seed.owner.unwrap_or_else(|| caller.clone()),
        create_volume_permissions: seed.volume_permissions.into_iter().collect(),
        public: seed.public,
        key_users: seed.key_users.into_iter().collect(),
        tags: seed.tags,
    };
    match seed.recycled_until {
        Some(until) => {
            region
                .recycle_bin
                .snapshots
                .insert(seed.id, (snapshot, until));
        }
        None => {
            region.snapshots.insert(seed.id, snapshot);
        }
    }
    Ok(())
}

fn add_instance(
    world: &mut WorldData,
    caller: &AccountId,
    seed: InstanceSeed,
) -> Result<(), WorldError> {
    let field = format!("instances[{}]", seed.id);
    let image = world
        .regions
        .get(&seed.region)
        .and_then(|r| r.images.get(&seed.image))
        .map(|s| &s.image);
    let architecture = match (seed.architecture, image) {
        (Some(architecture), _) => architecture,
        (None, Some(image)) => image.architecture,
        (None, None) => {
            return Err(WorldError::invalid(
                format!("{field}.image"),
                seed.image.as_str(),
                format!(
                    "an image defined in {}, or the instance's `architecture` (for an image deregistered since)",
                    seed.region
                ),
            ));
        }
    };
    match world.offered(&seed.region, &seed.instance_type) {
        Some(archs) if archs.contains(&architecture) => {}
        Some(_) => {
            return Err(WorldError::invalid(
                format!("{field}.instance_type"),
                seed.instance_type.as_str(),
                format!(
                    "an instance type that runs {architecture} images like {}",
                    seed.image
                ),
            ));
        }
        None => {
            return Err(WorldError::invalid(
                format!("{field}.instance_type"),
                seed.instance_type.as_str(),
                format!("an instance type offered in {}", seed.region),
            ));
        }
    }
    let (usage_operation, platform_details) = seed.billing.unwrap_or_else(|| {
        image.map_or((None, None), |i| {
            (i.usage_operation.clone(), i.platform_details.clone())
        })
    });
    let launch = seed.launch.unwrap_or_default();
    let owner = seed.owner.clone().unwrap_or_else(|| caller.clone());
    // EC2 keeps describing a terminated instance after its groups are deleted (a build
    // deletes its temporary group once its instances are gone): only a live instance's
    // network must still exist.
    if !seed.state.is_gone() {
        crate::network::check_launch_network(
        world.regions.get(&seed.region),
        &seed.region,
        &owner,
        launch.subnet.as_ref(),
        &launch.security_groups,
    )
    .map_err(|e| {
        WorldError::invalid(
            format!("{field}.security_groups"),
            e.message.clone(),
            "a subnet and security groups the region has (the default ones, or those `regions` and `security_groups` declare)",
        )
    })?;
    }
    let mut settings = crate::LaunchSettings::plain(&seed.region);
    settings.user_data = launch.user_data;
    settings.require_imdsv2 = launch.require_imdsv2;
    settings.instance_profile = launch.instance_profile;
    settings.security_groups = launch.security_groups;
    if let Some(subnet) = launch.subnet {
        settings.subnet = subnet;
    }
    let launch_time = seed.launch_time.unwrap_or(world.start);
    // An instance that is up (or stopping, or stopped) from the start has been up since
    // its launch, unless a saved world says when it came up.
    let has_run = matches!(
        seed.state,
        InstanceState::Running | InstanceState::Stopping | InstanceState::Stopped
    );
    let running_since = seed
        .life
        .running_since
        .or_else(|| has_run.then_some(launch_time));
    let instance = Instance {
        owner: seed.owner.unwrap_or_else(|| caller.clone()),
        image: seed.image.clone(),
        instance_type: seed.instance_type,
        architecture,
        root_volume_gib: seed
            .root_volume_gib
            .or_else(|| image.and_then(Image::root_volume_size_gib))
            .unwrap_or(8),
        state: seed.state,
        launch_time,
        tags: seed.tags,
        usage_operation,
        platform_details,
        launch: settings,
        next: seed.life.next,
        running_since,
        halted_at: seed.life.halted_at,
        forget_at: seed.life.forget_at,
    };
    let region = world.regions.entry(seed.region.clone()).or_default();
    if region.instances.contains_key(&seed.id) {
        return Err(WorldError::invalid(
            format!("{field}.id"),
            seed.id.as_str(),
            "each instance id once",
        ));
    }
    region.instances.insert(seed.id.clone(), instance);
    world.schedule_instance(&seed.region, &seed.id);
    Ok(())
}

/// Puts back what an earlier run left: its change sets (and their tokens) and its client
/// tokens.
fn restore_run_state(world: &mut WorldData, run_state: RunState) -> Result<(), WorldError> {
    for (id, change_set) in run_state.change_sets {
        let token = (
            change_set.caller.clone(),
            change_set.request.client_request_token.clone(),
        );
        if world.change_sets.contains_key(&id) || world.change_set_tokens.contains_key(&token) {
            return Err(WorldError::invalid(
                format!("change_sets[{id}]"),
                id.as_str(),
                "each change set id, and each client request token of an account, once",
            ));
        }
        world.change_set_tokens.insert(token, id.clone());
        world.change_sets.insert(id, change_set);
    }
    for (region, caller, token, fingerprint, image) in run_state.copy_tokens {
        let region = world.regions.entry(region).or_default();
        region
            .copy_tokens
            .insert((caller, token), (fingerprint, image));
    }
    for (region, caller, token, instance) in run_state.run_tokens {
        let region = world.regions.entry(region).or_default();
        region.run_tokens.insert((caller, token), instance);
    }
    Ok(())
}

fn add_image(world: &mut WorldData, seed: ImageSeed, started: Instant) -> Result<(), WorldError> {
    let ImageSeed {
        mut image,
        launch_permissions,
        paid,
        available_after,
        volume_permissions,
        public_snapshots,
        key_users,
        root_volume,
        fails,
        recycled_until,
    } = seed;
    let field = format!("images[{}]", image.id);
    // A paid Marketplace listing bills through its product code, which already makes it
    // uncopyable by others; any other paid image bills through its usage operation.
    if paid && !image.has_billing_product() && !image.is_marketplace() {
        if image.usage_operation.is_none() && image.platform_details.is_none() {
            image.usage_operation = Some(PAID_USAGE_OPERATION.to_owned());
            image.platform_details = Some(PAID_PLATFORM_DETAILS.to_owned());
        } else {
            return Err(WorldError::invalid(
                format!("{field}.paid"),
                image.usage_operation.as_deref().unwrap_or("RunInstances"),
                "a usage operation other than RunInstances or platform details other than Linux/UNIX on a paid image (a billing product is what those facts report)",
            ));
        }
    }
    // An owner's alias is the account's: from its description, from an earlier image of
    // it, or from this image, so that every image of an aliased account reports it.
    let known_alias = world.alias_of(&image.owner);
    match (known_alias, &image.owner_alias) {
        (Some(alias), _) => image.owner_alias = Some(alias),
        (None, Some(alias)) => {
            world
                .aliases
                .entry(alias.clone())
                .or_default()
                .insert(image.owner.clone());
        }
        (None, None) => {}
    }
    let mut permissions: BTreeSet<LaunchPermission> = launch_permissions.into_iter().collect();
    if image.public {
        permissions.insert(LaunchPermission::Public);
    }
    image.public = permissions.contains(&LaunchPermission::Public);
    if image.state == ImageState::Disabled && !permissions.is_empty() {
        return Err(WorldError::invalid(
            format!("{field}.state"),
            "disabled",
            "a disabled image shared with no one (EC2 removes every launch permission of a disabled image): drop `public` and `shared_with`",
        ));
    }
    let volume_accounts: BTreeSet<AccountId> = match volume_permissions {
        Some(accounts) => accounts.into_iter().collect(),
        None => permissions
            .iter()
            .filter_map(|p| match p {
                LaunchPermission::Account(a) => Some(a.clone()),
                _ => None,
            })
            .collect(),
    };
    if image.block_devices.is_empty() {
        let (size, encrypted) = root_volume.unwrap_or((8, false));
        let snapshot = world.fresh_snapshot_id();
        image.block_devices.push(BlockDevice {
            device_name: "/dev/xvda".to_owned(),
            snapshot_id: Some(snapshot),
            volume_size_gib: Some(size),
            encrypted,
        });
    }
    let region_name = image.region.clone();
    let region: &mut RegionState = world.regions.entry(region_name.clone()).or_default();
    if region.images.contains_key(&image.id) || region.recycle_bin.images.contains_key(&image.id) {
        return Err(WorldError::invalid(
            format!("{field}.id"),
            image.id.as_str(),
            format!("each image id once per region ({region_name})"),
        ));
    }
    // A deregistered image's name is free again, so one in the Recycle Bin may share it.
    if recycled_until.is_none()
        && let Some(other) = region.image_named(&image.owner, &image.name)
    {
        return Err(WorldError::invalid(
            format!("{field}.name"),
            image.name.as_str(),
            format!(
                "a name unique per owner and region (already used by {other} in {region_name})"
            ),
        ));
    }
    // A snapshot seeded with permissions of its own keeps them. A deregistered image's
    // snapshots are gone or seeded on their own (live, or in the Recycle Bin).
    let devices = if recycled_until.is_some() {
        &[][..]
    } else {
        &image.block_devices[..]
    };
    for device in devices {
        if let Some(snapshot) = &device.snapshot_id {
            region
                .snapshots
                .entry(snapshot.clone())
                .or_insert_with(|| Snapshot {
                    owner: image.owner.clone(),
                    create_volume_permissions: volume_accounts.clone(),
                    public: public_snapshots,
                    key_users: key_users.iter().cloned().collect(),
                    tags: BTreeMap::new(),
                });
        }
    }
    let id = image.id.clone();
    let pending = image.state == ImageState::Pending;
    let stored = StoredImage {
        image,
        launch_permissions: permissions,
        fails,
    };
    if let Some(until) = recycled_until {
        region.recycle_bin.images.insert(id, (stored, until));
        return Ok(());
    }
    region.insert_image(stored);
    if pending && let Some(after) = available_after {
        world.schedule(started + after, region_name, id);
    }
    Ok(())
}

fn add_parameter(
    world: &mut WorldData,
    caller: &AccountId,
    region: Region,
    mut parameter: Parameter,
    saved: SavedParameter,
) -> Result<(), WorldError> {
    let field = format!("parameters.{region}.{}", parameter.name);
    if parameter.version < 1 {
        return Err(WorldError::invalid(
            format!("{field}.version"),
            parameter.version.to_string(),
            "a version of 1 or more",
        ));
    }
    let data_type = parameter.data_type.get_or_insert_with(|| "text".to_owned());
    match data_type.as_str() {
        _ if !saved.checked => {}
        "text" => {}
        IMAGE_DATA_TYPE => {
            // SSM checks an image parameter's value: an image id the region holds.
            let known = AmiId::new(parameter.value.as_str()).ok().is_some_and(|id| {
                world
                    .regions
                    .get(&region)
                    .is_some_and(|r| r.images.contains_key(&id))
            });
            if !known {
                return Err(WorldError::invalid(
                    format!("{field}.value"),
                    parameter.value.as_str(),
                    format!("the id of an image defined in {region} (data type {IMAGE_DATA_TYPE})"),
                ));
            }
        }
        other => {
            return Err(WorldError::invalid(
                format!("{field}.data_type"),
                other,
                format!("text or {IMAGE_DATA_TYPE}"),
            ));
        }
    }
    if parameter.last_modified.is_none() {
        parameter.last_modified = Some(world.start);
    }
    let owner = (!is_public_parameter(&parameter.name))
        .then(|| saved.owner.unwrap_or_else(|| caller.clone()));
    let state = world.regions.entry(region).or_default();
    if state.parameters.contains_key(&parameter.name) {
        return Err(WorldError::invalid(
            field,
            parameter.name.as_str(),
            "each parameter name once per region",
        ));
    }
    check_history(&field, &parameter, &saved.history)?;
    state.parameters.insert(
        parameter.name.clone(),
        StoredParameter {
            parameter,
            history: saved.history,
            owner,
        },
    );
    Ok(())
}

/// A parameter's earlier versions must come before its latest, oldest first, and be no
/// more than SSM keeps.
fn check_history(field: &str, latest: &Parameter, history: &[Parameter]) -> Result<(), WorldError> {
    let max = crate::parameter_store::MAX_VERSIONS - 1;
    if history.len() > max {
        return Err(WorldError::invalid(
            format!("{field}.history"),
            format!("{} earlier versions", history.len()),
            format!("at most {max} (SSM keeps {} versions)", max + 1),
        ));
    }
    let mut versions: Vec<i64> = history.iter().map(|p| p.version).collect();
    versions.push(latest.version);
    if versions.windows(2).any(|w| w[0] >= w[1]) || versions[0] < 1 {
        return Err(WorldError::invalid(
            format!("{field}.history"),
            format!("versions {versions:?}"),
            "earlier versions of 1 or more, oldest first, each below the parameter's version",
        ));
    }
    Ok(())
}

/// EC2's limits on the Allowed AMIs criteria (ReplaceImageCriteriaInAllowedImagesSettings):
/// at most 10 criteria, each setting at least one condition, providers that EC2 knows.
fn check_allowed_images(
    region: &Region,
    settings: &AllowedImagesSettings,
) -> Result<(), WorldError> {
    const MAX_CRITERIA: usize = 10;
    let field = format!("regions.{region}.allowed_images.criteria");
    if settings.criteria.len() > MAX_CRITERIA {
        return Err(WorldError::invalid(
            field,
            format!("{} criteria", settings.criteria.len()),
            format!("at most {MAX_CRITERIA} criteria"),
        ));
    }
    for (i, c) in settings.criteria.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let empty = c.image_providers.is_empty()
            && c.image_names.is_empty()
            && c.marketplace_product_codes.is_empty()
            && c.maximum_days_since_created.is_none()
            && c.maximum_days_since_deprecated.is_none();
        if empty {
            return Err(WorldError::invalid(
                field,
                "a criterion with no condition",
                "at least one of image_providers, image_names, marketplace_product_codes, maximum_days_since_created, maximum_days_since_deprecated",
            ));
        }
        for provider in &c.image_providers {
            let known = matches!(
                provider.as_str(),
                "amazon" | "aws-marketplace" | "aws-backup-vault" | "none"
            ) || AccountId::new(provider.as_str()).is_ok();
            if !known {
                return Err(WorldError::invalid(
                    format!("{field}.image_providers"),
                    provider.as_str(),
                    "amazon, aws-marketplace, aws-backup-vault, none, or a 12-digit account id",
                ));
            }
        }
        if let Some(name) = c.image_names.iter().find(|n| n.is_empty() || n.len() > 128) {
            return Err(WorldError::invalid(
                format!("{field}.image_names"),
                name.as_str(),
                "an image name pattern of 1 to 128 characters",
            ));
        }
    }
    Ok(())
}
