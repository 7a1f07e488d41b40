//! Building a world in code: [`MemoryCloudBuilder`] and the seeds it takes.
//!
//! The YAML loader builds its worlds through this builder too, so a world has one set of
//! rules whether it is written in a file or in a test.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, Architecture, BlockDevice, Image, ImageState, InstanceId, InstanceType,
    LaunchPermission, MarketplaceProduct, Region,
};
use chrono::{DateTime, TimeZone, Utc};
use tokio::time::Instant;

use crate::WorldError;
use crate::cloud::{MemoryCloud, Shared};
use crate::knobs::{Knobs, Throttling};
use crate::state::{
    Account, Instance, InstanceState, LaunchTemplate, RegionState, Snapshot, StoredImage, Timings,
    WorldState,
};

/// An image to put in the world, with what EC2 keeps beside the image record.
#[derive(Debug, Clone)]
pub struct ImageSeed {
    image: Image,
    launch_permissions: Vec<LaunchPermission>,
    paid: bool,
    available_after: Option<Duration>,
    volume_permissions: Option<Vec<AccountId>>,
    root_volume: Option<(u32, bool)>,
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
            root_volume: None,
        }
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
    #[must_use]
    pub fn paid(mut self, paid: bool) -> Self {
        self.paid = paid;
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
}

/// An instance running in the world from the start (something to create images from).
#[derive(Debug, Clone)]
pub struct InstanceSeed {
    id: InstanceId,
    region: Region,
    image: AmiId,
    instance_type: InstanceType,
    owner: Option<AccountId>,
    running: bool,
}

impl InstanceSeed {
    /// A running instance of the caller's, launched from `image`.
    pub fn new(id: InstanceId, region: Region, image: AmiId, instance_type: InstanceType) -> Self {
        Self {
            id,
            region,
            image,
            instance_type,
            owner: None,
            running: true,
        }
    }

    /// Makes it another account's.
    #[must_use]
    pub fn owner(mut self, owner: AccountId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Makes it terminated (it no longer counts as using its image).
    #[must_use]
    pub fn terminated(mut self) -> Self {
        self.running = false;
        self
    }
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
    start: DateTime<Utc>,
    caller: Option<AccountId>,
    accounts: Vec<Account>,
    regions: BTreeSet<Region>,
    block_public_access: BTreeSet<Region>,
    instance_types: Vec<(InstanceType, Vec<Architecture>, Option<Vec<Region>>)>,
    images: Vec<ImageSeed>,
    instances: Vec<InstanceSeed>,
    launch_templates: Vec<(Region, AccountId, String, AmiId)>,
    products: Vec<MarketplaceProduct>,
    timings: Timings,
    latency: Duration,
    operation_latency: HashMap<String, Duration>,
    region_latency: HashMap<Region, Duration>,
    throttling: Option<Throttling>,
    regions_down: BTreeSet<Region>,
    page_size: usize,
}

/// The caller of a world that names none: moto's default account.
pub const DEFAULT_CALLER: &str = "123456789012";

impl Default for MemoryCloudBuilder {
    fn default() -> Self {
        Self {
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
            instances: Vec::new(),
            launch_templates: Vec::new(),
            products: Vec::new(),
            timings: Timings::default(),
            latency: Duration::ZERO,
            operation_latency: HashMap::new(),
            region_latency: HashMap::new(),
            throttling: None,
            regions_down: BTreeSet::new(),
            page_size: 1000,
        }
    }
}

impl MemoryCloudBuilder {
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

    /// Adds an instance.
    pub fn instance(mut self, seed: InstanceSeed) -> Self {
        self.instances.push(seed);
        self
    }

    /// Adds a launch template of `owner`'s whose default version names `image`.
    pub fn launch_template(
        mut self,
        region: Region,
        owner: AccountId,
        name: impl Into<String>,
        image: AmiId,
    ) -> Self {
        self.launch_templates
            .push((region, owner, name.into(), image));
        self
    }

    /// Adds a Marketplace product; every image its versions name must be in the world.
    pub fn product(mut self, product: MarketplaceProduct) -> Self {
        self.products.push(product);
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

    /// Assembles the world, checking that it holds together.
    pub fn build(self) -> Result<MemoryCloud, WorldError> {
        let started = Instant::now();
        let caller = match self.caller {
            Some(c) => c,
            None => AccountId::new(DEFAULT_CALLER)
                .map_err(|e| WorldError::invalid("caller", e.found, e.expected))?,
        };
        let mut world = WorldState {
            start: self.start,
            started,
            regions: BTreeMap::new(),
            accounts: BTreeMap::new(),
            aliases: BTreeMap::new(),
            instance_types: BTreeMap::new(),
            regional_instance_types: BTreeMap::new(),
            products: BTreeMap::new(),
            change_sets: BTreeMap::new(),
            change_set_tokens: HashMap::new(),
            pending: BinaryHeap::new(),
            timings: self.timings,
            next_id: 0,
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
        for seed in self.images {
            add_image(&mut world, seed, started)?;
        }
        let world_offered: HashMap<(Region, InstanceType), Vec<Architecture>> = self
            .instances
            .iter()
            .filter_map(|seed| {
                let key = (seed.region.clone(), seed.instance_type.clone());
                world
                    .offered(&key.0, &key.1)
                    .map(|archs| (key, archs.clone()))
            })
            .collect();
        for seed in self.instances {
            let field = format!("instances[{}]", seed.id);
            let owner = seed.owner.unwrap_or_else(|| caller.clone());
            let region = world.regions.entry(seed.region.clone()).or_default();
            let Some(source) = region.images.get(&seed.image) else {
                return Err(WorldError::invalid(
                    format!("{field}.image"),
                    seed.image.as_str(),
                    format!("an image defined in {}", seed.region),
                ));
            };
            match world_offered.get(&(seed.region.clone(), seed.instance_type.clone())) {
                Some(archs) if archs.contains(&source.image.architecture) => {}
                Some(_) => {
                    return Err(WorldError::invalid(
                        format!("{field}.instance_type"),
                        seed.instance_type.as_str(),
                        format!(
                            "an instance type that runs {} images like {}",
                            source.image.architecture, seed.image
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
            if region.instances.contains_key(&seed.id) {
                return Err(WorldError::invalid(
                    format!("{field}.id"),
                    seed.id.as_str(),
                    "each instance id once",
                ));
            }
            let instance = Instance {
                owner,
                image: seed.image.clone(),
                architecture: source.image.architecture,
                root_volume_gib: source.image.root_volume_size_gib().unwrap_or(8),
                state: if seed.running {
                    InstanceState::Running
                } else {
                    InstanceState::Terminated
                },
            };
            region.instances.insert(seed.id, instance);
        }
        for (region, owner, name, image) in self.launch_templates {
            let state = world.regions.entry(region.clone()).or_default();
            if !state.images.contains_key(&image) {
                return Err(WorldError::invalid(
                    format!("launch_templates[{name}].image"),
                    image.as_str(),
                    format!("an image defined in {region}"),
                ));
            }
            state
                .launch_templates
                .push(LaunchTemplate { name, owner, image });
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

fn add_image(world: &mut WorldState, seed: ImageSeed, started: Instant) -> Result<(), WorldError> {
    let ImageSeed {
        mut image,
        launch_permissions,
        paid,
        available_after,
        volume_permissions,
        root_volume,
    } = seed;
    let field = format!("images[{}]", image.id);
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
    if region.images.contains_key(&image.id) {
        return Err(WorldError::invalid(
            format!("{field}.id"),
            image.id.as_str(),
            format!("each image id once per region ({region_name})"),
        ));
    }
    if let Some(other) = region.image_named(&image.owner, &image.name) {
        return Err(WorldError::invalid(
            format!("{field}.name"),
            image.name.as_str(),
            format!(
                "a name unique per owner and region (already used by {other} in {region_name})"
            ),
        ));
    }
    for device in &image.block_devices {
        if let Some(snapshot) = &device.snapshot_id {
            region.snapshots.insert(
                snapshot.clone(),
                Snapshot {
                    owner: image.owner.clone(),
                    create_volume_permissions: volume_accounts.clone(),
                },
            );
        }
    }
    let id = image.id.clone();
    let pending = image.state == ImageState::Pending;
    region.insert_image(StoredImage {
        image,
        launch_permissions: permissions,
        paid,
    });
    if pending && let Some(after) = available_after {
        world.schedule(started + after, region_name, id);
    }
    Ok(())
}
