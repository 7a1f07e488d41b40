//! # amiref-template
//!
//! The template format: a machine template with an `ami_config` block that says how to find a
//! pre-built image for it, and what to do when there is none.

mod duration;
mod model;

pub use duration::{DURATION_EXPECTED, DurationError, HumanDuration};
pub use model::{
    AmiConfig, AmiSearch, AmiStrategy, FallbackStrategy, MarketplaceSearch, OneOrMany, Template,
};
