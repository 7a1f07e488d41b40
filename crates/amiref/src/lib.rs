//! # amiref
//!
//! Resolve, build and share EC2 images for research-computing templates: one dependency
//! for the crates amiref is made of.
//!
//! - [`session`]: the workflow layer every frontend builds on: a [`session::Session`]
//!   built from configuration (`SessionBuilder::from_env()`, `with_*`, `build()`), launch
//!   plans, availability, listings, community sharing and every lifecycle operation, each
//!   returning a typed report;
//! - [`report`]: the one output layer: every report as human text or one JSON document,
//!   with a JSON Schema per report;
//! - the resolver ([`Resolver`] and its types, re-exported at the root from
//!   `amiref-resolver`): which image to launch for a template and a region, tier by tier;
//! - [`core`], [`template`], [`regions`], [`strategies`], [`registry`], [`lifecycle`],
//!   [`layers`] (retry, counting, the waiter), [`yaml`], and the in-process cloud
//!   [`memory`], the embedded default.
//!
//! The AWS implementation is behind the `aws` feature, so the default build links no AWS
//! SDK.
//!
//! ```no_run
//! # async fn demo(cloud: std::sync::Arc<dyn amiref::core::Cloud>, template: amiref::template::Template)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let resolver = amiref::Resolver::builder().cloud(cloud).build()?;
//! let region = "us-east-1".parse()?;
//! let resolution = resolver.resolve(&template, &region).await?;
//! println!("{} via {}", resolution.image.id, resolution.method);
//! # Ok(()) }
//! ```

pub use amiref_resolver::*;

/// The crates the facade composes, re-exported so that one dependency is enough.
pub use amiref_core as core;
pub use amiref_layers as layers;
pub use amiref_lifecycle as lifecycle;
pub use amiref_memory as memory;
pub use amiref_regions as regions;
pub use amiref_registry as registry;
pub use amiref_report as report;
pub use amiref_session as session;
pub use amiref_strategies as strategies;
pub use amiref_template as template;
pub use amiref_yaml as yaml;
