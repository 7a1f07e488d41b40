//! # amiref-memory
//!
//! An in-process cloud with EC2's semantics: amiref's embedded default, the project's
//! SQLite. [`MemoryCloud`] implements every port of `amiref-core` (`ImageCatalog`,
//! `ImageStore`, `Marketplace`, `MarketplacePublisher`, `Identity`, `InstanceTypes`,
//! `Instances`, `AccountSettings`, `Parameters`, `ImageGovernance`, and a build's
//! `InstanceControl`, `SecurityGroups` and `ParameterStore`), so the launcher runs with no
//! AWS account and the
//! resolver and the build are tested without a network. It passes the same conformance suites (`amiref-testkit`) as the AWS
//! implementation.
//!
//! ```
//! use amiref_core::{ImageCatalog, ImageFilter, Owner};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = amiref_memory::MemoryCloud::from_world_file("../../examples/worlds/demo.yaml")?;
//! let community: Owner = "111122223333".parse()?;
//! let filter = ImageFilter::owned_by([community]).name("cws-python-ml-2.1.0-*");
//! let found = cloud.search_images(&"us-east-1".parse()?, &filter).await?;
//! assert_eq!(found.len(), 2); // x86_64 and arm64; never the stranger's look-alikes
//! # Ok(()) }
//! ```
//!
//! Time is tokio's, so a test on a paused clock watches a copy go from pending to available,
//! and counts the calls it took:
//!
//! ```
//! use amiref_core::{CopyImageRequest, ImageState, ImageStore};
//! use amiref_memory::{MemoryCloud, op};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = MemoryCloud::from_world_file("../../examples/worlds/demo.yaml")?;
//! let (from, to) = ("ap-southeast-1".parse()?, "ap-south-1".parse()?);
//! let request = CopyImageRequest::new(from, "ami-0a5e123456789def0".parse()?, to, "python-ml", "token-1");
//! let copy = cloud.copy_image(&request).await?;
//! assert_eq!(cloud.copy_image(&request).await?, copy, "same client token, same copy");
//! let state = |c: &MemoryCloud| c.inspect_image(&request.destination_region, &copy).map(|i| i.state);
//! assert_eq!(state(&cloud), Some(ImageState::Pending));
//! tokio::time::sleep(std::time::Duration::from_secs(5 * 60)).await; // instant when paused
//! assert_eq!(state(&cloud), Some(ImageState::Available));
//! assert_eq!(cloud.counters().get(op::COPY_IMAGE, Some(&request.destination_region)), 2);
//! # Ok(()) }
//! ```
//!
//! A build's wrapped script "runs" on an instance for its template's simulated time, then
//! its completion marker is on the serial console:
//!
//! ```
//! use amiref_core::completion::{Completion, ScriptHeader, ScriptStage, wrap_script};
//! use amiref_core::{InstanceControl, Instances, RunInstanceRequest};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = amiref_memory::MemoryCloud::from_world_file("../../examples/worlds/demo.yaml")?;
//! let header = ScriptHeader::new("python-ml", "build-1", ScriptStage::Provision);
//! let mut launch = RunInstanceRequest::new("ami-0123456789abcdef0".parse()?, "m6i.large".parse()?);
//! launch.user_data = Some(wrap_script("#!/bin/bash\npip install torch\n", &header)?);
//! let region = "us-east-1".parse()?;
//! let builder = cloud.run_instance(&region, &launch).await?;
//! tokio::time::sleep(std::time::Duration::from_secs(7 * 60)).await; // boot, then 6m (builds)
//! let console = cloud.console_output(&region, &builder).await?.text.unwrap_or_default();
//! let done = Completion::find(&console, "build-1", ScriptStage::Provision);
//! assert!(done.is_some_and(|d| d.succeeded()));
//! # Ok(()) }
//! ```
//!
//! ## What it models
//!
//! - **Worlds**: regions holding images (owners, owner aliases, launch permissions by
//!   account, organization, OU or public, tags, product codes, block devices and their
//!   snapshots), instances, launch templates, Marketplace products, instance types and
//!   their offerings per region, the account's Allowed AMIs setting and SSM parameters per
//!   region, and accounts with their organizations. Written in YAML ([`MemoryCloud::from_world_file`],
//!   format in docs/worlds.md) or in code ([`MemoryCloud::builder`]).
//! - **Visibility follows the caller**: an image is seen by its owner, by everyone when
//!   public, and by the accounts, organizations and OUs it is shared with.
//!   [`MemoryCloud::as_account`] calls as someone else on the same world.
//! - **Time is tokio's**: pending images become available, and change sets move from
//!   Preparing to Applying to Succeeded, after set durations on tokio's clock; the world's
//!   wall-clock "now" (for deprecation) is its start time plus tokio's elapsed time. Tests
//!   run on a paused clock (`#[tokio::test(start_paused = true)]`) and are deterministic.
//! - **EC2's refusals**: copying another account's image that carries a billing product
//!   (usage operation or platform details other than plain Linux's) or a Marketplace code,
//!   that is encrypted with a key not shared with the caller, or that is shared without
//!   create-volume permission on its snapshots; launching an image on an instance type of
//!   another architecture or not offered in the region, or one the Allowed AMIs setting
//!   blocks; duplicate image names, searches without owners; each with EC2's error code.
//! - **Allowed AMIs**: while a region's setting is `enabled`, images it does not allow are
//!   not discoverable (the caller's own always are); in `audit-mode`, every described
//!   image says whether it would be allowed (`image_allowed`).
//! - **A world that remembers**: [`MemoryCloud::to_world`] writes the whole running world
//!   back as a world file ([`WorldDocument`]) that loads into the same world, and
//!   [`WorldState`] keeps a world between commands in a state directory, under a lock,
//!   saved atomically, with its clock, refusing to mix a changed world file with its old
//!   state (docs/worlds.md, "A world that remembers").
//! - **A build host**: instances boot, stop and terminate over tokio time; the serial
//!   console shows their boot, and a build's wrapped user data "runs" for a simulated time
//!   per template ([`BuildBehaviour`], the world file's `builds`) and then writes its
//!   completion marker; security groups in each region's default VPC (or declared
//!   subnets' VPCs); SSM parameters with their history; image ancestry. A build's tests
//!   count what an account holds with [`MemoryCloud::inventory`].
//! - **Governance** (`ImageGovernance`): deregistration protection with EC2's 24-hour
//!   cooldown, disabled images (private, hidden unless asked for, not launchable),
//!   LastLaunchedTime moved by every launch, ImdsSupport, DescribeImageReferences
//!   (instances, launch templates' default and latest versions, SSM parameters, Image
//!   Builder recipes; 10 ids a call), the Recycle Bin's retention rules keeping deregistered
//!   images and deleted snapshots ([`MemoryCloud::recycle_bin`]), public snapshots under
//!   snapshot block public access, and time-based copies; all settable in world files.
//! - **Knobs** for tests and benchmarks: latency per call, EC2's token-bucket throttling
//!   ([`Throttling::ec2`]), injected faults (a region down, the next N calls of an operation
//!   failing, images that end `failed`, launches that never boot) and [`Counters`] of calls
//!   per operation and region.
//!
//! ## Design choices
//!
//! - One `RwLock` over the world and one `Mutex` over the knobs; neither is held across an
//!   `.await`, so latency sleeps never block other calls.
//! - Images are indexed by region, then by owner, then by name: a search reads only the
//!   images of the owners it names (a search must name owners) whose names start with its
//!   pattern's literal prefix, and clones only what it returns. Over 100,000 images a
//!   search answers in milliseconds (`benches/search.rs`).
//! - A search is paged as EC2 pages it (1000 per page by default): each page is a counted,
//!   throttled DescribeImages call, so benchmarks see the calls a real account would make.
//! - State changes that are due are applied lazily at the start of the next call (a heap
//!   ordered by due time), so no background task is needed and nothing runs between calls.
//! - Ids are minted deterministically (the n-th id of a world is always the same), so demos
//!   and tests repeat exactly.
//! - YAML is confined to the `world` module, and read through amiref-yaml (so every shape
//!   error is located at its line and column); the builder is the single place where a
//!   world's rules are checked, whether it comes from a file, a saved state or code.

mod builder;
mod catalog;
mod cloud;
mod compute;
mod console;
mod error;
mod governance;
mod inventory;
mod knobs;
mod lifecycle;
mod marketplace;
mod network;
mod parameter_store;
mod recycle;
mod saved;
mod settings;
mod state;
mod store;
mod tagging;
mod templates;
mod world;

pub use builder::{
    DEFAULT_CALLER, IMAGE_DATA_TYPE, ImageSeed, InstanceSeed, MemoryCloudBuilder,
    PAID_PLATFORM_DETAILS, PAID_USAGE_OPERATION, SnapshotSeed,
};
pub use cloud::MemoryCloud;
pub use console::{BuildBehaviour, DEFAULT_PROVISION_RUN, DEFAULT_TEST_RUN, ScriptBehaviour};
pub use error::WorldError;
pub use governance::{REFERENCE_IDS_PER_CALL, REFERENCES_PER_PAGE, TEMPLATE_VERSIONS_PER_PAGE};
pub use inventory::Inventory;
pub use knobs::{Counters, RateLimit, Throttling, op};
pub use recycle::{RecycleBin, RecycledImage, RecycledSnapshot};
pub use saved::{
    StateError, WorldState, default_state_dir, default_state_dir_from, world_state_dir,
};
pub use state::{Account, LaunchSettings, Timings};
pub use templates::{LaunchTemplateSeed, RecipeSeed};
pub use world::{WorldBuilder, WorldDocument};
