//! # amiref-strategies
//!
//! The tiers of an image resolution, each a [`Strategy`] that finds an image, skips with a
//! reason, or fails with an error:
//!
//! 0. [`SsmParameter`]: the image an SSM parameter of the template names;
//! 1. [`DirectMapping`]: `ami_mappings[region]`, described and checked;
//! 2. [`DynamicSearch`]: `ami_search` over trusted owners, newest version first;
//! 3. [`CommunityRegistry`]: entries of the [`amiref_core::ImageRegistry`] port;
//! 4. [`Marketplace`]: the newest acceptable product version's image;
//! 5. [`CrossRegion`]: the tiers above in the fallback regions, concurrently, ending in a
//!    [`CopyPlan`] of the best image the caller can copy;
//! 6. [`ScriptProvisioning`]: a base image plus the template's `user_data`.
//!
//! ## Design choices
//!
//! - **Tiers are independent and side-effect free.** Each reads the cloud through the read
//!   ports ([`amiref_core::ResolutionPorts`]) and answers [`Attempt`]; the order, the
//!   deadline, the fallback and caching belong to the resolver (crate `amiref-resolver`), so a
//!   tier can be tested alone and run in any order (the dry run runs them all). A caller's
//!   own tier is a [`Strategy`] like these, named `ResolutionMethod::Custom`.
//! - **Answers are facts, not sentences.** A find says how it was found ([`FoundVia`]), a
//!   skip why ([`Skip`], each refused image a [`Rejection`]), a failure keeps its cause
//!   ([`StrategyError`], recorded as [`TierFailure`]), and what a person should know is a
//!   [`Warning`]; every one is serialisable with a JSON Schema, and its `Display` is the
//!   sentence people read.
//! - **Every find is checked the same way** ([`Context::check`]): available, not deprecated
//!   unless allowed, owned by an account the [`TrustPolicy`] trusts (the policy is the
//!   ceiling of every tier; a template only narrows it), not blocked by the account's
//!   Allowed AMIs, and of an architecture that an instance type the launch region offers
//!   runs.
//! - **What every tier needs to know is asked once** ([`Facts`]): the caller, the launch
//!   region's launchable choices and each region's Allowed AMIs. The resolver asks for them
//!   together with the tiers' own calls; a tier awaits an answer only to judge what its own
//!   call returned, so none of them adds a round trip.
//! - **No owner-less search.** A search must name owners; named owners (`prism-community`)
//!   are mapped to accounts by the trust policy and never reach EC2, so a stranger's newer
//!   look-alike image cannot win.
//! - **Copyable as EC2 decides it.** The cross-region tier walks each region's finds in
//!   ranking order ([`Strategy::ranked`]) and takes the first one EC2 would copy for the
//!   caller ([`copy_refusal`], then create-volume permission on shared snapshots).
//! - **Choosing is one pass.** [`search::select`] keeps the best candidate per architecture
//!   without sorting, so choosing among 100,000 images is linear.

mod arch;
mod community;
mod cross_region;
mod direct;
mod failure;
mod marketplace;
mod reason;
mod script;
pub mod search;
mod ssm;
mod strategy;
mod trust;
mod trust_file;
pub mod version;
mod warning;

pub use arch::{
    ArchCandidates, ArchChoice, DEFAULT_INSTANCE_TYPES, RegionTypes, architecture_candidates,
    architecture_choices, launchable_choices,
};
pub use community::CommunityRegistry;
pub use cross_region::{
    CopyEstimate, CopyEstimator, CopyPriority, CrossRegion, FallbackRegions, copy_refusal,
};
pub use direct::DirectMapping;
pub use failure::{CloudFailure, RegistryFailure, RegistryFailureKind, StrategyError, TierFailure};
pub use marketplace::Marketplace;
pub use reason::{
    ChoiceNote, CopyRefusal, CrossRegionFind, FallbackSearch, Find, FoundVia, Missing, NoMatch,
    NotSearched, PassedOver, Pointer, PolicyOrigin, PolicySummary, RegionAnswer, RegistryFind,
    Rejected, Rejection, RejectionCount, SearchFind, SearchRejection, Skip,
};
pub use script::{AL2023_NAME_PATTERN, ScriptProvisioning};
pub use search::DynamicSearch;
pub use ssm::{SsmParameter, al2023_parameter};
pub use strategy::{
    Attempt, Checked, Choices, Context, CopyPlan, Facts, Found, Prefetched, Ranking, StaticFacts,
    Strategy, allowed_images_verdict, satisfies_allowed_images, seconds,
};
pub use trust::{SearchOwners, TrustError, TrustPolicy};
pub use trust_file::{TRUST_POLICY_FORMAT, TrustFileError};
pub use warning::Warning;
