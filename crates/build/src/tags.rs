//! The tags a build puts on everything it makes.
//!
//! The cloud's tags are a build's only state: a re-run reads them to learn which stages are
//! done, and `amiref build --cleanup` reads them to find leftovers, so any host can resume or
//! clean up any build. The lineage tags (`amiref:template`, ...) are the lifecycle's
//! ([`amiref_lifecycle::tags`]); these are the build's own.

/// The build's id ([`BuildId`](crate::BuildId)): every resource a build makes carries it
/// (instances, security groups, images, snapshots).
pub const TAG_BUILD_ID: &str = "amiref:build-id";
/// What a resource is to its build: one of [`ROLE_BUILDER`], [`ROLE_TESTER`], [`ROLE_GROUP`],
/// [`ROLE_IMAGE`].
pub const TAG_BUILD_ROLE: &str = "amiref:build-role";
/// On a build's image: how far it got, one of [`STAGE_CAPTURED`], [`STAGE_TESTED`],
/// [`STAGE_DISTRIBUTED`].
pub const TAG_BUILD_STAGE: &str = "amiref:build-stage";
/// RFC 3339 time after which a temporary resource (a builder or tester instance, a temporary
/// security group, an image not yet tested) is a leftover that a sweep may remove.
pub const TAG_EXPIRES: &str = "amiref:expires";
/// The base image the build booted.
pub const TAG_BASE_IMAGE: &str = "amiref:base-image";
/// The build fingerprint: covers `user_data`, the base image choice, `build.test` and the
/// instance types.
pub const TAG_BUILD_FINGERPRINT: &str = "amiref:build-fingerprint";
/// On a tested image: the measured script provisioning time, launch to completion marker,
/// in whole seconds.
pub const TAG_SCRIPT_READY_SECONDS: &str = "amiref:script-ready-seconds";
/// On a tested image: the measured time to ready of an instance launched from the image,
/// launch to completion marker, in whole seconds.
pub const TAG_IMAGE_READY_SECONDS: &str = "amiref:image-ready-seconds";
/// On a builder instance: which launch attempt of the build it is (1, 2, ...). Part of the
/// launch's client token, so a retry after a failed attempt gets a new instance rather than
/// the terminated one the old token names.
pub const TAG_BUILD_ATTEMPT: &str = "amiref:build-attempt";

/// Role of the instance that runs the template's `user_data`.
pub const ROLE_BUILDER: &str = "builder";
/// Role of the instance launched from the new image to test it.
pub const ROLE_TESTER: &str = "tester";
/// Role of the build's temporary security group.
pub const ROLE_GROUP: &str = "group";
/// Role of the image (and its snapshots) the build captures.
pub const ROLE_IMAGE: &str = "image";

/// The image is captured but not yet tested: temporary, expires.
pub const STAGE_CAPTURED: &str = "captured";
/// The image passed its test: kept, no expiry.
pub const STAGE_TESTED: &str = "tested";
/// The image was distributed to every region of the build.
pub const STAGE_DISTRIBUTED: &str = "distributed";

/// On a tested image: when its test passed (RFC 3339), so a resumed build reports the
/// first run's time.
pub const TAG_TESTED_AT: &str = "amiref:tested-at";
