//! The region graph's integration tests: documented behaviour and walk properties. One test binary,
//! each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod documented_behaviour;
mod walk_properties;
