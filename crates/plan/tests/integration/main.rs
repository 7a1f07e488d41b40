//! The planner's integration tests: inputs, decisions, rendering. One test binary, each file a
//! module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

#[macro_use]
mod common;
mod decisions;
mod inputs;
mod render;
