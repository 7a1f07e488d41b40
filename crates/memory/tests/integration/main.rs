//! The in-process cloud's integration tests: conformance, world files, governance, properties. One
//! test binary, each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod build_host;
mod conformance;
mod demo_world;
mod governance;
mod index_props;
mod knobs;
mod launchability;
mod saved_world;
mod saved_world_props;
mod world_errors;
