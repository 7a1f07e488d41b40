//! # amiref-session
//!
//! The workflow layer every amiref frontend builds on: a [`Session`] built from
//! configuration ([`SessionBuilder::from_env`], `with_*`, [`SessionBuilder::build`]) and
//! the operations a frontend offers, each returning a typed plan or report:
//!
//! - [`Session::plan_launch`] and [`Session::launch`]: resolve, the way chosen and the way
//!   passed over (with a typed reason), the decisions needed ([`Decisions`]: the CLI
//!   answers with prompts, a service with a [`Policy`]), one copy engine (the lifecycle's),
//!   RunInstances with the standard tags, audited;
//! - [`Session::availability`]: a template across regions;
//! - [`Session::lifecycle`]: every lifecycle operation on the session's cloud, audit sink,
//!   clock and copy limits.
//!
//! The flow is one way: template → session → resolver → plan → lifecycle → instances →
//! report. The library never reads a terminal and never prints: rendering is the frontend's
//! (`amiref-report` has the renderers).
//!
//! ## Configuration
//!
//! A documented file ([`config`]), environment variables ([`config::vars`]), then what the
//! frontend sets. Nothing comes from the demo files: a session with no configuration runs
//! on AWS, in `us-east-1`, trusting self and amazon, with no registry.
//!
//! ## Worlds
//!
//! [`SessionBuilder::with_world_file`] runs on the in-process cloud; its state and audit
//! records live in a state directory (never in the real audit log), and
//! [`Session::finish`] saves the state for the next session.

mod audit;
mod availability;
mod build;
mod builder;
mod community;
pub mod compliance;
pub mod config;
mod deprecate;
mod error;
mod images;
mod instance;
mod launch;
mod list;
mod plan;
mod protect;
mod publish;
mod rate;
mod registries;
mod retire;
mod session;
mod share;
mod templates;
mod verify;
mod world;

pub use audit::{AuditCheck, AuditListing};
pub use availability::{
    Availability, AvailabilityCounts, AvailabilityReport, RegionAvailability, RegionFaults,
};
pub use build::{BuildRequest, RefreshRequest};
pub use builder::{DEFAULT_REGION, SessionBuilder};
pub use community::{
    CommunityRefusal, CommunityShareReport, CommunityShareRequest, RefusalReason, VersionSource,
};
pub use compliance::{ComplianceConfig, ComplianceRequest};
pub use config::{Config, LoadedConfig};
pub use deprecate::{DeprecateRequest, DeprecationTime};
pub use error::{FailureKind, SessionError};
pub use images::{
    CopyRequest, CreateImageReport, CreateImageRequest, CreateMultiReport, CreateMultiRequest,
    PublicOutcome, default_image_name,
};
pub use instance::{InstanceRef, InstanceSummary};
pub use launch::{
    Answer, Decisions, LaunchChoice, LaunchPlan, LaunchReport, LaunchRequest, PassedOver,
    PassedOverReason, Policy, Question,
};
pub use list::{
    ImageListReport, ListedImage, OwnImage, RegionFailure, RegionImages, RegistryImage,
    RegistryLayer, Signer,
};
pub use plan::{AppliedCopy, PlanApplyReport, PlanRequest};
pub use protect::{ImageRequest, ProtectRequest, ProtectionChange};
pub use publish::{PublishOutcome, PublishRequest};
pub use rate::{RateReport, RateRequest};
pub use retire::{RetireRequest, TagSelector};
pub use session::Session;
pub use share::{Grantees, ShareRequest};
pub use templates::TemplateLibrary;
pub use verify::{EntryProblem, RefusedEntry, VerifiedEntry, VerifyReport};
pub use world::{WorldInstance, WorldRegion, WorldReport, WorldResetReport};

use amiref_core::Region;

/// The region `name` names, checked against the region catalog, with a "did you mean";
/// `what` says where the name came from (`--region`, `--to`, `AWS_REGION`) for the error.
pub fn check_region(name: &str, what: &str) -> Result<Region, SessionError> {
    amiref_regions::known_region(name).map_err(|source| SessionError::UnknownRegion {
        what: what.to_owned(),
        source,
    })
}

/// Every region of a comma-separated list, checked (see [`check_region`]).
pub fn check_regions(list: &[String], what: &str) -> Result<Vec<Region>, SessionError> {
    list.iter()
        .flat_map(|item| item.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| check_region(name, what))
        .collect()
}
