//! # amiref-testkit
//!
//! Conformance suites every implementation of amiref's ports must pass, and the fixture they
//! run against. Modelled on object_store's `integration.rs`: each suite is an async function
//! taking the port as a trait object, so one suite checks `amiref-memory`, `amiref-aws`
//! against the EC2 emulator, and any future backend alike.
//!
//! ```no_run
//! # async fn demo(cloud: &dyn amiref_core::Cloud) {
//! use amiref_testkit::{Capabilities, fixture};
//! let fixture = fixture::standard();
//! // ... seed the backend with fixture.world_json() or fixture.moto_amis_json() ...
//! let caps = Capabilities::ec2();
//! amiref_testkit::catalog::run(cloud, &fixture, &caps).await.assert_passed();
//! # }
//! ```
//!
//! ## Design choices
//!
//! - **Every check runs; the report lists them all.** A suite returns a [`Report`] of
//!   passed, skipped and failed checks instead of stopping at the first failure, so one run
//!   against a new backend shows everything it gets wrong. [`Report::assert_passed`] turns
//!   it into a test failure.
//! - **One fixture, two seed forms.** [`Fixture`] (from [`fixture::standard`]) is data: the
//!   in-process cloud is seeded with [`Fixture::world_json`] (its world format; JSON is
//!   YAML) and moto with [`Fixture::moto_amis_json`] (`MOTO_AMIS_PATH`). Checks compare only
//!   images named `fixture-*`, so a backend that holds other images too (moto's defaults,
//!   earlier runs) does not disturb them, and what a suite creates is named after
//!   [`Fixture::run_id`].
//! - **Capabilities skip, never weaken.** A backend that does not emulate a behaviour
//!   switches its flag off in [`Capabilities`]; the checks that need it are *skipped* for
//!   that backend (and reported as such) while still running against the others. No check
//!   accepts a wrong answer because of a flag.
//! - **No AWS crate here.** The kit depends on `amiref-core` only (plus tokio's clock), so
//!   it builds in seconds and every backend can use it.
//!
//! ## Suites and what each capability gates
//!
//! | suite | function | checks |
//! |---|---|---|
//! | catalog | [`catalog::run`] | describe by ids (missing absent, duplicates once), facts of a described image, owners required, named owners refused, owner account / self / several, name wildcards, architecture, tags, look-alike only under its owner, shared images visible |
//! | store | [`store::run`] (a whole `&dyn Cloud`) | copy lands (owner, name, architecture), copy of a missing image → NotFound, copy of an image shared with me, launch permissions add/remove idempotent, tags, deregister (then absent; missing → NotFound), create image from an instance (its architecture) and image usage |
//! | sharing | [`store::run_sharing`] | sharing with / unsharing from another account, public images |
//! | instances | [`instances::run`] | launch, missing image → NotFound |
//! | identity | [`identity::run`] | the caller's account and ARN |
//! | instance types | [`instance_types::run`] | architectures per type, unknown types absent, offerings (DescribeInstanceTypeOfferings) answer the offered types |
//! | snapshots | [`snapshots::run`] | create-volume access: own snapshots yes, unknown ones no, every asked snapshot answered once |
//! | settings | [`settings::run`] | the Allowed AMIs setting per region (default disabled) |
//! | parameters | [`parameters::run`] (a whole `&dyn Cloud`) | own parameter read (value, data type, version), absent names absent, more than 10 names in one ask, parameters are regional, AWS's public AL2023 parameter served |
//! | marketplace | [`marketplace::run`], [`marketplace::run_publisher`] | product versions and images, unknown product → NotFound; change sets idempotent by token, unknown → NotFound, progress to Succeeded |
//! | instance control | [`instance_control::run`] (a whole `&dyn Cloud`) | an instance boots to running; stop, then terminate, reach stopped and terminated (repeats are no error); unknown instances → NotFound (stop, terminate, console); tag filters on instances; the boot on the console; a wrapped script's marker; an image of an instance records its source |
//! | security groups | [`security_groups::run`] (a whole `&dyn Cloud`) | created and found by tags (regional), a name once per VPC (`InvalidGroup.Duplicate`), deleted (then NotFound), kept while in use (`DependencyViolation`), launches into unknown groups refused |
//! | parameter store | [`parameter_store::run`] (a whole `&dyn Cloud`) | versions from 1 (a repeat is a new version), no overwrite → InvalidRequest, history oldest first, image parameters, by path at any depth (children only), delete (then NotFound), image values checked, 100 versions kept |
//! | governance | [`governance::run`] (a whole `&dyn Cloud`) | deregistration protection refuses DeregisterImage (NotPermitted) until turned off, and with cooldown outlasts turning it off; a disabled image is hidden (searches and by id), private and not launchable, and enabling does not restore its permissions; only the owner disables; DeleteTags; references name the caller's instances; no Recycle Bin rules, no launch templates, snapshot block public access unblocked in the fixture's region; private snapshots are not public; CopyImageTags; completion durations checked; launches set LastLaunchedTime |
//!
//! | capability | gates |
//! |---|---|
//! | `pagination` | catalog: a search of more than 1000 images (fixture [`Fixture::with_bulk`]) comes back whole |
//! | `visibility` | catalog: a stranger's private image is invisible; store: only the owner may share; sharing suite |
//! | `cross_account` | sharing suite |
//! | `deprecation` | catalog: deprecated hidden unless asked, deprecation time reported; store: enable/disable deprecation. Without it, the deprecated fixture image is expected among the community's |
//! | `owner_aliases` | catalog: `Owner::Amazon` selects Amazon's images only |
//! | `marketplace_owner_alias` | catalog: `Owner::AwsMarketplace` finds Marketplace images |
//! | `product_codes` | catalog: product-code filter and reported codes |
//! | `pending_states` | catalog: pending hidden by default, `states` filter; store: copies and new images start pending; instances: a pending image is refused |
//! | `client_tokens` | store: copy idempotency; instances: launch idempotency |
//! | `copy_tags` | store: the copy carries the request's tags |
//! | `copy_refusals` | store: paid Marketplace and encrypted shared images cannot be copied (NotPermitted) |
//! | `name_uniqueness` | store: a second CreateImage with the same name → `InvalidAMIName.Duplicate` |
//! | `launch_validation` | instances: architecture mismatch → InvalidRequest (`InvalidParameterValue`), pending image refused |
//! | `block_public_access` | store: the region's block-public-access state is answered |
//! | `marketplace` | marketplace suites |
//! | `change_set_progress` | publisher: a change set reaches Succeeded |
//! | `snapshot_permissions` | snapshots: a shared image's snapshot answers by its create-volume permission; store: copying a shared image without it → AccessDenied; sharing: granting and revoking create-volume permission |
//! | `billing_details` | catalog: usage operation and platform details round trip; store: copying a shared image with a billing product → NotPermitted |
//! | `allowed_images` | settings suite |
//! | `seeded_offerings` | instance types: a type offered in one region only |
//! | `public_parameter_images` | parameters: AWS's public AL2023 parameter names a describable x86_64 image |
//! | `instance_lifecycle` | instance control: pending, stopping and shutting-down are seen; stopping a terminated instance → `IncorrectInstanceState` |
//! | `console_output` | instance control: the console answers text once the instance runs |
//! | `script_completion` | instance control: a wrapped script's completion marker reaches the console |
//! | `image_ancestry` | instance control: CreateImage records the instance's image and region as its source |
//! | `group_dependencies` | security groups: a group in use is refused deletion (`DependencyViolation`) until its instance is terminated |
//! | `network_validation` | security groups: a launch into an unknown group → NotFound |
//! | `image_parameter_checks` | parameter store: an `aws:ec2:image` value naming no image is refused at once (the in-process cloud; SSM drops it asynchronously) |
//! | `parameter_version_limit` | parameter store: 103 writes keep the last 100 versions |
//! | `deregistration_protection` | governance: protection with and without cooldown |
//! | `disable_image` | governance: disabling and enabling; with `visibility`, only the owner disables |
//! | `image_references` | governance: references of the caller's instances |
//! | `recycle_bin` | governance: ListRules answers the fixture region's (no) rules |
//! | `public_snapshots` | governance: the caller's private snapshots are not answered public |
//! | `snapshot_block_public_access` | governance: the fixture region's setting is unblocked |
//! | `launch_template_images` | governance: the fixture's (no) launch templates |
//! | `copy_image_tags` | governance: a copy takes the source's tags, the request's win |
//! | `time_based_copy` | governance: completion durations outside 15..=2880 or not a multiple of 15 refused; 15 copies |
//! | `last_launched` | governance: a launch sets LastLaunchedTime at once |
//!
//! Seeding: the in-process cloud takes everything from [`Fixture::world_json`]. moto takes
//! images from [`Fixture::moto_amis_json`], then [`Fixture::tags_to_apply`] (CreateTags) and
//! [`Fixture::parameters_to_put`] (SSM PutParameter with `DataType`); it serves AWS's public
//! parameters itself.

mod capabilities;
pub mod catalog;
pub mod fixture;
pub mod governance;
pub mod identity;
pub mod instance_control;
pub mod instance_types;
pub mod instances;
pub mod marketplace;
pub mod parameter_store;
pub mod parameters;
mod report;
pub mod security_groups;
pub mod settings;
pub mod snapshots;
pub mod store;
mod waiting;

pub use capabilities::Capabilities;
pub use fixture::{Fixture, FixtureImage};
pub use report::{CheckResult, Failure, Outcome, Report};

/// Runs every suite that a whole cloud answers (all but sharing and the publisher), merged
/// into one report.
pub async fn run_all(
    cloud: &dyn amiref_core::Cloud,
    fixture: &Fixture,
    caps: &Capabilities,
) -> Report {
    let mut report = Report::new("all");
    report.merge(catalog::run(cloud, fixture, caps).await);
    report.merge(identity::run(cloud, fixture, caps).await);
    report.merge(instance_types::run(cloud, fixture, caps).await);
    report.merge(instances::run(cloud, fixture, caps).await);
    report.merge(marketplace::run(cloud, fixture, caps).await);
    report.merge(snapshots::run(cloud, fixture, caps).await);
    report.merge(settings::run(cloud, fixture, caps).await);
    report.merge(parameters::run(cloud, fixture, caps).await);
    report.merge(store::run(cloud, fixture, caps).await);
    report.merge(instance_control::run(cloud, fixture, caps).await);
    report.merge(security_groups::run(cloud, fixture, caps).await);
    report.merge(parameter_store::run(cloud, fixture, caps).await);
    report.merge(governance::run(cloud, fixture, caps).await);
    report
}
