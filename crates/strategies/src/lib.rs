//! # amiref-strategies
//!
//! The tiers of an image resolution, each a [`Strategy`] that finds an image, skips with a
//! reason, or fails with an error:
//!
//! 1. [`DirectMapping`]: `ami_mappings[region]`, described and checked;
//! 2. [`DynamicSearch`]: `ami_search` over trusted owners, newest version first;
//! 3. [`CommunityRegistry`]: entries of the [`amiref_core::ImageRegistry`] port;
//! 4. [`Marketplace`]: the newest acceptable product version's image;
//! 5. [`CrossRegion`]: the tiers above in the fallback regions, concurrently, ending in a
//!    [`CopyPlan`];
//! 6. [`ScriptProvisioning`]: a base image plus the template's `user_data`.
//!
//! ## Design choices
//!
//! - **Tiers are independent and side-effect free.** Each reads the cloud through the ports
//!   and answers [`Attempt`]; the order, the deadline, the fallback and caching belong to the
//!   resolver (crate `amiref`), so a tier can be tested alone and run in any order (the dry
//!   run runs them all).
//! - **Every find is checked the same way** ([`Context::check_launchable`]): available, not
//!   deprecated unless allowed, an architecture that one of the template's instance types
//!   runs ([`architecture_choices`]), and an owner the [`TrustPolicy`] trusts.
//! - **No owner-less search.** A search must name owners; named owners (`prism-community`)
//!   are mapped to accounts by the trust policy and never reach EC2, so a stranger's newer
//!   look-alike image cannot win.
//! - **Architecture fit by name.** Whether an instance type runs an architecture is read
//!   from its name ([`amiref_core::InstanceType::runs`]: `g` for Graviton, `mac1`/`mac2`),
//!   which costs no call; the cloud's `InstanceTypes` port remains the authority at launch,
//!   where EC2 refuses a mismatch anyway.
//! - **Choosing is one pass.** [`search::select`] keeps the best candidate per architecture
//!   without sorting, so choosing among 100,000 images is linear.

mod arch;
mod community;
mod cross_region;
mod direct;
mod marketplace;
mod script;
pub mod search;
mod ssm;
mod strategy;
mod trust;
pub mod version;

pub use arch::{
    ArchCandidates, ArchChoice, DEFAULT_INSTANCE_TYPES, RegionTypes, architecture_candidates,
    architecture_choices, launchable_choices,
};
pub use community::CommunityRegistry;
pub use cross_region::{
    CopyEstimate, CopyEstimator, CopyPriority, CrossRegion, FallbackRegions, copy_refusal,
};
pub use direct::DirectMapping;
pub use marketplace::Marketplace;
pub use script::{AL2023_NAME_PATTERN, ScriptProvisioning};
pub use search::DynamicSearch;
pub use ssm::{SsmParameter, al2023_parameter};
pub use strategy::{
    Attempt, Checked, Choices, Context, CopyPlan, Facts, Found, Prefetched, Ranking, StaticFacts,
    Strategy, StrategyError, Tier, allowed_images_verdict, copy_client_token, seconds,
};
pub use trust::{SearchOwners, TrustError, TrustPolicy};
