//! # amiref-build
//!
//! Builds images from templates: base, provision, capture, test, distribute, clean up;
//! resumable from the cloud's tags; and refreshes images that went stale.

pub mod distribute;
pub mod refresh;
