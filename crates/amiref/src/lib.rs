//! # amiref
//!
//! Resolve, build and share EC2 images for research-computing templates.
