//! # amiref-resolver
//!
//! Resolve, build and share EC2 images for research-computing templates.
//!
//! The [`Resolver`] decides, for a template and a region, which image (AMI) to launch, or
//! that none fits and the template's `user_data` script must provision a base image; it
//! explains the decision tier by tier, and estimates time and cost from a stated model.
//! Resolving changes nothing: a cross-region result is a copy plan, which
//! `amiref-lifecycle`'s one copy engine carries out (the session layer does it for a
//! launch).
//!
//! ```no_run
//! # async fn demo(cloud: std::sync::Arc<dyn amiref_core::Cloud>, template: amiref_template::Template)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let resolver = amiref_resolver::Resolver::builder().cloud(cloud).build()?;
//! let region = "us-east-1".parse()?;
//! let resolution = resolver.resolve(&template, &region).await?;
//! println!("{} via {}", resolution.image.id, resolution.method);
//! # Ok(()) }
//! ```
//!
//! ## Design choices
//!
//! - **Strategy semantics.** `ami_preferred` tries the image tiers (direct mapping, dynamic
//!   search, community registry, marketplace), then its `fallback_strategy`: `error` fails
//!   with the whole chain; `script_provisioning` boots the base image with `user_data`;
//!   `cross_region` plans a copy from the nearest region that has the image, and when the
//!   template also has `user_data`, the [`Workload`] chooses between the copy and the script
//!   (interactive: sooner usable; batch: cheaper); the other is kept as the alternative, and
//!   the script is the last resort when no region has the image. `ami_required` never runs
//!   the script (it may still plan a copy with a `cross_region` fallback) and fails with the
//!   chain. `ami_fallback` returns script provisioning with the best image as its
//!   [`Alternative`]; without a usable script, it takes the image.
//! - **One deadline.** `fallback_timeout` bounds the image tiers together, including the
//!   cross-region walk, on tokio's clock; a tier cut off is recorded as `timed_out` and the
//!   fallback follows (provisioning needs no image search deadline: it is the fallback).
//!   The tier's calls run under an `amiref_layers::Deadline`, so the retries of a cloud
//!   wrapped in `amiref_layers::Retrying` stop before it: a tier whose time the cloud's
//!   faults used up is recorded as `cut_off_by_faults`, with the fault, and the fallback
//!   follows.
//! - **Concurrency.** The cross-region walk starts together with the in-region tiers and is
//!   dropped if they find an image. [`Resolver::resolve_many`] describes every direct mapping
//!   of a region in one call. Identical concurrent resolutions share one flight, and results
//!   are cached (found and not found, each with its TTL) by template content, region and
//!   options; results that a failing call shaped are kept only briefly or not at all.
//! - **No side effects while resolving.** A cross-region result is a [`CopyPlan`]
//!   (`amiref_strategies::CopyPlan`) whose client token is the lifecycle's
//!   (`amiref_core::copy_client_token`), so the copy a launch makes and an `ami copy` of the
//!   same image share one image; after a copy lands, [`Resolver::forget_region`] drops the
//!   region's cached resolutions.
//! - **Estimates state their inputs** ([`EstimateModel`], [`InstancePrices`]): launch times
//!   per method, copy time from size and throughput, setup cost = hourly price x setup
//!   time, copy cost = size x transfer price + storage per month.
//! - **One crate of the facade.** `amiref` re-exports this crate with the others it
//!   composes; the AWS implementation is behind the `aws` feature, so the default build links
//!   no AWS SDK.
//! - Libraries emit tracing spans (`amiref.resolve`, `amiref.tier`) and
//!   never install a subscriber.

#[cfg(feature = "aws")]
mod aws;

mod builder;
mod cache;
mod error;
mod estimate;
mod facts;
mod resolution;
mod resolver;
pub mod telemetry;

/// The AWS cloud and the SDK configuration it is built from (feature `aws`).
#[cfg(feature = "aws")]
pub use amiref_aws::{AwsCloud, SdkConfig};
pub use amiref_core::{ResolutionMethod, ResolutionPorts, TierName};
pub use amiref_strategies::{
    CopyPlan, Find, FoundVia, Rejection, Skip, Strategy, TierFailure, TrustPolicy, Warning,
};
pub use builder::{Clock, ResolverBuilder, Workload, default_tiers};
pub use error::{BuildError, ResolveError, strategy_name};
pub use estimate::{
    EstimateModel, INSTANCE_PRICES_AS_OF, INSTANCE_PRICES_SOURCE, InstancePrices, PriceFileError,
};
pub use resolution::{
    Alternative, ChainEntry, CostOption, Estimate, NotTried, Outcome, Preview, Resolution,
};
pub use resolver::{ManyResolution, PreparedTemplate, ResolveOptions, Resolver};
