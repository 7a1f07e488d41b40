//! # amiref-build
//!
//! Builds images from templates: base, provision, capture, test, distribute, clean up;
//! resumable from the cloud's tags; and refreshes images that went stale.
//!
//! [`Builder`] runs a [`BuildSpec`]: it sweeps expired leftovers of earlier builds, resolves
//! the template's base image through the resolver's script tier and trust rules, runs
//! `user_data` on a builder instance and learns its exit status from the serial console
//! ([`amiref_core::completion`]), images the builder, boots the image and runs the test,
//! then distributes the tested image ([`distribute`]) and removes its temporary resources.
//! Everything it makes carries the build's [`BuildId`] and an expiry ([`tags`]), so a
//! re-run on any host resumes after the last completed stage, and a failure leaves nothing
//! behind but tested images. A dry run ([`Builder::plan`]) changes nothing and estimates
//! time and cost.

mod base;
mod build_id;
mod builder;
mod capture;
mod cleanup;
mod console;
pub mod distribute;
mod error;
mod events;
mod plan;
mod provision;
pub mod refresh;
mod report;
mod resources;
mod run;
mod spec;
mod state;
pub mod tags;
mod test_stage;
mod tested;
mod validate;

pub use build_id::BuildId;
pub use builder::Builder;
pub use cleanup::{CleanupReport, FailedRemoval, Resource, ResourceKind};
pub use error::{BuildError, StageError};
pub use events::{BuildEvent, BuildEventFn, BuildEventSink, NoEvents, Stage};
pub use plan::{BuildPlan, PlannedImage, PlannedStage};
pub use report::{BuildOutcome, BuildReport, BuiltImage, StageRecord};
pub use spec::{
    BuildOptions, BuildSpec, DEFAULT_LEFTOVER_EXPIRY, DEFAULT_TEST_SCRIPT, DEFAULT_TEST_TIMEOUT,
};
pub use tested::{Measured, TestedImage};
