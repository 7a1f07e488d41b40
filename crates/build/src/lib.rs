//! # amiref-build
//!
//! Builds images from templates: base, provision, capture, test, distribute, clean up;
//! resumable from the cloud's tags; and refreshes images that went stale.

mod build_id;
pub mod distribute;
pub mod refresh;
pub mod tags;
mod tested;

pub use build_id::BuildId;
pub use tested::{Measured, TestedImage};
